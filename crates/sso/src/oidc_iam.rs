//! sso-oidc `CreateTokenWithIAM`: an Identity Center application (a customer-managed OAuth
//! application, `apps.rs`) gets tokens for a user, its caller authenticated by SigV4 rather
//! than a client secret (OIDC API Reference, CreateTokenWithIAM). `clientId` is the
//! application's ARN; which IAM principals may call for it is the application's `IAM`
//! authentication method (its `ActorPolicy`), which the authorize step evaluates as the
//! application's resource policy for `sso-oauth:CreateTokenWithIAM`, one that must allow the
//! caller by itself ([`crate::SsoFacts`]). Each grant type needs the application's grant of
//! that type (`PutApplicationGrant`):
//!
//! - `authorization_code` — a code the portal's `/authorize` page issued to the application
//!   (`client_id=<application ARN>`, a redirect URI of its `AuthorizationCode` grant, PKCE
//!   S256 as for registered clients; [`check_authorize`]);
//! - `refresh_token` — a refresh token issued to the application (they rotate, as
//!   `CreateToken`'s do);
//! - `urn:ietf:params:oauth:grant-type:token-exchange` — an access token Identity Center
//!   issued to another client or application of the instance, one of whose scopes is an
//!   access scope of this application that authorizes it (`PutApplicationAccessScope`:
//!   no targets, or the subject's application or the instance among them — **Cairn's
//!   reading** of "the access token must have authorized scopes that indicate the requested
//!   application as a target audience");
//! - `urn:ietf:params:oauth:grant-type:jwt-bearer` — not supported: verifying a trusted token
//!   issuer's JWT needs its JWKS fetched over HTTPS, which sso-oidc has no client for (IAM's
//!   `AssumeRoleWithWebIdentity` has one). Answered `UnsupportedGrantTypeException`.
//!
//! Tokens are those of `oidc.rs` (opaque, stored hashed, their grant naming the application
//! ARN as its client), so the access token works with the portal API and `Logout`, and is
//! revoked with the user. No `idToken` and no `awsAdditionalDetails` (the identity context
//! for `sts:SetContext`): Cairn's tokens are opaque and its STS takes no provided contexts.

use crate::apps::{self, APP_ASSIGN, AppRec};
use crate::model::{self, InstanceRec};
use crate::oidc::{
    self, AuthorizeError, AuthorizeRequest, ClientRec, CodeRec, GRANT_CODE, GRANT_REFRESH,
    GrantRec, TokenRec, invalid_client, invalid_grant, invalid_request, oauth,
};
use crate::signin::hash_secret;
use cairn_api::sso_admin::types::{AuthenticationMethod, Grant};
use cairn_api::sso_oidc::{Error, types};
use cairn_core::{Failure, Ids};
use cairn_store::Tx;
use cairn_wire::ApiError;

pub const GRANT_JWT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub const GRANT_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// Token types of the token exchange (API reference: `subjectTokenType` takes the access
/// token type only; `requestedTokenType` the access or the refresh token type).
pub const TOKEN_ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const TOKEN_REFRESH: &str = "urn:ietf:params:oauth:token-type:refresh_token";

/// Scopes every application has (API reference, `scope`: "If the value is not specified,
/// IAM Identity Center authorizes all scopes configured for the application, including the
/// following default scopes: openid, aws, sts:identity_context").
const DEFAULT_SCOPES: &[&str] = &["openid", "aws", "sts:identity_context"];

/// The application's grant of `kind`, if it has one.
fn grant_of<'a>(app: &'a AppRec, kind: &str) -> Option<&'a Grant> {
    app.grants.iter().find(|(k, _)| k == kind).map(|(_, g)| g)
}

/// The application's `IAM` authentication method's actor policy, as a document (the SDKs
/// send it as a JSON object; a string holding one is taken as well).
pub fn actor_policy(app: &AppRec) -> Option<String> {
    app.auth_methods
        .iter()
        .find(|(k, _)| k == "IAM")
        .and_then(|(_, m): &(String, AuthenticationMethod)| m.iam.as_ref())
        .map(|iam| match &iam.actor_policy {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
}

/// The application a `clientId` names, with its instance, if both are usable.
fn application(
    tx: &mut dyn Tx,
    client_id: &str,
) -> Result<Result<(InstanceRec, AppRec), ApiError>, Failure> {
    match apps::lookup(tx, client_id)? {
        Some((inst, app)) if inst.status == "ACTIVE" && app.status == "ENABLED" => {
            Ok(Ok((inst, app)))
        }
        // A disabled application is refused as an unknown one [M].
        _ => Ok(Err(invalid_client("Invalid client"))),
    }
}

/// The `/authorize` page's checks for an application (`client_id` an application ARN): it
/// is enabled, has an `AuthorizationCode` grant with this redirect URI, and the request
/// asks for PKCE S256 — the rules of registered clients (`oidc::check_authorize`).
pub(crate) fn check_authorize(
    tx: &mut dyn Tx,
    req: &AuthorizeRequest,
) -> Result<Result<(ClientRec, InstanceRec), AuthorizeError>, Failure> {
    let Ok((inst, app)) = application(tx, &req.client_id)? else {
        return Ok(Err(AuthorizeError::Page(
            "The application is not registered.",
        )));
    };
    let redirects = grant_of(&app, GRANT_CODE)
        .and_then(|g| g.authorization_code.as_ref())
        .and_then(|c| c.redirect_uris.clone())
        .unwrap_or_default();
    if !redirects
        .iter()
        .any(|u| oidc::redirect_matches(u, &req.redirect_uri))
    {
        return Ok(Err(AuthorizeError::Page(
            "The redirect URI is not registered for this application.",
        )));
    }
    if req.code_challenge_method != "S256" || req.code_challenge.len() < 43 {
        return Ok(Err(AuthorizeError::Redirect("invalid_request")));
    }
    if req.scopes.iter().any(|s| !oidc::valid_scope(s)) {
        return Ok(Err(AuthorizeError::Redirect("invalid_scope")));
    }
    let client = ClientRec {
        v: model::FORMAT,
        id: req.client_id.clone(),
        secret_hash: String::new(),
        name: app.name.clone(),
        client_type: String::from("application"),
        grant_types: app.grants.iter().map(|(k, _)| k.clone()).collect(),
        redirect_uris: redirects,
        scopes: Vec::new(),
        issuer_url: None,
        issued_ms: app.created_ms,
        expires_ms: i64::MAX,
    };
    Ok(Ok((client, inst)))
}

/// The scopes the application offers: its access scopes and the default ones.
fn offered(app: &AppRec) -> Vec<String> {
    let mut out: Vec<String> = app.scopes.iter().map(|(s, _)| s.clone()).collect();
    for d in DEFAULT_SCOPES {
        if !out.iter().any(|s| s == d) {
            out.push((*d).to_owned());
        }
    }
    out
}

/// The scopes of the new token: those requested, each one of `base` (downscoping), or all
/// of `base`.
fn narrow(base: Vec<String>, requested: Option<&[String]>) -> Result<Vec<String>, ApiError> {
    match requested {
        None | Some([]) => Ok(base),
        Some(req) => match req.iter().find(|s| !base.contains(s)) {
            // [M]: the text.
            Some(s) => Err(oauth(
                Error::InvalidScopeException,
                "invalid_scope",
                &format!("Invalid scope: {s}"),
            )),
            None => Ok(req.to_vec()),
        },
    }
}

/// Whether the user may use the application: it needs no assignment, or the user or one of
/// their groups is assigned to it (`CreateApplicationAssignment`).
fn assigned(
    tx: &mut dyn Tx,
    inst: &InstanceRec,
    app: &AppRec,
    user_id: &str,
) -> Result<bool, Failure> {
    if !app.assignment_required {
        return Ok(true);
    }
    let mut keys = vec![format!("{}/{}/USER/{user_id}", inst.id, app.id)];
    for g in crate::directory::groups_of(tx, &inst.store_id, user_id)? {
        keys.push(format!("{}/{}/GROUP/{g}", inst.id, app.id));
    }
    for k in keys {
        if tx.get(APP_ASSIGN, k.as_bytes())?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

fn not_assigned() -> ApiError {
    // [M]: AWS's code and text for a user the application is not assigned to.
    oauth(
        Error::AccessDeniedException,
        "access_denied",
        "The user is not assigned to the application",
    )
}

/// `CreateTokenWithIAM`.
pub fn create_token_with_iam(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    input: &types::CreateTokenWithIAMRequest,
) -> Result<Result<types::CreateTokenWithIAMResponse, ApiError>, Failure> {
    let (inst, app) = match application(tx, &input.client_id)? {
        Ok(x) => x,
        Err(e) => return Ok(Err(e)),
    };
    let kind = input.grant_type.as_str();
    if ![GRANT_CODE, GRANT_REFRESH, GRANT_JWT, GRANT_EXCHANGE].contains(&kind) {
        return Ok(Err(oauth(
            Error::UnsupportedGrantTypeException,
            "unsupported_grant_type",
            &format!("Unsupported grant type: {kind}"),
        )));
    }
    if grant_of(&app, kind).is_none() {
        // The text `CreateToken` answers a client registered without the grant.
        return Ok(Err(oauth(
            Error::UnauthorizedClientException,
            "unauthorized_client",
            "Client is not authorized for this grant type",
        )));
    }
    let with_refresh = grant_of(&app, GRANT_REFRESH).is_some();
    let requested = input.scope.as_deref();
    let outcome = match kind {
        GRANT_CODE => by_code(tx, now_ms, &inst, &app, input)?,
        GRANT_REFRESH => by_refresh(tx, now_ms, &app, input)?,
        GRANT_EXCHANGE => by_exchange(tx, now_ms, &inst, &app, input, with_refresh)?,
        _ => {
            return Ok(Err(oauth(
                Error::UnsupportedGrantTypeException,
                "unsupported_grant_type",
                "Cairn does not support the jwt-bearer grant: trusted token issuers' JWTs are not verified [M]",
            )));
        }
    };
    let (mut grant, refresh, issued_type) = match outcome {
        Ok(x) => x,
        Err(e) => return Ok(Err(e)),
    };
    if crate::directory::user(tx, &grant.store, &grant.user_id)?.is_none() {
        return Ok(Err(invalid_grant("Invalid grant provided")));
    }
    if !assigned(tx, &inst, &app, &grant.user_id)? {
        return Ok(Err(not_assigned()));
    }
    grant.scopes = match narrow(grant.scopes, requested) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let scopes = grant.scopes.clone();
    let t = oidc::issue(tx, ids, now_ms, refresh, grant)?;
    Ok(Ok(types::CreateTokenWithIAMResponse {
        access_token: Some(t.access),
        aws_additional_details: None,
        expires_in: Some(t.expires_in),
        id_token: None,
        issued_token_type: issued_type.map(str::to_owned),
        refresh_token: t.refresh,
        scope: Some(scopes),
        token_type: Some(String::from("Bearer")),
    }))
}

/// A grant for the application (its scopes the base the request may narrow), whether to
/// issue a refresh token with it, and the `issuedTokenType` to answer.
type Outcome = Result<(GrantRec, bool, Option<&'static str>), ApiError>;

fn grant_rec(
    inst: &InstanceRec,
    app: &AppRec,
    user: (&str, &str),
    scopes: Vec<String>,
    session_ms: i64,
) -> GrantRec {
    GrantRec {
        v: model::FORMAT,
        client_id: app.arn(inst),
        instance_id: inst.id.clone(),
        store: inst.store_id.clone(),
        user_id: user.0.to_owned(),
        user_name: user.1.to_owned(),
        scopes,
        session_expires_ms: session_ms,
    }
}

fn by_code(
    tx: &mut dyn Tx,
    now_ms: i64,
    inst: &InstanceRec,
    app: &AppRec,
    input: &types::CreateTokenWithIAMRequest,
) -> Result<Outcome, Failure> {
    let (Some(code), Some(redirect)) = (input.code.as_deref(), input.redirect_uri.as_deref())
    else {
        return Ok(Err(invalid_request("code and redirectUri are required")));
    };
    let h = hash_secret(code);
    let rec: Option<CodeRec> = model::get_json(tx, oidc::CODES, &h)?;
    // A code is used once, even when the exchange fails (RFC 6749 §4.1.2); one past its
    // lifetime is an invalid grant (RFC 6749 §5.2).
    tx.delete(oidc::CODES, h.as_bytes())?;
    let arn = app.arn(inst);
    let Some(rec) = rec.filter(|r| r.client_id == arn && now_ms < r.expires_ms) else {
        return Ok(Err(invalid_grant("Invalid authorization code provided")));
    };
    // The `/authorize` page always takes a challenge, so the verifier is required.
    let verifier_ok = input
        .code_verifier
        .as_deref()
        .is_some_and(|v| oidc::s256(v) == rec.code_challenge);
    if rec.redirect_uri != redirect || !verifier_ok {
        return Ok(Err(invalid_grant("Invalid authorization code provided")));
    }
    let base = if rec.scopes.is_empty() {
        offered(app)
    } else {
        rec.scopes.clone()
    };
    let g = grant_rec(
        inst,
        app,
        (&rec.user_id, &rec.user_name),
        base,
        rec.session_expires_ms,
    );
    Ok(Ok((g, grant_of(app, GRANT_REFRESH).is_some(), None)))
}

fn by_refresh(
    tx: &mut dyn Tx,
    now_ms: i64,
    app: &AppRec,
    input: &types::CreateTokenWithIAMRequest,
) -> Result<Outcome, Failure> {
    let Some(token) = input.refresh_token.as_deref() else {
        return Ok(Err(invalid_request("refreshToken is required")));
    };
    let h = hash_secret(token);
    let rec: Option<GrantRec> = model::get_json(tx, oidc::REFRESH, &h)?;
    let Some(mut g) = rec else {
        return Ok(Err(invalid_grant("Invalid refresh token provided")));
    };
    let Some(inst) = model::instance(tx, &g.instance_id)? else {
        return Ok(Err(invalid_grant("Invalid refresh token provided")));
    };
    if g.client_id != app.arn(&inst) {
        return Ok(Err(invalid_grant("Invalid refresh token provided")));
    }
    // Refresh tokens rotate: the old one is spent, also when it has expired.
    tx.delete(oidc::REFRESH, h.as_bytes())?;
    tx.delete(
        oidc::USER_TOKENS,
        format!("{}/{}/r{h}", g.store, g.user_id).as_bytes(),
    )?;
    if now_ms >= g.session_expires_ms {
        // `CreateToken`'s answer to a refresh token past its session.
        return Ok(Err(oauth(
            Error::ExpiredTokenException,
            "expired_token",
            "Refresh token has expired",
        )));
    }
    g.v = model::FORMAT;
    Ok(Ok((g, true, None)))
}

fn by_exchange(
    tx: &mut dyn Tx,
    now_ms: i64,
    inst: &InstanceRec,
    app: &AppRec,
    input: &types::CreateTokenWithIAMRequest,
    with_refresh: bool,
) -> Result<Outcome, Failure> {
    let (Some(subject), Some(subject_type)) = (
        input.subject_token.as_deref(),
        input.subject_token_type.as_deref(),
    ) else {
        return Ok(Err(invalid_request(
            "subjectToken and subjectTokenType are required",
        )));
    };
    if subject_type != TOKEN_ACCESS {
        // [M]: the text.
        return Ok(Err(invalid_request("Invalid subject token type")));
    }
    let issued_type = match input.requested_token_type.as_deref() {
        None | Some(TOKEN_ACCESS) => TOKEN_ACCESS,
        Some(TOKEN_REFRESH) if with_refresh => TOKEN_REFRESH,
        Some(TOKEN_REFRESH) => {
            // A refresh token needs the application's refresh_token grant [M].
            return Ok(Err(oauth(
                Error::UnauthorizedClientException,
                "unauthorized_client",
                "Client is not authorized for this grant type",
            )));
        }
        // [M]: the text.
        Some(_) => return Ok(Err(invalid_request("Invalid requested token type"))),
    };
    let rec: Option<TokenRec> = model::get_json(tx, oidc::TOKENS, &hash_secret(subject))?;
    let Some(rec) = rec else {
        return Ok(Err(invalid_grant("Invalid subject token provided")));
    };
    if now_ms >= rec.expires_ms {
        // [M]: the code and text for an expired subject token.
        return Ok(Err(oauth(
            Error::ExpiredTokenException,
            "expired_token",
            "Subject token has expired",
        )));
    }
    let arn = app.arn(inst);
    let source = &rec.grant;
    // "Issued … to a different client or application", of this instance.
    if source.client_id == arn || source.instance_id != inst.id {
        return Ok(Err(invalid_grant("Invalid subject token provided")));
    }
    let audience = source.scopes.iter().any(|s| {
        app.scopes.iter().any(|(scope, targets)| {
            scope == s
                && (targets.is_empty()
                    || targets
                        .iter()
                        .any(|t| *t == source.client_id || *t == inst.arn()))
        })
    });
    if !audience {
        // [M]: the text.
        return Ok(Err(invalid_grant(
            "The subject token is not authorized for this application",
        )));
    }
    let g = grant_rec(
        inst,
        app,
        (&source.user_id, &source.user_name),
        offered(app),
        source.session_expires_ms,
    );
    Ok(Ok((g, issued_type == TOKEN_REFRESH, Some(issued_type))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn requested_scopes_narrow_the_base_and_none_keeps_it() {
        let base = strings(&["openid", "aws", "app:read"]);
        assert_eq!(narrow(base.clone(), None).unwrap(), base);
        assert_eq!(narrow(base.clone(), Some(&[])).unwrap(), base);
        assert_eq!(
            narrow(base.clone(), Some(&strings(&["app:read"]))).unwrap(),
            strings(&["app:read"])
        );
        let e = narrow(base, Some(&strings(&["app:write"]))).unwrap_err();
        assert_eq!(e.code, "InvalidScopeException");
    }
}
