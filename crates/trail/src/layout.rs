//! How records and their lookup index live in the store.
//!
//! ## Spaces and keys
//!
//! * **`trail.ev`** — one row per event, all accounts together.
//!   key = *time-key* = `be_u64(u64::MAX - event_time_ms)` ‖ `eventID` (UTF-8).
//!   A forward scan therefore runs newest-first; events of the same millisecond order by
//!   event ID. Negative times are stored as 0.
//!   value = the stored event (below).
//! * **`trail.ix`** — the LookupEvents index, values empty.
//!   key = `esc(recipientAccountId)` ‖ `00 00` ‖ *tag* ‖ `esc(value)` ‖ `00 00` ‖ *time-key*.
//!   Tags: `0` every event of the account (value empty), `1` EventId, `2` EventName,
//!   `3` ReadOnly (`"true"`/`"false"`), `4` Username, `5` ResourceType, `6` ResourceName
//!   (the resource ARN), `7` EventSource, `8` AccessKeyId.
//!   `esc` doubles as a terminator-safe encoding: every `00` byte in the string is written as
//!   `00 ff`, so `00 00` can only be the terminator and a prefix never matches a longer value.
//!   Every lookup (filtered or not) is a prefix range scan within one account, newest-first;
//!   the time window becomes the range bounds, so no row outside the answer is read.
//!
//! Index entries are scoped by account (ahead of the brief's `tag ‖ value ‖ 00 ‖ time-key`)
//! so that LookupEvents' "only the caller's account" rule costs nothing: with many member
//! accounts in one store, an unscoped index would make every lookup skip other accounts'
//! rows, which is unbounded work.
//!
//! ## Stored event (value of `trail.ev`)
//!
//! ```text
//! 02                      format version
//! flags: u8               bit0 readOnly, bit1 has accessKeyId, bit2 has username,
//!                         bit3 not a management event (managementEvent false)
//! event_time_ms: i64 BE
//! str eventID, str recipientAccountId, str eventName, str eventSource,
//! str accessKeyId (empty when absent), str username (empty when absent),
//! str awsRegion, str eventType, str errorCode (empty when absent)
//! u16 BE resource count, then per resource: str type, str name (ARN)
//! the record JSON (compact, UTF-8) up to the end
//! ```
//! where `str` = `u32 BE length ‖ bytes`. The header carries everything LookupEvents returns
//! besides the record itself, and everything delivery, event streams and Insights decide by
//! ([`Scope`]), so neither a lookup nor a fan-out re-parses JSON. Version `01` (written before
//! the three `Scope` strings were added) has no `awsRegion`, `eventType` and `errorCode`
//! strings and no bit3; its scope is read from the record JSON.

use crate::record;
use cairn_core::AuditEvent;
use cairn_store::StoreError;
use serde::Deserialize;
use std::borrow::Cow;

/// Space of the records.
pub const EVENTS: &str = "trail.ev";
/// Space of the lookup index.
pub const INDEX: &str = "trail.ix";

/// The first stored-event format (no [`Scope`] in the header).
pub const FORMAT_V1: u8 = 1;
/// Current stored-event format.
pub const FORMAT_V2: u8 = 2;

const FLAG_READ_ONLY: u8 = 1;
const FLAG_ACCESS_KEY: u8 = 1 << 1;
const FLAG_USERNAME: u8 = 1 << 2;
const FLAG_NOT_MANAGEMENT: u8 = 1 << 3;

/// Index tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Tag {
    All = 0,
    EventId = 1,
    EventName = 2,
    ReadOnly = 3,
    Username = 4,
    ResourceType = 5,
    ResourceName = 6,
    EventSource = 7,
    AccessKeyId = 8,
}

/// Length of the time part of a time-key.
pub const TIME_LEN: usize = 8;

/// The inverted-time prefix of a time-key.
pub fn time_prefix(event_time_ms: i64) -> [u8; TIME_LEN] {
    let t = u64::try_from(event_time_ms).unwrap_or(0);
    (u64::MAX - t).to_be_bytes()
}

/// Appends the time-key of an event.
pub fn push_time_key(out: &mut Vec<u8>, event_time_ms: i64, event_id: &str) {
    out.extend_from_slice(&time_prefix(event_time_ms));
    out.extend_from_slice(event_id.as_bytes());
}

/// Appends `s` with `00` escaped as `00 ff`, then the terminator `00 00`.
fn push_escaped(out: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// The index prefix `esc(account) 00 00 tag esc(value) 00 00`; every index key of that
/// account/attribute/value starts with it and continues with a time-key.
pub fn index_prefix(account_id: &str, tag: Tag, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(account_id.len() + value.len() + 8 + 32);
    push_index_prefix(&mut out, account_id, tag, value);
    out
}

fn push_index_prefix(out: &mut Vec<u8>, account_id: &str, tag: Tag, value: &str) {
    push_escaped(out, account_id);
    out.push(tag as u8);
    push_escaped(out, value);
}

/// A record ready to be written: its primary key and value, and its index keys.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// Where the record JSON starts in `value` (the header ends).
    json_start: usize,
    /// Index keys, concatenated; `index_ends[i]` is where key `i` ends.
    index: Vec<u8>,
    index_ends: Vec<usize>,
}

impl Encoded {
    /// Encodes `event` (record JSON, header, index keys), within the record bounds
    /// ([`record::MAX_EVENT_BYTES`]): whatever a request carried, its record adds at most
    /// that much (plus its index keys) to the store.
    pub fn new(event: &AuditEvent) -> Result<Encoded, StoreError> {
        // An over-long message or user agent (an echoed 7 MB value) is cut before the record
        // is rendered at all: escaping it first would cost twice its size in a buffer.
        let long_text = event
            .error_message
            .as_ref()
            .is_some_and(|m| m.len() > record::MAX_TEXT_BYTES)
            || event.user_agent.len() > record::MAX_TEXT_BYTES;
        if long_text && let Some(smaller) = record::fitted(event, usize::MAX) {
            return Encoded::encode(&smaller);
        }
        let encoded = Encoded::encode(event)?;
        let record_len = encoded.value.len();
        match record::fitted(event, record_len) {
            Some(smaller) => Encoded::encode(&smaller),
            None => Ok(encoded),
        }
    }

    fn encode(event: &AuditEvent) -> Result<Encoded, StoreError> {
        let username = match &event.federated {
            Some(f) => f.user_name.as_str(),
            None => record::lookup_username(&event.principal).unwrap_or(""),
        };
        let access_key = event.principal.access_key_id().unwrap_or("");
        let read_only = if event.read_only { "true" } else { "false" };

        let mut key = Vec::with_capacity(TIME_LEN + event.event_id.len());
        push_time_key(&mut key, event.event_time_ms, &event.event_id);

        // Value: header, then the record.
        let mut value = Vec::with_capacity(1024);
        value.push(FORMAT_V2);
        let mut flags = 0u8;
        if event.read_only {
            flags |= FLAG_READ_ONLY;
        }
        if !event.management_event {
            flags |= FLAG_NOT_MANAGEMENT;
        }
        if !access_key.is_empty() {
            flags |= FLAG_ACCESS_KEY;
        }
        if !username.is_empty() {
            flags |= FLAG_USERNAME;
        }
        value.push(flags);
        value.extend_from_slice(&event.event_time_ms.to_be_bytes());
        for s in [
            event.event_id.as_str(),
            event.recipient_account_id.as_str(),
            event.event_name.as_str(),
            event.event_source.as_str(),
            access_key,
            username,
            event.aws_region.as_str(),
            event.event_type.as_str(),
            event.error_code.as_deref().unwrap_or(""),
        ] {
            put_str(&mut value, s)?;
        }
        let count = u16::try_from(event.resources.len()).map_err(|_| {
            StoreError::Backend("too many resources in one CloudTrail event".to_owned())
        })?;
        value.extend_from_slice(&count.to_be_bytes());
        for r in &event.resources {
            put_str(&mut value, &r.resource_type)?;
            put_str(&mut value, &r.arn)?;
        }
        let json_start = value.len();
        record::write_record(event, &mut value)
            .map_err(|e| StoreError::Backend(format!("encoding a CloudTrail record: {e}")))?;

        // Index keys.
        let account = event.recipient_account_id.as_str();
        let entries = 8 + 2 * event.resources.len();
        let values_len = event.event_id.len()
            + event.event_name.len()
            + event.event_source.len()
            + username.len()
            + access_key.len()
            + 5
            + event
                .resources
                .iter()
                .map(|r| r.resource_type.len() + r.arn.len())
                .sum::<usize>();
        let mut enc = Encoded {
            index: Vec::with_capacity(entries * (account.len() + 6 + key.len()) + values_len),
            index_ends: Vec::with_capacity(entries),
            key,
            value,
            json_start,
        };
        enc.add_index(account, Tag::All, "");
        // No EventId index: event IDs are time-ordered UUIDs, so LookupEvents finds an event
        // from its ID with one primary-key read (see `lookup`). A random-key index here was
        // the largest source of write amplification under load.
        enc.add_index(account, Tag::EventName, &event.event_name);
        enc.add_index(account, Tag::ReadOnly, read_only);
        if !username.is_empty() {
            enc.add_index(account, Tag::Username, username);
        }
        enc.add_index(account, Tag::EventSource, &event.event_source);
        if !access_key.is_empty() {
            enc.add_index(account, Tag::AccessKeyId, access_key);
        }
        for (i, r) in event.resources.iter().enumerate() {
            // One entry per distinct value: an event names each type/ARN once in the index.
            let earlier = event.resources.get(..i).unwrap_or_default();
            if !earlier.iter().any(|p| p.resource_type == r.resource_type) {
                enc.add_index(account, Tag::ResourceType, &r.resource_type);
            }
            if !earlier.iter().any(|p| p.arn == r.arn) {
                enc.add_index(account, Tag::ResourceName, &r.arn);
            }
        }
        Ok(enc)
    }

    /// A record that is not an API call's (an Insights event): its header fields and its
    /// JSON as given, indexed by account, event name and event source.
    pub fn raw(
        time_ms: i64,
        event_id: &str,
        account: &str,
        event_name: &str,
        event_source: &str,
        record_json: &str,
    ) -> Result<Encoded, StoreError> {
        let mut key = Vec::with_capacity(TIME_LEN + event_id.len());
        push_time_key(&mut key, time_ms, event_id);
        // Such records are few (Insights, PutAuditEvents): their scope is read once here. One
        // without `awsRegion` is written in format 1, so that it has no scope either way (and
        // is neither delivered nor streamed).
        let scope = Scope::of_json(record_json);
        let mut value = Vec::with_capacity(96 + record_json.len());
        value.push(if scope.is_some() {
            FORMAT_V2
        } else {
            FORMAT_V1
        });
        value.push(match &scope {
            Some(s) if !s.management_event => FLAG_NOT_MANAGEMENT,
            _ => 0,
        });
        value.extend_from_slice(&time_ms.to_be_bytes());
        for s in [event_id, account, event_name, event_source, "", ""] {
            put_str(&mut value, s)?;
        }
        if let Some(scope) = &scope {
            for s in [
                &*scope.aws_region,
                &*scope.event_type,
                scope.error_code.as_deref().unwrap_or(""),
            ] {
                put_str(&mut value, s)?;
            }
        }
        value.extend_from_slice(&0u16.to_be_bytes());
        let json_start = value.len();
        value.extend_from_slice(record_json.as_bytes());
        let mut enc = Encoded {
            index: Vec::new(),
            index_ends: Vec::new(),
            key,
            value,
            json_start,
        };
        enc.add_index(account, Tag::All, "");
        enc.add_index(account, Tag::EventName, event_name);
        enc.add_index(account, Tag::EventSource, event_source);
        Ok(enc)
    }

    fn add_index(&mut self, account: &str, tag: Tag, value: &str) {
        push_index_prefix(&mut self.index, account, tag, value);
        self.index.extend_from_slice(&self.key);
        self.index_ends.push(self.index.len());
    }

    /// The stored value without its record JSON: [`StoredEvent::decode`] reads it as an
    /// event whose `record_json` is empty (what fan-out decides by).
    pub fn header(&self) -> &[u8] {
        self.value.get(..self.json_start).unwrap_or_default()
    }

    /// The index keys.
    pub fn index_keys(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.index_ends.iter().filter_map(move |&end| {
            let k = self.index.get(start..end);
            start = end;
            k
        })
    }

    /// Writes the record and its index entries.
    pub fn put(&self, tx: &mut dyn cairn_store::Tx) -> Result<(), StoreError> {
        put_batch(tx, std::slice::from_ref(self))
    }

    /// The event's time (ms), from its key.
    fn time_ms(&self) -> i64 {
        let inv = self
            .key
            .get(..TIME_LEN)
            .and_then(|b| <[u8; TIME_LEN]>::try_from(b).ok())
            .map_or(u64::MAX, u64::from_be_bytes);
        i64::try_from(u64::MAX - inv).unwrap_or(0)
    }
}

/// Format byte of an index row holding a list of time-keys (see [`put_batch`]).
pub const POSTING_V2: u8 = 2;

/// Writes records and their index entries. Index entries are grouped: the events of one
/// batch that share an index prefix (account, attribute, value) and the same second become
/// ONE index row — key `prefix ‖ newest time-key`, value `02 ‖ (u16 length ‖ time-key)*`
/// in key order — instead of one row per event. A read-only batch of hundreds of similar
/// calls then costs a handful of index rows. An index row whose value is empty is a
/// single-event row whose time-key is the key's suffix (the first layout).
pub fn put_batch(tx: &mut dyn cairn_store::Tx, events: &[Encoded]) -> Result<(), StoreError> {
    crate::delivery::put_pending(tx, events)?;
    put_batch_into(tx, events, EVENTS, INDEX)
}

/// [`put_batch`] into other spaces (the Insights events), without delivery's pending row.
pub fn put_batch_into(
    tx: &mut dyn cairn_store::Tx,
    events: &[Encoded],
    events_space: &str,
    index_space: &str,
) -> Result<(), StoreError> {
    use std::collections::BTreeMap;
    let mut groups: BTreeMap<(&[u8], i64), Vec<&[u8]>> = BTreeMap::new();
    for e in events {
        tx.put(events_space, &e.key, &e.value)?;
        let second = e.time_ms().div_euclid(1000);
        for k in e.index_keys() {
            let prefix = k
                .get(..k.len().saturating_sub(e.key.len()))
                .unwrap_or_default();
            groups.entry((prefix, second)).or_default().push(&e.key);
        }
    }
    let mut row_key = Vec::new();
    let mut value = Vec::new();
    for ((prefix, _), mut keys) in groups {
        keys.sort_unstable();
        keys.dedup();
        let Some(newest) = keys.first() else { continue };
        row_key.clear();
        row_key.extend_from_slice(prefix);
        row_key.extend_from_slice(newest);
        value.clear();
        value.push(POSTING_V2);
        for k in &keys {
            let len = u16::try_from(k.len())
                .map_err(|_| StoreError::Backend("CloudTrail event key too long".to_owned()))?;
            value.extend_from_slice(&len.to_be_bytes());
            value.extend_from_slice(k);
        }
        tx.put(index_space, &row_key, &value)?;
    }
    Ok(())
}

/// The time-keys an index row lists; `suffix` is the row key without its prefix.
pub fn posting_entries<'a>(
    suffix: &'a [u8],
    value: &'a [u8],
) -> Result<Vec<&'a [u8]>, DecodeError> {
    match value.split_first() {
        None => Ok(vec![suffix]),
        Some((&POSTING_V2, mut rest)) => {
            let mut out = Vec::new();
            while !rest.is_empty() {
                let (len, tail) = rest.split_at_checked(2).ok_or(DecodeError::Corrupt)?;
                let len = usize::from(u16::from_be_bytes([
                    len.first().copied().unwrap_or(0),
                    len.get(1).copied().unwrap_or(0),
                ]));
                let (k, tail) = tail.split_at_checked(len).ok_or(DecodeError::Corrupt)?;
                out.push(k);
                rest = tail;
            }
            Ok(out)
        }
        Some((&v, _)) => Err(DecodeError::UnknownVersion(v)),
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), StoreError> {
    let len = u32::try_from(s.len())
        .map_err(|_| StoreError::Backend("CloudTrail field longer than 4 GiB".to_owned()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// A stored event, decoded without copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent<'a> {
    pub event_time_ms: i64,
    pub event_id: &'a str,
    pub recipient_account_id: &'a str,
    pub event_name: &'a str,
    pub event_source: &'a str,
    pub read_only: bool,
    pub access_key_id: Option<&'a str>,
    pub username: Option<&'a str>,
    /// `(type, name)` pairs.
    pub resources: Vec<(&'a str, &'a str)>,
    /// The record, compact JSON.
    pub record_json: &'a str,
    /// The header's scope (format 2); `None` for a format-1 value, see [`StoredEvent::scope`].
    stored_scope: Option<Scope<'a>>,
}

/// What delivery, event streams and Insights decide by, besides the lookup fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope<'a> {
    pub aws_region: Cow<'a, str>,
    pub event_type: Cow<'a, str>,
    /// `managementEvent` (a record without the member counts as one).
    pub management_event: bool,
    pub error_code: Option<Cow<'a, str>>,
}

/// The members of a record's JSON that make its [`Scope`].
#[derive(Deserialize)]
struct ScopePeek<'a> {
    #[serde(rename = "awsRegion", borrow)]
    aws_region: Cow<'a, str>,
    #[serde(rename = "eventType", default, borrow)]
    event_type: Cow<'a, str>,
    #[serde(rename = "managementEvent", default)]
    management_event: Option<bool>,
    #[serde(rename = "errorCode", default, borrow)]
    error_code: Option<Cow<'a, str>>,
}

impl<'a> Scope<'a> {
    /// The scope of a record from its JSON; `None` when it has no `awsRegion`.
    pub fn of_json(record_json: &'a str) -> Option<Scope<'a>> {
        let p: ScopePeek<'a> = serde_json::from_str(record_json).ok()?;
        Some(Scope {
            aws_region: p.aws_region,
            event_type: p.event_type,
            management_event: p.management_event != Some(false),
            error_code: p.error_code,
        })
    }
}

/// Why a stored value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// A format version this build does not know (written by a newer Cairn).
    UnknownVersion(u8),
    /// Truncated or not UTF-8.
    Corrupt,
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (head, rest) = self.0.split_at_checked(n).ok_or(DecodeError::Corrupt)?;
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        self.take(N)?.try_into().map_err(|_| DecodeError::Corrupt)
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let len =
            usize::try_from(u32::from_be_bytes(self.array()?)).map_err(|_| DecodeError::Corrupt)?;
        std::str::from_utf8(self.take(len)?).map_err(|_| DecodeError::Corrupt)
    }
}

impl<'a> StoredEvent<'a> {
    /// The record's scope: from the header, or (format 1) from its JSON; `None` for a
    /// format-1 record without `awsRegion`.
    pub fn scope(&self) -> Option<Scope<'a>> {
        match &self.stored_scope {
            Some(s) => Some(s.clone()),
            None => Scope::of_json(self.record_json),
        }
    }

    pub fn decode(bytes: &'a [u8]) -> Result<StoredEvent<'a>, DecodeError> {
        let mut r = Reader(bytes);
        let [version] = r.array()?;
        if version != FORMAT_V1 && version != FORMAT_V2 {
            return Err(DecodeError::UnknownVersion(version));
        }
        let [flags] = r.array()?;
        let event_time_ms = i64::from_be_bytes(r.array()?);
        let event_id = r.str()?;
        let recipient_account_id = r.str()?;
        let event_name = r.str()?;
        let event_source = r.str()?;
        let access_key_id = r.str()?;
        let username = r.str()?;
        let stored_scope = if version == FORMAT_V2 {
            let aws_region = r.str()?;
            let event_type = r.str()?;
            let error_code = r.str()?;
            Some(Scope {
                aws_region: Cow::Borrowed(aws_region),
                event_type: Cow::Borrowed(event_type),
                management_event: flags & FLAG_NOT_MANAGEMENT == 0,
                error_code: (!error_code.is_empty()).then_some(Cow::Borrowed(error_code)),
            })
        } else {
            None
        };
        let count = u16::from_be_bytes(r.array()?);
        let mut resources = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let t = r.str()?;
            let n = r.str()?;
            resources.push((t, n));
        }
        let record_json = std::str::from_utf8(r.0).map_err(|_| DecodeError::Corrupt)?;
        Ok(StoredEvent {
            event_time_ms,
            event_id,
            recipient_account_id,
            event_name,
            event_source,
            read_only: flags & FLAG_READ_ONLY != 0,
            access_key_id: (flags & FLAG_ACCESS_KEY != 0).then_some(access_key_id),
            username: (flags & FLAG_USERNAME != 0).then_some(username),
            resources,
            record_json,
            stored_scope,
        })
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use cairn_core::Principal;
    use cairn_core::call::AuditResource;

    fn event() -> AuditEvent {
        AuditEvent {
            event_time_ms: 1_700_000_000_123,
            event_id: "e-1".to_owned(),
            request_id: "r-1".to_owned(),
            principal: Principal::IamUser {
                account_id: "111122223333".to_owned(),
                user_name: "alice".to_owned(),
                user_id: "AIDAX".to_owned(),
                path: "/".to_owned(),
                access_key_id: "AKIAX".to_owned(),
                session: None,
            },
            event_source: "organizations.amazonaws.com".to_owned(),
            event_name: "TagResource".to_owned(),
            aws_region: "us-east-1".to_owned(),
            source_ip: "127.0.0.1".to_owned(),
            user_agent: "test".to_owned(),
            request_parameters: None,
            response_elements: None,
            error_code: None,
            error_message: None,
            read_only: false,
            event_type: "AwsApiCall".to_owned(),
            management_event: true,
            recipient_account_id: "111122223333".to_owned(),
            resources: vec![
                AuditResource {
                    arn: "arn:a".to_owned(),
                    account_id: "111122223333".to_owned(),
                    resource_type: "AWS::X::Y".to_owned(),
                },
                AuditResource {
                    arn: "arn:b".to_owned(),
                    account_id: "111122223333".to_owned(),
                    resource_type: "AWS::X::Y".to_owned(),
                },
            ],
            federated: None,
            service_event_details: None,
            additional_event_data: None,
        }
    }

    #[test]
    fn value_round_trip() {
        let e = event();
        let enc = Encoded::new(&e).unwrap();
        let d = StoredEvent::decode(&enc.value).unwrap();
        assert_eq!(d.event_time_ms, e.event_time_ms);
        assert_eq!(d.event_id, "e-1");
        assert_eq!(d.recipient_account_id, "111122223333");
        assert_eq!(d.event_name, "TagResource");
        assert_eq!(d.event_source, "organizations.amazonaws.com");
        assert!(!d.read_only);
        assert_eq!(d.access_key_id, Some("AKIAX"));
        assert_eq!(d.username, Some("alice"));
        assert_eq!(
            d.resources,
            vec![("AWS::X::Y", "arn:a"), ("AWS::X::Y", "arn:b")]
        );
        let v: serde_json::Value = serde_json::from_str(d.record_json).unwrap();
        assert_eq!(v, record::to_record(&e));
    }

    #[test]
    fn anonymous_has_no_access_key_or_username() {
        let mut e = event();
        e.principal = Principal::Anonymous;
        let enc = Encoded::new(&e).unwrap();
        let d = StoredEvent::decode(&enc.value).unwrap();
        assert_eq!(d.access_key_id, None);
        assert_eq!(d.username, None);
        // All, EventName, ReadOnly, EventSource, 1 type, 2 names.
        assert_eq!(enc.index_keys().count(), 7);
    }

    #[test]
    fn index_keys_are_prefixed_and_deduplicated() {
        let e = event();
        let enc = Encoded::new(&e).unwrap();
        let keys: Vec<&[u8]> = enc.index_keys().collect();
        // All, EventName, ReadOnly, Username, EventSource, AccessKeyId,
        // ResourceType once, ResourceName twice.
        assert_eq!(keys.len(), 9);
        for k in &keys {
            assert!(k.ends_with(&enc.key));
        }
        let p = index_prefix("111122223333", Tag::ResourceType, "AWS::X::Y");
        assert_eq!(keys.iter().filter(|k| k.starts_with(&p)).count(), 1);
        let p = index_prefix("111122223333", Tag::Username, "alice");
        assert_eq!(keys.iter().filter(|k| k.starts_with(&p)).count(), 1);
    }

    #[test]
    fn key_bytes_match_the_documented_layout() {
        let e = event();
        let enc = Encoded::new(&e).unwrap();
        let mut time_key = (u64::MAX - 1_700_000_000_123).to_be_bytes().to_vec();
        time_key.extend_from_slice(b"e-1");
        assert_eq!(enc.key, time_key);
        let mut want = b"111122223333\0\0".to_vec();
        want.push(2); // EventName
        want.extend_from_slice(b"TagResource\0\0");
        want.extend_from_slice(&time_key);
        assert!(enc.index_keys().any(|k| k == want.as_slice()));
        let mut all = b"111122223333\0\0\0\0\0".to_vec();
        all.extend_from_slice(&time_key);
        assert_eq!(enc.index_keys().next(), Some(all.as_slice()));
        assert_eq!(
            index_prefix("a\0b", Tag::All, ""),
            b"a\0\xffb\0\0\0\0\0".to_vec()
        );
        assert_eq!(enc.value.first(), Some(&FORMAT_V2));
    }

    #[test]
    fn escaping_keeps_prefixes_distinct() {
        // "a" must not be a prefix match for "a\0b", nor account "1" for "1\0...".
        let short = index_prefix("1", Tag::EventName, "a");
        let long = index_prefix("1", Tag::EventName, "a\0b");
        assert!(!long.starts_with(&short));
        let long = index_prefix("1", Tag::EventName, "ab");
        assert!(!long.starts_with(&short));
    }

    #[test]
    fn time_keys_sort_newest_first() {
        let mut older = Vec::new();
        push_time_key(&mut older, 1_000, "z");
        let mut newer = Vec::new();
        push_time_key(&mut newer, 2_000, "a");
        assert!(newer < older);
        assert_eq!(time_prefix(-5), time_prefix(0));
    }

    #[test]
    fn decode_rejects_garbage() {
        assert_eq!(StoredEvent::decode(&[]), Err(DecodeError::Corrupt));
        assert_eq!(
            StoredEvent::decode(&[9, 0]),
            Err(DecodeError::UnknownVersion(9))
        );
        let enc = Encoded::new(&event()).unwrap();
        let cut = enc.value.get(..20).unwrap();
        assert_eq!(StoredEvent::decode(cut), Err(DecodeError::Corrupt));
    }

    #[test]
    fn the_header_carries_the_scope_a_json_peek_would_find() {
        let mut e = event();
        e.error_code = Some("AccessDenied".to_owned());
        e.error_message = Some("no".to_owned());
        e.management_event = false;
        e.aws_region = "eu-west-1".to_owned();
        let enc = Encoded::new(&e).unwrap();
        let d = StoredEvent::decode(&enc.value).unwrap();
        let from_header = d.scope().unwrap();
        assert_eq!(from_header.aws_region, "eu-west-1");
        assert_eq!(from_header.event_type, "AwsApiCall");
        assert!(!from_header.management_event);
        assert_eq!(from_header.error_code.as_deref(), Some("AccessDenied"));
        assert_eq!(Scope::of_json(d.record_json), Some(from_header));
        let plain = Encoded::new(&event()).unwrap();
        let s = StoredEvent::decode(&plain.value).unwrap().scope().unwrap();
        assert!(s.management_event);
        assert_eq!(s.error_code, None);
    }

    #[test]
    fn a_format_1_value_still_decodes_and_its_scope_comes_from_the_json() {
        let e = event();
        let json = serde_json::to_string(&record::to_record(&e)).unwrap();
        let mut v = vec![FORMAT_V1, FLAG_ACCESS_KEY | FLAG_USERNAME];
        v.extend_from_slice(&e.event_time_ms.to_be_bytes());
        for s in [
            "e-1",
            "111122223333",
            "TagResource",
            "organizations.amazonaws.com",
            "AKIAX",
            "alice",
        ] {
            put_str(&mut v, s).unwrap();
        }
        v.extend_from_slice(&0u16.to_be_bytes());
        v.extend_from_slice(json.as_bytes());
        let d = StoredEvent::decode(&v).unwrap();
        assert_eq!(d.event_name, "TagResource");
        assert_eq!(d.username, Some("alice"));
        assert_eq!(d.record_json, json);
        let s = d.scope().unwrap();
        assert_eq!(s.aws_region, "us-east-1");
        assert_eq!(s.event_type, "AwsApiCall");
        assert!(s.management_event);
    }

    #[test]
    fn raw_records_take_their_scope_from_their_json() {
        let json = r#"{"eventID":"i-1","awsRegion":"ap-south-1","eventType":"AwsCloudTrailInsight","managementEvent":false}"#;
        let enc = Encoded::raw(5, "i-1", "111122223333", "N", "s", json).unwrap();
        let d = StoredEvent::decode(&enc.value).unwrap();
        assert_eq!(d.record_json, json);
        let s = d.scope().unwrap();
        assert_eq!(s.aws_region, "ap-south-1");
        assert_eq!(s.event_type, "AwsCloudTrailInsight");
        assert!(!s.management_event);
        let bare =
            Encoded::raw(5, "i-2", "111122223333", "N", "s", r#"{"eventID":"i-2"}"#).unwrap();
        let d = StoredEvent::decode(&bare.value).unwrap();
        assert_eq!(d.scope(), None, "no awsRegion: no scope");
        assert_eq!(d.event_name, "N");
    }
}
