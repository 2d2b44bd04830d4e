//! Handshake records: the stored form of a handshake (`org.hs`), its indexes by organization
//! (`org.hsorg`) and by the account that answers it (`org.hsacct`), and its state machine —
//! shared by the handshake operations (`handshakes`), responsibility transfers
//! (`transfers`) and the modules that count or cancel open invitations, none of which need
//! to import each other for it.

use crate::model::{self, HANDSHAKES, HANDSHAKES_BY_ACCOUNT, HANDSHAKES_BY_ORG, Org};
use cairn_api::organizations::{Error, types};
use cairn_core::Failure;
use cairn_store::Tx;
use cairn_wire::{ApiError, Timestamp};
use serde::{Deserialize, Serialize};

/// Finished handshakes stay visible this long (30 days).
pub const RETENTION_MS: i64 = 30 * 24 * 60 * 60 * 1000;

// ----------------------------------------------------------------------------- record

/// A handshake as stored in `org.hs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HsRec {
    pub v: u32,
    pub id: String,
    pub arn: String,
    pub org_id: String,
    /// `INVITE`, `ENABLE_ALL_FEATURES`, `APPROVE_ALL_FEATURES`.
    pub action: String,
    /// As stored: `OPEN`/`REQUESTED` until answered (expiry is evaluated on read).
    pub state: String,
    pub requested_ms: i64,
    pub expires_ms: i64,
    #[serde(default)]
    pub finished_ms: Option<i64>,
    /// The party that answers: `ACCOUNT` or `EMAIL`, and the ID or address as given.
    pub target_type: String,
    pub target_id: String,
    /// The account that answers (resolved from the email for `EMAIL` targets).
    pub target_account: String,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// `APPROVE_ALL_FEATURES`: the `ENABLE_ALL_FEATURES` handshake.
    #[serde(default)]
    pub parent: Option<String>,
    pub management_account_id: String,
    pub management_email: String,
    pub management_name: String,
    pub feature_set: String,
}

/// What a caller wants to do to a handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Accept,
    Decline,
    Cancel,
}

impl Answer {
    pub(crate) fn state(self) -> &'static str {
        match self {
            Answer::Accept => "ACCEPTED",
            Answer::Decline => "DECLINED",
            Answer::Cancel => "CANCELED",
        }
    }
}

pub(crate) fn is_open(state: &str) -> bool {
    matches!(state, "OPEN" | "REQUESTED")
}

impl HsRec {
    /// The state and finish time as of `now`: an open handshake past its expiration is
    /// `EXPIRED`, finished at its expiration.
    pub fn state_at(&self, now: i64) -> (&str, Option<i64>) {
        if is_open(&self.state) && now >= self.expires_ms {
            ("EXPIRED", Some(self.expires_ms))
        } else {
            (self.state.as_str(), self.finished_ms)
        }
    }

    /// Whether reads still show it at `now` (finished ones for 30 days).
    pub fn visible_at(&self, now: i64) -> bool {
        match self.state_at(now).1 {
            Some(done) => now < done.saturating_add(RETENTION_MS),
            None => true,
        }
    }

    pub fn open_at(&self, now: i64) -> bool {
        is_open(self.state_at(now).0)
    }

    pub fn to_api(&self, now: i64) -> types::Handshake {
        let org_party = types::HandshakeParty {
            id: self.org_id.clone(),
            r#type: types::HandshakePartyType::Organization,
        };
        let res = |t: types::HandshakeResourceType, v: &str| types::HandshakeResource {
            resources: None,
            r#type: Some(t),
            value: Some(v.to_owned()),
        };
        let mut parties = vec![org_party];
        let mut resources = Vec::new();
        match self.action.as_str() {
            "INVITE" => {
                let target_type = types::HandshakePartyType::from_wire(&self.target_type)
                    .unwrap_or(types::HandshakePartyType::Account);
                parties.push(types::HandshakeParty {
                    id: self.target_id.clone(),
                    r#type: target_type,
                });
                let mut org = res(types::HandshakeResourceType::Organization, &self.org_id);
                org.resources = Some(vec![
                    res(
                        types::HandshakeResourceType::MasterEmail,
                        &self.management_email,
                    ),
                    res(
                        types::HandshakeResourceType::MasterName,
                        &self.management_name,
                    ),
                    res(
                        types::HandshakeResourceType::OrganizationFeatureSet,
                        if self.feature_set == "ALL" {
                            "FULL"
                        } else {
                            "CONSOLIDATED_BILLING"
                        },
                    ),
                ]);
                resources.push(org);
                let target = if self.target_type == "EMAIL" {
                    types::HandshakeResourceType::Email
                } else {
                    types::HandshakeResourceType::Account
                };
                resources.push(res(target, &self.target_id));
                if let Some(n) = &self.notes {
                    resources.push(res(types::HandshakeResourceType::Notes, n));
                }
            }
            "APPROVE_ALL_FEATURES" => {
                parties.push(types::HandshakeParty {
                    id: self.target_account.clone(),
                    r#type: types::HandshakePartyType::Account,
                });
                resources.push(res(
                    types::HandshakeResourceType::Organization,
                    &self.org_id,
                ));
                if let Some(p) = &self.parent {
                    resources.push(res(types::HandshakeResourceType::ParentHandshake, p));
                }
            }
            _ => {
                resources.push(res(
                    types::HandshakeResourceType::Organization,
                    &self.org_id,
                ));
            }
        }
        types::Handshake {
            action: types::ActionType::from_wire(&self.action),
            arn: Some(self.arn.clone()),
            expiration_timestamp: Some(Timestamp::from_millis(self.expires_ms)),
            id: Some(self.id.clone()),
            parties: Some(parties),
            requested_timestamp: Some(Timestamp::from_millis(self.requested_ms)),
            resources: Some(resources),
            state: types::HandshakeState::from_wire(self.state_at(now).0),
        }
    }
}

/// Whether `answer` may move a handshake in `state` (as of now); AWS's errors otherwise.
pub(crate) fn check_transition(state: &str, answer: Answer) -> Result<(), Failure> {
    if is_open(state) {
        return Ok(());
    }
    if state == answer.state() {
        return Err(Failure(ApiError::new(
            Error::HandshakeAlreadyInStateException,
            format!("The specified handshake is already in the requested state: {state}."),
        )));
    }
    Err(Failure(ApiError::new(
        Error::InvalidHandshakeTransitionException,
        format!("You can't perform the operation on the handshake in its current state ({state})."),
    )))
}

// ----------------------------------------------------------------------------- store

pub(crate) fn not_found() -> Failure {
    Failure(ApiError::new(
        Error::HandshakeNotFoundException,
        "We can't find a handshake with the HandshakeId that you specified.",
    ))
}

pub(crate) fn hs_constraint(reason: &str, message: &str) -> Failure {
    Failure(
        ApiError::new(Error::HandshakeConstraintViolationException, message).with("Reason", reason),
    )
}

/// A handshake record; `None` when absent or not of this module's shape.
pub(crate) fn load(tx: &mut dyn Tx, id: &str) -> Result<Option<HsRec>, Failure> {
    Ok(tx
        .get(HANDSHAKES, id.as_bytes())?
        .and_then(|raw| serde_json::from_slice(&raw).ok()))
}

pub(crate) fn save(tx: &mut dyn Tx, rec: &HsRec) -> Result<(), Failure> {
    model::put_json(tx, HANDSHAKES, &rec.id, rec)
}

/// Stores a new handshake with its indexes.
pub(crate) fn insert(tx: &mut dyn Tx, rec: &HsRec) -> Result<(), Failure> {
    save(tx, rec)?;
    tx.put(
        HANDSHAKES_BY_ORG,
        format!("{}/{}", rec.org_id, rec.id).as_bytes(),
        b"",
    )?;
    tx.put(
        HANDSHAKES_BY_ACCOUNT,
        format!("{}/{}", rec.target_account, rec.id).as_bytes(),
        b"",
    )?;
    Ok(())
}

/// Every handshake of an organization (stored ones of this module's shape).
/// Cancels every open handshake an organization sent (the organization is being deleted:
/// nobody can join it any more).
pub(crate) fn cancel_open_for_org(tx: &mut dyn Tx, org_id: &str, now: i64) -> Result<(), Failure> {
    for mut rec in of_org(tx, org_id)? {
        if rec.open_at(now) {
            rec.state = String::from("CANCELED");
            rec.finished_ms = Some(now);
            save(tx, &rec)?;
        }
    }
    Ok(())
}

pub(crate) fn of_org(tx: &mut dyn Tx, org_id: &str) -> Result<Vec<HsRec>, Failure> {
    let mut out = Vec::new();
    for id in model::scan_ids(tx, HANDSHAKES_BY_ORG, &format!("{org_id}/"))? {
        if let Some(rec) = load(tx, &id)? {
            out.push(rec);
        }
    }
    Ok(out)
}

/// Open invitations of the organization (they count toward its account quota).
pub(crate) fn pending_invites(tx: &mut dyn Tx, org: &Org, now: i64) -> Result<usize, Failure> {
    Ok(of_org(tx, &org.id)?
        .iter()
        .filter(|h| h.action == "INVITE" && h.open_at(now))
        .count())
}
