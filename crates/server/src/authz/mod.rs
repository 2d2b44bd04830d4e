//! The authorize step: every signed AWS API call is decided by the IAM policy engine
//! (`cairn-policy`) before its handler runs, table-driven by the authorization catalogue.
//!
//! For one call:
//! 1. The catalogue entry of the operation gives the IAM action, the resources (ARN
//!    templates and where each variable comes from) and the condition keys fed by the input.
//!    Calls IAM never authorizes (unsigned portal/OIDC calls; `sts:GetCallerIdentity`,
//!    `sts:GetSessionToken`) pass.
//! 2. The facts are gathered: the principal's identity policies and permissions boundary
//!    (cached per principal, invalidated by [`cairn_iam::generation`]), its account's place in
//!    its organization and the SCPs along that path (cached per account, invalidated by
//!    [`cairn_organizations::authz::generation`]), the session policies of temporary
//!    credentials, the resource ARNs (from the input, the organization, or the store), and
//!    the resource-based policy where the action has one (a role's trust policy for
//!    `sts:AssumeRole`). Warm caches and an input that names its resources make this free of
//!    store reads; otherwise it is one read-only snapshot.
//! 3. The request context carries the global condition keys (aws-facts §5.5) and the
//!    catalogue's `condition_sources`.
//! 4. Each (action, resource) pair — the operation's own and the `also_requires` actions whose
//!    input member is present — must be allowed. The first denial answers with the service's
//!    AccessDenied shape and AWS's message, and the pipeline records it in CloudTrail.
//!
//! Caches are per process: with several Cairn processes on one PostgreSQL database, a change
//! made through another process is seen after at most `credential_cache_ms`.

pub(crate) mod catalogue;
mod resolve;

use crate::app::App;
use cairn_core::{Call, GenerationCache, Principal, Session};
use cairn_iam::IdentityPolicies;
use cairn_organizations::authz::OrgContext;
use cairn_policy::{
    Context, Decision, DecisionEffect, Policies, Policy, PolicyKind, PrincipalType, Request,
};
use cairn_store::{StoreError, Tx};
use cairn_wire::model::Protocol;
use cairn_wire::{ApiError, CommonError};
use catalogue::{Catalogue, OpAuth};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Per-process caches of what authorization reads from the store.
#[derive(Default)]
pub struct AuthzCache {
    identities: GenerationCache<Option<Arc<IdentityPolicies>>>,
    orgs: GenerationCache<Option<Arc<OrgContext>>>,
    session_policies: RwLock<HashMap<String, Arc<Policy>>>,
    /// Tags by resource ARN, under the sum of the IAM and Organizations generations (both
    /// only grow, so the sum moves whenever either does).
    tags: GenerationCache<Option<Arc<ResourceTags>>>,
}

/// A resource's tags, `(key, value)`.
type ResourceTags = Vec<(String, String)>;

/// The principal as the store knows it: whose identity policies apply.
#[derive(Clone)]
enum Subject {
    Root,
    User { account: String, name: String },
    Role { account: String, name: String },
}

impl Subject {
    fn of(p: &Principal) -> Subject {
        match p {
            Principal::IamUser {
                account_id,
                user_name,
                ..
            } => Subject::User {
                account: account_id.clone(),
                name: user_name.clone(),
            },
            Principal::AssumedRole {
                account_id,
                role_name,
                ..
            } => Subject::Role {
                account: account_id.clone(),
                name: role_name.clone(),
            },
            Principal::Root { .. } | Principal::Anonymous => Subject::Root,
        }
    }

    fn cache_key(&self) -> Option<String> {
        match self {
            Subject::Root => None,
            Subject::User { account, name } => Some(format!("u/{account}/{}", name.to_lowercase())),
            Subject::Role { account, name } => Some(format!("r/{account}/{}", name.to_lowercase())),
        }
    }

    fn load(&self, tx: &mut dyn Tx) -> Result<Option<IdentityPolicies>, StoreError> {
        match self {
            Subject::Root => Ok(None),
            Subject::User { account, name } => cairn_iam::user_identity(tx, account, name),
            Subject::Role { account, name } => cairn_iam::role_identity(tx, account, name),
        }
    }
}

/// What one decision needs.
struct Facts {
    identity: Option<Arc<IdentityPolicies>>,
    org: Option<Arc<OrgContext>>,
    session: Vec<Arc<Policy>>,
    checks: Vec<resolve::Check>,
    /// Condition keys read from the stored resource (`organizations:PolicyType` of the
    /// policy an `AttachPolicy` names).
    stored: Vec<(String, String)>,
}

/// Decides whether the call may proceed.
pub(crate) async fn authorize(
    app: &App,
    call: &Call,
    service: usize,
    op_index: usize,
    input: &Value,
) -> Result<(), ApiError> {
    if app.config.dev {
        return Ok(());
    }
    let principal = call.principal();
    if matches!(principal, Principal::Anonymous) {
        // Only operations the model marks unauthenticated get this far unsigned.
        return Ok(());
    }
    let protocol = call.info().model.protocol;
    temporary_credential_limits(
        principal,
        call.info().model.signing_name,
        call.info().operation.name,
        protocol,
    )?;
    let Some(op) = Catalogue::get().op(service, op_index) else {
        tracing::error!(
            operation = call.info().operation.name,
            "no authorization catalogue entry; refusing"
        );
        return Err(ApiError::internal());
    };
    let Some(action) = op.action.as_deref() else {
        return Ok(());
    };
    if !op.policy_checked {
        return Ok(());
    }
    let facts = gather(app, call, service, op, action, input).await?;
    if root_unrestricted(principal, &facts) {
        // The root user has every permission in its own account; only SCPs, RCPs and a
        // resource policy (none of which apply here) could restrict it.
        return Ok(());
    }
    let tags = resource_tags(app, &facts.checks).await?;
    let context = build_context(app, call, &facts, op, input);
    decide(principal, &facts, &tags, &context, protocol)
}

fn taggable(arn: &str) -> bool {
    cairn_iam::authz::is_taggable(arn) || cairn_organizations::authz::is_taggable(arn)
}

/// The tags of each check's resource, for `aws:ResourceTag/*` (`iam:ResourceTag/*` too for
/// IAM users and roles): `result[i]` belongs to `checks[i]`; an empty result means no check
/// names a resource that can carry tags.
async fn resource_tags(
    app: &App,
    checks: &[resolve::Check],
) -> Result<Vec<Option<Arc<ResourceTags>>>, ApiError> {
    if !checks.iter().any(|c| taggable(&c.resource)) {
        return Ok(Vec::new());
    }
    let now = app.env.clock.now_millis();
    let ttl = app.config.credential_cache_ms;
    // Read before the store (see `cairn_core::generation`).
    let generation = cairn_iam::generation().wrapping_add(cairn_organizations::authz::generation());
    let mut out = Vec::with_capacity(checks.len());
    let mut missing = Vec::new();
    for (i, c) in checks.iter().enumerate() {
        let hit = if taggable(&c.resource) {
            let hit = app.authz.tags.get(&c.resource, generation, now, ttl);
            if hit.is_none() {
                missing.push((i, c.resource.clone()));
            }
            hit.flatten()
        } else {
            None
        };
        out.push(hit);
    }
    if missing.is_empty() {
        return Ok(out);
    }
    let arns: Vec<String> = missing.iter().map(|(_, arn)| arn.clone()).collect();
    let loaded = app
        .env
        .store
        .read(move |tx| -> Result<Vec<Option<ResourceTags>>, StoreError> {
            arns.iter()
                .map(|arn| {
                    if cairn_iam::authz::is_taggable(arn) {
                        cairn_iam::authz::resource_tags(tx, arn)
                    } else {
                        cairn_organizations::authz::resource_tags(tx, arn)
                    }
                })
                .collect()
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "resource tag lookup failed");
            ApiError::internal()
        })?;
    for ((i, arn), tags) in missing.into_iter().zip(loaded) {
        let tags = tags.map(Arc::new);
        app.authz.tags.put(arn, generation, now, tags.clone());
        if let Some(slot) = out.get_mut(i) {
            *slot = tags;
        }
    }
    Ok(out)
}

fn root_unrestricted(principal: &Principal, facts: &Facts) -> bool {
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
/// `GetCallerIdentity`.
fn temporary_credential_limits(
    principal: &Principal,
    signing_name: &str,
    operation: &str,
    protocol: Protocol,
) -> Result<(), ApiError> {
    let session = match principal {
        Principal::Root { session, .. } | Principal::IamUser { session, .. } => session.as_deref(),
        _ => None,
    };
    let Some(session) = session else {
        return Ok(());
    };
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

async fn gather(
    app: &App,
    call: &Call,
    service_index: usize,
    op: &'static OpAuth,
    action: &str,
    input: &Value,
) -> Result<Facts, ApiError> {
    let principal = call.principal();
    let now = app.env.clock.now_millis();
    let ttl = app.config.credential_cache_ms;
    let subject = Subject::of(principal);
    let iam_gen = cairn_iam::generation();
    let org_gen = cairn_organizations::authz::generation();
    let account = principal.account_id().to_owned();

    let cached_identity = match subject.cache_key() {
        None => Some(None),
        Some(k) => app.authz.identities.get(&k, iam_gen, now, ttl),
    };
    let cached_org = app.authz.orgs.get(&account, org_gen, now, ttl);
    let session = principal.session().cloned();
    let session_arns = session.as_ref().is_some_and(|s| !s.policy_arns.is_empty());

    let store_needed = cached_identity.is_none()
        || cached_org.is_none()
        || session_arns
        || resolve::needs_store(op, action);

    let (identity, org, managed_session, checks) = if store_needed {
        let subject2 = subject.clone();
        let account2 = account.clone();
        let need_identity = cached_identity.is_none();
        let need_org = cached_org.is_none();
        let arns = session
            .as_ref()
            .map(|s| s.policy_arns.clone())
            .unwrap_or_default();
        let principal2 = principal.clone();
        let input2 = input.clone();
        let region = call.info().region.clone();
        let action2 = action.to_owned();
        let known_org = cached_org.clone().flatten();
        let (identity, org, managed, checks) = app
            .env
            .store
            .read(move |tx| -> Result<_, StoreError> {
                let identity = if need_identity {
                    Some(subject2.load(tx)?.map(Arc::new))
                } else {
                    None
                };
                let org = if need_org {
                    Some(cairn_organizations::authz::context(tx, &account2)?.map(Arc::new))
                } else {
                    None
                };
                let org_now = org.clone().flatten().or(known_org);
                let mut managed = Vec::new();
                for arn in &arns {
                    if let Some(p) = cairn_iam::managed_policy(tx, arn)? {
                        managed.push(p);
                    }
                }
                let resolved = resolve::resolve(
                    &mut resolve::StoreLookup(tx),
                    resolve::Target {
                        principal: &principal2,
                        region: &region,
                        org: org_now.as_deref(),
                        service_index,
                        op,
                        action: &action2,
                        input: &input2,
                    },
                )?;
                Ok((identity, org, managed, resolved))
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "authorization lookup failed");
                ApiError::internal()
            })?;
        (identity, org, managed, checks)
    } else {
        let org_now = cached_org.clone().flatten();
        let resolved = resolve::resolve(
            &mut resolve::NoLookup,
            resolve::Target {
                principal,
                region: &call.info().region,
                org: org_now.as_deref(),
                service_index,
                op,
                action,
                input,
            },
        )
        .map_err(|e| {
            tracing::error!(error = %e, "authorization lookup failed");
            ApiError::internal()
        })?;
        (None, None, Vec::new(), resolved)
    };
    let resolve::Resolved { checks, stored } = checks;

    let identity = match (cached_identity, identity) {
        (Some(hit), _) => hit,
        (None, Some(loaded)) => {
            if let Some(k) = subject.cache_key() {
                app.authz.identities.put(k, iam_gen, now, loaded.clone());
            }
            loaded
        }
        (None, None) => None,
    };
    let org = match (cached_org, org) {
        (Some(hit), _) => hit,
        (None, Some(loaded)) => {
            app.authz.orgs.put(account, org_gen, now, loaded.clone());
            loaded
        }
        (None, None) => None,
    };
    let mut session_policies = Vec::new();
    if let Some(s) = &session
        && let Some(doc) = &s.policy
    {
        session_policies.push(session_policy(app, doc)?);
    }
    session_policies.extend(managed_session);
    Ok(Facts {
        identity,
        org,
        session: session_policies,
        checks,
        stored,
    })
}

/// A session's inline policy, parsed once per distinct document.
fn session_policy(app: &App, doc: &str) -> Result<Arc<Policy>, ApiError> {
    if let Ok(map) = app.authz.session_policies.read()
        && let Some(p) = map.get(doc)
    {
        return Ok(Arc::clone(p));
    }
    // Validated when the session was issued; a failure here means the token was forged
    // around the validation, which the seal makes impossible — refuse rather than allow.
    let parsed = Policy::parse("", doc, PolicyKind::Identity).map_err(|_| ApiError::internal())?;
    let parsed = Arc::new(parsed);
    if let Ok(mut map) = app.authz.session_policies.write() {
        if map.len() >= cairn_core::generation::CACHE_LIMIT {
            map.clear();
        }
        map.insert(doc.to_owned(), Arc::clone(&parsed));
    }
    Ok(parsed)
}

/// The global condition keys and the catalogue's input-fed keys.
fn build_context(app: &App, call: &Call, facts: &Facts, op: &OpAuth, input: &Value) -> Context {
    let info = call.info();
    let principal = &info.principal;
    let mut c = Context::new();
    let account = principal.account_id();
    c.insert("aws:PrincipalAccount", account);
    let kind = match principal {
        Principal::Root { .. } => "Account",
        Principal::IamUser { .. } => "User",
        Principal::AssumedRole { .. } => "AssumedRole",
        Principal::Anonymous => "Anonymous",
    };
    let principal_arn = principal.principal_arn();
    c.insert("aws:PrincipalType", kind);
    c.insert("aws:PrincipalArn", principal_arn);
    c.insert("aws:userid", principal.user_id());
    if let Principal::IamUser { user_name, .. } = principal {
        c.insert("aws:username", user_name.clone());
    }
    let region = if info.model.global {
        "us-east-1"
    } else {
        info.region.as_str()
    };
    c.insert("aws:RequestedRegion", region);
    c.insert("aws:SourceIp", info.source_ip.clone());
    // AWS's API endpoints are HTTPS-only, so AWS always evaluates `true`; Cairn answers the
    // same so that guardrails denying insecure transport behave as they do on AWS (terminate
    // TLS in front of Cairn in production).
    c.insert("aws:SecureTransport", "true");
    let now = app.env.clock.now_millis();
    c.insert("aws:CurrentTime", iso_seconds(now));
    c.insert("aws:EpochTime", (now.div_euclid(1000)).to_string());
    c.insert("aws:UserAgent", info.user_agent.clone());
    if let Some(org) = &facts.org {
        c.insert("aws:PrincipalOrgID", org.org_id.clone());
        c.insert_multi("aws:PrincipalOrgPaths", [org.path.clone()]);
    }
    let mut tags: Vec<(String, String)> = facts
        .identity
        .as_ref()
        .map(|i| i.tags.clone())
        .unwrap_or_default();
    if let Some(session) = principal.session() {
        session_keys(&mut c, session, now);
        // Session tags override the entity's tags of the same key (case-insensitively).
        for (k, v) in &session.tags {
            tags.retain(|(tk, _)| !tk.eq_ignore_ascii_case(k));
            tags.push((k.clone(), v.clone()));
        }
    }
    for (k, v) in tags {
        c.insert(&format!("aws:PrincipalTag/{k}"), v);
    }
    for (key, path) in &op.condition_sources {
        if let Some(prefix) = key.strip_suffix("${TagKey}") {
            // A list of {Key, Value} pairs.
            if let Some(items) = input.get(path.as_str()).and_then(Value::as_array) {
                for item in items {
                    let k = item
                        .get("Key")
                        .or_else(|| item.get("key"))
                        .and_then(Value::as_str);
                    let v = item
                        .get("Value")
                        .or_else(|| item.get("value"))
                        .and_then(Value::as_str);
                    if let (Some(k), Some(v)) = (k, v) {
                        c.insert(&format!("{prefix}{k}"), v);
                    }
                }
            }
            continue;
        }
        let values = resolve::member_values(input, path);
        if values.is_empty() {
            continue;
        }
        if path.contains("[]") || input.get(path.as_str()).is_some_and(Value::is_array) {
            c.insert_multi(key, values);
        } else if let Some(v) = values.into_iter().next() {
            c.insert(key, v);
        }
    }
    for (k, v) in &facts.stored {
        c.insert(k, v.clone());
    }
    // aws:ResourceAccount / aws:ResourceOrgID / aws:ResourceOrgPaths: Cairn's resources
    // belong to the caller's account, or (Organizations) to the management account.
    let resource_account = match (info.model.signing_name, &facts.org) {
        ("organizations", Some(org)) => org.management_account_id.clone(),
        _ => account.to_owned(),
    };
    if let Some(org) = &facts.org {
        c.insert("aws:ResourceOrgID", org.org_id.clone());
        if resource_account == account {
            c.insert_multi("aws:ResourceOrgPaths", [org.path.clone()]);
        }
    }
    c.insert("aws:ResourceAccount", resource_account);
    c
}

fn session_keys(c: &mut Context, s: &Session, now_ms: i64) {
    c.insert("aws:TokenIssueTime", iso_seconds(s.issued_at_ms));
    c.insert(
        "aws:MultiFactorAuthPresent",
        if s.mfa_authenticated { "true" } else { "false" },
    );
    if s.mfa_authenticated {
        c.insert(
            "aws:MultiFactorAuthAge",
            ((now_ms - s.issued_at_ms).max(0) / 1000).to_string(),
        );
    }
    if let Some(si) = &s.source_identity {
        c.insert("aws:SourceIdentity", si.clone());
    }
}

fn iso_seconds(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => secs.to_string(),
    }
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
        Principal::Anonymous => {
            cairn_policy::Principal::new(PrincipalType::Anonymous, arn, account)
        }
    }
}

fn decide(
    principal: &Principal,
    facts: &Facts,
    tags: &[Option<Arc<ResourceTags>>],
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
    for (i, check) in facts.checks.iter().enumerate() {
        // The resource's own keys, on a copy of the call's context (only when it has tags).
        let tagged;
        let context = match tags.get(i).and_then(Option::as_deref) {
            Some(resource_tags) if !resource_tags.is_empty() => {
                let mut c = context.clone();
                let iam = cairn_iam::authz::is_taggable(&check.resource);
                for (k, v) in resource_tags {
                    c.insert(&format!("aws:ResourceTag/{k}"), v.clone());
                    if iam {
                        c.insert(&format!("iam:ResourceTag/{k}"), v.clone());
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
