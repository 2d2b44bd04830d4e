//! The AWS protocol adapter: every AWS API request (awsJson, awsQuery, restJson1) comes in
//! here, is routed to its operation, authenticated (`authn`: SigV4, the portal's bearer
//! token, or none where the model says so), parsed by its protocol's binding
//! (`cairn_wire::{json, query, rest}`), and handed to the protocol-free core (`exec`), whose
//! answer it serializes.
//!
//! ```text
//! route ─▶ authenticate ─▶ parse ─▶ [core: validate ─▶ authorize ─▶ handle ─▶ audit] ─▶ serialize
//! ```
//!
//! Authentication runs before parsing so that every failure from validation on is recorded
//! in CloudTrail with the caller's identity, as AWS records them. Requests that fail
//! authentication have no trustworthy identity and are not recorded (AWS does not record
//! them either); they are counted in `/metrics`.

use crate::app::App;
use crate::services::SERVICES;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::Response;
use cairn_wire::model::{OperationDef, Protocol, ServiceModel};
use cairn_wire::{ApiError, CommonError, json, query, rest, validate};
use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use tracing::Instrument as _;

/// A request matched to an operation.
struct Routed {
    index: usize,
    model: &'static ServiceModel,
    op: &'static OperationDef,
    op_index: usize,
    /// awsQuery parameters (body and query string).
    form: Option<Vec<(String, String)>>,
}

/// The axum fallback: every request that is not a health or metrics probe.
pub async fn entry(State(app): State<Arc<App>>, req: Request) -> Response {
    let request_id = app.env.ids.uuid();
    let source_ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| String::from("127.0.0.1"), |c| c.0.ip().to_string());
    let (parts, body) = req.into_parts();
    let body = match read_body(body, app.config.max_body_bytes).await {
        Ok(b) => b,
        Err(unread) => {
            app.metrics
                .unrouted
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // Answer in the protocol the request is in, as far as what was read tells it.
            let protocol = sniff_protocol(&parts, &unread.prefix);
            let err = unread.error(app.config.max_body_bytes, protocol);
            return error_response(None, protocol, &err, &request_id);
        }
    };
    let routed = match route(&parts, &body) {
        Ok(r) => r,
        Err((protocol, err)) => {
            app.metrics
                .unrouted
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return error_response(None, protocol, &err, &request_id);
        }
    };
    // One span per request: every line logged while it is handled carries its ID, service,
    // operation, and — once known — the principal and the authorization decision.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        service = routed.model.module,
        operation = routed.op.name,
        principal = tracing::field::Empty,
        decision = tracing::field::Empty,
    );
    let (response, outcome) = handle(&app, &parts, &body, &routed, request_id, source_ip)
        .instrument(span)
        .await;
    app.metrics.count(routed.index, routed.op_index, outcome);
    response
}

/// How a call ended, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Error,
    /// Refused by authorization (an error too).
    Denied,
}

/// A request body that was not read whole: too large, or the connection failed mid-body.
struct UnreadBody {
    /// The first bytes received (at most [`SNIFF_BYTES`]), to tell the protocol.
    prefix: Vec<u8>,
    too_large: bool,
}

/// How much of an unread body is kept to tell its protocol (`Action=…&Version=…` comes
/// first in every SDK's awsQuery body).
const SNIFF_BYTES: usize = 4096;

impl UnreadBody {
    fn error(&self, limit: usize, protocol: Protocol) -> ApiError {
        if self.too_large {
            // AWS's front end answers an oversized request 413 before the service sees it.
            let mut err = CommonError::Serialization(format!(
                "Request body is larger than the {limit} bytes this endpoint accepts."
            ))
            .to_api_error(protocol);
            err.status = 413;
            err
        } else {
            CommonError::Serialization(String::from("The request body could not be read."))
                .to_api_error(protocol)
        }
    }
}

/// Reads the whole body, refusing more than `limit` bytes.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, UnreadBody> {
    use http_body_util::BodyExt as _;
    let mut body = body;
    let mut buf: Vec<u8> = Vec::new();
    let mut first: Option<Bytes> = None;
    loop {
        match body.frame().await {
            None => break,
            Some(Err(_)) => {
                let mut prefix = first.map(|b| b.to_vec()).unwrap_or_default();
                prefix.extend_from_slice(&buf);
                prefix.truncate(SNIFF_BYTES);
                return Err(UnreadBody {
                    prefix,
                    too_large: false,
                });
            }
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue; // trailers
                };
                let have = first.as_ref().map_or(0, Bytes::len) + buf.len();
                if have + data.len() > limit {
                    let mut prefix = first.map(|b| b.to_vec()).unwrap_or_default();
                    prefix.extend_from_slice(&buf);
                    prefix.extend_from_slice(&data);
                    prefix.truncate(SNIFF_BYTES);
                    return Err(UnreadBody {
                        prefix,
                        too_large: true,
                    });
                }
                // The common case, one frame, is passed on without a copy.
                match &first {
                    None if buf.is_empty() => first = Some(data),
                    _ => {
                        if let Some(f) = first.take() {
                            buf.extend_from_slice(&f);
                        }
                        buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }
    Ok(match first {
        Some(f) if buf.is_empty() => f,
        Some(f) => {
            let mut all = f.to_vec();
            all.extend_from_slice(&buf);
            Bytes::from(all)
        }
        None => Bytes::from(buf),
    })
}

/// Whether a body without a form content type is nevertheless an awsQuery request: it
/// carries both `Action=` and `Version=` (AWS reads such a body as a query request).
fn is_query_body(content_type: &str, body: &[u8]) -> bool {
    if content_type.contains("json") || !contains(body, b"Action=") {
        return false;
    }
    let params = query::parse_form(body);
    params.iter().any(|(k, _)| k == "Action") && params.iter().any(|(k, _)| k == "Version")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The protocol a request is in, told from its headers, query string and (the first bytes
/// of) its body, for answering requests that cannot be routed in full.
fn sniff_protocol(parts: &Parts, body_prefix: &[u8]) -> Protocol {
    if parts.headers.contains_key("x-amz-target") {
        return Protocol::Json;
    }
    let content_type = header_str(&parts.headers, "content-type").unwrap_or("");
    let query_string = parts.uri.query().unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded")
        || query_string.contains("Action=")
        || (!content_type.contains("json") && contains(body_prefix, b"Action="))
    {
        return Protocol::Query;
    }
    Protocol::Json
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Finds the service and operation a request is for.
fn route(parts: &Parts, body: &Bytes) -> Result<Routed, (Protocol, ApiError)> {
    let found = |model: &'static ServiceModel, index: usize, name: &str| {
        // Operations are sorted by name in the generated tables.
        model
            .operations
            .binary_search_by(|o| o.name.cmp(name))
            .ok()
            .and_then(|i| model.operations.get(i).map(|op| (i, op)))
            .map(|(op_index, op)| Routed {
                index,
                model,
                op,
                op_index,
                form: None,
            })
    };
    // awsJson: X-Amz-Target.
    if let Some(target) = header_str(&parts.headers, "x-amz-target") {
        let unknown = || {
            (
                Protocol::Json,
                CommonError::UnknownOperation(String::new()).to_api_error(Protocol::Json),
            )
        };
        let (prefix, name) = json::split_target(target).ok_or_else(unknown)?;
        for (index, (model, _)) in SERVICES.iter().enumerate() {
            // botocore writes CloudTrail's prefix in full
            // (`com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`); Smithy-built SDKs
            // send only its last segment. AWS accepts both.
            let short = model
                .target_prefix
                .rsplit('.')
                .next()
                .unwrap_or(model.target_prefix);
            if model.protocol == Protocol::Json
                && (model.target_prefix == prefix || short == prefix)
            {
                return found(model, index, name).ok_or_else(unknown);
            }
        }
        return Err(unknown());
    }
    // awsQuery: Action in the form body or the query string.
    let content_type = header_str(&parts.headers, "content-type").unwrap_or("");
    let query_string = parts.uri.query().unwrap_or("");
    let is_form = content_type.starts_with("application/x-www-form-urlencoded")
        || is_query_body(content_type, body);
    if is_form || query_string.contains("Action=") {
        let mut params = query::parse_form(query_string.as_bytes());
        if is_form {
            params.extend(query::parse_form(body));
        }
        let action = params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone());
        let Some(action) = action else {
            return Err((
                Protocol::Query,
                CommonError::MissingAction.to_api_error(Protocol::Query),
            ));
        };
        let version = params
            .iter()
            .find(|(k, _)| k == "Version")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let scope_service = signing_service(parts);
        let candidates = SERVICES
            .iter()
            .enumerate()
            .filter(|(_, (m, _))| m.protocol == Protocol::Query);
        let mut fallback = None;
        for (index, (model, _)) in candidates {
            if let Some(mut r) = found(model, index, &action) {
                if scope_service.as_deref() == Some(model.signing_name)
                    || (!version.is_empty() && version == model.api_version)
                {
                    r.form = Some(params);
                    return Ok(r);
                }
                if fallback.is_none() {
                    fallback = Some(r);
                }
            }
        }
        return match fallback {
            Some(mut r) => {
                r.form = Some(params);
                Ok(r)
            }
            None => Err((
                Protocol::Query,
                CommonError::UnknownOperation(format!(
                    "Could not find operation {action} for version {version}"
                ))
                .to_api_error(Protocol::Query),
            )),
        };
    }
    // restJson1: method + path. An operation whose URI has a query literal wins over one
    // without on the same path (sso-oidc: `POST /token?aws_iam=t` is CreateTokenWithIAM,
    // `POST /token` CreateToken).
    let path = parts.uri.path();
    for (index, (model, _)) in SERVICES.iter().enumerate() {
        if model.protocol != Protocol::RestJson {
            continue;
        }
        if let Some(op_index) = rest::find(model, parts.method.as_str(), path, query_string)
            && let Some(op) = model.operations.get(op_index)
        {
            return Ok(Routed {
                index,
                model,
                op,
                op_index,
                form: None,
            });
        }
    }
    let mut err =
        CommonError::UnknownOperation(format!("No AWS operation matches {} {path}", parts.method))
            .to_api_error(Protocol::Json);
    err.status = 404;
    Err((Protocol::Json, err))
}

/// The service named in the credential scope, if the request is signed.
fn signing_service(parts: &Parts) -> Option<String> {
    let cred = header_str(&parts.headers, "authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .map(str::to_owned)
        .or_else(|| {
            parts.uri.query().and_then(|q| {
                query::parse_form(q.as_bytes())
                    .into_iter()
                    .find(|(k, _)| k == "X-Amz-Credential")
                    .map(|(_, v)| v)
            })
        })?;
    cred.split(['/', ',']).nth(3).map(str::to_owned)
}

/// Parses the request into the awsJson input document for the operation.
fn parse_input(parts: &Parts, body: &Bytes, routed: &Routed) -> Result<Value, ApiError> {
    let model = routed.model;
    let Some(shape) = routed.op.input else {
        return Ok(Value::Object(Map::new()));
    };
    match model.protocol {
        Protocol::Json => json::parse_body(body),
        Protocol::Query => {
            let params = routed.form.as_deref().unwrap_or(&[]);
            query::params_to_value(model, shape, params)
                .map_err(|m| validate::mismatch_to_error(Protocol::Query, &m))
        }
        Protocol::RestJson => rest::parse_input(
            model,
            routed.op,
            |name| header_str(&parts.headers, name),
            parts.uri.query().unwrap_or(""),
            body,
        ),
    }
}

/// Runs the pipeline from authentication on; returns the response and whether it is an error.
async fn handle(
    app: &Arc<App>,
    parts: &Parts,
    body: &Bytes,
    routed: &Routed,
    request_id: String,
    source_ip: String,
) -> (Response, Outcome) {
    let model = routed.model;
    let protocol = model.protocol;
    // Authenticate.
    let (principal, region) =
        match crate::authn::authenticate(app, parts, body, model, routed.op).await {
            Ok(p) => p,
            Err(err) => {
                app.metrics
                    .auth_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return (
                    error_response(Some(model), protocol, &err, &request_id),
                    Outcome::Error,
                );
            }
        };
    tracing::Span::current().record("principal", principal.arn().as_str());
    // Parse.
    let input = parse_input(parts, body, routed);
    // The input came from the body and the URI: their size, times the widest JSON escape
    // (`\u0000`), bounds the document's, so small requests are never measured.
    let size_hint = match protocol {
        Protocol::RestJson => None,
        _ => Some(6 * (body.len() + parts.uri.path_and_query().map_or(0, |p| p.as_str().len()))),
    };
    let result = crate::exec::execute(
        app,
        crate::exec::Entry {
            request_id: request_id.clone(),
            principal,
            region,
            source_ip,
            user_agent: header_str(&parts.headers, "user-agent")
                .unwrap_or("")
                .to_owned(),
            service: routed.index,
            op_index: routed.op_index,
            input,
            size_hint,
        },
    )
    .await;
    // Serialize.
    match result {
        Ok(doc) => (
            success_response(model, routed.op, &doc, &request_id),
            Outcome::Ok,
        ),
        Err(err) => {
            // Authorization's refusals (AccessDenied in awsQuery, AccessDeniedException in
            // the JSON protocols).
            let outcome = if err.code.starts_with("AccessDenied") {
                Outcome::Denied
            } else {
                Outcome::Error
            };
            (
                error_response(Some(model), protocol, &err, &request_id),
                outcome,
            )
        }
    }
}

fn with_request_id(mut resp: Response, request_id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    request_id: &str,
) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    with_request_id(resp, request_id)
}

fn success_response(
    model: &ServiceModel,
    op: &OperationDef,
    doc: &Value,
    request_id: &str,
) -> Response {
    // An operation without output answers `{}`, never `null`.
    let empty = Value::Object(Map::new());
    let doc = if doc.is_null() { &empty } else { doc };
    match model.protocol {
        Protocol::Json => respond(
            StatusCode::OK,
            json::content_type(model),
            serde_json::to_vec(doc).unwrap_or_else(|_| b"{}".to_vec()),
            request_id,
        ),
        Protocol::Query => {
            let xml = query::response_xml(
                model,
                op.name,
                op.result_wrapper,
                op.output.map(|s| (s, doc)),
                request_id,
            );
            respond(StatusCode::OK, "text/xml", xml.into_bytes(), request_id)
        }
        Protocol::RestJson => respond(
            StatusCode::from_u16(rest::success_status(op)).unwrap_or(StatusCode::OK),
            rest::CONTENT_TYPE,
            rest::success_body(doc),
            request_id,
        ),
    }
}

/// An AWS-shaped error in the protocol's form. Never HTML, never a panic.
pub fn error_response(
    model: Option<&ServiceModel>,
    protocol: Protocol,
    err: &ApiError,
    request_id: &str,
) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    match protocol {
        Protocol::Json => respond(
            status,
            "application/x-amz-json-1.1",
            json::error_body(err),
            request_id,
        ),
        Protocol::Query => {
            let ns = model.map_or("", |m| m.xml_namespace);
            respond(
                status,
                "text/xml",
                query::error_xml(ns, err, request_id).into_bytes(),
                request_id,
            )
        }
        Protocol::RestJson => {
            let mut resp = respond(
                status,
                rest::CONTENT_TYPE,
                json::error_body(err),
                request_id,
            );
            if let Ok(v) = HeaderValue::from_str(&err.code) {
                resp.headers_mut().insert(rest::ERROR_TYPE_HEADER, v);
            }
            resp
        }
    }
}
