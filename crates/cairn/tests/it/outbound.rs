//! Outbound identity federation with `aws-sdk-iam` and `aws-sdk-sts`: an account enables
//! it, STS signs JWTs for external services, and the issuer's discovery document and keys
//! are served where the token's `iss` says, so a relying party verifies the token as it
//! would AWS's.

use crate::common::{Raw, err_info, ok, send};
use crate::fixture::Fixture;
use base64::Engine;
use serde_json::Value;

const ACCOUNT: &str = "123456789012";

fn b64url(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

/// `GET` a path of the issuer (which is this server) as a relying party would.
fn fetch(port: u16, issuer: &str, path: &str) -> Value {
    let prefix = format!("http://127.0.0.1:{port}");
    let base = issuer
        .strip_prefix(&prefix)
        .expect("the issuer is this server");
    let resp = send(port, &Raw::new("GET", &format!("{base}{path}"), b""));
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_signs_tokens_that_the_issuers_published_keys_verify() {
    let f = Fixture::new("outbound", ACCOUNT);
    let iam = f.server.iam();
    let sts = f.server.sts();
    let e = err_info(iam.get_outbound_web_identity_federation_info().send().await);
    assert_eq!(e.code, "FeatureDisabled", "{e:?}");
    let e = err_info(
        sts.get_web_identity_token()
            .audience("https://api.example.com")
            .signing_algorithm("RS256")
            .send()
            .await,
    );
    assert_eq!(
        e.code, "OutboundWebIdentityFederationDisabledException",
        "{e:?}"
    );

    let enabled = ok(
        "EnableOutboundWebIdentityFederation",
        iam.enable_outbound_web_identity_federation().send().await,
    );
    let issuer = enabled.issuer_identifier().unwrap().to_owned();
    let e = err_info(iam.enable_outbound_web_identity_federation().send().await);
    assert_eq!(e.code, "FeatureEnabled", "{e:?}");
    let info = ok(
        "GetOutboundWebIdentityFederationInfo",
        iam.get_outbound_web_identity_federation_info().send().await,
    );
    assert_eq!(info.issuer_identifier(), Some(issuer.as_str()));
    assert!(info.jwt_vending_enabled());

    let tag = aws_sdk_sts::types::Tag::builder()
        .key("job")
        .value("nightly")
        .build()
        .unwrap();
    let got = ok(
        "GetWebIdentityToken",
        sts.get_web_identity_token()
            .audience("https://api.example.com")
            .signing_algorithm("RS256")
            .duration_seconds(120)
            .tags(tag)
            .send()
            .await,
    );
    let jwt = got.web_identity_token().unwrap().to_owned();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let header: Value = serde_json::from_slice(&b64url(parts[0])).unwrap();
    let claims: Value = serde_json::from_slice(&b64url(parts[1])).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["aud"], "https://api.example.com");
    assert_eq!(claims["sub"], format!("arn:aws:iam::{ACCOUNT}:root"));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    let aws = &claims["https://sts.amazonaws.com/"];
    assert_eq!(aws["aws_account"], ACCOUNT);
    assert_eq!(aws["source_region"], "us-east-1");
    assert_eq!(aws["request_tags"]["job"], "nightly");

    // The relying party: discovery document, then the key named by `kid`.
    let discovery = fetch(f.server.port, &issuer, "/.well-known/openid-configuration");
    assert_eq!(discovery["issuer"], issuer);
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap().to_owned();
    assert_eq!(jwks_uri, format!("{issuer}/.well-known/jwks.json"));
    let jwks = fetch(f.server.port, &issuer, "/.well-known/jwks.json");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's key is published");
    use rsa::sha2::Digest as _;
    let n = b64url(key["n"].as_str().unwrap());
    let e = b64url(key["e"].as_str().unwrap());
    let public = rsa::PublicKey::new(
        rsa::BoxedUint::from_be_slice(&n, u32::try_from(n.len() * 8).unwrap()).unwrap(),
        rsa::BoxedUint::from_be_slice(&e, 32).unwrap(),
    )
    .unwrap();
    let digest = rsa::sha2::Sha256::digest(format!("{}.{}", parts[0], parts[1]).as_bytes());
    public
        .verify(
            rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(),
            &digest,
            &b64url(parts[2]),
        )
        .expect("the signature verifies with the published key");
    // A tampered token does not.
    let forged = serde_json::to_vec(&serde_json::json!({"sub": "someone-else"})).unwrap();
    let forged_digest = rsa::sha2::Sha256::digest(
        format!(
            "{}.{}",
            parts[0],
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged)
        )
        .as_bytes(),
    );
    assert!(
        public
            .verify(
                rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(),
                &forged_digest,
                &b64url(parts[2]),
            )
            .is_err()
    );
    // A workload scoped as AWS's guide shows: one audience, at most five minutes.
    ok(
        "CreateUser",
        iam.create_user().user_name("worker").send().await,
    );
    ok(
        "PutUserPolicy",
        iam.put_user_policy()
            .user_name("worker")
            .policy_name("tokens")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetWebIdentityToken","Resource":"*","Condition":{"ForAllValues:StringEquals":{"sts:IdentityTokenAudience":"https://api.example.com"},"NumericLessThanEquals":{"sts:DurationSeconds":"300"}}}]}"#)
            .send()
            .await,
    );
    let key = ok(
        "CreateAccessKey",
        iam.create_access_key().user_name("worker").send().await,
    );
    let key = key.access_key().unwrap();
    let worker = f.server.sts_as(&crate::common::Who::new(
        key.access_key_id(),
        key.secret_access_key(),
    ));
    let token = |aud: &'static str, secs: i32| {
        worker
            .get_web_identity_token()
            .audience(aud)
            .signing_algorithm("RS256")
            .duration_seconds(secs)
            .send()
    };
    let mine = ok(
        "GetWebIdentityToken as the worker",
        token("https://api.example.com", 300).await,
    );
    let claims: Value = serde_json::from_slice(&b64url(
        mine.web_identity_token()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap(),
    ))
    .unwrap();
    assert_eq!(claims["sub"], format!("arn:aws:iam::{ACCOUNT}:user/worker"));
    let e = err_info(token("https://other.example.com", 300).await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    let e = err_info(token("https://api.example.com", 900).await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");

    // Unknown issuers are not served.
    let resp = send(
        f.server.port,
        &Raw::new("GET", "/outbound/nope/.well-known/jwks.json", b""),
    );
    assert_eq!(resp.status, 404);

    // Neither of the API reference's two algorithms.
    let e = err_info(
        sts.get_web_identity_token()
            .audience("a")
            .signing_algorithm("HS256")
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationError", "{e:?}");

    // Disabled: no more tokens; the issuer and its keys stay for re-enabling.
    ok(
        "DisableOutboundWebIdentityFederation",
        iam.disable_outbound_web_identity_federation().send().await,
    );
    let e = err_info(iam.disable_outbound_web_identity_federation().send().await);
    assert_eq!(e.code, "FeatureDisabled", "{e:?}");
    let info = ok(
        "GetOutboundWebIdentityFederationInfo",
        iam.get_outbound_web_identity_federation_info().send().await,
    );
    assert!(!info.jwt_vending_enabled());
    let e = err_info(
        sts.get_web_identity_token()
            .audience("https://api.example.com")
            .signing_algorithm("RS256")
            .send()
            .await,
    );
    assert_eq!(
        e.code, "OutboundWebIdentityFederationDisabledException",
        "{e:?}"
    );
    let again = ok(
        "EnableOutboundWebIdentityFederation again",
        iam.enable_outbound_web_identity_federation().send().await,
    );
    assert_eq!(again.issuer_identifier(), Some(issuer.as_str()));
}

/// ES384, AWS's other `SigningAlgorithm`: the token's signature is JWS's `r || s` and
/// verifies, with the `p384` crate rather than Cairn's code, against the P-384 key the
/// issuer's JWKS publishes under the token's `kid`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es384_tokens_verify_against_the_published_p384_key() {
    use p384::ecdsa::signature::Verifier as _;
    let f = Fixture::new("outbound-es384", ACCOUNT);
    let enabled = ok(
        "EnableOutboundWebIdentityFederation",
        f.server
            .iam()
            .enable_outbound_web_identity_federation()
            .send()
            .await,
    );
    let issuer = enabled.issuer_identifier().unwrap().to_owned();
    let got = ok(
        "GetWebIdentityToken ES384",
        f.server
            .sts()
            .get_web_identity_token()
            .audience("https://api.example.com")
            .signing_algorithm("ES384")
            .send()
            .await,
    );
    let jwt = got.web_identity_token().unwrap().to_owned();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let header: Value = serde_json::from_slice(&b64url(parts[0])).unwrap();
    let claims: Value = serde_json::from_slice(&b64url(parts[1])).unwrap();
    assert_eq!(header["alg"], "ES384");
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["aud"], "https://api.example.com");

    let discovery = fetch(f.server.port, &issuer, "/.well-known/openid-configuration");
    let algs = discovery["id_token_signing_alg_values_supported"].to_string();
    assert!(algs.contains("ES384"), "{algs}");
    let jwks = fetch(f.server.port, &issuer, "/.well-known/jwks.json");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's key is published");
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-384");
    assert_eq!(key["alg"], "ES384");
    let (x, y) = (
        b64url(key["x"].as_str().unwrap()),
        b64url(key["y"].as_str().unwrap()),
    );
    assert_eq!((x.len(), y.len()), (48, 48));
    let mut sec1 = vec![0x04];
    sec1.extend_from_slice(&x);
    sec1.extend_from_slice(&y);
    let public = p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).expect("a P-384 point");
    let raw = b64url(parts[2]);
    assert_eq!(raw.len(), 96, "JWS's r || s, not DER");
    let sig = p384::ecdsa::Signature::from_slice(&raw).unwrap();
    let input = format!("{}.{}", parts[0], parts[1]);
    public
        .verify(input.as_bytes(), &sig)
        .expect("the signature verifies with the published key");
    let forged = format!(
        "{}.{}",
        parts[0],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"someone-else"}"#)
    );
    assert!(public.verify(forged.as_bytes(), &sig).is_err());
}
