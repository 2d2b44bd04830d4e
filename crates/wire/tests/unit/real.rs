//! The generated models of `cairn-api` through the wire layer.

use cairn_api::{iam, organizations, sts};
use cairn_wire::ServiceModel;
use cairn_wire::model::java_to_rust_regex;
use cairn_wire::query::{params_to_value, response_xml};
use cairn_wire::trail::to_trail_document;
use cairn_wire::validate::{mismatch_to_error, validate, violations_to_error};
use serde_json::{Value, json};

fn form(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn input_shape(model: &ServiceModel, op: &str) -> u16 {
    model.operation(op).unwrap().input.unwrap()
}

/// Query parameters → document → validation; `Err` carries the error message.
fn query_call(model: &ServiceModel, op: &str, params: &[(&str, &str)]) -> Result<Value, String> {
    let shape = input_shape(model, op);
    let doc = params_to_value(model, shape, &form(params))
        .map_err(|m| mismatch_to_error(model.protocol, &m).message)?;
    let v =
        validate(model, shape, &doc).map_err(|m| mismatch_to_error(model.protocol, &m).message)?;
    if v.is_empty() {
        Ok(doc)
    } else {
        Err(violations_to_error(model.validation, model.protocol, &v).message)
    }
}

#[test]
fn iam_create_user_with_tags() {
    let doc = query_call(
        &iam::MODEL,
        "CreateUser",
        &[
            ("Action", "CreateUser"),
            ("Version", "2010-05-08"),
            ("UserName", "alice"),
            ("Path", "/division_abc/"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "blue"),
            ("Tags.member.2.Key", "cost-center"),
            ("Tags.member.2.Value", ""),
        ],
    )
    .unwrap();
    assert_eq!(
        doc,
        json!({
            "Path": "/division_abc/",
            "Tags": [{"Key": "team", "Value": "blue"}, {"Key": "cost-center", "Value": ""}],
            "UserName": "alice"
        })
    );
    assert_eq!(
        to_trail_document(&iam::MODEL, input_shape(&iam::MODEL, "CreateUser"), &doc),
        Some(json!({
            "path": "/division_abc/",
            "tags": [{"key": "team", "value": "blue"}, {"key": "cost-center", "value": ""}],
            "userName": "alice"
        }))
    );
}

#[test]
fn iam_create_user_errors() {
    assert_eq!(
        query_call(&iam::MODEL, "CreateUser", &[]).unwrap_err(),
        "1 validation error detected: Value null at 'userName' failed to satisfy constraint: \
         Member must not be null"
    );
    assert_eq!(
        query_call(
            &iam::MODEL,
            "CreateUser",
            &[("UserName", "bob"), ("Tags.member.1.Value", "v")]
        )
        .unwrap_err(),
        "1 validation error detected: Value null at 'tags.1.member.key' failed to satisfy \
         constraint: Member must not be null"
    );
    assert_eq!(
        query_call(&iam::MODEL, "CreateUser", &[("UserName", "bad name!")]).unwrap_err(),
        "1 validation error detected: Value 'bad name!' at 'userName' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    );
    assert_eq!(
        query_call(
            &iam::MODEL,
            "CreateUser",
            &[("UserName", "bob"), ("Path", "nopath/")]
        )
        .unwrap_err(),
        "1 validation error detected: Value 'nopath/' at 'path' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: \
         (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
    );
    let long = "x".repeat(65);
    let msg = query_call(&iam::MODEL, "CreateUser", &[("UserName", &long)]).unwrap_err();
    assert!(
        msg.ends_with("Member must have length less than or equal to 64"),
        "{msg}"
    );
}

#[test]
fn sts_assume_role_policy_arns() {
    let arn1 = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    let arn2 = "arn:aws:iam::123456789012:policy/Mine";
    let mut params = vec![
        ("Action", "AssumeRole"),
        ("RoleArn", "arn:aws:iam::123456789012:role/demo"),
        ("RoleSessionName", "session-1"),
        ("DurationSeconds", "3600"),
        ("PolicyArns.member.2.arn", arn2),
        ("PolicyArns.member.1.arn", arn1),
    ];
    let doc = query_call(&sts::MODEL, "AssumeRole", &params).unwrap();
    assert_eq!(doc["PolicyArns"], json!([{"arn": arn1}, {"arn": arn2}]));
    assert_eq!(doc["DurationSeconds"], json!(3600));
    // CloudTrail keeps the already lower-case member name.
    let trail =
        to_trail_document(&sts::MODEL, input_shape(&sts::MODEL, "AssumeRole"), &doc).unwrap();
    assert_eq!(trail["policyArns"], json!([{"arn": arn1}, {"arn": arn2}]));
    assert_eq!(trail["roleSessionName"], json!("session-1"));

    params.push(("DurationSeconds", "60"));
    assert_eq!(
        query_call(&sts::MODEL, "AssumeRole", &params).unwrap_err(),
        "1 validation error detected: Value '60' at 'durationSeconds' failed to satisfy \
         constraint: Member must have value greater than or equal to 900"
    );
    assert_eq!(
        query_call(
            &sts::MODEL,
            "AssumeRole",
            &[
                ("RoleArn", "arn:aws:iam::123456789012:role/demo"),
                ("DurationSeconds", "1h")
            ]
        )
        .unwrap_err(),
        "Expected integer at 'DurationSeconds'"
    );
    assert_eq!(
        query_call(
            &sts::MODEL,
            "AssumeRole",
            &[
                ("RoleArn", "arn:aws:iam::123456789012:role/demo"),
                ("RoleSessionName", "has space")
            ]
        )
        .unwrap_err(),
        "1 validation error detected: Value 'has space' at 'roleSessionName' failed to \
         satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
    );
    assert_eq!(
        query_call(&sts::MODEL, "AssumeRole", &[]).unwrap_err(),
        "2 validation errors detected: \
         Value null at 'roleArn' failed to satisfy constraint: Member must not be null; \
         Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null"
    );
}

#[test]
fn sts_get_caller_identity_xml() {
    let op = sts::MODEL.operation("GetCallerIdentity").unwrap();
    let out = json!({
        "UserId": "AIDAEXAMPLE",
        "Account": "123456789012",
        "Arn": "arn:aws:iam::123456789012:user/alice"
    });
    assert_eq!(
        response_xml(
            &sts::MODEL,
            op.name,
            op.result_wrapper,
            op.output.map(|s| (s, &out)),
            "c6104cbe-af31-11e0-8154-cbc7ccf896c7"
        ),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <GetCallerIdentityResult>\
         <Account>123456789012</Account>\
         <Arn>arn:aws:iam::123456789012:user/alice</Arn>\
         <UserId>AIDAEXAMPLE</UserId>\
         </GetCallerIdentityResult>\
         <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\
         </ResponseMetadata></GetCallerIdentityResponse>"
    );
}

#[test]
fn sts_credentials_are_hidden_in_trail_and_expiration_is_iso_in_xml() {
    let op = sts::MODEL.operation("AssumeRole").unwrap();
    let out = json!({
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLE",
            "SecretAccessKey": "secret",
            "SessionToken": "token",
            "Expiration": 1_706_933_106
        },
        "AssumedRoleUser": {"AssumedRoleId": "AROAEXAMPLE:s", "Arn": "arn:aws:sts::123456789012:assumed-role/demo/s"}
    });
    let xml = response_xml(
        &sts::MODEL,
        op.name,
        op.result_wrapper,
        op.output.map(|s| (s, &out)),
        "r",
    );
    assert!(
        xml.contains("<Expiration>2024-02-03T04:05:06Z</Expiration>"),
        "{xml}"
    );
    assert!(
        xml.contains("<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><Expiration>"),
        "{xml}"
    );
    let trail = to_trail_document(&sts::MODEL, op.output.unwrap(), &out).unwrap();
    assert_eq!(trail["credentials"]["accessKeyId"], json!("ASIAEXAMPLE"));
    assert_eq!(
        trail["credentials"]["secretAccessKey"],
        json!("HIDDEN_DUE_TO_SECURITY_REASONS")
    );
    assert_eq!(trail["credentials"]["expiration"], json!(1_706_933_106));
}

#[test]
fn organizations_invalid_input() {
    let model = &organizations::MODEL;
    let shape = input_shape(model, "DescribeAccount");
    let check = |doc: Value| {
        let v = validate(model, shape, &doc).unwrap();
        violations_to_error(model.validation, model.protocol, &v)
    };
    let e = check(json!({}));
    assert_eq!(e.code, "InvalidInputException");
    assert_eq!(e.field("Reason"), Some(&json!("INPUT_REQUIRED")));
    assert_eq!(e.message_key, "Message");
    let e = check(json!({"AccountId": "abc"}));
    assert_eq!(e.field("Reason"), Some(&json!("INVALID_PATTERN")));
    assert!(
        validate(model, shape, &json!({"AccountId": "123456789012"}))
            .unwrap()
            .is_empty()
    );
    let m = validate(model, shape, &json!({"AccountId": 123_456_789_012_i64})).unwrap_err();
    let e = mismatch_to_error(model.protocol, &m);
    assert_eq!(e.code, "SerializationException");
    assert_eq!(e.message, "Expected string at 'accountId'");
    let create = input_shape(model, "CreateOrganization");
    let v = validate(model, create, &json!({"FeatureSet": "all"})).unwrap();
    let e = violations_to_error(model.validation, model.protocol, &v);
    assert_eq!(e.field("Reason"), Some(&json!("INVALID_ENUM")));
}

#[test]
fn every_real_pattern_compiles_anchored_or_is_known_unsupported() {
    for model in [
        &cairn_api::cloudtrail::MODEL,
        &cairn_api::cloudtrail_data::MODEL,
        &iam::MODEL,
        &cairn_api::identitystore::MODEL,
        &organizations::MODEL,
        &cairn_api::sso::MODEL,
        &cairn_api::sso_admin::MODEL,
        &cairn_api::sso_oidc::MODEL,
        &sts::MODEL,
    ] {
        for (i, p) in model.patterns.iter().enumerate() {
            let idx = u16::try_from(i).unwrap();
            // Anchoring never changes whether a pattern compiles.
            let plain = regex::Regex::new(&java_to_rust_regex(p)).is_ok();
            assert_eq!(model.pattern(idx).is_some(), plain, "{}: {p}", model.module);
            if !plain {
                assert!(
                    p.contains("(?!") || p.contains("(?="),
                    "{}: {p}",
                    model.module
                );
            }
        }
    }
}

#[test]
fn iam_create_user_xml_with_list_of_structures() {
    let op = iam::MODEL.operation("CreateUser").unwrap();
    let out = json!({
        "User": {
            "UserName": "alice",
            "UserId": "AIDAEXAMPLE",
            "Path": "/",
            "Arn": "arn:aws:iam::123456789012:user/alice",
            "CreateDate": 1_706_933_106,
            "Tags": [{"Key": "team", "Value": "R&D"}, {"Key": "k2", "Value": ""}]
        }
    });
    assert_eq!(
        response_xml(
            &iam::MODEL,
            op.name,
            op.result_wrapper,
            op.output.map(|s| (s, &out)),
            "rid"
        ),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <CreateUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
         <CreateUserResult><User>\
         <Arn>arn:aws:iam::123456789012:user/alice</Arn>\
         <CreateDate>2024-02-03T04:05:06Z</CreateDate>\
         <Path>/</Path>\
         <Tags><member><Key>team</Key><Value>R&amp;D</Value></member>\
         <member><Key>k2</Key><Value></Value></member></Tags>\
         <UserId>AIDAEXAMPLE</UserId>\
         <UserName>alice</UserName>\
         </User></CreateUserResult>\
         <ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></CreateUserResponse>"
    );
}
