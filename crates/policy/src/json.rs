//! A JSON tree that keeps object members in order and refuses duplicate member names.
//!
//! `serde_json::Value` silently keeps the last of two members with the same name. For a policy
//! that is a trap: a reviewer reads the first `"Effect"`, the engine would enforce the second.
//! We refuse such documents instead (see the crate documentation), so the parser builds its own
//! tree through serde's visitor interface.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// One JSON value. Numbers keep their textual form: policy values are strings to IAM, and
/// `"Bool": {"aws:SecureTransport": true}` means the string `"true"`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Why the text is not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError(pub(crate) String);

const DUPLICATE: &str = "duplicate member name";

/// Parses one JSON document (nothing but whitespace may follow it).
pub(crate) fn parse(text: &str) -> Result<Json, JsonError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Json::deserialize(&mut de).map_err(|e| JsonError(e.to_string()))?;
    de.end().map_err(|e| JsonError(e.to_string()))?;
    Ok(value)
}

impl Json {
    /// The JSON type name, for error details.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }

    /// The value as IAM reads a scalar in a condition: strings, booleans and numbers are all
    /// strings.
    pub(crate) fn as_scalar_text(&self) -> Option<&str> {
        match self {
            Json::String(s) | Json::Number(s) => Some(s),
            Json::Bool(true) => Some("true"),
            Json::Bool(false) => Some("false"),
            _ => None,
        }
    }
}

impl Json {
    /// The value as compact JSON text, members in their original order; numbers keep the
    /// text they were read with.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        out
    }

    fn write_text(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => write_string(s, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_text(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (name, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(name, out);
                    out.push(':');
                    value.write_text(out);
                }
                out.push('}');
            }
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        if v.is_finite() {
            Ok(Json::Number(v.to_string()))
        } else {
            Err(E::custom("number out of range"))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<Json>()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members: Vec<(String, Json)> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            if members.iter().any(|(existing, _)| *existing == name) {
                return Err(de::Error::custom(format_args!("{DUPLICATE} {name:?}")));
            }
            let value = map.next_value::<Json>()?;
            members.push((name, value));
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn scalars_keep_their_text() {
        let v = parse(r#"{"a": 1, "b": -2, "c": 1.5, "d": true, "e": null, "f": "x"}"#).unwrap();
        let Json::Object(m) = v else { panic!() };
        assert_eq!(m[0].1, Json::Number("1".into()));
        assert_eq!(m[1].1, Json::Number("-2".into()));
        assert_eq!(m[2].1, Json::Number("1.5".into()));
        assert_eq!(m[3].1.as_scalar_text(), Some("true"));
        assert_eq!(m[4].1, Json::Null);
        assert_eq!(m[5].1.as_scalar_text(), Some("x"));
    }

    #[test]
    fn duplicate_members_are_refused_at_any_depth() {
        assert!(parse(r#"{"a": 1, "a": 2}"#).is_err());
        assert!(parse(r#"{"x": [{"a": 1, "a": 1}]}"#).is_err());
        assert!(parse(r#"{"a": 1, "A": 2}"#).is_ok());
    }

    #[test]
    fn to_text_round_trips() {
        let text = r#"{"b":[1,-2.5,true,null],"a":"q\"\\\n\u0001é"}"#;
        let v = parse(text).unwrap();
        assert_eq!(v.to_text(), text);
        assert_eq!(parse(&v.to_text()).unwrap(), v);
    }

    #[test]
    fn trailing_garbage_is_refused() {
        assert!(parse(r#"{} x"#).is_err());
        assert!(parse("{} \n").is_ok());
        assert!(parse("").is_err());
    }
}
