//! What IAM knows of use, with `aws-sdk-iam`: the last use of access keys
//! (`GetAccessKeyLastUsed`, the credential report) and the service last-accessed reports
//! built from what CloudTrail recorded.

use crate::common::{err_info, ok};
use crate::fixture::{ALLOW_ALL, Fixture};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "123456789012";

/// `GetAccessKeyLastUsed` of `akid` once its use is recorded (written off the request path).
async fn last_used(
    iam: &aws_sdk_iam::Client,
    akid: &str,
) -> aws_sdk_iam::types::AccessKeyLastUsed {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = ok(
            "GetAccessKeyLastUsed",
            iam.get_access_key_last_used()
                .access_key_id(akid)
                .send()
                .await,
        );
        let used = out.access_key_last_used().unwrap().clone();
        if used.last_used_date().is_some() || Instant::now() > deadline {
            return used;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_used_for_organizations_reports_its_last_use() {
    let f = Fixture::new("lastused-orgs", ACCOUNT);
    let who = f.user_with_key("alice", ALLOW_ALL).await;
    let before = aws_sdk_iam::primitives::DateTime::from(
        std::time::SystemTime::now() - Duration::from_secs(2),
    );
    // No organization yet: refused by Organizations, but authenticated all the same.
    let e = err_info(
        f.server
            .orgs_in(&who, "eu-west-1")
            .describe_organization()
            .send()
            .await,
    );
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
    let iam = f.server.iam();
    let used = last_used(&iam, &who.akid).await;
    let date = used.last_used_date().expect("a last-used date");
    assert!(date.secs() >= before.secs(), "{date:?}");
    assert_eq!(used.service_name(), "organizations");
    assert_eq!(used.region(), "eu-west-1");
    let out = ok(
        "GetAccessKeyLastUsed",
        iam.get_access_key_last_used()
            .access_key_id(&who.akid)
            .send()
            .await,
    );
    assert_eq!(out.user_name(), Some("alice"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_key_reports_not_applicable() {
    let f = Fixture::new("lastused-never", ACCOUNT);
    ok(
        "CreateUser",
        f.server.iam().create_user().user_name("bob").send().await,
    );
    let who = f.key_for("bob").await;
    let out = ok(
        "GetAccessKeyLastUsed",
        f.server
            .iam()
            .get_access_key_last_used()
            .access_key_id(&who.akid)
            .send()
            .await,
    );
    let used = out.access_key_last_used().unwrap();
    assert_eq!(used.last_used_date(), None);
    assert_eq!(used.service_name(), "N/A");
    assert_eq!(used.region(), "N/A");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_key_reports_its_last_use() {
    let f = Fixture::new("lastused-root", ACCOUNT);
    let iam = f.server.iam();
    ok("ListUsers", iam.list_users().send().await);
    let used = last_used(&iam, &f.server.root().akid).await;
    assert!(used.last_used_date().is_some());
    assert_eq!(used.service_name(), "iam");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_report_shows_key_use() {
    let f = Fixture::new("lastused-report", ACCOUNT);
    let who = f.user_with_key("carol", ALLOW_ALL).await;
    ok(
        "GetCallerIdentity",
        f.server.sts_as(&who).get_caller_identity().send().await,
    );
    let iam = f.server.iam();
    let used = last_used(&iam, &who.akid).await;
    assert_eq!(used.service_name(), "sts");
    ok(
        "GenerateCredentialReport",
        iam.generate_credential_report().send().await,
    );
    let report = ok(
        "GetCredentialReport",
        iam.get_credential_report().send().await,
    );
    let csv = String::from_utf8(report.content().unwrap().as_ref().to_vec()).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let carol: Vec<&str> = lines
        .find(|l| l.starts_with("carol,"))
        .unwrap()
        .split(',')
        .collect();
    let col = |name: &str| carol[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(col("access_key_1_last_used_service"), "sts");
    assert_eq!(col("access_key_1_last_used_region"), "us-east-1");
    assert_ne!(col("access_key_1_last_used_date"), "N/A");
    assert_eq!(col("access_key_2_last_used_date"), "N/A");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_has_no_last_use() {
    let f = Fixture::new("lastused-unknown", ACCOUNT);
    let e = err_info(
        f.server
            .iam()
            .get_access_key_last_used()
            .access_key_id("AKIAIOSFODNN7EXAMPLE")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
}
