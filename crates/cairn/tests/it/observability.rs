//! `--log-format json`: every line logged while a request is handled carries the request's
//! span — request ID, service, operation, principal and authorization decision.

use aws_sdk_organizations::operation::RequestId;
use serde_json::Value;

use crate::common::{Server, TempDir, Who, err_info, ok};

const ACCOUNT: &str = "111122223333";

/// The JSON log lines whose span is the request `request_id`.
fn lines_of(log: &str, request_id: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["span"]["request_id"] == request_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_carry_the_request_span() {
    let dir = TempDir::new("obs-json");
    let server = Server::start_with_env(
        &dir,
        &["--account-id", ACCOUNT, "--log-format", "json"],
        &[("RUST_LOG", "debug")],
    );
    let iam = server.iam();
    ok(
        "CreateUser",
        iam.create_user().user_name("nobody").send().await,
    );
    let key = ok(
        "CreateAccessKey",
        iam.create_access_key().user_name("nobody").send().await,
    );
    let key = key.access_key().unwrap();
    let nobody = Who::new(key.access_key_id(), key.secret_access_key());
    // Allowed: the root user lists the users.
    let listed = ok("ListUsers", iam.list_users().send().await);
    let allowed_id = listed.request_id().unwrap().to_owned();
    // Denied: a user without permissions.
    let e = err_info(server.iam_as(&nobody).list_users().send().await);
    assert_eq!(e.code, "AccessDenied");
    let denied_id = e.request_id.clone().expect("a request ID");
    // The lines are written as the requests are answered; give the writer a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let log = server.log();
        let (a, d) = (lines_of(&log, &allowed_id), lines_of(&log, &denied_id));
        if !a.is_empty() && !d.is_empty() {
            for line in &a {
                assert_eq!(line["span"]["service"], "iam", "{line}");
                assert_eq!(line["span"]["operation"], "ListUsers", "{line}");
                assert_eq!(
                    line["span"]["principal"],
                    format!("arn:aws:iam::{ACCOUNT}:root"),
                    "{line}"
                );
                assert_eq!(line["span"]["decision"], "allow", "{line}");
            }
            assert!(
                d.iter().any(|l| l["span"]["decision"] == "deny"
                    && l["span"]["principal"] == format!("arn:aws:iam::{ACCOUNT}:user/nobody")),
                "{d:?}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no span lines for the requests in:\n{log}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `/metrics` counts calls, errors and access denials per operation, labelled with the
/// CloudTrail event source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_errors_and_denials_per_event_source() {
    let dir = TempDir::new("obs-metrics");
    let server = Server::start(&dir, &["--account-id", ACCOUNT]);
    let iam = server.iam();
    ok(
        "CreateUser",
        iam.create_user().user_name("nobody").send().await,
    );
    let key = ok(
        "CreateAccessKey",
        iam.create_access_key().user_name("nobody").send().await,
    );
    let key = key.access_key().unwrap();
    let nobody = Who::new(key.access_key_id(), key.secret_access_key());
    for _ in 0..2 {
        let e = err_info(server.iam_as(&nobody).list_users().send().await);
        assert_eq!(e.code, "AccessDenied");
    }
    let e = err_info(iam.get_user().user_name("ghost").send().await);
    assert_eq!(e.code, "NoSuchEntity");
    let metrics = server
        .send(&crate::common::Raw::new("GET", "/metrics", b""))
        .text();
    let line = |name: &str, op: &str| {
        let prefix = format!(
            "{name}{{service=\"iam\",operation=\"{op}\",event_source=\"iam.amazonaws.com\"}} "
        );
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
            .unwrap_or_else(|| panic!("no {prefix} in:\n{metrics}"))
    };
    assert_eq!(line("cairn_access_denied_total", "ListUsers"), "2");
    assert_eq!(line("cairn_request_errors_total", "ListUsers"), "2");
    assert_eq!(line("cairn_request_errors_total", "GetUser"), "1");
    assert_eq!(line("cairn_access_denied_total", "GetUser"), "0");
    assert_eq!(line("cairn_requests_total", "CreateUser"), "1");
}
