//! `cairn policy simulate` end to end: the built binary on the files in
//! `examples/policy-simulate/`, and its exit statuses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation panics"
)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/policy-simulate")
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn simulate_example(name: &str) -> Value {
    let path = examples().join(name);
    let out = run(&["policy", "simulate", path.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn scp_deny_at_an_ou() {
    let out = simulate_example("ou-deny.json");
    assert_eq!(out["decision"], "ExplicitlyDenied");
    assert_eq!(out["blockedBy"], json!(["scps[1]"]));
    assert_eq!(
        out["deciding"],
        json!([{"effect": "deny", "layer": "scps[1]", "policy": "p-workloadsguard",
                "source": "scps[1][1]", "statement": 0, "sid": "NoOrgChangesOutsideOrgAdmin"}])
    );
    assert_eq!(
        out["message"],
        "User: arn:aws:sts::222222222222:assumed-role/Admin/alice is not authorized to perform: \
         organizations:CreateOrganizationalUnit on resource: \
         arn:aws:organizations::111111111111:root/o-a1b2c3d4e5/r-ab12 with an explicit deny in a \
         service control policy: p-workloadsguard"
    );
    assert_eq!(
        out["derivedContext"]["aws:PrincipalArn"],
        "arn:aws:iam::222222222222:role/Admin"
    );
    assert_eq!(out["expectation"], json!({"met": true, "mismatches": []}));
}

#[test]
fn exempt_role_passes_the_guardrail() {
    let out = simulate_example("ou-deny-exempt-role.json");
    assert_eq!(out["decision"], "Allowed");
    assert_eq!(out["blockedBy"], json!([]));
    assert_eq!(out["message"], Value::Null);
    let layers: Vec<&str> = out["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["layer"].as_str().unwrap())
        .collect();
    assert_eq!(layers, ["scps[0]", "scps[1]", "scps[2]", "identity"]);
}

#[test]
fn missing_allow_at_one_level() {
    let out = simulate_example("missing-allow.json");
    assert_eq!(out["decision"], "ImplicitlyDenied");
    assert_eq!(out["blockedBy"], json!(["scps[1]"]));
    assert_eq!(
        out["deciding"],
        json!([{"effect": "noAllow", "layer": "scps[1]"}])
    );
    assert_eq!(
        out["message"],
        "User: arn:aws:iam::333333333333:user/carol is not authorized to perform: s3:CreateBucket \
         on resource: arn:aws:s3:::sandbox-scratch because no service control policy allows the \
         s3:CreateBucket action"
    );
}

#[test]
fn management_account_is_not_subject_to_scps() {
    let out = simulate_example("management-account.json");
    assert_eq!(out["decision"], "Allowed");
    assert_eq!(
        out["deciding"],
        json!([{"effect": "allow", "layer": "identity",
                "policy": "arn:aws:iam::aws:policy/AdministratorAccess",
                "source": "identity[0]", "statement": 0}])
    );
}

#[test]
fn stdin_malformed_policies_unmet_expectations_and_usage() {
    let request = r#""request": {"action": "s3:GetObject", "principal": {"arn": "arn:aws:iam::111111111111:user/u"}}"#;

    let out = run(
        &["policy", "simulate", "-"],
        Some(&format!(
            r#"{{{request}, "expect": {{"decision": "ImplicitlyDenied"}}}}"#
        )),
    );
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["blockedBy"], json!(["identity"]));

    let out = run(
        &["policy", "simulate", "-"],
        Some(&format!(
            r#"{{{request}, "expect": {{"decision": "Allowed"}}}}"#
        )),
    );
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["expectation"]["met"], false);
    assert!(String::from_utf8_lossy(&out.stderr).contains("expectation not met"));

    let out = run(
        &["policy", "simulate", "-"],
        Some(&format!(
            r#"{{{request}, "policies": {{"scps": [["FullAWSAccess", {{"id": "p-bad", "document": {{"Version": "2012-10-17", "Statement": {{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}}}}}}]]}}}}"#
        )),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "policies.scps[0][1] (policy p-bad): MalformedPolicyDocumentException: The provided \
             policy document does not meet the requirements of the specified policy type."
        ),
        "{stderr}"
    );

    let out = run(&["policy", "simulate", "-"], Some("{\"request\": 1}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid simulation input"));

    let out = run(&["policy", "simulate"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["policy", "simulate", "/nonexistent/x.json"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/x.json"));
}

/// A reader that stops early (`| grep -q`, `| head`) is not an error: the exit code is the
/// decision's, and nothing is said about the closed pipe.
#[test]
fn a_closed_stdout_is_not_an_error() {
    let path = examples().join("ou-deny.json");
    // stdout is a pipe whose read end is closed before the child writes to it.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["policy", "simulate", path.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}
