//! The request context: the global condition keys AWS sets for a call (aws-facts §5.5;
//! IAM User Guide, "AWS global condition context keys") and the catalogue's input-fed action
//! keys. Pure: everything arrives in [`ContextInput`].

use super::catalogue::OpAuth;
use super::resolve;
use cairn_core::{OrgContext, Principal, Session};
use cairn_policy::{Context, PrincipalFacts, PrincipalType, principal_keys};
use serde_json::Value;

/// What the context is built from.
pub(crate) struct ContextInput<'a> {
    pub principal: &'a Principal,
    /// The region the call is for (`us-east-1` for a global service).
    pub region: &'a str,
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    pub now_ms: i64,
    /// The caller's organization.
    pub org: Option<&'a OrgContext>,
    /// The principal's own tags (the IAM user's or role's).
    pub identity_tags: &'a [(String, String)],
    /// The resources belong to the organization's management account (Organizations), not
    /// to the caller's account.
    pub owned_by_management: bool,
    pub op: &'a OpAuth,
    pub input: &'a Value,
    /// Condition keys read from the stored resource.
    pub stored: &'a [(String, String)],
}

/// The engine's principal type of a caller.
pub(crate) fn principal_type(p: &Principal) -> PrincipalType {
    match p {
        Principal::Root { .. } => PrincipalType::Root,
        Principal::IamUser { .. } => PrincipalType::User,
        Principal::AssumedRole { .. } => PrincipalType::AssumedRole,
        Principal::FederatedUser { .. } => PrincipalType::FederatedUser,
        Principal::IdentityCenterUser(_) | Principal::OidcClient { .. } | Principal::Anonymous => {
            PrincipalType::Anonymous
        }
    }
}

/// The global condition keys and the catalogue's input-fed keys of one call.
pub(crate) fn build(i: &ContextInput<'_>) -> Context {
    let principal = i.principal;
    let mut c = Context::new();
    let account = principal.account_id();
    let arn = principal.arn();
    let role_arn = principal.role_arn();
    let user_id = principal.user_id();
    for (k, v) in principal_keys(&PrincipalFacts {
        kind: principal_type(principal),
        arn: &arn,
        account,
        role_arn: role_arn.as_deref(),
        user_id: Some(&user_id),
    }) {
        c.insert(k, v);
    }
    c.insert("aws:RequestedRegion", i.region);
    c.insert("aws:SourceIp", i.source_ip);
    // AWS's API endpoints are HTTPS-only, so AWS always evaluates `true`; Cairn answers the
    // same so that guardrails denying insecure transport behave as they do on AWS (terminate
    // TLS in front of Cairn in production).
    c.insert("aws:SecureTransport", "true");
    c.insert("aws:CurrentTime", iso_seconds(i.now_ms));
    c.insert("aws:EpochTime", (i.now_ms.div_euclid(1000)).to_string());
    c.insert("aws:UserAgent", i.user_agent);
    if let Some(org) = i.org {
        c.insert("aws:PrincipalOrgID", org.org_id.clone());
        c.insert_multi("aws:PrincipalOrgPaths", [org.path.clone()]);
    }
    let mut tags: Vec<(String, String)> = i.identity_tags.to_vec();
    if let Some(session) = principal.session() {
        session_keys(&mut c, session, i.now_ms);
        // Session tags override the entity's tags of the same key (case-insensitively).
        for (k, v) in &session.tags {
            tags.retain(|(tk, _)| !tk.eq_ignore_ascii_case(k));
            tags.push((k.clone(), v.clone()));
        }
    }
    for (k, v) in tags {
        c.insert(&format!("aws:PrincipalTag/{k}"), v);
    }
    // `sts:AssumeRole` with `SerialNumber` and `TokenCode`: the role's trust policy sees an
    // MFA-authenticated call (IAM User Guide, "Configuring MFA-protected API access": a trust
    // policy conditioned on `aws:MultiFactorAuthPresent` admits a caller who passes a code).
    // The STS handler refuses the call unless the code is valid, so this is acted on only
    // then.
    if i.op.action.as_deref() == Some("sts:AssumeRole")
        && i.input.get("SerialNumber").is_some_and(Value::is_string)
        && i.input.get("TokenCode").is_some_and(Value::is_string)
    {
        c.insert("aws:MultiFactorAuthPresent", "true");
        c.insert("aws:MultiFactorAuthAge", "0");
    }
    input_keys(&mut c, i.op, i.input);
    for (k, v) in i.stored {
        c.insert(k, v.clone());
    }
    // aws:ResourceAccount / aws:ResourceOrgID / aws:ResourceOrgPaths: the resources belong to
    // the caller's account, or to the organization's management account.
    let resource_account = match (i.owned_by_management, i.org) {
        (true, Some(org)) => org.management_account_id.clone(),
        _ => account.to_owned(),
    };
    if let Some(org) = i.org {
        c.insert("aws:ResourceOrgID", org.org_id.clone());
        if resource_account == account {
            c.insert_multi("aws:ResourceOrgPaths", [org.path.clone()]);
        }
    }
    c.insert("aws:ResourceAccount", resource_account);
    c
}

/// The catalogue's `condition_sources`: action keys whose value is an input member.
fn input_keys(c: &mut Context, op: &OpAuth, input: &Value) {
    for (key, path) in &op.condition_sources {
        if let Some(prefix) = key.strip_suffix("${TagKey}") {
            // A list of {Key, Value} pairs.
            if let Some(items) = input.get(path.as_str()).and_then(Value::as_array) {
                for item in items {
                    let k = item
                        .get("Key")
                        .or_else(|| item.get("key"))
                        .and_then(Value::as_str);
                    let v = item
                        .get("Value")
                        .or_else(|| item.get("value"))
                        .and_then(Value::as_str);
                    if let (Some(k), Some(v)) = (k, v) {
                        c.insert(&format!("{prefix}{k}"), v);
                    }
                }
            }
            continue;
        }
        let values = resolve::member_values(input, path);
        if values.is_empty() {
            continue;
        }
        if path.contains("[]") || input.get(path.as_str()).is_some_and(Value::is_array) {
            c.insert_multi(key, values);
        } else if let Some(v) = values.into_iter().next() {
            c.insert(key, v);
        }
    }
}

fn session_keys(c: &mut Context, s: &Session, now_ms: i64) {
    c.insert("aws:TokenIssueTime", iso_seconds(s.issued_at_ms));
    c.insert(
        "aws:MultiFactorAuthPresent",
        if s.mfa_authenticated { "true" } else { "false" },
    );
    if s.mfa_authenticated {
        c.insert(
            "aws:MultiFactorAuthAge",
            ((now_ms - s.issued_at_ms).max(0) / 1000).to_string(),
        );
    }
    if let Some(si) = &s.source_identity {
        c.insert("aws:SourceIdentity", si.clone());
    }
    if s.assumed_root {
        // IAM User Guide, global condition keys: `aws:AssumedRoot` is present (and `true`)
        // only in a session from `sts:AssumeRoot`.
        c.insert("aws:AssumedRoot", "true");
    }
}

pub(crate) fn iso_seconds(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => secs.to_string(),
    }
}

#[cfg(test)]
mod tests;
