//! Verification errors: an AWS error code plus an AWS-style message.

use std::fmt;

/// What went wrong, named after the AWS error code that reports it.
///
/// The server maps each kind to its protocol's error shape (for example awsJson services answer an
/// expired request with `InvalidSignatureException`); this crate only classifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigErrorKind {
    /// Neither an `Authorization` header nor an `X-Amz-Algorithm` query parameter.
    MissingAuthenticationToken,
    /// The authentication data is malformed or incomplete (missing components, bad date format,
    /// unsupported algorithm, malformed credential).
    IncompleteSignature,
    /// The signature does not verify, or the credential scope / signed-header set is not
    /// acceptable (AWS reports scope and `host` problems under this code too).
    SignatureDoesNotMatch,
    /// The request time is outside the accepted window (stale, in the future, or a presigned URL
    /// past its `X-Amz-Expires`).
    RequestExpired,
    /// The `x-amz-content-sha256` header does not match the SHA-256 of the received body.
    XAmzContentSha256Mismatch,
    /// The `x-amz-content-sha256` header has a value this verifier does not accept
    /// (not hex SHA-256, a streaming mode, or `UNSIGNED-PAYLOAD` when disallowed).
    InvalidArgument,
}

impl SigErrorKind {
    /// The AWS error code, e.g. `"SignatureDoesNotMatch"`.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationToken",
            Self::IncompleteSignature => "IncompleteSignature",
            Self::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            Self::RequestExpired => "RequestExpired",
            Self::XAmzContentSha256Mismatch => "XAmzContentSHA256Mismatch",
            Self::InvalidArgument => "InvalidArgument",
        }
    }
}

impl fmt::Display for SigErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A SigV4 verification failure.
#[derive(Clone, PartialEq, Eq)]
pub struct SigError {
    kind: SigErrorKind,
    message: String,
    /// For a signature mismatch: the canonical request and string-to-sign we computed, for logs.
    computed: Option<Box<(Vec<u8>, String)>>,
}

/// The message AWS sends with `SignatureDoesNotMatch`.
pub(crate) const MSG_SIGNATURE_DOES_NOT_MATCH: &str = "The request signature we calculated does not \
match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the \
service documentation for details.";

impl SigError {
    pub(crate) fn new(kind: SigErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            computed: None,
        }
    }

    pub(crate) fn missing_token() -> Self {
        Self::new(
            SigErrorKind::MissingAuthenticationToken,
            "Missing Authentication Token",
        )
    }

    pub(crate) fn incomplete(message: impl Into<String>) -> Self {
        Self::new(SigErrorKind::IncompleteSignature, message)
    }

    pub(crate) fn does_not_match(message: impl Into<String>) -> Self {
        Self::new(SigErrorKind::SignatureDoesNotMatch, message)
    }

    pub(crate) fn mismatch(canonical_request: Vec<u8>, string_to_sign: String) -> Self {
        Self {
            kind: SigErrorKind::SignatureDoesNotMatch,
            message: MSG_SIGNATURE_DOES_NOT_MATCH.to_owned(),
            computed: Some(Box::new((canonical_request, string_to_sign))),
        }
    }

    /// The error class, named after the AWS error code.
    #[must_use]
    pub fn kind(&self) -> SigErrorKind {
        self.kind
    }

    /// The AWS-style message, suitable for the error response body.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// For a signature mismatch detected by `verify`: the canonical request we computed.
    /// Meant for server logs (it contains header values), not for the response.
    #[must_use]
    pub fn computed_canonical_request(&self) -> Option<&[u8]> {
        self.computed.as_deref().map(|(c, _)| c.as_slice())
    }

    /// For a signature mismatch detected by `verify`: the string-to-sign we computed.
    #[must_use]
    pub fn computed_string_to_sign(&self) -> Option<&str> {
        self.computed.as_deref().map(|(_, s)| s.as_str())
    }
}

impl fmt::Debug for SigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for SigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)
    }
}

impl std::error::Error for SigError {}
