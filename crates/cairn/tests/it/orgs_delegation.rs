//! Organizations: trusted access, delegated administrators, the resource-based delegation
//! policy and responsibility (billing) transfers, with `aws-sdk-organizations` against the
//! real binary.
//!
//! A delegated administrator must be a member account: the tests that need one make it by
//! inviting a `cairn signup` account and accepting with its credentials.

use crate::common::{Server, TempDir, Who, err_info, ok, signup};
use aws_sdk_organizations::config::http::HttpResponse;
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::primitives::DateTime;
use aws_sdk_organizations::types::{
    ActionType, HandshakeParty, HandshakePartyType, HandshakeResourceType, HandshakeState,
    OrganizationFeatureSet, ResponsibilityTransferStatus, ResponsibilityTransferType, Tag,
};
use serde_json::Value;
use std::fmt::Debug;
use std::time::{SystemTime, UNIX_EPOCH};

const DAY_MS: i64 = 86_400_000;

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
async fn join(server: &Server, id: &str, who: &Who) {
    let invite = ok(
        "InviteAccountToOrganization",
        server
            .orgs()
            .invite_account_to_organization()
            .target(
                HandshakeParty::builder()
                    .id(id)
                    .r#type(HandshakePartyType::Account)
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    let handshake = invite.handshake().unwrap().id().unwrap().to_owned();
    ok(
        "AcceptHandshake",
        server
            .orgs_as(who)
            .accept_handshake()
            .handshake_id(&handshake)
            .send()
            .await,
    );
}

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

// ------------------------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_access_and_resource_policy() {
    let dir = TempDir::new("orgs-deleg");
    let server = Server::start(&dir, &[]);
    let orgs = server.orgs();
    let mgmt = server.creds.account_id.clone();

    // Nothing works outside an organization.
    let e = err_info(
        orgs.enable_aws_service_access()
            .service_principal("sso.amazonaws.com")
            .send()
            .await,
    );
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
    let e = err_info(orgs.describe_resource_policy().send().await);
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");

    let org = ok(
        "CreateOrganization",
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await,
    )
    .organization
    .unwrap();
    let org_id = org.id().unwrap().to_owned();

    // ---- trusted access
    for sp in [
        "sso.amazonaws.com",
        "cloudtrail.amazonaws.com",
        "sso.amazonaws.com",
    ] {
        ok(
            "EnableAWSServiceAccess",
            orgs.enable_aws_service_access()
                .service_principal(sp)
                .send()
                .await,
        );
    }
    assert_eq!(
        reason(
            orgs.enable_aws_service_access()
                .service_principal("nothing.example.com")
                .send()
                .await
        ),
        pair("InvalidInputException", "UNRECOGNIZED_SERVICE_PRINCIPAL")
    );
    let listed = ok(
        "ListAWSServiceAccessForOrganization",
        orgs.list_aws_service_access_for_organization().send().await,
    );
    let principals: Vec<&str> = listed
        .enabled_service_principals()
        .iter()
        .map(|p| p.service_principal().unwrap())
        .collect();
    assert_eq!(
        principals,
        ["cloudtrail.amazonaws.com", "sso.amazonaws.com"]
    );
    assert!(
        listed
            .enabled_service_principals()
            .iter()
            .all(|p| p.date_enabled().is_some())
    );
    assert!(listed.next_token().is_none());
    // Pagination.
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
        Some("sso.amazonaws.com")
    );
    assert!(second.next_token().is_none());
    assert_eq!(
        reason(
            orgs.list_aws_service_access_for_organization()
                .next_token("forged")
                .send()
                .await
        ),
        pair("InvalidInputException", "INVALID_NEXT_TOKEN")
    );
    ok(
        "DisableAWSServiceAccess",
        orgs.disable_aws_service_access()
            .service_principal("cloudtrail.amazonaws.com")
            .send()
            .await,
    );
    let listed = ok(
        "ListAWSServiceAccessForOrganization",
        orgs.list_aws_service_access_for_organization().send().await,
    );
    assert_eq!(listed.enabled_service_principals().len(), 1);
    assert_eq!(
        reason(
            orgs.disable_aws_service_access()
                .service_principal("nothing.example.com")
                .send()
                .await
        ),
        pair("InvalidInputException", "UNRECOGNIZED_SERVICE_PRINCIPAL")
    );

    // ---- delegated administrators: what needs no member account
    assert_eq!(
        reason(
            orgs.register_delegated_administrator()
                .account_id(&mgmt)
                .service_principal("sso.amazonaws.com")
                .send()
                .await
        ),
        pair(
            "ConstraintViolationException",
            "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR"
        )
    );
    let e = err_info(
        orgs.register_delegated_administrator()
            .account_id("999999999999")
            .service_principal("sso.amazonaws.com")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountNotFoundException", "{e:?}");
    let e = err_info(
        orgs.deregister_delegated_administrator()
            .account_id("999999999999")
            .service_principal("sso.amazonaws.com")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountNotFoundException", "{e:?}");
    let e = err_info(
        orgs.deregister_delegated_administrator()
            .account_id(&mgmt)
            .service_principal("sso.amazonaws.com")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountNotRegisteredException", "{e:?}");
    let admins = ok(
        "ListDelegatedAdministrators",
        orgs.list_delegated_administrators().send().await,
    );
    assert!(admins.delegated_administrators().is_empty());
    assert!(admins.next_token().is_none());
    let e = err_info(
        orgs.list_delegated_services_for_account()
            .account_id(&mgmt)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountNotRegisteredException", "{e:?}");
    let e = err_info(
        orgs.list_delegated_services_for_account()
            .account_id("999999999999")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountNotFoundException", "{e:?}");

    // ---- the resource-based delegation policy
    let e = err_info(orgs.describe_resource_policy().send().await);
    assert_eq!(e.code, "ResourcePolicyNotFoundException", "{e:?}");
    let e = err_info(orgs.delete_resource_policy().send().await);
    assert_eq!(e.code, "ResourcePolicyNotFoundException", "{e:?}");
    let policy = |action: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Delegate","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":{action},"Resource":"*"}}]}}"#
        )
    };
    let content =
        policy(r#"["organizations:Describe*","organizations:List*","organizations:CreatePolicy"]"#);
    let put = ok(
        "PutResourcePolicy",
        orgs.put_resource_policy()
            .content(&content)
            .tags(
                Tag::builder()
                    .key("team")
                    .value("platform")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    )
    .resource_policy
    .unwrap();
    assert_eq!(put.content(), Some(content.as_str()));
    let summary = put.resource_policy_summary().unwrap();
    let rp_id = summary.id().unwrap().to_owned();
    assert!(rp_id.starts_with("rp-") && rp_id.len() == 11, "{rp_id}");
    assert_eq!(
        summary.arn(),
        Some(format!("arn:aws:organizations::{mgmt}:resourcepolicy/{org_id}/{rp_id}").as_str())
    );
    let described = ok(
        "DescribeResourcePolicy",
        orgs.describe_resource_policy().send().await,
    )
    .resource_policy
    .unwrap();
    assert_eq!(described.content(), Some(content.as_str()));
    assert_eq!(
        described.resource_policy_summary().unwrap().id(),
        Some(rp_id.as_str())
    );
    // Replacing it keeps its ID.
    let content2 = policy(r#""organizations:DescribeOrganization""#);
    let put2 = ok(
        "PutResourcePolicy again",
        orgs.put_resource_policy().content(&content2).send().await,
    )
    .resource_policy
    .unwrap();
    assert_eq!(
        put2.resource_policy_summary().unwrap().id(),
        Some(rp_id.as_str())
    );
    let described = ok(
        "DescribeResourcePolicy",
        orgs.describe_resource_policy().send().await,
    )
    .resource_policy
    .unwrap();
    assert_eq!(described.content(), Some(content2.as_str()));
    for (bad, want) in [
        (String::from("{not json"), "INVALID_RESOURCE_POLICY_JSON"),
        (
            String::from(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"organizations:ListRoots","Resource":"*"}]}"#,
            ),
            "INVALID_RESOURCE_POLICY_JSON",
        ),
        (
            policy(r#""organizations:CreateAccount""#),
            "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY",
        ),
        (
            policy(r#""organizations:*""#),
            "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY",
        ),
        (
            policy(r#""s3:GetObject""#),
            "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY",
        ),
    ] {
        assert_eq!(
            reason(orgs.put_resource_policy().content(&bad).send().await),
            pair("InvalidInputException", want),
            "{bad}"
        );
    }
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
    ok(
        "DeleteResourcePolicy",
        orgs.delete_resource_policy().send().await,
    );
    let e = err_info(orgs.describe_resource_policy().send().await);
    assert_eq!(e.code, "ResourcePolicyNotFoundException", "{e:?}");
    // Tags given at creation are checked.
    assert_eq!(
        reason(
            orgs.put_resource_policy()
                .content(&content)
                .tags(Tag::builder().key("k").value("1").build().unwrap())
                .tags(Tag::builder().key("k").value("2").build().unwrap())
                .send()
                .await
        ),
        pair("InvalidInputException", "DUPLICATE_TAG_KEY")
    );

    // ---- an account outside the organization
    let (_, outsider) = signup(&dir, "outsider@example.com", "Outsider");
    let e = err_info(
        server
            .orgs_as(&outsider)
            .list_delegated_administrators()
            .send()
            .await,
    );
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");

    // ---- an organization with consolidated billing only
    ok(
        "DisableAWSServiceAccess",
        orgs.disable_aws_service_access()
            .service_principal("sso.amazonaws.com")
            .send()
            .await,
    );
    ok(
        "DeleteOrganization",
        orgs.delete_organization().send().await,
    );
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
                .service_principal("sso.amazonaws.com")
                .send()
                .await
        ),
        pair(
            "ConstraintViolationException",
            "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegated_administrators_with_members() {
    let dir = TempDir::new("orgs-dadm");
    let server = Server::start(&dir, &[]);
    let orgs = server.orgs();
    ok(
        "CreateOrganization",
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await,
    );
    let (m1, m1_who) = signup(&dir, "member1@example.com", "Member One");
    let (m2, m2_who) = signup(&dir, "member2@example.com", "Member Two");
    join(&server, &m1, &m1_who).await;
    join(&server, &m2, &m2_who).await;
    let sso = "sso.amazonaws.com";

    // Trusted access comes first.
    assert_eq!(
        reason(
            orgs.register_delegated_administrator()
                .account_id(&m1)
                .service_principal(sso)
                .send()
                .await
        ),
        pair("ConstraintViolationException", "SERVICE_ACCESS_NOT_ENABLED")
    );
    ok(
        "EnableAWSServiceAccess",
        orgs.enable_aws_service_access()
            .service_principal(sso)
            .send()
            .await,
    );
    ok(
        "RegisterDelegatedAdministrator",
        orgs.register_delegated_administrator()
            .account_id(&m1)
            .service_principal(sso)
            .send()
            .await,
    );
    let e = err_info(
        orgs.register_delegated_administrator()
            .account_id(&m1)
            .service_principal(sso)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountAlreadyRegisteredException", "{e:?}");
    assert_eq!(
        reason(
            orgs.register_delegated_administrator()
                .account_id(&m2)
                .service_principal(sso)
                .send()
                .await
        ),
        pair(
            "ConstraintViolationException",
            "DELEGATED_ADMINISTRATOR_EXISTS_FOR_THIS_SERVICE"
        )
    );
    // A service that takes several.
    ok(
        "EnableAWSServiceAccess",
        orgs.enable_aws_service_access()
            .service_principal("cloudtrail.amazonaws.com")
            .send()
            .await,
    );
    for m in [&m1, &m2] {
        ok(
            "RegisterDelegatedAdministrator cloudtrail",
            orgs.register_delegated_administrator()
                .account_id(m)
                .service_principal("cloudtrail.amazonaws.com")
                .send()
                .await,
        );
    }

    let admins = ok(
        "ListDelegatedAdministrators",
        orgs.list_delegated_administrators().send().await,
    );
    let ids: Vec<&str> = admins
        .delegated_administrators()
        .iter()
        .map(|a| a.id().unwrap())
        .collect();
    let mut want = vec![m1.as_str(), m2.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    let a = admins
        .delegated_administrators()
        .iter()
        .find(|a| a.id() == Some(m1.as_str()))
        .unwrap();
    assert_eq!(a.email(), Some("member1@example.com"));
    assert_eq!(a.name(), Some("Member One"));
    assert!(a.arn().unwrap().ends_with(&format!("/{m1}")));
    assert!(a.delegation_enabled_date().is_some() && a.joined_timestamp().is_some());
    let only_sso = ok(
        "ListDelegatedAdministrators sso",
        orgs.list_delegated_administrators()
            .service_principal(sso)
            .send()
            .await,
    );
    assert_eq!(only_sso.delegated_administrators().len(), 1);
    let page = ok(
        "ListDelegatedAdministrators page",
        orgs.list_delegated_administrators()
            .max_results(1)
            .send()
            .await,
    );
    assert_eq!(page.delegated_administrators().len(), 1);
    assert!(page.next_token().is_some());
    let services = ok(
        "ListDelegatedServicesForAccount",
        orgs.list_delegated_services_for_account()
            .account_id(&m1)
            .send()
            .await,
    );
    let names: Vec<&str> = services
        .delegated_services()
        .iter()
        .map(|s| s.service_principal().unwrap())
        .collect();
    assert_eq!(names, ["cloudtrail.amazonaws.com", sso]);

    // A delegated administrator may read, not manage.
    let as_m1 = server.orgs_as(&m1_who);
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
    let e = err_info(
        as_m1
            .enable_aws_service_access()
            .service_principal(sso)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    let e = err_info(
        as_m1
            .register_delegated_administrator()
            .account_id(&m2)
            .service_principal("cloudtrail.amazonaws.com")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");

    // Deregistering.
    ok(
        "DeregisterDelegatedAdministrator",
        orgs.deregister_delegated_administrator()
            .account_id(&m1)
            .service_principal(sso)
            .send()
            .await,
    );
    let e = err_info(
        orgs.deregister_delegated_administrator()
            .account_id(&m1)
            .service_principal(sso)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountNotRegisteredException", "{e:?}");
    // Disabling trusted access deregisters the service's administrators.
    ok(
        "DisableAWSServiceAccess",
        orgs.disable_aws_service_access()
            .service_principal("cloudtrail.amazonaws.com")
            .send()
            .await,
    );
    let admins = ok(
        "ListDelegatedAdministrators",
        orgs.list_delegated_administrators().send().await,
    );
    assert!(admins.delegated_administrators().is_empty(), "{admins:?}");
    // A member that is no delegated administrator may not list them.
    let e = err_info(
        server
            .orgs_as(&m2_who)
            .list_delegated_administrators()
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responsibility_transfers() {
    let dir = TempDir::new("orgs-xfer");
    let server = Server::start(&dir, &[]);
    let a = server.orgs();
    let a_id = server.creds.account_id.clone();
    let org_a = ok("CreateOrganization A", a.create_organization().send().await)
        .organization
        .unwrap();
    let (b_id, b_who) = signup(&dir, "billing-b@example.com", "Org B");
    let b = server.orgs_as(&b_who);
    let org_b = ok("CreateOrganization B", b.create_organization().send().await)
        .organization
        .unwrap();
    let (_, c_who) = signup(&dir, "standalone-c@example.com", "C");
    let c = server.orgs_as(&c_who);

    let target = |ty: HandshakePartyType, id: &str| {
        HandshakeParty::builder().id(id).r#type(ty).build().unwrap()
    };
    let start = month_start(2);
    let invite = |who: &aws_sdk_organizations::Client, party: HandshakeParty, start: i64| {
        who.invite_organization_to_transfer_responsibility()
            .r#type(ResponsibilityTransferType::Billing)
            .target(party)
            .start_timestamp(at(start))
            .source_name("A pays for B")
            .notes("welcome")
            .send()
    };

    // Validation.
    let e = err_info(invite(&c, target(HandshakePartyType::Account, &b_id), start).await);
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
    for (party, s, want) in [
        (
            target(HandshakePartyType::Organization, org_b.id().unwrap()),
            start,
            pair("InvalidInputException", "INVALID_PARTY_TYPE_TARGET"),
        ),
        (
            target(HandshakePartyType::Email, "not-an-email"),
            start,
            pair("InvalidInputException", "INVALID_EMAIL_ADDRESS_TARGET"),
        ),
        (
            target(HandshakePartyType::Account, &a_id),
            start,
            pair(
                "HandshakeConstraintViolationException",
                "SOURCE_AND_TARGET_CANNOT_MATCH",
            ),
        ),
        (
            target(HandshakePartyType::Account, "999999999999"),
            start,
            pair(
                "HandshakeConstraintViolationException",
                "TARGET_ACCOUNT_VALIDATION_FAILURE",
            ),
        ),
        (
            target(HandshakePartyType::Email, "standalone-c@example.com"),
            start,
            pair(
                "HandshakeConstraintViolationException",
                "TARGET_ACCOUNT_VALIDATION_FAILURE",
            ),
        ),
        (
            target(HandshakePartyType::Account, &b_id),
            start + 14 * DAY_MS,
            pair("InvalidInputException", "START_DATE_NOT_BEGINNING_OF_MONTH"),
        ),
        (
            target(HandshakePartyType::Account, &b_id),
            start + 3_600_000,
            pair("InvalidInputException", "START_DATE_NOT_BEGINNING_OF_DAY"),
        ),
        (
            target(HandshakePartyType::Account, &b_id),
            month_start(0),
            pair("InvalidInputException", "START_DATE_TOO_EARLY"),
        ),
        (
            target(HandshakePartyType::Account, &b_id),
            month_start(36),
            pair("InvalidInputException", "START_DATE_TOO_LATE"),
        ),
    ] {
        assert_eq!(reason(invite(&a, party, s).await), want);
    }

    // The invitation (by email).
    let hs = ok(
        "InviteOrganizationToTransferResponsibility",
        invite(
            &a,
            target(HandshakePartyType::Email, "billing-b@example.com"),
            start,
        )
        .await,
    )
    .handshake
    .unwrap();
    assert_eq!(hs.action(), Some(&ActionType::TransferResponsibility));
    assert_eq!(hs.state(), Some(&HandshakeState::Open));
    let hs_id = hs.id().unwrap().to_owned();
    assert!(hs_id.starts_with("h-"));
    assert_eq!(
        hs.arn(),
        Some(
            format!(
                "arn:aws:organizations::{a_id}:handshake/{}/transfer_responsibility/{hs_id}",
                org_a.id().unwrap()
            )
            .as_str()
        )
    );
    let expires = hs.expiration_timestamp().unwrap().to_millis().unwrap();
    assert!(expires <= start - DAY_MS, "expires before the start");
    let rt_id = hs
        .resources()
        .iter()
        .find(|r| r.r#type() == Some(&HandshakeResourceType::ResponsibilityTransfer))
        .and_then(|r| r.value())
        .expect("the handshake names its transfer")
        .to_owned();
    assert!(rt_id.starts_with("rt-"), "{rt_id}");
    assert!(hs.parties().iter().any(|p| p.id() == org_a.id().unwrap()));
    let e = err_info(invite(&a, target(HandshakePartyType::Account, &b_id), start).await);
    assert_eq!(e.code, "DuplicateHandshakeException", "{e:?}");

    // Both parties see it, each from its side.
    let seen_by_a = ok(
        "DescribeResponsibilityTransfer (inviter)",
        a.describe_responsibility_transfer().id(&rt_id).send().await,
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
    assert_eq!(seen_by_a.active_handshake_id(), Some(hs_id.as_str()));
    assert_eq!(
        seen_by_a.source().unwrap().management_account_id(),
        Some(b_id.as_str())
    );
    assert_eq!(
        seen_by_a.target().unwrap().management_account_id(),
        Some(a_id.as_str())
    );
    assert_eq!(
        seen_by_a.start_timestamp().unwrap().to_millis().unwrap(),
        start
    );
    assert_eq!(
        seen_by_a.arn(),
        Some(
            format!(
                "arn:aws:organizations::{a_id}:transfer/{}/billing/inbound/{rt_id}",
                org_a.id().unwrap()
            )
            .as_str()
        )
    );
    let seen_by_b = ok(
        "DescribeResponsibilityTransfer (invitee)",
        b.describe_responsibility_transfer().id(&rt_id).send().await,
    )
    .responsibility_transfer
    .unwrap();
    assert_eq!(
        seen_by_b.arn(),
        Some(
            format!(
                "arn:aws:organizations::{b_id}:transfer/{}/billing/outbound/{rt_id}",
                org_b.id().unwrap()
            )
            .as_str()
        )
    );
    let e = err_info(
        a.describe_responsibility_transfer()
            .id("rt-000000000000")
            .send()
            .await,
    );
    assert_eq!(e.code, "ResponsibilityTransferNotFoundException", "{e:?}");
    let e = err_info(c.describe_responsibility_transfer().id(&rt_id).send().await);
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");

    let inbound = |who: &aws_sdk_organizations::Client| {
        who.list_inbound_responsibility_transfers()
            .r#type(ResponsibilityTransferType::Billing)
            .send()
    };
    let outbound = |who: &aws_sdk_organizations::Client| {
        who.list_outbound_responsibility_transfers()
            .r#type(ResponsibilityTransferType::Billing)
            .send()
    };
    assert_eq!(
        ok("inbound A", inbound(&a).await)
            .responsibility_transfers()
            .len(),
        1
    );
    assert!(
        ok("outbound A", outbound(&a).await)
            .responsibility_transfers()
            .is_empty()
    );
    assert!(
        ok("inbound B", inbound(&b).await)
            .responsibility_transfers()
            .is_empty()
    );
    assert_eq!(
        ok("outbound B", outbound(&b).await)
            .responsibility_transfers()
            .len(),
        1
    );
    let filtered = ok(
        "inbound A by id",
        a.list_inbound_responsibility_transfers()
            .r#type(ResponsibilityTransferType::Billing)
            .id(&rt_id)
            .send()
            .await,
    );
    assert_eq!(
        filtered.responsibility_transfers()[0].id(),
        Some(rt_id.as_str())
    );
    let e = err_info(
        a.list_inbound_responsibility_transfers()
            .r#type(ResponsibilityTransferType::Billing)
            .id("rt-000000000000")
            .send()
            .await,
    );
    assert_eq!(e.code, "ResponsibilityTransferNotFoundException", "{e:?}");

    // Renaming, by either party.
    let renamed = ok(
        "UpdateResponsibilityTransfer",
        b.update_responsibility_transfer()
            .id(&rt_id)
            .name("Billed by A")
            .send()
            .await,
    )
    .responsibility_transfer
    .unwrap();
    assert_eq!(renamed.name(), Some("Billed by A"));

    // Only an accepted transfer can be withdrawn.
    let e = err_info(
        a.terminate_responsibility_transfer()
            .id(&rt_id)
            .send()
            .await,
    );
    assert_eq!(
        e.code, "InvalidResponsibilityTransferTransitionException",
        "{e:?}"
    );

    // Accepting goes through AcceptHandshake.
    let out = ok(
        "AcceptHandshake",
        b.accept_handshake().handshake_id(&hs_id).send().await,
    );
    assert_eq!(
        out.handshake().unwrap().state(),
        Some(&HandshakeState::Accepted)
    );
    let accepted = ok(
        "DescribeResponsibilityTransfer",
        a.describe_responsibility_transfer().id(&rt_id).send().await,
    )
    .responsibility_transfer
    .unwrap();
    assert_eq!(
        accepted.status(),
        Some(&ResponsibilityTransferStatus::Accepted)
    );
    assert!(accepted.active_handshake_id().is_none());
    assert_eq!(
        reason(
            a.terminate_responsibility_transfer()
                .id(&rt_id)
                .end_timestamp(at(month_start(3) + 10 * DAY_MS))
                .send()
                .await
        ),
        pair("InvalidInputException", "END_DATE_NOT_END_OF_MONTH")
    );
    assert_eq!(
        reason(
            a.terminate_responsibility_transfer()
                .id(&rt_id)
                .end_timestamp(at(month_start(1) - 1))
                .send()
                .await
        ),
        pair("InvalidInputException", "END_DATE_TOO_EARLY")
    );
    let end = month_start(4) - 1;
    let withdrawn = ok(
        "TerminateResponsibilityTransfer",
        b.terminate_responsibility_transfer()
            .id(&rt_id)
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
    let e = err_info(
        a.terminate_responsibility_transfer()
            .id(&rt_id)
            .send()
            .await,
    );
    assert_eq!(
        e.code, "ResponsibilityTransferAlreadyInStatusException",
        "{e:?}"
    );
    assert_eq!(
        reason(
            a.update_responsibility_transfer()
                .id(&rt_id)
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
