//! CloudTrail Insights: unusual API call and error rates, as Insights events.
//!
//! ## What is counted
//!
//! While any logging trail has insight selectors, fan-out ([`crate::delivery::fan_out`])
//! counts every management event per *API* — account, region, event source, event name — and
//! minute: calls, and calls that failed (`errorCode` set). Counting starts when Insights are
//! first enabled; AWS likewise needs time to establish a baseline.
//!
//! ## The baseline and the rule (Cairn's own; AWS does not publish its model)
//!
//! For each complete minute `m` and each API active in it (or in an insight), per enabled
//! insight type (`ApiCallRateInsight`: calls; `ApiErrorRateInsight`: errors):
//!
//! * **baseline** = the API's average count per minute over the preceding 7 days (minutes
//!   without calls count as 0), or over the time since counting began if shorter;
//! * an insight **starts** at `m` when at least [`MIN_BASELINE_MINUTES`] of baseline exist
//!   and the count of `m` is at least `max(FACTOR × baseline, baseline + MIN_EXCESS)`
//!   ([`FACTOR`] = 3, [`MIN_EXCESS`] = 10 per minute);
//! * it **continues** while each following minute stays at or above the threshold fixed at its
//!   start, and **ends** at the first minute below it.
//!
//! A start and its end are two Insights events sharing `sharedEventID`; the end carries the
//! statistics (baseline and insight averages, durations in minutes) and the top attributions
//! of the insight period (caller ARN, user agent, error code — the five most frequent values
//! with their per-minute averages; baseline attributions are not computed). Insights events
//! are kept in their own spaces (`LookupEvents` with `EventCategory=insight` reads them) and
//! delivered to every trail with that insight type that covers the API's account and region,
//! under `[prefix/]AWSLogs/[<o-id>/]<account>/CloudTrail-Insight/<region>/YYYY/MM/DD/`
//! (queued in `trail.ioutbox` with the evaluation, so a failed put or a crash is retried).
//!
//! Time is a parameter of every function here, so a test replays a week of baseline in
//! milliseconds.
//!
//! ## Spaces
//!
//! * `trail.icount` — key API ‖ `00` ‖ be(minute), value be(calls) ‖ be(errors).
//! * `trail.iminute` — key be(minute) ‖ API, empty: the APIs active in a minute.
//! * `trail.istate` — key API ‖ `00` ‖ insight type, value JSON [`Active`].
//! * `trail.ibase` — same key, the API's sliding 7-day sum (so that a minute costs two small
//!   range reads, not a week of counts).
//! * `trail.iev`, `trail.iix` — the Insights events and their index (as `trail.ev` /
//!   `trail.ix`).
//!
//! where API = account ‖ `00` ‖ region ‖ `00` ‖ event source ‖ `00` ‖ event name.

use crate::layout::{self, Encoded, StoredEvent, Tag};
use crate::record::format_event_time;
use crate::trails::TrailRec;
use cairn_api::cloudtrail::types::InsightType;
use cairn_core::Ids;
use cairn_store::{Bound, Scan, StoreError, Tx};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const EVENTS: &str = "trail.iev";
pub const INDEX: &str = "trail.iix";
pub const COUNTS: &str = "trail.icount";
pub const MINUTES: &str = "trail.iminute";
pub const STATE: &str = "trail.istate";
const EVALUATED: (&str, &[u8]) = ("trail.meta", b"insights-evaluated");

/// A start needs the count to reach this many times the baseline …
pub const FACTOR: f64 = 3.0;
/// … and to exceed it by at least this many per minute.
pub const MIN_EXCESS: f64 = 10.0;
/// Minutes of baseline before an insight can start.
pub const MIN_BASELINE_MINUTES: i64 = 60;
/// The baseline window: 7 days.
pub const BASELINE_MINUTES: i64 = 7 * 24 * 60;
/// Minutes evaluated per round at most (a long outage is not replayed minute by minute).
const MAX_MINUTES_PER_ROUND: i64 = 180;

const MINUTE_MS: i64 = 60_000;

/// An API: account, region, event source, event name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Api {
    pub account: String,
    pub region: String,
    pub source: String,
    pub name: String,
}

impl Api {
    fn key(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(
            self.account.len() + self.region.len() + self.source.len() + self.name.len() + 3,
        );
        for (i, part) in [&self.account, &self.region, &self.source, &self.name]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                k.push(0);
            }
            k.extend_from_slice(part.as_bytes());
        }
        k
    }

    fn from_key(k: &[u8]) -> Option<Api> {
        let s = std::str::from_utf8(k).ok()?;
        let mut it = s.split('\0');
        Some(Api {
            account: it.next()?.to_owned(),
            region: it.next()?.to_owned(),
            source: it.next()?.to_owned(),
            name: it.next()?.to_owned(),
        })
    }
}

/// Counts gathered during one fan-out transaction, written at its end.
#[derive(Debug, Default)]
pub struct Tally(BTreeMap<(Api, i64), (u64, u64)>);

impl Tally {
    pub fn add(&mut self, ev: &StoredEvent<'_>, region: &str, failed: bool) {
        let api = Api {
            account: ev.recipient_account_id.to_owned(),
            region: region.to_owned(),
            source: ev.event_source.to_owned(),
            name: ev.event_name.to_owned(),
        };
        let e = self
            .0
            .entry((api, ev.event_time_ms.div_euclid(MINUTE_MS)))
            .or_default();
        e.0 += 1;
        if failed {
            e.1 += 1;
        }
    }

    /// Adds `calls` (of which `errors` failed) of `api` in `minute` (unix minutes): counts
    /// known otherwise than from stored records, e.g. a baseline carried over from elsewhere.
    pub fn add_count(&mut self, api: Api, minute: i64, calls: u64, errors: u64) {
        let e = self.0.entry((api, minute)).or_default();
        e.0 += calls;
        e.1 += errors;
    }

    /// Adds the counts to the store.
    pub fn flush(self, tx: &mut dyn Tx) -> Result<(), StoreError> {
        for ((api, minute), (calls, errors)) in self.0 {
            let ak = api.key();
            let ck = count_key(&ak, minute);
            let (c0, e0) = read_count(tx.get(COUNTS, &ck)?.as_deref());
            let mut v = Vec::with_capacity(16);
            v.extend_from_slice(&(c0 + calls).to_be_bytes());
            v.extend_from_slice(&(e0 + errors).to_be_bytes());
            tx.put(COUNTS, &ck, &v)?;
            let mut mk = minute.to_be_bytes().to_vec();
            mk.extend_from_slice(&ak);
            tx.put(MINUTES, &mk, &[])?;
        }
        Ok(())
    }
}

fn count_key(api_key: &[u8], minute: i64) -> Vec<u8> {
    let mut k = api_key.to_vec();
    k.push(0);
    k.extend_from_slice(&minute.to_be_bytes());
    k
}

fn read_count(v: Option<&[u8]>) -> (u64, u64) {
    let Some(v) = v else { return (0, 0) };
    let word = |i: usize| {
        v.get(i..i + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_be_bytes)
    };
    (word(0), word(8))
}

/// An insight in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Active {
    pub shared_event_id: String,
    pub start_minute: i64,
    pub threshold: f64,
    pub baseline_average: f64,
    pub baseline_minutes: i64,
    pub sum: u64,
    pub minutes: i64,
}

fn kind_name(t: InsightType) -> &'static str {
    t.as_str()
}

fn state_key(api: &Api, t: InsightType) -> Vec<u8> {
    state_key_raw(&api.key(), t)
}

/// An account's organization: `(organization ID, management account)`.
pub type OrgOf<'a> =
    dyn FnMut(&mut dyn Tx, &str) -> Result<Option<(String, String)>, StoreError> + 'a;

/// Whether the trail covers the API's account and region.
fn covers(
    tx: &mut dyn Tx,
    t: &TrailRec,
    api: &Api,
    org_of: &mut OrgOf<'_>,
) -> Result<bool, StoreError> {
    let region_ok = t.multi_region || t.home_region == api.region;
    if !region_ok {
        return Ok(false);
    }
    if t.account == api.account {
        return Ok(true);
    }
    Ok(t.organization
        && org_of(tx, &api.account)?.is_some_and(|(_, management)| management == t.account))
}

/// The insight types some logging trail with insight selectors enables for the API's
/// account and region.
fn enabled_types(
    tx: &mut dyn Tx,
    trails: &[TrailRec],
    api: &Api,
    org_of: &mut OrgOf<'_>,
) -> Result<Vec<InsightType>, StoreError> {
    let mut out = Vec::new();
    for t in trails
        .iter()
        .filter(|t| t.logging && !t.insight_selectors.is_empty())
    {
        if covers(tx, t, api, org_of)? {
            for s in &t.insight_selectors {
                if let Some(k) = s.insight_type
                    && !out.contains(&k)
                {
                    out.push(k);
                }
            }
        }
    }
    Ok(out)
}

/// The count of `kind` for the API in `minute`.
fn count_of(
    tx: &mut dyn Tx,
    api_key: &[u8],
    minute: i64,
    kind: InsightType,
) -> Result<u64, StoreError> {
    let (c, e) = read_count(tx.get(COUNTS, &count_key(api_key, minute))?.as_deref());
    Ok(if kind == InsightType::ApiErrorRateInsight {
        e
    } else {
        c
    })
}

/// The sum of `kind`'s counts of an API over minutes `[from, to)`, and the first minute
/// with a count.
fn sum_range(
    tx: &mut dyn Tx,
    api_key: &[u8],
    from: i64,
    to: i64,
    kind: InsightType,
) -> Result<(u64, Option<i64>), StoreError> {
    if to <= from {
        return Ok((0, None));
    }
    let start = count_key(api_key, from);
    let end = count_key(api_key, to);
    let rows = tx.scan(
        COUNTS,
        &Scan::range(Bound::Included(&start), Bound::Excluded(&end)),
    )?;
    let mut sum = 0;
    let mut first = None;
    for (k, v) in &rows {
        let m = k
            .get(k.len().saturating_sub(8)..)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(to, i64::from_be_bytes);
        first = Some(first.map_or(m, |f: i64| f.min(m)));
        let (c, e) = read_count(Some(v));
        sum += if kind == InsightType::ApiErrorRateInsight {
            e
        } else {
            c
        };
    }
    Ok((sum, first))
}

/// A baseline kept up to date minute by minute, so that each minute costs two small range
/// reads rather than a week of counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Window {
    /// Sum over `[max(first, through - 7 days), through)`.
    sum: u64,
    /// The first minute the API was counted.
    first: i64,
    /// The window's exclusive end.
    through: i64,
}

const WINDOWS: &str = "trail.ibase";

/// `(sum, minutes)` of the baseline before `minute`.
fn baseline(
    tx: &mut dyn Tx,
    api_key: &[u8],
    minute: i64,
    kind: InsightType,
) -> Result<(u64, i64), StoreError> {
    let wk = state_key_raw(api_key, kind);
    let stored: Option<Window> = tx
        .get(WINDOWS, &wk)?
        .and_then(|v| serde_json::from_slice(&v).ok());
    let w = match stored {
        Some(w) if w.through <= minute && minute - w.through <= BASELINE_MINUTES => {
            // Slide: add [through, minute), drop what fell out of the 7 days.
            let (added, first_new) = sum_range(tx, api_key, w.through, minute, kind)?;
            let lo_old = w.through - BASELINE_MINUTES;
            let lo_new = minute - BASELINE_MINUTES;
            let (dropped, _) =
                sum_range(tx, api_key, lo_old.max(w.first), lo_new.max(w.first), kind)?;
            Window {
                sum: (w.sum + added).saturating_sub(dropped),
                first: first_new.map_or(w.first, |f| f.min(w.first)),
                through: minute,
            }
        }
        _ => {
            let (sum, first) = sum_range(tx, api_key, minute - BASELINE_MINUTES, minute, kind)?;
            Window {
                sum,
                first: first.unwrap_or(minute),
                through: minute,
            }
        }
    };
    let v = serde_json::to_vec(&w).map_err(|e| StoreError::Backend(e.to_string()))?;
    tx.put(WINDOWS, &wk, &v)?;
    let minutes = minute - w.first.max(minute - BASELINE_MINUTES);
    Ok((w.sum, minutes))
}

fn state_key_raw(api_key: &[u8], t: InsightType) -> Vec<u8> {
    let mut k = api_key.to_vec();
    k.push(0);
    k.extend_from_slice(kind_name(t).as_bytes());
    k
}

/// An Insights event, ready to store and deliver.
#[derive(Debug, Clone)]
pub struct InsightEvent {
    pub api: Api,
    pub time_ms: i64,
    pub event_id: String,
    pub record_json: String,
}

#[expect(clippy::cast_precision_loss, reason = "per-minute averages of counts")]
fn avg(sum: u64, minutes: i64) -> f64 {
    if minutes <= 0 {
        0.0
    } else {
        sum as f64 / minutes as f64
    }
}

/// Top attributions of an insight period: for `userIdentityArn`, `userAgent` and `errorCode`,
/// the five most frequent values with their average per minute.
fn attributions(
    tx: &mut dyn Tx,
    api: &Api,
    from_ms: i64,
    to_ms: i64,
    minutes: i64,
) -> Result<serde_json::Value, StoreError> {
    let prefix = layout::index_prefix(&api.account, Tag::EventName, &api.name);
    let mut start = prefix.clone();
    start.extend_from_slice(&layout::time_prefix(to_ms.saturating_sub(1)));
    let mut end = prefix.clone();
    end.extend_from_slice(&layout::time_prefix(from_ms.saturating_sub(1)));
    let rows = tx.scan(
        layout::INDEX,
        &Scan::range(Bound::Included(&start), Bound::Excluded(&end)).limit(10_000),
    )?;
    let mut counts: BTreeMap<&'static str, BTreeMap<String, u64>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (k, v) in &rows {
        let Some(suffix) = k.get(prefix.len()..) else {
            continue;
        };
        let Ok(entries) = layout::posting_entries(suffix, v) else {
            continue;
        };
        for tk in entries {
            if !seen.insert(tk.to_vec()) {
                continue;
            }
            let Some(stored) = tx.get(layout::EVENTS, tk)? else {
                continue;
            };
            let Ok(ev) = StoredEvent::decode(&stored) else {
                continue;
            };
            if ev.event_source != api.source
                || ev.event_time_ms < from_ms
                || ev.event_time_ms >= to_ms
            {
                continue;
            }
            let Ok(r) = serde_json::from_str::<serde_json::Value>(ev.record_json) else {
                continue;
            };
            if r.get("awsRegion").and_then(serde_json::Value::as_str) != Some(api.region.as_str()) {
                continue;
            }
            for (attr, value) in [
                (
                    "userIdentityArn",
                    r.pointer("/userIdentity/arn")
                        .and_then(serde_json::Value::as_str),
                ),
                (
                    "userAgent",
                    r.get("userAgent").and_then(serde_json::Value::as_str),
                ),
                (
                    "errorCode",
                    r.get("errorCode").and_then(serde_json::Value::as_str),
                ),
            ] {
                if let Some(v) = value {
                    *counts
                        .entry(attr)
                        .or_default()
                        .entry(v.to_owned())
                        .or_default() += 1;
                }
            }
        }
    }
    let mut out = Vec::new();
    for attr in ["userIdentityArn", "userAgent", "errorCode"] {
        let mut values: Vec<(String, u64)> = counts
            .remove(attr)
            .unwrap_or_default()
            .into_iter()
            .collect();
        values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        values.truncate(5);
        out.push(serde_json::json!({
            "attribute": attr,
            "insight": values.iter().map(|(v, n)| serde_json::json!({"value": v, "average": avg(*n, minutes)})).collect::<Vec<_>>(),
            "baseline": [],
        }));
    }
    Ok(serde_json::Value::Array(out))
}

#[expect(clippy::too_many_arguments, reason = "an Insights event's parts")]
fn event(
    ids: &dyn Ids,
    api: &Api,
    kind: InsightType,
    state: &str,
    time_ms: i64,
    shared: &str,
    statistics: serde_json::Value,
    attributions: Option<serde_json::Value>,
) -> InsightEvent {
    let event_id = ids.uuid_v7(time_ms);
    let mut context = serde_json::Map::new();
    context.insert("statistics".into(), statistics);
    if let Some(a) = attributions {
        context.insert("attributions".into(), a);
    }
    // Field order as AWS's sample (CloudTrail UG, "Understanding CloudTrail Insights events").
    let mut m = serde_json::Map::new();
    m.insert("eventVersion".into(), "1.08".into());
    m.insert("eventTime".into(), format_event_time(time_ms).into());
    m.insert("awsRegion".into(), api.region.clone().into());
    m.insert("eventID".into(), event_id.clone().into());
    m.insert("eventType".into(), "AwsCloudTrailInsight".into());
    m.insert("recipientAccountId".into(), api.account.clone().into());
    m.insert("sharedEventID".into(), shared.into());
    m.insert(
        "insightDetails".into(),
        serde_json::json!({
            "state": state,
            "eventSource": api.source,
            "eventName": api.name,
            "insightType": kind_name(kind),
            "insightContext": serde_json::Value::Object(context),
        }),
    );
    m.insert("eventCategory".into(), "Insight".into());
    InsightEvent {
        api: api.clone(),
        time_ms,
        event_id,
        record_json: serde_json::Value::Object(m).to_string(),
    }
}

/// Evaluates every complete minute since the last evaluation up to `now_ms`, stores the
/// Insights events it finds and answers them (to deliver).
pub fn evaluate(
    tx: &mut dyn Tx,
    trails: &[TrailRec],
    org_of: &mut OrgOf<'_>,
    ids: &dyn Ids,
    now_ms: i64,
) -> Result<Vec<Delivery>, StoreError> {
    let now_minute = now_ms.div_euclid(MINUTE_MS);
    let last = tx
        .get(EVALUATED.0, EVALUATED.1)?
        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map(i64::from_be_bytes);
    let first = match last {
        Some(l) => (l + 1).max(now_minute - MAX_MINUTES_PER_ROUND),
        None => now_minute - 1,
    };
    let mut out = Vec::new();
    if !trails
        .iter()
        .any(|t| t.logging && !t.insight_selectors.is_empty())
    {
        tx.put(EVALUATED.0, EVALUATED.1, &(now_minute - 1).to_be_bytes())?;
        return Ok(Vec::new());
    }
    for m in first..now_minute {
        // The APIs active in the minute, and those in an insight.
        let mut apis: BTreeSet<Api> = BTreeSet::new();
        for (k, _) in tx.scan_prefix(MINUTES, &m.to_be_bytes(), false, usize::MAX)? {
            if let Some(a) = k.get(8..).and_then(Api::from_key) {
                apis.insert(a);
            }
        }
        for (k, _) in tx.scan(STATE, &Scan::all())? {
            // API ‖ 00 ‖ type
            if let Some(i) = k.iter().rposition(|b| *b == 0)
                && let Some(a) = k.get(..i).and_then(Api::from_key)
            {
                apis.insert(a);
            }
        }
        for api in apis {
            let ak = api.key();
            for kind in enabled_types(tx, trails, &api, org_of)? {
                let count = count_of(tx, &ak, m, kind)?;
                let sk = state_key(&api, kind);
                let active: Option<Active> = tx
                    .get(STATE, &sk)?
                    .and_then(|v| serde_json::from_slice(&v).ok());
                #[expect(clippy::cast_precision_loss, reason = "per-minute counts")]
                let count_f = count as f64;
                match active {
                    None => {
                        let (sum, minutes) = baseline(tx, &ak, m, kind)?;
                        if minutes < MIN_BASELINE_MINUTES {
                            continue;
                        }
                        let base = avg(sum, minutes);
                        let threshold = (base * FACTOR).max(base + MIN_EXCESS);
                        if count_f < threshold {
                            continue;
                        }
                        let shared = ids.uuid();
                        let st = Active {
                            shared_event_id: shared.clone(),
                            start_minute: m,
                            threshold,
                            baseline_average: base,
                            baseline_minutes: minutes,
                            sum: count,
                            minutes: 1,
                        };
                        out.push(event(
                            ids,
                            &api,
                            kind,
                            "Start",
                            m * MINUTE_MS,
                            &shared,
                            serde_json::json!({
                                "baseline": {"average": base},
                                "insight": {"average": count_f},
                            }),
                            None,
                        ));
                        let v = serde_json::to_vec(&st)
                            .map_err(|e| StoreError::Backend(e.to_string()))?;
                        tx.put(STATE, &sk, &v)?;
                    }
                    Some(mut st) if count_f >= st.threshold => {
                        st.sum += count;
                        st.minutes += 1;
                        let v = serde_json::to_vec(&st)
                            .map_err(|e| StoreError::Backend(e.to_string()))?;
                        tx.put(STATE, &sk, &v)?;
                    }
                    Some(st) => {
                        let attr = attributions(
                            tx,
                            &api,
                            st.start_minute * MINUTE_MS,
                            m * MINUTE_MS,
                            st.minutes,
                        )?;
                        out.push(event(
                            ids,
                            &api,
                            kind,
                            "End",
                            m * MINUTE_MS,
                            &st.shared_event_id,
                            serde_json::json!({
                                "baseline": {"average": st.baseline_average},
                                "insight": {"average": avg(st.sum, st.minutes)},
                                "insightDuration": st.minutes,
                                "baselineDuration": st.baseline_minutes,
                            }),
                            Some(attr),
                        ));
                        tx.delete(STATE, &sk)?;
                    }
                }
            }
        }
        tx.put(EVALUATED.0, EVALUATED.1, &m.to_be_bytes())?;
    }
    // Stored where LookupEvents (EventCategory=insight) finds them.
    let encoded: Vec<Encoded> = out
        .iter()
        .map(|e: &InsightEvent| {
            Encoded::raw(
                e.time_ms,
                &e.event_id,
                &e.api.account,
                &e.api.name,
                &e.api.source,
                &e.record_json,
            )
        })
        .collect::<Result<_, _>>()?;
    if !encoded.is_empty() {
        layout::put_batch_into(tx, &encoded, EVENTS, INDEX)?;
    }
    // Where each goes: every trail with its insight type covering the API.
    let mut deliveries = Vec::new();
    for ev in out {
        let kind = serde_json::from_str::<serde_json::Value>(&ev.record_json)
            .ok()
            .and_then(|v| {
                v.pointer("/insightDetails/insightType")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let mut to = Vec::new();
        for t in trails.iter().filter(|t| {
            t.logging
                && t.insight_selectors
                    .iter()
                    .any(|s| s.insight_type.is_some_and(|k| k.as_str() == kind))
        }) {
            if covers(tx, t, &ev.api, org_of)? {
                let org_id = if t.organization {
                    org_of(tx, &t.account)?.map(|(o, _)| o)
                } else {
                    None
                };
                to.push((t.clone(), org_id));
            }
        }
        deliveries.push(Delivery { event: ev, to });
    }
    Ok(deliveries)
}

/// An Insights event and the trails (with their organization ID) it is delivered to.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event: InsightEvent,
    pub to: Vec<(TrailRec, Option<String>)>,
}

/// The key of an Insights file (CloudTrail UG, "Finding your CloudTrail Insights events").
pub fn insight_key(
    trail: &TrailRec,
    org_id: Option<&str>,
    account: &str,
    region: &str,
    now_ms: i64,
    unique: &str,
) -> String {
    crate::delivery::log_key(trail, org_id, account, region, now_ms, unique)
        .replace("/CloudTrail/", "/CloudTrail-Insight/")
        .replace("_CloudTrail_", "_CloudTrail-Insight_")
}

#[cfg(test)]
mod tests;
