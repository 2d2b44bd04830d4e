//! Centralized root access for member accounts: IAM's organization features
//! (`ListOrganizationsFeatures`, `Enable…`/`Disable…`) and `sts:AssumeRoot`, with
//! `aws-sdk-iam`, `aws-sdk-sts` and `aws-sdk-organizations` against the real binary.
//!
//! One test per behaviour, each on its own server ([`Fixture`]).

use crate::common::{Who, attr, await_records, err_info, ok};
use crate::fixture::{Fixture, member_role};
use aws_sdk_cloudtrail::types::LookupAttributeKey;
use aws_sdk_iam::operation::RequestId;
use aws_sdk_iam::types::FeatureType;
use aws_sdk_sts::types::PolicyDescriptorType;
use serde_json::Value;

const MGMT: &str = "111100002222";
const IAM: &str = "iam.amazonaws.com";
const AUDIT: &str = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials";

fn task(arn: &str) -> PolicyDescriptorType {
    PolicyDescriptorType::builder().arn(arn).build()
}

/// A server with an organization, a member account, trusted access for IAM, and an
/// administrator of the management account (root users may not call `AssumeRoot`);
/// answers the fixture, the member's ID and the administrator.
async fn org_with_member(tag: &str) -> (Fixture, String, Who) {
    let (f, _org) = Fixture::with_org(tag, MGMT).await;
    let member = f.member("workload", "workload@example.com").await;
    ok(
        "EnableAWSServiceAccess",
        f.server
            .orgs()
            .enable_aws_service_access()
            .service_principal(IAM)
            .send()
            .await,
    );
    let admin = f.admin("ops", None).await;
    (f, member, admin)
}

/// [`org_with_member`] with both features enabled by the administrator.
async fn root_access_enabled(tag: &str) -> (Fixture, String, Who) {
    let (f, member, admin) = org_with_member(tag).await;
    let iam = f.server.iam_as(&admin);
    ok(
        "EnableOrganizationsRootCredentialsManagement",
        iam.enable_organizations_root_credentials_management()
            .send()
            .await,
    );
    ok(
        "EnableOrganizationsRootSessions",
        iam.enable_organizations_root_sessions().send().await,
    );
    (f, member, admin)
}

/// Credentials of `member`'s root user for the audit task, issued to `admin`.
async fn audit_session(f: &Fixture, admin: &Who, member: &str) -> Who {
    let out = ok(
        "AssumeRoot",
        f.server
            .sts_as(admin)
            .assume_root()
            .target_principal(member)
            .task_policy_arn(task(AUDIT))
            .send()
            .await,
    );
    let c = out.credentials().expect("credentials");
    Who::session(c.access_key_id(), c.secret_access_key(), c.session_token())
}

#[tokio::test]
async fn enabled_features_are_listed_with_the_organization() {
    let (f, _member, admin) = org_with_member("ra-list").await;
    let iam = f.server.iam_as(&admin);
    let none = ok(
        "ListOrganizationsFeatures",
        iam.list_organizations_features().send().await,
    );
    assert!(none.enabled_features().is_empty());
    let org_id = none.organization_id().unwrap().to_owned();
    assert!(org_id.starts_with("o-"));
    let on = ok(
        "EnableOrganizationsRootSessions",
        iam.enable_organizations_root_sessions().send().await,
    );
    assert_eq!(on.enabled_features(), [FeatureType::RootSessions]);
    assert_eq!(on.organization_id(), Some(org_id.as_str()));
    ok(
        "EnableOrganizationsRootCredentialsManagement",
        iam.enable_organizations_root_credentials_management()
            .send()
            .await,
    );
    let both = ok(
        "ListOrganizationsFeatures",
        iam.list_organizations_features().send().await,
    );
    assert_eq!(
        both.enabled_features(),
        [
            FeatureType::RootCredentialsManagement,
            FeatureType::RootSessions
        ]
    );
    let off = ok(
        "DisableOrganizationsRootSessions",
        iam.disable_organizations_root_sessions().send().await,
    );
    assert_eq!(
        off.enabled_features(),
        [FeatureType::RootCredentialsManagement]
    );
}

#[tokio::test]
async fn features_need_trusted_access_for_iam() {
    let (f, _org) = Fixture::with_org("ra-trust", MGMT).await;
    let e = err_info(
        f.server
            .iam()
            .enable_organizations_root_sessions()
            .send()
            .await,
    );
    assert_eq!(e.code, "ServiceAccessNotEnabledException", "{e:?}");
}

#[tokio::test]
async fn features_need_an_organization() {
    let f = Fixture::new("ra-noorg", MGMT);
    let e = err_info(f.server.iam().list_organizations_features().send().await);
    assert_eq!(e.code, "OrganizationNotFoundException", "{e:?}");
}

#[tokio::test]
async fn a_member_account_cannot_enable_features() {
    let (f, member, admin) = org_with_member("ra-member").await;
    let role = member_role(&f.server, &admin, &member).await;
    let e = err_info(
        f.server
            .iam_as(&role)
            .enable_organizations_root_sessions()
            .send()
            .await,
    );
    assert_eq!(
        e.code, "AccountNotManagementOrDelegatedAdministratorException",
        "{e:?}"
    );
}

#[tokio::test]
async fn assume_root_acts_as_the_member_root_user() {
    let (f, member, admin) = root_access_enabled("ra-who").await;
    let root = audit_session(&f, &admin, &member).await;
    let me = ok(
        "GetCallerIdentity",
        f.server.sts_as(&root).get_caller_identity().send().await,
    );
    assert_eq!(me.account(), Some(member.as_str()));
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:iam::{member}:root").as_str())
    );
}

#[tokio::test]
async fn the_audit_task_reads_root_credentials() {
    let (f, member, admin) = root_access_enabled("ra-audit").await;
    let root = audit_session(&f, &admin, &member).await;
    let iam = f.server.iam_as(&root);
    let keys = ok("ListAccessKeys", iam.list_access_keys().send().await);
    assert!(keys.access_key_metadata().is_empty());
    let user = ok("GetUser", iam.get_user().send().await);
    assert_eq!(
        user.user().map(|u| u.arn()),
        Some(format!("arn:aws:iam::{member}:root").as_str())
    );
    ok("ListMFADevices", iam.list_mfa_devices().send().await);
    let e = err_info(iam.get_login_profile().send().await);
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
}

#[tokio::test]
async fn the_audit_task_denies_everything_else() {
    let (f, member, admin) = root_access_enabled("ra-deny").await;
    let root = audit_session(&f, &admin, &member).await;
    let iam = f.server.iam_as(&root);
    let e = err_info(iam.create_user().user_name("intruder").send().await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    assert!(e.message.contains("iam:CreateUser"), "{e:?}");
    // The audit actions, but on an IAM user rather than the root user.
    let e = err_info(iam.list_access_keys().user_name("someone").send().await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");
}

#[tokio::test]
async fn assume_root_needs_root_sessions_enabled() {
    let (f, member, admin) = org_with_member("ra-off").await;
    ok(
        "EnableOrganizationsRootCredentialsManagement",
        f.server
            .iam_as(&admin)
            .enable_organizations_root_credentials_management()
            .send()
            .await,
    );
    let e = err_info(
        f.server
            .sts_as(&admin)
            .assume_root()
            .target_principal(&member)
            .task_policy_arn(task(AUDIT))
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    assert!(e.message.contains("sts:AssumeRoot"), "{e:?}");
}

#[tokio::test]
async fn assume_root_is_refused_from_a_member_account() {
    let (f, member, admin) = root_access_enabled("ra-from-member").await;
    let role = member_role(&f.server, &admin, &member).await;
    let e = err_info(
        f.server
            .sts_as(&role)
            .assume_root()
            .target_principal(&member)
            .task_policy_arn(task(AUDIT))
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied", "{e:?}");
}

#[tokio::test]
async fn assume_root_refuses_the_management_account() {
    let (f, _member, admin) = root_access_enabled("ra-mgmt").await;
    let e = err_info(
        f.server
            .sts_as(&admin)
            .assume_root()
            .target_principal(MGMT)
            .task_policy_arn(task(AUDIT))
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied", "{e:?}");
}

#[tokio::test]
async fn assume_root_accepts_only_task_policies() {
    let (f, member, admin) = root_access_enabled("ra-task").await;
    let e = err_info(
        f.server
            .sts_as(&admin)
            .assume_root()
            .target_principal(&member)
            .task_policy_arn(task("arn:aws:iam::aws:policy/AdministratorAccess"))
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationError", "{e:?}");
}

#[tokio::test]
async fn assume_root_lasts_at_most_900_seconds() {
    let (f, member, admin) = root_access_enabled("ra-duration").await;
    let e = err_info(
        f.server
            .sts_as(&admin)
            .assume_root()
            .target_principal(&member)
            .task_policy_arn(task(AUDIT))
            .duration_seconds(901)
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationError", "{e:?}");
}

#[tokio::test]
async fn task_policies_cannot_be_attached() {
    let f = Fixture::new("ra-attach", MGMT);
    let iam = f.server.iam();
    ok("CreateUser", iam.create_user().user_name("u").send().await);
    let e = err_info(
        iam.attach_user_policy()
            .user_name("u")
            .policy_arn(AUDIT)
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
}

#[tokio::test]
async fn assume_root_and_the_root_session_are_recorded() {
    let (f, member, admin) = root_access_enabled("ra-trail").await;
    let root = audit_session(&f, &admin, &member).await;
    let keys = ok(
        "ListAccessKeys",
        f.server.iam_as(&root).list_access_keys().send().await,
    );
    let listed_id = keys.request_id().unwrap().to_owned();
    // AssumeRoot, in the management account.
    let ct = f.server.cloudtrail_as(&admin);
    let events =
        crate::common::lookup_all(&ct, Some(attr(LookupAttributeKey::EventName, "AssumeRoot")))
            .await;
    let record = crate::common::record(events.first().expect("an AssumeRoot event"));
    assert_eq!(record["eventSource"], "sts.amazonaws.com");
    assert_eq!(record["recipientAccountId"], MGMT);
    assert_eq!(
        record["requestParameters"]["targetPrincipal"],
        member.as_str()
    );
    assert_eq!(record["requestParameters"]["taskPolicyArn"]["arn"], AUDIT);
    assert_eq!(record["userIdentity"]["type"], "IAMUser");
    // The root session's call, in the member account.
    let role = member_role(&f.server, &admin, &member).await;
    let by_id = await_records(
        &f.server.cloudtrail_as(&role),
        Some(attr(LookupAttributeKey::EventName, "ListAccessKeys")),
        &[&listed_id],
    )
    .await;
    let who = &by_id[&listed_id]["userIdentity"];
    assert_eq!(who["type"], "Root", "{who}");
    assert_eq!(who["arn"], format!("arn:aws:iam::{member}:root"));
    assert_eq!(who["sessionContext"]["assumedRoot"], "true", "{who}");
    assert_eq!(
        who["sessionContext"]["attributes"]["mfaAuthenticated"],
        Value::from("false")
    );
}
