//! The generated tables agree with the generated enums, and every model pattern the `regex`
//! crate cannot express is accounted for.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation panics"
)]

use cairn_api::*;

macro_rules! check_service {
    ($m:ident) => {{
        let model = &$m::MODEL;
        let names: Vec<&str> = model.operations.iter().map(|o| o.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(
            names, sorted,
            "{}: operations must be sorted for binary search",
            model.module
        );
        assert_eq!($m::Operation::ALL.len(), model.operations.len());
        for op in $m::Operation::ALL {
            assert_eq!(op.def().name, op.name());
            assert_eq!($m::Operation::from_name(op.name()), Some(op));
            assert!(std::ptr::eq(model.operation(op.name()).unwrap(), op.def()));
        }
        let unsupported: Vec<&str> = (0..model.patterns.len())
            .filter(|i| model.pattern(*i as u16).is_none())
            .map(|i| model.patterns[i])
            .collect();
        (model.module, unsupported)
    }};
}

#[test]
fn tables_match_enums_and_patterns_compile() {
    let results = vec![
        check_service!(cloudtrail),
        check_service!(cloudtrail_data),
        check_service!(iam),
        check_service!(identitystore),
        check_service!(organizations),
        check_service!(sso),
        check_service!(sso_admin),
        check_service!(sso_oidc),
        check_service!(sts),
    ];
    // Patterns the regex crate cannot express (look-around) are not enforced; the list is
    // pinned here so a model refresh that adds one is noticed.
    let known: &[(&str, &str)] = &[
        ("iam", "^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$"),
        // ISO 8601 durations (permission-set SessionDuration): checked by the handler instead.
        (
            "sso_admin",
            "(-?)P(?=\\d|T\\d)(?:(\\d+)Y)?(?:(\\d+)M)?(?:(\\d+)([DW]))?(?:T(?:(\\d+)H)?(?:(\\d+)M)?(?:(\\d+(?:\\.\\d+)?)S)?)?",
        ),
    ];
    for (module, unsupported) in &results {
        let unknown: Vec<&&str> = unsupported
            .iter()
            .filter(|p| !known.contains(&(module, p)))
            .collect();
        assert!(
            unknown.is_empty(),
            "{module}: patterns not enforced: {unknown:?}"
        );
    }
}
