//! Test-environment switches, read at build time so the test runner can report a test that
//! needs an absent external service as ignored, with the reason, instead of passing it:
//! `CAIRN_TEST_SMTP_PYTHON` (a Python with `aiosmtpd`, the SMTP sink; `.ci/run` makes one)
//! becomes `cfg(cairn_smtp_sink)`; `CAIRN_TEST_SAML_IDP` (a directory whose `node_modules`
//! holds samlify, made by `scripts/saml-idp-install.sh`) becomes `cfg(cairn_saml_idp)`.

#![allow(
    clippy::disallowed_methods,
    reason = "a build script reads the build environment"
)]

fn main() {
    println!("cargo::rustc-check-cfg=cfg(cairn_smtp_sink)");
    println!("cargo::rerun-if-env-changed=CAIRN_TEST_SMTP_PYTHON");
    if std::env::var_os("CAIRN_TEST_SMTP_PYTHON").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=cairn_smtp_sink");
    }
    println!("cargo::rustc-check-cfg=cfg(cairn_saml_idp)");
    println!("cargo::rerun-if-env-changed=CAIRN_TEST_SAML_IDP");
    if std::env::var_os("CAIRN_TEST_SAML_IDP").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=cairn_saml_idp");
    }
}
