//! Account assignments and provisioning: a user or group gets a permission set in an
//! account; the account then holds the IAM role `AWSReservedSSO_<set>_<16 hex>` under
//! `/aws-reserved/sso.amazonaws.com/[<region>/]`, trusting the account's SAML provider
//! `AWSSSO_<hex>_DO_NOT_DELETE`, with the set's policies. `CreateAccountAssignment`,
//! `DeleteAccountAssignment` and `ProvisionPermissionSet` answer `IN_PROGRESS` with a request
//! ID; the `sso.task` job does the work and the status APIs report `SUCCEEDED` or `FAILED`
//! with AWS's failure reasons. Facts: `notes/sso-admin-facts.md` §5, §6, §8.
//!
//! Spaces:
//! - `sso.assignment` — `<instance>/<account>/<ps>/<USER|GROUP>/<principal>` → `""`;
//! - `sso.assignment_of` — `<instance>/<USER|GROUP>/<principal>/<account>/<ps>` → `""`;
//! - `sso.provisioned` — `<instance>/<ps>/<account>` → [`ProvisionedRec`];
//! - `sso.provisioned_to` — `<instance>/<account>/<ps>` → `""`;
//! - `sso.request` — `<instance>/<request id>` → [`RequestRec`];
//! - `sso.request_log` — `<instance>/<kind>/<created ms, 16 digits>/<request id>` → `""`
//!   (the `List…Status` operations, oldest first).

use crate::instance::{access_denied, validation};
use crate::jobs::{self, Task};
use crate::model::{self, AdminCtx, InstanceRec, Page};
use crate::permsets::{self, Boundary, PermSetRec};
use cairn_api::sso_admin::{Error, types};
use cairn_core::{Failure, Ids, ResourceFacts};
use cairn_iam::reserved::{self, ReservedRole};
use cairn_store::Tx;
use cairn_wire::{ApiError, Timestamp};
use serde::{Deserialize, Serialize};

pub const ASSIGNMENTS: &str = "sso.assignment";
pub const ASSIGNMENTS_OF: &str = "sso.assignment_of";
pub const PROVISIONED: &str = "sso.provisioned";
pub const PROVISIONED_TO: &str = "sso.provisioned_to";
pub const REQUESTS: &str = "sso.request";
pub const REQUEST_LOG: &str = "sso.request_log";

/// Every space this module keeps, all keyed under the instance ID.
const SPACES: &[&str] = &[
    ASSIGNMENTS,
    ASSIGNMENTS_OF,
    PROVISIONED,
    PROVISIONED_TO,
    REQUESTS,
    REQUEST_LOG,
];

/// The name of the inline policy on a provisioned role [M: as seen on AWSReservedSSO roles].
pub const INLINE_POLICY_NAME: &str = "AwsSSOInlinePolicy";
/// The maximum session of a provisioned role: 12 hours (User Guide, "Set session duration").
const ROLE_MAX_SESSION_S: i64 = 43_200;
/// Accounts one job step provisions (a step is one transaction).
const ACCOUNTS_PER_STEP: usize = 50;

/// A permission set provisioned to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionedRec {
    pub v: u32,
    pub role_name: String,
    pub role_path: String,
    /// The permission set's revision the role carries.
    pub revision: u64,
    pub provisioned_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Creation,
    Deletion,
    Provision,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Creation => "creation",
            Kind::Deletion => "deletion",
            Kind::Provision => "provision",
        }
    }
}

/// An asynchronous request and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRec {
    pub v: u32,
    pub id: String,
    pub kind: Kind,
    /// `IN_PROGRESS`, `SUCCEEDED`, `FAILED`.
    pub status: String,
    #[serde(default)]
    pub failure_reason: Option<String>,
    pub created_ms: i64,
    pub ps_id: String,
    /// The account (absent for `ALL_PROVISIONED_ACCOUNTS`).
    #[serde(default)]
    pub target_id: Option<String>,
    #[serde(default)]
    pub principal_type: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
}

fn status_value(s: &str) -> types::StatusValues {
    match s {
        "SUCCEEDED" => types::StatusValues::Succeeded,
        "FAILED" => types::StatusValues::Failed,
        _ => types::StatusValues::InProgress,
    }
}

fn ps_arn(inst: &InstanceRec, ps_id: &str) -> String {
    format!(
        "arn:{}:sso:::permissionSet/{}/{ps_id}",
        cairn_core::partition::CANONICAL,
        inst.id
    )
}

impl RequestRec {
    fn assignment_api(&self, inst: &InstanceRec) -> types::AccountAssignmentOperationStatus {
        types::AccountAssignmentOperationStatus {
            created_date: Some(Timestamp::from_millis(self.created_ms)),
            failure_reason: self.failure_reason.clone(),
            permission_set_arn: Some(ps_arn(inst, &self.ps_id)),
            principal_id: self.principal_id.clone(),
            principal_type: self
                .principal_type
                .as_deref()
                .and_then(types::PrincipalType::from_wire),
            request_id: Some(self.id.clone()),
            status: Some(status_value(&self.status)),
            target_id: self.target_id.clone(),
            target_type: Some(types::TargetType::AwsAccount),
        }
    }

    fn provisioning_api(&self, inst: &InstanceRec) -> types::PermissionSetProvisioningStatus {
        types::PermissionSetProvisioningStatus {
            account_id: self.target_id.clone(),
            created_date: Some(Timestamp::from_millis(self.created_ms)),
            failure_reason: self.failure_reason.clone(),
            permission_set_arn: Some(ps_arn(inst, &self.ps_id)),
            request_id: Some(self.id.clone()),
            status: Some(status_value(&self.status)),
        }
    }
}

// ------------------------------------------------------------------------------ queries

pub fn is_provisioned(
    tx: &mut dyn Tx,
    inst_id: &str,
    ps_id: &str,
    account: &str,
) -> Result<bool, Failure> {
    Ok(tx
        .get(
            PROVISIONED,
            format!("{inst_id}/{ps_id}/{account}").as_bytes(),
        )?
        .is_some())
}

/// Whether a permission set is provisioned anywhere (then it has no assignments either).
pub fn in_use(tx: &mut dyn Tx, inst_id: &str, ps_id: &str) -> Result<bool, Failure> {
    Ok(tx.count(PROVISIONED, format!("{inst_id}/{ps_id}/").as_bytes())? > 0)
}

fn provisioned(
    tx: &mut dyn Tx,
    inst_id: &str,
    ps_id: &str,
    account: &str,
) -> Result<Option<ProvisionedRec>, Failure> {
    model::get_json(tx, PROVISIONED, &format!("{inst_id}/{ps_id}/{account}"))
}

fn request(tx: &mut dyn Tx, inst_id: &str, id: &str) -> Result<Option<RequestRec>, Failure> {
    model::get_json(tx, REQUESTS, &format!("{inst_id}/{id}"))
}

fn save_request(tx: &mut dyn Tx, inst_id: &str, r: &RequestRec) -> Result<(), Failure> {
    model::put_json(tx, REQUESTS, &format!("{inst_id}/{}", r.id), r)
}

// ------------------------------------------------------------------------ the operations

fn new_request(
    tx: &mut dyn Tx,
    c: &AdminCtx,
    inst: &InstanceRec,
    kind: Kind,
    ps_id: &str,
    target_id: Option<&str>,
    principal: Option<(&str, &str)>,
) -> Result<RequestRec, Failure> {
    let r = RequestRec {
        v: model::FORMAT,
        id: c.ids.uuid(),
        kind,
        status: "IN_PROGRESS".to_owned(),
        failure_reason: None,
        created_ms: c.now_ms,
        ps_id: ps_id.to_owned(),
        target_id: target_id.map(str::to_owned),
        principal_type: principal.map(|(t, _)| t.to_owned()),
        principal_id: principal.map(|(_, id)| id.to_owned()),
    };
    save_request(tx, &inst.id, &r)?;
    tx.put(
        REQUEST_LOG,
        format!(
            "{}/{}/{:016}/{}",
            inst.id,
            kind.word(),
            r.created_ms.max(0),
            r.id
        )
        .as_bytes(),
        b"",
    )?;
    jobs::enqueue(
        tx,
        c.now_ms,
        &Task::Request {
            instance: inst.id.clone(),
            request: r.id.clone(),
            cursor: None,
        },
    )?;
    Ok(r)
}

/// The delegated administrator may not give access in the management account, nor use a
/// permission set provisioned there (User Guide, "Delegated administration").
fn check_target(
    tx: &mut dyn Tx,
    inst: &InstanceRec,
    c: &AdminCtx,
    ps: &PermSetRec,
    target: Option<&str>,
) -> Result<(), Failure> {
    permsets::check_delegation(tx, inst, c, ps)?;
    if permsets::is_delegated(inst, c) && target == Some(inst.owner.as_str()) {
        return Err(access_denied(format!(
            "User: {} is not authorized to manage access in the management account {}: only the management account can.",
            c.caller_arn, inst.owner
        )));
    }
    Ok(())
}

pub fn create_account_assignment(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::CreateAccountAssignmentRequest,
) -> Result<types::CreateAccountAssignmentResponse, Failure> {
    let inst = permsets::require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let ps = permsets::require(tx, &inst, &input.permission_set_arn)?;
    check_target(tx, &inst, c, &ps, Some(&input.target_id))?;
    let r = new_request(
        tx,
        c,
        &inst,
        Kind::Creation,
        &ps.id,
        Some(&input.target_id),
        Some((input.principal_type.as_str(), &input.principal_id)),
    )?;
    Ok(types::CreateAccountAssignmentResponse {
        account_assignment_creation_status: Some(r.assignment_api(&inst)),
    })
}

pub fn delete_account_assignment(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DeleteAccountAssignmentRequest,
) -> Result<types::DeleteAccountAssignmentResponse, Failure> {
    let inst = permsets::require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let ps = permsets::require(tx, &inst, &input.permission_set_arn)?;
    check_target(tx, &inst, c, &ps, Some(&input.target_id))?;
    let r = new_request(
        tx,
        c,
        &inst,
        Kind::Deletion,
        &ps.id,
        Some(&input.target_id),
        Some((input.principal_type.as_str(), &input.principal_id)),
    )?;
    Ok(types::DeleteAccountAssignmentResponse {
        account_assignment_deletion_status: Some(r.assignment_api(&inst)),
    })
}

pub fn provision_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ProvisionPermissionSetRequest,
) -> Result<types::ProvisionPermissionSetResponse, Failure> {
    let inst = permsets::require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let ps = permsets::require(tx, &inst, &input.permission_set_arn)?;
    let target = match input.target_type {
        types::ProvisionTargetType::AwsAccount => match &input.target_id {
            Some(t) => Some(t.as_str()),
            // [M]: the text.
            None => {
                return Err(validation(
                    "TargetId is required when TargetType is AWS_ACCOUNT.",
                ));
            }
        },
        types::ProvisionTargetType::AllProvisionedAccounts => None,
    };
    check_target(tx, &inst, c, &ps, target)?;
    let r = new_request(tx, c, &inst, Kind::Provision, &ps.id, target, None)?;
    Ok(types::ProvisionPermissionSetResponse {
        permission_set_provisioning_status: Some(r.provisioning_api(&inst)),
    })
}

fn require_request(
    tx: &mut dyn Tx,
    inst: &InstanceRec,
    id: &str,
    kind: Kind,
) -> Result<RequestRec, Failure> {
    match request(tx, &inst.id, id)? {
        Some(r) if r.kind == kind => Ok(r),
        // [M]: the text.
        _ => Err(Failure(ApiError::new(
            Error::ResourceNotFoundException,
            format!("Could not find the request with id {id}"),
        ))),
    }
}

pub fn describe_account_assignment_creation_status(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DescribeAccountAssignmentCreationStatusRequest,
) -> Result<types::DescribeAccountAssignmentCreationStatusResponse, Failure> {
    let inst = permsets::require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let r = require_request(
        tx,
        &inst,
        &input.account_assignment_creation_request_id,
        Kind::Creation,
    )?;
    Ok(types::DescribeAccountAssignmentCreationStatusResponse {
        account_assignment_creation_status: Some(r.assignment_api(&inst)),
    })
}

pub fn describe_account_assignment_deletion_status(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DescribeAccountAssignmentDeletionStatusRequest,
) -> Result<types::DescribeAccountAssignmentDeletionStatusResponse, Failure> {
    let inst = permsets::require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let r = require_request(
        tx,
        &inst,
        &input.account_assignment_deletion_request_id,
        Kind::Deletion,
    )?;
    Ok(types::DescribeAccountAssignmentDeletionStatusResponse {
        account_assignment_deletion_status: Some(r.assignment_api(&inst)),
    })
}

pub fn describe_permission_set_provisioning_status(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DescribePermissionSetProvisioningStatusRequest,
) -> Result<types::DescribePermissionSetProvisioningStatusResponse, Failure> {
    let inst = permsets::require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let r = require_request(
        tx,
        &inst,
        &input.provision_permission_set_request_id,
        Kind::Provision,
    )?;
    Ok(types::DescribePermissionSetProvisioningStatusResponse {
        permission_set_provisioning_status: Some(r.provisioning_api(&inst)),
    })
}

fn bad_token() -> Failure {
    validation("The provided NextToken is not valid.")
}

/// The requests of `kind`, oldest first, with the status filter applied, one page.
fn list_requests(
    tx: &mut dyn Tx,
    c: &AdminCtx,
    inst: &InstanceRec,
    kind: Kind,
    filter: Option<&types::OperationStatusFilter>,
    next_token: Option<&str>,
    max_results: Option<i32>,
) -> Result<(Vec<RequestRec>, Option<String>), Failure> {
    let want = filter.and_then(|f| f.status);
    let page = Page::with_default(
        format!(
            "List{}Status/{}/{}/{want:?}",
            kind.word(),
            c.account,
            inst.id
        ),
        next_token,
        max_results,
        100,
        bad_token,
    )?;
    let prefix = format!("{}/{}/", inst.id, kind.word());
    if want.is_none() {
        // One bounded scan: the page's rows only.
        let (rows, token) = page.scan_raw(tx, REQUEST_LOG, &prefix)?;
        let mut out = Vec::with_capacity(rows.len());
        for (rest, _) in rows {
            if let Some((_, id)) = rest.split_once('/')
                && let Some(r) = request(tx, &inst.id, id)?
            {
                out.push(r);
            }
        }
        return Ok((out, token));
    }
    let mut items = Vec::new();
    for (k, _) in tx.scan_prefix(REQUEST_LOG, prefix.as_bytes(), false, usize::MAX)? {
        let k = String::from_utf8(k).map_err(|_| model::corrupt(REQUEST_LOG))?;
        let Some(rest) = k.strip_prefix(&prefix) else {
            continue;
        };
        let Some((_, id)) = rest.split_once('/') else {
            continue;
        };
        let Some(r) = request(tx, &inst.id, id)? else {
            continue;
        };
        if want.is_none_or(|w| status_value(&r.status) == w) {
            items.push((rest.to_owned(), r));
        }
    }
    let (items, token) = page.apply(items, |(k, _)| k.clone());
    Ok((items.into_iter().map(|(_, r)| r).collect(), token))
}

fn metadata(r: &RequestRec) -> types::AccountAssignmentOperationStatusMetadata {
    types::AccountAssignmentOperationStatusMetadata {
        created_date: Some(Timestamp::from_millis(r.created_ms)),
        request_id: Some(r.id.clone()),
        status: Some(status_value(&r.status)),
    }
}

pub fn list_account_assignment_creation_status(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListAccountAssignmentCreationStatusRequest,
) -> Result<types::ListAccountAssignmentCreationStatusResponse, Failure> {
    let inst = permsets::require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let (items, next_token) = list_requests(
        tx,
        c,
        &inst,
        Kind::Creation,
        input.filter.as_ref(),
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(types::ListAccountAssignmentCreationStatusResponse {
        account_assignments_creation_status: Some(items.iter().map(metadata).collect()),
        next_token,
    })
}

pub fn list_account_assignment_deletion_status(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListAccountAssignmentDeletionStatusRequest,
) -> Result<types::ListAccountAssignmentDeletionStatusResponse, Failure> {
    let inst = permsets::require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let (items, next_token) = list_requests(
        tx,
        c,
        &inst,
        Kind::Deletion,
        input.filter.as_ref(),
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(types::ListAccountAssignmentDeletionStatusResponse {
        account_assignments_deletion_status: Some(items.iter().map(metadata).collect()),
        next_token,
    })
}

pub fn list_permission_set_provisioning_status(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListPermissionSetProvisioningStatusRequest,
) -> Result<types::ListPermissionSetProvisioningStatusResponse, Failure> {
    let inst = permsets::require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let (items, next_token) = list_requests(
        tx,
        c,
        &inst,
        Kind::Provision,
        input.filter.as_ref(),
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(types::ListPermissionSetProvisioningStatusResponse {
        next_token,
        permission_sets_provisioning_status: Some(
            items
                .iter()
                .map(|r| types::PermissionSetProvisioningStatusMetadata {
                    created_date: Some(Timestamp::from_millis(r.created_ms)),
                    request_id: Some(r.id.clone()),
                    status: Some(status_value(&r.status)),
                })
                .collect(),
        ),
    })
}

/// Keys under `prefix` with the prefix cut off, in order.
fn suffixes(tx: &mut dyn Tx, space: &str, prefix: &str) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for (k, _) in tx.scan_prefix(space, prefix.as_bytes(), false, usize::MAX)? {
        let k = String::from_utf8(k).map_err(|_| model::corrupt(space))?;
        if let Some(s) = k.strip_prefix(prefix) {
            out.push(s.to_owned());
        }
    }
    Ok(out)
}

pub fn list_account_assignments(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListAccountAssignmentsRequest,
) -> Result<types::ListAccountAssignmentsResponse, Failure> {
    let inst = permsets::require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let ps = permsets::require(tx, &inst, &input.permission_set_arn)?;
    let page = Page::with_default(
        format!(
            "ListAccountAssignments/{}/{}/{}/{}",
            c.account, inst.id, input.account_id, ps.id
        ),
        input.next_token.as_deref(),
        input.max_results,
        100,
        bad_token,
    )?;
    let prefix = format!("{}/{}/{}/", inst.id, input.account_id, ps.id);
    let (rows, next_token) = page.scan_raw(tx, ASSIGNMENTS, &prefix)?;
    let items: Vec<String> = rows.into_iter().map(|(k, _)| k).collect();
    let arn = ps.arn(&inst);
    Ok(types::ListAccountAssignmentsResponse {
        account_assignments: Some(
            items
                .iter()
                .filter_map(|s| s.split_once('/'))
                .map(|(t, id)| types::AccountAssignment {
                    account_id: Some(input.account_id.clone()),
                    permission_set_arn: Some(arn.clone()),
                    principal_id: Some(id.to_owned()),
                    principal_type: types::PrincipalType::from_wire(t),
                })
                .collect(),
        ),
        next_token,
    })
}

pub fn list_account_assignments_for_principal(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListAccountAssignmentsForPrincipalRequest,
) -> Result<types::ListAccountAssignmentsForPrincipalResponse, Failure> {
    let inst = permsets::require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let account = input.filter.as_ref().and_then(|f| f.account_id.clone());
    let ptype = input.principal_type.as_str();
    let page = Page::with_default(
        format!(
            "ListAccountAssignmentsForPrincipal/{}/{}/{ptype}/{}/{account:?}",
            c.account, inst.id, input.principal_id
        ),
        input.next_token.as_deref(),
        input.max_results,
        100,
        bad_token,
    )?;
    let base = format!("{}/{ptype}/{}/", inst.id, input.principal_id);
    let prefix = match &account {
        Some(a) => format!("{base}{a}/"),
        None => base,
    };
    let (rows, next_token) = page.scan_raw(tx, ASSIGNMENTS_OF, &prefix)?;
    let items: Vec<String> = rows
        .into_iter()
        .map(|(s, _)| match &account {
            Some(a) => format!("{a}/{s}"),
            None => s,
        })
        .collect();
    Ok(types::ListAccountAssignmentsForPrincipalResponse {
        account_assignments: Some(
            items
                .iter()
                .filter_map(|s| s.split_once('/'))
                .map(|(acct, ps)| types::AccountAssignmentForPrincipal {
                    account_id: Some(acct.to_owned()),
                    permission_set_arn: Some(ps_arn(&inst, ps)),
                    principal_id: Some(input.principal_id.clone()),
                    principal_type: Some(input.principal_type),
                })
                .collect(),
        ),
        next_token,
    })
}

/// Whether a provisioned (set, account) carries the set's latest revision, against the
/// filter (none: both).
fn status_matches(
    want: Option<types::ProvisioningStatus>,
    ps: &PermSetRec,
    rec: &ProvisionedRec,
) -> bool {
    let latest = rec.revision >= ps.revision;
    match want {
        None => true,
        Some(types::ProvisioningStatus::LatestPermissionSetProvisioned) => latest,
        Some(types::ProvisioningStatus::LatestPermissionSetNotProvisioned) => !latest,
    }
}

pub fn list_accounts_for_provisioned_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListAccountsForProvisionedPermissionSetRequest,
) -> Result<types::ListAccountsForProvisionedPermissionSetResponse, Failure> {
    let inst = permsets::require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let ps = permsets::require(tx, &inst, &input.permission_set_arn)?;
    let page = Page::with_default(
        format!(
            "ListAccountsForProvisionedPermissionSet/{}/{}/{}/{:?}",
            c.account, inst.id, ps.id, input.provisioning_status
        ),
        input.next_token.as_deref(),
        input.max_results,
        100,
        bad_token,
    )?;
    let prefix = format!("{}/{}/", inst.id, ps.id);
    let mut accounts = Vec::new();
    for (k, v) in tx.scan_prefix(PROVISIONED, prefix.as_bytes(), false, usize::MAX)? {
        let k = String::from_utf8(k).map_err(|_| model::corrupt(PROVISIONED))?;
        let rec: ProvisionedRec =
            serde_json::from_slice(&v).map_err(|_| model::corrupt(PROVISIONED))?;
        if let Some(a) = k.strip_prefix(&prefix)
            && status_matches(input.provisioning_status, &ps, &rec)
        {
            accounts.push(a.to_owned());
        }
    }
    let (account_ids, next_token) = page.apply(accounts, Clone::clone);
    Ok(types::ListAccountsForProvisionedPermissionSetResponse {
        account_ids: Some(account_ids),
        next_token,
    })
}

pub fn list_permission_sets_provisioned_to_account(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListPermissionSetsProvisionedToAccountRequest,
) -> Result<types::ListPermissionSetsProvisionedToAccountResponse, Failure> {
    let inst = permsets::require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let page = Page::with_default(
        format!(
            "ListPermissionSetsProvisionedToAccount/{}/{}/{}/{:?}",
            c.account, inst.id, input.account_id, input.provisioning_status
        ),
        input.next_token.as_deref(),
        input.max_results,
        100,
        bad_token,
    )?;
    let prefix = format!("{}/{}/", inst.id, input.account_id);
    let mut sets = Vec::new();
    for ps_id in suffixes(tx, PROVISIONED_TO, &prefix)? {
        let (Some(ps), Some(rec)) = (
            permsets::get(tx, &inst.id, &ps_id)?,
            provisioned(tx, &inst.id, &ps_id, &input.account_id)?,
        ) else {
            continue;
        };
        if status_matches(input.provisioning_status, &ps, &rec) {
            sets.push(ps_id);
        }
    }
    let (sets, next_token) = page.apply(sets, Clone::clone);
    Ok(types::ListPermissionSetsProvisionedToAccountResponse {
        next_token,
        permission_sets: Some(sets.iter().map(|id| ps_arn(&inst, id)).collect()),
    })
}

// ---------------------------------------------------------------------------- the work

/// A request's failure: the step's writes are rolled back and the request records this
/// reason. Carried as a 400-family error so the job tells it from a store failure.
fn failed(reason: impl Into<String>) -> Failure {
    Failure(ApiError::new(Error::ValidationException, reason))
}

/// The path of provisioned roles: the region is part of it unless the instance lives in
/// us-east-1 (User Guide, "Referencing permission sets in resource policies …").
pub fn role_path(inst: &InstanceRec) -> String {
    if inst.region == "us-east-1" {
        "/aws-reserved/sso.amazonaws.com/".to_owned()
    } else {
        format!("/aws-reserved/sso.amazonaws.com/{}/", inst.region)
    }
}

/// The SAML provider an instance keeps in each account it provisions to.
pub fn saml_provider_name(inst: &InstanceRec) -> String {
    let hex = inst.id.strip_prefix("ssoins-").unwrap_or(&inst.id);
    format!("AWSSSO_{hex}_DO_NOT_DELETE")
}

/// The trust policy of a provisioned role (the form AWS writes: see the facts note §8).
fn trust_policy(account: &str, provider: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": reserved::saml_provider_arn(account, provider)},
            "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
            "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
        }]
    })
    .to_string()
}

fn saml_metadata(inst: &InstanceRec) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://portal.sso.{region}.amazonaws.com/saml/assertion/{store}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>"#,
        region = inst.region,
        store = inst.store_id
    )
}

fn customer_arn(account: &str, name: &str, path: &str) -> String {
    format!("arn:aws:iam::{account}:policy{path}{name}")
}

/// The account may receive roles from `inst`: a member of its organization (organization
/// instance), or the owner (account instance).
fn check_account(tx: &mut dyn Tx, inst: &InstanceRec, account: &str) -> Result<(), Failure> {
    let ok = match &inst.org_id {
        Some(org) => cairn_organizations::org_of(tx, account)?.is_some_and(|o| &o.id == org),
        None => account == inst.owner,
    };
    if ok {
        Ok(())
    } else {
        // What AWS answers when it cannot manage the account (facts note §5) [M: for an
        // account outside the organization].
        Err(failed(format!(
            "AWS SSO is unable to complete your request at this time. Obtaining permissions to manage your AWS account '{account}' takes longer than usual. Please try again in a few minutes. If this problem continues, contact AWS Support."
        )))
    }
}

/// Brings the role of `ps` in `account` to the set's current content (creating it, with the
/// account's SAML provider, when missing).
pub fn provision(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    inst: &InstanceRec,
    ps: &PermSetRec,
    account: &str,
) -> Result<(), Failure> {
    check_account(tx, inst, account)?;
    let mut managed = ps.managed.clone();
    for r in &ps.customer {
        let arn = customer_arn(account, &r.name, &r.path);
        if !reserved::managed_policy_exists(tx, account, &arn)? {
            // AWS's failure reason for a missing customer-managed policy (Terraform's
            // acceptance test matches "Received a 404 status error: Not supported policy.*<name>").
            return Err(failed(format!(
                "Received a 404 status error: Not supported policy {arn}."
            )));
        }
        managed.push(arn);
    }
    let boundary = match &ps.boundary {
        None => None,
        Some(Boundary::Managed { arn }) => Some(arn.clone()),
        Some(Boundary::Customer { name, path }) => {
            let arn = customer_arn(account, name, path);
            if !reserved::managed_policy_exists(tx, account, &arn)? {
                return Err(failed(format!(
                    "Received a 404 status error: Not supported policy {arn}."
                )));
            }
            Some(arn)
        }
    };
    let provider = saml_provider_name(inst);
    reserved::ensure_saml_provider(tx, now_ms, account, &provider, &saml_metadata(inst))?;
    let existing = provisioned(tx, &inst.id, &ps.id, account)?;
    let (role_name, role_path) = match &existing {
        Some(p) => (p.role_name.clone(), p.role_path.clone()),
        // A new suffix each time the role is created (User Guide, "Referencing permission
        // sets"): random, 16 lowercase hex.
        None => (
            format!("AWSReservedSSO_{}_{}", ps.name, ids.hex(16)),
            role_path(inst),
        ),
    };
    let trust = trust_policy(account, &provider);
    let spec = ReservedRole {
        name: &role_name,
        path: &role_path,
        trust: &trust,
        max_session_s: ROLE_MAX_SESSION_S,
        inline: ps.inline.as_deref().map(|d| (INLINE_POLICY_NAME, d)),
        managed: &managed,
        boundary: boundary.as_deref(),
    };
    reserved::sync_reserved_role(tx, ids, now_ms, account, &spec).map_err(|Failure(e)| {
        if e.status >= 500 {
            Failure(e)
        } else {
            failed(format!(
                "Received a {} status error: {} (Service: AmazonIdentityManagement; Error Code: {})",
                e.status, e.message, e.code
            ))
        }
    })?;
    let rec = ProvisionedRec {
        v: model::FORMAT,
        role_name,
        role_path,
        revision: ps.revision,
        provisioned_ms: now_ms,
    };
    model::put_json(
        tx,
        PROVISIONED,
        &format!("{}/{}/{account}", inst.id, ps.id),
        &rec,
    )?;
    tx.put(
        PROVISIONED_TO,
        format!("{}/{account}/{}", inst.id, ps.id).as_bytes(),
        b"",
    )?;
    Ok(())
}

/// Removes the role of `ps_id` from `account` (the last assignment went).
pub fn deprovision(
    tx: &mut dyn Tx,
    inst: &InstanceRec,
    ps_id: &str,
    account: &str,
) -> Result<(), Failure> {
    if let Some(p) = provisioned(tx, &inst.id, ps_id, account)? {
        reserved::delete_reserved_role(tx, account, &p.role_name)?;
    }
    tx.delete(
        PROVISIONED,
        format!("{}/{ps_id}/{account}", inst.id).as_bytes(),
    )?;
    tx.delete(
        PROVISIONED_TO,
        format!("{}/{account}/{ps_id}", inst.id).as_bytes(),
    )?;
    Ok(())
}

fn assignment_keys(inst: &InstanceRec, account: &str, ps: &str, t: &str, id: &str) -> [String; 2] {
    [
        format!("{}/{account}/{ps}/{t}/{id}", inst.id),
        format!("{}/{t}/{id}/{account}/{ps}", inst.id),
    ]
}

/// Removes one assignment, and the role when it was the last of the set in the account.
fn unassign(
    tx: &mut dyn Tx,
    inst: &InstanceRec,
    account: &str,
    ps: &str,
    t: &str,
    id: &str,
) -> Result<bool, Failure> {
    let [a, b] = assignment_keys(inst, account, ps, t, id);
    if !tx.delete(ASSIGNMENTS, a.as_bytes())? {
        return Ok(false);
    }
    tx.delete(ASSIGNMENTS_OF, b.as_bytes())?;
    let rest = tx.count(
        ASSIGNMENTS,
        format!("{}/{account}/{ps}/", inst.id).as_bytes(),
    )?;
    if rest == 0 {
        deprovision(tx, inst, ps, account)?;
    }
    Ok(true)
}

/// Whether the user or group exists in the instance's directory.
fn principal_exists(
    tx: &mut dyn Tx,
    inst: &InstanceRec,
    t: &str,
    id: &str,
) -> Result<bool, Failure> {
    let space = if t == "GROUP" {
        crate::directory::GROUPS
    } else {
        crate::directory::USERS
    };
    Ok(tx
        .get(space, format!("{}/{id}", inst.store_id).as_bytes())?
        .is_some())
}

/// What one job step did.
pub enum Progress {
    Done,
    /// More accounts remain after this cursor.
    Continue(String),
}

/// Runs (a step of) request `id`. An `Err` that is not a server fault is the request's
/// failure: the caller rolls this step back and records it with [`fail_request`].
pub fn run_request(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    inst_id: &str,
    id: &str,
    cursor: Option<&str>,
) -> Result<Progress, Failure> {
    let Some(inst) = model::instance(tx, inst_id)? else {
        return Ok(Progress::Done);
    };
    let Some(mut r) = request(tx, inst_id, id)? else {
        return Ok(Progress::Done);
    };
    if r.status != "IN_PROGRESS" {
        return Ok(Progress::Done);
    }
    let Some(ps) = permsets::get(tx, inst_id, &r.ps_id)? else {
        // [M]: the text.
        return Err(failed(
            "Received a 404 status error: Permission set not found.",
        ));
    };
    let t = r.principal_type.clone().unwrap_or_default();
    let pid = r.principal_id.clone().unwrap_or_default();
    match (r.kind, r.target_id.clone()) {
        (Kind::Creation, Some(account)) => {
            if !principal_exists(tx, &inst, &t, &pid)? {
                // [M]: the text.
                return Err(failed(format!(
                    "Received a 404 status error: The {} {pid} was not found in the identity store {}.",
                    t.to_lowercase(),
                    inst.store_id
                )));
            }
            // A set already provisioned keeps its role as it is (re-provisioning is
            // ProvisionPermissionSet's job); a new one gets the set's current content.
            if !is_provisioned(tx, inst_id, &ps.id, &account)? {
                provision(tx, ids, now_ms, &inst, &ps, &account)?;
            }
            let [a, b] = assignment_keys(&inst, &account, &ps.id, &t, &pid);
            tx.put(ASSIGNMENTS, a.as_bytes(), b"")?;
            tx.put(ASSIGNMENTS_OF, b.as_bytes(), b"")?;
        }
        (Kind::Deletion, Some(account)) => {
            if !unassign(tx, &inst, &account, &ps.id, &t, &pid)? {
                // Seen from AWS (Terraform issue reports).
                return Err(failed("Received a 404 status error: Assignment not found."));
            }
        }
        (Kind::Provision, Some(account)) => provision(tx, ids, now_ms, &inst, &ps, &account)?,
        (Kind::Provision, None) => {
            let prefix = format!("{inst_id}/{}/", ps.id);
            let mut accounts = suffixes(tx, PROVISIONED, &prefix)?;
            if let Some(c) = cursor {
                accounts.retain(|a| a.as_str() > c);
            }
            let more = accounts.len() > ACCOUNTS_PER_STEP;
            accounts.truncate(ACCOUNTS_PER_STEP);
            for account in &accounts {
                provision(tx, ids, now_ms, &inst, &ps, account)?;
            }
            if more && let Some(last) = accounts.last() {
                return Ok(Progress::Continue(last.clone()));
            }
        }
        (_, None) => {}
    }
    r.status = "SUCCEEDED".to_owned();
    save_request(tx, inst_id, &r)?;
    Ok(Progress::Done)
}

/// Records the failure of request `id` (after its step was rolled back).
pub fn fail_request(tx: &mut dyn Tx, inst_id: &str, id: &str, reason: &str) -> Result<(), Failure> {
    if let Some(mut r) = request(tx, inst_id, id)? {
        r.status = "FAILED".to_owned();
        r.failure_reason = Some(reason.to_owned());
        save_request(tx, inst_id, &r)?;
    }
    Ok(())
}

// ------------------------------------------------------------------ deletions elsewhere

/// A user or group left the directory: its assignments go, and the roles where they were
/// the last.
pub fn remove_principal(
    tx: &mut dyn Tx,
    inst: &InstanceRec,
    _now_ms: i64,
    principal_type: &str,
    principal_id: &str,
) -> Result<(), Failure> {
    let prefix = format!("{}/{principal_type}/{principal_id}/", inst.id);
    for s in suffixes(tx, ASSIGNMENTS_OF, &prefix)? {
        if let Some((account, ps)) = s.split_once('/') {
            unassign(tx, inst, account, ps, principal_type, principal_id)?;
        }
    }
    Ok(())
}

/// An account left `inst`'s organization: its assignments and roles go.
pub fn remove_account(tx: &mut dyn Tx, inst: &InstanceRec, account: &str) -> Result<(), Failure> {
    for s in suffixes(tx, ASSIGNMENTS, &format!("{}/{account}/", inst.id))? {
        let mut parts = s.splitn(3, '/');
        if let (Some(ps), Some(t), Some(id)) = (parts.next(), parts.next(), parts.next()) {
            let [_, b] = assignment_keys(inst, account, ps, t, id);
            tx.delete(ASSIGNMENTS_OF, b.as_bytes())?;
        }
    }
    for (k, _) in tx.scan_prefix(
        ASSIGNMENTS,
        format!("{}/{account}/", inst.id).as_bytes(),
        false,
        usize::MAX,
    )? {
        tx.delete(ASSIGNMENTS, &k)?;
    }
    for ps in suffixes(tx, PROVISIONED_TO, &format!("{}/{account}/", inst.id))? {
        deprovision(tx, inst, &ps, account)?;
    }
    reserved::delete_saml_provider(tx, account, &saml_provider_name(inst))?;
    Ok(())
}

/// Removes what `inst` provisioned and recorded, within `budget` rows (a role counts as
/// one): the roles and SAML providers in the accounts first, then the rows.
pub fn purge(tx: &mut dyn Tx, inst: &InstanceRec, budget: &mut usize) -> Result<bool, Failure> {
    let prefix = format!("{}/", inst.id);
    let rows = tx.scan_prefix(PROVISIONED_TO, prefix.as_bytes(), false, *budget)?;
    for (k, _) in rows {
        let k = String::from_utf8(k).map_err(|_| model::corrupt(PROVISIONED_TO))?;
        if let Some((account, ps)) = k.strip_prefix(&prefix).and_then(|s| s.split_once('/')) {
            deprovision(tx, inst, ps, account)?;
            if tx.count(PROVISIONED_TO, format!("{prefix}{account}/").as_bytes())? == 0 {
                reserved::delete_saml_provider(tx, account, &saml_provider_name(inst))?;
            }
        }
        *budget = budget.saturating_sub(1);
    }
    if *budget == 0 {
        return Ok(false);
    }
    for space in SPACES {
        let rows = tx.scan_prefix(space, prefix.as_bytes(), false, *budget)?;
        *budget = budget.saturating_sub(rows.len());
        for (k, _) in rows {
            tx.delete(space, &k)?;
        }
        if *budget == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}
