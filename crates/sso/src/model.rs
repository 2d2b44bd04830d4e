//! What the Identity Center modules share: the store spaces, the instance record, JSON
//! helpers, IDs and pagination.
//!
//! Spaces (keys are UTF-8; `/` separates parts — no part contains one):
//! - `sso.instance` — instance ID (`ssoins-…`) → [`InstanceRec`];
//! - `sso.instance_of` — owner account → instance ID (an account owns at most one instance);
//! - `sso.store` — identity store ID (`d-…`) → instance ID;
//! - the directory's spaces, listed in `directory.rs`.

use cairn_core::{Failure, Ids};
use cairn_store::Tx;
use cairn_wire::ApiError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub const INSTANCES: &str = "sso.instance";
pub const INSTANCE_OF: &str = "sso.instance_of";
pub const STORES: &str = "sso.store";

/// The record format version.
pub const FORMAT: u32 = 1;

/// The service principal of IAM Identity Center (trusted access, delegated administrators).
pub const SSO_PRINCIPAL: &str = "sso.amazonaws.com";

/// An Identity Center instance and its identity store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRec {
    pub v: u32,
    /// `ssoins-` and 16 hex digits.
    pub id: String,
    /// `d-` and 10 hex digits.
    pub store_id: String,
    /// The account that owns it: the management account for an organization instance.
    pub owner: String,
    /// The organization, for an organization instance; `None` for an account instance.
    #[serde(default)]
    pub org_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// `CREATE_IN_PROGRESS`, `ACTIVE`, `DELETE_IN_PROGRESS`.
    pub status: String,
    /// The home region (where it was enabled).
    pub region: String,
    /// The home region's partition (a replica must be in it). The instance's ARNs, like all
    /// of Cairn's, are kept in `aws` and rendered into each request's partition (see
    /// `cairn_core::partition`).
    pub partition: String,
    pub created_ms: i64,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// `CreateInstance`'s `ClientToken` (a retry with it answers the same instance).
    #[serde(default)]
    pub client_token: Option<String>,
    /// `UpdateInstance(PermissionSetsEnabled=true)` on an account instance (an
    /// organization instance always has permission sets).
    #[serde(default)]
    pub permission_sets_enabled: bool,
    /// The access portal's settings (`cairn sso settings`).
    #[serde(default)]
    pub portal: PortalSettings,
}

/// How the access portal signs people in — the console's Identity Center "Settings >
/// Authentication" choices, which AWS offers no API for (Cairn: `cairn sso settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSettings {
    /// "Prompt users for MFA": `CONTEXT_AWARE` (only when the sign-in context changes: a
    /// browser not seen before), `ALWAYS_ON` (every time they sign in), `DISABLED` (never).
    pub mfa: String,
    /// "If a user does not yet have a registered MFA device": `REQUIRE_REGISTRATION` (at
    /// sign-in), `BLOCK` (their sign-in), `ALLOW` (them to sign in).
    pub without_device: String,
    /// The portal session's duration, seconds (User Guide, "Configure the duration of …
    /// sessions": 15 minutes to 90 days, default 8 hours).
    pub session_duration_s: i64,
}

pub const MFA_CONTEXT_AWARE: &str = "CONTEXT_AWARE";
pub const MFA_ALWAYS_ON: &str = "ALWAYS_ON";
pub const MFA_DISABLED: &str = "DISABLED";
pub const NO_DEVICE_REGISTER: &str = "REQUIRE_REGISTRATION";
pub const NO_DEVICE_BLOCK: &str = "BLOCK";
pub const NO_DEVICE_ALLOW: &str = "ALLOW";

impl Default for PortalSettings {
    /// MFA on, context-aware, and users without a device register one at sign-in: the
    /// defaults of instances AWS creates now (User Guide, "Configure MFA") [M: as the
    /// console shows them; AWS publishes no API].
    fn default() -> Self {
        PortalSettings {
            mfa: MFA_CONTEXT_AWARE.to_owned(),
            without_device: NO_DEVICE_REGISTER.to_owned(),
            session_duration_s: 8 * 3600,
        }
    }
}

impl InstanceRec {
    pub fn arn(&self) -> String {
        format!(
            "arn:{}:sso:::instance/{}",
            cairn_core::partition::CANONICAL,
            self.id
        )
    }

    pub fn store_arn(&self) -> String {
        format!(
            "arn:{}:identitystore::{}:identitystore/{}",
            cairn_core::partition::CANONICAL,
            self.owner,
            self.store_id
        )
    }

    /// The 10 hex digits of the identity store ID, which prefix its users' and groups' IDs.
    pub fn store_hex(&self) -> &str {
        self.store_id.strip_prefix("d-").unwrap_or(&self.store_id)
    }
}

pub fn corrupt(space: &str) -> Failure {
    tracing::error!(space, "undecodable record");
    Failure(ApiError::internal())
}

pub fn get_json<T: DeserializeOwned>(
    tx: &mut dyn Tx,
    space: &str,
    key: &str,
) -> Result<Option<T>, Failure> {
    match tx.get(space, key.as_bytes())? {
        None => Ok(None),
        Some(raw) => serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|_| corrupt(space)),
    }
}

pub fn put_json<T: Serialize>(
    tx: &mut dyn Tx,
    space: &str,
    key: &str,
    value: &T,
) -> Result<(), Failure> {
    let raw = serde_json::to_vec(value).map_err(|_| Failure(ApiError::internal()))?;
    tx.put(space, key.as_bytes(), &raw)?;
    Ok(())
}

/// The string values under `prefix`, in key order.
pub fn scan_strings(
    tx: &mut dyn Tx,
    space: &str,
    prefix: &str,
) -> Result<Vec<(String, String)>, Failure> {
    let mut out = Vec::new();
    for (k, v) in tx.scan_prefix(space, prefix.as_bytes(), false, usize::MAX)? {
        let k = String::from_utf8(k).map_err(|_| corrupt(space))?;
        let v = String::from_utf8(v).map_err(|_| corrupt(space))?;
        out.push((k, v));
    }
    Ok(out)
}

pub fn instance(tx: &mut dyn Tx, id: &str) -> Result<Option<InstanceRec>, Failure> {
    get_json(tx, INSTANCES, id)
}

pub fn instance_of_account(tx: &mut dyn Tx, account: &str) -> Result<Option<InstanceRec>, Failure> {
    match tx.get(INSTANCE_OF, account.as_bytes())? {
        None => Ok(None),
        Some(id) => {
            let id = String::from_utf8(id).map_err(|_| corrupt(INSTANCE_OF))?;
            instance(tx, &id)
        }
    }
}

pub fn instance_of_store(tx: &mut dyn Tx, store_id: &str) -> Result<Option<InstanceRec>, Failure> {
    match tx.get(STORES, store_id.as_bytes())? {
        None => Ok(None),
        Some(id) => {
            let id = String::from_utf8(id).map_err(|_| corrupt(STORES))?;
            instance(tx, &id)
        }
    }
}

pub fn save_instance(tx: &mut dyn Tx, rec: &InstanceRec) -> Result<(), Failure> {
    put_json(tx, INSTANCES, &rec.id, rec)?;
    tx.put(INSTANCE_OF, rec.owner.as_bytes(), rec.id.as_bytes())?;
    tx.put(STORES, rec.store_id.as_bytes(), rec.id.as_bytes())?;
    Ok(())
}

pub fn remove_instance(tx: &mut dyn Tx, rec: &InstanceRec) -> Result<(), Failure> {
    tx.delete(INSTANCES, rec.id.as_bytes())?;
    tx.delete(INSTANCE_OF, rec.owner.as_bytes())?;
    tx.delete(STORES, rec.store_id.as_bytes())?;
    Ok(())
}

/// A new instance record (`CREATE_IN_PROGRESS`).
pub fn new_instance(
    ids: &dyn Ids,
    now_ms: i64,
    owner: &str,
    org_id: Option<&str>,
    region: &str,
    name: Option<String>,
) -> InstanceRec {
    InstanceRec {
        v: FORMAT,
        id: format!("ssoins-{}", ids.hex(16)),
        store_id: format!("d-{}", ids.hex(10)),
        owner: owner.to_owned(),
        org_id: org_id.map(str::to_owned),
        name,
        status: String::from("CREATE_IN_PROGRESS"),
        region: region.to_owned(),
        partition: cairn_core::partition_of(region).to_owned(),
        created_ms: now_ms,
        tags: Vec::new(),
        client_token: None,
        permission_sets_enabled: false,
        portal: PortalSettings::default(),
    }
}

/// The part of an ARN-or-ID after its last `/` (the model lets an identity store ID, and
/// a user, group or membership ID, be given as its ARN).
pub fn bare_id(id: &str) -> &str {
    if id.starts_with("arn:") {
        id.rsplit('/').next().unwrap_or(id)
    } else {
        id
    }
}

/// Pagination: Organizations' tokens (bound to the caller and the query), with
/// Identity Center's page sizes and errors.
pub use cairn_organizations::model::Page;

/// Whether `account` may administer `inst`: its owner, or — for an organization instance —
/// a delegated administrator for `sso.amazonaws.com` in that organization.
pub fn may_administer(
    tx: &mut dyn Tx,
    orgs: &dyn cairn_core::ResourceFacts,
    inst: &InstanceRec,
    account: &str,
) -> Result<bool, Failure> {
    if inst.owner == account {
        return Ok(true);
    }
    let Some(org_id) = &inst.org_id else {
        return Ok(false);
    };
    let same_org = cairn_organizations::org_of(tx, account)?.is_some_and(|o| &o.id == org_id);
    Ok(same_org && orgs.is_delegated_admin(tx, account, SSO_PRINCIPAL)?)
}

/// The parts of a call the sso-admin modules need, owned (write closures may run more than
/// once and must be `'static`).
#[derive(Clone)]
pub struct AdminCtx {
    /// The caller's account.
    pub account: String,
    /// The caller's ARN (`CreatedBy`-style fields).
    pub caller_arn: String,
    pub now_ms: i64,
    /// The region the call was made in.
    pub region: String,
    /// The call's request ID.
    pub request_id: String,
    pub ids: std::sync::Arc<dyn Ids>,
}
