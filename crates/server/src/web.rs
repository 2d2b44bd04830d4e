//! The access portal's pages: sign-in, password setup and reset, the accounts and roles of
//! the signed-in user with their command-line credentials, the device-code approval page and
//! the `/authorize` page of the authorization-code flow (sso-oidc). Server-rendered HTML,
//! forms that work without JavaScript.
//!
//! Every page goes through [`entry`], the one door of the web adapter: it reads the
//! request, resolves the browser session from its cookie (the web authenticator), refuses a
//! state-changing form without the session's CSRF token (or, before sign-in, the CSRF
//! cookie's), and only then runs the page. Sign-ins are CloudTrail events in the transaction
//! that counts them.
//!
//! Cookies: `cairn-portal` (the session: opaque, stored hashed, `HttpOnly`, `SameSite=Lax`,
//! `Secure` when the public URL is HTTPS; a new one at each sign-in; ended server-side at
//! sign-out) and `cairn-csrf` (the CSRF token of the forms shown before sign-in).

use crate::app::App;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use cairn_core::{AuditEvent, Failure, FederatedIdentity, Principal};
use cairn_sso::directory::UserRec;
use cairn_sso::mfa::Step;
use cairn_sso::model::InstanceRec;
use cairn_sso::oidc::{self, AuthorizeError, AuthorizeRequest};
use cairn_sso::signin::{self, SignIn, WebSessionRec};
use cairn_store::Tx;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

const SESSION_COOKIE: &str = "cairn-portal";
const CSRF_COOKIE: &str = "cairn-csrf";
/// A sign-in that passed the password and owes the second factor.
const SIGNIN_COOKIE: &str = "cairn-signin";
/// A browser that completed MFA (context-aware prompts skip it).
const DEVICE_COOKIE: &str = "cairn-device";
/// The largest form accepted.
const MAX_FORM: usize = 64 * 1024;

/// What a page answers.
enum Page {
    Html {
        status: StatusCode,
        body: String,
        cookies: Vec<String>,
    },
    Redirect {
        to: String,
        cookies: Vec<String>,
    },
}

fn html(status: StatusCode, body: String) -> Page {
    Page::Html {
        status,
        body,
        cookies: Vec::new(),
    }
}

fn redirect(to: impl Into<String>) -> Page {
    Page::Redirect {
        to: to.into(),
        cookies: Vec::new(),
    }
}

/// A request, read.
struct WebReq {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    form: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
    source_ip: String,
    user_agent: String,
    /// The full path and query, for `next`.
    uri: String,
}

impl WebReq {
    fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn f(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_cookies(raw: &str) -> Vec<(String, String)> {
    raw.split(';')
        .filter_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            Some((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// The web adapter's one door (see the module doc).
pub async fn entry(State(app): State<Arc<App>>, req: Request) -> Response {
    let source_ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| String::from("127.0.0.1"), |c| c.0.ip().to_string());
    let (parts, body) = req.into_parts();
    let header = |n: header::HeaderName| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut form = Vec::new();
    if parts.method == Method::POST {
        use http_body_util::BodyExt as _;
        let limited = http_body_util::Limited::new(body, MAX_FORM);
        let Ok(collected) = limited.collect().await else {
            return render(
                &app,
                html(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    message_page("Request too large", "The form could not be read."),
                ),
            );
        };
        form = cairn_wire::query::parse_form(&collected.to_bytes());
    }
    let req = WebReq {
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
        query: cairn_wire::query::parse_form(parts.uri.query().unwrap_or("").as_bytes()),
        form,
        cookies: parse_cookies(&header(header::COOKIE)),
        source_ip,
        user_agent: header(header::USER_AGENT),
        uri: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
    };
    let page = match serve(&app, &req).await {
        Ok(p) => p,
        Err(Failure(e)) => {
            tracing::error!(error = %e, path = %req.path, "a portal page failed");
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                message_page(
                    "Something went wrong",
                    "The portal could not complete the request. Try again.",
                ),
            )
        }
    };
    render(&app, page)
}

fn secure(app: &App) -> bool {
    app.config.public_url.starts_with("https://")
}

fn cookie(app: &App, name: &str, value: &str, max_age_s: i64) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}");
    if secure(app) {
        c.push_str("; Secure");
    }
    c
}

fn render(app: &App, page: Page) -> Response {
    let (status, body, location, cookies) = match page {
        Page::Html {
            status,
            body,
            cookies,
        } => (status, body, None, cookies),
        Page::Redirect { to, cookies } => (StatusCode::FOUND, String::new(), Some(to), cookies),
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self' http://127.0.0.1:* http://localhost:* https:; frame-ancestors 'none'"),
    );
    if let Some(to) = location
        && let Ok(v) = HeaderValue::from_str(&to)
    {
        h.insert(header::LOCATION, v);
    }
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    let _ = app;
    resp
}

/// A signed-in browser: its session cookie, the session, and the principal the core's
/// browser-session authenticator made of it.
struct Signed {
    cookie: String,
    rec: WebSessionRec,
    principal: Principal,
}

/// The signed-in session of this browser, if any (the core's browser-session
/// authenticator, `authn::browser_session`).
async fn session_of(app: &App, req: &WebReq) -> Result<Option<Signed>, Failure> {
    let Some(c) = req.cookie(SESSION_COOKIE).map(str::to_owned) else {
        return Ok(None);
    };
    let found = crate::authn::browser_session(app, c.clone()).await?;
    Ok(found.map(|(rec, _, principal)| Signed {
        cookie: c,
        rec,
        principal,
    }))
}

async fn serve(app: &Arc<App>, req: &WebReq) -> Result<Page, Failure> {
    let session = session_of(app, req).await?;
    // CSRF: every POST carries the session's token, or — before sign-in — the CSRF cookie's.
    if req.method == Method::POST {
        let sent = req.f("csrf").unwrap_or("");
        let ok = match &session {
            Some(Signed { rec: s, .. }) if sent == s.csrf => true,
            _ => req
                .cookie(CSRF_COOKIE)
                .is_some_and(|c| !c.is_empty() && c == sent),
        };
        if !ok {
            return Ok(html(
                StatusCode::FORBIDDEN,
                message_page(
                    "Request refused",
                    "The form expired or did not come from this portal. Go back, reload the page and try again.",
                ),
            ));
        }
    }
    if let Some(Signed { cookie, rec: s, .. }) = &session {
        let now = app.env.clock.now_millis();
        if now - s.last_seen_ms >= 60_000 {
            let c = cookie.clone();
            app.env
                .store
                .write(move |tx| signin::touch(tx, now, &c))
                .await?;
        }
    }
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    let post = req.method == Method::POST;
    match segments.as_slice() {
        ["start"] | ["start", ""] => start_redirect(app).await,
        ["device"] if post => device_decide(app, req, session).await,
        ["device"] => device_page(app, req, session).await,
        ["authorize"] if post => authorize_decide(app, req, session).await,
        ["authorize"] => authorize_page(app, req, session).await,
        ["start", store, rest @ ..] => {
            let store = (*store).to_owned();
            let Some(inst) = instance(app, &store).await? else {
                return Ok(not_found());
            };
            // A session of another instance is no session here.
            let session = session.filter(|x| x.rec.instance_id == inst.id);
            match (rest, post) {
                ([] | [""], false) => home(app, req, &inst, session).await,
                (["signin"], true) => sign_in(app, req, &inst, session).await,
                (["signout"], true) => sign_out(app, req, &inst, session).await,
                (["mfa"], false) => mfa_page(app, req, &inst).await,
                (["mfa"], true) => mfa(app, req, &inst).await,
                (["setup"], false) => setup_page(app, req, &inst).await,
                (["setup"], true) => setup(app, req, &inst).await,
                (["forgot"], false) => Ok(forgot_page(app, req, &inst, None)),
                (["forgot"], true) => forgot(app, req, &inst).await,
                (["credentials"], true) => credentials(app, req, &inst, session).await,
                (["console"], false) => console(app, req, &inst, session).await,
                _ => Ok(not_found()),
            }
        }
        _ => Ok(not_found()),
    }
}

fn not_found() -> Page {
    html(
        StatusCode::NOT_FOUND,
        message_page("Not found", "There is no such page."),
    )
}

async fn instance(app: &App, store: &str) -> Result<Option<InstanceRec>, Failure> {
    let url = format!("/start/{store}");
    app.env
        .store
        .read(move |tx| oidc::instance_for_url(tx, &url))
        .await
}

async fn start_redirect(app: &App) -> Result<Page, Failure> {
    let only = app.env.store.read(oidc::only_instance).await?;
    Ok(match only {
        Some(inst) => redirect(format!("/start/{}", inst.store_id)),
        None => html(
            StatusCode::NOT_FOUND,
            message_page(
                "No access portal here",
                "This server has no Identity Center instance, or several: open your instance's start URL.",
            ),
        ),
    })
}

/// A local path to go to after signing in (never another site).
fn safe_next(next: Option<&str>, fallback: &str) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => fallback.to_owned(),
    }
}

// ---------------------------------------------------------------------------- sign-in

fn signin_page(app: &App, inst: &InstanceRec, next: &str, error: Option<&str>) -> Page {
    let csrf = signin::new_secret(app.env.ids.as_ref(), 32);
    let mut body = String::new();
    if let Some(e) = error {
        let _ = write!(body, r#"<p class="error" role="alert">{}</p>"#, esc(e));
    }
    let _ = write!(
        body,
        r#"<form method="post" action="/start/{store}/signin">
<input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<label>Username <input name="username" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
<p><a href="/start/{store}/forgot">Forgot password?</a></p>"#,
        store = esc(&inst.store_id),
        next = esc(next),
    );
    Page::Html {
        status: StatusCode::OK,
        body: layout("Sign in", &body),
        cookies: vec![cookie(app, CSRF_COOKIE, &csrf, 3600)],
    }
}

/// A sign-in step's CloudTrail event (User Guide, "Understanding IAM Identity Center
/// sign-in events": `signin.amazonaws.com`, `CredentialVerification` and
/// `UserAuthentication`, `eventType` `AwsServiceEvent`, the outcome in
/// `serviceEventDetails`, the credential type in `additionalEventData`).
fn signin_event(
    app: &App,
    req: &WebReq,
    inst: &InstanceRec,
    user: Option<&UserRec>,
    user_name: &str,
    name: &str,
    success: bool,
) -> AuditEvent {
    let now = app.env.clock.now_millis();
    let outcome = if success { "Success" } else { "Failure" };
    AuditEvent {
        event_time_ms: now,
        event_id: app.env.ids.uuid_v7(now),
        request_id: app.env.ids.uuid(),
        principal: Principal::Anonymous,
        event_source: String::from("signin.amazonaws.com"),
        event_name: name.to_owned(),
        aws_region: inst.region.clone(),
        source_ip: req.source_ip.clone(),
        user_agent: req.user_agent.clone(),
        request_parameters: None,
        response_elements: None,
        error_code: None,
        error_message: (!success).then(|| String::from("Incorrect username or password")),
        read_only: false,
        event_type: String::from("AwsServiceEvent"),
        management_event: true,
        recipient_account_id: inst.owner.clone(),
        resources: Vec::new(),
        federated: user.map(|u| FederatedIdentity {
            kind: String::from("IdentityCenterUser"),
            principal_id: u.id.clone(),
            identity_provider: inst.store_arn(),
            ..Default::default()
        }),
        service_event_details: Some(serde_json::json!({ name: outcome })),
        additional_event_data: Some(serde_json::json!({
            "CredentialType": "PASSWORD",
            "UserName": user_name,
        })),
    }
}

/// An Identity Store event of the portal user's own directory entry: their password set or
/// reset (`UpdatePassword`), their authenticator app registered at sign-in
/// (`StartVirtualMfaDeviceRegistration`, `CompleteVirtualMfaDeviceRegistration`). Event
/// source `sso-directory.amazonaws.com` (User Guide, "IAM Identity Center information in
/// CloudTrail", the Identity Store operations; AWS Security Blog, "Modifications to AWS
/// CloudTrail event data of IAM Identity Center": MFA management in the access portal
/// records the user as `onBehalfOf` with the `credentialId`) [M: the rest of these
/// records' shape].
fn directory_event(app: &App, req: &WebReq, inst: &InstanceRec, name: &str) -> AuditEvent {
    let now = app.env.clock.now_millis();
    AuditEvent {
        event_time_ms: now,
        event_id: app.env.ids.uuid_v7(now),
        request_id: app.env.ids.uuid(),
        principal: Principal::Anonymous,
        event_source: String::from("sso-directory.amazonaws.com"),
        event_name: name.to_owned(),
        aws_region: inst.region.clone(),
        source_ip: req.source_ip.clone(),
        user_agent: req.user_agent.clone(),
        request_parameters: None,
        response_elements: None,
        error_code: None,
        error_message: None,
        read_only: false,
        event_type: String::from("AwsApiCall"),
        management_event: true,
        recipient_account_id: inst.owner.clone(),
        resources: Vec::new(),
        federated: None,
        service_event_details: None,
        additional_event_data: None,
    }
}

/// The portal user `user_id` of `store_arn`, as a directory event records them.
fn directory_user(user_id: &str, store_arn: &str) -> FederatedIdentity {
    FederatedIdentity {
        kind: String::from("IdentityCenterUser"),
        principal_id: user_id.to_owned(),
        identity_provider: store_arn.to_owned(),
        ..Default::default()
    }
}

async fn home(
    app: &Arc<App>,
    req: &WebReq,
    inst: &InstanceRec,
    session: Option<Signed>,
) -> Result<Page, Failure> {
    let Some(signed) = session else {
        let next = safe_next(req.q("next"), &format!("/start/{}", inst.store_id));
        return Ok(signin_page(app, inst, &next, None));
    };
    // The page is an adapter of the portal API, as AWS's portal is: `ListAccounts`, then
    // `ListAccountRoles` per account, through the core as the signed-in user (authorized and
    // recorded as the bearer-token calls are).
    let rows = match portal_accounts(app, req, &signed).await {
        Ok(rows) => rows,
        // The user or instance went away since the session was read: signed out.
        Err(e) if e.status < 500 => {
            let next = format!("/start/{}", inst.store_id);
            return Ok(signin_page(app, inst, &next, None));
        }
        Err(e) => return Err(Failure(e)),
    };
    let s = &signed.rec;
    let store = esc(&inst.store_id);
    let csrf = esc(&s.csrf);
    let mut body = format!(
        r#"<p>Signed in as <strong>{user}</strong>.</p>
<form method="post" action="/start/{store}/signout"><input type="hidden" name="csrf" value="{csrf}"><button type="submit">Sign out</button></form>
<h2>AWS accounts ({n})</h2>"#,
        user = esc(&s.user_name),
        n = rows.len()
    );
    if rows.is_empty() {
        body.push_str("<p>You do not have access to any AWS account yet.</p>");
    }
    for (account, name, email, roles) in &rows {
        let _ = write!(
            body,
            r#"<section class="account"><h3>{name} <span class="id">{account}</span></h3><p class="email">{email}</p><ul>"#,
            name = esc(name),
            account = esc(account),
            email = esc(email)
        );
        for role in roles {
            let _ = write!(
                body,
                r#"<li><span class="role">{role}</span>
<a href="/start/{store}/console?account={account}&amp;role={role_q}">Management console</a>
<form method="post" action="/start/{store}/credentials" class="inline"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="account" value="{account}"><input type="hidden" name="role" value="{role}"><button type="submit">Command line or programmatic access</button></form></li>"#,
                role = esc(role),
                role_q = esc(&url_encode(role)),
                account = esc(account),
            );
        }
        body.push_str("</ul></section>");
    }
    Ok(html(StatusCode::OK, layout("AWS access portal", &body)))
}

/// Every item of a paged portal API list (`operation` with `input` and the session as its
/// `accessToken`, followed through `nextToken`): the members of the answers' `list`.
async fn portal_list(
    app: &Arc<App>,
    req: &WebReq,
    signed: &Signed,
    operation: &str,
    input: &[(&str, &str)],
    list: &str,
) -> Result<Vec<serde_json::Value>, cairn_wire::ApiError> {
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    // Bounded: a page holds at least one item, and an item appears once.
    for _ in 0..10_000 {
        let mut doc = serde_json::Map::new();
        doc.insert("accessToken".into(), signed.cookie.as_str().into());
        for (k, v) in input {
            doc.insert((*k).into(), (*v).into());
        }
        if let Some(t) = &next {
            doc.insert("nextToken".into(), t.as_str().into());
        }
        let mut page =
            portal_call(app, req, signed, operation, serde_json::Value::Object(doc)).await?;
        if let Some(serde_json::Value::Array(found)) = page.get_mut(list).map(std::mem::take) {
            items.extend(found);
        }
        next = page
            .get("nextToken")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    Ok(items)
}

/// The signed-in user's accounts (ID, name, email) with their roles, read through the portal
/// API (every page of `ListAccounts`, then every page of `ListAccountRoles` of each).
async fn portal_accounts(
    app: &Arc<App>,
    req: &WebReq,
    signed: &Signed,
) -> Result<Vec<(String, String, String, Vec<String>)>, cairn_wire::ApiError> {
    let text = |doc: &serde_json::Value, name: &str| {
        doc.get(name)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let mut rows = Vec::new();
    for a in portal_list(app, req, signed, "ListAccounts", &[], "accountList").await? {
        rows.push((
            text(&a, "accountId"),
            text(&a, "accountName"),
            text(&a, "emailAddress"),
            Vec::new(),
        ));
    }
    for (account, _, _, roles) in &mut rows {
        let input = [("accountId", account.as_str())];
        for r in portal_list(app, req, signed, "ListAccountRoles", &input, "roleList").await? {
            roles.push(text(&r, "roleName"));
        }
    }
    Ok(rows)
}

/// How a correct password goes on.
enum AfterPassword {
    /// Signed in: the session's cookie value and record.
    Session(String, WebSessionRec),
    /// The second factor is owed: the pending sign-in's cookie value.
    Mfa(String),
    /// MFA is required and the user has no device.
    Blocked,
}

fn signin_events(
    app: &App,
    req: &WebReq,
    inst: &InstanceRec,
    user_name: &str,
    credential: &str,
) -> (AuditEvent, AuditEvent, AuditEvent) {
    let mut fail = signin_event(
        app,
        req,
        inst,
        None,
        user_name,
        "CredentialVerification",
        false,
    );
    let mut ok = signin_event(
        app,
        req,
        inst,
        None,
        user_name,
        "CredentialVerification",
        true,
    );
    for e in [&mut fail, &mut ok] {
        if let Some(serde_json::Value::Object(m)) = e.additional_event_data.as_mut() {
            m.insert("CredentialType".into(), credential.into());
        }
    }
    let mut done = signin_event(app, req, inst, None, user_name, "UserAuthentication", true);
    if let Some(serde_json::Value::Object(m)) = done.additional_event_data.as_mut() {
        m.insert(
            "MFAUsed".into(),
            if credential == "PASSWORD" {
                "No"
            } else {
                "Yes"
            }
            .into(),
        );
    }
    (fail, ok, done)
}

fn identity(u: &UserRec, store_arn: &str) -> FederatedIdentity {
    FederatedIdentity {
        kind: String::from("IdentityCenterUser"),
        principal_id: u.id.clone(),
        identity_provider: store_arn.to_owned(),
        ..Default::default()
    }
}

fn locked_page(app: &App, inst: &InstanceRec, next: &str) -> Page {
    signin_page(
        app,
        inst,
        next,
        Some(
            "Your user is locked after too many failed sign-in attempts. Try again in 15 minutes, or reset your password.",
        ),
    )
}

/// The cookies of a new session (and a trusted browser, for context-aware MFA).
fn session_cookies(
    app: &App,
    cookie_value: &str,
    rec: &WebSessionRec,
    trust: Option<&str>,
) -> Vec<String> {
    let now = app.env.clock.now_millis();
    let mut out = vec![
        cookie(
            app,
            SESSION_COOKIE,
            cookie_value,
            (rec.expires_ms - now).div_euclid(1000).max(0),
        ),
        cookie(app, CSRF_COOKIE, "", 0),
        cookie(app, SIGNIN_COOKIE, "", 0),
    ];
    if let Some(t) = trust {
        out.push(cookie(
            app,
            DEVICE_COOKIE,
            t,
            cairn_sso::mfa::TRUST_TTL_MS / 1000,
        ));
    }
    out
}

async fn sign_in(
    app: &App,
    req: &WebReq,
    inst: &InstanceRec,
    session: Option<Signed>,
) -> Result<Page, Failure> {
    let home_path = format!("/start/{}", inst.store_id);
    let next = safe_next(req.f("next"), &home_path);
    let user_name = req.f("username").unwrap_or("").trim().to_owned();
    let given = req.f("password").unwrap_or("").to_owned();
    let now = app.env.clock.now_millis();
    let ids = Arc::clone(&app.env.ids);
    let audit = Arc::clone(&app.env.audit);
    let sealer = app.sealer.clone();
    let inst2 = inst.clone();
    let (fail_event, ok_event, done_event) = signin_events(app, req, inst, &user_name, "PASSWORD");
    let register_event = directory_event(app, req, inst, "StartVirtualMfaDeviceRegistration");
    let old = session.map(|x| x.cookie);
    let browser = req.cookie(DEVICE_COOKIE).map(str::to_owned);
    let store_arn = inst.store_arn();
    let next2 = next.clone();
    // The password is verified outside any transaction (argon2id's tens of milliseconds
    // must not hold the store's writer), then counted in the transaction that records it.
    let inst_r = inst.clone();
    let check = app
        .env
        .store
        .read(move |tx| signin::password_to_verify(tx, now, &inst_r, &user_name))
        .await?;
    let verified = match &check {
        signin::PasswordCheck::Verify {
            hash: Some(hash), ..
        } => {
            let hash = hash.clone();
            tokio::task::spawn_blocking(move || cairn_iam::login::verify_password(&hash, &given))
                .await
                .unwrap_or(false)
        }
        _ => false,
    };
    let outcome = app
        .env
        .store
        .write(move |tx: &mut dyn Tx| {
            let (result, user) = signin::count_password(tx, now, &inst2, check.clone(), verified)?;
            let who = user.as_ref().map(|u| identity(u, &store_arn));
            let record = |tx: &mut dyn Tx, e: &AuditEvent| {
                let mut e = e.clone();
                e.federated = who.clone();
                audit.record_in(tx, &e)
            };
            let SignIn::Ok(u) = result else {
                record(tx, &fail_event)?;
                return Ok::<_, Failure>(Err(result));
            };
            record(tx, &ok_event)?;
            let step = cairn_sso::mfa::next_step(tx, now, &inst2, &u.id, browser.as_deref())?;
            match step {
                Step::Done => {
                    if let Some(c) = &old {
                        signin::end_session(tx, c)?;
                    }
                    let (cookie, rec) = signin::start_session(tx, ids.as_ref(), now, &inst2, &u)?;
                    record(tx, &done_event)?;
                    Ok(Ok(AfterPassword::Session(cookie, rec)))
                }
                Step::Verify | Step::Register => {
                    let pending = cairn_sso::mfa::start_pending(
                        tx,
                        ids.as_ref(),
                        Some(&sealer),
                        now,
                        &inst2,
                        &u,
                        &next2,
                        step == Step::Register,
                    )?;
                    if step == Step::Register {
                        let mut e = register_event.clone();
                        e.federated = Some(directory_user(&u.id, &store_arn));
                        audit.record_in(tx, &e)?;
                    }
                    Ok(Ok(AfterPassword::Mfa(pending)))
                }
                Step::Blocked => Ok(Ok(AfterPassword::Blocked)),
            }
        })
        .await?;
    Ok(match outcome {
        Ok(AfterPassword::Session(cookie_value, rec)) => Page::Redirect {
            to: next,
            cookies: session_cookies(app, &cookie_value, &rec, None),
        },
        Ok(AfterPassword::Mfa(pending)) => Page::Redirect {
            to: format!("/start/{}/mfa", inst.store_id),
            cookies: vec![cookie(app, SIGNIN_COOKIE, &pending, 300)],
        },
        Ok(AfterPassword::Blocked) => html(
            StatusCode::FORBIDDEN,
            message_page(
                "MFA device required",
                "Your administrator requires an MFA device to sign in, and you have none registered. Contact your administrator.",
            ),
        ),
        Err(SignIn::Locked) => locked_page(app, inst, &next),
        Err(_) => signin_page(app, inst, &next, Some("Incorrect username or password.")),
    })
}

fn mfa_form(
    app: &App,
    inst: &InstanceRec,
    enrollment: Option<(String, String)>,
    error: Option<&str>,
) -> Page {
    let csrf = signin::new_secret(app.env.ids.as_ref(), 32);
    let mut body = String::new();
    if let Some(e) = error {
        let _ = write!(body, r#"<p class="error" role="alert">{}</p>"#, esc(e));
    }
    let title = match &enrollment {
        Some((secret, uri)) => {
            use base64::Engine as _;
            let png = cairn_sso::mfa::qr_png(uri).unwrap_or_default();
            let _ = write!(
                body,
                r#"<p>Your administrator requires multi-factor authentication. Register an authenticator app: scan this QR code with it, or enter the secret key by hand.</p>
<p><img id="mfa-qr" alt="QR code of the authenticator app's key" src="data:image/png;base64,{png}"></p>
<p>Secret key: <code id="mfa-secret">{secret}</code></p>"#,
                png = base64::engine::general_purpose::STANDARD.encode(png),
                secret = esc(secret),
            );
            "Register an authenticator app"
        }
        None => {
            body.push_str("<p>Enter the code your authenticator app shows.</p>");
            "Multi-factor authentication"
        }
    };
    let _ = write!(
        body,
        r#"<form method="post" action="/start/{store}/mfa">
<input type="hidden" name="csrf" value="{csrf}">
<label>Authenticator code <input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{{6}}" required autofocus></label>
<button type="submit">Sign in</button>
</form>"#,
        store = esc(&inst.store_id),
    );
    Page::Html {
        status: StatusCode::OK,
        body: layout(title, &body),
        cookies: vec![cookie(app, CSRF_COOKIE, &csrf, 300)],
    }
}

async fn mfa_page(app: &App, req: &WebReq, inst: &InstanceRec) -> Result<Page, Failure> {
    let Some(secret) = req.cookie(SIGNIN_COOKIE).map(str::to_owned) else {
        return Ok(redirect(format!("/start/{}", inst.store_id)));
    };
    let now = app.env.clock.now_millis();
    let p = app
        .env
        .store
        .read(move |tx| cairn_sso::mfa::pending(tx, now, &secret))
        .await?;
    let Some(p) = p.filter(|p| p.instance_id == inst.id) else {
        return Ok(redirect(format!("/start/{}", inst.store_id)));
    };
    let enrollment = cairn_sso::mfa::enrollment(Some(&app.sealer), inst, &p)?;
    Ok(mfa_form(app, inst, enrollment, None))
}

async fn mfa(app: &App, req: &WebReq, inst: &InstanceRec) -> Result<Page, Failure> {
    let Some(secret) = req.cookie(SIGNIN_COOKIE).map(str::to_owned) else {
        return Ok(redirect(format!("/start/{}", inst.store_id)));
    };
    let code = req.f("code").unwrap_or("").to_owned();
    let now = app.env.clock.now_millis();
    let ids = Arc::clone(&app.env.ids);
    let audit = Arc::clone(&app.env.audit);
    let sealer = app.sealer.clone();
    let inst2 = inst.clone();
    let store_arn = inst.store_arn();
    let context_aware = inst.portal.mfa == cairn_sso::model::MFA_CONTEXT_AWARE;
    // The user name is filled in once the pending sign-in is read.
    let (fail_event, ok_event, done_event) = signin_events(app, req, inst, "", "TOTP");
    let registered = directory_event(app, req, inst, "CompleteVirtualMfaDeviceRegistration");
    let outcome = app
        .env
        .store
        .write(move |tx: &mut dyn Tx| {
            let before = cairn_sso::mfa::pending(tx, now, &secret)?;
            let check = cairn_sso::mfa::check_code(tx, Some(&sealer), now, &secret, &code)?;
            let Some(p) = before else {
                return Ok::<_, Failure>(Err((check, None)));
            };
            let user = cairn_sso::directory::user(tx, &p.store, &p.user_id)?;
            let who = user.as_ref().map(|u| identity(u, &store_arn));
            let record = |tx: &mut dyn Tx, e: &AuditEvent| {
                let mut e = e.clone();
                e.federated = who.clone();
                if let Some(serde_json::Value::Object(m)) = e.additional_event_data.as_mut() {
                    m.insert("UserName".into(), p.user_name.clone().into());
                }
                audit.record_in(tx, &e)
            };
            match (check, user) {
                (cairn_sso::mfa::CodeCheck::Ok(done), Some(u)) => {
                    if p.enroll_seed.is_some() {
                        let mut e = registered.clone();
                        e.federated = Some(directory_user(&u.id, &store_arn));
                        audit.record_in(tx, &e)?;
                    }
                    let p = done;
                    record(tx, &ok_event)?;
                    let (cookie, rec) = signin::start_session(tx, ids.as_ref(), now, &inst2, &u)?;
                    record(tx, &done_event)?;
                    let trust = if context_aware {
                        Some(cairn_sso::mfa::trust_browser(
                            tx,
                            ids.as_ref(),
                            now,
                            &p.store,
                            &p.user_id,
                        )?)
                    } else {
                        None
                    };
                    Ok(Ok((cookie, rec, trust, p.next)))
                }
                (check, _) => {
                    record(tx, &fail_event)?;
                    Ok(Err((check, Some(p.next))))
                }
            }
        })
        .await?;
    let home = format!("/start/{}", inst.store_id);
    Ok(match outcome {
        Ok((cookie_value, rec, trust, next)) => Page::Redirect {
            to: safe_next(Some(&next), &home),
            cookies: session_cookies(app, &cookie_value, &rec, trust.as_deref()),
        },
        Err((cairn_sso::mfa::CodeCheck::Locked, next)) => {
            locked_page(app, inst, &safe_next(next.as_deref(), &home))
        }
        Err((cairn_sso::mfa::CodeCheck::Wrong, _)) => {
            let now = app.env.clock.now_millis();
            let s = req.cookie(SIGNIN_COOKIE).unwrap_or("").to_owned();
            let p = app
                .env
                .store
                .read(move |tx| cairn_sso::mfa::pending(tx, now, &s))
                .await?;
            let enrollment = match &p {
                Some(p) => cairn_sso::mfa::enrollment(Some(&app.sealer), inst, p)?,
                None => None,
            };
            mfa_form(
                app,
                inst,
                enrollment,
                Some("The code is not correct. Try again."),
            )
        }
        Err(_) => redirect(home),
    })
}

async fn sign_out(
    app: &Arc<App>,
    req: &WebReq,
    inst: &InstanceRec,
    session: Option<Signed>,
) -> Result<Page, Failure> {
    if let Some(signed) = session {
        // The portal API's `Logout`, through the core as the signed-in user: it ends the
        // credential the call is made with (this browser session) and is recorded as the
        // same call made with a bearer token is.
        let input = serde_json::json!({ "accessToken": signed.cookie });
        if let Err(e) = portal_call(app, req, &signed, "Logout", input).await {
            tracing::warn!(error = %e.code, "portal sign-out failed");
        }
    }
    Ok(Page::Redirect {
        to: format!("/start/{}", inst.store_id),
        cookies: vec![cookie(app, SESSION_COOKIE, "", 0)],
    })
}

/// Runs an operation of the portal API (`sso`) through the core as the signed-in user: the
/// page is its adapter, the browser session its credential (sent as the operation's
/// `accessToken`, recorded hidden as every token is), and the call is authorized, handled
/// and recorded in CloudTrail exactly as the same call made with a bearer token.
async fn portal_call(
    app: &Arc<App>,
    req: &WebReq,
    signed: &Signed,
    operation: &str,
    input: serde_json::Value,
) -> Result<serde_json::Value, cairn_wire::ApiError> {
    let Some((service, op_index)) = crate::exec::find("sso", operation) else {
        tracing::error!(operation, "no such portal operation");
        return Err(cairn_wire::ApiError::internal());
    };
    crate::exec::execute(
        app,
        crate::exec::Entry {
            request_id: app.env.ids.uuid(),
            principal: signed.principal.clone(),
            region: app.config.default_region.clone(),
            source_ip: req.source_ip.clone(),
            user_agent: req.user_agent.clone(),
            service,
            op_index,
            input: Ok(input),
            size_hint: None,
        },
    )
    .await
}

// ---------------------------------------------------------------------------- passwords

fn setup_form(app: &App, inst: &InstanceRec, token: &str, error: Option<&str>) -> Page {
    let csrf = signin::new_secret(app.env.ids.as_ref(), 32);
    let mut body = String::new();
    if let Some(e) = error {
        let _ = write!(body, r#"<p class="error" role="alert">{}</p>"#, esc(e));
    }
    let _ = write!(
        body,
        r#"<p>Choose a password: 8 to 64 characters, with a lower-case letter, an upper-case letter, a number and a non-alphanumeric character.</p>
<form method="post" action="/start/{store}/setup">
<input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="token" value="{token}">
<label>New password <input name="password" type="password" autocomplete="new-password" required autofocus></label>
<label>Confirm password <input name="confirm" type="password" autocomplete="new-password" required></label>
<button type="submit">Set new password</button>
</form>"#,
        store = esc(&inst.store_id),
        token = esc(token)
    );
    Page::Html {
        status: StatusCode::OK,
        body: layout("Set your password", &body),
        cookies: vec![cookie(app, CSRF_COOKIE, &csrf, 3600)],
    }
}

async fn setup_page(app: &App, req: &WebReq, inst: &InstanceRec) -> Result<Page, Failure> {
    let token = req.q("token").unwrap_or("").to_owned();
    let now = app.env.clock.now_millis();
    let t = token.clone();
    let link = app
        .env
        .store
        .read(move |tx| signin::link(tx, now, &t))
        .await?;
    Ok(match link {
        Some(l) if l.store == inst.store_id => setup_form(app, inst, &token, None),
        _ => html(
            StatusCode::BAD_REQUEST,
            message_page(
                "Link expired",
                "This link was used already or has expired. Ask your administrator for a new invitation, or reset your password from the sign-in page.",
            ),
        ),
    })
}

async fn setup(app: &App, req: &WebReq, inst: &InstanceRec) -> Result<Page, Failure> {
    let token = req.f("token").unwrap_or("").to_owned();
    let password = req.f("password").unwrap_or("").to_owned();
    if Some(password.as_str()) != req.f("confirm") {
        return Ok(setup_form(
            app,
            inst,
            &token,
            Some("The passwords do not match."),
        ));
    }
    let now = app.env.clock.now_millis();
    let ids = Arc::clone(&app.env.ids);
    let audit = Arc::clone(&app.env.audit);
    let event = directory_event(app, req, inst, "UpdatePassword");
    let store_arn = inst.store_arn();
    let t = token.clone();
    let result = app
        .env
        .store
        .write(move |tx| {
            let r = signin::set_password_with_link(tx, ids.as_ref(), now, &t, &password)?;
            if let Ok(link) = &r {
                let mut e = event.clone();
                e.federated = Some(directory_user(&link.user_id, &store_arn));
                audit.record_in(tx, &e)?;
            }
            Ok::<_, Failure>(r)
        })
        .await?;
    Ok(match result {
        Ok(_) => html(
            StatusCode::OK,
            layout(
                "Password set",
                &format!(
                    r#"<p>Your password is set.</p><p><a href="/start/{}">Sign in</a></p>"#,
                    esc(&inst.store_id)
                ),
            ),
        ),
        Err(signin::SetError::Rules(m)) => setup_form(app, inst, &token, Some(m)),
        Err(signin::SetError::Reused) => setup_form(
            app,
            inst,
            &token,
            Some("Choose a password you have not used recently."),
        ),
        Err(signin::SetError::BadLink) => html(
            StatusCode::BAD_REQUEST,
            message_page("Link expired", "This link was used already or has expired."),
        ),
    })
}

fn forgot_page(app: &App, _req: &WebReq, inst: &InstanceRec, note: Option<&str>) -> Page {
    let csrf = signin::new_secret(app.env.ids.as_ref(), 32);
    let mut body = String::new();
    if let Some(n) = note {
        let _ = write!(body, r#"<p class="note" role="status">{}</p>"#, esc(n));
    }
    let _ = write!(
        body,
        r#"<form method="post" action="/start/{store}/forgot">
<input type="hidden" name="csrf" value="{csrf}">
<label>Username <input name="username" autocomplete="username" required autofocus></label>
<button type="submit">Send reset email</button>
</form>"#,
        store = esc(&inst.store_id)
    );
    Page::Html {
        status: StatusCode::OK,
        body: layout("Forgot password", &body),
        cookies: vec![cookie(app, CSRF_COOKIE, &csrf, 3600)],
    }
}

async fn forgot(app: &App, req: &WebReq, inst: &InstanceRec) -> Result<Page, Failure> {
    let user_name = req.f("username").unwrap_or("").trim().to_owned();
    let now = app.env.clock.now_millis();
    let ids = Arc::clone(&app.env.ids);
    let inst2 = inst.clone();
    let base = app.config.public_url.clone();
    app.env
        .store
        .write(move |tx| {
            if let Some(u) = cairn_sso::directory::user_by_name(tx, &inst2.store_id, &user_name)? {
                signin::invite(tx, ids.as_ref(), now, &inst2, &u, &base, "reset")?;
            }
            Ok::<_, Failure>(())
        })
        .await?;
    // The same answer whether or not the user exists.
    Ok(forgot_page(
        app,
        req,
        inst,
        Some(
            "If that user exists and has an email address, a link to reset the password is on its way.",
        ),
    ))
}

// ---------------------------------------------------------------------------- credentials

/// A role session's credentials, as the credentials panel shows them.
struct RoleCreds {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: cairn_wire::types::Timestamp,
}

async fn credentials(
    app: &Arc<App>,
    req: &WebReq,
    inst: &InstanceRec,
    session: Option<Signed>,
) -> Result<Page, Failure> {
    let Some(signed) = session else {
        return Ok(redirect(format!("/start/{}", inst.store_id)));
    };
    let account = req.f("account").unwrap_or("").to_owned();
    let role = req.f("role").unwrap_or("").to_owned();
    // The portal API's `GetRoleCredentials`, through the core (see `portal_call`).
    let input = serde_json::json!({
        "accessToken": signed.cookie,
        "accountId": account,
        "roleName": role,
    });
    let answer = portal_call(app, req, &signed, "GetRoleCredentials", input).await;
    let field = |doc: &serde_json::Value, name: &str| {
        doc.pointer(&format!("/roleCredentials/{name}"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let c = match answer {
        Ok(doc) => RoleCreds {
            access_key_id: field(&doc, "accessKeyId"),
            secret_access_key: field(&doc, "secretAccessKey"),
            session_token: field(&doc, "sessionToken"),
            expiration: cairn_wire::types::Timestamp::from_millis(
                doc.pointer("/roleCredentials/expiration")
                    .and_then(serde_json::Value::as_i64)
                    .unwrap_or(0),
            ),
        },
        Err(e) if e.status >= 500 => {
            tracing::error!(error = %e.code, "issuing portal credentials failed");
            return Err(Failure(e));
        }
        Err(_) => {
            return Ok(html(
                StatusCode::FORBIDDEN,
                message_page("No access", "You do not have this role in this account."),
            ));
        }
    };
    let profile = format!("{account}_{role}");
    let body = format!(
        r#"<p>Credentials for <strong>{role}</strong> in account <strong>{account}</strong>, valid until {exp}.</p>
<h2>Environment variables</h2>
<pre id="env">export AWS_ACCESS_KEY_ID="{ak}"
export AWS_SECRET_ACCESS_KEY="{sk}"
export AWS_SESSION_TOKEN="{st}"</pre>
<h2>AWS credentials file</h2>
<pre id="file">[{profile}]
aws_access_key_id={ak}
aws_secret_access_key={sk}
aws_session_token={st}</pre>
<p><a href="/start/{store}">Back to the accounts</a></p>"#,
        role = esc(&role),
        account = esc(&account),
        exp = esc(&c.expiration.to_iso8601()),
        ak = esc(&c.access_key_id),
        sk = esc(&c.secret_access_key),
        st = esc(&c.session_token),
        profile = esc(&profile),
        store = esc(&inst.store_id),
    );
    Ok(html(StatusCode::OK, layout("Command line access", &body)))
}

async fn console(
    app: &App,
    req: &WebReq,
    inst: &InstanceRec,
    session: Option<Signed>,
) -> Result<Page, Failure> {
    let Some(Signed { rec: s, .. }) = session else {
        let next = safe_next(Some(&req.uri), "/");
        return Ok(redirect(format!(
            "/start/{}?next={}",
            inst.store_id,
            url_encode(&next)
        )));
    };
    let account = req.q("account").unwrap_or("").to_owned();
    let role = req.q("role").unwrap_or("").to_owned();
    let inst2 = inst.clone();
    let uid = s.user_id.clone();
    let (a, r) = (account.clone(), role.clone());
    let entitled = app
        .env
        .store
        .read(move |tx| {
            Ok::<_, Failure>(
                cairn_sso::portal::entitlements(tx, &inst2, &uid)?
                    .into_iter()
                    .any(|e| e.account_id == a && e.permission_set_name == r),
            )
        })
        .await?;
    if !entitled {
        return Ok(html(
            StatusCode::FORBIDDEN,
            message_page("No access", "You do not have this role in this account."),
        ));
    }
    let body = format!(
        r#"<p>You are <strong>{user}</strong> in account <strong>{account}</strong> as <strong>{role}</strong>.</p><p>Cairn has no management console yet: use the command line credentials.</p><p><a href="/start/{store}">Back to the accounts</a></p>"#,
        user = esc(&s.user_name),
        account = esc(&account),
        role = esc(&role),
        store = esc(&inst.store_id)
    );
    Ok(html(StatusCode::OK, layout("Console", &body)))
}

// ---------------------------------------------------------------------------- device flow

async fn device_page(app: &App, req: &WebReq, session: Option<Signed>) -> Result<Page, Failure> {
    let Some(code) = req.q("user_code").map(str::to_owned) else {
        let body = r#"<form method="get" action="/device"><label>Code <input name="user_code" required autofocus></label><button type="submit">Next</button></form>"#;
        return Ok(html(StatusCode::OK, layout("Authorize request", body)));
    };
    let now = app.env.clock.now_millis();
    let c = code.clone();
    let found = app
        .env
        .store
        .read(move |tx| {
            let Some((h, d)) = oidc::device_by_user_code(tx, now, &c)? else {
                return Ok(None);
            };
            let client = oidc::client(tx, &d.client_id)?;
            let inst = cairn_sso::model::instance(tx, &d.instance_id)?;
            Ok::<_, Failure>(Some((h, d, client, inst)))
        })
        .await?;
    let Some((_, d, client, Some(inst))) = found else {
        return Ok(html(
            StatusCode::BAD_REQUEST,
            message_page(
                "Code not valid",
                "This code is unknown or has expired. Start again from your application.",
            ),
        ));
    };
    let Some(Signed { rec: s, .. }) = session.filter(|x| x.rec.instance_id == inst.id) else {
        return Ok(redirect(format!(
            "/start/{}?next={}",
            inst.store_id,
            url_encode(&safe_next(Some(&req.uri), "/device"))
        )));
    };
    let name = client.map_or_else(|| String::from("An application"), |c| c.name);
    let body = format!(
        r#"<p><strong>{name}</strong> asks to access your AWS accounts as <strong>{user}</strong>.</p>
<p>Code: <code id="user-code">{code}</code>. Allow only if it matches the code your application shows.</p>
<form method="post" action="/device"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="user_code" value="{code}">
<button type="submit" name="decision" value="allow">Allow access</button>
<button type="submit" name="decision" value="deny">Deny</button></form>"#,
        name = esc(&name),
        user = esc(&s.user_name),
        code = esc(&d.user_code),
        csrf = esc(&s.csrf)
    );
    Ok(html(StatusCode::OK, layout("Authorize request", &body)))
}

async fn device_decide(app: &App, req: &WebReq, session: Option<Signed>) -> Result<Page, Failure> {
    let Some(Signed { rec: s, .. }) = session else {
        return Ok(redirect("/device"));
    };
    let code = req.f("user_code").unwrap_or("").to_owned();
    let allow = req.f("decision") == Some("allow");
    let now = app.env.clock.now_millis();
    let done = app
        .env
        .store
        .write(move |tx| {
            let Some((h, d)) = oidc::device_by_user_code(tx, now, &code)? else {
                return Ok(false);
            };
            if d.instance_id != s.instance_id {
                return Ok(false);
            }
            oidc::decide_device(tx, &h, allow, &s.user_id, &s.user_name, s.expires_ms)?;
            Ok::<_, Failure>(true)
        })
        .await?;
    Ok(if !done {
        html(
            StatusCode::BAD_REQUEST,
            message_page("Code not valid", "This code is unknown or has expired."),
        )
    } else if allow {
        html(
            StatusCode::OK,
            message_page(
                "Request approved",
                "You can close this window and return to your application.",
            ),
        )
    } else {
        html(
            StatusCode::OK,
            message_page("Request denied", "The application was not given access."),
        )
    })
}

// ---------------------------------------------------------------------------- authorization code

fn authorize_request(params: &dyn Fn(&str) -> Option<String>) -> Option<AuthorizeRequest> {
    Some(AuthorizeRequest {
        client_id: params("client_id")?,
        redirect_uri: params("redirect_uri")?,
        state: params("state"),
        code_challenge: params("code_challenge").unwrap_or_default(),
        code_challenge_method: params("code_challenge_method").unwrap_or_default(),
        scopes: params("scopes")
            .or_else(|| params("scope"))
            .map(|s| {
                s.split([' ', ','])
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

fn back_to_client(r: &AuthorizeRequest, params: &[(&str, &str)]) -> Page {
    let mut to = r.redirect_uri.clone();
    to.push(if to.contains('?') { '&' } else { '?' });
    let mut first = true;
    for (k, v) in params
        .iter()
        .copied()
        .chain(r.state.as_deref().map(|s| ("state", s)))
    {
        if !first {
            to.push('&');
        }
        first = false;
        let _ = write!(to, "{k}={}", url_encode(v));
    }
    redirect(to)
}

async fn authorize_page(app: &App, req: &WebReq, session: Option<Signed>) -> Result<Page, Failure> {
    if req.q("response_type") != Some("code") {
        return Ok(html(
            StatusCode::BAD_REQUEST,
            message_page("Request not valid", "Only response_type=code is supported."),
        ));
    }
    let Some(r) = authorize_request(&|k| req.q(k).map(str::to_owned)) else {
        return Ok(html(
            StatusCode::BAD_REQUEST,
            message_page(
                "Request not valid",
                "client_id and redirect_uri are required.",
            ),
        ));
    };
    let now = app.env.clock.now_millis();
    let r2 = r.clone();
    let checked = app
        .env
        .store
        .read(move |tx| oidc::check_authorize(tx, now, &r2))
        .await?;
    let (client, inst) = match checked {
        Ok(x) => x,
        Err(AuthorizeError::Page(m)) => {
            return Ok(html(
                StatusCode::BAD_REQUEST,
                message_page("Request not valid", m),
            ));
        }
        Err(AuthorizeError::Redirect(e)) => return Ok(back_to_client(&r, &[("error", e)])),
    };
    let Some(Signed { rec: s, .. }) = session.filter(|x| x.rec.instance_id == inst.id) else {
        return Ok(redirect(format!(
            "/start/{}?next={}",
            inst.store_id,
            url_encode(&safe_next(Some(&req.uri), "/"))
        )));
    };
    let mut hidden = String::new();
    for k in [
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
        "scopes",
    ] {
        if let Some(v) = req.q(k) {
            let _ = write!(
                hidden,
                r#"<input type="hidden" name="{k}" value="{}">"#,
                esc(v)
            );
        }
    }
    let body = format!(
        r#"<p><strong>{name}</strong> asks to access your AWS accounts as <strong>{user}</strong>.</p>
<p>Scopes: {scopes}</p>
<form method="post" action="/authorize"><input type="hidden" name="csrf" value="{csrf}">{hidden}
<button type="submit" name="decision" value="allow">Allow access</button>
<button type="submit" name="decision" value="deny">Deny</button></form>"#,
        name = esc(&client.name),
        user = esc(&s.user_name),
        scopes = esc(&r.scopes.join(", ")),
        csrf = esc(&s.csrf),
    );
    Ok(html(StatusCode::OK, layout("Allow access", &body)))
}

async fn authorize_decide(
    app: &App,
    req: &WebReq,
    session: Option<Signed>,
) -> Result<Page, Failure> {
    let Some(r) = authorize_request(&|k| req.f(k).map(str::to_owned)) else {
        return Ok(html(
            StatusCode::BAD_REQUEST,
            message_page(
                "Request not valid",
                "client_id and redirect_uri are required.",
            ),
        ));
    };
    let Some(Signed { rec: s, .. }) = session else {
        return Ok(html(
            StatusCode::FORBIDDEN,
            message_page(
                "Signed out",
                "Sign in again and retry from your application.",
            ),
        ));
    };
    let allow = req.f("decision") == Some("allow");
    let now = app.env.clock.now_millis();
    let ids = Arc::clone(&app.env.ids);
    let r2 = r.clone();
    let outcome = app
        .env
        .store
        .write(move |tx| {
            let (_, inst) = match oidc::check_authorize(tx, now, &r2)? {
                Ok(x) => x,
                Err(e) => return Ok(Err(e)),
            };
            if inst.id != s.instance_id {
                return Ok(Err(AuthorizeError::Page("Signed in to another instance.")));
            }
            if !allow {
                return Ok(Err(AuthorizeError::Redirect("access_denied")));
            }
            let code = oidc::issue_code(
                tx,
                ids.as_ref(),
                now,
                &r2,
                &inst,
                &s.user_id,
                &s.user_name,
                s.expires_ms,
            )?;
            Ok::<_, Failure>(Ok(code))
        })
        .await?;
    Ok(match outcome {
        Ok(code) => back_to_client(&r, &[("code", &code)]),
        Err(AuthorizeError::Redirect(e)) => back_to_client(&r, &[("error", e)]),
        Err(AuthorizeError::Page(m)) => html(
            StatusCode::BAD_REQUEST,
            message_page("Request not valid", m),
        ),
    })
}

// ---------------------------------------------------------------------------- HTML

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn message_page(title: &str, text: &str) -> String {
    layout(title, &format!("<p>{}</p>", esc(text)))
}

fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | AWS access portal (Cairn)</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#16191f}}
header{{border-bottom:1px solid #d5dbdb;margin-bottom:1.5rem}}
label{{display:block;margin:.75rem 0}} input{{display:block;padding:.4rem;width:20rem;max-width:100%}}
button{{margin:.5rem .5rem .5rem 0;padding:.4rem 1rem}} form.inline{{display:inline}}
.error{{color:#d13212}} .note{{color:#1d8102}} .id{{color:#687078;font-weight:normal}}
pre{{background:#f2f3f3;padding:.75rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}}
</style></head>
<body><header><p>AWS access portal</p><h1>{title}</h1></header>
{body}
</body></html>"#,
        title = esc(title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/device?user_code=X"), "/h"),
            "/device?user_code=X"
        );
        assert_eq!(safe_next(Some("//evil.example"), "/h"), "/h");
        assert_eq!(safe_next(Some("https://evil.example"), "/h"), "/h");
        assert_eq!(safe_next(Some("/\\evil"), "/h"), "/h");
        assert_eq!(safe_next(None, "/h"), "/h");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc(r#"<a href="x">'&"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }
}
