//! A week of baseline replayed in milliseconds: injected times, an in-memory store.

use super::*;
use cairn_api::cloudtrail::types::InsightSelector;
use cairn_core::{AuditEvent, Principal, SeededIds};
use cairn_store::Store;

const ACCT: &str = "111122223333";
const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn trail() -> TrailRec {
    let mut t = crate::trails::new_rec(
        "main".into(),
        ACCT.into(),
        "us-east-1".into(),
        "aws".into(),
        "audit".into(),
        T0,
    );
    t.logging = true;
    t.start_logging_ms = Some(T0);
    t.insight_selectors = vec![
        InsightSelector {
            insight_type: Some(InsightType::ApiCallRateInsight),
            event_categories: None,
        },
        InsightSelector {
            insight_type: Some(InsightType::ApiErrorRateInsight),
            event_categories: None,
        },
    ];
    t
}

fn call(time_ms: i64, n: u64, error: bool) -> AuditEvent {
    AuditEvent {
        event_time_ms: time_ms,
        event_id: format!("e-{time_ms}-{n}"),
        request_id: format!("r-{time_ms}-{n}"),
        principal: Principal::Root {
            account_id: ACCT.to_owned(),
            access_key_id: "AKIAROOT".to_owned(),
            session: None,
        },
        event_source: "iam.amazonaws.com".to_owned(),
        event_name: "CreateUser".to_owned(),
        aws_region: "us-east-1".to_owned(),
        source_ip: "127.0.0.1".to_owned(),
        user_agent: "replay".to_owned(),
        request_parameters: None,
        response_elements: None,
        error_code: error.then(|| "EntityAlreadyExists".to_owned()),
        error_message: error.then(|| "exists".to_owned()),
        read_only: false,
        event_type: "AwsApiCall".to_owned(),
        management_event: true,
        recipient_account_id: ACCT.to_owned(),
        resources: Vec::new(),
        federated: None,
        service_event_details: None,
        additional_event_data: None,
    }
}

fn no_orgs(_: &mut dyn Tx, _: &str) -> Result<Option<(String, String)>, StoreError> {
    Ok(None)
}

/// Records `per_minute` calls (`errors` of them failing) in each minute of `[from, to)`,
/// fans them out and evaluates each minute; answers the Insights events found.
fn replay(
    store: &Store,
    trail: &TrailRec,
    from_min: i64,
    to_min: i64,
    per_minute: u64,
    errors: u64,
) -> Vec<Delivery> {
    let mut found = Vec::new();
    for m in from_min..to_min {
        let events: Vec<Encoded> = (0..per_minute)
            .map(|i| {
                Encoded::new(&call(
                    T0 + m * MINUTE_MS + i64::try_from(i).unwrap_or(0),
                    i,
                    i < errors,
                ))
                .unwrap()
            })
            .collect();
        let t = trail.clone();
        let ids = SeededIds::new(m.unsigned_abs());
        let mut d = store
            .write_blocking(move |tx| {
                crate::trails::put(tx, &t)?;
                if !events.is_empty() {
                    layout::put_batch(tx, &events)?;
                }
                while crate::delivery::fan_out(tx, None, &[])? > 0 {}
                let trails = [t.clone()];
                evaluate(
                    tx,
                    &trails,
                    &mut no_orgs,
                    &ids,
                    T0 + (m + 1) * MINUTE_MS + 1,
                )
            })
            .unwrap();
        found.append(&mut d);
    }
    found
}

/// [`replay`]'s calls for a long quiet stretch, written and evaluated at once (the baseline
/// is all that matters of it).
fn quiet(
    store: &Store,
    trail: &TrailRec,
    from_min: i64,
    to_min: i64,
    per_minute: u64,
) -> Vec<Delivery> {
    let events: Vec<Encoded> = (from_min..to_min)
        .flat_map(|m| (0..per_minute).map(move |i| (m, i)))
        .map(|(m, i)| {
            Encoded::new(&call(
                T0 + m * MINUTE_MS + i64::try_from(i).unwrap_or(0),
                i,
                false,
            ))
            .unwrap()
        })
        .collect();
    let t = trail.clone();
    store
        .write_blocking(move |tx| {
            crate::trails::put(tx, &t)?;
            for chunk in events.chunks(1024) {
                layout::put_batch(tx, chunk)?;
            }
            while crate::delivery::fan_out(tx, None, &[])? > 0 {}
            let trails = [t.clone()];
            evaluate(
                tx,
                &trails,
                &mut no_orgs,
                &SeededIds::new(7),
                T0 + to_min * MINUTE_MS + 1,
            )
        })
        .unwrap()
}

fn details(d: &Delivery) -> serde_json::Value {
    serde_json::from_str::<serde_json::Value>(&d.event.record_json).unwrap()
}

#[test]
fn a_burst_over_a_week_of_baseline_is_an_insight_with_start_and_end() {
    let store = Store::open_sqlite_memory().unwrap();
    let t = trail();
    // A week at 1 call a minute: no insight.
    let quiet = quiet(&store, &t, 0, BASELINE_MINUTES, 1);
    assert!(
        quiet.is_empty(),
        "{:?}",
        quiet.iter().map(details).collect::<Vec<_>>()
    );
    // Five minutes at 40 a minute: an insight starts; back to 1: it ends.
    let burst = replay(&store, &t, BASELINE_MINUTES, BASELINE_MINUTES + 5, 40, 0);
    let after = replay(&store, &t, BASELINE_MINUTES + 5, BASELINE_MINUTES + 7, 1, 0);
    let all: Vec<serde_json::Value> = burst.iter().chain(&after).map(details).collect();
    let calls: Vec<&serde_json::Value> = all
        .iter()
        .filter(|e| e["insightDetails"]["insightType"] == "ApiCallRateInsight")
        .collect();
    assert_eq!(calls.len(), 2, "{all:#?}");
    let (start, end) = (calls[0], calls[1]);
    assert_eq!(start["insightDetails"]["state"], "Start");
    assert_eq!(end["insightDetails"]["state"], "End");
    assert_eq!(start["sharedEventID"], end["sharedEventID"]);
    assert_eq!(start["eventType"], "AwsCloudTrailInsight");
    assert_eq!(start["eventCategory"], "Insight");
    assert_eq!(start["insightDetails"]["eventName"], "CreateUser");
    let stats = &end["insightDetails"]["insightContext"]["statistics"];
    assert_eq!(stats["insightDuration"], 5);
    assert_eq!(stats["insight"]["average"], 40.0);
    assert!(
        (stats["baseline"]["average"].as_f64().unwrap() - 1.0).abs() < 0.01,
        "{stats}"
    );
    assert_eq!(stats["baselineDuration"], BASELINE_MINUTES);
    let attributions = end["insightDetails"]["insightContext"]["attributions"]
        .as_array()
        .unwrap();
    let by_arn = attributions
        .iter()
        .find(|a| a["attribute"] == "userIdentityArn")
        .unwrap();
    assert_eq!(
        by_arn["insight"][0]["value"],
        format!("arn:aws:iam::{ACCT}:root")
    );
    assert_eq!(by_arn["insight"][0]["average"], 40.0);
    // No error-rate insight: nothing failed.
    assert!(
        all.iter()
            .all(|e| e["insightDetails"]["insightType"] != "ApiErrorRateInsight")
    );
    // Delivered to the trail.
    assert!(burst.iter().chain(&after).all(|d| d.to.len() == 1));
    // LookupEvents' spaces hold them.
    let n = store.read_blocking(|tx| tx.count(EVENTS, &[])).unwrap();
    assert_eq!(n, 2);
}

#[test]
fn a_burst_of_errors_is_an_error_rate_insight() {
    let store = Store::open_sqlite_memory().unwrap();
    let t = trail();
    quiet(&store, &t, 0, 120, 20);
    let burst = replay(&store, &t, 120, 122, 20, 20);
    let kinds: Vec<(String, String)> = burst
        .iter()
        .map(details)
        .map(|e| {
            (
                e["insightDetails"]["insightType"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                e["insightDetails"]["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("ApiErrorRateInsight".to_owned(), "Start".to_owned())]
    );
}

#[test]
fn no_insight_before_an_hour_of_baseline() {
    let store = Store::open_sqlite_memory().unwrap();
    let t = trail();
    quiet(&store, &t, 0, 30, 1);
    let burst = replay(&store, &t, 30, 32, 100, 0);
    assert!(burst.is_empty());
}
