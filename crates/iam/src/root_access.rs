//! Centralized root access for member accounts (IAM User Guide, "Centrally manage root access
//! for member accounts"): the organization-wide features `RootCredentialsManagement` and
//! `RootSessions`, enabled from the management account once trusted access for
//! `iam.amazonaws.com` is on, and the checks `sts:AssumeRoot` makes before it issues a
//! member account's privileged root session ([`check_assume_root`]).
//!
//! Organizations depends on IAM, so IAM asks it through [`cairn_core::ResourceFacts`]
//! (`service_standing`), handed in by the binary ([`Orgs`]).
//!
//! Store space `iam.root_features`: organization ID → [`FeaturesRec`]. A record outlives the
//! organization's trusted access (disabling trusted access does not clear it; the features
//! then answer `ServiceAccessNotEnabledException` until it is enabled again) — [M].

use crate::common::fail;
use cairn_api::iam::{Error, types::FeatureType};
use cairn_core::{Failure, ResourceFacts, ServiceStanding};
use cairn_store::Tx;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

const FEATURES: &str = "iam.root_features";
const FORMAT: u32 = 1;
/// The service principal of IAM in Organizations.
pub(crate) const IAM_PRINCIPAL: &str = "iam.amazonaws.com";

/// How IAM and STS reach Organizations: `None` in services built without it (unit tests of
/// other services), where every account is outside any organization.
#[derive(Clone, Default)]
pub struct Orgs(Option<Arc<dyn ResourceFacts>>);

impl Orgs {
    pub fn new(orgs: Arc<dyn ResourceFacts>) -> Self {
        Self(Some(orgs))
    }

    pub(crate) fn standing(
        &self,
        tx: &mut dyn Tx,
        account: &str,
    ) -> Result<Option<ServiceStanding>, Failure> {
        match &self.0 {
            Some(o) => Ok(o.service_standing(tx, account, IAM_PRINCIPAL)?),
            None => Ok(None),
        }
    }

    /// The entity of `org_id` that `entity_path` names (`None`: none, or no Organizations).
    pub(crate) fn entity(
        &self,
        tx: &mut dyn Tx,
        org_id: &str,
        entity_path: &str,
    ) -> Result<Option<cairn_core::OrgEntity>, Failure> {
        match &self.0 {
            Some(o) => Ok(o.org_entity(tx, org_id, entity_path)?),
            None => Ok(None),
        }
    }

    /// The type and parsed document of policy `policy_id` of `org_id`.
    pub(crate) fn policy(
        &self,
        tx: &mut dyn Tx,
        org_id: &str,
        policy_id: &str,
    ) -> Result<Option<(String, Arc<cairn_policy::Policy>)>, Failure> {
        match &self.0 {
            Some(o) => Ok(o.org_policy(tx, org_id, policy_id)?),
            None => Ok(None),
        }
    }
}

impl std::fmt::Debug for Orgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Orgs").field(&self.0.is_some()).finish()
    }
}

/// The features an organization enabled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FeaturesRec {
    v: u32,
    pub credentials_management: bool,
    pub root_sessions: bool,
}

impl FeaturesRec {
    /// As the API lists them, in the model's order.
    fn listed(self) -> Vec<FeatureType> {
        let mut out = Vec::new();
        if self.credentials_management {
            out.push(FeatureType::RootCredentialsManagement);
        }
        if self.root_sessions {
            out.push(FeatureType::RootSessions);
        }
        out
    }
}

pub(crate) fn features(tx: &mut dyn Tx, org_id: &str) -> Result<FeaturesRec, Failure> {
    Ok(crate::records::load(tx, FEATURES, org_id)?.unwrap_or_default())
}

// The texts are the API reference's descriptions of the errors; [M] whether AWS answers
// with exactly these.
pub(crate) fn no_org() -> Failure {
    fail(
        Error::OrganizationNotFoundException,
        "The request was rejected because no organization is associated with your account.",
    )
}

fn not_all_features() -> Failure {
    fail(
        Error::OrganizationNotInAllFeaturesModeException,
        "The request was rejected because your organization does not have All features enabled.",
    )
}

fn no_service_access() -> Failure {
    fail(
        Error::ServiceAccessNotEnabledException,
        "The request was rejected because trusted access is not enabled for IAM in Organizations.",
    )
}

fn not_management_or_admin() -> Failure {
    fail(
        Error::AccountNotManagementOrDelegatedAdministratorException,
        "The request was rejected because the account making the request is not the management account or delegated administrator account for centralized root access.",
    )
}

pub(crate) fn not_management() -> Failure {
    fail(
        Error::CallerIsNotManagementAccountException,
        "The request was rejected because the account making the request is not the management account for the organization.",
    )
}

/// Who may call: the organization's management account, or (unless `management_only`) IAM's
/// delegated administrator. Checked in the order the prerequisites are listed: an
/// organization, all features, trusted access, then the caller. [M]: the order, and that a
/// delegated administrator calling an `Enable…` operation is told
/// `CallerIsNotManagementAccountException`.
fn standing(
    orgs: &Orgs,
    tx: &mut dyn Tx,
    account: &str,
    management_only: bool,
) -> Result<ServiceStanding, Failure> {
    let s = orgs.standing(tx, account)?.ok_or_else(no_org)?;
    if !s.all_features {
        return Err(not_all_features());
    }
    if !s.trusted_access {
        return Err(no_service_access());
    }
    let management = s.management_account_id == account;
    if !management && !s.delegated_admin {
        return Err(not_management_or_admin());
    }
    if management_only && !management {
        return Err(not_management());
    }
    Ok(s)
}

/// A change of one feature.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change {
    CredentialsManagement(bool),
    RootSessions(bool),
}

/// `ListOrganizationsFeatures`: the organization's ID and its enabled features.
pub(crate) fn list(
    orgs: &Orgs,
    tx: &mut dyn Tx,
    account: &str,
) -> Result<(String, Vec<FeatureType>), Failure> {
    let s = standing(orgs, tx, account, false)?;
    let f = features(tx, &s.org_id)?;
    Ok((s.org_id, f.listed()))
}

/// `Enable…` / `Disable…`: enabling is for the management account only, disabling also for
/// the delegated administrator (the operations' error lists). Idempotent.
pub(crate) fn change(
    orgs: &Orgs,
    tx: &mut dyn Tx,
    account: &str,
    change: Change,
) -> Result<(String, Vec<FeatureType>), Failure> {
    let enabling = matches!(
        change,
        Change::CredentialsManagement(true) | Change::RootSessions(true)
    );
    let s = standing(orgs, tx, account, enabling)?;
    let mut f = features(tx, &s.org_id)?;
    f.v = FORMAT;
    match change {
        Change::CredentialsManagement(on) => f.credentials_management = on,
        Change::RootSessions(on) => f.root_sessions = on,
    }
    crate::records::save(tx, FEATURES, &s.org_id, &f)?;
    Ok((s.org_id, f.listed()))
}

/// Why `sts:AssumeRoot` refuses a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RootRefusal {
    /// The caller may not issue root sessions (not the management account or the delegated
    /// administrator, or `RootSessions` is not enabled).
    NotAllowed,
    /// The target is not a member account of the caller's organization (or is the
    /// management account itself).
    NotMember,
}

/// Whether `caller_account` may open a privileged root session in `target`: it is the
/// management account or IAM's delegated administrator of an organization with all features,
/// trusted access for IAM and `RootSessions` enabled, and `target` is another member account
/// of it — not the management account.
pub(crate) fn check_assume_root(
    orgs: &Orgs,
    tx: &mut dyn Tx,
    caller_account: &str,
    target: &str,
) -> Result<Result<(), RootRefusal>, Failure> {
    let Ok(s) = standing(orgs, tx, caller_account, false) else {
        return Ok(Err(RootRefusal::NotAllowed));
    };
    if !features(tx, &s.org_id)?.root_sessions {
        return Ok(Err(RootRefusal::NotAllowed));
    }
    let member = orgs
        .standing(tx, target)?
        .is_some_and(|t| t.org_id == s.org_id);
    if !member || target == s.management_account_id {
        return Ok(Err(RootRefusal::NotMember));
    }
    Ok(Ok(()))
}
