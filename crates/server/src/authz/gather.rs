//! Fact gathering: everything one decision needs, from the caches when they are warm and
//! otherwise from one read-only snapshot — the principal's identity policies and boundary,
//! its account's organization (SCPs), the session's policies, the resolved (action, resource)
//! checks with their resource policies and RCPs, the stored condition keys, and the tags of
//! the resources named.

use super::cache::{AuthzCache, ResourceTags, Subject};
use super::catalogue::OpAuth;
use super::resolve::{self, Check, arn_service};
use cairn_core::{Env, OrgContext, Principal, ResourceFacts};
use cairn_iam::IdentityPolicies;
use cairn_policy::Policy;
use cairn_store::StoreError;
use cairn_wire::ApiError;
use serde_json::Value;
use std::sync::Arc;

/// What one decision needs.
pub(crate) struct Facts {
    pub identity: Option<Arc<IdentityPolicies>>,
    pub org: Option<Arc<OrgContext>>,
    pub session: Vec<Arc<Policy>>,
    /// The session's scope-down policies, each its own layer.
    pub scoped: Vec<Arc<Policy>>,
    pub checks: Vec<Check>,
    /// Condition keys read from the stored resource (`organizations:PolicyType` of the
    /// policy an `AttachPolicy` names).
    pub stored: Vec<(String, String)>,
}

/// The narrow inputs of [`gather`].
pub(crate) struct Inputs<'a> {
    pub env: &'a Env,
    pub cache: &'a AuthzCache,
    /// How long a cache entry is trusted (`credential_cache_ms`).
    pub ttl_ms: i64,
    pub facts: &'a [Arc<dyn ResourceFacts>],
    pub principal: &'a Principal,
    pub region: &'a str,
    pub service_index: usize,
    pub op: &'static OpAuth,
    pub action: &'a str,
    pub input: &'a Value,
}

fn lookup_failed(e: &StoreError) -> ApiError {
    tracing::error!(error = %e, "authorization lookup failed");
    ApiError::internal()
}

/// Gathers the facts of one call (see the module doc).
pub(crate) async fn gather(i: Inputs<'_>) -> Result<Facts, ApiError> {
    let principal = i.principal;
    let now = i.env.clock.now_millis();
    let subject = Subject::of(principal);
    // Read before the store (see `cairn_core::generation`).
    let iam_gen = i.env.generations.iam.get();
    let org_gen = i.env.generations.orgs.get();
    let account = principal.account_id().to_owned();

    let cached_identity = match subject.cache_key() {
        None => Some(None),
        Some(k) => i.cache.identities.get(&k, iam_gen, now, i.ttl_ms),
    };
    let cached_org = i.cache.orgs.get(&account, org_gen, now, i.ttl_ms);
    let session = principal.session().cloned();
    let session_arns = session.as_ref().is_some_and(|s| !s.policy_arns.is_empty());

    let store_needed = cached_identity.is_none()
        || cached_org.is_none()
        || session_arns
        || resolve::needs_store(i.op, i.action, i.facts);

    let (identity, org, managed_session, resolved) = if store_needed {
        let subject2 = subject.clone();
        let account2 = account.clone();
        let need_identity = cached_identity.is_none();
        let need_org = cached_org.is_none();
        let arns = session
            .as_ref()
            .map(|s| s.policy_arns.clone())
            .unwrap_or_default();
        let principal2 = principal.clone();
        let input2 = i.input.clone();
        let region = i.region.to_owned();
        let action2 = i.action.to_owned();
        let known_org = cached_org.clone().flatten();
        let facts: Vec<Arc<dyn ResourceFacts>> = i.facts.to_vec();
        let (service_index, op) = (i.service_index, i.op);
        i.env
            .store
            .read(move |tx| -> Result<_, StoreError> {
                let identity = if need_identity {
                    Some(subject2.load(tx)?.map(Arc::new))
                } else {
                    None
                };
                let org = if need_org {
                    let mut found = None;
                    for f in &facts {
                        if let Some(o) = f.organization(tx, &account2)? {
                            found = Some(o);
                            break;
                        }
                    }
                    Some(found.map(Arc::new))
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
                    &mut resolve::StoreLookup { tx, facts: &facts },
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
            .map_err(|e| lookup_failed(&e))?
    } else {
        let org_now = cached_org.clone().flatten();
        let resolved = resolve::resolve(
            &mut resolve::NoLookup,
            resolve::Target {
                principal,
                region: i.region,
                org: org_now.as_deref(),
                service_index: i.service_index,
                op: i.op,
                action: i.action,
                input: i.input,
            },
        )
        .map_err(|e| lookup_failed(&e))?;
        (None, None, Vec::new(), resolved)
    };

    let identity = match (cached_identity, identity) {
        (Some(hit), _) => hit,
        (None, Some(loaded)) => {
            if let Some(k) = subject.cache_key() {
                i.cache.identities.put(k, iam_gen, now, loaded.clone());
            }
            loaded
        }
        (None, None) => None,
    };
    let org = match (cached_org, org) {
        (Some(hit), _) => hit,
        (None, Some(loaded)) => {
            i.cache.orgs.put(account, org_gen, now, loaded.clone());
            loaded
        }
        (None, None) => None,
    };
    let mut session_policies = Vec::new();
    if let Some(s) = &session
        && let Some(doc) = &s.policy
    {
        session_policies.push(i.cache.session_policy(doc).ok_or_else(ApiError::internal)?);
    }
    session_policies.extend(managed_session);
    let mut scoped = Vec::new();
    for doc in session.iter().flat_map(|s| s.scoped.iter()) {
        scoped.push(i.cache.session_policy(doc).ok_or_else(ApiError::internal)?);
    }
    Ok(Facts {
        identity,
        org,
        session: session_policies,
        scoped,
        checks: resolved.checks,
        stored: resolved.stored,
    })
}

/// One check's resource tags and the condition-key prefixes they go under
/// (`aws:ResourceTag/`, and `iam:ResourceTag/` for IAM's users and roles).
pub(crate) type CheckTags = Option<(Arc<ResourceTags>, &'static [&'static str])>;

fn facts_of<'f>(
    facts: &'f [Arc<dyn ResourceFacts>],
    arn: &str,
) -> Option<&'f Arc<dyn ResourceFacts>> {
    let service = arn_service(arn);
    facts
        .iter()
        .find(|f| f.service() == service && f.is_taggable(arn))
}

/// The tags of each check's resource: `result[i]` belongs to `checks[i]`; an empty result
/// means no check names a resource that can carry tags.
pub(crate) async fn resource_tags(
    env: &Env,
    cache: &AuthzCache,
    ttl_ms: i64,
    facts: &[Arc<dyn ResourceFacts>],
    checks: &[Check],
) -> Result<Vec<CheckTags>, ApiError> {
    if !checks
        .iter()
        .any(|c| facts_of(facts, &c.resource).is_some())
    {
        return Ok(Vec::new());
    }
    let now = env.clock.now_millis();
    // Read before the store (see `cairn_core::generation`).
    let generation = env
        .generations
        .iam
        .get()
        .wrapping_add(env.generations.orgs.get());
    let mut out: Vec<CheckTags> = Vec::with_capacity(checks.len());
    let mut missing = Vec::new();
    for (idx, c) in checks.iter().enumerate() {
        let Some(f) = facts_of(facts, &c.resource) else {
            out.push(None);
            continue;
        };
        let hit = cache.tags.get(&c.resource, generation, now, ttl_ms);
        if hit.is_none() {
            missing.push((idx, c.resource.clone(), Arc::clone(f)));
        }
        out.push(hit.flatten().map(|t| (t, f.resource_tag_prefixes())));
    }
    if missing.is_empty() {
        return Ok(out);
    }
    let wanted: Vec<(String, Arc<dyn ResourceFacts>)> = missing
        .iter()
        .map(|(_, arn, f)| (arn.clone(), Arc::clone(f)))
        .collect();
    let loaded = env
        .store
        .read(move |tx| -> Result<Vec<Option<ResourceTags>>, StoreError> {
            wanted
                .iter()
                .map(|(arn, f)| f.resource_tags(tx, arn))
                .collect()
        })
        .await
        .map_err(|e| lookup_failed(&e))?;
    for ((idx, arn, f), tags) in missing.into_iter().zip(loaded) {
        let tags = tags.map(Arc::new);
        cache.tags.put(arn, generation, now, tags.clone());
        if let Some(slot) = out.get_mut(idx) {
            *slot = tags.map(|t| (t, f.resource_tag_prefixes()));
        }
    }
    Ok(out)
}
