//! Responsibility transfers (AWS's 2025 "billing transfer"):
//! `InviteOrganizationToTransferResponsibility`, `DescribeResponsibilityTransfer`,
//! `ListInboundResponsibilityTransfers`, `ListOutboundResponsibilityTransfers`,
//! `TerminateResponsibilityTransfer`, `UpdateResponsibilityTransfer`.
//!
//! Stored in `org.xfer` (`<transfer id>` → [`TransferRec`]); its tags in `org.tag` of the
//! inviting organization under the `rt-` ID.
//!
//! # The parties (AWS Billing user guide, "Billing transfers"; reason texts of the model)
//!
//! The **inviter** is the management account that will manage and pay another
//! organization's consolidated bill (the *bill-transfer* account); it is the transfer's
//! `Target`, and the transfer is *inbound* for it. The **invitee** is the management account
//! of the organization whose bill moves (the *bill-source* account); it is the transfer's
//! `Source`, the transfer is *outbound* for it, and it answers the invitation with
//! `AcceptHandshake` / `DeclineHandshake` (the inviter may `CancelHandshake`). Only
//! management accounts send, answer and see transfers.
//!
//! # States
//!
//! ```text
//! REQUESTED ──accept──▶ ACCEPTED ──Terminate──▶ WITHDRAWN (ends at EndTimestamp)
//!     ├──decline──▶ DECLINED
//!     ├──cancel───▶ CANCELED
//!     └──(not accepted by ExpirationTimestamp)──▶ EXPIRED
//! ```
//!
//! - `StartTimestamp` must be 00:00:00.000 UTC on the first day of a month
//!   (`START_DATE_NOT_BEGINNING_OF_MONTH`, `START_DATE_NOT_BEGINNING_OF_DAY`), and the
//!   invitation must be answerable at least 24 hours before it (`START_DATE_TOO_EARLY`).
//! - Either party may withdraw an accepted transfer; it ends at 23:59:59.999 UTC on the last
//!   day of a month (`END_DATE_NOT_END_OF_MONTH`), not before the transfer's first month
//!   nor in a month already past (`END_DATE_TOO_EARLY`). Withdrawing twice is
//!   `ResponsibilityTransferAlreadyInStatusException`; withdrawing an invitation that was
//!   never accepted is `InvalidResponsibilityTransferTransitionException` (cancel or decline
//!   its handshake instead).
//!
//! # Choices where AWS documents nothing (least surprising)
//!
//! - `Target.Type = ORGANIZATION` is `INVALID_PARTY_TYPE_TARGET` (AWS: "only ACCOUNT and
//!   EMAIL are supported"); a target that is no organization's management account, or does
//!   not exist, is `HandshakeConstraintViolationException` `TARGET_ACCOUNT_VALIDATION_FAILURE`.
//! - An open invitation between the same two accounts is `DuplicateHandshakeException`; an
//!   organization whose bill is already transferred (accepted, not ended) cannot be invited
//!   again (`RESPONSIBILITY_TRANSFER_ALREADY_EXISTS`).
//! - `START_DATE_TOO_LATE`: more than one year ahead.
//! - The invitation expires 15 days after it was sent (like every Organizations
//!   invitation) or 24 hours before the start, whichever is first; expiry is computed on read.
//! - Without `EndTimestamp`, a withdrawal ends the transfer at the end of the current month
//!   (or of the first month, when the transfer has not started yet).
//! - A transfer has one name, shared by both parties; either may rename it while it is
//!   `REQUESTED` or `ACCEPTED` (`TRANSFER_RESPONSIBILITY_UPDATE_NOT_ALLOWED` after).
//! - A transfer the caller is no party to is `ResponsibilityTransferNotFoundException`.
//! - The ARN is the viewer's: `arn:aws:organizations::<viewer's management account>:transfer/
//!   <viewer's organization>/billing/<inbound|outbound>/rt-…`.
//!
//! # The handshake
//!
//! The invitation is a `TRANSFER_RESPONSIBILITY` handshake stored by the handshakes module's
//! rules (`org.hs`, indexed under the inviting organization and the invited account), so
//! `DescribeHandshake`, `ListHandshakesFor…`, `AcceptHandshake`, `DeclineHandshake` and
//! `CancelHandshake` work on it unchanged. The transfer's status follows its handshake while
//! it is open: `OPEN` → `REQUESTED`, then `ACCEPTED`, `DECLINED`, `CANCELED` or `EXPIRED`;
//! `WITHDRAWN` is the transfer's own. [`check_accept`] holds the checks AWS makes when the
//! invitation is accepted, for the handshakes module to call.

use crate::authz;
use crate::hs::{self, HsRec};
use crate::model::{
    self, FORMAT, HANDSHAKES, HANDSHAKES_BY_ACCOUNT, HANDSHAKES_BY_ORG, Org, Page, TRANSFERS,
    invalid_input, require_management, require_org,
};
use crate::tags::check_new_tags;
use cairn_api::organizations::{Error, types};
use cairn_core::{Call, Failure};
use cairn_store::Tx;
use cairn_wire::{ApiError, Timestamp};
use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 86_400_000;
/// How long an invitation stays open at most.
const INVITATION_MS: i64 = 15 * DAY_MS;
/// How far ahead a transfer may start.
const MAX_LEAD_MS: i64 = 366 * DAY_MS;

// ----------------------------------------------------------------------------- records

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRec {
    pub v: u32,
    pub id: String,
    /// `BILLING`.
    pub transfer_type: String,
    /// `REQUESTED` while the invitation's handshake decides, `WITHDRAWN` once terminated.
    pub status: String,
    pub name: String,
    /// The bill-source organization (the invitee).
    pub source_account: String,
    pub source_email: String,
    pub source_org: String,
    /// The bill-transfer organization (the inviter).
    pub target_account: String,
    pub target_email: String,
    pub target_org: String,
    pub start_ms: i64,
    #[serde(default)]
    pub end_ms: Option<i64>,
    /// The invitation (`org.hs`).
    pub handshake_id: String,
}

impl TransferRec {
    /// Whether `account` is the inviter (`Some(true)`), the invitee (`Some(false)`) or no party.
    fn side(&self, account: &str) -> Option<bool> {
        if account == self.target_account {
            Some(true)
        } else if account == self.source_account {
            Some(false)
        } else {
            None
        }
    }

    fn to_api(&self, viewer: &Org, status: &str) -> types::ResponsibilityTransfer {
        let direction = if viewer.management_account_id == self.target_account {
            "inbound"
        } else {
            "outbound"
        };
        types::ResponsibilityTransfer {
            active_handshake_id: (status == "REQUESTED").then(|| self.handshake_id.clone()),
            arn: Some(format!(
                "arn:aws:organizations::{}:transfer/{}/{}/{direction}/{}",
                viewer.management_account_id,
                viewer.id,
                self.transfer_type.to_ascii_lowercase(),
                self.id
            )),
            end_timestamp: self.end_ms.map(Timestamp::from_millis),
            id: Some(self.id.clone()),
            name: Some(self.name.clone()),
            source: Some(types::TransferParticipant {
                management_account_email: Some(self.source_email.clone()),
                management_account_id: Some(self.source_account.clone()),
            }),
            start_timestamp: Some(Timestamp::from_millis(self.start_ms)),
            status: types::ResponsibilityTransferStatus::from_wire(status),
            target: Some(types::TransferParticipant {
                management_account_email: Some(self.target_email.clone()),
                management_account_id: Some(self.target_account.clone()),
            }),
            r#type: types::ResponsibilityTransferType::from_wire(&self.transfer_type),
        }
    }
}

/// The status of a transfer at `now`: its own once withdrawn, else its handshake's.
fn status_of(tx: &mut dyn Tx, rec: &TransferRec, now: i64) -> Result<String, Failure> {
    if rec.status == "WITHDRAWN" {
        return Ok(rec.status.clone());
    }
    Ok(match hs::load(tx, &rec.handshake_id)? {
        Some(hs) => match hs.state_at(now).0 {
            "OPEN" | "REQUESTED" => String::from("REQUESTED"),
            other => other.to_owned(),
        },
        None => rec.status.clone(),
    })
}

fn get(tx: &mut dyn Tx, id: &str) -> Result<Option<TransferRec>, Failure> {
    model::get_json(tx, TRANSFERS, id)
}

/// A transfer record, for the authorize step's ARN of it.
pub(crate) fn load(tx: &mut dyn Tx, id: &str) -> Result<Option<TransferRec>, Failure> {
    get(tx, id)
}

fn put(tx: &mut dyn Tx, rec: &TransferRec) -> Result<(), Failure> {
    model::put_json(tx, TRANSFERS, &rec.id, rec)
}

/// Every transfer with its status at `now`.
fn all(tx: &mut dyn Tx, now: i64) -> Result<Vec<(TransferRec, String)>, Failure> {
    let recs: Vec<TransferRec> = model::scan_json(tx, TRANSFERS, "")?;
    let mut out = Vec::with_capacity(recs.len());
    for rec in recs {
        let status = status_of(tx, &rec, now)?;
        out.push((rec, status));
    }
    Ok(out)
}

fn not_found(id: &str) -> Failure {
    Failure(ApiError::new(
        Error::ResponsibilityTransferNotFoundException,
        format!("We can't find a transfer with the ID that you specified: {id}."),
    ))
}

/// The transfer `id` as `caller` (a management account) may see it, with its status.
fn visible(
    tx: &mut dyn Tx,
    id: &str,
    caller: &str,
    now: i64,
) -> Result<(TransferRec, String), Failure> {
    match get(tx, id)? {
        Some(rec) if rec.side(caller).is_some() => {
            let status = status_of(tx, &rec, now)?;
            Ok((rec, status))
        }
        _ => Err(not_found(id)),
    }
}

fn caller_org(tx: &mut dyn Tx, caller: &str) -> Result<Org, Failure> {
    let org = require_org(tx, caller)?;
    require_management(&org, caller)?;
    Ok(org)
}

fn handshake_violation(reason: &str, message: impl Into<String>) -> Failure {
    Failure(
        ApiError::new(Error::HandshakeConstraintViolationException, message).with("Reason", reason),
    )
}

/// Whether `source` (a bill-source management account) has a transfer that was accepted
/// and has not ended, other than `except`.
fn already_transferred(
    tx: &mut dyn Tx,
    source: &str,
    except: &str,
    now: i64,
) -> Result<bool, Failure> {
    Ok(all(tx, now)?.iter().any(|(t, status)| {
        t.id != except
            && t.source_account == source
            && (status == "ACCEPTED"
                || (status == "WITHDRAWN" && t.end_ms.is_some_and(|e| e >= now)))
    }))
}

// ----------------------------------------------------------------------------- dates (UTC)

/// (year, month 1–12, day 1–31) of a day number since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The day number of (year, month, day).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// 00:00:00.000 UTC on the first day of the month after the one holding `ms`.
fn next_month_start(ms: i64) -> i64 {
    let (y, m, _) = civil_from_days(ms.div_euclid(DAY_MS));
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days_from_civil(y, m, 1) * DAY_MS
}

/// 23:59:59.999 UTC on the last day of the month holding `ms`.
fn month_end(ms: i64) -> i64 {
    next_month_start(ms) - 1
}

fn check_start(start: i64, now: i64) -> Result<(), Failure> {
    let (_, _, day) = civil_from_days(start.div_euclid(DAY_MS));
    if day != 1 {
        return Err(invalid_input(
            "START_DATE_NOT_BEGINNING_OF_MONTH",
            "You provided an invalid start date. The start date must be the first day of the month.",
        ));
    }
    if start.rem_euclid(DAY_MS) != 0 {
        return Err(invalid_input(
            "START_DATE_NOT_BEGINNING_OF_DAY",
            "You provided an invalid start date. The start date must be the beginning of the day (00:00:00.000).",
        ));
    }
    if start - DAY_MS <= now {
        return Err(invalid_input(
            "START_DATE_TOO_EARLY",
            "You provided an invalid start date. The start date is too early.",
        ));
    }
    if start - now > MAX_LEAD_MS {
        return Err(invalid_input(
            "START_DATE_TOO_LATE",
            "You provided an invalid start date. The start date is too late.",
        ));
    }
    Ok(())
}

/// The end of a withdrawn transfer: the given end of a month, or the end of the current
/// month (of the first month, before the start).
fn end_of(rec: &TransferRec, requested: Option<i64>, now: i64) -> Result<i64, Failure> {
    let earliest = month_end(now.max(rec.start_ms));
    let Some(end) = requested else {
        return Ok(earliest);
    };
    // The last second of a month's last day (SDKs may send whole seconds).
    if month_end(end) - end >= 1000 {
        return Err(invalid_input(
            "END_DATE_NOT_END_OF_MONTH",
            "You provided an invalid end date. The end date must be the end of the last day of the month (23.59.59.999).",
        ));
    }
    let end = month_end(end);
    if end < earliest {
        return Err(invalid_input(
            "END_DATE_TOO_EARLY",
            "You provided an invalid end date. It is too early for the transfer to end.",
        ));
    }
    Ok(end)
}

// ----------------------------------------------------------------------------- operations

pub(crate) async fn invite_organization_to_transfer_responsibility(
    ctx: &Call,
    input: types::InviteOrganizationToTransferResponsibilityRequest,
) -> Result<types::InviteOrganizationToTransferResponsibilityResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    let transfer_id = format!("rt-{}", ctx.ids().lower_alnum(12));
    let handshake_id = model::new_handshake_id(ctx.ids());
    authz::write(ctx, move |tx| {
        let org = caller_org(tx, &caller)?;
        let party_type = input.target.r#type.as_str();
        let party_id = input.target.id.trim().to_owned();
        // The invited account: by ID or by its root email.
        let invitee = match party_type {
            "ACCOUNT" => {
                if party_id.len() != 12 || !party_id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid_input(
                        "INVALID_PATTERN",
                        "You provided a value that doesn't match the required pattern.",
                    ));
                }
                cairn_iam::accounts::get_account(tx, &party_id)?
            }
            "EMAIL" => {
                let valid = party_id.split_once('@').is_some_and(|(local, domain)| {
                    !local.is_empty()
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !party_id.chars().any(char::is_whitespace)
                });
                if !valid {
                    return Err(invalid_input(
                        "INVALID_EMAIL_ADDRESS_TARGET",
                        "You specified an invalid email address for the invited account owner.",
                    ));
                }
                cairn_iam::accounts::list_accounts(tx)?
                    .into_iter()
                    .find(|a| a.email.eq_ignore_ascii_case(&party_id))
            }
            _ => {
                return Err(invalid_input(
                    "INVALID_PARTY_TYPE_TARGET",
                    "You specified the wrong type of entity (account, organization, or email) as a party.",
                ));
            }
        };
        let Some(invitee) = invitee else {
            return Err(handshake_violation(
                "TARGET_ACCOUNT_VALIDATION_FAILURE",
                "The account you invited can't be validated as the management account of an organization.",
            ));
        };
        if invitee.id == caller {
            return Err(handshake_violation(
                "SOURCE_AND_TARGET_CANNOT_MATCH",
                "An account can't be both the sender and the recipient of a transfer invitation.",
            ));
        }
        let Some(invitee_org) =
            model::org_of(tx, &invitee.id)?.filter(|o| o.management_account_id == invitee.id)
        else {
            return Err(handshake_violation(
                "TARGET_ACCOUNT_VALIDATION_FAILURE",
                "The account you invited can't be validated as the management account of an organization.",
            ));
        };
        check_start(input.start_timestamp.millis, now)?;
        let tags = input.tags.clone().unwrap_or_default();
        check_new_tags(&tags)?;
        for (other, status) in all(tx, now)? {
            if status == "REQUESTED"
                && other.target_account == caller
                && other.source_account == invitee.id
            {
                return Err(Failure(ApiError::new(
                    Error::DuplicateHandshakeException,
                    "A handshake with the same action and target already exists.",
                )));
            }
        }
        if already_transferred(tx, &invitee.id, "", now)? {
            return Err(handshake_violation(
                "RESPONSIBILITY_TRANSFER_ALREADY_EXISTS",
                "You cannot perform this operation with the current transfer.",
            ));
        }
        let inviter = cairn_iam::accounts::get_account(tx, &caller)?
            .ok_or_else(|| Failure(ApiError::internal()))?;
        let hs = HsRec {
            v: FORMAT,
            id: handshake_id.clone(),
            arn: org.handshake_arn("transfer_responsibility", &handshake_id),
            org_id: org.id.clone(),
            action: String::from("TRANSFER_RESPONSIBILITY"),
            state: String::from("OPEN"),
            requested_ms: now,
            expires_ms: (now + INVITATION_MS).min(input.start_timestamp.millis - DAY_MS),
            finished_ms: None,
            target_type: party_type.to_owned(),
            target_id: party_id.clone(),
            target_account: invitee.id.clone(),
            notes: input.notes.clone(),
            tags: Vec::new(),
            parent: None,
            management_account_id: caller.clone(),
            management_email: org.management_email.clone(),
            management_name: inviter.name.clone(),
            feature_set: org.feature_set.clone(),
        };
        // Stored and indexed as the handshakes module stores its own.
        model::put_json(tx, HANDSHAKES, &hs.id, &hs)?;
        tx.put(
            HANDSHAKES_BY_ORG,
            format!("{}/{}", hs.org_id, hs.id).as_bytes(),
            b"",
        )?;
        tx.put(
            HANDSHAKES_BY_ACCOUNT,
            format!("{}/{}", hs.target_account, hs.id).as_bytes(),
            b"",
        )?;
        let rec = TransferRec {
            v: FORMAT,
            id: transfer_id.clone(),
            transfer_type: input.r#type.as_str().to_owned(),
            status: String::from("REQUESTED"),
            name: input.source_name.clone(),
            source_account: invitee.id.clone(),
            source_email: invitee.email.clone(),
            source_org: invitee_org.id.clone(),
            target_account: caller.clone(),
            target_email: org.management_email.clone(),
            target_org: org.id.clone(),
            start_ms: input.start_timestamp.millis,
            end_ms: None,
            handshake_id: hs.id.clone(),
        };
        put(tx, &rec)?;
        for t in &tags {
            model::put_tag(tx, &org, &rec.id, &t.key, &t.value)?;
        }
        Ok(types::InviteOrganizationToTransferResponsibilityResponse {
            handshake: Some(handshake_api(&hs, &rec, now)),
        })
    })
    .await
}

pub(crate) async fn describe_responsibility_transfer(
    ctx: &Call,
    input: types::DescribeResponsibilityTransferRequest,
) -> Result<types::DescribeResponsibilityTransferResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    ctx.read(move |tx| {
        let org = caller_org(tx, &caller)?;
        let (rec, status) = visible(tx, &input.id, &caller, now)?;
        Ok(types::DescribeResponsibilityTransferResponse {
            responsibility_transfer: Some(rec.to_api(&org, &status)),
        })
    })
    .await
}

/// The transfers of one direction for `caller`, filtered by type and (optionally) ID.
fn list(
    tx: &mut dyn Tx,
    caller: &str,
    inbound: bool,
    transfer_type: &str,
    id: Option<&str>,
    now: i64,
) -> Result<Vec<(TransferRec, String)>, Failure> {
    let items: Vec<(TransferRec, String)> = all(tx, now)?
        .into_iter()
        .filter(|(t, _)| t.side(caller) == Some(inbound) && t.transfer_type == transfer_type)
        .filter(|(t, _)| id.is_none_or(|id| t.id == id))
        .collect();
    if let Some(id) = id
        && items.is_empty()
    {
        return Err(not_found(id));
    }
    Ok(items)
}

pub(crate) async fn list_inbound_responsibility_transfers(
    ctx: &Call,
    input: types::ListInboundResponsibilityTransfersRequest,
) -> Result<types::ListInboundResponsibilityTransfersResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    ctx.read(move |tx| {
        let org = caller_org(tx, &caller)?;
        let ty = input.r#type.as_str();
        let page = Page::new(
            format!(
                "ListInboundResponsibilityTransfers/{caller}/{ty}/{}",
                input.id.as_deref().unwrap_or("")
            ),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let items = list(tx, &caller, true, ty, input.id.as_deref(), now)?;
        let (items, next_token) = page.apply(items, |(t, _)| t.id.clone());
        Ok(types::ListInboundResponsibilityTransfersResponse {
            next_token,
            responsibility_transfers: Some(items.iter().map(|(t, s)| t.to_api(&org, s)).collect()),
        })
    })
    .await
}

pub(crate) async fn list_outbound_responsibility_transfers(
    ctx: &Call,
    input: types::ListOutboundResponsibilityTransfersRequest,
) -> Result<types::ListOutboundResponsibilityTransfersResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    ctx.read(move |tx| {
        let org = caller_org(tx, &caller)?;
        let ty = input.r#type.as_str();
        let page = Page::new(
            format!("ListOutboundResponsibilityTransfers/{caller}/{ty}"),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let items = list(tx, &caller, false, ty, None, now)?;
        let (items, next_token) = page.apply(items, |(t, _)| t.id.clone());
        Ok(types::ListOutboundResponsibilityTransfersResponse {
            next_token,
            responsibility_transfers: Some(items.iter().map(|(t, s)| t.to_api(&org, s)).collect()),
        })
    })
    .await
}

pub(crate) async fn terminate_responsibility_transfer(
    ctx: &Call,
    input: types::TerminateResponsibilityTransferRequest,
) -> Result<types::TerminateResponsibilityTransferResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    authz::write(ctx, move |tx| {
        let org = caller_org(tx, &caller)?;
        let (mut rec, status) = visible(tx, &input.id, &caller, now)?;
        match status.as_str() {
            "ACCEPTED" => {}
            "WITHDRAWN" => {
                return Err(Failure(ApiError::new(
                    Error::ResponsibilityTransferAlreadyInStatusException,
                    "The responsibility transfer is already in the status that you specified.",
                )));
            }
            other => {
                return Err(Failure(ApiError::new(
                    Error::InvalidResponsibilityTransferTransitionException,
                    format!(
                        "The responsibility transfer can't be withdrawn because it is {other}; only an accepted transfer can be."
                    ),
                )));
            }
        }
        let end = end_of(&rec, input.end_timestamp.map(|t| t.millis), now)?;
        rec.status = String::from("WITHDRAWN");
        rec.end_ms = Some(end);
        put(tx, &rec)?;
        Ok(types::TerminateResponsibilityTransferResponse {
            responsibility_transfer: Some(rec.to_api(&org, "WITHDRAWN")),
        })
    })
    .await
}

pub(crate) async fn update_responsibility_transfer(
    ctx: &Call,
    input: types::UpdateResponsibilityTransferRequest,
) -> Result<types::UpdateResponsibilityTransferResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    authz::write(ctx, move |tx| {
        let org = caller_org(tx, &caller)?;
        let (mut rec, status) = visible(tx, &input.id, &caller, now)?;
        if !matches!(status.as_str(), "REQUESTED" | "ACCEPTED") {
            return Err(model::constraint(
                "TRANSFER_RESPONSIBILITY_UPDATE_NOT_ALLOWED",
                "You can't update a transfer that was declined, canceled, expired or withdrawn.",
            ));
        }
        rec.name = input.name.clone();
        put(tx, &rec)?;
        Ok(types::UpdateResponsibilityTransferResponse {
            responsibility_transfer: Some(rec.to_api(&org, &status)),
        })
    })
    .await
}

// ----------------------------------------------------------------------------- handshake

fn resource(
    ty: types::HandshakeResourceType,
    value: impl Into<String>,
) -> types::HandshakeResource {
    types::HandshakeResource {
        resources: None,
        r#type: Some(ty),
        value: Some(value.into()),
    }
}

/// The `Handshake` shape of a transfer's invitation, with the transfer's resources.
pub(crate) fn handshake_api(hs: &HsRec, rec: &TransferRec, now: i64) -> types::Handshake {
    use types::HandshakeResourceType as R;
    let mut resources = vec![
        resource(R::ResponsibilityTransfer, rec.id.clone()),
        resource(R::TransferType, rec.transfer_type.clone()),
        resource(
            R::TransferStartTimestamp,
            Timestamp::from_millis(rec.start_ms).to_iso8601(),
        ),
        resource(R::Organization, rec.target_org.clone()),
        resource(R::ManagementAccount, rec.target_account.clone()),
        resource(R::ManagementEmail, hs.management_email.clone()),
        resource(R::ManagementName, hs.management_name.clone()),
        resource(
            if hs.target_type == "EMAIL" {
                R::Email
            } else {
                R::Account
            },
            hs.target_id.clone(),
        ),
    ];
    if let Some(notes) = &hs.notes {
        resources.push(resource(R::Notes, notes.clone()));
    }
    types::Handshake {
        action: Some(types::ActionType::TransferResponsibility),
        arn: Some(hs.arn.clone()),
        expiration_timestamp: Some(Timestamp::from_millis(hs.expires_ms)),
        id: Some(hs.id.clone()),
        parties: Some(vec![
            types::HandshakeParty {
                id: hs.org_id.clone(),
                r#type: types::HandshakePartyType::Organization,
            },
            types::HandshakeParty {
                id: hs.target_id.clone(),
                r#type: types::HandshakePartyType::from_wire(&hs.target_type)
                    .unwrap_or(types::HandshakePartyType::Account),
            },
        ]),
        requested_timestamp: Some(Timestamp::from_millis(hs.requested_ms)),
        resources: Some(resources),
        state: types::HandshakeState::from_wire(hs.state_at(now).0),
    }
}

/// The transfer a `TRANSFER_RESPONSIBILITY` handshake invites to.
pub(crate) fn of_handshake(
    tx: &mut dyn Tx,
    handshake_id: &str,
) -> Result<Option<TransferRec>, Failure> {
    let recs: Vec<TransferRec> = model::scan_json(tx, TRANSFERS, "")?;
    Ok(recs.into_iter().find(|t| t.handshake_id == handshake_id))
}

/// For the handshakes module, before it accepts a `TRANSFER_RESPONSIBILITY` handshake: the
/// checks AWS makes when a transfer invitation is accepted (both parties still manage
/// their organizations; the accepting organization's bill is not already transferred).
pub(crate) fn check_accept(tx: &mut dyn Tx, hs: &HsRec, now: i64) -> Result<(), Failure> {
    let Some(rec) = of_handshake(tx, &hs.id)? else {
        return Ok(());
    };
    if rec.source_account == rec.target_account {
        return Err(handshake_violation(
            "SOURCE_AND_TARGET_CANNOT_MATCH",
            "An account can't accept a transfer invitation if it is both the sender and recipient of the invitation.",
        ));
    }
    let source_ok = model::org_of(tx, &rec.source_account)?
        .is_some_and(|o| o.management_account_id == rec.source_account);
    if !source_ok {
        return Err(handshake_violation(
            "TARGET_ACCOUNT_VALIDATION_FAILURE",
            "Your account is no longer the management account of an organization.",
        ));
    }
    let target_ok = model::org_of(tx, &rec.target_account)?
        .is_some_and(|o| o.management_account_id == rec.target_account);
    if !target_ok {
        return Err(model::constraint(
            "TRANSFER_RESPONSIBILITY_TARGET_DELETION_IN_PROGRESS",
            "The source organization cannot accept this transfer invitation because target organization is marked for deletion.",
        ));
    }
    if already_transferred(tx, &rec.source_account, &rec.id, now)? {
        return Err(handshake_violation(
            "RESPONSIBILITY_TRANSFER_ALREADY_EXISTS",
            "You cannot perform this operation with the current transfer.",
        ));
    }
    Ok(())
}

/// For `DeleteOrganization` (`ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS`): whether `account`
/// is party to an open invitation or a transfer that has not ended.
pub(crate) fn has_active_transfer(
    tx: &mut dyn Tx,
    account: &str,
    now: i64,
) -> Result<bool, Failure> {
    Ok(all(tx, now)?.iter().any(|(t, status)| {
        t.side(account).is_some()
            && match status.as_str() {
                "REQUESTED" | "ACCEPTED" => true,
                "WITHDRAWN" => t.end_ms.is_some_and(|end| end >= now),
                _ => false,
            }
    }))
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for d in [-1000, 0, 59, 60, 11_016, 11_017, 20_000, 30_000] {
            let (y, m, day) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, day), d);
        }
        // 2024-02-15 → month end 2024-02-29T23:59:59.999Z, next start 2024-03-01.
        let feb15 = days_from_civil(2024, 2, 15) * DAY_MS + 5_000;
        assert_eq!(
            next_month_start(feb15),
            days_from_civil(2024, 3, 1) * DAY_MS
        );
        assert_eq!(month_end(feb15), days_from_civil(2024, 3, 1) * DAY_MS - 1);
        let dec = days_from_civil(2024, 12, 31) * DAY_MS;
        assert_eq!(next_month_start(dec), days_from_civil(2025, 1, 1) * DAY_MS);
    }

    #[test]
    fn start_dates() {
        let now = days_from_civil(2025, 1, 10) * DAY_MS;
        let feb1 = days_from_civil(2025, 2, 1) * DAY_MS;
        assert!(check_start(feb1, now).is_ok());
        let reason = |r: Result<(), Failure>| {
            r.err()
                .unwrap()
                .0
                .field("Reason")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        assert_eq!(
            reason(check_start(feb1 + DAY_MS, now)).as_deref(),
            Some("START_DATE_NOT_BEGINNING_OF_MONTH")
        );
        assert_eq!(
            reason(check_start(feb1 + 1000, now)).as_deref(),
            Some("START_DATE_NOT_BEGINNING_OF_DAY")
        );
        let jan1 = days_from_civil(2025, 1, 1) * DAY_MS;
        assert_eq!(
            reason(check_start(jan1, now)).as_deref(),
            Some("START_DATE_TOO_EARLY")
        );
        let far = days_from_civil(2027, 1, 1) * DAY_MS;
        assert_eq!(
            reason(check_start(far, now)).as_deref(),
            Some("START_DATE_TOO_LATE")
        );
    }
}
