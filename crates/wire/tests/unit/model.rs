//! Model lookups and pattern compilation.

use crate::fixture::{JSON, QUERY};
use cairn_wire::model::{Shape, java_to_rust_regex};

#[test]
fn java_to_rust_regex_rewrites_surrogate_ranges_only() {
    assert_eq!(
        java_to_rust_regex("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF]+"),
        "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\x{10000}-\\x{10FFFF}]+"
    );
    // Every occurrence.
    assert_eq!(
        java_to_rust_regex("[\\uD800\\uDC00-\\uDBFF\\uDFFF]|[\\uD800\\uDC00-\\uDBFF\\uDFFF]"),
        "[\\x{10000}-\\x{10FFFF}]|[\\x{10000}-\\x{10FFFF}]"
    );
    for p in ["[\\w+=,.@-]+", "^\\d{12}$", "", "\\uD800"] {
        assert_eq!(java_to_rust_regex(p), p);
    }
    // The raw Java form is not valid for the regex crate; the rewrite is.
    let java = String::from("[\\uD800\\uDC00-\\uDBFF\\uDFFF]");
    assert!(regex::Regex::new(&java).is_err());
    assert!(regex::Regex::new(&java_to_rust_regex(&java)).is_ok());
}

#[test]
fn compiled_patterns_match_whole_values() {
    let lower = JSON.pattern(0).unwrap();
    assert!(lower.is_match("abc"));
    assert!(!lower.is_match("abc1"));
    assert!(!lower.is_match("1abc"));
    assert!(!lower.is_match(""));
    let digits = JSON.pattern(1).unwrap();
    assert!(digits.is_match("123456789012"));
    assert!(!digits.is_match("1234567890123"));
    let astral = JSON.pattern(2).unwrap();
    assert!(astral.is_match("😀𝄞"));
    assert!(!astral.is_match("😀a"));
    // Look-around is not expressible: not enforced.
    assert!(JSON.pattern(3).is_none());
    assert!(JSON.pattern(4).is_none());
    // Each model compiles its own table.
    assert!(QUERY.pattern(0).unwrap().is_match("z"));
}

#[test]
fn alternations_are_anchored_as_a_whole() {
    // IAM's path pattern: `/` or `/…/`.
    let re = regex::Regex::new(&format!(
        "^(?:{})$",
        java_to_rust_regex("(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)")
    ))
    .unwrap();
    assert!(re.is_match("/"));
    assert!(re.is_match("/a/b/"));
    assert!(!re.is_match("a/"));
    assert!(!re.is_match("/a"));
}

#[test]
fn shape_and_operation_lookup() {
    assert!(matches!(JSON.shape(0), Some(Shape::Structure(s)) if s.name == "TestInput"));
    assert!(JSON.shape(999).is_none());
    let op = JSON.operation("DoThing").unwrap();
    assert_eq!(op.result_wrapper, Some("DoThingResult"));
    assert!(JSON.operation("Ping").unwrap().no_auth);
    assert!(JSON.operation("doThing").is_none());
    assert!(JSON.operation("").is_none());
    assert!(JSON.operation("Zzz").is_none());
}

#[test]
fn structure_member_lookup_and_wire_names() {
    let Some(Shape::Structure(st)) = JSON.shape(0) else {
        panic!("structure");
    };
    let renamed = st.member("Renamed").unwrap();
    assert_eq!(renamed.wire_name(), "Alias");
    assert_eq!(st.member("Name").unwrap().wire_name(), "Name");
    assert!(st.member("Name").unwrap().required);
    assert!(st.member("Alias").is_none());
    assert!(st.member("name").is_none());
}
