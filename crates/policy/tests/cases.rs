//! Data-driven evaluation and parse tests: every `tests/cases/*.json` file holds one case or an
//! array of cases. See `tests/cases/README.md` for the format.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation panics"
)]

use std::path::Path;

use cairn_policy::{
    Context, Decision, DecisionEffect, Layer, Policies, Policy, PolicyKind, Principal,
    PrincipalType, Request, evaluate,
};
use serde_json::Value;

const FULL_AWS_ACCESS: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
const RCP_FULL_AWS_ACCESS: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#;

#[test]
fn cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut count = 0usize;
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", file.display()));
        let cases = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
        for (i, case) in cases.iter().enumerate() {
            count += 1;
            let name = case["name"].as_str().unwrap_or("");
            if let Err(e) = check_sourced(&file_name, case).and_then(|()| run_case(case)) {
                failures.push(format!("{file_name}[{i}] {name}: {e}"));
            }
        }
    }
    println!(
        "{count} cases in {} files, {} failed",
        files.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(count >= 100, "expected at least 100 cases, found {count}");
}

fn run_case(case: &Value) -> Result<(), String> {
    let Some(parse) = case.get("parse") else {
        return run_decision_case(case);
    };
    let result = run_parse_case(parse, case);
    // A verdict Cairn does not reproduce yet: the case must still fail, so that the marker is
    // removed (and the verdict enforced) as soon as the engine agrees with AWS.
    match (case.get("known_gap").and_then(Value::as_str), result) {
        (None, result) => result,
        (Some(_), Err(_)) => Ok(()),
        (Some(gap), Ok(())) => Err(format!(
            "passes although marked known_gap ({gap}): remove the marker"
        )),
    }
}

/// Every case of a verdicts file (`aws-*.json`) says where AWS's verdict comes from.
fn check_sourced(file_name: &str, case: &Value) -> Result<(), String> {
    if !file_name.starts_with("aws-") {
        return Ok(());
    }
    match case.get("source").and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => Ok(()),
        _ => Err("no \"source\"".into()),
    }
}

fn kind_named(name: &str) -> PolicyKind {
    match name {
        "Identity" => PolicyKind::Identity,
        "ManagedIdentity" => PolicyKind::ManagedIdentity,
        "Resource" => PolicyKind::Resource,
        "RoleTrust" => PolicyKind::RoleTrust,
        "ServiceControl" => PolicyKind::ServiceControl,
        "ServiceControlLegacy" => PolicyKind::ServiceControlLegacy,
        "ResourceControl" => PolicyKind::ResourceControl,
        other => panic!("unknown policy kind {other:?}"),
    }
}

fn document_text(v: &Value) -> String {
    match (v.get("text"), v.get("document")) {
        (Some(Value::String(t)), _) => t.clone(),
        (_, Some(doc)) => doc.to_string(),
        _ => v.to_string(),
    }
}

fn run_parse_case(parse: &Value, case: &Value) -> Result<(), String> {
    let kind = kind_named(parse["kind"].as_str().unwrap_or("Identity"));
    let result = Policy::parse("p", &document_text(parse), kind);
    if let (Some(code), Err(_)) = (
        case.get("expect_error")
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str),
        &result,
    ) && code != kind.error_code()
    {
        return Err(format!("code {:?}, expected {code:?}", kind.error_code()));
    }
    match (case.get("expect_error"), result) {
        (None, Ok(_)) => Ok(()),
        (None, Err(e)) => Err(format!("refused: {e} ({})", e.detail())),
        (Some(_), Ok(_)) => Err("accepted, expected an error".into()),
        (Some(expect), Err(e)) => {
            let message = expect["message"].as_str().unwrap();
            if e.message() != message {
                return Err(format!(
                    "message {:?}, expected {message:?} ({})",
                    e.message(),
                    e.detail()
                ));
            }
            if let Some(part) = expect.get("detail_contains").and_then(Value::as_str)
                && !e.detail().contains(part)
            {
                return Err(format!("detail {:?} lacks {part:?}", e.detail()));
            }
            Ok(())
        }
    }
}

/// A policy entry: `"FullAWSAccess"`, `"RCPFullAWSAccess"`, `{"id", "document"|"text", "kind"}`
/// or a bare document.
fn policy(v: &Value, default_kind: PolicyKind) -> Result<Policy, String> {
    let (id, text, kind) = match v {
        Value::String(s) if s == "FullAWSAccess" => (
            "p-FullAWSAccess".to_owned(),
            FULL_AWS_ACCESS.to_owned(),
            default_kind,
        ),
        Value::String(s) if s == "RCPFullAWSAccess" => (
            "p-RCPFullAWSAccess".to_owned(),
            RCP_FULL_AWS_ACCESS.to_owned(),
            default_kind,
        ),
        Value::Object(m) if m.contains_key("Statement") => {
            (String::new(), v.to_string(), default_kind)
        }
        Value::Object(m) => (
            m.get("id").and_then(Value::as_str).unwrap_or("").to_owned(),
            document_text(v),
            m.get("kind")
                .and_then(Value::as_str)
                .map_or(default_kind, kind_named),
        ),
        other => return Err(format!("bad policy entry {other}")),
    };
    Policy::parse(id.clone(), &text, kind)
        .map_err(|e| format!("policy {id:?}: {e} ({})", e.detail()))
}

fn policy_list(v: Option<&Value>, kind: PolicyKind) -> Result<Vec<Policy>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|p| policy(p, kind)).collect(),
        Some(single) => Ok(vec![policy(single, kind)?]),
    }
}

fn levels(v: Option<&Value>, kind: PolicyKind) -> Result<Vec<Vec<Policy>>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(levels)) => levels.iter().map(|l| policy_list(Some(l), kind)).collect(),
        Some(other) => Err(format!("levels must be an array of arrays, not {other}")),
    }
}

fn context(v: Option<&Value>) -> Context {
    let mut ctx = Context::new();
    if let Some(Value::Object(m)) = v {
        for (k, v) in m {
            match v {
                Value::Array(items) => ctx.insert_multi(k, items.iter().map(scalar)),
                other => ctx.insert(k, scalar(other)),
            }
        }
    }
    ctx
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn principal_type(name: &str) -> PrincipalType {
    match name {
        "Root" | "Account" => PrincipalType::Root,
        "User" => PrincipalType::User,
        "AssumedRole" => PrincipalType::AssumedRole,
        "FederatedUser" => PrincipalType::FederatedUser,
        "Service" => PrincipalType::Service,
        "Anonymous" => PrincipalType::Anonymous,
        other => panic!("unknown principal type {other:?}"),
    }
}

fn layer_name(l: Layer) -> String {
    match l {
        Layer::Identity => "identity".into(),
        Layer::Resource => "resource".into(),
        Layer::ServiceControl(n) => format!("scp:{n}"),
        Layer::ResourceControl(n) => format!("rcp:{n}"),
        Layer::PermissionsBoundary => "boundary".into(),
        Layer::Session => "session".into(),
    }
}

fn run_decision_case(case: &Value) -> Result<(), String> {
    let p = &case["policies"];
    let identity = policy_list(p.get("identity"), PolicyKind::Identity)?;
    let scps = levels(p.get("scp_levels"), PolicyKind::ServiceControl)?;
    let rcps = levels(p.get("rcp_levels"), PolicyKind::ResourceControl)?;
    let resource = p
        .get("resource")
        .map(|v| policy(v, PolicyKind::Resource))
        .transpose()?;
    let boundary = p
        .get("boundary")
        .map(|v| policy(v, PolicyKind::Identity))
        .transpose()?;
    let session = policy_list(p.get("session"), PolicyKind::Identity)?;
    let policies = Policies {
        identity: identity.iter().collect(),
        scp_levels: scps.iter().map(|l| l.iter().collect()).collect(),
        rcp_levels: rcps.iter().map(|l| l.iter().collect()).collect(),
        resource: resource.as_ref(),
        boundary: boundary.as_ref(),
        session: session.iter().collect(),
        scoped: Vec::new(),
    };

    let r = &case["request"];
    let pr = r.get("principal").cloned().unwrap_or(Value::Null);
    let arn = pr["arn"]
        .as_str()
        .unwrap_or("arn:aws:iam::111111111111:user/alice");
    let account = pr["account"].as_str().unwrap_or("111111111111");
    let mut principal = Principal::new(
        principal_type(pr["type"].as_str().unwrap_or("User")),
        arn,
        account,
    );
    if let Some(role) = pr["role_arn"].as_str() {
        principal = principal.with_role_arn(role);
    }
    if let Some(provider) = pr["federated_provider"].as_str() {
        principal = principal.with_federated_provider(provider);
    }
    let ctx = context(r.get("context"));
    let request = Request {
        principal,
        action: r["action"].as_str().ok_or("request.action missing")?,
        resource: r["resource"].as_str().unwrap_or("*"),
        resource_account: r["resource_account"].as_str(),
        context: &ctx,
    };
    let decision = evaluate(&request, &policies);
    check(case, &request, &decision).map_err(|e| format!("{e}\n    got: {decision}"))
}

fn check(case: &Value, request: &Request<'_>, d: &Decision<'_>) -> Result<(), String> {
    let e = &case["expect"];
    let effect = match e["effect"].as_str().ok_or("expect.effect missing")? {
        "Allowed" => DecisionEffect::Allowed,
        "ImplicitlyDenied" => DecisionEffect::ImplicitlyDenied,
        "ExplicitlyDenied" => DecisionEffect::ExplicitlyDenied,
        other => return Err(format!("unknown effect {other:?}")),
    };
    if d.effect != effect {
        return Err(format!("effect {:?}, expected {effect:?}", d.effect));
    }
    let primary = d.primary();
    let layer = e["layer"].as_str().ok_or("expect.layer missing")?;
    let got = primary.map(|r| layer_name(r.layer)).unwrap_or_default();
    if got != layer {
        return Err(format!("deciding layer {got:?}, expected {layer:?}"));
    }
    if let Some(layers) = e.get("layers").and_then(Value::as_array) {
        let want: Vec<&str> = layers.iter().filter_map(Value::as_str).collect();
        let got: Vec<String> = d.deciding.iter().map(|r| layer_name(r.layer)).collect();
        if got != want {
            return Err(format!("deciding layers {got:?}, expected {want:?}"));
        }
    }
    if let Some(policy) = e.get("policy") {
        let got = primary.and_then(|r| r.policy);
        if got != policy.as_str() {
            return Err(format!("deciding policy {got:?}, expected {policy}"));
        }
    }
    if let Some(statement) = e.get("statement") {
        let st = primary
            .and_then(|r| r.statement)
            .ok_or("no deciding statement")?;
        let ok = match statement {
            Value::String(sid) => st.sid == Some(sid.as_str()),
            Value::Number(n) => n.as_u64() == Some(st.index as u64),
            _ => false,
        };
        if !ok {
            return Err(format!("deciding statement {st:?}, expected {statement}"));
        }
    }
    if let Some(n) = e.get("reasons").and_then(Value::as_u64)
        && d.deciding.len() as u64 != n
    {
        return Err(format!("{} reasons, expected {n}", d.deciding.len()));
    }
    if let Some(message) = e.get("message").and_then(Value::as_str) {
        let got = d.access_denied_message(request.principal.arn, request.action, request.resource);
        if got != message {
            return Err(format!(
                "message\n      {got:?}\n    expected\n      {message:?}"
            ));
        }
    }
    Ok(())
}
