//! Event streams: every recorded event, pushed to configured HTTP endpoints as it happens —
//! the seed's "integrates with CloudWatch and Security Hub", the way EventBridge carries
//! CloudTrail events to them.
//!
//! Each event is POSTed alone, in EventBridge's envelope for CloudTrail events (detail-type
//! "AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail" or "AWS Service Event
//! via CloudTrail"; `source` `aws.<service>`; `detail` the CloudTrail record; EventBridge UG,
//! "Events from AWS services delivered via AWS CloudTrail"), JSON, with
//! `X-Cairn-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "." body)>` and
//! `X-Cairn-Timestamp: <unix seconds>` when the stream has a secret.
//!
//! Delivery is at least once: fan-out ([`crate::delivery::fan_out`]) writes the keys a
//! stream's filter selects into `trail.streamq` in the transaction that consumes the pending
//! row; the recurring [`StreamJob`] posts them in order and deletes each row after its
//! endpoint answered 2xx. A failing endpoint keeps its rows and is retried every round, with
//! backoff up to a minute; other streams are not held up.
//!
//! Space `trail.streamq` — key `stream name ‖ 00 ‖ pending key`, value the record keys.

use crate::delivery::{decode_keys, fan_out_all, hex};
use crate::layout::{EVENTS, StoredEvent};
use cairn_core::jobs::{BoxFuture, JobHandler, Retry, Step};
use cairn_core::{Env, ResourceFacts, Webhook};
use cairn_store::{Job, StoreError, Tx};
use serde::Deserialize;
use std::sync::Arc;

pub const STREAMQ: &str = "trail.streamq";
pub const JOB_KIND: &str = "trail.stream";
const JOB_MARK: (&str, &[u8]) = ("trail.meta", b"stream-job");
/// Events posted per stream per round.
const MAX_PER_ROUND: usize = 1_000;

/// One configured stream (`[[event-stream]]` in the config file, or `--event-stream URL`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StreamConfig {
    /// A name unique among the streams (its queue's key).
    pub name: String,
    pub url: String,
    /// HMAC key of the signature header; none: unsigned.
    #[serde(default)]
    pub secret: Option<String>,
    /// Only events from these sources (`iam.amazonaws.com`); empty: all.
    #[serde(default)]
    pub event_sources: Vec<String>,
    /// Only these event names; empty: all.
    #[serde(default)]
    pub event_names: Vec<String>,
    /// Only events with one of these error codes; empty: any (or none).
    #[serde(default)]
    pub error_codes: Vec<String>,
    /// Only calls refused by authorization.
    #[serde(default)]
    pub denied_only: bool,
}

impl StreamConfig {
    /// Whether the stream takes the event.
    pub fn wants(&self, ev: &StoredEvent<'_>, error_code: Option<&str>) -> bool {
        let any = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        any(&self.event_sources, ev.event_source)
            && any(&self.event_names, ev.event_name)
            && (self.error_codes.is_empty()
                || error_code.is_some_and(|c| self.error_codes.iter().any(|x| x == c)))
            && (!self.denied_only || error_code.is_some_and(|c| c.starts_with("AccessDenied")))
    }
}

/// The queue key of a stream's row.
pub fn row_key(stream: &str, pending_key: &[u8]) -> Vec<u8> {
    let mut k = stream.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(pending_key);
    k
}

#[derive(Deserialize)]
struct EnvelopePeek {
    #[serde(rename = "eventType", default)]
    event_type: String,
    #[serde(rename = "eventSource", default)]
    event_source: String,
    #[serde(rename = "eventTime", default)]
    event_time: String,
    #[serde(rename = "awsRegion", default)]
    aws_region: String,
    #[serde(rename = "recipientAccountId", default)]
    recipient_account_id: String,
    #[serde(rename = "eventID", default)]
    event_id: String,
}

/// The EventBridge envelope of a record.
pub fn envelope(record_json: &str) -> Option<String> {
    let peek: EnvelopePeek = serde_json::from_str(record_json).ok()?;
    let detail: serde_json::Value = serde_json::from_str(record_json).ok()?;
    let detail_type = match peek.event_type.as_str() {
        "AwsConsoleSignIn" => "AWS Console Sign In via CloudTrail",
        "AwsServiceEvent" => "AWS Service Event via CloudTrail",
        _ => "AWS API Call via CloudTrail",
    };
    let service = peek
        .event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(&peek.event_source);
    let doc = serde_json::json!({
        "version": "0",
        // EventBridge gives each event its own ID; the record's is stable across retries,
        // so a receiver can deduplicate by it.
        "id": peek.event_id,
        "detail-type": detail_type,
        "source": format!("aws.{service}"),
        "account": peek.recipient_account_id,
        "time": peek.event_time,
        "region": peek.aws_region,
        "resources": [],
        "detail": detail,
    });
    Some(doc.to_string())
}

/// `sha256=<hex HMAC-SHA256(secret, timestamp "." body)>`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| {
            <hmac::Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new(&Default::default())
        });
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// The recurring job posting the streams' queued events.
pub struct StreamJob {
    streams: Arc<Vec<StreamConfig>>,
    facts: Option<Arc<dyn ResourceFacts>>,
    webhook: Arc<dyn Webhook>,
    interval_ms: i64,
}

impl std::fmt::Debug for StreamJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamJob")
            .field("streams", &self.streams.len())
            .finish_non_exhaustive()
    }
}

impl StreamJob {
    pub fn new(
        streams: Arc<Vec<StreamConfig>>,
        facts: Option<Arc<dyn ResourceFacts>>,
        webhook: Arc<dyn Webhook>,
        interval_ms: i64,
    ) -> Self {
        StreamJob {
            streams,
            facts,
            webhook,
            interval_ms: interval_ms.max(100),
        }
    }

    /// Makes sure the one stream job exists (call at start, when streams are configured).
    pub fn ensure(tx: &mut dyn Tx, now_ms: i64) -> Result<(), StoreError> {
        cairn_core::jobs::ensure_recurring(tx, JOB_KIND, JOB_MARK, now_ms, 0)
    }

    /// One round; answers whether every stream is caught up.
    async fn round(&self, env: &Env) -> Result<bool, StoreError> {
        fan_out_all(env, self.facts.as_ref(), &self.streams).await?;
        let mut all_ok = true;
        for st in self.streams.iter() {
            let mut prefix = st.name.as_bytes().to_vec();
            prefix.push(0);
            let p = prefix.clone();
            let rows = env
                .store
                .read(move |tx| tx.scan_prefix(STREAMQ, &p, false, MAX_PER_ROUND))
                .await?;
            'rows: for (row, value) in rows {
                let keys: Vec<Vec<u8>> = decode_keys(&value)?
                    .into_iter()
                    .map(<[u8]>::to_vec)
                    .collect();
                let ks = keys.clone();
                let records: Vec<String> = env
                    .store
                    .read(move |tx| {
                        let mut out = Vec::new();
                        for k in &ks {
                            if let Some(v) = tx.get(EVENTS, k)?
                                && let Ok(ev) = StoredEvent::decode(&v)
                            {
                                out.push(ev.record_json.to_owned());
                            }
                        }
                        Ok(out)
                    })
                    .await?;
                for r in records {
                    let Some(body) = envelope(&r) else { continue };
                    let now = env.clock.now_millis() / 1000;
                    let mut headers =
                        vec![("content-type".to_owned(), "application/json".to_owned())];
                    if let Some(secret) = &st.secret {
                        headers.push(("x-cairn-timestamp".to_owned(), now.to_string()));
                        headers.push((
                            "x-cairn-signature".to_owned(),
                            signature(secret, now, body.as_bytes()),
                        ));
                    }
                    match self.webhook.post(&st.url, headers, body.into_bytes()).await {
                        Ok(status) if (200..300).contains(&status) => {}
                        Ok(status) => {
                            tracing::warn!(stream = %st.name, status, "event stream endpoint refused an event; retried");
                            all_ok = false;
                            break 'rows;
                        }
                        Err(e) => {
                            tracing::warn!(stream = %st.name, error = %e, "event stream endpoint unreachable; retried");
                            all_ok = false;
                            break 'rows;
                        }
                    }
                }
                // Every event of the row was taken (a retry after a crash here re-posts them:
                // at least once).
                env.store
                    .write(move |tx| tx.delete(STREAMQ, &row).map(|_| ()))
                    .await?;
            }
        }
        Ok(all_ok)
    }
}

impl JobHandler for StreamJob {
    fn kind(&self) -> &'static str {
        JOB_KIND
    }

    fn retry(&self) -> Retry {
        Retry {
            max_attempts: u32::MAX,
            base_ms: 1_000,
            max_ms: 60_000,
        }
    }

    fn run<'a>(&'a self, env: &'a Arc<Env>, job: &'a Job) -> BoxFuture<'a, Step> {
        Box::pin(async move {
            match self.round(env).await {
                Ok(true) => {}
                Ok(false) => return Step::Retry("an event stream endpoint failed".to_owned()),
                Err(e) => return Step::Retry(e.to_string()),
            }
            cairn_core::jobs::run_again_in(env, job, self.interval_ms).await
        })
    }

    fn give_up<'a>(
        &'a self,
        _env: &'a Arc<Env>,
        _job: &'a Job,
        _error: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_follow_eventbridge() {
        let rec = r#"{"eventVersion":"1.08","eventTime":"2026-01-02T03:04:05Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","eventID":"e-1","eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#;
        let env: serde_json::Value = serde_json::from_str(&envelope(rec).unwrap()).unwrap();
        assert_eq!(env["detail-type"], "AWS API Call via CloudTrail");
        assert_eq!(env["source"], "aws.iam");
        assert_eq!(env["account"], "111122223333");
        assert_eq!(env["time"], "2026-01-02T03:04:05Z");
        assert_eq!(env["detail"]["eventName"], "CreateUser");
        assert_eq!(
            signature("k", 1, b"x"),
            signature("k", 1, b"x"),
            "deterministic"
        );
        assert_ne!(signature("k", 1, b"x"), signature("k", 2, b"x"));
    }
}
