//! Audit: every authenticated call leaves a CloudTrail record, found with the SDK's
//! `LookupEvents`; calls rejected at authentication leave none.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudtrail::types::LookupAttributeKey as Key;
use aws_sdk_organizations::operation::RequestId;
use aws_sdk_organizations::types::OrganizationFeatureSet;
use serde_json::Value;

use crate::common::{
    Raw, Server, TempDir, Who, attr, await_records, err_info, lookup_all, ok, record,
};

/// What one call should have left in the trail.
#[derive(Debug)]
struct Expect {
    request_id: String,
    source: &'static str,
    name: &'static str,
    read_only: bool,
    error: Option<&'static str>,
}

fn expect(
    request_id: Option<&str>,
    source: &'static str,
    name: &'static str,
    read_only: bool,
    error: Option<&'static str>,
) -> Expect {
    Expect {
        request_id: request_id
            .unwrap_or_else(|| panic!("{name}: the response carried no request id"))
            .to_owned(),
        source,
        name,
        read_only,
        error,
    }
}

const ORGS: &str = "organizations.amazonaws.com";
const STS: &str = "sts.amazonaws.com";
const TRAIL: &str = "cloudtrail.amazonaws.com";

fn ids_of(events: &[aws_sdk_cloudtrail::types::Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            record(e)["requestID"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_authenticated_call_is_recorded() {
    let dir = TempDir::new("audit");
    let server = Server::start(&dir, &[]);
    let acct = server.creds.account_id.clone();
    let akid = server.creds.access_key_id.clone();
    let orgs = server.orgs();
    let ct = server.cloudtrail();
    let mut expected: Vec<Expect> = Vec::new();
    let mut rejected: Vec<String> = Vec::new();

    // A read-only success on STS.
    let me = ok(
        "GetCallerIdentity",
        server.sts().get_caller_identity().send().await,
    );
    expected.push(expect(
        me.request_id(),
        STS,
        "GetCallerIdentity",
        true,
        None,
    ));

    // A read-only failure.
    let e = err_info(orgs.describe_organization().send().await);
    assert_eq!(e.code, "AWSOrganizationsNotInUseException");
    expected.push(expect(
        e.request_id.as_deref(),
        ORGS,
        "DescribeOrganization",
        true,
        Some("AWSOrganizationsNotInUseException"),
    ));

    // A mutation.
    let created = ok(
        "CreateOrganization",
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await,
    );
    let org_id = created
        .organization()
        .and_then(|o| o.id())
        .unwrap()
        .to_owned();
    expected.push(expect(
        created.request_id(),
        ORGS,
        "CreateOrganization",
        false,
        None,
    ));
    let create_rid = created.request_id().unwrap().to_owned();

    // A failed mutation.
    let e = err_info(
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await,
    );
    assert_eq!(e.code, "AlreadyInOrganizationException");
    expected.push(expect(
        e.request_id.as_deref(),
        ORGS,
        "CreateOrganization",
        false,
        Some("AlreadyInOrganizationException"),
    ));

    // A validation failure, sent raw.
    let bogus = server.send_signed(
        Raw::orgs("CreateOrganization", r#"{"FeatureSet":"BOGUS"}"#),
        "organizations",
    );
    assert_eq!(bogus.status, 400, "{}", bogus.text());
    assert_eq!(
        bogus.error_code().as_deref(),
        Some("InvalidInputException"),
        "{}",
        bogus.text()
    );
    expected.push(expect(
        bogus.request_id(),
        ORGS,
        "CreateOrganization",
        false,
        Some("InvalidInputException"),
    ));

    // Calls rejected at authentication: never recorded.
    let wrong = Who::new(&akid, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    let e = err_info(server.orgs_as(&wrong).describe_organization().send().await);
    assert_eq!(e.code, "InvalidSignatureException");
    rejected.push(
        e.request_id
            .expect("a request id on an authentication failure"),
    );
    let unknown = Who::new(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    let e = err_info(server.sts_as(&unknown).get_caller_identity().send().await);
    assert_eq!(e.code, "InvalidClientTokenId");
    rejected.push(
        e.request_id
            .expect("a request id on an authentication failure"),
    );
    let unsigned = server.send(&Raw::orgs("DeleteOrganization", "{}"));
    assert_eq!(
        unsigned.error_code().as_deref(),
        Some("MissingAuthenticationTokenException")
    );
    rejected.push(unsigned.request_id().expect("x-amzn-RequestId").to_owned());
    let stale = server
        .root()
        .at(SystemTime::now() - Duration::from_secs(20 * 60));
    let e = err_info(server.orgs_as(&stale).delete_organization().send().await);
    assert_eq!(e.code, "InvalidSignatureException");
    rejected.push(
        e.request_id
            .expect("a request id on an authentication failure"),
    );

    // More read-only successes.
    let roots = ok("ListRoots", orgs.list_roots().send().await);
    expected.push(expect(roots.request_id(), ORGS, "ListRoots", true, None));
    let described = ok(
        "DescribeOrganization",
        orgs.describe_organization().send().await,
    );
    expected.push(expect(
        described.request_id(),
        ORGS,
        "DescribeOrganization",
        true,
        None,
    ));
    // LookupEvents is itself recorded.
    let first_lookup = ok(
        "LookupEvents",
        ct.lookup_events().max_results(1).send().await,
    );
    expected.push(expect(
        first_lookup.request_id(),
        TRAIL,
        "LookupEvents",
        true,
        None,
    ));

    // Every expected record arrives (read-only ones within a short group-commit batch).
    let wanted: Vec<&str> = expected.iter().map(|e| e.request_id.as_str()).collect();
    let by_id = await_records(&ct, None, &wanted).await;

    for exp in &expected {
        let r = &by_id[&exp.request_id];
        let ctx = format!("{exp:?}\nrecord: {r:#}");
        let ui = &r["userIdentity"];
        assert_eq!(ui["type"], "Root", "{ctx}");
        assert_eq!(ui["principalId"], acct.as_str(), "{ctx}");
        assert_eq!(
            ui["arn"],
            format!("arn:aws:iam::{acct}:root").as_str(),
            "{ctx}"
        );
        assert_eq!(ui["accountId"], acct.as_str(), "{ctx}");
        assert_eq!(ui["accessKeyId"], akid.as_str(), "{ctx}");
        assert!(
            r["eventVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with("1.")),
            "{ctx}"
        );
        let time = r["eventTime"].as_str().unwrap_or("");
        assert!(
            time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
            "eventTime {time:?} is not YYYY-MM-DDTHH:MM:SSZ: {ctx}"
        );
        assert_eq!(r["eventSource"], exp.source, "{ctx}");
        assert_eq!(r["eventName"], exp.name, "{ctx}");
        assert_eq!(r["awsRegion"], "us-east-1", "{ctx}");
        assert_eq!(r["sourceIPAddress"], "127.0.0.1", "{ctx}");
        assert!(
            r["userAgent"].as_str().is_some_and(|ua| !ua.is_empty()),
            "{ctx}"
        );
        assert_eq!(r["requestID"], exp.request_id.as_str(), "{ctx}");
        assert!(
            r["eventID"].as_str().is_some_and(|id| id.len() == 36),
            "eventID must be a UUID: {ctx}"
        );
        assert_eq!(r["readOnly"], exp.read_only, "{ctx}");
        assert_eq!(r["eventType"], "AwsApiCall", "{ctx}");
        assert_eq!(r["managementEvent"], true, "{ctx}");
        assert_eq!(r["recipientAccountId"], acct.as_str(), "{ctx}");
        match exp.error {
            Some(code) => {
                assert_eq!(r["errorCode"], code, "{ctx}");
                assert!(
                    r["errorMessage"].as_str().is_some_and(|m| !m.is_empty()),
                    "{ctx}"
                );
                assert_eq!(
                    r["responseElements"],
                    Value::Null,
                    "a failure has no responseElements: {ctx}"
                );
            }
            None => {
                assert!(r.get("errorCode").is_none(), "{ctx}");
                assert!(r.get("errorMessage").is_none(), "{ctx}");
            }
        }
        if exp.read_only {
            assert_eq!(
                r["responseElements"],
                Value::Null,
                "read-only calls have null responseElements: {ctx}"
            );
        }
    }
    // The mutation's record carries what it did.
    let create = &by_id[&create_rid];
    assert_eq!(
        create["requestParameters"]["featureSet"], "ALL",
        "{create:#}"
    );
    assert_eq!(
        create["responseElements"]["organization"]["id"],
        org_id.as_str(),
        "{create:#}"
    );

    // The LookupEvents summary fields agree with the record.
    let all = lookup_all(&ct, None).await;
    for e in &all {
        let r = record(e);
        assert_eq!(e.event_id(), r["eventID"].as_str(), "{r:#}");
        assert_eq!(e.event_name(), r["eventName"].as_str(), "{r:#}");
        assert_eq!(e.event_source(), r["eventSource"].as_str(), "{r:#}");
        assert_eq!(e.access_key_id(), Some(akid.as_str()), "{r:#}");
        assert_eq!(e.username(), Some("root"), "{r:#}");
        let ro = if r["readOnly"] == true {
            "true"
        } else {
            "false"
        };
        assert_eq!(e.read_only(), Some(ro), "{r:#}");
        let secs = e.event_time().expect("EventTime").secs();
        let shown = r["eventTime"].as_str().unwrap();
        assert_eq!(
            aws_smithy_types_fmt(secs),
            shown,
            "EventTime and the record's eventTime disagree: {r:#}"
        );
    }
    // Newest first.
    let times: Vec<i64> = all.iter().map(|e| e.event_time().unwrap().secs()).collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "LookupEvents is not newest-first: {times:?}"
    );

    // Rejected-at-authentication calls left nothing.
    let seen: BTreeSet<String> = ids_of(&all).into_iter().collect();
    for rid in &rejected {
        assert!(
            !seen.contains(rid),
            "a call rejected at authentication was recorded: {rid}"
        );
    }
    // And there is nothing unexpected: every record is one of ours or a LookupEvents call.
    let ours: BTreeSet<&str> = expected.iter().map(|e| e.request_id.as_str()).collect();
    for e in &all {
        let r = record(e);
        let rid = r["requestID"].as_str().unwrap();
        assert!(
            ours.contains(rid) || r["eventName"] == "LookupEvents",
            "unexpected record: {r:#}"
        );
    }

    check_filters(&ct, &expected, &akid).await;
    check_paging(&ct, &expected).await;

    // At most one lookup attribute.
    let e = err_info(
        ct.lookup_events()
            .lookup_attributes(attr(Key::EventName, "CreateOrganization"))
            .lookup_attributes(attr(Key::ReadOnly, "false"))
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidLookupAttributesException", "{e:?}");
    assert_eq!(e.status, 400, "{e:?}");
    // A NextToken of another query is refused.
    let page = ok(
        "LookupEvents",
        ct.lookup_events()
            .lookup_attributes(attr(Key::EventSource, ORGS))
            .max_results(1)
            .send()
            .await,
    );
    let token = page
        .next_token()
        .expect("more than one organizations record")
        .to_owned();
    let e = err_info(
        ct.lookup_events()
            .lookup_attributes(attr(Key::EventSource, STS))
            .max_results(1)
            .next_token(token)
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidNextTokenException", "{e:?}");
}

/// `secs` as CloudTrail's `eventTime` (`YYYY-MM-DDTHH:MM:SSZ`).
fn aws_smithy_types_fmt(secs: i64) -> String {
    aws_sdk_cloudtrail::primitives::DateTime::from_secs(secs)
        .fmt(aws_sdk_cloudtrail::primitives::DateTimeFormat::DateTime)
        .unwrap()
}

async fn check_filters(ct: &aws_sdk_cloudtrail::Client, expected: &[Expect], akid: &str) {
    let rids = |pred: &dyn Fn(&Expect) -> bool| -> BTreeSet<String> {
        expected
            .iter()
            .filter(|e| pred(e))
            .map(|e| e.request_id.clone())
            .collect()
    };
    let found = |events: &[aws_sdk_cloudtrail::types::Event]| -> BTreeSet<String> {
        ids_of(events).into_iter().collect()
    };

    // EventName: exactly the three CreateOrganization calls (success, failure, invalid).
    let got = lookup_all(ct, Some(attr(Key::EventName, "CreateOrganization"))).await;
    assert_eq!(
        found(&got),
        rids(&|e| e.name == "CreateOrganization"),
        "EventName=CreateOrganization"
    );
    assert!(
        got.iter()
            .all(|e| e.event_name() == Some("CreateOrganization"))
    );

    // ReadOnly=false: only the mutations (failed ones included).
    let got = lookup_all(ct, Some(attr(Key::ReadOnly, "false"))).await;
    assert_eq!(found(&got), rids(&|e| !e.read_only), "ReadOnly=false");
    assert!(got.iter().all(|e| e.read_only() == Some("false")));

    // ReadOnly=true: every read of ours (plus later LookupEvents calls), no mutation.
    let got = lookup_all(ct, Some(attr(Key::ReadOnly, "true"))).await;
    let got_ids = found(&got);
    assert!(
        got_ids.is_superset(&rids(&|e| e.read_only)),
        "ReadOnly=true misses reads"
    );
    assert!(got.iter().all(|e| e.read_only() == Some("true")));
    assert!(
        got_ids.is_disjoint(&rids(&|e| !e.read_only)),
        "ReadOnly=true returned a mutation"
    );

    // EventSource.
    let got = lookup_all(ct, Some(attr(Key::EventSource, STS))).await;
    assert_eq!(found(&got), rids(&|e| e.source == STS), "EventSource=sts");
    let got = lookup_all(ct, Some(attr(Key::EventSource, ORGS))).await;
    assert_eq!(
        found(&got),
        rids(&|e| e.source == ORGS),
        "EventSource=organizations"
    );
    let got = lookup_all(ct, Some(attr(Key::EventSource, TRAIL))).await;
    assert!(
        !got.is_empty() && got.iter().all(|e| e.event_name() == Some("LookupEvents")),
        "EventSource=cloudtrail"
    );

    // Username: `root` for the root user.
    let got = lookup_all(ct, Some(attr(Key::Username, "root"))).await;
    assert!(
        found(&got).is_superset(&rids(&|_| true)),
        "Username=root misses records"
    );
    let got = lookup_all(ct, Some(attr(Key::Username, "alice"))).await;
    assert!(got.is_empty(), "Username=alice: {got:?}");

    // AccessKeyId.
    let got = lookup_all(ct, Some(attr(Key::AccessKeyId, akid))).await;
    assert!(
        found(&got).is_superset(&rids(&|_| true)),
        "AccessKeyId=<root key> misses records"
    );
    // The unknown key was used, but only in calls rejected at authentication.
    let got = lookup_all(ct, Some(attr(Key::AccessKeyId, "AKIAIOSFODNN7EXAMPLE"))).await;
    assert!(got.is_empty(), "AccessKeyId=<unknown key>: {got:?}");

    // EventId: exactly that event.
    let any = lookup_all(ct, Some(attr(Key::EventName, "ListRoots"))).await;
    assert_eq!(any.len(), 1, "EventName=ListRoots");
    let id = any[0].event_id().unwrap().to_owned();
    let got = lookup_all(ct, Some(attr(Key::EventId, &id))).await;
    assert_eq!(got.len(), 1, "EventId={id}");
    assert_eq!(got[0].event_id(), Some(id.as_str()));

    // Values match exactly.
    let got = lookup_all(ct, Some(attr(Key::EventName, "createorganization"))).await;
    assert!(got.is_empty(), "EventName matching is exact: {got:?}");
}

async fn check_paging(ct: &aws_sdk_cloudtrail::Client, expected: &[Expect]) {
    let n_orgs = expected.iter().filter(|e| e.source == ORGS).count();
    assert!(n_orgs >= 5, "the paging check needs several records");
    let all = lookup_all(ct, Some(attr(Key::EventSource, ORGS))).await;
    assert_eq!(all.len(), n_orgs);
    let all_ids: Vec<String> = all
        .iter()
        .map(|e| e.event_id().unwrap().to_owned())
        .collect();

    let mut paged: Vec<String> = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut req = ct
            .lookup_events()
            .lookup_attributes(attr(Key::EventSource, ORGS))
            .max_results(2);
        if let Some(t) = &token {
            req = req.next_token(t.clone());
        }
        let page = ok("LookupEvents page", req.send().await);
        pages += 1;
        assert!(
            page.events().len() <= 2,
            "MaxResults=2 returned {}",
            page.events().len()
        );
        paged.extend(
            page.events()
                .iter()
                .map(|e| e.event_id().unwrap().to_owned()),
        );
        match page.next_token() {
            Some(t) => {
                assert_eq!(page.events().len(), 2, "a page with a NextToken is full");
                token = Some(t.to_owned());
            }
            None => break,
        }
        assert!(pages <= n_orgs, "paging does not end");
    }
    assert_eq!(
        paged, all_ids,
        "MaxResults=2 pages, concatenated, equal the one-page answer"
    );
    assert_eq!(
        pages,
        n_orgs.div_ceil(2),
        "number of pages for {n_orgs} records"
    );
    let unique: BTreeSet<&String> = paged.iter().collect();
    assert_eq!(unique.len(), paged.len(), "paging repeated an event");
}

/// The Rust SDK (like every Smithy-generated SDK) sends `X-Amz-Target:
/// CloudTrail_20131101.LookupEvents`; AWS accepts it as well as botocore's
/// `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_events_with_the_unmodified_sdk() {
    let dir = TempDir::new("audit-sdk-target");
    let server = Server::start(&dir, &[]);
    let ct = server.cloudtrail_unmodified();
    let page = ok(
        "LookupEvents with X-Amz-Target CloudTrail_20131101.LookupEvents",
        ct.lookup_events().send().await,
    );
    assert!(page.next_token().is_none());
}

/// Each record lists the resources its call acts on, as authorization resolved them, and
/// `LookupEvents` finds the call by their type and name (the ARN).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_name_the_resources_their_call_acts_on() {
    let f = crate::fixture::Fixture::new("audit-resources", "123456789012");
    let (f, org) = (&f, f.org().await);
    let iam = f.server.iam();
    ok(
        "CreateUser",
        iam.create_user()
            .user_name("alice")
            .path("/ops/")
            .send()
            .await,
    );
    let ou = ok(
        "CreateOrganizationalUnit",
        f.server
            .orgs()
            .create_organizational_unit()
            .parent_id(&org.root_id)
            .name("Prod")
            .send()
            .await,
    );
    let ou_arn = ou.organizational_unit().unwrap().arn().unwrap().to_owned();
    ok("ListAccounts", f.server.orgs().list_accounts().send().await);
    let ct = f.server.cloudtrail();
    let user_arn = "arn:aws:iam::123456789012:user/ops/alice";
    let by_type = lookup_all(&ct, Some(attr(Key::ResourceType, "AWS::IAM::User"))).await;
    let names: Vec<&str> = by_type.iter().filter_map(|e| e.event_name()).collect();
    assert_eq!(names, ["CreateUser"], "{by_type:?}");
    let resources = by_type[0].resources();
    assert_eq!(resources.len(), 1, "{resources:?}");
    assert_eq!(resources[0].resource_type(), Some("AWS::IAM::User"));
    assert_eq!(resources[0].resource_name(), Some(user_arn));
    let r = record(&by_type[0]);
    assert_eq!(
        r["resources"],
        serde_json::json!([{"accountId": "123456789012", "type": "AWS::IAM::User", "ARN": user_arn}])
    );
    // The OU is made under the root, the resource CreateOrganizationalUnit is authorized on.
    let root_arn = format!(
        "arn:aws:organizations::123456789012:root/{}/{}",
        org.id, org.root_id
    );
    let by_name = lookup_all(&ct, Some(attr(Key::ResourceName, &root_arn))).await;
    let names: Vec<&str> = by_name.iter().filter_map(|e| e.event_name()).collect();
    assert!(names.contains(&"CreateOrganizationalUnit"), "{names:?}");
    assert!(ou_arn.contains(&org.id));
    let create_ou = by_name
        .iter()
        .find(|e| e.event_name() == Some("CreateOrganizationalUnit"))
        .unwrap();
    assert_eq!(
        create_ou.resources()[0].resource_type(),
        Some("AWS::Organizations::Root")
    );
    // An action without resource-level permissions names none.
    let list = lookup_all(&ct, Some(attr(Key::EventName, "ListAccounts"))).await;
    assert!(list.iter().all(|e| e.resources().is_empty()), "{list:?}");
}
