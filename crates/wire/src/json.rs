//! awsJson 1.0/1.1: `POST /` with `X-Amz-Target: <prefix>.<Operation>`, JSON bodies, errors as
//! `{"__type": "<Code>", "<message key>": "…", …extra members}`.

use crate::error::{ApiError, CommonError};
use crate::model::{Protocol, ServiceModel};
use serde_json::{Map, Value};

/// Splits `X-Amz-Target` into the service prefix and the operation name.
pub fn split_target(target: &str) -> Option<(&str, &str)> {
    target.rsplit_once('.')
}

/// Parses a request body: empty means `{}`; anything but a JSON object is a
/// `SerializationException`.
pub fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(CommonError::Serialization(String::from(
            "Start of structure or map found where not expected.",
        ))
        .to_api_error(Protocol::Json)),
        Err(e) => Err(
            CommonError::Serialization(format!("Malformed JSON body: {e}"))
                .to_api_error(Protocol::Json),
        ),
    }
}

pub fn content_type(model: &ServiceModel) -> &'static str {
    if model.json_version == "1.0" {
        "application/x-amz-json-1.0"
    } else {
        "application/x-amz-json-1.1"
    }
}

/// The error body.
pub fn error_body(err: &ApiError) -> Vec<u8> {
    let mut m = Map::new();
    m.insert(String::from("__type"), Value::String(err.code.to_string()));
    m.insert(
        err.message_key.to_owned(),
        Value::String(err.message.clone()),
    );
    for (k, v) in &err.fields {
        m.insert((*k).to_owned(), v.clone());
    }
    serde_json::to_vec(&Value::Object(m)).unwrap_or_else(|_| b"{}".to_vec())
}
