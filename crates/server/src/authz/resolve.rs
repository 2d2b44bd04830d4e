//! ARN resolution: the resources a call is authorized against, built from the catalogue's
//! ARN templates, the input, the caller, the organization and — through [`Lookup`] — the
//! stored resources the request names (an IAM entity's path, an Organizations policy's type).
//!
//! Every ARN is rendered by [`catalogue::fill`], the one place that joins template text and
//! values. `models/authorization/resource-arns.json` is the conformance table: a sample input
//! per operation and the exact ARNs AWS's Service Authorization Reference says the request is
//! authorized against; a test resolves each through this module and compares.

use super::catalogue::{self, Catalogue, OpAuth, ResourceSpec, Source};
use cairn_core::{OrgContext, Principal, ResourceFacts, ResourcePolicy};
use cairn_policy::Policy;
use cairn_store::{StoreError, Tx};
use serde_json::Value;
use std::sync::Arc;

/// One question for the engine.
pub(crate) struct Check {
    pub action: String,
    pub resource: String,
    /// The resource's owner when it differs from the caller (cross-account).
    pub resource_account: Option<String>,
    pub resource_policy: Option<Arc<Policy>>,
    /// `sts:AssumeRole`-like: the trust policy must allow by itself too.
    pub trust: bool,
    /// The RCP levels of the resource's account, when RCPs apply to it (a member account
    /// with RCPs enabled, and a service RCPs cover — of Cairn's, STS).
    pub rcp_levels: Vec<Vec<Arc<Policy>>>,
}

/// The stored facts resolution reads, each asked of the service it belongs to. The store
/// answers them in production ([`StoreLookup`], through the services'
/// [`ResourceFacts`]); [`NoLookup`] when the caches and the input suffice
/// ([`needs_store`]); the conformance test answers them from its fixture.
pub(crate) trait Lookup {
    /// The stored path of the entity `name` of `service` that the `…WithPath` variable `var`
    /// names; `None` when no such entity is stored.
    fn entity_path(
        &mut self,
        service: &str,
        account: &str,
        var: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError>;
    /// A `resolve: store` template variable of a request to `service` by `caller`
    /// ([`ResourceFacts::stored_var`]); `None`: checked as `*`.
    fn stored_var(
        &mut self,
        service: &str,
        caller: &str,
        var: &str,
        input: &Value,
    ) -> Result<Option<String>, StoreError>;
    /// Whether the request names an AWS-managed resource (named under account `aws`).
    fn names_aws_managed(
        &mut self,
        service: &str,
        caller: &str,
        input: &Value,
    ) -> Result<bool, StoreError>;
    /// An action condition key read from the stored resource the request names.
    fn stored_condition_key(
        &mut self,
        service: &str,
        caller: &str,
        key: &str,
        input: &Value,
    ) -> Result<Option<String>, StoreError>;
    /// The resource-based policy evaluated for `action` on `arn`.
    fn resource_policy(
        &mut self,
        action: &str,
        arn: &str,
    ) -> Result<Option<ResourcePolicy>, StoreError>;
    /// The RCP levels guarding resources of `account`.
    fn rcp_levels(&mut self, account: &str) -> Result<Vec<Vec<Arc<Policy>>>, StoreError>;
}

/// Nothing stored is known: paths default to `/`, stored-only values to `*`.
pub(crate) struct NoLookup;

impl Lookup for NoLookup {
    fn entity_path(
        &mut self,
        _: &str,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
    fn stored_var(
        &mut self,
        _: &str,
        _: &str,
        _: &str,
        _: &Value,
    ) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
    fn names_aws_managed(&mut self, _: &str, _: &str, _: &Value) -> Result<bool, StoreError> {
        Ok(false)
    }
    fn stored_condition_key(
        &mut self,
        _: &str,
        _: &str,
        _: &str,
        _: &Value,
    ) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
    fn resource_policy(&mut self, _: &str, _: &str) -> Result<Option<ResourcePolicy>, StoreError> {
        Ok(None)
    }
    fn rcp_levels(&mut self, _: &str) -> Result<Vec<Vec<Arc<Policy>>>, StoreError> {
        Ok(Vec::new())
    }
}

/// The store, inside the authorize step's read-only snapshot, asked through the services'
/// facts: each question goes to the service it concerns.
pub(crate) struct StoreLookup<'t, 'f> {
    pub tx: &'t mut dyn Tx,
    pub facts: &'f [Arc<dyn ResourceFacts>],
}

impl StoreLookup<'_, '_> {
    fn of(&self, service: &str) -> Option<Arc<dyn ResourceFacts>> {
        self.facts.iter().find(|f| f.service() == service).cloned()
    }
}

/// The service segment of an ARN (`arn:aws:iam::…` → `iam`).
pub(crate) fn arn_service(arn: &str) -> &str {
    arn.split(':').nth(2).unwrap_or("")
}

impl Lookup for StoreLookup<'_, '_> {
    fn entity_path(
        &mut self,
        service: &str,
        account: &str,
        var: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        match self.of(service) {
            Some(f) => f.entity_path(self.tx, account, var, name),
            None => Ok(None),
        }
    }

    fn stored_var(
        &mut self,
        service: &str,
        caller: &str,
        var: &str,
        input: &Value,
    ) -> Result<Option<String>, StoreError> {
        match self.of(service) {
            Some(f) => f.stored_var(self.tx, caller, var, input),
            None => Ok(None),
        }
    }

    fn names_aws_managed(
        &mut self,
        service: &str,
        caller: &str,
        input: &Value,
    ) -> Result<bool, StoreError> {
        match self.of(service) {
            Some(f) => f.names_aws_managed(self.tx, caller, input),
            None => Ok(false),
        }
    }

    fn stored_condition_key(
        &mut self,
        service: &str,
        caller: &str,
        key: &str,
        input: &Value,
    ) -> Result<Option<String>, StoreError> {
        match self.of(service) {
            Some(f) => f.stored_condition_key(self.tx, caller, key, input),
            None => Ok(None),
        }
    }

    fn resource_policy(
        &mut self,
        action: &str,
        arn: &str,
    ) -> Result<Option<ResourcePolicy>, StoreError> {
        match self.of(arn_service(arn)) {
            Some(f) => f.resource_policy(self.tx, action, arn),
            None => Ok(None),
        }
    }

    fn rcp_levels(&mut self, account: &str) -> Result<Vec<Vec<Arc<Policy>>>, StoreError> {
        for f in self.facts {
            if let Some(org) = f.organization(self.tx, account)? {
                return Ok(org.rcp_levels);
            }
        }
        Ok(Vec::new())
    }
}

/// Whether building the resources of `op` for this input needs the store.
pub(crate) fn needs_store(op: &OpAuth, action: &str, facts: &[Arc<dyn ResourceFacts>]) -> bool {
    let spec_needs = |r: &ResourceSpec| {
        r.vars.iter().any(|(var, sources)| {
            sources.iter().any(|s| matches!(s, Source::Store))
                || (is_path_var(var)
                    && sources
                        .iter()
                        .any(|s| matches!(s, Source::Member(_) | Source::Caller)))
        }) || r.aws_template.is_some()
    };
    !op.stored_keys.is_empty()
        || op.resources.iter().any(spec_needs)
        || op
            .also
            .iter()
            .filter_map(|a| a.resources.as_ref())
            .flatten()
            .any(spec_needs)
        || facts.iter().any(|f| f.has_resource_policy(action))
}

/// `…WithPath` template variables (IAM): the stored or requested path, then the name.
fn is_path_var(var: &str) -> bool {
    var.ends_with("WithPath")
}

/// The input member that names the existing entity a `…WithPath` variable is about (the
/// current name in a rename: `UpdateUser`'s `UserName`).
fn current_name_member(var: &str) -> Option<&'static str> {
    Some(match var {
        "UserNameWithPath" => "UserName",
        "GroupNameWithPath" => "GroupName",
        "RoleNameWithPath" => "RoleName",
        "InstanceProfileNameWithPath" => "InstanceProfileName",
        "CertificateNameWithPath" => "ServerCertificateName",
        _ => return None,
    })
}

/// A value as it appears in the resource's ARN, where that differs from the input. An
/// OpenID Connect provider is named by its URL without the scheme (IAM API Reference,
/// `CreateOpenIDConnectProvider`: `arn:aws:iam::123456789012:oidc-provider/server.example.com`).
fn arn_form(var: &str, value: String) -> String {
    match var {
        // Organizations writes types in ARNs lower-cased: `policy/o-…/service_control_policy/p-…`,
        // `handshake/o-…/invite/h-…`, `transfer/o-…/billing/outbound/rt-…`.
        "PolicyType" | "HandshakeType" | "TransferType" | "TransferDirection" => {
            value.to_ascii_lowercase()
        }
        "OidcProviderName" => match value.strip_prefix("https://") {
            Some(rest) => rest.to_owned(),
            None => value,
        },
        _ => value,
    }
}

/// The call whose resources are resolved.
#[derive(Clone, Copy)]
pub(crate) struct Target<'a> {
    pub principal: &'a Principal,
    /// The region signed for.
    pub region: &'a str,
    /// The caller's organization.
    pub org: Option<&'a OrgContext>,
    /// Index of the service in `SERVICES`.
    pub service_index: usize,
    pub op: &'a OpAuth,
    pub action: &'a str,
    pub input: &'a Value,
}

/// What resolution finds for a call.
pub(crate) struct Resolved {
    /// The (action, resource) questions, each once.
    pub checks: Vec<Check>,
    /// Condition keys read from the stored resource (`organizations:PolicyType` of the
    /// policy an `AttachPolicy` names).
    pub stored: Vec<(String, String)>,
}

/// The resource checks and the stored-resource condition keys of a call.
pub(crate) fn resolve(lookup: &mut dyn Lookup, t: Target<'_>) -> Result<Resolved, StoreError> {
    let templates = Catalogue::get()
        .services
        .get(t.service_index)
        .map(|s| s.templates.as_slice())
        .unwrap_or(&[]);
    let mut resolver = Resolver {
        lookup,
        principal: t.principal,
        region: t.region,
        org: t.org,
        templates,
    };
    Ok(Resolved {
        checks: resolver.checks(t.op, t.action, t.input)?,
        stored: resolver.stored_keys(t.op, t.action, t.input)?,
    })
}

/// Builds the resource ARNs of a call.
struct Resolver<'a, 'l> {
    lookup: &'l mut dyn Lookup,
    principal: &'a Principal,
    region: &'a str,
    org: Option<&'a OrgContext>,
    /// The service's resource ARN templates (for `arn:<member>` variables).
    templates: &'a [String],
}

impl Resolver<'_, '_> {
    fn checks(
        &mut self,
        op: &OpAuth,
        action: &str,
        input: &Value,
    ) -> Result<Vec<Check>, StoreError> {
        let mut checks = Vec::new();
        let own = self.resources(&op.resources, action, input)?;
        self.push_checks(&mut checks, action, own.clone())?;
        for also in &op.also {
            if !member_present(input, &also.when) {
                continue;
            }
            let arns = match &also.resources {
                Some(specs) => self.resources(specs, &also.action, input)?,
                None => own.clone(),
            };
            self.push_checks(&mut checks, &also.action, arns)?;
        }
        Ok(checks)
    }

    fn push_checks(
        &mut self,
        checks: &mut Vec<Check>,
        action: &str,
        arns: Vec<String>,
    ) -> Result<(), StoreError> {
        let arns = if arns.is_empty() {
            vec![String::from("*")]
        } else {
            arns
        };
        for arn in arns {
            // Each (action, resource) is one question, however many inputs raise it
            // (`AssumeRole` with `Tags` and `TransitiveTagKeys`: `sts:TagSession` once).
            if checks
                .iter()
                .any(|c: &Check| c.action == action && c.resource == arn)
            {
                continue;
            }
            let mut check = Check {
                action: action.to_owned(),
                resource: arn,
                resource_account: None,
                resource_policy: None,
                trust: false,
                rcp_levels: Vec::new(),
            };
            if let Some(rp) = self.lookup.resource_policy(action, &check.resource)? {
                check.trust = rp.must_allow;
                check.resource_policy = rp.policy;
                // RCPs guard the resources of member accounts in the services they cover (of
                // Cairn's, STS: the role a request assumes).
                check.rcp_levels = self.lookup.rcp_levels(&rp.owner_account)?;
                check.resource_account = Some(rp.owner_account);
            }
            checks.push(check);
        }
        Ok(())
    }

    /// The ARNs the specs name for this input. A spec whose member is absent (and that has
    /// no fallback) names nothing; an ID whose form belongs to another type (`ou-` for a root
    /// entry) skips the spec.
    fn resources(
        &mut self,
        specs: &[ResourceSpec],
        action: &str,
        input: &Value,
    ) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let service = action.split(':').next().unwrap_or("");
        'spec: for spec in specs {
            if let Some(member) = &spec.whole_arn {
                out.extend(member_values(input, member));
                continue;
            }
            // Values per variable; at most one variable may be multi-valued (`A[]`).
            let mut values: Vec<(String, Vec<String>)> = Vec::new();
            for (var, sources) in &spec.vars {
                let mut got: Option<Vec<String>> = None;
                for source in sources {
                    match source {
                        Source::Member(path) => {
                            let mut vs = member_values(input, path);
                            if vs.is_empty() {
                                continue;
                            }
                            if spec.accepts_arn {
                                vs = vs
                                    .into_iter()
                                    .map(|v| {
                                        if v.starts_with("arn:") {
                                            catalogue::extract(&spec.template, &v, var).unwrap_or(v)
                                        } else {
                                            v
                                        }
                                    })
                                    .collect();
                            }
                            // The ID's form picks the resource type.
                            let prefix = catalogue::prefix_before(&spec.template, var);
                            if let Some(p) = prefix
                                && !vs.iter().all(|v| v.starts_with(p))
                            {
                                continue 'spec;
                            }
                            if var == "AccountId"
                                && service == "organizations"
                                && !vs
                                    .iter()
                                    .all(|v| v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()))
                            {
                                continue 'spec;
                            }
                            if is_path_var(var) {
                                let mut with_path = Vec::new();
                                for name in vs {
                                    let path = self.path_for(spec, service, var, &name, input)?;
                                    with_path.push(format!("{path}{name}"));
                                }
                                vs = with_path;
                            }
                            got = Some(vs.into_iter().map(|v| arn_form(var, v)).collect());
                        }
                        Source::Context => match var.as_str() {
                            "OrganizationId" => got = self.org.map(|o| vec![o.org_id.clone()]),
                            "AccountId" | "Account" => {
                                got = Some(vec![self.owner_account(service)]);
                            }
                            _ => {}
                        },
                        Source::Store => {
                            got = self
                                .store_value(spec, service, var, input)?
                                .map(|v| vec![v]);
                        }
                        Source::Caller => got = self.caller_value(var).map(|v| vec![v]),
                        Source::New | Source::Wildcard => got = Some(vec![String::from("*")]),
                        Source::ArnOf(member) => {
                            got = member_values(input, member)
                                .into_iter()
                                .next()
                                .and_then(|arn| {
                                    self.templates
                                        .iter()
                                        .find_map(|t| catalogue::extract(t, &arn, var))
                                })
                                .map(|v| vec![v]);
                        }
                    }
                    if got.is_some() {
                        break;
                    }
                }
                match got {
                    Some(v) => values.push((var.clone(), v)),
                    None if sources.iter().any(|s| matches!(s, Source::Member(_)))
                        && !sources.iter().any(|s| !matches!(s, Source::Member(_))) =>
                    {
                        if spec.default_caller
                            && var == "UserNameWithPath"
                            && self.principal.is_root()
                        {
                            // The root user's own credentials (no `UserName`): the resource
                            // is the root user, as AWS's root-task policies name it
                            // (`NotResource: arn:aws:iam::*:root`).
                            out.push(format!("arn:aws:iam::{}:root", self.principal.account_id()));
                            continue 'spec;
                        }
                        if spec.default_caller {
                            match self.caller_value(var) {
                                Some(v) => values.push((var.clone(), vec![v])),
                                None => values.push((var.clone(), vec![String::from("*")])),
                            }
                        } else {
                            // The request does not name this resource.
                            continue 'spec;
                        }
                    }
                    None => values.push((var.clone(), vec![String::from("*")])),
                }
            }
            // An AWS-managed Organizations policy is named under account `aws`.
            let template = match &spec.aws_template {
                Some(aws) => {
                    let caller = self.principal.account_id().to_owned();
                    if self.lookup.names_aws_managed(service, &caller, input)? {
                        aws.as_str()
                    } else {
                        spec.template.as_str()
                    }
                }
                None => spec.template.as_str(),
            };
            // The owner: the resource's own account where the store knows it (a handshake
            // belongs to its organization's management account, whoever asks), else the
            // service's owner for the caller.
            let stored_owner = if spec.vars.iter().any(|(_, s)| s.contains(&Source::Store)) {
                let caller = self.principal.account_id().to_owned();
                self.lookup.stored_var(service, &caller, "Account", input)?
            } else {
                None
            };
            let owner = stored_owner.unwrap_or_else(|| self.owner_account(service));
            let multi = values
                .iter()
                .find(|(_, v)| v.len() > 1)
                .map(|(k, v)| (k.clone(), v.clone()));
            let fill_one = |pick: Option<(&str, &str)>| {
                catalogue::fill(template, |var| match var {
                    // Cairn's one partition: the input was read into it.
                    "Partition" => Some(cairn_core::partition::CANONICAL.to_owned()),
                    "Region" => Some(self.region.to_owned()),
                    _ => {
                        if let Some((k, v)) = pick
                            && k == var
                        {
                            return Some(v.to_owned());
                        }
                        match values.iter().find(|(k, _)| k == var) {
                            Some((_, v)) => v.first().cloned(),
                            None if var == "Account" => Some(owner.clone()),
                            None => None,
                        }
                    }
                })
            };
            match multi {
                Some((k, vs)) => {
                    for v in &vs {
                        out.push(fill_one(Some((&k, v))));
                    }
                }
                None => out.push(fill_one(None)),
            }
        }
        Ok(out)
    }

    /// The path before `name` in a `…WithPath` variable, with its leading and trailing `/`:
    /// the request's own (`Path`, `NewPath`) where the operation takes one, else the stored
    /// entity's — the one named `name`, or in a rename the entity being renamed — else the
    /// default path `/`.
    fn path_for(
        &mut self,
        spec: &ResourceSpec,
        service: &str,
        var: &str,
        name: &str,
        input: &Value,
    ) -> Result<String, StoreError> {
        if let Some(p) = spec
            .path_member
            .as_deref()
            .and_then(|m| member_values(input, m).into_iter().next())
        {
            return Ok(normalize_path(&p));
        }
        let account = self.principal.account_id().to_owned();
        if let Some(p) = self.lookup.entity_path(service, &account, var, name)? {
            return Ok(normalize_path(&p));
        }
        if let Some(current) = current_name_member(var)
            .and_then(|m| member_values(input, m).into_iter().next())
            .filter(|c| c != name)
            && let Some(p) = self.lookup.entity_path(service, &account, var, &current)?
        {
            return Ok(normalize_path(&p));
        }
        Ok(String::from("/"))
    }

    /// The account owning resources of `service`: the management account for Organizations,
    /// the caller's account otherwise.
    fn owner_account(&self, service: &str) -> String {
        match (service, self.org) {
            ("organizations", Some(org)) => org.management_account_id.clone(),
            _ => self.principal.account_id().to_owned(),
        }
    }

    /// `store`-resolved variables, answered by the service; others are checked as `*`.
    fn store_value(
        &mut self,
        spec: &ResourceSpec,
        service: &str,
        var: &str,
        input: &Value,
    ) -> Result<Option<String>, StoreError> {
        let caller = self.principal.account_id().to_owned();
        if let Some(v) = self.lookup.stored_var(service, &caller, var, input)? {
            return Ok(Some(v));
        }
        match var {
            "OrganizationId" => Ok(self.org.map(|o| o.org_id.clone())),
            // The target of a move without a rename (`UpdateUser` with only `NewPath`): the
            // entity's current name under the requested (or its stored) path.
            _ if is_path_var(var) => {
                let Some(current) = current_name_member(var)
                    .and_then(|m| member_values(input, m).into_iter().next())
                else {
                    return Ok(None);
                };
                let path = self.path_for(spec, service, var, &current, input)?;
                Ok(Some(format!("{path}{current}")))
            }
            _ => Ok(None),
        }
    }

    /// Values of the operation's stored-resource condition keys.
    fn stored_keys(
        &mut self,
        op: &OpAuth,
        action: &str,
        input: &Value,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let service = action.split(':').next().unwrap_or("");
        let caller = self.principal.account_id().to_owned();
        let mut out = Vec::new();
        for key in &op.stored_keys {
            if let Some(v) = self
                .lookup
                .stored_condition_key(service, &caller, key, input)?
            {
                out.push((key.clone(), v));
            }
        }
        Ok(out)
    }

    fn caller_value(&self, var: &str) -> Option<String> {
        match (var, self.principal) {
            (
                "UserNameWithPath",
                Principal::IamUser {
                    user_name, path, ..
                },
            ) => Some(format!("{}{user_name}", normalize_path(path))),
            ("AccountId", p) => Some(p.account_id().to_owned()),
            _ => None,
        }
    }
}

/// An IAM path with its leading and trailing `/` (`/` for the empty path).
fn normalize_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 2);
    if !p.starts_with('/') {
        out.push('/');
    }
    out.push_str(p);
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// Whether the input carries a value at `path` — any value, a list of structures
/// (`Tags`) as much as a string. (An empty list or an explicit `null` carries nothing.)
pub(crate) fn member_present(input: &Value, path: &str) -> bool {
    let mut current = vec![input];
    for part in path.split('.') {
        let (name, each) = match part.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (part, false),
        };
        let mut next = Vec::new();
        for v in current {
            match v.get(name) {
                Some(Value::Array(items)) if each => next.extend(items.iter()),
                Some(child) if !each => next.push(child),
                _ => {}
            }
        }
        current = next;
    }
    current.iter().any(|v| match v {
        Value::Null => false,
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => !fields.is_empty(),
        _ => true,
    })
}

/// The string values at `path` in the input (`A`, `A.B`, `A[]`, `A[].B`).
pub(crate) fn member_values(input: &Value, path: &str) -> Vec<String> {
    let mut current = vec![input];
    for part in path.split('.') {
        let (name, each) = match part.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (part, false),
        };
        let mut next = Vec::new();
        for v in current {
            if let Some(child) = v.get(name) {
                if each {
                    if let Some(items) = child.as_array() {
                        next.extend(items.iter());
                    }
                } else {
                    next.push(child);
                }
            }
        }
        current = next;
    }
    // A member that is a list of scalars (`Audience` of `sts:GetWebIdentityToken`) gives each
    // of them, as `Member[]` would.
    current
        .into_iter()
        .flat_map(|v| match v {
            Value::Array(items) => items.iter().collect::<Vec<_>>(),
            other => vec![other],
        })
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
