//! Channels and `PutAuditEvents` (cloudtrail-data): other systems write their own audit
//! events into Cairn's record.
//!
//! A channel (`CreateChannel`, source `Custom` or a partner's name) belongs to an account and
//! region; its ARN is `arn:<partition>:cloudtrail:<region>:<account>:channel/<uuid>`.
//! `PutAuditEvents` on it takes up to 100 events of the CloudTrail Lake integration schema
//! (CloudTrail UG, "CloudTrail Lake integrations event schema": `version`, `userIdentity`
//! with `type` and `principalId`, `eventSource`, `eventName`, `eventTime`, `UID`, …) and
//! records each as an `ActivityAuditLog` event of the channel's account — found by
//! `LookupEvents` by its event name and source, pushed to event streams — not delivered to
//! trails, which carry AWS's management events. Destinations are kept as given: Cairn has no
//! event data stores, its record is the destination.
//!
//! Space `trail.channels` — key account ‖ `00` ‖ region ‖ `00` ‖ UUID, value JSON
//! [`ChannelRec`].

use cairn_api::cloudtrail::types::{Destination, Tag};
use cairn_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};

pub const CHANNELS: &str = "trail.channels";
/// Events per `PutAuditEvents` call (API Reference: "up to 100").
pub const MAX_EVENTS: usize = 100;
/// Bytes of `eventData` per call (API Reference: "The maximum size … is 1 MB").
pub const MAX_BYTES: usize = 1_048_576;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelRec {
    pub id: String,
    pub name: String,
    pub source: String,
    pub account: String,
    pub region: String,
    pub partition: String,
    pub destinations: Vec<(String, String)>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    pub created_ms: i64,
    #[serde(default)]
    pub latest_success_event_id: Option<String>,
    #[serde(default)]
    pub latest_success_ms: Option<i64>,
    /// The resource-based policy (`PutResourcePolicy`), letting other accounts put events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
}

impl ChannelRec {
    pub fn arn(&self) -> String {
        format!(
            "arn:{}:cloudtrail:{}:{}:channel/{}",
            self.partition, self.region, self.account, self.id
        )
    }

    pub fn destinations_api(&self) -> Vec<Destination> {
        self.destinations
            .iter()
            .map(|(t, l)| Destination {
                location: l.clone(),
                r#type: if t == "AWS_SERVICE" {
                    cairn_api::cloudtrail::types::DestinationType::AwsService
                } else {
                    cairn_api::cloudtrail::types::DestinationType::EventDataStore
                },
            })
            .collect()
    }

    pub fn tags_api(&self) -> Vec<Tag> {
        self.tags
            .iter()
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: Some(v.clone()),
            })
            .collect()
    }
}

fn key(account: &str, region: &str, id: &str) -> Vec<u8> {
    let mut k = account.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(region.as_bytes());
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

fn prefix(account: &str, region: &str) -> Vec<u8> {
    let mut k = account.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(region.as_bytes());
    k.push(0);
    k
}

pub fn put(tx: &mut dyn Tx, c: &ChannelRec) -> Result<(), StoreError> {
    let v = serde_json::to_vec(c).map_err(|e| StoreError::Backend(e.to_string()))?;
    tx.put(CHANNELS, &key(&c.account, &c.region, &c.id), &v)
}

pub fn delete(tx: &mut dyn Tx, c: &ChannelRec) -> Result<(), StoreError> {
    tx.delete(CHANNELS, &key(&c.account, &c.region, &c.id))
        .map(|_| ())
}

/// The channels of an account in a region, by ID.
pub fn of(tx: &mut dyn Tx, account: &str, region: &str) -> Result<Vec<ChannelRec>, StoreError> {
    tx.scan_prefix(CHANNELS, &prefix(account, region), false, usize::MAX)?
        .into_iter()
        .map(|(_, v)| {
            serde_json::from_slice(&v)
                .map_err(|e| StoreError::Backend(format!("corrupt channel: {e}")))
        })
        .collect()
}

/// `(region, account, id)` of a channel ARN.
pub fn parse_arn(arn: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok =
        parts.len() == 6 && parts.first() == Some(&"arn") && parts.get(2) == Some(&"cloudtrail");
    let id = parts.get(5)?.strip_prefix("channel/")?;
    let (region, account) = (parts.get(3)?, parts.get(4)?);
    (ok && !id.is_empty()).then(|| ((*region).to_owned(), (*account).to_owned(), id.to_owned()))
}

/// The channel a `Channel` parameter (ARN or UUID) names, in the caller's account and region.
pub fn find(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    given: &str,
) -> Result<Option<ChannelRec>, StoreError> {
    let (r, a, id) = match parse_arn(given) {
        Some(p) => p,
        None => (region.to_owned(), account.to_owned(), given.to_owned()),
    };
    if a != account {
        return Ok(None);
    }
    match tx.get(CHANNELS, &key(&a, &r, &id))? {
        Some(v) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| StoreError::Backend(format!("corrupt channel: {e}"))),
        None => Ok(None),
    }
}

/// Why a resource policy is not valid (`None`: it is): JSON with `Version` and a non-empty
/// `Statement` of `Effect`, `Principal` and `Action` (CloudTrail UG, "Resource-based policy
/// examples for channels").
pub fn policy_problem(policy: &str) -> Option<String> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(policy) else {
        return Some("The policy is not valid JSON.".to_owned());
    };
    let statements: Vec<&serde_json::Value> = match doc.get("Statement") {
        Some(serde_json::Value::Array(a)) if !a.is_empty() => a.iter().collect(),
        Some(o @ serde_json::Value::Object(_)) => vec![o],
        _ => return Some("The policy must have a Statement.".to_owned()),
    };
    for st in statements {
        for f in ["Effect", "Principal", "Action"] {
            if st.get(f).is_none() {
                return Some(format!("Each statement must have {f}."));
            }
        }
    }
    None
}

/// Whether a channel's resource policy allows `account` to `cloudtrail-data:PutAuditEvents`
/// (an `Allow` naming the account, its root ARN or `*`; conditions are not evaluated).
pub fn policy_allows_put(policy: &str, account: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(policy) else {
        return false;
    };
    let list = |v: Option<&serde_json::Value>| -> Vec<String> {
        match v {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let statements: Vec<&serde_json::Value> = match doc.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.iter().collect(),
        Some(o) => vec![o],
        None => Vec::new(),
    };
    statements.iter().any(|st| {
        st.get("Effect").and_then(serde_json::Value::as_str) == Some("Allow")
            && list(st.get("Action")).iter().any(|a| {
                a == "*"
                    || a == "cloudtrail-data:*"
                    || a.eq_ignore_ascii_case("cloudtrail-data:PutAuditEvents")
            })
            && {
                let p = st.get("Principal");
                p.and_then(serde_json::Value::as_str) == Some("*")
                    || list(p.and_then(|p| p.get("AWS"))).iter().any(|x| {
                        x == "*" || x == account || *x == format!("arn:aws:iam::{account}:root")
                    })
            }
    })
}

/// A channel by its ARN, whoever owns it.
pub fn by_arn(tx: &mut dyn Tx, arn: &str) -> Result<Option<ChannelRec>, StoreError> {
    let Some((region, account, id)) = parse_arn(arn) else {
        return Ok(None);
    };
    match tx.get(CHANNELS, &key(&account, &region, &id))? {
        Some(v) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| StoreError::Backend(format!("corrupt channel: {e}"))),
        None => Ok(None),
    }
}

/// Why an event's data does not fit the integration schema (`None`: it fits).
pub fn schema_problem(data: &serde_json::Value) -> Option<String> {
    let Some(obj) = data.as_object() else {
        return Some("eventData must be a JSON object".to_owned());
    };
    for field in ["version", "eventSource", "eventName", "eventTime", "UID"] {
        if !obj.get(field).is_some_and(serde_json::Value::is_string) {
            return Some(format!("eventData must have the string field {field}"));
        }
    }
    let identity = obj
        .get("userIdentity")
        .and_then(serde_json::Value::as_object);
    match identity {
        Some(i)
            if i.get("type").is_some_and(serde_json::Value::is_string)
                && i.get("principalId")
                    .is_some_and(serde_json::Value::is_string) =>
        {
            None
        }
        _ => Some(
            "eventData.userIdentity must have the string fields type and principalId".to_owned(),
        ),
    }
}
