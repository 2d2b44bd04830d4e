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
//! [`jwks`]). The account has two signing keys, generated when the feature is first enabled
//! and sealed at rest: an RSA key (2048 bits) for RS256 tokens and a P-384 key for ES384
//! tokens, the two values of `SigningAlgorithm` (API reference, `GetWebIdentityToken`).
//! ES384 signatures are JWS's: the fixed-size `r || s` (96 bytes), not DER (RFC 7518
//! §3.4). A record written before ES384 gets its P-384 key when the feature is next enabled.
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
    /// The ES384 key; `None` in records written before ES384.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec: Option<EcKey>,
}

/// An account's P-384 signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcKey {
    /// The key's `kid`.
    pub kid: String,
    /// The public point's affine coordinates, 48 bytes each, base64url (JWK `x`, `y`).
    pub x: String,
    pub y: String,
    /// The private scalar (48 bytes, big-endian), base64, sealed under the master key.
    pub private_sealed: String,
}

/// The JWS algorithms `GetWebIdentityToken` signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Rs256,
    Es384,
}

impl Alg {
    /// The algorithm `SigningAlgorithm` names (`RS256`, `ES384`), if Cairn signs with it.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "ES384" => Some(Self::Es384),
            _ => None,
        }
    }
}

/// A new signing key (slow: RSA key generation; call outside any transaction).
pub struct NewKey {
    kid: String,
    n: String,
    e: String,
    private_sealed: String,
    ec: EcKey,
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

/// Generates an account's P-384 key, sealed with `sealer`: a random scalar, drawn again in
/// the (2^-190) case that it is zero or not below the group order.
pub fn generate_ec_key(ids: &dyn Ids, sealer: &Sealer) -> Option<EcKey> {
    let key = loop {
        let mut scalar = [0u8; 48];
        ids.fill(&mut scalar);
        if let Ok(k) = p384::ecdsa::SigningKey::from_slice(&scalar) {
            break k;
        }
    };
    use p384::elliptic_curve::sec1::ToSec1Point as _;
    let point = key.verifying_key().as_affine().to_sec1_point(false);
    let (x, y) = (point.x()?, point.y()?);
    let mut nonce = [0u8; 12];
    ids.fill(&mut nonce);
    let private_sealed = sealer.seal(
        &base64::engine::general_purpose::STANDARD.encode(key.to_bytes()),
        nonce,
    )?;
    let mut kid = [0u8; 16];
    ids.fill(&mut kid);
    Some(EcKey {
        kid: hex(&kid),
        x: b64url(x),
        y: b64url(y),
        private_sealed,
    })
}

/// Generates an account's signing keys, sealed with `sealer`.
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
        ec: generate_ec_key(ids, sealer)?,
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

/// Whether the account has its keys already (then enabling needs no new one).
pub(crate) fn has_key(tx: &mut dyn Tx, account: &str) -> Result<bool, StoreError> {
    Ok(load(tx, account)?.is_some_and(|r| r.ec.is_some()))
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
            if r.ec.is_none() {
                r.ec = key.map(|k| k.ec.clone());
            }
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
                ec: Some(key.ec.clone()),
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
        "id_token_signing_alg_values_supported": ["RS256", "ES384"],
    })
}

/// The issuer's keys as a JWK set.
pub fn jwks(rec: &OutboundRec) -> Value {
    let mut keys = vec![json!({
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": rec.kid,
        "n": rec.n,
        "e": rec.e,
    })];
    if let Some(ec) = &rec.ec {
        keys.push(json!({
            "kty": "EC",
            "use": "sig",
            "alg": "ES384",
            "kid": ec.kid,
            "crv": "P-384",
            "x": ec.x,
            "y": ec.y,
        }));
    }
    json!({ "keys": keys })
}

/// Signs `claims` as a JWT with the account's key for `alg` (`None`: the record has no such
/// key, or it cannot be opened).
pub fn sign(
    ids: &dyn Ids,
    sealer: &Sealer,
    rec: &OutboundRec,
    claims: &Value,
    alg: Alg,
) -> Option<String> {
    match alg {
        Alg::Rs256 => sign_rs256(ids, sealer, rec, claims),
        Alg::Es384 => sign_es384(sealer, rec.ec.as_ref()?, claims),
    }
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

/// ECDSA over SHA-384 with RFC 6979 nonces (deterministic: no randomness needed), the
/// signature as JWS wants it: `r || s`, 48 bytes each.
fn sign_es384(sealer: &Sealer, ec: &EcKey, claims: &Value) -> Option<String> {
    use p384::ecdsa::signature::Signer as _;
    let scalar = base64::engine::general_purpose::STANDARD
        .decode(sealer.open(&ec.private_sealed)?)
        .ok()?;
    let key = p384::ecdsa::SigningKey::from_slice(&scalar).ok()?;
    let input = signing_input(
        &json!({"alg": "ES384", "typ": "JWT", "kid": ec.kid}),
        claims,
    );
    let sig: p384::ecdsa::Signature = key.try_sign(input.as_bytes()).ok()?;
    Some(format!("{input}.{}", b64url(&sig.to_bytes())))
}

fn sign_rs256(ids: &dyn Ids, sealer: &Sealer, rec: &OutboundRec, claims: &Value) -> Option<String> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::sha2::Digest as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(sealer.open(&rec.private_sealed)?)
        .ok()?;
    let key = rsa::PrivateKey::from_pkcs1_der(&der).ok()?;
    let input = signing_input(
        &json!({"alg": "RS256", "typ": "JWT", "kid": rec.kid}),
        claims,
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

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        reason = "test code: a failed expectation panics"
    )]

    use super::*;
    use p384::ecdsa::signature::Verifier as _;

    fn unb64(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .unwrap()
    }

    #[test]
    fn es384_signatures_are_raw_r_s_and_verify_with_the_published_point() {
        let ids = cairn_core::SeededIds::new(11);
        let sealer = Sealer::new(&[5u8; 32]);
        let ec = generate_ec_key(&ids, &sealer).unwrap();
        // Sealed at rest: the record holds no scalar in the clear.
        assert!(sealer.open(&ec.private_sealed).is_some());
        let claims = json!({"sub": "arn:aws:iam::123456789012:root"});
        let jwt = sign_es384(&sealer, &ec, &claims).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        let header: Value = serde_json::from_slice(&unb64(parts[0])).unwrap();
        assert_eq!(header["alg"], "ES384");
        assert_eq!(header["kid"], ec.kid.as_str());
        let sig = unb64(parts[2]);
        assert_eq!(sig.len(), 96);
        let mut sec1 = vec![0x04];
        sec1.extend(unb64(&ec.x));
        sec1.extend(unb64(&ec.y));
        let public = p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        let sig = p384::ecdsa::Signature::from_slice(&sig).unwrap();
        let input = format!("{}.{}", parts[0], parts[1]);
        assert!(public.verify(input.as_bytes(), &sig).is_ok());
        assert!(public.verify(b"other", &sig).is_err());
    }

    #[test]
    fn the_jwks_lists_both_keys_and_old_records_only_the_rsa_one() {
        let mut rec = OutboundRec {
            v: FORMAT,
            issuer_id: "i".into(),
            enabled: true,
            kid: "rsa".into(),
            n: "AQAB".into(),
            e: "AQAB".into(),
            private_sealed: String::new(),
            ec: None,
        };
        // A record written before ES384 reads back with no P-384 key.
        let old: OutboundRec = serde_json::from_str(
            r#"{"v":1,"issuer_id":"i","enabled":true,"kid":"rsa","n":"AQAB","e":"AQAB","private_sealed":""}"#,
        )
        .unwrap();
        assert_eq!(old.ec, None);
        assert_eq!(jwks(&rec)["keys"].as_array().unwrap().len(), 1);
        rec.ec = Some(EcKey {
            kid: "ec".into(),
            x: "x".into(),
            y: "y".into(),
            private_sealed: String::new(),
        });
        let keys = jwks(&rec)["keys"].clone();
        assert_eq!(keys[1]["kty"], "EC");
        assert_eq!(keys[1]["crv"], "P-384");
        assert_eq!(keys[1]["kid"], "ec");
    }
}
