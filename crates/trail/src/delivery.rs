//! Delivery: every trail's records, as gzip log files in the object store, in AWS's layout.
//!
//! ## The path of a record
//!
//! 1. **Pending.** Whenever records are written ([`crate::layout::put_batch`]) the same
//!    transaction adds one row to `trail.pending` listing their keys. A record is therefore
//!    pending exactly when it is stored: the request that produced it was acknowledged only
//!    after that commit.
//! 2. **Fan-out** ([`fan_out`], one transaction per slice of pending rows). Each pending
//!    row is matched against every trail: the trail's logging window, its accounts (its own;
//!    for an organization trail, every account of the organization at that moment), its
//!    regions (home region, or all for a multi-region trail; global services' events only
//!    with `IncludeGlobalServiceEvents`) and its event selectors (a trail that excludes read
//!    events does not get them). The keys a trail wants become one `trail.outbox` row for
//!    it; the pending row is deleted in the same transaction.
//! 3. **Files** ([`next_files`], a read). A trail's outbox rows are grouped by account and
//!    region into `{"Records":[…]}` files, gzip-compressed, named and keyed as AWS does:
//!    `[prefix/]AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz`.
//! 4. **Put, then acknowledge** ([`acknowledge`]). After the object store took every file,
//!    one transaction deletes the outbox rows and records the delivery time
//!    (`GetTrailStatus`'s `LatestDeliveryTime`). A failed put records the error
//!    (`LatestDeliveryError`) and leaves the rows for the next round.
//!
//! **Guarantee:** no stored record is lost by a crash at any point; a crash between a put
//! and its acknowledgement delivers those records again in a new file (CloudTrail UG,
//! "CloudTrail log file examples": a record may appear in more than one log file — consumers
//! deduplicate by `eventID`).
//!
//! ## Spaces
//!
//! * `trail.pending` — key: the smallest record key of the batch; value the batch's record
//!   keys, each with its record's header ([`put_pending`]; rows written before headers were
//!   carried hold [`keys`] alone).
//! * `trail.outbox` — key: trail key ‖ `00` ‖ pending key; value [`keys`] the trail wants.
//! * `trail.status` — key: trail key; value JSON [`DeliveryStatus`].

use crate::layout::{EVENTS, Scope, StoredEvent};
use crate::record::format_event_time;
use crate::trails::{self, TrailRec};
use cairn_core::jobs::{BoxFuture, JobHandler, Retry, Step};
use cairn_core::{Env, Ids, ObjectStore, ResourceFacts, Seal};
use cairn_store::{Bound, Job, Scan, StoreError, Tx};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;

/// Space of the pending rows.
pub const PENDING: &str = "trail.pending";
/// Space of the per-trail outbox rows.
pub const OUTBOX: &str = "trail.outbox";
/// Space of the trails' delivery status.
pub const STATUS: &str = "trail.status";
/// Space of the Insights files still to put: key time-key of the event ‖ `00` ‖ trail key
/// (oldest last, so a reverse scan delivers oldest first), value JSON [`QueuedInsight`].
pub const INSIGHT_OUTBOX: &str = "trail.ioutbox";

/// An Insights event waiting to be put for one trail.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct QueuedInsight {
    trail: TrailRec,
    org_id: Option<String>,
    account: String,
    region: String,
    record_json: String,
}

/// Pending rows fanned out per transaction.
pub const FAN_OUT_ROWS: usize = 256;
/// Pending rows read at once during a fan-out.
const FAN_OUT_CHUNK: usize = 16;
/// Records fanned out per transaction at most (beyond one pending row): a fan-out holds the
/// store's writer while it runs, so it must stay short next to the calls being recorded.
pub const FAN_OUT_RECORDS: usize = 512;
/// Records in one delivery round of a trail (over all its files).
pub const MAX_RECORDS_PER_ROUND: usize = 5_000;

/// Event sources of global services: their events are recorded in `us-east-1` and reach a
/// trail only with `IncludeGlobalServiceEvents` (CloudTrail UG, "Global service events").
const GLOBAL_SOURCES: &[&str] = &[
    "iam.amazonaws.com",
    "organizations.amazonaws.com",
    "signin.amazonaws.com",
];

/// What delivery last did for a trail (what `GetTrailStatus` reports).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_delivery_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_delivery_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_digest_delivery_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_digest_delivery_error: Option<String>,
}

/// Encodes a list of record keys: `(u16 BE length ‖ key)*`.
pub fn keys(list: &[&[u8]]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(list.iter().map(|k| k.len() + 2).sum());
    for k in list {
        let len = u16::try_from(k.len())
            .map_err(|_| StoreError::Backend("CloudTrail event key too long".to_owned()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(k);
    }
    Ok(out)
}

/// Decodes [`keys`].
pub(crate) fn decode_keys(mut value: &[u8]) -> Result<Vec<&[u8]>, StoreError> {
    let corrupt = || StoreError::Backend("corrupt CloudTrail delivery row".to_owned());
    let mut out = Vec::new();
    while !value.is_empty() {
        let (len, rest) = value.split_at_checked(2).ok_or_else(corrupt)?;
        let len = usize::from(u16::from_be_bytes([
            len.first().copied().unwrap_or(0),
            len.get(1).copied().unwrap_or(0),
        ]));
        let (k, rest) = rest.split_at_checked(len).ok_or_else(corrupt)?;
        out.push(k);
        value = rest;
    }
    Ok(out)
}

/// The stored records `keys` name, each once, in the order `keys` first lists them; a key
/// without a record is skipped. Records written together lie together (a key is its
/// record's time), so one range scan from the smallest key to the largest, reading at most
/// twice as many rows as asked for, usually finds them all in one statement; whatever it
/// did not find is then read key by key. Records still in `recent` are taken from there.
pub(crate) fn read_records(
    tx: &mut dyn Tx,
    recent: Option<&crate::recent::Recent>,
    keys: &[&[u8]],
) -> Result<Vec<(Vec<u8>, Stored)>, StoreError> {
    // What was just written is in memory (crate::recent): usually all of it, taken in the
    // listed order without sorting anything.
    let mut hits: Vec<(Vec<u8>, Stored)> = Vec::new();
    if let Some(recent) = recent {
        let cached = recent.get_all(keys);
        if cached.iter().all(Option::is_some) {
            let mut seen = std::collections::HashSet::with_capacity(keys.len());
            return Ok(keys
                .iter()
                .zip(cached)
                .filter(|(k, _)| seen.insert(**k))
                .filter_map(|(k, v)| v.map(|v| (k.to_vec(), Stored::Kept(v))))
                .collect());
        }
        hits = keys
            .iter()
            .zip(cached)
            .filter_map(|(k, v)| v.map(|v| (k.to_vec(), Stored::Kept(v))))
            .collect();
        hits.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        hits.dedup_by(|a, b| a.0 == b.0);
    }
    let mut want: Vec<&[u8]> = keys
        .iter()
        .copied()
        .filter(|k| hits.binary_search_by(|(h, _)| h.as_slice().cmp(k)).is_err())
        .collect();
    want.sort_unstable();
    want.dedup();
    let (Some(&first), Some(&last)) = (want.first(), want.last()) else {
        return Ok(order_as_listed(hits, keys));
    };
    // Ascending by key.
    let mut found: Vec<(Vec<u8>, Stored)> = Vec::with_capacity(want.len());
    if want.len() > 1 {
        let budget = want.len().saturating_mul(2).saturating_add(16);
        let scan = Scan::range(Bound::Included(first), Bound::Included(last)).limit(budget);
        for (k, v) in tx.scan(EVENTS, &scan)? {
            if want.binary_search(&k.as_slice()).is_ok() {
                found.push((k, Stored::Read(v)));
            }
        }
    }
    if found.len() < want.len() {
        let mut rest = Vec::new();
        for k in &want {
            if found
                .binary_search_by(|(f, _)| f.as_slice().cmp(k))
                .is_err()
                && let Some(v) = tx.get(EVENTS, k)?
            {
                rest.push((k.to_vec(), Stored::Read(v)));
            }
        }
        found.extend(rest);
    }
    found.extend(hits);
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(order_as_listed(found, keys))
}

/// A stored record's value: read from the store, or shared with [`crate::recent`].
#[derive(Debug, Clone)]
pub(crate) enum Stored {
    Read(Vec<u8>),
    Kept(std::sync::Arc<Vec<u8>>),
}

impl std::ops::Deref for Stored {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Stored::Read(v) => v,
            Stored::Kept(v) => v,
        }
    }
}

/// `found` (ascending by key, each key once) in the order `keys` first lists them.
fn order_as_listed(found: Vec<(Vec<u8>, Stored)>, keys: &[&[u8]]) -> Vec<(Vec<u8>, Stored)> {
    let mut order = Vec::with_capacity(found.len());
    let mut taken = vec![false; found.len()];
    for k in keys {
        if let Ok(i) = found.binary_search_by(|(f, _)| f.as_slice().cmp(k))
            && let Some(t) = taken.get_mut(i)
            && !*t
        {
            *t = true;
            order.push(i);
        }
    }
    let mut slots: Vec<Option<(Vec<u8>, Stored)>> = found.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect()
}

/// Format byte of a pending row that carries its records' headers (a row of bare keys
/// starts with the high byte of a key's length, which is 0).
const PENDING_V2: u8 = 2;

/// Adds the pending row of a batch of records (called where records are written): value
/// `02 ‖ (u16 BE key length ‖ key ‖ u32 BE header length ‖ header)*`, so that fan-out
/// decides from the row alone, without reading the records back.
pub fn put_pending(tx: &mut dyn Tx, events: &[crate::layout::Encoded]) -> Result<(), StoreError> {
    let Some(first) = events.iter().map(|e| e.key.as_slice()).min() else {
        return Ok(());
    };
    let too_long = || StoreError::Backend("CloudTrail event key or header too long".to_owned());
    let mut v = Vec::with_capacity(
        1 + events
            .iter()
            .map(|e| e.key.len() + e.header().len() + 6)
            .sum::<usize>(),
    );
    v.push(PENDING_V2);
    for e in events {
        let header = e.header();
        v.extend_from_slice(
            &u16::try_from(e.key.len())
                .map_err(|_| too_long())?
                .to_be_bytes(),
        );
        v.extend_from_slice(&e.key);
        v.extend_from_slice(
            &u32::try_from(header.len())
                .map_err(|_| too_long())?
                .to_be_bytes(),
        );
        v.extend_from_slice(header);
    }
    tx.put(PENDING, first, &v)
}

/// A pending row's records: with their headers (as written now), or bare keys (rows
/// written before headers were carried), whose records fan-out reads.
enum PendingRow<'a> {
    Headers(Vec<(&'a [u8], &'a [u8])>),
    Keys(Vec<&'a [u8]>),
}

impl PendingRow<'_> {
    fn len(&self) -> usize {
        match self {
            PendingRow::Headers(h) => h.len(),
            PendingRow::Keys(k) => k.len(),
        }
    }
}

fn decode_pending(value: &[u8]) -> Result<PendingRow<'_>, StoreError> {
    let Some((&PENDING_V2, mut rest)) = value.split_first() else {
        return decode_keys(value).map(PendingRow::Keys);
    };
    let corrupt = || StoreError::Backend("corrupt CloudTrail pending row".to_owned());
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_at_checked(2).ok_or_else(corrupt)?;
        let len = usize::from(u16::from_be_bytes(len.try_into().map_err(|_| corrupt())?));
        let (key, tail) = tail.split_at_checked(len).ok_or_else(corrupt)?;
        let (len, tail) = tail.split_at_checked(4).ok_or_else(corrupt)?;
        let len = usize::try_from(u32::from_be_bytes(len.try_into().map_err(|_| corrupt())?))
            .map_err(|_| corrupt())?;
        let (header, tail) = tail.split_at_checked(len).ok_or_else(corrupt)?;
        out.push((key, header));
        rest = tail;
    }
    Ok(PendingRow::Headers(out))
}

/// The status of a trail's delivery.
pub fn status(tx: &mut dyn Tx, trail: &TrailRec) -> Result<DeliveryStatus, StoreError> {
    let k = trails::key(&trail.account, &trail.home_region, &trail.name);
    match tx.get(STATUS, &k)? {
        None => Ok(DeliveryStatus::default()),
        Some(v) => serde_json::from_slice(&v)
            .map_err(|e| StoreError::Backend(format!("corrupt trail status: {e}"))),
    }
}

fn put_status(tx: &mut dyn Tx, trail: &TrailRec, st: &DeliveryStatus) -> Result<(), StoreError> {
    let k = trails::key(&trail.account, &trail.home_region, &trail.name);
    let v = serde_json::to_vec(st)
        .map_err(|e| StoreError::Backend(format!("encoding trail status: {e}")))?;
    tx.put(STATUS, &k, &v)
}

/// Removes what delivery holds for a deleted trail (its outbox and status).
///
/// What the trail recorded before its deletion is still delivered: the trail is kept as a
/// *retired* snapshot (logging stopped at `now_ms`) until its outbox is empty and, with
/// validation, its chains got their final digest (CloudTrail UG, "Validating CloudTrail log
/// file integrity": a final digest follows `DeleteTrail`). A trail created again under the
/// same name before that continues the old chains.
pub fn forget(tx: &mut dyn Tx, trail: &TrailRec, now_ms: i64) -> Result<(), StoreError> {
    let k = trails::key(&trail.account, &trail.home_region, &trail.name);
    let mut retired = trail.clone();
    if retired.logging {
        retired.logging = false;
        retired.stop_logging_ms = Some(now_ms);
    }
    let v = serde_json::to_vec(&retired)
        .map_err(|e| StoreError::Backend(format!("encoding a retired trail: {e}")))?;
    tx.put(RETIRED, &k, &v)
}

/// Space of the retired trails (deleted, not yet fully delivered).
pub const RETIRED: &str = "trail.retired";

/// The retired trails.
pub fn retired(tx: &mut dyn Tx) -> Result<Vec<TrailRec>, StoreError> {
    tx.scan(RETIRED, &Scan::all())?
        .into_iter()
        .map(|(_, v)| {
            serde_json::from_slice(&v)
                .map_err(|e| StoreError::Backend(format!("corrupt retired trail: {e}")))
        })
        .collect()
}

/// Drops a retired trail whose outbox and chains are empty (and its status).
fn settle_retired(tx: &mut dyn Tx, trail: &TrailRec) -> Result<(), StoreError> {
    let k = trails::key(&trail.account, &trail.home_region, &trail.name);
    let waiting = !tx
        .scan_prefix(OUTBOX, &outbox_prefix(&k), false, 1)?
        .is_empty();
    if waiting || !crate::digest::chains(tx, trail)?.is_empty() {
        return Ok(());
    }
    tx.delete(RETIRED, &k)?;
    if trails::get(tx, &trail.account, &trail.home_region, &trail.name)?.is_none() {
        tx.delete(STATUS, &k)?;
    }
    Ok(())
}

fn outbox_prefix(trail_key: &[u8]) -> Vec<u8> {
    let mut p = trail_key.to_vec();
    p.push(0);
    p
}

/// An account's organization as delivery sees it: `(organization ID, management account)`.
type OrgOf = Option<(String, String)>;

/// Answers, and remembers for one transaction, which organization an account belongs to.
struct Orgs<'a> {
    facts: Option<&'a dyn ResourceFacts>,
    seen: BTreeMap<String, OrgOf>,
}

impl Orgs<'_> {
    fn of(&mut self, tx: &mut dyn Tx, account: &str) -> Result<OrgOf, StoreError> {
        if let Some(o) = self.seen.get(account) {
            return Ok(o.clone());
        }
        let o = match self.facts {
            Some(f) => f
                .organization(tx, account)?
                .map(|c| (c.org_id, c.management_account_id)),
            None => None,
        };
        self.seen.insert(account.to_owned(), o.clone());
        Ok(o)
    }
}

/// Whether `trail` was logging at `time_ms`.
fn logging_at(trail: &TrailRec, time_ms: i64) -> bool {
    let Some(start) = trail.start_logging_ms else {
        return false;
    };
    if time_ms < start {
        return false;
    }
    // A trail stopped after its last start is logging up to the stop.
    match trail.stop_logging_ms {
        Some(stop) if !trail.logging && stop >= start => time_ms <= stop,
        _ => trail.logging,
    }
}

/// Whether `trail` delivers the event.
fn wants(
    tx: &mut dyn Tx,
    orgs: &mut Orgs<'_>,
    trail: &TrailRec,
    ev: &StoredEvent<'_>,
    scope: &Scope<'_>,
) -> Result<bool, StoreError> {
    if !logging_at(trail, ev.event_time_ms) {
        return Ok(false);
    }
    let global = GLOBAL_SOURCES.contains(&ev.event_source);
    let region_ok = if trail.multi_region {
        true
    } else {
        *scope.aws_region == *trail.home_region && (trail.include_global || !global)
    };
    if !region_ok {
        return Ok(false);
    }
    if !scope.management_event || !trail.wants_management(ev.read_only, ev.event_source) {
        return Ok(false);
    }
    if ev.recipient_account_id == trail.account {
        return Ok(true);
    }
    if !trail.organization {
        return Ok(false);
    }
    Ok(orgs
        .of(tx, ev.recipient_account_id)?
        .is_some_and(|(_, management)| management == trail.account))
}

/// Fans out up to [`FAN_OUT_ROWS`] pending rows, stopping after the row that brings it past
/// [`FAN_OUT_RECORDS`] records, into the trails' outboxes and streams' queues; answers how
/// many rows it consumed (0: nothing was pending).
pub fn fan_out(
    tx: &mut dyn Tx,
    facts: Option<&dyn ResourceFacts>,
    streams: &[crate::stream::StreamConfig],
) -> Result<usize, StoreError> {
    // Read a few rows at a time: a row lists up to a thousand keys, and most transactions
    // stop at FAN_OUT_RECORDS long before FAN_OUT_ROWS (the rows done are deleted, so each
    // read starts at the next).
    let mut rows = tx.scan(PENDING, &Scan::all().limit(FAN_OUT_CHUNK))?;
    if rows.is_empty() {
        return Ok(0);
    }
    // Trails that may still want something: those that ever logged, and deleted ones for
    // what they recorded before their deletion.
    let live = trails::all(tx)?;
    let live_keys: Vec<Vec<u8>> = live
        .iter()
        .map(|t| trails::key(&t.account, &t.home_region, &t.name))
        .collect();
    let gone: Vec<TrailRec> = retired(tx)?
        .into_iter()
        .filter(|g| !live_keys.contains(&trails::key(&g.account, &g.home_region, &g.name)))
        .collect();
    let candidates: Vec<TrailRec> = live
        .into_iter()
        .chain(gone)
        .filter(|t| t.start_logging_ms.is_some())
        .collect();
    let mut orgs = Orgs {
        facts,
        seen: BTreeMap::new(),
    };
    // Insights count every management event while a logging trail asks for them.
    let counting = candidates
        .iter()
        .any(|t| t.logging && !t.insight_selectors.is_empty());
    let mut tally = crate::insights::Tally::default();
    let mut consumed = 0;
    let mut records_seen = 0;
    'chunks: loop {
        for (row_key, value) in &rows {
            if records_seen >= FAN_OUT_RECORDS || consumed >= FAN_OUT_ROWS {
                break 'chunks;
            }
            consumed += 1;
            let pending = decode_pending(value)?;
            records_seen += pending.len();
            let mut per_trail: Vec<Vec<&[u8]>> = vec![Vec::new(); candidates.len()];
            let mut per_stream: Vec<Vec<&[u8]>> = vec![Vec::new(); streams.len()];
            let wanted = !candidates.is_empty() || !streams.is_empty();
            // Only an old row of bare keys needs its records read.
            let read = match &pending {
                PendingRow::Keys(keys) if wanted => read_records(tx, None, keys)?,
                _ => Vec::new(),
            };
            let records: Vec<(&[u8], &[u8])> = match &pending {
                PendingRow::Headers(h) if wanted => h.clone(),
                PendingRow::Headers(_) => Vec::new(),
                PendingRow::Keys(_) => read.iter().map(|(k, v)| (k.as_slice(), &**v)).collect(),
            };
            for &(k, stored) in &records {
                let Ok(ev) = StoredEvent::decode(stored) else {
                    tracing::warn!("an undecodable CloudTrail record is not delivered");
                    continue;
                };
                let Some(scope) = ev.scope() else {
                    tracing::warn!(
                        event_id = ev.event_id,
                        "a CloudTrail record without awsRegion is not delivered"
                    );
                    continue;
                };
                if counting && scope.management_event {
                    tally.add(&ev, &scope.aws_region, scope.error_code.is_some());
                }
                for (i, t) in candidates.iter().enumerate() {
                    if wants(tx, &mut orgs, t, &ev, &scope)?
                        && let Some(list) = per_trail.get_mut(i)
                    {
                        list.push(k);
                    }
                }
                for (i, st) in streams.iter().enumerate() {
                    if st.wants(&ev, scope.error_code.as_deref())
                        && let Some(list) = per_stream.get_mut(i)
                    {
                        list.push(k);
                    }
                }
            }
            for (t, list) in candidates.iter().zip(&per_trail) {
                if list.is_empty() {
                    continue;
                }
                let mut k = outbox_prefix(&trails::key(&t.account, &t.home_region, &t.name));
                k.extend_from_slice(row_key);
                tx.put(OUTBOX, &k, &keys(list)?)?;
            }
            for (st, list) in streams.iter().zip(&per_stream) {
                if list.is_empty() {
                    continue;
                }
                tx.put(
                    crate::stream::STREAMQ,
                    &crate::stream::row_key(&st.name, row_key),
                    &keys(list)?,
                )?;
            }
            tx.delete(PENDING, row_key)?;
        }
        if rows.len() < FAN_OUT_CHUNK {
            break;
        }
        rows = tx.scan(PENDING, &Scan::all().limit(FAN_OUT_CHUNK))?;
        if rows.is_empty() {
            break;
        }
    }
    tally.flush(tx)?;
    Ok(consumed)
}

/// How long one [`fan_out_all`] may run before the job goes on to deliver (what is left is
/// fanned out next round). Fan-out takes about a million records a second, so this covers
/// any backlog one delivery interval can build up.
const FAN_OUT_ALL_MS: i64 = 30_000;

/// Fans out everything pending, a slice per transaction, until nothing is pending (or
/// [`FAN_OUT_ALL_MS`] passed). A cap on the number of slices instead would let a backlog
/// grow without bound at a long delivery interval: 1,000 slices of 512 records are fewer
/// than five minutes of a busy server's calls.
pub async fn fan_out_all(
    env: &Env,
    facts: Option<&std::sync::Arc<dyn ResourceFacts>>,
    streams: &std::sync::Arc<Vec<crate::stream::StreamConfig>>,
    recent: Option<&std::sync::Arc<crate::recent::Recent>>,
) -> Result<(), StoreError> {
    if let Some(recent) = recent {
        // Records are worth keeping in memory while a stream or a logging trail reads them.
        let logging = env
            .store
            .read(|tx| Ok(trails::all(tx)?.iter().any(|t| t.logging)))
            .await?;
        recent.set_wanted(logging || !streams.is_empty());
        recent.sweep();
    }
    let started = env.clock.now_millis();
    loop {
        let facts = facts.cloned();
        let streams = std::sync::Arc::clone(streams);
        let n = env
            .store
            .write(move |tx| fan_out(tx, facts.as_deref(), &streams))
            .await?;
        if n == 0 || env.clock.now_millis().saturating_sub(started) > FAN_OUT_ALL_MS {
            break;
        }
    }
    Ok(())
}

/// One log file, ready to put.
#[derive(Debug, Clone)]
pub struct LogFile {
    pub bucket: String,
    pub key: String,
    /// The gzip-compressed file.
    pub body: Vec<u8>,
    /// The uncompressed file's SHA-256, hex (what a digest lists as `hashValue`), when the
    /// trail validated as the file was made ([`LogFile::hash_hex`] otherwise).
    pub sha256_hex: Option<String>,
    pub account: String,
    pub region: String,
    pub oldest_ms: i64,
    pub newest_ms: i64,
    pub records: usize,
}

impl LogFile {
    /// The uncompressed file's SHA-256, hex: as computed when the file was made, or, for a
    /// trail whose validation was turned on meanwhile, from the file itself.
    pub fn hash_hex(&self) -> Result<String, StoreError> {
        if let Some(h) = &self.sha256_hex {
            return Ok(h.clone());
        }
        let mut raw = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(self.body.as_slice()),
            &mut raw,
        )
        .map_err(|e| StoreError::Backend(format!("reading back a log file: {e}")))?;
        Ok(hex(&sha2_digest(&raw)))
    }
}

/// A trail's next delivery: its files and the outbox rows they empty.
#[derive(Debug, Clone)]
pub struct Round {
    pub trail: TrailRec,
    pub files: Vec<LogFile>,
    /// The organization of an organization trail.
    pub org_id: Option<String>,
    rows: Vec<Vec<u8>>,
}

/// The trails with records waiting in their outbox.
pub fn trails_with_work(tx: &mut dyn Tx) -> Result<Vec<TrailRec>, StoreError> {
    let mut out = Vec::new();
    let mut all = trails::all(tx)?;
    all.extend(retired(tx)?);
    for t in all {
        let k = trails::key(&t.account, &t.home_region, &t.name);
        if !tx
            .scan_prefix(OUTBOX, &outbox_prefix(&k), false, 1)?
            .is_empty()
        {
            out.push(t);
        }
    }
    Ok(out)
}

/// `YYYY/MM/DD` and `YYYYMMDDTHHmmZ` of an instant (UTC).
fn stamps(ms: i64) -> (String, String) {
    // `format_event_time` is `YYYY-MM-DDTHH:MM:SSZ`.
    let t = format_event_time(ms);
    let part = |a: usize, b: usize| t.get(a..b).unwrap_or("00").to_owned();
    let (y, mo, d, h, mi) = (
        part(0, 4),
        part(5, 7),
        part(8, 10),
        part(11, 13),
        part(14, 16),
    );
    (format!("{y}/{mo}/{d}"), format!("{y}{mo}{d}T{h}{mi}Z"))
}

const FILE_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The key of a log file (CloudTrail UG, "Finding your CloudTrail log files").
pub fn log_key(
    trail: &TrailRec,
    org_id: Option<&str>,
    account: &str,
    region: &str,
    now_ms: i64,
    unique: &str,
) -> String {
    let (day, minute) = stamps(now_ms);
    let mut k = String::new();
    if let Some(p) = &trail.prefix {
        k.push_str(p);
        k.push('/');
    }
    k.push_str("AWSLogs/");
    if let Some(o) = org_id {
        k.push_str(o);
        k.push('/');
    }
    k.push_str(&format!(
        "{account}/CloudTrail/{region}/{day}/{account}_CloudTrail_{region}_{minute}_{unique}.json.gz"
    ));
    k
}

/// A record waiting for a file: its key, its stored value and where in it the JSON starts
/// (the JSON is the value's tail, so it is not copied out), its time.
type Waiting = (Vec<u8>, Stored, usize, i64);

/// The JSON of a waiting record.
fn waiting_json(w: &Waiting) -> &[u8] {
    w.1.get(w.2..).unwrap_or_default()
}

/// Which rounds [`next_files`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Whatever waits.
    All,
    /// Only a full round ([`MAX_RECORDS_PER_ROUND`] records waiting): under load a trail
    /// delivers as soon as a file's worth is waiting, not only on its cadence.
    Full,
}

/// Builds `trail`'s next round: up to [`MAX_RECORDS_PER_ROUND`] waiting records, one file
/// per account and region. `None` when nothing waits (or, with [`Take::Full`], less than a
/// full round). Records still in `recent` are not read from the store.
pub fn next_files(
    tx: &mut dyn Tx,
    facts: Option<&dyn ResourceFacts>,
    ids: &dyn Ids,
    recent: Option<&crate::recent::Recent>,
    trail: &TrailRec,
    now_ms: i64,
    take: Take,
) -> Result<Option<Round>, StoreError> {
    let k = trails::key(&trail.account, &trail.home_region, &trail.name);
    // Oldest rows first (a row's key ends with its pending key, a record key: newest
    // first), so that a backlog is worked off in order and what waited longest is not left
    // behind by newer rows. Every row lists at least one record: no more rows than records
    // a round takes.
    let mut listed = Vec::new();
    let mut waiting = 0;
    for (row, value) in tx.scan_prefix(OUTBOX, &outbox_prefix(&k), true, MAX_RECORDS_PER_ROUND)? {
        waiting += decode_keys(&value)?.len();
        listed.push((row, value));
        if waiting >= MAX_RECORDS_PER_ROUND {
            break;
        }
    }
    if take == Take::Full && waiting < MAX_RECORDS_PER_ROUND {
        return Ok(None);
    }
    let mut rows = Vec::new();
    let mut groups: Vec<((String, String), Vec<Waiting>)> = Vec::new();
    for (row, value) in listed {
        let list = decode_keys(&value)?;
        for (rk, stored) in read_records(tx, recent, &list)? {
            let Ok(ev) = StoredEvent::decode(&stored) else {
                continue;
            };
            let Some(scope) = ev.scope() else {
                continue;
            };
            let json_start = stored.len() - ev.record_json.len();
            let time = ev.event_time_ms;
            // Few groups (accounts x regions): found by comparison, not by allocating a key.
            match groups
                .iter_mut()
                .find(|((a, r), _)| a == ev.recipient_account_id && *r == *scope.aws_region)
            {
                Some((_, list)) => list.push((rk, stored, json_start, time)),
                None => {
                    let group = (
                        ev.recipient_account_id.to_owned(),
                        scope.aws_region.into_owned(),
                    );
                    groups.push((group, vec![(rk, stored, json_start, time)]));
                }
            }
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Ok(None);
    }
    let org_id = if trail.organization {
        match facts {
            Some(f) => f.organization(tx, &trail.account)?.map(|c| c.org_id),
            None => None,
        }
    } else {
        None
    };
    // One file per account and region, in that order.
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut files = Vec::new();
    for ((account, region), mut records) in groups {
        // Oldest first; one record once even if two rows listed it.
        records.sort_by(|a, b| b.0.cmp(&a.0));
        records.dedup_by(|a, b| a.0 == b.0);
        let mut json = Vec::with_capacity(
            records
                .iter()
                .map(|r| waiting_json(r).len() + 1)
                .sum::<usize>()
                + 16,
        );
        json.extend_from_slice(b"{\"Records\":[");
        for (i, r) in records.iter().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            json.extend_from_slice(waiting_json(r));
        }
        json.extend_from_slice(b"]}");
        // Only a digest needs the hash (a trail's validation turned on meanwhile is
        // handled by LogFile::hash_hex).
        let sha256_hex = trail.validation.then(|| hex(&sha2_digest(&json)));
        let body = gzip(&json)?;
        let unique = ids.pick(FILE_ALPHABET, 16);
        let oldest_ms = records.iter().map(|r| r.3).min().unwrap_or(now_ms);
        let newest_ms = records.iter().map(|r| r.3).max().unwrap_or(now_ms);
        files.push(LogFile {
            bucket: trail.bucket.clone(),
            key: log_key(trail, org_id.as_deref(), &account, &region, now_ms, &unique),
            body,
            sha256_hex,
            account,
            region,
            oldest_ms,
            newest_ms,
            records: records.len(),
        });
    }
    Ok(Some(Round {
        trail: trail.clone(),
        files,
        org_id,
        rows,
    }))
}

/// After every file of `round` was put: empties its outbox rows and records the delivery.
pub fn acknowledge(tx: &mut dyn Tx, round: &Round, now_ms: i64) -> Result<(), StoreError> {
    for row in &round.rows {
        tx.delete(OUTBOX, row)?;
    }
    // The trail as it is now: validation may have been turned on or off meanwhile.
    let current = trails::get(
        tx,
        &round.trail.account,
        &round.trail.home_region,
        &round.trail.name,
    )?;
    let validating = match &current {
        Some(t) => t.validation,
        // Retired: as it was when deleted.
        None => round.trail.validation,
    };
    if validating {
        for f in &round.files {
            crate::digest::note_log_file(tx, &round.trail, f, round.org_id.as_deref(), now_ms)?;
        }
    }
    let mut st = status(tx, &round.trail)?;
    st.latest_delivery_ms = Some(now_ms);
    st.latest_delivery_error = None;
    put_status(tx, &round.trail, &st)
}

/// A put failed: records the error for `GetTrailStatus`; the rows stay for the next round.
pub fn record_failure(tx: &mut dyn Tx, trail: &TrailRec, error: &str) -> Result<(), StoreError> {
    let mut st = status(tx, trail)?;
    st.latest_delivery_error = Some(error.to_owned());
    put_status(tx, trail, &st)
}

fn sha2_digest(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Level 3: zlib's fast strategy. Measured with `cargo bench -p cairn-trail --bench trail`
/// (200,000 records): level 6 (the default) delivered 94-111k records/s with 55 MB of files
/// per million records, level 3 125-133k records/s with 67 MB (+22%), level 1 no faster
/// than 3 with 107 MB. Compression is most of a file's cost, so 3 is the knee.
const GZIP_LEVEL: u32 = 3;

pub(crate) fn gzip(bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4 + 64),
        flate2::Compression::new(GZIP_LEVEL),
    );
    enc.write_all(bytes)
        .and_then(|()| enc.finish())
        .map_err(|e| StoreError::Backend(format!("compressing a log file: {e}")))
}

// ------------------------------------------------------------------------------ the job

/// The kind of the delivery job.
pub const JOB_KIND: &str = "trail.deliver";
/// Where the one delivery job's ID is kept (space, key).
const JOB_MARK: (&str, &[u8]) = ("trail.meta", b"deliver-job");

/// The recurring delivery job: every `interval_ms` a full round fans out what is pending,
/// delivers every trail's waiting records, digests and Insights; in between, every
/// [`FULL_ROUND_CHECK_MS`], it fans out and delivers only trails with a full round waiting.
pub struct DeliveryJob {
    objects: std::sync::Arc<dyn ObjectStore>,
    facts: Option<std::sync::Arc<dyn ResourceFacts>>,
    interval_ms: i64,
    /// Seals the digest signing keys; `None`: no digests (tests of delivery alone).
    seal: Option<std::sync::Arc<dyn Seal>>,
    digest_interval_ms: i64,
    /// The event streams fan-out also feeds.
    streams: std::sync::Arc<Vec<crate::stream::StreamConfig>>,
    /// The records just written, read from memory rather than from the store.
    recent: Option<std::sync::Arc<crate::recent::Recent>>,
    /// When the next full round is due (this node's view: after a restart, or on another
    /// node, the first round is a full one).
    next_full_ms: std::sync::atomic::AtomicI64,
}

/// How often the job looks for a full round's worth of waiting records between its full
/// rounds (at most its interval): a busy trail delivers a file as soon as it is full, while
/// its records are still in memory, instead of holding minutes of records back.
pub const FULL_ROUND_CHECK_MS: i64 = 250;

impl std::fmt::Debug for DeliveryJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryJob")
            .field("interval_ms", &self.interval_ms)
            .finish_non_exhaustive()
    }
}

impl DeliveryJob {
    /// Delivery into `objects` every `interval_ms`, with Organizations' answers (`facts`)
    /// for organization trails.
    pub fn new(
        objects: std::sync::Arc<dyn ObjectStore>,
        facts: Option<std::sync::Arc<dyn ResourceFacts>>,
        interval_ms: i64,
    ) -> Self {
        DeliveryJob {
            objects,
            facts,
            interval_ms: interval_ms.max(100),
            seal: None,
            digest_interval_ms: 3_600_000,
            streams: std::sync::Arc::new(Vec::new()),
            recent: None,
            next_full_ms: std::sync::atomic::AtomicI64::new(i64::MIN),
        }
    }

    /// Records still in `recent` are taken from there (and fan-out tells it whether anyone
    /// reads records).
    pub fn with_recent(mut self, recent: std::sync::Arc<crate::recent::Recent>) -> Self {
        self.recent = Some(recent);
        self
    }

    /// Time between two runs of the job: its interval, or less to deliver full rounds.
    fn tick_ms(&self) -> i64 {
        self.interval_ms.min(FULL_ROUND_CHECK_MS)
    }

    /// Fan-out also feeds these event streams (delivered by [`crate::stream::StreamJob`]).
    pub fn with_streams(
        mut self,
        streams: std::sync::Arc<Vec<crate::stream::StreamConfig>>,
    ) -> Self {
        self.streams = streams;
        self
    }

    /// Digests every `interval_ms` (AWS: hourly), signing keys sealed with `seal`.
    pub fn with_digests(mut self, seal: std::sync::Arc<dyn Seal>, interval_ms: i64) -> Self {
        self.seal = Some(seal);
        // Digest keys carry the end time to the second: at most one per second.
        self.digest_interval_ms = interval_ms.max(1_000);
        self
    }

    /// Makes sure the one delivery job exists (call at start; idempotent, safe with several
    /// nodes on one store: the check and the enqueue are one transaction). A job scheduled
    /// further out than `interval_ms` (the cadence was shortened) is brought forward.
    pub fn ensure(tx: &mut dyn Tx, now_ms: i64, interval_ms: i64) -> Result<(), StoreError> {
        cairn_core::jobs::ensure_recurring(tx, JOB_KIND, JOB_MARK, now_ms, interval_ms)
    }

    /// One round: fan out, then deliver each trail with waiting records (with
    /// [`Take::Full`], only full rounds, and nothing else: digests, Insights and retired
    /// trails wait for the next full round).
    pub async fn round(&self, env: &Env, take: Take) -> Result<(), StoreError> {
        // Fan out everything pending, a slice per transaction.
        fan_out_all(
            env,
            self.facts.as_ref(),
            &self.streams,
            self.recent.as_ref(),
        )
        .await?;
        let busy = env.store.read(trails_with_work).await?;
        for trail in busy {
            loop {
                let now = env.clock.now_millis();
                let facts = self.facts.clone();
                let ids = std::sync::Arc::clone(&env.ids);
                let recent = self.recent.clone();
                let t = trail.clone();
                let round = env
                    .store
                    .read(move |tx| {
                        next_files(
                            tx,
                            facts.as_deref(),
                            ids.as_ref(),
                            recent.as_deref(),
                            &t,
                            now,
                            take,
                        )
                    })
                    .await?;
                let Some(round) = round else { break };
                let mut failed = None;
                for f in &round.files {
                    if let Err(e) = self
                        .objects
                        .put(&f.bucket, &f.key, f.body.clone(), Vec::new())
                        .await
                    {
                        failed = Some(e.0);
                        break;
                    }
                }
                let done_at = env.clock.now_millis();
                match failed {
                    None => {
                        env.faults.crash_at("trail.deliver:put-before-ack");
                        env.store
                            .write(move |tx| acknowledge(tx, &round, done_at))
                            .await?;
                    }
                    Some(error) => {
                        tracing::warn!(trail = %trail.arn(), %error, "log file delivery failed; retried next round");
                        let t = trail.clone();
                        env.store
                            .write(move |tx| record_failure(tx, &t, &error))
                            .await?;
                        break;
                    }
                }
            }
        }
        if take == Take::Full {
            return Ok(());
        }
        if let Some(seal) = &self.seal {
            self.digests(env, seal).await?;
        }
        self.insights(env).await?;
        env.store
            .write(|tx| {
                for g in retired(tx)? {
                    settle_retired(tx, &g)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// The digest part of a round: every chain whose period is over gets its digest; the
    /// chains of trails that stopped logging or validating get their last one.
    async fn digests(&self, env: &Env, seal: &std::sync::Arc<dyn Seal>) -> Result<(), StoreError> {
        let (all, gone) = env
            .store
            .read(|tx| Ok((trails::all(tx)?, retired(tx)?)))
            .await?;
        let live: Vec<Vec<u8>> = all
            .iter()
            .map(|t| trails::key(&t.account, &t.home_region, &t.name))
            .collect();
        // A live trail of the same key carries on its retired predecessor's chains.
        let retired_only: Vec<TrailRec> = gone
            .iter()
            .filter(|g| !live.contains(&trails::key(&g.account, &g.home_region, &g.name)))
            .cloned()
            .collect();
        let all: Vec<TrailRec> = all.into_iter().chain(retired_only).collect();
        for trail in all {
            let now = env.clock.now_millis();
            let active = trail.validation && trail.logging;
            if active {
                let facts = self.facts.clone();
                let t = trail.clone();
                env.store
                    .write(move |tx| {
                        let org_id = match (&facts, t.organization) {
                            (Some(f), true) => f.organization(tx, &t.account)?.map(|c| c.org_id),
                            _ => None,
                        };
                        crate::digest::ensure_home_chain(tx, &t, org_id.as_deref(), now)
                    })
                    .await?;
            }
            let t = trail.clone();
            let chains = env
                .store
                .read(move |tx| crate::digest::chains(tx, &t))
                .await?;
            for (ck, chain) in chains {
                let due = now
                    >= chain
                        .period_start_ms
                        .saturating_add(self.digest_interval_ms);
                if active && !due {
                    continue;
                }
                let key = self.signing_key(env, seal, &chain.region).await?;
                let ck2 = ck.clone();
                let files = env
                    .store
                    .read(move |tx| crate::digest::waiting(tx, &ck2))
                    .await?;
                // A digest ends at least a second after its start (its key holds the end
                // to the second).
                let end = now.max(chain.period_start_ms.saturating_add(1_000));
                let d = crate::digest::build(
                    &trail,
                    &ck,
                    &chain,
                    &files,
                    end,
                    &key,
                    seal.as_ref(),
                    env.ids.as_ref(),
                    !active,
                )?;
                let put = self
                    .objects
                    .put(&d.bucket, &d.key, d.body.clone(), d.metadata.clone())
                    .await;
                let t = trail.clone();
                match put {
                    Ok(()) => {
                        env.store
                            .write(move |tx| {
                                crate::digest::acknowledge(tx, &d)?;
                                let mut st = status(tx, &t)?;
                                st.latest_digest_delivery_ms = Some(end);
                                st.latest_digest_delivery_error = None;
                                put_status(tx, &t, &st)
                            })
                            .await?;
                    }
                    Err(e) => {
                        tracing::warn!(trail = %trail.arn(), error = %e, "digest delivery failed; retried next round");
                        env.store
                            .write(move |tx| {
                                let mut st = status(tx, &t)?;
                                st.latest_digest_delivery_error = Some(e.0.clone());
                                put_status(tx, &t, &st)
                            })
                            .await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Insights: evaluates the minutes completed since the last round and queues the
    /// Insights events found for the trails that asked for them (in the evaluation's
    /// transaction, [`INSIGHT_OUTBOX`]); then delivers what is queued, a file per event and
    /// trail, deleting each row once its file was put. A failed put leaves its row (and the
    /// rest) for the next round and is reported as the trail's delivery error.
    async fn insights(&self, env: &Env) -> Result<(), StoreError> {
        let now = env.clock.now_millis();
        let facts = self.facts.clone();
        let ids = std::sync::Arc::clone(&env.ids);
        env.store
            .write(move |tx| {
                let trails = trails::all(tx)?;
                let mut cache: BTreeMap<String, Option<(String, String)>> = BTreeMap::new();
                let mut org_of = |tx: &mut dyn Tx,
                                  account: &str|
                 -> Result<Option<(String, String)>, StoreError> {
                    if let Some(o) = cache.get(account) {
                        return Ok(o.clone());
                    }
                    let o = match &facts {
                        Some(f) => f
                            .organization(tx, account)?
                            .map(|c| (c.org_id, c.management_account_id)),
                        None => None,
                    };
                    cache.insert(account.to_owned(), o.clone());
                    Ok(o)
                };
                let found = crate::insights::evaluate(tx, &trails, &mut org_of, ids.as_ref(), now)?;
                for d in found {
                    for (trail, org_id) in d.to {
                        let row = QueuedInsight {
                            trail,
                            org_id,
                            account: d.event.api.account.clone(),
                            region: d.event.api.region.clone(),
                            record_json: d.event.record_json.clone(),
                        };
                        let mut key = crate::layout::time_prefix(d.event.time_ms).to_vec();
                        key.extend_from_slice(d.event.event_id.as_bytes());
                        key.push(0);
                        key.extend_from_slice(&trails::key(
                            &row.trail.account,
                            &row.trail.home_region,
                            &row.trail.name,
                        ));
                        let value = serde_json::to_vec(&row)
                            .map_err(|e| StoreError::Backend(e.to_string()))?;
                        tx.put(INSIGHT_OUTBOX, &key, &value)?;
                    }
                }
                Ok::<_, StoreError>(())
            })
            .await?;
        let queued = env
            .store
            .read(|tx| tx.scan(INSIGHT_OUTBOX, &Scan::all().rev().limit(100)))
            .await?;
        for (key, value) in queued {
            let Ok(q) = serde_json::from_slice::<QueuedInsight>(&value) else {
                tracing::warn!("an undecodable queued Insights file is dropped");
                env.store
                    .write(move |tx| tx.delete(INSIGHT_OUTBOX, &key).map(|_| ()))
                    .await?;
                continue;
            };
            let body = gzip(format!("{{\"Records\":[{}]}}", q.record_json).as_bytes())?;
            let object_key = crate::insights::insight_key(
                &q.trail,
                q.org_id.as_deref(),
                &q.account,
                &q.region,
                env.clock.now_millis(),
                &env.ids.pick(FILE_ALPHABET, 16),
            );
            match self
                .objects
                .put(&q.trail.bucket, &object_key, body, Vec::new())
                .await
            {
                Ok(()) => {
                    env.store
                        .write(move |tx| tx.delete(INSIGHT_OUTBOX, &key).map(|_| ()))
                        .await?;
                }
                Err(e) => {
                    tracing::warn!(trail = %q.trail.arn(), error = %e, "Insights file delivery failed; retried next round");
                    let error = e.to_string();
                    env.store
                        .write(move |tx| record_failure(tx, &q.trail, &error))
                        .await?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// The key that signs in `region` now, made (outside any transaction) when there is none.
    async fn signing_key(
        &self,
        env: &Env,
        seal: &std::sync::Arc<dyn Seal>,
        region: &str,
    ) -> Result<crate::digest::SigningKeyRec, StoreError> {
        let now = env.clock.now_millis();
        let r = region.to_owned();
        if let Some(k) = env
            .store
            .read(move |tx| crate::digest::signing_key(tx, &r, now))
            .await?
        {
            return Ok(k);
        }
        let ids = std::sync::Arc::clone(&env.ids);
        let seal = std::sync::Arc::clone(seal);
        let r = region.to_owned();
        let key = tokio::task::spawn_blocking(move || {
            crate::digest::generate_key(ids.as_ref(), seal.as_ref(), &r, now)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("generating a signing key: {e}")))??;
        let k = key.clone();
        env.store
            .write(move |tx| crate::digest::put_key(tx, &k))
            .await?;
        Ok(key)
    }
}

impl JobHandler for DeliveryJob {
    fn kind(&self) -> &'static str {
        JOB_KIND
    }

    fn retry(&self) -> Retry {
        // A failing round is retried for ever: delivery must not stop.
        Retry {
            max_attempts: u32::MAX,
            base_ms: 1_000,
            max_ms: 60_000,
        }
    }

    fn lease_ms(&self) -> i64 {
        // A round of many files may take a while.
        300_000
    }

    fn run<'a>(&'a self, env: &'a std::sync::Arc<Env>, job: &'a Job) -> BoxFuture<'a, Step> {
        Box::pin(async move {
            use std::sync::atomic::Ordering;
            let now = env.clock.now_millis();
            let full = now >= self.next_full_ms.load(Ordering::Relaxed);
            let take = if full { Take::All } else { Take::Full };
            if let Err(e) = self.round(env, take).await {
                return Step::Retry(e.to_string());
            }
            if full {
                self.next_full_ms
                    .store(now.saturating_add(self.interval_ms), Ordering::Relaxed);
            }
            cairn_core::jobs::run_again_in(env, job, self.tick_ms()).await
        })
    }

    fn give_up<'a>(
        &'a self,
        _env: &'a std::sync::Arc<Env>,
        _job: &'a Job,
        _error: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        // Never reached (unbounded attempts).
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The environment of a job test: `store`, `clock`, seeded IDs.
    fn test_env(
        store: &cairn_store::Store,
        clock: std::sync::Arc<dyn cairn_core::Clock>,
    ) -> cairn_core::Env {
        cairn_core::Env {
            store: store.clone(),
            clock,
            ids: std::sync::Arc::new(cairn_core::SeededIds::new(1)),
            audit: crate::sink::Recorder::new(store.clone()),
            node: "test".to_owned(),
            faults: cairn_core::Faults::default(),
            jobs: Default::default(),
            generations: Default::default(),
        }
    }

    fn trail() -> TrailRec {
        trails::new_rec(
            "main".to_owned(),
            "111122223333".to_owned(),
            "us-east-1".to_owned(),
            "aws".to_owned(),
            "audit".to_owned(),
            0,
        )
    }

    #[test]
    fn listed_records_are_read_once_each_in_the_listed_order_dense_or_sparse() {
        let store = cairn_store::Store::open_sqlite_memory().unwrap();
        fn key(i: u8) -> Vec<u8> {
            vec![b'k', i]
        }
        // 100 records k0..k99; a list of every tenth (sparse: the range scan's budget runs
        // out and the rest is read key by key), one listed twice, one never stored.
        store
            .write_blocking(move |tx| {
                for i in 0..100u8 {
                    tx.put(EVENTS, &key(i), &[i])?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let got = store
            .read_blocking(move |tx| {
                let sparse: Vec<Vec<u8>> = [90u8, 0, 50, 10, 20, 30, 40, 60, 70, 80, 99, 50]
                    .iter()
                    .map(|&i| key(i))
                    .chain([vec![b'k', 200]])
                    .collect();
                let refs: Vec<&[u8]> = sparse.iter().map(Vec::as_slice).collect();
                let a = read_records(tx, None, &refs)?;
                let dense: Vec<Vec<u8>> = (40..60u8).rev().map(key).collect();
                let refs: Vec<&[u8]> = dense.iter().map(Vec::as_slice).collect();
                let b = read_records(tx, None, &refs)?;
                let one = read_records(tx, None, &[key(7).as_slice()])?;
                let none = read_records(tx, None, &[])?;
                // Part of a list in memory: those are taken from there, the rest read.
                let recent = crate::recent::Recent::new(
                    std::sync::Arc::new(cairn_core::ManualClock::new(0)),
                    1 << 20,
                    1_000,
                );
                recent.set_wanted(true);
                recent.insert_all([(key(42), vec![42]), (key(95), vec![95])]);
                let mixed: Vec<Vec<u8>> = [95u8, 41, 42, 43, 42]
                    .iter()
                    .map(|&i| key(i))
                    .chain([vec![b'k', 200]])
                    .collect();
                let refs: Vec<&[u8]> = mixed.iter().map(Vec::as_slice).collect();
                let c = read_records(tx, Some(&recent), &refs)?;
                assert_eq!(recent.hit_counts(), (3, 3));
                // All in memory: nothing is read, each once, as listed.
                let all = read_records(tx, Some(&recent), &[&key(42), &key(95), &key(42)])?;
                Ok::<_, StoreError>((a, b, one, none, c, all))
            })
            .unwrap();
        let values = |rows: &[(Vec<u8>, Stored)]| -> Vec<u8> {
            rows.iter()
                .map(|(k, v)| {
                    assert_eq!(k.get(1), v.first());
                    v[0]
                })
                .collect()
        };
        assert_eq!(
            values(&got.0),
            vec![90, 0, 50, 10, 20, 30, 40, 60, 70, 80, 99]
        );
        assert_eq!(values(&got.1), (40..60u8).rev().collect::<Vec<_>>());
        assert_eq!(values(&got.2), vec![7]);
        assert!(got.3.is_empty());
        assert_eq!(values(&got.4), vec![95, 41, 42, 43]);
        assert_eq!(values(&got.5), vec![42, 95]);
    }

    #[test]
    fn fan_out_decides_from_a_rows_headers_and_reads_the_records_of_an_old_row() {
        let store = cairn_store::Store::open_sqlite_memory().unwrap();
        let mut t = trail();
        t.logging = true;
        t.start_logging_ms = Some(0);
        store
            .write_blocking(move |tx| {
                trails::put(tx, &t)?;
                let rec = |i: u8| {
                    crate::layout::Encoded::raw(
                        1_000 + i64::from(i),
                        &format!("e-{i}"),
                        "111122223333",
                        "CreateUser",
                        "iam.amazonaws.com",
                        &format!(
                            r#"{{"eventID":"e-{i}","awsRegion":"us-east-1","eventType":"AwsApiCall"}}"#
                        ),
                    )
                    .unwrap()
                };
                // Written now: the pending row carries the headers.
                crate::layout::put_batch(tx, &[rec(1), rec(2)])?;
                let row = tx.scan(PENDING, &Scan::all())?;
                assert_eq!(row.len(), 1);
                assert!(matches!(
                    decode_pending(&row[0].1)?,
                    PendingRow::Headers(h) if h.len() == 2
                ));
                // Written by an earlier version: bare keys.
                let old = [rec(3), rec(4)];
                crate::layout::put_batch_into(tx, &old, EVENTS, crate::layout::INDEX)?;
                let ks: Vec<&[u8]> = old.iter().map(|e| e.key.as_slice()).collect();
                tx.put(PENDING, ks.iter().min().unwrap(), &keys(&ks)?)?;
                while fan_out(tx, None, &[])? > 0 {}
                assert!(tx.scan(PENDING, &Scan::all())?.is_empty());
                let mut listed: Vec<Vec<u8>> = Vec::new();
                for (_, v) in tx.scan(OUTBOX, &Scan::all())? {
                    listed.extend(decode_keys(&v)?.into_iter().map(<[u8]>::to_vec));
                }
                listed.sort();
                let mut want: Vec<Vec<u8>> = [1, 2, 3, 4].map(|i| rec(i).key).to_vec();
                want.sort();
                assert_eq!(listed, want);
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }

    #[tokio::test]
    async fn fan_out_all_drains_every_pending_row() {
        let store = cairn_store::Store::open_sqlite_memory().unwrap();
        let env = test_env(
            &store,
            std::sync::Arc::new(cairn_core::ManualClock::new(1_000_000)),
        );
        // 1,000 batches of one record: four slices of FAN_OUT_ROWS rows each.
        store
            .write(|tx| {
                for i in 0..1_000i64 {
                    let e = crate::layout::Encoded::raw(
                        i,
                        &format!("e-{i:04}"),
                        "111122223333",
                        "N",
                        "s.amazonaws.com",
                        r#"{"awsRegion":"us-east-1"}"#,
                    )?;
                    crate::layout::put_batch(tx, std::slice::from_ref(&e))?;
                }
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        fan_out_all(&env, None, &std::sync::Arc::new(Vec::new()), None)
            .await
            .unwrap();
        let left = store.read(|tx| tx.count(PENDING, b"")).await.unwrap();
        assert_eq!(left, 0);
    }

    /// Between its full rounds (every interval) the job delivers a trail's waiting records
    /// only once a full round's worth waits, and takes them from memory where it can.
    #[tokio::test]
    async fn a_busy_trail_delivers_full_rounds_between_its_intervals() {
        use std::sync::Arc;
        let store = cairn_store::Store::open_sqlite_memory().unwrap();
        let clock = Arc::new(cairn_core::ManualClock::new(1_000_000));
        let recent = crate::recent::Recent::new(
            Arc::clone(&clock) as Arc<dyn cairn_core::Clock>,
            64 << 20,
            60_000,
        );
        let env = Arc::new(test_env(
            &store,
            Arc::clone(&clock) as Arc<dyn cairn_core::Clock>,
        ));
        let objects = Arc::new(cairn_core::MemoryObjects::default());
        let interval = 300_000;
        let job = DeliveryJob::new(Arc::clone(&objects) as Arc<dyn ObjectStore>, None, interval)
            .with_recent(Arc::clone(&recent));
        let runner = cairn_core::jobs::Runner::new(Arc::clone(&env), vec![Arc::new(job)]);
        let mut t = trail();
        t.logging = true;
        t.start_logging_ms = Some(0);
        store
            .write(move |tx| {
                trails::put(tx, &t)?;
                DeliveryJob::ensure(tx, 1_000_000, interval)
            })
            .await
            .unwrap();
        // The first run is a full one (nothing waits yet); it tells `recent` a trail logs.
        runner.run_until_idle().await;
        let mut next = 0i64;
        let mut write = |n: i64| {
            let from = next;
            next += n;
            let recent = Arc::clone(&recent);
            let store = store.clone();
            async move {
                let batch: Vec<crate::layout::Encoded> = (from..from + n)
                    .map(|i| {
                        crate::layout::Encoded::raw(
                            1_000_000 + i,
                            &format!("e-{i:06}"),
                            "111122223333",
                            "ListUsers",
                            "iam.amazonaws.com",
                            r#"{"awsRegion":"us-east-1","eventType":"AwsApiCall","managementEvent":true,"readOnly":true}"#,
                        )
                        .unwrap()
                    })
                    .collect();
                let kept: Vec<(Vec<u8>, Vec<u8>)> = batch
                    .iter()
                    .map(|e| (e.key.clone(), e.value.clone()))
                    .collect();
                store
                    .write(move |tx| crate::layout::put_batch(tx, &batch))
                    .await
                    .unwrap();
                recent.insert_all(kept);
            }
        };
        let files = |objects: &Arc<cairn_core::MemoryObjects>| {
            let objects = Arc::clone(objects);
            async move { objects.list("audit", "AWSLogs/").await.unwrap().len() }
        };
        // Less than a full round: it waits for the interval.
        write(100).await;
        clock.advance(FULL_ROUND_CHECK_MS);
        runner.run_until_idle().await;
        assert_eq!(files(&objects).await, 0);
        // With a full round's worth waiting, all of it is delivered at the next check, from
        // memory.
        write(i64::try_from(MAX_RECORDS_PER_ROUND).unwrap()).await;
        clock.advance(FULL_ROUND_CHECK_MS);
        runner.run_until_idle().await;
        assert_eq!(files(&objects).await, 1);
        let (hits, misses) = recent.hit_counts();
        assert_eq!(
            (hits, misses),
            (u64::try_from(MAX_RECORDS_PER_ROUND).unwrap() + 100, 0)
        );
        // What comes after waits for the interval again.
        write(10).await;
        clock.advance(FULL_ROUND_CHECK_MS);
        runner.run_until_idle().await;
        assert_eq!(files(&objects).await, 1);
        clock.advance(interval);
        runner.run_until_idle().await;
        assert_eq!(files(&objects).await, 2);
        let waiting = store.read(|tx| tx.count(OUTBOX, b"")).await.unwrap();
        assert_eq!(waiting, 0);
    }

    #[test]
    fn log_keys_follow_aws_layout() {
        let mut t = trail();
        let k = log_key(
            &t,
            None,
            "111122223333",
            "us-east-1",
            1_438_395_000_000,
            "Mu0KsOhtH1ar15ZZ",
        );
        assert_eq!(
            k,
            "AWSLogs/111122223333/CloudTrail/us-east-1/2015/08/01/111122223333_CloudTrail_us-east-1_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz"
        );
        t.prefix = Some("org/logs".to_owned());
        let k = log_key(
            &t,
            Some("o-abcdefghij"),
            "444455556666",
            "eu-west-1",
            1_438_395_000_000,
            "x",
        );
        assert_eq!(
            k,
            "org/logs/AWSLogs/o-abcdefghij/444455556666/CloudTrail/eu-west-1/2015/08/01/444455556666_CloudTrail_eu-west-1_20150801T0210Z_x.json.gz"
        );
    }

    #[test]
    fn the_logging_window_holds_between_start_and_stop() {
        let mut t = trail();
        assert!(!logging_at(&t, 10));
        t.logging = true;
        t.start_logging_ms = Some(100);
        assert!(!logging_at(&t, 99));
        assert!(logging_at(&t, 100));
        t.logging = false;
        t.stop_logging_ms = Some(200);
        assert!(logging_at(&t, 200));
        assert!(!logging_at(&t, 201));
        // Started again after the stop.
        t.logging = true;
        t.start_logging_ms = Some(300);
        assert!(logging_at(&t, 301));
        assert!(!logging_at(&t, 250));
    }

    #[test]
    fn key_lists_round_trip() {
        let a: &[u8] = b"abc";
        let b: &[u8] = b"";
        let enc = keys(&[a, b, a]).unwrap();
        assert_eq!(decode_keys(&enc).unwrap(), vec![a, b, a]);
        assert!(decode_keys(&[0, 5, 1]).is_err());
    }
}
