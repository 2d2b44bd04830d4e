//! Static model tables, generated per service into `cairn-api` from the vendored botocore
//! models. The protocol codecs and the validator walk these tables; no service-specific code
//! lives in this crate.

use std::sync::OnceLock;

/// Index of a shape in its service's [`ServiceModel::shapes`] table.
pub type ShapeId = u16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson1.0 / awsJson1.1: `POST /`, `X-Amz-Target: <prefix>.<Op>`.
    Json,
    /// awsQuery: form-encoded `Action=<Op>&Version=…`, XML responses.
    Query,
    /// restJson1: operations bound to method + URI template.
    RestJson,
}

#[derive(Debug)]
pub struct ServiceModel {
    /// Module name, e.g. `organizations`, `sso_admin`.
    pub module: &'static str,
    /// botocore `serviceId`, e.g. `Organizations`.
    pub service_id: &'static str,
    pub protocol: Protocol,
    /// `1.0` or `1.1` for awsJson.
    pub json_version: &'static str,
    /// `X-Amz-Target` prefix for awsJson services.
    pub target_prefix: &'static str,
    /// SigV4 signing name (credential scope service).
    pub signing_name: &'static str,
    pub endpoint_prefix: &'static str,
    pub api_version: &'static str,
    /// XML namespace for awsQuery responses.
    pub xml_namespace: &'static str,
    /// CloudTrail `eventSource`, e.g. `organizations.amazonaws.com`.
    pub event_source: &'static str,
    /// Global services are recorded with `awsRegion: us-east-1` whatever the scope says.
    pub global: bool,
    /// How invalid input is reported.
    pub validation: crate::validate::ValidationStyle,
    pub shapes: &'static [Shape],
    pub operations: &'static [OperationDef],
    /// Source text of every `pattern` trait; [`StringShape::pattern`] indexes into it.
    pub patterns: &'static [&'static str],
    /// Compiled lazily on first use; `None` where the AWS pattern is not expressible with the
    /// `regex` crate (such patterns are not enforced).
    pub compiled_patterns: OnceLock<Vec<Option<regex::Regex>>>,
}

impl ServiceModel {
    pub fn shape(&self, id: ShapeId) -> Option<&'static Shape> {
        self.shapes.get(usize::from(id))
    }

    pub fn operation(&self, name: &str) -> Option<&'static OperationDef> {
        // Operations are emitted sorted by name.
        self.operations
            .binary_search_by(|op| op.name.cmp(name))
            .ok()
            .and_then(|i| self.operations.get(i))
    }

    /// The compiled pattern, matching the whole value: AWS checks the model's (mostly
    /// unanchored) patterns with a full match, so `[\w+=,.@-]+` rejects `bad name`.
    pub fn pattern(&self, idx: u16) -> Option<&regex::Regex> {
        let compiled = self.compiled_patterns.get_or_init(|| {
            self.patterns
                .iter()
                .map(|p| regex::Regex::new(&format!("^(?:{})$", java_to_rust_regex(p))).ok())
                .collect()
        });
        compiled.get(usize::from(idx)).and_then(Option::as_ref)
    }
}

#[derive(Debug)]
pub struct OperationDef {
    pub name: &'static str,
    pub input: Option<ShapeId>,
    pub output: Option<ShapeId>,
    /// awsQuery: element wrapping the output members (`<Op>Result`).
    pub result_wrapper: Option<&'static str>,
    pub http_method: &'static str,
    /// restJson1 URI template, e.g. `/federation/credentials` or `/things/{Id}`.
    pub request_uri: &'static str,
    /// Success status code for restJson1 (`http.responseCode`), 200 by default.
    pub response_code: u16,
    /// `smithy.api#noAuth`: the operation is not SigV4-signed.
    pub no_auth: bool,
    /// CloudTrail `readOnly`.
    pub read_only: bool,
    /// Shapes of the errors the operation declares.
    pub errors: &'static [ShapeId],
}

#[derive(Debug)]
pub enum Shape {
    String(StringShape),
    Integer(NumberShape),
    Long(NumberShape),
    Float(NumberShape),
    Double(NumberShape),
    Boolean,
    Timestamp(TimestampFormat),
    Blob(BlobShape),
    Structure(StructureShape),
    List(ListShape),
    Map(MapShape),
    /// A structure with the `document` trait: free-form JSON.
    Document,
}

#[derive(Debug)]
pub struct StringShape {
    pub min: Option<u64>,
    pub max: Option<u64>,
    pub pattern: Option<u16>,
    pub enum_values: &'static [&'static str],
    pub sensitive: bool,
}

#[derive(Debug)]
pub struct NumberShape {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampFormat {
    /// Protocol default: epoch seconds for JSON, ISO 8601 for XML/query.
    Default,
    EpochSeconds,
    Iso8601,
    HttpDate,
}

#[derive(Debug)]
pub struct BlobShape {
    pub min: Option<u64>,
    pub max: Option<u64>,
    pub sensitive: bool,
}

#[derive(Debug)]
pub struct StructureShape {
    pub name: &'static str,
    pub members: &'static [Member],
    pub union: bool,
    pub sensitive: bool,
    /// Exception shapes carry their AWS error code and HTTP status.
    pub error: Option<ErrorTrait>,
}

impl StructureShape {
    pub fn member(&self, name: &str) -> Option<&'static Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ErrorTrait {
    pub code: &'static str,
    pub status: u16,
    pub sender_fault: bool,
}

#[derive(Debug)]
pub struct Member {
    pub name: &'static str,
    pub shape: ShapeId,
    pub required: bool,
    pub location: Location,
    /// Wire name when it differs from `name` (header, query key, XML element, URI label).
    pub location_name: Option<&'static str>,
    pub idempotency_token: bool,
    pub sensitive: bool,
    pub timestamp_format: TimestampFormat,
}

impl Member {
    pub fn wire_name(&self) -> &'static str {
        self.location_name.unwrap_or(self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Body,
    Uri,
    QueryString,
    Header,
    /// `headers` with a prefix: a map of headers.
    Headers,
    StatusCode,
    /// The member is the whole HTTP payload (restJson1 `payload` trait).
    Payload,
}

#[derive(Debug)]
pub struct ListShape {
    pub member: ShapeId,
    pub member_location_name: Option<&'static str>,
    pub flattened: bool,
    pub min: Option<u64>,
    pub max: Option<u64>,
}

#[derive(Debug)]
pub struct MapShape {
    pub key: ShapeId,
    pub value: ShapeId,
    pub flattened: bool,
    pub min: Option<u64>,
    pub max: Option<u64>,
}

/// AWS models write patterns in Java's dialect, where characters beyond the Basic
/// Multilingual Plane appear as UTF-16 surrogate pairs; the `regex` crate matches scalar
/// values, so the supplementary-plane range is rewritten.
pub fn java_to_rust_regex(pattern: &str) -> String {
    pattern.replace("\\uD800\\uDC00-\\uDBFF\\uDFFF", "\\x{10000}-\\x{10FFFF}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogate_pairs_become_scalar_ranges() {
        let p =
            java_to_rust_regex("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*");
        let re = regex::Regex::new(&format!("^{p}$")).unwrap();
        assert!(re.is_match("plain text \u{1F600}"));
        assert!(!re.is_match("\u{1}"));
    }
}
