//! The AWS managed policies Cairn serves (`arn:aws:iam::aws:policy/…`): read-only, attachable,
//! listed under `Scope=AWS`.
//!
//! The documents come from `data/aws-managed-policies.json`, extracted from the `moto` package by
//! `scripts/extract-managed-policies.py` (default version only). AWS does not publish the
//! policy ids with the documents, so each id is derived from the ARN: stable, `ANPA…`-shaped.

use serde::Deserialize;
use std::sync::LazyLock;

const DATA: &str = include_str!("../data/aws-managed-policies.json");

/// One AWS managed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AwsPolicy {
    pub arn: String,
    pub name: String,
    pub path: String,
    pub id: String,
    pub default_version: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub document: String,
}

impl AwsPolicy {
    /// Whether IAM entities may have it attached (or as a boundary): not the task policies
    /// of `sts:AssumeRoot` (`/root-task/`: "You can't attach … to your IAM entities").
    pub(crate) fn attachable(&self) -> bool {
        self.path != ROOT_TASK_PATH
    }
}

/// The path of the task policies `sts:AssumeRoot` scopes a root session with.
pub(crate) const ROOT_TASK_PATH: &str = "/root-task/";

#[derive(Deserialize)]
struct File {
    policies: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    arn: String,
    policy_name: String,
    path: String,
    default_version_id: String,
    create_date: String,
    update_date: String,
    document: String,
}

fn millis(date: &str) -> i64 {
    time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
        .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0))
        .unwrap_or(0)
}

/// `ANPA` + 17 characters of `[A-Z2-7]` derived from the ARN (FNV-1a, re-mixed per character).
fn derived_id(arn: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in arn.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = String::from("ANPA");
    for i in 0..17u64 {
        h ^= i;
        h = h.wrapping_mul(0x0100_0000_01b3);
        h ^= h >> 29;
        let idx = usize::try_from(h % 32).unwrap_or(0);
        out.push(char::from(ALPHABET.get(idx).copied().unwrap_or(b'A')));
    }
    out
}

static POLICIES: LazyLock<Vec<AwsPolicy>> = LazyLock::new(|| {
    let file: File = match serde_json::from_str(DATA) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "aws-managed-policies.json does not parse");
            return Vec::new();
        }
    };
    let mut out: Vec<AwsPolicy> = file
        .policies
        .into_iter()
        .map(|e| AwsPolicy {
            id: derived_id(&e.arn),
            arn: e.arn,
            name: e.policy_name,
            path: e.path,
            default_version: e.default_version_id,
            created_ms: millis(&e.create_date),
            updated_ms: millis(&e.update_date),
            document: e.document,
        })
        .collect();
    out.sort_by(|a, b| a.arn.cmp(&b.arn));
    out
});

/// Every AWS managed policy served, sorted by ARN.
pub(crate) fn all() -> &'static [AwsPolicy] {
    &POLICIES
}

/// The AWS managed policy with this ARN.
pub(crate) fn by_arn(arn: &str) -> Option<&'static AwsPolicy> {
    POLICIES.iter().find(|p| p.arn == arn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_policy::{Policy, PolicyKind};

    #[test]
    fn every_document_parses_as_an_identity_policy() {
        assert_eq!(all().len(), 17);
        for p in all() {
            Policy::parse(&p.arn, &p.document, PolicyKind::Identity)
                .unwrap_or_else(|e| panic!("{}: {}", p.arn, e.detail()));
            assert_eq!(p.id.len(), 21);
            assert!(p.id.starts_with("ANPA"));
            assert!(p.created_ms > 0 && p.updated_ms >= p.created_ms);
        }
        let admin = by_arn("arn:aws:iam::aws:policy/AdministratorAccess").unwrap();
        assert_eq!(admin.path, "/");
        assert_eq!(admin.default_version, "v1");
        let billing = by_arn("arn:aws:iam::aws:policy/job-function/Billing").unwrap();
        assert_eq!(billing.path, "/job-function/");
        assert_eq!(billing.name, "Billing");
        let audit =
            by_arn("arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials").unwrap();
        assert!(!audit.attachable());
        assert!(admin.attachable());
    }
}
