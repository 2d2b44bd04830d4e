//! awsJson bodies and error bodies, `codec`.

use crate::fixture::{JSON, QUERY};
use cairn_wire::error::ErrorShape;
use cairn_wire::json::{content_type, error_body, parse_body, split_target};
use cairn_wire::{ApiError, codec};
use serde_json::{Value, json};

#[test]
fn split_target_at_the_last_dot() {
    assert_eq!(
        split_target("AWSOrganizationsV20161128.ListAccounts"),
        Some(("AWSOrganizationsV20161128", "ListAccounts"))
    );
    assert_eq!(
        split_target("com.amazonaws.Svc.Op"),
        Some(("com.amazonaws.Svc", "Op"))
    );
    assert_eq!(split_target("Prefix."), Some(("Prefix", "")));
    assert_eq!(split_target("NoDot"), None);
    assert_eq!(split_target(""), None);
}

#[test]
fn parse_body_objects_and_empty() {
    assert_eq!(parse_body(b"").unwrap(), json!({}));
    assert_eq!(parse_body(b" \r\n\t").unwrap(), json!({}));
    assert_eq!(
        parse_body(br#"{"a":[1,{"b":null}]}"#).unwrap(),
        json!({"a": [1, {"b": null}]})
    );
    assert_eq!(parse_body(b" {} ").unwrap(), json!({}));
}

#[test]
fn parse_body_rejects_non_objects_and_garbage() {
    for body in [&b"[]"[..], b"null", b"1", b"\"s\"", b"true"] {
        let e = parse_body(body).unwrap_err();
        assert_eq!(e.code, "SerializationException");
        assert_eq!(e.status, 400);
        assert_eq!(
            e.message,
            "Start of structure or map found where not expected."
        );
    }
    for body in [&b"{"[..], b"{\"a\":}", b"{} {}", b"\xff\xfe", b"<xml/>"] {
        let e = parse_body(body).unwrap_err();
        assert_eq!(e.code, "SerializationException");
        assert!(
            e.message.starts_with("Malformed JSON body: "),
            "{}",
            e.message
        );
    }
}

#[test]
fn content_type_by_json_version() {
    assert_eq!(content_type(&JSON), "application/x-amz-json-1.1");
    assert_eq!(
        content_type(&crate::fixture::JSON10),
        "application/x-amz-json-1.0"
    );
}

fn body(err: &ApiError) -> Value {
    serde_json::from_slice(&error_body(err)).unwrap()
}

#[test]
fn error_body_type_message_key_and_fields() {
    let err = ApiError::new(
        ErrorShape {
            code: "ConstraintViolationException",
            status: 409,
            sender_fault: true,
            message_key: "Message",
        },
        "Too many \"accounts\".",
    )
    .with("Reason", "ACCOUNT_NUMBER_LIMIT_EXCEEDED");
    let raw = String::from_utf8(error_body(&err)).unwrap();
    // Key order: __type, message, extra fields.
    assert_eq!(
        raw,
        r#"{"__type":"ConstraintViolationException","Message":"Too many \"accounts\".","Reason":"ACCOUNT_NUMBER_LIMIT_EXCEEDED"}"#
    );
    let err = ApiError::new(
        ErrorShape {
            code: "ResourceNotFoundException",
            status: 404,
            sender_fault: true,
            message_key: "message",
        },
        "",
    )
    .with("ResourceId", json!(["a"]))
    .with("Count", 2);
    assert_eq!(
        body(&err),
        json!({"__type": "ResourceNotFoundException", "message": "", "ResourceId": ["a"], "Count": 2})
    );
}

#[test]
fn error_body_of_common_errors() {
    let err = cairn_wire::CommonError::Serialization(String::from("bad"))
        .to_api_error(cairn_wire::Protocol::Json);
    assert_eq!(
        body(&err),
        json!({"__type": "SerializationException", "message": "bad"})
    );
}

#[derive(Debug, serde::Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct In {
    name: String,
    count: Option<i32>,
    when: Option<cairn_wire::Timestamp>,
}

#[test]
fn codec_decode_and_encode() {
    let v: In = codec::decode(
        &JSON,
        json!({"Name": "n", "Count": 3, "When": "1970-01-01T00:00:01Z"}),
    )
    .unwrap();
    assert_eq!(
        v,
        In {
            name: String::from("n"),
            count: Some(3),
            when: Some(cairn_wire::Timestamp::from_secs(1)),
        }
    );
    assert_eq!(
        codec::encode(&v).unwrap(),
        json!({"Name": "n", "Count": 3, "When": 1})
    );
    let e = codec::decode::<In>(&JSON, json!({"Count": 3_000_000_000_i64})).unwrap_err();
    assert_eq!(e.code, "SerializationException");
    assert!(
        e.message.starts_with("Could not read the request: "),
        "{}",
        e.message
    );
    let e = codec::decode::<In>(&QUERY, json!({})).unwrap_err();
    assert_eq!(e.code, "MalformedQueryString");
}

#[test]
fn codec_encode_failure_is_internal() {
    let mut m = std::collections::HashMap::new();
    m.insert(vec![1u8], 1);
    let e = codec::encode(m).unwrap_err();
    assert_eq!(e.code, "InternalFailure");
    assert_eq!(e.status, 500);
}
