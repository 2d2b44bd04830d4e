//! AWS partitions: which `arn:<partition>:` a region's resources are named under, which
//! regions exist, and how ARNs cross between the request's partition and Cairn's own.
//!
//! The facts come from botocore's `partitions.json` and `endpoints.json`, summarized into
//! `models/endpoints/partitions.json` by `scripts/refresh-models.sh` (pinned to
//! `models/BOTOCORE_VERSION`).
//!
//! **One partition inside.** Cairn keeps every ARN it stores, evaluates and compares in the
//! `aws` partition. The partition is a property of the request: the region its signature is
//! scoped to (`partition_of`). The pipeline reads a request of another partition into the
//! `aws` form ([`to_canonical`]) and renders its answer, error messages included, back into
//! the request's partition ([`render`]); CloudTrail renders each record into the partition
//! of its `awsRegion`. So one server answers a client of `cn-north-1` with `arn:aws-cn:`
//! ARNs and one of `us-east-1` with `arn:aws:` ARNs for the same resources, and a request
//! in `aws` costs nothing extra.

use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The partition Cairn keeps its ARNs in.
pub const CANONICAL: &str = "aws";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartitionDef {
    id: String,
    regions: Vec<String>,
    /// Service → the region its partition-wide (global) endpoint signs for.
    global_services: BTreeMap<String, String>,
}

fn partitions() -> &'static [PartitionDef] {
    static PARTITIONS: OnceLock<Vec<PartitionDef>> = OnceLock::new();
    PARTITIONS.get_or_init(|| {
        // Vendored, and checked by a test: a parse failure cannot reach a request.
        serde_json::from_str(include_str!("../../../models/endpoints/partitions.json"))
            .unwrap_or_default()
    })
}

/// The partition of `region`, as botocore's `partitions.json` assigns it: `cn-*` →
/// `aws-cn`, `us-gov-*` → `aws-us-gov`, `us-iso-*` → `aws-iso`, `us-isob-*` → `aws-iso-b`,
/// `eu-isoe-*` → `aws-iso-e`, `us-isof-*` → `aws-iso-f`, `eusc-*` → `aws-eusc`; every other
/// region (and an empty or unknown one) → `aws`.
pub fn partition_of(region: &str) -> &'static str {
    const BY_PREFIX: &[(&str, &str)] = &[
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("eusc-", "aws-eusc"),
        ("cn-", "aws-cn"),
    ];
    BY_PREFIX
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

/// Whether `region` is one of the regions of the vendored endpoint data. AWS refuses a
/// signature scoped to any other ("Credential should be scoped to a valid region, not
/// '<region>'. ").
pub fn is_known_region(region: &str) -> bool {
    partitions()
        .iter()
        .any(|p| p.regions.iter().any(|r| r == region))
}

/// The region a call to a global service (`iam`, `organizations`, `sts`'s global endpoint)
/// is signed for, and recorded in, within `partition`: the credential scope of the
/// service's partition endpoint in botocore's `endpoints.json` (IAM in `aws-cn`:
/// `cn-north-1`, Organizations there: `cn-northwest-1`). `None` where the partition has no
/// such endpoint (STS outside `aws` is regional: its calls are recorded in their region).
pub fn global_region(service: &str, partition: &str) -> Option<&'static str> {
    partitions()
        .iter()
        .find(|p| p.id == partition)
        .and_then(|p| p.global_services.get(service))
        .map(String::as_str)
}

/// Replaces every `arn:<from>:` (and its URL-encoded form `arn%3A<from>%3A`, as IAM sends
/// policy documents) by `arn:<to>:`; the patterns are built once per document.
struct Swap {
    plain: (String, String),
    encoded: (String, String),
}

impl Swap {
    fn new(from: &str, to: &str) -> Self {
        Swap {
            plain: (format!("arn:{from}:"), format!("arn:{to}:")),
            encoded: (format!("arn%3A{from}%3A"), format!("arn%3A{to}%3A")),
        }
    }

    fn text<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if !s.contains(&self.plain.0) && !s.contains(&self.encoded.0) {
            return Cow::Borrowed(s);
        }
        Cow::Owned(
            s.replace(&self.plain.0, &self.plain.1)
                .replace(&self.encoded.0, &self.encoded.1),
        )
    }

    fn value(&self, v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Cow::Owned(o) = self.text(s) {
                    *s = o;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.value(i)),
            Value::Object(map) => map.values_mut().for_each(|i| self.value(i)),
            _ => {}
        }
    }
}

/// What an `arn:aws:` written in a request of another partition is read as: a partition no
/// resource of Cairn's is in (a partition name has no `.`), so it names nothing there — as
/// on AWS, where an ARN of another partition is never one of the request's resources —
/// and renders back as written.
const FOREIGN_AWS: &str = "aws.foreign";

/// Reads a request document of `partition` into Cairn's: every `arn:<partition>:` in its
/// strings (policy documents included) becomes `arn:aws:`, and an `arn:aws:` there (an
/// ARN of another partition) becomes one that matches nothing. A no-op for `aws`, where
/// another partition's ARNs stay as written and match nothing either.
pub fn to_canonical(doc: &mut Value, partition: &str) {
    if partition != CANONICAL {
        Swap::new(CANONICAL, FOREIGN_AWS).value(doc);
        Swap::new(partition, CANONICAL).value(doc);
    }
}

/// Renders an answer for a request of `partition`: every `arn:aws:` in its strings becomes
/// `arn:<partition>:` (and a foreign `arn:aws:` the request wrote is given back as it was).
/// A no-op for `aws`.
pub fn render(doc: &mut Value, partition: &str) {
    if partition != CANONICAL {
        Swap::new(CANONICAL, partition).value(doc);
        Swap::new(FOREIGN_AWS, CANONICAL).value(doc);
    }
}

/// [`render`] for one text (an error message, a serialized record).
pub fn render_text<'a>(text: &'a str, partition: &str) -> Cow<'a, str> {
    if partition == CANONICAL {
        Cow::Borrowed(text)
    } else {
        match Swap::new(CANONICAL, partition).text(text) {
            Cow::Borrowed(t) => Swap::new(FOREIGN_AWS, CANONICAL).text(t),
            Cow::Owned(o) => Cow::Owned(Swap::new(FOREIGN_AWS, CANONICAL).text(&o).into_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn another_partitions_arns_name_nothing_and_render_as_written() {
        let mut doc = json!({
            "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "RoleArn": "arn:aws-cn:iam::111122223333:role/r",
        });
        to_canonical(&mut doc, "aws-cn");
        assert_eq!(doc["RoleArn"], "arn:aws:iam::111122223333:role/r");
        assert_ne!(doc["PolicyArn"], "arn:aws:iam::aws:policy/ReadOnlyAccess");
        assert!(
            !doc["PolicyArn"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws-cn:")
        );
        render(&mut doc, "aws-cn");
        assert_eq!(doc["PolicyArn"], "arn:aws:iam::aws:policy/ReadOnlyAccess");
        assert_eq!(doc["RoleArn"], "arn:aws-cn:iam::111122223333:role/r");
        let text = format!(
            "Policy {} does not exist.",
            "arn:aws.foreign:iam::aws:policy/X"
        );
        assert_eq!(
            render_text(&text, "aws-cn"),
            "Policy arn:aws:iam::aws:policy/X does not exist."
        );
    }

    #[test]
    fn regions_map_to_their_partitions() {
        for (region, partition) in [
            ("us-east-1", "aws"),
            ("eu-west-1", "aws"),
            ("us-gov-west-1", "aws-us-gov"),
            ("cn-north-1", "aws-cn"),
            ("cn-northwest-1", "aws-cn"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("us-isof-south-1", "aws-iso-f"),
            ("eusc-de-east-1", "aws-eusc"),
            ("", "aws"),
        ] {
            assert_eq!(partition_of(region), partition, "{region}");
        }
    }

    #[test]
    fn the_vendored_partitions_parse_and_agree_with_partition_of() {
        let all = partitions();
        assert!(
            all.len() >= 8,
            "models/endpoints/partitions.json: {} partitions",
            all.len()
        );
        for p in all {
            assert!(!p.regions.is_empty(), "{}", p.id);
            for r in &p.regions {
                assert_eq!(partition_of(r), p.id, "{r}");
                assert!(is_known_region(r));
            }
        }
        for unknown in [
            "",
            "us-east-9",
            "aws-global",
            "moon-1",
            "US-EAST-1",
            "local",
        ] {
            assert!(!is_known_region(unknown), "{unknown}");
        }
    }

    #[test]
    fn global_services_sign_for_their_partition_endpoint() {
        assert_eq!(global_region("iam", "aws"), Some("us-east-1"));
        assert_eq!(global_region("sts", "aws"), Some("us-east-1"));
        assert_eq!(global_region("iam", "aws-cn"), Some("cn-north-1"));
        assert_eq!(
            global_region("organizations", "aws-cn"),
            Some("cn-northwest-1")
        );
        assert_eq!(global_region("iam", "aws-us-gov"), Some("us-gov-west-1"));
        assert_eq!(global_region("iam", "aws-iso-b"), Some("us-isob-east-1"));
        assert_eq!(global_region("sts", "aws-cn"), None);
    }

    #[test]
    fn arns_cross_between_the_request_partition_and_cairns() {
        let mut doc = json!({
            "RoleArn": "arn:aws-cn:iam::111122223333:role/r",
            "List": ["arn:aws-cn:s3:::b", 3, null],
            "PolicyDocument": "{\"Resource\":\"arn:aws-cn:s3:::b/*\",\"Other\":\"arn:aws:s3:::x\"}",
            "Name": "arn-ish but not one",
        });
        to_canonical(&mut doc, "aws-cn");
        assert_eq!(doc["RoleArn"], "arn:aws:iam::111122223333:role/r");
        assert_eq!(doc["List"][0], "arn:aws:s3:::b");
        // `arn:aws:` is another partition's ARN in an `aws-cn` request: it names nothing.
        assert_eq!(
            doc["PolicyDocument"],
            "{\"Resource\":\"arn:aws:s3:::b/*\",\"Other\":\"arn:aws.foreign:s3:::x\"}"
        );
        render(&mut doc, "aws-cn");
        assert_eq!(
            doc["PolicyDocument"],
            "{\"Resource\":\"arn:aws-cn:s3:::b/*\",\"Other\":\"arn:aws:s3:::x\"}"
        );
        assert_eq!(doc["RoleArn"], "arn:aws-cn:iam::111122223333:role/r");
        assert_eq!(doc["Name"], "arn-ish but not one");
        // IAM's URL-encoded documents, and texts.
        let mut enc = json!("%7B%22R%22%3A%22arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FX%22%7D");
        render(&mut enc, "aws-us-gov");
        assert_eq!(
            enc,
            "%7B%22R%22%3A%22arn%3Aaws-us-gov%3Aiam%3A%3Aaws%3Apolicy%2FX%22%7D"
        );
        assert_eq!(
            render_text("User: arn:aws:iam::1:root is not", "aws-iso-b"),
            "User: arn:aws-iso-b:iam::1:root is not"
        );
        // `aws` costs nothing and changes nothing; `arn:aws-cn:` is not `arn:aws:`.
        let mut same = json!({"A": "arn:aws-cn:s3:::b"});
        render(&mut same, "aws");
        to_canonical(&mut same, "aws");
        assert_eq!(same["A"], "arn:aws-cn:s3:::b");
        assert!(matches!(render_text("arn:aws:x", "aws"), Cow::Borrowed(_)));
    }
}
