//! The one pipeline every AWS API request goes through.
//!
//! ```text
//! route ─▶ authenticate ─▶ parse+validate ─▶ authorize ─▶ handle ─▶ audit ─▶ serialize
//! ```
//!
//! Authentication runs before parsing so that every failure from validation on is recorded
//! in CloudTrail with the caller's identity, as AWS records them. Requests that fail
//! authentication have no trustworthy identity and are not recorded (AWS does not record
//! them either); they are counted in `/metrics`.

use crate::app::{App, CachedKey};
use crate::services::{SERVICES, Svc};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::Response;
use cairn_core::{Call, CallInfo, Principal};
use cairn_sigv4::SigErrorKind;
use cairn_wire::model::{Location, OperationDef, Protocol, ServiceModel, Shape};
use cairn_wire::{ApiError, CommonError, json, query, trail, validate};
use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use tracing::Instrument as _;

/// A request matched to an operation.
struct Routed {
    index: usize,
    model: &'static ServiceModel,
    svc: Svc,
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
    let found = |model: &'static ServiceModel, svc: Svc, index: usize, name: &str| {
        // Operations are sorted by name in the generated tables.
        model
            .operations
            .binary_search_by(|o| o.name.cmp(name))
            .ok()
            .and_then(|i| model.operations.get(i).map(|op| (i, op)))
            .map(|(op_index, op)| Routed {
                index,
                model,
                svc,
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
        for (index, (model, svc)) in SERVICES.iter().enumerate() {
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
                return found(model, *svc, index, name).ok_or_else(unknown);
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
        for (index, (model, svc)) in candidates {
            if let Some(mut r) = found(model, *svc, index, &action) {
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
    let mut plain = None;
    for (index, (model, svc)) in SERVICES.iter().enumerate() {
        if model.protocol != Protocol::RestJson {
            continue;
        }
        for (op_index, op) in model.operations.iter().enumerate() {
            let (op_path, op_query) = op
                .request_uri
                .split_once('?')
                .unwrap_or((op.request_uri, ""));
            if op.http_method != parts.method.as_str() || op_path != path {
                continue;
            }
            let routed = Routed {
                index,
                model,
                svc: *svc,
                op,
                op_index,
                form: None,
            };
            if op_query.is_empty() {
                plain = plain.or(Some(routed));
            } else if query_string.split('&').any(|p| p == op_query) {
                return Ok(routed);
            }
        }
    }
    if let Some(routed) = plain {
        return Ok(routed);
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

fn sig_error(kind: SigErrorKind, message: &str) -> CommonError {
    let m = message.to_owned();
    match kind {
        SigErrorKind::MissingAuthenticationToken => CommonError::MissingAuthenticationToken(m),
        SigErrorKind::IncompleteSignature | SigErrorKind::InvalidArgument => {
            CommonError::IncompleteSignature(m)
        }
        SigErrorKind::SignatureDoesNotMatch | SigErrorKind::XAmzContentSha256Mismatch => {
            CommonError::SignatureDoesNotMatch(m)
        }
        SigErrorKind::RequestExpired => CommonError::RequestExpired(m),
    }
}

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

/// Authenticates the request: who is calling, and the region they signed for. A call signed
/// with a long-term access key Cairn issued notes the key's use (`key_use`).
async fn authenticate(
    app: &Arc<App>,
    parts: &Parts,
    body: &Bytes,
    routed: &Routed,
) -> Result<(Principal, String), ApiError> {
    let protocol = routed.model.protocol;
    if routed.op.no_auth {
        return Ok((Principal::Anonymous, app.config.default_region.clone()));
    }
    let headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let sreq = cairn_sigv4::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body,
    };
    let fail = |e: cairn_sigv4::SigError| sig_error(e.kind(), e.message()).to_api_error(protocol);
    let parsed = cairn_sigv4::parse(&sreq).map_err(fail)?;
    if !cairn_core::partition::is_known_region(&parsed.region) {
        // A region of no partition (botocore's endpoint data, models/endpoints/partitions.json): AWS
        // refuses the scope with `check_scope`'s text for a region it does not serve.
        let message = format!(
            "Credential should be scoped to a valid region, not '{}'.",
            parsed.region
        );
        return Err(sig_error(SigErrorKind::SignatureDoesNotMatch, &message).to_api_error(protocol));
    }
    let region = parsed.region.clone();
    // `--dev`: credentials Cairn issued act as their owner, checked as always; any others
    // act as the bootstrap account's root, unchecked (emulators' `test`/`test` keys).
    let dev_root = || {
        Ok((
            Principal::Root {
                account_id: app.config.bootstrap_account_id.clone(),
                access_key_id: parsed.access_key_id.clone(),
                session: None,
            },
            region.clone(),
        ))
    };
    if !app.config.dev {
        cairn_sigv4::check_scope(&parsed, &parsed.region, routed.model.signing_name)
            .map_err(fail)?;
    }
    let invalid =
        || CommonError::InvalidClientTokenId(INVALID_TOKEN.to_owned()).to_api_error(protocol);
    let long_term = parsed.security_token.is_none();
    let key = match parsed.security_token.as_deref() {
        // Temporary credentials: the token carries the session (sealed; see cairn_iam::sts).
        Some(token) => {
            let now = app.env.clock.now_millis();
            match cairn_iam::sts::open_session_token(&app.sealer, token, &parsed.access_key_id, now)
            {
                Ok((secret, principal)) => CachedKey {
                    secret,
                    principal,
                    fetched_ms: now,
                    generation: 0,
                },
                Err(cairn_iam::sts::TokenError::Expired) => {
                    return Err(CommonError::ExpiredToken(String::from(
                        "The security token included in the request is expired",
                    ))
                    .to_api_error(protocol));
                }
                Err(cairn_iam::sts::TokenError::Invalid) if app.config.dev => return dev_root(),
                Err(cairn_iam::sts::TokenError::Invalid) => return Err(invalid()),
            }
        }
        None => match resolve_key(app, &parsed.access_key_id).await? {
            Some(key) => key,
            None if app.config.dev => return dev_root(),
            None => return Err(invalid()),
        },
    };
    if app.config.dev {
        cairn_sigv4::check_scope(&parsed, &parsed.region, routed.model.signing_name)
            .map_err(fail)?;
    }
    let signing_key = app.signing_keys.signing_key_for(&parsed, &key.secret);
    let opts = cairn_sigv4::VerifyOptions::default();
    cairn_sigv4::verify_with_signing_key(
        &sreq,
        &parsed,
        &signing_key,
        app.env.clock.now_secs(),
        &opts,
    )
    .map_err(fail)?;
    if long_term {
        crate::key_use::note(
            app,
            &parsed.access_key_id,
            routed.model.signing_name,
            &region,
        );
    }
    Ok((key.principal, region))
}

async fn resolve_key(app: &App, access_key_id: &str) -> Result<Option<CachedKey>, ApiError> {
    let now = app.env.clock.now_millis();
    // Keys deleted or deactivated through this process stop working at once; through
    // another process sharing the database, within `credential_cache_ms`.
    let generation = app.env.generations.iam.get();
    if let Ok(cache) = app.keys.read()
        && let Some(hit) = cache.get(access_key_id)
        && now - hit.fetched_ms < app.config.credential_cache_ms
        && hit.generation == generation
    {
        return Ok(Some(hit.clone()));
    }
    let sealer = app.sealer.clone();
    let akid = access_key_id.to_owned();
    let found = app
        .env
        .store
        .read(move |tx| cairn_iam::accounts::resolve_access_key(tx, &sealer, &akid))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "access key lookup failed");
            ApiError::internal()
        })?;
    let Some((secret, principal)) = found else {
        return Ok(None);
    };
    let entry = CachedKey {
        secret,
        principal,
        fetched_ms: now,
        generation,
    };
    if let Ok(mut cache) = app.keys.write() {
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(access_key_id.to_owned(), entry.clone());
    }
    Ok(Some(entry))
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
        Protocol::RestJson => {
            let mut doc = match model.shape(shape) {
                Some(Shape::Structure(st))
                    if st.members.iter().any(|m| m.location == Location::Body) =>
                {
                    json::parse_body(body)?
                }
                _ => Value::Object(Map::new()),
            };
            if let (Some(Shape::Structure(st)), Value::Object(fields)) =
                (model.shape(shape), &mut doc)
            {
                let qs = query::parse_form(parts.uri.query().unwrap_or("").as_bytes());
                for member in st.members {
                    let raw = match member.location {
                        Location::QueryString => qs
                            .iter()
                            .find(|(k, _)| k == member.wire_name())
                            .map(|(_, v)| v.clone()),
                        Location::Header => {
                            header_str(&parts.headers, member.wire_name()).map(str::to_owned)
                        }
                        _ => None,
                    };
                    if let Some(raw) = raw {
                        let value = match model.shape(member.shape) {
                            Some(Shape::Integer(_) | Shape::Long(_)) => {
                                raw.parse::<i64>().map(Value::from).map_err(|_| {
                                    CommonError::Serialization(format!(
                                        "Invalid number for {}",
                                        member.name
                                    ))
                                    .to_api_error(Protocol::RestJson)
                                })?
                            }
                            Some(Shape::Boolean) => Value::Bool(raw == "true"),
                            _ => Value::String(raw),
                        };
                        fields.insert(member.name.to_owned(), value);
                    }
                }
            }
            Ok(doc)
        }
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
    let (principal, region) = match authenticate(app, parts, body, routed).await {
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
    let parsed = parse_input(parts, body, routed);
    // CloudTrail keeps at most 100 KB of parameters (cairn_trail::record::bound_elements);
    // bounding them here also spares every copy of the call's event a multi-megabyte
    // document. The input came from the body and the URI: their size, times the widest JSON
    // escape (`\u0000`), bounds the document's, so small requests are never measured.
    let size_hint = match protocol {
        Protocol::RestJson => None,
        _ => Some(6 * (body.len() + parts.uri.path_and_query().map_or(0, |p| p.as_str().len()))),
    };
    let request_parameters = match (&parsed, routed.op.input) {
        (Ok(doc), Some(shape)) => cairn_trail::record::bound_elements(
            trail::to_trail_document(model, shape, doc),
            size_hint,
        ),
        _ => None,
    };
    let info = CallInfo {
        request_id: request_id.clone(),
        principal,
        region,
        source_ip,
        user_agent: header_str(&parts.headers, "user-agent")
            .unwrap_or("")
            .to_owned(),
        model,
        operation: routed.op,
        request_parameters,
        received_ms: app.env.clock.now_millis(),
    };
    #[allow(
        clippy::disallowed_methods,
        reason = "the pipeline is the one place a call is made, after authentication"
    )]
    let call = Call::new(info, Arc::clone(&app.env));
    let partition = call.partition();
    // The answer in the request's partition (handlers keep ARNs in `aws`).
    let result = match run(app, &call, routed, parsed).await {
        Ok(mut doc) => {
            cairn_core::partition::render(&mut doc, partition);
            Ok(doc)
        }
        Err(mut err) => {
            if let std::borrow::Cow::Owned(m) =
                cairn_core::partition::render_text(&err.message, partition)
            {
                err.message = m;
            }
            Err(err)
        }
    };
    // Audit, unless `Call::write` already committed the record with the mutation.
    if !call.recorded() {
        let event = match &result {
            Ok(doc) => call.success_event(doc),
            Err(err) => call.audit_event(None, Some(err)),
        };
        if let Err(e) = app.env.audit.record(event).await {
            // The call's effects (if any) are committed; failing to record a read or a failure
            // must not turn into a lost response, but it is an operational alarm.
            tracing::error!(error = %e, request_id = %request_id, "could not record the CloudTrail event");
        }
    }
    match &result {
        Ok(_) => tracing::debug!("answered"),
        Err(e) => tracing::debug!(status = e.status, error = %e.code, "answered with an error"),
    }
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

/// Validate, authorize, handle.
async fn run(
    app: &App,
    call: &Call,
    routed: &Routed,
    parsed: Result<Value, ApiError>,
) -> Result<Value, ApiError> {
    let model = routed.model;
    let mut input = parsed?;
    if let Some(shape) = routed.op.input {
        match validate::validate(model, shape, &input) {
            Err(m) => return Err(validate::mismatch_to_error(model.protocol, &m)),
            Ok(v) if !v.is_empty() => {
                return Err(validate::violations_to_error(
                    model.validation,
                    model.protocol,
                    &v,
                ));
            }
            Ok(_) => {}
        }
    }
    // Validated as sent; authorized and handled in Cairn's one partition (the request's
    // ARNs, policy documents included, read as `arn:aws:`; see `cairn_core::partition`).
    cairn_core::partition::to_canonical(&mut input, call.partition());
    let decision = crate::authz::authorize(app, call, routed.index, routed.op_index, &input).await;
    tracing::Span::current().record("decision", if decision.is_ok() { "allow" } else { "deny" });
    decision?;
    app.services
        .dispatch(routed.svc, call, routed.op.name, input)
        .await
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
        Protocol::RestJson => {
            let status = StatusCode::from_u16(op.response_code).unwrap_or(StatusCode::OK);
            respond(
                status,
                "application/json",
                serde_json::to_vec(doc).unwrap_or_else(|_| b"{}".to_vec()),
                request_id,
            )
        }
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
                "application/json",
                json::error_body(err),
                request_id,
            );
            if let Ok(v) = HeaderValue::from_str(&err.code) {
                resp.headers_mut().insert("x-amzn-errortype", v);
            }
            resp
        }
    }
}
