//! Turns `CAIRN_TEST_POSTGRES_URL` at build time into `cfg(cairn_postgres)`, so that the
//! PostgreSQL copies of the store suite are reported as ignored (with the reason) where no
//! server was provided, and run where one was (`.ci/run` starts one).

#![allow(
    clippy::disallowed_methods,
    reason = "a build script reads the build environment"
)]

fn main() {
    println!("cargo::rustc-check-cfg=cfg(cairn_postgres)");
    println!("cargo::rerun-if-env-changed=CAIRN_TEST_POSTGRES_URL");
    if std::env::var_os("CAIRN_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=cairn_postgres");
    }
}
