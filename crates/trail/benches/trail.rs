//! CloudTrail at volume, measured once and printed as a table (issue 11's figures):
//!
//! 1. `LookupEvents` over `CAIRN_BENCH_EVENTS` stored events (default 1,000,000; the issue's
//!    figure is 10,000,000): p50/p99 per lookup attribute and for a time range alone, 200
//!    queries each, `MaxResults` 50, on a file-backed SQLite store.
//! 2. Storage: the database's bytes per million events, beside what CloudTrail's own gzip log
//!    files take for the same records.
//! 3. Delivery: records per second through fan-out, file building (JSON, SHA-256, gzip) and
//!    acknowledgement, on one thread.
//! 4. Digest signing: the cost of one signed digest listing an hour of 5-minute log files.
//!
//! Run: `cargo bench -p cairn-trail --bench trail` (add `CAIRN_BENCH_EVENTS=10000000` for the
//! full figure; it needs about 30 GB of disk under the temp dir; `CAIRN_BENCH_SKIP_LOOKUPS=1`
//! skips the lookups).

#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::indexing_slicing,
    reason = "a benchmark: it reads its environment and the wall clock, and fails loudly"
)]

use cairn_api::cloudtrail::types::{LookupAttribute, LookupAttributeKey, LookupEventsRequest};
use cairn_core::call::AuditResource;
use cairn_core::{AuditEvent, Ids, Principal, SeededIds};
use cairn_store::Store;
use cairn_trail::delivery;
use cairn_trail::layout::{self, Encoded};
use std::time::Instant;

const ACCOUNT: &str = "111122223333";
const NOW: i64 = 1_796_000_000_000;
const DAY: i64 = 86_400_000;
const NAMES: &[(&str, &str, bool)] = &[
    ("iam.amazonaws.com", "CreateUser", false),
    ("iam.amazonaws.com", "GetUser", true),
    ("iam.amazonaws.com", "ListUsers", true),
    ("iam.amazonaws.com", "AttachUserPolicy", false),
    ("iam.amazonaws.com", "CreateAccessKey", false),
    ("organizations.amazonaws.com", "DescribeOrganization", true),
    ("organizations.amazonaws.com", "ListAccounts", true),
    (
        "organizations.amazonaws.com",
        "CreateOrganizationalUnit",
        false,
    ),
    ("organizations.amazonaws.com", "TagResource", false),
    ("sts.amazonaws.com", "AssumeRole", false),
    ("sts.amazonaws.com", "GetCallerIdentity", true),
    ("cloudtrail.amazonaws.com", "LookupEvents", true),
];
const USERS: usize = 20;

fn event(i: u64, n: u64, ids: &SeededIds) -> AuditEvent {
    let (source, name, read_only) = NAMES[(i as usize) % NAMES.len()];
    let user = format!("user{}", i as usize % USERS);
    // Spread over the last 7 days, in order.
    let time = NOW - 7 * DAY + i64::try_from(i * (7 * DAY as u64) / n.max(1)).unwrap();
    AuditEvent {
        event_time_ms: time,
        event_id: ids.uuid_v7(time),
        request_id: ids.uuid(),
        principal: Principal::IamUser {
            account_id: ACCOUNT.to_owned(),
            user_name: user.clone(),
            user_id: format!("AIDA{:016}", i % USERS as u64),
            path: "/".to_owned(),
            access_key_id: format!("AKIA{:016}", i % USERS as u64),
            session: None,
        },
        event_source: source.to_owned(),
        event_name: name.to_owned(),
        aws_region: "us-east-1".to_owned(),
        source_ip: "203.0.113.7".to_owned(),
        user_agent: "aws-cli/2.15.0 Python/3.11 Linux".to_owned(),
        request_parameters: (!read_only)
            .then(|| serde_json::json!({"userName": user, "path": "/"})),
        response_elements: None,
        error_code: i.is_multiple_of(50).then(|| "AccessDenied".to_owned()),
        error_message: i
            .is_multiple_of(50)
            .then(|| "User is not authorized".to_owned()),
        read_only,
        event_type: "AwsApiCall".to_owned(),
        management_event: true,
        recipient_account_id: ACCOUNT.to_owned(),
        resources: if read_only {
            Vec::new()
        } else {
            vec![AuditResource {
                arn: format!("arn:aws:iam::{ACCOUNT}:user/{user}"),
                account_id: ACCOUNT.to_owned(),
                resource_type: "AWS::IAM::User".to_owned(),
            }]
        },
        federated: None,
        service_event_details: None,
        additional_event_data: None,
    }
}

/// Inserts `n` events in batches as the recorder writes them; answers the seconds taken.
fn fill(store: &Store, n: u64, seed: u64) -> f64 {
    let start = Instant::now();
    let ids = SeededIds::new(seed);
    let mut i = 0;
    while i < n {
        let batch: Vec<Encoded> = (i..(i + 4096).min(n))
            .map(|j| Encoded::new(&event(j, n, &ids)).unwrap())
            .collect();
        i += batch.len() as u64;
        store
            .write_blocking(move |tx| {
                for chunk in batch.chunks(1024) {
                    layout::put_batch(tx, chunk)?;
                }
                Ok::<(), cairn_store::StoreError>(())
            })
            .unwrap();
    }
    start.elapsed().as_secs_f64()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn lookups(store: &Store, n: u64) {
    let mut rows: Vec<(String, f64, f64)> = Vec::new();
    let queries: Vec<(&str, Option<LookupAttributeKey>, Vec<String>)> = vec![
        ("time range only", None, vec![String::new()]),
        (
            "EventName",
            Some(LookupAttributeKey::EventName),
            NAMES.iter().map(|n| n.1.to_owned()).collect(),
        ),
        (
            "EventSource",
            Some(LookupAttributeKey::EventSource),
            NAMES.iter().map(|n| n.0.to_owned()).collect(),
        ),
        (
            "ReadOnly",
            Some(LookupAttributeKey::ReadOnly),
            vec!["true".into(), "false".into()],
        ),
        (
            "Username",
            Some(LookupAttributeKey::Username),
            (0..USERS).map(|u| format!("user{u}")).collect(),
        ),
        (
            "AccessKeyId",
            Some(LookupAttributeKey::AccessKeyId),
            (0..USERS).map(|u| format!("AKIA{u:016}")).collect(),
        ),
        (
            "ResourceType",
            Some(LookupAttributeKey::ResourceType),
            vec!["AWS::IAM::User".into()],
        ),
        (
            "ResourceName",
            Some(LookupAttributeKey::ResourceName),
            (0..USERS)
                .map(|u| format!("arn:aws:iam::{ACCOUNT}:user/user{u}"))
                .collect(),
        ),
    ];
    let rng = SeededIds::new(99);
    for (label, key, values) in queries {
        let mut times = Vec::new();
        for q in 0..200usize {
            let mut b = [0u8; 2];
            rng.fill(&mut b);
            // A window ending somewhere in the week (a time-range query), or none.
            let end_ms = NOW - i64::from(u16::from_be_bytes(b)) * 7 * DAY / 65_536;
            let input = LookupEventsRequest {
                lookup_attributes: key.map(|k| {
                    vec![LookupAttribute {
                        attribute_key: k,
                        attribute_value: values[q % values.len()].clone(),
                    }]
                }),
                end_time: (q % 2 == 0).then(|| cairn_wire::Timestamp::from_millis(end_ms)),
                max_results: Some(50),
                ..LookupEventsRequest::default()
            };
            let start = Instant::now();
            let out = store
                .read_blocking(move |tx| {
                    Ok::<_, cairn_store::StoreError>(
                        cairn_trail::lookup::lookup_in(tx, ACCOUNT, NOW, &input).ok(),
                    )
                })
                .unwrap();
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            assert!(out.is_some());
        }
        times.sort_by(f64::total_cmp);
        rows.push((
            label.to_owned(),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
        ));
    }
    println!("\n### LookupEvents over {n} events (200 queries each, MaxResults 50)\n");
    println!("| lookup | p50 ms | p99 ms |\n|---|---|---|");
    for (l, p50, p99) in rows {
        println!("| {l} | {p50:.3} | {p99:.3} |");
    }
}

fn main() {
    let n: u64 = std::env::var("CAIRN_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("cairn-trail-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // 1 and 2: a store of n events (their pending rows drained, as delivery would).
    let db = dir.join("lookup.db");
    let store = Store::open_sqlite(&db).unwrap();
    let secs = fill(&store, n, 1);
    store
        .write_blocking(|tx| {
            while delivery::fan_out(tx, None, &[])? > 0 {}
            Ok::<(), cairn_store::StoreError>(())
        })
        .unwrap();
    println!(
        "## cairn-trail bench\n\nstored {n} events in {secs:.1} s ({:.0} events/s)",
        n as f64 / secs
    );
    // CAIRN_BENCH_SKIP_LOOKUPS=1: only storage, delivery and digests.
    if std::env::var_os("CAIRN_BENCH_SKIP_LOOKUPS").is_none() {
        lookups(&store, n);
    }
    drop(store);
    let db_bytes: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("lookup.db"))
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum();

    // 3: delivery of 200,000 records to one logging trail.
    let deliver_n = 200_000u64.min(n);
    let store = Store::open_sqlite(&dir.join("deliver.db")).unwrap();
    fill(&store, deliver_n, 2);
    let mut trail = cairn_trail::trails::new_rec(
        "main".into(),
        ACCOUNT.into(),
        "us-east-1".into(),
        "aws".into(),
        "audit".into(),
        0,
    );
    trail.logging = true;
    trail.start_logging_ms = Some(0);
    // The heavier case: a validating trail hashes every file for its digest.
    trail.validation = true;
    let t = trail.clone();
    store
        .write_blocking(move |tx| cairn_trail::trails::put(tx, &t))
        .unwrap();
    let start = Instant::now();
    store
        .write_blocking(|tx| {
            while delivery::fan_out(tx, None, &[])? > 0 {}
            Ok::<(), cairn_store::StoreError>(())
        })
        .unwrap();
    let fan_out_secs = start.elapsed().as_secs_f64();
    let (mut build_secs, mut ack_secs) = (0.0, 0.0);
    let ids = std::sync::Arc::new(SeededIds::new(3));
    let mut gz_bytes = 0usize;
    let mut records = 0usize;
    let mut files = Vec::new();
    loop {
        let t = trail.clone();
        let ids2 = std::sync::Arc::clone(&ids);
        let phase = Instant::now();
        let round = store
            .read_blocking(move |tx| {
                delivery::next_files(tx, None, ids2.as_ref(), None, &t, NOW, delivery::Take::All)
            })
            .unwrap();
        build_secs += phase.elapsed().as_secs_f64();
        let Some(round) = round else { break };
        for f in &round.files {
            gz_bytes += f.body.len();
            records += f.records;
        }
        files.extend(round.files.clone());
        let phase = Instant::now();
        store
            .write_blocking(move |tx| delivery::acknowledge(tx, &round, NOW))
            .unwrap();
        ack_secs += phase.elapsed().as_secs_f64();
    }
    let deliver_secs = start.elapsed().as_secs_f64();
    println!("\n### Storage and delivery\n");
    println!("| figure | value |\n|---|---|");
    println!(
        "| store bytes per million events (SQLite, records + index) | {:.0} MB |",
        db_bytes as f64 / n as f64 * 1e6 / 1e6
    );
    println!(
        "| CloudTrail gzip log files per million of the same events | {:.0} MB |",
        gz_bytes as f64 / records.max(1) as f64 * 1e6 / 1e6
    );
    println!(
        "| delivery (fan-out, JSON, SHA-256, gzip, acknowledge; one thread) | {:.0} records/s ({records} records, {} files) |",
        records as f64 / deliver_secs,
        files.len()
    );
    println!(
        "| of which fan-out / building files / acknowledging | {fan_out_secs:.2} s / {build_secs:.2} s / {ack_secs:.2} s |"
    );

    // 4: one digest of an hour of 5-minute files.
    struct Plain;
    impl cairn_core::Seal for Plain {
        fn seal(&self, p: &str, _n: [u8; 12]) -> Option<String> {
            Some(p.to_owned())
        }
        fn open(&self, s: &str) -> Option<String> {
            Some(s.to_owned())
        }
    }
    let key = cairn_trail::digest::generate_key(ids.as_ref(), &Plain, "us-east-1", 0).unwrap();
    let chain = cairn_trail::digest::ChainRec {
        account: ACCOUNT.into(),
        region: "us-east-1".into(),
        period_start_ms: NOW - 3_600_000,
        previous: None,
        org_id: None,
    };
    let entries: Vec<(Vec<u8>, cairn_trail::digest::LogEntry)> = (0..12)
        .map(|i| {
            (
                vec![i],
                cairn_trail::digest::LogEntry {
                    bucket: "audit".into(),
                    key: format!(
                        "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/12/03/file{i}.json.gz"
                    ),
                    hash_hex: "ab".repeat(32),
                    oldest_ms: NOW - 3_600_000,
                    newest_ms: NOW,
                },
            )
        })
        .collect();
    let runs = 50;
    let start = Instant::now();
    for _ in 0..runs {
        cairn_trail::digest::build(
            &trail,
            b"k",
            &chain,
            &entries,
            NOW,
            &key,
            &Plain,
            ids.as_ref(),
            false,
        )
        .unwrap();
    }
    println!(
        "| one signed digest (12 log files, RSA-2048) | {:.2} ms |",
        start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
    );
    drop(store);
    if std::env::var_os("CAIRN_BENCH_KEEP").is_some() {
        println!("\nkept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
