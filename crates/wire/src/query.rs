//! awsQuery: form-encoded input (`Action`, `Version`, `Member.member.N`, `Map.entry.N.key`),
//! XML output (`<OpResponse><OpResult>…</OpResult><ResponseMetadata>…`) and XML errors.
//!
//! Input is converted, guided by the shape table, into the same JSON document an awsJson
//! client would send, so validation and the generated types are protocol-independent.

use crate::error::ApiError;
use crate::model::{ServiceModel, Shape, ShapeId};
use crate::types::Timestamp;
use crate::validate::TypeMismatch;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Parses an `application/x-www-form-urlencoded` body (or query string) into pairs.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

#[derive(Default, Debug)]
struct Node {
    value: Option<String>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, key: &str, value: &str) {
        let mut node = self;
        for part in key.split('.') {
            node = node.children.entry(part.to_owned()).or_default();
        }
        node.value = Some(value.to_owned());
    }
}

/// Converts form parameters (without `Action`/`Version`) into the awsJson document for `shape`.
pub fn params_to_value(
    model: &ServiceModel,
    shape: ShapeId,
    params: &[(String, String)],
) -> Result<Value, TypeMismatch> {
    let mut root = Node::default();
    for (k, v) in params {
        if k == "Action" || k == "Version" {
            continue;
        }
        root.insert(k, v);
    }
    node_to_value(model, shape, &root, "")
}

fn mismatch(path: &str, expected: &'static str) -> TypeMismatch {
    TypeMismatch {
        path: path.to_owned(),
        expected,
    }
}

/// Children whose keys are 1-based indexes, in numeric order.
fn indexed(node: &Node) -> Vec<&Node> {
    let mut items: Vec<(u64, &Node)> = node
        .children
        .iter()
        .filter_map(|(k, v)| k.parse::<u64>().ok().filter(|i| *i > 0).map(|i| (i, v)))
        .collect();
    items.sort_by_key(|(i, _)| *i);
    items.into_iter().map(|(_, n)| n).collect()
}

fn node_to_value(
    model: &ServiceModel,
    id: ShapeId,
    node: &Node,
    path: &str,
) -> Result<Value, TypeMismatch> {
    let Some(shape) = model.shape(id) else {
        return Ok(Value::Null);
    };
    let scalar = || node.value.as_deref().unwrap_or("");
    Ok(match shape {
        Shape::String(_) | Shape::Blob(_) => Value::String(scalar().to_owned()),
        Shape::Integer(_) | Shape::Long(_) => {
            let n: i64 = scalar()
                .trim()
                .parse()
                .map_err(|_| mismatch(path, "integer"))?;
            Value::from(n)
        }
        Shape::Float(_) | Shape::Double(_) => {
            let f: f64 = scalar()
                .trim()
                .parse()
                .map_err(|_| mismatch(path, "number"))?;
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| mismatch(path, "number"))?
        }
        Shape::Boolean => match scalar() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(mismatch(path, "boolean")),
        },
        Shape::Timestamp(_) => {
            let t = Timestamp::parse(scalar()).ok_or_else(|| mismatch(path, "timestamp"))?;
            t.to_json()
        }
        Shape::Document => Value::String(scalar().to_owned()),
        Shape::List(l) => {
            let container = if l.flattened {
                Some(node)
            } else {
                node.children
                    .get(l.member_location_name.unwrap_or("member"))
            };
            let mut out = Vec::new();
            if let Some(container) = container {
                for (i, item) in indexed(container).into_iter().enumerate() {
                    out.push(node_to_value(
                        model,
                        l.member,
                        item,
                        &format!("{path}.{}", i + 1),
                    )?);
                }
            }
            Value::Array(out)
        }
        Shape::Map(m) => {
            let container = if m.flattened {
                Some(node)
            } else {
                node.children.get("entry")
            };
            let mut out = Map::new();
            if let Some(container) = container {
                for entry in indexed(container) {
                    let key = entry
                        .children
                        .get("key")
                        .and_then(|k| k.value.clone())
                        .ok_or_else(|| mismatch(path, "map entry key"))?;
                    let value = match entry.children.get("value") {
                        Some(v) => node_to_value(model, m.value, v, &format!("{path}.{key}"))?,
                        None => Value::Null,
                    };
                    out.insert(key, value);
                }
            }
            Value::Object(out)
        }
        Shape::Structure(st) => {
            let mut out = Map::new();
            for member in st.members {
                if let Some(child) = node.children.get(member.wire_name()) {
                    let p = if path.is_empty() {
                        member.name.to_owned()
                    } else {
                        format!("{path}.{}", member.name)
                    };
                    out.insert(
                        member.name.to_owned(),
                        node_to_value(model, member.shape, child, &p)?,
                    );
                }
            }
            Value::Object(out)
        }
    })
}

/// Appends `s` with XML escaping. Characters XML 1.0 does not allow at all — not even as
/// character references (the `Char` production: tab, newline and carriage return are the
/// only controls below U+0020; U+FFFE and U+FFFF are excluded) — become U+FFFD, so a
/// response that echoes client input (`UserName=%00`) stays well-formed and parses.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\u{0}'..='\u{8}'
            | '\u{b}'
            | '\u{c}'
            | '\u{e}'..='\u{1f}'
            | '\u{fffe}'
            | '\u{ffff}' => out.push('\u{fffd}'),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn write_value(model: &ServiceModel, id: ShapeId, value: &Value, out: &mut String) {
    let Some(shape) = model.shape(id) else {
        return;
    };
    match shape {
        Shape::Structure(st) => {
            let Value::Object(fields) = value else {
                return;
            };
            for member in st.members {
                if let Some(v) = fields.get(member.name) {
                    if v.is_null() {
                        continue;
                    }
                    let name = member.wire_name();
                    if let Some(Shape::List(l)) = model.shape(member.shape)
                        && l.flattened
                    {
                        // Flattened lists repeat the member element itself.
                        if let Value::Array(items) = v {
                            for item in items {
                                element(model, name, l.member, item, out);
                            }
                        }
                        continue;
                    }
                    element(model, name, member.shape, v, out);
                }
            }
        }
        Shape::List(l) => {
            let Value::Array(items) = value else {
                return;
            };
            let name = l.member_location_name.unwrap_or("member");
            for item in items {
                element(model, name, l.member, item, out);
            }
        }
        Shape::Map(m) => {
            let Value::Object(entries) = value else {
                return;
            };
            for (k, v) in entries {
                out.push_str("<entry><key>");
                escape_into(out, k);
                out.push_str("</key>");
                element(model, "value", m.value, v, out);
                out.push_str("</entry>");
            }
        }
        Shape::Timestamp(_) => {
            let t = match value {
                Value::Number(n) => n.as_f64().and_then(Timestamp::from_f64_secs),
                Value::String(s) => Timestamp::parse(s),
                _ => None,
            };
            if let Some(t) = t {
                out.push_str(&t.to_iso8601());
            }
        }
        _ => match value {
            Value::String(s) => escape_into(out, s),
            Value::Null => {}
            other => escape_into(out, &other.to_string()),
        },
    }
}

fn element(model: &ServiceModel, name: &str, id: ShapeId, value: &Value, out: &mut String) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    write_value(model, id, value, out);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// `<{op}Response xmlns=…><{op}Result>…</{op}Result><ResponseMetadata>…</ResponseMetadata></{op}Response>`
pub fn response_xml(
    model: &ServiceModel,
    operation: &str,
    result_wrapper: Option<&str>,
    output: Option<(ShapeId, &Value)>,
    request_id: &str,
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
    out.push_str(operation);
    out.push_str("Response xmlns=\"");
    escape_into(&mut out, model.xml_namespace);
    out.push_str("\">");
    if let Some((shape, value)) = output {
        let wrapper = result_wrapper
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{operation}Result"));
        out.push('<');
        out.push_str(&wrapper);
        out.push('>');
        write_value(model, shape, value, &mut out);
        out.push_str("</");
        out.push_str(&wrapper);
        out.push('>');
    }
    out.push_str("<ResponseMetadata><RequestId>");
    escape_into(&mut out, request_id);
    out.push_str("</RequestId></ResponseMetadata></");
    out.push_str(operation);
    out.push_str("Response>");
    out
}

/// `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error><RequestId>…</RequestId></ErrorResponse>`
pub fn error_xml(namespace: &str, err: &ApiError, request_id: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"");
    escape_into(&mut out, namespace);
    out.push_str("\"><Error><Type>");
    out.push_str(if err.sender_fault {
        "Sender"
    } else {
        "Receiver"
    });
    out.push_str("</Type><Code>");
    escape_into(&mut out, &err.code);
    out.push_str("</Code><Message>");
    escape_into(&mut out, &err.message);
    out.push_str("</Message>");
    for (k, v) in &err.fields {
        out.push('<');
        out.push_str(k);
        out.push('>');
        match v {
            Value::String(s) => escape_into(&mut out, s),
            other => escape_into(&mut out, &other.to_string()),
        }
        out.push_str("</");
        out.push_str(k);
        out.push('>');
    }
    out.push_str("</Error><RequestId>");
    escape_into(&mut out, request_id);
    out.push_str("</RequestId></ErrorResponse>");
    out
}
