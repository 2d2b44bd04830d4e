//! CloudTrail `requestParameters` / `responseElements` rendering.

use crate::fixture::{INPUT, JSON, OUTPUT, PLAIN, SECRET_STRUCT, TAG_LIST};
use cairn_wire::trail::{HIDDEN, lower_first, to_trail_document};
use serde_json::json;

#[test]
fn lower_first_names() {
    assert_eq!(lower_first("CreateOrganization"), "createOrganization");
    assert_eq!(lower_first("Name"), "name");
    assert_eq!(lower_first("name"), "name");
    assert_eq!(lower_first("ARN"), "aRN");
    assert_eq!(lower_first("A"), "a");
    assert_eq!(lower_first(""), "");
    assert_eq!(lower_first("Ärger"), "ärger");
    assert_eq!(lower_first("1st"), "1st");
}

#[test]
fn members_lower_first_nested_and_in_lists() {
    let doc = json!({
        "Name": "n",
        "Tags": [{"Key": "k", "Value": "v"}],
        "Nested": {"Leaf": "l", "Deep": {"Leaf": "d"}},
        "Renamed": "r",
        "Count": 3,
        "Enabled": false,
        "When": 1_700_000_000,
        "Items": ["a"],
        "Doc": {"Free": {"Form": 1}}
    });
    assert_eq!(
        to_trail_document(&JSON, INPUT, &doc),
        Some(json!({
            "name": "n",
            "count": 3,
            "tags": [{"key": "k", "value": "v"}],
            "nested": {"leaf": "l", "deep": {"leaf": "d"}},
            "when": 1_700_000_000,
            "enabled": false,
            "renamed": "r",
            "items": ["a"],
            "doc": {"Free": {"Form": 1}}
        }))
    );
}

#[test]
fn key_order_follows_the_model() {
    let doc = json!({"Enabled": true, "Name": "n"});
    let out = to_trail_document(&JSON, INPUT, &doc).unwrap();
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["name", "enabled"]);
}

#[test]
fn sensitive_values_are_hidden() {
    let doc = json!({
        "Name": "n",
        "Secret": "s3cr3t-value",
        "Password": "pw",
        "Hidden": {"Token": "t", "Blob": "AAAA"}
    });
    assert_eq!(
        to_trail_document(&JSON, INPUT, &doc),
        Some(json!({
            "name": "n",
            "secret": HIDDEN,
            "password": HIDDEN,
            "hidden": HIDDEN
        }))
    );
    assert_eq!(HIDDEN, "HIDDEN_DUE_TO_SECURITY_REASONS");
    // Whatever the JSON type of a sensitive value.
    assert_eq!(
        to_trail_document(&JSON, INPUT, &json!({"Password": 5, "Secret": ["x"]})),
        Some(json!({"secret": HIDDEN, "password": HIDDEN}))
    );
    // A sensitive shape on its own, and in a list of an output.
    assert_eq!(
        to_trail_document(&JSON, SECRET_STRUCT, &json!({"Token": "t"})),
        Some(json!(HIDDEN))
    );
    assert_eq!(
        to_trail_document(&JSON, OUTPUT, &json!({"Secret": "x", "Message": "m"})),
        Some(json!({"message": "m", "secret": HIDDEN}))
    );
}

#[test]
fn sensitive_list_items_and_map_values_are_hidden_keys_kept() {
    assert_eq!(
        to_trail_document(
            &JSON,
            OUTPUT,
            &json!({"Secrets": ["a", "b"], "SecretMap": {"KeyName": "v"}})
        ),
        Some(json!({"secrets": [HIDDEN, HIDDEN], "secretMap": {"KeyName": HIDDEN}}))
    );
}

#[test]
fn map_keys_unchanged_values_converted() {
    assert_eq!(
        to_trail_document(
            &JSON,
            OUTPUT,
            &json!({"Labels": {"CamelKey": "V", "lower": "v"}})
        ),
        Some(json!({"labels": {"CamelKey": "V", "lower": "v"}}))
    );
    assert_eq!(
        to_trail_document(&JSON, INPUT, &json!({"Attributes": {"Key": "x"}})),
        Some(json!({"attributes": {"Key": "x"}}))
    );
}

#[test]
fn empty_and_null_documents_are_none() {
    assert_eq!(to_trail_document(&JSON, INPUT, &json!({})), None);
    assert_eq!(to_trail_document(&JSON, INPUT, &json!(null)), None);
    // Members that are null or unknown do not count.
    assert_eq!(
        to_trail_document(&JSON, INPUT, &json!({"Name": null, "Bogus": 1})),
        None
    );
    // An empty list is a value.
    assert_eq!(
        to_trail_document(&JSON, INPUT, &json!({"Tags": []})),
        Some(json!({"tags": []}))
    );
    assert_eq!(
        to_trail_document(&JSON, TAG_LIST, &json!([])),
        Some(json!([]))
    );
}

#[test]
fn scalars_and_mismatched_types_pass_through() {
    assert_eq!(
        to_trail_document(&JSON, PLAIN, &json!("s")),
        Some(json!("s"))
    );
    assert_eq!(
        to_trail_document(
            &JSON,
            INPUT,
            &json!({"Nested": "not an object", "Tags": {"a": 1}})
        ),
        Some(json!({"tags": {"a": 1}, "nested": "not an object"}))
    );
    // An unknown shape id leaves the value alone.
    assert_eq!(
        to_trail_document(&JSON, 999, &json!({"A": 1})),
        Some(json!({"A": 1}))
    );
}
