//! awsQuery form parameters → awsJson document.

use crate::fixture::{INPUT, QUERY, TAG_LIST};
use cairn_wire::query::{params_to_value, parse_form};
use cairn_wire::validate::{TypeMismatch, mismatch_to_error};
use serde_json::{Value, json};

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn doc(list: &[(&str, &str)]) -> Value {
    params_to_value(&QUERY, INPUT, &pairs(list)).expect("converts")
}

fn fails(list: &[(&str, &str)]) -> TypeMismatch {
    params_to_value(&QUERY, INPUT, &pairs(list)).expect_err("mismatch")
}

#[test]
fn parse_form_decodes_percent_and_plus() {
    assert_eq!(
        parse_form(b"Action=DoThing&Name=a%20b+c&Empty=&Flag&Tags.member.1.Key=k%3D1"),
        pairs(&[
            ("Action", "DoThing"),
            ("Name", "a b c"),
            ("Empty", ""),
            ("Flag", ""),
            ("Tags.member.1.Key", "k=1"),
        ])
    );
    assert!(parse_form(b"").is_empty());
}

#[test]
fn action_version_and_unknown_params_are_ignored() {
    assert_eq!(
        doc(&[
            ("Action", "DoThing"),
            ("Version", "2020-01-01"),
            ("Name", "abc"),
            ("Unknown", "x"),
            ("Nested.Bogus", "y"),
            ("name", "lower-case is another parameter"),
        ]),
        json!({"Name": "abc", "Nested": {}})
    );
    assert_eq!(doc(&[]), json!({}));
    // A list mentioned only through an unknown sub-key is present and empty.
    assert_eq!(doc(&[("Tags.bogus.1", "y")]), json!({"Tags": []}));
}

#[test]
fn scalars() {
    assert_eq!(
        doc(&[
            ("Name", "abc"),
            ("Count", " 7 "),
            ("Big", "-9007199254740993"),
            ("Ratio", "1.25"),
            ("Enabled", "true"),
            ("Data", "AAEC"),
            ("Doc", "{}"),
        ]),
        json!({
            "Name": "abc",
            "Count": 7,
            "Big": -9_007_199_254_740_993_i64,
            "Ratio": 1.25,
            "Enabled": true,
            "Data": "AAEC",
            "Doc": "{}",
        })
    );
    assert_eq!(doc(&[("Enabled", "false")]), json!({"Enabled": false}));
    // Empty string values stay strings.
    assert_eq!(doc(&[("Name", "")]), json!({"Name": ""}));
}

#[test]
fn member_order_follows_the_model_not_the_request() {
    let v = doc(&[("Enabled", "true"), ("Count", "1"), ("Name", "n")]);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Name", "Count", "Enabled"]);
}

#[test]
fn timestamps_become_epoch_seconds() {
    assert_eq!(
        doc(&[("When", "2024-02-03T04:05:06Z")]),
        json!({"When": 1_706_933_106})
    );
    assert_eq!(
        doc(&[("When", "2024-02-03T04:05:06.5Z")]),
        json!({"When": 1_706_933_106.5})
    );
    assert_eq!(
        doc(&[("When", "2024-02-03T05:05:06+01:00")]),
        json!({"When": 1_706_933_106})
    );
    assert_eq!(
        doc(&[("When", "1706933106")]),
        json!({"When": 1_706_933_106})
    );
}

#[test]
fn bad_scalars_are_mismatches() {
    let cases: &[(&str, &str, &str)] = &[
        ("Count", "seven", "integer"),
        ("Count", "1.5", "integer"),
        ("Count", "", "integer"),
        ("Big", "99999999999999999999", "integer"),
        ("Ratio", "abc", "number"),
        ("Ratio", "NaN", "number"),
        ("Enabled", "yes", "boolean"),
        ("Enabled", "True", "boolean"),
        ("Enabled", "", "boolean"),
        ("When", "not a time", "timestamp"),
        ("When", "", "timestamp"),
    ];
    for (k, v, expected) in cases {
        assert_eq!(
            fails(&[(k, v)]),
            TypeMismatch {
                path: (*k).to_owned(),
                expected
            },
            "{k}={v}"
        );
    }
}

#[test]
fn bad_integer_is_malformed_query_string() {
    let e = mismatch_to_error(cairn_wire::Protocol::Query, &fails(&[("Count", "x")]));
    assert_eq!(e.code, "MalformedQueryString");
    assert_eq!(e.status, 400);
    assert_eq!(e.message, "Expected integer at 'Count'");
}

#[test]
fn lists_are_sorted_numerically() {
    let mut params = Vec::new();
    for i in [10, 2, 1, 12, 3, 11, 4, 5, 6, 7, 8, 9] {
        params.push((format!("Tags.member.{i}.Key"), format!("k{i}")));
    }
    let v = params_to_value(&QUERY, INPUT, &params).unwrap();
    let keys: Vec<&str> = v["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12"
        ]
    );
}

#[test]
fn list_gaps_are_closed_and_non_positive_or_non_numeric_indexes_dropped() {
    assert_eq!(
        doc(&[
            ("Tags.member.7.Key", "c"),
            ("Tags.member.3.Key", "b"),
            ("Tags.member.0.Key", "zero"),
            ("Tags.member.x.Key", "x"),
            ("Tags.member.-1.Key", "neg"),
            ("Tags.member.1.Key", "a"),
        ]),
        json!({"Tags": [{"Key": "a"}, {"Key": "b"}, {"Key": "c"}]})
    );
}

#[test]
fn list_items_with_several_members() {
    assert_eq!(
        doc(&[
            ("Tags.member.1.Key", "k1"),
            ("Tags.member.2.Value", "v2"),
            ("Tags.member.1.Value", "v1"),
            ("Tags.member.2.Key", "k2"),
        ]),
        json!({"Tags": [{"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": "v2"}]})
    );
}

#[test]
fn empty_list() {
    // `Tags=` is how awsQuery clients send an empty list.
    assert_eq!(doc(&[("Tags", "")]), json!({"Tags": []}));
    assert_eq!(doc(&[("Ids", "")]), json!({"Ids": []}));
    assert_eq!(doc(&[("Item", "")]), json!({"Items": []}));
}

#[test]
fn list_with_member_location_name() {
    assert_eq!(
        doc(&[
            ("Ids.Id.2", "b"),
            ("Ids.Id.1", "a"),
            ("Ids.member.3", "ignored")
        ]),
        json!({"Ids": ["a", "b"]})
    );
}

#[test]
fn flattened_list_uses_the_member_location_name_directly() {
    assert_eq!(
        doc(&[
            ("Item.2", "b"),
            ("Item.10", "j"),
            ("Item.1", "a"),
            ("Items.1", "ignored")
        ]),
        json!({"Items": ["a", "b", "j"]})
    );
}

#[test]
fn location_name_renames_the_parameter() {
    assert_eq!(doc(&[("Alias", "x")]), json!({"Renamed": "x"}));
    assert_eq!(doc(&[("Renamed", "x")]), json!({}));
}

#[test]
fn maps() {
    assert_eq!(
        doc(&[
            ("Attributes.entry.2.key", "b"),
            ("Attributes.entry.2.value", "2"),
            ("Attributes.entry.1.key", "a"),
            ("Attributes.entry.1.value", "1"),
            ("Attributes.entry.3.key", "novalue"),
        ]),
        json!({"Attributes": {"a": "1", "b": "2", "novalue": null}})
    );
    // Order follows the entry index.
    let v = doc(&[
        ("Attributes.entry.10.key", "z"),
        ("Attributes.entry.10.value", "last"),
        ("Attributes.entry.9.key", "y"),
        ("Attributes.entry.9.value", "first"),
    ]);
    let keys: Vec<&String> = v["Attributes"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["y", "z"]);
    assert_eq!(doc(&[("Attributes", "")]), json!({"Attributes": {}}));
    // An entry without a key cannot be placed.
    assert_eq!(
        fails(&[("Attributes.entry.1.value", "v")]),
        TypeMismatch {
            path: String::from("Attributes"),
            expected: "map entry key"
        }
    );
}

#[test]
fn nested_structures() {
    assert_eq!(
        doc(&[
            ("Nested.Leaf", "l1"),
            ("Nested.Deep.Leaf", "l2"),
            ("Nested.Deep.Deep.Leaf", "l3"),
        ]),
        json!({"Nested": {"Leaf": "l1", "Deep": {"Leaf": "l2", "Deep": {"Leaf": "l3"}}}})
    );
}

#[test]
fn nested_mismatch_paths() {
    assert_eq!(
        fails(&[
            ("Tags.member.1.Key", "k"),
            ("Nested.Deep.Leaf", "x"),
            ("Count", "z")
        ])
        .path,
        "Count"
    );
    // A list shape converts on its own too.
    let e = params_to_value(&QUERY, TAG_LIST, &pairs(&[("member.1.Key", "k")])).unwrap();
    assert_eq!(e, json!([{"Key": "k"}]));
}
