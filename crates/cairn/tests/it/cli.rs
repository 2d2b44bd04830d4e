//! The command line a newcomer meets: `cairn --help` names every subcommand, and `cairn env`
//! prints exports that point the AWS CLI and SDKs at a running server as its root user.

use crate::common::{Server, TempDir, cairn_binary};
use std::collections::BTreeMap;
use std::process::Command;

#[test]
fn help_lists_every_subcommand_with_a_description() {
    for flag in ["--help", "help", "-h"] {
        let out = Command::new(cairn_binary()).arg(flag).output().unwrap();
        assert!(out.status.success(), "{flag}");
        let text = String::from_utf8(out.stdout).unwrap();
        let commands = text.split("commands:").nth(1).expect("a commands section");
        for name in [
            "serve",
            "env",
            "signup",
            "policy simulate",
            "trail validate",
            "help",
        ] {
            let line = commands
                .lines()
                .find(|l| l.trim_start().starts_with(name))
                .unwrap_or_else(|| panic!("{name} missing from --help:\n{text}"));
            assert!(
                line.trim_start()[name.len()..].trim().len() > 10,
                "{name} has no description: {line:?}"
            );
        }
    }
    let out = Command::new(cairn_binary())
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
}

/// The `export NAME=VALUE` lines of `cairn env`, as a map (values unquoted as a shell would).
fn exports(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_owned(), v.trim_matches('\'').to_owned())
        })
        .collect()
}

#[test]
fn env_prints_the_exports_of_the_running_server() {
    let dir = TempDir::new("cli-env");
    let server = Server::start(&dir, &[]);
    let out = Command::new(cairn_binary())
        .args(["env", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--listen", &format!("127.0.0.1:{}", server.port)])
        .env_remove("CAIRN_DATA_DIR")
        .env_remove("CAIRN_LISTEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let env = exports(&text);
    assert_eq!(env["AWS_ENDPOINT_URL"], server.endpoint);
    // The AWS CLI v1 and boto3 read AWS_DEFAULT_REGION only; the CLI v2 and SDKs AWS_REGION.
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["AWS_DEFAULT_REGION"], "us-east-1");
    assert_eq!(env["AWS_ACCESS_KEY_ID"], server.creds.access_key_id);
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], server.creds.secret_access_key);
    assert!(text.contains("unset AWS_SESSION_TOKEN"), "{text}");

    // Without a server's data directory, it says what to do.
    let empty = TempDir::new("cli-env-empty");
    let out = Command::new(cairn_binary())
        .args(["env", "--data-dir"])
        .arg(empty.path())
        .env_remove("CAIRN_DATA_DIR")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("start `cairn serve`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
