//! SAML federation end to end: samlify (npm), a real SAML IdP library, signs AWS-shaped login
//! responses through `scripts/saml_idp.mjs`; its metadata becomes an IAM SAML provider, a
//! role trusts it, and `sts:AssumeRoleWithSAML` (the SDK, unsigned as AWS serves it) turns
//! an assertion into a role session — once, while it is valid, and only when it is genuinely
//! the IdP's and unwrapped.
//!
//! Needs `CAIRN_TEST_SAML_IDP` (`scripts/saml-idp-install.sh` prints it; `.ci/run` sets it).

use crate::common::{Server, TempDir, Who, err_info, ok};
use base64::Engine;
use std::path::Path;
use std::time::Duration;

const ACCOUNT: &str = "123456789012";
const ENTITY: &str = "https://idp.example.com/saml";
const ROLE: &str = "arn:aws:iam::123456789012:role/SamlRole";
const PROVIDER: &str = "arn:aws:iam::123456789012:saml-provider/TestIdP";
const A_ROLE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
const A_NAME: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";

/// What the IdP signs: `extra` merged into a response for alice naming `SamlRole`.
fn request(extra: serde_json::Value) -> serde_json::Value {
    let mut req = serde_json::json!({
        "entityId": ENTITY,
        "nameId": "alice@example.com",
        "attributes": {
            A_ROLE: [format!("{ROLE},{PROVIDER}")],
            A_NAME: ["alice"],
            "https://aws.amazon.com/SAML/Attributes/PrincipalTag:team": ["blue"],
        },
    });
    if let (Some(r), serde_json::Value::Object(e)) = (req.as_object_mut(), extra) {
        r.extend(e);
    }
    req
}

/// Runs the IdP: (its metadata, a base64 SAMLResponse).
fn idp(work: &Path, req: &serde_json::Value) -> (String, String) {
    let modules = Path::new(
        &std::env::var("CAIRN_TEST_SAML_IDP")
            .expect("CAIRN_TEST_SAML_IDP was set when this test was built: rebuild"),
    )
    .join("node_modules");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/saml_idp.mjs");
    let out = std::process::Command::new("node")
        .arg(script)
        .arg(work)
        .arg(req.to_string())
        .env("NODE_PATH", modules)
        .output()
        .expect("running node");
    assert!(
        out.status.success(),
        "saml_idp.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["metadata"].as_str().unwrap().to_owned(),
        v["response"].as_str().unwrap().to_owned(),
    )
}

/// A server with the IdP's SAML provider `TestIdP` and the role `SamlRole` trusting it for
/// `*@example.com` subjects sent to AWS's sign-in endpoint.
async fn setup(dir: &TempDir) -> Server {
    let work = dir.path().join("idp");
    std::fs::create_dir_all(&work).unwrap();
    let (metadata, _) = idp(&work, &request(serde_json::json!({})));
    let server = Server::start(dir, &["--account-id", ACCOUNT]);
    let iam = server.iam();
    let created = ok(
        "CreateSAMLProvider",
        iam.create_saml_provider()
            .name("TestIdP")
            .saml_metadata_document(metadata)
            .send()
            .await,
    );
    assert_eq!(created.saml_provider_arn(), Some(PROVIDER));
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
            "Condition": {
                "StringEquals": {
                    "SAML:aud": "https://signin.aws.amazon.com/saml",
                    "SAML:iss": ENTITY,
                    "SAML:sub_type": "persistent",
                },
                "StringLike": {"SAML:sub": "*@example.com"},
            },
        }],
    });
    ok(
        "CreateRole",
        iam.create_role()
            .role_name("SamlRole")
            .assume_role_policy_document(trust.to_string())
            .send()
            .await,
    );
    server
}

type Assumed = Result<
    aws_sdk_sts::operation::assume_role_with_saml::AssumeRoleWithSamlOutput,
    aws_sdk_sts::error::SdkError<
        aws_sdk_sts::operation::assume_role_with_saml::AssumeRoleWithSAMLError,
        aws_sdk_sts::config::http::HttpResponse,
    >,
>;

async fn assume(server: &Server, role: &str, response: &str) -> Assumed {
    server
        .sts_as(&Who::new("unused", "unused"))
        .assume_role_with_saml()
        .role_arn(role)
        .principal_arn(PROVIDER)
        .saml_assertion(response)
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(cairn_saml_idp),
    ignore = "needs samlify: build and run with CAIRN_TEST_SAML_IDP from scripts/saml-idp-install.sh (.ci/run sets it)"
)]
async fn a_samlify_assertion_assumes_the_role_once() {
    let dir = TempDir::new("saml-assume");
    let mut server = setup(&dir).await;
    let (_, response) = idp(&dir.path().join("idp"), &request(serde_json::json!({})));
    let out = ok("AssumeRoleWithSAML", assume(&server, ROLE, &response).await);
    let session_arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/SamlRole/alice");
    assert_eq!(
        out.assumed_role_user().map(|u| u.arn()),
        Some(session_arn.as_str())
    );
    assert_eq!(out.subject(), Some("alice@example.com"));
    assert_eq!(out.subject_type(), Some("persistent"));
    assert_eq!(out.issuer(), Some(ENTITY));
    assert_eq!(out.audience(), Some("https://signin.aws.amazon.com/saml"));
    let qualifier = out.name_qualifier().unwrap().to_owned();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(&qualifier)
            .unwrap()
            .len(),
        20,
        "base64 of a SHA-1"
    );
    let c = out.credentials().unwrap();
    let session = Who::session(c.access_key_id(), c.secret_access_key(), c.session_token());
    let me = ok(
        "GetCallerIdentity (the SAML session)",
        server.sts_as(&session).get_caller_identity().send().await,
    );
    assert_eq!(me.arn(), Some(session_arn.as_str()));
    assert_eq!(me.account(), Some(ACCOUNT));

    // Replayed: refused, and still after a restart (the used assertion is in the store).
    let e = err_info(assume(&server, ROLE, &response).await);
    assert_eq!(e.code, "InvalidIdentityToken", "{e:?}");
    assert_eq!(e.message, "The SAML assertion has already been used");
    server.terminate(Duration::from_secs(10));
    let server = Server::start(&dir, &["--account-id", ACCOUNT]);
    let e = err_info(assume(&server, ROLE, &response).await);
    assert_eq!(
        e.code, "InvalidIdentityToken",
        "replay after a restart: {e:?}"
    );

    // CloudTrail: the role's account sees the call, made by a SAMLUser.
    let events = ok(
        "LookupEvents",
        server
            .cloudtrail()
            .lookup_events()
            .lookup_attributes(
                aws_sdk_cloudtrail::types::LookupAttribute::builder()
                    .attribute_key(aws_sdk_cloudtrail::types::LookupAttributeKey::EventName)
                    .attribute_value("AssumeRoleWithSAML")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    let records: Vec<serde_json::Value> = events
        .events()
        .iter()
        .map(|e| serde_json::from_str(e.cloud_trail_event().unwrap()).unwrap())
        .collect();
    assert_eq!(records.len(), 3, "{records:?}");
    assert!(
        records.iter().all(|r| r["recipientAccountId"] == ACCOUNT),
        "{records:?}"
    );
    let success = records
        .iter()
        .find(|r| r.get("errorCode").is_none())
        .expect("the successful call is recorded");
    assert_eq!(
        success["userIdentity"],
        serde_json::json!({
            "type": "SAMLUser",
            "principalId": format!("{qualifier}:alice@example.com"),
            "userName": "alice@example.com",
            "identityProvider": qualifier,
        }),
        "{success}"
    );
    assert_eq!(
        success["responseElements"]["assumedRoleUser"]["arn"],
        session_arn.as_str()
    );
    let params = &success["requestParameters"];
    assert_eq!(params["roleArn"], ROLE, "{params}");
    assert_eq!(params["principalArn"], PROVIDER, "{params}");
    assert_eq!(params["roleSessionName"], "alice", "{params}");
    assert_eq!(
        params["principalTags"],
        serde_json::json!({"team": "blue"}),
        "{params}"
    );
    assert!(
        params["sAMLAssertionID"]
            .as_str()
            .is_some_and(|id| id.starts_with('_'))
    );
    assert!(
        !success.to_string().contains(&response[..40]),
        "the assertion itself is not recorded"
    );
    let resources: Vec<&str> = success["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(resources, ["AWS::IAM::Role", "AWS::IAM::SAMLProvider"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(cairn_saml_idp),
    ignore = "needs samlify: build and run with CAIRN_TEST_SAML_IDP from scripts/saml-idp-install.sh (.ci/run sets it)"
)]
async fn forged_wrapped_expired_and_misdirected_assertions_are_refused() {
    let dir = TempDir::new("saml-refused");
    let server = setup(&dir).await;
    let work = dir.path().join("idp");
    let refused = |code: &'static str, message: Option<&'static str>| {
        move |e: crate::common::ErrInfo| {
            assert_eq!(e.code, code, "{e:?}");
            if let Some(m) = message {
                assert_eq!(e.message, m, "{e:?}");
            }
        }
    };

    // Re-signed by a key the provider's metadata does not hold.
    let (_, other) = idp(&work, &request(serde_json::json!({"key": "other"})));
    refused("InvalidIdentityToken", Some("Response signature invalid"))(err_info(
        assume(&server, ROLE, &other).await,
    ));

    // Wrapped: a forged assertion (another role) before the signed one.
    let (_, genuine) = idp(&work, &request(serde_json::json!({})));
    let xml = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&genuine)
            .unwrap(),
    )
    .unwrap();
    let start = xml.find("<saml:Assertion").unwrap();
    let end = xml.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let forged = xml[start..end]
        .replace("role/SamlRole", "role/Admin")
        .replace("ID=\"_", "ID=\"_forged");
    let wrapped = format!("{}{forged}{}", &xml[..start], &xml[start..]);
    refused("InvalidIdentityToken", None)(err_info(
        assume(
            &server,
            ROLE,
            &base64::engine::general_purpose::STANDARD.encode(wrapped),
        )
        .await,
    ));
    // Tampered in place (the signed assertion's role changed).
    let tampered = xml.replace(&format!("{ROLE},"), "arn:aws:iam::123456789012:role/Admin,");
    refused("InvalidIdentityToken", Some("Response signature invalid"))(err_info(
        assume(
            &server,
            "arn:aws:iam::123456789012:role/Admin",
            &base64::engine::general_purpose::STANDARD.encode(tampered),
        )
        .await,
    ));
    // The genuine one still works: the refusals spent nothing.
    ok("AssumeRoleWithSAML", assume(&server, ROLE, &genuine).await);

    // Expired ten minutes ago.
    let (_, expired) = idp(&work, &request(serde_json::json!({"validSeconds": -600})));
    refused("ExpiredTokenException", None)(err_info(assume(&server, ROLE, &expired).await));

    // Meant for another service provider, or presented to another endpoint.
    let (_, audience) = idp(
        &work,
        &request(serde_json::json!({"audience": "https://sp.example.com/metadata"})),
    );
    refused("InvalidIdentityToken", None)(err_info(assume(&server, ROLE, &audience).await));
    let (_, recipient) = idp(
        &work,
        &request(serde_json::json!({"recipient": "https://sp.example.com/acs"})),
    );
    refused("InvalidIdentityToken", None)(err_info(assume(&server, ROLE, &recipient).await));

    // A role the assertion does not name, and a subject the trust policy does not admit.
    let (_, other_role) = idp(
        &work,
        &request(serde_json::json!({"attributes": {
            A_ROLE: [format!("arn:aws:iam::{ACCOUNT}:role/Other,{PROVIDER}")],
            A_NAME: ["alice"],
        }})),
    );
    refused(
        "AccessDenied",
        Some("Not authorized to perform sts:AssumeRoleWithSAML"),
    )(err_info(assume(&server, ROLE, &other_role).await));
    let (_, stranger) = idp(
        &work,
        &request(serde_json::json!({"nameId": "mallory@evil.example"})),
    );
    refused(
        "AccessDenied",
        Some("Not authorized to perform sts:AssumeRoleWithSAML"),
    )(err_info(assume(&server, ROLE, &stranger).await));
    // No RoleSessionName.
    let (_, nameless) = idp(
        &work,
        &request(serde_json::json!({"attributes": {A_ROLE: [format!("{ROLE},{PROVIDER}")]}})),
    );
    refused(
        "InvalidIdentityToken",
        Some("RoleSessionName is required in AuthnResponse"),
    )(err_info(assume(&server, ROLE, &nameless).await));
}
