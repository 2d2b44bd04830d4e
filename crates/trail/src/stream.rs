//! Event streams: every recorded event, pushed to configured HTTP endpoints as it happens —
//! the seed's "integrates with CloudWatch and Security Hub", the way EventBridge carries
//! CloudTrail events to them.
//!
//! Each event is POSTed alone, in EventBridge's envelope for CloudTrail events (detail-type
//! "AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail" or "AWS Service Event
//! via CloudTrail"; `source` `aws.<service>`; `detail` the CloudTrail record; EventBridge UG,
//! "Events from AWS services delivered via AWS CloudTrail"), JSON, with
//! `X-Cairn-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "." body)>` and
//! `X-Cairn-Timestamp: <unix seconds>` when the stream has a secret. A stream with
//! `batch-size` N > 1 posts up to N envelopes per request instead, as newline-delimited JSON
//! (`application/x-ndjson`, one envelope per line, the signature over the whole body): what
//! log collectors (Vector, Logstash, Fluent Bit) take in bulk, at a fraction of the cost per
//! event.
//!
//! Delivery is at least once: fan-out ([`crate::delivery::fan_out`]) writes the keys a
//! stream's filter selects into `trail.streamq` in the transaction that consumes the pending
//! row; the recurring [`StreamJob`] posts them in order and deletes each row after its
//! endpoint answered 2xx. A failing endpoint keeps its rows and is retried every round, with
//! backoff up to a minute; other streams are not held up.
//!
//! Space `trail.streamq` — key `stream name ‖ 00 ‖ pending key`, value the record keys.

use crate::delivery::{decode_keys, fan_out_all, hex, read_records};
use crate::layout::StoredEvent;
use cairn_core::jobs::{BoxFuture, JobHandler, Retry, Step};
use cairn_core::{Env, ResourceFacts, Webhook};
use cairn_store::{Job, StoreError, Tx};
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::Arc;

pub const STREAMQ: &str = "trail.streamq";
pub const JOB_KIND: &str = "trail.stream";
const JOB_MARK: (&str, &[u8]) = ("trail.meta", b"stream-job");
/// Queue rows read at once (a row lists up to a thousand keys) …
const ROWS_PER_READ: usize = 16;
/// … and at most this many reads per stream per round.
const READS_PER_ROUND: usize = 64;
/// Events read from the store at once (the rows of one read list at most this many, unless
/// one row alone lists more).
const MAX_EVENTS_PER_READ: usize = 2_048;
/// The largest `batch-size`.
pub const MAX_BATCH_SIZE: usize = 1_000;

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
    /// Envelopes per request: 1 (the default) posts each event alone as JSON; more posts
    /// newline-delimited JSON (at most [`MAX_BATCH_SIZE`]).
    #[serde(default)]
    pub batch_size: Option<usize>,
}

impl StreamConfig {
    /// Envelopes per request (see `batch_size`).
    pub fn batch(&self) -> usize {
        self.batch_size.unwrap_or(1).clamp(1, MAX_BATCH_SIZE)
    }

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
struct EnvelopePeek<'a> {
    #[serde(rename = "eventType", default, borrow)]
    event_type: Cow<'a, str>,
    #[serde(rename = "eventSource", default, borrow)]
    event_source: Cow<'a, str>,
    #[serde(rename = "eventTime", default, borrow)]
    event_time: Cow<'a, str>,
    #[serde(rename = "awsRegion", default, borrow)]
    aws_region: Cow<'a, str>,
    #[serde(rename = "recipientAccountId", default, borrow)]
    recipient_account_id: Cow<'a, str>,
    #[serde(rename = "eventID", default, borrow)]
    event_id: Cow<'a, str>,
}

/// The EventBridge envelope of a record given as JSON.
pub fn envelope(record_json: &str) -> Option<String> {
    let p: EnvelopePeek<'_> = serde_json::from_str(record_json).ok()?;
    let mut out = Vec::with_capacity(record_json.len() + 256);
    write_envelope(
        &mut out,
        &Envelope {
            event_type: &p.event_type,
            event_source: &p.event_source,
            event_id: &p.event_id,
            account: &p.recipient_account_id,
            time: &p.event_time,
            region: &p.aws_region,
        },
        record_json,
    )
    .ok()?;
    String::from_utf8(out).ok()
}

/// The envelope of a stored record, from its header: its JSON is not parsed, only copied.
pub fn envelope_of(ev: &StoredEvent<'_>, out: &mut Vec<u8>) -> Option<()> {
    let scope = ev.scope()?;
    let time = crate::record::format_event_time(ev.event_time_ms);
    write_envelope(
        out,
        &Envelope {
            event_type: &scope.event_type,
            event_source: ev.event_source,
            event_id: ev.event_id,
            account: ev.recipient_account_id,
            time: &time,
            region: &scope.aws_region,
        },
        ev.record_json,
    )
    .ok()
}

struct Envelope<'a> {
    event_type: &'a str,
    event_source: &'a str,
    event_id: &'a str,
    account: &'a str,
    time: &'a str,
    region: &'a str,
}

/// Writes `{"version":"0","id":…,"detail-type":…,"source":…,"account":…,"time":…,
/// "region":…,"resources":[],"detail":<record>}`: EventBridge's members in EventBridge's
/// order (EventBridge UG, "Amazon EventBridge events": an example event); the record is
/// compact JSON already and goes in as it is.
fn write_envelope(
    out: &mut Vec<u8>,
    e: &Envelope<'_>,
    record_json: &str,
) -> Result<(), serde_json::Error> {
    let detail_type = match e.event_type {
        "AwsConsoleSignIn" => "AWS Console Sign In via CloudTrail",
        "AwsServiceEvent" => "AWS Service Event via CloudTrail",
        _ => "AWS API Call via CloudTrail",
    };
    let service = e
        .event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(e.event_source);
    // EventBridge gives each event its own ID; the record's is stable across retries, so a
    // receiver can deduplicate by it.
    out.extend_from_slice(b"{\"version\":\"0\",\"id\":");
    serde_json::to_writer(&mut *out, e.event_id)?;
    out.extend_from_slice(b",\"detail-type\":");
    serde_json::to_writer(&mut *out, detail_type)?;
    out.extend_from_slice(b",\"source\":\"aws.");
    let quoted = serde_json::to_string(service)?;
    out.extend_from_slice(
        quoted
            .get(1..quoted.len().saturating_sub(1))
            .unwrap_or_default()
            .as_bytes(),
    );
    out.extend_from_slice(b"\",\"account\":");
    serde_json::to_writer(&mut *out, e.account)?;
    out.extend_from_slice(b",\"time\":");
    serde_json::to_writer(&mut *out, e.time)?;
    out.extend_from_slice(b",\"region\":");
    serde_json::to_writer(&mut *out, e.region)?;
    out.extend_from_slice(b",\"resources\":[],\"detail\":");
    out.extend_from_slice(record_json.as_bytes());
    out.push(b'}');
    Ok(())
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
    /// The records just written, read from memory rather than from the store.
    recent: Option<Arc<crate::recent::Recent>>,
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
            recent: None,
        }
    }

    /// Records still in `recent` are taken from there.
    pub fn with_recent(mut self, recent: Arc<crate::recent::Recent>) -> Self {
        self.recent = Some(recent);
        self
    }

    /// Makes sure the one stream job exists (call at start, when streams are configured).
    pub fn ensure(tx: &mut dyn Tx, now_ms: i64) -> Result<(), StoreError> {
        cairn_core::jobs::ensure_recurring(tx, JOB_KIND, JOB_MARK, now_ms, 0)
    }

    /// One round; answers whether every stream is caught up.
    async fn round(&self, env: &Env) -> Result<bool, StoreError> {
        fan_out_all(
            env,
            self.facts.as_ref(),
            &self.streams,
            self.recent.as_ref(),
        )
        .await?;
        let mut all_ok = true;
        for st in self.streams.iter() {
            if !self.stream_round(env, st).await? {
                all_ok = false;
            }
        }
        Ok(all_ok)
    }

    /// Posts what one stream has queued, a slice of rows per store read; answers whether
    /// it is caught up (false: its endpoint failed, the rest waits for the next round).
    async fn stream_round(&self, env: &Env, st: &StreamConfig) -> Result<bool, StoreError> {
        let mut prefix = st.name.as_bytes().to_vec();
        prefix.push(0);
        for _ in 0..READS_PER_ROUND {
            let p = prefix.clone();
            let rows = env
                .store
                .read(move |tx| tx.scan_prefix(STREAMQ, &p, false, ROWS_PER_READ))
                .await?;
            if rows.is_empty() {
                break;
            }
            let full = rows.len() == ROWS_PER_READ;
            if !self.post_rows(env, st, &rows).await? {
                return Ok(false);
            }
            if !full {
                break;
            }
        }
        Ok(true)
    }

    /// Posts the events of `rows` and deletes the rows whose events were all taken; false
    /// when the endpoint failed.
    async fn post_rows(
        &self,
        env: &Env,
        st: &StreamConfig,
        rows: &[cairn_store::KvPair],
    ) -> Result<bool, StoreError> {
        let mut rest = rows;
        while !rest.is_empty() {
            // The rows of this slice: at least one, then while their events fit one read.
            let mut take = 0;
            let mut events = 0;
            for (_, value) in rest {
                let n = decode_keys(value)?.len();
                if take > 0 && events + n > MAX_EVENTS_PER_READ {
                    break;
                }
                take += 1;
                events += n;
            }
            let (slice, tail) = rest.split_at(take.min(rest.len()));
            rest = tail;
            let lists: Vec<Vec<u8>> = slice.iter().map(|(_, v)| v.clone()).collect();
            let recent = self.recent.clone();
            // Per row, its envelopes.
            let envelopes: Vec<Vec<Vec<u8>>> = env
                .store
                .read(move |tx| {
                    let mut out = Vec::with_capacity(lists.len());
                    for list in &lists {
                        let mut row = Vec::new();
                        for (_, v) in read_records(tx, recent.as_deref(), &decode_keys(list)?)? {
                            if let Ok(ev) = StoredEvent::decode(&v) {
                                let mut body = Vec::with_capacity(ev.record_json.len() + 256);
                                if envelope_of(&ev, &mut body).is_some() {
                                    row.push(body);
                                }
                            }
                        }
                        out.push(row);
                    }
                    Ok::<_, StoreError>(out)
                })
                .await?;
            // Post in batches across rows; a row is done once all of its events were taken.
            let mut done: Vec<Vec<u8>> = Vec::new();
            // Rows whose events are (some of them) in `batch`, not yet posted.
            let mut waiting: Vec<Vec<u8>> = Vec::new();
            let mut batch: Vec<Vec<u8>> = Vec::new();
            let mut failed = false;
            for ((row, _), row_envelopes) in slice.iter().zip(envelopes) {
                batch.extend(row_envelopes);
                waiting.push(row.clone());
                if batch.len() >= st.batch() {
                    if !self.post_all(env, st, &mut batch).await {
                        failed = true;
                        break;
                    }
                    done.append(&mut waiting);
                }
            }
            if !failed {
                if batch.is_empty() || self.post_all(env, st, &mut batch).await {
                    done.append(&mut waiting);
                } else {
                    failed = true;
                }
            }
            // A failed request leaves its rows, and every row after it, for the next round
            // (an event posted before the failure in a row left may be posted again: at
            // least once).
            if !done.is_empty() {
                env.store
                    .write(move |tx| {
                        for row in &done {
                            tx.delete(STREAMQ, row)?;
                        }
                        Ok::<_, StoreError>(())
                    })
                    .await?;
            }
            if failed {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Posts `batch` in requests of at most the stream's batch size and empties it; false
    /// when a request failed (the batch is then left as it was).
    async fn post_all(&self, env: &Env, st: &StreamConfig, batch: &mut Vec<Vec<u8>>) -> bool {
        let size = st.batch();
        for chunk in batch.chunks(size) {
            let body = if size == 1 {
                chunk.first().cloned().unwrap_or_default()
            } else {
                let mut b = Vec::with_capacity(chunk.iter().map(|e| e.len() + 1).sum());
                for e in chunk {
                    b.extend_from_slice(e);
                    b.push(b'\n');
                }
                b
            };
            let now = env.clock.now_millis() / 1000;
            let content_type = if size == 1 {
                "application/json"
            } else {
                "application/x-ndjson"
            };
            let mut headers = vec![("content-type".to_owned(), content_type.to_owned())];
            if let Some(secret) = &st.secret {
                headers.push(("x-cairn-timestamp".to_owned(), now.to_string()));
                headers.push((
                    "x-cairn-signature".to_owned(),
                    signature(secret, now, &body),
                ));
            }
            match self.webhook.post(&st.url, headers, body).await {
                Ok(status) if (200..300).contains(&status) => {}
                Ok(status) => {
                    tracing::warn!(stream = %st.name, status, "event stream endpoint refused a request; retried");
                    return false;
                }
                Err(e) => {
                    tracing::warn!(stream = %st.name, error = %e, "event stream endpoint unreachable; retried");
                    return false;
                }
            }
        }
        batch.clear();
        true
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

    #[test]
    fn a_stored_records_envelope_is_built_from_its_header_in_eventbridges_order() {
        let rec = r#"{"eventVersion":"1.08","eventTime":"2026-01-02T03:04:05Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"eu-west-1","eventID":"e-\"2","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}"#;
        let time = 1_767_323_045_000;
        assert_eq!(
            crate::record::format_event_time(time),
            "2026-01-02T03:04:05Z"
        );
        let enc = crate::layout::Encoded::raw(
            time,
            "e-\"2",
            "111122223333",
            "ConsoleLogin",
            "signin.amazonaws.com",
            rec,
        )
        .unwrap();
        let ev = StoredEvent::decode(&enc.value).unwrap();
        let mut out = Vec::new();
        envelope_of(&ev, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, envelope(rec).unwrap());
        assert!(text.starts_with(r#"{"version":"0","id":"e-\"2","detail-type":"AWS Console Sign In via CloudTrail","source":"aws.signin","account":"111122223333","time":"2026-01-02T03:04:05Z","region":"eu-west-1","resources":[],"detail":{"#), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["detail"]["eventID"], "e-\"2");
    }
}
