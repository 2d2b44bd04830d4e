//! Service-specific credentials: a user name and password (or, for Amazon Bedrock, an API
//! key) for one service that cannot sign with SigV4 — CodeCommit's Git over HTTPS, Amazon
//! Keyspaces, Bedrock (API reference, CreateServiceSpecificCredential). Two per user and
//! service (IAM User Guide, "IAM object quotas").
//!
//! Cairn serves none of those services, so the password is shown once, as AWS shows it, and
//! not kept: nothing here could check it.
//!
//! | space      | key                                 | value           |
//! |------------|-------------------------------------|-----------------|
//! | `iam.sscr` | `<account>/<lower user>/<cred id>`  | [`ServiceCredRec`] |

use crate::common::{Ctx, fail, paginate, ts};
use crate::keys::status;
use crate::records::{self, FORMAT};
use crate::users::{named_or_caller, require_user};
use base64::Engine;
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};

const CREDS: &str = "iam.sscr";
const PER_USER_AND_SERVICE: usize = 2;
const SERVICES: &[&str] = &[
    "codecommit.amazonaws.com",
    "cassandra.amazonaws.com",
    "bedrock.amazonaws.com",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ServiceCredRec {
    pub v: u32,
    pub user: String,
    pub id: String,
    pub service: String,
    pub active: bool,
    pub created_ms: i64,
    #[serde(default)]
    pub expires_ms: Option<i64>,
}

fn prefix(account: &str, user: &str) -> String {
    format!("{account}/{}/", user.to_lowercase())
}

/// Whether the user has service-specific credentials (`DeleteUser` refuses while it does).
pub(crate) fn has_credentials(
    tx: &mut dyn Tx,
    account: &str,
    user: &str,
) -> Result<bool, StoreError> {
    Ok(tx.count(CREDS, prefix(account, user).as_bytes())? > 0)
}

/// `<user>-at-<account>` (API reference example: `JohnDoe-at-123456789012`).
fn service_user_name(user: &str, account: &str) -> String {
    format!("{user}-at-{account}")
}

fn secret(c: &Ctx) -> String {
    let mut b = [0u8; 32];
    c.ids.fill(&mut b);
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The credential with its secret: a password, or Bedrock's API key (alias and secret).
fn with_secret(c: &Ctx, r: &ServiceCredRec) -> types::ServiceSpecificCredential {
    let name = service_user_name(&r.user, &c.account);
    let bedrock = r.service == "bedrock.amazonaws.com";
    types::ServiceSpecificCredential {
        create_date: ts(r.created_ms),
        expiration_date: r.expires_ms.map(ts),
        service_credential_alias: bedrock.then(|| name.clone()),
        service_credential_secret: bedrock.then(|| format!("ABSK{}", secret(c))),
        service_name: r.service.clone(),
        service_password: (!bedrock).then(|| secret(c)),
        service_specific_credential_id: r.id.clone(),
        service_user_name: (!bedrock).then_some(name),
        status: status(r.active),
        user_name: r.user.clone(),
    }
}

fn no_credential(id: &str) -> Failure {
    // [M]: the text.
    fail(
        Error::NoSuchEntityException,
        format!("No such credential {id} exists"),
    )
}

/// The user a call is about: the one named, or the calling IAM user.
fn target(tx: &mut dyn Tx, c: &Ctx, name: Option<&str>) -> Result<records::UserRec, Failure> {
    require_user(tx, &c.account, &named_or_caller(c, name)?)
}

fn require(tx: &mut dyn Tx, c: &Ctx, user: &str, id: &str) -> Result<ServiceCredRec, Failure> {
    records::load(tx, CREDS, &format!("{}{id}", prefix(&c.account, user)))?
        .ok_or_else(|| no_credential(id))
}

fn save(tx: &mut dyn Tx, account: &str, r: &ServiceCredRec) -> Result<(), StoreError> {
    records::save(
        tx,
        CREDS,
        &format!("{}{}", prefix(account, &r.user), r.id),
        r,
    )
}

pub(crate) fn create_service_specific_credential(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::CreateServiceSpecificCredentialRequest,
) -> Result<types::CreateServiceSpecificCredentialResponse, Failure> {
    let user = require_user(tx, &c.account, &input.user_name)?;
    if !SERVICES.contains(&input.service_name.as_str()) {
        // [M]: the text.
        return Err(fail(
            Error::ServiceNotSupportedException,
            format!("Service {} is not supported.", input.service_name),
        ));
    }
    let existing: Vec<(String, ServiceCredRec)> =
        records::load_all(tx, CREDS, &prefix(&c.account, &user.name))?;
    if existing
        .iter()
        .filter(|(_, r)| r.service == input.service_name)
        .count()
        >= PER_USER_AND_SERVICE
    {
        return Err(fail(
            Error::LimitExceededException,
            format!(
                "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: {PER_USER_AND_SERVICE}"
            ),
        ));
    }
    let rec = ServiceCredRec {
        v: FORMAT,
        user: user.name.clone(),
        id: c.unique_id("ACCA"),
        service: input.service_name.clone(),
        active: true,
        created_ms: c.now_ms,
        expires_ms: input
            .credential_age_days
            .map(|d| c.now_ms + i64::from(d) * 86_400_000),
    };
    save(tx, &c.account, &rec)?;
    Ok(types::CreateServiceSpecificCredentialResponse {
        service_specific_credential: Some(with_secret(c, &rec)),
    })
}

pub(crate) fn reset_service_specific_credential(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ResetServiceSpecificCredentialRequest,
) -> Result<types::ResetServiceSpecificCredentialResponse, Failure> {
    let user = target(tx, c, input.user_name.as_deref())?;
    let rec = require(tx, c, &user.name, &input.service_specific_credential_id)?;
    Ok(types::ResetServiceSpecificCredentialResponse {
        service_specific_credential: Some(with_secret(c, &rec)),
    })
}

pub(crate) fn list_service_specific_credentials(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListServiceSpecificCredentialsRequest,
) -> Result<types::ListServiceSpecificCredentialsResponse, Failure> {
    let all_prefix = if input.all_users == Some(true) {
        format!("{}/", c.account)
    } else {
        let user = target(tx, c, input.user_name.as_deref())?;
        prefix(&c.account, &user.name)
    };
    let items = records::load_all::<ServiceCredRec>(tx, CREDS, &all_prefix)?
        .into_iter()
        .filter(|(_, r)| input.service_name.as_ref().is_none_or(|s| *s == r.service))
        .map(|(k, r)| {
            let bedrock = r.service == "bedrock.amazonaws.com";
            let name = service_user_name(&r.user, &c.account);
            let meta = types::ServiceSpecificCredentialMetadata {
                create_date: ts(r.created_ms),
                expiration_date: r.expires_ms.map(ts),
                service_credential_alias: bedrock.then(|| name.clone()),
                service_name: r.service.clone(),
                service_specific_credential_id: r.id.clone(),
                service_user_name: (!bedrock).then_some(name),
                status: status(r.active),
                user_name: r.user.clone(),
            };
            (k, meta)
        })
        .collect();
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListServiceSpecificCredentialsResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        service_specific_credentials: Some(page.items),
    })
}

pub(crate) fn update_service_specific_credential(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateServiceSpecificCredentialRequest,
) -> Result<(), Failure> {
    let user = target(tx, c, input.user_name.as_deref())?;
    let mut rec = require(tx, c, &user.name, &input.service_specific_credential_id)?;
    rec.active = input.status == types::StatusType::Active;
    save(tx, &c.account, &rec)?;
    Ok(())
}

pub(crate) fn delete_service_specific_credential(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::DeleteServiceSpecificCredentialRequest,
) -> Result<(), Failure> {
    let user = target(tx, c, input.user_name.as_deref())?;
    let rec = require(tx, c, &user.name, &input.service_specific_credential_id)?;
    tx.delete(
        CREDS,
        format!("{}{}", prefix(&c.account, &user.name), rec.id).as_bytes(),
    )?;
    Ok(())
}
