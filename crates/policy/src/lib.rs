//! The IAM policy language: parse policy documents, evaluate requests against them, and say
//! why — a pure library (no I/O, no async, no clock: time arrives as condition keys).
//!
//! ```
//! use cairn_policy::{evaluate, Context, DecisionEffect, Policies, Policy, PolicyKind, Principal, PrincipalType, Request};
//!
//! let admin = Policy::parse(
//!     "arn:aws:iam::111122223333:policy/OrgAdmin",
//!     r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "organizations:*", "Resource": "*"}}"#,
//!     PolicyKind::Identity,
//! )?;
//! let guard = Policy::parse(
//!     "arn:aws:organizations::111122223333:policy/o-a1b2c3d4e5/service_control_policy/p-guard",
//!     r#"{"Version": "2012-10-17", "Statement": [
//!         {"Effect": "Allow", "Action": "*", "Resource": "*"},
//!         {"Sid": "NoLeaving", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]}"#,
//!     PolicyKind::ServiceControl,
//! )?;
//! let context = Context::new().with("aws:username", "alice");
//! let request = Request {
//!     principal: Principal::new(PrincipalType::User, "arn:aws:iam::444455556666:user/alice", "444455556666"),
//!     action: "organizations:LeaveOrganization",
//!     resource: "*",
//!     resource_account: None,
//!     context: &context,
//! };
//! let policies = Policies { identity: vec![&admin], scp_levels: vec![vec![&guard]], ..Policies::default() };
//! let decision = evaluate(&request, &policies);
//! assert_eq!(decision.effect, DecisionEffect::ExplicitlyDenied);
//! assert_eq!(
//!     decision.access_denied_message(request.principal.arn, request.action, request.resource),
//!     "User: arn:aws:iam::444455556666:user/alice is not authorized to perform: \
//!      organizations:LeaveOrganization on resource: * with an explicit deny in a service control \
//!      policy: arn:aws:organizations::111122223333:policy/o-a1b2c3d4e5/service_control_policy/p-guard"
//! );
//! # Ok::<(), cairn_policy::ParseError>(())
//! ```
//!
//! # Parsing
//! [`Policy::parse`] validates a document as AWS does for its [`PolicyKind`] and answers with
//! AWS's `MalformedPolicyDocument` text ([`ParseError::message`]) plus a precise
//! [`ParseError::detail`]. The checks run over the whole document in IAM's order (syntax,
//! `Version`, legacy parsing, `Sid`s, actions, resource formats, action vendors — see
//! `grammar.rs`), so a document with two problems gets the error AWS reports;
//! `tests/cases/aws-verdicts.json` holds AWS's verdict for each of its documents with the
//! source of that verdict. A resource's partition must be one AWS has; that it is the
//! account's own partition is not checked here. Choices where AWS's behaviour is not
//! documented:
//! - **Duplicate member names** anywhere in the document (`{"Effect": "Allow", "Effect":
//!   "Deny"}`) are refused with `Syntax errors in policy.`: a JSON reader that keeps the last
//!   one would enforce something other than what a reviewer reads.
//! - Element names are case-sensitive, and so is `Effect` (`allow` fails IAM's legacy
//!   parsing); condition operator names are not.
//! - Condition values that do not read as their operator's type (a non-number for `Numeric…`,
//!   a bad CIDR) are accepted and never match.
//! - Policy size limits are the caller's business (they differ per policy type).
//!
//! # Evaluation
//! [`evaluate`] takes a [`Request`] (principal, action, resource, [`Context`]) and the
//! [`Policies`] by layer, and returns a [`Decision`] with its reasons. Order and semantics
//! follow IAM's documented logic; see [`evaluate`] for the resource-policy subtleties.
//! Evaluation does not allocate except for the decision's reason list (and for an action
//! name longer than 128 bytes).
//!
//! Matching: actions case-insensitive with `*`/`?`; resources case-sensitive, per ARN
//! component (a wildcard does not reach over a colon, except a trailing `*` of a pattern with
//! fewer than six components, and in the resource component, which may itself hold colons).
//! Policy variables (`Version` 2012-10-17 only) in `Resource`/`NotResource` and in string and
//! ARN condition values; a variable without a value makes its `Resource` entry match nothing,
//! makes a `NotResource` statement not apply, and makes a condition false.
//!
//! # Simulation
//! [`explain`] describes how each statement of one policy relates to a request (applies,
//! matches), and [`statement_spans`] finds each statement's `{`…`}` line/column in its text —
//! computed on demand, so parsing and evaluation pay nothing for them; IAM's policy simulator
//! reports both. [`simulate`] is the engine of `cairn policy simulate`: one JSON document
//! holding a request and the policies of every layer, answered as JSON.
//!
//! # Performance
//! `cargo bench -p cairn-policy --bench decision` decides an Organizations request against 5
//! SCP levels × 3 SCPs × 10 statements (most with conditions) plus 3 identity policies and
//! prints p50/p90/p99 from a per-decision timing loop, then criterion's estimates.
//! `POLICY_BENCH_ONLY=allowed|distinct|deny|other` runs one scenario for a profiler.

mod condition;
mod context;
mod decision;
mod error;
mod eval;
mod grammar;
mod json;
mod parse;
mod pattern;
mod position;
mod principal_keys;
mod scalar;
pub mod simulate;

pub use condition::Condition;
pub use context::Context;
pub use decision::{Decision, DecisionEffect, Layer, Reason, ReasonKind, StatementRef};
pub use error::ParseError;
pub use eval::{Policies, Principal, PrincipalType, Request, StatementMatch, evaluate, explain};
pub use parse::{Effect, Policy, PolicyKind, Statement, Version};
pub use position::{StatementSpan, TextPosition, statement_spans};
pub use principal_keys::{PrincipalFacts, principal_keys};
