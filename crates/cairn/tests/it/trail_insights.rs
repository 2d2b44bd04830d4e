//! CloudTrail Insights against a running server: a baseline of the preceding two hours (put
//! into the store beside the server, since a real one takes hours to build), then a burst of
//! calls; the next evaluation after the burst's minute finds an `ApiCallRateInsight` Start
//! event, `LookupEvents` with `EventCategory=insight` returns it, and it is delivered under
//! `CloudTrail-Insight/`; the quiet minute after ends it with an End event sharing its
//! `sharedEventID`. The Insights folder is blocked (a file where its directory goes) until
//! both events are found: the queued files are put once it is free again, none is lost.
//! Up to two minutes of wall time: minutes are real minutes here.

use crate::common::ok;
use crate::fixture::Fixture;
use aws_sdk_cloudtrail::types::{EventCategory, InsightSelector, InsightType};
use cairn_trail::insights::{Api, Tally};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ACCOUNT: &str = "135792468024";
const BUCKET: &str = "insight-logs";

/// The delivered Insights files under `root`: key → records.
fn insight_files(root: &Path) -> Vec<(String, Vec<Value>)> {
    crate::trail_delivery::delivered(root)
        .into_iter()
        .filter(|(key, _)| key.contains("/CloudTrail-Insight/"))
        .collect()
}

fn now_minute() -> i64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    i64::try_from(ms / 60_000).unwrap()
}

/// The store the server uses (SQLite in its data directory, or its PostgreSQL schema).
fn open_store(f: &Fixture) -> cairn_store::Store {
    match std::env::var("CAIRN_IT_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            cairn_store::Store::open_postgres_with_schema(&url, &f.dir.schema()).unwrap()
        }
        _ => cairn_store::Store::open_sqlite(&f.dir.path().join("data").join("cairn.db")).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trail_insights_a_burst_over_the_baseline_starts_and_ends_an_api_call_rate_insight() {
    let f = Fixture::with_args("insights", ACCOUNT, &["--trail-delivery-seconds", "0.5"]);
    let ct = f.server.cloudtrail();
    ok(
        "CreateTrail",
        ct.create_trail()
            .name("main")
            .s3_bucket_name(BUCKET)
            .send()
            .await,
    );
    ok(
        "PutInsightSelectors",
        ct.put_insight_selectors()
            .trail_name("main")
            .insight_selectors(
                InsightSelector::builder()
                    .insight_type(InsightType::ApiCallRateInsight)
                    .build(),
            )
            .send()
            .await,
    );
    ok("StartLogging", ct.start_logging().name("main").send().await);

    // Not too close to a minute's end: the burst must fall in one minute.
    while SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60
        > 45
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let burst_minute = now_minute();
    // Two hours of one ListUsers a minute before it.
    let store = open_store(&f);
    store
        .write_blocking(move |tx| {
            let mut tally = Tally::default();
            for m in burst_minute - 120..burst_minute {
                let api = Api {
                    account: ACCOUNT.to_owned(),
                    region: "us-east-1".to_owned(),
                    source: "iam.amazonaws.com".to_owned(),
                    name: "ListUsers".to_owned(),
                };
                tally.add_count(api, m, 1, 0);
            }
            tally.flush(tx)
        })
        .unwrap();
    drop(store);
    // Until the events exist, the Insights files cannot be put.
    let root = f.dir.path().join("data").join("objects").join(BUCKET);
    let blocker = root
        .join("AWSLogs")
        .join(ACCOUNT)
        .join("CloudTrail-Insight");
    std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    std::fs::write(&blocker, b"not a directory").unwrap();
    // 60 calls, over max(3 x 1, 1 + 10) even if a slow machine splits them across two
    // minutes (the insight then spans both).
    let iam = f.server.iam();
    for _ in 0..60 {
        ok("ListUsers", iam.list_users().send().await);
    }

    let deadline = Instant::now() + Duration::from_secs(200);
    let (start, end) = loop {
        let out = ok(
            "LookupEvents",
            ct.lookup_events()
                .event_category(EventCategory::Insight)
                .send()
                .await,
        );
        let events: Vec<Value> = out
            .events()
            .iter()
            .filter_map(|e| e.cloud_trail_event())
            .map(|j| serde_json::from_str(j).unwrap())
            .collect();
        let state = |s: &str| {
            events
                .iter()
                .find(|e| e["insightDetails"]["state"] == s)
                .cloned()
        };
        if let (Some(s), Some(e)) = (state("Start"), state("End")) {
            break (s, e);
        }
        assert!(
            Instant::now() < deadline,
            "no Start and End insight events yet: {events:#?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_eq!(start["eventType"], "AwsCloudTrailInsight");
    assert_eq!(start["eventCategory"], "Insight");
    assert_eq!(start["recipientAccountId"], ACCOUNT);
    assert_eq!(start["sharedEventID"], end["sharedEventID"]);
    let details = &start["insightDetails"];
    assert_eq!(details["eventSource"], "iam.amazonaws.com");
    assert_eq!(details["eventName"], "ListUsers");
    assert_eq!(details["insightType"], "ApiCallRateInsight");
    let stats = &end["insightDetails"]["insightContext"]["statistics"];
    assert!(
        stats["insight"]["average"].as_f64().unwrap() >= 11.0,
        "{stats:#}"
    );
    assert!(
        (stats["baseline"]["average"].as_f64().unwrap() - 1.0).abs() < 0.5,
        "{stats:#}"
    );

    // While the folder is blocked both files wait in the queue, none is put …
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let store = open_store(&f);
        let queued = store
            .read_blocking(|tx| tx.count(cairn_trail::delivery::INSIGHT_OUTBOX, b""))
            .unwrap();
        if queued == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "{queued} Insights files queued");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(insight_files(&root).is_empty());
    // … and once it can be written they are delivered under CloudTrail-Insight/.
    std::fs::remove_file(&blocker).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let files = insight_files(&root);
        let delivered: Vec<&Value> = files.iter().flat_map(|(_, r)| r).collect();
        if delivered.iter().any(|r| {
            r["sharedEventID"] == start["sharedEventID"] && r["insightDetails"]["state"] == "End"
        }) {
            for (key, _) in &files {
                assert!(
                    key.starts_with(&format!("AWSLogs/{ACCOUNT}/CloudTrail-Insight/us-east-1/")),
                    "{key}"
                );
                assert!(key.contains("_CloudTrail-Insight_us-east-1_"), "{key}");
            }
            break;
        }
        assert!(Instant::now() < deadline, "insight files: {files:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
