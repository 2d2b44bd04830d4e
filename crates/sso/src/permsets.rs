//! Permission sets: what a user gets in an account — inline policy, AWS-managed and
//! customer-managed policy attachments, permissions boundary, session duration — and their
//! tags. A change bumps the set's `revision`; accounts provisioned with an older revision
//! report `LATEST_PERMISSION_SET_NOT_PROVISIONED` until `ProvisionPermissionSet` runs.
//! Facts: `notes/sso-admin-facts.md` §3, §4, §7.
//!
//! Spaces:
//! - `sso.ps` — `<instance id>/<ps id>` → [`PermSetRec`];
//! - `sso.ps_name` — `<instance id>/<name>` → ps id (names are unique in an instance).

use crate::instance::{access_denied, conflict, require_active, validation};
use crate::model::{self, AdminCtx, InstanceRec, Page};
use crate::tags;
use cairn_api::sso_admin::{Error, types};
use cairn_core::{Failure, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::{ApiError, Timestamp};
use serde::{Deserialize, Serialize};

pub const PERMISSION_SETS: &str = "sso.ps";
pub const PS_NAMES: &str = "sso.ps_name";

/// Permission sets per instance (IAM Identity Center User Guide, quotas: 2,000, adjustable).
const MAX_PERMISSION_SETS: u64 = 2_000;
/// AWS-managed plus customer-managed policies per permission set (User Guide, quotas).
const MAX_POLICIES: usize = 20;
/// Non-whitespace characters of an inline policy (User Guide, quotas: 10,240).
const MAX_INLINE_CHARS: usize = 10_240;
/// Session duration bounds in seconds (User Guide, "Set session duration": 1 to 12 hours,
/// 1 hour by default).
const MIN_SESSION_S: i64 = 3_600;
const MAX_SESSION_S: i64 = 43_200;
pub const DEFAULT_SESSION: &str = "PT1H";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRef {
    pub name: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Boundary {
    Managed { arn: String },
    Customer { name: String, path: String },
}

/// A permission set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermSetRec {
    pub v: u32,
    /// `ps-` and 16 hex digits.
    pub id: String,
    pub instance_id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// ISO-8601 duration as given (`PT1H` when none was).
    pub session_duration: String,
    #[serde(default)]
    pub relay_state: Option<String>,
    pub created_ms: i64,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    #[serde(default)]
    pub inline: Option<String>,
    /// AWS-managed policy ARNs, in attachment order.
    #[serde(default)]
    pub managed: Vec<String>,
    #[serde(default)]
    pub customer: Vec<CustomerRef>,
    #[serde(default)]
    pub boundary: Option<Boundary>,
    /// Bumped by every change; provisioning records the revision it applied.
    pub revision: u64,
}

impl PermSetRec {
    pub fn arn(&self, inst: &InstanceRec) -> String {
        format!(
            "arn:{}:sso:::permissionSet/{}/{}",
            cairn_core::partition::CANONICAL,
            inst.id,
            self.id
        )
    }

    fn api(&self, inst: &InstanceRec) -> types::PermissionSet {
        types::PermissionSet {
            created_date: Some(Timestamp::from_millis(self.created_ms)),
            description: self.description.clone(),
            name: Some(self.name.clone()),
            permission_set_arn: Some(self.arn(inst)),
            relay_state: self.relay_state.clone(),
            session_duration: Some(self.session_duration.clone()),
        }
    }
}

fn key(inst_id: &str, id: &str) -> String {
    format!("{inst_id}/{id}")
}

/// Seconds of an ISO-8601 duration (`PT1H`, `PT90M`, `PT3600S`, `P0DT2H30M`); `None` when it
/// does not parse or is negative.
pub fn parse_duration(s: &str) -> Option<i64> {
    let rest = s.strip_prefix('P').filter(|r| !r.is_empty())?;
    let (days, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total: i64 = 0;
    let mut take = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut num = String::new();
        let mut seen = 0usize;
        for ch in part.chars() {
            if ch.is_ascii_digit() {
                num.push(ch);
                continue;
            }
            let pos = units.iter().position(|(u, _)| *u == ch)?;
            let (_, scale) = units.get(pos)?;
            if pos < seen || num.is_empty() {
                return None;
            }
            seen = pos + 1;
            let n: i64 = num.parse().ok()?;
            total = total.checked_add(n.checked_mul(*scale)?)?;
            num.clear();
        }
        num.is_empty().then_some(())
    };
    take(days, &[('D', 86_400)])?;
    if let Some(t) = time {
        if t.is_empty() {
            return None;
        }
        take(t, &[('H', 3_600), ('M', 60), ('S', 1)])?;
    }
    Some(total)
}

fn check_session(s: &str) -> Result<(), Failure> {
    match parse_duration(s) {
        Some(n) if (MIN_SESSION_S..=MAX_SESSION_S).contains(&n) => Ok(()),
        // Message [M]: the bounds are the User Guide's.
        _ => Err(validation(format!(
            "The session duration {s} is not valid: it must be an ISO-8601 duration between 1 hour (PT1H) and 12 hours (PT12H)."
        ))),
    }
}

fn not_found(id: &str) -> Failure {
    // moto's text for an unknown permission set [M].
    Failure(ApiError::new(
        Error::ResourceNotFoundException,
        format!("Could not find PermissionSet with id {id}"),
    ))
}

/// The permission set an ARN names in `inst` (the ARN must be this instance's).
pub fn require(tx: &mut dyn Tx, inst: &InstanceRec, arn: &str) -> Result<PermSetRec, Failure> {
    let id = arn.rsplit('/').next().unwrap_or(arn);
    let prefix = format!(":sso:::permissionSet/{}/", inst.id);
    if !arn.contains(&prefix) {
        return Err(not_found(id));
    }
    model::get_json(tx, PERMISSION_SETS, &key(&inst.id, id))?.ok_or_else(|| not_found(id))
}

pub fn get(tx: &mut dyn Tx, inst_id: &str, id: &str) -> Result<Option<PermSetRec>, Failure> {
    model::get_json(tx, PERMISSION_SETS, &key(inst_id, id))
}

pub fn save(tx: &mut dyn Tx, rec: &PermSetRec) -> Result<(), Failure> {
    model::put_json(tx, PERMISSION_SETS, &key(&rec.instance_id, &rec.id), rec)
}

/// Whether `c` acts as the delegated administrator (not the instance's owner).
pub fn is_delegated(inst: &InstanceRec, c: &AdminCtx) -> bool {
    inst.owner != c.account
}

/// The delegated administrator may not manage a permission set provisioned to the
/// management account (User Guide, "Delegated administration": "Managing permission sets
/// provisioned in the management account"; the console's wording of the refusal).
pub fn check_delegation(
    tx: &mut dyn Tx,
    inst: &InstanceRec,
    c: &AdminCtx,
    ps: &PermSetRec,
) -> Result<(), Failure> {
    if is_delegated(inst, c) && crate::assign::is_provisioned(tx, &inst.id, &ps.id, &inst.owner)? {
        return Err(access_denied(format!(
            "User: {} is not authorized to perform this operation on resource: {}: it is a permission set provisioned in the management account, which only the management account can manage.",
            c.caller_arn,
            ps.arn(inst)
        )));
    }
    Ok(())
}

/// The instance (active, administered by the caller, with permission sets) and the
/// permission set, for a change the delegated administrator may be refused.
fn for_change(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    instance_arn: &str,
    ps_arn: &str,
) -> Result<(InstanceRec, PermSetRec), Failure> {
    let inst = require_permission_sets(tx, orgs, c, instance_arn)?;
    let ps = require(tx, &inst, ps_arn)?;
    check_delegation(tx, &inst, c, &ps)?;
    Ok((inst, ps))
}

fn for_read(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    instance_arn: &str,
    ps_arn: &str,
) -> Result<(InstanceRec, PermSetRec), Failure> {
    let inst = require_permission_sets(tx, orgs, c, instance_arn)?;
    let ps = require(tx, &inst, ps_arn)?;
    Ok((inst, ps))
}

/// An active instance the caller administers that has permission sets: an organization
/// instance, or an account instance after `UpdateInstance(PermissionSetsEnabled)`.
pub fn require_permission_sets(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    instance_arn: &str,
) -> Result<InstanceRec, Failure> {
    let inst = require_active(tx, orgs, &c.account, instance_arn)?;
    if inst.org_id.is_none() && !inst.permission_sets_enabled {
        // An account instance offers no permission sets unless enabled (User Guide,
        // "Account instances of IAM Identity Center") [M: the refusal's text].
        return Err(validation(format!(
            "Permission sets are not enabled for the instance {instance_arn}."
        )));
    }
    Ok(inst)
}

fn changed(tx: &mut dyn Tx, mut ps: PermSetRec) -> Result<(), Failure> {
    ps.revision += 1;
    save(tx, &ps)
}

pub fn create_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::CreatePermissionSetRequest,
) -> Result<types::CreatePermissionSetResponse, Failure> {
    let inst = require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let name_key = key(&inst.id, &input.name);
    if tx.get(PS_NAMES, name_key.as_bytes())?.is_some() {
        // Seen from AWS (CloudTrail errorMessage in public issue reports).
        return Err(conflict(format!(
            "PermissionSet with name {} already exists.",
            input.name
        )));
    }
    let count = tx.count(PERMISSION_SETS, format!("{}/", inst.id).as_bytes())?;
    if count >= MAX_PERMISSION_SETS {
        return Err(Failure(ApiError::new(
            Error::ServiceQuotaExceededException,
            format!(
                "You have exceeded AWS SSO limits. Cannot create PermissionSet more than {MAX_PERMISSION_SETS} for id {}. Please refer to https://docs.aws.amazon.com/singlesignon/latest/userguide/limits.html",
                inst.id
            ),
        )));
    }
    let session = input
        .session_duration
        .clone()
        .unwrap_or_else(|| DEFAULT_SESSION.to_owned());
    check_session(&session)?;
    let tags = tags::merge(&[], input.tags.as_deref().unwrap_or_default())?;
    let rec = PermSetRec {
        v: model::FORMAT,
        id: format!("ps-{}", c.ids.hex(16)),
        instance_id: inst.id.clone(),
        name: input.name.clone(),
        description: input.description.clone(),
        session_duration: session,
        relay_state: input.relay_state.clone(),
        created_ms: c.now_ms,
        tags,
        inline: None,
        managed: Vec::new(),
        customer: Vec::new(),
        boundary: None,
        revision: 1,
    };
    save(tx, &rec)?;
    tx.put(PS_NAMES, name_key.as_bytes(), rec.id.as_bytes())?;
    Ok(types::CreatePermissionSetResponse {
        permission_set: Some(rec.api(&inst)),
    })
}

pub fn describe_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DescribePermissionSetRequest,
) -> Result<types::DescribePermissionSetResponse, Failure> {
    let (inst, ps) = for_read(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    Ok(types::DescribePermissionSetResponse {
        permission_set: Some(ps.api(&inst)),
    })
}

fn bad_token() -> Failure {
    validation("The provided NextToken is not valid.")
}

pub fn list_permission_sets(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListPermissionSetsRequest,
) -> Result<types::ListPermissionSetsResponse, Failure> {
    let inst = require_permission_sets(tx, orgs, c, &input.instance_arn)?;
    let page = Page::with_default(
        format!("ListPermissionSets/{}/{}", c.account, inst.id),
        input.next_token.as_deref(),
        input.max_results,
        100,
        bad_token,
    )?;
    let prefix = format!("{}/", inst.id);
    let ids: Vec<String> = tx
        .scan_prefix(PERMISSION_SETS, prefix.as_bytes(), false, usize::MAX)?
        .into_iter()
        .filter_map(|(k, _)| {
            String::from_utf8(k)
                .ok()
                .and_then(|k| k.strip_prefix(&prefix).map(str::to_owned))
        })
        .collect();
    let (ids, next_token) = page.apply(ids, Clone::clone);
    Ok(types::ListPermissionSetsResponse {
        next_token,
        permission_sets: Some(
            ids.iter()
                .map(|id| {
                    format!(
                        "arn:{}:sso:::permissionSet/{}/{id}",
                        cairn_core::partition::CANONICAL,
                        inst.id
                    )
                })
                .collect(),
        ),
    })
}

pub fn update_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::UpdatePermissionSetRequest,
) -> Result<types::UpdatePermissionSetResponse, Failure> {
    let (_, mut ps) = for_change(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    if let Some(s) = &input.session_duration {
        check_session(s)?;
        ps.session_duration = s.clone();
    }
    if let Some(d) = &input.description {
        ps.description = Some(d.clone());
    }
    if let Some(r) = &input.relay_state {
        ps.relay_state = Some(r.clone());
    }
    changed(tx, ps)?;
    Ok(types::UpdatePermissionSetResponse {})
}

pub fn delete_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DeletePermissionSetRequest,
) -> Result<types::DeletePermissionSetResponse, Failure> {
    let (inst, ps) = for_change(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    // AWS refuses while the set is assigned or provisioned ("Could not delete because …",
    // message truncated in public reports; the rest is [M]).
    if crate::assign::in_use(tx, &inst.id, &ps.id)? {
        return Err(conflict(format!(
            "Could not delete because PermissionSet {} is provisioned to accounts or has account assignments. Remove them first.",
            ps.id
        )));
    }
    tx.delete(PERMISSION_SETS, key(&inst.id, &ps.id).as_bytes())?;
    tx.delete(PS_NAMES, key(&inst.id, &ps.name).as_bytes())?;
    Ok(types::DeletePermissionSetResponse {})
}

// ------------------------------------------------------------------------- inline policy

pub fn put_inline_policy_to_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::PutInlinePolicyToPermissionSetRequest,
) -> Result<types::PutInlinePolicyToPermissionSetResponse, Failure> {
    let (_, mut ps) = for_change(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    let doc = &input.inline_policy;
    let chars = doc.chars().filter(|ch| !ch.is_whitespace()).count();
    if chars > MAX_INLINE_CHARS {
        return Err(Failure(ApiError::new(
            Error::ServiceQuotaExceededException,
            format!(
                "The inline policy has {chars} non-whitespace characters; a permission set's inline policy may have at most {MAX_INLINE_CHARS}."
            ),
        )));
    }
    cairn_policy::Policy::parse(&ps.id, doc, cairn_policy::PolicyKind::Identity).map_err(|e| {
        validation(format!(
            "The inline policy document is not valid: {}",
            e.message()
        ))
    })?;
    ps.inline = Some(doc.clone());
    changed(tx, ps)?;
    Ok(types::PutInlinePolicyToPermissionSetResponse {})
}

pub fn get_inline_policy_for_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::GetInlinePolicyForPermissionSetRequest,
) -> Result<types::GetInlinePolicyForPermissionSetResponse, Failure> {
    let (_, ps) = for_read(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    // A set without one answers an empty policy (botocore's documentation of the operation).
    Ok(types::GetInlinePolicyForPermissionSetResponse {
        inline_policy: Some(ps.inline.unwrap_or_default()),
    })
}

pub fn delete_inline_policy_from_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DeleteInlinePolicyFromPermissionSetRequest,
) -> Result<types::DeleteInlinePolicyFromPermissionSetResponse, Failure> {
    let (_, mut ps) = for_change(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    if ps.inline.take().is_some() {
        changed(tx, ps)?;
    }
    Ok(types::DeleteInlinePolicyFromPermissionSetResponse {})
}

// ---------------------------------------------------------------------- managed policies

fn quota_check(ps: &PermSetRec) -> Result<(), Failure> {
    if ps.managed.len() + ps.customer.len() >= MAX_POLICIES {
        // moto's text, modelled on AWS's other quota messages [M].
        return Err(Failure(ApiError::new(
            Error::ServiceQuotaExceededException,
            format!(
                "You have exceeded AWS SSO limits. Cannot create ManagedPolicy more than {MAX_POLICIES} for id {}. Please refer to https://docs.aws.amazon.com/singlesignon/latest/userguide/limits.html",
                ps.id
            ),
        )));
    }
    Ok(())
}

fn policy_name(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_owned()
}

/// `arn:<partition>:iam::aws:policy[/path]/Name` with a name IAM allows.
fn well_formed_aws_arn(arn: &str) -> bool {
    let Some(rest) = arn.split_once(":iam::aws:policy/").map(|(_, r)| r) else {
        return false;
    };
    !rest.is_empty()
        && rest.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "+=,.@_-".contains(ch))
        })
}

pub fn attach_managed_policy_to_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::AttachManagedPolicyToPermissionSetRequest,
) -> Result<types::AttachManagedPolicyToPermissionSetResponse, Failure> {
    let (_, mut ps) = for_change(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    let arn = &input.managed_policy_arn;
    // The three refusals below were observed from AWS (2024; see the facts note).
    if !well_formed_aws_arn(arn) {
        return Err(validation(format!(
            "Given managed policy ARN: {arn}, is invalid"
        )));
    }
    if ps.managed.contains(arn) {
        return Err(conflict(format!(
            "Permission set with id {} already has a typed link attachment to a manged policy with {arn}",
            ps.id
        )));
    }
    if cairn_iam::authz::managed_policy(tx, arn)?.is_none() {
        return Err(Failure(ApiError::new(
            Error::ResourceNotFoundException,
            format!("Policy does not exist with ARN: {arn}"),
        )));
    }
    quota_check(&ps)?;
    ps.managed.push(arn.clone());
    changed(tx, ps)?;
    Ok(types::AttachManagedPolicyToPermissionSetResponse {})
}

pub fn detach_managed_policy_from_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DetachManagedPolicyFromPermissionSetRequest,
) -> Result<types::DetachManagedPolicyFromPermissionSetResponse, Failure> {
    let (_, mut ps) = for_change(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    let arn = &input.managed_policy_arn;
    let before = ps.managed.len();
    ps.managed.retain(|a| a != arn);
    if ps.managed.len() == before {
        // moto's text [M].
        return Err(Failure(ApiError::new(
            Error::ResourceNotFoundException,
            format!("Could not find ManagedPolicy with arn {arn}"),
        )));
    }
    changed(tx, ps)?;
    Ok(types::DetachManagedPolicyFromPermissionSetResponse {})
}

pub fn list_managed_policies_in_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListManagedPoliciesInPermissionSetRequest,
) -> Result<types::ListManagedPoliciesInPermissionSetResponse, Failure> {
    let (inst, ps) = for_read(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    let page = Page::with_default(
        format!(
            "ListManagedPoliciesInPermissionSet/{}/{}/{}",
            c.account, inst.id, ps.id
        ),
        input.next_token.as_deref(),
        input.max_results,
        100,
        bad_token,
    )?;
    // In attachment order: the token resumes after a position.
    let items: Vec<(String, String)> = ps
        .managed
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("{i:04}"), a.clone()))
        .collect();
    let (items, next_token) = page.apply(items, |(k, _)| k.clone());
    Ok(types::ListManagedPoliciesInPermissionSetResponse {
        attached_managed_policies: Some(
            items
                .into_iter()
                .map(|(_, arn)| types::AttachedManagedPolicy {
                    name: Some(policy_name(&arn)),
                    arn: Some(arn),
                })
                .collect(),
        ),
        next_token,
    })
}

// ------------------------------------------------------------- customer-managed policies

fn reference(r: &types::CustomerManagedPolicyReference) -> CustomerRef {
    CustomerRef {
        name: r.name.clone(),
        path: r.path.clone().unwrap_or_else(|| "/".to_owned()),
    }
}

fn reference_api(r: &CustomerRef) -> types::CustomerManagedPolicyReference {
    types::CustomerManagedPolicyReference {
        name: r.name.clone(),
        path: Some(r.path.clone()),
    }
}

pub fn attach_customer_managed_policy_reference_to_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::AttachCustomerManagedPolicyReferenceToPermissionSetRequest,
) -> Result<types::AttachCustomerManagedPolicyReferenceToPermissionSetResponse, Failure> {
    let (_, mut ps) = for_change(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    let r = reference(&input.customer_managed_policy_reference);
    // Existence is not checked here: provisioning fails in an account that lacks the policy
    // (User Guide, "Customer managed policies").
    if ps.customer.contains(&r) {
        // moto's text (two spaces included) [M].
        return Err(conflict(format!(
            "Given customer managed policy with name: {}  and path {} already attached",
            r.name, r.path
        )));
    }
    quota_check(&ps)?;
    ps.customer.push(r);
    changed(tx, ps)?;
    Ok(types::AttachCustomerManagedPolicyReferenceToPermissionSetResponse {})
}

pub fn detach_customer_managed_policy_reference_from_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DetachCustomerManagedPolicyReferenceFromPermissionSetRequest,
) -> Result<types::DetachCustomerManagedPolicyReferenceFromPermissionSetResponse, Failure> {
    let (_, mut ps) = for_change(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    let r = reference(&input.customer_managed_policy_reference);
    let before = ps.customer.len();
    ps.customer.retain(|x| *x != r);
    if ps.customer.len() == before {
        // moto's text [M].
        return Err(Failure(ApiError::new(
            Error::ResourceNotFoundException,
            format!(
                "Given managed policy with name: {}  and path {} does not exist on PermissionSet",
                r.name, r.path
            ),
        )));
    }
    changed(tx, ps)?;
    Ok(types::DetachCustomerManagedPolicyReferenceFromPermissionSetResponse {})
}

pub fn list_customer_managed_policy_references_in_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListCustomerManagedPolicyReferencesInPermissionSetRequest,
) -> Result<types::ListCustomerManagedPolicyReferencesInPermissionSetResponse, Failure> {
    let (inst, ps) = for_read(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    let page = Page::with_default(
        format!(
            "ListCustomerManagedPolicyReferencesInPermissionSet/{}/{}/{}",
            c.account, inst.id, ps.id
        ),
        input.next_token.as_deref(),
        input.max_results,
        100,
        bad_token,
    )?;
    let items: Vec<(String, CustomerRef)> = ps
        .customer
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("{i:04}"), r.clone()))
        .collect();
    let (items, next_token) = page.apply(items, |(k, _)| k.clone());
    Ok(
        types::ListCustomerManagedPolicyReferencesInPermissionSetResponse {
            customer_managed_policy_references: Some(
                items.iter().map(|(_, r)| reference_api(r)).collect(),
            ),
            next_token,
        },
    )
}

// ------------------------------------------------------------------- permissions boundary

pub fn put_permissions_boundary_to_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::PutPermissionsBoundaryToPermissionSetRequest,
) -> Result<types::PutPermissionsBoundaryToPermissionSetResponse, Failure> {
    let (_, mut ps) = for_change(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    let b = &input.permissions_boundary;
    // Exactly one of the two (the model's documentation of PermissionsBoundary).
    let boundary = match (&b.managed_policy_arn, &b.customer_managed_policy_reference) {
        (Some(arn), None) => {
            if !well_formed_aws_arn(arn) {
                return Err(validation(format!(
                    "Given managed policy ARN: {arn}, is invalid"
                )));
            }
            if cairn_iam::authz::managed_policy(tx, arn)?.is_none() {
                return Err(Failure(ApiError::new(
                    Error::ResourceNotFoundException,
                    format!("Policy does not exist with ARN: {arn}"),
                )));
            }
            Boundary::Managed { arn: arn.clone() }
        }
        (None, Some(r)) => {
            let r = reference(r);
            Boundary::Customer {
                name: r.name,
                path: r.path,
            }
        }
        _ => {
            return Err(validation(
                "A permissions boundary is either a ManagedPolicyArn or a CustomerManagedPolicyReference, exactly one of them.",
            ));
        }
    };
    ps.boundary = Some(boundary);
    changed(tx, ps)?;
    Ok(types::PutPermissionsBoundaryToPermissionSetResponse {})
}

pub fn get_permissions_boundary_for_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::GetPermissionsBoundaryForPermissionSetRequest,
) -> Result<types::GetPermissionsBoundaryForPermissionSetResponse, Failure> {
    let (_, ps) = for_read(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    let b = match ps.boundary {
        Some(Boundary::Managed { arn }) => types::PermissionsBoundary {
            customer_managed_policy_reference: None,
            managed_policy_arn: Some(arn),
        },
        Some(Boundary::Customer { name, path }) => types::PermissionsBoundary {
            customer_managed_policy_reference: Some(types::CustomerManagedPolicyReference {
                name,
                path: Some(path),
            }),
            managed_policy_arn: None,
        },
        // [M]: the text.
        None => {
            return Err(Failure(ApiError::new(
                Error::ResourceNotFoundException,
                format!(
                    "Could not find PermissionsBoundary for PermissionSet with id {}",
                    ps.id
                ),
            )));
        }
    };
    Ok(types::GetPermissionsBoundaryForPermissionSetResponse {
        permissions_boundary: Some(b),
    })
}

pub fn delete_permissions_boundary_from_permission_set(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DeletePermissionsBoundaryFromPermissionSetRequest,
) -> Result<types::DeletePermissionsBoundaryFromPermissionSetResponse, Failure> {
    let (_, mut ps) = for_change(tx, orgs, c, &input.instance_arn, &input.permission_set_arn)?;
    if ps.boundary.take().is_some() {
        changed(tx, ps)?;
    }
    Ok(types::DeletePermissionsBoundaryFromPermissionSetResponse {})
}

// ------------------------------------------------------------------------------ tags, purge

fn tagged(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
) -> Result<Option<PermSetRec>, Failure> {
    // arn:<p>:sso:::permissionSet/<ssoins>/<ps>
    let mut parts = arn.rsplit('/');
    let (Some(ps_id), Some(inst_id)) = (parts.next(), parts.next()) else {
        return Ok(None);
    };
    let Some(inst) = model::instance(tx, inst_id)? else {
        return Ok(None);
    };
    if !model::may_administer(tx, orgs, &inst, account)? {
        return Ok(None);
    }
    let ps = get(tx, inst_id, ps_id)?;
    Ok(ps.filter(|p| p.arn(&inst) == arn))
}

pub fn resource_tags(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
) -> Result<Option<Vec<(String, String)>>, Failure> {
    Ok(tagged(tx, orgs, account, arn)?.map(|p| p.tags))
}

pub fn set_resource_tags(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
    tags: &[(String, String)],
) -> Result<Option<()>, Failure> {
    let Some(mut ps) = tagged(tx, orgs, account, arn)? else {
        return Ok(None);
    };
    // Tags do not reach the roles (boto3's TagResource documentation): no revision bump.
    ps.tags = tags.to_vec();
    save(tx, &ps)?;
    Ok(Some(()))
}

/// Removes `inst`'s permission sets, within `budget` rows.
pub fn purge(tx: &mut dyn Tx, inst: &InstanceRec, budget: &mut usize) -> Result<bool, Failure> {
    let prefix = format!("{}/", inst.id);
    for space in [PERMISSION_SETS, PS_NAMES] {
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

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT1H"), Some(3_600));
        assert_eq!(parse_duration("PT12H"), Some(43_200));
        assert_eq!(parse_duration("PT90M"), Some(5_400));
        assert_eq!(parse_duration("PT1H30M"), Some(5_400));
        assert_eq!(parse_duration("P0DT2H"), Some(7_200));
        assert_eq!(parse_duration("PT3600S"), Some(3_600));
        assert_eq!(parse_duration("P1D"), Some(86_400));
        for bad in ["", "P", "PT", "1H", "PTH", "PT1M1H", "PT1X", "-PT1H"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
