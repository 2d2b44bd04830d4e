//! Policies, attachments, policy types and effective policies: `EnablePolicyType`,
//! `DisablePolicyType`, `CreatePolicy`, `UpdatePolicy`, `DeletePolicy`, `DescribePolicy`,
//! `ListPolicies`, `AttachPolicy`, `DetachPolicy`, `ListPoliciesForTarget`,
//! `ListTargetsForPolicy`, `DescribeEffectivePolicy`, `ListAccountsWithInvalidEffectivePolicy`,
//! `ListEffectivePolicyValidationErrors`.
//!
//! Rules (Organizations API reference, quotas page "Quotas for AWS Organizations", user guide
//! "Managing policies"):
//! - Policy types are enabled per root, only with all features
//!   (`PolicyTypeNotAvailableForOrganizationException` in a consolidated-billing organization,
//!   also for `CreatePolicy`). Enabling SCPs (RCPs) attaches `FullAWSAccess`
//!   (`RCPFullAWSAccess`) to the root, every OU and every account; disabling a type detaches
//!   every policy of that type everywhere. Cairn changes types synchronously: the status is
//!   `ENABLED` at once (AWS may show `PENDING_ENABLE` for a while).
//! - Content: SCPs and RCPs are parsed by the policy engine (`MalformedPolicyDocumentException`
//!   with its text); every other type must be a JSON object (syntax only — Cairn does not
//!   check the per-type schema of management policies). Size limits in characters: SCP and
//!   RCP 5,120; AI services opt-out 2,500; every other type 10,000 (documented for tag,
//!   backup, chatbot, declarative and Security Hub policies; assumed for the newer types [M])
//!   → `ConstraintViolationException` `POLICY_CONTENT_LIMIT_EXCEEDED`.
//! - Policies per organization: 10,000 SCPs, 1,000 of every other type
//!   (`POLICY_NUMBER_LIMIT_EXCEEDED`). Names are unique per type, AWS-managed names included
//!   [M] (`DuplicatePolicyException`).
//! - Attachments per target and type: SCP and RCP 5 (`RCPFullAWSAccess` not counted [M]),
//!   other types 10 [M] (`MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED`). While SCPs are enabled
//!   every target keeps at least one SCP (`MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED`).
//!   `RCPFullAWSAccess` cannot be detached (`InvalidInputException` `NON_DETACHABLE_POLICY`).
//! - AWS-managed policies cannot be updated or deleted (`InvalidInputException`
//!   `IMMUTABLE_POLICY`).
//! - Effective policies exist for the inheritable (management) types only; the model's
//!   `EffectivePolicyType` enum already refuses SCP/RCP. They are computed along the path
//!   root → OUs → account with the inheritance operators `@@assign`, `@@append`, `@@remove`
//!   and `@@operators_allowed_for_child_policies` (see [`effective`]). A target must be an
//!   account (`InvalidInputException` `TARGET_NOT_SUPPORTED` for a root or OU); without
//!   `TargetId` it is the caller's account, which any member may ask about.
//!   `LastUpdatedTimestamp` is the time of the call (Cairn does not keep policy update times).
//! - Cairn does not validate effective policies against service schemas, so
//!   `ListAccountsWithInvalidEffectivePolicy` and `ListEffectivePolicyValidationErrors`
//!   answer AWS's shapes with empty lists.
//! - Mutations: the management account only. Reads: the management account and delegated
//!   administrators. Lists are ordered by ID.

use crate::authz;
use crate::model::{
    self, AnyPolicy, EnabledType, NodeKind, Org, Page, PolicyRec, require_management,
    require_management_or_delegated, require_org,
};
use cairn_api::organizations::{Error, types};
use cairn_core::{Call, Failure};
use cairn_policy::{Policy, PolicyKind};
use cairn_store::Tx;
use cairn_wire::ApiError;

const SCP: &str = "SERVICE_CONTROL_POLICY";
const RCP: &str = "RESOURCE_CONTROL_POLICY";

/// Characters a policy document of this type may hold.
pub(crate) fn max_content_chars(policy_type: &str) -> usize {
    match policy_type {
        SCP | RCP => 5_120,
        "AISERVICES_OPT_OUT_POLICY" => 2_500,
        _ => 10_000,
    }
}

/// Policies of this type an organization may hold.
pub(crate) fn max_policies(policy_type: &str) -> usize {
    match policy_type {
        SCP => 10_000,
        _ => model::quota::POLICIES_PER_ORG,
    }
}

/// Policies of this type one target may have attached.
pub(crate) fn max_attached(policy_type: &str) -> usize {
    match policy_type {
        SCP | RCP => model::quota::POLICIES_PER_TARGET,
        _ => 10,
    }
}

// ----------------------------------------------------------------------------- errors

fn policy_not_found() -> Failure {
    Failure(ApiError::new(
        Error::PolicyNotFoundException,
        "We can't find a policy with the PolicyId that you specified.",
    ))
}

fn target_not_found() -> Failure {
    Failure(ApiError::new(
        Error::TargetNotFoundException,
        "We can't find a root, OU, or account with the TargetId that you specified.",
    ))
}

fn type_not_enabled() -> Failure {
    Failure(ApiError::new(
        Error::PolicyTypeNotEnabledException,
        "The specified policy type isn't currently enabled in this root. You can't attach policies of the specified type to entities in a root until you enable that type in the root.",
    ))
}

fn type_not_available() -> Failure {
    Failure(ApiError::new(
        Error::PolicyTypeNotAvailableForOrganizationException,
        "You can't use the specified policy type with the feature set currently enabled for this organization. For example, you can enable SCPs only after you enable all features in the organization.",
    ))
}

fn immutable() -> Failure {
    model::invalid_input(
        "IMMUTABLE_POLICY",
        "You specified a policy that is managed by AWS and can't be modified.",
    )
}

fn malformed(message: impl Into<String>) -> Failure {
    Failure(ApiError::new(
        Error::MalformedPolicyDocumentException,
        message,
    ))
}

fn effective_not_found() -> Failure {
    Failure(ApiError::new(
        Error::EffectivePolicyNotFoundException,
        "We can't find an effective policy of the specified type for the specified target.",
    ))
}

// ----------------------------------------------------------------------------- helpers

/// Checks a document for its type: size, then syntax.
pub(crate) fn check_content(policy_type: &str, content: &str) -> Result<(), Failure> {
    if content.chars().count() > max_content_chars(policy_type) {
        return Err(model::constraint(
            "POLICY_CONTENT_LIMIT_EXCEEDED",
            format!(
                "The provided policy document exceeds the maximum size of {} characters for this policy type.",
                max_content_chars(policy_type)
            ),
        ));
    }
    let kind = match policy_type {
        SCP => Some(PolicyKind::ServiceControl),
        RCP => Some(PolicyKind::ResourceControl),
        _ => None,
    };
    match kind {
        Some(kind) => Policy::parse("policy", content, kind)
            .map(|_| ())
            .map_err(|e| malformed(e.message())),
        None => match serde_json::from_str::<serde_json::Value>(content) {
            Ok(serde_json::Value::Object(_)) => Ok(()),
            _ => Err(malformed(
                "The provided policy document does not meet the requirements of the specified policy type.",
            )),
        },
    }
}

/// Customer-managed policies of the organization (every type), ascending by ID.
fn customer_policies(tx: &mut dyn Tx, org: &Org) -> Result<Vec<PolicyRec>, Failure> {
    model::scan_json(tx, model::POLICIES, &format!("{}/", org.id))
}

/// Every policy of a type, AWS-managed ones included, ascending by ID.
fn policies_of_type(
    tx: &mut dyn Tx,
    org: &Org,
    policy_type: &str,
) -> Result<Vec<AnyPolicy>, Failure> {
    let mut out: Vec<AnyPolicy> = model::AWS_MANAGED
        .iter()
        .filter(|(_, _, ty, ..)| *ty == policy_type)
        .filter_map(|(id, ..)| model::aws_managed(id))
        .collect();
    out.extend(
        customer_policies(tx, org)?
            .into_iter()
            .filter(|r| r.policy_type == policy_type)
            .map(any_of),
    );
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

fn any_of(r: PolicyRec) -> AnyPolicy {
    AnyPolicy {
        id: r.id,
        name: r.name,
        description: r.description,
        policy_type: r.policy_type,
        content: r.content,
        aws_managed: false,
    }
}

fn policy_api(org: &Org, p: &AnyPolicy) -> types::Policy {
    types::Policy {
        content: Some(p.content.clone()),
        policy_summary: Some(p.summary(org)),
    }
}

fn require_policy(tx: &mut dyn Tx, org: &Org, policy_id: &str) -> Result<AnyPolicy, Failure> {
    model::get_policy(tx, org, policy_id)?.ok_or_else(policy_not_found)
}

fn require_target(tx: &mut dyn Tx, org: &Org, target_id: &str) -> Result<(), Failure> {
    if model::node_exists(tx, org, target_id)? {
        Ok(())
    } else {
        Err(target_not_found())
    }
}

/// Whether another policy of `policy_type` (not `except`) is named `name`.
fn name_taken(
    tx: &mut dyn Tx,
    org: &Org,
    policy_type: &str,
    name: &str,
    except: Option<&str>,
) -> Result<bool, Failure> {
    Ok(policies_of_type(tx, org, policy_type)?
        .iter()
        .any(|p| p.name == name && Some(p.id.as_str()) != except))
}

fn duplicate_policy() -> Failure {
    Failure(ApiError::new(
        Error::DuplicatePolicyException,
        "A policy with the same name already exists.",
    ))
}

/// The `PolicyTargetSummary` of a root, OU or account.
fn target_summary(
    tx: &mut dyn Tx,
    org: &Org,
    target: &str,
) -> Result<types::PolicyTargetSummary, Failure> {
    let (arn, name, ty) = match NodeKind::of(target) {
        Some(NodeKind::Root) => (
            org.root_arn(),
            String::from("Root"),
            types::TargetType::Root,
        ),
        Some(NodeKind::Ou) => {
            let ou = model::get_ou(tx, org, target)?.ok_or_else(|| model::corrupt("tree"))?;
            (
                org.ou_arn(target),
                ou.name,
                types::TargetType::OrganizationalUnit,
            )
        }
        Some(NodeKind::Account) => {
            let acct =
                model::get_account_rec(tx, org, target)?.ok_or_else(|| model::corrupt("tree"))?;
            (
                org.account_arn(target),
                acct.name,
                types::TargetType::Account,
            )
        }
        None => return Err(model::corrupt("attachment")),
    };
    Ok(types::PolicyTargetSummary {
        arn: Some(arn),
        name: Some(name),
        target_id: Some(target.to_owned()),
        r#type: Some(ty),
    })
}

/// Every root, OU and account of the organization.
fn all_targets(tx: &mut dyn Tx, org: &Org) -> Result<Vec<String>, Failure> {
    let mut out = vec![org.root_id.clone()];
    out.extend(model::scan_ids(tx, model::OUS, &format!("{}/", org.id))?);
    out.extend(model::scan_ids(
        tx,
        model::ACCOUNTS,
        &format!("{}/", org.id),
    )?);
    Ok(out)
}

// ----------------------------------------------------------------------------- policy types

fn require_root(org: &Org, root_id: &str) -> Result<(), Failure> {
    if root_id == org.root_id {
        Ok(())
    } else {
        Err(Failure(ApiError::new(
            Error::RootNotFoundException,
            "We can't find a root with the RootId that you specified.",
        )))
    }
}

pub(crate) async fn enable_policy_type(
    ctx: &Call,
    input: types::EnablePolicyTypeRequest,
) -> Result<types::EnablePolicyTypeResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    authz::write(ctx, move |tx| {
        let mut org = require_org(tx, &account_id)?;
        require_management(&org, &account_id)?;
        require_root(&org, &input.root_id)?;
        if !org.is_all_features() {
            return Err(type_not_available());
        }
        let ty = input.policy_type.as_str();
        if org.policy_types.iter().any(|t| t.policy_type == ty) {
            return Err(Failure(ApiError::new(
                Error::PolicyTypeAlreadyEnabledException,
                "The specified policy type is already enabled.",
            )));
        }
        org.policy_types.push(EnabledType {
            policy_type: ty.to_owned(),
            status: String::from("ENABLED"),
        });
        model::save_org(tx, &org)?;
        if let Some(full) = model::full_access_of(ty) {
            for target in all_targets(tx, &org)? {
                model::attach(tx, &org, &target, full)?;
            }
        }
        Ok(types::EnablePolicyTypeResponse {
            root: Some(org.root_api()),
        })
    })
    .await
}

pub(crate) async fn disable_policy_type(
    ctx: &Call,
    input: types::DisablePolicyTypeRequest,
) -> Result<types::DisablePolicyTypeResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    authz::write(ctx, move |tx| {
        let mut org = require_org(tx, &account_id)?;
        require_management(&org, &account_id)?;
        require_root(&org, &input.root_id)?;
        let ty = input.policy_type.as_str();
        if !org.policy_types.iter().any(|t| t.policy_type == ty) {
            return Err(Failure(ApiError::new(
                Error::PolicyTypeNotEnabledException,
                "This policy type is not enabled for the specified root.",
            )));
        }
        for p in policies_of_type(tx, &org, ty)? {
            for target in model::targets_of(tx, &org, &p.id)? {
                model::detach(tx, &org, &target, &p.id)?;
            }
        }
        org.policy_types.retain(|t| t.policy_type != ty);
        model::save_org(tx, &org)?;
        Ok(types::DisablePolicyTypeResponse {
            root: Some(org.root_api()),
        })
    })
    .await
}

// ----------------------------------------------------------------------------- policies

pub(crate) async fn create_policy(
    ctx: &Call,
    input: types::CreatePolicyRequest,
) -> Result<types::CreatePolicyResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    let ids = ctx.ids_arc();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management(&org, &account_id)?;
        if !org.is_all_features() {
            return Err(type_not_available());
        }
        let ty = input.r#type.as_str();
        check_content(ty, &input.content)?;
        let existing = policies_of_type(tx, &org, ty)?;
        if existing.iter().any(|p| p.name == input.name) {
            return Err(duplicate_policy());
        }
        if existing.iter().filter(|p| !p.aws_managed).count() >= max_policies(ty) {
            return Err(model::constraint(
                "POLICY_NUMBER_LIMIT_EXCEEDED",
                "You have exceeded the maximum number of policies of this type that you can have in an organization.",
            ));
        }
        let mut id = model::new_policy_id(ids.as_ref());
        while model::get_policy(tx, &org, &id)?.is_some() {
            id = model::new_policy_id(ids.as_ref());
        }
        let rec = PolicyRec {
            v: model::FORMAT,
            id: id.clone(),
            name: input.name.clone(),
            description: input.description.clone(),
            policy_type: ty.to_owned(),
            content: input.content.clone(),
        };
        model::put_policy(tx, &org, &rec)?;
        if let Some(tags) = &input.tags {
            crate::tags::put_tags(tx, &org, &id, tags)?;
        }
        Ok(types::CreatePolicyResponse {
            policy: Some(policy_api(&org, &any_of(rec))),
        })
    })
    .await
}

pub(crate) async fn update_policy(
    ctx: &Call,
    input: types::UpdatePolicyRequest,
) -> Result<types::UpdatePolicyResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management(&org, &account_id)?;
        let p = require_policy(tx, &org, &input.policy_id)?;
        if p.aws_managed {
            return Err(immutable());
        }
        let mut rec = PolicyRec {
            v: model::FORMAT,
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            policy_type: p.policy_type.clone(),
            content: p.content.clone(),
        };
        if let Some(name) = &input.name
            && *name != rec.name
        {
            if name_taken(tx, &org, &rec.policy_type, name, Some(&rec.id))? {
                return Err(duplicate_policy());
            }
            rec.name = name.clone();
        }
        if let Some(description) = &input.description {
            rec.description = description.clone();
        }
        if let Some(content) = &input.content {
            check_content(&rec.policy_type, content)?;
            rec.content = content.clone();
        }
        model::put_policy(tx, &org, &rec)?;
        Ok(types::UpdatePolicyResponse {
            policy: Some(policy_api(&org, &any_of(rec))),
        })
    })
    .await
}

pub(crate) async fn delete_policy(
    ctx: &Call,
    input: types::DeletePolicyRequest,
) -> Result<(), ApiError> {
    let account_id = ctx.account_id().to_owned();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management(&org, &account_id)?;
        let p = require_policy(tx, &org, &input.policy_id)?;
        if p.aws_managed {
            return Err(immutable());
        }
        if !model::targets_of(tx, &org, &p.id)?.is_empty() {
            return Err(Failure(ApiError::new(
                Error::PolicyInUseException,
                "The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.",
            )));
        }
        // Removes its tags (it has no attachments).
        model::forget_node(tx, &org, &p.id)?;
        tx.delete(model::POLICIES, format!("{}/{}", org.id, p.id).as_bytes())?;
        Ok(())
    })
    .await
}

pub(crate) async fn describe_policy(
    ctx: &Call,
    input: types::DescribePolicyRequest,
) -> Result<types::DescribePolicyResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management_or_delegated(tx, &org, &account_id)?;
        let p = require_policy(tx, &org, &input.policy_id)?;
        Ok(types::DescribePolicyResponse {
            policy: Some(policy_api(&org, &p)),
        })
    })
    .await
}

pub(crate) async fn list_policies(
    ctx: &Call,
    input: types::ListPoliciesRequest,
) -> Result<types::ListPoliciesResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management_or_delegated(tx, &org, &account_id)?;
        let ty = input.filter.as_str();
        let page = Page::new(
            format!("ListPolicies/{account_id}/{ty}"),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let (policies, next_token) = page.apply(policies_of_type(tx, &org, ty)?, |p| p.id.clone());
        Ok(types::ListPoliciesResponse {
            next_token,
            policies: Some(policies.iter().map(|p| p.summary(&org)).collect()),
        })
    })
    .await
}

// ----------------------------------------------------------------------------- attachments

pub(crate) async fn attach_policy(
    ctx: &Call,
    input: types::AttachPolicyRequest,
) -> Result<(), ApiError> {
    let account_id = ctx.account_id().to_owned();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management(&org, &account_id)?;
        let p = require_policy(tx, &org, &input.policy_id)?;
        require_target(tx, &org, &input.target_id)?;
        if !org.type_enabled(&p.policy_type) {
            return Err(type_not_enabled());
        }
        let attached = model::attached_of_type(tx, &org, &input.target_id, &p.policy_type)?;
        if attached.iter().any(|a| a.id == p.id) {
            return Err(Failure(ApiError::new(
                Error::DuplicatePolicyAttachmentException,
                "The selected policy is already attached to the specified target.",
            )));
        }
        let counted = attached
            .iter()
            .filter(|a| a.id != "p-RCPFullAWSAccess")
            .count();
        if counted >= max_attached(&p.policy_type) {
            return Err(model::constraint(
                "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
                "You attempted to attach a policy to an entity that already has the maximum number of policies of that type attached.",
            ));
        }
        model::attach(tx, &org, &input.target_id, &p.id)
    })
    .await
}

pub(crate) async fn detach_policy(
    ctx: &Call,
    input: types::DetachPolicyRequest,
) -> Result<(), ApiError> {
    let account_id = ctx.account_id().to_owned();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management(&org, &account_id)?;
        let p = require_policy(tx, &org, &input.policy_id)?;
        require_target(tx, &org, &input.target_id)?;
        let attached = model::attached_of_type(tx, &org, &input.target_id, &p.policy_type)?;
        if !attached.iter().any(|a| a.id == p.id) {
            return Err(Failure(ApiError::new(
                Error::PolicyNotAttachedException,
                "The policy isn't attached to the specified target in the specified root.",
            )));
        }
        if p.aws_managed && p.policy_type == RCP {
            return Err(model::invalid_input(
                "NON_DETACHABLE_POLICY",
                "You can't detach this AWS Managed Policy.",
            ));
        }
        if p.policy_type == SCP && org.type_enabled(SCP) && attached.len() <= 1 {
            return Err(model::constraint(
                "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
                "You attempted to detach a policy from an entity that would leave it with fewer than the minimum number of policies of that type required.",
            ));
        }
        model::detach(tx, &org, &input.target_id, &p.id).map(|_| ())
    })
    .await
}

pub(crate) async fn list_policies_for_target(
    ctx: &Call,
    input: types::ListPoliciesForTargetRequest,
) -> Result<types::ListPoliciesForTargetResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management_or_delegated(tx, &org, &account_id)?;
        let ty = input.filter.as_str();
        let page = Page::new(
            format!(
                "ListPoliciesForTarget/{account_id}/{}/{ty}",
                input.target_id
            ),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        require_target(tx, &org, &input.target_id)?;
        let attached = model::attached_of_type(tx, &org, &input.target_id, ty)?;
        let (policies, next_token) = page.apply(attached, |p| p.id.clone());
        Ok(types::ListPoliciesForTargetResponse {
            next_token,
            policies: Some(policies.iter().map(|p| p.summary(&org)).collect()),
        })
    })
    .await
}

pub(crate) async fn list_targets_for_policy(
    ctx: &Call,
    input: types::ListTargetsForPolicyRequest,
) -> Result<types::ListTargetsForPolicyResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management_or_delegated(tx, &org, &account_id)?;
        let page = Page::new(
            format!("ListTargetsForPolicy/{account_id}/{}", input.policy_id),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let p = require_policy(tx, &org, &input.policy_id)?;
        let (targets, next_token) = page.apply(model::targets_of(tx, &org, &p.id)?, Clone::clone);
        let mut out = Vec::with_capacity(targets.len());
        for t in targets {
            out.push(target_summary(tx, &org, &t)?);
        }
        Ok(types::ListTargetsForPolicyResponse {
            next_token,
            targets: Some(out),
        })
    })
    .await
}

// ----------------------------------------------------------------------------- effective

/// The effective policy of `policy_type` for `account` (`None`: no policy of that type
/// applies), with the inheritance operators resolved.
fn effective_of(
    tx: &mut dyn Tx,
    org: &Org,
    account: &str,
    policy_type: &str,
) -> Result<Option<String>, Failure> {
    if !org.type_enabled(policy_type) {
        return Ok(None);
    }
    let mut merger = effective::Merger::default();
    let mut any = false;
    for (level, node) in model::path_to(tx, org, account)?.iter().enumerate() {
        for p in model::attached_of_type(tx, org, node, policy_type)? {
            // Stored documents were checked as JSON objects when created.
            let Ok(doc) = serde_json::from_str::<serde_json::Value>(&p.content) else {
                continue;
            };
            merger.apply(level, &doc);
            any = true;
        }
    }
    if !any {
        return Ok(None);
    }
    serde_json::to_string(&merger.finish())
        .map(Some)
        .map_err(|_| model::corrupt("policy"))
}

pub(crate) async fn describe_effective_policy(
    ctx: &Call,
    input: types::DescribeEffectivePolicyRequest,
) -> Result<types::DescribeEffectivePolicyResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    ctx.read(move |tx| {
        let org = require_org(tx, &account_id)?;
        let target = input
            .target_id
            .clone()
            .unwrap_or_else(|| account_id.clone());
        if target != account_id {
            require_management_or_delegated(tx, &org, &account_id)?;
        }
        match NodeKind::of(&target) {
            Some(NodeKind::Account) => {}
            Some(NodeKind::Root | NodeKind::Ou) => {
                return Err(model::invalid_input(
                    "TARGET_NOT_SUPPORTED",
                    "You can't perform the specified operation on that target entity.",
                ));
            }
            None => return Err(target_not_found()),
        }
        if model::get_account_rec(tx, &org, &target)?.is_none() {
            return Err(target_not_found());
        }
        let ty = input.policy_type.as_str();
        let content = effective_of(tx, &org, &target, ty)?.ok_or_else(effective_not_found)?;
        Ok(types::DescribeEffectivePolicyResponse {
            effective_policy: Some(types::EffectivePolicy {
                last_updated_timestamp: Some(cairn_wire::Timestamp::from_millis(now)),
                policy_content: Some(content),
                policy_type: Some(input.policy_type),
                target_id: Some(target),
            }),
        })
    })
    .await
}

pub(crate) async fn list_accounts_with_invalid_effective_policy(
    ctx: &Call,
    input: types::ListAccountsWithInvalidEffectivePolicyRequest,
) -> Result<types::ListAccountsWithInvalidEffectivePolicyResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management_or_delegated(tx, &org, &account_id)?;
        let page = Page::new(
            format!(
                "ListAccountsWithInvalidEffectivePolicy/{account_id}/{}",
                input.policy_type.as_str()
            ),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        // Cairn does not validate effective policies against service schemas: none is invalid.
        let (accounts, next_token) = page.apply(Vec::<types::Account>::new(), |a| {
            a.id.clone().unwrap_or_default()
        });
        Ok(types::ListAccountsWithInvalidEffectivePolicyResponse {
            accounts: Some(accounts),
            next_token,
            policy_type: Some(input.policy_type),
        })
    })
    .await
}

pub(crate) async fn list_effective_policy_validation_errors(
    ctx: &Call,
    input: types::ListEffectivePolicyValidationErrorsRequest,
) -> Result<types::ListEffectivePolicyValidationErrorsResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    ctx.read(move |tx| {
        let org = require_org(tx, &account_id)?;
        if input.account_id != account_id {
            require_management_or_delegated(tx, &org, &account_id)?;
        }
        let page = Page::new(
            format!(
                "ListEffectivePolicyValidationErrors/{account_id}/{}/{}",
                input.account_id,
                input.policy_type.as_str()
            ),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        if model::get_account_rec(tx, &org, &input.account_id)?.is_none() {
            return Err(Failure(ApiError::new(
                Error::AccountNotFoundException,
                "We can't find an AWS account with the AccountId that you specified, or the account whose credentials you used to make this request isn't a member of an organization.",
            )));
        }
        let path = model::org_path(tx, &org, &input.account_id)?;
        let (errors, next_token) = page.apply(
            Vec::<types::EffectivePolicyValidationError>::new(),
            |e| e.error_code.clone().unwrap_or_default(),
        );
        Ok(types::ListEffectivePolicyValidationErrorsResponse {
            account_id: Some(input.account_id.clone()),
            effective_policy_validation_errors: Some(errors),
            evaluation_timestamp: Some(cairn_wire::Timestamp::from_millis(now)),
            next_token,
            path: Some(path),
            policy_type: Some(input.policy_type),
        })
    })
    .await
}

/// Inheritance of management policies (Organizations user guide, "Understanding management
/// policy inheritance" and "Inheritance operators").
///
/// Policies are applied level by level from the root down to the account (at one level in
/// ascending policy-ID order). A policy is a JSON object of policy keys; a key whose value is
/// an object holding a value-setting operator is a leaf:
/// - `@@assign` replaces the inherited value;
/// - `@@append` adds values to an inherited list (missing values only);
/// - `@@remove` removes values from an inherited list (a scalar equal to a removed value, or
///   `"*"`, removes the key);
/// - `@@operators_allowed_for_child_policies` (`["@@all"]`, `["@@none"]` or a list of
///   operators) on any node limits what policies at *lower* levels may do at that node and
///   below; an operation that is not allowed is ignored (and recorded in `errors`).
///
/// A plain value (not an object) is an implicit `@@assign`. Nested objects without value
/// operators merge key by key. The effective policy carries values only: every `@@` key is
/// gone.
pub(crate) mod effective {
    use serde_json::{Map, Value};

    const ASSIGN: &str = "@@assign";
    const APPEND: &str = "@@append";
    const REMOVE: &str = "@@remove";
    const ALLOWED: &str = "@@operators_allowed_for_child_policies";

    #[derive(Debug)]
    struct Lock {
        level: usize,
        path: Vec<String>,
        allowed: Vec<String>,
    }

    /// Merges policies level by level into an effective policy.
    #[derive(Debug, Default)]
    pub struct Merger {
        acc: Map<String, Value>,
        locks: Vec<Lock>,
        /// Operations refused by a parent's `@@operators_allowed_for_child_policies`, as
        /// `<operator> at <key path>`.
        pub errors: Vec<String>,
    }

    impl Merger {
        /// Applies one policy attached at `level` (0 = root). Non-object documents are ignored.
        pub fn apply(&mut self, level: usize, doc: &Value) {
            let Value::Object(doc) = doc else {
                return;
            };
            let mut path = Vec::new();
            let mut ctx = Ctx {
                level,
                locks: &mut self.locks,
                errors: &mut self.errors,
            };
            merge_object(&mut self.acc, doc, &mut path, &mut ctx);
        }

        pub fn finish(self) -> Value {
            Value::Object(self.acc)
        }
    }

    struct Ctx<'a> {
        level: usize,
        locks: &'a mut Vec<Lock>,
        errors: &'a mut Vec<String>,
    }

    impl Ctx<'_> {
        fn permitted(&mut self, path: &[String], op: &str) -> bool {
            let ok = self
                .locks
                .iter()
                .filter(|l| l.level < self.level && path.starts_with(&l.path))
                .all(|l| l.allowed.iter().any(|a| a == "@@all" || a == op));
            if !ok {
                self.errors.push(format!("{op} at {}", path.join(".")));
            }
            ok
        }

        fn lock(&mut self, path: &[String], node: &Map<String, Value>) {
            let allowed = match node.get(ALLOWED) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                Some(Value::String(s)) => vec![s.clone()],
                _ => return,
            };
            self.locks.push(Lock {
                level: self.level,
                path: path.to_vec(),
                allowed,
            });
        }
    }

    fn as_list(v: &Value) -> Vec<Value> {
        match v {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        }
    }

    fn merge_object(
        acc: &mut Map<String, Value>,
        doc: &Map<String, Value>,
        path: &mut Vec<String>,
        ctx: &mut Ctx<'_>,
    ) {
        if path.is_empty() {
            ctx.lock(path, doc);
        }
        for (key, val) in doc {
            if key.starts_with("@@") {
                continue;
            }
            path.push(key.clone());
            match val {
                Value::Object(node)
                    if node.contains_key(ASSIGN)
                        || node.contains_key(APPEND)
                        || node.contains_key(REMOVE) =>
                {
                    if let Some(v) = node.get(ASSIGN)
                        && ctx.permitted(path, ASSIGN)
                    {
                        acc.insert(key.clone(), v.clone());
                    }
                    if let Some(v) = node.get(APPEND)
                        && ctx.permitted(path, APPEND)
                    {
                        let add = as_list(v);
                        match acc.get_mut(key) {
                            Some(Value::Array(items)) => {
                                for x in add {
                                    if !items.contains(&x) {
                                        items.push(x);
                                    }
                                }
                            }
                            Some(other) => {
                                let mut items = vec![other.clone()];
                                for x in add {
                                    if !items.contains(&x) {
                                        items.push(x);
                                    }
                                }
                                *other = Value::Array(items);
                            }
                            None => {
                                acc.insert(key.clone(), Value::Array(add));
                            }
                        }
                    }
                    if let Some(v) = node.get(REMOVE)
                        && ctx.permitted(path, REMOVE)
                    {
                        let gone = as_list(v);
                        let wildcard = gone.iter().any(|g| g.as_str() == Some("*"));
                        let drop_key = match acc.get_mut(key) {
                            Some(Value::Array(items)) => {
                                if wildcard {
                                    true
                                } else {
                                    items.retain(|x| !gone.contains(x));
                                    false
                                }
                            }
                            Some(other) => wildcard || gone.contains(other),
                            None => false,
                        };
                        if drop_key {
                            acc.remove(key);
                        }
                    }
                    ctx.lock(path, node);
                }
                Value::Object(node) => {
                    ctx.lock(path, node);
                    let (mut sub, was_object) = match acc.get(key) {
                        Some(Value::Object(o)) => (o.clone(), true),
                        _ => (Map::new(), false),
                    };
                    merge_object(&mut sub, node, path, ctx);
                    // A new key whose contribution is empty (only `@@` keys, or every
                    // operation refused) adds nothing.
                    if !sub.is_empty() || was_object {
                        acc.insert(key.clone(), Value::Object(sub));
                    }
                }
                plain => {
                    if ctx.permitted(path, ASSIGN) {
                        acc.insert(key.clone(), plain.clone());
                    }
                }
            }
            path.pop();
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use serde_json::json;

    fn merge(levels: &[(usize, serde_json::Value)]) -> (serde_json::Value, Vec<String>) {
        let mut m = effective::Merger::default();
        for (level, doc) in levels {
            m.apply(*level, doc);
        }
        let errors = m.errors.clone();
        (m.finish(), errors)
    }

    #[test]
    fn assign_overrides_parent_and_operators_vanish() {
        let root = json!({"tags": {"costcenter": {
            "tag_key": {"@@assign": "CostCenter"},
            "tag_value": {"@@assign": ["100", "200"]}}}});
        let ou = json!({"tags": {"costcenter": {"tag_value": {"@@assign": ["300"]}}}});
        let (eff, errors) = merge(&[(0, root), (1, ou)]);
        assert_eq!(
            eff,
            json!({"tags": {"costcenter": {"tag_key": "CostCenter", "tag_value": ["300"]}}})
        );
        assert!(errors.is_empty());
    }

    #[test]
    fn append_and_remove_edit_inherited_lists() {
        let root = json!({"tags": {"project": {"tag_value": {"@@assign": ["a", "b"]}}}});
        let ou = json!({"tags": {"project": {"tag_value": {"@@append": ["c", "a"]}}}});
        let acct = json!({"tags": {"project": {"tag_value": {"@@remove": ["b"]}}}});
        let (eff, _) = merge(&[(0, root), (1, ou), (2, acct)]);
        assert_eq!(eff, json!({"tags": {"project": {"tag_value": ["a", "c"]}}}));
    }

    #[test]
    fn locked_values_ignore_children() {
        let root = json!({"services": {"default": {"opt_out_policy": {
            "@@assign": "optOut",
            "@@operators_allowed_for_child_policies": ["@@none"]}}}});
        let acct = json!({"services": {"default": {"opt_out_policy": {"@@assign": "optIn"}},
            "rekognition": {"opt_out_policy": {"@@assign": "optIn"}}}});
        let (eff, errors) = merge(&[(0, root), (2, acct)]);
        assert_eq!(
            eff,
            json!({"services": {"default": {"opt_out_policy": "optOut"},
                "rekognition": {"opt_out_policy": "optIn"}}})
        );
        assert_eq!(errors, vec!["@@assign at services.default.opt_out_policy"]);
    }

    #[test]
    fn a_lock_on_a_parent_key_covers_new_children_and_allows_listed_operators() {
        let root = json!({"tags": {
            "@@operators_allowed_for_child_policies": ["@@append"],
            "env": {"tag_value": {"@@assign": ["prod"]}}}});
        let ou = json!({"tags": {
            "env": {"tag_value": {"@@append": ["dev"]}},
            "team": {"tag_key": {"@@assign": "Team"}}}});
        let (eff, errors) = merge(&[(0, root), (1, ou)]);
        assert_eq!(
            eff,
            json!({"tags": {"env": {"tag_value": ["prod", "dev"]}}})
        );
        assert_eq!(errors, vec!["@@assign at tags.team.tag_key"]);
    }

    #[test]
    fn same_level_policies_are_not_locked_by_each_other() {
        let a =
            json!({"k": {"@@assign": "a", "@@operators_allowed_for_child_policies": ["@@none"]}});
        let b = json!({"k": {"@@assign": "b"}});
        let (eff, errors) = merge(&[(1, a), (1, b)]);
        assert_eq!(eff, json!({"k": "b"}));
        assert!(errors.is_empty());
    }

    #[test]
    fn content_limits_and_syntax() {
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"s3:*","Resource":"*","Sid":"{}"}}]}}"#,
            "a".repeat(5_100)
        );
        let e = check_content(SCP, &big).unwrap_err();
        assert_eq!(e.0.code, "ConstraintViolationException");
        assert_eq!(
            e.0.field("Reason").and_then(|v| v.as_str()),
            Some("POLICY_CONTENT_LIMIT_EXCEEDED")
        );
        let e = check_content(
            SCP,
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.0.code, "MalformedPolicyDocumentException");
        assert!(check_content(SCP, r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#).is_ok());
        assert!(check_content(SCP, "not json").is_err());
        assert!(check_content("TAG_POLICY", r#"{"tags":{}}"#).is_ok());
        assert!(check_content("TAG_POLICY", "[1]").is_err());
        assert!(
            check_content(
                "AISERVICES_OPT_OUT_POLICY",
                &format!("{{\"a\":\"{}\"}}", "x".repeat(2_500))
            )
            .is_err()
        );
        assert_eq!(max_attached(SCP), 5);
        assert_eq!(max_policies(SCP), 10_000);
        assert_eq!(max_policies("TAG_POLICY"), 1_000);
    }
}
