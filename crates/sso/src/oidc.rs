//! IAM Identity Center OIDC (`sso-oidc`, signing name `sso-oauth`): public clients register,
//! a person approves them in the access portal — by user code (RFC 8628, the device flow)
//! or on the portal's `/authorize` page (RFC 6749 authorization code with PKCE, RFC 7636,
//! S256 only) — and the client gets an access token for the portal API (`sso`) and a
//! refresh token. Tokens are opaque, stored as SHA-256 hashes, and revoked by `Logout`, by a
//! password reset and by deleting the user.
//!
//! Spaces (`<hash>`: hex SHA-256 of the secret):
//! - `sso.oidc_client` — client ID → [`ClientRec`];
//! - `sso.oidc_device` — `<hash of the device code>` → [`DeviceRec`];
//! - `sso.oidc_user_code` — user code → `<hash of the device code>`;
//! - `sso.oidc_code` — `<hash of the authorization code>` → [`CodeRec`];
//! - `sso.oidc_token` — `<hash of the access token>` → [`TokenRec`];
//! - `sso.oidc_refresh` — `<hash of the refresh token>` → [`GrantRec`];
//! - `sso.user_token` — `<store>/<user id>/<hash of the access token>` → `""`, and
//!   `<store>/<user id>/r<hash of the refresh token>` → `""` (what revoking a user removes).

use crate::model::{self, FORMAT, INSTANCES, InstanceRec, STORES};
use crate::signin::{hash_secret, new_secret};
use cairn_api::sso_oidc::{Error, types};
use cairn_core::{Failure, Ids};
use cairn_store::Tx;
use cairn_wire::ApiError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const CLIENTS: &str = "sso.oidc_client";
pub const DEVICES: &str = "sso.oidc_device";
pub const USER_CODES: &str = "sso.oidc_user_code";
pub const CODES: &str = "sso.oidc_code";
pub const TOKENS: &str = "sso.oidc_token";
pub const REFRESH: &str = "sso.oidc_refresh";
pub const USER_TOKENS: &str = "sso.user_token";

pub const GRANT_DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub const GRANT_CODE: &str = "authorization_code";
pub const GRANT_REFRESH: &str = "refresh_token";
/// The grant types `RegisterClient` accepts (API reference, `RegisterClient`, `grantTypes`).
const GRANT_TYPES: &[&str] = &[
    GRANT_CODE,
    GRANT_DEVICE,
    GRANT_REFRESH,
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];

/// A client's secret is good for 90 days (the `clientSecretExpiresAt` AWS answers is
/// `clientIdIssuedAt` + 7,776,000 s in the CLI's cached registrations).
const CLIENT_TTL_S: i64 = 90 * 24 * 3600;
/// A device authorization lasts 10 minutes and is polled at most every second (the
/// `expiresIn` 600 and `interval` 1 AWS answers `StartDeviceAuthorization`).
const DEVICE_TTL_S: i64 = 600;
const DEVICE_INTERVAL_S: i64 = 1;
/// An authorization code must be redeemed within 5 minutes [M: AWS does not publish it;
/// RFC 6749 §4.1.2 recommends at most 10].
const CODE_TTL_MS: i64 = 5 * 60 * 1000;
/// Access tokens last an hour; their refresh tokens, the portal session (User Guide,
/// "Configure the duration of … sessions": the CLI refreshes its hour-long access token
/// until the session ends) [M: the one hour].
const ACCESS_TTL_S: i64 = 3600;

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRec {
    pub v: u32,
    pub id: String,
    pub secret_hash: String,
    pub name: String,
    pub client_type: String,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub issuer_url: Option<String>,
    pub issued_ms: i64,
    pub expires_ms: i64,
}

impl ClientRec {
    fn allows(&self, grant: &str) -> bool {
        if self.grant_types.is_empty() {
            // Clients registered without grant types (older CLIs) use the device flow and
            // refresh its tokens.
            return grant == GRANT_DEVICE || grant == GRANT_REFRESH;
        }
        self.grant_types.iter().any(|g| g == grant)
    }
}

/// A pending device authorization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRec {
    pub v: u32,
    pub client_id: String,
    pub instance_id: String,
    pub user_code: String,
    pub expires_ms: i64,
    pub last_poll_ms: i64,
    /// `PENDING`, `APPROVED`, `DENIED`.
    pub status: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub session_expires_ms: Option<i64>,
}

/// An authorization code issued on the `/authorize` page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRec {
    pub v: u32,
    pub client_id: String,
    pub instance_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scopes: Vec<String>,
    pub user_id: String,
    pub user_name: String,
    pub expires_ms: i64,
    pub session_expires_ms: i64,
}

/// Who a grant (access or refresh token) is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRec {
    pub v: u32,
    pub client_id: String,
    pub instance_id: String,
    pub store: String,
    pub user_id: String,
    pub user_name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// When the portal session behind it ends: no token outlives it.
    pub session_expires_ms: i64,
}

/// An access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRec {
    pub v: u32,
    pub grant: GrantRec,
    pub issued_ms: i64,
    pub expires_ms: i64,
    /// The hash of the refresh token issued with it (`Logout` revokes both).
    #[serde(default)]
    pub refresh_hash: Option<String>,
}

// ---------------------------------------------------------------------------- errors

/// An OAuth error as sso-oidc answers it: the exception's code, and the body's `error`
/// (RFC 6749 §5.2 code) and `error_description` members.
pub(crate) fn oauth(kind: Error, error: &str, description: &str) -> ApiError {
    let mut e = ApiError::new(kind, description);
    e.message_key = "error_description";
    e.fields.push(("error", serde_json::Value::from(error)));
    e
}

pub(crate) fn invalid_client(description: &str) -> ApiError {
    oauth(Error::InvalidClientException, "invalid_client", description)
}

pub(crate) fn invalid_request(description: &str) -> ApiError {
    oauth(
        Error::InvalidRequestException,
        "invalid_request",
        description,
    )
}

pub(crate) fn invalid_grant(description: &str) -> ApiError {
    oauth(Error::InvalidGrantException, "invalid_grant", description)
}

// ---------------------------------------------------------------------------- lookups

/// The instance a start URL (or a client's issuer URL) names: the identity store ID in it
/// (`https://d-xxxxxxxxxx.awsapps.com/start`, Cairn's `<public url>/start/d-xxxxxxxxxx`),
/// or, for a bare `…/start`, the one active instance when there is exactly one.
pub fn instance_for_url(tx: &mut dyn Tx, url: &str) -> Result<Option<InstanceRec>, Failure> {
    if let Some(store) = store_id_in(url) {
        let Some(raw) = tx.get(STORES, store.as_bytes())? else {
            return Ok(None);
        };
        let id = String::from_utf8(raw).map_err(|_| model::corrupt(STORES))?;
        return Ok(model::instance(tx, &id)?.filter(|i| i.status == "ACTIVE"));
    }
    let trimmed = url.trim_end_matches(['/', '#']);
    if !trimmed.ends_with("/start") {
        return Ok(None);
    }
    only_instance(tx)
}

/// The one active instance, if exactly one exists.
pub fn only_instance(tx: &mut dyn Tx) -> Result<Option<InstanceRec>, Failure> {
    let mut found = None;
    for (_, raw) in tx.scan_prefix(INSTANCES, b"", false, usize::MAX)? {
        let inst: InstanceRec =
            serde_json::from_slice(&raw).map_err(|_| model::corrupt(INSTANCES))?;
        if inst.status != "ACTIVE" {
            continue;
        }
        if found.is_some() {
            return Ok(None);
        }
        found = Some(inst);
    }
    Ok(found)
}

fn store_id_in(url: &str) -> Option<String> {
    let b = url.as_bytes();
    (0..b.len().saturating_sub(11)).find_map(|i| {
        let w = b.get(i..i + 12)?;
        let before_ok = i == 0 || b.get(i - 1).is_some_and(|c| !c.is_ascii_alphanumeric());
        let after_ok = b.get(i + 12).is_none_or(|c| !c.is_ascii_alphanumeric());
        let digits = w.get(2..).unwrap_or_default();
        (before_ok
            && after_ok
            && w.starts_with(b"d-")
            && digits
                .iter()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
        .then(|| String::from_utf8_lossy(w).into_owned())
    })
}

/// The client, if its secret matches and has not expired.
pub(crate) fn authenticate_client(
    tx: &mut dyn Tx,
    now_ms: i64,
    id: &str,
    secret: &str,
) -> Result<Result<ClientRec, ApiError>, Failure> {
    let rec: Option<ClientRec> = model::get_json(tx, CLIENTS, id)?;
    Ok(match rec {
        Some(c) if c.secret_hash == hash_secret(secret) => {
            if now_ms >= c.expires_ms {
                Err(invalid_client("Client credentials have expired"))
            } else {
                Ok(c)
            }
        }
        _ => Err(invalid_client("Invalid client")),
    })
}

pub fn client(tx: &mut dyn Tx, id: &str) -> Result<Option<ClientRec>, Failure> {
    model::get_json(tx, CLIENTS, id)
}

// ---------------------------------------------------------------------------- operations

fn is_loopback_redirect(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else {
        // HTTPS redirects for web applications; everything else is refused.
        return uri.starts_with("https://") && uri.len() > "https://".len();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

pub fn register_client(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    input: &types::RegisterClientRequest,
) -> Result<Result<types::RegisterClientResponse, ApiError>, Failure> {
    // Only public clients may register (API reference, `clientType`: "public").
    if input.client_type != "public" {
        return Ok(Err(oauth(
            Error::InvalidClientMetadataException,
            "invalid_client_metadata",
            "Invalid client type",
        )));
    }
    let grant_types = input.grant_types.clone().unwrap_or_default();
    if let Some(g) = grant_types
        .iter()
        .find(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        return Ok(Err(oauth(
            Error::UnsupportedGrantTypeException,
            "unsupported_grant_type",
            &format!("Unsupported grant type: {g}"),
        )));
    }
    let redirect_uris = input.redirect_uris.clone().unwrap_or_default();
    if let Some(u) = redirect_uris.iter().find(|u| !is_loopback_redirect(u)) {
        return Ok(Err(oauth(
            Error::InvalidRedirectUriException,
            "invalid_redirect_uri",
            &format!("Invalid redirect URI: {u}"),
        )));
    }
    if grant_types.iter().any(|g| g == GRANT_CODE) {
        if redirect_uris.is_empty() {
            return Ok(Err(oauth(
                Error::InvalidRedirectUriException,
                "invalid_redirect_uri",
                "Redirect URIs are required for the authorization_code grant",
            )));
        }
        if input.issuer_url.is_none() {
            return Ok(Err(invalid_request(
                "issuerUrl is required for the authorization_code grant",
            )));
        }
    }
    let scopes = input.scopes.clone().unwrap_or_default();
    if let Some(s) = scopes.iter().find(|s| !valid_scope(s)) {
        return Ok(Err(oauth(
            Error::InvalidScopeException,
            "invalid_scope",
            &format!("Invalid scope: {s}"),
        )));
    }
    if let Some(url) = &input.issuer_url
        && instance_for_url(tx, url)?.is_none()
    {
        return Ok(Err(invalid_request("Invalid issuer URL")));
    }
    let id = new_secret(ids, 22);
    let secret = new_secret(ids, 120);
    let issued_s = now_ms.div_euclid(1000);
    let rec = ClientRec {
        v: FORMAT,
        id: id.clone(),
        secret_hash: hash_secret(&secret),
        name: input.client_name.clone(),
        client_type: input.client_type.clone(),
        grant_types,
        redirect_uris,
        scopes,
        issuer_url: input.issuer_url.clone(),
        issued_ms: now_ms,
        expires_ms: (issued_s + CLIENT_TTL_S) * 1000,
    };
    model::put_json(tx, CLIENTS, &id, &rec)?;
    Ok(Ok(types::RegisterClientResponse {
        authorization_endpoint: None,
        client_id: Some(id),
        client_id_issued_at: Some(issued_s),
        client_secret: Some(secret),
        client_secret_expires_at: Some(issued_s + CLIENT_TTL_S),
        token_endpoint: None,
    }))
}

/// Scopes as Identity Center names them: `sso:account:access`, `openid`, or an
/// application's `<prefix>:<scope>` (`codewhisperer:completions`, …).
pub(crate) fn valid_scope(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.' | '/'))
}

/// The letters of a user code: no vowels, no look-alikes (RFC 8628 §6.1).
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

pub fn start_device_authorization(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    public_url: &str,
    input: &types::StartDeviceAuthorizationRequest,
) -> Result<Result<types::StartDeviceAuthorizationResponse, ApiError>, Failure> {
    let client = match authenticate_client(tx, now_ms, &input.client_id, &input.client_secret)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    if !client.allows(GRANT_DEVICE) {
        return Ok(Err(oauth(
            Error::UnauthorizedClientException,
            "unauthorized_client",
            "Client is not authorized for the device code grant",
        )));
    }
    let Some(inst) = instance_for_url(tx, &input.start_url)? else {
        return Ok(Err(invalid_request("Invalid start URL")));
    };
    let device_code = new_secret(ids, 86);
    let user_code = {
        let a = ids.pick(USER_CODE_ALPHABET, 4);
        let b = ids.pick(USER_CODE_ALPHABET, 4);
        format!("{a}-{b}")
    };
    let h = hash_secret(&device_code);
    let rec = DeviceRec {
        v: FORMAT,
        client_id: client.id.clone(),
        instance_id: inst.id.clone(),
        user_code: user_code.clone(),
        expires_ms: now_ms + DEVICE_TTL_S * 1000,
        last_poll_ms: 0,
        status: String::from("PENDING"),
        user_id: None,
        user_name: None,
        session_expires_ms: None,
    };
    model::put_json(tx, DEVICES, &h, &rec)?;
    tx.put(USER_CODES, user_code.as_bytes(), h.as_bytes())?;
    let verification_uri = format!("{public_url}/device");
    Ok(Ok(types::StartDeviceAuthorizationResponse {
        device_code: Some(device_code),
        expires_in: Some(DEVICE_TTL_S as i32),
        interval: Some(DEVICE_INTERVAL_S as i32),
        user_code: Some(user_code.clone()),
        verification_uri_complete: Some(format!("{verification_uri}?user_code={user_code}")),
        verification_uri: Some(verification_uri),
    }))
}

/// The pending device authorization behind a user code (the portal's device page).
pub fn device_by_user_code(
    tx: &mut dyn Tx,
    now_ms: i64,
    user_code: &str,
) -> Result<Option<(String, DeviceRec)>, Failure> {
    let code = user_code.trim().to_ascii_uppercase();
    let Some(h) = tx.get(USER_CODES, code.as_bytes())? else {
        return Ok(None);
    };
    let h = String::from_utf8(h).map_err(|_| model::corrupt(USER_CODES))?;
    let rec: Option<DeviceRec> = model::get_json(tx, DEVICES, &h)?;
    Ok(rec
        .filter(|r| r.status == "PENDING" && now_ms < r.expires_ms)
        .map(|r| (h, r)))
}

/// The signed-in user approves or denies a device authorization.
pub fn decide_device(
    tx: &mut dyn Tx,
    device_hash: &str,
    approve: bool,
    user_id: &str,
    user_name: &str,
    session_expires_ms: i64,
) -> Result<(), Failure> {
    let rec: Option<DeviceRec> = model::get_json(tx, DEVICES, device_hash)?;
    if let Some(mut rec) = rec {
        rec.status = String::from(if approve { "APPROVED" } else { "DENIED" });
        rec.user_id = Some(user_id.to_owned());
        rec.user_name = Some(user_name.to_owned());
        rec.session_expires_ms = Some(session_expires_ms);
        tx.delete(USER_CODES, rec.user_code.as_bytes())?;
        model::put_json(tx, DEVICES, device_hash, &rec)?;
    }
    Ok(())
}

/// The base64url SHA-256 of a PKCE verifier (RFC 7636 §4.2, S256).
pub fn s256(verifier: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A request on the `/authorize` page, checked against the client's registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub code_challenge_method: String,
    pub scopes: Vec<String>,
}

/// Why an `/authorize` request cannot be answered with a redirect (RFC 6749 §4.1.2.1: an
/// unknown client or redirect URI is shown to the user, never redirected to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Shown on the page.
    Page(&'static str),
    /// Sent back to the client's redirect URI as `error=…`.
    Redirect(&'static str),
}

/// Whether a redirect URI of a request is the registered one. For a loopback address any
/// port matches (RFC 8252 §7.3: native apps listen on a port chosen at run time; the AWS
/// CLI registers `http://127.0.0.1/oauth/callback` and redirects to it with a port).
pub(crate) fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let strip = |u: &str| -> Option<String> {
        let rest = u.strip_prefix("http://")?;
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let host = match host.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
            _ => host,
        };
        matches!(host, "127.0.0.1" | "localhost" | "[::1]").then(|| format!("{host}{path}"))
    };
    matches!((strip(registered), strip(requested)), (Some(a), Some(b)) if a == b)
}

pub fn check_authorize(
    tx: &mut dyn Tx,
    now_ms: i64,
    req: &AuthorizeRequest,
) -> Result<Result<(ClientRec, InstanceRec), AuthorizeError>, Failure> {
    if req.client_id.starts_with("arn:") {
        return crate::oidc_iam::check_authorize(tx, req);
    }
    let Some(client) = client(tx, &req.client_id)?.filter(|c| now_ms < c.expires_ms) else {
        return Ok(Err(AuthorizeError::Page(
            "The application is not registered.",
        )));
    };
    if !client
        .redirect_uris
        .iter()
        .any(|u| redirect_matches(u, &req.redirect_uri))
    {
        return Ok(Err(AuthorizeError::Page(
            "The redirect URI is not registered for this application.",
        )));
    }
    let Some(inst) = client
        .issuer_url
        .as_deref()
        .map(|u| instance_for_url(tx, u))
        .transpose()?
        .flatten()
    else {
        return Ok(Err(AuthorizeError::Page(
            "The application's issuer is not an Identity Center instance here.",
        )));
    };
    if !client.allows(GRANT_CODE) {
        return Ok(Err(AuthorizeError::Redirect("unauthorized_client")));
    }
    if req.code_challenge_method != "S256" || req.code_challenge.len() < 43 {
        return Ok(Err(AuthorizeError::Redirect("invalid_request")));
    }
    if req.scopes.iter().any(|s| !valid_scope(s)) {
        return Ok(Err(AuthorizeError::Redirect("invalid_scope")));
    }
    Ok(Ok((client, inst)))
}

/// Issues the authorization code the `/authorize` page redirects with.
#[allow(clippy::too_many_arguments, reason = "the parts of one grant, named")]
pub fn issue_code(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    req: &AuthorizeRequest,
    inst: &InstanceRec,
    user_id: &str,
    user_name: &str,
    session_expires_ms: i64,
) -> Result<String, Failure> {
    let code = new_secret(ids, 64);
    let rec = CodeRec {
        v: FORMAT,
        client_id: req.client_id.clone(),
        instance_id: inst.id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        code_challenge: req.code_challenge.clone(),
        scopes: req.scopes.clone(),
        user_id: user_id.to_owned(),
        user_name: user_name.to_owned(),
        expires_ms: now_ms + CODE_TTL_MS,
        session_expires_ms,
    };
    model::put_json(tx, CODES, &hash_secret(&code), &rec)?;
    Ok(code)
}

fn issue_tokens(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    client: &ClientRec,
    grant: GrantRec,
) -> Result<types::CreateTokenResponse, Failure> {
    let t = issue(tx, ids, now_ms, client.allows(GRANT_REFRESH), grant)?;
    Ok(types::CreateTokenResponse {
        access_token: Some(t.access),
        expires_in: Some(t.expires_in),
        id_token: None,
        refresh_token: t.refresh,
        token_type: Some(String::from("Bearer")),
    })
}

/// Tokens just issued: the access token, its refresh token, seconds until the access
/// token expires.
pub(crate) struct Issued {
    pub access: String,
    pub refresh: Option<String>,
    pub expires_in: i32,
}

/// Issues an access token for `grant` (and a refresh token with it when `with_refresh`),
/// stored as their hashes; the access token lasts an hour, never beyond the session.
pub(crate) fn issue(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    with_refresh: bool,
    grant: GrantRec,
) -> Result<Issued, Failure> {
    let access = format!("aoa{}", new_secret(ids, 197));
    let access_hash = hash_secret(&access);
    let refresh = with_refresh.then(|| format!("aor{}", new_secret(ids, 197)));
    let refresh_hash = refresh.as_deref().map(hash_secret);
    let expires_ms = (now_ms + ACCESS_TTL_S * 1000).min(grant.session_expires_ms);
    let user_key = format!("{}/{}/", grant.store, grant.user_id);
    if let Some(rh) = &refresh_hash {
        model::put_json(tx, REFRESH, rh, &grant)?;
        tx.put(USER_TOKENS, format!("{user_key}r{rh}").as_bytes(), b"")?;
    }
    tx.put(
        USER_TOKENS,
        format!("{user_key}{access_hash}").as_bytes(),
        b"",
    )?;
    let rec = TokenRec {
        v: FORMAT,
        grant,
        issued_ms: now_ms,
        expires_ms,
        refresh_hash,
    };
    model::put_json(tx, TOKENS, &access_hash, &rec)?;
    Ok(Issued {
        access,
        refresh,
        expires_in: i32::try_from((expires_ms - now_ms).div_euclid(1000)).unwrap_or(0),
    })
}

fn grant_for(
    tx: &mut dyn Tx,
    client: &ClientRec,
    instance_id: &str,
    user_id: &str,
    user_name: &str,
    scopes: Vec<String>,
    session_expires_ms: i64,
) -> Result<Option<GrantRec>, Failure> {
    let Some(inst) = model::instance(tx, instance_id)? else {
        return Ok(None);
    };
    Ok(Some(GrantRec {
        v: FORMAT,
        client_id: client.id.clone(),
        instance_id: inst.id,
        store: inst.store_id,
        user_id: user_id.to_owned(),
        user_name: user_name.to_owned(),
        scopes,
        session_expires_ms,
    }))
}

pub fn create_token(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    input: &types::CreateTokenRequest,
) -> Result<Result<types::CreateTokenResponse, ApiError>, Failure> {
    let client = match authenticate_client(tx, now_ms, &input.client_id, &input.client_secret)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let grant = input.grant_type.as_str();
    if ![GRANT_DEVICE, GRANT_CODE, GRANT_REFRESH].contains(&grant) {
        return Ok(Err(oauth(
            Error::UnsupportedGrantTypeException,
            "unsupported_grant_type",
            &format!("Unsupported grant type: {grant}"),
        )));
    }
    if !client.allows(grant) {
        return Ok(Err(oauth(
            Error::UnauthorizedClientException,
            "unauthorized_client",
            "Client is not authorized for this grant type",
        )));
    }
    match grant {
        GRANT_DEVICE => {
            let Some(code) = input.device_code.as_deref() else {
                return Ok(Err(invalid_request("deviceCode is required")));
            };
            let h = hash_secret(code);
            let rec: Option<DeviceRec> = model::get_json(tx, DEVICES, &h)?;
            let Some(mut rec) = rec.filter(|r| r.client_id == client.id) else {
                return Ok(Err(invalid_grant("Invalid device code provided")));
            };
            if now_ms >= rec.expires_ms {
                tx.delete(DEVICES, h.as_bytes())?;
                tx.delete(USER_CODES, rec.user_code.as_bytes())?;
                return Ok(Err(oauth(
                    Error::ExpiredTokenException,
                    "expired_token",
                    "Device code has expired",
                )));
            }
            match rec.status.as_str() {
                "APPROVED" => {
                    tx.delete(DEVICES, h.as_bytes())?;
                    let (Some(uid), Some(uname), Some(sess)) = (
                        rec.user_id.clone(),
                        rec.user_name.clone(),
                        rec.session_expires_ms,
                    ) else {
                        return Err(model::corrupt(DEVICES));
                    };
                    let Some(g) = grant_for(
                        tx,
                        &client,
                        &rec.instance_id,
                        &uid,
                        &uname,
                        client.scopes.clone(),
                        sess,
                    )?
                    else {
                        return Ok(Err(invalid_grant("Invalid device code provided")));
                    };
                    issue_tokens(tx, ids, now_ms, &client, g).map(Ok)
                }
                "DENIED" => {
                    tx.delete(DEVICES, h.as_bytes())?;
                    Ok(Err(oauth(
                        Error::AccessDeniedException,
                        "access_denied",
                        "The user denied the authorization request",
                    )))
                }
                _ => {
                    // RFC 8628 §3.5: polling faster than the interval is `slow_down`.
                    let early = now_ms - rec.last_poll_ms < DEVICE_INTERVAL_S * 1000;
                    rec.last_poll_ms = now_ms;
                    model::put_json(tx, DEVICES, &h, &rec)?;
                    Ok(Err(if early {
                        oauth(
                            Error::SlowDownException,
                            "slow_down",
                            "Client is polling too fast",
                        )
                    } else {
                        oauth(
                            Error::AuthorizationPendingException,
                            "authorization_pending",
                            "Authorization is still pending",
                        )
                    }))
                }
            }
        }
        GRANT_CODE => {
            let (Some(code), Some(verifier), Some(redirect)) = (
                input.code.as_deref(),
                input.code_verifier.as_deref(),
                input.redirect_uri.as_deref(),
            ) else {
                return Ok(Err(invalid_request(
                    "code, codeVerifier and redirectUri are required",
                )));
            };
            let h = hash_secret(code);
            let rec: Option<CodeRec> = model::get_json(tx, CODES, &h)?;
            // A code is used once, even when the exchange fails (RFC 6749 §4.1.2).
            tx.delete(CODES, h.as_bytes())?;
            let Some(rec) = rec.filter(|r| r.client_id == client.id && now_ms < r.expires_ms)
            else {
                return Ok(Err(invalid_grant("Invalid authorization code provided")));
            };
            if rec.redirect_uri != redirect || s256(verifier) != rec.code_challenge {
                return Ok(Err(invalid_grant("Invalid authorization code provided")));
            }
            let Some(g) = grant_for(
                tx,
                &client,
                &rec.instance_id,
                &rec.user_id,
                &rec.user_name,
                rec.scopes.clone(),
                rec.session_expires_ms,
            )?
            else {
                return Ok(Err(invalid_grant("Invalid authorization code provided")));
            };
            issue_tokens(tx, ids, now_ms, &client, g).map(Ok)
        }
        _ => {
            let Some(token) = input.refresh_token.as_deref() else {
                return Ok(Err(invalid_request("refreshToken is required")));
            };
            let h = hash_secret(token);
            let rec: Option<GrantRec> = model::get_json(tx, REFRESH, &h)?;
            let Some(g) = rec.filter(|g| g.client_id == client.id) else {
                return Ok(Err(invalid_grant("Invalid refresh token provided")));
            };
            if now_ms >= g.session_expires_ms {
                tx.delete(REFRESH, h.as_bytes())?;
                return Ok(Err(oauth(
                    Error::ExpiredTokenException,
                    "expired_token",
                    "Refresh token has expired",
                )));
            }
            // Refresh tokens rotate: the old one is spent.
            tx.delete(REFRESH, h.as_bytes())?;
            tx.delete(
                USER_TOKENS,
                format!("{}/{}/r{h}", g.store, g.user_id).as_bytes(),
            )?;
            if crate::directory::user(tx, &g.store, &g.user_id)?.is_none() {
                return Ok(Err(invalid_grant("Invalid refresh token provided")));
            }
            issue_tokens(tx, ids, now_ms, &client, g).map(Ok)
        }
    }
}

/// The grant behind a portal bearer token, if it is current and its user still exists.
pub fn access_token(
    tx: &mut dyn Tx,
    now_ms: i64,
    token: &str,
) -> Result<Option<TokenRec>, Failure> {
    let rec: Option<TokenRec> = model::get_json(tx, TOKENS, &hash_secret(token))?;
    let Some(rec) = rec.filter(|r| now_ms < r.expires_ms) else {
        return Ok(None);
    };
    if crate::directory::user(tx, &rec.grant.store, &rec.grant.user_id)?.is_none() {
        return Ok(None);
    }
    Ok(Some(rec))
}

/// Revokes an access token and the refresh token issued with it (`sso:Logout`).
pub fn revoke_token(tx: &mut dyn Tx, token: &str) -> Result<bool, Failure> {
    revoke_token_hash(tx, &hash_secret(token))
}

/// [`revoke_token`] by the token's stored hash.
pub fn revoke_token_hash(tx: &mut dyn Tx, h: &str) -> Result<bool, Failure> {
    let rec: Option<TokenRec> = model::get_json(tx, TOKENS, h)?;
    let Some(rec) = rec else { return Ok(false) };
    let user_key = format!("{}/{}/", rec.grant.store, rec.grant.user_id);
    if let Some(rh) = &rec.refresh_hash {
        tx.delete(REFRESH, rh.as_bytes())?;
        tx.delete(USER_TOKENS, format!("{user_key}r{rh}").as_bytes())?;
    }
    tx.delete(TOKENS, h.as_bytes())?;
    tx.delete(USER_TOKENS, format!("{user_key}{h}").as_bytes())?;
    Ok(true)
}

/// Revokes every token of a user.
pub fn revoke_user_tokens(tx: &mut dyn Tx, store: &str, user_id: &str) -> Result<(), Failure> {
    let prefix = format!("{store}/{user_id}/");
    for (k, _) in tx.scan_prefix(USER_TOKENS, prefix.as_bytes(), false, usize::MAX)? {
        if let Some(rest) = k.get(prefix.len()..) {
            match rest.strip_prefix(b"r") {
                Some(rh) => tx.delete(REFRESH, rh)?,
                None => tx.delete(TOKENS, rest)?,
            };
        }
        tx.delete(USER_TOKENS, &k)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn start_urls_name_their_store() {
        assert_eq!(
            store_id_in("https://d-90677c1a2b.awsapps.com/start").as_deref(),
            Some("d-90677c1a2b")
        );
        assert_eq!(
            store_id_in("http://127.0.0.1:4566/start/d-0123456789").as_deref(),
            Some("d-0123456789")
        );
        assert_eq!(store_id_in("http://127.0.0.1/start"), None);
        assert_eq!(store_id_in("http://x/start/d-0123456789a"), None);
    }

    #[test]
    fn loopback_redirects_match_on_any_port() {
        let reg = "http://127.0.0.1/oauth/callback";
        assert!(redirect_matches(
            reg,
            "http://127.0.0.1:43953/oauth/callback"
        ));
        assert!(!redirect_matches(reg, "http://127.0.0.1:43953/other"));
        assert!(!redirect_matches(
            reg,
            "http://localhost:43953/oauth/callback"
        ));
        assert!(!redirect_matches(
            "https://app.example.com/cb",
            "https://app.example.com:8443/cb"
        ));
    }

    #[test]
    fn redirects_are_loopback_or_https() {
        assert!(is_loopback_redirect("http://127.0.0.1:5123/oauth/callback"));
        assert!(is_loopback_redirect("http://localhost/cb"));
        assert!(is_loopback_redirect("https://app.example.com/cb"));
        assert!(!is_loopback_redirect("http://evil.example.com/cb"));
        assert!(!is_loopback_redirect("http://127.0.0.1.evil.com/cb"));
        assert!(!is_loopback_redirect("myapp://cb"));
    }
}
