//! Sets `cfg(cairn_sigv4_vectors)` when AWS's SigV4 test vectors are beside the checkout
//! (`../shared/conformance/sigv4`, not vendored: their licence asks that they be read from
//! there), so that the conformance tests are reported as ignored, with the reason, where the
//! folder is absent, rather than passing without checking anything.

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(cairn_sigv4_vectors)");
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sigv4");
    println!("cargo::rerun-if-changed=build.rs");
    if vectors.is_dir() {
        println!("cargo::rerun-if-changed={}", vectors.display());
        println!("cargo::rustc-cfg=cairn_sigv4_vectors");
    }
}
