//! IAM with `aws-sdk-iam` as root: users, groups, roles, inline and managed policies (with
//! AWS managed ones), access keys — and a created user's key signing STS calls.
//!
//! One test per behaviour, each on its own server ([`Fixture`]).

use crate::common::{Who, err_info, ok};
use crate::fixture::Fixture;
use aws_sdk_iam::types::{PolicyScopeType, StatusType, Tag};

const ACCOUNT: &str = "123456789012";

const ALLOW_S3: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#;
const TRUST_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

/// Percent-decoding, as IAM clients do for policy documents.
pub(crate) fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn is_iam_id(id: &str, prefix: &str) -> bool {
    id.len() == 21
        && id.starts_with(prefix)
        && id[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// A server whose root account is [`ACCOUNT`], and its IAM client.
fn iam_server(tag: &str) -> (Fixture, aws_sdk_iam::Client) {
    let f = Fixture::new(tag, ACCOUNT);
    let iam = f.server.iam();
    (f, iam)
}

async fn create_user(iam: &aws_sdk_iam::Client, name: &str) {
    ok("CreateUser", iam.create_user().user_name(name).send().await);
}

/// Creates customer-managed policy `name` (allowing s3:GetObject) and answers its ARN.
async fn create_policy(iam: &aws_sdk_iam::Client, name: &str, path: Option<&str>) -> String {
    let out = ok(
        "CreatePolicy",
        iam.create_policy()
            .policy_name(name)
            .set_path(path.map(str::to_owned))
            .policy_document(ALLOW_S3)
            .description("read objects")
            .send()
            .await,
    );
    out.policy().unwrap().arn().unwrap().to_owned()
}

async fn create_role(iam: &aws_sdk_iam::Client, name: &str) -> aws_sdk_iam::types::Role {
    let out = ok(
        "CreateRole",
        iam.create_role()
            .role_name(name)
            .assume_role_policy_document(TRUST_EC2)
            .description("the app")
            .send()
            .await,
    );
    out.role().unwrap().clone()
}

async fn new_key(iam: &aws_sdk_iam::Client, user: &str) -> aws_sdk_iam::types::AccessKey {
    let key = ok(
        "CreateAccessKey",
        iam.create_access_key().user_name(user).send().await,
    );
    key.access_key().unwrap().clone()
}

fn who(key: &aws_sdk_iam::types::AccessKey) -> Who {
    Who::new(key.access_key_id(), key.secret_access_key())
}

// ------------------------------------------------------------------------------ users

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_have_aws_ids_and_arns_and_case_insensitive_names() {
    let (_f, iam) = iam_server("iam-users");
    let created = ok(
        "CreateUser",
        iam.create_user()
            .user_name("Alice")
            .path("/eng/")
            .tags(tag("team", "core"))
            .send()
            .await,
    );
    let alice = created.user().unwrap();
    assert_eq!(alice.user_name(), "Alice");
    assert_eq!(alice.path(), "/eng/");
    assert_eq!(
        alice.arn(),
        format!("arn:aws:iam::{ACCOUNT}:user/eng/Alice")
    );
    assert!(is_iam_id(alice.user_id(), "AIDA"), "{}", alice.user_id());
    assert_eq!(alice.tags().len(), 1);

    // Names are unique case-insensitively.
    let e = err_info(iam.create_user().user_name("alice").send().await);
    assert_eq!(e.code, "EntityAlreadyExists", "{e:?}");
    assert_eq!(e.status, 409);
    assert_eq!(e.message, "User with name alice already exists.");

    let e = err_info(iam.get_user().user_name("nobody").send().await);
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    assert_eq!(e.status, 404);
    assert_eq!(e.message, "The user with name nobody cannot be found.");

    let got = ok("GetUser", iam.get_user().user_name("alice").send().await);
    assert_eq!(got.user().unwrap().user_name(), "Alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_user_without_a_name_answers_the_root_caller() {
    let (_f, iam) = iam_server("iam-root-user");
    let root = ok("GetUser (root)", iam.get_user().send().await);
    assert_eq!(root.user().unwrap().user_id(), ACCOUNT);
    assert_eq!(
        root.user().unwrap().arn(),
        format!("arn:aws:iam::{ACCOUNT}:root")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_users_paginates_in_a_stable_order_and_filters_by_path() {
    let (_f, iam) = iam_server("iam-list-users");
    ok(
        "CreateUser",
        iam.create_user()
            .user_name("Alice")
            .path("/eng/")
            .send()
            .await,
    );
    for name in ["bob", "carol"] {
        create_user(&iam, name).await;
    }
    // Pagination: stable order, opaque marker.
    let p1 = ok("ListUsers", iam.list_users().max_items(2).send().await);
    assert!(p1.is_truncated());
    let names: Vec<&str> = p1.users().iter().map(|u| u.user_name()).collect();
    assert_eq!(names, ["Alice", "bob"]);
    let p2 = ok(
        "ListUsers",
        iam.list_users()
            .max_items(2)
            .marker(p1.marker().unwrap())
            .send()
            .await,
    );
    assert!(!p2.is_truncated());
    assert_eq!(p2.users().len(), 1);
    assert_eq!(p2.users()[0].user_name(), "carol");
    let eng = ok(
        "ListUsers",
        iam.list_users().path_prefix("/eng/").send().await,
    );
    assert_eq!(eng.users().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_renamed_and_untagged_by_case_insensitive_key() {
    let (_f, iam) = iam_server("iam-rename-tags");
    create_user(&iam, "carol").await;
    ok(
        "UpdateUser",
        iam.update_user()
            .user_name("carol")
            .new_user_name("Carol2")
            .send()
            .await,
    );
    let e = err_info(iam.get_user().user_name("carol").send().await);
    assert_eq!(e.code, "NoSuchEntity");
    ok(
        "TagUser",
        iam.tag_user()
            .user_name("Carol2")
            .tags(tag("a", "1"))
            .tags(tag("b", "2"))
            .send()
            .await,
    );
    // IAM tag keys are case-insensitive (its error text: "Tag keys are case insensitive"):
    // untagging "A" removes "a".
    ok(
        "UntagUser",
        iam.untag_user()
            .user_name("Carol2")
            .tag_keys("A")
            .send()
            .await,
    );
    let tags = ok(
        "ListUserTags",
        iam.list_user_tags().user_name("Carol2").send().await,
    );
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].key(), "b");
}

// ---------------------------------------------------------------------- inline policies

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_user_policies_are_validated_stored_url_encoded_and_sized() {
    let (_f, iam) = iam_server("iam-inline");
    create_user(&iam, "Alice").await;
    // A statement needs a Resource.
    let e = err_info(
        iam.put_user_policy()
            .user_name("Alice")
            .policy_name("bad")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#,
            )
            .send()
            .await,
    );
    assert_eq!(e.code, "MalformedPolicyDocument", "{e:?}");
    assert_eq!(e.status, 400);
    ok(
        "PutUserPolicy",
        iam.put_user_policy()
            .user_name("Alice")
            .policy_name("s3read")
            .policy_document(ALLOW_S3)
            .send()
            .await,
    );
    let doc = ok(
        "GetUserPolicy",
        iam.get_user_policy()
            .user_name("alice")
            .policy_name("s3read")
            .send()
            .await,
    );
    assert_eq!(doc.user_name(), "Alice");
    assert!(doc.policy_document().starts_with("%7B"), "URL-encoded");
    assert_eq!(url_decode(doc.policy_document()), ALLOW_S3);
    let names = ok(
        "ListUserPolicies",
        iam.list_user_policies().user_name("Alice").send().await,
    );
    assert_eq!(names.policy_names(), ["s3read"]);
    // The user aggregate quota is 2,048 non-whitespace characters.
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":[{}],"Resource":"*"}}]}}"#,
        (0..120)
            .map(|i| format!("\"s3:GetObject{i:04}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    let e = err_info(
        iam.put_user_policy()
            .user_name("Alice")
            .policy_name("big")
            .policy_document(&big)
            .send()
            .await,
    );
    assert_eq!(e.code, "LimitExceeded", "{e:?}");
    assert_eq!(
        e.message,
        "Maximum policy size of 2048 bytes exceeded for user Alice"
    );
    let e = err_info(
        iam.get_user_policy()
            .user_name("Alice")
            .policy_name("nope")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_user_refuses_while_inline_policies_remain() {
    let (_f, iam) = iam_server("iam-delete-inline");
    create_user(&iam, "Alice").await;
    ok(
        "PutUserPolicy",
        iam.put_user_policy()
            .user_name("Alice")
            .policy_name("s3read")
            .policy_document(ALLOW_S3)
            .send()
            .await,
    );
    let e = err_info(iam.delete_user().user_name("Alice").send().await);
    assert_eq!(e.code, "DeleteConflict", "{e:?}");
    assert_eq!(
        e.message,
        "Cannot delete entity, must delete policies first."
    );
    ok(
        "DeleteUserPolicy",
        iam.delete_user_policy()
            .user_name("Alice")
            .policy_name("s3read")
            .send()
            .await,
    );
    ok(
        "DeleteUser",
        iam.delete_user().user_name("Alice").send().await,
    );
}

// -------------------------------------------------------------------------------- roles

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_have_aws_ids_and_trust_policies_that_name_a_principal() {
    let (_f, iam) = iam_server("iam-roles");
    let r = create_role(&iam, "app").await;
    assert!(is_iam_id(r.role_id(), "AROA"), "{}", r.role_id());
    assert_eq!(r.arn(), format!("arn:aws:iam::{ACCOUNT}:role/app"));
    assert_eq!(r.max_session_duration(), Some(3600));
    let e = err_info(
        iam.create_role()
            .role_name("APP")
            .assume_role_policy_document(TRUST_EC2)
            .send()
            .await,
    );
    assert_eq!(e.code, "EntityAlreadyExists");
    // A trust policy needs a Principal.
    let e = err_info(
        iam.create_role()
            .role_name("bad")
            .assume_role_policy_document(ALLOW_S3)
            .send()
            .await,
    );
    assert_eq!(e.code, "MalformedPolicyDocument", "{e:?}");
    let got = ok("GetRole", iam.get_role().role_name("app").send().await);
    let r = got.role().unwrap();
    assert_eq!(r.description(), Some("the app"));
    assert_eq!(
        url_decode(r.assume_role_policy_document().unwrap()),
        TRUST_EC2
    );
    let roles = ok("ListRoles", iam.list_roles().send().await);
    assert_eq!(roles.roles().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_are_updated_and_not_deleted_while_policies_remain() {
    let (_f, iam) = iam_server("iam-role-update");
    create_role(&iam, "app").await;
    ok(
        "UpdateRole",
        iam.update_role()
            .role_name("app")
            .max_session_duration(7200)
            .send()
            .await,
    );
    let updated = ok(
        "UpdateRoleDescription",
        iam.update_role_description()
            .role_name("app")
            .description("new")
            .send()
            .await,
    );
    assert_eq!(updated.role().unwrap().description(), Some("new"));
    assert_eq!(updated.role().unwrap().max_session_duration(), Some(7200));
    ok(
        "UpdateAssumeRolePolicy",
        iam.update_assume_role_policy()
            .role_name("app")
            .policy_document(TRUST_EC2)
            .send()
            .await,
    );
    ok(
        "PutRolePolicy",
        iam.put_role_policy()
            .role_name("app")
            .policy_name("inline")
            .policy_document(ALLOW_S3)
            .send()
            .await,
    );
    let e = err_info(iam.delete_role().role_name("app").send().await);
    assert_eq!(e.code, "DeleteConflict");
}

// --------------------------------------------------------------------- managed policies

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_managed_policies_are_listed_and_immutable() {
    let (_f, iam) = iam_server("iam-aws-managed");
    let aws = ok(
        "ListPolicies",
        iam.list_policies().scope(PolicyScopeType::Aws).send().await,
    );
    let arns: Vec<&str> = aws.policies().iter().filter_map(|p| p.arn()).collect();
    assert!(
        arns.contains(&"arn:aws:iam::aws:policy/AdministratorAccess"),
        "{arns:?}"
    );
    assert!(arns.contains(&"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"));
    let admin = ok(
        "GetPolicy",
        iam.get_policy()
            .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
            .send()
            .await,
    );
    let admin = admin.policy().unwrap();
    assert_eq!(admin.default_version_id(), Some("v1"));
    let v = ok(
        "GetPolicyVersion",
        iam.get_policy_version()
            .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
            .version_id("v1")
            .send()
            .await,
    );
    assert!(
        url_decode(v.policy_version().unwrap().document().unwrap()).contains("\"Action\":\"*\"")
    );
    let e = err_info(
        iam.create_policy_version()
            .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
            .policy_document(ALLOW_S3)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_policies_have_aws_ids_unique_names_and_a_size_quota() {
    let (_f, iam) = iam_server("iam-customer-policies");
    let created = ok(
        "CreatePolicy",
        iam.create_policy()
            .policy_name("S3Read")
            .path("/team/")
            .policy_document(ALLOW_S3)
            .description("read objects")
            .send()
            .await,
    );
    let p = created.policy().unwrap();
    let arn = p.arn().unwrap().to_owned();
    assert_eq!(arn, format!("arn:aws:iam::{ACCOUNT}:policy/team/S3Read"));
    assert!(is_iam_id(p.policy_id().unwrap(), "ANPA"));
    assert_eq!(p.default_version_id(), Some("v1"));
    let e = err_info(
        iam.create_policy()
            .policy_name("s3read")
            .policy_document(ALLOW_S3)
            .send()
            .await,
    );
    assert_eq!(e.code, "EntityAlreadyExists", "{e:?}");
    let huge = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":[{}],"Resource":"*"}}]}}"#,
        (0..400)
            .map(|i| format!("\"s3:GetObject{i:04}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    let e = err_info(
        iam.create_policy()
            .policy_name("huge")
            .policy_document(&huge)
            .send()
            .await,
    );
    assert_eq!(e.code, "LimitExceeded", "{e:?}");
    assert_eq!(e.message, "Cannot exceed quota for PolicySize: 6144");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_keeps_at_most_five_versions_and_its_default() {
    let (_f, iam) = iam_server("iam-versions");
    let arn = create_policy(&iam, "S3Read", Some("/team/")).await;
    for _ in 0..4 {
        ok(
            "CreatePolicyVersion",
            iam.create_policy_version()
                .policy_arn(&arn)
                .policy_document(ALLOW_S3)
                .send()
                .await,
        );
    }
    let e = err_info(
        iam.create_policy_version()
            .policy_arn(&arn)
            .policy_document(ALLOW_S3)
            .send()
            .await,
    );
    assert_eq!(e.code, "LimitExceeded", "{e:?}");
    ok(
        "SetDefaultPolicyVersion",
        iam.set_default_policy_version()
            .policy_arn(&arn)
            .version_id("v3")
            .send()
            .await,
    );
    let e = err_info(
        iam.delete_policy_version()
            .policy_arn(&arn)
            .version_id("v3")
            .send()
            .await,
    );
    assert_eq!(e.code, "DeleteConflict", "{e:?}");
    let versions = ok(
        "ListPolicyVersions",
        iam.list_policy_versions().policy_arn(&arn).send().await,
    );
    assert_eq!(versions.versions().len(), 5);
    assert_eq!(versions.versions()[0].version_id(), Some("v5"));
    // The other versions go, then the policy.
    for v in ["v1", "v2", "v4", "v5"] {
        ok(
            "DeletePolicyVersion",
            iam.delete_policy_version()
                .policy_arn(&arn)
                .version_id(v)
                .send()
                .await,
        );
    }
    ok(
        "DeletePolicy",
        iam.delete_policy().policy_arn(&arn).send().await,
    );
    let e = err_info(iam.get_policy().policy_arn(&arn).send().await);
    assert_eq!(e.code, "NoSuchEntity");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_policies_are_counted_listed_and_block_deletion() {
    let (_f, iam) = iam_server("iam-attach");
    create_user(&iam, "Alice").await;
    create_role(&iam, "app").await;
    let arn = create_policy(&iam, "S3Read", Some("/team/")).await;
    ok(
        "AttachUserPolicy",
        iam.attach_user_policy()
            .user_name("Alice")
            .policy_arn(&arn)
            .send()
            .await,
    );
    ok(
        "AttachRolePolicy",
        iam.attach_role_policy()
            .role_name("app")
            .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
            .send()
            .await,
    );
    let e = err_info(
        iam.attach_user_policy()
            .user_name("Alice")
            .policy_arn(format!("arn:aws:iam::{ACCOUNT}:policy/Nope"))
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    let attached = ok(
        "ListAttachedUserPolicies",
        iam.list_attached_user_policies()
            .user_name("Alice")
            .send()
            .await,
    );
    assert_eq!(attached.attached_policies().len(), 1);
    assert_eq!(
        attached.attached_policies()[0].policy_name(),
        Some("S3Read")
    );
    let entities = ok(
        "ListEntitiesForPolicy",
        iam.list_entities_for_policy().policy_arn(&arn).send().await,
    );
    assert_eq!(entities.policy_users().len(), 1);
    let only = ok(
        "ListPolicies",
        iam.list_policies().only_attached(true).send().await,
    );
    assert_eq!(only.policies().len(), 2, "{:?}", only.policies());
    let got = ok("GetPolicy", iam.get_policy().policy_arn(&arn).send().await);
    assert_eq!(got.policy().unwrap().attachment_count(), Some(1));
    let e = err_info(iam.delete_policy().policy_arn(&arn).send().await);
    assert_eq!(e.code, "DeleteConflict", "{e:?}");
    let e = err_info(iam.delete_user().user_name("Alice").send().await);
    assert_eq!(
        e.message,
        "Cannot delete entity, must detach all policies first."
    );
    // Clean-up succeeds once the conflicts are gone.
    ok(
        "DetachUserPolicy",
        iam.detach_user_policy()
            .user_name("Alice")
            .policy_arn(&arn)
            .send()
            .await,
    );
    ok(
        "DeletePolicy",
        iam.delete_policy().policy_arn(&arn).send().await,
    );
    ok(
        "DeleteUser",
        iam.delete_user().user_name("Alice").send().await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_ten_managed_policies_attach_to_a_user() {
    let (_f, iam) = iam_server("iam-attach-quota");
    create_user(&iam, "bob").await;
    for i in 0..10 {
        create_policy(&iam, &format!("p{i}"), None).await;
    }
    for i in 0..9 {
        ok(
            "AttachUserPolicy",
            iam.attach_user_policy()
                .user_name("bob")
                .policy_arn(format!("arn:aws:iam::{ACCOUNT}:policy/p{i}"))
                .send()
                .await,
        );
    }
    // AWS-managed policies count as well.
    ok(
        "AttachUserPolicy",
        iam.attach_user_policy()
            .user_name("bob")
            .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
            .send()
            .await,
    );
    let e = err_info(
        iam.attach_user_policy()
            .user_name("bob")
            .policy_arn(format!("arn:aws:iam::{ACCOUNT}:policy/p9"))
            .send()
            .await,
    );
    assert_eq!(e.code, "LimitExceeded", "{e:?}");
    assert_eq!(e.message, "Cannot exceed quota for PoliciesPerUser: 10");
}

// ------------------------------------------------------------------------------- groups

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_members_block_deletion_and_survive_a_rename() {
    let (_f, iam) = iam_server("iam-groups");
    create_user(&iam, "Carol2").await;
    let g = ok(
        "CreateGroup",
        iam.create_group().group_name("devs").send().await,
    );
    assert!(is_iam_id(g.group().unwrap().group_id(), "AGPA"));
    ok(
        "AddUserToGroup",
        iam.add_user_to_group()
            .group_name("devs")
            .user_name("Carol2")
            .send()
            .await,
    );
    ok(
        "PutGroupPolicy",
        iam.put_group_policy()
            .group_name("devs")
            .policy_name("g")
            .policy_document(ALLOW_S3)
            .send()
            .await,
    );
    let got = ok("GetGroup", iam.get_group().group_name("devs").send().await);
    assert_eq!(got.users().len(), 1);
    assert_eq!(got.users()[0].user_name(), "Carol2");
    let groups = ok(
        "ListGroupsForUser",
        iam.list_groups_for_user().user_name("Carol2").send().await,
    );
    assert_eq!(groups.groups()[0].group_name(), "devs");
    let e = err_info(iam.delete_user().user_name("Carol2").send().await);
    assert_eq!(e.code, "DeleteConflict");
    assert_eq!(
        e.message,
        "Cannot delete entity, must remove users from group first."
    );
    let e = err_info(iam.delete_group().group_name("devs").send().await);
    assert_eq!(e.code, "DeleteConflict");
    // Renaming the user keeps the membership.
    ok(
        "UpdateUser",
        iam.update_user()
            .user_name("Carol2")
            .new_user_name("carol")
            .send()
            .await,
    );
    let got = ok("GetGroup", iam.get_group().group_name("devs").send().await);
    assert_eq!(got.users()[0].user_name(), "carol");
    ok(
        "RemoveUserFromGroup",
        iam.remove_user_from_group()
            .group_name("devs")
            .user_name("carol")
            .send()
            .await,
    );
    ok(
        "DeleteGroupPolicy",
        iam.delete_group_policy()
            .group_name("devs")
            .policy_name("g")
            .send()
            .await,
    );
    ok(
        "DeleteGroup",
        iam.delete_group().group_name("devs").send().await,
    );
    ok(
        "DeleteUser",
        iam.delete_user().user_name("carol").send().await,
    );
}

// -------------------------------------------------------------------------- access keys

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_key_signs_sts_calls_as_its_user() {
    let (f, iam) = iam_server("iam-key-signs");
    ok(
        "CreateUser",
        iam.create_user().user_name("dev").path("/ci/").send().await,
    );
    let key = new_key(&iam, "dev").await;
    assert_eq!(key.user_name(), "dev");
    assert_eq!(key.access_key_id().len(), 20);
    assert!(key.access_key_id().starts_with("AKIA"));
    assert_eq!(key.status(), &StatusType::Active);
    let me = ok(
        "GetCallerIdentity",
        f.server
            .sts_as(&who(&key))
            .get_caller_identity()
            .send()
            .await,
    );
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:iam::{ACCOUNT}:user/ci/dev").as_str())
    );
    assert_eq!(me.account(), Some(ACCOUNT));
    assert!(me.user_id().unwrap().starts_with("AIDA"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_holds_at_most_two_access_keys() {
    let (_f, iam) = iam_server("iam-key-quota");
    create_user(&iam, "dev").await;
    new_key(&iam, "dev").await;
    new_key(&iam, "dev").await;
    let e = err_info(iam.create_access_key().user_name("dev").send().await);
    assert_eq!(e.code, "LimitExceeded", "{e:?}");
    assert_eq!(e.message, "Cannot exceed quota for AccessKeysPerUser: 2");
    let listed = ok(
        "ListAccessKeys",
        iam.list_access_keys().user_name("dev").send().await,
    );
    assert_eq!(listed.access_key_metadata().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inactive_access_key_stops_authenticating() {
    let (f, iam) = iam_server("iam-key-inactive");
    create_user(&iam, "dev").await;
    // Never used before it is deactivated, so nothing caches it.
    let second = new_key(&iam, "dev").await;
    ok(
        "UpdateAccessKey",
        iam.update_access_key()
            .user_name("dev")
            .access_key_id(second.access_key_id())
            .status(StatusType::Inactive)
            .send()
            .await,
    );
    let e = err_info(
        f.server
            .sts_as(&who(&second))
            .get_caller_identity()
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidClientTokenId", "{e:?}");
    let listed = ok(
        "ListAccessKeys",
        iam.list_access_keys().user_name("dev").send().await,
    );
    let inactive = listed
        .access_key_metadata()
        .iter()
        .find(|k| k.access_key_id() == Some(second.access_key_id()))
        .unwrap();
    assert_eq!(inactive.status(), Some(&StatusType::Inactive));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_key_last_used_names_its_user() {
    let (f, iam) = iam_server("iam-key-last-used");
    create_user(&iam, "dev").await;
    let key = new_key(&iam, "dev").await;
    ok(
        "GetCallerIdentity",
        f.server
            .sts_as(&who(&key))
            .get_caller_identity()
            .send()
            .await,
    );
    let used = ok(
        "GetAccessKeyLastUsed",
        iam.get_access_key_last_used()
            .access_key_id(key.access_key_id())
            .send()
            .await,
    );
    assert_eq!(used.user_name(), Some("dev"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_user_refuses_while_access_keys_remain() {
    let (_f, iam) = iam_server("iam-key-delete");
    create_user(&iam, "dev").await;
    let key = new_key(&iam, "dev").await;
    let second = new_key(&iam, "dev").await;
    let e = err_info(iam.delete_user().user_name("dev").send().await);
    assert_eq!(e.code, "DeleteConflict");
    assert_eq!(
        e.message,
        "Cannot delete entity, must delete access keys first."
    );
    for id in [key.access_key_id(), second.access_key_id()] {
        ok(
            "DeleteAccessKey",
            iam.delete_access_key()
                .user_name("dev")
                .access_key_id(id)
                .send()
                .await,
        );
    }
    let e = err_info(
        iam.delete_access_key()
            .user_name("dev")
            .access_key_id(key.access_key_id())
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity");
    ok(
        "DeleteUser",
        iam.delete_user().user_name("dev").send().await,
    );
}
