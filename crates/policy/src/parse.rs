//! Policy documents: JSON → a typed, pre-compiled [`Policy`], with AWS's validation.
//!
//! Parsing happens once (when a policy is created, updated or loaded); evaluation reuses the
//! compiled form: action patterns lowercased and classified (exact / prefix / wildcard) with a
//! per-statement service bitmask, resource patterns split into ARN components, condition keys
//! lowercased and hashed, condition values parsed for their operator.

use crate::condition::{Condition, Operator};
use crate::error::{ParseError, msg};
use crate::grammar;
use crate::json::{self, Json};
use crate::pattern::{ActionPattern, ResourcePattern, action_service_mask};

/// What a policy document is attached as; the element rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Identity-based policy (inline or managed, on a user, group or role), and also a
    /// permissions boundary or a session policy: no `Principal`/`NotPrincipal`; `Resource` or
    /// `NotResource` required; `Sid`s alphanumeric.
    Identity,
    /// A customer managed policy's document as `CreatePolicy` and `CreatePolicyVersion` check
    /// it: the [`Identity`](Self::Identity) rules, and `Version` must be `2012-10-17`
    /// ("Policy document must be version 2012-10-17 or greater."). Inline policies may omit
    /// the `Version`. Once stored, the policy is evaluated as `Identity`.
    ManagedIdentity,
    /// Resource-based policy (e.g. an Organizations resource policy): `Principal` or
    /// `NotPrincipal` required; `Resource` or `NotResource` required.
    Resource,
    /// A role's trust policy: `Principal` or `NotPrincipal` required; `Resource`/`NotResource`
    /// prohibited.
    RoleTrust,
    /// Service control policy, with the full IAM language SCPs accept since September 2025:
    /// everything but `Principal`/`NotPrincipal`. Errors carry Organizations' message text.
    ServiceControl,
    /// Service control policy with the element rules SCPs had before September 2025: `Allow`
    /// statements take only `Action` with `Resource: "*"` (no `Condition`, `NotAction`,
    /// `NotResource`); `NotResource` is refused everywhere; an action may hold a wildcard only
    /// at its end.
    ServiceControlLegacy,
    /// Resource control policy: `Version` 2012-10-17; `Principal` required and `"*"`; no
    /// `NotPrincipal`, no `NotAction`; `Allow` only in the `RCPFullAWSAccess` shape
    /// (`Principal`, `Action` and `Resource` all `"*"`, no `Condition`).
    ResourceControl,
}

impl PolicyKind {
    /// The error code a refused document gets on the wire: IAM's `MalformedPolicyDocument`,
    /// or Organizations' `MalformedPolicyDocumentException` for SCPs and RCPs.
    pub fn error_code(self) -> &'static str {
        if self.is_organizations() {
            "MalformedPolicyDocumentException"
        } else {
            "MalformedPolicyDocument"
        }
    }

    /// Identity-based rules (no `Principal`, alphanumeric `Sid`s).
    pub(crate) fn is_identity(self) -> bool {
        matches!(self, PolicyKind::Identity | PolicyKind::ManagedIdentity)
    }

    fn is_organizations(self) -> bool {
        matches!(
            self,
            PolicyKind::ServiceControl
                | PolicyKind::ServiceControlLegacy
                | PolicyKind::ResourceControl
        )
    }

    fn principal_required(self) -> bool {
        matches!(
            self,
            PolicyKind::Resource | PolicyKind::RoleTrust | PolicyKind::ResourceControl
        )
    }

    fn resources_required(self) -> bool {
        !matches!(self, PolicyKind::RoleTrust)
    }
}

/// The policy language version (`Version` element).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `2008-10-17`: no policy variables.
    V2008_10_17,
    /// `2012-10-17`: policy variables.
    V2012_10_17,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

/// A parsed, compiled policy document, tagged with the id (usually the policy ARN) that
/// decisions name it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    id: String,
    kind: PolicyKind,
    version: Option<Version>,
    document_id: Option<String>,
    statements: Vec<Statement>,
    /// Union of the statements' service masks.
    pub(crate) service_mask: u64,
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    sid: Option<String>,
    effect: Effect,
    pub(crate) actions: Actions,
    pub(crate) resources: Option<Resources>,
    pub(crate) principals: Option<Principals>,
    pub(crate) conditions: Vec<Condition>,
}

/// `Action` or `NotAction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Actions {
    pub(crate) negated: bool,
    pub(crate) patterns: Vec<ActionPattern>,
    /// The patterns as written (what summaries show).
    pub(crate) texts: Box<[Box<str>]>,
    /// Service bits the statement can match (all bits for `NotAction`).
    pub(crate) service_mask: u64,
}

/// `Resource` or `NotResource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resources {
    pub(crate) negated: bool,
    pub(crate) patterns: Vec<ResourcePattern>,
    /// The patterns as written.
    pub(crate) texts: Box<[Box<str>]>,
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principals {
    pub(crate) negated: bool,
    pub(crate) entries: Vec<PrincipalEntry>,
}

/// One principal named in a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrincipalEntry {
    /// `"*"` or `{"AWS": "*"}`.
    Anyone,
    /// `"111122223333"` or `arn:…:iam::111122223333:root`: the account (delegation).
    Account(Box<str>),
    /// `arn:…:iam::…:role/…`: sessions of that role.
    Role(Box<str>),
    /// Any other AWS ARN (user, role session, federated user …): exactly that principal.
    Arn(Box<str>),
    /// `{"Service": …}`.
    Service(Box<str>),
    /// `{"Federated": …}`.
    Federated(Box<str>),
    /// `{"CanonicalUser": …}`.
    CanonicalUser(Box<str>),
}

impl Policy {
    /// Parses and validates a policy document.
    ///
    /// `id` is how decisions name the policy (an ARN, for AWS's enhanced AccessDenied text).
    pub fn parse(
        id: impl Into<String>,
        document: &str,
        kind: PolicyKind,
    ) -> Result<Policy, ParseError> {
        let v = Validator { kind };
        let root = json::parse(document).map_err(|e| v.syntax(format!("invalid JSON: {}", e.0)))?;
        let Json::Object(members) = root else {
            return Err(v.syntax(format!(
                "the document is a JSON {}, not an object",
                root.type_name()
            )));
        };
        let mut version = None;
        let mut document_id = None;
        let mut statement_json = None;
        for (name, value) in members {
            match name.as_str() {
                "Version" => {
                    version = Some(match &value {
                        Json::String(s) if s == "2012-10-17" => Version::V2012_10_17,
                        Json::String(s) if s == "2008-10-17" => Version::V2008_10_17,
                        // moto's case `"Version": "2013-10-17"` → `Syntax errors in policy.`
                        other => return Err(v.syntax(format!("Version {}", describe(other)))),
                    });
                }
                "Id" => match value {
                    Json::String(s) => document_id = Some(s),
                    other => {
                        return Err(
                            v.syntax(format!("Id must be a string, not {}", other.type_name()))
                        );
                    }
                },
                "Statement" => statement_json = Some(value),
                other => return Err(v.syntax(format!("unknown element {other:?}"))),
            }
        }
        if kind == PolicyKind::ResourceControl && version != Some(Version::V2012_10_17) {
            return Err(v.fail(msg::MANAGED_VERSION, "an RCP needs Version 2012-10-17"));
        }
        let statements_json = match statement_json {
            Some(Json::Array(items)) => items,
            Some(obj @ Json::Object(_)) => vec![obj],
            Some(other) => {
                return Err(v.syntax(format!(
                    "Statement must be an object or array, not {}",
                    other.type_name()
                )));
            }
            None => return Err(v.syntax("missing Statement")),
        };
        if statements_json.is_empty() {
            return Err(v.syntax("Statement is empty"));
        }
        v.document_checks(version, &statements_json)?;
        let variables = version == Some(Version::V2012_10_17);
        let mut statements = Vec::with_capacity(statements_json.len());
        for (index, item) in statements_json.into_iter().enumerate() {
            statements.push(v.statement(index, item, variables)?);
        }
        let service_mask = statements
            .iter()
            .fold(0u64, |m, s| m | s.actions.service_mask);
        Ok(Policy {
            id: id.into(),
            kind,
            version,
            document_id,
            statements,
            service_mask,
        })
    }

    /// The id the caller gave the policy.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What the policy was validated as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The `Version` element; `None` when absent (2008-10-17 semantics).
    pub fn version(&self) -> Option<Version> {
        self.version
    }

    /// The document's own `Id` element.
    pub fn document_id(&self) -> Option<&str> {
        self.document_id.as_deref()
    }

    /// The statements, in document order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

impl Statement {
    /// The `Sid` element.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// The `Effect` element.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// The statement's conditions (operator–key pairs), in document order.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// The `Action` (or, when `true`, `NotAction`) patterns as written.
    pub fn action_texts(&self) -> (bool, &[Box<str>]) {
        (self.actions.negated, &self.actions.texts)
    }

    /// The `Resource` (or, when `true`, `NotResource`) patterns as written; `None` for a
    /// policy kind without resources (trust policies).
    pub fn resource_texts(&self) -> Option<(bool, &[Box<str>])> {
        self.resources.as_ref().map(|r| (r.negated, &*r.texts))
    }

    /// Whether the statement's `Action` (or `NotAction`) covers `action` (`service:Name`,
    /// any case), whatever its resources and conditions say: what IAM's last-accessed
    /// reports count as an action the policy grants.
    pub fn covers_action(&self, action: &str) -> bool {
        let lower = action.to_ascii_lowercase();
        let action = crate::pattern::ActionRef::new(&lower);
        let ctx = crate::Context::default();
        let hit = self
            .actions
            .patterns
            .iter()
            .any(|p| p.matches(&action, &ctx));
        hit != self.actions.negated
    }
}

fn describe(v: &Json) -> String {
    match v {
        Json::String(s) => format!("{s:?} is not a known version"),
        other => format!("must be a string, not {}", other.type_name()),
    }
}

/// Builds errors with the message text of the policy's service.
pub(crate) struct Validator {
    pub(crate) kind: PolicyKind,
}

impl Validator {
    pub(crate) fn fail(&self, message: impl Into<String>, detail: impl Into<String>) -> ParseError {
        let message = message.into();
        let detail = detail.into();
        if self.kind.is_organizations() {
            ParseError::new(msg::ORGANIZATIONS, format!("{message} ({detail})"))
        } else {
            ParseError::new(message, detail)
        }
    }

    pub(crate) fn syntax(&self, detail: impl Into<String>) -> ParseError {
        self.fail(msg::SYNTAX, detail)
    }

    fn statement(
        &self,
        index: usize,
        item: Json,
        variables: bool,
    ) -> Result<Statement, ParseError> {
        let Json::Object(members) = item else {
            return Err(self.syntax(format!(
                "statement {index} is a JSON {}, not an object",
                item.type_name()
            )));
        };
        let mut sid = None;
        let mut effect = None;
        let mut action = None;
        let mut not_action = None;
        let mut resource = None;
        let mut not_resource = None;
        let mut principal = None;
        let mut not_principal = None;
        let mut condition = None;
        for (name, value) in members {
            let slot = match name.as_str() {
                "Sid" => {
                    match value {
                        Json::String(s) => sid = Some(s),
                        other => {
                            return Err(self.syntax(format!(
                                "statement {index}: Sid must be a string, not {}",
                                other.type_name()
                            )));
                        }
                    }
                    continue;
                }
                "Effect" => &mut effect,
                "Action" => &mut action,
                "NotAction" => &mut not_action,
                "Resource" => &mut resource,
                "NotResource" => &mut not_resource,
                "Principal" => &mut principal,
                "NotPrincipal" => &mut not_principal,
                "Condition" => &mut condition,
                other => {
                    return Err(
                        self.syntax(format!("statement {index}: unknown element {other:?}"))
                    );
                }
            };
            *slot = Some(value);
        }
        let at = |what: &str| format!("statement {index}: {what}");

        // Sid rules: see `Validator::sids`.

        // Effect
        let effect = match effect {
            Some(Json::String(s)) if s == "Allow" => Effect::Allow,
            Some(Json::String(s)) if s == "Deny" => Effect::Deny,
            Some(other) => {
                return Err(self.syntax(at(&format!("invalid Effect {}", short(&other)))));
            }
            None => return Err(self.syntax(at("missing Effect"))),
        };

        // Action / NotAction
        let (negated, action_json) = match (action, not_action) {
            (Some(_), Some(_)) => return Err(self.syntax(at("both Action and NotAction"))),
            (Some(a), None) => (false, a),
            (None, Some(a)) => (true, a),
            (None, None) => return Err(self.fail(msg::NO_ACTIONS, at("no Action or NotAction"))),
        };
        let element = if negated { "NotAction" } else { "Action" };
        let action_texts = self.strings(&action_json, &at(element))?;
        if action_texts.is_empty() {
            return Err(self.fail(msg::NO_ACTIONS, at(&format!("empty {element}"))));
        }
        for a in &action_texts {
            self.check_action(a, &at(element))?;
        }
        let actions = Actions {
            negated,
            service_mask: if negated {
                u64::MAX
            } else {
                action_texts
                    .iter()
                    .fold(0u64, |m, a| m | action_service_mask(a))
            },
            patterns: action_texts
                .iter()
                .map(|a| ActionPattern::compile(a))
                .collect(),
            texts: action_texts.iter().map(|a| Box::from(a.as_ref())).collect(),
        };

        // Principal / NotPrincipal
        let principals = match (principal, not_principal) {
            (Some(_), Some(_)) => return Err(self.syntax(at("both Principal and NotPrincipal"))),
            (Some(p), None) => Some((false, p)),
            (None, Some(p)) => Some((true, p)),
            (None, None) => None,
        };
        let principals = match principals {
            Some(_) if !self.kind.principal_required() => {
                return Err(self.fail(msg::NO_PRINCIPAL, at("Principal or NotPrincipal")));
            }
            None if self.kind == PolicyKind::RoleTrust => {
                return Err(self.fail(msg::NO_PRINCIPALS, at("no Principal or NotPrincipal")));
            }
            None if self.kind.principal_required() => {
                return Err(self.fail(msg::MISSING_PRINCIPAL, at("no Principal or NotPrincipal")));
            }
            Some((negated, p)) => Some(Principals {
                negated,
                entries: self.principal(&p, &at("Principal"))?,
            }),
            None => None,
        };

        // Resource / NotResource
        let resources = match (resource, not_resource) {
            (Some(_), Some(_)) => return Err(self.syntax(at("both Resource and NotResource"))),
            (Some(r), None) => Some((false, r)),
            (None, Some(r)) => Some((true, r)),
            (None, None) => None,
        };
        let resources = match resources {
            Some((negated, _)) if !self.kind.resources_required() => {
                let field = if negated { "NotResource" } else { "Resource" };
                return Err(self.fail(format!("Has prohibited field {field}"), at(field)));
            }
            None if self.kind.resources_required() => {
                return Err(self.fail(msg::NO_RESOURCES, at("no Resource or NotResource")));
            }
            None => None,
            Some((negated, r)) => {
                let element = if negated { "NotResource" } else { "Resource" };
                let texts = self.strings(&r, &at(element))?;
                if texts.is_empty() {
                    return Err(self.fail(msg::NO_RESOURCES, at(&format!("empty {element}"))));
                }
                for t in &texts {
                    self.check_resource(t, &at(element))?;
                }
                Some(Resources {
                    negated,
                    patterns: texts
                        .iter()
                        .map(|t| ResourcePattern::compile(t, variables))
                        .collect(),
                    texts: texts.iter().map(|t| Box::from(t.as_ref())).collect(),
                })
            }
        };

        // Condition
        let conditions = match condition {
            Some(c) => self.conditions(&c, &at("Condition"), variables)?,
            None => Vec::new(),
        };

        let statement = Statement {
            sid,
            effect,
            actions,
            resources,
            principals,
            conditions,
        };
        self.check_kind_rules(&statement, &action_texts, index)?;
        Ok(statement)
    }

    /// A string, or an array of strings.
    fn strings(&self, v: &Json, at: &str) -> Result<Vec<String>, ParseError> {
        match v {
            Json::String(s) => Ok(vec![s.clone()]),
            Json::Array(items) => items
                .iter()
                .map(|i| match i {
                    Json::String(s) => Ok(s.clone()),
                    other => Err(self.syntax(format!("{at}: a {} in the list", other.type_name()))),
                })
                .collect(),
            other => Err(self.syntax(format!(
                "{at}: a {}, not a string or list",
                other.type_name()
            ))),
        }
    }

    fn check_action(&self, action: &str, at: &str) -> Result<(), ParseError> {
        match grammar::action_error(action) {
            Some(message) => Err(self.fail(message, format!("{at}: {action:?}"))),
            None => Ok(()),
        }
    }

    fn check_resource(&self, resource: &str, at: &str) -> Result<(), ParseError> {
        match grammar::resource_error(resource) {
            Some(message) => Err(self.fail(message, format!("{at}: {resource:?}"))),
            None => Ok(()),
        }
    }

    fn principal(&self, v: &Json, at: &str) -> Result<Vec<PrincipalEntry>, ParseError> {
        match v {
            Json::String(s) if s == "*" => Ok(vec![PrincipalEntry::Anyone]),
            Json::Object(members) => {
                let mut out = Vec::new();
                for (kind, value) in members {
                    let values = principal_values(value).ok_or_else(|| {
                        self.syntax(format!("{at}: {kind} is not a string or list of strings"))
                    })?;
                    if values.is_empty() && self.kind == PolicyKind::RoleTrust {
                        return Err(self.fail(msg::NO_PRINCIPALS, format!("{at}: empty {kind}")));
                    }
                    if values.is_empty() {
                        return Err(self.syntax(format!("{at}: empty {kind} list")));
                    }
                    for value in values {
                        let entry = match kind.as_str() {
                            "AWS" => aws_principal(&value).ok_or_else(|| {
                                self.fail(msg::invalid_principal(kind, &value), at.to_owned())
                            })?,
                            "Service" | "Federated" | "CanonicalUser" if value.is_empty() => {
                                return Err(
                                    self.fail(msg::invalid_principal(kind, &value), at.to_owned())
                                );
                            }
                            "Service" => PrincipalEntry::Service(value.into()),
                            "Federated" => PrincipalEntry::Federated(value.into()),
                            "CanonicalUser" => PrincipalEntry::CanonicalUser(value.into()),
                            other => {
                                return Err(
                                    self.syntax(format!("{at}: unknown principal type {other:?}"))
                                );
                            }
                        };
                        out.push(entry);
                    }
                }
                if out.is_empty() {
                    return Err(self.syntax(format!("{at}: empty")));
                }
                Ok(out)
            }
            other => Err(self.syntax(format!("{at}: {}", short(other)))),
        }
    }

    fn conditions(
        &self,
        v: &Json,
        at: &str,
        variables: bool,
    ) -> Result<Vec<Condition>, ParseError> {
        let Json::Object(blocks) = v else {
            return Err(self.syntax(format!("{at}: a {}, not an object", v.type_name())));
        };
        let mut out = Vec::new();
        for (op_name, block) in blocks {
            // An empty block of an operator IAM does not know is accepted and means nothing
            // (moto's valid cases `"Condition": {"a": {}}`).
            if matches!(block, Json::Object(keys) if keys.is_empty()) {
                continue;
            }
            let operator = Operator::parse(op_name)
                .ok_or_else(|| self.syntax(format!("{at}: unknown operator {op_name:?}")))?;
            let Json::Object(keys) = block else {
                return Err(self.syntax(format!(
                    "{at}: {op_name} holds a {}, not an object",
                    block.type_name()
                )));
            };
            for (key, values) in keys {
                // A key without a colon is accepted (moto's valid CreatePolicy cases
                // `"StringEqualsIfExists": {"a": "asf"}`); only an empty vendor is refused.
                match key.split_once(':') {
                    None => {}
                    Some((vendor, _)) if !vendor.is_empty() => {}
                    _ => {
                        return Err(
                            self.fail(msg::ACTION_VENDOR, format!("{at}: condition key {key:?}"))
                        );
                    }
                }
                let raw: Vec<&str> = match values {
                    Json::Array(items) => items
                        .iter()
                        .map(|i| {
                            i.as_scalar_text().ok_or_else(|| {
                                self.syntax(format!(
                                    "{at}: {op_name}/{key}: a {} in the list",
                                    i.type_name()
                                ))
                            })
                        })
                        .collect::<Result<_, _>>()?,
                    single => vec![single.as_scalar_text().ok_or_else(|| {
                        self.syntax(format!("{at}: {op_name}/{key}: a {}", single.type_name()))
                    })?],
                };
                if raw.is_empty() {
                    return Err(self.syntax(format!("{at}: {op_name}/{key}: no values")));
                }
                out.push(Condition::compile(op_name, operator, key, &raw, variables));
            }
        }
        Ok(out)
    }

    /// The SCP and RCP element rules.
    fn check_kind_rules(
        &self,
        s: &Statement,
        actions: &[String],
        index: usize,
    ) -> Result<(), ParseError> {
        let bad =
            |what: &str| Err(self.fail(msg::ORGANIZATIONS, format!("statement {index}: {what}")));
        let all_resources = s
            .resources
            .as_ref()
            .is_some_and(|r| !r.negated && r.patterns.iter().all(|p| *p == ResourcePattern::Any));
        match self.kind {
            PolicyKind::ServiceControlLegacy => {
                if s.resources.as_ref().is_some_and(|r| r.negated) {
                    return bad("NotResource is not supported in SCPs");
                }
                if actions
                    .iter()
                    .any(|a| a.trim_end_matches(['*', '?']).contains(['*', '?']))
                {
                    return bad("a wildcard may only end an action");
                }
                if s.effect == Effect::Allow {
                    if s.actions.negated {
                        return bad("NotAction needs Effect Deny");
                    }
                    if !s.conditions.is_empty() {
                        return bad("Condition needs Effect Deny");
                    }
                    if !all_resources {
                        return bad("an Allow statement's Resource must be \"*\"");
                    }
                }
                Ok(())
            }
            PolicyKind::ResourceControl => {
                let Some(p) = &s.principals else {
                    return bad("no Principal");
                };
                if p.negated {
                    return bad("NotPrincipal is not supported in RCPs");
                }
                if p.entries != [PrincipalEntry::Anyone] {
                    return bad("an RCP's Principal must be \"*\"");
                }
                if s.actions.negated {
                    return bad("NotAction is not supported in RCPs");
                }
                if s.effect == Effect::Allow {
                    let full = matches!(s.actions.patterns.as_slice(), [p] if p.is_any())
                        && all_resources
                        && s.conditions.is_empty();
                    if !full {
                        return bad("Allow is only supported in the RCPFullAWSAccess shape");
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

fn short(v: &Json) -> String {
    match v {
        Json::String(s) => format!("{s:?}"),
        other => format!("a {}", other.type_name()),
    }
}

/// A principal's values: a string or a list of strings, where an account ID may also be an
/// unquoted number (IAM accepts `"AWS": 123456789012`; aws/aws-sdk-java-v2#6662, by the SDK's
/// maintainers: "IAM Policies with unquoted (numeric) AWS account ids are considered valid by
/// IAM").
fn principal_values(v: &Json) -> Option<Vec<String>> {
    let one = |v: &Json| match v {
        Json::String(s) | Json::Number(s) => Some(s.clone()),
        _ => None,
    };
    match v {
        Json::Array(items) => items.iter().map(one).collect(),
        single => one(single).map(|s| vec![s]),
    }
}

/// Reads an `AWS` principal value: `*`, an account ID, or an ARN.
fn aws_principal(value: &str) -> Option<PrincipalEntry> {
    if value == "*" {
        return Some(PrincipalEntry::Anyone);
    }
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(PrincipalEntry::Account(value.into()));
    }
    if !value.starts_with("arn:") {
        return None;
    }
    let mut parts = value.splitn(6, ':');
    let (_, _, service, _, account, resource) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next()?,
        parts.next()?,
    );
    if service == Some("iam") && resource == "root" {
        return Some(PrincipalEntry::Account(account.into()));
    }
    if service == Some("iam") && resource.starts_with("role/") {
        return Some(PrincipalEntry::Role(value.into()));
    }
    Some(PrincipalEntry::Arn(value.into()))
}

#[cfg(test)]
mod tests {

    use super::*;

    fn err(doc: &str, kind: PolicyKind) -> ParseError {
        Policy::parse("p", doc, kind).expect_err("should be refused")
    }

    fn ok(doc: &str, kind: PolicyKind) -> Policy {
        Policy::parse("p", doc, kind).unwrap_or_else(|e| panic!("{e}: {}", e.detail()))
    }

    const ALLOW_ALL: &str =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;

    #[test]
    fn minimal_policies_parse() {
        let p = ok(ALLOW_ALL, PolicyKind::Identity);
        assert_eq!(p.version(), Some(Version::V2012_10_17));
        assert_eq!(p.statements().len(), 1);
        assert_eq!(p.statements()[0].effect(), Effect::Allow);
        assert_eq!(p.service_mask, u64::MAX);
        let p = ok(
            r#"{"Id":"x","Statement":[{"Sid":"A1","Effect":"Deny","NotAction":["s3:*"],"NotResource":"arn:aws:s3:::b"}]}"#,
            PolicyKind::Identity,
        );
        assert_eq!(p.version(), None);
        assert_eq!(p.document_id(), Some("x"));
        assert_eq!(p.statements()[0].sid(), Some("A1"));
    }

    #[test]
    fn syntax_errors() {
        for doc in [
            "",
            "{",
            "[]",
            r#"{"Statement": 5}"#,
            r#"{"Statement": []}"#,
            r#"{"Version":"2012-10-17"}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Foo":1}}"#,
            r#"{"Version":"2012-10-17","Bar":1,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            r#"{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Permit","Action":"*","Resource":"*"}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Action":"*","Resource":"*"}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":[1],"Resource":"*"}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"a:b":"c"}}}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"a:b":[]}}}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"a:b":null}}}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":"x"}}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Effect":"Deny"}}"#,
        ] {
            let e = err(doc, PolicyKind::Identity);
            assert_eq!(
                e.message(),
                "Syntax errors in policy.",
                "{doc}: {}",
                e.detail()
            );
        }
    }

    #[test]
    fn element_errors() {
        let cases: &[(&str, PolicyKind, &str)] = &[
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"allow","Action":"*","Resource":"*"}}"#,
                PolicyKind::Identity,
                "The policy failed legacy parsing",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
                PolicyKind::ManagedIdentity,
                "Policy document must be version 2012-10-17 or greater.",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#,
                PolicyKind::Identity,
                "Policy document should not specify a principal.",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
                PolicyKind::Resource,
                "Missing required field Principal",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"*"}}"#,
                PolicyKind::Identity,
                "Policy statement must contain actions.",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}"#,
                PolicyKind::Identity,
                "Policy statement must contain actions.",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*"}}"#,
                PolicyKind::Identity,
                "Policy statement must contain resources.",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Resource":"*"}}"#,
                PolicyKind::RoleTrust,
                "Has prohibited field Resource",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}"#,
                PolicyKind::Identity,
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:ec2:Run","Resource":"*"}}"#,
                PolicyKind::Identity,
                "Actions/Condition can contain only one colon.",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{":SecureTransport":"true"}}}}"#,
                PolicyKind::Identity,
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"bucket"}}"#,
                PolicyKind::Identity,
                "Resource bucket must be in ARN format or \"*\".",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam:us-east-1:1:role/x"}}"#,
                PolicyKind::Identity,
                "IAM resource arn:aws:iam:us-east-1:1:role/x cannot contain region information.",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}]}"#,
                PolicyKind::Identity,
                "Statement IDs (SID) in a single policy must be unique.",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":{"Sid":"a-b","Effect":"Allow","Action":"*","Resource":"*"}}"#,
                PolicyKind::Identity,
                "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"sts:AssumeRole"}}"#,
                PolicyKind::RoleTrust,
                "Invalid principal in policy: \"AWS\":\"bob\"",
            ),
        ];
        for (doc, kind, message) in cases {
            let e = err(doc, *kind);
            assert_eq!(e.message(), *message, "{doc}: {}", e.detail());
        }
    }

    #[test]
    fn resource_policies_accept_sids_with_punctuation() {
        ok(
            r#"{"Version":"2012-10-17","Statement":{"Sid":"allow-read","Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:role/R"]},"Action":"organizations:Describe*","Resource":"*"}}"#,
            PolicyKind::Resource,
        );
    }

    #[test]
    fn scp_rules() {
        let scp = |doc: &str, kind| Policy::parse("p", doc, kind);
        let with_principal = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}}"#;
        let e = scp(with_principal, PolicyKind::ServiceControl).unwrap_err();
        assert_eq!(e.message(), msg::ORGANIZATIONS);
        assert!(
            e.detail().contains("should not specify a principal"),
            "{}",
            e.detail()
        );
        // Full language: Allow with Condition, NotAction, NotResource, mid-string wildcards.
        let full = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*Role","NotResource":"arn:aws:iam::*:role/x","Condition":{"Bool":{"aws:SecureTransport":true}}}}"#;
        assert!(scp(full, PolicyKind::ServiceControl).is_ok());
        assert!(scp(full, PolicyKind::ServiceControlLegacy).is_err());
        let deny_ok = r#"{"Statement":{"Effect":"Deny","NotAction":["iam:*","sts:Get*"],"Resource":"arn:aws:iam::*:role/x","Condition":{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}}}"#;
        assert!(scp(deny_ok, PolicyKind::ServiceControlLegacy).is_ok());
        for bad in [
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}}"#,
            r#"{"Statement":{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Deny","Action":"s3:*Object","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::b"}}"#,
        ] {
            let e = scp(bad, PolicyKind::ServiceControlLegacy).unwrap_err();
            assert_eq!(e.message(), msg::ORGANIZATIONS, "{bad}");
        }
        assert!(
            scp(
                r#"{"Statement":{"Effect":"Deny","Action":"s3:Get?","Resource":"*"}}"#,
                PolicyKind::ServiceControlLegacy
            )
            .is_ok()
        );
    }

    #[test]
    fn rcp_rules() {
        let rcp = |doc: &str| Policy::parse("p", doc, PolicyKind::ResourceControl);
        assert!(rcp(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#).is_ok());
        assert!(rcp(r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-1"}}}}"#).is_ok());
        for bad in [
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":"*","Action":"*","Resource":"*"}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","NotAction":"s3:*","Resource":"*"}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
        ] {
            let e = rcp(bad).unwrap_err();
            assert_eq!(e.message(), msg::ORGANIZATIONS, "{bad}");
        }
    }

    #[test]
    fn condition_scalars_accept_json_booleans_and_numbers() {
        let p = ok(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":true},"NumericLessThan":{"aws:MultiFactorAuthAge":[3600, 7200.5]}}}}"#,
            PolicyKind::Identity,
        );
        let conds = p.statements()[0].conditions();
        assert_eq!(conds.len(), 2);
        assert_eq!(conds[0].operator_name(), "Bool");
        assert_eq!(conds[1].key_name(), "aws:MultiFactorAuthAge");
    }

    #[test]
    fn principals_are_classified() {
        let p = ok(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:root","arn:aws:iam::1:role/R","arn:aws:iam::1:user/u","*"],"Service":"cloudtrail.amazonaws.com","Federated":"arn:aws:iam::1:saml-provider/X","CanonicalUser":"abc"},"Action":"sts:AssumeRole"}}"#,
            PolicyKind::RoleTrust,
        );
        let entries = &p.statements()[0].principals.as_ref().unwrap().entries;
        assert_eq!(
            entries,
            &[
                PrincipalEntry::Account("111122223333".into()),
                PrincipalEntry::Account("444455556666".into()),
                PrincipalEntry::Role("arn:aws:iam::1:role/R".into()),
                PrincipalEntry::Arn("arn:aws:iam::1:user/u".into()),
                PrincipalEntry::Anyone,
                PrincipalEntry::Service("cloudtrail.amazonaws.com".into()),
                PrincipalEntry::Federated("arn:aws:iam::1:saml-provider/X".into()),
                PrincipalEntry::CanonicalUser("abc".into()),
            ]
        );
        assert!(Policy::parse("p", r#"{"Statement":{"Effect":"Allow","Principal":"arn:aws:iam::1:root","Action":"a:b","Resource":"*"}}"#, PolicyKind::Resource).is_err());
        assert!(Policy::parse("p", r#"{"Statement":{"Effect":"Allow","Principal":{"Team":"x"},"Action":"a:b","Resource":"*"}}"#, PolicyKind::Resource).is_err());
    }
}
