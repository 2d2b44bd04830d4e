//! STS beyond role assumption, with `aws-sdk-sts`: federated users (`GetFederationToken`),
//! `DecodeAuthorizationMessage`, `AssumeRoot`.

use crate::common::{Who, attr, err_info, ok, record};
use crate::fixture::Fixture;
use aws_sdk_cloudtrail::types::LookupAttributeKey;

const ACCOUNT: &str = "123456789012";

/// An IAM user `name` with `policy` inline and an access key.
async fn user_with_key(f: &Fixture, name: &str, policy: &str) -> Who {
    let iam = f.server.iam();
    ok("CreateUser", iam.create_user().user_name(name).send().await);
    ok(
        "PutUserPolicy",
        iam.put_user_policy()
            .user_name(name)
            .policy_name("p")
            .policy_document(policy)
            .send()
            .await,
    );
    let key = ok(
        "CreateAccessKey",
        iam.create_access_key().user_name(name).send().await,
    );
    let key = key.access_key().unwrap();
    Who::new(key.access_key_id(), key.secret_access_key())
}

fn session_of(c: &aws_sdk_sts::types::Credentials) -> Who {
    Who::session(c.access_key_id(), c.secret_access_key(), c.session_token())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    deprecated,
    reason = "PackedPolicySize is what AWS still answers with; the SDK marks it deprecated"
)]
async fn federated_users_have_the_users_permissions_narrowed_by_the_session_policy() {
    let f = Fixture::new("sts-federation", ACCOUNT);
    // Alice may read CloudTrail and describe the organization; not more.
    let alice = user_with_key(
        &f,
        "alice",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudtrail:LookupEvents","cloudtrail:DescribeTrails","organizations:DescribeOrganization","sts:GetFederationToken","sts:TagSession"],"Resource":"*"}]}"#,
    )
    .await;
    let sts = f.server.sts_as(&alice);

    // No session policy: a session with no permissions.
    let bare = ok(
        "GetFederationToken",
        sts.get_federation_token().name("bob").send().await,
    );
    let fu = bare.federated_user().unwrap();
    assert_eq!(
        fu.arn(),
        format!("arn:aws:sts::{ACCOUNT}:federated-user/bob")
    );
    assert_eq!(fu.federated_user_id(), format!("{ACCOUNT}:bob"));
    assert!(bare.packed_policy_size().is_none());
    let creds = bare.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    let bob = session_of(creds);
    let me = ok(
        "GetCallerIdentity",
        f.server.sts_as(&bob).get_caller_identity().send().await,
    );
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:sts::{ACCOUNT}:federated-user/bob").as_str())
    );
    assert_eq!(me.user_id(), Some(format!("{ACCOUNT}:bob").as_str()));
    let e = err_info(
        f.server
            .cloudtrail_as(&bob)
            .lookup_events()
            .max_results(1)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");

    // A session policy: the intersection with Alice's policies.
    let scoped = ok(
        "GetFederationToken with a policy",
        sts.get_federation_token()
            .name("carol")
            .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudtrail:*","iam:*"],"Resource":"*"}]}"#)
            .duration_seconds(900)
            .send()
            .await,
    );
    assert!(scoped.packed_policy_size().is_some_and(|p| p > 0));
    let carol = session_of(scoped.credentials().unwrap());
    ok(
        "LookupEvents as the federated user",
        f.server
            .cloudtrail_as(&carol)
            .lookup_events()
            .max_results(1)
            .send()
            .await,
    );
    // Alice may, the session policy may not.
    let e = err_info(
        f.server
            .orgs_as(&carol)
            .describe_organization()
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    // The session policy may, Alice may not.
    let e = err_info(
        f.server
            .cloudtrail_as(&carol)
            .create_trail()
            .name("t")
            .s3_bucket_name("b")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    // No IAM and no STS but GetCallerIdentity with federated credentials.
    let e = err_info(f.server.iam_as(&carol).list_users().send().await);
    assert_eq!(e.code, "InvalidClientTokenId", "{e:?}");
    let e = err_info(
        f.server
            .sts_as(&carol)
            .get_federation_token()
            .name("dave")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied", "{e:?}");

    // Session tags: duplicates refused; the session carries them.
    let tag = |k: &str, v: &str| {
        aws_sdk_sts::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .unwrap()
    };
    let e = err_info(
        sts.get_federation_token()
            .name("erin")
            .tags(tag("team", "a"))
            .tags(tag("Team", "b"))
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidParameterValue", "{e:?}");
    // A managed session policy that does not exist.
    let e = err_info(
        sts.get_federation_token()
            .name("erin")
            .policy_arns(
                aws_sdk_sts::types::PolicyDescriptorType::builder()
                    .arn(format!("arn:aws:iam::{ACCOUNT}:policy/nope"))
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(e.code, "MalformedPolicyDocument", "{e:?}");
    // The model's rules on Name (2–32 characters of [\w+=,.@-]).
    let e = err_info(sts.get_federation_token().name("b").send().await);
    assert_eq!(e.code, "ValidationError", "{e:?}");

    // The record of the federated user's call names the session's issuer.
    let events = crate::common::lookup_all(
        &f.server.cloudtrail(),
        Some(attr(LookupAttributeKey::EventName, "LookupEvents")),
    )
    .await;
    let r = events
        .iter()
        .map(record)
        .find(|r| r["userIdentity"]["type"] == "FederatedUser")
        .expect("a record of the federated user's call");
    let who = &r["userIdentity"];
    assert_eq!(who["principalId"], format!("{ACCOUNT}:carol"));
    assert_eq!(
        who["arn"],
        format!("arn:aws:sts::{ACCOUNT}:federated-user/carol")
    );
    assert_eq!(who["sessionContext"]["sessionIssuer"]["type"], "IAMUser");
    assert_eq!(who["sessionContext"]["sessionIssuer"]["userName"], "alice");
    assert_eq!(
        who["sessionContext"]["sessionIssuer"]["arn"],
        format!("arn:aws:iam::{ACCOUNT}:user/alice")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decode_authorization_message_needs_its_permission_and_a_real_message() {
    let f = Fixture::new("sts-decode", ACCOUNT);
    let nobody = user_with_key(
        &f,
        "nobody",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}"#,
    )
    .await;
    let e = err_info(
        f.server
            .sts_as(&nobody)
            .decode_authorization_message()
            .encoded_message("anything")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    // Not a message Cairn encoded (a session token is sealed under the same key, too).
    let token = ok(
        "GetSessionToken",
        f.server.sts_as(&nobody).get_session_token().send().await,
    );
    for bad in [
        "garbage".to_owned(),
        token.credentials().unwrap().session_token().to_owned(),
    ] {
        let e = err_info(
            f.server
                .sts()
                .decode_authorization_message()
                .encoded_message(bad)
                .send()
                .await,
        );
        assert_eq!(e.code, "InvalidAuthorizationMessageException", "{e:?}");
    }
}
