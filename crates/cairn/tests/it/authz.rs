//! Authorization end to end: IAM users and roles made with the IAM SDK, their calls decided
//! by the policy engine, denials answered with AWS's text and recorded in CloudTrail, and
//! `sts:AssumeRole` / `sts:GetSessionToken` credentials carrying their permissions.
//!
//! One test per behaviour, each on its own server ([`Fixture`]).

use crate::common::{AUDIT_POLL, Server, TempDir, Who, attr, err_info, ok};
use crate::fixture::{Fixture, Org, session, user_with_key};
use aws_sdk_cloudtrail::types::LookupAttributeKey;
use serde_json::Value;
use std::time::Instant;

const ACCOUNT: &str = "210987654321";

/// A server with an organization and user `reader`, who may only describe Organizations
/// resources and assume roles.
async fn with_reader(tag: &str) -> (Fixture, Org, Who) {
    let (f, org) = Fixture::with_org(tag, ACCOUNT).await;
    let reader = user_with_key(
        &f.server,
        "reader",
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"organizations:Describe*","Resource":"*"},
            {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
    )
    .await;
    (f, org, reader)
}

/// Creates role `/ops/OrgAdmin`, trusting the account and allowed `organizations:*`; answers
/// its ARN.
async fn org_admin_role(server: &Server) -> String {
    let iam = server.iam();
    ok(
        "CreateRole OrgAdmin",
        iam.create_role()
            .role_name("OrgAdmin")
            .path("/ops/")
            .assume_role_policy_document(format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow",
                    "Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},
                    "Action":"sts:AssumeRole"}}}}"#
            ))
            .send()
            .await,
    );
    ok(
        "PutRolePolicy",
        iam.put_role_policy()
            .role_name("OrgAdmin")
            .policy_name("org")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"organizations:*","Resource":"*"}}"#,
            )
            .send()
            .await,
    );
    format!("arn:aws:iam::{ACCOUNT}:role/ops/OrgAdmin")
}

async fn assume(
    server: &Server,
    who: &Who,
    role_arn: &str,
    session_name: &str,
) -> aws_sdk_sts::operation::assume_role::AssumeRoleOutput {
    ok(
        "AssumeRole",
        server
            .sts_as(who)
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .send()
            .await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_no_policy_allows_is_refused_with_aws_text() {
    let (f, org, reader) = with_reader("authz-refused").await;
    let (server, org_id, root_id) = (&f.server, &org.id, &org.root_id);
    ok(
        "DescribeOrganization as reader",
        server.orgs_as(&reader).describe_organization().send().await,
    );
    let e = err_info(
        server
            .orgs_as(&reader)
            .create_organizational_unit()
            .parent_id(root_id)
            .name("Denied")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException");
    assert_eq!(
        e.message,
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: \
             organizations:CreateOrganizationalUnit on resource: \
             arn:aws:organizations::{ACCOUNT}:root/{org_id}/{root_id} because no \
             identity-based policy allows the organizations:CreateOrganizationalUnit action"
        )
    );
    // An action without resource-level permissions names no resource.
    let e = err_info(server.orgs_as(&reader).list_accounts().send().await);
    assert_eq!(e.code, "AccessDeniedException");
    assert_eq!(
        e.message,
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: \
             organizations:ListAccounts because no identity-based policy allows the \
             organizations:ListAccounts action"
        )
    );
    // IAM's own calls are authorized too (awsQuery: AccessDenied, 403).
    let e = err_info(server.iam_as(&reader).list_users().send().await);
    assert_eq!(e.code, "AccessDenied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_caller_identity_needs_no_permission() {
    let (f, _org, reader) = with_reader("authz-whoami").await;
    let me = ok(
        "GetCallerIdentity as reader",
        f.server.sts_as(&reader).get_caller_identity().send().await,
    );
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:iam::{ACCOUNT}:user/reader").as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_is_recorded_in_cloudtrail_with_the_caller() {
    let (f, org, reader) = with_reader("authz-audit").await;
    let server = &f.server;
    err_info(
        server
            .orgs_as(&reader)
            .create_organizational_unit()
            .parent_id(&org.root_id)
            .name("Denied")
            .send()
            .await,
    );
    let deadline = Instant::now() + AUDIT_POLL;
    let event = loop {
        let found = ok(
            "LookupEvents",
            server
                .cloudtrail()
                .lookup_events()
                .lookup_attributes(attr(
                    LookupAttributeKey::EventName,
                    "CreateOrganizationalUnit",
                ))
                .send()
                .await,
        );
        if let Some(e) = found.events().first() {
            break e.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no CloudTrail record of the denial"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let record: Value = serde_json::from_str(event.cloud_trail_event().unwrap()).unwrap();
    assert_eq!(record["errorCode"], "AccessDeniedException");
    assert_eq!(record["userIdentity"]["type"], "IAMUser");
    assert_eq!(record["userIdentity"]["userName"], "reader");
    assert!(
        record["errorMessage"]
            .as_str()
            .unwrap()
            .contains("because no identity-based policy allows")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_needs_a_trust_policy_naming_the_caller() {
    let (f, _org, reader) = with_reader("authz-trust").await;
    let server = &f.server;
    ok(
        "CreateRole Guarded",
        server
            .iam()
            .create_role()
            .role_name("Guarded")
            .assume_role_policy_document(format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow",
                    "Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/someone-else"}},
                    "Action":"sts:AssumeRole"}}}}"#
            ))
            .send()
            .await,
    );
    let e = err_info(
        server
            .sts_as(&reader)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/Guarded"))
            .role_session_name("try")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied");
    assert_eq!(
        e.message,
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: \
             sts:AssumeRole on resource: arn:aws:iam::{ACCOUNT}:role/Guarded"
        )
    );
    // A role that does not exist is refused the same way.
    let e = err_info(
        server
            .sts_as(&reader)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/Nope"))
            .role_session_name("try")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assumed_role_session_carries_the_roles_permissions() {
    let (f, _org, reader) = with_reader("authz-assumed").await;
    let server = &f.server;
    let role_arn = org_admin_role(server).await;
    let assumed = assume(server, &reader, &role_arn, "full").await;
    let user = assumed.assumed_role_user().unwrap();
    assert_eq!(
        user.arn(),
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/OrgAdmin/full")
    );
    assert!(user.assumed_role_id().starts_with("AROA"));
    assert!(user.assumed_role_id().ends_with(":full"));
    let creds = assumed.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    let full = session(creds);
    let me = ok(
        "GetCallerIdentity as the role",
        server.sts_as(&full).get_caller_identity().send().await,
    );
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/OrgAdmin/full").as_str())
    );
    assert_eq!(me.user_id(), Some(user.assumed_role_id()));
    ok(
        "ListRoots as the role",
        server.orgs_as(&full).list_roots().send().await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_policy_narrows_the_session() {
    let (f, _org, reader) = with_reader("authz-session-policy").await;
    let server = &f.server;
    let role_arn = org_admin_role(server).await;
    let narrowed = ok(
        "AssumeRole with a session policy",
        server
            .sts_as(&reader)
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name("narrow")
            .policy(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"organizations:DescribeOrganization","Resource":"*"}}"#,
            )
            .send()
            .await,
    );
    let narrow = session(narrowed.credentials().unwrap());
    ok(
        "DescribeOrganization in the narrowed session",
        server.orgs_as(&narrow).describe_organization().send().await,
    );
    let e = err_info(server.orgs_as(&narrow).list_roots().send().await);
    assert_eq!(e.code, "AccessDeniedException");
    assert_eq!(
        e.message,
        format!(
            "User: arn:aws:sts::{ACCOUNT}:assumed-role/OrgAdmin/narrow is not authorized to \
             perform: organizations:ListRoots because no session policy allows the \
             organizations:ListRoots action"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_enforces_sts_limits() {
    let (f, _org, reader) = with_reader("authz-sts-limits").await;
    let server = &f.server;
    let role_arn = org_admin_role(server).await;
    // Longer than the role's MaxSessionDuration (3600 by default).
    let e = err_info(
        server
            .sts_as(&reader)
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name("long")
            .duration_seconds(7200)
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationError");
    let e = err_info(
        server
            .sts_as(&reader)
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name("bad")
            .policy(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow"}}"#)
            .send()
            .await,
    );
    assert_eq!(e.code, "MalformedPolicyDocument");
    let e = err_info(
        server
            .sts()
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name("root")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied");
    assert_eq!(e.message, "Roles may not be assumed by root accounts.");
}

/// GetSessionToken: the same user, temporarily; no IAM without MFA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_token_credentials_act_as_the_user_without_iam() {
    let (f, _org, reader) = with_reader("authz-session-token").await;
    let server = &f.server;
    let token = ok(
        "GetSessionToken",
        server.sts_as(&reader).get_session_token().send().await,
    );
    let temp = session(token.credentials().unwrap());
    let me = ok(
        "GetCallerIdentity with session credentials",
        server.sts_as(&temp).get_caller_identity().send().await,
    );
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:iam::{ACCOUNT}:user/reader").as_str())
    );
    ok(
        "DescribeOrganization with session credentials",
        server.orgs_as(&temp).describe_organization().send().await,
    );
    let e = err_info(server.iam_as(&temp).list_users().send().await);
    assert_eq!(e.code, "InvalidClientTokenId");
    let e = err_info(server.sts_as(&temp).get_session_token().send().await);
    assert_eq!(e.code, "AccessDenied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_session_token_is_refused() {
    let (f, _org, reader) = with_reader("authz-forged").await;
    let server = &f.server;
    let role_arn = org_admin_role(server).await;
    let assumed = assume(server, &reader, &role_arn, "full").await;
    let creds = assumed.credentials().unwrap();
    let forged = Who::session(
        creds.access_key_id(),
        creds.secret_access_key(),
        "AAAAforgedAAAA",
    );
    let e = err_info(server.sts_as(&forged).get_caller_identity().send().await);
    assert_eq!(e.code, "InvalidClientTokenId");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulation_evaluates_principal_and_custom_policies() {
    let (f, _org, _reader) = with_reader("authz-simulate").await;
    let iam = f.server.iam();
    let sim = ok(
        "SimulatePrincipalPolicy",
        iam.simulate_principal_policy()
            .policy_source_arn(format!("arn:aws:iam::{ACCOUNT}:user/reader"))
            .action_names("organizations:DescribeOrganization")
            .action_names("organizations:CreateOrganizationalUnit")
            .send()
            .await,
    );
    let decisions: Vec<(String, String)> = sim
        .evaluation_results()
        .iter()
        .map(|r| {
            (
                r.eval_action_name().to_owned(),
                r.eval_decision().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        vec![
            (
                "organizations:DescribeOrganization".to_owned(),
                "allowed".to_owned()
            ),
            (
                "organizations:CreateOrganizationalUnit".to_owned(),
                "implicitDeny".to_owned()
            ),
        ]
    );
    let allowed = &sim.evaluation_results()[0];
    let matched = &allowed.matched_statements()[0];
    assert_eq!(matched.source_policy_id(), Some("inline"));
    let sim = ok(
        "SimulateCustomPolicy",
        iam.simulate_custom_policy()
            .policy_input_list(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"},{"Effect":"Deny","Action":"iam:DeleteUser","Resource":"*"}]}"#,
            )
            .action_names("iam:CreateUser")
            .action_names("iam:DeleteUser")
            .send()
            .await,
    );
    let decisions: Vec<&str> = sim
        .evaluation_results()
        .iter()
        .map(|r| r.eval_decision().as_str())
        .collect();
    assert_eq!(decisions, vec!["allowed", "explicitDeny"]);
    let e = err_info(
        iam.simulate_custom_policy()
            .policy_input_list(r#"{"Statement":"nope"}"#)
            .action_names("iam:CreateUser")
            .send()
            .await,
    );
    assert_eq!(e.code, "MalformedPolicyDocument");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_access_key_stops_at_once() {
    let (f, _org, reader) = with_reader("authz-key-deleted").await;
    let server = &f.server;
    let iam = server.iam();
    // Used once, so that the key is in the caches.
    ok(
        "GetCallerIdentity as reader",
        server.sts_as(&reader).get_caller_identity().send().await,
    );
    let keys = ok(
        "ListAccessKeys",
        iam.list_access_keys().user_name("reader").send().await,
    );
    for k in keys.access_key_metadata() {
        ok(
            "DeleteAccessKey",
            iam.delete_access_key()
                .user_name("reader")
                .access_key_id(k.access_key_id().unwrap())
                .send()
                .await,
        );
    }
    let e = err_info(server.sts_as(&reader).get_caller_identity().send().await);
    assert_eq!(e.code, "InvalidClientTokenId");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_unknown_credentials_are_the_undenied_root() {
    let dir = TempDir::new("authz-dev");
    let server = Server::start(&dir, &["--dev"]);
    // Unknown credentials act as the bootstrap root, which no policy here denies.
    let anyone = Who::new("AKIAANYTHINGATALL000", "whatever");
    ok(
        "CreateOrganization in --dev",
        server.orgs_as(&anyone).create_organization().send().await,
    );
}

/// Resource ARNs and condition keys that come from the stored resource: `AttachPolicy` is
/// checked against the policy's ARN (its type lower-cased in the path) with
/// `organizations:PolicyType` set to the stored policy's type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_policy_type_feeds_arn_and_condition() {
    let (f, org) = Fixture::with_org("authz-stored", ACCOUNT).await;
    let (server, org_id, root_id) = (&f.server, &org.id, &org.root_id);
    let orgs = server.orgs();
    use aws_sdk_organizations::types::PolicyType;
    for t in [PolicyType::ServiceControlPolicy, PolicyType::TagPolicy] {
        ok(
            "EnablePolicyType",
            orgs.enable_policy_type()
                .root_id(root_id)
                .policy_type(t)
                .send()
                .await,
        );
    }
    let scp = ok(
        "CreatePolicy SCP",
        orgs.create_policy()
            .name("scp")
            .description("d")
            .r#type(PolicyType::ServiceControlPolicy)
            .content(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#)
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
    let tag = ok(
        "CreatePolicy tag",
        orgs.create_policy()
            .name("tags")
            .description("d")
            .r#type(PolicyType::TagPolicy)
            .content(r#"{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"}}}}"#)
            .send()
            .await,
    );
    let tag_id = tag
        .policy()
        .unwrap()
        .policy_summary()
        .unwrap()
        .id()
        .unwrap()
        .to_owned();
    let tagger = user_with_key(
        server,
        "tagger",
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"organizations:AttachPolicy","Resource":"*",
            "Condition":{"StringEquals":{"organizations:PolicyType":"TAG_POLICY"}}}}"#,
    )
    .await;
    let e = err_info(
        server
            .orgs_as(&tagger)
            .attach_policy()
            .policy_id(&scp_id)
            .target_id(root_id)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException");
    assert_eq!(
        e.message,
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/tagger is not authorized to perform: \
             organizations:AttachPolicy on resource: \
             arn:aws:organizations::{ACCOUNT}:policy/{org_id}/service_control_policy/{scp_id} \
             because no identity-based policy allows the organizations:AttachPolicy action"
        )
    );
    ok(
        "AttachPolicy of a tag policy",
        server
            .orgs_as(&tagger)
            .attach_policy()
            .policy_id(&tag_id)
            .target_id(root_id)
            .send()
            .await,
    );
}

/// The policy of user `tagged`: everything in Organizations and IAM, except
/// DescribeOrganizationalUnit on resources tagged `protected=true` and GetRole on roles tagged
/// `team=security`.
const TAG_GUARDED: &str = r#"{"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":["organizations:*","iam:*"],"Resource":"*"},
    {"Effect":"Deny","Action":"organizations:DescribeOrganizationalUnit","Resource":"*",
     "Condition":{"StringEquals":{"aws:ResourceTag/protected":"true"}}},
    {"Effect":"Deny","Action":"iam:GetRole","Resource":"*",
     "Condition":{"StringEquals":{"iam:ResourceTag/team":"security"}}}]}"#;

/// `aws:ResourceTag/*` comes from an OU's stored tags and follows `TagResource` /
/// `UntagResource` at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ou_tags_feed_resource_tag_conditions() {
    use aws_sdk_organizations::types::Tag as OrgTag;
    let (f, org) = Fixture::with_org("authz-ou-tags", ACCOUNT).await;
    let server = &f.server;
    let orgs = server.orgs();
    let mut ous = Vec::new();
    for name in ["guarded", "open"] {
        let ou = ok(
            "CreateOrganizationalUnit",
            orgs.create_organizational_unit()
                .parent_id(&org.root_id)
                .name(name)
                .send()
                .await,
        );
        ous.push(ou.organizational_unit().unwrap().id().unwrap().to_owned());
    }
    let (guarded, open) = (&ous[0], &ous[1]);
    let user = user_with_key(server, "tagged", TAG_GUARDED).await;
    let user_orgs = server.orgs_as(&user);
    let describe = |id: &str| {
        user_orgs
            .describe_organizational_unit()
            .organizational_unit_id(id)
            .send()
    };
    ok(
        "DescribeOrganizationalUnit (untagged)",
        describe(guarded).await,
    );
    ok(
        "TagResource",
        orgs.tag_resource()
            .resource_id(guarded)
            .tags(
                OrgTag::builder()
                    .key("protected")
                    .value("true")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    let e = err_info(describe(guarded).await);
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    assert!(
        e.message
            .contains("with an explicit deny in an identity-based policy"),
        "{e:?}"
    );
    ok(
        "DescribeOrganizationalUnit (other OU)",
        describe(open).await,
    );
    ok(
        "UntagResource",
        orgs.untag_resource()
            .resource_id(guarded)
            .tag_keys("protected")
            .send()
            .await,
    );
    ok(
        "DescribeOrganizationalUnit (untagged again)",
        describe(guarded).await,
    );
}

/// `iam:ResourceTag/*` comes from a role's stored tags and follows `TagRole` / `UntagRole`
/// at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_tags_feed_iam_resource_tag_conditions() {
    let f = Fixture::new("authz-role-tags", ACCOUNT);
    let server = &f.server;
    let user = user_with_key(server, "tagged", TAG_GUARDED).await;
    let iam = server.iam();
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    ok(
        "CreateRole",
        iam.create_role()
            .role_name("sec-role")
            .assume_role_policy_document(trust)
            .send()
            .await,
    );
    let user_iam = server.iam_as(&user);
    ok(
        "GetRole (untagged)",
        user_iam.get_role().role_name("sec-role").send().await,
    );
    ok(
        "TagRole",
        iam.tag_role()
            .role_name("sec-role")
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("team")
                    .value("security")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    let e = err_info(user_iam.get_role().role_name("sec-role").send().await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    assert_eq!(e.status, 403, "{e:?}");
    ok(
        "UntagRole",
        iam.untag_role()
            .role_name("sec-role")
            .tag_keys("team")
            .send()
            .await,
    );
    ok(
        "GetRole (untagged again)",
        user_iam.get_role().role_name("sec-role").send().await,
    );
}
