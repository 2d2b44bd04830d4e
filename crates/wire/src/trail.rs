//! Shape-guided conversion of a request or response document into CloudTrail's
//! `requestParameters` / `responseElements` form: member names with the first letter
//! lower-cased, sensitive values replaced by `HIDDEN_DUE_TO_SECURITY_REASONS`.

use crate::model::{ServiceModel, Shape, ShapeId};
use serde_json::{Map, Value};

pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// `CreateOrganization` → `createOrganization`: member names as CloudTrail and Coral
/// validation messages write them.
pub fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `None` when the document has no members (CloudTrail writes `null` then).
pub fn to_trail_document(model: &ServiceModel, shape: ShapeId, value: &Value) -> Option<Value> {
    let out = convert(model, shape, value, false);
    match &out {
        Value::Object(m) if m.is_empty() => None,
        Value::Null => None,
        _ => Some(out),
    }
}

fn convert(model: &ServiceModel, id: ShapeId, value: &Value, sensitive: bool) -> Value {
    if sensitive {
        return Value::String(HIDDEN.to_owned());
    }
    let Some(shape) = model.shape(id) else {
        return value.clone();
    };
    match (shape, value) {
        (Shape::String(s), _) if s.sensitive => Value::String(HIDDEN.to_owned()),
        (Shape::Blob(b), _) if b.sensitive => Value::String(HIDDEN.to_owned()),
        (Shape::Structure(st), Value::Object(fields)) => {
            if st.sensitive {
                return Value::String(HIDDEN.to_owned());
            }
            let mut out = Map::new();
            for member in st.members {
                if let Some(v) = fields.get(member.name) {
                    if v.is_null() {
                        continue;
                    }
                    out.insert(
                        lower_first(member.name),
                        convert(model, member.shape, v, member.sensitive),
                    );
                }
            }
            Value::Object(out)
        }
        (Shape::List(l), Value::Array(items)) => Value::Array(
            items
                .iter()
                .map(|v| convert(model, l.member, v, false))
                .collect(),
        ),
        (Shape::Map(m), Value::Object(entries)) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), convert(model, m.value, v, false)))
                .collect(),
        ),
        _ => value.clone(),
    }
}
