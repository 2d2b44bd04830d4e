//! Trail delivery end to end: log files in the local-directory object store, in AWS's key
//! layout and `{"Records":[…]}` gzip format; event selectors that exclude read events;
//! organization trails under the organization's prefix; `GetTrailStatus` reporting real
//! delivery times; and a SIGKILL between a put and its acknowledgement losing nothing.

use crate::common::{Server, TempDir, err_info, lookup_all, ok};
use crate::fixture::{Fixture, user_with_key};
use aws_sdk_cloudtrail::types::{EventSelector, ReadWriteType};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "246801357924";
const BUCKET: &str = "audit-logs";
/// Delivery rounds in these tests: a fifth of a second.
const FAST: &[&str] = &["--trail-delivery-seconds", "0.2"];

/// Every delivered log file under `root` (`<objects>/<bucket>`), relative key → records.
pub(crate) fn delivered(root: &Path) -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".json.gz") {
                let mut text = String::new();
                flate2::read::GzDecoder::new(std::fs::File::open(&p).unwrap())
                    .read_to_string(&mut text)
                    .unwrap();
                let doc: Value = serde_json::from_str(&text).unwrap();
                let records = doc["Records"].as_array().cloned().unwrap();
                let key = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((key, records));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn bucket_dir(f: &Fixture) -> PathBuf {
    f.dir.path().join("data").join("objects").join(BUCKET)
}

/// Waits until the delivered records satisfy `done`; answers them.
async fn await_delivery(root: &Path, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let records: Vec<Value> = delivered(root).into_iter().flat_map(|(_, r)| r).collect();
        if done(&records) {
            return records;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; have {records:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn names(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .filter_map(|r| r["eventName"].as_str())
        .collect()
}

async fn logging_trail(ct: &aws_sdk_cloudtrail::Client, name: &str) {
    ok(
        "CreateTrail",
        ct.create_trail()
            .name(name)
            .s3_bucket_name(BUCKET)
            .send()
            .await,
    );
    ok("StartLogging", ct.start_logging().name(name).send().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logging_trail_delivers_gzip_log_files_in_aws_layout() {
    let f = Fixture::with_args("deliver-layout", ACCOUNT, FAST);
    let ct = f.server.cloudtrail();
    logging_trail(&ct, "main").await;
    let iam = f.server.iam();
    ok(
        "CreateUser",
        iam.create_user().user_name("alice").send().await,
    );
    ok("ListUsers", iam.list_users().send().await);
    let records = await_delivery(&bucket_dir(&f), "CreateUser and ListUsers", |r| {
        let n = names(r);
        n.contains(&"CreateUser") && n.contains(&"ListUsers")
    })
    .await;
    // Calls before StartLogging are not in the trail.
    assert!(
        !names(&records).contains(&"CreateTrail"),
        "{:?}",
        names(&records)
    );
    let create = records
        .iter()
        .find(|r| r["eventName"] == "CreateUser")
        .unwrap();
    assert_eq!(create["eventSource"], "iam.amazonaws.com");
    assert_eq!(create["recipientAccountId"], ACCOUNT);
    assert_eq!(create["requestParameters"]["userName"], "alice");
    for (key, _) in delivered(&bucket_dir(&f)) {
        // AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16>.json.gz
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts.len(), 8, "{key}");
        assert_eq!(
            &parts[..4],
            ["AWSLogs", ACCOUNT, "CloudTrail", "us-east-1"],
            "{key}"
        );
        assert!(
            parts[4].len() == 4 && parts[5].len() == 2 && parts[6].len() == 2,
            "{key}"
        );
        let file = parts[7].strip_suffix(".json.gz").unwrap();
        let segs: Vec<&str> = file.split('_').collect();
        assert_eq!(segs.len(), 5, "{key}");
        assert_eq!(&segs[..3], [ACCOUNT, "CloudTrail", "us-east-1"], "{key}");
        assert_eq!(
            segs[3],
            format!("{}{}{}T{}", parts[4], parts[5], parts[6], &segs[3][9..]),
            "{key}"
        );
        assert!(segs[3].len() == 14 && segs[3].ends_with('Z'), "{key}");
        assert_eq!(segs[4].len(), 16, "{key}");
        assert!(segs[4].bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
    }
    let st = ok(
        "GetTrailStatus",
        ct.get_trail_status().name("main").send().await,
    );
    assert!(st.latest_delivery_time().is_some(), "{st:?}");
    assert!(st.latest_delivery_error().is_none(), "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_call_is_delivered_with_its_error() {
    let f = Fixture::with_args("deliver-denied", ACCOUNT, FAST);
    logging_trail(&f.server.cloudtrail(), "main").await;
    let nobody = user_with_key(
        &f.server,
        "nobody",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
    )
    .await;
    let e = err_info(
        f.server
            .iam_as(&nobody)
            .create_user()
            .user_name("x")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied");
    let records = await_delivery(&bucket_dir(&f), "the denied CreateUser", |r| {
        r.iter()
            .any(|x| x["eventName"] == "CreateUser" && x["errorCode"].is_string())
    })
    .await;
    let denied = records
        .iter()
        .find(|x| x["eventName"] == "CreateUser" && x["errorCode"].is_string())
        .unwrap();
    assert_eq!(denied["errorCode"], "AccessDenied");
    assert!(
        denied["errorMessage"]
            .as_str()
            .unwrap()
            .contains("is not authorized to perform: iam:CreateUser"),
        "{denied}"
    );
    assert_eq!(denied["userIdentity"]["userName"], "nobody");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trail_that_excludes_read_events_does_not_deliver_them() {
    let f = Fixture::with_args("deliver-write-only", ACCOUNT, FAST);
    let ct = f.server.cloudtrail();
    ok(
        "CreateTrail",
        ct.create_trail()
            .name("writes")
            .s3_bucket_name(BUCKET)
            .send()
            .await,
    );
    ok(
        "PutEventSelectors",
        ct.put_event_selectors()
            .trail_name("writes")
            .event_selectors(
                EventSelector::builder()
                    .read_write_type(ReadWriteType::WriteOnly)
                    .include_management_events(true)
                    .build(),
            )
            .send()
            .await,
    );
    ok(
        "StartLogging",
        ct.start_logging().name("writes").send().await,
    );
    let iam = f.server.iam();
    ok("ListUsers", iam.list_users().send().await);
    ok(
        "CreateUser",
        iam.create_user().user_name("bob").send().await,
    );
    ok("GetUser", iam.get_user().user_name("bob").send().await);
    ok(
        "CreateUser",
        iam.create_user().user_name("carol").send().await,
    );
    let records = await_delivery(&bucket_dir(&f), "both CreateUser calls", |r| {
        names(r).iter().filter(|n| **n == "CreateUser").count() == 2
    })
    .await;
    assert!(
        records.iter().all(|r| r["readOnly"] == false),
        "read events delivered: {:?}",
        names(&records)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_trail_delivers_nothing_after_the_stop() {
    let f = Fixture::with_args("deliver-stopped", ACCOUNT, FAST);
    let ct = f.server.cloudtrail();
    logging_trail(&ct, "main").await;
    let iam = f.server.iam();
    ok(
        "CreateUser",
        iam.create_user().user_name("before").send().await,
    );
    ok("StopLogging", ct.stop_logging().name("main").send().await);
    ok(
        "CreateUser",
        iam.create_user().user_name("after").send().await,
    );
    let records = await_delivery(&bucket_dir(&f), "the StopLogging call", |r| {
        names(r).contains(&"StopLogging")
    })
    .await;
    // Two more rounds, so that anything wrongly queued would have arrived.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let records: Vec<Value> = delivered(&bucket_dir(&f))
        .into_iter()
        .flat_map(|(_, r)| r)
        .chain(records)
        .collect();
    let users: Vec<&str> = records
        .iter()
        .filter(|r| r["eventName"] == "CreateUser")
        .filter_map(|r| r["requestParameters"]["userName"].as_str())
        .collect();
    assert!(users.contains(&"before"), "{users:?}");
    assert!(!users.contains(&"after"), "{users:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_trail_delivers_member_events_under_the_organization_prefix() {
    let f = Fixture::with_args("deliver-org", ACCOUNT, FAST);
    let org = f.org().await;
    let ct = f.server.cloudtrail();
    ok(
        "CreateTrail",
        ct.create_trail()
            .name("org-trail")
            .s3_bucket_name(BUCKET)
            .is_organization_trail(true)
            .is_multi_region_trail(true)
            .send()
            .await,
    );
    ok(
        "StartLogging",
        ct.start_logging().name("org-trail").send().await,
    );
    let member = f.member("member", "member@example.com").await;
    let admin = f.admin("admin", None).await;
    let member_who = crate::fixture::member_role(&f.server, &admin, &member).await;
    ok(
        "CreateUser in the member",
        f.server
            .iam_as(&member_who)
            .create_user()
            .user_name("member-user")
            .send()
            .await,
    );
    await_delivery(&bucket_dir(&f), "the member's CreateUser", |r| {
        r.iter()
            .any(|x| x["eventName"] == "CreateUser" && x["recipientAccountId"] == member.as_str())
    })
    .await;
    let files = delivered(&bucket_dir(&f));
    let member_prefix = format!("AWSLogs/{}/{member}/CloudTrail/", org.id);
    let mgmt_prefix = format!("AWSLogs/{}/{ACCOUNT}/CloudTrail/", org.id);
    assert!(
        files.iter().any(|(k, _)| k.starts_with(&member_prefix)),
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (key, records) in &files {
        assert!(
            key.starts_with(&member_prefix) || key.starts_with(&mgmt_prefix),
            "{key}"
        );
        // A file holds one account's records.
        let account = key.split('/').nth(2).unwrap();
        assert!(
            records.iter().all(|r| r["recipientAccountId"] == account),
            "{key}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_a_put_and_its_acknowledgement_loses_nothing() {
    let dir = TempDir::new("deliver-crash");
    let args = ["--account-id", ACCOUNT, "--trail-delivery-seconds", "0.2"];
    // First without delivery (an hour between rounds): the records wait in the store.
    let mut server = Server::start(
        &dir,
        &["--account-id", ACCOUNT, "--trail-delivery-seconds", "3600"],
    );
    let ct = server.cloudtrail();
    ok(
        "CreateTrail",
        ct.create_trail()
            .name("main")
            .s3_bucket_name(BUCKET)
            .send()
            .await,
    );
    ok("StartLogging", ct.start_logging().name("main").send().await);
    let iam = server.iam();
    for i in 0..20 {
        ok(
            "CreateUser",
            iam.create_user().user_name(format!("u{i}")).send().await,
        );
    }
    // Everything the API acknowledged, as LookupEvents has it, from StartLogging on.
    let acknowledged: BTreeSet<String> = lookup_all(&server.cloudtrail(), None)
        .await
        .iter()
        .filter(|e| e.event_name() == Some("CreateUser"))
        .filter_map(|e| e.event_id().map(str::to_owned))
        .collect();
    assert_eq!(acknowledged.len(), 20);
    server.kill();
    // Restart armed to die right after the first put, before its acknowledgement.
    let mut server = Server::start_with_env(
        &dir,
        &args,
        &[("CAIRN_FAULTS", "trail.deliver:put-before-ack")],
    );
    let status = server.await_exit(Duration::from_secs(20));
    assert!(status.is_some_and(|s| !s.success()), "no crash: {status:?}");
    drop(server);
    let server = Server::start(&dir, &args);
    let root = dir.path().join("data").join("objects").join(BUCKET);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got: BTreeSet<String> = delivered(&root)
            .into_iter()
            .flat_map(|(_, r)| r)
            .filter_map(|r| r["eventID"].as_str().map(str::to_owned))
            .collect();
        if acknowledged.is_subset(&got) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "missing after the crash: {:?}",
            acknowledged.difference(&got).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(server);
}
