//! A small hand-built model covering every shape kind and trait the wire layer reads.

use cairn_wire::ValidationStyle;
use cairn_wire::model::*;
use std::sync::OnceLock;

const fn m(name: &'static str, shape: ShapeId) -> Member {
    Member {
        name,
        shape,
        required: false,
        location: Location::Body,
        location_name: None,
        idempotency_token: false,
        sensitive: false,
        timestamp_format: TimestampFormat::Default,
    }
}

const fn req(name: &'static str, shape: ShapeId) -> Member {
    Member {
        required: true,
        ..m(name, shape)
    }
}

const fn string(
    min: Option<u64>,
    max: Option<u64>,
    pattern: Option<u16>,
    enum_values: &'static [&'static str],
    sensitive: bool,
) -> Shape {
    Shape::String(StringShape {
        min,
        max,
        pattern,
        enum_values,
        sensitive,
    })
}

pub const INPUT: ShapeId = 0;
pub const TAG: ShapeId = 5;
pub const INNER: ShapeId = 8;
pub const OUTPUT: ShapeId = 23;
pub const PLAIN: ShapeId = 16;
pub const TAG_LIST: ShapeId = 4;
pub const SECRET_STRUCT: ShapeId = 27;

pub static SHAPES: &[Shape] = &[
    // 0 TestInput
    Shape::Structure(StructureShape {
        name: "TestInput",
        members: &[
            req("Name", 1),
            m("Mode", 2),
            m("Count", 3),
            m("Tags", 4),
            m("Attributes", 7),
            m("Nested", 8),
            m("When", 10),
            m("Data", 11),
            m("Secret", 14),
            m("Enabled", 15),
            Member {
                location_name: Some("Alias"),
                ..m("Renamed", 16)
            },
            Member {
                location_name: Some("Item"),
                ..m("Items", 17)
            },
            m("Ratio", 18),
            m("Big", 19),
            Member {
                sensitive: true,
                ..m("Password", 20)
            },
            m("Ids", 21),
            m("Doc", 22),
            m("Lookaround", 26),
            m("Hidden", 27),
            m("AccountId", 28),
        ],
        union: false,
        sensitive: false,
        error: None,
    }),
    // 1 nameType: 1..=8 lower-case letters
    string(Some(1), Some(8), Some(0), &[], false),
    // 2 modeType
    string(None, None, None, &["ALPHA", "BETA"], false),
    // 3 countType
    Shape::Integer(NumberShape {
        min: Some(1.0),
        max: Some(10.0),
    }),
    // 4 tagList
    Shape::List(ListShape {
        member: 5,
        member_location_name: None,
        flattened: false,
        min: Some(1),
        max: Some(3),
    }),
    // 5 Tag
    Shape::Structure(StructureShape {
        name: "Tag",
        members: &[req("Key", 6), m("Value", 16)],
        union: false,
        sensitive: false,
        error: None,
    }),
    // 6 tagKey
    string(Some(1), Some(4), None, &[], false),
    // 7 attributeMap
    Shape::Map(MapShape {
        key: 12,
        value: 13,
        flattened: false,
        min: Some(1),
        max: Some(2),
    }),
    // 8 Inner
    Shape::Structure(StructureShape {
        name: "Inner",
        members: &[req("Leaf", 9), m("Deep", 8)],
        union: false,
        sensitive: false,
        error: None,
    }),
    // 9 leafType
    string(Some(2), None, None, &[], false),
    // 10 timestamp
    Shape::Timestamp(TimestampFormat::Default),
    // 11 blob
    Shape::Blob(BlobShape {
        min: Some(1),
        max: Some(4),
        sensitive: false,
    }),
    // 12 attributeKey
    string(None, Some(5), None, &[], false),
    // 13 attributeValue
    string(None, Some(4), None, &[], false),
    // 14 secretType: sensitive shape
    string(Some(8), None, None, &[], true),
    // 15 boolean
    Shape::Boolean,
    // 16 plain string
    string(None, None, None, &[], false),
    // 17 flattened list of plain strings
    Shape::List(ListShape {
        member: 16,
        member_location_name: None,
        flattened: true,
        min: None,
        max: None,
    }),
    // 18 ratio
    Shape::Double(NumberShape {
        min: Some(0.5),
        max: Some(2.5),
    }),
    // 19 long
    Shape::Long(NumberShape {
        min: None,
        max: None,
    }),
    // 20 passwordType (not sensitive itself; the member is)
    string(None, Some(4), None, &[], false),
    // 21 idList: list with a member location name
    Shape::List(ListShape {
        member: 16,
        member_location_name: Some("Id"),
        flattened: false,
        min: None,
        max: None,
    }),
    // 22 document
    Shape::Document,
    // 23 TestOutput
    Shape::Structure(StructureShape {
        name: "TestOutput",
        members: &[
            m("Message", 16),
            m("Items", 24),
            m("Labels", 25),
            m("Created", 10),
            m("Flag", 15),
            m("Num", 3),
            m("Inner", 8),
            Member {
                location_name: Some("Flat"),
                ..m("Flats", 17)
            },
            Member {
                location_name: Some("Alias"),
                ..m("Renamed", 16)
            },
            m("Ids", 21),
            m("Ratio", 18),
            m("Secret", 14),
            m("Secrets", 30),
            m("SecretMap", 31),
        ],
        union: false,
        sensitive: false,
        error: None,
    }),
    // 24 plain list
    Shape::List(ListShape {
        member: 16,
        member_location_name: None,
        flattened: false,
        min: None,
        max: None,
    }),
    // 25 labels map
    Shape::Map(MapShape {
        key: 16,
        value: 16,
        flattened: false,
        min: None,
        max: None,
    }),
    // 26 look-around pattern (not expressible, so not enforced)
    string(None, None, Some(3), &[], false),
    // 27 sensitive structure
    Shape::Structure(StructureShape {
        name: "SecretStruct",
        members: &[m("Token", 1), m("Blob", 29)],
        union: false,
        sensitive: true,
        error: None,
    }),
    // 28 accountId: anchored pattern
    string(None, Some(12), Some(1), &[], false),
    // 29 sensitive blob
    Shape::Blob(BlobShape {
        min: None,
        max: None,
        sensitive: true,
    }),
    // 30 list of sensitive strings
    Shape::List(ListShape {
        member: 14,
        member_location_name: None,
        flattened: false,
        min: None,
        max: None,
    }),
    // 31 map of sensitive strings
    Shape::Map(MapShape {
        key: 16,
        value: 14,
        flattened: false,
        min: None,
        max: None,
    }),
];

pub static PATTERNS: &[&str] = &[
    "[a-z]+",
    "^\\d{12}$",
    "[\\uD800\\uDC00-\\uDBFF\\uDFFF]+",
    "(?<=x)y",
];

pub static OPERATIONS: &[OperationDef] = &[
    OperationDef {
        name: "DoThing",
        input: Some(INPUT),
        output: Some(OUTPUT),
        result_wrapper: Some("DoThingResult"),
        http_method: "POST",
        request_uri: "/",
        response_code: 200,
        no_auth: false,
        read_only: false,
        errors: &[],
    },
    OperationDef {
        name: "Ping",
        input: None,
        output: None,
        result_wrapper: None,
        http_method: "POST",
        request_uri: "/",
        response_code: 200,
        no_auth: true,
        read_only: true,
        errors: &[],
    },
];

const fn model(protocol: Protocol, validation: ValidationStyle) -> ServiceModel {
    model_v(protocol, "1.1", validation)
}

const fn model_v(
    protocol: Protocol,
    json_version: &'static str,
    validation: ValidationStyle,
) -> ServiceModel {
    ServiceModel {
        module: "test",
        service_id: "Test",
        protocol,
        json_version,
        target_prefix: "TestService",
        signing_name: "test",
        endpoint_prefix: "test",
        api_version: "2020-01-01",
        xml_namespace: "https://test.amazonaws.com/doc/2020-01-01/",
        event_source: "test.amazonaws.com",
        global: false,
        validation,
        shapes: SHAPES,
        operations: OPERATIONS,
        patterns: PATTERNS,
        compiled_patterns: OnceLock::new(),
    }
}

/// awsJson with Coral `ValidationException`.
pub static JSON: ServiceModel = model(
    Protocol::Json,
    ValidationStyle::Coral {
        code: "ValidationException",
        status: 400,
    },
);

/// awsQuery with Coral `ValidationError`.
pub static QUERY: ServiceModel = model(
    Protocol::Query,
    ValidationStyle::Coral {
        code: "ValidationError",
        status: 400,
    },
);

/// Organizations style.
pub static ORGS: ServiceModel = model(Protocol::Json, ValidationStyle::InvalidInputWithReason);

/// awsJson 1.0.
pub static JSON10: ServiceModel = model_v(
    Protocol::Json,
    "1.0",
    ValidationStyle::Coral {
        code: "ValidationException",
        status: 400,
    },
);
