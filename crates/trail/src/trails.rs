//! Trails: what an account asks CloudTrail to deliver, and where.
//!
//! A trail belongs to an account and a home region (the region of the `CreateTrail` call).
//! A multi-region trail is also seen, as a *shadow trail*, from every other region; it is
//! changed only from its home region. The trail's record ([`TrailRec`]) holds its settings,
//! selectors, tags and logging state; delivery (its own job kind) reads them and writes the
//! delivery times back, so `GetTrailStatus` reports what really happened.
//!
//! ## Space and keys
//!
//! * **`trail.trails`** — key `account ‖ 00 ‖ home-region ‖ 00 ‖ name`, value the JSON
//!   [`TrailRec`]. Names are unique per account and region (AWS: "Trail names must be
//!   unique within a region for an account"); one account's trails are one prefix.
//!
//! Facts not given in a code comment are from the CloudTrail API Reference (the operation's
//! page) and the CloudTrail User Guide, "Naming requirements for CloudTrail resources" and
//! "Quotas in AWS CloudTrail".

use cairn_api::cloudtrail::Error;
use cairn_api::cloudtrail::types::{
    AdvancedEventSelector, EventSelector, InsightSelector, ReadWriteType, Tag, Trail, TrailInfo,
};
use cairn_core::Failure;
use cairn_store::{Scan, StoreError, Tx};
use cairn_wire::ApiError;
use serde::{Deserialize, Serialize};

/// Space of the trail records.
pub const TRAILS: &str = "trail.trails";

/// Trails an account may have per region (CloudTrail UG, "Quotas in AWS CloudTrail":
/// "Trails per Region: 5", not adjustable).
pub const MAX_TRAILS_PER_REGION: usize = 5;
/// Tags per trail (CloudTrail API Reference, `AddTags`: "up to 50 tags").
pub const MAX_TAGS: usize = 50;
/// Event selectors per trail (`PutEventSelectors`: "You can configure up to five event
/// selectors for each trail").
pub const MAX_EVENT_SELECTORS: usize = 5;
/// Data-resource values over all event selectors of a trail (`PutEventSelectors`: "up to 250
/// data resources").
pub const MAX_DATA_RESOURCES: usize = 250;
/// Conditions over all advanced event selectors of a trail (`PutEventSelectors`: "up to 500
/// values for all conditions and selectors on a trail").
pub const MAX_ADVANCED_CONDITIONS: usize = 500;

/// Format version of [`TrailRec`].
const FORMAT: u8 = 1;

/// A stored trail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrailRec {
    pub v: u8,
    pub name: String,
    pub account: String,
    pub home_region: String,
    pub partition: String,
    pub bucket: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sns_topic: Option<String>,
    pub include_global: bool,
    pub multi_region: bool,
    pub organization: bool,
    pub validation: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cw_log_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cw_role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
    /// `None`: the default selector (every management event, read and write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_selectors: Option<Vec<EventSelector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced_selectors: Option<Vec<AdvancedEventSelector>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insight_selectors: Vec<InsightSelector>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    pub logging: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_logging_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_logging_ms: Option<i64>,
    pub created_ms: i64,
}

impl TrailRec {
    pub fn arn(&self) -> String {
        trail_arn(
            &self.partition,
            &self.home_region,
            &self.account,
            &self.name,
        )
    }

    /// The `Trail` shape of `GetTrail` / `DescribeTrails`.
    pub fn to_api(&self) -> Trail {
        Trail {
            cloud_watch_logs_log_group_arn: self.cw_log_group.clone(),
            cloud_watch_logs_role_arn: self.cw_role.clone(),
            has_custom_event_selectors: Some(
                self.event_selectors.is_some() || self.advanced_selectors.is_some(),
            ),
            has_insight_selectors: Some(!self.insight_selectors.is_empty()),
            home_region: Some(self.home_region.clone()),
            include_global_service_events: Some(self.include_global),
            is_multi_region_trail: Some(self.multi_region),
            is_organization_trail: Some(self.organization),
            kms_key_id: self.kms_key.clone(),
            log_file_validation_enabled: Some(self.validation),
            name: Some(self.name.clone()),
            recursive_logging: None,
            s3_bucket_name: Some(self.bucket.clone()),
            s3_key_prefix: self.prefix.clone(),
            sns_topic_arn: self.sns_topic_arn(),
            sns_topic_name: self.sns_topic.clone(),
            trail_arn: Some(self.arn()),
        }
    }

    pub fn info(&self) -> TrailInfo {
        TrailInfo {
            home_region: Some(self.home_region.clone()),
            name: Some(self.name.clone()),
            trail_arn: Some(self.arn()),
        }
    }

    /// The topic's ARN: an ARN as given, or the name in the trail's region and account.
    pub fn sns_topic_arn(&self) -> Option<String> {
        self.sns_topic.as_ref().map(|t| {
            if t.starts_with("arn:") {
                t.clone()
            } else {
                format!(
                    "arn:{}:sns:{}:{}:{t}",
                    self.partition, self.home_region, self.account
                )
            }
        })
    }

    /// The event selectors `GetEventSelectors` answers: the stored ones, or AWS's default
    /// for a trail that never had any (every management event, no data events).
    pub fn effective_event_selectors(&self) -> Option<Vec<EventSelector>> {
        if self.advanced_selectors.is_some() {
            return None;
        }
        Some(
            self.event_selectors
                .clone()
                .unwrap_or_else(|| vec![default_selector()]),
        )
    }

    /// Whether this trail delivers a management event with this read-only flag and event
    /// source (the basic or advanced selectors' management-event part).
    pub fn wants_management(&self, read_only: bool, event_source: &str) -> bool {
        if let Some(adv) = &self.advanced_selectors {
            return adv
                .iter()
                .any(|s| advanced_wants(s, read_only, event_source));
        }
        let Some(selectors) = &self.event_selectors else {
            return true;
        };
        selectors.iter().any(|s| {
            s.include_management_events.unwrap_or(true)
                && !s
                    .exclude_management_event_sources
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .any(|x| x == event_source)
                && match s.read_write_type.unwrap_or(ReadWriteType::All) {
                    ReadWriteType::All => true,
                    ReadWriteType::ReadOnly => read_only,
                    ReadWriteType::WriteOnly => !read_only,
                }
        })
    }
}

/// AWS's default basic selector.
pub fn default_selector() -> EventSelector {
    EventSelector {
        data_resources: Some(Vec::new()),
        exclude_management_event_sources: Some(Vec::new()),
        include_management_events: Some(true),
        read_write_type: Some(ReadWriteType::All),
    }
}

/// Whether an advanced selector selects a management event: `eventCategory` must equal
/// `Management`, and the `readOnly` / `eventSource` conditions, where present, must hold.
fn advanced_wants(s: &AdvancedEventSelector, read_only: bool, event_source: &str) -> bool {
    let mut management = false;
    for f in &s.field_selectors {
        let value = match f.field.as_str() {
            "eventCategory" => "Management",
            "readOnly" => {
                if read_only {
                    "true"
                } else {
                    "false"
                }
            }
            "eventSource" => event_source,
            // Conditions on fields a management event does not have hold vacuously only
            // for data events; other fields do not restrict management events.
            _ => continue,
        };
        let holds = field_holds(f, value);
        if f.field == "eventCategory" {
            management = holds;
        }
        if !holds {
            return false;
        }
    }
    management
}

fn field_holds(f: &cairn_api::cloudtrail::types::AdvancedFieldSelector, value: &str) -> bool {
    let any = |list: &Option<Vec<String>>, test: &dyn Fn(&str) -> bool| {
        list.as_ref().is_none_or(|l| l.iter().any(|x| test(x)))
    };
    let none = |list: &Option<Vec<String>>, test: &dyn Fn(&str) -> bool| {
        list.as_ref().is_none_or(|l| !l.iter().any(|x| test(x)))
    };
    any(&f.equals, &|x| x == value)
        && any(&f.starts_with, &|x| value.starts_with(x))
        && any(&f.ends_with, &|x| value.ends_with(x))
        && none(&f.not_equals, &|x| x == value)
        && none(&f.not_starts_with, &|x| value.starts_with(x))
        && none(&f.not_ends_with, &|x| value.ends_with(x))
}

pub fn trail_arn(partition: &str, region: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:cloudtrail:{region}:{account}:trail/{name}")
}

/// A trail name or ARN as the operations that name an existing trail accept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailRef {
    Name(String),
    Arn {
        region: String,
        account: String,
        name: String,
    },
}

impl TrailRef {
    pub fn name(&self) -> &str {
        match self {
            TrailRef::Name(n) | TrailRef::Arn { name: n, .. } => n,
        }
    }
}

/// Parses `Name` / `TrailName`: an ARN `arn:<partition>:cloudtrail:<region>:<account>:trail/<name>`
/// or a name (checked by [`check_name`]).
pub fn parse_ref(given: &str) -> Result<TrailRef, Failure> {
    if given.starts_with("arn:") {
        let parts: Vec<&str> = given.splitn(6, ':').collect();
        let ok = parts.len() == 6
            && parts.get(2) == Some(&"cloudtrail")
            && parts.get(3).is_some_and(|r| !r.is_empty())
            && parts
                .get(4)
                .is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
        let name = parts.get(5).and_then(|r| r.strip_prefix("trail/"));
        return match (ok, name, parts.get(3), parts.get(4)) {
            (true, Some(name), Some(region), Some(account)) if !name.is_empty() => {
                check_name(name)?;
                Ok(TrailRef::Arn {
                    region: (*region).to_owned(),
                    account: (*account).to_owned(),
                    name: name.to_owned(),
                })
            }
            _ => Err(arn_invalid(given)),
        };
    }
    check_name(given)?;
    Ok(TrailRef::Name(given.to_owned()))
}

/// `CloudTrailARNInvalidException` for a malformed trail ARN.
pub fn arn_invalid(given: &str) -> Failure {
    fail(
        Error::CloudTrailARNInvalidException,
        format!(
            "Invalid trail ARN: {given}. The ARN must be of the form \
             arn:aws:cloudtrail:<region>:<account-id>:trail/<trail-name>"
        ),
    )
}

/// The naming rules of a trail (CloudTrail UG, "Naming requirements"): 3–128 characters of
/// ASCII letters, digits, `.`, `_` and `-`; starting and ending with a letter or digit; no
/// two of `.`, `_`, `-` adjacent; not in IP address form.
pub fn check_name(name: &str) -> Result<(), Failure> {
    let len = name.chars().count();
    if len < 3 {
        return Err(invalid_name(format!(
            "Trail name too short. Minimum allowed length: 3 characters. Specified name length: {len} characters."
        )));
    }
    if len > 128 {
        return Err(invalid_name(format!(
            "Trail name too long. Maximum allowed length: 128 characters. Specified name length: {len} characters."
        )));
    }
    let bytes = name.as_bytes();
    let alnum = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    if !alnum(bytes.first()) {
        return Err(invalid_name(
            "Trail name must starts with a letter or number.",
        ));
    }
    if !alnum(bytes.last()) {
        return Err(invalid_name(
            "Trail name must ends with a letter or number.",
        ));
    }
    let special = |b: &u8| matches!(b, b'.' | b'_' | b'-');
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || special(b))
    {
        return Err(invalid_name(
            "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).",
        ));
    }
    if bytes.windows(2).any(|w| w.iter().all(special)) {
        return Err(invalid_name(
            "Trail name cannot contain adjacent periods, hyphens, or underscores.",
        ));
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(invalid_name(
            "Trail name cannot be formatted as an IP address.",
        ));
    }
    Ok(())
}

fn invalid_name(message: impl Into<String>) -> Failure {
    fail(Error::InvalidTrailNameException, message)
}

/// S3's bucket naming rules (S3 UG, "General purpose bucket naming rules"): 3–63
/// characters of lower-case letters, digits, `.` and `-`, beginning and ending with a letter
/// or digit, no two adjacent periods, not in IP address form.
pub fn check_bucket(bucket: &str) -> Result<(), Failure> {
    let b = bucket.as_bytes();
    let ok = (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'-'))
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && !bucket.contains("..")
        && bucket.parse::<std::net::Ipv4Addr>().is_err();
    if ok {
        Ok(())
    } else {
        Err(fail(
            Error::InvalidS3BucketNameException,
            format!("Bucket name {bucket} is not valid."),
        ))
    }
}

/// An S3 key prefix: at most 200 characters (`CreateTrail`: "The maximum length is 200
/// characters").
pub fn check_prefix(prefix: &str) -> Result<(), Failure> {
    if prefix.chars().count() > 200 {
        return Err(fail(
            Error::InvalidS3PrefixException,
            "Prefix is too long. Maximum allowed length: 200 characters.",
        ));
    }
    Ok(())
}

pub fn fail(code: Error, message: impl Into<String>) -> Failure {
    Failure(ApiError::new(code, message))
}

/// `TrailNotFoundException`, worded as AWS words it.
pub fn not_found(given: &str, account: &str) -> Failure {
    fail(
        Error::TrailNotFoundException,
        format!("Unknown trail: {given} for the user: {account}"),
    )
}

/// The key of a trail in [`TRAILS`] (also the prefix of its rows in the delivery spaces).
pub fn key(account: &str, region: &str, name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(account.len() + region.len() + name.len() + 2);
    k.extend_from_slice(account.as_bytes());
    k.push(0);
    k.extend_from_slice(region.as_bytes());
    k.push(0);
    k.extend_from_slice(name.as_bytes());
    k
}

fn account_prefix(account: &str) -> Vec<u8> {
    let mut k = account.as_bytes().to_vec();
    k.push(0);
    k
}

pub fn put(tx: &mut dyn Tx, rec: &TrailRec) -> Result<(), StoreError> {
    let value = serde_json::to_vec(rec)
        .map_err(|e| StoreError::Backend(format!("corrupt trail record: {e}")))?;
    tx.put(
        TRAILS,
        &key(&rec.account, &rec.home_region, &rec.name),
        &value,
    )
}

pub fn delete(tx: &mut dyn Tx, rec: &TrailRec) -> Result<(), StoreError> {
    tx.delete(TRAILS, &key(&rec.account, &rec.home_region, &rec.name))
        .map(|_| ())
}

/// Every trail of `account`, ordered by home region then name.
pub fn of_account(tx: &mut dyn Tx, account: &str) -> Result<Vec<TrailRec>, StoreError> {
    let rows = tx.scan_prefix(TRAILS, &account_prefix(account), false, usize::MAX)?;
    rows.into_iter()
        .map(|(_, v)| {
            let mut rec: TrailRec = serde_json::from_slice(&v)
                .map_err(|e| StoreError::Backend(format!("corrupt trail record: {e}")))?;
            rec.v = FORMAT;
            Ok(rec)
        })
        .collect()
}

/// Every trail of every account (for delivery).
pub fn all(tx: &mut dyn Tx) -> Result<Vec<TrailRec>, StoreError> {
    let rows = tx.scan(TRAILS, &Scan::all())?;
    rows.into_iter()
        .map(|(_, v)| {
            serde_json::from_slice(&v)
                .map_err(|e| StoreError::Backend(format!("corrupt trail record: {e}")))
        })
        .collect()
}

/// The trails `account` sees from `region`: its own trails homed there, and its multi-region
/// trails homed elsewhere (shadow trails).
pub fn visible(tx: &mut dyn Tx, account: &str, region: &str) -> Result<Vec<TrailRec>, StoreError> {
    Ok(of_account(tx, account)?
        .into_iter()
        .filter(|t| t.home_region == region || t.multi_region)
        .collect())
}

/// The trail a `Name`/`TrailName` parameter names among `account`'s own trails seen from
/// `region` ([`visible`]).
pub fn find(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    given: &str,
) -> Result<TrailRec, Failure> {
    let list = visible(tx, account, region)?;
    pick(list, account, region, given)
}

/// The trail `given` (a name or an ARN) names among `list`, the trails `account` sees from
/// `region`. A name matches a trail homed in `region` before a shadow of the same name; an
/// ARN matches its account, home region and name exactly. `TrailNotFoundException` echoes
/// `given` and the caller's account, as AWS does.
pub fn pick(
    list: Vec<TrailRec>,
    account: &str,
    region: &str,
    given: &str,
) -> Result<TrailRec, Failure> {
    let r = parse_ref(given)?;
    let found = match &r {
        TrailRef::Name(name) => list
            .into_iter()
            .filter(|t| &t.name == name)
            // The caller's own trail, then one homed here, wins.
            .min_by_key(|t| (t.account != account, t.home_region != region)),
        TrailRef::Arn {
            region: r_region,
            account: r_account,
            name,
        } => list
            .into_iter()
            .find(|t| &t.account == r_account && &t.home_region == r_region && &t.name == name),
    };
    found.ok_or_else(|| not_found(given, account))
}

/// The organization trails of `management` that a member account sees from `region`.
pub fn organization_trails(
    tx: &mut dyn Tx,
    management: &str,
    region: &str,
) -> Result<Vec<TrailRec>, StoreError> {
    Ok(visible(tx, management, region)?
        .into_iter()
        .filter(|t| t.organization)
        .collect())
}

/// `InvalidHomeRegionException`: a change to a trail from a region other than its home.
pub fn require_home(rec: &TrailRec, region: &str) -> Result<(), Failure> {
    if rec.home_region == region {
        Ok(())
    } else {
        Err(fail(
            Error::InvalidHomeRegionException,
            format!(
                "This operation must be called from the trail's home region: {}.",
                rec.home_region
            ),
        ))
    }
}

pub fn new_rec(
    name: String,
    account: String,
    home_region: String,
    partition: String,
    bucket: String,
    now_ms: i64,
) -> TrailRec {
    TrailRec {
        v: FORMAT,
        name,
        account,
        home_region,
        partition,
        bucket,
        prefix: None,
        sns_topic: None,
        include_global: true,
        multi_region: false,
        organization: false,
        validation: false,
        cw_log_group: None,
        cw_role: None,
        kms_key: None,
        event_selectors: None,
        advanced_selectors: None,
        insight_selectors: Vec::new(),
        tags: Vec::new(),
        logging: false,
        start_logging_ms: None,
        stop_logging_ms: None,
        created_ms: now_ms,
    }
}

/// Checks and applies a `TagsList` (AWS: keys 1–128 characters, values up to 256, at most
/// [`MAX_TAGS`] per trail; an existing key's value is replaced).
pub fn merge_tags(tags: &mut Vec<(String, String)>, add: &[Tag]) -> Result<(), Failure> {
    for t in add {
        let klen = t.key.chars().count();
        if klen == 0 || klen > 128 {
            return Err(fail(
                Error::InvalidTagParameterException,
                "Tag key must be between 1 and 128 characters.",
            ));
        }
        let value = t.value.clone().unwrap_or_default();
        if value.chars().count() > 256 {
            return Err(fail(
                Error::InvalidTagParameterException,
                "Tag value must be between 0 and 256 characters.",
            ));
        }
        if t.key.starts_with("aws:") {
            return Err(fail(
                Error::InvalidTagParameterException,
                "Tag keys starting with 'aws:' are reserved for AWS use.",
            ));
        }
        match tags.iter_mut().find(|(k, _)| *k == t.key) {
            Some(slot) => slot.1 = value,
            None => tags.push((t.key.clone(), value)),
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(fail(
            Error::TagsLimitExceededException,
            format!("The number of tags on the resource exceeds the limit of {MAX_TAGS}."),
        ));
    }
    tags.sort();
    Ok(())
}

/// Checks basic event selectors (`PutEventSelectors`).
pub fn check_event_selectors(selectors: &[EventSelector]) -> Result<(), Failure> {
    if selectors.is_empty() || selectors.len() > MAX_EVENT_SELECTORS {
        return Err(fail(
            Error::InvalidEventSelectorsException,
            format!(
                "Number of event selectors must be between 1 and {MAX_EVENT_SELECTORS}. Specified: {}.",
                selectors.len()
            ),
        ));
    }
    let mut values = 0usize;
    for s in selectors {
        for d in s.data_resources.as_deref().unwrap_or_default() {
            let ty = d.r#type.as_deref().unwrap_or_default();
            if !matches!(
                ty,
                "AWS::S3::Object" | "AWS::Lambda::Function" | "AWS::DynamoDB::Table"
            ) {
                return Err(fail(
                    Error::InvalidEventSelectorsException,
                    format!(
                        "Invalid data resource type: {ty}. Basic event selectors support AWS::S3::Object, AWS::Lambda::Function and AWS::DynamoDB::Table; use advanced event selectors for other types."
                    ),
                ));
            }
            values += d.values.as_ref().map_or(0, Vec::len);
        }
    }
    if values > MAX_DATA_RESOURCES {
        return Err(fail(
            Error::InvalidEventSelectorsException,
            format!(
                "The total number of data resources in all event selectors of a trail must not exceed {MAX_DATA_RESOURCES}. Specified: {values}."
            ),
        ));
    }
    Ok(())
}

/// Checks advanced event selectors: every selector names `eventCategory`; at most
/// [`MAX_ADVANCED_CONDITIONS`] values over all of them.
pub fn check_advanced_selectors(selectors: &[AdvancedEventSelector]) -> Result<(), Failure> {
    if selectors.is_empty() {
        return Err(fail(
            Error::InvalidEventSelectorsException,
            "At least one advanced event selector is required.",
        ));
    }
    let mut conditions = 0usize;
    for s in selectors {
        if !s.field_selectors.iter().any(|f| f.field == "eventCategory") {
            return Err(fail(
                Error::InvalidEventSelectorsException,
                "Each advanced event selector must include a field selector for eventCategory.",
            ));
        }
        for f in &s.field_selectors {
            if !matches!(
                f.field.as_str(),
                "eventCategory"
                    | "eventSource"
                    | "eventName"
                    | "eventType"
                    | "readOnly"
                    | "resources.type"
                    | "resources.ARN"
                    | "errorCode"
                    | "sessionCredentialFromConsole"
                    | "userIdentity.arn"
                    | "vpcEndpointId"
            ) {
                return Err(fail(
                    Error::InvalidEventSelectorsException,
                    format!("Invalid field selector: {}.", f.field),
                ));
            }
            for list in [
                &f.equals,
                &f.not_equals,
                &f.starts_with,
                &f.not_starts_with,
                &f.ends_with,
                &f.not_ends_with,
            ] {
                conditions += list.as_ref().map_or(0, Vec::len);
            }
        }
    }
    if conditions > MAX_ADVANCED_CONDITIONS {
        return Err(fail(
            Error::InvalidEventSelectorsException,
            format!(
                "The total number of values in all advanced event selectors of a trail must not exceed {MAX_ADVANCED_CONDITIONS}. Specified: {conditions}."
            ),
        ));
    }
    Ok(())
}

/// Whether a bucket policy lets CloudTrail deliver: an `Allow` for the service principal
/// `cloudtrail.amazonaws.com` (or `*`) of `s3:PutObject` and of `s3:GetBucketAcl` (CloudTrail
/// UG, "Amazon S3 bucket policy for CloudTrail"). Conditions are not evaluated.
pub fn policy_admits_cloudtrail(policy: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(policy) else {
        return false;
    };
    let statements: Vec<&serde_json::Value> = match doc.get("Statement") {
        Some(serde_json::Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let strings = |v: Option<&serde_json::Value>| -> Vec<String> {
        match v {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let allows = |action: &str| {
        statements.iter().any(|st| {
            let effect = st.get("Effect").and_then(serde_json::Value::as_str) == Some("Allow");
            let principal = st.get("Principal").is_some_and(|p| {
                p.as_str() == Some("*")
                    || strings(p.get("Service"))
                        .iter()
                        .any(|s| s == "cloudtrail.amazonaws.com")
                    || strings(p.get("AWS")).iter().any(|s| s == "*")
            });
            let action_ok = strings(st.get("Action")).iter().any(|a| {
                a == "*" || a.eq_ignore_ascii_case("s3:*") || a.eq_ignore_ascii_case(action)
            });
            effect && principal && action_ok
        })
    };
    allows("s3:PutObject") && allows("s3:GetBucketAcl")
}

/// The trail stored under `account`, `region` and `name`.
pub fn get(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Option<TrailRec>, StoreError> {
    match tx.get(TRAILS, &key(account, region, name))? {
        None => Ok(None),
        Some(v) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| StoreError::Backend(format!("corrupt trail record: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_naming_rules() {
        for good in ["abc", "my.trail-1_x", "A1", "Trail", "1a1"] {
            if good.len() >= 3 {
                assert!(check_name(good).is_ok(), "{good}");
            }
        }
        for bad in [
            "ab",
            "-abc",
            "abc-",
            "my-_trail",
            "my--trail",
            "a b c",
            "192.168.5.4",
            "trail/x",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name(&"a".repeat(128)).is_ok());
        assert!(check_name(&"a".repeat(129)).is_err());
    }

    #[test]
    fn references_are_names_or_trail_arns() {
        assert_eq!(parse_ref("main").unwrap(), TrailRef::Name("main".into()));
        assert_eq!(
            parse_ref("arn:aws:cloudtrail:eu-west-1:111122223333:trail/main").unwrap(),
            TrailRef::Arn {
                region: "eu-west-1".into(),
                account: "111122223333".into(),
                name: "main".into()
            }
        );
        for bad in [
            "arn:aws:cloudtrail:eu-west-1:111122223333:eventdatastore/x",
            "arn:aws:s3:eu-west-1:111122223333:trail/main",
            "arn:aws:cloudtrail:eu-west-1:1234:trail/main",
        ] {
            let Err(Failure(e)) = parse_ref(bad) else {
                panic!("{bad}")
            };
            assert_eq!(e.code, "CloudTrailARNInvalidException", "{bad}");
        }
    }

    #[test]
    fn selectors_filter_management_events() {
        let mut t = new_rec(
            "t1x".into(),
            "111122223333".into(),
            "us-east-1".into(),
            "aws".into(),
            "b".into(),
            0,
        );
        assert!(t.wants_management(true, "iam.amazonaws.com"));
        t.event_selectors = Some(vec![EventSelector {
            read_write_type: Some(ReadWriteType::WriteOnly),
            ..default_selector()
        }]);
        assert!(!t.wants_management(true, "iam.amazonaws.com"));
        assert!(t.wants_management(false, "iam.amazonaws.com"));
        t.event_selectors = Some(vec![EventSelector {
            exclude_management_event_sources: Some(vec!["kms.amazonaws.com".into()]),
            ..default_selector()
        }]);
        assert!(!t.wants_management(false, "kms.amazonaws.com"));
        use cairn_api::cloudtrail::types::AdvancedFieldSelector;
        let field = |name: &str, eq: &[&str]| AdvancedFieldSelector {
            field: name.into(),
            equals: Some(eq.iter().map(|s| (*s).to_owned()).collect()),
            ..AdvancedFieldSelector::default()
        };
        t.event_selectors = None;
        t.advanced_selectors = Some(vec![AdvancedEventSelector {
            name: None,
            field_selectors: vec![
                field("eventCategory", &["Management"]),
                field("readOnly", &["false"]),
            ],
        }]);
        assert!(t.wants_management(false, "iam.amazonaws.com"));
        assert!(!t.wants_management(true, "iam.amazonaws.com"));
        t.advanced_selectors = Some(vec![AdvancedEventSelector {
            name: None,
            field_selectors: vec![field("eventCategory", &["Data"])],
        }]);
        assert!(!t.wants_management(false, "iam.amazonaws.com"));
    }
}
