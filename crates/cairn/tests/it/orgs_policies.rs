//! Organizations OUs, policies, policy types, tags and effective policies with the SDK, and
//! SCP enforcement end to end: a member account created by `CreateAccount`, moved under an
//! OU with a denying SCP, refused through its `OrganizationAccountAccessRole` with AWS's
//! "explicit deny in a service control policy: <arn>" text, while the management account is
//! unaffected.
//!
//! One test per behaviour, each on its own server ([`Fixture`]).

use crate::common::{Server, err_info, ok, raw_reason};
use crate::fixture::{ALLOW_ALL, Fixture, Org, member_role, user_with_key};
use aws_sdk_organizations::types::{ChildType, EffectivePolicyType, ParentType, PolicyType, Tag};

const MGMT: &str = "111100002222";

fn deny(action: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"{action}","Resource":"*"}}]}}"#
    )
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

/// A server whose management account has an organization with SCPs enabled.
async fn scp_org(tag: &str) -> (Fixture, Org, aws_sdk_organizations::Client) {
    let (f, org) = Fixture::with_org(tag, MGMT).await;
    let orgs = f.server.orgs();
    enable(&orgs, &org.root_id, PolicyType::ServiceControlPolicy).await;
    (f, org, orgs)
}

async fn enable(orgs: &aws_sdk_organizations::Client, root_id: &str, kind: PolicyType) {
    ok(
        "EnablePolicyType",
        orgs.enable_policy_type()
            .root_id(root_id)
            .policy_type(kind)
            .send()
            .await,
    );
}

/// Creates OU `name` under `parent` and answers its ID.
async fn create_ou(
    orgs: &aws_sdk_organizations::Client,
    parent: &str,
    name: &str,
    tags: &[Tag],
) -> String {
    let out = ok(
        "CreateOrganizationalUnit",
        orgs.create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .set_tags(Some(tags.to_vec()))
            .send()
            .await,
    );
    out.organizational_unit()
        .and_then(|ou| ou.id())
        .unwrap()
        .to_owned()
}

async fn create_policy(
    orgs: &aws_sdk_organizations::Client,
    kind: PolicyType,
    name: &str,
    content: &str,
) -> aws_sdk_organizations::types::PolicySummary {
    let out = ok(
        "CreatePolicy",
        orgs.create_policy()
            .name(name)
            .description(format!("{name} policy"))
            .r#type(kind)
            .content(content)
            .send()
            .await,
    );
    out.policy().unwrap().policy_summary().unwrap().clone()
}

async fn create_scp(orgs: &aws_sdk_organizations::Client, name: &str, content: &str) -> String {
    let summary = create_policy(orgs, PolicyType::ServiceControlPolicy, name, content).await;
    summary.id().unwrap().to_owned()
}

async fn attach(orgs: &aws_sdk_organizations::Client, policy: &str, target: &str) {
    ok(
        "AttachPolicy",
        orgs.attach_policy()
            .policy_id(policy)
            .target_id(target)
            .send()
            .await,
    );
}

async fn detach(orgs: &aws_sdk_organizations::Client, policy: &str, target: &str) {
    ok(
        "DetachPolicy",
        orgs.detach_policy()
            .policy_id(policy)
            .target_id(target)
            .send()
            .await,
    );
}

async fn scp_ids_for(orgs: &aws_sdk_organizations::Client, target: &str) -> Vec<String> {
    let out = ok(
        "ListPoliciesForTarget",
        orgs.list_policies_for_target()
            .target_id(target)
            .filter(PolicyType::ServiceControlPolicy)
            .send()
            .await,
    );
    out.policies()
        .iter()
        .map(|p| p.id().unwrap().to_owned())
        .collect()
}

/// A member account made with `CreateAccount` (under FullAWSAccess at the root), moved into
/// a new OU `Level1` of the root; answers (member, OU).
async fn member_in_ou(f: &Fixture, org: &Org) -> (String, String) {
    let orgs = f.server.orgs();
    let ou1 = create_ou(&orgs, &org.root_id, "Level1", &[]).await;
    let member = f.member("member", "member@example.com").await;
    assert_eq!(scp_ids_for(&orgs, &member).await, vec!["p-FullAWSAccess"]);
    ok(
        "MoveAccount",
        orgs.move_account()
            .account_id(&member)
            .source_parent_id(&org.root_id)
            .destination_parent_id(&ou1)
            .send()
            .await,
    );
    (member, ou1)
}

/// An administrator of the management account and its session in `member`'s
/// `OrganizationAccountAccessRole` (root users may not assume roles).
async fn admin_and_member_session(
    server: &Server,
    member: &str,
) -> (crate::common::Who, crate::common::Who) {
    let admin = user_with_key(server, "admin", ALLOW_ALL).await;
    let member_who = member_role(server, &admin, member).await;
    (admin, member_who)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_types_are_enabled_once_per_root() {
    let (f, org) = Fixture::with_org("orgs-policy-types", MGMT).await;
    let orgs = f.server.orgs();
    let root_id = &org.root_id;
    let e = err_info(
        orgs.attach_policy()
            .policy_id("p-FullAWSAccess")
            .target_id(root_id)
            .send()
            .await,
    );
    assert_eq!(e.code, "PolicyTypeNotEnabledException", "{e:?}");
    let out = ok(
        "EnablePolicyType",
        orgs.enable_policy_type()
            .root_id(root_id)
            .policy_type(PolicyType::ServiceControlPolicy)
            .send()
            .await,
    );
    let types = out.root().unwrap().policy_types();
    assert_eq!(types.len(), 1);
    assert_eq!(types[0].r#type(), Some(&PolicyType::ServiceControlPolicy));
    let e = err_info(
        orgs.enable_policy_type()
            .root_id(root_id)
            .policy_type(PolicyType::ServiceControlPolicy)
            .send()
            .await,
    );
    assert_eq!(e.code, "PolicyTypeAlreadyEnabledException", "{e:?}");
    let e = err_info(
        orgs.enable_policy_type()
            .root_id("r-zzzz")
            .policy_type(PolicyType::TagPolicy)
            .send()
            .await,
    );
    assert_eq!(e.code, "RootNotFoundException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_aws_access_is_attached_and_aws_managed() {
    let (_f, org, orgs) = scp_org("orgs-full-access").await;
    assert_eq!(
        scp_ids_for(&orgs, &org.root_id).await,
        vec!["p-FullAWSAccess"]
    );
    assert_eq!(scp_ids_for(&orgs, MGMT).await, vec!["p-FullAWSAccess"]);
    let full = ok(
        "DescribePolicy",
        orgs.describe_policy()
            .policy_id("p-FullAWSAccess")
            .send()
            .await,
    );
    let summary = full.policy().unwrap().policy_summary().unwrap();
    assert_eq!(
        summary.arn(),
        Some("arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess")
    );
    assert!(summary.aws_managed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ous_nest_five_levels_below_the_root() {
    let (f, org, orgs) = scp_org("orgs-ou-depth").await;
    let root_id = &org.root_id;
    let mut parent = root_id.clone();
    for level in 1..=5 {
        let out = ok(
            "CreateOrganizationalUnit",
            orgs.create_organizational_unit()
                .parent_id(&parent)
                .name(format!("Level{level}"))
                .tags(tag("level", &level.to_string()))
                .send()
                .await,
        );
        let ou = out.organizational_unit().unwrap();
        let id = ou.id().unwrap().to_owned();
        assert!(id.starts_with(&format!("ou-{}-", root_id.trim_start_matches("r-"))));
        assert!(ou.path().unwrap().ends_with(&format!("/{id}/")), "{ou:?}");
        if level == 1 {
            // New OUs start under FullAWSAccess.
            assert_eq!(scp_ids_for(&orgs, &id).await, vec!["p-FullAWSAccess"]);
        }
        parent = id;
    }
    let e = err_info(
        orgs.create_organizational_unit()
            .parent_id(&parent)
            .name("Level6")
            .send()
            .await,
    );
    assert_eq!(e.code, "ConstraintViolationException", "{e:?}");
    assert!(e.message.contains("max depth"), "{e:?}");
    let (code, reason) = raw_reason(
        &f.server,
        "CreateOrganizationalUnit",
        &format!(r#"{{"ParentId":"{parent}","Name":"Level6"}}"#),
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("ConstraintViolationException", "OU_DEPTH_LIMIT_EXCEEDED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ou_names_are_unique_among_siblings_only() {
    let (f, org) = Fixture::with_org("orgs-ou-names", MGMT).await;
    let orgs = f.server.orgs();
    let ou1 = create_ou(&orgs, &org.root_id, "Level1", &[]).await;
    let level2 = create_ou(&orgs, &ou1, "Level2", &[]).await;
    let e = err_info(
        orgs.create_organizational_unit()
            .parent_id(&org.root_id)
            .name("Level1")
            .send()
            .await,
    );
    assert_eq!(e.code, "DuplicateOrganizationalUnitException", "{e:?}");
    // The same name under another parent is fine.
    let side_id = create_ou(&orgs, &ou1, "Level1", &[]).await;
    let e = err_info(
        orgs.update_organizational_unit()
            .organizational_unit_id(&side_id)
            .name("Level2")
            .send()
            .await,
    );
    assert_eq!(e.code, "DuplicateOrganizationalUnitException", "{e:?}");
    let renamed = ok(
        "UpdateOrganizationalUnit",
        orgs.update_organizational_unit()
            .organizational_unit_id(&side_id)
            .name("Side")
            .send()
            .await,
    );
    assert_eq!(renamed.organizational_unit().unwrap().name(), Some("Side"));
    let kids = ok(
        "ListChildren",
        orgs.list_children()
            .parent_id(&ou1)
            .child_type(ChildType::OrganizationalUnit)
            .send()
            .await,
    );
    let mut kid_ids: Vec<&str> = kids.children().iter().map(|c| c.id().unwrap()).collect();
    kid_ids.sort_unstable();
    let mut want = vec![level2.as_str(), side_id.as_str()];
    want.sort_unstable();
    assert_eq!(kid_ids, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ou_lists_paginate_and_parents_resolve() {
    let (f, org) = Fixture::with_org("orgs-ou-lists", MGMT).await;
    let orgs = f.server.orgs();
    let ou1 = create_ou(&orgs, &org.root_id, "Level1", &[]).await;
    let level2 = create_ou(&orgs, &ou1, "Level2", &[]).await;
    create_ou(&orgs, &ou1, "Side", &[]).await;
    let first = ok(
        "ListOrganizationalUnitsForParent",
        orgs.list_organizational_units_for_parent()
            .parent_id(&ou1)
            .max_results(1)
            .send()
            .await,
    );
    assert_eq!(first.organizational_units().len(), 1);
    let token = first.next_token().unwrap().to_owned();
    let second = ok(
        "ListOrganizationalUnitsForParent page 2",
        orgs.list_organizational_units_for_parent()
            .parent_id(&ou1)
            .max_results(1)
            .next_token(token)
            .send()
            .await,
    );
    assert_eq!(second.organizational_units().len(), 1);
    assert!(second.next_token().is_none());
    let parents = ok(
        "ListParents",
        orgs.list_parents().child_id(&level2).send().await,
    );
    assert_eq!(parents.parents()[0].id(), Some(ou1.as_str()));
    assert_eq!(
        parents.parents()[0].r#type(),
        Some(&ParentType::OrganizationalUnit)
    );
    let e = err_info(
        orgs.list_parents()
            .child_id("ou-zzzz-zzzzzzzz")
            .send()
            .await,
    );
    assert_eq!(e.code, "ChildNotFoundException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_empty_ous_are_deleted() {
    let (f, org) = Fixture::with_org("orgs-ou-delete", MGMT).await;
    let orgs = f.server.orgs();
    let ou1 = create_ou(&orgs, &org.root_id, "Level1", &[]).await;
    let side_id = create_ou(&orgs, &ou1, "Side", &[]).await;
    let e = err_info(
        orgs.delete_organizational_unit()
            .organizational_unit_id(&ou1)
            .send()
            .await,
    );
    assert_eq!(e.code, "OrganizationalUnitNotEmptyException", "{e:?}");
    ok(
        "DeleteOrganizationalUnit",
        orgs.delete_organizational_unit()
            .organizational_unit_id(&side_id)
            .send()
            .await,
    );
    let e = err_info(
        orgs.describe_organizational_unit()
            .organizational_unit_id(&side_id)
            .send()
            .await,
    );
    assert_eq!(e.code, "OrganizationalUnitNotFoundException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scps_are_validated_and_names_unique() {
    let (_f, _org, orgs) = scp_org("orgs-scp-create").await;
    // An SCP has no Principal.
    let e = err_info(
        orgs.create_policy()
            .name("bad")
            .description("")
            .r#type(PolicyType::ServiceControlPolicy)
            .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#)
            .send()
            .await,
    );
    assert_eq!(e.code, "MalformedPolicyDocumentException", "{e:?}");
    create_scp(&orgs, "deny0", &deny("s3:Get0*")).await;
    let e = err_info(
        orgs.create_policy()
            .name("deny0")
            .description("")
            .r#type(PolicyType::ServiceControlPolicy)
            .content(deny("s3:*"))
            .send()
            .await,
    );
    assert_eq!(e.code, "DuplicatePolicyException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_holds_at_most_five_scps_and_at_least_one() {
    let (f, org, orgs) = scp_org("orgs-scp-limits").await;
    let target = &create_ou(&orgs, &org.root_id, "Level3", &[]).await;
    let mut scps = Vec::new();
    for i in 0..5 {
        scps.push(create_scp(&orgs, &format!("deny{i}"), &deny(&format!("s3:Get{i}*"))).await);
    }
    for id in &scps[..4] {
        attach(&orgs, id, target).await;
    }
    let e = err_info(
        orgs.attach_policy()
            .policy_id(&scps[0])
            .target_id(target)
            .send()
            .await,
    );
    assert_eq!(e.code, "DuplicatePolicyAttachmentException", "{e:?}");
    // FullAWSAccess and four more make five: a sixth is refused.
    let (code, reason) = raw_reason(
        &f.server,
        "AttachPolicy",
        &format!(r#"{{"PolicyId":"{}","TargetId":"{target}"}}"#, scps[4]),
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        (
            "ConstraintViolationException",
            "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"
        )
    );
    let e = err_info(orgs.delete_policy().policy_id(&scps[0]).send().await);
    assert_eq!(e.code, "PolicyInUseException", "{e:?}");
    let targets = ok(
        "ListTargetsForPolicy",
        orgs.list_targets_for_policy()
            .policy_id(&scps[0])
            .send()
            .await,
    );
    assert_eq!(targets.targets().len(), 1);
    assert_eq!(targets.targets()[0].name(), Some("Level3"));
    for id in &scps[..4] {
        detach(&orgs, id, target).await;
    }
    let (code, reason) = raw_reason(
        &f.server,
        "DetachPolicy",
        &format!(r#"{{"PolicyId":"p-FullAWSAccess","TargetId":"{target}"}}"#),
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        (
            "ConstraintViolationException",
            "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"
        )
    );
    let e = err_info(
        orgs.detach_policy()
            .policy_id(&scps[0])
            .target_id(target)
            .send()
            .await,
    );
    assert_eq!(e.code, "PolicyNotAttachedException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_aws_access_is_immutable_and_deleted_policies_leave_the_list() {
    let (f, _org, orgs) = scp_org("orgs-scp-delete").await;
    let mut scps = Vec::new();
    for i in 0..5 {
        scps.push(create_scp(&orgs, &format!("deny{i}"), &deny(&format!("s3:Get{i}*"))).await);
    }
    let (code, reason) = raw_reason(
        &f.server,
        "DeletePolicy",
        r#"{"PolicyId":"p-FullAWSAccess"}"#,
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("InvalidInputException", "IMMUTABLE_POLICY")
    );
    ok(
        "DeletePolicy",
        orgs.delete_policy().policy_id(&scps[4]).send().await,
    );
    let listed = ok(
        "ListPolicies",
        orgs.list_policies()
            .filter(PolicyType::ServiceControlPolicy)
            .send()
            .await,
    );
    let listed: Vec<&str> = listed.policies().iter().map(|p| p.id().unwrap()).collect();
    assert!(listed.contains(&"p-FullAWSAccess"));
    assert_eq!(listed.len(), 5, "{listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ous_and_policies_take_tags_up_to_the_limit() {
    let (f, org, orgs) = scp_org("orgs-tags").await;
    let ou1 = create_ou(&orgs, &org.root_id, "Level1", &[tag("level", "1")]).await;
    let scp = create_scp(&orgs, "deny0", &deny("s3:Get0*")).await;
    let tags = ok(
        "ListTagsForResource",
        orgs.list_tags_for_resource().resource_id(&ou1).send().await,
    );
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].value(), "1");
    let many = (0..50)
        .map(|i| format!(r#"{{"Key":"k{i}","Value":"v"}}"#))
        .collect::<Vec<_>>()
        .join(",");
    let (code, reason) = raw_reason(
        &f.server,
        "TagResource",
        &format!(r#"{{"ResourceId":"{ou1}","Tags":[{many}]}}"#),
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("ConstraintViolationException", "MAX_TAG_LIMIT_EXCEEDED")
    );
    ok(
        "TagResource",
        orgs.tag_resource()
            .resource_id(&scp)
            .tags(tag("team", "sec"))
            .send()
            .await,
    );
    ok(
        "UntagResource",
        orgs.untag_resource()
            .resource_id(&ou1)
            .tag_keys("level")
            .send()
            .await,
    );
    assert!(
        ok(
            "ListTagsForResource",
            orgs.list_tags_for_resource().resource_id(&ou1).send().await
        )
        .tags()
        .is_empty()
    );
    let e = err_info(
        orgs.tag_resource()
            .resource_id("ou-zzzz-zzzzzzzz")
            .tags(tag("a", "b"))
            .send()
            .await,
    );
    assert_eq!(e.code, "TargetNotFoundException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_scp_on_an_ou_denies_its_member_and_not_the_management_account() {
    let (f, org, orgs) = scp_org("orgs-scp-enforce").await;
    let server = &f.server;
    let (member, ou1) = member_in_ou(&f, &org).await;
    let guard = create_scp(
        &orgs,
        "guard",
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Deny","Action":["iam:CreateUser","organizations:DescribeOrganization","organizations:CreateOrganizationalUnit"],"Resource":"*"}]}"#,
    )
    .await;
    attach(&orgs, &guard, &ou1).await;
    let guard_arn = ok(
        "DescribePolicy guard",
        orgs.describe_policy().policy_id(&guard).send().await,
    )
    .policy()
    .unwrap()
    .policy_summary()
    .unwrap()
    .arn()
    .unwrap()
    .to_owned();

    let (_admin, member_who) = admin_and_member_session(server, &member).await;
    let e = err_info(
        server
            .iam_as(&member_who)
            .create_user()
            .user_name("blocked")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    assert!(
        e.message.ends_with(&format!(
            "with an explicit deny in a service control policy: {guard_arn}"
        )),
        "{e:?}"
    );
    let e = err_info(
        server
            .orgs_as(&member_who)
            .describe_organization()
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    assert!(
        e.message
            .contains("with an explicit deny in a service control policy"),
        "{e:?}"
    );
    // The SCP decides before Organizations' own management-account check: a member
    // account's administrator is refused CreateOrganizationalUnit by it, the management
    // account is not.
    let e = err_info(
        server
            .orgs_as(&member_who)
            .create_organizational_unit()
            .parent_id(&org.root_id)
            .name("from-member")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    assert!(
        e.message.contains("organizations:CreateOrganizationalUnit")
            && e.message.ends_with(&format!(
                "with an explicit deny in a service control policy: {guard_arn}"
            )),
        "{e:?}"
    );
    ok(
        "CreateOrganizationalUnit as the management account",
        orgs.create_organizational_unit()
            .parent_id(&org.root_id)
            .name("from-management")
            .send()
            .await,
    );
    // The management account is not affected by SCPs.
    ok(
        "CreateUser as the management account",
        server
            .iam()
            .create_user()
            .user_name("mgmt-user")
            .send()
            .await,
    );
    ok(
        "DescribeOrganization as the management account",
        orgs.describe_organization().send().await,
    );
    // Detaching the guard lifts the deny at once.
    detach(&orgs, &guard, &ou1).await;
    ok(
        "CreateUser in the member after the detach",
        server
            .iam_as(&member_who)
            .create_user()
            .user_name("allowed")
            .send()
            .await,
    );
}

/// RCPs guard the member account's roles (STS is in RCP scope): a deny on `sts:AssumeRole`
/// in an RCP on the member's OU stops even the management account's administrator, whom the
/// role's trust policy allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rcp_on_an_ou_denies_assuming_its_members_roles() {
    let (f, org, orgs) = scp_org("orgs-rcp-enforce").await;
    let server = &f.server;
    let (member, ou1) = member_in_ou(&f, &org).await;
    let admin = user_with_key(server, "admin", ALLOW_ALL).await;
    enable(&orgs, &org.root_id, PolicyType::ResourceControlPolicy).await;
    let fence = create_policy(
        &orgs,
        PolicyType::ResourceControlPolicy,
        "fence",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole","Resource":"*","Condition":{"StringNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/breakglass"}}}]}"#,
    )
    .await;
    attach(&orgs, fence.id().unwrap(), &ou1).await;
    let member_role = format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole");
    let e = err_info(
        server
            .sts_as(&admin)
            .assume_role()
            .role_arn(&member_role)
            .role_session_name("fenced")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    assert!(
        e.message.ends_with(&format!(
            "with an explicit deny in a resource control policy: {}",
            fence.arn().unwrap()
        )),
        "{e:?}"
    );
    detach(&orgs, fence.id().unwrap(), &ou1).await;
    ok(
        "AssumeRole after the RCP is detached",
        server
            .sts_as(&admin)
            .assume_role()
            .role_arn(&member_role)
            .role_session_name("open")
            .send()
            .await,
    );
    ok(
        "DisablePolicyType RCP",
        orgs.disable_policy_type()
            .root_id(&org.root_id)
            .policy_type(PolicyType::ResourceControlPolicy)
            .send()
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_effective_tag_policy_merges_root_and_ou() {
    let (f, org, orgs) = scp_org("orgs-effective").await;
    let server = &f.server;
    let (member, ou1) = member_in_ou(&f, &org).await;
    let (_admin, member_who) = admin_and_member_session(server, &member).await;
    enable(&orgs, &org.root_id, PolicyType::TagPolicy).await;
    let e = err_info(
        orgs.describe_effective_policy()
            .policy_type(EffectivePolicyType::TagPolicy)
            .target_id(&member)
            .send()
            .await,
    );
    assert_eq!(e.code, "EffectivePolicyNotFoundException", "{e:?}");
    for (name, target, content) in [
        (
            "root-tags",
            org.root_id.as_str(),
            r#"{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"},"tag_value":{"@@assign":["100","200"]}}}}"#,
        ),
        (
            "ou-tags",
            ou1.as_str(),
            r#"{"tags":{"costcenter":{"tag_value":{"@@append":["300"]}}}}"#,
        ),
    ] {
        let policy = create_policy(&orgs, PolicyType::TagPolicy, name, content).await;
        attach(&orgs, policy.id().unwrap(), target).await;
    }
    let eff = ok(
        "DescribeEffectivePolicy",
        orgs.describe_effective_policy()
            .policy_type(EffectivePolicyType::TagPolicy)
            .target_id(&member)
            .send()
            .await,
    );
    let content: serde_json::Value =
        serde_json::from_str(eff.effective_policy().unwrap().policy_content().unwrap()).unwrap();
    assert_eq!(
        content,
        serde_json::json!({"tags":{"costcenter":{"tag_key":"CostCenter","tag_value":["100","200","300"]}}})
    );
    // A member asks about its own account without TargetId.
    let own = ok(
        "DescribeEffectivePolicy as the member",
        server
            .orgs_as(&member_who)
            .describe_effective_policy()
            .policy_type(EffectivePolicyType::TagPolicy)
            .send()
            .await,
    );
    assert_eq!(
        own.effective_policy().unwrap().target_id(),
        Some(member.as_str())
    );
    let (code, reason) = raw_reason(
        server,
        "DescribeEffectivePolicy",
        &format!(r#"{{"PolicyType":"TAG_POLICY","TargetId":"{ou1}"}}"#),
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("InvalidInputException", "TARGET_NOT_SUPPORTED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_scps_detaches_every_scp() {
    let (f, org, orgs) = scp_org("orgs-scp-disable").await;
    let (member, ou1) = member_in_ou(&f, &org).await;
    let guard = create_scp(&orgs, "guard", &deny("iam:CreateUser")).await;
    attach(&orgs, &guard, &ou1).await;
    enable(&orgs, &org.root_id, PolicyType::TagPolicy).await;
    ok(
        "DisablePolicyType",
        orgs.disable_policy_type()
            .root_id(&org.root_id)
            .policy_type(PolicyType::ServiceControlPolicy)
            .send()
            .await,
    );
    assert!(scp_ids_for(&orgs, &org.root_id).await.is_empty());
    assert!(scp_ids_for(&orgs, &member).await.is_empty());
    assert!(scp_ids_for(&orgs, &ou1).await.is_empty());
    let roots = ok("ListRoots", orgs.list_roots().send().await);
    let enabled: Vec<&PolicyType> = roots.roots()[0]
        .policy_types()
        .iter()
        .filter_map(|t| t.r#type())
        .collect();
    assert_eq!(enabled, vec![&PolicyType::TagPolicy]);
}
