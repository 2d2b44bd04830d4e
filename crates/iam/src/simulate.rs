//! The evaluation core of IAM's policy simulator (`SimulateCustomPolicy`,
//! `SimulatePrincipalPolicy`): pure functions over already-gathered policy documents — no
//! store, no async. The service handlers gather a principal's policies and call [`simulate`];
//! [`simulate_custom`] is all of `SimulateCustomPolicy` but the authorization.
//!
//! Results: one `EvaluationResult` per action × resource (actions outer, resources in the
//! given order; no `ResourceArns` means the one resource `*`), paged with `MaxItems` (default
//! 100) and an opaque `Marker`. Per result:
//! - `EvalDecision` from the policy engine (`cairn_policy::evaluate`);
//! - `MatchedStatements`: for an explicit deny every matching `Deny` statement, for an allow
//!   every matching `Allow` statement of the identity, resource and boundary policies, for an
//!   implicit deny none; each with its `SourcePolicyId`, `SourcePolicyType` and the 1-based
//!   line/column of the statement's `{` and `}` in its document;
//! - `MissingContextValues`: the condition keys of statements whose action, resource and
//!   principal match but that the context does not provide (sorted, names as the policy
//!   writes them); with explicit `ResourceArns` they are reported in `ResourceSpecificResults`
//!   (which then holds that one resource's result) and the top-level list is empty, as AWS
//!   documents;
//! - `EvalDecisionDetails`: cross-account (the resource owner differs from the caller's
//!   account) the decision of the `IAM Policy` and `Resource Policy` sides; same-account with a
//!   resource ARN an empty map; with `*` absent;
//! - `PermissionsBoundaryDecisionDetail` when a boundary is given,
//!   `OrganizationsDecisionDetail` when SCP levels are given.
//!
//! Errors: `MalformedPolicyDocument` (AWS's text) for a policy of `PolicyInputList`,
//! `PermissionsBoundaryPolicyInputList` or the SCP lists; `InvalidInput` for a malformed
//! `ResourcePolicy`, `ContextEntry`, `CallerArn`, `ResourceOwner`, resource ARN or `Marker`.

use std::collections::BTreeMap;

use base64::Engine as _;
use cairn_api::iam::Error;
use cairn_api::iam::types::{
    ContextEntry, ContextKeyTypeEnum, EvaluationResult, OrganizationsDecisionDetail,
    PermissionsBoundaryDecisionDetail, PolicyEvaluationDecisionType, PolicySourceType, Position,
    ResourceSpecificResult, SimulateCustomPolicyRequest, SimulatePolicyResponse, Statement,
};
use cairn_policy::{
    Context, DecisionEffect, Effect, Policies, Policy, PolicyKind, Principal, PrincipalType,
    Request, StatementMatch, StatementSpan, TextPosition, evaluate, explain, statement_spans,
};
use cairn_wire::ApiError;

/// One policy document of a simulation, with how the results name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPolicy {
    /// `SourcePolicyId`: the policy name (inline), ARN (managed), or `PolicyInputList.N`.
    pub id: String,
    pub source_type: PolicySourceType,
    pub document: String,
}

/// The request members of a simulation besides the policies.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimInputs<'a> {
    pub action_names: &'a [String],
    /// Empty: the single resource `*`.
    pub resource_arns: &'a [String],
    pub context_entries: &'a [ContextEntry],
    /// SCP levels of the caller's account path (root first, the account last), each the SCPs
    /// attached there (`OrderedOrganizationPolicyInputList`); empty: SCPs do not apply.
    pub scp_levels: &'a [Vec<SimPolicy>],
    pub max_items: Option<i32>,
    pub marker: Option<&'a str>,
}

/// Default page size.
const DEFAULT_MAX_ITEMS: usize = 100;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(Error::InvalidInputException, message)
}

/// `SimulateCustomPolicy`: the policies come from the request.
pub fn simulate_custom(
    req: &SimulateCustomPolicyRequest,
) -> Result<SimulatePolicyResponse, ApiError> {
    let identity = input_policies(&req.policy_input_list, "PolicyInputList");
    let boundaries = input_policies(
        req.permissions_boundary_policy_input_list
            .as_deref()
            .unwrap_or_default(),
        "PermissionsBoundaryPolicyInputList",
    );
    let scp_levels: Vec<Vec<SimPolicy>> = req
        .ordered_organization_policy_input_list
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(n, level)| {
            input_policies(
                level
                    .service_control_policy_input_list
                    .as_deref()
                    .unwrap_or_default(),
                &format!(
                    "OrderedOrganizationPolicyInputList.{}.ServiceControlPolicyInputList",
                    n + 1
                ),
            )
        })
        .collect();
    let inputs = SimInputs {
        action_names: &req.action_names,
        resource_arns: req.resource_arns.as_deref().unwrap_or_default(),
        context_entries: req.context_entries.as_deref().unwrap_or_default(),
        scp_levels: &scp_levels,
        max_items: req.max_items,
        marker: req.marker.as_deref(),
    };
    simulate(
        &identity,
        &boundaries,
        req.resource_policy.as_deref(),
        req.resource_owner.as_deref(),
        req.caller_arn.as_deref(),
        &inputs,
    )
}

/// `SimulatePrincipalPolicy`: the principal's own policies (`documents`, as
/// [`crate::authz::principal_policy_documents`] lists them: id, type, text) plus the
/// request's `PolicyInputList`, minus its `PolicyExclusionList`; the principal's boundary
/// unless the request brings its own.
pub fn simulate_principal(
    req: &cairn_api::iam::types::SimulatePrincipalPolicyRequest,
    documents: Vec<(String, String, String)>,
) -> Result<SimulatePolicyResponse, ApiError> {
    let excluded: Vec<String> = req
        .policy_exclusion_list
        .iter()
        .flatten()
        .filter_map(|p| p.policy_arn.clone())
        .collect();
    let is_role = req.policy_source_arn.contains(":role/");
    let is_group = req.policy_source_arn.contains(":group/");
    let mut identity = Vec::new();
    let mut boundaries = Vec::new();
    for (id, kind, document) in documents {
        if excluded.contains(&id) {
            continue;
        }
        let source_type = if id.starts_with("arn:aws:iam::aws:policy/") {
            PolicySourceType::AwsManaged
        } else if id.starts_with("arn:") {
            PolicySourceType::UserManaged
        } else if is_role {
            PolicySourceType::Role
        } else if is_group {
            PolicySourceType::Group
        } else {
            PolicySourceType::User
        };
        let p = SimPolicy {
            id,
            source_type,
            document,
        };
        if kind == crate::authz::PERMISSIONS_BOUNDARY {
            boundaries.push(p);
        } else {
            identity.push(p);
        }
    }
    identity.extend(input_policies(
        req.policy_input_list.as_deref().unwrap_or_default(),
        "PolicyInputList",
    ));
    if let Some(list) = req.permissions_boundary_policy_input_list.as_deref()
        && !list.is_empty()
    {
        boundaries = input_policies(list, "PermissionsBoundaryPolicyInputList");
    }
    let caller = req.caller_arn.clone().or_else(|| {
        req.policy_source_arn
            .contains(":user/")
            .then(|| req.policy_source_arn.clone())
    });
    let inputs = SimInputs {
        action_names: &req.action_names,
        resource_arns: req.resource_arns.as_deref().unwrap_or_default(),
        context_entries: req.context_entries.as_deref().unwrap_or_default(),
        scp_levels: &[],
        max_items: req.max_items,
        marker: req.marker.as_deref(),
    };
    simulate(
        &identity,
        &boundaries,
        req.resource_policy.as_deref(),
        req.resource_owner.as_deref(),
        caller.as_deref(),
        &inputs,
    )
}

/// The documents of a request list, named `{prefix}.1`, `{prefix}.2` … as AWS names them,
/// with source type `none`.
pub fn input_policies(documents: &[String], prefix: &str) -> Vec<SimPolicy> {
    documents
        .iter()
        .enumerate()
        .map(|(i, document)| SimPolicy {
            id: format!("{prefix}.{}", i + 1),
            source_type: PolicySourceType::None,
            document: document.clone(),
        })
        .collect()
}

/// A parsed policy with its statements' positions.
struct Parsed<'a> {
    sim: Option<&'a SimPolicy>,
    policy: Policy,
    spans: Vec<StatementSpan>,
}

impl Parsed<'_> {
    fn statement(&self, index: usize) -> Statement {
        let position = |p: TextPosition| Position {
            line: i32::try_from(p.line).ok(),
            column: i32::try_from(p.column).ok(),
        };
        let span = self.spans.get(index);
        Statement {
            source_policy_id: Some(
                self.sim
                    .map_or_else(|| String::from("ResourcePolicy"), |s| s.id.clone()),
            ),
            source_policy_type: Some(
                self.sim
                    .map_or(PolicySourceType::Resource, |s| s.source_type),
            ),
            start_position: span.map(|s| position(s.start)),
            end_position: span.map(|s| position(s.end)),
        }
    }
}

fn parse_sim(sim: &SimPolicy, kind: PolicyKind) -> Result<Parsed<'_>, ApiError> {
    let policy = Policy::parse(sim.id.clone(), &sim.document, kind)
        .map_err(|e| ApiError::new(Error::MalformedPolicyDocumentException, e.message()))?;
    Ok(Parsed {
        sim: Some(sim),
        spans: statement_spans(&sim.document).unwrap_or_default(),
        policy,
    })
}

/// The account of an IAM user ARN (`CallerArn` accepts only users).
fn caller_account(arn: &str) -> Result<&str, ApiError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam", "", account, resource]
            if is_account(account) && resource.starts_with("user/") =>
        {
            Ok(account)
        }
        _ => Err(invalid(format!(
            "Invalid CallerArn {arn}: the simulated caller must be an IAM user ARN."
        ))),
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `ResourceOwner`: an account ID or `arn:…:iam::ACCOUNT:root` (any ARN's account is taken).
fn owner_account(owner: &str) -> Result<String, ApiError> {
    if is_account(owner) {
        return Ok(owner.to_owned());
    }
    match owner.splitn(6, ':').collect::<Vec<_>>().as_slice() {
        ["arn", _, _, _, account, _] if is_account(account) => Ok((*account).to_owned()),
        _ => Err(invalid(format!(
            "Invalid ResourceOwner {owner}: expected an account ID or arn:aws:iam::ACCOUNT:root."
        ))),
    }
}

/// The account component of a resource ARN, when it names one.
fn arn_account(resource: &str) -> Option<&str> {
    let mut parts = resource.splitn(6, ':');
    let account = parts.nth(4)?;
    parts.next()?;
    is_account(account).then_some(account)
}

fn context_from(entries: &[ContextEntry]) -> Result<Context, ApiError> {
    let mut ctx = Context::new();
    let mut seen: Vec<String> = Vec::new();
    for entry in entries {
        let Some(name) = entry.context_key_name.as_deref().filter(|n| !n.is_empty()) else {
            return Err(invalid("ContextKeyName is required in every ContextEntry."));
        };
        let lower = name.to_ascii_lowercase();
        if seen.contains(&lower) {
            return Err(invalid(format!("Duplicate ContextKeyName {name}.")));
        }
        seen.push(lower);
        let values = entry.context_key_values.as_deref().unwrap_or_default();
        let kind = entry.context_key_type.unwrap_or(if values.len() == 1 {
            ContextKeyTypeEnum::String
        } else {
            ContextKeyTypeEnum::StringList
        });
        use ContextKeyTypeEnum as T;
        let (list, valid): (bool, fn(&str) -> bool) = match kind {
            T::String => (false, |_| true),
            T::StringList => (true, |_| true),
            T::Numeric => (false, is_number),
            T::NumericList => (true, is_number),
            T::Boolean => (false, is_bool),
            T::BooleanList => (true, is_bool),
            T::Ip => (false, is_ip),
            T::IpList => (true, is_ip),
            T::Binary => (false, is_base64),
            T::BinaryList => (true, is_base64),
            T::Date => (false, is_date),
            T::DateList => (true, is_date),
        };
        if !list && values.len() != 1 {
            return Err(invalid(format!(
                "ContextEntry {name} of type {} needs exactly one value, not {}.",
                kind.as_str(),
                values.len()
            )));
        }
        if let Some(bad) = values.iter().find(|v| !valid(v)) {
            return Err(invalid(format!(
                "ContextEntry {name}: {bad:?} is not a valid {} value.",
                kind.as_str()
            )));
        }
        if list {
            ctx.insert_multi(name, values.iter().cloned());
        } else {
            ctx.insert(name, values.first().cloned().unwrap_or_default());
        }
    }
    Ok(ctx)
}

fn is_number(v: &str) -> bool {
    v.trim().parse::<f64>().is_ok_and(f64::is_finite)
}

fn is_bool(v: &str) -> bool {
    v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")
}

fn is_ip(v: &str) -> bool {
    let addr = v.split_once('/').map_or(v, |(a, _)| a);
    addr.parse::<std::net::IpAddr>().is_ok()
}

fn is_base64(v: &str) -> bool {
    base64::engine::general_purpose::STANDARD.decode(v).is_ok()
}

/// Epoch seconds, or an ISO 8601 date/date-time (`YYYY-MM-DD…`).
fn is_date(v: &str) -> bool {
    let b = v.as_bytes();
    let epoch = !b.is_empty() && b.iter().all(u8::is_ascii_digit);
    let iso = b.len() >= 10
        && b.iter().take(4).all(u8::is_ascii_digit)
        && b.get(4) == Some(&b'-')
        && b.iter().skip(5).take(2).all(u8::is_ascii_digit)
        && b.get(7) == Some(&b'-')
        && b.iter().skip(8).take(2).all(u8::is_ascii_digit);
    epoch || iso
}

fn decision_type(e: DecisionEffect) -> PolicyEvaluationDecisionType {
    match e {
        DecisionEffect::Allowed => PolicyEvaluationDecisionType::Allowed,
        DecisionEffect::ImplicitlyDenied => PolicyEvaluationDecisionType::ImplicitDeny,
        DecisionEffect::ExplicitlyDenied => PolicyEvaluationDecisionType::ExplicitDeny,
    }
}

/// The marker for the result at `index`.
fn marker_for(index: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("sim:{index}"))
}

fn marker_index(marker: &str) -> Result<usize, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(marker)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| s.strip_prefix("sim:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| invalid("Invalid Marker."))
}

/// Every statement of one policy against the request.
type Described<'p, 'a> = (&'p Parsed<'a>, Vec<StatementMatch<'p>>);

fn describe<'p, 'a>(request: &Request<'_>, p: &'p Parsed<'a>) -> Described<'p, 'a> {
    (p, explain(request, &p.policy))
}

/// How one side (a set of policies) decides on its own: a matching deny, else a matching
/// allow, else nothing.
fn side_decision(matches: &[(Effect, bool)]) -> PolicyEvaluationDecisionType {
    if matches.iter().any(|&(e, m)| m && e == Effect::Deny) {
        PolicyEvaluationDecisionType::ExplicitDeny
    } else if matches.iter().any(|&(e, m)| m && e == Effect::Allow) {
        PolicyEvaluationDecisionType::Allowed
    } else {
        PolicyEvaluationDecisionType::ImplicitDeny
    }
}

/// Simulates `inputs.action_names` × `inputs.resource_arns` for a caller whose identity-based
/// policies are `identity`, with at most one permissions boundary, an optional resource-based
/// policy of the simulated resources, their owner, and the simulated caller (an IAM user ARN,
/// required with a resource policy). See the module documentation for the result's members.
pub fn simulate(
    identity: &[SimPolicy],
    boundaries: &[SimPolicy],
    resource_policy: Option<&str>,
    resource_owner: Option<&str>,
    caller_arn: Option<&str>,
    inputs: &SimInputs<'_>,
) -> Result<SimulatePolicyResponse, ApiError> {
    // Validate everything before evaluating anything.
    let identity: Vec<Parsed<'_>> = identity
        .iter()
        .map(|p| parse_sim(p, PolicyKind::Identity))
        .collect::<Result<_, _>>()?;
    if boundaries.len() > 1 {
        return Err(invalid(
            "PermissionsBoundaryPolicyInputList accepts only one permissions boundary.",
        ));
    }
    let boundary: Option<Parsed<'_>> = boundaries
        .first()
        .map(|p| parse_sim(p, PolicyKind::Identity))
        .transpose()?;
    let scps: Vec<Vec<Parsed<'_>>> = inputs
        .scp_levels
        .iter()
        .map(|level| {
            level
                .iter()
                .map(|p| parse_sim(p, PolicyKind::ServiceControl))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<_, _>>()?;
    let resource: Option<Parsed<'_>> = match resource_policy {
        Some(doc) => Some(Parsed {
            sim: None,
            policy: Policy::parse("ResourcePolicy", doc, PolicyKind::Resource)
                .map_err(|e| invalid(e.message()))?,
            spans: statement_spans(doc).unwrap_or_default(),
        }),
        None => None,
    };
    let caller_account = caller_arn.map(caller_account).transpose()?;
    if resource.is_some() && caller_arn.is_none() {
        return Err(invalid(
            "CallerArn is required when ResourcePolicy is specified.",
        ));
    }
    let owner = resource_owner.map(owner_account).transpose()?;
    let ctx = context_from(inputs.context_entries)?;
    let star = [String::from("*")];
    let explicit_resources = !inputs.resource_arns.is_empty();
    let resources: &[String] = if explicit_resources {
        inputs.resource_arns
    } else {
        &star
    };
    if let Some(bad) = resources
        .iter()
        .find(|r| r.as_str() != "*" && !r.starts_with("arn:"))
    {
        return Err(invalid(format!("Invalid resource ARN {bad}.")));
    }
    let max = inputs
        .max_items
        .and_then(|m| usize::try_from(m).ok())
        .filter(|&m| m > 0)
        .unwrap_or(DEFAULT_MAX_ITEMS);
    let start = inputs.marker.map(marker_index).transpose()?.unwrap_or(0);

    let policies = Policies {
        identity: identity.iter().map(|p| &p.policy).collect(),
        scp_levels: scps
            .iter()
            .map(|l| l.iter().map(|p| &p.policy).collect())
            .collect(),
        rcp_levels: Vec::new(),
        resource: resource.as_ref().map(|p| &p.policy),
        boundary: boundary.as_ref().map(|p| &p.policy),
        session: Vec::new(),
        scoped: Vec::new(),
    };
    let caller = caller_arn.unwrap_or_default();
    let principal = Principal::new(
        PrincipalType::User,
        caller,
        caller_account.unwrap_or_default(),
    );

    let total = inputs.action_names.len() * resources.len();
    let end = start.saturating_add(max).min(total);
    let mut results = Vec::with_capacity(end.saturating_sub(start));
    for index in start..end {
        let (Some(action), Some(resource_arn)) = (
            inputs.action_names.get(index / resources.len()),
            resources.get(index % resources.len()),
        ) else {
            break;
        };
        // The resource's owner: its ARN's account, else ResourceOwner, else the caller's.
        let resource_account = arn_account(resource_arn)
            .map(str::to_owned)
            .or_else(|| owner.clone());
        let cross_account = matches!(
            (caller_account, resource_account.as_deref()),
            (Some(c), Some(o)) if c != o
        );
        let request = Request {
            principal,
            action,
            resource: resource_arn,
            resource_account: if cross_account {
                resource_account.as_deref()
            } else {
                None
            },
            context: &ctx,
        };
        let decision = evaluate(&request, &policies);
        let effect = decision_type(decision.effect);

        // Describe every statement of every policy once.
        let describe_one = |p| describe(&request, p);
        let identity_x: Vec<_> = identity.iter().map(describe_one).collect();
        let resource_x: Vec<_> = resource.iter().map(describe_one).collect();
        let boundary_x: Vec<_> = boundary.iter().map(describe_one).collect();
        let scp_x: Vec<Vec<_>> = scps
            .iter()
            .map(|l| l.iter().map(describe_one).collect())
            .collect();

        let mut matched = Vec::new();
        let wanted = match decision.effect {
            DecisionEffect::ExplicitlyDenied => Some(Effect::Deny),
            DecisionEffect::Allowed => Some(Effect::Allow),
            DecisionEffect::ImplicitlyDenied => None,
        };
        if let Some(wanted) = wanted {
            for (p, x) in identity_x.iter().chain(&resource_x).chain(&boundary_x) {
                for m in x {
                    if m.matches && m.statement.effect() == wanted {
                        matched.push(p.statement(m.index));
                    }
                }
            }
        }
        let mut missing: BTreeMap<String, String> = BTreeMap::new();
        for (_, x) in identity_x
            .iter()
            .chain(&resource_x)
            .chain(&boundary_x)
            .chain(scp_x.iter().flatten())
        {
            for m in x.iter().filter(|m| m.applies) {
                for c in m.statement.conditions() {
                    if !ctx.contains(c.key_name()) {
                        missing
                            .entry(c.key_name().to_ascii_lowercase())
                            .or_insert_with(|| c.key_name().to_owned());
                    }
                }
            }
        }
        let mut missing: Vec<String> = missing.into_values().collect();
        missing.sort();
        let effects = |x: &[Described<'_, '_>]| -> Vec<(Effect, bool)> {
            x.iter()
                .flat_map(|(_, ms)| ms.iter().map(|m| (m.statement.effect(), m.matches)))
                .collect()
        };
        let details = if cross_account {
            let mut d = BTreeMap::new();
            d.insert(
                String::from("IAM Policy"),
                side_decision(&effects(&identity_x)),
            );
            d.insert(
                String::from("Resource Policy"),
                side_decision(&effects(&resource_x)),
            );
            Some(d)
        } else if resource_arn != "*" {
            Some(BTreeMap::new())
        } else {
            None
        };
        let boundary_detail = (!boundary_x.is_empty()).then(|| PermissionsBoundaryDecisionDetail {
            allowed_by_permissions_boundary: Some(
                side_decision(&effects(&boundary_x)) == PolicyEvaluationDecisionType::Allowed,
            ),
        });
        let organizations_detail = (!scp_x.is_empty()).then(|| OrganizationsDecisionDetail {
            allowed_by_organizations: Some(
                scp_x.iter().all(|level| {
                    side_decision(&effects(level)) == PolicyEvaluationDecisionType::Allowed
                }) && !scp_x.iter().flatten().any(|(_, ms)| {
                    ms.iter()
                        .any(|m| m.matches && m.statement.effect() == Effect::Deny)
                }),
            ),
        });
        // An SCP deny ends the simulation: no further details (as AWS documents).
        let scp_denied = organizations_detail
            .as_ref()
            .is_some_and(|o| o.allowed_by_organizations == Some(false));
        let details = if scp_denied { None } else { details };

        let (top_missing, specific) = if explicit_resources {
            (
                Vec::new(),
                Some(vec![ResourceSpecificResult {
                    eval_resource_name: resource_arn.clone(),
                    eval_resource_decision: effect,
                    matched_statements: Some(matched.clone()),
                    missing_context_values: Some(missing),
                    eval_decision_details: details.clone(),
                    permissions_boundary_decision_detail: boundary_detail.clone(),
                }]),
            )
        } else {
            (missing, None)
        };
        results.push(EvaluationResult {
            eval_action_name: action.clone(),
            eval_resource_name: Some(resource_arn.clone()),
            eval_decision: effect,
            matched_statements: Some(matched),
            missing_context_values: Some(top_missing),
            eval_decision_details: details,
            organizations_decision_detail: organizations_detail,
            permissions_boundary_decision_detail: boundary_detail,
            resource_specific_results: specific,
        });
    }
    let truncated = end < total;
    Ok(SimulatePolicyResponse {
        evaluation_results: Some(results),
        is_truncated: Some(truncated),
        marker: truncated.then(|| marker_for(end)),
    })
}

/// `GetContextKeysForCustomPolicy` / `GetContextKeysForPrincipalPolicy`: the condition keys
/// the documents reference, each once (compared case-insensitively, as condition keys are),
/// in the order first seen. A document IAM would not accept is `MalformedPolicyDocument`
/// with the parser's text, as for `SimulateCustomPolicy`.
pub fn context_keys(documents: &[String]) -> Result<Vec<String>, ApiError> {
    let mut keys: Vec<String> = Vec::new();
    for doc in documents {
        let policy = Policy::parse("", doc, PolicyKind::Identity)
            .map_err(|e| ApiError::new(Error::MalformedPolicyDocumentException, e.message()))?;
        for st in policy.statements() {
            for c in st.conditions() {
                let k = c.key_name();
                if !keys.iter().any(|have| have.eq_ignore_ascii_case(k)) {
                    keys.push(k.to_owned());
                }
            }
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {

    use super::*;

    const CALLER: &str = "arn:aws:iam::111111111111:user/alice";

    fn custom(policies: &[&str]) -> SimulateCustomPolicyRequest {
        SimulateCustomPolicyRequest {
            policy_input_list: policies.iter().map(|s| (*s).to_owned()).collect(),
            action_names: vec!["s3:GetObject".into()],
            ..Default::default()
        }
    }

    fn entry(name: &str, kind: ContextKeyTypeEnum, values: &[&str]) -> ContextEntry {
        ContextEntry {
            context_key_name: Some(name.into()),
            context_key_type: Some(kind),
            context_key_values: Some(values.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn results(r: &SimulatePolicyResponse) -> &[EvaluationResult] {
        r.evaluation_results.as_deref().unwrap()
    }

    fn pos(line: i32, column: i32) -> Option<Position> {
        Some(Position {
            line: Some(line),
            column: Some(column),
        })
    }

    #[test]
    fn allowed_with_statement_positions() {
        let doc = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"s3:Get*\", \"Resource\": \"*\"},\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": \"s3:GetObject\",\n      \"Resource\": \"*\"\n    }\n  ]\n}";
        let r = simulate_custom(&custom(&[doc])).unwrap();
        let [res] = results(&r) else { panic!() };
        assert_eq!(res.eval_action_name, "s3:GetObject");
        assert_eq!(res.eval_resource_name.as_deref(), Some("*"));
        assert_eq!(res.eval_decision, PolicyEvaluationDecisionType::Allowed);
        assert_eq!(
            res.matched_statements.as_deref().unwrap(),
            &[
                Statement {
                    source_policy_id: Some("PolicyInputList.1".into()),
                    source_policy_type: Some(PolicySourceType::None),
                    start_position: pos(4, 5),
                    end_position: pos(4, 61),
                },
                Statement {
                    source_policy_id: Some("PolicyInputList.1".into()),
                    source_policy_type: Some(PolicySourceType::None),
                    start_position: pos(5, 5),
                    end_position: pos(9, 5),
                },
            ]
        );
        assert_eq!(res.missing_context_values, Some(vec![]));
        assert_eq!(res.eval_decision_details, None);
        assert_eq!(res.resource_specific_results, None);
        assert_eq!(r.is_truncated, Some(false));
        assert_eq!(r.marker, None);
    }

    #[test]
    fn explicit_and_implicit_deny() {
        let allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:Delete*","Resource":"*"}]}"#;
        let mut req = custom(&[allow, deny]);
        req.action_names = vec![
            "s3:DeleteObject".into(),
            "s3:PutObject".into(),
            "ec2:RunInstances".into(),
        ];
        let r = simulate_custom(&req).unwrap();
        let res = results(&r);
        assert_eq!(res.len(), 3);
        assert_eq!(
            res[0].eval_decision,
            PolicyEvaluationDecisionType::ExplicitDeny
        );
        let matched = res[0].matched_statements.as_deref().unwrap();
        assert_eq!(matched.len(), 1);
        assert_eq!(
            matched[0].source_policy_id.as_deref(),
            Some("PolicyInputList.2")
        );
        assert_eq!(matched[0].start_position, pos(1, 38));
        assert_eq!(res[1].eval_decision, PolicyEvaluationDecisionType::Allowed);
        assert_eq!(
            res[2].eval_decision,
            PolicyEvaluationDecisionType::ImplicitDeny
        );
        assert_eq!(res[2].matched_statements, Some(vec![]));
    }

    #[test]
    fn context_entries_and_missing_context_values() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{
              "IpAddress":{"aws:SourceIp":"10.0.0.0/8"},
              "Bool":{"aws:MultiFactorAuthPresent":"true"},
              "ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]},
              "NumericLessThan":{"s3:max-keys":"10"},
              "DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}},
            {"Effect":"Deny","Action":"ec2:*","Resource":"*","Condition":{"StringEquals":{"ec2:Region":"x"}}}]}"#;
        let mut req = custom(&[doc]);
        let r = simulate_custom(&req).unwrap();
        let [res] = results(&r) else { panic!() };
        assert_eq!(
            res.eval_decision,
            PolicyEvaluationDecisionType::ImplicitDeny
        );
        assert_eq!(
            res.missing_context_values.as_deref().unwrap(),
            [
                "aws:CurrentTime",
                "aws:MultiFactorAuthPresent",
                "aws:SourceIp",
                "aws:TagKeys",
                "s3:max-keys"
            ]
        );
        req.context_entries = Some(vec![
            entry("aws:SourceIp", ContextKeyTypeEnum::Ip, &["10.1.2.3"]),
            entry(
                "aws:MultiFactorAuthPresent",
                ContextKeyTypeEnum::Boolean,
                &["true"],
            ),
            entry("aws:TagKeys", ContextKeyTypeEnum::StringList, &["a"]),
            entry("s3:max-keys", ContextKeyTypeEnum::Numeric, &["5"]),
            entry(
                "aws:CurrentTime",
                ContextKeyTypeEnum::Date,
                &["2024-05-01T00:00:00Z"],
            ),
        ]);
        let r = simulate_custom(&req).unwrap();
        let [res] = results(&r) else { panic!() };
        assert_eq!(res.eval_decision, PolicyEvaluationDecisionType::Allowed);
        assert_eq!(res.missing_context_values, Some(vec![]));

        for (bad, part) in [
            (
                entry("s3:max-keys", ContextKeyTypeEnum::Numeric, &["five"]),
                "not a valid numeric",
            ),
            (
                entry("aws:SourceIp", ContextKeyTypeEnum::Ip, &["nope"]),
                "not a valid ip",
            ),
            (
                entry("a:b", ContextKeyTypeEnum::Boolean, &["yes"]),
                "not a valid boolean",
            ),
            (
                entry("a:b", ContextKeyTypeEnum::String, &["x", "y"]),
                "exactly one value",
            ),
            (
                entry("a:b", ContextKeyTypeEnum::Binary, &["!!"]),
                "not a valid binary",
            ),
            (
                entry("a:b", ContextKeyTypeEnum::DateList, &["yesterday"]),
                "not a valid dateList",
            ),
            (
                ContextEntry {
                    context_key_name: None,
                    ..Default::default()
                },
                "ContextKeyName is required",
            ),
        ] {
            req.context_entries = Some(vec![bad]);
            let e = simulate_custom(&req).unwrap_err();
            assert_eq!(e.code, "InvalidInput");
            assert!(e.message.contains(part), "{}", e.message);
        }
    }

    #[test]
    fn resource_arns_resource_policy_and_cross_account() {
        let identity = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::mine/*"}}"#;
        let resource = r#"{"Version":"2012-10-17","Statement":{"Sid":"Alice","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"s3:GetObject","Resource":"*"}}"#;
        let mut req = custom(&[identity]);
        req.resource_arns = Some(vec![
            "arn:aws:s3:::mine/k".into(),
            "arn:aws:s3:::theirs/k".into(),
        ]);
        req.resource_policy = Some(resource.into());
        let e = simulate_custom(&req).unwrap_err();
        assert_eq!(e.code, "InvalidInput");
        req.caller_arn = Some(CALLER.into());
        let r = simulate_custom(&req).unwrap();
        let res = results(&r);
        assert_eq!(res.len(), 2);
        // Same account: identity or resource policy suffices; details present but empty.
        assert!(
            res.iter()
                .all(|x| x.eval_decision == PolicyEvaluationDecisionType::Allowed)
        );
        assert_eq!(res[0].eval_decision_details, Some(BTreeMap::new()));
        let specific = res[1].resource_specific_results.as_deref().unwrap();
        assert_eq!(specific[0].eval_resource_name, "arn:aws:s3:::theirs/k");
        assert_eq!(
            specific[0].matched_statements.as_deref().unwrap()[0].source_policy_type,
            Some(PolicySourceType::Resource)
        );
        assert_eq!(
            specific[0].matched_statements.as_deref().unwrap()[0]
                .source_policy_id
                .as_deref(),
            Some("ResourcePolicy")
        );
        // Cross account: both sides must allow.
        req.resource_owner = Some("arn:aws:iam::222222222222:root".into());
        let r = simulate_custom(&req).unwrap();
        let res = results(&r);
        assert_eq!(res[0].eval_decision, PolicyEvaluationDecisionType::Allowed);
        assert_eq!(
            res[1].eval_decision,
            PolicyEvaluationDecisionType::ImplicitDeny
        );
        let details = res[1].eval_decision_details.as_ref().unwrap();
        assert_eq!(
            details["IAM Policy"],
            PolicyEvaluationDecisionType::ImplicitDeny
        );
        assert_eq!(
            details["Resource Policy"],
            PolicyEvaluationDecisionType::Allowed
        );

        req.resource_policy = Some(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#.into());
        let e = simulate_custom(&req).unwrap_err();
        assert_eq!(
            (e.code.as_ref(), e.message.as_str()),
            ("InvalidInput", "Missing required field Principal")
        );
        req.resource_policy = None;
        req.caller_arn = Some("arn:aws:sts::111111111111:assumed-role/R/s".into());
        assert_eq!(simulate_custom(&req).unwrap_err().code, "InvalidInput");
        req.caller_arn = None;
        req.resource_owner = Some("bob".into());
        assert_eq!(simulate_custom(&req).unwrap_err().code, "InvalidInput");
    }

    #[test]
    fn boundary_and_organizations_details() {
        let allow_all = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
        let ec2_only = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}"#;
        let mut req = custom(&[allow_all]);
        req.permissions_boundary_policy_input_list = Some(vec![ec2_only.into()]);
        req.action_names = vec!["s3:GetObject".into(), "ec2:RunInstances".into()];
        let r = simulate_custom(&req).unwrap();
        let res = results(&r);
        assert_eq!(
            res[0].eval_decision,
            PolicyEvaluationDecisionType::ImplicitDeny
        );
        assert_eq!(
            res[0].permissions_boundary_decision_detail,
            Some(PermissionsBoundaryDecisionDetail {
                allowed_by_permissions_boundary: Some(false)
            })
        );
        assert_eq!(res[1].eval_decision, PolicyEvaluationDecisionType::Allowed);
        let ids: Vec<_> = res[1]
            .matched_statements
            .as_deref()
            .unwrap()
            .iter()
            .map(|s| s.source_policy_id.clone().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["PolicyInputList.1", "PermissionsBoundaryPolicyInputList.1"]
        );
        assert_eq!(res[1].organizations_decision_detail, None);

        req.permissions_boundary_policy_input_list = None;
        req.ordered_organization_policy_input_list = Some(vec![
            cairn_api::iam::types::OrderedOrganizationPolicyType {
                service_control_policy_input_list: Some(vec![allow_all.into()]),
            },
            cairn_api::iam::types::OrderedOrganizationPolicyType {
                service_control_policy_input_list: Some(vec![ec2_only.into()]),
            },
        ]);
        let r = simulate_custom(&req).unwrap();
        let res = results(&r);
        assert_eq!(
            res[0].eval_decision,
            PolicyEvaluationDecisionType::ImplicitDeny
        );
        assert_eq!(
            res[0].organizations_decision_detail,
            Some(OrganizationsDecisionDetail {
                allowed_by_organizations: Some(false)
            })
        );
        assert_eq!(
            res[1].organizations_decision_detail,
            Some(OrganizationsDecisionDetail {
                allowed_by_organizations: Some(true)
            })
        );
        // Two boundaries are refused.
        req.permissions_boundary_policy_input_list = Some(vec![ec2_only.into(), ec2_only.into()]);
        assert_eq!(simulate_custom(&req).unwrap_err().code, "InvalidInput");
    }

    #[test]
    fn paging() {
        let allow_all = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
        let mut req = custom(&[allow_all]);
        req.action_names = vec!["s3:A".into(), "s3:B".into(), "s3:C".into()];
        req.resource_arns = Some(vec!["arn:aws:s3:::x".into(), "arn:aws:s3:::y".into()]);
        req.max_items = Some(4);
        let r = simulate_custom(&req).unwrap();
        assert_eq!(results(&r).len(), 4);
        assert_eq!(r.is_truncated, Some(true));
        let names: Vec<_> = results(&r)
            .iter()
            .map(|x| {
                (
                    x.eval_action_name.as_str(),
                    x.eval_resource_name.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("s3:A", "arn:aws:s3:::x"),
                ("s3:A", "arn:aws:s3:::y"),
                ("s3:B", "arn:aws:s3:::x"),
                ("s3:B", "arn:aws:s3:::y")
            ]
        );
        req.marker = r.marker.clone();
        let r = simulate_custom(&req).unwrap();
        assert_eq!(results(&r).len(), 2);
        assert_eq!(results(&r)[0].eval_action_name, "s3:C");
        assert_eq!(r.is_truncated, Some(false));
        assert_eq!(r.marker, None);
        req.marker = Some("garbage".into());
        let e = simulate_custom(&req).unwrap_err();
        assert_eq!(
            (e.code.as_ref(), e.message.as_str()),
            ("InvalidInput", "Invalid Marker.")
        );
    }

    #[test]
    fn malformed_input_policies() {
        let e = simulate_custom(&custom(&[
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*"}}"#,
        ]))
        .unwrap_err();
        assert_eq!(e.code, "MalformedPolicyDocument");
        assert_eq!(e.message, "Policy statement must contain resources.");
        let e = simulate_custom(&custom(&["{"])).unwrap_err();
        assert_eq!(
            (e.code.as_ref(), e.message.as_str()),
            ("MalformedPolicyDocument", "Syntax errors in policy.")
        );
        let mut req = custom(&[]);
        req.permissions_boundary_policy_input_list = Some(vec!["[]".into()]);
        assert_eq!(
            simulate_custom(&req).unwrap_err().code,
            "MalformedPolicyDocument"
        );
    }

    #[test]
    fn principal_policies_keep_their_ids_and_types() {
        let user_inline = SimPolicy {
            id: "ReadOnly".into(),
            source_type: PolicySourceType::User,
            document: r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}"#.into(),
        };
        let group_managed = SimPolicy {
            id: "arn:aws:iam::111111111111:policy/NoGet".into(),
            source_type: PolicySourceType::UserManaged,
            document: r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::secret/*"}}"#.into(),
        };
        let actions = vec!["s3:GetObject".to_owned()];
        let resources = vec!["arn:aws:s3:::secret/k".to_owned()];
        let inputs = SimInputs {
            action_names: &actions,
            resource_arns: &resources,
            ..Default::default()
        };
        let r = simulate(
            &[user_inline, group_managed],
            &[],
            None,
            None,
            Some(CALLER),
            &inputs,
        )
        .unwrap();
        let [res] = results(&r) else { panic!() };
        assert_eq!(
            res.eval_decision,
            PolicyEvaluationDecisionType::ExplicitDeny
        );
        let m = &res.resource_specific_results.as_deref().unwrap()[0]
            .matched_statements
            .as_deref()
            .unwrap()[0];
        assert_eq!(
            m.source_policy_id.as_deref(),
            Some("arn:aws:iam::111111111111:policy/NoGet")
        );
        assert_eq!(m.source_policy_type, Some(PolicySourceType::UserManaged));
    }
}
