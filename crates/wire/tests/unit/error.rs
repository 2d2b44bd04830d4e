//! `ApiError` and the protocol-dependent `CommonError` mapping.

use cairn_wire::error::ErrorShape;
use cairn_wire::{ApiError, CommonError, Protocol};
use serde_json::json;

#[test]
fn common_error_codes_and_statuses_per_protocol() {
    let m = || String::from("msg");
    // (error, awsJson/restJson1 code + status, awsQuery code + status)
    let cases = [
        (
            CommonError::MissingAuthenticationToken(m()),
            ("MissingAuthenticationTokenException", 403),
            ("MissingAuthenticationToken", 403),
        ),
        (
            CommonError::IncompleteSignature(m()),
            ("IncompleteSignatureException", 400),
            ("IncompleteSignature", 400),
        ),
        (
            CommonError::SignatureDoesNotMatch(m()),
            ("InvalidSignatureException", 400),
            ("SignatureDoesNotMatch", 403),
        ),
        (
            CommonError::RequestExpired(m()),
            ("InvalidSignatureException", 400),
            ("SignatureDoesNotMatch", 403),
        ),
        (
            CommonError::InvalidClientTokenId(m()),
            ("UnrecognizedClientException", 400),
            ("InvalidClientTokenId", 403),
        ),
        (
            CommonError::ExpiredToken(m()),
            ("ExpiredTokenException", 400),
            ("ExpiredToken", 400),
        ),
        (
            CommonError::Serialization(m()),
            ("SerializationException", 400),
            ("MalformedQueryString", 400),
        ),
        (
            CommonError::UnknownOperation(m()),
            ("UnknownOperationException", 400),
            ("InvalidAction", 400),
        ),
        (
            CommonError::MissingAction,
            ("UnknownOperationException", 400),
            ("MissingAction", 400),
        ),
        (
            CommonError::AccessDenied(m()),
            ("AccessDeniedException", 400),
            ("AccessDenied", 403),
        ),
        (
            CommonError::Throttling(m()),
            ("ThrottlingException", 400),
            ("Throttling", 400),
        ),
    ];
    for (err, json_side, query_side) in cases {
        let expected_msg = if err == CommonError::MissingAction {
            "Missing Action"
        } else {
            "msg"
        };
        for (protocol, (code, status)) in [
            (Protocol::Json, json_side),
            (Protocol::RestJson, json_side),
            (Protocol::Query, query_side),
        ] {
            let e = err.to_api_error(protocol);
            assert_eq!(
                (e.code.as_ref(), e.status),
                (code, status),
                "{err:?} {protocol:?}"
            );
            assert_eq!(e.message, expected_msg);
            assert!(e.sender_fault, "{err:?} {protocol:?}");
            assert_eq!(e.message_key, "message");
            assert!(e.fields.is_empty());
        }
    }
}

#[test]
fn api_error_from_shape() {
    let shape = ErrorShape {
        code: "EntityAlreadyExists",
        status: 409,
        sender_fault: true,
        message_key: "Message",
    };
    let e = ApiError::new(shape, "User with name bob already exists.");
    assert_eq!(e.code, "EntityAlreadyExists");
    assert_eq!(e.status, 409);
    assert!(e.sender_fault);
    assert_eq!(e.message_key, "Message");
    assert_eq!(
        e.to_string(),
        "EntityAlreadyExists: User with name bob already exists."
    );
    assert!(e.field("Reason").is_none());
    let e = e.with("Reason", "X").with("Other", json!({"a": 1}));
    assert_eq!(e.field("Reason"), Some(&json!("X")));
    assert_eq!(e.field("Other"), Some(&json!({"a": 1})));
    assert_eq!(e.fields.len(), 2);
    // First one wins when a key repeats.
    let e = e.with("Reason", "Y");
    assert_eq!(e.field("Reason"), Some(&json!("X")));
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert!(boxed.to_string().starts_with("EntityAlreadyExists: "));
}

#[test]
fn internal_and_not_implemented() {
    let e = ApiError::internal();
    assert_eq!(e.code, "InternalFailure");
    assert_eq!(e.status, 500);
    assert!(!e.sender_fault);
    assert!(!e.is_not_implemented());
    let e = ApiError::not_implemented("Organizations", "CreateAccount");
    assert_eq!(e.code, "NotImplemented");
    assert_eq!(e.status, 501);
    assert!(!e.sender_fault);
    assert!(e.is_not_implemented());
    assert_eq!(
        e.message,
        "The operation CreateAccount of service Organizations is not implemented by Cairn yet."
    );
    // Same code with another status is not "not implemented".
    let mut other = e.clone();
    other.status = 400;
    assert!(!other.is_not_implemented());
}
