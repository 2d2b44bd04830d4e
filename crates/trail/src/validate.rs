//! `cairn trail validate`: checks a trail's digest chain and log files the way
//! `aws cloudtrail validate-logs` does (`awscli/customizations/cloudtrail/validation.py`),
//! against any [`ObjectStore`] — also the local directory, which the AWS CLI cannot read.
//!
//! From the newest digest whose end lies in `[start, end + 1 h]`, the chain is walked back
//! through `previousDigestS3Object`. Each digest must inflate and parse, carry its
//! `signature` metadata, name its own bucket and key (else it "has been moved"), be signed by
//! a key `ListPublicKeys` would serve (the region's stored keys) and verify. Each log file a
//! valid digest lists must exist and hash to its `hashValue`. A digest named as previous but
//! absent is "not found"; a chain that stops while older digests remain is a gap (reported,
//! not an error, as the CLI does).

use crate::delivery::hex;
use crate::digest::{self, SigningKeyRec};
use crate::record::format_event_time;
use crate::trails::TrailRec;
use cairn_core::ObjectStore;
use serde::Serialize;
use std::io::Read;

/// What was checked, and what failed.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub trail_arn: String,
    pub start_time: String,
    pub end_time: String,
    pub valid_digests: usize,
    pub invalid_digests: usize,
    pub valid_logs: usize,
    pub invalid_logs: usize,
    /// One line per finding, in the CLI's words (`Digest file\ts3://…\tINVALID: …`).
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// `digest` or `log`.
    pub file: &'static str,
    pub location: String,
    /// `valid`, `altered`, `not-found`, `invalid-format`, `moved`, `bad-signature`,
    /// `unknown-key`, `gap`.
    pub status: &'static str,
    pub message: String,
}

impl Report {
    /// Whether anything failed (the exit status).
    pub fn failed(&self) -> bool {
        self.invalid_digests > 0 || self.invalid_logs > 0
    }
}

/// What to validate.
#[derive(Debug, Clone)]
pub struct Request {
    pub trail: TrailRec,
    /// The account whose files to check (an organization trail's member); default the
    /// trail's.
    pub account: String,
    /// The region of the chain (default the home region).
    pub region: String,
    /// The organization of an organization trail.
    pub org_id: Option<String>,
    pub start_ms: i64,
    pub end_ms: i64,
}

fn gunzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut d = flate2::read::GzDecoder::new(bytes);
    d.read_to_end(&mut out).ok()?;
    Some(out)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// `YYYYMMDDTHHMMSSZ` of a digest key (the 16 characters before `.json.gz`).
fn key_date(key: &str) -> &str {
    let n = key.len();
    key.get(n.saturating_sub(24)..n.saturating_sub(8))
        .unwrap_or("")
}

fn stamp(ms: i64) -> String {
    let t = format_event_time(ms);
    t.replace(['-', ':'], "")
}

/// Verifies an RSA PKCS#1 v1.5 SHA-256 signature (hex) over `message` with a PKCS#1 DER key.
pub fn verify_signature(public_der: &[u8], message: &[u8], signature_hex: &str) -> bool {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::sha2::Digest as _;
    let Ok(key) = rsa::PublicKey::from_pkcs1_der(public_der) else {
        return false;
    };
    let Some(sig) = unhex(signature_hex) else {
        return false;
    };
    let digest = rsa::sha2::Sha256::digest(message);
    key.verify(rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(), &digest, &sig)
        .is_ok()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// Validates; `keys` are the region's signing keys; `progress` is told each file checked.
pub async fn validate(
    objects: &dyn ObjectStore,
    keys: &[SigningKeyRec],
    req: &Request,
    progress: &mut dyn FnMut(usize),
) -> Report {
    let trail = &req.trail;
    let mut report = Report {
        trail_arn: trail.arn(),
        start_time: format_event_time(req.start_ms),
        end_time: format_event_time(req.end_ms),
        ..Report::default()
    };
    let bucket = trail.bucket.clone();
    let chain = digest::ChainRec {
        account: req.account.clone(),
        region: req.region.clone(),
        period_start_ms: 0,
        previous: None,
        org_id: req.org_id.clone(),
    };
    // The prefix of this chain's digests: the key of any digest up to its date part.
    let sample = digest::digest_key(trail, &chain, 0);
    let dir = sample
        .rsplit_once("/CloudTrail-Digest/")
        .map(|(head, _)| format!("{head}/CloudTrail-Digest/{}/", req.region))
        .unwrap_or_default();
    let file_prefix = format!(
        "{}_CloudTrail-Digest_{}_{}_{}_",
        req.account, req.region, trail.name, trail.home_region
    );
    let listed = match objects.list(&bucket, &dir).await {
        Ok(l) => l,
        Err(e) => {
            report.invalid_digests += 1;
            report.findings.push(Finding {
                file: "digest",
                location: format!("s3://{bucket}/{dir}"),
                status: "invalid-format",
                message: format!("listing failed: {e}"),
            });
            return report;
        }
    };
    let (lo, hi) = (
        stamp(req.start_ms),
        stamp(req.end_ms.saturating_add(3_600_000)),
    );
    let mut digests: Vec<String> = listed
        .into_iter()
        .filter(|k| {
            k.rsplit('/')
                .next()
                .is_some_and(|f| f.starts_with(&file_prefix))
                && k.ends_with(".json.gz")
                && !k.ends_with("_backfill.json.gz")
        })
        .filter(|k| {
            let d = key_date(k);
            d >= lo.as_str() && d <= hi.as_str()
        })
        .collect();
    digests.sort_by(|a, b| key_date(a).cmp(key_date(b)));

    let mut next = digests.pop();
    let mut checked = 0;
    while let Some(key) = next.take() {
        checked += 1;
        progress(checked);
        let location = format!("s3://{bucket}/{key}");
        let invalid = |report: &mut Report, status: &'static str, msg: String| {
            report.invalid_digests += 1;
            report.findings.push(Finding {
                file: "digest",
                location: location.clone(),
                status,
                message: format!("Digest file\t{location}\tINVALID: {msg}"),
            });
        };
        let obj = match objects.get(&bucket, &key).await {
            Ok(Some(o)) => o,
            Ok(None) => {
                invalid(&mut report, "not-found", "not found".into());
                next = older(&mut digests, &key);
                continue;
            }
            Err(e) => {
                invalid(&mut report, "invalid-format", e.0);
                next = older(&mut digests, &key);
                continue;
            }
        };
        let (body, meta) = obj;
        let parsed = gunzip(&body).and_then(|raw| {
            serde_json::from_slice::<serde_json::Value>(&raw)
                .ok()
                .map(|v| (raw, v))
        });
        let Some((raw, doc)) = parsed else {
            invalid(&mut report, "invalid-format", "invalid format".into());
            next = older(&mut digests, &key);
            continue;
        };
        let meta_get = |n: &str| meta.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let Some(signature) = meta_get("signature") else {
            invalid(
                &mut report,
                "bad-signature",
                "signature verification failed".into(),
            );
            next = older(&mut digests, &key);
            continue;
        };
        let s = |f: &str| {
            doc.get(f)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let required = [
            "digestPublicKeyFingerprint",
            "digestS3Bucket",
            "digestS3Object",
            "digestEndTime",
            "digestStartTime",
        ];
        if required.iter().any(|f| s(f).is_none()) || doc.get("previousDigestSignature").is_none() {
            invalid(&mut report, "invalid-format", "invalid format".into());
            next = older(&mut digests, &key);
            continue;
        }
        if s("digestS3Bucket").as_deref() != Some(bucket.as_str())
            || s("digestS3Object").as_deref() != Some(key.as_str())
        {
            invalid(
                &mut report,
                "moved",
                "has been moved from its original location".into(),
            );
            next = older(&mut digests, &key);
            continue;
        }
        let fingerprint = s("digestPublicKeyFingerprint").unwrap_or_default();
        let Some(pk) = keys.iter().find(|k| k.fingerprint == fingerprint) else {
            invalid(
                &mut report,
                "unknown-key",
                format!(
                    "public key not found in region {} for fingerprint {fingerprint}",
                    trail.home_region
                ),
            );
            next = older(&mut digests, &key);
            continue;
        };
        let previous_sig = s("previousDigestSignature").unwrap_or_else(|| "null".to_owned());
        let to_sign = format!(
            "{}\n{bucket}/{key}\n{}\n{previous_sig}",
            s("digestEndTime").unwrap_or_default(),
            sha256_hex(&raw)
        );
        if !verify_signature(&digest::public_der(pk), to_sign.as_bytes(), &signature) {
            invalid(
                &mut report,
                "bad-signature",
                "signature verification failed".into(),
            );
            next = older(&mut digests, &key);
            continue;
        }
        report.valid_digests += 1;
        report.findings.push(Finding {
            file: "digest",
            location: location.clone(),
            status: "valid",
            message: format!("Digest file\t{location}\tvalid"),
        });
        // Its log files.
        for log in doc
            .get("logFiles")
            .and_then(serde_json::Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            checked += 1;
            progress(checked);
            let lb = log
                .get("s3Bucket")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            let lk = log
                .get("s3Object")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            let want = log
                .get("hashValue")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            let loc = format!("s3://{lb}/{lk}");
            let (status, msg) = match objects.get(lb, lk).await {
                Ok(Some((b, _))) => match gunzip(&b) {
                    Some(raw) if sha256_hex(&raw) == want => ("valid", "valid".to_owned()),
                    Some(_) => ("altered", "INVALID: hash value doesn't match".to_owned()),
                    None => ("invalid-format", "INVALID: invalid format".to_owned()),
                },
                Ok(None) => ("not-found", "INVALID: not found".to_owned()),
                Err(e) => ("invalid-format", format!("INVALID: {e}")),
            };
            if status == "valid" {
                report.valid_logs += 1;
            } else {
                report.invalid_logs += 1;
            }
            report.findings.push(Finding {
                file: "log",
                location: loc.clone(),
                status,
                message: format!("Log file\t{loc}\t{msg}"),
            });
        }
        // Walk back, unless the chain starts here or is before the range.
        let start_of_this = s("digestStartTime").unwrap_or_default();
        if start_of_this.as_str() < report.start_time.as_str() {
            break;
        }
        match s("previousDigestS3Object") {
            Some(prev) => {
                digests.retain(|k| key_date(k) < key_date(&prev) || *k == prev);
                digests.retain(|k| *k != prev);
                next = Some(prev);
            }
            None => {
                next = older(&mut digests, &key);
                if let Some(n) = &next {
                    report.findings.push(Finding {
                        file: "digest",
                        location: format!("s3://{bucket}/{n}"),
                        status: "gap",
                        message: format!(
                            "No log files were delivered by CloudTrail between {} and {start_of_this}",
                            key_date(n)
                        ),
                    });
                }
            }
        }
    }
    report
}

/// The newest listed digest older than `key`.
fn older(digests: &mut Vec<String>, key: &str) -> Option<String> {
    while let Some(k) = digests.pop() {
        if key_date(&k) < key_date(key) {
            return Some(k);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_key_dates_are_the_cli_slice() {
        assert_eq!(
            key_date(
                "AWSLogs/1/CloudTrail-Digest/r/2015/08/17/1_CloudTrail-Digest_r_t_r_20150817T150131Z.json.gz"
            ),
            "20150817T150131Z"
        );
        assert_eq!(stamp(1_439_823_691_000), "20150817T150131Z");
        assert_eq!(unhex("0aff"), Some(vec![10, 255]));
        assert_eq!(unhex("0a0"), None);
    }
}
