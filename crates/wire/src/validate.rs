//! Input validation from the model: required members, lengths, patterns, enums, ranges.
//!
//! The validator walks a parsed input document (a `serde_json::Value` in the awsJson
//! representation, whatever the protocol) against the service's shape table and reports
//! violations; [`ValidationStyle`] turns them into the error each service gives.

use crate::error::{ApiError, CommonError, ErrorShape};
use crate::model::{Protocol, ServiceModel, Shape, ShapeId};
use crate::trail::lower_first;
use serde_json::Value;

/// How a service reports invalid input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationStyle {
    /// Coral's `N validation error(s) detected: Value … at '…' failed to satisfy constraint: …`
    /// under the given code (`ValidationException` for most awsJson services).
    Coral { code: &'static str, status: u16 },
    /// Organizations: `InvalidInputException` with a `Reason`.
    InvalidInputWithReason,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    Required,
    MinLength(u64),
    MaxLength(u64),
    Pattern(&'static str),
    Enum(&'static [&'static str]),
    MinValue(f64),
    MaxValue(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Coral-style path with lower-camel member names, e.g. `tags.1.member.key`.
    pub path: String,
    /// Rendered value (`null` when absent).
    pub value: String,
    pub constraint: Constraint,
    pub sensitive: bool,
}

/// A value of the wrong JSON type: a serialization error, not a validation error.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeMismatch {
    pub path: String,
    pub expected: &'static str,
}

const MAX_VIOLATIONS: usize = 10;

/// Validates `value` against `shape`. Type mismatches abort; constraint violations are
/// collected (at most ten, as Coral does).
pub fn validate(
    model: &ServiceModel,
    shape: ShapeId,
    value: &Value,
) -> Result<Vec<Violation>, TypeMismatch> {
    let mut out = Vec::new();
    walk(model, shape, value, &mut String::new(), false, &mut out)?;
    Ok(out)
}

fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::from("null"),
        other => other.to_string(),
    }
}

fn push(
    out: &mut Vec<Violation>,
    path: &str,
    value: &Value,
    constraint: Constraint,
    sensitive: bool,
) {
    if out.len() < MAX_VIOLATIONS {
        out.push(Violation {
            path: path.to_owned(),
            value: render(value),
            constraint,
            sensitive,
        });
    }
}

fn mismatch(path: &str, expected: &'static str) -> TypeMismatch {
    TypeMismatch {
        path: path.to_owned(),
        expected,
    }
}

fn walk(
    model: &ServiceModel,
    id: ShapeId,
    value: &Value,
    path: &mut String,
    sensitive: bool,
    out: &mut Vec<Violation>,
) -> Result<(), TypeMismatch> {
    let Some(shape) = model.shape(id) else {
        return Ok(());
    };
    match shape {
        Shape::String(s) => {
            let Value::String(text) = value else {
                return Err(mismatch(path, "string"));
            };
            let sensitive = sensitive || s.sensitive;
            let len = text.chars().count() as u64;
            if let Some(min) = s.min
                && len < min
            {
                push(out, path, value, Constraint::MinLength(min), sensitive);
            }
            if let Some(max) = s.max
                && len > max
            {
                push(out, path, value, Constraint::MaxLength(max), sensitive);
            }
            if !s.enum_values.is_empty() && !s.enum_values.contains(&text.as_str()) {
                push(out, path, value, Constraint::Enum(s.enum_values), sensitive);
            }
            if let Some(p) = s.pattern
                && let Some(re) = model.pattern(p)
                && !re.is_match(text)
            {
                let src = model.patterns.get(usize::from(p)).copied().unwrap_or("");
                push(out, path, value, Constraint::Pattern(src), sensitive);
            }
        }
        Shape::Integer(n) | Shape::Long(n) | Shape::Float(n) | Shape::Double(n) => {
            let Some(v) = value.as_f64() else {
                return Err(mismatch(path, "number"));
            };
            if matches!(shape, Shape::Integer(_) | Shape::Long(_))
                && !(value.is_i64() || value.is_u64())
            {
                return Err(mismatch(path, "integer"));
            }
            if let Shape::Integer(_) = shape
                && (v < f64::from(i32::MIN) || v > f64::from(i32::MAX))
            {
                return Err(mismatch(path, "integer"));
            }
            if let Some(min) = n.min
                && v < min
            {
                push(out, path, value, Constraint::MinValue(min), sensitive);
            }
            if let Some(max) = n.max
                && v > max
            {
                push(out, path, value, Constraint::MaxValue(max), sensitive);
            }
        }
        Shape::Boolean => {
            if !value.is_boolean() {
                return Err(mismatch(path, "boolean"));
            }
        }
        Shape::Timestamp(_) => {
            let ok = match value {
                Value::Number(n) => n
                    .as_f64()
                    .is_some_and(|f| crate::types::Timestamp::from_f64_secs(f).is_some()),
                Value::String(s) => crate::types::Timestamp::parse(s).is_some(),
                _ => false,
            };
            if !ok {
                return Err(mismatch(path, "timestamp"));
            }
        }
        Shape::Blob(b) => {
            let Value::String(text) = value else {
                return Err(mismatch(path, "base64 string"));
            };
            use base64::Engine;
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text.as_bytes())
            else {
                return Err(mismatch(path, "base64 string"));
            };
            let len = bytes.len() as u64;
            let sensitive = sensitive || b.sensitive;
            if let Some(min) = b.min
                && len < min
            {
                push(out, path, value, Constraint::MinLength(min), sensitive);
            }
            if let Some(max) = b.max
                && len > max
            {
                push(out, path, value, Constraint::MaxLength(max), sensitive);
            }
        }
        Shape::Document => {}
        Shape::List(l) => {
            let Value::Array(items) = value else {
                return Err(mismatch(path, "list"));
            };
            let len = items.len() as u64;
            if let Some(min) = l.min
                && len < min
            {
                push(out, path, value, Constraint::MinLength(min), sensitive);
            }
            if let Some(max) = l.max
                && len > max
            {
                push(out, path, value, Constraint::MaxLength(max), sensitive);
            }
            for (i, item) in items.iter().enumerate() {
                if item.is_null() {
                    continue;
                }
                let mark = path.len();
                path.push_str(&format!(".{}.member", i + 1));
                walk(model, l.member, item, path, sensitive, out)?;
                path.truncate(mark);
            }
        }
        Shape::Map(m) => {
            let Value::Object(entries) = value else {
                return Err(mismatch(path, "map"));
            };
            let len = entries.len() as u64;
            if let Some(min) = m.min
                && len < min
            {
                push(out, path, value, Constraint::MinLength(min), sensitive);
            }
            if let Some(max) = m.max
                && len > max
            {
                push(out, path, value, Constraint::MaxLength(max), sensitive);
            }
            for (k, v) in entries {
                let mark = path.len();
                path.push_str(".key");
                walk(
                    model,
                    m.key,
                    &Value::String(k.clone()),
                    path,
                    sensitive,
                    out,
                )?;
                path.truncate(mark);
                if v.is_null() {
                    continue;
                }
                path.push_str(&format!(".{k}.value"));
                walk(model, m.value, v, path, sensitive, out)?;
                path.truncate(mark);
            }
        }
        Shape::Structure(st) => {
            let Value::Object(fields) = value else {
                return Err(mismatch(path, "structure"));
            };
            let sensitive = sensitive || st.sensitive;
            for member in st.members {
                let mark = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&lower_first(member.name));
                match fields.get(member.name) {
                    None | Some(Value::Null) => {
                        if member.required {
                            push(out, path, &Value::Null, Constraint::Required, sensitive);
                        }
                    }
                    Some(v) => walk(
                        model,
                        member.shape,
                        v,
                        path,
                        sensitive || member.sensitive,
                        out,
                    )?,
                }
                path.truncate(mark);
            }
        }
    }
    Ok(())
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

impl Constraint {
    /// Coral's constraint text.
    pub fn describe(&self) -> String {
        match self {
            Self::Required => String::from("Member must not be null"),
            Self::MinLength(n) => format!("Member must have length greater than or equal to {n}"),
            Self::MaxLength(n) => format!("Member must have length less than or equal to {n}"),
            Self::Pattern(p) => format!("Member must satisfy regular expression pattern: {p}"),
            Self::Enum(vals) => {
                format!("Member must satisfy enum value set: [{}]", vals.join(", "))
            }
            Self::MinValue(v) => format!(
                "Member must have value greater than or equal to {}",
                fmt_num(*v)
            ),
            Self::MaxValue(v) => format!(
                "Member must have value less than or equal to {}",
                fmt_num(*v)
            ),
        }
    }

    /// Organizations' `InvalidInputException` reason.
    pub fn organizations_reason(&self) -> &'static str {
        match self {
            Self::Required => "INPUT_REQUIRED",
            Self::MinLength(_) => "MIN_LENGTH_EXCEEDED",
            Self::MaxLength(_) => "MAX_LENGTH_EXCEEDED",
            Self::Pattern(_) => "INVALID_PATTERN",
            Self::Enum(_) => "INVALID_ENUM",
            Self::MinValue(_) => "MIN_VALUE_EXCEEDED",
            Self::MaxValue(_) => "MAX_VALUE_EXCEEDED",
        }
    }
}

/// Renders violations as the service's error. `violations` must not be empty.
pub fn violations_to_error(
    style: ValidationStyle,
    protocol: Protocol,
    violations: &[Violation],
) -> ApiError {
    match style {
        ValidationStyle::Coral { code, status } => {
            let parts: Vec<String> = violations
                .iter()
                .map(|v| {
                    let shown = if v.constraint == Constraint::Required {
                        String::from("null")
                    } else if v.sensitive {
                        String::from("'HIDDEN_DUE_TO_SECURITY_REASONS'")
                    } else {
                        format!("'{}'", v.value)
                    };
                    format!(
                        "Value {shown} at '{}' failed to satisfy constraint: {}",
                        v.path,
                        v.constraint.describe()
                    )
                })
                .collect();
            let n = parts.len();
            let message = format!(
                "{n} validation error{} detected: {}",
                if n == 1 { "" } else { "s" },
                parts.join("; ")
            );
            let _ = protocol;
            ApiError::new(
                ErrorShape {
                    code,
                    status,
                    sender_fault: true,
                    message_key: "message",
                },
                message,
            )
        }
        ValidationStyle::InvalidInputWithReason => {
            let first = violations.first();
            let reason = first.map_or("INVALID_INPUT", |v| v.constraint.organizations_reason());
            let message = match first {
                Some(v) => match &v.constraint {
                    Constraint::Required => format!("You must specify a value for {}.", v.path),
                    Constraint::Pattern(_) => format!(
                        "You provided a value that does not match the required pattern for {}.",
                        v.path
                    ),
                    Constraint::Enum(_) => {
                        format!("You specified an invalid value for {}.", v.path)
                    }
                    other => format!("Invalid value for {}: {}.", v.path, other.describe()),
                },
                None => String::from(
                    "The requested operation failed because you provided invalid values.",
                ),
            };
            ApiError::new(
                ErrorShape {
                    code: "InvalidInputException",
                    status: 400,
                    sender_fault: true,
                    message_key: "Message",
                },
                message,
            )
            .with("Reason", reason)
        }
    }
}

/// A type mismatch as the protocol reports it.
pub fn mismatch_to_error(protocol: Protocol, m: &TypeMismatch) -> ApiError {
    let what = if m.path.is_empty() {
        String::from("input")
    } else {
        format!("'{}'", m.path)
    };
    CommonError::Serialization(format!("Expected {} at {what}", m.expected)).to_api_error(protocol)
}
