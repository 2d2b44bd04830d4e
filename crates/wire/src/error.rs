//! One error value for every AWS-shaped failure.
//!
//! Three layers: generated per-service error enums give the code and HTTP status
//! ([`ErrorShape`]); [`ApiError`] is the one value that flows through the pipeline (code,
//! status, message, extra members such as `Reason`); internal failures are converted at the
//! boundary into AWS's `InternalFailure`. Converting never panics.

use crate::model::Protocol;
use std::borrow::Cow;

/// Code and HTTP status of an AWS error, as the model declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorShape {
    /// awsJson `__type` / awsQuery `<Code>`.
    pub code: &'static str,
    pub status: u16,
    pub sender_fault: bool,
    /// JSON key of the message member in this exception shape (`Message` or `message`).
    pub message_key: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: Cow<'static, str>,
    pub status: u16,
    pub sender_fault: bool,
    pub message: String,
    pub message_key: &'static str,
    /// Extra members of the exception shape (e.g. `Reason`), serialised beside the message.
    pub fields: Vec<(&'static str, serde_json::Value)>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(shape: impl Into<ErrorShape>, message: impl Into<String>) -> Self {
        let shape = shape.into();
        Self {
            code: Cow::Borrowed(shape.code),
            status: shape.status,
            sender_fault: shape.sender_fault,
            message: message.into(),
            message_key: shape.message_key,
            fields: Vec::new(),
        }
    }

    /// Adds an extra member, e.g. `.with("Reason", "ACCOUNT_NUMBER_LIMIT_EXCEEDED")`.
    pub fn with(mut self, key: &'static str, value: impl Into<serde_json::Value>) -> Self {
        self.fields.push((key, value.into()));
        self
    }

    pub fn field(&self, key: &str) -> Option<&serde_json::Value> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// AWS's generic 500.
    pub fn internal() -> Self {
        Self::new(
            ErrorShape {
                code: "InternalFailure",
                status: 500,
                sender_fault: false,
                message_key: "message",
            },
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }

    pub fn not_implemented(service_id: &str, operation: &str) -> Self {
        Self::new(
            ErrorShape {
                code: "NotImplemented",
                status: 501,
                sender_fault: false,
                message_key: "message",
            },
            format!(
                "The operation {operation} of service {service_id} is not implemented by Cairn yet."
            ),
        )
    }

    pub fn is_not_implemented(&self) -> bool {
        self.code == "NotImplemented" && self.status == 501
    }
}

/// Errors every service shares; their code depends on the protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum CommonError {
    /// No `Authorization` header and no presigned query.
    MissingAuthenticationToken(String),
    IncompleteSignature(String),
    SignatureDoesNotMatch(String),
    RequestExpired(String),
    /// Unknown access key (or session token).
    InvalidClientTokenId(String),
    ExpiredToken(String),
    /// Body not parseable as the protocol requires.
    Serialization(String),
    /// awsJson: no/unknown `X-Amz-Target`; awsQuery: unknown `Action`.
    UnknownOperation(String),
    MissingAction,
    AccessDenied(String),
    Throttling(String),
}

impl CommonError {
    pub fn to_api_error(&self, protocol: Protocol) -> ApiError {
        let json = protocol != Protocol::Query;
        let (code, status, msg): (&'static str, u16, String) = match self {
            Self::MissingAuthenticationToken(m) => (
                if json {
                    "MissingAuthenticationTokenException"
                } else {
                    "MissingAuthenticationToken"
                },
                403,
                m.clone(),
            ),
            Self::IncompleteSignature(m) => (
                if json {
                    "IncompleteSignatureException"
                } else {
                    "IncompleteSignature"
                },
                400,
                m.clone(),
            ),
            Self::SignatureDoesNotMatch(m) => {
                if json {
                    ("InvalidSignatureException", 400, m.clone())
                } else {
                    ("SignatureDoesNotMatch", 403, m.clone())
                }
            }
            // STS and IAM answer an expired signature with SignatureDoesNotMatch (403),
            // "Signature expired: …", as users of the real services report it.
            Self::RequestExpired(m) => {
                if json {
                    ("InvalidSignatureException", 400, m.clone())
                } else {
                    ("SignatureDoesNotMatch", 403, m.clone())
                }
            }
            Self::InvalidClientTokenId(m) => {
                if json {
                    ("UnrecognizedClientException", 400, m.clone())
                } else {
                    ("InvalidClientTokenId", 403, m.clone())
                }
            }
            Self::ExpiredToken(m) => (
                if json {
                    "ExpiredTokenException"
                } else {
                    "ExpiredToken"
                },
                400,
                m.clone(),
            ),
            Self::Serialization(m) => {
                if json {
                    ("SerializationException", 400, m.clone())
                } else {
                    ("MalformedQueryString", 400, m.clone())
                }
            }
            Self::UnknownOperation(m) => {
                if json {
                    ("UnknownOperationException", 400, m.clone())
                } else {
                    ("InvalidAction", 400, m.clone())
                }
            }
            Self::MissingAction => (
                if json {
                    "UnknownOperationException"
                } else {
                    "MissingAction"
                },
                400,
                String::from("Missing Action"),
            ),
            Self::AccessDenied(m) => (
                if json {
                    "AccessDeniedException"
                } else {
                    "AccessDenied"
                },
                if json { 400 } else { 403 },
                m.clone(),
            ),
            Self::Throttling(m) => (
                if json {
                    "ThrottlingException"
                } else {
                    "Throttling"
                },
                400,
                m.clone(),
            ),
        };
        ApiError {
            code: Cow::Borrowed(code),
            status,
            sender_fault: status < 500,
            message: msg,
            message_key: "message",
            fields: Vec::new(),
        }
    }
}
