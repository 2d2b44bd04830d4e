//! `LookupEvents`: the last 90 days of the caller's account's management events, newest first.
//!
//! Every lookup is one bounded prefix range scan of the `trail.ix` index (see
//! [`crate::layout`]) within the caller's account — at most `MaxResults + 1` index rows and
//! `MaxResults` record reads per call, whatever the filter or the size of the trail.
//!
//! Semantics (as AWS):
//! * `LookupAttributes`: at most one (more → `InvalidLookupAttributesException`); the value
//!   must be 1–2000 characters; values match exactly. `Username` is `root` for the root user,
//!   the user name for IAM users and the session name for role sessions; `ResourceName`
//!   matches the resource ARN (the only name Cairn records).
//! * `StartTime` / `EndTime`: inclusive, at the one-second granularity of `eventTime`;
//!   `StartTime` after `EndTime` → `InvalidTimeRangeException`. Default window: the last 90
//!   days ending now; nothing older than 90 days is ever returned.
//! * `MaxResults`: 1–50, default 50 (else `InvalidMaxResultsException`).
//! * `NextToken`: opaque; base64 of a version byte, a 128-bit SHA-256 tag over the query
//!   (account, attribute, given StartTime/EndTime, category) and the resume key, and the
//!   resume key. A token from another query, another account, or altered in any way →
//!   `InvalidNextTokenException`. The tag is integrity, not secrecy: a forged token could at
//!   most move within the caller's own account's results, because the account scope comes
//!   from the authenticated caller, never from the token.
//! * `EventCategory=insight`: the Insights events ([`crate::insights`]), same filters.

use crate::layout::{self, EVENTS, INDEX, StoredEvent, Tag};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_api::cloudtrail::Error;
use cairn_api::cloudtrail::types::{
    Event, EventCategory, LookupAttributeKey, LookupEventsRequest, LookupEventsResponse, Resource,
};
use cairn_core::{Call, Failure};
use cairn_store::{Bound, Scan, StoreError, Tx, prefix_successor};
use cairn_wire::{ApiError, Timestamp};
use sha2::{Digest, Sha256};

/// How far back LookupEvents sees.
pub const RETENTION_MS: i64 = 90 * 24 * 60 * 60 * 1000;
/// `MaxResults` when the request has none (and its maximum).
pub const DEFAULT_MAX_RESULTS: usize = 50;
/// Longest `AttributeValue` AWS accepts.
const MAX_ATTRIBUTE_VALUE_CHARS: usize = 2000;

const TOKEN_VERSION: u8 = 1;
const TOKEN_TAG_LEN: usize = 16;

/// `LookupEvents` for the calling account.
pub async fn lookup_events(
    ctx: &Call,
    input: LookupEventsRequest,
) -> Result<LookupEventsResponse, ApiError> {
    let account = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    ctx.read(move |tx| lookup_in(tx, &account, now, &input).map_err(Failure))
        .await
}

/// `LookupEvents` for `account` at `now_ms`, in a read transaction (the benchmark calls it
/// directly).
pub fn lookup_in(
    tx: &mut dyn cairn_store::Tx,
    account: &str,
    now_ms: i64,
    input: &LookupEventsRequest,
) -> Result<LookupEventsResponse, ApiError> {
    let Some(query) = Query::new(account, now_ms, input)? else {
        return Ok(LookupEventsResponse {
            events: Some(Vec::new()),
            next_token: None,
        });
    };
    query.run(tx).map_err(|e| Failure::from(e).0)
}

fn tag_of(key: LookupAttributeKey) -> Tag {
    match key {
        LookupAttributeKey::EventId => Tag::EventId,
        LookupAttributeKey::EventName => Tag::EventName,
        LookupAttributeKey::ReadOnly => Tag::ReadOnly,
        LookupAttributeKey::Username => Tag::Username,
        LookupAttributeKey::ResourceType => Tag::ResourceType,
        LookupAttributeKey::ResourceName => Tag::ResourceName,
        LookupAttributeKey::EventSource => Tag::EventSource,
        LookupAttributeKey::AccessKeyId => Tag::AccessKeyId,
    }
}

/// A validated lookup: one range of one index prefix.
#[derive(Debug)]
struct Query {
    account: String,
    prefix: Vec<u8>,
    /// Newest allowed time-key (inclusive), or the resume key (exclusive).
    start: Vec<u8>,
    start_inclusive: bool,
    /// Past the oldest allowed time-key (exclusive); `None`: to the end of the prefix.
    end: Option<Vec<u8>>,
    max_results: usize,
    query_tag: [u8; 32],
    /// The window is empty: answer nothing.
    empty: bool,
    /// `EventId` lookups read the one record the ID names: its primary key is derived from
    /// the ID (time-ordered UUID), and there is no index to scan.
    event_id: Option<String>,
    /// The spaces of the records and of their index: management events, or Insights events
    /// (`EventCategory=insight`).
    events_space: &'static str,
    index_space: &'static str,
}

impl Query {
    /// `Ok(None)` when the answer is known to be empty without reading (Insights).
    fn new(
        account: &str,
        now_ms: i64,
        input: &LookupEventsRequest,
    ) -> Result<Option<Query>, ApiError> {
        let attribute = match input.lookup_attributes.as_deref() {
            None | Some([]) => None,
            Some([one]) => Some(one),
            Some(_) => {
                return Err(ApiError::new(
                    Error::InvalidLookupAttributesException,
                    "You can specify at most one lookup attribute.",
                ));
            }
        };
        let (tag, value) = match attribute {
            None => (Tag::All, ""),
            Some(a) => {
                let chars = a.attribute_value.chars().count();
                if chars == 0 || chars > MAX_ATTRIBUTE_VALUE_CHARS {
                    return Err(ApiError::new(
                        Error::InvalidLookupAttributesException,
                        format!(
                            "The value of lookup attribute {} must be between 1 and {MAX_ATTRIBUTE_VALUE_CHARS} characters.",
                            a.attribute_key.as_str()
                        ),
                    ));
                }
                (tag_of(a.attribute_key), a.attribute_value.as_str())
            }
        };
        let max_results = match input.max_results {
            None => DEFAULT_MAX_RESULTS,
            Some(n) => match usize::try_from(n) {
                Ok(n) if (1..=DEFAULT_MAX_RESULTS).contains(&n) => n,
                _ => {
                    return Err(ApiError::new(
                        Error::InvalidMaxResultsException,
                        format!("MaxResults must be between 1 and {DEFAULT_MAX_RESULTS}; got {n}."),
                    ));
                }
            },
        };
        let start_given = input.start_time.map(|t| t.millis);
        let end_given = input.end_time.map(|t| t.millis);
        if let (Some(s), Some(e)) = (start_given, end_given)
            && s > e
        {
            return Err(ApiError::new(
                Error::InvalidTimeRangeException,
                "The start time must not be after the end time.",
            ));
        }
        let category = input.event_category;
        let query_tag = query_tag(account, tag, value, start_given, end_given, category);
        let resume = match input.next_token.as_deref() {
            None => None,
            Some(token) => Some(decode_token(token, &query_tag).ok_or_else(|| {
                ApiError::new(
                    Error::InvalidNextTokenException,
                    "The NextToken is not valid.",
                )
            })?),
        };
        let insight = category == Some(EventCategory::Insight);

        // The window, at eventTime's one-second granularity.
        let horizon = now_ms.saturating_sub(RETENTION_MS);
        let oldest = start_given.map_or(horizon, floor_second).max(horizon);
        let newest = end_given.map_or(now_ms, |e| floor_second(e).saturating_add(999));

        let prefix = layout::index_prefix(account, tag, value);
        let with_time = |time: [u8; layout::TIME_LEN]| {
            let mut k = Vec::with_capacity(prefix.len() + layout::TIME_LEN);
            k.extend_from_slice(&prefix);
            k.extend_from_slice(&time);
            k
        };
        let newest_key = with_time(layout::time_prefix(newest));
        // Keys of events at `oldest` or later are below `prefix ‖ inv(oldest) + 1`.
        let oldest_inv = u64::MAX - u64::try_from(oldest).unwrap_or(0);
        let end = match oldest_inv.checked_add(1) {
            Some(past) => Some(with_time(past.to_be_bytes())),
            None => prefix_successor(&prefix),
        };
        let (start, start_inclusive) = match resume {
            Some(time_key) => {
                let mut resume_key = Vec::with_capacity(prefix.len() + time_key.len());
                resume_key.extend_from_slice(&prefix);
                resume_key.extend_from_slice(&time_key);
                if resume_key >= newest_key {
                    (resume_key, false)
                } else {
                    (newest_key, true)
                }
            }
            None => (newest_key, true),
        };
        Ok(Some(Query {
            account: account.to_owned(),
            prefix,
            start,
            start_inclusive,
            end,
            max_results,
            query_tag,
            empty: oldest > newest,
            event_id: (tag == Tag::EventId).then(|| value.to_owned()),
            events_space: if insight {
                crate::insights::EVENTS
            } else {
                EVENTS
            },
            index_space: if insight {
                crate::insights::INDEX
            } else {
                INDEX
            },
        }))
    }

    fn run(&self, tx: &mut dyn Tx) -> Result<LookupEventsResponse, StoreError> {
        if self.empty {
            return Ok(LookupEventsResponse {
                events: Some(Vec::new()),
                next_token: None,
            });
        }
        if let Some(id) = &self.event_id {
            return self.run_event_id(tx, id);
        }
        let keys = self.matching_keys(tx)?;
        let more = keys.len() > self.max_results;
        let mut events = Vec::with_capacity(keys.len().min(self.max_results));
        let mut last: Option<&[u8]> = None;
        for time_key in keys.iter().take(self.max_results) {
            last = Some(time_key);
            let Some(value) = tx.get(self.events_space, time_key)? else {
                tracing::warn!("CloudTrail index entry without its record; skipped");
                continue;
            };
            match StoredEvent::decode(&value) {
                Ok(stored) if stored.recipient_account_id == self.account => {
                    events.push(to_api_event(&stored))
                }
                Ok(stored) => {
                    tracing::warn!(
                        event_id = stored.event_id,
                        "CloudTrail index entry of another account; skipped"
                    );
                }
                Err(err) => tracing::warn!(?err, "undecodable CloudTrail record; skipped"),
            }
        }
        let next_token = match (more, last) {
            (true, Some(time_key)) => Some(encode_token(&self.query_tag, time_key)),
            _ => None,
        };
        Ok(LookupEventsResponse {
            events: Some(events),
            next_token,
        })
    }
}

impl Query {
    /// The first `max_results + 1` time-keys in the window, newest first.
    ///
    /// Index rows list several events (see `layout::put_batch`): a row's key carries its
    /// newest event, and all its events fall in the same second. So the scan starts one
    /// second before the window (to catch rows that straddle its start) and merges: a
    /// candidate is final once the scan has passed it, because every later row only holds
    /// keys at or after its own key.
    fn matching_keys(&self, tx: &mut dyn Tx) -> Result<Vec<Vec<u8>>, StoreError> {
        use std::collections::BTreeSet;
        let want = self.max_results.saturating_add(1);
        let start_suffix = self.start.get(self.prefix.len()..).unwrap_or_default();
        let end_suffix = self.end.as_deref().and_then(|e| e.get(self.prefix.len()..));
        let in_window = |k: &[u8]| {
            let after_start = if self.start_inclusive {
                k >= start_suffix
            } else {
                k > start_suffix
            };
            after_start && end_suffix.is_none_or(|e| k < e)
        };
        // Rows that may hold keys of the window's first second begin up to a second earlier.
        let start_time = start_suffix
            .get(..layout::TIME_LEN)
            .and_then(|b| <[u8; layout::TIME_LEN]>::try_from(b).ok())
            .map_or(0, u64::from_be_bytes);
        let mut cursor = self.prefix.clone();
        cursor.extend_from_slice(&start_time.saturating_sub(1000).to_be_bytes());
        let mut cursor_inclusive = true;
        let mut candidates: BTreeSet<Vec<u8>> = BTreeSet::new();
        let mut out: Vec<Vec<u8>> = Vec::new();
        const CHUNK: usize = 64;
        'scan: loop {
            let scan = Scan {
                start: if cursor_inclusive {
                    Bound::Included(&cursor)
                } else {
                    Bound::Excluded(&cursor)
                },
                end: self
                    .end
                    .as_deref()
                    .map_or(Bound::Unbounded, Bound::Excluded),
                reverse: false,
                limit: CHUNK,
            };
            let rows = tx.scan(self.index_space, &scan)?;
            let exhausted = rows.len() < CHUNK;
            for (key, value) in &rows {
                let Some(row_suffix) = key.get(self.prefix.len()..) else {
                    continue;
                };
                while let Some(first) = candidates.first() {
                    if first.as_slice() >= row_suffix {
                        break;
                    }
                    if let Some(k) = candidates.pop_first() {
                        out.push(k);
                    }
                    if out.len() >= want {
                        break 'scan;
                    }
                }
                match layout::posting_entries(row_suffix, value) {
                    Ok(entries) => {
                        for k in entries {
                            if in_window(k) {
                                candidates.insert(k.to_vec());
                            }
                        }
                    }
                    Err(err) => tracing::warn!(?err, "undecodable CloudTrail index row; skipped"),
                }
            }
            match rows.last() {
                Some((k, _)) if !exhausted => {
                    cursor.clone_from(k);
                    cursor_inclusive = false;
                }
                _ => break,
            }
        }
        while out.len() < want {
            match candidates.pop_first() {
                Some(k) => out.push(k),
                None => break,
            }
        }
        Ok(out)
    }
}

impl Query {
    fn run_event_id(&self, tx: &mut dyn Tx, id: &str) -> Result<LookupEventsResponse, StoreError> {
        let mut events = Vec::new();
        if let Some(ms) = cairn_core::uuid_v7_millis(id) {
            let mut key = Vec::with_capacity(layout::TIME_LEN + id.len());
            layout::push_time_key(&mut key, ms, id);
            let in_window = self.start.get(self.prefix.len()..).is_some_and(|newest| {
                key.as_slice() >= newest
                    && self
                        .end
                        .as_deref()
                        .and_then(|e| e.get(self.prefix.len()..))
                        .is_none_or(|oldest| key.as_slice() < oldest)
            });
            if in_window
                && let Some(value) = tx.get(self.events_space, &key)?
                && let Ok(stored) = StoredEvent::decode(&value)
                && stored.recipient_account_id == self.account
            {
                events.push(to_api_event(&stored));
            }
        }
        Ok(LookupEventsResponse {
            events: Some(events),
            next_token: None,
        })
    }
}

fn floor_second(ms: i64) -> i64 {
    ms.div_euclid(1000).saturating_mul(1000)
}

fn to_api_event(s: &StoredEvent<'_>) -> Event {
    Event {
        access_key_id: s.access_key_id.map(str::to_owned),
        cloud_trail_event: Some(s.record_json.to_owned()),
        event_id: Some(s.event_id.to_owned()),
        event_name: Some(s.event_name.to_owned()),
        event_source: Some(s.event_source.to_owned()),
        event_time: Some(Timestamp::from_millis(floor_second(s.event_time_ms))),
        read_only: Some(if s.read_only { "true" } else { "false" }.to_owned()),
        resources: Some(
            s.resources
                .iter()
                .map(|(t, n)| Resource {
                    resource_type: Some((*t).to_owned()),
                    resource_name: Some((*n).to_owned()),
                })
                .collect(),
        ),
        username: s.username.map(str::to_owned),
    }
}

/// SHA-256 over everything that defines the query (not `MaxResults`, which may change
/// between pages, and not the defaulted window, which moves with the clock).
fn query_tag(
    account: &str,
    tag: Tag,
    value: &str,
    start: Option<i64>,
    end: Option<i64>,
    category: Option<EventCategory>,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"cairn-trail/LookupEvents/v1\0");
    let field = |h: &mut Sha256, bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(&mut h, account.as_bytes());
    h.update([tag as u8]);
    field(&mut h, value.as_bytes());
    for t in [start, end] {
        match t {
            Some(ms) => {
                h.update([1]);
                h.update(ms.to_be_bytes());
            }
            None => h.update([0]),
        }
    }
    field(
        &mut h,
        category.map_or("", EventCategory::as_str).as_bytes(),
    );
    h.finalize().into()
}

fn token_mac(query_tag: &[u8; 32], time_key: &[u8]) -> [u8; TOKEN_TAG_LEN] {
    let mut h = Sha256::new();
    h.update(query_tag);
    h.update(time_key);
    let full: [u8; 32] = h.finalize().into();
    let mut out = [0u8; TOKEN_TAG_LEN];
    for (o, b) in out.iter_mut().zip(full) {
        *o = b;
    }
    out
}

fn encode_token(query_tag: &[u8; 32], time_key: &[u8]) -> String {
    let mut raw = Vec::with_capacity(1 + TOKEN_TAG_LEN + time_key.len());
    raw.push(TOKEN_VERSION);
    raw.extend_from_slice(&token_mac(query_tag, time_key));
    raw.extend_from_slice(time_key);
    B64.encode(raw)
}

/// The resume time-key, if `token` is a valid token of this query.
fn decode_token(token: &str, query_tag: &[u8; 32]) -> Option<Vec<u8>> {
    let raw = B64.decode(token).ok()?;
    let (&version, rest) = raw.split_first()?;
    if version != TOKEN_VERSION {
        return None;
    }
    let (mac, time_key) = rest.split_at_checked(TOKEN_TAG_LEN)?;
    if time_key.len() < layout::TIME_LEN || token_mac(query_tag, time_key).as_slice() != mac {
        return None;
    }
    Some(time_key.to_vec())
}

#[cfg(test)]
mod tests;
