//! The document-wide checks IAM runs before it reads statements one by one, in IAM's order.
//!
//! IAM does not validate a policy statement by statement: it runs each check over the whole
//! document before the next one, so which error a document with two problems gets depends on
//! the check, not on the statement. The order here (syntax → `Version` → legacy parsing → `Sid`s
//! → actions present → resource formats → action vendors) is the one moto's
//! `moto/iam/policy_validation.py` reproduces from AWS's responses (its
//! `tests/test_iam/test_iam_policies.py` pins each step with a document that fails two of
//! them). Texts that AWS is known to send are cited where they are used; the cases in
//! `tests/cases/aws-verdicts.json` name their source one by one.
//!
//! What these checks let through, [`crate::parse`] then reads statement by statement (the
//! `Principal` rules, `Resource` presence, condition keys, the Organizations rules).

use crate::error::{ParseError, msg};
use crate::json::Json;
use crate::parse::{PolicyKind, Validator, Version};

/// Partitions a resource ARN may name. IAM refuses any other text in the partition field
/// (captured: `Partition "${ARN_PARTITION}" is not valid for resource
/// "arn:${ARN_PARTITION}:s3:::…".`, cloudera-labs/cloudera.exe#112). IAM also refuses a
/// partition other than the account's own (`Partition "aws" is not valid for resource …` from
/// accounts in China, terraform-aws-modules/terraform-aws-iam#39); the grammar does not know
/// the account, so that check is the caller's.
const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
    "*",
];

/// The members of a statement object (`None` when it is not an object).
fn members(statement: &Json) -> Option<&[(String, Json)]> {
    match statement {
        Json::Object(m) => Some(m),
        _ => None,
    }
}

fn member<'a>(statement: &'a Json, name: &str) -> Option<&'a Json> {
    members(statement)?
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// A string or a list of strings, as the syntax check has already required.
fn texts(v: &Json) -> Vec<&str> {
    match v {
        Json::String(s) => vec![s.as_str()],
        Json::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Json::String(s) => Some(s.as_str()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

const STATEMENT_ELEMENTS: &[&str] = &[
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
];

impl Validator {
    /// Runs the document-wide checks over the statements, in IAM's order.
    pub(crate) fn document_checks(
        &self,
        version: Option<Version>,
        statements: &[Json],
    ) -> Result<(), ParseError> {
        for (index, s) in statements.iter().enumerate() {
            self.statement_syntax(index, s)?;
        }
        // A customer managed policy needs the current language version; an inline policy
        // does not (captured from CreatePolicy: "Policy document must be version 2012-10-17 or
        // greater.", Meteor-Community-Packages/Meteor-CollectionFS#630).
        if self.kind == PolicyKind::ManagedIdentity && version != Some(Version::V2012_10_17) {
            return Err(self.fail(
                msg::MANAGED_VERSION,
                "a managed policy needs Version 2012-10-17",
            ));
        }
        self.legacy_parsing(statements)?;
        self.sids(statements)?;
        for (index, s) in statements.iter().enumerate() {
            let present = ["Action", "NotAction"]
                .iter()
                .filter_map(|name| member(s, name))
                .any(|v| !matches!(v, Json::Array(items) if items.is_empty()));
            if !present {
                return Err(self.fail(
                    msg::NO_ACTIONS,
                    format!("statement {index}: no Action or NotAction"),
                ));
            }
        }
        if let Some((index, error)) = self.first_resource_error(statements) {
            return Err(self.fail(error, format!("statement {index}: resource format")));
        }
        // moto checks every statement's Action before any NotAction.
        for element in ["Action", "NotAction"] {
            for (index, s) in statements.iter().enumerate() {
                for action in member(s, element).map(texts).unwrap_or_default() {
                    if let Some(message) = action_error(action) {
                        return Err(
                            self.fail(message, format!("statement {index}: {element} {action:?}"))
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// The shape checks that make IAM answer `Syntax errors in policy.`.
    fn statement_syntax(&self, index: usize, s: &Json) -> Result<(), ParseError> {
        let at = |what: String| format!("statement {index}: {what}");
        let Some(m) = members(s) else {
            return Err(self.syntax(at(format!("a JSON {}, not an object", s.type_name()))));
        };
        if let Some((name, _)) = m
            .iter()
            .find(|(n, _)| !STATEMENT_ELEMENTS.contains(&n.as_str()))
        {
            return Err(self.syntax(at(format!("unknown element {name:?}"))));
        }
        for (a, b) in [
            ("Action", "NotAction"),
            ("Resource", "NotResource"),
            ("Principal", "NotPrincipal"),
        ] {
            if member(s, a).is_some() && member(s, b).is_some() {
                return Err(self.syntax(at(format!("both {a} and {b}"))));
            }
        }
        // Effect's value is checked without regard to case here; `allow` fails later, in
        // legacy parsing (see there).
        match member(s, "Effect") {
            Some(Json::String(e))
                if e.eq_ignore_ascii_case("allow") || e.eq_ignore_ascii_case("deny") => {}
            Some(other) => return Err(self.syntax(at(format!("invalid Effect {}", short(other))))),
            None => return Err(self.syntax(at("missing Effect".into()))),
        }
        for name in ["Action", "NotAction", "Resource", "NotResource"] {
            match member(s, name) {
                None | Some(Json::String(_)) => {}
                Some(Json::Array(items)) if items.iter().all(|i| matches!(i, Json::String(_))) => {}
                Some(other) => {
                    return Err(self.syntax(at(format!(
                        "{name} must be a string or a list of strings, not {}",
                        short(other)
                    ))));
                }
            }
        }
        if let Some(sid) = member(s, "Sid")
            && !matches!(sid, Json::String(_))
        {
            return Err(self.syntax(at(format!("Sid {}", short(sid)))));
        }
        if let Some(c) = member(s, "Condition") {
            self.condition_syntax(c)
                .map_err(|what| self.syntax(at(what)))?;
        }
        Ok(())
    }

    /// `Condition`: an object of operator blocks, each an object of keys whose values are a
    /// scalar or a list. An operator IAM does not know is refused unless its block is empty
    /// (moto's valid cases `"Condition": {"a": {}}`).
    fn condition_syntax(&self, c: &Json) -> Result<(), String> {
        let Json::Object(blocks) = c else {
            return Err(format!("Condition is a {}, not an object", c.type_name()));
        };
        for (op, block) in blocks {
            let Json::Object(keys) = block else {
                return Err(format!("{op} holds a {}, not an object", block.type_name()));
            };
            for (key, value) in keys {
                if matches!(value, Json::Object(_) | Json::Null) {
                    return Err(format!("{op}/{key}: a {}", value.type_name()));
                }
            }
            if !keys.is_empty() && crate::condition::Operator::parse(op).is_none() {
                return Err(format!("unknown operator {op:?}"));
            }
        }
        Ok(())
    }

    /// What IAM reports as `The policy failed legacy parsing`: an `Effect` in the wrong case
    /// (captured from CreatePolicy with `"effect": "allow"`, hashicorp/terraform#10057), a
    /// `Date…` condition value that is no date at all, and resource ARNs with a `::` but fewer
    /// than six fields or an empty service (moto's cases `arn:aws:s3::example_bucket`,
    /// `arn:aws::fdsasf`).
    fn legacy_parsing(&self, statements: &[Json]) -> Result<(), ParseError> {
        let legacy = |index: usize, what: String| {
            self.fail(msg::LEGACY, format!("statement {index}: {what}"))
        };
        for (index, s) in statements.iter().enumerate() {
            if let Some(Json::String(e)) = member(s, "Effect")
                && e != "Allow"
                && e != "Deny"
            {
                return Err(legacy(index, format!("Effect {e:?} is not Allow or Deny")));
            }
            if let Some(Json::Object(blocks)) = member(s, "Condition") {
                for (op, block) in blocks {
                    if !is_date_operator(op) {
                        continue;
                    }
                    let Json::Object(keys) = block else { continue };
                    for (key, value) in keys {
                        let values = match value {
                            Json::Array(items) => items.iter().collect(),
                            single => vec![single],
                        };
                        // Only values without a digit: IAM's date reader accepts forms ours
                        // does not (moto's valid `"01T"`), so anything that might be a date
                        // is left to evaluation.
                        if let Some(bad) = values.iter().find_map(|v| match v {
                            Json::String(t) if !t.bytes().any(|b| b.is_ascii_digit()) => Some(t),
                            _ => None,
                        }) {
                            return Err(legacy(index, format!("{op}/{key}: {bad:?} is no date")));
                        }
                    }
                }
            }
        }
        for element in ["Resource", "NotResource"] {
            for (index, s) in statements.iter().enumerate() {
                let resources = member(s, element).map(texts).unwrap_or_default();
                if resources.iter().any(|r| resource_error(r).is_some()) {
                    // A format error is reported later, after the Sid and Action checks.
                    return Ok(());
                }
                for r in resources {
                    if r == "*" || r.is_empty() {
                        continue;
                    }
                    let colons = r.matches(':').count();
                    let empty_service = r.split(':').nth(2).is_some_and(str::is_empty);
                    if (colons < 5 && r.contains("::")) || empty_service {
                        return Err(legacy(index, format!("{element} {r:?}")));
                    }
                }
            }
        }
        Ok(())
    }

    /// `Sid`: alphanumeric in IAM policies, then unique. An empty `Sid` may repeat (moto's
    /// valid case with two `"Sid": ""`). The alphanumeric rule goes first: AWS answered a
    /// policy with two `"Sid": "autogenerated-id"` with the alphanumeric message
    /// (Wolox/carthage_cache#22).
    fn sids(&self, statements: &[Json]) -> Result<(), ParseError> {
        let sids: Vec<(usize, &str)> = statements
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match member(s, "Sid") {
                Some(Json::String(sid)) => Some((i, sid.as_str())),
                _ => None,
            })
            .collect();
        if self.kind.is_identity() {
            for (index, sid) in &sids {
                if !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(
                        self.fail(msg::SID_ALNUM, format!("statement {index}: Sid {sid:?}"))
                    );
                }
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for (_, sid) in sids {
            if sid.is_empty() {
                continue;
            }
            if seen.contains(&sid) {
                return Err(self.fail(msg::SID_UNIQUE, format!("Sid {sid:?} appears twice")));
            }
            seen.push(sid);
        }
        Ok(())
    }

    /// The first resource format error: `Resource` of every statement, then `NotResource`.
    /// Within one list the error of the lowest resource in sort order is the one reported
    /// (moto's case `["arn:error:s3:::example_bucket", "arn:error:s3::example_bucket"]`).
    fn first_resource_error(&self, statements: &[Json]) -> Option<(usize, String)> {
        for element in ["Resource", "NotResource"] {
            for (index, s) in statements.iter().enumerate() {
                let mut resources = member(s, element).map(texts).unwrap_or_default();
                resources.sort_unstable();
                if let Some(e) = resources.iter().find_map(|r| resource_error(r)) {
                    return Some((index, e));
                }
            }
        }
        None
    }
}

fn short(v: &Json) -> String {
    match v {
        Json::String(s) => format!("{s:?}"),
        other => format!("a {}", other.type_name()),
    }
}

fn is_date_operator(op: &str) -> bool {
    let base = op
        .split_once(':')
        .map_or(op, |(q, rest)| if q.starts_with("For") { rest } else { op });
    base.len() >= 4
        && base
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("date"))
}

/// What IAM says of a resource's format, if anything. The text before the first colon is not
/// read (moto's case `aws:s3:::example_bucket` is refused for its partition `s3`).
pub(crate) fn resource_error(resource: &str) -> Option<String> {
    if resource == "*" {
        return None;
    }
    let Some((_, rest)) = resource.split_once(':') else {
        // Captured: 'Resource s3-bucket-… must be in ARN format or "*".'
        // (ministryofjustice/modernisation-platform-environments#590).
        return Some(msg::resource_arn(resource));
    };
    let (partition, after) = match rest.split_once(':') {
        Some((p, a)) => (p, Some(a)),
        None => (rest, None),
    };
    if !PARTITIONS.contains(&partition) {
        return Some(msg::invalid_partition(partition, after));
    }
    // moto's case `arn:aws`.
    let Some(after) = after else {
        return Some(msg::VENDOR_QUALIFIED.to_owned());
    };
    let mut fields = after.splitn(4, ':');
    let service = fields.next().unwrap_or("");
    let region = fields.next();
    let account = fields.next().unwrap_or("");
    let region_given = region.is_some_and(|r| !r.is_empty() && !r.contains(['*', '?']));
    match service {
        "iam" if region_given => Some(msg::iam_region(resource)),
        // S3 buckets and objects have neither region nor account; access points and other
        // regional S3 resources name an account.
        "s3" if region_given && account.is_empty() => Some(msg::s3_region(resource)),
        _ => None,
    }
}

/// What IAM says of an action's form, if anything.
pub(crate) fn action_error(action: &str) -> Option<String> {
    if action == "*" {
        return None;
    }
    let mut parts = action.split(':');
    let vendor = parts.next().unwrap_or("");
    let Some(_) = parts.next() else {
        // Captured: "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2,
        // etc." for "Action": "GetObject"-style values.
        return Some(msg::ACTION_VENDOR.to_owned());
    };
    if parts.next().is_some() {
        return Some(msg::ACTION_COLON.to_owned());
    }
    if vendor.is_empty() {
        return Some(msg::ACTION_VENDOR.to_owned());
    }
    if vendor != "*"
        && !vendor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Some(msg::invalid_vendor(vendor));
    }
    None
}
