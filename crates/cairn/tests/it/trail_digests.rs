//! Log file validation with the SDK and `cairn trail validate`: digests every interval
//! (also without new log files), chained by the previous digest's object, hash and
//! signature, signed with a key `ListPublicKeys` serves; a final digest when logging stops;
//! and the validator's verdicts on untouched, altered and deleted files in the local
//! directory store. (`scripts/validate-logs.sh` runs AWS's own validator against the same
//! digests in an S3-compatible store.)

use crate::common::ok;
use crate::fixture::Fixture;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "135724680246";
const BUCKET: &str = "audit-logs";
const FAST: &[&str] = &[
    "--trail-delivery-seconds",
    "0.2",
    "--trail-digest-seconds",
    "1",
];

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".json.gz") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn gunzip_json(p: &Path) -> Value {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(p).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn objects(f: &Fixture) -> PathBuf {
    f.dir.path().join("data").join("objects")
}

fn digest_dir(f: &Fixture) -> PathBuf {
    objects(f)
        .join(BUCKET)
        .join("AWSLogs")
        .join(ACCOUNT)
        .join("CloudTrail-Digest")
        .join("us-east-1")
}

async fn await_digests(f: &Fixture, n: usize) -> Vec<PathBuf> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = files_under(&digest_dir(f));
        if found.len() >= n {
            return found;
        }
        assert!(Instant::now() < deadline, "only {} digests", found.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn validating_trail(f: &Fixture) -> String {
    let ct = f.server.cloudtrail();
    let out = ok(
        "CreateTrail",
        ct.create_trail()
            .name("main")
            .s3_bucket_name(BUCKET)
            .enable_log_file_validation(true)
            .send()
            .await,
    );
    ok("StartLogging", ct.start_logging().name("main").send().await);
    out.trail_arn().unwrap().to_owned()
}

/// `cairn trail validate --json` on the fixture's data directory: (exit code, report).
fn cairn_validate(f: &Fixture, arn: &str) -> (i32, Value) {
    let out = std::process::Command::new(crate::common::cairn_binary())
        .args([
            "trail",
            "validate",
            "--json",
            "--trail-arn",
            arn,
            "--data-dir",
        ])
        .arg(f.dir.path().join("data"))
        .args(crate::common::store_args(&f.dir))
        .env_remove("CAIRN_DATA_DIR")
        .env_remove("CAIRN_DATABASE_URL")
        .env_remove("CAIRN_OBJECT_STORE")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digests_are_chained_and_signed_with_a_listed_key() {
    let f = Fixture::with_args("digest-chain", ACCOUNT, FAST);
    validating_trail(&f).await;
    ok(
        "CreateUser",
        f.server.iam().create_user().user_name("alice").send().await,
    );
    let found = await_digests(&f, 3).await;
    let docs: Vec<Value> = found.iter().map(|p| gunzip_json(p)).collect();
    // The first names no previous digest; every later one names the one before it.
    assert!(docs[0]["previousDigestSignature"].is_null(), "{}", docs[0]);
    assert!(docs[0]["previousDigestS3Object"].is_null());
    for pair in docs.windows(2) {
        assert_eq!(pair[1]["previousDigestS3Object"], pair[0]["digestS3Object"]);
        assert_eq!(pair[1]["previousDigestS3Bucket"], BUCKET);
        assert_eq!(pair[1]["previousDigestHashAlgorithm"], "SHA-256");
        assert_eq!(pair[1]["digestStartTime"], pair[0]["digestEndTime"]);
    }
    for (p, d) in found.iter().zip(&docs) {
        assert_eq!(d["awsAccountId"], ACCOUNT);
        assert_eq!(d["digestS3Bucket"], BUCKET);
        assert_eq!(d["digestSignatureAlgorithm"], "SHA256withRSA");
        let key = d["digestS3Object"].as_str().unwrap();
        assert!(p.to_string_lossy().ends_with(key), "{key}");
        // The key ends with the end time, as the AWS CLI reads it.
        let end = d["digestEndTime"].as_str().unwrap().replace(['-', ':'], "");
        assert!(
            key.ends_with(&format!("_main_us-east-1_{end}.json.gz")),
            "{key}"
        );
        assert!(d["logFiles"].is_array());
    }
    // Some digest lists the CreateUser's log file, with its hash.
    let listed: Vec<&Value> = docs
        .iter()
        .flat_map(|d| d["logFiles"].as_array().unwrap())
        .collect();
    assert!(!listed.is_empty(), "no log file in any digest");
    for l in &listed {
        assert_eq!(l["hashAlgorithm"], "SHA-256");
        assert_eq!(l["hashValue"].as_str().unwrap().len(), 64);
    }
    // The signature is in the object's metadata; the key is listed by ListPublicKeys.
    let rel = docs[1]["digestS3Object"].as_str().unwrap();
    let meta: Value = serde_json::from_slice(
        &std::fs::read(
            objects(&f)
                .join(".metadata")
                .join(BUCKET)
                .join(format!("{rel}.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(meta["signature-algorithm"], "SHA256withRSA");
    assert_eq!(
        meta["signature"].as_str().unwrap().len(),
        512,
        "2048-bit RSA, hex"
    );
    let keys = ok(
        "ListPublicKeys",
        f.server
            .cloudtrail()
            .list_public_keys()
            .start_time(aws_sdk_cloudtrail::primitives::DateTime::from_secs(0))
            .send()
            .await,
    );
    let key = &keys.public_key_list()[0];
    assert_eq!(
        key.fingerprint(),
        docs[1]["digestPublicKeyFingerprint"].as_str()
    );
    let der = key.value().unwrap().as_ref();
    assert_eq!(der[0], 0x30, "PKCS#1 DER");
    assert!(key.validity_start_time().is_some() && key.validity_end_time().is_some());
    let st = ok(
        "GetTrailStatus",
        f.server
            .cloudtrail()
            .get_trail_status()
            .name("main")
            .send()
            .await,
    );
    assert!(st.latest_digest_delivery_time().is_some(), "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_logging_ends_the_chain_with_a_final_digest() {
    let f = Fixture::with_args("digest-final", ACCOUNT, FAST);
    validating_trail(&f).await;
    await_digests(&f, 1).await;
    ok(
        "StopLogging",
        f.server
            .cloudtrail()
            .stop_logging()
            .name("main")
            .send()
            .await,
    );
    let stopped = Instant::now();
    // The final digest comes with the next round, then nothing more.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after_stop = files_under(&digest_dir(&f)).len();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        files_under(&digest_dir(&f)).len(),
        after_stop,
        "digests after the final one ({:?} after the stop)",
        stopped.elapsed()
    );
    let last = gunzip_json(files_under(&digest_dir(&f)).last().unwrap());
    assert!(!last["previousDigestSignature"].is_null(), "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cairn_trail_validate_reports_altered_and_missing_files() {
    let f = Fixture::with_args("digest-validate", ACCOUNT, FAST);
    let arn = validating_trail(&f).await;
    for name in ["u1", "u2"] {
        ok(
            "CreateUser",
            f.server.iam().create_user().user_name(name).send().await,
        );
    }
    // Wait until digests list log files.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listed: usize = files_under(&digest_dir(&f))
            .iter()
            .map(|p| gunzip_json(p)["logFiles"].as_array().map_or(0, Vec::len))
            .sum();
        if listed >= 1 && files_under(&digest_dir(&f)).len() >= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "no digest lists a log file");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ok(
        "StopLogging",
        f.server
            .cloudtrail()
            .stop_logging()
            .name("main")
            .send()
            .await,
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (code, report) = cairn_validate(&f, &arn);
    assert_eq!(code, 0, "{report:#}");
    assert!(report["validDigests"].as_u64().unwrap() >= 3, "{report:#}");
    assert!(report["validLogs"].as_u64().unwrap() >= 1, "{report:#}");
    assert_eq!(report["invalidDigests"], 0);
    assert_eq!(report["invalidLogs"], 0);

    // One byte of one log file altered, and one digest in the middle deleted.
    let logs = files_under(
        &objects(&f)
            .join(BUCKET)
            .join("AWSLogs")
            .join(ACCOUNT)
            .join("CloudTrail"),
    );
    let mut raw = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&logs[0]).unwrap())
        .read_to_string(&mut raw)
        .unwrap();
    let altered = raw.replacen("us-east-1", "us-east-2", 1);
    assert_ne!(altered, raw);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, altered.as_bytes()).unwrap();
    std::fs::write(&logs[0], enc.finish().unwrap()).unwrap();
    let digests = files_under(&digest_dir(&f));
    std::fs::remove_file(&digests[digests.len() / 2]).unwrap();

    let (code, report) = cairn_validate(&f, &arn);
    assert_eq!(code, 1, "{report:#}");
    let statuses: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["status"].as_str())
        .collect();
    assert!(statuses.contains(&"not-found"), "{report:#}");
    assert!(statuses.contains(&"altered"), "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_trail_delivers_what_it_recorded_and_a_final_digest() {
    let f = Fixture::with_args("digest-deleted", ACCOUNT, FAST);
    validating_trail(&f).await;
    await_digests(&f, 1).await;
    ok(
        "CreateUser",
        f.server.iam().create_user().user_name("last").send().await,
    );
    ok(
        "DeleteTrail",
        f.server
            .cloudtrail()
            .delete_trail()
            .name("main")
            .send()
            .await,
    );
    let logs_dir = objects(&f)
        .join(BUCKET)
        .join("AWSLogs")
        .join(ACCOUNT)
        .join("CloudTrail");
    // The CreateUser made before the deletion arrives, and a last digest lists its file.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let delivered: Vec<Value> = files_under(&logs_dir)
            .iter()
            .flat_map(|p| {
                gunzip_json(p)["Records"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        let listed: Vec<String> = files_under(&digest_dir(&f))
            .iter()
            .flat_map(|p| {
                gunzip_json(p)["logFiles"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|l| l["s3Object"].as_str().map(str::to_owned))
            .collect();
        let user_file = files_under(&logs_dir).into_iter().find(|p| {
            gunzip_json(p)["Records"].as_array().is_some_and(|r| {
                r.iter()
                    .any(|x| x["requestParameters"]["userName"] == "last")
            })
        });
        if delivered
            .iter()
            .any(|r| r["requestParameters"]["userName"] == "last")
            && user_file.is_some_and(|p| {
                listed
                    .iter()
                    .any(|k| p.to_string_lossy().ends_with(k.as_str()))
            })
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the deleted trail's last records or digest did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Then the chain has ended: no more digests.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let n = files_under(&digest_dir(&f)).len();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        files_under(&digest_dir(&f)).len(),
        n,
        "digests after the final one"
    );
}
