//! Times one decision for the SCP set `cairn-bench orgs` attaches along a member account's
//! path (7 levels × 5 SCPs, 2–3 statements each, most `Action: "*"` denies with
//! conditions) plus the role's AdministratorAccess, with the request context the server
//! builds. `cargo run --release -p cairn-policy --example scp_path`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation panics"
)]

use cairn_policy::{
    Context, Policies, Policy, PolicyKind, Principal, PrincipalType, Request, evaluate,
};
use std::time::Instant;

fn scp(level: usize, k: usize) -> String {
    match k {
        0 => r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"AllowCoreServices","Effect":"Allow","Action":["organizations:Describe*","organizations:List*","sts:*","iam:*","cloudtrail:*","ec2:*","s3:*","sso:*","identitystore:*"],"Resource":"*"},
            {"Sid":"AllowRegionalElsewhere","Effect":"Allow","NotAction":["organizations:*","account:*","iam:*"],"Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}}]}"#.to_owned(),
        1 => format!(r#"{{"Version":"2012-10-17","Statement":[
            {{"Sid":"DenyOtherRegions","Effect":"Deny","NotAction":["iam:*","organizations:*","sts:*","cloudfront:*","route53:*","support:*"],"Resource":"*","Condition":{{"StringNotEquals":{{"aws:RequestedRegion":["us-east-1","us-west-2","eu-west-1"]}}}}}},
            {{"Sid":"DenyQuarantined","Effect":"Deny","Action":"*","Resource":"*","Condition":{{"StringEquals":{{"aws:PrincipalTag/bench-quarantine-{level}-{k}":"true"}}}}}}]}}"#),
        2 => format!(r#"{{"Version":"2012-10-17","Statement":[
            {{"Sid":"DenyUnknownPrincipals","Effect":"Deny","Action":"*","Resource":"*","Condition":{{"StringNotLike":{{"aws:PrincipalArn":["arn:aws:iam::*:role/OrganizationAccountAccessRole","arn:aws:iam::*:role/level-{level}-*","arn:aws:iam::*:user/*"]}}}}}},
            {{"Sid":"DenyInsecureTransport","Effect":"Deny","Action":"organizations:*","Resource":"*","Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]}}"#),
        3 => r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"DenyOutsideNetworks","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["127.0.0.0/8","10.0.0.0/8","172.16.0.0/12","192.168.0.0/16","::1/128"]}}},
            {"Sid":"DenyAfterSunset","Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2099-12-31T23:59:59Z"}}}]}"#.to_owned(),
        _ => format!(r#"{{"Version":"2012-10-17","Statement":[
            {{"Sid":"ProtectGuardrails","Effect":"Deny","Action":["organizations:LeaveOrganization","iam:DeleteRole","iam:DetachRolePolicy","cloudtrail:StopLogging","cloudtrail:DeleteTrail","ec2:DeleteFlowLogs"],"Resource":"*","Condition":{{"StringNotLike":{{"aws:PrincipalArn":"arn:aws:iam::*:role/breakglass-{level}"}}}}}},
            {{"Sid":"DenyStaleSessions","Effect":"Deny","Action":"*","Resource":"*","Condition":{{"DateLessThan":{{"aws:TokenIssueTime":"2001-01-01T00:00:00Z"}}}}}},
            {{"Sid":"DenyTaggedOff","Effect":"Deny","Action":"*","Resource":"*","Condition":{{"StringEqualsIgnoreCase":{{"aws:PrincipalTag/access":["off","revoked"]}}}}}}]}}"#),
    }
}

fn main() {
    let levels: Vec<Vec<Policy>> = (0..7)
        .map(|level| {
            (0..5)
                .map(|k| {
                    Policy::parse(
                        format!("p-{level}{k}"),
                        &scp(level, k),
                        PolicyKind::ServiceControl,
                    )
                    .unwrap()
                })
                .collect()
        })
        .collect();
    let admin = Policy::parse(
        "arn:aws:iam::aws:policy/AdministratorAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        PolicyKind::Identity,
    )
    .unwrap();
    let arn = "arn:aws:sts::222222222222:assumed-role/OrganizationAccountAccessRole/bench";
    let role = "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole";
    let build = || {
        let mut c = Context::new();
        for (k, v) in [
            ("aws:PrincipalAccount", "222222222222"),
            ("aws:PrincipalType", "AssumedRole"),
            ("aws:PrincipalArn", role),
            ("aws:userid", "AROAEXAMPLEEXAMPLE123:bench"),
            ("aws:RequestedRegion", "us-east-1"),
            ("aws:SourceIp", "127.0.0.1"),
            ("aws:SecureTransport", "true"),
            ("aws:CurrentTime", "2026-11-28T06:40:00Z"),
            ("aws:EpochTime", "1795848000"),
            ("aws:UserAgent", "cairn-bench"),
            ("aws:PrincipalOrgID", "o-abcdefghij"),
            ("aws:TokenIssueTime", "2026-11-28T06:30:00Z"),
            ("aws:MultiFactorAuthPresent", "false"),
            ("aws:ResourceOrgID", "o-abcdefghij"),
            ("aws:ResourceAccount", "111111111111"),
        ] {
            c.insert(k, v);
        }
        c.insert_multi(
            "aws:PrincipalOrgPaths",
            ["o-abcdefghij/r-ab12/ou-ab12-1/ou-ab12-2/ou-ab12-3/ou-ab12-4/ou-ab12-5/"],
        );
        c
    };
    for (label, with_scps) in [("35 SCPs on the path", true), ("no SCPs", false)] {
        let mut samples = Vec::with_capacity(100_000);
        for _ in 0..100_000 {
            let t = Instant::now();
            let context = build();
            let request = Request {
                principal: Principal::new(PrincipalType::AssumedRole, arn, "222222222222")
                    .with_role_arn(role),
                action: "organizations:DescribeOrganization",
                resource: "*",
                resource_account: None,
                context: &context,
            };
            let policies = Policies {
                identity: vec![&admin],
                scp_levels: if with_scps {
                    levels.iter().map(|l| l.iter().collect()).collect()
                } else {
                    Vec::new()
                },
                ..Policies::default()
            };
            let d = evaluate(&request, &policies);
            assert!(d.is_allowed(), "{d}");
            samples.push(t.elapsed().as_nanos());
        }
        samples.sort_unstable();
        let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
        println!(
            "{label}: context + decision p50 {} ns, p90 {} ns, p99 {} ns",
            p(0.5),
            p(0.9),
            p(0.99)
        );
    }
}
