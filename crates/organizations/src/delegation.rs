//! Trusted access, delegated administrators and the organization's resource-based
//! delegation policy: `EnableAWSServiceAccess`, `DisableAWSServiceAccess`,
//! `ListAWSServiceAccessForOrganization`, `RegisterDelegatedAdministrator`,
//! `DeregisterDelegatedAdministrator`, `ListDelegatedAdministrators`,
//! `ListDelegatedServicesForAccount`, `PutResourcePolicy`, `DescribeResourcePolicy`,
//! `DeleteResourcePolicy`.
//!
//! Stored in `org.svc` (`<org>/<service principal>` → [`ServiceAccessRec`]), `org.dadm`
//! (`<org>/<account>/<service principal>` → [`DelegatedAdminRec`]) and `org.rp` (`<org>` →
//! [`ResourcePolicyRec`]); the resource policy's tags live in `org.tag` under its `rp-` ID.
//!
//! Rules as AWS documents them:
//! - Trusted access needs an organization with all features; every operation here but the
//!   list/describe ones is the management account's alone; the list operations and
//!   `DescribeResourcePolicy` are also open to delegated administrators.
//! - A delegated administrator must be a member account (`CANNOT_REGISTER_MASTER_AS_…`), not
//!   suspended, registered once per service (`AccountAlreadyRegisteredException`), and the
//!   service must have trusted access first (`SERVICE_ACCESS_NOT_ENABLED`). Services that take
//!   one delegated administrator answer a second with `DELEGATED_ADMINISTRATOR_EXISTS_FOR_THIS_SERVICE`,
//!   those that take several answer one too many with
//!   `MAX_DELEGATED_ADMINISTRATORS_FOR_SERVICE_LIMIT_EXCEEDED`.
//! - `PutResourcePolicy` declares no `MalformedPolicyDocumentException` in AWS's model: a
//!   document that does not parse is `InvalidInputException` `INVALID_RESOURCE_POLICY_JSON`,
//!   an action the delegation policy cannot grant `UNSUPPORTED_ACTION_IN_RESOURCE_POLICY`,
//!   a non-AWS principal `INVALID_PRINCIPAL`.
//!
//! Choices where AWS documents nothing (least surprising):
//! - Enabling trusted access that is already enabled, and disabling it when it is not, succeed
//!   and change nothing (the date of the first enablement is kept).
//! - Disabling trusted access deregisters the service's delegated administrators (registration
//!   requires trusted access); it fails with `POLICY_TYPE_ENABLED_FOR_THIS_SERVICE` while the
//!   policy type that service manages is enabled on the root.
//! - `ListDelegatedAdministrators` without a filter lists each account once, with the date of
//!   its earliest registration.
//! - `PutResourcePolicy` on an existing policy keeps its `rp-` ID; `Tags` apply when the
//!   policy is created (as `CreatePolicy`'s do), later tag changes go through `TagResource`.

use crate::authz;
use crate::model::{
    self, DELEGATED_ADMINS, FORMAT, Org, Page, RESOURCE_POLICY, SERVICE_ACCESS, constraint,
    invalid_input, require_management, require_management_or_delegated, require_org,
};
use cairn_api::organizations::{Error, Operation, types};
use cairn_core::{Call, Failure};
use cairn_policy::{Policy, PolicyKind};
use cairn_store::Tx;
use cairn_wire::{ApiError, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

// ----------------------------------------------------------------------------- records

/// Trusted access enabled for a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccessRec {
    pub v: u32,
    pub service_principal: String,
    pub enabled_ms: i64,
}

/// A member account registered as delegated administrator for a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedAdminRec {
    pub v: u32,
    pub account_id: String,
    pub service_principal: String,
    pub enabled_ms: i64,
}

/// The organization's resource-based delegation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourcePolicyRec {
    pub v: u32,
    pub id: String,
    pub content: String,
    pub updated_ms: i64,
}

/// The ID of the organization's resource policy, if it has one.
pub(crate) fn resource_policy_id(tx: &mut dyn Tx, org: &Org) -> Result<Option<String>, Failure> {
    let rec: Option<ResourcePolicyRec> = model::get_json(tx, RESOURCE_POLICY, &org.id)?;
    Ok(rec.map(|r| r.id))
}

impl ResourcePolicyRec {
    fn arn(&self, org: &Org) -> String {
        format!(
            "arn:aws:organizations::{}:resourcepolicy/{}/{}",
            org.management_account_id, org.id, self.id
        )
    }

    fn to_api(&self, org: &Org) -> types::ResourcePolicy {
        types::ResourcePolicy {
            content: Some(self.content.clone()),
            resource_policy_summary: Some(types::ResourcePolicySummary {
                arn: Some(self.arn(org)),
                id: Some(self.id.clone()),
            }),
        }
    }
}

// ----------------------------------------------------------------------------- services

/// How many delegated administrators a service takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delegation {
    /// Trusted access only.
    None,
    /// At most this many; 1 means "a second is DELEGATED_ADMINISTRATOR_EXISTS_FOR_THIS_SERVICE".
    Max(usize),
}

/// AWS services that integrate with Organizations ("AWS services that you can use with AWS
/// Organizations"), with their delegated-administrator support. Numbers above one are AWS's
/// documented per-service maxima where known.
const SERVICES: &[(&str, Delegation)] = &[
    ("access-analyzer.amazonaws.com", Delegation::Max(1)),
    ("account.amazonaws.com", Delegation::Max(1)),
    ("auditmanager.amazonaws.com", Delegation::Max(1)),
    ("aws-artifact-account-sync.amazonaws.com", Delegation::None),
    ("backup.amazonaws.com", Delegation::Max(1)),
    ("bcm-data-exports.amazonaws.com", Delegation::None),
    ("cloudtrail.amazonaws.com", Delegation::Max(3)),
    ("compute-optimizer.amazonaws.com", Delegation::Max(1)),
    ("config-multiaccountsetup.amazonaws.com", Delegation::Max(3)),
    ("config.amazonaws.com", Delegation::Max(3)),
    ("controltower.amazonaws.com", Delegation::None),
    (
        "cost-optimization-hub.bcm.amazonaws.com",
        Delegation::Max(1),
    ),
    ("detective.amazonaws.com", Delegation::Max(1)),
    ("devops-guru.amazonaws.com", Delegation::Max(1)),
    ("ds.amazonaws.com", Delegation::None),
    ("fms.amazonaws.com", Delegation::Max(10)),
    ("guardduty.amazonaws.com", Delegation::Max(1)),
    ("health.amazonaws.com", Delegation::Max(5)),
    ("iam.amazonaws.com", Delegation::Max(1)),
    ("inspector2.amazonaws.com", Delegation::Max(1)),
    ("ipam.amazonaws.com", Delegation::Max(1)),
    (
        "license-management.marketplace.amazonaws.com",
        Delegation::Max(1),
    ),
    ("license-manager.amazonaws.com", Delegation::Max(1)),
    (
        "license-manager.member-account.amazonaws.com",
        Delegation::None,
    ),
    ("macie.amazonaws.com", Delegation::Max(1)),
    (
        "member.org.stacksets.cloudformation.amazonaws.com",
        Delegation::Max(5),
    ),
    ("mgn.amazonaws.com", Delegation::Max(1)),
    ("ram.amazonaws.com", Delegation::None),
    (
        "reachabilityanalyzer.networkinsights.amazonaws.com",
        Delegation::Max(5),
    ),
    ("reporting.trustedadvisor.amazonaws.com", Delegation::None),
    ("securityhub.amazonaws.com", Delegation::Max(1)),
    ("securitylake.amazonaws.com", Delegation::Max(1)),
    ("servicecatalog.amazonaws.com", Delegation::Max(1)),
    ("servicequotas.amazonaws.com", Delegation::None),
    ("ssm.amazonaws.com", Delegation::Max(1)),
    ("sso.amazonaws.com", Delegation::Max(1)),
    ("storage-lens.s3.amazonaws.com", Delegation::Max(5)),
    ("tagpolicies.tag.amazonaws.com", Delegation::None),
    ("wellarchitected.amazonaws.com", Delegation::Max(1)),
];

/// Policy types tied to a service's trusted access: disabling the access while the type is
/// enabled is `POLICY_TYPE_ENABLED_FOR_THIS_SERVICE`.
const SERVICE_POLICY_TYPES: &[(&str, &str)] = &[
    ("backup.amazonaws.com", "BACKUP_POLICY"),
    ("inspector2.amazonaws.com", "INSPECTOR_POLICY"),
    ("securityhub.amazonaws.com", "SECURITYHUB_POLICY"),
];

fn service(principal: &str) -> Result<Delegation, Failure> {
    SERVICES
        .iter()
        .find(|(p, _)| *p == principal)
        .map(|(_, d)| *d)
        .ok_or_else(|| {
            invalid_input(
                "UNRECOGNIZED_SERVICE_PRINCIPAL",
                format!("You specified an unrecognized service principal: {principal}."),
            )
        })
}

fn require_all_features(org: &Org) -> Result<(), Failure> {
    if org.is_all_features() {
        Ok(())
    } else {
        Err(constraint(
            "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE",
            "This operation requires the organization to have all features enabled.",
        ))
    }
}

fn account_not_found(account_id: &str) -> Failure {
    Failure(ApiError::new(
        Error::AccountNotFoundException,
        format!("You specified an account that doesn't exist in this organization: {account_id}."),
    ))
}

fn service_key(org: &Org, principal: &str) -> String {
    format!("{}/{principal}", org.id)
}

fn dadm_key(org: &Org, account_id: &str, principal: &str) -> String {
    format!("{}/{account_id}/{principal}", org.id)
}

/// Every delegated-administrator registration of the organization.
fn registrations(tx: &mut dyn Tx, org: &Org) -> Result<Vec<DelegatedAdminRec>, Failure> {
    model::scan_json(tx, DELEGATED_ADMINS, &format!("{}/", org.id))
}

/// Whether `account` is a registered delegated administrator for `principal` in its
/// organization, with trusted access for that service enabled.
pub(crate) fn is_delegated_admin(
    tx: &mut dyn Tx,
    account: &str,
    principal: &str,
) -> Result<bool, Failure> {
    let Some(org) = model::org_of(tx, account)? else {
        return Ok(false);
    };
    let enabled: Option<ServiceAccessRec> =
        model::get_json(tx, SERVICE_ACCESS, &service_key(&org, principal))?;
    let registered: Option<DelegatedAdminRec> =
        model::get_json(tx, DELEGATED_ADMINS, &dadm_key(&org, account, principal))?;
    Ok(enabled.is_some() && registered.is_some())
}

/// How `account`'s organization stands for the service `principal` (see
/// [`cairn_core::ServiceStanding`]).
pub(crate) fn service_standing(
    tx: &mut dyn Tx,
    account: &str,
    principal: &str,
) -> Result<Option<cairn_core::ServiceStanding>, Failure> {
    let Some(org) = model::org_of(tx, account)? else {
        return Ok(None);
    };
    let trusted_access = tx
        .get(SERVICE_ACCESS, service_key(&org, principal).as_bytes())?
        .is_some();
    let delegated_admin = tx
        .get(
            DELEGATED_ADMINS,
            dadm_key(&org, account, principal).as_bytes(),
        )?
        .is_some();
    Ok(Some(cairn_core::ServiceStanding {
        all_features: org.is_all_features(),
        org_id: org.id,
        management_account_id: org.management_account_id,
        trusted_access,
        delegated_admin,
    }))
}

// ----------------------------------------------------------------------------- trusted access

pub(crate) async fn enable_aws_service_access(
    ctx: &Call,
    input: types::EnableAWSServiceAccessRequest,
    trusted: &[std::sync::Arc<dyn cairn_core::TrustedAccess>],
) -> Result<(), ApiError> {
    let account_id = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    let region = ctx.info().region.clone();
    let ids = ctx.ids_arc();
    let hooks: Vec<_> = trusted.to_vec();
    let notify = hooks
        .iter()
        .any(|h| h.service_principal() == input.service_principal);
    let out = authz::write(ctx, move |tx| {
        enable_service_access_in(
            tx,
            &account_id,
            &input.service_principal,
            now,
            &region,
            ids.as_ref(),
            &hooks,
        )
    })
    .await;
    if notify && out.is_ok() {
        // What the hooks enqueued (an instance to activate) runs now.
        ctx.kick_jobs();
    }
    out
}

/// `EnableAWSServiceAccess` inside a transaction, for `account_id` (its organization's
/// management account): records the access and, the first time, runs the hooks of that
/// service principal. `cairn sso enable` calls it too.
pub fn enable_service_access_in(
    tx: &mut dyn Tx,
    account_id: &str,
    service_principal: &str,
    now: i64,
    region: &str,
    ids: &dyn cairn_core::Ids,
    hooks: &[std::sync::Arc<dyn cairn_core::TrustedAccess>],
) -> Result<(), Failure> {
    let org = require_org(tx, account_id)?;
    require_management(&org, account_id)?;
    require_all_features(&org)?;
    service(service_principal)?;
    let key = service_key(&org, service_principal);
    if tx.get(SERVICE_ACCESS, key.as_bytes())?.is_none() {
        model::put_json(
            tx,
            SERVICE_ACCESS,
            &key,
            &ServiceAccessRec {
                v: FORMAT,
                service_principal: service_principal.to_owned(),
                enabled_ms: now,
            },
        )?;
        let event = cairn_core::TrustedAccessEvent {
            org_id: &org.id,
            management_account: account_id,
            region,
            now_ms: now,
            ids,
        };
        for hook in hooks
            .iter()
            .filter(|h| h.service_principal() == service_principal)
        {
            hook.enabled(tx, &event)?;
        }
    }
    Ok(())
}

pub(crate) async fn disable_aws_service_access(
    ctx: &Call,
    input: types::DisableAWSServiceAccessRequest,
) -> Result<(), ApiError> {
    let account_id = ctx.account_id().to_owned();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management(&org, &account_id)?;
        require_all_features(&org)?;
        let principal = input.service_principal.as_str();
        service(principal)?;
        for (svc, policy_type) in SERVICE_POLICY_TYPES {
            if *svc == principal && org.type_enabled(policy_type) {
                return Err(constraint(
                    "POLICY_TYPE_ENABLED_FOR_THIS_SERVICE",
                    format!(
                        "You must disable the policy type {policy_type} before you disable service access for {principal}."
                    ),
                ));
            }
        }
        tx.delete(SERVICE_ACCESS, service_key(&org, principal).as_bytes())?;
        for reg in registrations(tx, &org)? {
            if reg.service_principal == principal {
                tx.delete(
                    DELEGATED_ADMINS,
                    dadm_key(&org, &reg.account_id, principal).as_bytes(),
                )?;
            }
        }
        Ok(())
    })
    .await
}

pub(crate) async fn list_aws_service_access_for_organization(
    ctx: &Call,
    input: types::ListAWSServiceAccessForOrganizationRequest,
) -> Result<types::ListAWSServiceAccessForOrganizationResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management_or_delegated(tx, &org, &account_id)?;
        require_all_features(&org)?;
        let page = Page::new(
            format!("ListAWSServiceAccessForOrganization/{account_id}"),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let all: Vec<ServiceAccessRec> =
            model::scan_json(tx, SERVICE_ACCESS, &format!("{}/", org.id))?;
        let (items, next_token) = page.apply(all, |r| r.service_principal.clone());
        Ok(types::ListAWSServiceAccessForOrganizationResponse {
            enabled_service_principals: Some(
                items
                    .into_iter()
                    .map(|r| types::EnabledServicePrincipal {
                        date_enabled: Some(Timestamp::from_millis(r.enabled_ms)),
                        service_principal: Some(r.service_principal),
                    })
                    .collect(),
            ),
            next_token,
        })
    })
    .await
}

// ----------------------------------------------------------------------------- delegated admins

pub(crate) async fn register_delegated_administrator(
    ctx: &Call,
    input: types::RegisterDelegatedAdministratorRequest,
) -> Result<(), ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &caller)?;
        require_management(&org, &caller)?;
        require_all_features(&org)?;
        let principal = input.service_principal.as_str();
        let target = input.account_id.as_str();
        let delegation = service(principal)?;
        let Some(account) = model::get_account_rec(tx, &org, target)? else {
            return Err(account_not_found(target));
        };
        if target == org.management_account_id {
            return Err(constraint(
                "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR",
                "You can designate only a member account as a delegated administrator.",
            ));
        }
        if tx
            .get(DELEGATED_ADMINS, dadm_key(&org, target, principal).as_bytes())?
            .is_some()
        {
            return Err(Failure(ApiError::new(
                Error::AccountAlreadyRegisteredException,
                "The provided account is already a delegated administrator for your organization.",
            )));
        }
        if account.status != "ACTIVE" {
            return Err(constraint(
                "CANNOT_REGISTER_SUSPENDED_ACCOUNT_AS_DELEGATED_ADMINISTRATOR",
                "You cannot register a suspended account as a delegated administrator.",
            ));
        }
        if tx
            .get(SERVICE_ACCESS, service_key(&org, principal).as_bytes())?
            .is_none()
        {
            return Err(constraint(
                "SERVICE_ACCESS_NOT_ENABLED",
                format!(
                    "You must enable trusted access for {principal} (EnableAWSServiceAccess) before you register a delegated administrator for it."
                ),
            ));
        }
        let max = match delegation {
            Delegation::Max(n) => n,
            Delegation::None => {
                return Err(invalid_input(
                    "UNRECOGNIZED_SERVICE_PRINCIPAL",
                    format!("The service principal {principal} does not support delegated administrators."),
                ));
            }
        };
        let existing = registrations(tx, &org)?
            .into_iter()
            .filter(|r| r.service_principal == principal)
            .count();
        if existing >= max {
            return Err(if max == 1 {
                constraint(
                    "DELEGATED_ADMINISTRATOR_EXISTS_FOR_THIS_SERVICE",
                    format!(
                        "{principal} already has a delegated administrator. Deregister it before you register another account."
                    ),
                )
            } else {
                constraint(
                    "MAX_DELEGATED_ADMINISTRATORS_FOR_SERVICE_LIMIT_EXCEEDED",
                    format!(
                        "You attempted to register more delegated administrators than allowed for {principal} ({max})."
                    ),
                )
            });
        }
        model::put_json(
            tx,
            DELEGATED_ADMINS,
            &dadm_key(&org, target, principal),
            &DelegatedAdminRec {
                v: FORMAT,
                account_id: target.to_owned(),
                service_principal: principal.to_owned(),
                enabled_ms: now,
            },
        )?;
        Ok(())
    })
    .await
}

pub(crate) async fn deregister_delegated_administrator(
    ctx: &Call,
    input: types::DeregisterDelegatedAdministratorRequest,
) -> Result<(), ApiError> {
    let caller = ctx.account_id().to_owned();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &caller)?;
        require_management(&org, &caller)?;
        require_all_features(&org)?;
        let principal = input.service_principal.as_str();
        let target = input.account_id.as_str();
        service(principal)?;
        if model::get_account_rec(tx, &org, target)?.is_none() {
            return Err(account_not_found(target));
        }
        if !tx.delete(DELEGATED_ADMINS, dadm_key(&org, target, principal).as_bytes())? {
            return Err(Failure(ApiError::new(
                Error::AccountNotRegisteredException,
                "The provided account is not a registered delegated administrator for your organization.",
            )));
        }
        Ok(())
    })
    .await
}

pub(crate) async fn list_delegated_administrators(
    ctx: &Call,
    input: types::ListDelegatedAdministratorsRequest,
) -> Result<types::ListDelegatedAdministratorsResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &caller)?;
        require_management_or_delegated(tx, &org, &caller)?;
        require_all_features(&org)?;
        if let Some(p) = input.service_principal.as_deref() {
            service(p)?;
        }
        let page = Page::new(
            format!(
                "ListDelegatedAdministrators/{caller}/{}",
                input.service_principal.as_deref().unwrap_or("")
            ),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        // account → earliest registration date (for the filtered service, if any).
        let mut by_account: std::collections::BTreeMap<String, i64> =
            std::collections::BTreeMap::new();
        for reg in registrations(tx, &org)? {
            if input
                .service_principal
                .as_deref()
                .is_some_and(|p| p != reg.service_principal)
            {
                continue;
            }
            let e = by_account.entry(reg.account_id).or_insert(reg.enabled_ms);
            *e = (*e).min(reg.enabled_ms);
        }
        let (items, next_token) = page.apply(by_account.into_iter().collect(), |(a, _)| a.clone());
        let mut admins = Vec::with_capacity(items.len());
        for (account_id, enabled_ms) in items {
            // A registration whose account left is not listed (leaving deregisters it).
            let Some(acct) = model::get_account_rec(tx, &org, &account_id)? else {
                continue;
            };
            let a = acct.to_api(&org);
            admins.push(types::DelegatedAdministrator {
                arn: a.arn,
                delegation_enabled_date: Some(Timestamp::from_millis(enabled_ms)),
                email: a.email,
                id: a.id,
                joined_method: a.joined_method,
                joined_timestamp: a.joined_timestamp,
                name: a.name,
                state: a.state,
                status: a.status,
            });
        }
        Ok(types::ListDelegatedAdministratorsResponse {
            delegated_administrators: Some(admins),
            next_token,
        })
    })
    .await
}

pub(crate) async fn list_delegated_services_for_account(
    ctx: &Call,
    input: types::ListDelegatedServicesForAccountRequest,
) -> Result<types::ListDelegatedServicesForAccountResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &caller)?;
        require_management_or_delegated(tx, &org, &caller)?;
        require_all_features(&org)?;
        let target = input.account_id.as_str();
        if model::get_account_rec(tx, &org, target)?.is_none() {
            return Err(account_not_found(target));
        }
        let regs: Vec<DelegatedAdminRec> = model::scan_json(
            tx,
            DELEGATED_ADMINS,
            &format!("{}/{target}/", org.id),
        )?;
        if regs.is_empty() {
            return Err(Failure(ApiError::new(
                Error::AccountNotRegisteredException,
                "The provided account is not a registered delegated administrator for your organization.",
            )));
        }
        let page = Page::new(
            format!("ListDelegatedServicesForAccount/{caller}/{target}"),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let (items, next_token) = page.apply(regs, |r| r.service_principal.clone());
        Ok(types::ListDelegatedServicesForAccountResponse {
            delegated_services: Some(
                items
                    .into_iter()
                    .map(|r| types::DelegatedService {
                        delegation_enabled_date: Some(Timestamp::from_millis(r.enabled_ms)),
                        service_principal: Some(r.service_principal),
                    })
                    .collect(),
            ),
            next_token,
        })
    })
    .await
}

// ----------------------------------------------------------------------------- resource policy

/// The resource-based delegation policy's size quota, in characters (also the model's
/// maximum length of `Content`).
const RESOURCE_POLICY_MAX_CHARS: usize = 40_000;

/// The operations a delegation policy may grant: every read-only one, and the management
/// of policies (AWS: "delegate policy management … any Organizations read-only action").
fn delegable(op: &str) -> bool {
    op.starts_with("Describe")
        || op.starts_with("List")
        || matches!(
            op,
            "AttachPolicy"
                | "CreatePolicy"
                | "DeletePolicy"
                | "DetachPolicy"
                | "DisablePolicyType"
                | "EnablePolicyType"
                | "UpdatePolicy"
                | "TagResource"
                | "UntagResource"
        )
}

/// Case-insensitive `*`/`?` matching, as IAM matches action names.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        let pc = pattern.get(p).map(u8::to_ascii_lowercase);
        let tc = text.get(t).map(u8::to_ascii_lowercase);
        match pc {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if c == b'?' || Some(c) == tc => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == b'*'))
}

fn one_or_many(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// What the parser does not check and Organizations does: the actions a delegation policy
/// may grant and the kind of principal it may name.
fn check_delegation_policy(content: &str) -> Result<(), Failure> {
    let doc: Value = serde_json::from_str(content).map_err(|_| bad_json("invalid JSON"))?;
    let Some(statements) = doc.get("Statement") else {
        return Err(bad_json("no Statement"));
    };
    for st in one_or_many(statements) {
        if st.get("NotAction").is_some() {
            return Err(unsupported_action("NotAction"));
        }
        for action in st.get("Action").map(one_or_many).unwrap_or_default() {
            let Some(action) = action.as_str() else {
                return Err(bad_json("Action is not a string"));
            };
            let Some((prefix, name)) = action.split_once(':') else {
                return Err(unsupported_action(action));
            };
            if !prefix.eq_ignore_ascii_case("organizations") {
                return Err(unsupported_action(action));
            }
            let matched: Vec<&str> = Operation::ALL
                .iter()
                .map(|o| o.name())
                .filter(|n| glob(name.as_bytes(), n.as_bytes()))
                .collect();
            if matched.is_empty() || !matched.iter().all(|n| delegable(n)) {
                return Err(unsupported_action(action));
            }
        }
        for principal in st
            .get("Principal")
            .into_iter()
            .chain(st.get("NotPrincipal"))
        {
            let ok = match principal {
                Value::String(s) => s == "*",
                Value::Object(map) => map.keys().all(|k| k == "AWS"),
                _ => false,
            };
            if !ok {
                return Err(invalid_input(
                    "INVALID_PRINCIPAL",
                    "You specified an invalid principal element in the policy.",
                ));
            }
        }
    }
    Ok(())
}

fn bad_json(detail: &str) -> Failure {
    invalid_input(
        "INVALID_RESOURCE_POLICY_JSON",
        format!("The provided resource policy is not valid JSON policy: {detail}."),
    )
}

fn unsupported_action(action: &str) -> Failure {
    invalid_input(
        "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY",
        format!("The resource policy contains an action that is not supported: {action}."),
    )
}

fn not_found() -> Failure {
    Failure(ApiError::new(
        Error::ResourcePolicyNotFoundException,
        "We can't find a resource policy request with the ID that you specified.",
    ))
}

pub(crate) async fn put_resource_policy(
    ctx: &Call,
    input: types::PutResourcePolicyRequest,
) -> Result<types::PutResourcePolicyResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    let new_id = format!("rp-{}", ctx.ids().lower_alnum(8));
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &caller)?;
        require_management(&org, &caller)?;
        require_all_features(&org)?;
        if input.content.chars().count() > RESOURCE_POLICY_MAX_CHARS {
            return Err(constraint(
                "POLICY_CONTENT_LIMIT_EXCEEDED",
                "You attempted to create a policy that is larger than the maximum size.",
            ));
        }
        let existing: Option<ResourcePolicyRec> = model::get_json(tx, RESOURCE_POLICY, &org.id)?;
        let id = existing
            .as_ref()
            .map_or_else(|| new_id.clone(), |r| r.id.clone());
        let arn = format!(
            "arn:aws:organizations::{}:resourcepolicy/{}/{id}",
            org.management_account_id, org.id
        );
        Policy::parse(arn, &input.content, PolicyKind::Resource)
            .map_err(|e| bad_json(e.message()))?;
        check_delegation_policy(&input.content)?;
        let tags = input.tags.clone().unwrap_or_default();
        crate::tags::check_new_tags(&tags)?;
        let rec = ResourcePolicyRec {
            v: FORMAT,
            id,
            content: input.content.clone(),
            updated_ms: now,
        };
        model::put_json(tx, RESOURCE_POLICY, &org.id, &rec)?;
        if existing.is_none() {
            for t in &tags {
                model::put_tag(tx, &org, &rec.id, &t.key, &t.value)?;
            }
        }
        Ok(types::PutResourcePolicyResponse {
            resource_policy: Some(rec.to_api(&org)),
        })
    })
    .await
}

pub(crate) async fn describe_resource_policy(
    ctx: &Call,
) -> Result<types::DescribeResourcePolicyResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &caller)?;
        require_management_or_delegated(tx, &org, &caller)?;
        let rec: ResourcePolicyRec =
            model::get_json(tx, RESOURCE_POLICY, &org.id)?.ok_or_else(not_found)?;
        Ok(types::DescribeResourcePolicyResponse {
            resource_policy: Some(rec.to_api(&org)),
        })
    })
    .await
}

pub(crate) async fn delete_resource_policy(ctx: &Call) -> Result<(), ApiError> {
    let caller = ctx.account_id().to_owned();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &caller)?;
        require_management(&org, &caller)?;
        let rec: ResourcePolicyRec =
            model::get_json(tx, RESOURCE_POLICY, &org.id)?.ok_or_else(not_found)?;
        tx.delete(RESOURCE_POLICY, org.id.as_bytes())?;
        for key in model::scan_ids(tx, model::TAGS, &format!("{}/{}/", org.id, rec.id))? {
            tx.delete(
                model::TAGS,
                format!("{}/{}/{key}", org.id, rec.id).as_bytes(),
            )?;
        }
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn globs_match_like_iam() {
        assert!(glob(b"Describe*", b"DescribeOrganization"));
        assert!(glob(b"describe*", b"DescribeOrganization"));
        assert!(glob(b"*Policy", b"AttachPolicy"));
        assert!(glob(b"List?oots", b"ListRoots"));
        assert!(!glob(b"List*", b"DescribeAccount"));
        assert!(glob(b"*", b"CreateAccount"));
    }

    #[test]
    fn delegation_policies_grant_only_delegable_actions() {
        let doc = |action: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":{action},"Resource":"*"}}]}}"#
            )
        };
        assert!(
            check_delegation_policy(&doc(
                r#"["organizations:Describe*","organizations:ListRoots"]"#
            ))
            .is_ok()
        );
        assert!(check_delegation_policy(&doc(r#""organizations:CreatePolicy""#)).is_ok());
        assert!(check_delegation_policy(&doc(r#""organizations:*""#)).is_err());
        assert!(check_delegation_policy(&doc(r#""organizations:CreateAccount""#)).is_err());
        assert!(check_delegation_policy(&doc(r#""s3:GetObject""#)).is_err());
        assert!(check_delegation_policy(&doc(r#""organizations:NoSuchThing""#)).is_err());
    }

    #[test]
    fn services_are_sorted_and_known() {
        let names: Vec<&str> = SERVICES.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert_eq!(service("sso.amazonaws.com").unwrap(), Delegation::Max(1));
        assert!(service("nope.amazonaws.com").is_err());
    }
}
