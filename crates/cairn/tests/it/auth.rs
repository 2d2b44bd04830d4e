//! Authentication with the SDKs: wrong secrets, unknown keys, stale signatures, `--dev`.

use std::time::{Duration, SystemTime};

use crate::common::{Server, TempDir, Who, err_info, ok};

/// Well-formed but unknown to the server.
const UNKNOWN_AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SOME_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn twenty_minutes_ago() -> SystemTime {
    SystemTime::now() - Duration::from_secs(20 * 60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforcing_mode_rejects_bad_credentials() {
    let dir = TempDir::new("auth");
    let server = Server::start(&dir, &[]);
    let root = server.root();

    // The right credentials work on all three services.
    ok(
        "GetCallerIdentity",
        server.sts().get_caller_identity().send().await,
    );
    ok(
        "LookupEvents",
        server.cloudtrail().lookup_events().send().await,
    );
    let e = err_info(server.orgs().describe_organization().send().await);
    assert_eq!(
        e.code, "AWSOrganizationsNotInUseException",
        "authenticated: {e:?}"
    );

    // A wrong secret for a known key.
    let wrong = Who::new(&root.akid, SOME_SECRET);
    let e = err_info(server.orgs_as(&wrong).describe_organization().send().await);
    assert_eq!(
        e.code, "InvalidSignatureException",
        "orgs, wrong secret: {e:?}"
    );
    assert!(
        e.request_id.is_some(),
        "orgs, wrong secret: no request id: {e:?}"
    );
    let e = err_info(server.sts_as(&wrong).get_caller_identity().send().await);
    assert_eq!(e.code, "SignatureDoesNotMatch", "sts, wrong secret: {e:?}");
    assert_eq!(e.status, 403, "sts, wrong secret: {e:?}");
    let e = err_info(server.cloudtrail_as(&wrong).lookup_events().send().await);
    assert_eq!(
        e.code, "InvalidSignatureException",
        "cloudtrail, wrong secret: {e:?}"
    );

    // An unknown access key.
    let unknown = Who::new(UNKNOWN_AKID, SOME_SECRET);
    let e = err_info(
        server
            .orgs_as(&unknown)
            .describe_organization()
            .send()
            .await,
    );
    assert_eq!(
        e.code, "UnrecognizedClientException",
        "orgs, unknown key: {e:?}"
    );
    assert_eq!(
        e.message,
        "The security token included in the request is invalid."
    );
    let e = err_info(server.sts_as(&unknown).get_caller_identity().send().await);
    assert_eq!(e.code, "InvalidClientTokenId", "sts, unknown key: {e:?}");
    assert_eq!(e.status, 403, "sts, unknown key: {e:?}");
    let e = err_info(server.cloudtrail_as(&unknown).lookup_events().send().await);
    assert_eq!(
        e.code, "UnrecognizedClientException",
        "cloudtrail, unknown key: {e:?}"
    );

    // A signature made 20 minutes ago (the allowed skew is 15 minutes, as AWS allows).
    let stale = root.clone().at(twenty_minutes_ago());
    let e = err_info(server.orgs_as(&stale).describe_organization().send().await);
    assert_eq!(e.code, "InvalidSignatureException", "orgs, stale: {e:?}");
    assert!(
        e.message.contains("Signature expired"),
        "orgs, stale: {e:?}"
    );
    let e = err_info(server.cloudtrail_as(&stale).lookup_events().send().await);
    assert_eq!(
        e.code, "InvalidSignatureException",
        "cloudtrail, stale: {e:?}"
    );
    assert!(
        e.message.contains("Signature expired"),
        "cloudtrail, stale: {e:?}"
    );

    // A signature 20 minutes in the future.
    let future = root
        .clone()
        .at(SystemTime::now() + Duration::from_secs(20 * 60));
    let e = err_info(server.orgs_as(&future).describe_organization().send().await);
    assert_eq!(e.code, "InvalidSignatureException", "orgs, future: {e:?}");
    assert!(
        e.message.contains("Signature not yet current"),
        "orgs, future: {e:?}"
    );

    // Nothing above changed anything: still no organization, root still works.
    let e = err_info(server.orgs().describe_organization().send().await);
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
}

/// STS is awsQuery: AWS answers an expired signature there with `SignatureDoesNotMatch`
/// (HTTP 403) and the same "Signature expired: … is now earlier than … (… - 15 min.)" text,
/// as seen from `aws sts get-caller-identity` on a skewed clock (e.g. aws/aws-cli#6676,
/// EngineerBetter/control-tower#51).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_stale_signature_is_signature_does_not_match() {
    let dir = TempDir::new("auth-sts-stale");
    let server = Server::start(&dir, &[]);
    let stale = server.root().at(twenty_minutes_ago());
    let e = err_info(server.sts_as(&stale).get_caller_identity().send().await);
    assert_eq!(e.code, "SignatureDoesNotMatch", "sts, stale: {e:?}");
    assert_eq!(e.status, 403, "sts, stale: {e:?}");
    assert!(e.message.contains("Signature expired"), "sts, stale: {e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_accepts_any_credentials_as_the_bootstrap_root() {
    let dir = TempDir::new("dev");
    let server = Server::start(&dir, &["--dev", "--account-id", "000000000000"]);
    let bootstrap = server.creds.account_id.clone();
    assert_eq!(bootstrap, "000000000000");

    for who in [
        Who::new("test", "test"),
        Who::new(UNKNOWN_AKID, SOME_SECRET),
        server.root(),
    ] {
        let me = ok(
            &format!("GetCallerIdentity as {}", who.akid),
            server.sts_as(&who).get_caller_identity().send().await,
        );
        assert_eq!(me.account(), Some(bootstrap.as_str()), "as {}", who.akid);
        assert_eq!(
            me.arn(),
            Some(format!("arn:aws:iam::{bootstrap}:root").as_str()),
            "as {}",
            who.akid
        );
        assert_eq!(me.user_id(), Some(bootstrap.as_str()), "as {}", who.akid);
    }

    // Any credentials act on the bootstrap account's organization.
    let a = server.orgs_as(&Who::new("test", "test"));
    let b = server.orgs_as(&Who::new(UNKNOWN_AKID, SOME_SECRET));
    let created = ok(
        "CreateOrganization (dev)",
        a.create_organization().send().await,
    );
    let org_id = created
        .organization()
        .and_then(|o| o.id())
        .unwrap()
        .to_owned();
    let described = ok(
        "DescribeOrganization (dev, other key)",
        b.describe_organization().send().await,
    );
    assert_eq!(
        described.organization().and_then(|o| o.id()),
        Some(org_id.as_str())
    );
    assert_eq!(
        described.organization().and_then(|o| o.master_account_id()),
        Some(bootstrap.as_str())
    );
    let e = err_info(b.create_organization().send().await);
    assert_eq!(e.code, "AlreadyInOrganizationException", "{e:?}");

    // Signatures are not checked in --dev, the signing time included.
    let stale = Who::new("test", "test").at(twenty_minutes_ago());
    let me = ok(
        "GetCallerIdentity (dev, stale)",
        server.sts_as(&stale).get_caller_identity().send().await,
    );
    assert_eq!(me.account(), Some(bootstrap.as_str()));

    // A key Cairn issued is checked as always: a wrong secret is refused.
    let e = err_info(
        server
            .sts_as(&Who::new(&server.creds.access_key_id, "not-the-secret"))
            .get_caller_identity()
            .send()
            .await,
    );
    assert_eq!(e.code, "SignatureDoesNotMatch", "{e:?}");
}

/// `--dev` does not turn the keys and sessions Cairn issued into the root: an IAM user's key
/// acts as the user (with the user's permissions), and the root (any unknown credentials)
/// may assume a role, whose session then acts as the role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_keeps_issued_credentials_their_owners() {
    let dir = TempDir::new("dev-issued");
    let server = Server::start(&dir, &["--dev", "--account-id", "123456789012"]);
    let anyone = Who::new("test", "test");
    let iam = server.iam_as(&anyone);
    ok(
        "CreateUser",
        iam.create_user().user_name("alice").send().await,
    );
    let key = ok(
        "CreateAccessKey",
        iam.create_access_key().user_name("alice").send().await,
    );
    let key = key.access_key().unwrap();
    let alice = Who::new(key.access_key_id(), key.secret_access_key());
    let me = ok(
        "GetCallerIdentity as alice",
        server.sts_as(&alice).get_caller_identity().send().await,
    );
    assert_eq!(me.arn(), Some("arn:aws:iam::123456789012:user/alice"));
    let e = err_info(server.iam_as(&alice).list_users().send().await);
    assert_eq!(e.code, "AccessDenied", "alice has no policy: {e:?}");

    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
    ok(
        "CreateRole",
        iam.create_role()
            .role_name("deployer")
            .assume_role_policy_document(trust)
            .send()
            .await,
    );
    let assumed = ok(
        "AssumeRole as the dev root",
        server
            .sts_as(&anyone)
            .assume_role()
            .role_arn("arn:aws:iam::123456789012:role/deployer")
            .role_session_name("ci")
            .send()
            .await,
    );
    let c = assumed.credentials().unwrap();
    let session = Who::session(c.access_key_id(), c.secret_access_key(), c.session_token());
    let me = ok(
        "GetCallerIdentity as the role session",
        server.sts_as(&session).get_caller_identity().send().await,
    );
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::123456789012:assumed-role/deployer/ci")
    );
}
