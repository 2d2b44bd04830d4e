//! Model-driven validation and the error each style renders.

use crate::fixture::{INNER, INPUT, JSON, ORGS, QUERY, TAG};
use cairn_wire::ServiceModel;
use cairn_wire::model::Protocol;
use cairn_wire::validate::{
    Constraint, TypeMismatch, Violation, mismatch_to_error, validate, violations_to_error,
};
use serde_json::{Value, json};

fn violations(doc: Value) -> Vec<Violation> {
    validate(&JSON, INPUT, &doc).expect("no type mismatch")
}

/// The error `model` reports for `doc`, which must be invalid.
fn error_for(model: &ServiceModel, doc: Value) -> cairn_wire::ApiError {
    let v = validate(model, INPUT, &doc).expect("no type mismatch");
    assert!(!v.is_empty(), "expected violations for {doc}");
    violations_to_error(model.validation, model.protocol, &v)
}

fn message(doc: Value) -> String {
    error_for(&JSON, doc).message
}

fn mismatch(doc: Value) -> TypeMismatch {
    validate(&JSON, INPUT, &doc).expect_err("type mismatch")
}

#[test]
fn valid_document_has_no_violations() {
    let doc = json!({
        "Name": "abc",
        "Mode": "BETA",
        "Count": 10,
        "Tags": [{"Key": "k", "Value": "anything at all"}, {"Key": "kkkk"}],
        "Attributes": {"a": "b"},
        "Nested": {"Leaf": "xy", "Deep": {"Leaf": "zz"}},
        "When": 1_700_000_000,
        "Data": "AAEC",
        "Secret": "12345678",
        "Enabled": false,
        "Renamed": "r",
        "Items": ["a", "b"],
        "Ratio": 2.5,
        "Big": 9_007_199_254_740_993_i64,
        "Password": "pw",
        "Ids": [],
        "Doc": {"free": ["form", 1, null]},
        "Lookaround": "anything",
        "Hidden": {"Token": "abc"},
        "AccountId": "123456789012"
    });
    assert_eq!(violations(doc), vec![]);
}

#[test]
fn unknown_members_and_nulls_in_optional_members_are_ignored() {
    assert!(violations(json!({"Name": "a", "Bogus": 1, "Mode": null, "Tags": null})).is_empty());
}

#[test]
fn required_member_missing_or_null() {
    for doc in [json!({}), json!({"Name": null})] {
        assert_eq!(
            violations(doc.clone()),
            vec![Violation {
                path: String::from("name"),
                value: String::from("null"),
                constraint: Constraint::Required,
                sensitive: false,
            }]
        );
        assert_eq!(
            message(doc),
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: \
             Member must not be null"
        );
    }
}

#[test]
fn min_length() {
    assert_eq!(
        message(json!({"Name": "a", "Nested": {"Leaf": "x"}})),
        "1 validation error detected: Value 'x' at 'nested.leaf' failed to satisfy \
         constraint: Member must have length greater than or equal to 2"
    );
    // An empty value also fails a `+` pattern: both are reported.
    assert_eq!(
        message(json!({"Name": ""})),
        "2 validation errors detected: Value '' at 'name' failed to satisfy constraint: \
         Member must have length greater than or equal to 1; Value '' at 'name' failed to \
         satisfy constraint: Member must satisfy regular expression pattern: [a-z]+"
    );
}

#[test]
fn max_length_counts_characters_not_bytes() {
    // Tag keys allow four: four two-byte characters fit.
    assert!(violations(json!({"Name": "a", "Tags": [{"Key": "éééé"}]})).is_empty());
    assert_eq!(
        message(json!({"Name": "abcdefghi"})),
        "1 validation error detected: Value 'abcdefghi' at 'name' failed to satisfy \
         constraint: Member must have length less than or equal to 8"
    );
}

#[test]
fn pattern_must_match_the_whole_value() {
    assert_eq!(
        message(json!({"Name": "ABC"})),
        "1 validation error detected: Value 'ABC' at 'name' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: [a-z]+"
    );
    // AWS matches the whole value against the (unanchored) model pattern: a valid prefix or
    // substring is not enough.
    assert_eq!(
        message(json!({"Name": "abc!"})),
        "1 validation error detected: Value 'abc!' at 'name' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: [a-z]+"
    );
    assert_eq!(violations(json!({"Name": "Xab"})).len(), 1);
    // Already-anchored patterns behave the same.
    assert!(violations(json!({"Name": "a", "AccountId": "000000000000"})).is_empty());
    assert_eq!(
        violations(json!({"Name": "a", "AccountId": "12345678901"}))[0].constraint,
        Constraint::Pattern("^\\d{12}$")
    );
}

#[test]
fn inexpressible_pattern_is_not_enforced() {
    assert!(JSON.pattern(3).is_none());
    assert!(violations(json!({"Name": "a", "Lookaround": "zzz"})).is_empty());
}

#[test]
fn enum_value_set() {
    assert_eq!(
        message(json!({"Name": "a", "Mode": "alpha"})),
        "1 validation error detected: Value 'alpha' at 'mode' failed to satisfy constraint: \
         Member must satisfy enum value set: [ALPHA, BETA]"
    );
}

#[test]
fn integer_range() {
    assert_eq!(
        message(json!({"Name": "a", "Count": 0})),
        "1 validation error detected: Value '0' at 'count' failed to satisfy constraint: \
         Member must have value greater than or equal to 1"
    );
    assert_eq!(
        message(json!({"Name": "a", "Count": 11})),
        "1 validation error detected: Value '11' at 'count' failed to satisfy constraint: \
         Member must have value less than or equal to 10"
    );
    assert!(violations(json!({"Name": "a", "Count": 1})).is_empty());
    assert_eq!(violations(json!({"Name": "a", "Count": -5}))[0].value, "-5");
}

#[test]
fn fractional_range_bounds_are_printed_as_such() {
    assert_eq!(
        message(json!({"Name": "a", "Ratio": 0.25})),
        "1 validation error detected: Value '0.25' at 'ratio' failed to satisfy constraint: \
         Member must have value greater than or equal to 0.5"
    );
    assert_eq!(
        violations(json!({"Name": "a", "Ratio": 3}))[0].constraint,
        Constraint::MaxValue(2.5)
    );
}

#[test]
fn list_length() {
    assert_eq!(
        message(json!({"Name": "a", "Tags": []})),
        "1 validation error detected: Value '[]' at 'tags' failed to satisfy constraint: \
         Member must have length greater than or equal to 1"
    );
    let v = violations(
        json!({"Name": "a", "Tags": [{"Key": "a"}, {"Key": "b"}, {"Key": "c"}, {"Key": "d"}]}),
    );
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].path, "tags");
    assert_eq!(v[0].constraint, Constraint::MaxLength(3));
}

#[test]
fn map_length_keys_and_values() {
    let v = violations(json!({"Name": "a", "Attributes": {}}));
    assert_eq!(v.len(), 1);
    assert_eq!(
        (v[0].path.as_str(), &v[0].constraint),
        ("attributes", &Constraint::MinLength(1))
    );
    let v = violations(json!({"Name": "a", "Attributes": {"a": "1", "b": "2", "c": "3"}}));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].constraint, Constraint::MaxLength(2));
    let v = violations(json!({"Name": "a", "Attributes": {"toolong": "1"}}));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].path, "attributes.key");
    assert_eq!(v[0].value, "toolong");
    assert_eq!(v[0].constraint, Constraint::MaxLength(5));
    let v = violations(json!({"Name": "a", "Attributes": {"k": "12345"}}));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].path, "attributes.k.value");
    assert_eq!(v[0].constraint, Constraint::MaxLength(4));
    // A null map value is skipped.
    assert!(violations(json!({"Name": "a", "Attributes": {"k": null}})).is_empty());
}

#[test]
fn blob_length_is_decoded_bytes() {
    // "AAAAAA==" is 4 bytes: at the limit.
    assert!(violations(json!({"Name": "a", "Data": "AAAAAA=="})).is_empty());
    let v = violations(json!({"Name": "a", "Data": "AAAAAAA="}));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].constraint, Constraint::MaxLength(4));
    assert_eq!(
        violations(json!({"Name": "a", "Data": ""}))[0].constraint,
        Constraint::MinLength(1)
    );
}

#[test]
fn nested_paths_use_lower_camel_names_and_member_markers() {
    assert_eq!(
        message(json!({"Name": "a", "Tags": [{"Key": "ok"}, {"Value": "v"}]})),
        "1 validation error detected: Value null at 'tags.2.member.key' failed to satisfy \
         constraint: Member must not be null"
    );
    assert_eq!(
        message(json!({"Name": "a", "Tags": [{"Key": "toolong"}]})),
        "1 validation error detected: Value 'toolong' at 'tags.1.member.key' failed to \
         satisfy constraint: Member must have length less than or equal to 4"
    );
    let v = violations(json!({"Name": "a", "Nested": {"Leaf": "x", "Deep": {"Deep": {}}}}));
    let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(
        paths,
        ["nested.leaf", "nested.deep.leaf", "nested.deep.deep.leaf"]
    );
    // Null list items are skipped.
    assert!(violations(json!({"Name": "a", "Tags": [null, {"Key": "k"}]})).is_empty());
}

#[test]
fn nested_structure_validated_from_its_own_shape() {
    let v = validate(&JSON, INNER, &json!({})).unwrap();
    assert_eq!(v[0].path, "leaf");
    let v = validate(&JSON, TAG, &json!({"Key": ""})).unwrap();
    assert_eq!(v[0].path, "key");
}

#[test]
fn several_violations_are_plural_in_model_order_and_joined() {
    assert_eq!(
        message(json!({"Mode": "X", "Count": 99})),
        "3 validation errors detected: \
         Value null at 'name' failed to satisfy constraint: Member must not be null; \
         Value 'X' at 'mode' failed to satisfy constraint: Member must satisfy enum value set: [ALPHA, BETA]; \
         Value '99' at 'count' failed to satisfy constraint: Member must have value less than or equal to 10"
    );
    // One value may break several constraints: length, then pattern.
    assert_eq!(
        message(json!({"Name": "ABCDEFGHIJ"})),
        "2 validation errors detected: \
         Value 'ABCDEFGHIJ' at 'name' failed to satisfy constraint: Member must have length less than or equal to 8; \
         Value 'ABCDEFGHIJ' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z]+"
    );
}

#[test]
fn at_most_ten_violations_are_reported() {
    let tags: Vec<Value> = (0..3).map(|_| json!({"Key": "toolong"})).collect();
    let attrs: serde_json::Map<String, Value> = (0..2)
        .map(|i| (format!("long-key-{i}"), json!("too long value")))
        .collect();
    let doc = json!({
        "Mode": "X", "Count": 0, "Tags": tags, "Attributes": attrs,
        "Nested": {}, "Data": "", "Secret": "s", "Ratio": 9, "Password": "toolong"
    });
    let v = violations(doc.clone());
    assert_eq!(v.len(), 10);
    let msg = message(doc);
    assert!(msg.starts_with("10 validation errors detected: "), "{msg}");
    assert_eq!(msg.matches("failed to satisfy constraint").count(), 10);
}

#[test]
fn sensitive_values_are_hidden_in_messages() {
    // Sensitive shape.
    let v = violations(json!({"Name": "a", "Secret": "short"}));
    assert!(v[0].sensitive);
    assert_eq!(
        message(json!({"Name": "a", "Secret": "short"})),
        "1 validation error detected: Value 'HIDDEN_DUE_TO_SECURITY_REASONS' at 'secret' \
         failed to satisfy constraint: Member must have length greater than or equal to 8"
    );
    // Sensitive member of a non-sensitive shape.
    assert_eq!(
        message(json!({"Name": "a", "Password": "hunter2"})),
        "1 validation error detected: Value 'HIDDEN_DUE_TO_SECURITY_REASONS' at 'password' \
         failed to satisfy constraint: Member must have length less than or equal to 4"
    );
    // Inside a sensitive structure.
    let msg = message(json!({"Name": "a", "Hidden": {"Token": "NOTLOWER"}}));
    assert!(!msg.contains("NOTLOWER"), "{msg}");
    assert!(msg.contains("at 'hidden.token'"), "{msg}");
    // A non-sensitive value next to it is still shown.
    let msg = message(json!({"Name": "a!", "Secret": "short"}));
    assert!(msg.contains("Value 'a!' at 'name'"), "{msg}");
}

#[test]
fn coral_error_code_status_and_message_key() {
    let e = error_for(&JSON, json!({}));
    assert_eq!(e.code, "ValidationException");
    assert_eq!(e.status, 400);
    assert!(e.sender_fault);
    assert_eq!(e.message_key, "message");
    assert!(e.fields.is_empty());
    let e = error_for(&QUERY, json!({}));
    assert_eq!(e.code, "ValidationError");
    assert_eq!(e.status, 400);
}

#[test]
fn organizations_style_reasons_and_messages() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({}),
            "INPUT_REQUIRED",
            "You must specify a value for name.",
        ),
        (
            json!({"Name": "ABC"}),
            "INVALID_PATTERN",
            "You provided a value that does not match the required pattern for name.",
        ),
        (
            json!({"Name": "a", "Mode": "x"}),
            "INVALID_ENUM",
            "You specified an invalid value for mode.",
        ),
        (
            json!({"Name": ""}),
            "MIN_LENGTH_EXCEEDED",
            "Invalid value for name: Member must have length greater than or equal to 1.",
        ),
        (
            json!({"Name": "a", "Tags": [{"Key": "toolong"}]}),
            "MAX_LENGTH_EXCEEDED",
            "Invalid value for tags.1.member.key: Member must have length less than or equal to 4.",
        ),
        (
            json!({"Name": "a", "Count": 0}),
            "MIN_VALUE_EXCEEDED",
            "Invalid value for count: Member must have value greater than or equal to 1.",
        ),
        (
            json!({"Name": "a", "Count": 11}),
            "MAX_VALUE_EXCEEDED",
            "Invalid value for count: Member must have value less than or equal to 10.",
        ),
    ];
    for (doc, reason, msg) in cases {
        let e = error_for(&ORGS, doc);
        assert_eq!(e.code, "InvalidInputException");
        assert_eq!(e.status, 400);
        assert!(e.sender_fault);
        assert_eq!(e.message_key, "Message");
        assert_eq!(e.message, msg);
        assert_eq!(e.field("Reason"), Some(&json!(reason)));
        assert_eq!(e.fields.len(), 1);
    }
}

#[test]
fn organizations_reports_the_first_violation_only() {
    let e = error_for(&ORGS, json!({"Mode": "x"}));
    assert_eq!(e.field("Reason"), Some(&json!("INPUT_REQUIRED")));
    assert_eq!(e.message, "You must specify a value for name.");
}

#[test]
fn organizations_with_no_violation_is_generic() {
    let e = violations_to_error(ORGS.validation, Protocol::Json, &[]);
    assert_eq!(e.code, "InvalidInputException");
    assert_eq!(e.field("Reason"), Some(&json!("INVALID_INPUT")));
    assert_eq!(
        e.message,
        "The requested operation failed because you provided invalid values."
    );
}

#[test]
fn constraint_descriptions() {
    let cases = [
        (
            Constraint::Required,
            "Member must not be null",
            "INPUT_REQUIRED",
        ),
        (
            Constraint::MinLength(3),
            "Member must have length greater than or equal to 3",
            "MIN_LENGTH_EXCEEDED",
        ),
        (
            Constraint::MaxLength(128),
            "Member must have length less than or equal to 128",
            "MAX_LENGTH_EXCEEDED",
        ),
        (
            Constraint::Pattern("[\\w+=,.@-]+"),
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
            "INVALID_PATTERN",
        ),
        (
            Constraint::Enum(&["ALL", "CONSOLIDATED_BILLING"]),
            "Member must satisfy enum value set: [ALL, CONSOLIDATED_BILLING]",
            "INVALID_ENUM",
        ),
        (
            Constraint::MinValue(900.0),
            "Member must have value greater than or equal to 900",
            "MIN_VALUE_EXCEEDED",
        ),
        (
            Constraint::MaxValue(43200.0),
            "Member must have value less than or equal to 43200",
            "MAX_VALUE_EXCEEDED",
        ),
        (
            Constraint::MinValue(-1.5),
            "Member must have value greater than or equal to -1.5",
            "MIN_VALUE_EXCEEDED",
        ),
        (
            Constraint::MaxValue(9_007_199_254_740_991.0),
            "Member must have value less than or equal to 9007199254740991",
            "MAX_VALUE_EXCEEDED",
        ),
    ];
    for (c, text, reason) in cases {
        assert_eq!(c.describe(), text);
        assert_eq!(c.organizations_reason(), reason);
    }
}

#[test]
fn type_mismatches() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"Name": 5}), "name", "string"),
        (json!({"Name": true}), "name", "string"),
        (json!({"Name": "a", "Count": "5"}), "count", "number"),
        (json!({"Name": "a", "Count": 1.5}), "count", "integer"),
        (
            json!({"Name": "a", "Count": 2_147_483_648_i64}),
            "count",
            "integer",
        ),
        (
            json!({"Name": "a", "Count": -2_147_483_649_i64}),
            "count",
            "integer",
        ),
        (json!({"Name": "a", "Big": 1.5}), "big", "integer"),
        (json!({"Name": "a", "Ratio": "1"}), "ratio", "number"),
        (
            json!({"Name": "a", "Enabled": "true"}),
            "enabled",
            "boolean",
        ),
        (json!({"Name": "a", "Enabled": 1}), "enabled", "boolean"),
        (json!({"Name": "a", "When": true}), "when", "timestamp"),
        (
            json!({"Name": "a", "When": "yesterday"}),
            "when",
            "timestamp",
        ),
        (json!({"Name": "a", "When": 1e14}), "when", "timestamp"),
        (json!({"Name": "a", "Data": 1}), "data", "base64 string"),
        (
            json!({"Name": "a", "Data": "not base64!"}),
            "data",
            "base64 string",
        ),
        (json!({"Name": "a", "Tags": {}}), "tags", "list"),
        (json!({"Name": "a", "Attributes": []}), "attributes", "map"),
        (json!({"Name": "a", "Nested": "x"}), "nested", "structure"),
        (
            json!({"Name": "a", "Tags": [{"Key": 1}]}),
            "tags.1.member.key",
            "string",
        ),
        (
            json!({"Name": "a", "Tags": ["k"]}),
            "tags.1.member",
            "structure",
        ),
        (
            json!({"Name": "a", "Attributes": {"k": 1}}),
            "attributes.k.value",
            "string",
        ),
        (
            json!({"Name": "a", "Nested": {"Leaf": "ab", "Deep": []}}),
            "nested.deep",
            "structure",
        ),
        (json!("top"), "", "structure"),
    ];
    for (doc, path, expected) in cases {
        assert_eq!(
            mismatch(doc.clone()),
            TypeMismatch {
                path: path.to_owned(),
                expected
            },
            "{doc}"
        );
    }
}

#[test]
fn accepted_scalar_forms() {
    // Timestamps: epoch seconds (integer or fractional) or ISO 8601 strings.
    for when in [
        json!(0),
        json!(1.5),
        json!(-86400),
        json!("2024-01-02T03:04:05Z"),
    ] {
        assert!(violations(json!({"Name": "a", "When": when})).is_empty());
    }
    // Integer bounds of i32 are accepted; Long takes anything integral.
    assert_eq!(
        violations(json!({"Name": "a", "Count": 2_147_483_647_i64})).len(),
        1
    );
    assert!(violations(json!({"Name": "a", "Big": u64::MAX})).is_empty());
    // Doubles take integers.
    assert!(violations(json!({"Name": "a", "Ratio": 1})).is_empty());
    // Documents take anything.
    for doc in [
        json!(1),
        json!("s"),
        json!([1]),
        json!(null),
        json!({"a": {}}),
    ] {
        assert!(violations(json!({"Name": "a", "Doc": doc})).is_empty());
    }
}

#[test]
fn a_type_mismatch_wins_over_earlier_violations() {
    // Validation stops at the first mismatch whatever was collected before.
    assert_eq!(
        mismatch(json!({"Count": 0, "Enabled": "yes"})),
        TypeMismatch {
            path: String::from("enabled"),
            expected: "boolean"
        }
    );
}

#[test]
fn mismatch_errors_per_protocol() {
    let m = TypeMismatch {
        path: String::from("tags.1.member.key"),
        expected: "string",
    };
    let e = mismatch_to_error(Protocol::Json, &m);
    assert_eq!(e.code, "SerializationException");
    assert_eq!(e.status, 400);
    assert_eq!(e.message, "Expected string at 'tags.1.member.key'");
    let e = mismatch_to_error(Protocol::RestJson, &m);
    assert_eq!(e.code, "SerializationException");
    let e = mismatch_to_error(Protocol::Query, &m);
    assert_eq!(e.code, "MalformedQueryString");
    assert_eq!(e.status, 400);
    let top = TypeMismatch {
        path: String::new(),
        expected: "structure",
    };
    assert_eq!(
        mismatch_to_error(Protocol::Json, &top).message,
        "Expected structure at input"
    );
}
