//! `sts:AssumeRoleWithWebIdentity`: an OpenID Connect ID token (a JWT) becomes a role
//! session when it is genuine and the role's trust policy admits it.
//!
//! Checks, in this order, each failing with AWS's error:
//! 1. the token is a JWT (`header.payload.signature`, base64url JSON) with an `iss`;
//! 2. the role's account has an IAM OIDC provider for that issuer;
//! 3. its `aud` (a string or a list) holds one of the provider's client IDs;
//! 4. `exp` is in the future, `nbf` / `iat` not;
//! 5. the signature (RS256) verifies with the issuer's key named by `kid`, from the JWKS that
//!    `<iss>/.well-known/openid-configuration` points to (`jwks_uri`). The JWKS is fetched
//!    over HTTPS through [`cairn_core::Fetch`] (TLS verified against the trusted roots —
//!    AWS's behaviour for issuers with a publicly trusted certificate; the provider's
//!    thumbprints are kept but not used to verify), and kept for ten minutes; an unknown `kid`
//!    fetches it again once (key rotation);
//! 6. the role's trust policy allows `sts:AssumeRoleWithWebIdentity` for the `Federated`
//!    principal of the provider's ARN, with the token's claims as condition keys
//!    `<provider>:aud`, `:sub`, `:azp`, `:amr`, `:oaud` (IAM User Guide, "Available keys for
//!    AWS OIDC federation").
//!
//! The messages marked AWS's below are the texts AWS answers (quoted in public reports of
//! these errors); the others are [M].

use crate::providers::OidcProviderRec;
use base64::Engine;
use cairn_core::Fetch;
use cairn_policy::{Context, Effect, Policy, Principal, PrincipalType, Request};
use cairn_wire::ApiError;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// How long fetched keys are trusted.
const JWKS_TTL_MS: i64 = 10 * 60 * 1000;

/// AWS's limit on a web identity token (`webIdentityTokenType`, 4–20000 characters) is the
/// model's; the payload's own bound is the same order.
const MAX_TOKEN: usize = 20_000;

fn invalid_token(message: impl Into<String>) -> ApiError {
    ApiError::new(
        cairn_api::sts::Error::InvalidIdentityTokenException,
        message,
    )
}

/// AWS's text for a token that is not a JWT.
fn not_a_jwt() -> ApiError {
    invalid_token(
        "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
    )
}

/// AWS's text for a refused trust (or a role that does not exist).
pub(crate) fn not_authorized() -> ApiError {
    ApiError::new(
        cairn_wire::error::ErrorShape {
            code: "AccessDenied",
            status: 403,
            sender_fault: true,
            message_key: "message",
        },
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    )
}

/// AWS's text when the issuer's keys cannot be had.
fn no_keys() -> ApiError {
    ApiError::new(
        cairn_api::sts::Error::IDPCommunicationErrorException,
        "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
    )
}

fn b64url(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
}

/// A JWT taken apart, not yet verified.
pub(crate) struct Token {
    pub kid: Option<String>,
    pub alg: String,
    pub claims: serde_json::Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Token {
    pub(crate) fn parse(jwt: &str) -> Result<Token, ApiError> {
        if jwt.len() > MAX_TOKEN {
            return Err(not_a_jwt());
        }
        let mut parts = jwt.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(not_a_jwt());
        };
        let header: Value = b64url(h)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(not_a_jwt)?;
        let Some(Value::Object(claims)) = b64url(p).and_then(|b| serde_json::from_slice(&b).ok())
        else {
            return Err(not_a_jwt());
        };
        let signature = b64url(s).ok_or_else(not_a_jwt)?;
        Ok(Token {
            kid: header.get("kid").and_then(Value::as_str).map(str::to_owned),
            alg: header
                .get("alg")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            claims,
            signing_input: format!("{h}.{p}"),
            signature,
        })
    }

    pub(crate) fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// `aud`, a string or a list of strings.
    pub(crate) fn audiences(&self) -> Vec<&str> {
        match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    fn time_claim(&self, name: &str) -> Option<i64> {
        self.claims
            .get(name)
            .and_then(Value::as_f64)
            .map(|f| f as i64)
    }
}

/// An issuer's RSA keys as (kid, modulus, exponent), big-endian.
type RsaKeys = Vec<(Option<String>, Vec<u8>, Vec<u8>)>;

/// Keys fetched per issuer: when, and the JWKS's RSA keys.
#[derive(Default)]
pub struct JwksCache {
    inner: Mutex<HashMap<String, (i64, RsaKeys)>>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwksCache")
    }
}

async fn fetch_json(fetch: &dyn Fetch, url: &str) -> Result<Value, ApiError> {
    if !url.starts_with("https://") {
        return Err(no_keys());
    }
    match fetch.get(url).await {
        Ok((200, body)) => serde_json::from_slice(&body).map_err(|_| no_keys()),
        Ok((status, _)) => {
            tracing::warn!(%url, status, "OIDC issuer answered an error");
            Err(no_keys())
        }
        Err(e) => {
            tracing::warn!(%url, error = %e, "OIDC issuer unreachable");
            Err(no_keys())
        }
    }
}

/// The issuer's RSA keys: its discovery document's `jwks_uri`, then that JWKS.
async fn fetch_keys(fetch: &dyn Fetch, issuer: &str) -> Result<RsaKeys, ApiError> {
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let doc = fetch_json(fetch, &discovery).await?;
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(no_keys)?
        .to_owned();
    let jwks = fetch_json(fetch, &jwks_uri).await?;
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(no_keys)?
        .iter()
        .filter(|k| k.get("kty").and_then(Value::as_str) == Some("RSA"))
        .filter_map(|k| {
            let n = b64url(k.get("n")?.as_str()?)?;
            let e = b64url(k.get("e")?.as_str()?)?;
            Some((
                k.get("kid").and_then(Value::as_str).map(str::to_owned),
                n,
                e,
            ))
        })
        .collect();
    Ok(keys)
}

impl JwksCache {
    async fn keys(
        &self,
        fetch: &dyn Fetch,
        issuer: &str,
        now_ms: i64,
        refresh: bool,
    ) -> Result<RsaKeys, ApiError> {
        if !refresh
            && let Ok(map) = self.inner.lock()
            && let Some((at, keys)) = map.get(issuer)
            && now_ms - at < JWKS_TTL_MS
        {
            return Ok(keys.clone());
        }
        let keys = fetch_keys(fetch, issuer).await?;
        if let Ok(mut map) = self.inner.lock() {
            map.insert(issuer.to_owned(), (now_ms, keys.clone()));
        }
        Ok(keys)
    }
}

fn verify_rs256(token: &Token, n: &[u8], e: &[u8]) -> bool {
    use rsa::sha2::Digest as _;
    let bits = |b: &[u8]| u32::try_from(b.len() * 8).unwrap_or(u32::MAX);
    let (Ok(n), Ok(e)) = (
        rsa::BoxedUint::from_be_slice(n, bits(n)),
        rsa::BoxedUint::from_be_slice(e, bits(e).max(32)),
    ) else {
        return false;
    };
    let Ok(key) = rsa::PublicKey::new(n, e) else {
        return false;
    };
    let digest = rsa::sha2::Sha256::digest(token.signing_input.as_bytes());
    key.verify(
        rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(),
        &digest,
        &token.signature,
    )
    .is_ok()
}

/// Steps 3–5: audience, times, signature. Answers the audience that matched.
pub(crate) async fn verify(
    token: &Token,
    provider: &OidcProviderRec,
    fetch: Option<&dyn Fetch>,
    cache: &JwksCache,
    now_ms: i64,
) -> Result<String, ApiError> {
    let aud = token
        .audiences()
        .into_iter()
        .find(|a| provider.client_ids.iter().any(|c| c == a))
        .ok_or_else(|| invalid_token("Incorrect token audience"))?
        .to_owned();
    let now = now_ms.div_euclid(1000);
    match token.time_claim("exp") {
        Some(exp) if exp > now => {}
        Some(exp) => {
            // AWS's text.
            return Err(ApiError::new(
                cairn_api::sts::Error::ExpiredTokenException,
                format!(
                    "Token expired: current date/time {now} must be before the expiration date/time {exp}"
                ),
            ));
        }
        None => return Err(not_a_jwt()),
    }
    // A minute of clock skew either way, as issuers and relying parties commonly allow.
    for claim in ["nbf", "iat"] {
        if token.time_claim(claim).is_some_and(|t| t > now + 60) {
            return Err(invalid_token(format!(
                "The token's {claim} is in the future."
            )));
        }
    }
    if token.alg != "RS256" {
        return Err(invalid_token(
            "Unsupported or invalid token signing algorithm.",
        ));
    }
    let fetch = fetch.ok_or_else(no_keys)?;
    let issuer = format!("https://{}", provider.url);
    for refresh in [false, true] {
        let keys = cache.keys(fetch, &issuer, now_ms, refresh).await?;
        let candidates: Vec<_> = keys
            .iter()
            .filter(|(kid, _, _)| token.kid.is_none() || kid.as_deref() == token.kid.as_deref())
            .collect();
        if candidates.is_empty() && !refresh {
            continue;
        }
        if candidates.iter().any(|(_, n, e)| verify_rs256(token, n, e)) {
            return Ok(aud);
        }
        break;
    }
    Err(invalid_token(
        "The web identity token's signature is not valid.",
    ))
}

/// The identity a verified token stands for: the provider (ARN, and URL without the
/// scheme, which prefixes its condition keys) and the audience that matched.
pub(crate) struct WebIdentity<'a> {
    pub provider_arn: &'a str,
    pub provider_url: &'a str,
    pub token: &'a Token,
    pub aud: &'a str,
}

/// Step 6: whether the trust policy allows the provider's identity with these claims.
pub(crate) fn trust_allows(
    trust: &Policy,
    role_arn: &str,
    account: &str,
    who: &WebIdentity<'_>,
    now_ms: i64,
) -> bool {
    let WebIdentity {
        provider_arn,
        provider_url,
        token,
        aud,
    } = *who;
    let mut context = Context::new();
    context.insert(&format!("{provider_url}:aud"), aud);
    for claim in ["sub", "azp", "oaud"] {
        if let Some(v) = token.str_claim(claim) {
            context.insert(&format!("{provider_url}:{claim}"), v);
        }
    }
    match token.claims.get("amr") {
        Some(Value::String(s)) => context.insert(&format!("{provider_url}:amr"), s.clone()),
        Some(Value::Array(a)) => context.insert_multi(
            &format!("{provider_url}:amr"),
            a.iter().filter_map(Value::as_str).map(str::to_owned),
        ),
        _ => {}
    }
    context.insert("aws:FederatedProvider", provider_arn);
    context.insert("aws:EpochTime", now_ms.div_euclid(1000).to_string());
    let principal =
        Principal::new(PrincipalType::Anonymous, "", account).with_federated_provider(provider_arn);
    let request = Request {
        principal,
        action: "sts:AssumeRoleWithWebIdentity",
        resource: role_arn,
        resource_account: None,
        context: &context,
    };
    let matches = cairn_policy::explain(&request, trust);
    matches
        .iter()
        .any(|m| m.matches && m.statement.effect() == Effect::Allow)
        && !matches
            .iter()
            .any(|m| m.matches && m.statement.effect() == Effect::Deny)
}
