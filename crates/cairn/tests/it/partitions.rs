//! Partitions with the SDKs: a client of `cn-north-1`, `us-gov-west-1` or `us-isob-east-1`
//! sees every ARN of IAM, STS, Organizations and CloudTrail in its partition
//! (`arn:aws-cn:` …), sends ARNs in it, and is authorized against policies written in it; a
//! region of no partition is refused as AWS refuses it.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_arn_is_in_the_partition_of_the_region() {
    let dir = TempDir::new("partitions");
    let server = Server::start(&dir, &[]);
    let root = server.root();
    let acct = server.creds.account_id.clone();

    for (region, p) in [
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-isob-east-1", "aws-iso-b"),
    ] {
        let sts = server.sts_in(&root, region);
        let iam = server.iam_in(&root, region);
        let me = ok("GetCallerIdentity", sts.get_caller_identity().send().await);
        assert_eq!(me.arn(), Some(format!("arn:{p}:iam::{acct}:root").as_str()));

        // IAM: the ARNs it answers with, and the ARNs it is sent, are in the partition.
        let user = format!("u-{p}");
        let created = ok(
            "CreateUser",
            iam.create_user().user_name(&user).send().await,
        );
        assert_eq!(
            created.user().map(|u| u.arn()),
            Some(format!("arn:{p}:iam::{acct}:user/{user}").as_str())
        );
        let managed = format!("arn:{p}:iam::aws:policy/ReadOnlyAccess");
        ok(
            "AttachUserPolicy",
            iam.attach_user_policy()
                .user_name(&user)
                .policy_arn(&managed)
                .send()
                .await,
        );
        let attached = ok(
            "ListAttachedUserPolicies",
            iam.list_attached_user_policies()
                .user_name(&user)
                .send()
                .await,
        );
        assert_eq!(
            attached
                .attached_policies()
                .iter()
                .filter_map(|a| a.policy_arn())
                .collect::<Vec<_>>(),
            [managed.as_str()]
        );
        let e = err_info(
            iam.detach_user_policy()
                .user_name(&user)
                .policy_arn(format!("arn:{p}:iam::aws:policy/PowerUserAccess"))
                .send()
                .await,
        );
        assert_eq!(e.code, "NoSuchEntity", "{e:?}");
        assert!(
            e.message
                .contains(&format!("arn:{p}:iam::aws:policy/PowerUserAccess")),
            "the message is in the partition too: {e:?}"
        );
    }

    // The same user, seen from the `aws` partition.
    let seen = ok(
        "GetUser (aws)",
        server.iam().get_user().user_name("u-aws-cn").send().await,
    );
    assert_eq!(
        seen.user().map(|u| u.arn()),
        Some(format!("arn:aws:iam::{acct}:user/u-aws-cn").as_str())
    );
}

/// Roles, sessions and policy evaluation in `aws-cn`: a role's trust policy and a user's
/// identity policy written with `arn:aws-cn:` ARNs decide as they would in China.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_in_the_partition_decide() {
    let dir = TempDir::new("partitions-authz");
    let server = Server::start(&dir, &[]);
    let root = server.root();
    let acct = server.creds.account_id.clone();
    let region = "cn-north-1";
    let iam = server.iam_in(&root, region);

    ok(
        "CreateUser",
        iam.create_user().user_name("alice").send().await,
    );
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["iam:GetUser","sts:AssumeRole"],"Resource":["arn:aws-cn:iam::{acct}:user/alice","arn:aws-cn:iam::{acct}:role/ops"]}}]}}"#
    );
    ok(
        "PutUserPolicy",
        iam.put_user_policy()
            .user_name("alice")
            .policy_name("self")
            .policy_document(&policy)
            .send()
            .await,
    );
    let got = ok(
        "GetUserPolicy",
        iam.get_user_policy()
            .user_name("alice")
            .policy_name("self")
            .send()
            .await,
    );
    let doc = crate::iam::url_decode(got.policy_document());
    assert!(doc.contains("arn:aws-cn:iam::"), "{doc}");
    let key = ok(
        "CreateAccessKey",
        iam.create_access_key().user_name("alice").send().await,
    );
    let key = key.access_key().unwrap();
    let alice = Who::new(key.access_key_id(), key.secret_access_key());
    let alice_iam = server.iam_in(&alice, region);
    ok(
        "GetUser (allowed by the aws-cn policy)",
        alice_iam.get_user().user_name("alice").send().await,
    );
    // An ARN of another partition names nothing here, and is answered as it was written.
    let foreign = err_info(
        iam.attach_user_policy()
            .user_name("alice")
            .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
            .send()
            .await,
    );
    assert_eq!(foreign.code, "NoSuchEntity", "{foreign:?}");
    assert!(
        foreign
            .message
            .contains("arn:aws:iam::aws:policy/ReadOnlyAccess"),
        "{foreign:?}"
    );
    ok(
        "AttachUserPolicy (the partition's own ARN)",
        iam.attach_user_policy()
            .user_name("alice")
            .policy_arn("arn:aws-cn:iam::aws:policy/job-function/ViewOnlyAccess")
            .send()
            .await,
    );
    ok(
        "DetachUserPolicy",
        iam.detach_user_policy()
            .user_name("alice")
            .policy_arn("arn:aws-cn:iam::aws:policy/job-function/ViewOnlyAccess")
            .send()
            .await,
    );
    let e = err_info(alice_iam.list_users().send().await);
    assert_eq!(e.code, "AccessDenied");
    assert!(
        e.message.contains(&format!(
            "User: arn:aws-cn:iam::{acct}:user/alice is not authorized"
        )),
        "{e:?}"
    );

    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws-cn:iam::{acct}:user/alice"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let role = ok(
        "CreateRole",
        iam.create_role()
            .role_name("ops")
            .assume_role_policy_document(&trust)
            .send()
            .await,
    );
    let role_arn = format!("arn:aws-cn:iam::{acct}:role/ops");
    assert_eq!(role.role().map(|r| r.arn()), Some(role_arn.as_str()));
    let sts = server.sts_in(&alice, region);
    let assumed = ok(
        "AssumeRole",
        sts.assume_role()
            .role_arn(&role_arn)
            .role_session_name("cn-session")
            .send()
            .await,
    );
    assert_eq!(
        assumed.assumed_role_user().map(|u| u.arn()),
        Some(format!("arn:aws-cn:sts::{acct}:assumed-role/ops/cn-session").as_str())
    );

    // CloudTrail records the calls of the partition in it, in IAM's region of `aws-cn`.
    let trail = server.cloudtrail_in(&root, region);
    let events = ok(
        "LookupEvents",
        trail
            .lookup_events()
            .lookup_attributes(
                aws_sdk_cloudtrail::types::LookupAttribute::builder()
                    .attribute_key(aws_sdk_cloudtrail::types::LookupAttributeKey::EventName)
                    .attribute_value("CreateRole")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    let record: serde_json::Value =
        serde_json::from_str(events.events()[0].cloud_trail_event().unwrap()).unwrap();
    assert_eq!(record["awsRegion"], "cn-north-1", "{record}");
    assert_eq!(
        record["userIdentity"]["arn"],
        format!("arn:aws-cn:iam::{acct}:root"),
        "{record}"
    );
    assert_eq!(
        record["responseElements"]["role"]["arn"], role_arn,
        "{record}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizations_arns_are_in_the_partition() {
    let dir = TempDir::new("partitions-orgs");
    let server = Server::start(&dir, &[]);
    let root = server.root();
    let acct = server.creds.account_id.clone();
    let orgs = server.orgs_in(&root, "cn-northwest-1");
    let org = ok(
        "CreateOrganization",
        orgs.create_organization().send().await,
    );
    let org = org.organization().unwrap();
    let id = org.id().unwrap();
    assert_eq!(
        org.arn(),
        Some(format!("arn:aws-cn:organizations::{acct}:organization/{id}").as_str())
    );
    assert_eq!(
        org.master_account_arn(),
        Some(format!("arn:aws-cn:organizations::{acct}:account/{id}/{acct}").as_str())
    );
    let roots = ok("ListRoots", orgs.list_roots().send().await);
    let root_arn = roots.roots()[0].arn().unwrap();
    assert!(
        root_arn.starts_with("arn:aws-cn:organizations::"),
        "{root_arn}"
    );
    let policies = ok(
        "ListPolicies",
        orgs.list_policies()
            .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
            .send()
            .await,
    );
    assert_eq!(
        policies.policies()[0].arn(),
        Some("arn:aws-cn:organizations::aws:policy/service_control_policy/p-FullAWSAccess")
    );
    // The same organization from `aws`.
    let described = ok(
        "DescribeOrganization (aws)",
        server.orgs().describe_organization().send().await,
    );
    assert!(
        described
            .organization()
            .and_then(|o| o.arn())
            .is_some_and(|a| a.starts_with("arn:aws:organizations::")),
        "{described:?}"
    );
}

/// A signature scoped to a region of no partition is refused with AWS's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_aws_does_not_have_is_refused() {
    let dir = TempDir::new("partitions-region");
    let server = Server::start(&dir, &[]);
    let root = server.root();
    for region in ["us-east-9", "moon-base-1", "aws-global"] {
        let sts = server.sts_in(&root, region);
        let e = err_info(sts.get_caller_identity().send().await);
        assert_eq!(e.code, "SignatureDoesNotMatch", "{region}: {e:?}");
        assert_eq!(
            e.message,
            format!("Credential should be scoped to a valid region, not '{region}'."),
            "{region}"
        );
        let orgs = server.orgs_in(&root, region);
        let e = err_info(orgs.describe_organization().send().await);
        assert_eq!(e.code, "InvalidSignatureException", "{region}: {e:?}");
    }
}
