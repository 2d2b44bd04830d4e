//! The protocol-free core of the pipeline: from an authenticated principal and a parsed
//! input document to the answer document, whatever adapter the request came through (the
//! AWS protocols in `pipeline`, the portal's pages in `web`).
//!
//! ```text
//! validate ─▶ authorize ─▶ handle ─▶ audit
//! ```
//!
//! **Invariant:** this is the only place a [`Call`] is made (clippy's `disallowed-methods`
//! refuses `Call::new` elsewhere), so every handler runs authorized and every call that
//! reaches it is recorded in CloudTrail — in the mutation's transaction when the handler
//! writes (`Call::write`), after it otherwise.

use crate::app::App;
use crate::services::SERVICES;
use cairn_core::{Call, CallInfo, Principal};
use cairn_wire::{ApiError, trail, validate};
use serde_json::Value;
use std::sync::Arc;

/// A call, authenticated and parsed by its adapter.
pub(crate) struct Entry {
    pub request_id: String,
    pub principal: Principal,
    /// The region of the call (the signature's scope, or the default).
    pub region: String,
    pub source_ip: String,
    pub user_agent: String,
    /// The service (an index into [`SERVICES`]) and its operation (an index into the
    /// model's sorted operations).
    pub service: usize,
    pub op_index: usize,
    /// The input document, or the adapter's parse error (validated and recorded as a failed
    /// call like any other).
    pub input: Result<Value, ApiError>,
    /// An upper bound of the input document's size, when the adapter knows one cheaply (see
    /// `cairn_trail::record::bound_elements`).
    pub size_hint: Option<usize>,
}

/// The service and operation indices of `operation` of the service whose model module is
/// `module` (`"sso"`, `"organizations"`, …).
pub(crate) fn find(module: &str, operation: &str) -> Option<(usize, usize)> {
    let (service, (model, _)) = SERVICES
        .iter()
        .enumerate()
        .find(|(_, (m, _))| m.module == module)?;
    let op = model
        .operations
        .binary_search_by(|o| o.name.cmp(operation))
        .ok()?;
    Some((service, op))
}

/// Validates, authorizes, handles and records one call; answers its output document (in
/// the request's partition) or its error.
pub(crate) async fn execute(app: &Arc<App>, entry: Entry) -> Result<Value, ApiError> {
    let Some((model, svc)) = SERVICES.get(entry.service).copied() else {
        return Err(ApiError::internal());
    };
    let Some(op) = model.operations.get(entry.op_index) else {
        return Err(ApiError::internal());
    };
    // CloudTrail keeps at most 100 KB of parameters (cairn_trail::record::bound_elements);
    // bounding them here also spares every copy of the call's event a multi-megabyte
    // document.
    let request_parameters = match (&entry.input, op.input) {
        (Ok(doc), Some(shape)) => cairn_trail::record::bound_elements(
            trail::to_trail_document(model, shape, doc),
            entry.size_hint,
        ),
        _ => None,
    };
    let request_id = entry.request_id.clone();
    let info = CallInfo {
        request_id: entry.request_id,
        principal: entry.principal,
        region: entry.region,
        source_ip: entry.source_ip,
        user_agent: entry.user_agent,
        model,
        operation: op,
        request_parameters,
        received_ms: app.env.clock.now_millis(),
    };
    #[allow(
        clippy::disallowed_methods,
        reason = "the core is the one place a call is made, after authentication"
    )]
    let call = Call::new(info, Arc::clone(&app.env));
    let partition = call.partition();
    // The answer in the request's partition (handlers keep ARNs in `aws`).
    let result = match run(app, &call, entry.service, entry.op_index, svc, entry.input).await {
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
    result
}

/// Validate, authorize, handle.
async fn run(
    app: &App,
    call: &Call,
    service: usize,
    op_index: usize,
    svc: crate::services::Svc,
    parsed: Result<Value, ApiError>,
) -> Result<Value, ApiError> {
    let info = call.info();
    let model = info.model;
    let mut input = parsed?;
    if let Some(shape) = info.operation.input {
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
    let decision = crate::authz::authorize(app, call, service, op_index, &input).await;
    tracing::Span::current().record("decision", if decision.is_ok() { "allow" } else { "deny" });
    decision?;
    app.services
        .dispatch(svc, call, info.operation.name, input)
        .await
}
