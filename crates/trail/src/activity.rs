//! What one account's principals did, for IAM's last-accessed reports: every stored
//! management event of the account since a time, read through the LookupEvents index
//! (`trail.ix`, tag `All`; see [`crate::layout`]), so another account's records are never
//! read.
//!
//! Every stored record is of an authenticated call (Cairn, as AWS, records none that failed
//! authentication); denied calls are among them, with their `errorCode`.

use crate::layout::{self, EVENTS, INDEX, StoredEvent, Tag};
use cairn_store::{StoreError, Tx};
use serde::Deserialize;

/// One authenticated call, as the reports need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub time_ms: i64,
    /// `iam`, `sts`, … (`eventSource` without `.amazonaws.com`).
    pub service: String,
    pub event_name: String,
    pub region: String,
    /// `userIdentity.arn`.
    pub arn: String,
    /// `userIdentity.sessionContext.sessionIssuer.arn` (the role of a role session).
    pub issuer_arn: Option<String>,
}

#[derive(Deserialize)]
struct Peek {
    #[serde(rename = "userIdentity", default)]
    user_identity: Option<Identity>,
    #[serde(rename = "awsRegion", default)]
    aws_region: String,
}

#[derive(Deserialize)]
struct Identity {
    #[serde(default)]
    arn: Option<String>,
    #[serde(rename = "sessionContext", default)]
    session_context: Option<SessionContext>,
}

#[derive(Deserialize)]
struct SessionContext {
    #[serde(rename = "sessionIssuer", default)]
    session_issuer: Option<Issuer>,
}

#[derive(Deserialize)]
struct Issuer {
    #[serde(default)]
    arn: Option<String>,
}

/// Calls `each` with every management event of `account` at or after `since_ms` whose
/// caller has an ARN, in no particular order.
pub fn account_activity(
    tx: &mut dyn Tx,
    account: &str,
    since_ms: i64,
    each: &mut dyn FnMut(Activity),
) -> Result<(), StoreError> {
    let prefix = layout::index_prefix(account, Tag::All, "");
    // Rows run newest-first; a row holds events of one second, keyed by its newest.
    let oldest = layout::time_prefix(since_ms.saturating_sub(1000));
    for (key, value) in tx.scan_prefix(INDEX, &prefix, false, usize::MAX)? {
        let suffix = key.get(prefix.len()..).unwrap_or_default();
        if suffix
            .get(..layout::TIME_LEN)
            .is_some_and(|t| t > &oldest[..])
        {
            break;
        }
        let Ok(entries) = layout::posting_entries(suffix, &value) else {
            tracing::warn!("undecodable CloudTrail index row; skipped");
            continue;
        };
        for time_key in entries {
            let Some(raw) = tx.get(EVENTS, time_key)? else {
                continue;
            };
            let Ok(stored) = StoredEvent::decode(&raw) else {
                tracing::warn!("undecodable CloudTrail record; skipped");
                continue;
            };
            if stored.recipient_account_id != account || stored.event_time_ms < since_ms {
                continue;
            }
            let Ok(peek) = serde_json::from_str::<Peek>(stored.record_json) else {
                continue;
            };
            let Some(identity) = peek.user_identity else {
                continue;
            };
            let Some(arn) = identity.arn else {
                continue;
            };
            let service = stored
                .event_source
                .strip_suffix(".amazonaws.com")
                .unwrap_or(stored.event_source);
            each(Activity {
                time_ms: stored.event_time_ms,
                service: service.to_owned(),
                event_name: stored.event_name.to_owned(),
                region: peek.aws_region,
                arn,
                issuer_arn: identity
                    .session_context
                    .and_then(|c| c.session_issuer)
                    .and_then(|i| i.arn),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation panics"
)]
mod tests {
    use super::account_activity;
    use crate::test_support::{ACCT, event};
    use cairn_store::Store;

    #[test]
    fn reads_one_accounts_events_in_the_window_from_batched_rows() {
        let store = Store::open_sqlite_memory().unwrap();
        let mut events = vec![
            event(10_000, "e1", "ListRoots", true),
            event(10_200, "e2", "ListAccounts", true),
            event(20_000, "e3", "DescribeOrganization", true),
        ];
        let mut other = event(20_100, "e4", "ListRoots", true);
        other.recipient_account_id = "999988887777".to_owned();
        events.push(other);
        let encoded: Vec<crate::layout::Encoded> = events
            .iter()
            .map(|e| crate::layout::Encoded::new(e).unwrap())
            .collect();
        store
            .write_blocking(move |tx| crate::layout::put_batch(tx, &encoded))
            .unwrap();
        let seen = store
            .read_blocking(|tx| {
                let mut seen = Vec::new();
                account_activity(tx, ACCT, 10_100, &mut |a| seen.push(a))?;
                Ok::<_, cairn_store::StoreError>(seen)
            })
            .unwrap();
        let mut names: Vec<&str> = seen.iter().map(|a| a.event_name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["DescribeOrganization", "ListAccounts"]);
        assert!(seen.iter().all(|a| a.service == "organizations"));
        assert!(seen.iter().all(|a| a.region == "us-east-1"));
        assert_eq!(seen[0].arn, format!("arn:aws:iam::{ACCT}:root"));
        assert_eq!(seen[0].issuer_arn, None);
    }
}
