//! CI federation end to end: a test-only OpenID Connect issuer on loopback (HTTPS, its
//! discovery document and JWKS, an RSA key made here) issues GitHub-Actions-shaped ID
//! tokens, and `sts:AssumeRoleWithWebIdentity` (the SDK, unsigned as AWS serves it) turns
//! them into a role session — only for the repository and audience the trust policy names,
//! and only while the token is valid and genuinely signed.

use crate::common::{Server, TempDir, Who, err_info, ok};
use base64::Engine;
use rsa::traits::PublicKeyParts;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACCOUNT: &str = "123456789012";

/// Randomness for test keys (rsa's `rand_core` 0.10 interface over Cairn's own source).
pub(crate) struct TestRng;

impl rand_core_010::TryRng for TestRng {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        use cairn_core::Ids;
        cairn_core::RandomIds.fill(dst);
        Ok(())
    }
}

impl rand_core_010::TryCryptoRng for TestRng {}

fn b64u(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn unsigned_be(n: &rsa::BoxedUint) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

/// A signed RS256 JWT with `claims`.
fn jwt(key: &rsa::PrivateKey, kid: &str, claims: &serde_json::Value) -> String {
    use rsa::sha2::Digest as _;
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": kid});
    let input = format!(
        "{}.{}",
        b64u(header.to_string().as_bytes()),
        b64u(claims.to_string().as_bytes())
    );
    let digest = rsa::sha2::Sha256::digest(input.as_bytes());
    let sig = key
        .sign(rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(), &digest)
        .unwrap();
    format!("{input}.{}", b64u(&sig))
}

/// An HTTPS issuer at `https://localhost:<port>` (certificate from a test CA) answering its
/// discovery document and JWKS; returns its URL and the CA's PEM.
async fn issuer(key: &rsa::PrivateKey, kid: &str) -> (String, String) {
    let (acceptor, ca_pem) = crate::common::localhost_tls("Cairn test OIDC CA");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://localhost:{}",
        listener.local_addr().unwrap().port()
    );
    let public = key.to_public_key();
    let jwks = serde_json::json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
        "n": b64u(&unsigned_be(public.n())), "e": b64u(&unsigned_be(public.e())),
    }]})
    .to_string();
    let discovery = serde_json::json!({
        "issuer": url, "jwks_uri": format!("{url}/.well-known/jwks"),
        "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
    .to_string();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, jwks, discovery) = (acceptor.clone(), jwks.clone(), discovery.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => buf.extend_from_slice(&chunk[..k]),
                    }
                }
                let head = String::from_utf8_lossy(&buf);
                let path = head.split_whitespace().nth(1).unwrap_or("");
                let (status, body) = match path {
                    "/.well-known/openid-configuration" => ("200 OK", discovery),
                    "/.well-known/jwks" => ("200 OK", jwks),
                    _ => ("404 Not Found", String::from("{}")),
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (url, ca_pem)
}

fn now_s() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// GitHub Actions' claims for a workflow run of `repo` on `main`.
fn github_claims(iss: &str, repo: &str, aud: &str, exp: i64) -> serde_json::Value {
    serde_json::json!({
        "iss": iss, "aud": aud, "exp": exp, "iat": now_s() - 5, "nbf": now_s() - 5,
        "sub": format!("repo:{repo}:ref:refs/heads/main"),
        "repository": repo, "ref": "refs/heads/main", "event_name": "push",
        "jti": "a9a8c2d1", "actor": "octocat",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ci_token_assumes_the_role_its_trust_policy_names() {
    let key = rsa::PrivateKey::new(&mut TestRng, 2048).unwrap();
    let (iss, ca_pem) = issuer(&key, "key-1").await;
    let host = iss.strip_prefix("https://").unwrap().to_owned();
    let dir = TempDir::new("web-identity");
    let ca_file = dir.path().join("oidc-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let server = Server::start_with_env(
        &dir,
        &["--account-id", ACCOUNT],
        &[("SSL_CERT_FILE", ca_file.to_str().unwrap())],
    );
    let iam = server.iam();
    let provider = ok(
        "CreateOpenIDConnectProvider",
        iam.create_open_id_connect_provider()
            .url(&iss)
            .client_id_list("sts.amazonaws.com")
            .send()
            .await,
    );
    let provider_arn = provider.open_id_connect_provider_arn().unwrap().to_owned();
    assert_eq!(
        provider_arn,
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{host}")
    );
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {format!("{host}:aud"): "sts.amazonaws.com"},
                "StringLike": {format!("{host}:sub"): "repo:octo-org/infra:*"},
            },
        }],
    });
    ok(
        "CreateRole",
        iam.create_role()
            .role_name("ci-deploy")
            .assume_role_policy_document(trust.to_string())
            .send()
            .await,
    );
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/ci-deploy");
    let sts = server.sts_as(&Who::new("unused", "unused"));
    let assume = |token: String| {
        let sts = sts.clone();
        let role_arn = role_arn.clone();
        async move {
            sts.assume_role_with_web_identity()
                .role_arn(role_arn)
                .role_session_name("gha-run-42")
                .web_identity_token(token)
                .send()
                .await
        }
    };
    let exp = now_s() + 300;

    let good = jwt(
        &key,
        "key-1",
        &github_claims(&iss, "octo-org/infra", "sts.amazonaws.com", exp),
    );
    let out = ok("AssumeRoleWithWebIdentity", assume(good).await);
    assert_eq!(
        out.assumed_role_user().map(|u| u.arn()),
        Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/ci-deploy/gha-run-42").as_str())
    );
    assert_eq!(out.audience(), Some("sts.amazonaws.com"));
    assert_eq!(out.provider(), Some(iss.as_str()));
    assert_eq!(
        out.subject_from_web_identity_token(),
        Some("repo:octo-org/infra:ref:refs/heads/main")
    );
    let c = out.credentials().unwrap();
    let session = Who::session(c.access_key_id(), c.secret_access_key(), c.session_token());
    let me = ok(
        "GetCallerIdentity (the CI session)",
        server.sts_as(&session).get_caller_identity().send().await,
    );
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/ci-deploy/gha-run-42").as_str())
    );

    // Another repository: the trust policy's `sub` condition refuses it.
    let other = jwt(
        &key,
        "key-1",
        &github_claims(&iss, "evil-org/infra", "sts.amazonaws.com", exp),
    );
    let e = err_info(assume(other).await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    assert_eq!(
        e.message,
        "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );
    // Expired.
    let old = jwt(
        &key,
        "key-1",
        &github_claims(&iss, "octo-org/infra", "sts.amazonaws.com", now_s() - 60),
    );
    let e = err_info(assume(old).await);
    assert_eq!(e.code, "ExpiredTokenException", "{e:?}");
    assert!(
        e.message.starts_with("Token expired: current date/time"),
        "{e:?}"
    );
    // Another audience than the provider's client IDs.
    let aud = jwt(
        &key,
        "key-1",
        &github_claims(&iss, "octo-org/infra", "someone-else", exp),
    );
    let e = err_info(assume(aud).await);
    assert_eq!(e.code, "InvalidIdentityToken", "{e:?}");
    assert_eq!(e.message, "Incorrect token audience");
    // Signed by a key that is not the issuer's.
    let forger = rsa::PrivateKey::new(&mut TestRng, 2048).unwrap();
    let forged = jwt(
        &forger,
        "key-1",
        &github_claims(&iss, "octo-org/infra", "sts.amazonaws.com", exp),
    );
    let e = err_info(assume(forged).await);
    assert_eq!(e.code, "InvalidIdentityToken", "{e:?}");
    // An issuer with no IAM provider in the account, and something that is no JWT.
    let stranger = jwt(
        &key,
        "key-1",
        &github_claims(
            "https://issuer.example.com",
            "octo-org/infra",
            "sts.amazonaws.com",
            exp,
        ),
    );
    let e = err_info(assume(stranger).await);
    assert_eq!(e.code, "InvalidIdentityToken", "{e:?}");
    assert!(
        e.message
            .starts_with("No OpenIDConnect provider found in your account for"),
        "{e:?}"
    );
    let e = err_info(assume("not-a-jwt-at-all".to_owned()).await);
    assert_eq!(e.code, "InvalidIdentityToken", "{e:?}");

    // The calls are the role's account's to see in CloudTrail, refusals included.
    let events = ok(
        "LookupEvents",
        server
            .cloudtrail()
            .lookup_events()
            .lookup_attributes(
                aws_sdk_cloudtrail::types::LookupAttribute::builder()
                    .attribute_key(aws_sdk_cloudtrail::types::LookupAttributeKey::EventName)
                    .attribute_value("AssumeRoleWithWebIdentity")
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
    assert!(records.len() >= 7, "{records:?}");
    assert!(
        records.iter().all(|r| r["recipientAccountId"] == ACCOUNT),
        "{records:?}"
    );
    assert!(
        records.iter().any(|r| r["errorCode"] == "AccessDenied"),
        "the refused repository is recorded: {records:?}"
    );
    // A verified token's call names the web identity; a token that never verified, nobody.
    let granted = records
        .iter()
        .find(|r| r.get("errorCode").is_none())
        .expect("a granted call");
    let who = &granted["userIdentity"];
    assert_eq!(who["type"], "WebIdentityUser", "{granted}");
    assert_eq!(
        who["userName"], "repo:octo-org/infra:ref:refs/heads/main",
        "{granted}"
    );
    assert!(
        who["principalId"]
            .as_str()
            .unwrap()
            .ends_with(":sts.amazonaws.com:repo:octo-org/infra:ref:refs/heads/main"),
        "{granted}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["errorCode"] == "InvalidIdentityToken"
                && r["userIdentity"]["type"] == "Unknown"),
        "{records:?}"
    );
}
