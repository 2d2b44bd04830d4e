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
    pub(crate) const VERSION: &str = "The policy must contain a valid version string";
    pub(crate) const NO_PRINCIPAL: &str = "Policy document should not specify a principal.";
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
