//! Organizations OUs, policies, policy types, tags and effective policies with the SDK, and
//! SCP enforcement end to end: a member account created by `CreateAccount`, moved under an
//! OU with a denying SCP, refused through its `OrganizationAccountAccessRole` with AWS's
//! "explicit deny in a service control policy: <arn>" text, while the management account is
//! unaffected.

use crate::common::{Server, TempDir, err_info, ok, raw_reason};
use crate::fixture::{ALLOW_ALL, await_member, member_role, start_member, user_with_key};
use aws_sdk_organizations::types::{
    ChildType, EffectivePolicyType, OrganizationFeatureSet, ParentType, PolicyType, Tag,
};

const MGMT: &str = "111100002222";

fn deny(action: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"{action}","Resource":"*"}}]}}"#
    )
}

async fn create_scp(orgs: &aws_sdk_organizations::Client, name: &str, content: &str) -> String {
    let out = ok(
        "CreatePolicy",
        orgs.create_policy()
            .name(name)
            .description(format!("{name} policy"))
            .r#type(PolicyType::ServiceControlPolicy)
            .content(content)
            .send()
            .await,
    );
    out.policy()
        .and_then(|p| p.policy_summary())
        .and_then(|s| s.id())
        .unwrap()
        .to_owned()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ous_policies_tags_and_scp_enforcement() {
    let dir = TempDir::new("orgs-policies");
    let server = Server::start(&dir, &["--account-id", MGMT]);
    let orgs = server.orgs();
    ok(
        "CreateOrganization",
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await,
    );
    let root_id = ok("ListRoots", orgs.list_roots().send().await).roots()[0]
        .id()
        .unwrap()
        .to_owned();

    // ---- policy types
    let e = err_info(
        orgs.attach_policy()
            .policy_id("p-FullAWSAccess")
            .target_id(&root_id)
            .send()
            .await,
    );
    assert_eq!(e.code, "PolicyTypeNotEnabledException", "{e:?}");
    let out = ok(
        "EnablePolicyType",
        orgs.enable_policy_type()
            .root_id(&root_id)
            .policy_type(PolicyType::ServiceControlPolicy)
            .send()
            .await,
    );
    let types = out.root().unwrap().policy_types();
    assert_eq!(types.len(), 1);
    assert_eq!(types[0].r#type(), Some(&PolicyType::ServiceControlPolicy));
    let e = err_info(
        orgs.enable_policy_type()
            .root_id(&root_id)
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
    assert_eq!(scp_ids_for(&orgs, &root_id).await, vec!["p-FullAWSAccess"]);
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

    // ---- OUs: five levels below the root, the sixth fails
    let mut parent = root_id.clone();
    let mut chain = Vec::new();
    for level in 1..=5 {
        let out = ok(
            "CreateOrganizationalUnit",
            orgs.create_organizational_unit()
                .parent_id(&parent)
                .name(format!("Level{level}"))
                .tags(
                    Tag::builder()
                        .key("level")
                        .value(level.to_string())
                        .build()
                        .unwrap(),
                )
                .send()
                .await,
        );
        let ou = out.organizational_unit().unwrap();
        let id = ou.id().unwrap().to_owned();
        assert!(id.starts_with(&format!("ou-{}-", root_id.trim_start_matches("r-"))));
        assert!(ou.path().unwrap().ends_with(&format!("/{id}/")), "{ou:?}");
        chain.push(id.clone());
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
        &server,
        "CreateOrganizationalUnit",
        &format!(r#"{{"ParentId":"{parent}","Name":"Level6"}}"#),
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("ConstraintViolationException", "OU_DEPTH_LIMIT_EXCEEDED")
    );
    let ou1 = chain[0].clone();
    // New OUs start under FullAWSAccess.
    assert_eq!(scp_ids_for(&orgs, &ou1).await, vec!["p-FullAWSAccess"]);
    // Names are unique among siblings only.
    let e = err_info(
        orgs.create_organizational_unit()
            .parent_id(&root_id)
            .name("Level1")
            .send()
            .await,
    );
    assert_eq!(e.code, "DuplicateOrganizationalUnitException", "{e:?}");
    let side = ok(
        "CreateOrganizationalUnit",
        orgs.create_organizational_unit()
            .parent_id(&ou1)
            .name("Level1")
            .send()
            .await,
    );
    let side_id = side.organizational_unit().unwrap().id().unwrap().to_owned();
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
    let mut want = vec![chain[1].as_str(), side_id.as_str()];
    want.sort_unstable();
    assert_eq!(kid_ids, want);
    // Pagination across ListOrganizationalUnitsForParent.
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
        orgs.list_parents().child_id(&chain[1]).send().await,
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

    // ---- policies: the attach limit of 5 and the detach floor of 1
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
    let mut scps = Vec::new();
    for i in 0..5 {
        scps.push(create_scp(&orgs, &format!("deny{i}"), &deny(&format!("s3:Get{i}*"))).await);
    }
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
    let target = &chain[2];
    for id in &scps[..4] {
        ok(
            "AttachPolicy",
            orgs.attach_policy()
                .policy_id(id)
                .target_id(target)
                .send()
                .await,
        );
    }
    let e = err_info(
        orgs.attach_policy()
            .policy_id(&scps[0])
            .target_id(target)
            .send()
            .await,
    );
    assert_eq!(e.code, "DuplicatePolicyAttachmentException", "{e:?}");
    let (code, reason) = raw_reason(
        &server,
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
        ok(
            "DetachPolicy",
            orgs.detach_policy()
                .policy_id(id)
                .target_id(target)
                .send()
                .await,
        );
    }
    let (code, reason) = raw_reason(
        &server,
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
    let (code, reason) = raw_reason(&server, "DeletePolicy", r#"{"PolicyId":"p-FullAWSAccess"}"#);
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

    // ---- tags
    let tags = ok(
        "ListTagsForResource",
        orgs.list_tags_for_resource().resource_id(&ou1).send().await,
    );
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].value(), "1");
    let many: Vec<Tag> = (0..50)
        .map(|i| {
            Tag::builder()
                .key(format!("k{i}"))
                .value("v")
                .build()
                .unwrap()
        })
        .collect();
    let (code, reason) = raw_reason(
        &server,
        "TagResource",
        &format!(
            r#"{{"ResourceId":"{ou1}","Tags":[{}]}}"#,
            many.iter()
                .map(|t| format!(r#"{{"Key":"{}","Value":"v"}}"#, t.key()))
                .collect::<Vec<_>>()
                .join(",")
        ),
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("ConstraintViolationException", "MAX_TAG_LIMIT_EXCEEDED")
    );
    ok(
        "TagResource",
        orgs.tag_resource()
            .resource_id(&scps[0])
            .tags(Tag::builder().key("team").value("sec").build().unwrap())
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
            .tags(Tag::builder().key("a").value("b").build().unwrap())
            .send()
            .await,
    );
    assert_eq!(e.code, "TargetNotFoundException", "{e:?}");

    // ---- a member account under an OU with a denying SCP
    let car_id = start_member(&orgs, "member", "member@example.com").await;
    let member = await_member(&orgs, &car_id).await;
    assert_eq!(scp_ids_for(&orgs, &member).await, vec!["p-FullAWSAccess"]);
    ok(
        "MoveAccount",
        orgs.move_account()
            .account_id(&member)
            .source_parent_id(&root_id)
            .destination_parent_id(&ou1)
            .send()
            .await,
    );
    let guard = create_scp(
        &orgs,
        "guard",
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Deny","Action":["iam:CreateUser","organizations:DescribeOrganization","organizations:CreateOrganizationalUnit"],"Resource":"*"}]}"#,
    )
    .await;
    ok(
        "AttachPolicy guard",
        orgs.attach_policy()
            .policy_id(&guard)
            .target_id(&ou1)
            .send()
            .await,
    );
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

    // Root users may not assume roles: an administrator of the management account does.
    let admin = user_with_key(&server, "admin", ALLOW_ALL).await;
    let member_who = member_role(&server, &admin, &member).await;
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
    // The issue's case: an SCP denying organizations:CreateOrganizationalUnit stops the
    // member account's administrator (the SCP decides before Organizations' own
    // management-account check) and not the management account.
    let e = err_info(
        server
            .orgs_as(&member_who)
            .create_organizational_unit()
            .parent_id(&root_id)
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
            .parent_id(&root_id)
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
    ok(
        "DetachPolicy guard",
        orgs.detach_policy()
            .policy_id(&guard)
            .target_id(&ou1)
            .send()
            .await,
    );
    ok(
        "CreateUser in the member after the detach",
        server
            .iam_as(&member_who)
            .create_user()
            .user_name("allowed")
            .send()
            .await,
    );

    // ---- RCPs guard the member account's roles (STS is in RCP scope): a deny on
    // sts:AssumeRole in an RCP on the member's OU stops even the management account's
    // administrator, whom the role's trust policy allows.
    ok(
        "EnablePolicyType RCP",
        orgs.enable_policy_type()
            .root_id(&root_id)
            .policy_type(PolicyType::ResourceControlPolicy)
            .send()
            .await,
    );
    let fence = ok(
        "CreatePolicy RCP",
        orgs.create_policy()
            .name("fence")
            .description("no role assumption")
            .r#type(PolicyType::ResourceControlPolicy)
            .content(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole","Resource":"*","Condition":{"StringNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/breakglass"}}}]}"#,
            )
            .send()
            .await,
    )
    .policy()
    .unwrap()
    .policy_summary()
    .unwrap()
    .clone();
    ok(
        "AttachPolicy RCP",
        orgs.attach_policy()
            .policy_id(fence.id().unwrap())
            .target_id(&ou1)
            .send()
            .await,
    );
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
    ok(
        "DetachPolicy RCP",
        orgs.detach_policy()
            .policy_id(fence.id().unwrap())
            .target_id(&ou1)
            .send()
            .await,
    );
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
            .root_id(&root_id)
            .policy_type(PolicyType::ResourceControlPolicy)
            .send()
            .await,
    );

    // ---- effective tag policy: root and OU merged for the member account
    ok(
        "EnablePolicyType TAG_POLICY",
        orgs.enable_policy_type()
            .root_id(&root_id)
            .policy_type(PolicyType::TagPolicy)
            .send()
            .await,
    );
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
            root_id.as_str(),
            r#"{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"},"tag_value":{"@@assign":["100","200"]}}}}"#,
        ),
        (
            "ou-tags",
            ou1.as_str(),
            r#"{"tags":{"costcenter":{"tag_value":{"@@append":["300"]}}}}"#,
        ),
    ] {
        let id = ok(
            "CreatePolicy tag",
            orgs.create_policy()
                .name(name)
                .description("")
                .r#type(PolicyType::TagPolicy)
                .content(content)
                .send()
                .await,
        )
        .policy()
        .unwrap()
        .policy_summary()
        .unwrap()
        .id()
        .unwrap()
        .to_owned();
        ok(
            "AttachPolicy tag",
            orgs.attach_policy()
                .policy_id(&id)
                .target_id(target)
                .send()
                .await,
        );
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
        &server,
        "DescribeEffectivePolicy",
        &format!(r#"{{"PolicyType":"TAG_POLICY","TargetId":"{ou1}"}}"#),
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("InvalidInputException", "TARGET_NOT_SUPPORTED")
    );

    // ---- disabling SCPs detaches every SCP
    ok(
        "DisablePolicyType",
        orgs.disable_policy_type()
            .root_id(&root_id)
            .policy_type(PolicyType::ServiceControlPolicy)
            .send()
            .await,
    );
    assert!(scp_ids_for(&orgs, &root_id).await.is_empty());
    assert!(scp_ids_for(&orgs, &member).await.is_empty());
    let roots = ok("ListRoots", orgs.list_roots().send().await);
    let enabled: Vec<&PolicyType> = roots.roots()[0]
        .policy_types()
        .iter()
        .filter_map(|t| t.r#type())
        .collect();
    assert_eq!(enabled, vec![&PolicyType::TagPolicy]);
}
