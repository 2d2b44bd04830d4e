//! awsQuery XML responses and error bodies.

use crate::fixture::{OUTPUT, QUERY};
use cairn_wire::ApiError;
use cairn_wire::error::ErrorShape;
use cairn_wire::query::{error_xml, escape_into, response_xml};
use serde_json::{Value, json};

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const NS: &str = "https://test.amazonaws.com/doc/2020-01-01/";

fn respond(output: &Value) -> String {
    response_xml(
        &QUERY,
        "DoThing",
        Some("DoThingResult"),
        Some((OUTPUT, output)),
        "req-1",
    )
}

/// The body between `<DoThingResult>` and `</DoThingResult>`.
fn result(output: &Value) -> String {
    let xml = respond(output);
    let prefix = format!("{HEAD}<DoThingResponse xmlns=\"{NS}\"><DoThingResult>");
    let suffix = "</DoThingResult><ResponseMetadata><RequestId>req-1</RequestId>\
                  </ResponseMetadata></DoThingResponse>";
    assert!(xml.starts_with(&prefix), "{xml}");
    assert!(xml.ends_with(suffix), "{xml}");
    xml[prefix.len()..xml.len() - suffix.len()].to_owned()
}

#[test]
fn escaping() {
    let mut out = String::from("pre:");
    escape_into(&mut out, "a&b<c>\"d\" 'e'\r\n\tü😀");
    assert_eq!(
        out,
        "pre:a&amp;b&lt;c&gt;&quot;d&quot; &apos;e&apos;&#xD;\n\tü😀"
    );
    let mut out = String::new();
    escape_into(&mut out, "&amp;");
    assert_eq!(out, "&amp;amp;");
}

#[test]
fn full_output() {
    let output = json!({
        "Message": "a&b<c>\"d\" 'e'",
        "Items": ["x", "y"],
        "Labels": {"k1": "v1", "k&": "<v>"},
        "Created": 1_706_933_106,
        "Flag": true,
        "Num": 3,
        "Inner": {"Leaf": "l", "Deep": {"Leaf": "d"}},
        "Flats": ["f1", "f2"],
        "Renamed": "r",
        "Ids": ["i1"],
        "Ratio": 1.5,
        "Secret": "s3cr3t"
    });
    assert_eq!(
        result(&output),
        "<Message>a&amp;b&lt;c&gt;&quot;d&quot; &apos;e&apos;</Message>\
         <Items><member>x</member><member>y</member></Items>\
         <Labels><entry><key>k1</key><value>v1</value></entry>\
         <entry><key>k&amp;</key><value>&lt;v&gt;</value></entry></Labels>\
         <Created>2024-02-03T04:05:06Z</Created>\
         <Flag>true</Flag>\
         <Num>3</Num>\
         <Inner><Leaf>l</Leaf><Deep><Leaf>d</Leaf></Deep></Inner>\
         <Flat>f1</Flat><Flat>f2</Flat>\
         <Alias>r</Alias>\
         <Ids><Id>i1</Id></Ids>\
         <Ratio>1.5</Ratio>\
         <Secret>s3cr3t</Secret>"
    );
}

#[test]
fn members_follow_model_order_and_absent_or_null_members_are_omitted() {
    assert_eq!(
        result(&json!({"Flag": false, "Message": "m", "Num": null, "Unknown": "u"})),
        "<Message>m</Message><Flag>false</Flag>"
    );
    assert_eq!(result(&json!({})), "");
}

#[test]
fn empty_collections() {
    assert_eq!(
        result(&json!({"Items": [], "Labels": {}, "Flats": []})),
        "<Items></Items><Labels></Labels>"
    );
}

#[test]
fn timestamps_are_iso8601() {
    assert_eq!(
        result(&json!({"Created": 1_706_933_106.5})),
        "<Created>2024-02-03T04:05:06.500Z</Created>"
    );
    assert_eq!(
        result(&json!({"Created": "2024-02-03T05:05:06+01:00"})),
        "<Created>2024-02-03T04:05:06Z</Created>"
    );
    assert_eq!(
        result(&json!({"Created": 0})),
        "<Created>1970-01-01T00:00:00Z</Created>"
    );
    // Not a timestamp: an empty element rather than garbage.
    assert_eq!(result(&json!({"Created": true})), "<Created></Created>");
}

#[test]
fn wrong_json_types_do_not_panic() {
    assert_eq!(
        result(&json!({"Inner": "x", "Items": "x", "Labels": [1]})),
        "<Items></Items><Labels></Labels><Inner></Inner>"
    );
    // A non-object output writes an empty result.
    assert_eq!(result(&json!("x")), "");
}

#[test]
fn result_wrapper_defaults_and_no_output() {
    let xml = response_xml(
        &QUERY,
        "DoThing",
        None,
        Some((OUTPUT, &json!({"Num": 1}))),
        "r",
    );
    assert!(
        xml.contains("<DoThingResult><Num>1</Num></DoThingResult>"),
        "{xml}"
    );
    let xml = response_xml(&QUERY, "Ping", None, None, "id<&>");
    assert_eq!(
        xml,
        format!(
            "{HEAD}<PingResponse xmlns=\"{NS}\"><ResponseMetadata><RequestId>id&lt;&amp;&gt;\
             </RequestId></ResponseMetadata></PingResponse>"
        )
    );
}

#[test]
fn error_body_sender() {
    let err = ApiError::new(
        ErrorShape {
            code: "NoSuchEntity",
            status: 404,
            sender_fault: true,
            message_key: "message",
        },
        "The user with name <bob> & 'co' cannot be found.",
    );
    assert_eq!(
        error_xml(NS, &err, "rid-1"),
        format!(
            "{HEAD}<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>NoSuchEntity</Code>\
             <Message>The user with name &lt;bob&gt; &amp; &apos;co&apos; cannot be found.</Message>\
             </Error><RequestId>rid-1</RequestId></ErrorResponse>"
        )
    );
}

#[test]
fn error_body_receiver_with_extra_fields() {
    let err = ApiError::internal()
        .with("Reason", "ACCOUNT_NUMBER_LIMIT_EXCEEDED")
        .with("Count", 3)
        .with("Flag", true)
        .with("Text", "a<b");
    assert_eq!(
        error_xml(NS, &err, "rid-2"),
        format!(
            "{HEAD}<ErrorResponse xmlns=\"{NS}\"><Error><Type>Receiver</Type>\
             <Code>InternalFailure</Code><Message>The request processing has failed because of \
             an unknown error, exception or failure.</Message>\
             <Reason>ACCOUNT_NUMBER_LIMIT_EXCEEDED</Reason><Count>3</Count><Flag>true</Flag>\
             <Text>a&lt;b</Text></Error><RequestId>rid-2</RequestId></ErrorResponse>"
        )
    );
}

#[test]
fn common_errors_in_xml() {
    let err = cairn_wire::CommonError::InvalidClientTokenId(String::from(
        "The security token included in the request is invalid.",
    ))
    .to_api_error(cairn_wire::Protocol::Query);
    let xml = error_xml(NS, &err, "r");
    assert!(
        xml.contains("<Type>Sender</Type><Code>InvalidClientTokenId</Code>"),
        "{xml}"
    );
}
