//! Offline simulation: one request and the policies of every layer, described in one JSON
//! document, decided by [`evaluate`] and answered as JSON. This is the engine
//! of `cairn policy simulate`, kept here so it can be tested without a binary. Pure: policy
//! files named by the input are read through the loader the caller passes.
//!
//! The input format (documented for users in the README, "Testing SCP changes offline"):
//!
//! ```json
//! {
//!   "description": "optional free text",
//!   "request": {
//!     "action": "organizations:CreateOrganizationalUnit",
//!     "resource": "arn:aws:organizations::111111111111:root/o-abc/r-ab12",
//!     "resourceAccount": "111111111111",
//!     "principal": {"arn": "arn:aws:sts::222222222222:assumed-role/Admin/s",
//!                   "type": "AssumedRole", "account": "222222222222",
//!                   "roleArn": "arn:aws:iam::222222222222:role/Admin"},
//!     "context": {"aws:PrincipalOrgID": "o-abc", "aws:TagKeys": ["a", "b"]}
//!   },
//!   "policies": {
//!     "identity": [POLICY, ...],
//!     "scps": [[POLICY, ...], ...],
//!     "rcps": [[POLICY, ...], ...],
//!     "resourcePolicy": POLICY,
//!     "permissionsBoundary": POLICY,
//!     "sessionPolicies": [POLICY, ...]
//!   },
//!   "expect": {"decision": "ExplicitlyDenied", "blockedBy": ["scps[1]"]}
//! }
//! ```
//!
//! `POLICY` is `{"id": "...", "document": {...} | "..."}`, `{"id": "...", "file": "path"}`, or
//! one of the AWS-managed names `"FullAWSAccess"` / `"RCPFullAWSAccess"`. Unknown members are
//! refused everywhere: a misspelt `"scp"` must not silently mean "no SCPs".

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::decision::{Decision, DecisionEffect, Layer, ReasonKind};
use crate::eval::{Policies, Principal, PrincipalType, Request, evaluate};
use crate::json::Json;
use crate::parse::{Policy, PolicyKind};

/// The id and document of AWS's `FullAWSAccess` SCP.
const FULL_AWS_ACCESS: (&str, &str) = (
    "p-FullAWSAccess",
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
);
/// The id and document of AWS's `RCPFullAWSAccess` RCP.
const RCP_FULL_AWS_ACCESS: (&str, &str) = (
    "p-RCPFullAWSAccess",
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#,
);

/// A simulation input document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SimulationInput {
    /// Free text for the reader of the file; ignored.
    #[serde(default)]
    pub description: Option<String>,
    pub request: RequestInput,
    #[serde(default)]
    pub policies: PoliciesInput,
    /// What the decision should be; checked, and reported in the output.
    #[serde(default)]
    pub expect: Option<Expectation>,
}

/// The request to decide.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequestInput {
    /// `service:Action`.
    pub action: String,
    /// The resource ARN; `*` when absent.
    #[serde(default = "star")]
    pub resource: String,
    /// The account owning the resource; different from the principal's: cross-account.
    #[serde(default)]
    pub resource_account: Option<String>,
    pub principal: PrincipalInput,
    /// Condition keys: a string, number or boolean is a single value, an array a multivalued
    /// key.
    #[serde(default)]
    pub context: serde_json::Map<String, serde_json::Value>,
}

fn star() -> String {
    String::from("*")
}

/// Who makes the request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PrincipalInput {
    pub arn: String,
    /// Default: the account component of `arn`.
    #[serde(default)]
    pub account: Option<String>,
    /// `Root` (or `Account`), `User`, `AssumedRole`, `FederatedUser`, `Service`, `Anonymous`;
    /// default: read from `arn`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// For role sessions; default: derived from an `assumed-role` ARN (without role path).
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub federated_provider: Option<String>,
}

/// The policies of every layer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoliciesInput {
    #[serde(default)]
    pub identity: OneOrMany,
    /// SCP levels, root first, the account last. Absent or empty: SCPs do not apply (the
    /// management account, or no organization).
    #[serde(default)]
    pub scps: Vec<Level>,
    /// RCP levels of the resource's account path, likewise.
    #[serde(default)]
    pub rcps: Vec<Level>,
    #[serde(default)]
    pub resource_policy: Option<PolicyEntry>,
    #[serde(default)]
    pub permissions_boundary: Option<PolicyEntry>,
    #[serde(default, alias = "sessionPolicy")]
    pub session_policies: OneOrMany,
}

/// One policy, or an array of policies.
#[derive(Debug, Clone, Default)]
pub struct OneOrMany(pub Vec<PolicyEntry>);

/// The policies attached at one level of an account path.
#[derive(Debug, Clone)]
pub struct Level(pub Vec<PolicyEntry>);

/// One policy of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEntry {
    /// How the decision names the policy; default: the file path, the managed policy's id, or
    /// the policy's place in the input (`scps[1][0]`).
    pub id: Option<String>,
    pub source: PolicySource,
}

/// Where a policy's document comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// The document text.
    Document(String),
    /// A file, read through the caller's loader (the CLI resolves it against the input file's
    /// directory).
    File(String),
    /// An AWS-managed policy by name (`FullAWSAccess`, `RCPFullAWSAccess`).
    Managed(&'static str, &'static str),
}

impl PolicyEntry {
    fn from_json(v: Json) -> Result<PolicyEntry, String> {
        match v {
            Json::String(name) => match name.as_str() {
                "FullAWSAccess" => Ok(PolicyEntry {
                    id: None,
                    source: PolicySource::Managed(FULL_AWS_ACCESS.0, FULL_AWS_ACCESS.1),
                }),
                "RCPFullAWSAccess" => Ok(PolicyEntry {
                    id: None,
                    source: PolicySource::Managed(RCP_FULL_AWS_ACCESS.0, RCP_FULL_AWS_ACCESS.1),
                }),
                other => Err(format!(
                    "unknown managed policy {other:?} (known: \"FullAWSAccess\", \"RCPFullAWSAccess\"); \
                     give other policies as {{\"id\": ..., \"document\": {{...}}}}"
                )),
            },
            Json::Object(members) => {
                if members
                    .iter()
                    .any(|(k, _)| k == "Statement" || k == "Version")
                {
                    return Err(String::from(
                        "a policy entry is {\"id\": ..., \"document\": {...}}, not the bare document",
                    ));
                }
                let mut id = None;
                let mut source = None;
                for (name, value) in members {
                    match (name.as_str(), value) {
                        ("id", Json::String(s)) if !s.is_empty() => id = Some(s),
                        ("id", _) => return Err(String::from("\"id\" must be a non-empty string")),
                        ("document" | "file", _) if source.is_some() => {
                            return Err(String::from(
                                "a policy entry has either \"document\" or \"file\", not both",
                            ));
                        }
                        ("document", Json::String(text)) => {
                            source = Some(PolicySource::Document(text));
                        }
                        ("document", doc @ Json::Object(_)) => {
                            source = Some(PolicySource::Document(doc.to_text()));
                        }
                        ("document", other) => {
                            return Err(format!(
                                "\"document\" must be a JSON object or a string, not {}",
                                other.type_name()
                            ));
                        }
                        ("file", Json::String(path)) if !path.is_empty() => {
                            source = Some(PolicySource::File(path));
                        }
                        ("file", _) => {
                            return Err(String::from("\"file\" must be a non-empty string"));
                        }
                        (other, _) => {
                            return Err(format!(
                                "unknown member {other:?} in a policy entry (expected \"id\", \"document\" or \"file\")"
                            ));
                        }
                    }
                }
                let source = source
                    .ok_or_else(|| String::from("a policy entry needs \"document\" or \"file\""))?;
                Ok(PolicyEntry { id, source })
            }
            other => Err(format!(
                "a policy entry is an object or a managed policy name, not a {}",
                other.type_name()
            )),
        }
    }
}

impl<'de> Deserialize<'de> for PolicyEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PolicyEntry::from_json(Json::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Json::deserialize(deserializer)? {
            Json::Array(items) => items
                .into_iter()
                .map(PolicyEntry::from_json)
                .collect::<Result<_, _>>()
                .map(OneOrMany)
                .map_err(de::Error::custom),
            one => PolicyEntry::from_json(one)
                .map(|p| OneOrMany(vec![p]))
                .map_err(de::Error::custom),
        }
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Json::deserialize(deserializer)? {
            Json::Array(items) => items
                .into_iter()
                .map(PolicyEntry::from_json)
                .collect::<Result<_, _>>()
                .map(Level)
                .map_err(de::Error::custom),
            other => Err(de::Error::custom(format_args!(
                "each level of \"scps\"/\"rcps\" is an array of the policies attached there \
                 (levels root first, the account last), not a {}",
                other.type_name()
            ))),
        }
    }
}

/// The expected outcome.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expectation {
    pub decision: DecisionName,
    /// When given, the exact list of blocking layers.
    #[serde(default)]
    pub blocked_by: Option<Vec<String>>,
}

/// A decision, by the name the output uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DecisionName {
    Allowed,
    ImplicitlyDenied,
    ExplicitlyDenied,
}

impl From<DecisionEffect> for DecisionName {
    fn from(e: DecisionEffect) -> Self {
        match e {
            DecisionEffect::Allowed => DecisionName::Allowed,
            DecisionEffect::ImplicitlyDenied => DecisionName::ImplicitlyDenied,
            DecisionEffect::ExplicitlyDenied => DecisionName::ExplicitlyDenied,
        }
    }
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimulationOutput {
    pub decision: DecisionName,
    /// The layers that blocked the request (empty when allowed): `identity`, `resourcePolicy`,
    /// `scps[N]`, `rcps[N]`, `permissionsBoundary`, `sessionPolicies`.
    pub blocked_by: Vec<String>,
    /// AWS's AccessDenied message; `null` when allowed.
    pub message: Option<String>,
    /// The reasons, in evaluation order (RCP levels, SCP levels, resource, identity, boundary,
    /// session): every matching deny; or every layer without an allow; or, when allowed, the
    /// allowing statement of each layer that had to allow.
    pub deciding: Vec<DecidingOutput>,
    /// The condition keys added from `request.principal` / `resourceAccount` (keys the input's
    /// `context` sets are never replaced).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub derived_context: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expectation: Option<ExpectationOutput>,
}

/// One reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecidingOutput {
    /// `allow`, `deny`, or `noAllow` (the layer has no statement that allows).
    pub effect: &'static str,
    pub layer: String,
    /// The policy's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The policy's place in the input (`scps[1][0]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The statement's index in the policy's `Statement` list (0-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Whether the decision is the expected one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectationOutput {
    pub met: bool,
    /// What differs, one line each.
    pub mismatches: Vec<String>,
}

/// Why a simulation could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimulateError {
    /// The input is not JSON, or not in the format.
    Input(String),
    /// A policy file could not be read.
    File {
        location: String,
        path: String,
        error: String,
    },
    /// A policy document was refused, with AWS's error code and message.
    Policy {
        location: String,
        id: String,
        code: &'static str,
        message: String,
        detail: String,
    },
}

impl fmt::Display for SimulateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimulateError::Input(m) => write!(f, "invalid simulation input: {m}"),
            SimulateError::File {
                location,
                path,
                error,
            } => write!(
                f,
                "policies.{location}: cannot read policy file {path}: {error}"
            ),
            SimulateError::Policy {
                location,
                id,
                code,
                message,
                detail,
            } => write!(
                f,
                "policies.{location} (policy {id}): {code}: {message} ({detail})"
            ),
        }
    }
}

impl std::error::Error for SimulateError {}

/// Reads a simulation input document.
pub fn parse_input(text: &str) -> Result<SimulationInput, SimulateError> {
    serde_json::from_str(text).map_err(|e| SimulateError::Input(e.to_string()))
}

/// Parses `text` and runs it; see [`run`].
pub fn simulate(
    text: &str,
    load: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<SimulationOutput, SimulateError> {
    run(&parse_input(text)?, load)
}

/// A parsed policy with its place in the input.
struct Compiled {
    policy: Policy,
    location: String,
}

fn compile(
    entry: &PolicyEntry,
    location: String,
    kind: PolicyKind,
    load: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Compiled, SimulateError> {
    let (default_id, text) = match &entry.source {
        PolicySource::Document(text) => (location.clone(), text.clone()),
        PolicySource::File(path) => {
            let text = load(path).map_err(|error| SimulateError::File {
                location: location.clone(),
                path: path.clone(),
                error,
            })?;
            (path.clone(), text)
        }
        PolicySource::Managed(id, doc) => ((*id).to_owned(), (*doc).to_owned()),
    };
    let id = entry.id.clone().unwrap_or(default_id);
    match Policy::parse(id.clone(), &text, kind) {
        Ok(policy) => Ok(Compiled { policy, location }),
        Err(e) => Err(SimulateError::Policy {
            location,
            id,
            code: kind.error_code(),
            message: e.message().to_owned(),
            detail: e.detail().to_owned(),
        }),
    }
}

fn compile_list(
    entries: &[PolicyEntry],
    name: &str,
    kind: PolicyKind,
    load: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Vec<Compiled>, SimulateError> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| compile(e, format!("{name}[{i}]"), kind, load))
        .collect()
}

fn compile_levels(
    levels: &[Level],
    name: &str,
    kind: PolicyKind,
    load: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Vec<Vec<Compiled>>, SimulateError> {
    levels
        .iter()
        .enumerate()
        .map(|(n, level)| compile_list(&level.0, &format!("{name}[{n}]"), kind, load))
        .collect()
}

/// The output's name for a layer.
pub fn layer_label(layer: Layer) -> String {
    match layer {
        Layer::Identity => String::from("identity"),
        Layer::Resource => String::from("resourcePolicy"),
        Layer::ServiceControl(n) => format!("scps[{n}]"),
        Layer::ResourceControl(n) => format!("rcps[{n}]"),
        Layer::PermissionsBoundary => String::from("permissionsBoundary"),
        Layer::Session => String::from("sessionPolicies"),
    }
}

fn principal_type(name: &str) -> Option<PrincipalType> {
    Some(match name {
        "Root" | "Account" => PrincipalType::Root,
        "User" => PrincipalType::User,
        "AssumedRole" => PrincipalType::AssumedRole,
        "FederatedUser" => PrincipalType::FederatedUser,
        "Service" => PrincipalType::Service,
        "Anonymous" => PrincipalType::Anonymous,
        _ => return None,
    })
}

/// `(partition, account, resource)` of an ARN.
fn arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (prefix, partition, _service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    (prefix == "arn").then_some((partition, account, resource))
}

/// The principal as the engine sees it, with what was read from its ARN.
struct Resolved {
    kind: PrincipalType,
    account: String,
    role_arn: Option<String>,
}

fn resolve_principal(p: &PrincipalInput) -> Result<Resolved, SimulateError> {
    let bad = |m: String| SimulateError::Input(format!("request.principal: {m}"));
    let parts = arn_parts(&p.arn);
    let kind = match &p.kind {
        Some(name) => principal_type(name).ok_or_else(|| {
            bad(format!(
                "unknown type {name:?} (Root, User, AssumedRole, FederatedUser, Service, Anonymous)"
            ))
        })?,
        None => match parts.map(|(_, _, r)| r) {
            Some("root") => PrincipalType::Root,
            Some(r) if r.starts_with("user/") => PrincipalType::User,
            Some(r) if r.starts_with("assumed-role/") => PrincipalType::AssumedRole,
            Some(r) if r.starts_with("federated-user/") => PrincipalType::FederatedUser,
            _ => {
                return Err(bad(format!(
                    "cannot tell the principal type from {:?}; set \"type\"",
                    p.arn
                )));
            }
        },
    };
    let account = match (&p.account, parts) {
        (Some(a), _) => a.clone(),
        (None, Some((_, a, _))) if !a.is_empty() => a.to_owned(),
        (None, _) if matches!(kind, PrincipalType::Service | PrincipalType::Anonymous) => {
            String::new()
        }
        (None, _) => {
            return Err(bad(format!(
                "cannot tell the account from {:?}; set \"account\"",
                p.arn
            )));
        }
    };
    let role_arn = match (&p.role_arn, kind, parts) {
        (Some(r), _, _) => Some(r.clone()),
        (None, PrincipalType::AssumedRole, Some((partition, account, resource))) => resource
            .strip_prefix("assumed-role/")
            .and_then(|rest| rest.split('/').next())
            .filter(|name| !name.is_empty())
            .map(|name| format!("arn:{partition}:iam::{account}:role/{name}")),
        _ => None,
    };
    Ok(Resolved {
        kind,
        account,
        role_arn,
    })
}

fn context_from(
    input: &serde_json::Map<String, serde_json::Value>,
) -> Result<Context, SimulateError> {
    let mut ctx = Context::new();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (key, value) in input {
        if let Some(first) = seen.insert(key.to_ascii_lowercase(), key) {
            return Err(SimulateError::Input(format!(
                "request.context: {first:?} and {key:?} are the same key (names are case-insensitive)"
            )));
        }
        let bad = |what: &str| {
            SimulateError::Input(format!(
                "request.context.{key}: {what} (use a string, number, boolean, or an array of them)"
            ))
        };
        match value {
            serde_json::Value::Array(items) => {
                let values = items
                    .iter()
                    .map(|v| scalar(v).ok_or_else(|| bad("an array may hold only scalars")))
                    .collect::<Result<Vec<_>, _>>()?;
                ctx.insert_multi(key, values);
            }
            other => ctx.insert(key, scalar(other).ok_or_else(|| bad("not a scalar"))?),
        }
    }
    Ok(ctx)
}

fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Adds the global keys AWS derives from the principal, unless the context sets them.
fn derive_context(
    ctx: &mut Context,
    p: &PrincipalInput,
    who: &Resolved,
    resource_account: Option<&str>,
) -> BTreeMap<String, String> {
    let mut derived = BTreeMap::new();
    let mut candidates: Vec<(&str, Option<String>)> =
        crate::principal_keys::principal_keys(&crate::principal_keys::PrincipalFacts {
            kind: who.kind,
            arn: &p.arn,
            account: &who.account,
            role_arn: who.role_arn.as_deref(),
            user_id: None,
        })
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    candidates.push(("aws:ResourceAccount", resource_account.map(str::to_owned)));
    for (key, value) in candidates.drain(..) {
        if let Some(value) = value
            && !ctx.contains(key)
        {
            ctx.insert(key, value.clone());
            derived.insert(key.to_owned(), value);
        }
    }
    derived
}

/// Runs a parsed simulation: compiles every policy (the first refused one is the error),
/// decides the request, and describes the decision.
pub fn run(
    input: &SimulationInput,
    load: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<SimulationOutput, SimulateError> {
    let p = &input.policies;
    let identity = compile_list(&p.identity.0, "identity", PolicyKind::Identity, load)?;
    let scps = compile_levels(&p.scps, "scps", PolicyKind::ServiceControl, load)?;
    let rcps = compile_levels(&p.rcps, "rcps", PolicyKind::ResourceControl, load)?;
    let resource = p
        .resource_policy
        .as_ref()
        .map(|e| compile(e, "resourcePolicy".into(), PolicyKind::Resource, load))
        .transpose()?;
    let boundary = p
        .permissions_boundary
        .as_ref()
        .map(|e| compile(e, "permissionsBoundary".into(), PolicyKind::Identity, load))
        .transpose()?;
    let session = compile_list(
        &p.session_policies.0,
        "sessionPolicies",
        PolicyKind::Identity,
        load,
    )?;

    let r = &input.request;
    let who = resolve_principal(&r.principal)?;
    let mut ctx = context_from(&r.context)?;
    let derived_context =
        derive_context(&mut ctx, &r.principal, &who, r.resource_account.as_deref());
    let mut principal = Principal::new(who.kind, &r.principal.arn, &who.account);
    principal.role_arn = who.role_arn.as_deref();
    principal.federated_provider = r.principal.federated_provider.as_deref();
    let request = Request {
        principal,
        action: &r.action,
        resource: &r.resource,
        resource_account: r.resource_account.as_deref(),
        context: &ctx,
    };
    let policies = Policies {
        identity: identity.iter().map(|c| &c.policy).collect(),
        scp_levels: scps
            .iter()
            .map(|l| l.iter().map(|c| &c.policy).collect())
            .collect(),
        rcp_levels: rcps
            .iter()
            .map(|l| l.iter().map(|c| &c.policy).collect())
            .collect(),
        resource: resource.as_ref().map(|c| &c.policy),
        boundary: boundary.as_ref().map(|c| &c.policy),
        session: session.iter().map(|c| &c.policy).collect(),
        scoped: Vec::new(),
    };
    let decision = evaluate(&request, &policies);

    let all: Vec<&Compiled> = identity
        .iter()
        .chain(scps.iter().flatten())
        .chain(rcps.iter().flatten())
        .chain(resource.iter())
        .chain(boundary.iter())
        .chain(session.iter())
        .collect();
    let mut output = describe(&decision, &request, &all);
    output.derived_context = derived_context;
    output.expectation = input.expect.as_ref().map(|e| check(e, &output));
    Ok(output)
}

fn describe(decision: &Decision<'_>, request: &Request<'_>, all: &[&Compiled]) -> SimulationOutput {
    let deciding = decision
        .deciding
        .iter()
        .map(|reason| {
            // Reasons borrow the id of the policy they name: find that policy by address.
            let compiled = reason.policy.and_then(|id| {
                all.iter()
                    .find(|c| std::ptr::eq(c.policy.id().as_ptr(), id.as_ptr()))
            });
            DecidingOutput {
                effect: match reason.kind {
                    ReasonKind::Allow => "allow",
                    ReasonKind::Deny => "deny",
                    ReasonKind::NoAllow => "noAllow",
                },
                layer: layer_label(reason.layer),
                policy: reason.policy.map(str::to_owned),
                source: compiled.map(|c| c.location.clone()),
                statement: reason.statement.map(|s| s.index),
                sid: reason.statement.and_then(|s| s.sid).map(str::to_owned),
            }
        })
        .collect();
    let mut blocked_by: Vec<String> = Vec::new();
    if !decision.is_allowed() {
        for reason in &decision.deciding {
            let label = layer_label(reason.layer);
            if !blocked_by.contains(&label) {
                blocked_by.push(label);
            }
        }
    }
    SimulationOutput {
        decision: decision.effect.into(),
        blocked_by,
        message: (!decision.is_allowed()).then(|| {
            decision.access_denied_message(request.principal.arn, request.action, request.resource)
        }),
        deciding,
        derived_context: BTreeMap::new(),
        expectation: None,
    }
}

fn check(expect: &Expectation, output: &SimulationOutput) -> ExpectationOutput {
    let mut mismatches = Vec::new();
    if expect.decision != output.decision {
        mismatches.push(format!(
            "decision is {:?}, expected {:?}",
            output.decision, expect.decision
        ));
    }
    if let Some(want) = &expect.blocked_by
        && *want != output.blocked_by
    {
        mismatches.push(format!(
            "blockedBy is {:?}, expected {want:?}",
            output.blocked_by
        ));
    }
    ExpectationOutput {
        met: mismatches.is_empty(),
        mismatches,
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn no_files(path: &str) -> Result<String, String> {
        Err(format!("no file {path}"))
    }

    fn sim(text: &str) -> Result<SimulationOutput, SimulateError> {
        simulate(text, &mut no_files)
    }

    const ALLOW_ALL: &str =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;

    fn input(policies: &str) -> String {
        format!(
            r#"{{"request": {{"action": "organizations:CreateOrganizationalUnit",
                "resource": "arn:aws:organizations::111111111111:root/o-abc/r-ab12",
                "principal": {{"arn": "arn:aws:sts::222222222222:assumed-role/Admin/s"}}}},
              "policies": {policies}}}"#
        )
    }

    #[test]
    fn scp_deny_at_an_ou() {
        let out = sim(&input(&format!(
            r#"{{"identity": {{"id": "admin", "document": {ALLOW_ALL}}},
                 "scps": [["FullAWSAccess"],
                          ["FullAWSAccess", {{"id": "p-noou", "document": {{"Version":"2012-10-17","Statement":[{{"Sid":"NoOU","Effect":"Deny","Action":"organizations:CreateOrganizationalUnit","Resource":"*"}}]}}}}],
                          ["FullAWSAccess"]]}}"#
        )))
        .unwrap();
        assert_eq!(out.decision, DecisionName::ExplicitlyDenied);
        assert_eq!(out.blocked_by, vec!["scps[1]"]);
        assert_eq!(
            out.deciding,
            vec![DecidingOutput {
                effect: "deny",
                layer: "scps[1]".into(),
                policy: Some("p-noou".into()),
                source: Some("scps[1][1]".into()),
                statement: Some(0),
                sid: Some("NoOU".into()),
            }]
        );
        assert_eq!(
            out.message.as_deref(),
            Some(
                "User: arn:aws:sts::222222222222:assumed-role/Admin/s is not authorized to perform: \
                 organizations:CreateOrganizationalUnit on resource: \
                 arn:aws:organizations::111111111111:root/o-abc/r-ab12 with an explicit deny in a \
                 service control policy: p-noou"
            )
        );
        assert_eq!(
            out.derived_context
                .get("aws:PrincipalArn")
                .map(String::as_str),
            Some("arn:aws:iam::222222222222:role/Admin")
        );
        assert_eq!(
            out.derived_context
                .get("aws:PrincipalAccount")
                .map(String::as_str),
            Some("222222222222")
        );
    }

    #[test]
    fn missing_allow_and_management_account() {
        let doc = format!(r#"{{"id": "admin", "document": {ALLOW_ALL:?}}}"#);
        let out = sim(&input(&format!(
            r#"{{"identity": [{doc}], "scps": [["FullAWSAccess"], []]}}"#
        )))
        .unwrap();
        assert_eq!(out.decision, DecisionName::ImplicitlyDenied);
        assert_eq!(out.blocked_by, vec!["scps[1]"]);
        assert!(out.message.unwrap().ends_with(
            "because no service control policy allows the organizations:CreateOrganizationalUnit action"
        ));
        // No SCP levels: SCPs do not apply.
        let out = sim(&input(&format!(r#"{{"identity": [{doc}]}}"#))).unwrap();
        assert_eq!(out.decision, DecisionName::Allowed);
        assert!(out.blocked_by.is_empty());
        assert_eq!(out.message, None);
        assert_eq!(out.deciding[0].effect, "allow");
        assert_eq!(out.deciding[0].source.as_deref(), Some("identity[0]"));
    }

    #[test]
    fn files_are_read_through_the_loader() {
        let text = input(r#"{"identity": {"file": "admin.json"}}"#);
        let mut load = |path: &str| {
            assert_eq!(path, "admin.json");
            Ok(ALLOW_ALL.to_owned())
        };
        let out = simulate(&text, &mut load).unwrap();
        assert_eq!(out.decision, DecisionName::Allowed);
        assert_eq!(out.deciding[0].policy.as_deref(), Some("admin.json"));
        let err = sim(&text).unwrap_err();
        assert!(matches!(err, SimulateError::File { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "policies.identity[0]: cannot read policy file admin.json: no file admin.json"
        );
    }

    #[test]
    fn malformed_policies_name_the_policy_and_aws_message() {
        let err = sim(&input(
            r#"{"scps": [[{"id": "p-bad", "document": "{\"Statement\": {\"Effect\": \"Deny\", \"Principal\": \"*\", \"Action\": \"*\", \"Resource\": \"*\"}}"}]]}"#,
        ))
        .unwrap_err();
        let SimulateError::Policy {
            location,
            id,
            code,
            message,
            ..
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!(location, "scps[0][0]");
        assert_eq!(id, "p-bad");
        assert_eq!(*code, "MalformedPolicyDocumentException");
        assert_eq!(
            message,
            "The provided policy document does not meet the requirements of the specified policy type."
        );
        let err = sim(&input(
            r#"{"identity": {"document": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*"}}}}"#,
        ))
        .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "policies.identity[0] (policy identity[0]): MalformedPolicyDocument: Policy statement must contain resources."
            ),
            "{err}"
        );
    }

    #[test]
    fn input_errors() {
        for (text, part) in [
            ("{", "EOF"),
            (
                r#"{"request": {"action": "a:b", "principal": {"arn": "arn:aws:iam::1:user/u"}}, "policies": {"scp": []}}"#,
                "unknown field `scp`",
            ),
            (
                r#"{"request": {"action": "a:b", "principal": {"arn": "arn:aws:iam::1:user/u"}}, "policies": {"scps": [{"id": "x", "document": {}}]}}"#,
                "each level",
            ),
            (
                r#"{"request": {"action": "a:b", "principal": {"arn": "arn:aws:iam::1:user/u"}}, "policies": {"identity": {"Version": "2012-10-17", "Statement": []}}}"#,
                "not the bare document",
            ),
            (
                r#"{"request": {"action": "a:b", "principal": {"arn": "arn:aws:iam::1:user/u"}}, "policies": {"identity": {"document": {"a": 1, "a": 2}}}}"#,
                "duplicate member",
            ),
            (
                r#"{"request": {"action": "a:b", "principal": {"arn": "arn:aws:iam::1:user/u"}}, "policies": {"identity": "ReadOnlyAccess"}}"#,
                "unknown managed policy",
            ),
            (
                r#"{"request": {"action": "a:b", "principal": {"arn": "alice"}}}"#,
                "set \"type\"",
            ),
            (
                r#"{"request": {"action": "a:b", "principal": {"arn": "arn:aws:iam::1:user/u"}, "context": {"a:b": null}}}"#,
                "not a scalar",
            ),
            (
                r#"{"request": {"action": "a:b", "principal": {"arn": "arn:aws:iam::1:user/u"}, "context": {"a:b": "x", "A:B": "y"}}}"#,
                "case-insensitive",
            ),
            (
                r#"{"request": {"action": "a:b", "principal": {"arn": "arn:aws:iam::1:user/u"}}, "expect": {"decision": "Denied"}}"#,
                "unknown variant",
            ),
        ] {
            let err = sim(text).unwrap_err();
            assert!(matches!(err, SimulateError::Input(_)), "{text}: {err}");
            assert!(err.to_string().contains(part), "{text}: {err}");
        }
    }

    #[test]
    fn context_and_expectations() {
        let text = r#"{"request": {"action": "s3:GetObject", "principal": {"arn": "arn:aws:iam::111111111111:user/alice"},
                 "context": {"aws:TagKeys": ["a", "b"], "aws:MultiFactorAuthPresent": true, "s3:max-keys": 10, "aws:PrincipalAccount": "999999999999"}},
               "policies": {"identity": {"document": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                 "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}, "Bool": {"aws:MultiFactorAuthPresent": "true"},
                                "NumericLessThan": {"s3:max-keys": "11"}, "StringEquals": {"aws:username": "alice", "aws:PrincipalAccount": "999999999999"}}}}}},
               "expect": {"decision": "ImplicitlyDenied", "blockedBy": ["identity"]}}"#;
        let out = sim(text).unwrap();
        assert_eq!(out.decision, DecisionName::Allowed);
        assert_eq!(
            out.derived_context.keys().collect::<Vec<_>>(),
            vec![
                "aws:PrincipalArn",
                "aws:PrincipalIsAWSService",
                "aws:PrincipalType",
                "aws:username"
            ]
        );
        let e = out.expectation.unwrap();
        assert!(!e.met);
        assert_eq!(
            e.mismatches,
            vec![
                "decision is Allowed, expected ImplicitlyDenied",
                "blockedBy is [], expected [\"identity\"]"
            ]
        );
    }

    #[test]
    fn output_is_stable_json() {
        let out = sim(&input(r#"{"scps": [["FullAWSAccess"]]}"#)).unwrap();
        let json = serde_json::to_string(&out).unwrap();
        assert_eq!(
            json,
            r#"{"decision":"ImplicitlyDenied","blockedBy":["identity"],"message":"User: arn:aws:sts::222222222222:assumed-role/Admin/s is not authorized to perform: organizations:CreateOrganizationalUnit on resource: arn:aws:organizations::111111111111:root/o-abc/r-ab12 because no identity-based policy allows the organizations:CreateOrganizationalUnit action","deciding":[{"effect":"noAllow","layer":"identity"}],"derivedContext":{"aws:PrincipalAccount":"222222222222","aws:PrincipalArn":"arn:aws:iam::222222222222:role/Admin","aws:PrincipalIsAWSService":"false","aws:PrincipalType":"AssumedRole"}}"#
        );
    }
}
