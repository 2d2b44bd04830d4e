#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation panics"
)]

use super::*;
use crate::record::to_record;
use crate::sink::Recorder;
use crate::test_support::{ACCT, event};
use cairn_api::cloudtrail::types::LookupAttribute;
use cairn_api::cloudtrail::{self, Operation};
use cairn_core::call::AuditResource;
use cairn_core::{AuditEvent, AuditSink, CallInfo, Clock, Env, ManualClock, Principal, SeededIds};
use cairn_store::Store;
use std::sync::Arc;

/// 2023-11-14T22:13:20Z
const NOW: i64 = 1_700_000_000_000;
const DAY: i64 = 24 * 60 * 60 * 1000;
const OTHER: &str = "444455556666";

struct Fixture {
    store: Store,
    recorder: Arc<Recorder>,
    clock: Arc<ManualClock>,
    env: Arc<Env>,
}

fn fixture() -> Fixture {
    let store = Store::open_sqlite_memory().unwrap();
    let recorder = Recorder::new(store.clone());
    let clock = Arc::new(ManualClock::new(NOW));
    let env = Arc::new(Env {
        store: store.clone(),
        clock: clock.clone(),
        ids: Arc::new(SeededIds::new(1)),
        audit: recorder.clone(),
        node: String::from("test-node"),
        faults: cairn_core::Faults::default(),
        jobs: Default::default(),
        generations: Default::default(),
    });
    Fixture {
        store,
        recorder,
        clock,
        env,
    }
}

fn root(account: &str) -> Principal {
    Principal::Root {
        account_id: account.to_owned(),
        access_key_id: "AKIAROOTEXAMPLE".to_owned(),
        session: None,
    }
}

impl Fixture {
    #[allow(
        clippy::disallowed_methods,
        reason = "the test stands in for the pipeline, which makes the calls"
    )]
    fn call_as(&self, principal: Principal) -> Call {
        Call::new(
            CallInfo {
                request_id: "req-lookup".to_owned(),
                principal,
                region: "us-east-1".to_owned(),
                source_ip: "127.0.0.1".to_owned(),
                user_agent: "test".to_owned(),
                model: &cloudtrail::MODEL,
                operation: Operation::LookupEvents.def(),
                request_parameters: None,
                received_ms: self.clock.now_millis(),
            },
            Arc::clone(&self.env),
        )
    }

    /// Writes events as the group-commit batcher does: one batch, index rows grouped per
    /// prefix and second (the multi-event index rows lookups must merge).
    async fn put(&self, events: Vec<AuditEvent>) {
        let encoded: Vec<crate::layout::Encoded> = events
            .iter()
            .map(|e| crate::layout::Encoded::new(e).unwrap())
            .collect();
        self.store
            .write(move |tx| crate::layout::put_batch(tx, &encoded))
            .await
            .unwrap();
    }

    /// Writes events as mutations do (one index row per event and attribute).
    async fn put_single(&self, events: Vec<AuditEvent>) {
        let rec = Arc::clone(&self.recorder);
        self.store
            .write(move |tx| -> Result<(), StoreError> {
                for e in &events {
                    rec.record_in(tx, e)?;
                }
                Ok(())
            })
            .await
            .unwrap();
    }

    async fn lookup_as(
        &self,
        account: &str,
        req: LookupEventsRequest,
    ) -> Result<LookupEventsResponse, ApiError> {
        let call = self.call_as(root(account));
        crate::lookup::lookup_events(&call, req).await
    }

    async fn lookup(&self, req: LookupEventsRequest) -> Result<LookupEventsResponse, ApiError> {
        self.lookup_as(ACCT, req).await
    }

    async fn ids(&self, req: LookupEventsRequest) -> Vec<String> {
        ids(&self.lookup(req).await.unwrap())
    }
}

fn ids(resp: &LookupEventsResponse) -> Vec<String> {
    resp.events
        .as_ref()
        .unwrap()
        .iter()
        .map(|e| e.event_id.clone().unwrap())
        .collect()
}

fn by(key: LookupAttributeKey, value: &str) -> LookupEventsRequest {
    LookupEventsRequest {
        lookup_attributes: Some(vec![LookupAttribute {
            attribute_key: key,
            attribute_value: value.to_owned(),
        }]),
        ..Default::default()
    }
}

fn window(start: Option<i64>, end: Option<i64>) -> LookupEventsRequest {
    LookupEventsRequest {
        start_time: start.map(Timestamp::from_millis),
        end_time: end.map(Timestamp::from_millis),
        ..Default::default()
    }
}

fn code(r: Result<LookupEventsResponse, ApiError>) -> String {
    r.unwrap_err().code.to_string()
}

fn five_events() -> Vec<AuditEvent> {
    (1..=5)
        .map(|i| {
            event(
                NOW - (6 - i) * 1000,
                &format!("e{i}"),
                "ListAccounts",
                i % 2 == 0,
            )
        })
        .collect()
}

#[tokio::test]
async fn newest_first_with_every_response_field() {
    let f = fixture();
    let mut events = five_events();
    events[4].resources = vec![AuditResource {
        arn: "arn:aws:organizations::111122223333:account/o-x/222233334444".to_owned(),
        account_id: ACCT.to_owned(),
        resource_type: "AWS::Organizations::Account".to_owned(),
    }];
    events[4].event_time_ms += 250; // milliseconds are not part of EventTime
    let newest = events[4].clone();
    f.put(events).await;

    let resp = f.lookup(LookupEventsRequest::default()).await.unwrap();
    assert_eq!(ids(&resp), ["e5", "e4", "e3", "e2", "e1"]);
    assert_eq!(resp.next_token, None);
    let first = &resp.events.as_ref().unwrap()[0];
    assert_eq!(first.event_name.as_deref(), Some("ListAccounts"));
    assert_eq!(
        first.event_source.as_deref(),
        Some("organizations.amazonaws.com")
    );
    assert_eq!(first.read_only.as_deref(), Some("false"));
    assert_eq!(first.username.as_deref(), Some("root"));
    assert_eq!(first.access_key_id.as_deref(), Some("AKIAROOTEXAMPLE"));
    assert_eq!(
        first.event_time,
        Some(Timestamp::from_secs((NOW - 1000) / 1000))
    );
    assert_eq!(
        first.resources,
        Some(vec![Resource {
            resource_type: Some("AWS::Organizations::Account".to_owned()),
            resource_name: Some(
                "arn:aws:organizations::111122223333:account/o-x/222233334444".to_owned()
            ),
        }])
    );
    // CloudTrailEvent is the exact record, in order.
    let want = serde_json::to_string(&to_record(&newest)).unwrap();
    assert_eq!(first.cloud_trail_event.as_deref(), Some(want.as_str()));
    let second = &resp.events.as_ref().unwrap()[1];
    assert_eq!(second.read_only.as_deref(), Some("true"));
    assert_eq!(second.resources, Some(Vec::new()));
}

#[tokio::test]
async fn batched_records_are_visible_after_flush() {
    let f = fixture();
    for e in five_events() {
        f.recorder.record(e).await.unwrap();
    }
    f.recorder.flush().await;
    assert_eq!(
        f.ids(LookupEventsRequest::default()).await,
        ["e5", "e4", "e3", "e2", "e1"]
    );
}

#[tokio::test]
async fn pagination_two_at_a_time() {
    let f = fixture();
    f.put(five_events()).await;
    let mut req = LookupEventsRequest {
        max_results: Some(2),
        ..Default::default()
    };
    let p1 = f.lookup(req.clone()).await.unwrap();
    assert_eq!(ids(&p1), ["e5", "e4"]);
    req.next_token = Some(p1.next_token.clone().unwrap());
    let p2 = f.lookup(req.clone()).await.unwrap();
    assert_eq!(ids(&p2), ["e3", "e2"]);
    req.next_token = Some(p2.next_token.clone().unwrap());
    let p3 = f.lookup(req.clone()).await.unwrap();
    assert_eq!(ids(&p3), ["e1"]);
    assert_eq!(p3.next_token, None);

    // The page size may change between pages; the token stays valid.
    req.max_results = Some(50);
    req.next_token = p1.next_token.clone();
    assert_eq!(ids(&f.lookup(req).await.unwrap()), ["e3", "e2", "e1"]);
}

#[tokio::test]
async fn no_token_when_the_page_ends_exactly_at_the_last_event() {
    let f = fixture();
    f.put(five_events().into_iter().take(4).collect()).await;
    let req = LookupEventsRequest {
        max_results: Some(2),
        ..Default::default()
    };
    let p1 = f.lookup(req.clone()).await.unwrap();
    let p2 = f
        .lookup(LookupEventsRequest {
            next_token: p1.next_token,
            ..req
        })
        .await
        .unwrap();
    assert_eq!(ids(&p2), ["e2", "e1"]);
    assert_eq!(p2.next_token, None);
}

#[tokio::test]
async fn same_millisecond_events_page_exactly_once() {
    let f = fixture();
    let events: Vec<AuditEvent> = ["d", "b", "a", "c"]
        .iter()
        .map(|id| event(NOW - 1000, id, "ListRoots", true))
        .collect();
    f.put(events).await;
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let resp = f
            .lookup(LookupEventsRequest {
                max_results: Some(1),
                next_token: token,
                ..Default::default()
            })
            .await
            .unwrap();
        seen.extend(ids(&resp));
        token = resp.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["a", "b", "c", "d"]);
}

#[tokio::test]
async fn new_events_do_not_shift_later_pages() {
    let f = fixture();
    f.put(five_events()).await;
    let req = LookupEventsRequest {
        max_results: Some(2),
        ..Default::default()
    };
    let p1 = f.lookup(req.clone()).await.unwrap();
    f.clock.advance(1000);
    f.put(vec![event(NOW, "late", "ListAccounts", true)]).await;
    let p2 = f
        .lookup(LookupEventsRequest {
            next_token: p1.next_token,
            ..req
        })
        .await
        .unwrap();
    assert_eq!(ids(&p2), ["e3", "e2"]);
}

#[tokio::test]
async fn every_lookup_attribute() {
    let f = fixture();
    let mut a = event(NOW - 4000, "a", "CreateOrganization", false);
    a.response_elements = Some(serde_json::json!({"organization": {"id": "o-abc"}}));
    a.resources = vec![AuditResource {
        arn: "arn:aws:organizations::111122223333:organization/o-abc".to_owned(),
        account_id: ACCT.to_owned(),
        resource_type: "AWS::Organizations::Organization".to_owned(),
    }];
    let mut b = event(NOW - 3000, "b", "ListAccounts", true);
    b.principal = Principal::IamUser {
        account_id: ACCT.to_owned(),
        user_name: "alice".to_owned(),
        user_id: "AIDAALICE".to_owned(),
        path: "/".to_owned(),
        access_key_id: "AKIAALICE".to_owned(),
        session: None,
    };
    let mut c = event(NOW - 2000, "c", "LookupEvents", true);
    c.event_source = "cloudtrail.amazonaws.com".to_owned();
    c.principal = Principal::AssumedRole {
        account_id: ACCT.to_owned(),
        role_name: "Auditor".to_owned(),
        role_id: "AROAAUDITOR".to_owned(),
        role_path: "/".to_owned(),
        session_name: "bob".to_owned(),
        access_key_id: "ASIABOB".to_owned(),
        session: std::sync::Arc::new(cairn_core::Session {
            issued_at_ms: NOW - DAY,
            mfa_authenticated: false,
            source_identity: None,
            ..Default::default()
        }),
    };
    c.resources = vec![AuditResource {
        arn: "arn:aws:cloudtrail:us-east-1:111122223333:trail/main".to_owned(),
        account_id: ACCT.to_owned(),
        resource_type: "AWS::CloudTrail::Trail".to_owned(),
    }];
    let mut d = event(NOW - 1000, "d", "ListAccounts", true);
    d.event_source = "sso.amazonaws.com".to_owned();
    d.principal = Principal::Anonymous;
    f.put(vec![a, b, c, d]).await;

    use LookupAttributeKey as K;
    let cases: &[(K, &str, &[&str])] = &[
        (K::EventId, "zzz", &[]),
        (K::EventName, "ListAccounts", &["d", "b"]),
        (K::EventName, "List", &[]),
        (K::EventName, "listaccounts", &[]),
        (K::ReadOnly, "true", &["d", "c", "b"]),
        (K::ReadOnly, "false", &["a"]),
        (K::Username, "root", &["a"]),
        (K::Username, "alice", &["b"]),
        (K::Username, "bob", &["c"]),
        (K::ResourceType, "AWS::CloudTrail::Trail", &["c"]),
        (K::ResourceType, "AWS::Organizations::Organization", &["a"]),
        (
            K::ResourceName,
            "arn:aws:organizations::111122223333:organization/o-abc",
            &["a"],
        ),
        (K::EventSource, "cloudtrail.amazonaws.com", &["c"]),
        (K::EventSource, "organizations.amazonaws.com", &["b", "a"]),
        (K::EventSource, "sso.amazonaws.com", &["d"]),
        (K::AccessKeyId, "AKIAALICE", &["b"]),
        (K::AccessKeyId, "ASIABOB", &["c"]),
        (K::AccessKeyId, "AKIAROOTEXAMPLE", &["a"]),
    ];
    for (key, value, want) in cases {
        assert_eq!(f.ids(by(*key, value)).await, *want, "{key:?} = {value}");
    }

    // Anonymous calls have neither username nor access key.
    let resp = f
        .lookup(by(K::EventSource, "sso.amazonaws.com"))
        .await
        .unwrap();
    let ev = &resp.events.unwrap()[0];
    assert_eq!(ev.username, None);
    assert_eq!(ev.access_key_id, None);
    let resp = f.lookup(by(K::AccessKeyId, "ASIABOB")).await.unwrap();
    let ev = &resp.events.unwrap()[0];
    assert_eq!(ev.username.as_deref(), Some("bob"));
    assert_eq!(ev.event_source.as_deref(), Some("cloudtrail.amazonaws.com"));

    // An empty attribute list is no filter.
    let req = LookupEventsRequest {
        lookup_attributes: Some(Vec::new()),
        ..Default::default()
    };
    assert_eq!(f.ids(req).await, ["d", "c", "b", "a"]);
}

#[tokio::test]
async fn filtered_pagination() {
    let f = fixture();
    f.put(five_events()).await;
    // Read-only events: e4, e2.
    let mut req = by(LookupAttributeKey::ReadOnly, "true");
    req.max_results = Some(1);
    let p1 = f.lookup(req.clone()).await.unwrap();
    assert_eq!(ids(&p1), ["e4"]);
    req.next_token = p1.next_token;
    let p2 = f.lookup(req).await.unwrap();
    assert_eq!(ids(&p2), ["e2"]);
    assert_eq!(p2.next_token, None);
}

#[tokio::test]
async fn time_window() {
    let f = fixture();
    f.put(vec![
        event(NOW - 100 * DAY, "ancient", "ListRoots", true),
        event(NOW - 89 * DAY, "old", "ListRoots", true),
        event(NOW - 10_000 + 500, "mid", "ListRoots", true),
        event(NOW - 5_000, "recent", "ListRoots", true),
    ])
    .await;

    assert_eq!(f.ids(window(None, None)).await, ["recent", "mid", "old"]);
    // An explicit start before the horizon is clamped to 90 days.
    assert_eq!(
        f.ids(window(Some(NOW - 200 * DAY), None)).await,
        ["recent", "mid", "old"]
    );
    // Inclusive bounds at one-second granularity: the end second includes its milliseconds.
    assert_eq!(
        f.ids(window(None, Some(NOW - 10_000))).await,
        ["mid", "old"]
    );
    assert_eq!(
        f.ids(window(Some(NOW - 10_000), Some(NOW - 10_000))).await,
        ["mid"]
    );
    assert_eq!(
        f.ids(window(Some(NOW - 5_000), Some(NOW))).await,
        ["recent"]
    );
    assert_eq!(
        f.ids(window(Some(NOW - 4_999), Some(NOW))).await,
        ["recent"]
    );
    assert_eq!(
        f.ids(window(Some(NOW - 4_000), Some(NOW))).await,
        Vec::<String>::new()
    );
    // Entirely before the horizon, or in the future: nothing.
    assert!(f.ids(window(None, Some(NOW - 95 * DAY))).await.is_empty());
    assert!(f.ids(window(Some(NOW + DAY), None)).await.is_empty());
    // Start after end.
    let r = f.lookup(window(Some(NOW - 1000), Some(NOW - 2000))).await;
    assert_eq!(code(r), "InvalidTimeRangeException");

    // Two days later the 89-day-old event has aged out.
    f.clock.advance(2 * DAY);
    assert_eq!(f.ids(window(None, None)).await, ["recent", "mid"]);
}

#[tokio::test]
async fn time_window_with_filter_and_pages() {
    let f = fixture();
    f.put(five_events()).await;
    let mut req = by(LookupAttributeKey::EventName, "ListAccounts");
    req.start_time = Some(Timestamp::from_millis(NOW - 4000));
    req.end_time = Some(Timestamp::from_millis(NOW - 2000));
    req.max_results = Some(2);
    let p1 = f.lookup(req.clone()).await.unwrap();
    assert_eq!(ids(&p1), ["e4", "e3"]);
    req.next_token = p1.next_token;
    let p2 = f.lookup(req).await.unwrap();
    assert_eq!(ids(&p2), ["e2"]);
    assert_eq!(p2.next_token, None);
}

#[tokio::test]
async fn only_the_callers_account() {
    let f = fixture();
    let mut theirs = event(NOW - 1000, "theirs", "ListAccounts", true);
    theirs.principal = root(OTHER);
    theirs.recipient_account_id = OTHER.to_owned();
    f.put(vec![
        theirs,
        event(NOW - 2000, "ours", "ListAccounts", true),
    ])
    .await;
    assert_eq!(f.ids(LookupEventsRequest::default()).await, ["ours"]);
    assert_eq!(
        f.ids(by(LookupAttributeKey::EventId, "theirs")).await,
        Vec::<String>::new()
    );
    let resp = f
        .lookup_as(OTHER, LookupEventsRequest::default())
        .await
        .unwrap();
    assert_eq!(ids(&resp), ["theirs"]);
}

#[tokio::test]
async fn insight_category_is_empty() {
    let f = fixture();
    f.put(five_events()).await;
    let resp = f
        .lookup(LookupEventsRequest {
            event_category: Some(EventCategory::Insight),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(resp.events, Some(Vec::new()));
    assert_eq!(resp.next_token, None);
}

#[tokio::test]
async fn invalid_parameters() {
    let f = fixture();
    let two = LookupEventsRequest {
        lookup_attributes: Some(vec![
            LookupAttribute {
                attribute_key: LookupAttributeKey::EventName,
                attribute_value: "ListAccounts".to_owned(),
            },
            LookupAttribute {
                attribute_key: LookupAttributeKey::ReadOnly,
                attribute_value: "true".to_owned(),
            },
        ]),
        ..Default::default()
    };
    assert_eq!(
        code(f.lookup(two).await),
        "InvalidLookupAttributesException"
    );
    assert_eq!(
        code(f.lookup(by(LookupAttributeKey::EventName, "")).await),
        "InvalidLookupAttributesException"
    );
    let long = "x".repeat(2001);
    assert_eq!(
        code(f.lookup(by(LookupAttributeKey::EventName, &long)).await),
        "InvalidLookupAttributesException"
    );
    for n in [0, 51, -1, i32::MAX] {
        let r = f
            .lookup(LookupEventsRequest {
                max_results: Some(n),
                ..Default::default()
            })
            .await;
        assert_eq!(code(r), "InvalidMaxResultsException", "MaxResults {n}");
    }
    for n in [1, 50] {
        let r = f
            .lookup(LookupEventsRequest {
                max_results: Some(n),
                ..Default::default()
            })
            .await;
        assert!(r.is_ok(), "MaxResults {n}");
    }
    let err = f
        .lookup(window(Some(NOW), Some(NOW - 1)))
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidTimeRangeException");
    assert_eq!(err.status, 400);
}

#[tokio::test]
async fn forged_and_mismatched_tokens() {
    let f = fixture();
    f.put(five_events()).await;
    let base = LookupEventsRequest {
        max_results: Some(2),
        ..Default::default()
    };
    let token = f.lookup(base.clone()).await.unwrap().next_token.unwrap();
    let with = |req: &LookupEventsRequest, token: &str| LookupEventsRequest {
        next_token: Some(token.to_owned()),
        ..req.clone()
    };
    // Sanity: the token works for its own query.
    assert!(f.lookup(with(&base, &token)).await.is_ok());

    let mut raw = B64.decode(&token).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 1; // a different resume key
    let tampered_key = B64.encode(&raw);
    let mut raw = B64.decode(&token).unwrap();
    raw[1] ^= 1; // a different tag
    let tampered_tag = B64.encode(&raw);
    let mut raw = B64.decode(&token).unwrap();
    raw[0] = 2; // unknown version
    let bad_version = B64.encode(&raw);
    let truncated = B64.encode(&B64.decode(&token).unwrap()[..20]);
    for bad in [
        "",
        "!!!not base64!!!",
        "AAAA",
        tampered_key.as_str(),
        tampered_tag.as_str(),
        bad_version.as_str(),
        truncated.as_str(),
    ] {
        let r = f.lookup(with(&base, bad)).await;
        assert_eq!(code(r), "InvalidNextTokenException", "token {bad:?}");
    }

    // A token of one query is not valid for another.
    let other_queries = [
        by(LookupAttributeKey::EventName, "ListAccounts"),
        window(Some(NOW - DAY), None),
        window(None, Some(NOW)),
        LookupEventsRequest {
            event_category: Some(EventCategory::Insight),
            ..Default::default()
        },
    ];
    for q in other_queries {
        let r = f.lookup(with(&q, &token)).await;
        assert_eq!(code(r), "InvalidNextTokenException", "{q:?}");
    }
    // Nor for another account.
    let r = f.lookup_as(OTHER, with(&base, &token)).await;
    assert_eq!(code(r), "InvalidNextTokenException");
}

#[tokio::test]
async fn work_is_bounded_by_max_results() {
    // A page reads at most MaxResults + 1 index rows, so a token comes back even when many
    // more events exist, and the next page continues exactly.
    let f = fixture();
    let events: Vec<AuditEvent> = (0..300)
        .map(|i| {
            event(
                NOW - 1_000_000 + i * 1000,
                &format!("n{i:03}"),
                "ListRoots",
                true,
            )
        })
        .collect();
    f.put(events).await;
    let mut token = None;
    let mut total = 0;
    let mut pages = 0;
    loop {
        let resp = f
            .lookup(LookupEventsRequest {
                next_token: token,
                ..Default::default()
            })
            .await
            .unwrap();
        let page = ids(&resp);
        assert!(page.len() <= 50);
        if pages == 0 {
            assert_eq!(page[0], "n299");
        }
        total += page.len();
        pages += 1;
        token = resp.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(total, 300);
    assert_eq!(pages, 6);
}

#[tokio::test]
async fn event_id_lookup_reads_the_record_the_id_names() {
    use cairn_core::Ids;
    let f = fixture();
    let ids = cairn_core::SeededIds::new(3);
    let t = NOW - 2000;
    let id = ids.uuid_v7(t);
    let e = event(t, &id, "ListAccounts", true);
    let other_time = ids.uuid_v7(t + 1);
    f.put(vec![e]).await;
    use LookupAttributeKey as K;
    assert_eq!(f.ids(by(K::EventId, &id)).await, [id.as_str()]);
    // Same shape, no such event; an ID of another kind; an event outside the window.
    assert!(f.ids(by(K::EventId, &other_time)).await.is_empty());
    assert!(
        f.ids(by(K::EventId, "6f9619ff-8b86-4011-b42d-00c04fc964ff"))
            .await
            .is_empty()
    );
    let mut req = by(K::EventId, &id);
    req.end_time = Some(Timestamp::from_millis(t - 5000));
    assert!(f.ids(req).await.is_empty());
}

#[tokio::test]
async fn grouped_and_single_rows_page_identically() {
    // Events spread over a few seconds, several per millisecond, written once as
    // single-event rows and once as grouped rows: every page size gives the same sequence.
    let mut events = Vec::new();
    for i in 0..40i64 {
        let t = NOW - 10_000 + (i / 3) * 250;
        events.push(event(t, &format!("e{i:02}"), "ListAccounts", i % 2 == 0));
    }
    let single = fixture();
    single.put_single(events.clone()).await;
    let grouped = fixture();
    // Two batches, as the batcher would commit them.
    let (a, b) = events.split_at(17);
    grouped.put(a.to_vec()).await;
    grouped.put(b.to_vec()).await;
    let all_single = single.ids(LookupEventsRequest::default()).await;
    assert_eq!(all_single.len(), 40);
    for size in [1, 2, 3, 7, 50] {
        for f in [&single, &grouped] {
            let mut seen = Vec::new();
            let mut token = None;
            loop {
                let resp = f
                    .lookup(LookupEventsRequest {
                        max_results: Some(size),
                        next_token: token.clone(),
                        lookup_attributes: Some(vec![LookupAttribute {
                            attribute_key: LookupAttributeKey::ReadOnly,
                            attribute_value: "true".to_owned(),
                        }]),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                seen.extend(ids(&resp));
                token = resp.next_token;
                if token.is_none() {
                    break;
                }
            }
            let want: Vec<String> = all_single
                .iter()
                .filter(|id| id[1..].parse::<i64>().unwrap() % 2 == 0)
                .cloned()
                .collect();
            assert_eq!(seen, want, "page size {size}");
        }
    }
}
