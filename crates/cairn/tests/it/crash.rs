//! Crash safety: SIGKILL the server in the middle of a stream of mutations, restart it on the
//! same data directory, and check that every acknowledged mutation survived together with
//! its CloudTrail record, and that nothing unacknowledged left more than the one call in
//! flight could have.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudtrail::types::LookupAttributeKey as Key;
use aws_sdk_organizations::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_organizations::operation::RequestId;
use aws_sdk_organizations::types::OrganizationFeatureSet;
use serde_json::Value;

use crate::common::{Server, TempDir, attr, err_info, lookup_all, ok, record};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Delete,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Create => "CreateOrganization",
            Op::Delete => "DeleteOrganization",
        }
    }
}

/// A call that got a success response.
#[derive(Debug, Clone)]
struct Acked {
    op: Op,
    request_id: String,
    /// The organization a Create made.
    org_id: Option<String>,
}

/// Alternates CreateOrganization / DeleteOrganization until a call fails without an AWS
/// answer (the server is gone). Returns the acknowledged calls and the one in flight.
async fn stream(orgs: aws_sdk_organizations::Client) -> (Vec<Acked>, Op, String) {
    let mut acked = Vec::new();
    let mut next = Op::Create;
    loop {
        let outcome = match next {
            Op::Create => orgs
                .create_organization()
                .feature_set(OrganizationFeatureSet::All)
                .send()
                .await
                .map(|out| {
                    let id = out.organization().and_then(|o| o.id()).map(str::to_owned);
                    (out.request_id().map(str::to_owned), id)
                })
                .map_err(|e| {
                    (
                        e.code().map(str::to_owned),
                        DisplayErrorContext(&e).to_string(),
                    )
                }),
            Op::Delete => match orgs.delete_organization().send().await {
                Ok(out) => Ok((out.request_id().map(str::to_owned), None)),
                // HTTP 200 is the server's acknowledgement even when the SDK cannot read the
                // body (Cairn answers DeleteOrganization with `null`, which
                // slice::slice_with_the_sdks reports). This test is about what was
                // acknowledged, so it counts as one.
                Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 200) => {
                    Ok((e.request_id().map(str::to_owned), None))
                }
                Err(e) => Err((
                    e.code().map(str::to_owned),
                    DisplayErrorContext(&e).to_string(),
                )),
            },
        };
        match outcome {
            Ok((request_id, org_id)) => {
                let request_id = request_id.expect("an acknowledged call carries a request id");
                if next == Op::Create {
                    assert!(
                        org_id.is_some(),
                        "CreateOrganization without an organization id"
                    );
                }
                acked.push(Acked {
                    op: next,
                    request_id,
                    org_id,
                });
                next = match next {
                    Op::Create => Op::Delete,
                    Op::Delete => Op::Create,
                };
            }
            // An AWS error means the server answered: the alternation broke, which is a bug.
            Err((Some(code), detail)) => panic!(
                "{} answered {code} during the stream: {detail}",
                next.name()
            ),
            // No answer: the server was killed. This call was in flight.
            Err((None, detail)) => return (acked, next, detail),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_nothing_acknowledged() {
    let dir = TempDir::new("crash");
    let mut server = Server::start(&dir, &[]);
    let creds = server.creds.clone();

    // Kill at a varying point of the stream, after 1.2–1.8 s.
    let jitter = u64::from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_millis()
            % 600,
    );
    let task = tokio::spawn(stream(server.orgs()));
    tokio::time::sleep(Duration::from_millis(1200 + jitter)).await;
    if task.is_finished() {
        let outcome = task.await;
        panic!(
            "the stream stopped before the kill: {outcome:?}\n{}",
            server.log()
        );
    }
    server.kill();
    let (acked, in_flight, how) = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the stream did not notice the kill")
        .expect("the stream panicked");
    assert!(
        acked.len() >= 4,
        "only {} calls were acknowledged before the kill; the stream is too slow to test anything",
        acked.len()
    );
    eprintln!(
        "crash: {} calls acknowledged, {} in flight at the kill ({how})",
        acked.len(),
        in_flight.name()
    );

    // Restart on the same data directory.
    let started = Instant::now();
    let server = Server::start(&dir, &[]);
    eprintln!("crash: restarted in {:?}", started.elapsed());
    assert_eq!(
        server.creds, creds,
        "root credentials changed across the crash"
    );
    let orgs = server.orgs();
    let state = match orgs.describe_organization().send().await {
        Ok(out) => Some(out.organization().and_then(|o| o.id()).unwrap().to_owned()),
        Err(e) => {
            let code = e.code().map(str::to_owned);
            assert_eq!(
                code.as_deref(),
                Some("AWSOrganizationsNotInUseException"),
                "DescribeOrganization after restart: {}",
                DisplayErrorContext(&e)
            );
            None
        }
    };

    // The trail of both operations, by request id.
    let ct = server.cloudtrail();
    let mut records: BTreeMap<String, Value> = BTreeMap::new();
    for op in [Op::Create, Op::Delete] {
        for e in lookup_all(&ct, Some(attr(Key::EventName, op.name()))).await {
            let r = record(&e);
            assert!(
                r.get("errorCode").is_none(),
                "a failure was recorded during the stream: {r:#}"
            );
            let rid = r["requestID"].as_str().unwrap().to_owned();
            assert!(
                records.insert(rid.clone(), r).is_none(),
                "two records for request {rid}"
            );
        }
    }

    // Every acknowledged call has its record, with what the client was told.
    for a in &acked {
        let Some(r) = records.get(&a.request_id) else {
            panic!(
                "acknowledged {} {} has no CloudTrail record",
                a.op.name(),
                a.request_id
            );
        };
        assert_eq!(r["eventName"], a.op.name(), "{r:#}");
        if let Some(id) = &a.org_id {
            assert_eq!(
                r["responseElements"]["organization"]["id"],
                id.as_str(),
                "{r:#}"
            );
        }
    }

    // Records of calls that were not acknowledged: at most the one in flight.
    let acked_ids: BTreeSet<&str> = acked.iter().map(|a| a.request_id.as_str()).collect();
    let extra: Vec<&Value> = records
        .iter()
        .filter(|(rid, _)| !acked_ids.contains(rid.as_str()))
        .map(|(_, r)| r)
        .collect();
    assert!(
        extra.len() <= 1,
        "records of more than the one call in flight: {extra:#?}"
    );
    if let Some(r) = extra.first() {
        assert_eq!(
            r["eventName"],
            in_flight.name(),
            "a record of a call that was never sent: {r:#}"
        );
    }
    let in_flight_committed = !extra.is_empty();
    eprintln!(
        "crash: the in-flight call {} committed; organization after restart: {state:?}",
        if in_flight_committed {
            "had"
        } else {
            "had not"
        }
    );

    // The organization is what the acknowledged sequence (plus, possibly, the call in
    // flight — exactly when its record exists) left.
    let last = acked.last().unwrap();
    match (last.op, in_flight) {
        (Op::Create, Op::Delete) => {
            let id = last.org_id.clone();
            if in_flight_committed {
                assert_eq!(
                    state, None,
                    "the in-flight DeleteOrganization is recorded, but the organization exists"
                );
            } else {
                assert_eq!(
                    state, id,
                    "the last acknowledged CreateOrganization's organization"
                );
            }
        }
        (Op::Delete, Op::Create) => {
            if in_flight_committed {
                let made = extra[0]["responseElements"]["organization"]["id"]
                    .as_str()
                    .map(str::to_owned);
                assert!(
                    made.is_some(),
                    "in-flight CreateOrganization record without an id: {:#}",
                    extra[0]
                );
                assert_eq!(
                    state, made,
                    "the in-flight CreateOrganization is recorded, but its organization is not the one that exists"
                );
                let earlier: BTreeSet<&str> =
                    acked.iter().filter_map(|a| a.org_id.as_deref()).collect();
                assert!(
                    !earlier.contains(made.as_deref().unwrap()),
                    "an organization id was reused"
                );
            } else {
                assert_eq!(
                    state, None,
                    "the last acknowledged call was DeleteOrganization"
                );
            }
        }
        other => panic!("the stream does not alternate: {other:?}"),
    }

    // The server carries on from that state.
    match state {
        Some(_) => {
            // Acknowledged = HTTP 200 (see the Delete arm of `stream`).
            match orgs.delete_organization().send().await {
                Ok(_) => {}
                Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 200) => {}
                Err(e) => panic!(
                    "DeleteOrganization after restart: {}",
                    DisplayErrorContext(&e)
                ),
            }
            let e = err_info(orgs.describe_organization().send().await);
            assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
        }
        None => {
            ok(
                "CreateOrganization after restart",
                orgs.create_organization().send().await,
            );
            let e = err_info(orgs.create_organization().send().await);
            assert_eq!(e.code, "AlreadyInOrganizationException", "{e:?}");
        }
    }
}

/// SIGTERM is a graceful shutdown: the process exits promptly although the SDK keeps an idle
/// keep-alive connection open, and the read-only records still queued for their group commit
/// are written first — after a restart every one of them is there, without waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_keeps_queued_read_only_records() {
    let dir = TempDir::new("sigterm");
    let mut server = Server::start(&dir, &[]);
    let orgs = server.orgs();
    ok(
        "CreateOrganization",
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await,
    );
    let mut request_ids = BTreeSet::new();
    for _ in 0..25 {
        let out = ok(
            "DescribeOrganization",
            orgs.describe_organization().send().await,
        );
        request_ids.insert(out.request_id().expect("request id").to_owned());
    }
    let status = server.terminate(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "cairn did not exit cleanly on SIGTERM ({status:?}); log:\n{}",
        server.log()
    );
    assert!(server.log().contains("stopped"), "{}", server.log());

    let server = Server::start(&dir, &[]);
    let events = lookup_all(
        &server.cloudtrail(),
        Some(attr(Key::EventName, "DescribeOrganization")),
    )
    .await;
    let recorded: BTreeSet<String> = events
        .iter()
        .filter_map(|e| record(e)["requestID"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        recorded, request_ids,
        "every acknowledged read-only call is recorded"
    );
}

/// A `CreateAccount` whose job was claimed when the process died resumes as soon as the same
/// node restarts — its previous incarnation's lease is released at start — instead of
/// waiting the lease (30 s) out, and runs once: one account, `SUCCEEDED`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_in_flight_at_a_crash_resumes_at_once_after_restart() {
    use aws_sdk_organizations::types::CreateAccountState;
    let dir = TempDir::new("crash-job");
    let mut server = Server::start_with_env(
        &dir,
        &["--account-id", "111111111111"],
        &[("CAIRN_FAULTS", "job:org.create_account:claimed")],
    );
    let orgs = server.orgs();
    ok(
        "CreateOrganization",
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await,
    );
    // The job is claimed right after the request commits, and the process dies there —
    // on a loaded machine sometimes before the answer is written, so the request's ID may
    // have to be read back after the restart.
    let answered = orgs
        .create_account()
        .account_name("Crash")
        .email("crash@example.com")
        .send()
        .await
        .ok()
        .and_then(|car| car.create_account_status()?.id().map(str::to_owned));
    let status = server.await_exit(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| !s.success()),
        "the crash point did not end the process: {status:?}"
    );
    let restarted = Instant::now();
    let server = Server::start(&dir, &["--account-id", "111111111111"]);
    let orgs = server.orgs();
    let car_id = match answered {
        Some(id) => id,
        None => {
            let listed = ok(
                "ListCreateAccountStatus",
                orgs.list_create_account_status().send().await,
            );
            let statuses = listed.create_account_statuses();
            assert_eq!(statuses.len(), 1, "the request committed before the crash");
            statuses[0].id().unwrap().to_owned()
        }
    };
    let state = loop {
        let out = ok(
            "DescribeCreateAccountStatus",
            orgs.describe_create_account_status()
                .create_account_request_id(&car_id)
                .send()
                .await,
        );
        let st = out.create_account_status().unwrap().clone();
        if st.state() != Some(&CreateAccountState::InProgress) {
            break st;
        }
        // The lease is 30 s: still IN_PROGRESS after 15 s means it was waited out.
        assert!(
            restarted.elapsed() < Duration::from_secs(15),
            "CreateAccount still IN_PROGRESS 15 s after the restart: the lease was not released"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        state.state(),
        Some(&CreateAccountState::Succeeded),
        "{state:?}"
    );
    let accounts = ok("ListAccounts", orgs.list_accounts().send().await);
    let named: Vec<_> = accounts
        .accounts()
        .iter()
        .filter(|a| a.email() == Some("crash@example.com"))
        .collect();
    assert_eq!(
        named.len(),
        1,
        "exactly one account: {:?}",
        accounts.accounts()
    );
}
