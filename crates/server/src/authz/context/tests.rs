//! The context builder, one case per source of condition keys, and the comparison with the
//! offline simulator: the same request through both yields the same full context.

use super::*;
use crate::authz::catalogue::Catalogue;
use crate::services::SERVICES;
use cairn_core::Session;
use std::collections::BTreeMap;
use std::sync::Arc;

const ACCOUNT: &str = "111122223333";
/// 2026-06-01T00:00:00Z
const NOW: i64 = 1_780_272_000_000;

fn user() -> Principal {
    Principal::IamUser {
        account_id: ACCOUNT.into(),
        user_name: "alice".into(),
        user_id: "AIDAEXAMPLEALICE".into(),
        path: "/division/".into(),
        access_key_id: "AKIAEXAMPLE".into(),
        session: None,
    }
}

fn session(mfa: bool) -> Arc<Session> {
    Arc::new(Session {
        issued_at_ms: NOW - 90_000,
        expires_ms: NOW + 3_600_000,
        mfa_authenticated: mfa,
        source_identity: Some("alice@example.com".into()),
        policy: None,
        policy_arns: Vec::new(),
        tags: vec![("team".into(), "platform".into())],
        transitive_tag_keys: Vec::new(),
        chained: false,
        assumed_root: false,
        delegation_request_id: None,
    })
}

fn role() -> Principal {
    Principal::AssumedRole {
        account_id: ACCOUNT.into(),
        role_name: "Admin".into(),
        role_id: "AROAEXAMPLEADMIN".into(),
        role_path: "/".into(),
        session_name: "s1".into(),
        access_key_id: "ASIAEXAMPLE".into(),
        session: session(true),
    }
}

fn org() -> OrgContext {
    OrgContext {
        org_id: "o-a1b2c3d4e5".into(),
        management_account_id: "999988887777".into(),
        path: "o-a1b2c3d4e5/r-a1b2/ou-a1b2-c3d4e5f6/".into(),
        scp_levels: Vec::new(),
        rcp_levels: Vec::new(),
    }
}

/// The catalogue entry of an operation.
fn op(service: &str, operation: &str) -> &'static OpAuth {
    let si = SERVICES
        .iter()
        .position(|(m, _)| m.module == service)
        .unwrap();
    let oi = SERVICES[si]
        .0
        .operations
        .iter()
        .position(|o| o.name == operation)
        .unwrap();
    Catalogue::get().op(si, oi).unwrap()
}

/// A context as a map, keys lower-cased (condition keys are case-insensitive).
fn map(c: &Context) -> BTreeMap<String, Vec<String>> {
    c.entries()
        .map(|(k, _, v)| {
            (
                k.to_ascii_lowercase(),
                v.into_iter().map(str::to_owned).collect(),
            )
        })
        .collect()
}

struct Case {
    name: &'static str,
    principal: Principal,
    org: Option<OrgContext>,
    identity_tags: Vec<(String, String)>,
    owned_by_management: bool,
    op: (&'static str, &'static str),
    input: Value,
    stored: Vec<(String, String)>,
    /// Keys that must have exactly these values.
    want: Vec<(&'static str, Vec<&'static str>)>,
    /// Keys that must be absent.
    absent: Vec<&'static str>,
}

fn case(name: &'static str) -> Case {
    Case {
        name,
        principal: user(),
        org: None,
        identity_tags: Vec::new(),
        owned_by_management: false,
        op: ("iam", "ListUsers"),
        input: serde_json::json!({}),
        stored: Vec::new(),
        want: Vec::new(),
        absent: Vec::new(),
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            want: vec![
                (
                    "aws:PrincipalArn",
                    vec!["arn:aws:iam::111122223333:user/division/alice"],
                ),
                ("aws:PrincipalAccount", vec![ACCOUNT]),
                ("aws:PrincipalType", vec!["User"]),
                ("aws:PrincipalIsAWSService", vec!["false"]),
                ("aws:userid", vec!["AIDAEXAMPLEALICE"]),
                ("aws:username", vec!["alice"]),
            ],
            absent: vec![
                "aws:TokenIssueTime",
                "aws:MultiFactorAuthPresent",
                "aws:PrincipalOrgID",
            ],
            ..case("principal: an IAM user")
        },
        Case {
            principal: Principal::Root {
                account_id: ACCOUNT.into(),
                access_key_id: "AKIAROOT".into(),
                session: None,
            },
            want: vec![
                ("aws:PrincipalArn", vec!["arn:aws:iam::111122223333:root"]),
                ("aws:PrincipalType", vec!["Account"]),
                ("aws:userid", vec![ACCOUNT]),
            ],
            absent: vec!["aws:username"],
            ..case("principal: the root user")
        },
        Case {
            principal: role(),
            want: vec![
                (
                    "aws:PrincipalArn",
                    vec!["arn:aws:iam::111122223333:role/Admin"],
                ),
                ("aws:PrincipalType", vec!["AssumedRole"]),
                ("aws:userid", vec!["AROAEXAMPLEADMIN:s1"]),
            ],
            absent: vec!["aws:username"],
            ..case("principal: a role session")
        },
        Case {
            principal: role(),
            want: vec![
                ("aws:TokenIssueTime", vec!["2026-05-31T23:58:30Z"]),
                ("aws:MultiFactorAuthPresent", vec!["true"]),
                ("aws:MultiFactorAuthAge", vec!["90"]),
                ("aws:SourceIdentity", vec!["alice@example.com"]),
            ],
            ..case("session: token time, MFA and source identity")
        },
        Case {
            principal: role(),
            identity_tags: vec![("Team".into(), "ops".into()), ("cost".into(), "42".into())],
            want: vec![
                ("aws:PrincipalTag/team", vec!["platform"]),
                ("aws:PrincipalTag/cost", vec!["42"]),
            ],
            ..case("tags: the entity's, session tags overriding case-insensitively")
        },
        Case {
            org: Some(org()),
            want: vec![
                ("aws:PrincipalOrgID", vec!["o-a1b2c3d4e5"]),
                (
                    "aws:PrincipalOrgPaths",
                    vec!["o-a1b2c3d4e5/r-a1b2/ou-a1b2-c3d4e5f6/"],
                ),
                ("aws:ResourceOrgID", vec!["o-a1b2c3d4e5"]),
                (
                    "aws:ResourceOrgPaths",
                    vec!["o-a1b2c3d4e5/r-a1b2/ou-a1b2-c3d4e5f6/"],
                ),
                ("aws:ResourceAccount", vec![ACCOUNT]),
            ],
            ..case("organization: the caller's, resources the caller's account's")
        },
        Case {
            org: Some(org()),
            owned_by_management: true,
            op: ("organizations", "ListAccounts"),
            want: vec![("aws:ResourceAccount", vec!["999988887777"])],
            absent: vec!["aws:ResourceOrgPaths"],
            ..case("organization: resources owned by the management account")
        },
        Case {
            want: vec![
                ("aws:RequestedRegion", vec!["eu-west-1"]),
                ("aws:SourceIp", vec!["203.0.113.7"]),
                ("aws:UserAgent", vec!["aws-cli/2.15.0"]),
                ("aws:SecureTransport", vec!["true"]),
                ("aws:CurrentTime", vec!["2026-06-01T00:00:00Z"]),
                ("aws:EpochTime", vec!["1780272000"]),
            ],
            ..case("request: region, source, agent, transport and time")
        },
        Case {
            op: ("organizations", "TagResource"),
            input: serde_json::json!({"ResourceId": "ou-a1b2-c3d4e5f6",
                "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "cost", "Value": "7"}]}),
            want: vec![
                ("aws:RequestTag/env", vec!["prod"]),
                ("aws:RequestTag/cost", vec!["7"]),
                ("aws:TagKeys", vec!["env", "cost"]),
            ],
            ..case("input: tags as a list of pairs, and their keys")
        },
        Case {
            op: ("organizations", "EnableAWSServiceAccess"),
            input: serde_json::json!({"ServicePrincipal": "sso.amazonaws.com"}),
            want: vec![("organizations:ServicePrincipal", vec!["sso.amazonaws.com"])],
            ..case("input: a scalar member")
        },
        Case {
            op: ("organizations", "AttachPolicy"),
            input: serde_json::json!({"PolicyId": "p-a1b2c3d4", "TargetId": "r-a1b2"}),
            stored: vec![(
                "organizations:PolicyType".into(),
                "SERVICE_CONTROL_POLICY".into(),
            )],
            want: vec![("organizations:PolicyType", vec!["SERVICE_CONTROL_POLICY"])],
            ..case("stored: a key read from the resource the input names")
        },
    ]
}

fn build_case(c: &Case) -> Context {
    build(&ContextInput {
        principal: &c.principal,
        region: "eu-west-1",
        source_ip: "203.0.113.7",
        user_agent: "aws-cli/2.15.0",
        now_ms: NOW,
        org: c.org.as_ref(),
        identity_tags: &c.identity_tags,
        owned_by_management: c.owned_by_management,
        op: op(c.op.0, c.op.1),
        input: &c.input,
        stored: &c.stored,
    })
}

#[test]
fn every_source_of_condition_keys() {
    let mut failures = Vec::new();
    for c in cases() {
        let got = map(&build_case(&c));
        for (k, v) in &c.want {
            let want: Vec<String> = v.iter().map(|s| (*s).to_owned()).collect();
            if got.get(&k.to_ascii_lowercase()) != Some(&want) {
                failures.push(format!(
                    "{}: {k} = {:?}, want {want:?}",
                    c.name,
                    got.get(&k.to_ascii_lowercase())
                ));
            }
        }
        for k in &c.absent {
            if got.contains_key(&k.to_ascii_lowercase()) {
                failures.push(format!("{}: {k} should be absent", c.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The server and `cairn policy simulate` derive the principal's keys the same way: the
/// server's full context, minus what the simulator derives itself, given to the simulator
/// with the same principal, comes back identical — including `aws:PrincipalIsAWSService`,
/// which the two used to disagree on.
#[test]
fn the_simulator_derives_the_same_context_as_the_server() {
    for principal in [user(), role()] {
        let c = Case {
            principal: principal.clone(),
            org: Some(org()),
            ..case("comparison")
        };
        let server = build_case(&c);
        let server_map = map(&server);
        let derived = [
            "aws:principalarn",
            "aws:principalaccount",
            "aws:principaltype",
            "aws:principalisawsservice",
            "aws:username",
            "aws:resourceaccount",
        ];
        let mut given = serde_json::Map::new();
        for (k, multi, values) in server.entries() {
            if derived.contains(&k.to_ascii_lowercase().as_str()) {
                continue;
            }
            let v = if multi {
                serde_json::Value::from(values)
            } else {
                serde_json::Value::from(values.first().copied().unwrap_or_default())
            };
            given.insert(k.to_owned(), v);
        }
        let (kind, role_arn) = match &principal {
            Principal::AssumedRole { .. } => ("AssumedRole", principal.role_arn()),
            _ => ("User", None),
        };
        let mut p = serde_json::json!({"arn": principal.arn(), "type": kind, "account": ACCOUNT});
        if let Some(r) = role_arn {
            p["roleArn"] = serde_json::Value::from(r);
        }
        let input = serde_json::json!({
            "request": {
                "action": "iam:ListUsers",
                "resource": "*",
                "resourceAccount": ACCOUNT,
                "principal": p,
                "context": given,
            },
            "policies": {"identity": []}
        });
        let out = cairn_policy::simulate::simulate(&input.to_string(), &mut |_| {
            Err(String::from("no files"))
        })
        .unwrap();
        let mut simulated: BTreeMap<String, Vec<String>> = given
            .iter()
            .map(|(k, v)| {
                let values = match v {
                    serde_json::Value::Array(a) => a
                        .iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect(),
                    other => vec![other.as_str().unwrap_or_default().to_owned()],
                };
                (k.to_ascii_lowercase(), values)
            })
            .collect();
        for (k, v) in out.derived_context {
            simulated.insert(k.to_ascii_lowercase(), vec![v]);
        }
        assert_eq!(simulated, server_map, "{}", principal.arn());
    }
}
