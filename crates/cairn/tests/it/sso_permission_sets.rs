//! IAM Identity Center permission sets, account assignments and provisioning through the
//! Rust SDK: the sets and their policies, assignments that become `AWSReservedSSO_…` roles
//! in member accounts (protected from the account's own IAM), the asynchronous status APIs,
//! re-provisioning, removal, and what a delegated administrator may not do.

use crate::common::{Server, Who, err_info, ok, signup};
use crate::fixture::{Fixture, join};
use crate::iam::url_decode;
use crate::sso_instances::enable_sso;
use aws_sdk_organizations::types::PolicyType;
use aws_sdk_ssoadmin::Client;
use aws_sdk_ssoadmin::types::{
    CustomerManagedPolicyReference, OperationStatusFilter, PermissionsBoundary, PrincipalType,
    ProvisionTargetType, ProvisioningStatus, StatusValues, TargetType,
};
use std::time::{Duration, Instant};

const MGMT: &str = "111111111111";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const VIEW_ONLY: &str = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess";
const INLINE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#;

/// An organization with Identity Center enabled and two member accounts that joined it.
struct Setup {
    f: Fixture,
    inst: String,
    store: String,
    admin: Client,
    m1: String,
    m1_who: Who,
    m2: String,
    m2_who: Who,
}

async fn setup(tag: &str) -> Setup {
    let (f, _org) = Fixture::with_org(tag, MGMT).await;
    let (m1, m1_who) = signup(&f.dir, "ps-member1@example.com", "Member One");
    let (m2, m2_who) = signup(&f.dir, "ps-member2@example.com", "Member Two");
    join(&f.server, &m1, &m1_who).await;
    join(&f.server, &m2, &m2_who).await;
    let (inst, store) = enable_sso(&f.server).await;
    let admin = f.server.sso_admin_as(&f.server.root());
    Setup {
        f,
        inst,
        store,
        admin,
        m1,
        m1_who,
        m2,
        m2_who,
    }
}

async fn create_ps(admin: &Client, inst: &str, name: &str) -> String {
    let out = ok(
        "CreatePermissionSet",
        admin
            .create_permission_set()
            .instance_arn(inst)
            .name(name)
            .description(format!("{name} access"))
            .session_duration("PT4H")
            .send()
            .await,
    );
    out.permission_set()
        .unwrap()
        .permission_set_arn()
        .unwrap()
        .to_owned()
}

async fn create_group(server: &Server, store: &str, name: &str) -> String {
    let ids = server.identitystore_as(&server.root());
    ok(
        "CreateGroup",
        ids.create_group()
            .identity_store_id(store)
            .display_name(name)
            .send()
            .await,
    )
    .group_id()
    .to_owned()
}

async fn create_user(server: &Server, store: &str, name: &str) -> String {
    let ids = server.identitystore_as(&server.root());
    ok(
        "CreateUser",
        ids.create_user()
            .identity_store_id(store)
            .user_name(name)
            .display_name(name)
            .name(
                aws_sdk_identitystore::types::Name::builder()
                    .given_name(name)
                    .family_name("Tester")
                    .build(),
            )
            .send()
            .await,
    )
    .user_id()
    .to_owned()
}

#[derive(Clone, Copy)]
enum Req {
    Creation,
    Deletion,
    Provision,
}

/// Polls a request to its end and answers (status, failure reason).
async fn await_request(admin: &Client, inst: &str, kind: Req, id: &str) -> (StatusValues, String) {
    let start = Instant::now();
    loop {
        let (status, reason) = match kind {
            Req::Creation => {
                let s = ok(
                    "DescribeAccountAssignmentCreationStatus",
                    admin
                        .describe_account_assignment_creation_status()
                        .instance_arn(inst)
                        .account_assignment_creation_request_id(id)
                        .send()
                        .await,
                );
                let s = s.account_assignment_creation_status().unwrap().clone();
                (s.status().cloned(), s.failure_reason().map(str::to_owned))
            }
            Req::Deletion => {
                let s = ok(
                    "DescribeAccountAssignmentDeletionStatus",
                    admin
                        .describe_account_assignment_deletion_status()
                        .instance_arn(inst)
                        .account_assignment_deletion_request_id(id)
                        .send()
                        .await,
                );
                let s = s.account_assignment_deletion_status().unwrap().clone();
                (s.status().cloned(), s.failure_reason().map(str::to_owned))
            }
            Req::Provision => {
                let s = ok(
                    "DescribePermissionSetProvisioningStatus",
                    admin
                        .describe_permission_set_provisioning_status()
                        .instance_arn(inst)
                        .provision_permission_set_request_id(id)
                        .send()
                        .await,
                );
                let s = s.permission_set_provisioning_status().unwrap().clone();
                (s.status().cloned(), s.failure_reason().map(str::to_owned))
            }
        };
        match status {
            Some(StatusValues::InProgress) => {}
            Some(s) => return (s, reason.unwrap_or_default()),
            None => panic!("a request without a status"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "request {id} never ended"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn assign(
    admin: &Client,
    inst: &str,
    ps: &str,
    account: &str,
    ptype: PrincipalType,
    pid: &str,
) -> (StatusValues, String) {
    let out = ok(
        "CreateAccountAssignment",
        admin
            .create_account_assignment()
            .instance_arn(inst)
            .permission_set_arn(ps)
            .target_id(account)
            .target_type(TargetType::AwsAccount)
            .principal_type(ptype)
            .principal_id(pid)
            .send()
            .await,
    );
    let st = out.account_assignment_creation_status().unwrap();
    assert_eq!(st.status(), Some(&StatusValues::InProgress));
    assert_eq!(st.target_id(), Some(account));
    assert_eq!(st.permission_set_arn(), Some(ps));
    let id = st.request_id().unwrap().to_owned();
    assert_eq!(id.len(), 36, "{id}");
    await_request(admin, inst, Req::Creation, &id).await
}

async fn unassign(
    admin: &Client,
    inst: &str,
    ps: &str,
    account: &str,
    ptype: PrincipalType,
    pid: &str,
) -> (StatusValues, String) {
    let out = ok(
        "DeleteAccountAssignment",
        admin
            .delete_account_assignment()
            .instance_arn(inst)
            .permission_set_arn(ps)
            .target_id(account)
            .target_type(TargetType::AwsAccount)
            .principal_type(ptype)
            .principal_id(pid)
            .send()
            .await,
    );
    let id = out
        .account_assignment_deletion_status()
        .unwrap()
        .request_id()
        .unwrap()
        .to_owned();
    await_request(admin, inst, Req::Deletion, &id).await
}

async fn provision(
    admin: &Client,
    inst: &str,
    ps: &str,
    target: Option<&str>,
) -> (StatusValues, String) {
    let req = admin
        .provision_permission_set()
        .instance_arn(inst)
        .permission_set_arn(ps);
    let req = match target {
        Some(a) => req
            .target_type(ProvisionTargetType::AwsAccount)
            .target_id(a),
        None => req.target_type(ProvisionTargetType::AllProvisionedAccounts),
    };
    let out = ok("ProvisionPermissionSet", req.send().await);
    let id = out
        .permission_set_provisioning_status()
        .unwrap()
        .request_id()
        .unwrap()
        .to_owned();
    await_request(admin, inst, Req::Provision, &id).await
}

/// The `AWSReservedSSO_<name>_…` roles of an account, through its own IAM.
async fn reserved_roles(server: &Server, who: &Who, name: &str) -> Vec<aws_sdk_iam::types::Role> {
    let iam = server.iam_as(who);
    let roles = ok(
        "ListRoles",
        iam.list_roles()
            .path_prefix("/aws-reserved/sso.amazonaws.com/")
            .send()
            .await,
    );
    roles
        .roles()
        .iter()
        .filter(|r| {
            r.role_name()
                .starts_with(&format!("AWSReservedSSO_{name}_"))
        })
        .cloned()
        .collect()
}

async fn attached(server: &Server, who: &Who, role: &str) -> Vec<String> {
    let out = ok(
        "ListAttachedRolePolicies",
        server
            .iam_as(who)
            .list_attached_role_policies()
            .role_name(role)
            .send()
            .await,
    );
    out.attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn permission_sets_and_their_policies() {
    let s = setup("sso-ps-crud").await;
    let (admin, inst) = (&s.admin, s.inst.as_str());
    let ps = create_ps(admin, inst, "ReadOnly").await;
    let prefix = format!(
        "arn:aws:sso:::permissionSet/{}/ps-",
        inst.rsplit('/').next().unwrap()
    );
    assert!(ps.starts_with(&prefix), "{ps}");
    assert_eq!(ps.len(), prefix.len() + 16, "{ps}");

    // Names are unique in the instance.
    let e = err_info(
        admin
            .create_permission_set()
            .instance_arn(inst)
            .name("ReadOnly")
            .send()
            .await,
    );
    assert_eq!(e.code, "ConflictException");
    assert_eq!(
        e.message,
        "PermissionSet with name ReadOnly already exists."
    );
    // Session duration: 1 to 12 hours.
    for bad in ["PT13H", "PT30M", "one hour"] {
        let e = err_info(
            admin
                .create_permission_set()
                .instance_arn(inst)
                .name("Bad")
                .session_duration(bad)
                .send()
                .await,
        );
        assert_eq!(e.code, "ValidationException", "{bad}");
    }

    let d = ok(
        "DescribePermissionSet",
        admin
            .describe_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .send()
            .await,
    );
    let d = d.permission_set().unwrap();
    assert_eq!(d.name(), Some("ReadOnly"));
    assert_eq!(d.session_duration(), Some("PT4H"));
    assert_eq!(d.description(), Some("ReadOnly access"));
    assert!(d.created_date().is_some());

    ok(
        "UpdatePermissionSet",
        admin
            .update_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .session_duration("PT8H")
            .relay_state("https://console.aws.amazon.com/s3")
            .send()
            .await,
    );
    let d = ok(
        "DescribePermissionSet",
        admin
            .describe_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .send()
            .await,
    );
    assert_eq!(d.permission_set().unwrap().session_duration(), Some("PT8H"));

    // Unknown sets.
    let missing = format!("{prefix}0123456789abcdef");
    let e = err_info(
        admin
            .describe_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&missing)
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");

    // Pagination over several sets.
    for n in 0..4 {
        create_ps(admin, inst, &format!("Extra{n}")).await;
    }
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = ok(
            "ListPermissionSets",
            admin
                .list_permission_sets()
                .instance_arn(inst)
                .max_results(2)
                .set_next_token(token)
                .send()
                .await,
        );
        assert!(page.permission_sets().len() <= 2);
        all.extend(page.permission_sets().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(all.len(), 5);
    assert!(all.contains(&ps));

    // Inline policy.
    let got = ok(
        "GetInlinePolicyForPermissionSet",
        admin
            .get_inline_policy_for_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .send()
            .await,
    );
    assert_eq!(got.inline_policy(), Some(""));
    ok(
        "PutInlinePolicyToPermissionSet",
        admin
            .put_inline_policy_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .inline_policy(INLINE)
            .send()
            .await,
    );
    let got = ok(
        "GetInlinePolicyForPermissionSet",
        admin
            .get_inline_policy_for_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .send()
            .await,
    );
    assert_eq!(got.inline_policy(), Some(INLINE));
    let e = err_info(
        admin
            .put_inline_policy_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .inline_policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}"#)
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationException");

    // AWS-managed policies: attach, the errors AWS answers, list, detach.
    ok(
        "AttachManagedPolicyToPermissionSet",
        admin
            .attach_managed_policy_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .managed_policy_arn(READ_ONLY)
            .send()
            .await,
    );
    let e = err_info(
        admin
            .attach_managed_policy_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .managed_policy_arn(READ_ONLY)
            .send()
            .await,
    );
    assert_eq!(e.code, "ConflictException");
    let ps_id = ps.rsplit('/').next().unwrap();
    assert_eq!(
        e.message,
        format!(
            "Permission set with id {ps_id} already has a typed link attachment to a manged policy with {READ_ONLY}"
        )
    );
    let e = err_info(
        admin
            .attach_managed_policy_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .managed_policy_arn("arn:aws:iam::aws:policy/non-existent-policy")
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");
    assert_eq!(
        e.message,
        "Policy does not exist with ARN: arn:aws:iam::aws:policy/non-existent-policy"
    );
    // A customer-managed ARN does not match the model's pattern.
    let e = err_info(
        admin
            .attach_managed_policy_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .managed_policy_arn("arn:aws:iam::123456789012:policy/Mine")
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationException");
    ok(
        "AttachManagedPolicyToPermissionSet",
        admin
            .attach_managed_policy_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .managed_policy_arn(VIEW_ONLY)
            .send()
            .await,
    );
    let listed = ok(
        "ListManagedPoliciesInPermissionSet",
        admin
            .list_managed_policies_in_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .send()
            .await,
    );
    let names: Vec<_> = listed
        .attached_managed_policies()
        .iter()
        .map(|p| (p.name().unwrap(), p.arn().unwrap()))
        .collect();
    assert_eq!(
        names,
        vec![("ReadOnlyAccess", READ_ONLY), ("ViewOnlyAccess", VIEW_ONLY)]
    );
    ok(
        "DetachManagedPolicyFromPermissionSet",
        admin
            .detach_managed_policy_from_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .managed_policy_arn(VIEW_ONLY)
            .send()
            .await,
    );
    let e = err_info(
        admin
            .detach_managed_policy_from_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .managed_policy_arn(VIEW_ONLY)
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");

    // Customer-managed references.
    let cmp = CustomerManagedPolicyReference::builder()
        .name("TeamPolicy")
        .path("/teams/")
        .build()
        .unwrap();
    ok(
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        admin
            .attach_customer_managed_policy_reference_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .customer_managed_policy_reference(cmp.clone())
            .send()
            .await,
    );
    let e = err_info(
        admin
            .attach_customer_managed_policy_reference_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .customer_managed_policy_reference(cmp.clone())
            .send()
            .await,
    );
    assert_eq!(e.code, "ConflictException");
    let refs = ok(
        "ListCustomerManagedPolicyReferencesInPermissionSet",
        admin
            .list_customer_managed_policy_references_in_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .send()
            .await,
    );
    assert_eq!(
        refs.customer_managed_policy_references(),
        std::slice::from_ref(&cmp)
    );
    ok(
        "DetachCustomerManagedPolicyReferenceFromPermissionSet",
        admin
            .detach_customer_managed_policy_reference_from_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .customer_managed_policy_reference(cmp)
            .send()
            .await,
    );

    // Permissions boundary.
    let e = err_info(
        admin
            .get_permissions_boundary_for_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");
    ok(
        "PutPermissionsBoundaryToPermissionSet",
        admin
            .put_permissions_boundary_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .permissions_boundary(
                PermissionsBoundary::builder()
                    .managed_policy_arn(READ_ONLY)
                    .build(),
            )
            .send()
            .await,
    );
    let b = ok(
        "GetPermissionsBoundaryForPermissionSet",
        admin
            .get_permissions_boundary_for_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .send()
            .await,
    );
    assert_eq!(
        b.permissions_boundary().unwrap().managed_policy_arn(),
        Some(READ_ONLY)
    );
    let e = err_info(
        admin
            .put_permissions_boundary_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .permissions_boundary(PermissionsBoundary::builder().build())
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationException");
    ok(
        "DeletePermissionsBoundaryFromPermissionSet",
        admin
            .delete_permissions_boundary_from_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .send()
            .await,
    );

    // Tags on a permission set.
    ok(
        "TagResource",
        admin
            .tag_resource()
            .instance_arn(inst)
            .resource_arn(&ps)
            .tags(
                aws_sdk_ssoadmin::types::Tag::builder()
                    .key("team")
                    .value("platform")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    let tags = ok(
        "ListTagsForResource",
        admin
            .list_tags_for_resource()
            .instance_arn(inst)
            .resource_arn(&ps)
            .send()
            .await,
    );
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].key(), "team");

    // Delete.
    ok(
        "DeletePermissionSet",
        admin
            .delete_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .send()
            .await,
    );
    let e = err_info(
        admin
            .describe_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");
    // The name is free again.
    create_ps(admin, inst, "ReadOnly").await;
}

#[tokio::test]
async fn an_assignment_provisions_a_protected_role() {
    let s = setup("sso-ps-assign").await;
    let (admin, inst, server) = (&s.admin, s.inst.as_str(), &s.f.server);
    let ps = create_ps(admin, inst, "ReadOnly").await;
    ok(
        "AttachManagedPolicyToPermissionSet",
        admin
            .attach_managed_policy_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .managed_policy_arn(READ_ONLY)
            .send()
            .await,
    );
    ok(
        "PutInlinePolicyToPermissionSet",
        admin
            .put_inline_policy_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .inline_policy(INLINE)
            .send()
            .await,
    );
    let group = create_group(server, &s.store, "Auditors").await;
    for account in [&s.m1, &s.m2] {
        let (status, reason) =
            assign(admin, inst, &ps, account, PrincipalType::Group, &group).await;
        assert_eq!(status, StatusValues::Succeeded, "{reason}");
    }

    // The role in Member One, seen through its own IAM.
    let roles = reserved_roles(server, &s.m1_who, "ReadOnly").await;
    assert_eq!(roles.len(), 1, "{roles:?}");
    let role = roles[0].clone();
    let suffix = role
        .role_name()
        .strip_prefix("AWSReservedSSO_ReadOnly_")
        .unwrap();
    assert!(
        suffix.len() == 16 && suffix.chars().all(|c| c.is_ascii_hexdigit()),
        "{}",
        role.role_name()
    );
    assert_eq!(role.path(), "/aws-reserved/sso.amazonaws.com/");
    assert_eq!(
        role.arn(),
        format!(
            "arn:aws:iam::{}:role/aws-reserved/sso.amazonaws.com/{}",
            s.m1,
            role.role_name()
        )
    );
    let got = ok(
        "GetRole",
        server
            .iam_as(&s.m1_who)
            .get_role()
            .role_name(role.role_name())
            .send()
            .await,
    );
    let trust = url_decode(got.role().unwrap().assume_role_policy_document().unwrap());
    let trust: serde_json::Value = serde_json::from_str(&trust).unwrap();
    let stmt = &trust["Statement"][0];
    let provider = stmt["Principal"]["Federated"].as_str().unwrap();
    assert!(
        provider.starts_with(&format!("arn:aws:iam::{}:saml-provider/AWSSSO_", s.m1))
            && provider.ends_with("_DO_NOT_DELETE"),
        "{provider}"
    );
    assert_eq!(
        stmt["Action"],
        serde_json::json!(["sts:AssumeRoleWithSAML", "sts:TagSession"])
    );
    assert_eq!(
        stmt["Condition"]["StringEquals"]["SAML:aud"],
        "https://signin.aws.amazon.com/saml"
    );
    assert_eq!(got.role().unwrap().max_session_duration(), Some(43_200));
    assert_eq!(
        attached(server, &s.m1_who, role.role_name()).await,
        vec![READ_ONLY]
    );
    let inline = ok(
        "GetRolePolicy",
        server
            .iam_as(&s.m1_who)
            .get_role_policy()
            .role_name(role.role_name())
            .policy_name("AwsSSOInlinePolicy")
            .send()
            .await,
    );
    assert_eq!(url_decode(inline.policy_document()), INLINE);

    // The account's own administrator cannot change it.
    let iam = server.iam_as(&s.m1_who);
    let protected = format!(
        "Cannot perform the operation on the protected role '{}' - this role is only modifiable by AWS",
        role.role_name()
    );
    let e = err_info(iam.delete_role().role_name(role.role_name()).send().await);
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("UnmodifiableEntity", protected.as_str())
    );
    let e = err_info(
        iam.put_role_policy()
            .role_name(role.role_name())
            .policy_name("more")
            .policy_document(INLINE)
            .send()
            .await,
    );
    assert_eq!(e.code, "UnmodifiableEntity");
    let e = err_info(
        iam.detach_role_policy()
            .role_name(role.role_name())
            .policy_arn(READ_ONLY)
            .send()
            .await,
    );
    assert_eq!(e.code, "UnmodifiableEntity");

    // What the listings say.
    let listed = ok(
        "ListAccountAssignments",
        admin
            .list_account_assignments()
            .instance_arn(inst)
            .account_id(&s.m1)
            .permission_set_arn(&ps)
            .send()
            .await,
    );
    assert_eq!(listed.account_assignments().len(), 1);
    let a = &listed.account_assignments()[0];
    assert_eq!(a.principal_id(), Some(group.as_str()));
    assert_eq!(a.principal_type(), Some(&PrincipalType::Group));
    let for_principal = ok(
        "ListAccountAssignmentsForPrincipal",
        admin
            .list_account_assignments_for_principal()
            .instance_arn(inst)
            .principal_type(PrincipalType::Group)
            .principal_id(&group)
            .send()
            .await,
    );
    let mut accounts: Vec<_> = for_principal
        .account_assignments()
        .iter()
        .map(|a| a.account_id().unwrap().to_owned())
        .collect();
    accounts.sort();
    let mut both = vec![s.m1.clone(), s.m2.clone()];
    both.sort();
    assert_eq!(accounts, both);
    // One at a time: two pages.
    let first = ok(
        "ListAccountAssignmentsForPrincipal page 1",
        admin
            .list_account_assignments_for_principal()
            .instance_arn(inst)
            .principal_type(PrincipalType::Group)
            .principal_id(&group)
            .max_results(1)
            .send()
            .await,
    );
    assert_eq!(first.account_assignments().len(), 1);
    let second = ok(
        "ListAccountAssignmentsForPrincipal page 2",
        admin
            .list_account_assignments_for_principal()
            .instance_arn(inst)
            .principal_type(PrincipalType::Group)
            .principal_id(&group)
            .max_results(1)
            .next_token(first.next_token().expect("a second page"))
            .send()
            .await,
    );
    assert_eq!(second.account_assignments().len(), 1);
    assert_ne!(
        second.account_assignments()[0].account_id(),
        first.account_assignments()[0].account_id()
    );
    assert!(second.next_token().is_none());
    let provisioned = ok(
        "ListPermissionSetsProvisionedToAccount",
        admin
            .list_permission_sets_provisioned_to_account()
            .instance_arn(inst)
            .account_id(&s.m2)
            .send()
            .await,
    );
    assert_eq!(provisioned.permission_sets(), std::slice::from_ref(&ps));
    let created = ok(
        "ListAccountAssignmentCreationStatus",
        admin
            .list_account_assignment_creation_status()
            .instance_arn(inst)
            .filter(
                OperationStatusFilter::builder()
                    .status(StatusValues::Succeeded)
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(created.account_assignments_creation_status().len(), 2);

    // A change is not in the accounts until provisioned: OUTDATED, then re-provisioned.
    ok(
        "AttachManagedPolicyToPermissionSet",
        admin
            .attach_managed_policy_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .managed_policy_arn(VIEW_ONLY)
            .send()
            .await,
    );
    let stale = ok(
        "ListAccountsForProvisionedPermissionSet",
        admin
            .list_accounts_for_provisioned_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .provisioning_status(ProvisioningStatus::LatestPermissionSetNotProvisioned)
            .send()
            .await,
    );
    assert_eq!(stale.account_ids().len(), 2);
    assert_eq!(
        attached(server, &s.m1_who, role.role_name()).await,
        vec![READ_ONLY]
    );
    let (status, reason) = provision(admin, inst, &ps, None).await;
    assert_eq!(status, StatusValues::Succeeded, "{reason}");
    let mut now = attached(server, &s.m1_who, role.role_name()).await;
    now.sort();
    assert_eq!(now, vec![READ_ONLY, VIEW_ONLY]);
    let stale = ok(
        "ListAccountsForProvisionedPermissionSet",
        admin
            .list_accounts_for_provisioned_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .provisioning_status(ProvisioningStatus::LatestPermissionSetNotProvisioned)
            .send()
            .await,
    );
    assert!(stale.account_ids().is_empty());

    // A set in use cannot be deleted.
    let e = err_info(
        admin
            .delete_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .send()
            .await,
    );
    assert_eq!(e.code, "ConflictException");

    // Removing the last assignment in an account removes the role there.
    let (status, reason) = unassign(admin, inst, &ps, &s.m1, PrincipalType::Group, &group).await;
    assert_eq!(status, StatusValues::Succeeded, "{reason}");
    assert!(
        reserved_roles(server, &s.m1_who, "ReadOnly")
            .await
            .is_empty()
    );
    assert_eq!(reserved_roles(server, &s.m2_who, "ReadOnly").await.len(), 1);
    // Removing it again fails as AWS does.
    let (status, reason) = unassign(admin, inst, &ps, &s.m1, PrincipalType::Group, &group).await;
    assert_eq!(status, StatusValues::Failed);
    assert_eq!(reason, "Received a 404 status error: Assignment not found.");

    // The status listings, with their filters.
    let deletions = ok(
        "ListAccountAssignmentDeletionStatus",
        admin
            .list_account_assignment_deletion_status()
            .instance_arn(inst)
            .send()
            .await,
    );
    let mut seen: Vec<_> = deletions
        .account_assignments_deletion_status()
        .iter()
        .map(|m| m.status().cloned().unwrap())
        .collect();
    seen.sort_by_key(|s| s.as_str().to_owned());
    assert_eq!(seen, vec![StatusValues::Failed, StatusValues::Succeeded]);
    let failed = ok(
        "ListAccountAssignmentDeletionStatus FAILED",
        admin
            .list_account_assignment_deletion_status()
            .instance_arn(inst)
            .filter(
                OperationStatusFilter::builder()
                    .status(StatusValues::Failed)
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(failed.account_assignments_deletion_status().len(), 1);
    let provisions = ok(
        "ListPermissionSetProvisioningStatus",
        admin
            .list_permission_set_provisioning_status()
            .instance_arn(inst)
            .filter(
                OperationStatusFilter::builder()
                    .status(StatusValues::Succeeded)
                    .build(),
            )
            .send()
            .await,
    );
    let only = &provisions.permission_sets_provisioning_status();
    assert_eq!(only.len(), 1);
    let d = ok(
        "DescribePermissionSetProvisioningStatus",
        admin
            .describe_permission_set_provisioning_status()
            .instance_arn(inst)
            .provision_permission_set_request_id(only[0].request_id().unwrap())
            .send()
            .await,
    );
    let d = d.permission_set_provisioning_status().unwrap();
    assert_eq!(d.permission_set_arn(), Some(ps.as_str()));
    assert_eq!(
        d.account_id(),
        None,
        "ALL_PROVISIONED_ACCOUNTS names no account"
    );
    let e = err_info(
        admin
            .describe_account_assignment_creation_status()
            .instance_arn(inst)
            .account_assignment_creation_request_id("00000000-0000-4000-8000-000000000000")
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");

    // Deleting the group removes its last assignment, and the role in Member Two.
    ok(
        "DeleteGroup",
        server
            .identitystore_as(&server.root())
            .delete_group()
            .identity_store_id(&s.store)
            .group_id(&group)
            .send()
            .await,
    );
    assert!(
        reserved_roles(server, &s.m2_who, "ReadOnly")
            .await
            .is_empty()
    );
    ok(
        "DeletePermissionSet",
        admin
            .delete_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .send()
            .await,
    );
}

#[tokio::test]
async fn provisioning_needs_the_customer_managed_policy_in_the_account() {
    let s = setup("sso-ps-cmp").await;
    let (admin, inst, server) = (&s.admin, s.inst.as_str(), &s.f.server);
    let ps = create_ps(admin, inst, "Team").await;
    ok(
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        admin
            .attach_customer_managed_policy_reference_to_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&ps)
            .customer_managed_policy_reference(
                CustomerManagedPolicyReference::builder()
                    .name("TeamPolicy")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    let user = create_user(server, &s.store, "dana").await;
    let (status, reason) = assign(admin, inst, &ps, &s.m1, PrincipalType::User, &user).await;
    assert_eq!(status, StatusValues::Failed);
    assert!(
        reason.starts_with("Received a 404 status error: Not supported policy")
            && reason.contains("TeamPolicy"),
        "{reason}"
    );
    assert!(reserved_roles(server, &s.m1_who, "Team").await.is_empty());
    let none = ok(
        "ListAccountAssignments",
        admin
            .list_account_assignments()
            .instance_arn(inst)
            .account_id(&s.m1)
            .permission_set_arn(&ps)
            .send()
            .await,
    );
    assert!(none.account_assignments().is_empty());

    // With the policy in the account, the same assignment succeeds and the role has it.
    ok(
        "CreatePolicy",
        server
            .iam_as(&s.m1_who)
            .create_policy()
            .policy_name("TeamPolicy")
            .policy_document(INLINE)
            .send()
            .await,
    );
    let (status, reason) = assign(admin, inst, &ps, &s.m1, PrincipalType::User, &user).await;
    assert_eq!(status, StatusValues::Succeeded, "{reason}");
    let roles = reserved_roles(server, &s.m1_who, "Team").await;
    assert_eq!(roles.len(), 1);
    assert_eq!(
        attached(server, &s.m1_who, roles[0].role_name()).await,
        vec![format!("arn:aws:iam::{}:policy/TeamPolicy", s.m1)]
    );

    // Deleting the user removes the assignment and the role.
    ok(
        "DeleteUser",
        server
            .identitystore_as(&server.root())
            .delete_user()
            .identity_store_id(&s.store)
            .user_id(&user)
            .send()
            .await,
    );
    assert!(reserved_roles(server, &s.m1_who, "Team").await.is_empty());

    // An account that leaves the organization loses its roles.
    let user = create_user(server, &s.store, "erin").await;
    let (status, reason) = assign(admin, inst, &ps, &s.m2, PrincipalType::User, &user).await;
    assert_eq!(
        status,
        StatusValues::Failed,
        "no TeamPolicy in Member Two: {reason}"
    );
    let basic = create_ps(admin, inst, "Basic").await;
    let (status, reason) = assign(admin, inst, &basic, &s.m2, PrincipalType::User, &user).await;
    assert_eq!(status, StatusValues::Succeeded, "{reason}");
    assert_eq!(reserved_roles(server, &s.m2_who, "Basic").await.len(), 1);
    ok(
        "LeaveOrganization",
        server.orgs_as(&s.m2_who).leave_organization().send().await,
    );
    assert!(reserved_roles(server, &s.m2_who, "Basic").await.is_empty());
    let provisioned = ok(
        "ListPermissionSetsProvisionedToAccount",
        admin
            .list_permission_sets_provisioned_to_account()
            .instance_arn(inst)
            .account_id(&s.m2)
            .send()
            .await,
    );
    assert!(provisioned.permission_sets().is_empty());
}

#[tokio::test]
async fn the_delegated_administrator_cannot_touch_the_management_account() {
    let s = setup("sso-ps-delegated").await;
    let (admin, inst, server) = (&s.admin, s.inst.as_str(), &s.f.server);
    let orgs = server.orgs();
    ok(
        "RegisterDelegatedAdministrator",
        orgs.register_delegated_administrator()
            .account_id(&s.m1)
            .service_principal("sso.amazonaws.com")
            .send()
            .await,
    );
    let delegated = server.sso_admin_as(&s.m1_who);

    // The delegated administrator sees the instance and manages permission sets.
    let list = ok("ListInstances", delegated.list_instances().send().await);
    assert_eq!(list.instances().len(), 1);
    let own = create_ps(&delegated, inst, "DelegatedSet").await;
    let user = create_user(server, &s.store, "frank").await;
    let (status, reason) = assign(&delegated, inst, &own, &s.m2, PrincipalType::User, &user).await;
    assert_eq!(status, StatusValues::Succeeded, "{reason}");

    // A set provisioned to the management account is the management account's alone.
    let mgmt_ps = create_ps(admin, inst, "MgmtAdmin").await;
    let (status, reason) = provision(admin, inst, &mgmt_ps, Some(MGMT)).await;
    assert_eq!(status, StatusValues::Succeeded, "{reason}");
    let e = err_info(
        delegated
            .update_permission_set()
            .instance_arn(inst)
            .permission_set_arn(&mgmt_ps)
            .description("taken over")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException");
    let e = err_info(
        delegated
            .create_account_assignment()
            .instance_arn(inst)
            .permission_set_arn(&mgmt_ps)
            .target_id(&s.m2)
            .target_type(TargetType::AwsAccount)
            .principal_type(PrincipalType::User)
            .principal_id(&user)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException");
    // Nor may it give access in the management account.
    let e = err_info(
        delegated
            .create_account_assignment()
            .instance_arn(inst)
            .permission_set_arn(&own)
            .target_id(MGMT)
            .target_type(TargetType::AwsAccount)
            .principal_type(PrincipalType::User)
            .principal_id(&user)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException");
    // The management account may.
    let (status, reason) = assign(admin, inst, &mgmt_ps, &s.m2, PrincipalType::User, &user).await;
    assert_eq!(status, StatusValues::Succeeded, "{reason}");

    // An SCP on the delegated administrator's account applies to its calls.
    let roots = ok("ListRoots", orgs.list_roots().send().await);
    let root_id = roots.roots()[0].id().unwrap().to_owned();
    ok(
        "EnablePolicyType",
        orgs.enable_policy_type()
            .root_id(&root_id)
            .policy_type(PolicyType::ServiceControlPolicy)
            .send()
            .await,
    );
    let scp = ok(
        "CreatePolicy",
        orgs.create_policy()
            .name("NoNewPermissionSets")
            .description("deny sso:CreatePermissionSet")
            .r#type(PolicyType::ServiceControlPolicy)
            .content(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sso:CreatePermissionSet","Resource":"*"}]}"#,
            )
            .send()
            .await,
    );
    let scp_id = scp
        .policy()
        .unwrap()
        .policy_summary()
        .unwrap()
        .id()
        .unwrap()
        .to_owned();
    ok(
        "AttachPolicy",
        orgs.attach_policy()
            .policy_id(&scp_id)
            .target_id(&s.m1)
            .send()
            .await,
    );
    let e = err_info(
        delegated
            .create_permission_set()
            .instance_arn(inst)
            .name("Blocked")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{}", e.message);
    // The management account is not subject to SCPs.
    create_ps(admin, inst, "StillAllowed").await;
}

#[tokio::test]
async fn policies_see_the_tags_of_permission_sets() {
    let s = setup("sso-ps-tags-authz").await;
    let (admin, inst) = (&s.admin, s.inst.as_str());
    let locked = create_ps(admin, inst, "Locked").await;
    let open = create_ps(admin, inst, "Open").await;
    ok(
        "TagResource",
        admin
            .tag_resource()
            .instance_arn(inst)
            .resource_arn(&locked)
            .tags(
                aws_sdk_ssoadmin::types::Tag::builder()
                    .key("stage")
                    .value("locked")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    let who =
        s.f.user_with_key(
            "sso-operator",
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"sso:*","Resource":"*"},
                {"Effect":"Deny","Action":"sso:UpdatePermissionSet","Resource":"*",
                 "Condition":{"StringEquals":{"aws:ResourceTag/stage":"locked"}}}]}"#,
        )
        .await;
    let operator = s.f.server.sso_admin_as(&who);
    let update = |ps: &str| {
        operator
            .update_permission_set()
            .instance_arn(inst)
            .permission_set_arn(ps)
            .description("changed")
            .send()
    };
    ok("UpdatePermissionSet (untagged)", update(&open).await);
    let e = err_info(update(&locked).await);
    assert_eq!(e.code, "AccessDeniedException", "{}", e.message);
}

#[tokio::test]
async fn deleting_the_instance_removes_what_it_provisioned() {
    let s = setup("sso-ps-delete-instance").await;
    let (admin, inst, server) = (&s.admin, s.inst.as_str(), &s.f.server);
    let ps = create_ps(admin, inst, "Temporary").await;
    let user = create_user(server, &s.store, "gail").await;
    let (status, reason) = assign(admin, inst, &ps, &s.m1, PrincipalType::User, &user).await;
    assert_eq!(status, StatusValues::Succeeded, "{reason}");
    assert_eq!(
        reserved_roles(server, &s.m1_who, "Temporary").await.len(),
        1
    );
    ok(
        "DeleteInstance",
        admin.delete_instance().instance_arn(inst).send().await,
    );
    let start = Instant::now();
    while !ok("ListInstances", admin.list_instances().send().await)
        .instances()
        .is_empty()
    {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the instance was never purged"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        reserved_roles(server, &s.m1_who, "Temporary")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn attributes_for_access_control() {
    use aws_sdk_ssoadmin::types::{
        AccessControlAttribute, AccessControlAttributeValue,
        InstanceAccessControlAttributeConfiguration,
        InstanceAccessControlAttributeConfigurationStatus,
    };
    let s = setup("sso-abac").await;
    let (admin, inst) = (&s.admin, s.inst.as_str());
    let attr = |key: &str, source: &str| {
        AccessControlAttribute::builder()
            .key(key)
            .value(
                AccessControlAttributeValue::builder()
                    .source(source)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    let config = |attrs: Vec<AccessControlAttribute>| {
        InstanceAccessControlAttributeConfiguration::builder()
            .set_access_control_attributes(Some(attrs))
            .build()
            .unwrap()
    };
    let e = err_info(
        admin
            .describe_instance_access_control_attribute_configuration()
            .instance_arn(inst)
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");
    ok(
        "CreateInstanceAccessControlAttributeConfiguration",
        admin
            .create_instance_access_control_attribute_configuration()
            .instance_arn(inst)
            .instance_access_control_attribute_configuration(config(vec![
                attr("CostCenter", "${path:enterprise.costCenter}"),
                attr("Department", "${path:enterprise.department}"),
            ]))
            .send()
            .await,
    );
    let e = err_info(
        admin
            .create_instance_access_control_attribute_configuration()
            .instance_arn(inst)
            .instance_access_control_attribute_configuration(config(vec![attr(
                "Team",
                "${path:enterprise.division}",
            )]))
            .send()
            .await,
    );
    assert_eq!(e.code, "ConflictException");
    let d = ok(
        "DescribeInstanceAccessControlAttributeConfiguration",
        admin
            .describe_instance_access_control_attribute_configuration()
            .instance_arn(inst)
            .send()
            .await,
    );
    assert_eq!(
        d.status(),
        Some(&InstanceAccessControlAttributeConfigurationStatus::Enabled)
    );
    let keys: Vec<_> = d
        .instance_access_control_attribute_configuration()
        .unwrap()
        .access_control_attributes()
        .iter()
        .map(|a| a.key().to_owned())
        .collect();
    assert_eq!(keys, ["CostCenter", "Department"]);
    let e = err_info(
        admin
            .update_instance_access_control_attribute_configuration()
            .instance_arn(inst)
            .instance_access_control_attribute_configuration(config(vec![
                attr("Team", "${path:enterprise.division}"),
                attr("Team", "${path:enterprise.department}"),
            ]))
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationException");
    ok(
        "UpdateInstanceAccessControlAttributeConfiguration",
        admin
            .update_instance_access_control_attribute_configuration()
            .instance_arn(inst)
            .instance_access_control_attribute_configuration(config(vec![attr(
                "Team",
                "${path:enterprise.division}",
            )]))
            .send()
            .await,
    );
    ok(
        "DeleteInstanceAccessControlAttributeConfiguration",
        admin
            .delete_instance_access_control_attribute_configuration()
            .instance_arn(inst)
            .send()
            .await,
    );
    let e = err_info(
        admin
            .delete_instance_access_control_attribute_configuration()
            .instance_arn(inst)
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");
}

#[tokio::test]
async fn regions_of_an_instance() {
    use aws_sdk_ssoadmin::types::RegionStatus;
    let (f, _org) = Fixture::with_org("sso-regions", MGMT).await;
    let (inst, _) = enable_sso(&f.server).await;
    let admin = f.server.sso_admin_as(&f.server.root());
    let list = ok(
        "ListRegions",
        admin.list_regions().instance_arn(&inst).send().await,
    );
    assert_eq!(list.regions().len(), 1);
    assert_eq!(list.regions()[0].region_name(), Some("us-east-1"));
    assert!(list.regions()[0].is_primary_region());
    let added = ok(
        "AddRegion",
        admin
            .add_region()
            .instance_arn(&inst)
            .region_name("eu-west-1")
            .send()
            .await,
    );
    assert_eq!(added.status(), Some(&RegionStatus::Adding));
    let e = err_info(
        admin
            .add_region()
            .instance_arn(&inst)
            .region_name("eu-west-1")
            .send()
            .await,
    );
    assert_eq!(e.code, "ConflictException");
    let e = err_info(
        admin
            .add_region()
            .instance_arn(&inst)
            .region_name("cn-north-1")
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationException");
    // The workflow ends ACTIVE.
    let start = Instant::now();
    loop {
        let d = ok(
            "DescribeRegion",
            admin
                .describe_region()
                .instance_arn(&inst)
                .region_name("eu-west-1")
                .send()
                .await,
        );
        assert!(!d.is_primary_region());
        if d.status() == Some(&RegionStatus::Active) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never ACTIVE");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let described = ok(
        "DescribeInstance",
        admin.describe_instance().instance_arn(&inst).send().await,
    );
    assert_eq!(described.regions().len(), 2);
    let e = err_info(
        admin
            .remove_region()
            .instance_arn(&inst)
            .region_name("us-east-1")
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationException", "the primary Region stays");
    let removed = ok(
        "RemoveRegion",
        admin
            .remove_region()
            .instance_arn(&inst)
            .region_name("eu-west-1")
            .send()
            .await,
    );
    assert_eq!(removed.status(), Some(&RegionStatus::Removing));
    let start = Instant::now();
    while ok(
        "ListRegions",
        admin.list_regions().instance_arn(&inst).send().await,
    )
    .regions()
    .len()
        > 1
    {
        assert!(start.elapsed() < Duration::from_secs(10), "never removed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let e = err_info(
        admin
            .describe_region()
            .instance_arn(&inst)
            .region_name("eu-west-1")
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");
}

#[tokio::test]
async fn trusted_token_issuers() {
    use aws_sdk_ssoadmin::types::{
        JwksRetrievalOption, OidcJwtConfiguration, OidcJwtUpdateConfiguration,
        TrustedTokenIssuerConfiguration, TrustedTokenIssuerType,
        TrustedTokenIssuerUpdateConfiguration,
    };
    let (f, _org) = Fixture::with_org("sso-tti", MGMT).await;
    let (inst, _) = enable_sso(&f.server).await;
    let admin = f.server.sso_admin_as(&f.server.root());
    let config = |url: &str| {
        TrustedTokenIssuerConfiguration::OidcJwtConfiguration(
            OidcJwtConfiguration::builder()
                .issuer_url(url)
                .claim_attribute_path("email")
                .identity_store_attribute_path("emails.value")
                .jwks_retrieval_option(JwksRetrievalOption::OpenIdDiscovery)
                .build()
                .unwrap(),
        )
    };
    let created = ok(
        "CreateTrustedTokenIssuer",
        admin
            .create_trusted_token_issuer()
            .instance_arn(&inst)
            .name("corp-idp")
            .trusted_token_issuer_type(TrustedTokenIssuerType::OidcJwt)
            .trusted_token_issuer_configuration(config("https://idp.example.com"))
            .tags(
                aws_sdk_ssoadmin::types::Tag::builder()
                    .key("owner")
                    .value("security")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    let arn = created.trusted_token_issuer_arn().unwrap().to_owned();
    let prefix = format!(
        "arn:aws:sso::{MGMT}:trustedTokenIssuer/{}/tti-",
        inst.rsplit('/').next().unwrap()
    );
    assert!(arn.starts_with(&prefix), "{arn}");
    let e = err_info(
        admin
            .create_trusted_token_issuer()
            .instance_arn(&inst)
            .name("corp-idp")
            .trusted_token_issuer_type(TrustedTokenIssuerType::OidcJwt)
            .trusted_token_issuer_configuration(config("https://other.example.com"))
            .send()
            .await,
    );
    assert_eq!(e.code, "ConflictException");
    let d = ok(
        "DescribeTrustedTokenIssuer",
        admin
            .describe_trusted_token_issuer()
            .trusted_token_issuer_arn(&arn)
            .send()
            .await,
    );
    assert_eq!(d.name(), Some("corp-idp"));
    let TrustedTokenIssuerConfiguration::OidcJwtConfiguration(c) =
        d.trusted_token_issuer_configuration().unwrap()
    else {
        panic!("not OIDC_JWT");
    };
    assert_eq!(c.issuer_url(), "https://idp.example.com");
    ok(
        "UpdateTrustedTokenIssuer",
        admin
            .update_trusted_token_issuer()
            .trusted_token_issuer_arn(&arn)
            .name("corp")
            .trusted_token_issuer_configuration(
                TrustedTokenIssuerUpdateConfiguration::OidcJwtConfiguration(
                    OidcJwtUpdateConfiguration::builder()
                        .claim_attribute_path("sub")
                        .build(),
                ),
            )
            .send()
            .await,
    );
    let list = ok(
        "ListTrustedTokenIssuers",
        admin
            .list_trusted_token_issuers()
            .instance_arn(&inst)
            .send()
            .await,
    );
    assert_eq!(list.trusted_token_issuers().len(), 1);
    assert_eq!(list.trusted_token_issuers()[0].name(), Some("corp"));
    let tags = ok(
        "ListTagsForResource",
        admin
            .list_tags_for_resource()
            .instance_arn(&inst)
            .resource_arn(&arn)
            .send()
            .await,
    );
    assert_eq!(tags.tags()[0].key(), "owner");
    ok(
        "DeleteTrustedTokenIssuer",
        admin
            .delete_trusted_token_issuer()
            .trusted_token_issuer_arn(&arn)
            .send()
            .await,
    );
    let e = err_info(
        admin
            .describe_trusted_token_issuer()
            .trusted_token_issuer_arn(&arn)
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");
}
