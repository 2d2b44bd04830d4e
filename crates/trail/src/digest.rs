//! Log file integrity validation: signed, chained digest files, as AWS writes them and as
//! `aws cloudtrail validate-logs` checks them.
//!
//! For a trail with `LogFileValidationEnabled`, every log file delivered for an account and
//! region is noted in that *chain*; every digest interval (AWS: an hour) each chain gets a
//! digest file — also when no log file was delivered — listing the files (bucket, key,
//! SHA-256 of the uncompressed file, oldest and newest event time), chained to the previous
//! digest by its object, its SHA-256 and its signature. A chain ends with a final digest
//! when logging stops or validation is turned off; the next start begins a new chain (its
//! first digest names no previous one).
//!
//! The format, the key layout and the signature are those the AWS CLI validates
//! (`awscli/customizations/cloudtrail/validation.py`; CloudTrail UG, "CloudTrail digest file
//! structure"):
//!
//! * key `[prefix/]AWSLogs/[<o-id>/]<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_<trail>_<home-region>_<YYYYMMDDTHHMMSSZ>.json.gz`,
//!   the time being the digest's end;
//! * signature: RSA PKCS#1 v1.5 with SHA-256 over
//!   `digestEndTime \n bucket/key \n hex(SHA-256(uncompressed digest)) \n previousDigestSignature|null`,
//!   hex-encoded in the object metadata `signature`, with `signature-algorithm` =
//!   `SHA256withRSA`;
//! * the signing key: one RSA-2048 key per region at a time, valid for [`KEY_VALIDITY_MS`]
//!   and replaced before it runs out; its private half sealed at rest with the master key;
//!   `ListPublicKeys` serves the public halves (PKCS#1 DER) with their validity windows.
//!   The fingerprint is the hex MD5 of the DER public key (AWS's fingerprints are 32 hex
//!   digits; how AWS computes them is not documented).
//!
//! ## Spaces
//!
//! * `trail.keys` — key `region ‖ 00 ‖ be(valid_from_ms)`, value JSON [`SigningKeyRec`].
//! * `trail.chains` — key chain key (trail key ‖ `00` ‖ account ‖ `00` ‖ region), value
//!   JSON [`ChainRec`].
//! * `trail.digestq` — key chain key ‖ `00` ‖ log-file key, value JSON [`LogEntry`]: the
//!   files delivered since the chain's last digest.

use crate::delivery::{LogFile, gzip, hex};
use crate::record::format_event_time;
use crate::trails::{self, TrailRec};
use cairn_core::{Ids, Seal};
use cairn_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};

pub const KEYS: &str = "trail.keys";
pub const CHAINS: &str = "trail.chains";
pub const DIGESTQ: &str = "trail.digestq";

/// How long a signing key signs (30 days); a new one takes over [`KEY_OVERLAP_MS`] before.
pub const KEY_VALIDITY_MS: i64 = 30 * 24 * 3_600_000;
pub const KEY_OVERLAP_MS: i64 = 24 * 3_600_000;
/// RSA modulus size of the signing keys.
const KEY_BITS: usize = 2048;

/// A region's signing key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SigningKeyRec {
    pub region: String,
    pub valid_from_ms: i64,
    pub valid_to_ms: i64,
    /// PKCS#1 DER of the public key, base64.
    pub public_der_b64: String,
    pub fingerprint: String,
    /// PKCS#1 DER of the private key, base64, sealed with the master key.
    pub private_sealed: String,
}

/// The previous digest of a chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Previous {
    pub bucket: String,
    pub key: String,
    pub hash_hex: String,
    pub signature_hex: String,
}

/// A chain: an account and region of a trail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChainRec {
    pub account: String,
    pub region: String,
    /// Start of the period the next digest covers.
    pub period_start_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Previous>,
    /// The organization of an organization trail (its key prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
}

/// A delivered log file awaiting its digest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogEntry {
    pub bucket: String,
    pub key: String,
    pub hash_hex: String,
    pub oldest_ms: i64,
    pub newest_ms: i64,
}

fn corrupt(what: &str, e: &serde_json::Error) -> StoreError {
    StoreError::Backend(format!("corrupt {what}: {e}"))
}

fn trail_prefix(trail: &TrailRec) -> Vec<u8> {
    let mut k = trails::key(&trail.account, &trail.home_region, &trail.name);
    k.push(0);
    k
}

fn chain_key(trail: &TrailRec, account: &str, region: &str) -> Vec<u8> {
    let mut k = trail_prefix(trail);
    k.extend_from_slice(account.as_bytes());
    k.push(0);
    k.extend_from_slice(region.as_bytes());
    k
}

/// Notes a delivered log file in its chain (in the delivery's acknowledgement), starting the
/// chain if this is its first file.
pub fn note_log_file(
    tx: &mut dyn Tx,
    trail: &TrailRec,
    file: &LogFile,
    org_id: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ck = chain_key(trail, &file.account, &file.region);
    if tx.get(CHAINS, &ck)?.is_none() {
        put_chain(
            tx,
            &ck,
            &ChainRec {
                account: file.account.clone(),
                region: file.region.clone(),
                period_start_ms: now_ms,
                previous: None,
                org_id: org_id.map(str::to_owned),
            },
        )?;
    }
    let mut qk = ck;
    qk.push(0);
    qk.extend_from_slice(file.key.as_bytes());
    let entry = LogEntry {
        bucket: file.bucket.clone(),
        key: file.key.clone(),
        hash_hex: file.hash_hex()?,
        oldest_ms: file.oldest_ms,
        newest_ms: file.newest_ms,
    };
    let v = serde_json::to_vec(&entry).map_err(|e| corrupt("digest entry", &e))?;
    tx.put(DIGESTQ, &qk, &v)
}

fn put_chain(tx: &mut dyn Tx, key: &[u8], chain: &ChainRec) -> Result<(), StoreError> {
    let v = serde_json::to_vec(chain).map_err(|e| corrupt("digest chain", &e))?;
    tx.put(CHAINS, key, &v)
}

/// Starts the home chain of a trail that validates and logs (so that hours without any
/// delivery still get their digest).
pub fn ensure_home_chain(
    tx: &mut dyn Tx,
    trail: &TrailRec,
    org_id: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let ck = chain_key(trail, &trail.account, &trail.home_region);
    if tx.get(CHAINS, &ck)?.is_some() {
        return Ok(());
    }
    put_chain(
        tx,
        &ck,
        &ChainRec {
            account: trail.account.clone(),
            region: trail.home_region.clone(),
            period_start_ms: now_ms,
            previous: None,
            org_id: org_id.map(str::to_owned),
        },
    )
}

/// The chains of a trail.
pub fn chains(tx: &mut dyn Tx, trail: &TrailRec) -> Result<Vec<(Vec<u8>, ChainRec)>, StoreError> {
    tx.scan_prefix(CHAINS, &trail_prefix(trail), false, usize::MAX)?
        .into_iter()
        .map(|(k, v)| {
            let c: ChainRec =
                serde_json::from_slice(&v).map_err(|e| corrupt("digest chain", &e))?;
            Ok((k, c))
        })
        .collect()
}

/// The files waiting in a chain: `(row key, entry)`.
pub fn waiting(tx: &mut dyn Tx, chain_key: &[u8]) -> Result<Vec<(Vec<u8>, LogEntry)>, StoreError> {
    let mut p = chain_key.to_vec();
    p.push(0);
    tx.scan_prefix(DIGESTQ, &p, false, usize::MAX)?
        .into_iter()
        .map(|(k, v)| {
            let e: LogEntry =
                serde_json::from_slice(&v).map_err(|e| corrupt("digest entry", &e))?;
            Ok((k, e))
        })
        .collect()
}

/// Removes every chain of a trail and what waits in them (the trail was deleted).
pub fn forget(tx: &mut dyn Tx, trail: &TrailRec) -> Result<(), StoreError> {
    let p = trail_prefix(trail);
    for (k, _) in tx.scan_prefix(CHAINS, &p, false, usize::MAX)? {
        tx.delete(CHAINS, &k)?;
    }
    for (k, _) in tx.scan_prefix(DIGESTQ, &p, false, usize::MAX)? {
        tx.delete(DIGESTQ, &k)?;
    }
    Ok(())
}

// ------------------------------------------------------------------------------- keys

/// An [`Ids`] as the random source RSA key generation and blinding need.
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

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// The hex MD5 of a DER public key.
pub fn fingerprint(public_der: &[u8]) -> String {
    use md5::Digest;
    hex(&md5::Md5::digest(public_der))
}

/// A new signing key for `region`, valid from `now_ms` (slow: seconds of CPU; call outside
/// any transaction).
pub fn generate_key(
    ids: &dyn Ids,
    seal: &dyn Seal,
    region: &str,
    now_ms: i64,
) -> Result<SigningKeyRec, StoreError> {
    use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
    let fail = |what: &str| StoreError::Backend(format!("trail signing key: {what}"));
    let private =
        rsa::PrivateKey::new(&mut IdsRng(ids), KEY_BITS).map_err(|e| fail(&e.to_string()))?;
    let public_der = private
        .to_public_key()
        .to_pkcs1_der()
        .map_err(|e| fail(&e.to_string()))?;
    let private_der = private.to_pkcs1_der().map_err(|e| fail(&e.to_string()))?;
    let mut nonce = [0u8; 12];
    ids.fill(&mut nonce);
    let private_sealed = seal
        .seal(&b64(private_der.as_bytes()), nonce)
        .ok_or_else(|| fail("sealing failed"))?;
    Ok(SigningKeyRec {
        region: region.to_owned(),
        valid_from_ms: now_ms,
        valid_to_ms: now_ms.saturating_add(KEY_VALIDITY_MS),
        public_der_b64: b64(public_der.as_bytes()),
        fingerprint: fingerprint(public_der.as_bytes()),
        private_sealed,
    })
}

fn key_row(region: &str, valid_from_ms: i64) -> Vec<u8> {
    let mut k = region.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&valid_from_ms.to_be_bytes());
    k
}

/// Stores a generated key.
pub fn put_key(tx: &mut dyn Tx, key: &SigningKeyRec) -> Result<(), StoreError> {
    let v = serde_json::to_vec(key).map_err(|e| corrupt("signing key", &e))?;
    tx.put(KEYS, &key_row(&key.region, key.valid_from_ms), &v)
}

/// Every key of `region`, oldest first.
pub fn keys_of(tx: &mut dyn Tx, region: &str) -> Result<Vec<SigningKeyRec>, StoreError> {
    let mut p = region.as_bytes().to_vec();
    p.push(0);
    tx.scan_prefix(KEYS, &p, false, usize::MAX)?
        .into_iter()
        .map(|(_, v)| serde_json::from_slice(&v).map_err(|e| corrupt("signing key", &e)))
        .collect()
}

/// The key that signs in `region` at `now_ms`: the newest one valid then, unless it runs out
/// within [`KEY_OVERLAP_MS`] (a new one should be made).
pub fn signing_key(
    tx: &mut dyn Tx,
    region: &str,
    now_ms: i64,
) -> Result<Option<SigningKeyRec>, StoreError> {
    Ok(keys_of(tx, region)?.into_iter().rev().find(|k| {
        k.valid_from_ms <= now_ms && now_ms < k.valid_to_ms.saturating_sub(KEY_OVERLAP_MS)
    }))
}

/// The keys of `region` valid at some instant of `[start_ms, end_ms]` (`ListPublicKeys`).
pub fn keys_between(
    tx: &mut dyn Tx,
    region: &str,
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<SigningKeyRec>, StoreError> {
    Ok(keys_of(tx, region)?
        .into_iter()
        .filter(|k| k.valid_from_ms <= end_ms && start_ms < k.valid_to_ms)
        .collect())
}

/// The PKCS#1 DER of a key's public half.
pub fn public_der(key: &SigningKeyRec) -> Vec<u8> {
    unb64(&key.public_der_b64).unwrap_or_default()
}

// ----------------------------------------------------------------------------- digests

/// A digest ready to put, and the chain state it leads to.
#[derive(Debug, Clone)]
pub struct DigestFile {
    pub bucket: String,
    pub key: String,
    pub body: Vec<u8>,
    pub metadata: Vec<(String, String)>,
    pub chain_key: Vec<u8>,
    /// The chain after this digest (`None`: the chain ends with it).
    pub next: Option<ChainRec>,
    /// The `trail.digestq` rows this digest lists.
    pub rows: Vec<Vec<u8>>,
}

/// `YYYY/MM/DD` and `YYYYMMDDTHHMMSSZ` of an instant.
fn digest_stamps(ms: i64) -> (String, String) {
    let t = format_event_time(ms);
    let p = |a: usize, b: usize| t.get(a..b).unwrap_or("00").to_owned();
    (
        format!("{}/{}/{}", p(0, 4), p(5, 7), p(8, 10)),
        format!(
            "{}{}{}T{}{}{}Z",
            p(0, 4),
            p(5, 7),
            p(8, 10),
            p(11, 13),
            p(14, 16),
            p(17, 19)
        ),
    )
}

/// The key of a digest file.
pub fn digest_key(trail: &TrailRec, chain: &ChainRec, end_ms: i64) -> String {
    let (day, stamp) = digest_stamps(end_ms);
    let mut k = String::new();
    if let Some(p) = &trail.prefix {
        k.push_str(p);
        k.push('/');
    }
    k.push_str("AWSLogs/");
    if let Some(o) = &chain.org_id {
        k.push_str(o);
        k.push('/');
    }
    let (account, region) = (&chain.account, &chain.region);
    k.push_str(&format!(
        "{account}/CloudTrail-Digest/{region}/{day}/{account}_CloudTrail-Digest_{region}_{}_{}_{stamp}.json.gz",
        trail.name, trail.home_region
    ));
    k
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// Builds and signs the digest of a chain for the period ending `end_ms`.
#[expect(
    clippy::too_many_arguments,
    reason = "the digest's inputs, each distinct"
)]
pub fn build(
    trail: &TrailRec,
    chain_key: &[u8],
    chain: &ChainRec,
    files: &[(Vec<u8>, LogEntry)],
    end_ms: i64,
    key: &SigningKeyRec,
    seal: &dyn Seal,
    ids: &dyn Ids,
    last: bool,
) -> Result<DigestFile, StoreError> {
    use serde_json::{Value, json};
    let fail = |what: &str| StoreError::Backend(format!("trail digest: {what}"));
    let bucket = trail.bucket.clone();
    let object = digest_key(trail, chain, end_ms);
    let end = format_event_time(end_ms);
    let oldest = files.iter().map(|f| f.1.oldest_ms).min();
    let newest = files.iter().map(|f| f.1.newest_ms).max();
    let time = |t: Option<i64>| t.map_or(Value::Null, |ms| Value::String(format_event_time(ms)));
    let prev = chain.previous.as_ref();
    // Field order as in AWS's sample (CloudTrail UG, "Sample digest file contents").
    let mut doc = serde_json::Map::new();
    doc.insert("awsAccountId".into(), json!(chain.account));
    doc.insert(
        "digestStartTime".into(),
        json!(format_event_time(chain.period_start_ms)),
    );
    doc.insert("digestEndTime".into(), json!(end));
    doc.insert("digestS3Bucket".into(), json!(bucket));
    doc.insert("digestS3Object".into(), json!(object));
    doc.insert("digestPublicKeyFingerprint".into(), json!(key.fingerprint));
    doc.insert("digestSignatureAlgorithm".into(), json!("SHA256withRSA"));
    doc.insert("newestEventTime".into(), time(newest));
    doc.insert("oldestEventTime".into(), time(oldest));
    doc.insert(
        "previousDigestS3Bucket".into(),
        prev.map_or(Value::Null, |p| json!(p.bucket)),
    );
    doc.insert(
        "previousDigestS3Object".into(),
        prev.map_or(Value::Null, |p| json!(p.key)),
    );
    doc.insert(
        "previousDigestHashValue".into(),
        prev.map_or(Value::Null, |p| json!(p.hash_hex)),
    );
    doc.insert(
        "previousDigestHashAlgorithm".into(),
        prev.map_or(Value::Null, |_| json!("SHA-256")),
    );
    doc.insert(
        "previousDigestSignature".into(),
        prev.map_or(Value::Null, |p| json!(p.signature_hex)),
    );
    let logs: Vec<Value> = files
        .iter()
        .map(|(_, f)| {
            json!({
                "s3Bucket": f.bucket,
                "s3Object": f.key,
                "hashValue": f.hash_hex,
                "hashAlgorithm": "SHA-256",
                "newestEventTime": format_event_time(f.newest_ms),
                "oldestEventTime": format_event_time(f.oldest_ms),
            })
        })
        .collect();
    doc.insert("logFiles".into(), Value::Array(logs));
    let text = Value::Object(doc).to_string();
    let hash_hex = sha256_hex(text.as_bytes());
    let to_sign = format!(
        "{end}\n{bucket}/{object}\n{hash_hex}\n{}",
        prev.map_or("null", |p| p.signature_hex.as_str())
    );
    let private_der = seal
        .open(&key.private_sealed)
        .and_then(|b| unb64(&b))
        .ok_or_else(|| fail("the signing key does not open with this master key"))?;
    let signature = {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::sha2::Digest as _;
        let private =
            rsa::PrivateKey::from_pkcs1_der(&private_der).map_err(|e| fail(&e.to_string()))?;
        let digest = rsa::sha2::Sha256::digest(to_sign.as_bytes());
        private
            .sign_with_rng(
                &mut IdsRng(ids),
                rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(),
                &digest,
            )
            .map_err(|e| fail(&e.to_string()))?
    };
    let signature_hex = hex(&signature);
    let next = (!last).then(|| ChainRec {
        account: chain.account.clone(),
        region: chain.region.clone(),
        period_start_ms: end_ms,
        previous: Some(Previous {
            bucket: bucket.clone(),
            key: object.clone(),
            hash_hex,
            signature_hex: signature_hex.clone(),
        }),
        org_id: chain.org_id.clone(),
    });
    Ok(DigestFile {
        bucket,
        key: object,
        body: gzip(text.as_bytes())?,
        metadata: vec![
            ("signature".to_owned(), signature_hex),
            ("signature-algorithm".to_owned(), "SHA256withRSA".to_owned()),
        ],
        chain_key: chain_key.to_vec(),
        next,
        rows: files.iter().map(|(k, _)| k.clone()).collect(),
    })
}

/// After the digest was put: the chain moves on (or ends), its files leave the queue.
pub fn acknowledge(tx: &mut dyn Tx, d: &DigestFile) -> Result<(), StoreError> {
    for r in &d.rows {
        tx.delete(DIGESTQ, r)?;
    }
    match &d.next {
        Some(next) => put_chain(tx, &d.chain_key, next),
        None => tx.delete(CHAINS, &d.chain_key).map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_keys_follow_the_layout_the_cli_lists() {
        let mut t = trails::new_rec(
            "main".into(),
            "111122223333".into(),
            "us-east-2".into(),
            "aws".into(),
            "b".into(),
            0,
        );
        let c = ChainRec {
            account: "111122223333".into(),
            region: "us-east-2".into(),
            period_start_ms: 0,
            previous: None,
            org_id: None,
        };
        // 2015-08-17T15:01:31Z, the UG's sample.
        let k = digest_key(&t, &c, 1_439_823_691_000);
        assert_eq!(
            k,
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_main_us-east-2_20150817T150131Z.json.gz"
        );
        // The CLI reads the date as the 16 characters before ".json.gz".
        assert_eq!(&k[k.len() - 24..k.len() - 8], "20150817T150131Z");
        t.prefix = Some("p".into());
        let c = ChainRec {
            org_id: Some("o-abc".into()),
            ..c
        };
        assert!(
            digest_key(&t, &c, 0).starts_with("p/AWSLogs/o-abc/111122223333/CloudTrail-Digest/")
        );
    }
}
