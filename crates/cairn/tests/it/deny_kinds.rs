//! A Deny naming one resource holds, for every kind of resource Cairn serves.
//!
//! For each kind — IAM users (with and without a path, and by wildcard), groups, roles,
//! customer-managed policies, `sts:AssumeRole` on a role; Organizations roots, OUs, accounts,
//! policies and handshakes; CloudTrail trails — an administrator (`AdministratorAccess` attached) who also has
//! an inline statement denying one named resource is refused on that resource with AWS's
//! "explicit deny in an identity-based policy" text naming the resource's exact ARN, and is
//! allowed on its sibling. (This is the class of bug where a resource ARN rendered as
//! `user//alice` made such Denies match nothing.) CloudTrail trails are covered too;
//! Identity Center resources join this file as that service arrives.

use crate::common::{ErrInfo, Who, err_info, ok, signup};
use crate::fixture::{Fixture, session};
use aws_sdk_organizations::types::{HandshakeParty, HandshakePartyType, PolicyType};

const ACCOUNT: &str = "135792468013";

/// A policy document denying `action` on the single resource `arn`.
fn deny_on(action: &str, arn: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"{action}","Resource":"{arn}"}}]}}"#
    )
}

/// An administrator, `user/admin`, who is also denied `action` on the resource `arn`.
async fn denied_admin(f: &Fixture, action: &str, arn: &str) -> Who {
    f.admin("admin", Some(&deny_on(action, arn))).await
}

/// IAM's and STS's refusal ([`assert_denied`]).
fn iam_denied(e: &ErrInfo, action: &str, arn: &str) {
    assert_denied(e, "AccessDenied", action, arn);
}

/// Organizations' refusal ([`assert_denied`]).
fn org_denied(e: &ErrInfo, action: &str, arn: &str) {
    assert_denied(e, "AccessDeniedException", action, arn);
}

fn iam_tag() -> aws_sdk_iam::types::Tag {
    aws_sdk_iam::types::Tag::builder()
        .key("k")
        .value("v")
        .build()
        .unwrap()
}

fn org_tag() -> aws_sdk_organizations::types::Tag {
    aws_sdk_organizations::types::Tag::builder()
        .key("k")
        .value("v")
        .build()
        .unwrap()
}

/// Asserts AWS's explicit-deny refusal of `user/admin` for `action` on `arn`.
fn assert_denied(e: &ErrInfo, code: &str, action: &str, arn: &str) {
    assert_eq!(e.code, code, "{e:?}");
    assert_eq!(
        e.message,
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/admin is not authorized to perform: {action} \
             on resource: {arn} with an explicit deny in an identity-based policy"
        ),
        "{e:?}"
    );
}

fn iam_arn(rest: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:{rest}")
}

// ------------------------------------------------------------------------------------ IAM

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_on_a_user_blocks_that_user_and_not_its_sibling() {
    let f = Fixture::new("deny-user", ACCOUNT);
    let iam = f.server.iam();
    for name in ["protected", "sibling"] {
        ok("CreateUser", iam.create_user().user_name(name).send().await);
    }
    let target = iam_arn("user/protected");
    let admin = denied_admin(&f, "iam:*", &target).await;
    let as_admin = f.server.iam_as(&admin);

    // Taking over the user by a new key, tagging it, or giving it a policy: all refused.
    let e = err_info(
        as_admin
            .create_access_key()
            .user_name("protected")
            .send()
            .await,
    );
    iam_denied(&e, "iam:CreateAccessKey", &target);
    let e = err_info(
        as_admin
            .tag_user()
            .user_name("protected")
            .tags(iam_tag())
            .send()
            .await,
    );
    iam_denied(&e, "iam:TagUser", &target);
    let e = err_info(
        as_admin
            .put_user_policy()
            .user_name("protected")
            .policy_name("p")
            .policy_document(crate::fixture::ALLOW_ALL)
            .send()
            .await,
    );
    iam_denied(&e, "iam:PutUserPolicy", &target);
    // Nothing of it happened.
    let keys = ok(
        "ListAccessKeys",
        iam.list_access_keys().user_name("protected").send().await,
    );
    assert!(keys.access_key_metadata().is_empty());

    ok(
        "CreateAccessKey on the sibling",
        as_admin
            .create_access_key()
            .user_name("sibling")
            .send()
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_on_a_user_with_a_path_names_the_path() {
    let f = Fixture::new("deny-user-path", ACCOUNT);
    let iam = f.server.iam();
    for name in ["protected", "sibling"] {
        ok(
            "CreateUser",
            iam.create_user()
                .user_name(name)
                .path("/team/ops/")
                .send()
                .await,
        );
    }
    let target = iam_arn("user/team/ops/protected");
    let admin = denied_admin(&f, "iam:*", &target).await;
    let as_admin = f.server.iam_as(&admin);
    let e = err_info(
        as_admin
            .create_access_key()
            .user_name("protected")
            .send()
            .await,
    );
    iam_denied(&e, "iam:CreateAccessKey", &target);
    ok(
        "CreateAccessKey on the sibling",
        as_admin
            .create_access_key()
            .user_name("sibling")
            .send()
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wildcard_deny_on_user_names_blocks_the_matching_users_only() {
    let f = Fixture::new("deny-user-wild", ACCOUNT);
    let iam = f.server.iam();
    for name in ["prot-a", "prot-b", "public"] {
        ok("CreateUser", iam.create_user().user_name(name).send().await);
    }
    let admin = denied_admin(&f, "iam:*", &iam_arn("user/prot*")).await;
    let as_admin = f.server.iam_as(&admin);
    for name in ["prot-a", "prot-b"] {
        let e = err_info(as_admin.create_access_key().user_name(name).send().await);
        iam_denied(&e, "iam:CreateAccessKey", &iam_arn(&format!("user/{name}")));
    }
    ok(
        "CreateAccessKey on public",
        as_admin
            .create_access_key()
            .user_name("public")
            .send()
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allow_on_the_callers_own_user_arn_applies() {
    let f = Fixture::new("allow-own-user", ACCOUNT);
    let own = iam_arn("user/self-service");
    let who = f
        .user_with_key(
            "self-service",
            &format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:PutUserPolicy","Resource":"{own}"}}]}}"#
            ),
        )
        .await;
    ok(
        "CreateUser other",
        f.server.iam().create_user().user_name("other").send().await,
    );
    let as_user = f.server.iam_as(&who);
    ok(
        "PutUserPolicy on itself",
        as_user
            .put_user_policy()
            .user_name("self-service")
            .policy_name("second")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}"#,
            )
            .send()
            .await,
    );
    let e = err_info(
        as_user
            .put_user_policy()
            .user_name("other")
            .policy_name("p")
            .policy_document(crate::fixture::ALLOW_ALL)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    assert!(
        e.message
            .contains(&format!("on resource: {}", iam_arn("user/other"))),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_on_a_group_blocks_that_group_and_not_its_sibling() {
    let f = Fixture::new("deny-group", ACCOUNT);
    let iam = f.server.iam();
    ok(
        "CreateUser",
        iam.create_user().user_name("member").send().await,
    );
    ok(
        "CreateGroup",
        iam.create_group()
            .group_name("admins")
            .path("/sec/")
            .send()
            .await,
    );
    ok(
        "CreateGroup",
        iam.create_group().group_name("readers").send().await,
    );
    let target = iam_arn("group/sec/admins");
    let admin = denied_admin(&f, "iam:*", &target).await;
    let as_admin = f.server.iam_as(&admin);
    let e = err_info(
        as_admin
            .add_user_to_group()
            .group_name("admins")
            .user_name("member")
            .send()
            .await,
    );
    // AddUserToGroup is authorized against the group (Service Authorization Reference).
    iam_denied(&e, "iam:AddUserToGroup", &target);
    let e = err_info(
        as_admin
            .put_group_policy()
            .group_name("admins")
            .policy_name("p")
            .policy_document(crate::fixture::ALLOW_ALL)
            .send()
            .await,
    );
    iam_denied(&e, "iam:PutGroupPolicy", &target);
    ok(
        "AddUserToGroup readers",
        as_admin
            .add_user_to_group()
            .group_name("readers")
            .user_name("member")
            .send()
            .await,
    );
}

const TRUST_ACCOUNT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::135792468013:root"},"Action":"sts:AssumeRole"}]}"#;

async fn roles(f: &Fixture, path: &str, names: &[&str]) {
    for name in names {
        ok(
            "CreateRole",
            f.server
                .iam()
                .create_role()
                .role_name(*name)
                .path(path)
                .assume_role_policy_document(TRUST_ACCOUNT)
                .send()
                .await,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_on_a_role_blocks_that_role_and_not_its_sibling() {
    let f = Fixture::new("deny-role", ACCOUNT);
    roles(&f, "/service/", &["locked", "open"]).await;
    let target = iam_arn("role/service/locked");
    let admin = denied_admin(&f, "iam:*", &target).await;
    let as_admin = f.server.iam_as(&admin);
    let e = err_info(
        as_admin
            .put_role_policy()
            .role_name("locked")
            .policy_name("p")
            .policy_document(crate::fixture::ALLOW_ALL)
            .send()
            .await,
    );
    iam_denied(&e, "iam:PutRolePolicy", &target);
    let e = err_info(
        as_admin
            .update_assume_role_policy()
            .role_name("locked")
            .policy_document(TRUST_ACCOUNT)
            .send()
            .await,
    );
    iam_denied(&e, "iam:UpdateAssumeRolePolicy", &target);
    ok(
        "PutRolePolicy open",
        as_admin
            .put_role_policy()
            .role_name("open")
            .policy_name("p")
            .policy_document(crate::fixture::ALLOW_ALL)
            .send()
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_of_assume_role_on_a_role_blocks_that_role_and_not_its_sibling() {
    let f = Fixture::new("deny-assume", ACCOUNT);
    roles(&f, "/", &["locked", "open"]).await;
    let target = iam_arn("role/locked");
    let admin = denied_admin(&f, "sts:AssumeRole", &target).await;
    let sts = f.server.sts_as(&admin);
    let e = err_info(
        sts.assume_role()
            .role_arn(&target)
            .role_session_name("it")
            .send()
            .await,
    );
    iam_denied(&e, "sts:AssumeRole", &target);
    let out = ok(
        "AssumeRole open",
        sts.assume_role()
            .role_arn(iam_arn("role/open"))
            .role_session_name("it")
            .send()
            .await,
    );
    let who = session(out.credentials().unwrap());
    let me = ok(
        "GetCallerIdentity",
        f.server.sts_as(&who).get_caller_identity().send().await,
    );
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/open/it").as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_on_a_managed_policy_blocks_that_policy_and_not_its_sibling() {
    let f = Fixture::new("deny-policy", ACCOUNT);
    let iam = f.server.iam();
    for name in ["guarded", "free"] {
        ok(
            "CreatePolicy",
            iam.create_policy()
                .policy_name(name)
                .path("/org/")
                .policy_document(crate::fixture::ALLOW_ALL)
                .send()
                .await,
        );
    }
    let target = iam_arn("policy/org/guarded");
    let admin = denied_admin(&f, "iam:*", &target).await;
    let as_admin = f.server.iam_as(&admin);
    let e = err_info(
        as_admin
            .create_policy_version()
            .policy_arn(&target)
            .policy_document(crate::fixture::ALLOW_ALL)
            .set_as_default(true)
            .send()
            .await,
    );
    iam_denied(&e, "iam:CreatePolicyVersion", &target);
    let e = err_info(as_admin.delete_policy().policy_arn(&target).send().await);
    iam_denied(&e, "iam:DeletePolicy", &target);
    ok(
        "CreatePolicyVersion free",
        as_admin
            .create_policy_version()
            .policy_arn(iam_arn("policy/org/free"))
            .policy_document(crate::fixture::ALLOW_ALL)
            .send()
            .await,
    );
}

// -------------------------------------------------------------------------- Organizations

fn org_arn(rest: &str) -> String {
    format!("arn:aws:organizations::{ACCOUNT}:{rest}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_on_the_root_blocks_the_root_and_not_an_ou() {
    let (f, org) = Fixture::with_org("deny-root", ACCOUNT).await;
    let ou = ok(
        "CreateOrganizationalUnit",
        f.server
            .orgs()
            .create_organizational_unit()
            .parent_id(&org.root_id)
            .name("child")
            .send()
            .await,
    );
    let ou_id = ou.organizational_unit().unwrap().id().unwrap().to_owned();
    let target = org_arn(&format!("root/{}/{}", org.id, org.root_id));
    let admin = denied_admin(&f, "organizations:*", &target).await;
    let orgs = f.server.orgs_as(&admin);
    let e = err_info(
        orgs.create_organizational_unit()
            .parent_id(&org.root_id)
            .name("denied")
            .send()
            .await,
    );
    org_denied(&e, "organizations:CreateOrganizationalUnit", &target);
    let e = err_info(
        orgs.enable_policy_type()
            .root_id(&org.root_id)
            .policy_type(PolicyType::TagPolicy)
            .send()
            .await,
    );
    org_denied(&e, "organizations:EnablePolicyType", &target);
    ok(
        "CreateOrganizationalUnit under the OU",
        orgs.create_organizational_unit()
            .parent_id(&ou_id)
            .name("allowed")
            .send()
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_on_an_ou_blocks_that_ou_and_not_its_sibling() {
    let (f, org) = Fixture::with_org("deny-ou", ACCOUNT).await;
    let mut ids = Vec::new();
    for name in ["locked", "open"] {
        let ou = ok(
            "CreateOrganizationalUnit",
            f.server
                .orgs()
                .create_organizational_unit()
                .parent_id(&org.root_id)
                .name(name)
                .send()
                .await,
        );
        ids.push(ou.organizational_unit().unwrap().id().unwrap().to_owned());
    }
    let target = org_arn(&format!("ou/{}/{}", org.id, ids[0]));
    let admin = denied_admin(&f, "organizations:*", &target).await;
    let orgs = f.server.orgs_as(&admin);
    let e = err_info(
        orgs.update_organizational_unit()
            .organizational_unit_id(&ids[0])
            .name("renamed")
            .send()
            .await,
    );
    org_denied(&e, "organizations:UpdateOrganizationalUnit", &target);
    let e = err_info(
        orgs.tag_resource()
            .resource_id(&ids[0])
            .tags(org_tag())
            .send()
            .await,
    );
    org_denied(&e, "organizations:TagResource", &target);
    ok(
        "UpdateOrganizationalUnit open",
        orgs.update_organizational_unit()
            .organizational_unit_id(&ids[1])
            .name("renamed")
            .send()
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_on_an_account_blocks_that_account_and_not_its_sibling() {
    let (f, org) = Fixture::with_org("deny-account", ACCOUNT).await;
    let locked = f.member("locked", "locked@example.com").await;
    let open = f.member("open", "open@example.com").await;
    let target = org_arn(&format!("account/{}/{locked}", org.id));
    let admin = denied_admin(&f, "organizations:*", &target).await;
    let orgs = f.server.orgs_as(&admin);
    let e = err_info(orgs.describe_account().account_id(&locked).send().await);
    org_denied(&e, "organizations:DescribeAccount", &target);
    let e = err_info(
        orgs.tag_resource()
            .resource_id(&locked)
            .tags(org_tag())
            .send()
            .await,
    );
    org_denied(&e, "organizations:TagResource", &target);
    ok(
        "DescribeAccount open",
        orgs.describe_account().account_id(&open).send().await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_on_a_policy_blocks_that_policy_and_not_its_sibling() {
    let (f, org) = Fixture::with_org("deny-org-policy", ACCOUNT).await;
    let mut ids = Vec::new();
    for name in ["locked", "open"] {
        let p = ok(
            "CreatePolicy",
            f.server
                .orgs()
                .create_policy()
                .name(name)
                .description(name)
                .r#type(PolicyType::ServiceControlPolicy)
                .content(crate::fixture::ALLOW_ALL)
                .send()
                .await,
        );
        ids.push(
            p.policy()
                .and_then(|p| p.policy_summary())
                .and_then(|s| s.id())
                .unwrap()
                .to_owned(),
        );
    }
    let target = org_arn(&format!(
        "policy/{}/service_control_policy/{}",
        org.id, ids[0]
    ));
    let admin = denied_admin(&f, "organizations:*", &target).await;
    let orgs = f.server.orgs_as(&admin);
    let e = err_info(
        orgs.update_policy()
            .policy_id(&ids[0])
            .description("changed")
            .send()
            .await,
    );
    org_denied(&e, "organizations:UpdatePolicy", &target);
    let e = err_info(orgs.describe_policy().policy_id(&ids[0]).send().await);
    org_denied(&e, "organizations:DescribePolicy", &target);
    ok(
        "UpdatePolicy open",
        orgs.update_policy()
            .policy_id(&ids[1])
            .description("changed")
            .send()
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_on_a_handshake_blocks_that_handshake_and_not_its_sibling() {
    let (f, org) = Fixture::with_org("deny-handshake", ACCOUNT).await;
    let mut ids = Vec::new();
    for (email, name) in [("a@example.com", "A"), ("b@example.com", "B")] {
        let (account, _who): (String, Who) = signup(&f.dir, email, name);
        let inv = ok(
            "InviteAccountToOrganization",
            f.server
                .orgs()
                .invite_account_to_organization()
                .target(
                    HandshakeParty::builder()
                        .r#type(HandshakePartyType::Account)
                        .id(account)
                        .build()
                        .unwrap(),
                )
                .send()
                .await,
        );
        ids.push(inv.handshake().unwrap().id().unwrap().to_owned());
    }
    let target = org_arn(&format!("handshake/{}/invite/{}", org.id, ids[0]));
    let admin = denied_admin(&f, "organizations:*", &target).await;
    let orgs = f.server.orgs_as(&admin);
    let e = err_info(orgs.describe_handshake().handshake_id(&ids[0]).send().await);
    org_denied(&e, "organizations:DescribeHandshake", &target);
    let e = err_info(orgs.cancel_handshake().handshake_id(&ids[0]).send().await);
    org_denied(&e, "organizations:CancelHandshake", &target);
    ok(
        "CancelHandshake of the sibling",
        orgs.cancel_handshake().handshake_id(&ids[1]).send().await,
    );
}

// ----------------------------------------------------------------------------- CloudTrail

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_on_a_trail_blocks_that_trail_and_not_its_sibling() {
    let f = Fixture::new("deny-trail", ACCOUNT);
    let ct = f.server.cloudtrail();
    for name in ["protected", "sibling"] {
        ok(
            "CreateTrail",
            ct.create_trail()
                .name(name)
                .s3_bucket_name("audit-logs")
                .send()
                .await,
        );
    }
    let target = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/protected");
    let admin = denied_admin(&f, "cloudtrail:*", &target).await;
    let as_admin = f.server.cloudtrail_as(&admin);
    // Turning it off, changing what it records, or deleting it: all refused.
    let e = err_info(as_admin.stop_logging().name("protected").send().await);
    assert_denied(
        &e,
        "AccessDeniedException",
        "cloudtrail:StopLogging",
        &target,
    );
    let e = err_info(
        as_admin
            .put_event_selectors()
            .trail_name("protected")
            .event_selectors(aws_sdk_cloudtrail::types::EventSelector::builder().build())
            .send()
            .await,
    );
    assert_denied(
        &e,
        "AccessDeniedException",
        "cloudtrail:PutEventSelectors",
        &target,
    );
    let e = err_info(as_admin.delete_trail().name(&target).send().await);
    assert_denied(
        &e,
        "AccessDeniedException",
        "cloudtrail:DeleteTrail",
        &target,
    );
    ok("GetTrail", ct.get_trail().name("protected").send().await);
    // The sibling is the administrator's to change.
    ok(
        "StopLogging sibling",
        as_admin.stop_logging().name("sibling").send().await,
    );
    ok(
        "DeleteTrail sibling",
        as_admin.delete_trail().name("sibling").send().await,
    );
}
