//! restJson1 (the portal and OIDC APIs): an operation is a method and a URI; its input is
//! bound from the URI's query string, headers and a JSON body by each member's `location`;
//! its output is a JSON body with the operation's status code, errors name their type in
//! `x-amzn-errortype` (Smithy, "AWS restJson1 protocol").

use crate::model::{Location, OperationDef, ServiceModel, Shape};
use crate::{ApiError, CommonError, Protocol, json, query};
use serde_json::{Map, Value};

/// The content type of restJson1 answers.
pub const CONTENT_TYPE: &str = "application/json";

/// The header restJson1 errors carry their code in.
pub const ERROR_TYPE_HEADER: &str = "x-amzn-errortype";

/// Whether `op`'s request URI matches: the method, the path exactly, and the literal query
/// part of the URI, if the model gives one (`/token?aws_iam=t`).
pub fn matches(op: &OperationDef, method: &str, path: &str, query_string: &str) -> bool {
    let (op_path, op_query) = op
        .request_uri
        .split_once('?')
        .unwrap_or((op.request_uri, ""));
    op.http_method == method
        && op_path == path
        && (op_query.is_empty() || query_string.split('&').any(|p| p == op_query))
}

/// The index of the operation of `model` a request is for. An operation whose URI names a
/// literal query part wins over one with the same path that does not.
pub fn find(model: &ServiceModel, method: &str, path: &str, query_string: &str) -> Option<usize> {
    let mut plain = None;
    for (i, op) in model.operations.iter().enumerate() {
        if matches(op, method, path, query_string) {
            if op.request_uri.contains('?') {
                return Some(i);
            }
            plain.get_or_insert(i);
        }
    }
    plain
}

/// The input document of `op`: the JSON body (when the input has body members), then the
/// members bound to the query string and to headers, numbers and booleans read as their
/// shapes say.
pub fn parse_input<'h>(
    model: &ServiceModel,
    op: &OperationDef,
    header: impl Fn(&str) -> Option<&'h str>,
    query_string: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let Some(shape) = op.input else {
        return Ok(Value::Object(Map::new()));
    };
    let Some(Shape::Structure(st)) = model.shape(shape) else {
        return Ok(Value::Object(Map::new()));
    };
    let mut doc = if st.members.iter().any(|m| m.location == Location::Body) {
        json::parse_body(body)?
    } else {
        Value::Object(Map::new())
    };
    let Value::Object(fields) = &mut doc else {
        return Ok(doc);
    };
    let qs = query::parse_form(query_string.as_bytes());
    for member in st.members {
        let raw = match member.location {
            Location::QueryString => qs
                .iter()
                .find(|(k, _)| k == member.wire_name())
                .map(|(_, v)| v.clone()),
            Location::Header => header(member.wire_name()).map(str::to_owned),
            _ => None,
        };
        let Some(raw) = raw else { continue };
        let value = match model.shape(member.shape) {
            Some(Shape::Integer(_) | Shape::Long(_)) => {
                raw.parse::<i64>().map(Value::from).map_err(|_| {
                    CommonError::Serialization(format!("Invalid number for {}", member.name))
                        .to_api_error(Protocol::RestJson)
                })?
            }
            Some(Shape::Boolean) => Value::Bool(raw == "true"),
            _ => Value::String(raw),
        };
        fields.insert(member.name.to_owned(), value);
    }
    Ok(doc)
}

/// The status code of `op`'s answer (the model's `responseCode`, 200 without one).
pub fn success_status(op: &OperationDef) -> u16 {
    if op.response_code == 0 {
        200
    } else {
        op.response_code
    }
}

/// The JSON body of an answer (`{}` for an operation without output, never `null`).
pub fn success_body(doc: &Value) -> Vec<u8> {
    if doc.is_null() {
        return b"{}".to_vec();
    }
    serde_json::to_vec(doc).unwrap_or_else(|_| b"{}".to_vec())
}
