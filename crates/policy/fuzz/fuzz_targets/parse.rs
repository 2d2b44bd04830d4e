//! Fuzzes `Policy::parse` with every `PolicyKind`, then `evaluate` with every policy that
//! parses, placed in each layer (identity, SCP level, RCP level, resource policy, permissions
//! boundary, session policy) against a small fixed set of requests.
//!
//! The target must never panic: not on any input text, not on any accepted policy. It also
//! checks a few invariants of the decision (its effect agrees with its reasons).

#![no_main]

use std::sync::OnceLock;

use cairn_policy::{
    Context, Decision, DecisionEffect, Policies, Policy, PolicyKind, Principal, PrincipalType,
    ReasonKind, Request, evaluate,
};
use libfuzzer_sys::fuzz_target;

const KINDS: [PolicyKind; 7] = [
    PolicyKind::Identity,
    PolicyKind::ManagedIdentity,
    PolicyKind::Resource,
    PolicyKind::RoleTrust,
    PolicyKind::ServiceControl,
    PolicyKind::ServiceControlLegacy,
    PolicyKind::ResourceControl,
];

/// Allows everything; fills the layers the policy under test is not in, so that the policy
/// under test is what decides.
const FULL_ACCESS: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;

/// A long action name (> 128 bytes: the evaluator's heap path for lowercasing).
const LONG_ACTION: &str = "s3:GetObjectAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAÄ";

struct Fixture {
    context: Context,
    empty: Context,
    full_access: Policy,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let context = Context::new()
            .with("aws:username", "alice")
            .with("aws:userid", "AIDAEXAMPLE")
            .with("aws:PrincipalArn", "arn:aws:iam::111122223333:user/alice")
            .with("aws:PrincipalAccount", "111122223333")
            .with("aws:PrincipalOrgID", "o-a1b2c3d4e5")
            .with("aws:PrincipalTag/team", "Platform")
            .with("aws:SourceIp", "203.0.113.7")
            .with("aws:SecureTransport", "true")
            .with("aws:MultiFactorAuthPresent", "false")
            .with("aws:MultiFactorAuthAge", "3600")
            .with("aws:CurrentTime", "2024-06-01T12:00:00Z")
            .with("aws:EpochTime", "1717243200")
            .with("aws:RequestedRegion", "eu-west-1")
            .with("aws:SourceArn", "arn:aws:s3:::bucket")
            .with("s3:prefix", "home/alice/docs/")
            .with("s3:x-amz-server-side-encryption", "AES256")
            .with("kms:EncryptionContext:blob", "aGVsbG8=")
            .with("ec2:InstanceType", "t3.micro")
            .with_multi("aws:TagKeys", ["env", "team", "Owner"])
            .with_multi(
                "aws:PrincipalOrgPaths",
                ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"],
            )
            .with_multi("aws:CalledVia", Vec::<String>::new())
            .with("ünïcode:Schlüssel", "wert/Ä*?");
        let full_access = match Policy::parse("full", FULL_ACCESS, PolicyKind::Identity) {
            Ok(p) => p,
            Err(_) => std::process::abort(),
        };
        Fixture {
            context,
            empty: Context::new(),
            full_access,
        }
    })
}

/// The requests each accepted policy is evaluated against.
fn requests(fx: &'static Fixture) -> [Request<'static>; 6] {
    let alice = Principal::new(
        PrincipalType::User,
        "arn:aws:iam::111122223333:user/alice",
        "111122223333",
    );
    let session = Principal::new(
        PrincipalType::AssumedRole,
        "arn:aws:sts::111122223333:assumed-role/Admin/alice",
        "111122223333",
    )
    .with_role_arn("arn:aws:iam::111122223333:role/path/Admin");
    let federated = Principal::new(
        PrincipalType::FederatedUser,
        "arn:aws:sts::444455556666:federated-user/bob",
        "444455556666",
    )
    .with_federated_provider("arn:aws:iam::444455556666:saml-provider/Okta");
    [
        Request {
            principal: alice,
            action: "s3:GetObject",
            resource: "arn:aws:s3:::bucket/home/alice/docs/file.txt",
            resource_account: None,
            context: &fx.context,
        },
        Request {
            principal: session,
            action: "IAM:CreateUser",
            resource: "arn:aws:iam::111122223333:user/division/bob",
            resource_account: Some("111122223333"),
            context: &fx.context,
        },
        Request {
            principal: federated,
            action: "organizations:LeaveOrganization",
            resource: "*",
            resource_account: Some("111122223333"),
            context: &fx.empty,
        },
        Request {
            principal: Principal::new(
                PrincipalType::Root,
                "arn:aws:iam::111122223333:root",
                "111122223333",
            ),
            action: "ec2:RunInstances",
            resource: "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc:with:colons",
            resource_account: None,
            context: &fx.context,
        },
        Request {
            principal: Principal::new(PrincipalType::Service, "cloudtrail.amazonaws.com", ""),
            action: LONG_ACTION,
            resource: "arn:aws:s3:::bucket",
            resource_account: Some("999999999999"),
            context: &fx.context,
        },
        Request {
            principal: Principal::new(PrincipalType::Anonymous, "", ""),
            action: "",
            resource: "",
            resource_account: None,
            context: &fx.empty,
        },
    ]
}

/// The effect must agree with the reasons (see `Decision`'s documentation).
fn check(d: &Decision<'_>, r: &Request<'_>) {
    let want = match d.effect {
        DecisionEffect::Allowed => ReasonKind::Allow,
        DecisionEffect::ImplicitlyDenied => ReasonKind::NoAllow,
        DecisionEffect::ExplicitlyDenied => ReasonKind::Deny,
    };
    assert!(
        d.deciding.iter().all(|reason| reason.kind == want),
        "effect {:?} with reasons {d}",
        d.effect
    );
    if d.effect != DecisionEffect::Allowed {
        assert!(!d.deciding.is_empty(), "a denial without a reason");
    }
    let message = d.access_denied_message(r.principal.arn, r.action, r.resource);
    assert_eq!(message.is_empty(), d.is_allowed());
    let _ = d.to_string();
    let _ = d.primary().map(ToString::to_string);
}

fn evaluate_everywhere(policy: &Policy, fx: &'static Fixture) {
    let full = &fx.full_access;
    let layouts = [
        // As an identity policy.
        Policies {
            identity: vec![policy],
            ..Policies::default()
        },
        // As an SCP level (root level allows everything), with an identity allow.
        Policies {
            identity: vec![full],
            scp_levels: vec![vec![full], vec![policy]],
            ..Policies::default()
        },
        // As an RCP level.
        Policies {
            identity: vec![full],
            rcp_levels: vec![vec![policy]],
            ..Policies::default()
        },
        // As the resource policy, alone and beside an identity allow.
        Policies {
            resource: Some(policy),
            ..Policies::default()
        },
        // As a permissions boundary.
        Policies {
            identity: vec![full],
            boundary: Some(policy),
            ..Policies::default()
        },
        // As a session policy, with everything else present too.
        Policies {
            identity: vec![full, policy],
            scp_levels: vec![vec![policy, full]],
            rcp_levels: vec![vec![full], vec![policy]],
            resource: Some(policy),
            boundary: Some(policy),
            session: vec![policy],
            scoped: vec![policy],
        },
    ];
    for request in &requests(fx) {
        for policies in &layouts {
            let decision = evaluate(request, policies);
            check(&decision, request);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fx = fixture();
    // Statement positions (SimulateCustomPolicy's StartPosition/EndPosition) are computed by
    // their own pass over the text: it must not panic either, and for a policy that parses
    // it must find one span per statement.
    let spans = cairn_policy::statement_spans(text);
    for kind in KINDS {
        match Policy::parse("arn:aws:iam::111122223333:policy/fuzz", text, kind) {
            Ok(policy) => {
                // Accessors must not panic either.
                let _ = (
                    policy.id(),
                    policy.kind(),
                    policy.version(),
                    policy.document_id(),
                );
                for s in policy.statements() {
                    let _ = (s.sid(), s.effect());
                    for c in s.conditions() {
                        let _ = (c.operator_name(), c.key_name());
                    }
                }
                if let Some(spans) = &spans {
                    assert_eq!(
                        spans.len(),
                        policy.statements().len(),
                        "one span per statement"
                    );
                }
                evaluate_everywhere(&policy, fx);
            }
            Err(e) => {
                assert!(!e.message().is_empty(), "an error without a message");
                let _ = (e.detail(), e.to_string());
            }
        }
    }
});
