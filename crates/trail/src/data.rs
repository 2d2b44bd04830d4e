//! The cloudtrail-data API: `PutAuditEvents` into a channel ([`crate::channels`]).

use crate::channels::{self, MAX_BYTES, MAX_EVENTS};
use cairn_api::cloudtrail_data::types::{
    AuditEventResultEntry, PutAuditEventsRequest, PutAuditEventsResponse, ResultErrorEntry,
};
use cairn_api::cloudtrail_data::{CloudTrailData, Error};
use cairn_core::{Call, Failure};
use cairn_wire::ApiError;

/// The cloudtrail-data API.
#[derive(Debug, Clone, Copy, Default)]
pub struct CloudTrailDataService;

fn fail(code: Error, message: impl Into<String>) -> Failure {
    Failure(ApiError::new(code, message))
}

fn base64_sha256(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
}

impl CloudTrailData for CloudTrailDataService {
    type Context = Call;

    async fn put_audit_events(
        &self,
        ctx: &Call,
        input: PutAuditEventsRequest,
    ) -> Result<PutAuditEventsResponse, ApiError> {
        let account = ctx.account_id().to_owned();
        let region = ctx.info().region.clone();
        let now = ctx.now_ms();
        let ids = ctx.ids_arc();
        let Some((c_region, c_account, _)) = channels::parse_arn(&input.channel_arn) else {
            return Err(ApiError::new(
                Error::InvalidChannelARN,
                format!("The channel ARN {} is not valid.", input.channel_arn),
            ));
        };
        let _ = &c_account;
        if input.audit_events.is_empty() || input.audit_events.len() > MAX_EVENTS {
            return Err(ApiError::new(
                Error::ChannelUnsupportedSchema,
                format!("A call takes 1 to {MAX_EVENTS} audit events."),
            ));
        }
        let total: usize = input.audit_events.iter().map(|e| e.event_data.len()).sum();
        if total > MAX_BYTES {
            return Err(ApiError::new(
                Error::ChannelUnsupportedSchema,
                format!("The events' data exceeds {MAX_BYTES} bytes."),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for e in &input.audit_events {
            if !seen.insert(e.id.as_str()) {
                return Err(ApiError::new(
                    Error::DuplicatedAuditEventId,
                    format!("Two events have the ID {}.", e.id),
                ));
            }
        }
        ctx.write(move |tx| {
            let _ = &c_region;
            let Some(mut ch) = channels::by_arn(tx, &input.channel_arn)? else {
                return Err(fail(
                    Error::ChannelNotFound,
                    format!("The channel {} does not exist.", input.channel_arn),
                ));
            };
            // Another account's channel takes events only where its resource policy allows
            // the caller's account.
            if ch.account != account
                && !ch
                    .resource_policy
                    .as_deref()
                    .is_some_and(|p| channels::policy_allows_put(p, &account))
            {
                return Err(fail(
                    Error::ChannelInsufficientPermission,
                    "The caller's account ID must be the same as the channel owner's account ID, or the channel's resource policy must allow it.",
                ));
            }
            let mut successful = Vec::new();
            let mut failed = Vec::new();
            let mut records = Vec::new();
            for e in &input.audit_events {
                let reject = |code: &str, msg: String| ResultErrorEntry {
                    error_code: code.to_owned(),
                    error_message: msg,
                    id: e.id.clone(),
                };
                if let Some(sum) = &e.event_data_checksum
                    && *sum != base64_sha256(e.event_data.as_bytes())
                {
                    failed.push(reject(
                        "InvalidChecksum",
                        "eventDataChecksum does not match eventData (base64 of its SHA-256)."
                            .to_owned(),
                    ));
                    continue;
                }
                let data: serde_json::Value = match serde_json::from_str(&e.event_data) {
                    Ok(v) => v,
                    Err(err) => {
                        failed.push(reject(
                            "InvalidJson",
                            format!("eventData is not JSON: {err}"),
                        ));
                        continue;
                    }
                };
                if let Some(problem) = channels::schema_problem(&data) {
                    failed.push(reject("ChannelUnsupportedSchema", problem));
                    continue;
                }
                let event_id = ids.uuid_v7(now);
                let source = data
                    .get("eventSource")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let name = data
                    .get("eventName")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                // The record: the event as given, in an envelope naming its channel.
                let record = serde_json::json!({
                    "eventVersion": "1.0",
                    "eventCategory": "ActivityAuditLog",
                    "eventID": event_id,
                    "eventTime": crate::record::format_event_time(now),
                    "eventSource": source,
                    "eventName": name,
                    "awsRegion": region,
                    "recipientAccountId": ch.account,
                    "managementEvent": false,
                    "channelArn": ch.arn(),
                    "eventData": data,
                })
                .to_string();
                records.push(crate::layout::Encoded::raw(
                    now, &event_id, &account, &name, &source, &record,
                )?);
                successful.push(AuditEventResultEntry {
                    event_id: event_id.clone(),
                    id: e.id.clone(),
                });
                ch.latest_success_event_id = Some(event_id);
                ch.latest_success_ms = Some(now);
            }
            if !records.is_empty() {
                crate::layout::put_batch(tx, &records)?;
                channels::put(tx, &ch)?;
            }
            Ok(PutAuditEventsResponse { failed, successful })
        })
        .await
    }
}
