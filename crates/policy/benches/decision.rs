//! One authorization decision for a realistic Organizations request: 5 SCP levels × 3 SCPs ×
//! 10 statements (most with conditions) plus 3 identity policies, against a role session with a
//! dozen context keys.
//!
//! Prints per-decision percentiles from a plain timing loop first (criterion reports
//! mean/median only), then runs the criterion benchmarks.
//!
//! `cargo bench -p cairn-policy --bench decision`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "test code: a failed expectation panics; the benchmark reads its settings from the environment"
)]

use std::hint::black_box;
use std::time::Instant;

use cairn_policy::{
    Context, DecisionEffect, Policies, Policy, PolicyKind, Principal, PrincipalType, Request,
    evaluate,
};
use criterion::Criterion;

const ACCOUNT: &str = "222222222222";
const ROLE: &str = "arn:aws:iam::222222222222:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_OrgAdmin_0123456789abcdef";
const SESSION: &str = "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_OrgAdmin_0123456789abcdef/alice@example.com";
const ACTION: &str = "organizations:CreateOrganizationalUnit";
const RESOURCE: &str = "arn:aws:organizations::111111111111:root/o-a1b2c3d4e5/r-ab12";

/// Ten SCP statements; `allow` makes the first one the level's `Allow *`. `n` varies the
/// services and values so that no two policies are identical. The guardrail conditions
/// (admin-role exemption, root-user check, quarantine tag, change window) are the same in every
/// policy, as landing-zone guardrails are; with `distinct` each policy gets its own values, so
/// no condition recurs within a decision (the worst case for the per-decision memo).
fn scp(level: usize, n: usize, allow: bool, distinct: bool) -> String {
    let v = if distinct {
        format!("{n}")
    } else {
        String::new()
    };
    let first = if allow {
        r#"{"Sid": "FullAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}"#.to_owned()
    } else {
        format!(
            r#"{{"Sid": "DenyKms{n}", "Effect": "Deny", "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"], "Resource": "*",
               "Condition": {{"ArnNotLike": {{"aws:PrincipalArn": "arn:aws:iam::*:role/KeyAdmin{n}"}}}}}}"#
        )
    };
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [
        {first},
        {{"Sid": "RegionGuard", "Effect": "Deny",
          "NotAction": ["iam:*", "organizations:*", "sts:*", "support:*", "cloudfront:*", "route53:*", "budgets:*"],
          "Resource": "*",
          "Condition": {{"StringNotEquals": {{"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}},
                         "ArnNotLike": {{"aws:PrincipalArn": ["arn:aws:iam::*:role/Breakglass{level}"]}}}}}},
        {{"Sid": "ProtectOrgs", "Effect": "Deny", "Action": ["organizations:Leave*", "organizations:Delete*", "organizations:Create*"],
          "Resource": "*",
          "Condition": {{"ArnNotLike": {{"aws:PrincipalArn": ["arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_OrgAdmin{v}_*", "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_OrgAdmin_*"]}}}}}},
        {{"Sid": "ProtectTrail", "Effect": "Deny", "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail"],
          "Resource": "arn:aws:cloudtrail:*:*:trail/org-trail-{n}"}},
        {{"Sid": "NoRootUser", "Effect": "Deny", "Action": "*", "Resource": "*",
          "Condition": {{"StringLike": {{"aws:PrincipalArn": "arn:aws:iam::*:root{v}"}}}}}},
        {{"Sid": "RequireMfa", "Effect": "Deny", "Action": ["iam:*AccessKey*", "iam:CreateUser", "organizations:*Policy*"], "Resource": "*",
          "Condition": {{"BoolIfExists": {{"aws:MultiFactorAuthPresent": "false"}}}}}},
        {{"Sid": "Quarantine", "Effect": "Deny", "Action": "*", "Resource": "*",
          "Condition": {{"StringEquals": {{"aws:PrincipalTag/quarantine{v}": "true"}}}}}},
        {{"Sid": "TagPolicy", "Effect": "Deny", "Action": ["ec2:RunInstances", "ec2:CreateVolume"], "Resource": "*",
          "Condition": {{"Null": {{"aws:RequestTag/cost-center": "true"}}}}}},
        {{"Sid": "CorpNetwork", "Effect": "Deny", "Action": ["s3:*", "dynamodb:*"], "Resource": "*",
          "Condition": {{"NotIpAddress": {{"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24"]}},
                         "Bool": {{"aws:ViaAWSService": "false"}}}}}},
        {{"Sid": "Window", "Effect": "Deny", "Action": "organizations:*", "Resource": "*",
          "Condition": {{"DateGreaterThan": {{"aws:CurrentTime": "2099-01-01T00:00:{v:0>2}Z"}}}}}}
    ]}}"#
    )
}

const IDENTITY: [&str; 3] = [
    // Permission-set inline policy.
    r#"{"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadOrg", "Effect": "Allow", "Action": ["organizations:Describe*", "organizations:List*"], "Resource": "*"},
        {"Sid": "ManageOus", "Effect": "Allow",
         "Action": ["organizations:CreateOrganizationalUnit", "organizations:UpdateOrganizationalUnit", "organizations:DeleteOrganizationalUnit"],
         "Resource": ["arn:aws:organizations::111111111111:root/o-a1b2c3d4e5/*", "arn:aws:organizations::111111111111:ou/o-a1b2c3d4e5/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}},
        {"Sid": "NoPolicies", "Effect": "Deny", "Action": ["organizations:AttachPolicy", "organizations:DetachPolicy"], "Resource": "*"}
    ]}"#,
    // A managed policy for another service.
    r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::${aws:PrincipalTag/team}-*", "arn:aws:s3:::${aws:PrincipalTag/team}-*/*"]},
        {"Effect": "Allow", "Action": "cloudtrail:LookupEvents", "Resource": "*"}
    ]}"#,
    // Account-wide guard rails.
    r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "203.0.113.0/24"]}}},
        {"Effect": "Deny", "NotAction": ["organizations:*", "sso:*", "identitystore:*"], "Resource": "*",
         "Condition": {"ForAnyValue:StringLike": {"aws:CalledVia": ["cloudformation.amazonaws.com"]}}}
    ]}"#,
];

struct Fixture {
    scps: Vec<Vec<Policy>>,
    distinct_scps: Vec<Vec<Policy>>,
    identity: Vec<Policy>,
    context: Context,
}

impl Fixture {
    fn new() -> Self {
        let levels = |distinct: bool| -> Vec<Vec<Policy>> {
            (0..5)
                .map(|level| {
                    (0..3)
                        .map(|i| {
                            let id = format!("arn:aws:organizations::111111111111:policy/o-a1b2c3d4e5/service_control_policy/p-{level}{i}");
                            let doc = scp(level, level * 3 + i, i == 0, distinct);
                            Policy::parse(id, &doc, PolicyKind::ServiceControl).unwrap()
                        })
                        .collect()
                })
                .collect()
        };
        let scps = levels(false);
        let distinct_scps = levels(true);
        let identity = IDENTITY
            .iter()
            .enumerate()
            .map(|(i, doc)| {
                Policy::parse(format!("identity-{i}"), doc, PolicyKind::Identity).unwrap()
            })
            .collect();
        let context = Context::new()
            .with("aws:PrincipalArn", ROLE)
            .with("aws:PrincipalAccount", ACCOUNT)
            .with("aws:PrincipalOrgID", "o-a1b2c3d4e5")
            .with_multi(
                "aws:PrincipalOrgPaths",
                ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"],
            )
            .with("aws:PrincipalType", "AssumedRole")
            .with("aws:userid", "AROAEXAMPLEID:alice@example.com")
            .with("aws:PrincipalTag/team", "platform")
            .with("aws:RequestedRegion", "eu-west-1")
            .with("aws:SourceIp", "203.0.113.10")
            .with("aws:SecureTransport", "true")
            .with("aws:MultiFactorAuthPresent", "true")
            .with("aws:ViaAWSService", "false")
            .with("aws:CurrentTime", "2025-03-01T12:00:00Z")
            .with("aws:EpochTime", "1740830400");
        Fixture {
            scps,
            distinct_scps,
            identity,
            context,
        }
    }

    fn policies(&self, distinct: bool) -> Policies<'_> {
        let scps = if distinct {
            &self.distinct_scps
        } else {
            &self.scps
        };
        Policies {
            identity: self.identity.iter().collect(),
            scp_levels: scps.iter().map(|l| l.iter().collect()).collect(),
            ..Policies::default()
        }
    }

    fn request<'a>(&'a self, action: &'a str) -> Request<'a> {
        Request {
            principal: Principal::new(PrincipalType::AssumedRole, SESSION, ACCOUNT)
                .with_role_arn(ROLE),
            action,
            resource: RESOURCE,
            resource_account: None,
            context: &self.context,
        }
    }
}

/// Times single decisions and prints percentiles.
fn percentiles(name: &str, iterations: usize, mut decide: impl FnMut()) {
    for _ in 0..iterations / 10 {
        decide();
    }
    let mut nanos = Vec::with_capacity(iterations);
    let mut overhead = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t0 = Instant::now();
        decide();
        let t1 = Instant::now();
        let t2 = Instant::now();
        nanos.push(u64::try_from((t1 - t0).as_nanos()).unwrap_or(u64::MAX));
        overhead.push(u64::try_from((t2 - t1).as_nanos()).unwrap_or(u64::MAX));
    }
    nanos.sort_unstable();
    overhead.sort_unstable();
    let pct = |v: &[u64], p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    let mean = nanos.iter().sum::<u64>() as f64 / nanos.len() as f64;
    println!(
        "{name}: {iterations} decisions: p50 {} ns, p90 {} ns, p99 {} ns, p99.9 {} ns, max {} ns, mean {mean:.0} ns \
         (timer overhead p50 {} ns, included)",
        pct(&nanos, 0.50),
        pct(&nanos, 0.90),
        pct(&nanos, 0.99),
        pct(&nanos, 0.999),
        nanos[nanos.len() - 1],
        pct(&overhead, 0.50),
    );
}

fn main() {
    let fixture = Fixture::new();
    let policies = fixture.policies(false);
    let distinct = fixture.policies(true);
    let allowed = fixture.request(ACTION);
    let denied = fixture.request("organizations:AttachPolicy");
    let other = fixture.request("ec2:DescribeInstances");

    // The scenarios decide as expected.
    let d = evaluate(&allowed, &policies);
    assert_eq!(d.effect, DecisionEffect::Allowed, "{d}");
    assert_eq!(d.deciding.len(), 6, "{d}");
    let d = evaluate(&denied, &policies);
    assert_eq!(d.effect, DecisionEffect::ExplicitlyDenied, "{d}");
    let d = evaluate(&other, &policies);
    assert_eq!(d.effect, DecisionEffect::ImplicitlyDenied, "{d}");
    let d = evaluate(&allowed, &distinct);
    assert_eq!(d.effect, DecisionEffect::Allowed, "{d}");

    // Profiling hook: `POLICY_BENCH_ONLY=allowed|deny|other|distinct` runs `POLICY_BENCH_N` (10 000)
    // decisions of one scenario and exits (for `valgrind --tool=callgrind`, `perf record`).
    if let Ok(only) = std::env::var("POLICY_BENCH_ONLY") {
        let (request, set) = match only.as_str() {
            "deny" => (&denied, &policies),
            "other" => (&other, &policies),
            "distinct" => (&allowed, &distinct),
            _ => (&allowed, &policies),
        };
        let n = std::env::var("POLICY_BENCH_N")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000);
        for _ in 0..n {
            black_box(evaluate(black_box(request), black_box(set)));
        }
        return;
    }

    let quick = std::env::args().any(|a| a == "--test");
    let n = if quick { 1_000 } else { 200_000 };
    percentiles("allowed (5 SCP levels x 3 x 10 + 3 identity)", n, || {
        black_box(evaluate(black_box(&allowed), black_box(&policies)));
    });
    percentiles("allowed, no condition shared between SCPs", n, || {
        black_box(evaluate(black_box(&allowed), black_box(&distinct)));
    });
    percentiles("explicitly denied by identity", n, || {
        black_box(evaluate(black_box(&denied), black_box(&policies)));
    });
    percentiles("implicitly denied, other service", n, || {
        black_box(evaluate(black_box(&other), black_box(&policies)));
    });

    let mut c = Criterion::default().configure_from_args();
    c.bench_function("decision/allowed", |b| {
        b.iter(|| evaluate(black_box(&allowed), black_box(&policies)))
    });
    c.bench_function("decision/allowed_distinct_conditions", |b| {
        b.iter(|| evaluate(black_box(&allowed), black_box(&distinct)))
    });
    c.bench_function("decision/explicit_deny", |b| {
        b.iter(|| evaluate(black_box(&denied), black_box(&policies)))
    });
    c.bench_function("decision/other_service", |b| {
        b.iter(|| evaluate(black_box(&other), black_box(&policies)))
    });
    c.bench_function("parse/scp_10_statements", |b| {
        let doc = scp(0, 0, true, false);
        b.iter(|| Policy::parse("p", black_box(&doc), PolicyKind::ServiceControl))
    });
    c.final_summary();
}
