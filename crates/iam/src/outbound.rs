//! Outbound identity federation: an account's IAM principals obtain JSON Web Tokens signed
//! by STS (`sts:GetWebIdentityToken`) that external services verify with the issuer's
//! published keys (IAM User Guide, "Outbound identity federation"; API reference,
//! `EnableOutboundWebIdentityFederation`, `GetOutboundWebIdentityFederationInfo`,
//! `DisableOutboundWebIdentityFederation`).
//!
//! Each account that enables the feature gets an issuer: AWS's is
//! `https://<id>.tokens.sts.global.api.aws`; Cairn's is `<public URL>/outbound/<id>`, where
//! Cairn serves the OpenID Connect discovery document (`/.well-known/openid-configuration`)
//! and the keys (`/.well-known/jwks.json`) that AWS hosts at its issuer ([`discovery`],
//! [`jwks`]). The signing key is the account's own RSA key (2048 bits), generated when the
//! feature is first enabled and sealed at rest; tokens are RS256.
//!
//! | space          | key         | value           |
//! |----------------|-------------|-----------------|
//! | `iam.outbound` | `<account>` | [`OutboundRec`] |

use crate::common::{Ctx, fail};
use crate::records::{self, FORMAT};
use crate::seal::Sealer;
use base64::Engine;
use cairn_api::iam::{Error, types};
use cairn_core::{Failure, Ids};
use cairn_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub(crate) const OUTBOUND: &str = "iam.outbound";
const KEY_BITS: usize = 2048;

/// An account's outbound federation: its issuer and signing key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboundRec {
    pub v: u32,
    /// The issuer's unique part.
    pub issuer_id: String,
    /// Whether tokens are issued (`JwtVendingEnabled`); the issuer and key stay when the
    /// feature is disabled, so an external service's trust survives re-enabling.
    pub enabled: bool,
    /// The key's `kid`.
    pub kid: String,
    /// The public key's modulus and exponent, base64url (JWK `n`, `e`).
    pub n: String,
    pub e: String,
    /// The PKCS#1 DER private key, base64, sealed under the master key.
    pub private_sealed: String,
}

/// A new signing key (slow: RSA key generation; call outside any transaction).
pub struct NewKey {
    kid: String,
    n: String,
    e: String,
    private_sealed: String,
}

struct IdsRng<'a>(&'a dyn Ids);

impl rand_core_010::TryRng for IdsRng<'_> {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.0.fill(&mut b);
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill(dst);
        Ok(())
    }
}

impl rand_core_010::TryCryptoRng for IdsRng<'_> {}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Generates an account's signing key, sealed with `sealer`.
pub fn generate_key(ids: &dyn Ids, sealer: &Sealer) -> Option<NewKey> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let private = rsa::PrivateKey::new(&mut IdsRng(ids), KEY_BITS).ok()?;
    let public = private.to_public_key();
    let n = public.n().to_be_bytes();
    let e = public.e().to_be_bytes();
    let der = private.to_pkcs1_der().ok()?;
    let mut nonce = [0u8; 12];
    ids.fill(&mut nonce);
    let private_sealed = sealer.seal(
        &base64::engine::general_purpose::STANDARD.encode(der.as_bytes()),
        nonce,
    )?;
    let mut kid = [0u8; 16];
    ids.fill(&mut kid);
    Some(NewKey {
        kid: hex(&kid),
        n: b64url(&strip_zeros(&n)),
        e: b64url(&strip_zeros(&e)),
        private_sealed,
    })
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or_default().to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn load(tx: &mut dyn Tx, account: &str) -> Result<Option<OutboundRec>, StoreError> {
    records::load(tx, OUTBOUND, account)
}

/// The issuer an account's tokens name: `<base>/outbound/<id>`.
pub fn issuer(base: &str, rec: &OutboundRec) -> String {
    format!("{base}/outbound/{}", rec.issuer_id)
}

fn disabled() -> Failure {
    // API reference, GetOutboundWebIdentityFederationInfo / Disable…: FeatureDisabled
    // (HTTP 409). [M]: the text.
    fail(
        Error::FeatureDisabledException,
        "Outbound identity federation is not enabled for this account.",
    )
}

/// Whether the account has a key already (then enabling needs no new one).
pub(crate) fn has_key(tx: &mut dyn Tx, account: &str) -> Result<bool, StoreError> {
    Ok(load(tx, account)?.is_some())
}

pub(crate) fn enable(
    tx: &mut dyn Tx,
    c: &Ctx,
    base: &str,
    key: Option<&NewKey>,
) -> Result<types::EnableOutboundWebIdentityFederationResponse, Failure> {
    let rec = match load(tx, &c.account)? {
        Some(r) if r.enabled => {
            // API reference: "You cannot enable the feature multiple times". [M]: the text.
            return Err(fail(
                Error::FeatureEnabledException,
                "Outbound identity federation is already enabled for this account.",
            ));
        }
        Some(mut r) => {
            r.enabled = true;
            r
        }
        None => {
            let key = key.ok_or_else(|| Failure(cairn_wire::ApiError::internal()))?;
            OutboundRec {
                v: FORMAT,
                issuer_id: c.ids.uuid(),
                enabled: true,
                kid: key.kid.clone(),
                n: key.n.clone(),
                e: key.e.clone(),
                private_sealed: key.private_sealed.clone(),
            }
        }
    };
    records::save(tx, OUTBOUND, &c.account, &rec)?;
    Ok(types::EnableOutboundWebIdentityFederationResponse {
        issuer_identifier: Some(issuer(base, &rec)),
    })
}

pub(crate) fn disable(tx: &mut dyn Tx, c: &Ctx) -> Result<(), Failure> {
    let mut rec = load(tx, &c.account)?
        .filter(|r| r.enabled)
        .ok_or_else(disabled)?;
    rec.enabled = false;
    records::save(tx, OUTBOUND, &c.account, &rec)?;
    Ok(())
}

pub(crate) fn info(
    tx: &mut dyn Tx,
    c: &Ctx,
    base: &str,
) -> Result<types::GetOutboundWebIdentityFederationInfoResponse, Failure> {
    let rec = load(tx, &c.account)?.ok_or_else(disabled)?;
    Ok(types::GetOutboundWebIdentityFederationInfoResponse {
        issuer_identifier: Some(issuer(base, &rec)),
        jwt_vending_enabled: Some(rec.enabled),
    })
}

/// The account whose issuer has `issuer_id`, and its record.
pub fn by_issuer_id(
    tx: &mut dyn Tx,
    issuer_id: &str,
) -> Result<Option<(String, OutboundRec)>, StoreError> {
    // Few accounts enable the feature; a scan of the space is fine.
    for (k, v) in tx.scan_prefix(OUTBOUND, b"", false, usize::MAX)? {
        let Ok(rec) = serde_json::from_slice::<OutboundRec>(&v) else {
            continue;
        };
        if rec.issuer_id == issuer_id {
            return Ok(Some((String::from_utf8_lossy(&k).into_owned(), rec)));
        }
    }
    Ok(None)
}

/// The OpenID Connect discovery document of `issuer`.
pub fn discovery(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
}

/// The issuer's keys as a JWK set.
pub fn jwks(rec: &OutboundRec) -> Value {
    json!({"keys": [{
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": rec.kid,
        "n": rec.n,
        "e": rec.e,
    }]})
}

/// Signs `claims` as an RS256 JWT with the account's key.
pub fn sign(ids: &dyn Ids, sealer: &Sealer, rec: &OutboundRec, claims: &Value) -> Option<String> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::sha2::Digest as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(sealer.open(&rec.private_sealed)?)
        .ok()?;
    let key = rsa::PrivateKey::from_pkcs1_der(&der).ok()?;
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": rec.kid});
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let digest = rsa::sha2::Sha256::digest(input.as_bytes());
    let sig = key
        .sign_with_rng(
            &mut IdsRng(ids),
            rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(),
            &digest,
        )
        .ok()?;
    Some(format!("{input}.{}", b64url(&sig)))
}
