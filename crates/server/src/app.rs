//! Application state and the axum router.

use crate::metrics::Metrics;
use crate::services::Services;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cairn_core::{Env, Principal};
use cairn_iam::Sealer;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// `--dev`: well-formed SigV4 credentials that Cairn did not issue act as the bootstrap
    /// account's root, their signatures unchecked; the keys and session tokens Cairn issued
    /// act as their owners and are checked as without `--dev`.
    pub dev: bool,
    /// The bootstrap (future management) account.
    pub bootstrap_account_id: String,
    /// Region assumed when a request carries none.
    pub default_region: String,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// How long a resolved access key is trusted before it is read again.
    pub credential_cache_ms: i64,
    /// Where clients reach this server (`--public-url`), without a trailing `/`: the base
    /// of outbound federation's issuers.
    pub public_url: String,
    /// Per access key, at most one write of its last use per this interval (see
    /// `key_use`): what `GetAccessKeyLastUsed` answers trails the true last use by less.
    pub key_last_used_interval_ms: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            dev: false,
            bootstrap_account_id: String::new(),
            default_region: String::from("us-east-1"),
            max_body_bytes: 8 * 1024 * 1024,
            credential_cache_ms: 5_000,
            public_url: String::new(),
            key_last_used_interval_ms: 60_000,
        }
    }
}

/// A resolved access key.
#[derive(Clone)]
pub(crate) struct CachedKey {
    pub secret: String,
    pub principal: Principal,
    pub fetched_ms: i64,
    /// [`cairn_iam::generation`] when fetched.
    pub generation: u64,
}

/// Everything the pipeline needs.
pub struct App {
    pub env: Arc<Env>,
    pub sealer: Sealer,
    pub config: Config,
    pub services: Services,
    pub metrics: Metrics,
    pub(crate) signing_keys: cairn_sigv4::SigningKeyCache,
    pub(crate) keys: RwLock<HashMap<String, CachedKey>>,
    pub(crate) authz: crate::authz::AuthzCache,
    pub(crate) key_use: crate::key_use::KeyUse,
    ready: AtomicBool,
}

impl App {
    pub fn new(env: Arc<Env>, sealer: Sealer, config: Config, services: Services) -> Arc<Self> {
        Arc::new(Self {
            env,
            sealer,
            config,
            services,
            metrics: Metrics::new(),
            signing_keys: cairn_sigv4::SigningKeyCache::default(),
            keys: RwLock::new(HashMap::new()),
            authz: crate::authz::AuthzCache::default(),
            key_use: crate::key_use::KeyUse::default(),
            ready: AtomicBool::new(true),
        })
    }

    /// Marks the server as draining (`/readyz` answers 503).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }
}

/// The router: health endpoints, and every other request into the AWS pipeline.
pub fn router(app: Arc<App>) -> Router {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/outbound/{issuer}/.well-known/openid-configuration",
            get(outbound_discovery),
        )
        .route(
            "/outbound/{issuer}/.well-known/jwks.json",
            get(outbound_jwks),
        )
        .fallback(crate::pipeline::entry);
    // The access portal's pages: every one through `web::entry`, the one door that
    // authenticates the browser session and checks CSRF before any page runs.
    PAGE_ROUTES
        .iter()
        .fold(router, |r, path| {
            r.route(path, get(crate::web::entry).post(crate::web::entry))
        })
        .with_state(app)
}

/// The routes of the access portal's pages (all served by `web::entry`); every other
/// request but the probes and outbound federation's documents is an AWS API call
/// (`pipeline::entry`).
pub const PAGE_ROUTES: &[&str] = &["/start", "/start/{*rest}", "/device", "/authorize"];

/// An outbound federation issuer's public documents (see `cairn_iam::outbound`): what AWS
/// serves at `https://<id>.tokens.sts.global.api.aws/.well-known/…`. Public, like AWS's;
/// an unknown issuer, or one whose account disabled the feature and never had it, is 404.
async fn outbound_document(app: &App, issuer_id: String, keys: bool) -> Response {
    let found = app
        .env
        .store
        .read(move |tx| cairn_iam::outbound::by_issuer_id(tx, &issuer_id))
        .await;
    let rec = match found {
        Ok(Some((_, rec))) => rec,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such issuer\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reading an outbound federation issuer failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response();
        }
    };
    let doc = if keys {
        cairn_iam::outbound::jwks(&rec)
    } else {
        cairn_iam::outbound::discovery(&cairn_iam::outbound::issuer(&app.config.public_url, &rec))
    };
    let mut resp = doc.to_string().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

async fn outbound_discovery(
    State(app): State<Arc<App>>,
    axum::extract::Path(issuer): axum::extract::Path<String>,
) -> Response {
    outbound_document(&app, issuer, false).await
}

async fn outbound_jwks(
    State(app): State<Arc<App>>,
    axum::extract::Path(issuer): axum::extract::Path<String>,
) -> Response {
    outbound_document(&app, issuer, true).await
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    if !app.ready.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response();
    }
    let store = app.env.store.clone();
    match store.read(|tx| tx.get("meta", b"ping").map(|_| ())).await {
        Ok(()) => "ready\n".into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response(),
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let now = app.env.clock.now_millis();
    let counts = app
        .env
        .store
        .read(move |tx| tx.job_counts(now))
        .await
        .unwrap_or_default();
    let mut text = app.metrics.render();
    text.push_str(&crate::metrics::render_jobs(&app.env.jobs.stats(&counts)));
    let mut resp = text.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    resp
}
