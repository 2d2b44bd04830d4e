//! Organizations: trusted access, delegated administrators, the resource-based delegation
//! policy and responsibility (billing) transfers, with `aws-sdk-organizations` against the
//! real binary.
//!
//! A delegated administrator must be a member account: the tests that need one make it by
//! inviting a `cairn signup` account and accepting with its credentials.
//!
//! One test per behaviour, each on its own server ([`Fixture`]).

use crate::common::{Who, err_info, ok, signup};
use crate::fixture::{Fixture, Org, join};
use aws_sdk_organizations::Client;
use aws_sdk_organizations::config::http::HttpResponse;
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::operation::invite_organization_to_transfer_responsibility::{
    InviteOrganizationToTransferResponsibilityError,
    InviteOrganizationToTransferResponsibilityOutput,
};
use aws_sdk_organizations::primitives::DateTime;
use aws_sdk_organizations::types::{
    ActionType, Handshake, HandshakeParty, HandshakePartyType, HandshakeResourceType,
    HandshakeState, OrganizationFeatureSet, ResourcePolicy, ResponsibilityTransferStatus,
    ResponsibilityTransferType, Tag,
};
use serde_json::Value;
use std::fmt::Debug;
use std::time::{SystemTime, UNIX_EPOCH};

const DAY_MS: i64 = 86_400_000;

/// The management account of every test's organization.
const MGMT: &str = "111100002222";
const SSO: &str = "sso.amazonaws.com";
const CLOUDTRAIL: &str = "cloudtrail.amazonaws.com";
/// An account ID no test creates.
const UNKNOWN: &str = "999999999999";

/// The error code and the `Reason` member of a failed call.
fn reason<O: Debug, E>(result: Result<O, SdkError<E, HttpResponse>>) -> (String, String)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let err = match result {
        Ok(out) => panic!("expected an AWS error, got success: {out:?}"),
        Err(e) => e,
    };
    let code = err.code().unwrap_or("").to_owned();
    let body = err
        .raw_response()
        .and_then(|r| r.body().bytes())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let doc: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let reason = doc
        .get("Reason")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    (code, reason)
}

fn pair(code: &str, reason: &str) -> (String, String) {
    (code.to_owned(), reason.to_owned())
}

/// Invites the signup account `id` into the caller's organization and accepts with `who`.
fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// (year, month, day) of a day number since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// 00:00 UTC on the first day of the month `n` months after the current one.
fn month_start(n: i64) -> i64 {
    let (y, m, _) = civil_from_days(now_ms().div_euclid(DAY_MS));
    let idx = y * 12 + (m - 1) + n;
    days_from_civil(idx.div_euclid(12), idx.rem_euclid(12) + 1, 1) * DAY_MS
}

fn at(ms: i64) -> DateTime {
    DateTime::from_millis(ms)
}

// ------------------------------------------------------------------------------- setup

async fn enable(orgs: &Client, service: &str) {
    ok(
        "EnableAWSServiceAccess",
        orgs.enable_aws_service_access()
            .service_principal(service)
            .send()
            .await,
    );
}

async fn disable(orgs: &Client, service: &str) {
    ok(
        "DisableAWSServiceAccess",
        orgs.disable_aws_service_access()
            .service_principal(service)
            .send()
            .await,
    );
}

async fn register(orgs: &Client, account: &str, service: &str) {
    ok(
        "RegisterDelegatedAdministrator",
        orgs.register_delegated_administrator()
            .account_id(account)
            .service_principal(service)
            .send()
            .await,
    );
}

async fn deregister(orgs: &Client, account: &str, service: &str) {
    ok(
        "DeregisterDelegatedAdministrator",
        orgs.deregister_delegated_administrator()
            .account_id(account)
            .service_principal(service)
            .send()
            .await,
    );
}

/// A server whose management account has an organization (all features) with trusted
/// access enabled for `services`, in order.
async fn org_with_access(tag: &str, services: &[&str]) -> (Fixture, Org, Client) {
    let (f, org) = Fixture::with_org(tag, MGMT).await;
    let orgs = f.server.orgs();
    for service in services {
        enable(&orgs, service).await;
    }
    (f, org, orgs)
}

/// A resource-based delegation policy allowing `action` (a JSON string or array) to
/// account 111122223333.
fn delegation_policy(action: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Delegate","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":{action},"Resource":"*"}}]}}"#
    )
}

/// The delegation policy the resource-policy tests put first.
fn read_policy() -> String {
    delegation_policy(
        r#"["organizations:Describe*","organizations:List*","organizations:CreatePolicy"]"#,
    )
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

async fn put_policy(orgs: &Client, content: &str, tags: &[Tag]) -> ResourcePolicy {
    ok(
        "PutResourcePolicy",
        orgs.put_resource_policy()
            .content(content)
            .set_tags(Some(tags.to_vec()))
            .send()
            .await,
    )
    .resource_policy
    .unwrap()
}

async fn describe_policy(orgs: &Client) -> ResourcePolicy {
    ok(
        "DescribeResourcePolicy",
        orgs.describe_resource_policy().send().await,
    )
    .resource_policy
    .unwrap()
}

/// Two `cairn signup` accounts that have joined the organization.
struct Members {
    m1: String,
    m1_who: Who,
    m2: String,
    m2_who: Who,
}

/// A server whose management account has an organization (all features) that two signup
/// accounts, "Member One" and "Member Two", have joined.
async fn org_with_members(tag: &str) -> (Fixture, Client, Members) {
    let (f, _org) = Fixture::with_org(tag, MGMT).await;
    let orgs = f.server.orgs();
    let (m1, m1_who) = signup(&f.dir, "member1@example.com", "Member One");
    let (m2, m2_who) = signup(&f.dir, "member2@example.com", "Member Two");
    join(&f.server, &m1, &m1_who).await;
    join(&f.server, &m2, &m2_who).await;
    let members = Members {
        m1,
        m1_who,
        m2,
        m2_who,
    };
    (f, orgs, members)
}

/// [`org_with_members`] with trusted access for SSO, Member One its delegated
/// administrator, and for CloudTrail, a service that takes several, both members its
/// delegated administrators.
async fn org_with_delegates(tag: &str) -> (Fixture, Client, Members) {
    let (f, orgs, m) = org_with_members(tag).await;
    enable(&orgs, SSO).await;
    register(&orgs, &m.m1, SSO).await;
    enable(&orgs, CLOUDTRAIL).await;
    for account in [&m.m1, &m.m2] {
        register(&orgs, account, CLOUDTRAIL).await;
    }
    (f, orgs, m)
}

/// The two organizations of a billing transfer, and a standalone account.
struct Parties {
    _f: Fixture,
    /// The management account (MGMT) of organization A, the inviter.
    a: Client,
    org_a: String,
    /// The management account of organization B, the invitee.
    b: Client,
    b_id: String,
    org_b: String,
    /// An account in no organization.
    c: Client,
    /// The first day of the month after next, a valid start.
    start: i64,
}

/// A server whose management account has organization A; signup account B
/// ("billing-b@example.com") has made organization B; signup account C is standalone.
async fn parties(tag: &str) -> Parties {
    let (f, org_a) = Fixture::with_org(tag, MGMT).await;
    let a = f.server.orgs();
    let (b_id, b_who) = signup(&f.dir, "billing-b@example.com", "Org B");
    let b = f.server.orgs_as(&b_who);
    let org_b = ok("CreateOrganization B", b.create_organization().send().await)
        .organization
        .unwrap()
        .id()
        .unwrap()
        .to_owned();
    let (_, c_who) = signup(&f.dir, "standalone-c@example.com", "C");
    let c = f.server.orgs_as(&c_who);
    Parties {
        a,
        org_a: org_a.id,
        b,
        b_id,
        org_b,
        c,
        start: month_start(2),
        _f: f,
    }
}

fn party(ty: HandshakePartyType, id: &str) -> HandshakeParty {
    HandshakeParty::builder().id(id).r#type(ty).build().unwrap()
}

/// Invites `target` to take over billing from `start`, as `who`.
async fn invite(
    who: &Client,
    target: HandshakeParty,
    start: i64,
) -> Result<
    InviteOrganizationToTransferResponsibilityOutput,
    SdkError<InviteOrganizationToTransferResponsibilityError, HttpResponse>,
> {
    who.invite_organization_to_transfer_responsibility()
        .r#type(ResponsibilityTransferType::Billing)
        .target(target)
        .start_timestamp(at(start))
        .source_name("A pays for B")
        .notes("welcome")
        .send()
        .await
}

/// A billing transfer A has invited B to, by email: its handshake and transfer IDs.
struct Invited {
    p: Parties,
    hs: Handshake,
    hs_id: String,
    rt_id: String,
}

/// [`parties`], and A invites B (by its email) to a billing transfer from `start`.
async fn invited(tag: &str) -> Invited {
    let p = parties(tag).await;
    let hs = ok(
        "InviteOrganizationToTransferResponsibility",
        invite(
            &p.a,
            party(HandshakePartyType::Email, "billing-b@example.com"),
            p.start,
        )
        .await,
    )
    .handshake
    .unwrap();
    let hs_id = hs.id().unwrap().to_owned();
    let rt_id = hs
        .resources()
        .iter()
        .find(|r| r.r#type() == Some(&HandshakeResourceType::ResponsibilityTransfer))
        .and_then(|r| r.value())
        .expect("the handshake names its transfer")
        .to_owned();
    Invited {
        p,
        hs,
        hs_id,
        rt_id,
    }
}

/// [`invited`], and B accepts the handshake.
async fn accepted(tag: &str) -> Invited {
    let t = invited(tag).await;
    ok(
        "AcceptHandshake",
        t.p.b.accept_handshake().handshake_id(&t.hs_id).send().await,
    );
    t
}

/// [`accepted`], and B withdraws the transfer at the end of the month three months from
/// now.
async fn withdrawn(tag: &str) -> Invited {
    let t = accepted(tag).await;
    ok(
        "TerminateResponsibilityTransfer",
        t.p.b
            .terminate_responsibility_transfer()
            .id(&t.rt_id)
            .end_timestamp(at(month_start(4) - 1))
            .send()
            .await,
    );
    t
}

// ------------------------------------------------------------------------------- tests

// ---- trusted access

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_access_and_the_resource_policy_need_an_organization() {
    let f = Fixture::new("deleg-no-org", MGMT);
    let orgs = f.server.orgs();
    let e = err_info(
        orgs.enable_aws_service_access()
            .service_principal(SSO)
            .send()
            .await,
    );
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
    let e = err_info(orgs.describe_resource_policy().send().await);
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enabled_service_principals_are_listed_once_each_with_their_dates() {
    // SSO is enabled twice.
    let (_f, _org, orgs) = org_with_access("deleg-access-list", &[SSO, CLOUDTRAIL, SSO]).await;
    let listed = ok(
        "ListAWSServiceAccessForOrganization",
        orgs.list_aws_service_access_for_organization().send().await,
    );
    let principals: Vec<&str> = listed
        .enabled_service_principals()
        .iter()
        .map(|p| p.service_principal().unwrap())
        .collect();
    assert_eq!(principals, [CLOUDTRAIL, SSO]);
    assert!(
        listed
            .enabled_service_principals()
            .iter()
            .all(|p| p.date_enabled().is_some())
    );
    assert!(listed.next_token().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unrecognized_service_principal_cannot_be_enabled_or_disabled() {
    let (_f, _org, orgs) = org_with_access("deleg-access-unknown", &[SSO]).await;
    assert_eq!(
        reason(
            orgs.enable_aws_service_access()
                .service_principal("nothing.example.com")
                .send()
                .await
        ),
        pair("InvalidInputException", "UNRECOGNIZED_SERVICE_PRINCIPAL")
    );
    assert_eq!(
        reason(
            orgs.disable_aws_service_access()
                .service_principal("nothing.example.com")
                .send()
                .await
        ),
        pair("InvalidInputException", "UNRECOGNIZED_SERVICE_PRINCIPAL")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_enabled_service_principals_are_listed_in_pages() {
    let (_f, _org, orgs) = org_with_access("deleg-access-pages", &[SSO, CLOUDTRAIL]).await;
    let first = ok(
        "ListAWSServiceAccessForOrganization page 1",
        orgs.list_aws_service_access_for_organization()
            .max_results(1)
            .send()
            .await,
    );
    assert_eq!(first.enabled_service_principals().len(), 1);
    let token = first.next_token().expect("a second page").to_owned();
    let second = ok(
        "ListAWSServiceAccessForOrganization page 2",
        orgs.list_aws_service_access_for_organization()
            .max_results(1)
            .next_token(&token)
            .send()
            .await,
    );
    assert_eq!(
        second.enabled_service_principals()[0].service_principal(),
        Some(SSO)
    );
    assert!(second.next_token().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_service_access_page_token_is_refused() {
    let (_f, _org, orgs) = org_with_access("deleg-access-token", &[SSO, CLOUDTRAIL]).await;
    assert_eq!(
        reason(
            orgs.list_aws_service_access_for_organization()
                .next_token("forged")
                .send()
                .await
        ),
        pair("InvalidInputException", "INVALID_NEXT_TOKEN")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_trusted_access_removes_the_service_principal_from_the_list() {
    let (_f, _org, orgs) = org_with_access("deleg-access-disable", &[SSO, CLOUDTRAIL]).await;
    disable(&orgs, CLOUDTRAIL).await;
    let listed = ok(
        "ListAWSServiceAccessForOrganization",
        orgs.list_aws_service_access_for_organization().send().await,
    );
    assert_eq!(listed.enabled_service_principals().len(), 1);
    assert_eq!(
        listed.enabled_service_principals()[0].service_principal(),
        Some(SSO)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_access_needs_an_organization_with_all_features() {
    let f = Fixture::new("deleg-access-billing", MGMT);
    let orgs = f.server.orgs();
    ok(
        "CreateOrganization (consolidated billing)",
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::ConsolidatedBilling)
            .send()
            .await,
    );
    assert_eq!(
        reason(
            orgs.enable_aws_service_access()
                .service_principal(SSO)
                .send()
                .await
        ),
        pair(
            "ConstraintViolationException",
            "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE"
        )
    );
}

// ---- delegated administrators: what needs no member account

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_account_cannot_be_registered_as_a_delegated_administrator() {
    let (_f, _org, orgs) = org_with_access("deleg-admin-mgmt", &[SSO]).await;
    assert_eq!(
        reason(
            orgs.register_delegated_administrator()
                .account_id(MGMT)
                .service_principal(SSO)
                .send()
                .await
        ),
        pair(
            "ConstraintViolationException",
            "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_account_is_not_found_when_registering_deregistering_or_listing_its_services() {
    let (_f, _org, orgs) = org_with_access("deleg-admin-unknown", &[SSO]).await;
    let e = err_info(
        orgs.register_delegated_administrator()
            .account_id(UNKNOWN)
            .service_principal(SSO)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountNotFoundException", "{e:?}");
    let e = err_info(
        orgs.deregister_delegated_administrator()
            .account_id(UNKNOWN)
            .service_principal(SSO)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountNotFoundException", "{e:?}");
    let e = err_info(
        orgs.list_delegated_services_for_account()
            .account_id(UNKNOWN)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountNotFoundException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_that_is_no_delegated_administrator_cannot_be_deregistered_or_list_services() {
    let (_f, _org, orgs) = org_with_access("deleg-admin-unregistered", &[SSO]).await;
    let e = err_info(
        orgs.deregister_delegated_administrator()
            .account_id(MGMT)
            .service_principal(SSO)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountNotRegisteredException", "{e:?}");
    let e = err_info(
        orgs.list_delegated_services_for_account()
            .account_id(MGMT)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountNotRegisteredException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_organization_has_no_delegated_administrators() {
    let (_f, _org, orgs) = org_with_access("deleg-admin-none", &[SSO]).await;
    let admins = ok(
        "ListDelegatedAdministrators",
        orgs.list_delegated_administrators().send().await,
    );
    assert!(admins.delegated_administrators().is_empty());
    assert!(admins.next_token().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_outside_the_organization_cannot_list_delegated_administrators() {
    let (f, _org) = Fixture::with_org("deleg-admin-outsider", MGMT).await;
    let (_, outsider) = signup(&f.dir, "outsider@example.com", "Outsider");
    let e = err_info(
        f.server
            .orgs_as(&outsider)
            .list_delegated_administrators()
            .send()
            .await,
    );
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
}

// ---- the resource-based delegation policy

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_starts_without_a_resource_policy() {
    let (f, _org) = Fixture::with_org("deleg-rp-none", MGMT).await;
    let orgs = f.server.orgs();
    let e = err_info(orgs.describe_resource_policy().send().await);
    assert_eq!(e.code, "ResourcePolicyNotFoundException", "{e:?}");
    let e = err_info(orgs.delete_resource_policy().send().await);
    assert_eq!(e.code, "ResourcePolicyNotFoundException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_resource_policy_is_described_with_its_id_and_arn() {
    let (f, org) = Fixture::with_org("deleg-rp-put", MGMT).await;
    let orgs = f.server.orgs();
    let content = read_policy();
    let put = put_policy(&orgs, &content, &[tag("team", "platform")]).await;
    assert_eq!(put.content(), Some(content.as_str()));
    let summary = put.resource_policy_summary().unwrap();
    let rp_id = summary.id().unwrap().to_owned();
    assert!(rp_id.starts_with("rp-") && rp_id.len() == 11, "{rp_id}");
    assert_eq!(
        summary.arn(),
        Some(
            format!(
                "arn:aws:organizations::{MGMT}:resourcepolicy/{}/{rp_id}",
                org.id
            )
            .as_str()
        )
    );
    let described = describe_policy(&orgs).await;
    assert_eq!(described.content(), Some(content.as_str()));
    assert_eq!(
        described.resource_policy_summary().unwrap().id(),
        Some(rp_id.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_the_resource_policy_keeps_its_id() {
    let (f, _org) = Fixture::with_org("deleg-rp-replace", MGMT).await;
    let orgs = f.server.orgs();
    let put = put_policy(&orgs, &read_policy(), &[tag("team", "platform")]).await;
    let rp_id = put
        .resource_policy_summary()
        .unwrap()
        .id()
        .unwrap()
        .to_owned();
    let content2 = delegation_policy(r#""organizations:DescribeOrganization""#);
    let put2 = put_policy(&orgs, &content2, &[]).await;
    assert_eq!(
        put2.resource_policy_summary().unwrap().id(),
        Some(rp_id.as_str())
    );
    let described = describe_policy(&orgs).await;
    assert_eq!(described.content(), Some(content2.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_resource_policy_is_refused_with_its_reason() {
    let (f, _org) = Fixture::with_org("deleg-rp-invalid", MGMT).await;
    let orgs = f.server.orgs();
    for (bad, want) in [
        (String::from("{not json"), "INVALID_RESOURCE_POLICY_JSON"),
        (
            String::from(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"organizations:ListRoots","Resource":"*"}]}"#,
            ),
            "INVALID_RESOURCE_POLICY_JSON",
        ),
        (
            delegation_policy(r#""organizations:CreateAccount""#),
            "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY",
        ),
        (
            delegation_policy(r#""organizations:*""#),
            "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY",
        ),
        (
            delegation_policy(r#""s3:GetObject""#),
            "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY",
        ),
    ] {
        assert_eq!(
            reason(orgs.put_resource_policy().content(&bad).send().await),
            pair("InvalidInputException", want),
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_policy_naming_a_service_principal_is_refused() {
    let (f, _org) = Fixture::with_org("deleg-rp-service", MGMT).await;
    let orgs = f.server.orgs();
    let service_principal = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sso.amazonaws.com"},"Action":"organizations:ListRoots","Resource":"*"}]}"#;
    assert_eq!(
        reason(
            orgs.put_resource_policy()
                .content(service_principal)
                .send()
                .await
        ),
        pair("InvalidInputException", "INVALID_PRINCIPAL")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_resource_policy_is_no_longer_described() {
    let (f, _org) = Fixture::with_org("deleg-rp-delete", MGMT).await;
    let orgs = f.server.orgs();
    put_policy(&orgs, &read_policy(), &[]).await;
    ok(
        "DeleteResourcePolicy",
        orgs.delete_resource_policy().send().await,
    );
    let e = err_info(orgs.describe_resource_policy().send().await);
    assert_eq!(e.code, "ResourcePolicyNotFoundException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_resource_policy_with_a_duplicate_tag_key_is_refused() {
    let (f, _org) = Fixture::with_org("deleg-rp-tags", MGMT).await;
    let orgs = f.server.orgs();
    assert_eq!(
        reason(
            orgs.put_resource_policy()
                .content(read_policy())
                .tags(tag("k", "1"))
                .tags(tag("k", "2"))
                .send()
                .await
        ),
        pair("InvalidInputException", "DUPLICATE_TAG_KEY")
    );
}

// ---- delegated administrators that are member accounts

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_a_delegated_administrator_needs_trusted_access_first() {
    let (_f, orgs, m) = org_with_members("deleg-member-no-access").await;
    assert_eq!(
        reason(
            orgs.register_delegated_administrator()
                .account_id(&m.m1)
                .service_principal(SSO)
                .send()
                .await
        ),
        pair("ConstraintViolationException", "SERVICE_ACCESS_NOT_ENABLED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_a_delegated_administrator_twice_is_refused() {
    let (_f, orgs, m) = org_with_members("deleg-member-twice").await;
    enable(&orgs, SSO).await;
    register(&orgs, &m.m1, SSO).await;
    let e = err_info(
        orgs.register_delegated_administrator()
            .account_id(&m.m1)
            .service_principal(SSO)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountAlreadyRegisteredException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_takes_a_single_delegated_administrator() {
    let (_f, orgs, m) = org_with_members("deleg-member-sso-one").await;
    enable(&orgs, SSO).await;
    register(&orgs, &m.m1, SSO).await;
    assert_eq!(
        reason(
            orgs.register_delegated_administrator()
                .account_id(&m.m2)
                .service_principal(SSO)
                .send()
                .await
        ),
        pair(
            "ConstraintViolationException",
            "DELEGATED_ADMINISTRATOR_EXISTS_FOR_THIS_SERVICE"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegated_administrators_are_listed_once_each_with_their_accounts_details() {
    // Member One administers two services.
    let (_f, orgs, m) = org_with_delegates("deleg-member-list").await;
    let admins = ok(
        "ListDelegatedAdministrators",
        orgs.list_delegated_administrators().send().await,
    );
    let ids: Vec<&str> = admins
        .delegated_administrators()
        .iter()
        .map(|a| a.id().unwrap())
        .collect();
    let mut want = vec![m.m1.as_str(), m.m2.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    let a = admins
        .delegated_administrators()
        .iter()
        .find(|a| a.id() == Some(m.m1.as_str()))
        .unwrap();
    assert_eq!(a.email(), Some("member1@example.com"));
    assert_eq!(a.name(), Some("Member One"));
    assert!(a.arn().unwrap().ends_with(&format!("/{}", m.m1)));
    assert!(a.delegation_enabled_date().is_some() && a.joined_timestamp().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegated_administrators_are_listed_by_service_principal() {
    let (_f, orgs, _m) = org_with_delegates("deleg-member-by-service").await;
    let only_sso = ok(
        "ListDelegatedAdministrators sso",
        orgs.list_delegated_administrators()
            .service_principal(SSO)
            .send()
            .await,
    );
    assert_eq!(only_sso.delegated_administrators().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegated_administrators_are_listed_in_pages() {
    let (_f, orgs, _m) = org_with_delegates("deleg-member-pages").await;
    let page = ok(
        "ListDelegatedAdministrators page",
        orgs.list_delegated_administrators()
            .max_results(1)
            .send()
            .await,
    );
    assert_eq!(page.delegated_administrators().len(), 1);
    assert!(page.next_token().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_an_account_administers_are_listed() {
    let (_f, orgs, m) = org_with_delegates("deleg-member-services").await;
    let services = ok(
        "ListDelegatedServicesForAccount",
        orgs.list_delegated_services_for_account()
            .account_id(&m.m1)
            .send()
            .await,
    );
    let names: Vec<&str> = services
        .delegated_services()
        .iter()
        .map(|s| s.service_principal().unwrap())
        .collect();
    assert_eq!(names, [CLOUDTRAIL, SSO]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegated_administrator_may_list_delegated_administrators_and_trusted_services() {
    let (f, _orgs, m) = org_with_delegates("deleg-member-reads").await;
    let as_m1 = f.server.orgs_as(&m.m1_who);
    ok(
        "ListDelegatedAdministrators as delegated admin",
        as_m1.list_delegated_administrators().send().await,
    );
    ok(
        "ListAWSServiceAccessForOrganization as delegated admin",
        as_m1
            .list_aws_service_access_for_organization()
            .send()
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegated_administrator_may_not_manage_trusted_access_or_delegation() {
    let (f, _orgs, m) = org_with_delegates("deleg-member-manage").await;
    let as_m1 = f.server.orgs_as(&m.m1_who);
    let e = err_info(
        as_m1
            .enable_aws_service_access()
            .service_principal(SSO)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    let e = err_info(
        as_m1
            .register_delegated_administrator()
            .account_id(&m.m2)
            .service_principal(CLOUDTRAIL)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deregistered_delegated_administrator_cannot_be_deregistered_again() {
    let (_f, orgs, m) = org_with_delegates("deleg-member-deregister").await;
    deregister(&orgs, &m.m1, SSO).await;
    let e = err_info(
        orgs.deregister_delegated_administrator()
            .account_id(&m.m1)
            .service_principal(SSO)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountNotRegisteredException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_trusted_access_deregisters_the_services_delegated_administrators() {
    let (f, orgs, m) = org_with_delegates("deleg-member-disable").await;
    // Only CloudTrail's administrators remain.
    deregister(&orgs, &m.m1, SSO).await;
    disable(&orgs, CLOUDTRAIL).await;
    let admins = ok(
        "ListDelegatedAdministrators",
        orgs.list_delegated_administrators().send().await,
    );
    assert!(admins.delegated_administrators().is_empty(), "{admins:?}");
    // Member Two, no longer a delegated administrator, may no longer list them.
    let e = err_info(
        f.server
            .orgs_as(&m.m2_who)
            .list_delegated_administrators()
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_is_no_delegated_administrator_may_not_list_them() {
    let (f, orgs, m) = org_with_members("deleg-member-not-admin").await;
    enable(&orgs, SSO).await;
    register(&orgs, &m.m1, SSO).await;
    let e = err_info(
        f.server
            .orgs_as(&m.m2_who)
            .list_delegated_administrators()
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
}

// ---- responsibility (billing) transfers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_outside_an_organization_cannot_invite_a_transfer() {
    let p = parties("deleg-xfer-outsider").await;
    let e = err_info(invite(&p.c, party(HandshakePartyType::Account, &p.b_id), p.start).await);
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_invitation_to_an_invalid_target_is_refused_with_its_reason() {
    let p = parties("deleg-xfer-target").await;
    for (target, want) in [
        (
            party(HandshakePartyType::Organization, &p.org_b),
            pair("InvalidInputException", "INVALID_PARTY_TYPE_TARGET"),
        ),
        (
            party(HandshakePartyType::Email, "not-an-email"),
            pair("InvalidInputException", "INVALID_EMAIL_ADDRESS_TARGET"),
        ),
        (
            party(HandshakePartyType::Account, MGMT),
            pair(
                "HandshakeConstraintViolationException",
                "SOURCE_AND_TARGET_CANNOT_MATCH",
            ),
        ),
        (
            party(HandshakePartyType::Account, UNKNOWN),
            pair(
                "HandshakeConstraintViolationException",
                "TARGET_ACCOUNT_VALIDATION_FAILURE",
            ),
        ),
        (
            party(HandshakePartyType::Email, "standalone-c@example.com"),
            pair(
                "HandshakeConstraintViolationException",
                "TARGET_ACCOUNT_VALIDATION_FAILURE",
            ),
        ),
    ] {
        assert_eq!(reason(invite(&p.a, target, p.start).await), want);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_must_start_at_midnight_on_the_first_of_a_month_neither_too_early_nor_too_late()
{
    let p = parties("deleg-xfer-start").await;
    for (start, want) in [
        (
            p.start + 14 * DAY_MS,
            pair("InvalidInputException", "START_DATE_NOT_BEGINNING_OF_MONTH"),
        ),
        (
            p.start + 3_600_000,
            pair("InvalidInputException", "START_DATE_NOT_BEGINNING_OF_DAY"),
        ),
        (
            month_start(0),
            pair("InvalidInputException", "START_DATE_TOO_EARLY"),
        ),
        (
            month_start(36),
            pair("InvalidInputException", "START_DATE_TOO_LATE"),
        ),
    ] {
        let target = party(HandshakePartyType::Account, &p.b_id);
        assert_eq!(reason(invite(&p.a, target, start).await), want);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_invitation_is_an_open_handshake_naming_the_transfer() {
    let t = invited("deleg-xfer-handshake").await;
    let hs = &t.hs;
    assert_eq!(hs.action(), Some(&ActionType::TransferResponsibility));
    assert_eq!(hs.state(), Some(&HandshakeState::Open));
    assert!(t.hs_id.starts_with("h-"));
    assert_eq!(
        hs.arn(),
        Some(
            format!(
                "arn:aws:organizations::{MGMT}:handshake/{}/transfer_responsibility/{}",
                t.p.org_a, t.hs_id
            )
            .as_str()
        )
    );
    let expires = hs.expiration_timestamp().unwrap().to_millis().unwrap();
    assert!(expires <= t.p.start - DAY_MS, "expires before the start");
    assert!(t.rt_id.starts_with("rt-"), "{}", t.rt_id);
    assert!(hs.parties().iter().any(|p| p.id() == t.p.org_a));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_invitation_while_one_is_open_is_a_duplicate() {
    let t = invited("deleg-xfer-duplicate").await;
    let e = err_info(
        invite(
            &t.p.a,
            party(HandshakePartyType::Account, &t.p.b_id),
            t.p.start,
        )
        .await,
    );
    assert_eq!(e.code, "DuplicateHandshakeException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inviter_describes_a_requested_inbound_transfer() {
    let t = invited("deleg-xfer-inviter").await;
    let seen_by_a = ok(
        "DescribeResponsibilityTransfer (inviter)",
        t.p.a
            .describe_responsibility_transfer()
            .id(&t.rt_id)
            .send()
            .await,
    )
    .responsibility_transfer
    .unwrap();
    assert_eq!(
        seen_by_a.status(),
        Some(&ResponsibilityTransferStatus::Requested)
    );
    assert_eq!(
        seen_by_a.r#type(),
        Some(&ResponsibilityTransferType::Billing)
    );
    assert_eq!(seen_by_a.name(), Some("A pays for B"));
    assert_eq!(seen_by_a.active_handshake_id(), Some(t.hs_id.as_str()));
    assert_eq!(
        seen_by_a.source().unwrap().management_account_id(),
        Some(t.p.b_id.as_str())
    );
    assert_eq!(
        seen_by_a.target().unwrap().management_account_id(),
        Some(MGMT)
    );
    assert_eq!(
        seen_by_a.start_timestamp().unwrap().to_millis().unwrap(),
        t.p.start
    );
    assert_eq!(
        seen_by_a.arn(),
        Some(
            format!(
                "arn:aws:organizations::{MGMT}:transfer/{}/billing/inbound/{}",
                t.p.org_a, t.rt_id
            )
            .as_str()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invitee_describes_the_transfer_as_outbound() {
    let t = invited("deleg-xfer-invitee").await;
    let seen_by_b = ok(
        "DescribeResponsibilityTransfer (invitee)",
        t.p.b
            .describe_responsibility_transfer()
            .id(&t.rt_id)
            .send()
            .await,
    )
    .responsibility_transfer
    .unwrap();
    assert_eq!(
        seen_by_b.arn(),
        Some(
            format!(
                "arn:aws:organizations::{}:transfer/{}/billing/outbound/{}",
                t.p.b_id, t.p.org_b, t.rt_id
            )
            .as_str()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_transfer_is_not_found() {
    let t = invited("deleg-xfer-unknown").await;
    let e = err_info(
        t.p.a
            .describe_responsibility_transfer()
            .id("rt-000000000000")
            .send()
            .await,
    );
    assert_eq!(e.code, "ResponsibilityTransferNotFoundException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_outside_an_organization_cannot_describe_a_transfer() {
    let t = invited("deleg-xfer-describe-outsider").await;
    let e = err_info(
        t.p.c
            .describe_responsibility_transfer()
            .id(&t.rt_id)
            .send()
            .await,
    );
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_is_listed_inbound_for_the_inviter_and_outbound_for_the_invitee() {
    let t = invited("deleg-xfer-lists").await;
    let inbound = |who: &Client| {
        who.list_inbound_responsibility_transfers()
            .r#type(ResponsibilityTransferType::Billing)
            .send()
    };
    let outbound = |who: &Client| {
        who.list_outbound_responsibility_transfers()
            .r#type(ResponsibilityTransferType::Billing)
            .send()
    };
    let (a, b) = (&t.p.a, &t.p.b);
    assert_eq!(
        ok("inbound A", inbound(a).await)
            .responsibility_transfers()
            .len(),
        1
    );
    assert!(
        ok("outbound A", outbound(a).await)
            .responsibility_transfers()
            .is_empty()
    );
    assert!(
        ok("inbound B", inbound(b).await)
            .responsibility_transfers()
            .is_empty()
    );
    assert_eq!(
        ok("outbound B", outbound(b).await)
            .responsibility_transfers()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_transfers_are_listed_by_id() {
    let t = invited("deleg-xfer-list-id").await;
    let filtered = ok(
        "inbound A by id",
        t.p.a
            .list_inbound_responsibility_transfers()
            .r#type(ResponsibilityTransferType::Billing)
            .id(&t.rt_id)
            .send()
            .await,
    );
    assert_eq!(
        filtered.responsibility_transfers()[0].id(),
        Some(t.rt_id.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_inbound_transfers_by_an_unknown_id_is_not_found() {
    let t = invited("deleg-xfer-list-unknown").await;
    let e = err_info(
        t.p.a
            .list_inbound_responsibility_transfers()
            .r#type(ResponsibilityTransferType::Billing)
            .id("rt-000000000000")
            .send()
            .await,
    );
    assert_eq!(e.code, "ResponsibilityTransferNotFoundException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invitee_may_rename_a_requested_transfer() {
    let t = invited("deleg-xfer-rename").await;
    let renamed = ok(
        "UpdateResponsibilityTransfer",
        t.p.b
            .update_responsibility_transfer()
            .id(&t.rt_id)
            .name("Billed by A")
            .send()
            .await,
    )
    .responsibility_transfer
    .unwrap();
    assert_eq!(renamed.name(), Some("Billed by A"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_not_yet_accepted_cannot_be_withdrawn() {
    let t = invited("deleg-xfer-early-withdraw").await;
    let e = err_info(
        t.p.a
            .terminate_responsibility_transfer()
            .id(&t.rt_id)
            .send()
            .await,
    );
    assert_eq!(
        e.code, "InvalidResponsibilityTransferTransitionException",
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_the_handshake_accepts_the_transfer() {
    let t = invited("deleg-xfer-accept").await;
    let out = ok(
        "AcceptHandshake",
        t.p.b.accept_handshake().handshake_id(&t.hs_id).send().await,
    );
    assert_eq!(
        out.handshake().unwrap().state(),
        Some(&HandshakeState::Accepted)
    );
    let accepted = ok(
        "DescribeResponsibilityTransfer",
        t.p.a
            .describe_responsibility_transfer()
            .id(&t.rt_id)
            .send()
            .await,
    )
    .responsibility_transfer
    .unwrap();
    assert_eq!(
        accepted.status(),
        Some(&ResponsibilityTransferStatus::Accepted)
    );
    assert!(accepted.active_handshake_id().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_must_end_at_the_end_of_a_month_not_too_early() {
    let t = accepted("deleg-xfer-end").await;
    assert_eq!(
        reason(
            t.p.a
                .terminate_responsibility_transfer()
                .id(&t.rt_id)
                .end_timestamp(at(month_start(3) + 10 * DAY_MS))
                .send()
                .await
        ),
        pair("InvalidInputException", "END_DATE_NOT_END_OF_MONTH")
    );
    assert_eq!(
        reason(
            t.p.a
                .terminate_responsibility_transfer()
                .id(&t.rt_id)
                .end_timestamp(at(month_start(1) - 1))
                .send()
                .await
        ),
        pair("InvalidInputException", "END_DATE_TOO_EARLY")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invitee_may_withdraw_an_accepted_transfer_at_the_end_of_a_month() {
    let t = accepted("deleg-xfer-withdraw").await;
    let end = month_start(4) - 1;
    let withdrawn = ok(
        "TerminateResponsibilityTransfer",
        t.p.b
            .terminate_responsibility_transfer()
            .id(&t.rt_id)
            .end_timestamp(at(end))
            .send()
            .await,
    )
    .responsibility_transfer
    .unwrap();
    assert_eq!(
        withdrawn.status(),
        Some(&ResponsibilityTransferStatus::Withdrawn)
    );
    assert_eq!(withdrawn.end_timestamp().unwrap().to_millis().unwrap(), end);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_transfer_cannot_be_withdrawn_again() {
    let t = withdrawn("deleg-xfer-withdraw-again").await;
    let e = err_info(
        t.p.a
            .terminate_responsibility_transfer()
            .id(&t.rt_id)
            .send()
            .await,
    );
    assert_eq!(
        e.code, "ResponsibilityTransferAlreadyInStatusException",
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_transfer_cannot_be_renamed() {
    let t = withdrawn("deleg-xfer-withdrawn-rename").await;
    assert_eq!(
        reason(
            t.p.a
                .update_responsibility_transfer()
                .id(&t.rt_id)
                .name("again")
                .send()
                .await
        ),
        pair(
            "ConstraintViolationException",
            "TRANSFER_RESPONSIBILITY_UPDATE_NOT_ALLOWED"
        )
    );
}
