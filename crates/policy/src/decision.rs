//! The answer of an evaluation: a decision with the reasons that decided it.

use std::fmt;

/// The evaluation's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionEffect {
    /// Every applicable layer allows and nothing denies.
    Allowed,
    /// Nothing denies, but some layer that must allow does not.
    ImplicitlyDenied,
    /// A `Deny` statement of some applicable policy matched.
    ExplicitlyDenied,
}

/// The kind of policy a reason points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// Identity-based policies of the principal.
    Identity,
    /// The resource-based policy of the resource.
    Resource,
    /// SCPs attached at level `n` of the principal's account path (0 = root, last = account).
    ServiceControl(usize),
    /// RCPs attached at level `n` of the resource's account path (0 = root, last = account).
    ResourceControl(usize),
    /// The principal's permissions boundary.
    PermissionsBoundary,
    /// The session policies of the principal's session.
    Session,
}

impl Layer {
    /// The policy type as AWS names it in AccessDenied messages.
    pub fn policy_type(self) -> &'static str {
        match self {
            Layer::Identity => "identity-based policy",
            Layer::Resource => "resource-based policy",
            Layer::ServiceControl(_) => "service control policy",
            Layer::ResourceControl(_) => "resource control policy",
            Layer::PermissionsBoundary => "permissions boundary",
            Layer::Session => "session policy",
        }
    }

    fn article(self) -> &'static str {
        match self {
            Layer::Identity => "an",
            _ => "a",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::ServiceControl(n) => write!(f, "service control policy (level {n})"),
            Layer::ResourceControl(n) => write!(f, "resource control policy (level {n})"),
            other => f.write_str(other.policy_type()),
        }
    }
}

/// What a reason says about its layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonKind {
    /// This statement allows the request.
    Allow,
    /// This statement denies the request.
    Deny,
    /// No statement of this layer allows the request, and the layer must.
    NoAllow,
}

/// A statement, by position and `Sid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatementRef<'p> {
    /// Position in the policy's `Statement` list (0-based).
    pub index: usize,
    /// The statement's `Sid`, if it has one.
    pub sid: Option<&'p str>,
}

impl fmt::Display for StatementRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sid {
            Some(sid) if !sid.is_empty() => write!(f, "statement {sid:?}"),
            _ => write!(f, "statement #{}", self.index),
        }
    }
}

/// One reason of a decision: which layer, which policy (the id the caller gave it), which
/// statement. `policy` and `statement` are `None` for [`ReasonKind::NoAllow`] and for the root
/// user's implicit identity allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reason<'p> {
    pub kind: ReasonKind,
    pub layer: Layer,
    pub policy: Option<&'p str>,
    pub statement: Option<StatementRef<'p>>,
}

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.kind {
            ReasonKind::Allow => "allowed by",
            ReasonKind::Deny => "denied by",
            ReasonKind::NoAllow => "no allow in",
        };
        write!(f, "{verb} {}", self.layer)?;
        if let Some(p) = self.policy {
            write!(f, " {p}")?;
        }
        if let Some(s) = self.statement {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

/// A decision with its reasons.
///
/// `deciding` holds, in evaluation order (RCP levels, SCP levels, resource, identity,
/// boundary, session):
/// - `ExplicitlyDenied`: every matching `Deny` statement;
/// - `ImplicitlyDenied`: every layer that had to allow and did not (`NoAllow`);
/// - `Allowed`: for each layer that had to allow, the first statement that did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'p> {
    pub effect: DecisionEffect,
    pub deciding: Vec<Reason<'p>>,
}

impl Decision<'_> {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        self.effect == DecisionEffect::Allowed
    }

    /// The reason AWS's message would name: the first deciding reason.
    pub fn primary(&self) -> Option<&Reason<'_>> {
        self.deciding.first()
    }

    /// AWS's AccessDenied message text for a denied decision:
    ///
    /// - implicit: `User: <arn> is not authorized to perform: <action> on resource: <resource>
    ///   because no <type> allows the <action> action`
    /// - explicit: `User: <arn> is not authorized to perform: <action> on resource: <resource>
    ///   with an explicit deny in a <type>: <policy id>` (`: <policy id>` only when the policy
    ///   has a non-empty id).
    ///
    /// `<type>` is `identity-based policy`, `resource-based policy`, `service control policy`,
    /// `resource control policy`, `permissions boundary` or `session policy`. When several
    /// layers decided, the first (in evaluation order) is named, as AWS names only one.
    /// Returns the empty string for an allowed decision.
    pub fn access_denied_message(
        &self,
        principal_arn: &str,
        action: &str,
        resource_arn: &str,
    ) -> String {
        let head = format!(
            "User: {principal_arn} is not authorized to perform: {action} on resource: {resource_arn}"
        );
        match (self.effect, self.primary()) {
            (DecisionEffect::Allowed, _) => String::new(),
            (DecisionEffect::ExplicitlyDenied, Some(r)) => {
                let mut m = format!(
                    "{head} with an explicit deny in {} {}",
                    r.layer.article(),
                    r.layer.policy_type()
                );
                if let Some(id) = r.policy.filter(|id| !id.is_empty()) {
                    m.push_str(": ");
                    m.push_str(id);
                }
                m
            }
            (DecisionEffect::ImplicitlyDenied, Some(r)) => {
                format!(
                    "{head} because no {} allows the {action} action",
                    r.layer.policy_type()
                )
            }
            (_, None) => {
                format!(
                    "{head} because no {} allows the {action} action",
                    Layer::Identity.policy_type()
                )
            }
        }
    }
}

impl fmt::Display for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let effect = match self.effect {
            DecisionEffect::Allowed => "allowed",
            DecisionEffect::ImplicitlyDenied => "implicitly denied",
            DecisionEffect::ExplicitlyDenied => "explicitly denied",
        };
        f.write_str(effect)?;
        for (i, r) in self.deciding.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    const P: &str = "arn:aws:iam::111122223333:user/alice";
    const A: &str = "organizations:CreateOrganizationalUnit";
    const R: &str = "arn:aws:organizations::111122223333:root/o-a1b2c3d4e5/r-ab12";

    #[test]
    fn implicit_messages() {
        for (layer, text) in [
            (Layer::Identity, "identity-based policy"),
            (Layer::Resource, "resource-based policy"),
            (Layer::ServiceControl(1), "service control policy"),
            (Layer::ResourceControl(0), "resource control policy"),
            (Layer::PermissionsBoundary, "permissions boundary"),
            (Layer::Session, "session policy"),
        ] {
            let d = Decision {
                effect: DecisionEffect::ImplicitlyDenied,
                deciding: vec![Reason {
                    kind: ReasonKind::NoAllow,
                    layer,
                    policy: None,
                    statement: None,
                }],
            };
            assert_eq!(
                d.access_denied_message(P, A, R),
                format!(
                    "User: {P} is not authorized to perform: {A} on resource: {R} because no {text} allows the {A} action"
                )
            );
        }
    }

    #[test]
    fn explicit_messages() {
        let scp = "arn:aws:organizations::999999999999:policy/o-a1b2c3d4e5/service_control_policy/p-2kgnabcd";
        let d = Decision {
            effect: DecisionEffect::ExplicitlyDenied,
            deciding: vec![Reason {
                kind: ReasonKind::Deny,
                layer: Layer::ServiceControl(1),
                policy: Some(scp),
                statement: Some(StatementRef {
                    index: 0,
                    sid: Some("DenyOU"),
                }),
            }],
        };
        assert_eq!(
            d.access_denied_message(P, A, R),
            format!(
                "User: {P} is not authorized to perform: {A} on resource: {R} with an explicit deny in a service control policy: {scp}"
            )
        );
        assert_eq!(
            d.to_string(),
            format!(
                "explicitly denied: denied by service control policy (level 1) {scp} statement \"DenyOU\""
            )
        );
        let d = Decision {
            effect: DecisionEffect::ExplicitlyDenied,
            deciding: vec![Reason {
                kind: ReasonKind::Deny,
                layer: Layer::Identity,
                policy: Some(""),
                statement: Some(StatementRef {
                    index: 2,
                    sid: None,
                }),
            }],
        };
        assert_eq!(
            d.access_denied_message(P, A, R),
            format!(
                "User: {P} is not authorized to perform: {A} on resource: {R} with an explicit deny in an identity-based policy"
            )
        );
        assert!(
            Decision {
                effect: DecisionEffect::Allowed,
                deciding: vec![]
            }
            .access_denied_message(P, A, R)
            .is_empty()
        );
    }
}
