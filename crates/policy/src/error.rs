//! The error a policy document is refused with.

use std::fmt;

/// Why a policy document was refused.
///
/// [`message`](Self::message) is the text AWS puts in its `MalformedPolicyDocument` error
/// (IAM) or `MalformedPolicyDocumentException` (Organizations, for SCPs and RCPs), so the
/// server can return it unchanged. [`detail`](Self::detail) says precisely what is wrong, for
/// logs and tests; AWS's texts are often vaguer than that (`Syntax errors in policy.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    message: String,
    detail: String,
}

impl ParseError {
    pub(crate) fn new(message: impl Into<String>, detail: impl Into<String>) -> Self {
        ParseError {
            message: message.into(),
            detail: detail.into(),
        }
    }

    /// AWS's error message text.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A precise description of the problem.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// AWS's message texts.
pub(crate) mod msg {
    pub(crate) const SYNTAX: &str = "Syntax errors in policy.";
    pub(crate) const NO_PRINCIPAL: &str = "Policy document should not specify a principal.";
    /// S3's text for a bucket policy statement without `Principal`
    /// (spantaleev/matrix-docker-ansible-deploy#1869); IAM's for a role trust policy is
    /// [`NO_PRINCIPALS`].
    pub(crate) const MISSING_PRINCIPAL: &str = "Missing required field Principal";
    pub(crate) const NO_ACTIONS: &str = "Policy statement must contain actions.";
    pub(crate) const NO_RESOURCES: &str = "Policy statement must contain resources.";
    pub(crate) const ACTION_VENDOR: &str =
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
    pub(crate) const ACTION_COLON: &str = "Actions/Condition can contain only one colon.";
    pub(crate) const SID_UNIQUE: &str = "Statement IDs (SID) in a single policy must be unique.";
    pub(crate) const SID_ALNUM: &str = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*";
    /// Organizations answers every SCP/RCP content problem with this one text.
    pub(crate) const ORGANIZATIONS: &str =
        "The provided policy document does not meet the requirements of the specified policy type.";

    /// CreatePolicy/CreatePolicyVersion for a document whose `Version` is missing or
    /// `2008-10-17` (Meteor-Community-Packages/Meteor-CollectionFS#630).
    pub(crate) const MANAGED_VERSION: &str =
        "Policy document must be version 2012-10-17 or greater.";
    /// Captured from CreatePolicy with `"effect": "allow"` (hashicorp/terraform#10057).
    pub(crate) const LEGACY: &str = "The policy failed legacy parsing";
    /// moto's case `"Resource": "arn:aws"` (unverified against AWS).
    pub(crate) const VENDOR_QUALIFIED: &str =
        "Resource vendor must be fully qualified and cannot contain regexes.";
    /// CreateRole with a trust policy statement that names no principal
    /// (terraform-aws-modules/terraform-aws-iam#47, cloudposse/terraform-aws-cloudwatch-logs#7).
    pub(crate) const NO_PRINCIPALS: &str = "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!";

    /// Captured: `Partition "${ARN_PARTITION}" is not valid for resource
    /// "arn:${ARN_PARTITION}:s3:::XYZ-ABC-DEFG".` (cloudera-labs/cloudera.exe#112). Missing
    /// fields are shown as `*` (moto's cases, e.g. `a:b:cadfsdf` → `arn:b:cadfsdf:*:*:*`).
    pub(crate) fn invalid_partition(partition: &str, after: Option<&str>) -> String {
        let fields: Vec<&str> = after.map_or_else(|| vec![""], |a| a.split(':').collect());
        let first = match fields.first() {
            Some(f) if !f.is_empty() || fields.len() > 1 => f,
            _ => "*",
        };
        let field = |i: usize| fields.get(i).copied().unwrap_or("*");
        let rest = if fields.len() > 3 {
            fields.get(3..).map(|r| r.join(":")).unwrap_or_default()
        } else {
            "*".to_owned()
        };
        format!(
            "Partition \"{partition}\" is not valid for resource \"arn:{partition}:{first}:{}:{}:{rest}\".",
            field(1),
            field(2)
        )
    }

    /// moto's case `arn:aws:s3:us-east-1::example_bucket` (unverified against AWS).
    pub(crate) fn s3_region(resource: &str) -> String {
        format!("Resource {resource} can not contain region information.")
    }

    /// moto's case `"Action": "a a:ListBucket"` (unverified against AWS).
    pub(crate) fn invalid_vendor(vendor: &str) -> String {
        format!("Vendor {vendor} is not valid")
    }

    pub(crate) fn resource_arn(resource: &str) -> String {
        format!("Resource {resource} must be in ARN format or \"*\".")
    }

    pub(crate) fn iam_region(resource: &str) -> String {
        format!("IAM resource {resource} cannot contain region information.")
    }

    pub(crate) fn invalid_principal(kind: &str, value: &str) -> String {
        format!("Invalid principal in policy: \"{kind}\":\"{value}\"")
    }
}
