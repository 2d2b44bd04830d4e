//! The decision: every (action, resource) check of a call through the policy engine with
//! all of its layers (identity, boundary, session, SCPs, RCPs, resource policy), the trust
//! rule for role assumption, and AWS's AccessDenied text for the first denial. Pure.

use super::gather::{CheckTags, Facts};
use cairn_core::Principal;
use cairn_policy::{Context, Decision, DecisionEffect, Policies, Policy, PrincipalType, Request};
use cairn_wire::model::Protocol;
use cairn_wire::{ApiError, CommonError};

pub(crate) fn root_unrestricted(principal: &Principal, facts: &Facts) -> bool {
    principal.is_root()
        && facts.session.is_empty()
        && facts.org.as_ref().is_none_or(|o| {
            o.scp_levels.is_empty() || o.management_account_id == principal.account_id()
        })
        && facts.checks.iter().all(|c| {
            c.resource_policy.is_none()
                && !c.trust
                && c.resource_account.is_none()
                && c.rcp_levels.is_empty()
        })
}

/// What temporary credentials from `sts:GetSessionToken` may not do (IAM UG, "Comparing
/// the AWS STS API operations"): call IAM without MFA, or STS other than `AssumeRole` and
/// `GetCallerIdentity`. Federated users (`sts:GetFederationToken`) may call no IAM
/// operation and no STS operation but `GetCallerIdentity` (STS API reference,
/// GetFederationToken: "You cannot use these credentials to call any IAM API operations").
pub(crate) fn temporary_credential_limits(
    principal: &Principal,
    signing_name: &str,
    operation: &str,
    protocol: Protocol,
) -> Result<(), ApiError> {
    if matches!(principal, Principal::FederatedUser { .. }) {
        if signing_name == "iam" {
            // [M]: the code and text AWS answers with.
            return Err(CommonError::InvalidClientTokenId(String::from(
                "The security token included in the request is invalid",
            ))
            .to_api_error(protocol));
        }
        if signing_name == "sts" && operation != "GetCallerIdentity" {
            return Err(CommonError::AccessDenied(format!(
                "Cannot call {operation} with session credentials"
            ))
            .to_api_error(protocol));
        }
        return Ok(());
    }
    let session = match principal {
        Principal::Root { session, .. } | Principal::IamUser { session, .. } => session.as_deref(),
        _ => None,
    };
    let Some(session) = session else {
        return Ok(());
    };
    if session.assumed_root {
        // A privileged root session (`sts:AssumeRoot`) exists to call IAM (and S3, SQS) on
        // the member account; its task policy decides what it may do. [M]: which STS
        // operations it may call besides `GetCallerIdentity` (none are in a task policy).
        if signing_name == "sts" && operation != "GetCallerIdentity" {
            return Err(CommonError::AccessDenied(format!(
                "Cannot call {operation} with session credentials"
            ))
            .to_api_error(protocol));
        }
        return Ok(());
    }
    if signing_name == "iam" && !session.mfa_authenticated {
        return Err(CommonError::InvalidClientTokenId(String::from(
            "The security token included in the request is invalid",
        ))
        .to_api_error(protocol));
    }
    if signing_name == "sts" && !matches!(operation, "AssumeRole" | "GetCallerIdentity") {
        return Err(CommonError::AccessDenied(format!(
            "Cannot call {operation} with session credentials"
        ))
        .to_api_error(protocol));
    }
    Ok(())
}

/// The engine's view of the caller.
fn engine_principal<'a>(
    p: &'a Principal,
    arn: &'a str,
    role_arn: &'a str,
) -> cairn_policy::Principal<'a> {
    let account = p.account_id();
    match p {
        Principal::Root { .. } => cairn_policy::Principal::new(PrincipalType::Root, arn, account),
        Principal::IamUser { .. } => {
            cairn_policy::Principal::new(PrincipalType::User, arn, account)
        }
        Principal::AssumedRole { .. } => {
            cairn_policy::Principal::new(PrincipalType::AssumedRole, arn, account)
                .with_role_arn(role_arn)
        }
        Principal::FederatedUser { .. } => {
            cairn_policy::Principal::new(PrincipalType::FederatedUser, arn, account)
        }
        // Never evaluated (`authorize` decides for them before), but typed as what they
        // are to IAM: no IAM identity.
        Principal::IdentityCenterUser(_) | Principal::OidcClient { .. } | Principal::Anonymous => {
            cairn_policy::Principal::new(PrincipalType::Anonymous, arn, account)
        }
    }
}

pub(crate) fn decide(
    principal: &Principal,
    facts: &Facts,
    tags: &[CheckTags],
    context: &Context,
    protocol: Protocol,
) -> Result<(), ApiError> {
    let arn = principal.arn();
    let role_arn = principal.role_arn().unwrap_or_default();
    let who = engine_principal(principal, &arn, &role_arn);
    let service_linked = matches!(principal, Principal::AssumedRole { role_path, .. } if role_path.starts_with("/aws-service-role/"));
    let identity: Vec<&Policy> = facts
        .identity
        .as_ref()
        .map(|i| i.policies.iter().map(|p| p.as_ref()).collect())
        .unwrap_or_default();
    let boundary = facts.identity.as_ref().and_then(|i| i.boundary.as_deref());
    let scp_levels: Vec<Vec<&Policy>> = match (&facts.org, service_linked) {
        (Some(org), false) if org.management_account_id != principal.account_id() => org
            .scp_levels
            .iter()
            .map(|level| level.iter().map(|p| p.as_ref()).collect())
            .collect(),
        _ => Vec::new(),
    };
    let session: Vec<&Policy> = facts.session.iter().map(|p| p.as_ref()).collect();
    let scoped: Vec<&Policy> = facts.scoped.iter().map(|p| p.as_ref()).collect();
    for (i, check) in facts.checks.iter().enumerate() {
        // The resource's own keys, on a copy of the call's context (only when it has tags).
        let tagged;
        let context = match tags.get(i).and_then(Option::as_ref) {
            Some((resource_tags, prefixes)) if !resource_tags.is_empty() => {
                let mut c = context.clone();
                for (k, v) in resource_tags.iter() {
                    for prefix in prefixes.iter() {
                        c.insert(&format!("{prefix}{k}"), v.clone());
                    }
                }
                tagged = c;
                &tagged
            }
            _ => context,
        };
        let request = Request {
            principal: who,
            action: &check.action,
            resource: &check.resource,
            resource_account: check.resource_account.as_deref(),
            context,
        };
        let rcp_levels: Vec<Vec<&Policy>> = check
            .rcp_levels
            .iter()
            .map(|level| level.iter().map(|p| p.as_ref()).collect())
            .collect();
        let policies = Policies {
            identity: identity.clone(),
            scp_levels: scp_levels.clone(),
            rcp_levels,
            resource: check.resource_policy.as_deref(),
            boundary,
            session: session.clone(),
            scoped: scoped.clone(),
        };
        let decision = cairn_policy::evaluate(&request, &policies);
        if !decision.is_allowed() {
            return Err(denied(
                &decision,
                &arn,
                &check.action,
                &check.resource,
                protocol,
            ));
        }
        if check.trust {
            // A role's trust policy must itself allow the caller, even in the same account
            // (where an identity policy would otherwise suffice): one of its Allow
            // statements must match. Its denies were weighed by the evaluation above.
            let trust_ok = check.resource_policy.as_deref().is_some_and(|trust| {
                cairn_policy::explain(&request, trust)
                    .iter()
                    .any(|m| m.matches && m.statement.effect() == cairn_policy::Effect::Allow)
            });
            if !trust_ok {
                return Err(CommonError::AccessDenied(format!(
                    "User: {arn} is not authorized to perform: {} on resource: {}",
                    check.action, check.resource
                ))
                .to_api_error(protocol));
            }
        }
    }
    Ok(())
}

fn denied(
    decision: &Decision<'_>,
    principal_arn: &str,
    action: &str,
    resource: &str,
    protocol: Protocol,
) -> ApiError {
    let mut message = decision.access_denied_message(principal_arn, action, resource);
    if resource == "*" {
        // AWS names no resource for actions without resource-level permissions.
        message = message.replacen(" on resource: *", "", 1);
    }
    if decision.effect == DecisionEffect::Allowed {
        message = format!("User: {principal_arn} is not authorized to perform: {action}");
    }
    CommonError::AccessDenied(message).to_api_error(protocol)
}
