//! The core's authenticators: each turns a request's credential into a [`Principal`]
//! before anything else of the request is read, whichever adapter it came through.
//!
//! | scheme | credential | principal |
//! |---|---|---|
//! | SigV4 | `Authorization` header or presigned query (keys and STS session tokens) | root, IAM user, role or federated session |
//! | portal bearer | `x-amz-sso_bearer_token` (an sso-oidc access token) | `IdentityCenterUser` |
//! | browser session | the portal's `cairn-portal` cookie (`web`) | `IdentityCenterUser` |
//! | OIDC client | `clientId` + `clientSecret` in the body (sso-oidc `StartDeviceAuthorization`, `CreateToken`) | `OidcClient` |
//! | none | — (operations the model marks unauthenticated: `RegisterClient`, the STS calls that carry an assertion) | `Anonymous` |
//!
//! Which scheme an operation takes is a fact of its model ([`scheme`]); `authz` refuses a
//! principal that the operation's scheme cannot produce, so an unsigned request never reaches
//! a handler that expects a signed one, nor a bearer token one that expects a signature.

use crate::app::{App, CachedKey};
use axum::body::Bytes;
use axum::http::request::Parts;
use cairn_core::Principal;
use cairn_sigv4::SigErrorKind;
use cairn_wire::model::{Location, OperationDef, ServiceModel, Shape};
use cairn_wire::{ApiError, CommonError};
use std::sync::Arc;

/// How an operation authenticates its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    SigV4,
    /// The access portal's bearer token (the sso model's `x-amz-sso_bearer_token` header).
    PortalBearer,
    /// An sso-oidc client's registration secret (`clientId` and `clientSecret` members of an
    /// unsigned operation's JSON body: RFC 6749 §2.3.1 client authentication).
    OidcClient,
    /// Unauthenticated (`"auth": ["smithy.api#noAuth"]` / `authtype: none` in the model).
    None,
}

/// The header the portal API carries its bearer token in (botocore's `sso` model:
/// `accessToken`, `location: header`, `locationName: x-amz-sso_bearer_token`).
pub(crate) const BEARER_HEADER: &str = "x-amz-sso_bearer_token";

/// The scheme of `op`, from its model.
pub(crate) fn scheme(model: &ServiceModel, op: &OperationDef) -> Scheme {
    if !op.no_auth {
        return Scheme::SigV4;
    }
    let bearer = op.input.and_then(|i| model.shape(i)).is_some_and(|s| {
        matches!(s, Shape::Structure(st) if st.members.iter().any(|m| {
            m.location == Location::Header && m.wire_name().eq_ignore_ascii_case(BEARER_HEADER)
        }))
    });
    if bearer {
        return Scheme::PortalBearer;
    }
    let client = op.input.and_then(|i| model.shape(i)).is_some_and(|s| {
        matches!(s, Shape::Structure(st)
        if ["clientId", "clientSecret"].iter().all(|n| st.members.iter().any(|m| {
            m.location == Location::Body && m.name == *n
        })))
    });
    if client {
        Scheme::OidcClient
    } else {
        Scheme::None
    }
}

/// Authenticates the request by its operation's [`scheme`]: who is calling, and the region
/// of the call.
pub(crate) async fn authenticate(
    app: &Arc<App>,
    parts: &Parts,
    body: &Bytes,
    model: &'static ServiceModel,
    op: &'static OperationDef,
) -> Result<(Principal, String), ApiError> {
    match scheme(model, op) {
        Scheme::SigV4 => sigv4(app, parts, body, model).await,
        Scheme::None => Ok((Principal::Anonymous, app.config.default_region.clone())),
        Scheme::PortalBearer => {
            let token = parts
                .headers
                .get(BEARER_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let principal = portal_bearer(app, token).await?;
            Ok((principal, app.config.default_region.clone()))
        }
        Scheme::OidcClient => {
            let principal = oidc_client(app, body).await?;
            Ok((principal, app.config.default_region.clone()))
        }
    }
}

/// The OIDC client authenticator: the registered client whose `clientId` and
/// `clientSecret` the JSON body carries, or sso-oidc's `InvalidClientException` (unknown
/// client, wrong or expired secret). A body that is not JSON is the parse step's error.
async fn oidc_client(app: &App, body: &Bytes) -> Result<Principal, ApiError> {
    let doc = cairn_wire::json::parse_body(body)?;
    let field = |name: &str| {
        doc.get(name)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (id, secret) = (field("clientId"), field("clientSecret"));
    let now = app.env.clock.now_millis();
    app.env
        .store
        .read(move |tx| cairn_sso::authn::oidc_client(tx, now, &id, &secret))
        .await
        .map_err(|e: cairn_core::Failure| e.0)?
}

/// The portal bearer authenticator: the Identity Center user an access token acts for, or
/// the portal's `UnauthorizedException` (unknown, expired or revoked token, user gone).
async fn portal_bearer(app: &App, token: String) -> Result<Principal, ApiError> {
    if token.is_empty() {
        return Err(cairn_sso::portal::unauthorized());
    }
    let now = app.env.clock.now_millis();
    let found = app
        .env
        .store
        .read(move |tx| cairn_sso::authn::bearer(tx, now, &token))
        .await
        .map_err(|e| e.0)?;
    found.ok_or_else(cairn_sso::portal::unauthorized)
}

/// The browser session authenticator (the portal's pages): the signed-in user of a session
/// cookie, with the session and its instance.
pub(crate) async fn browser_session(
    app: &App,
    cookie: String,
) -> Result<
    Option<(
        cairn_sso::signin::WebSessionRec,
        cairn_sso::model::InstanceRec,
        Principal,
    )>,
    cairn_core::Failure,
> {
    let now = app.env.clock.now_millis();
    app.env
        .store
        .read(move |tx| cairn_sso::authn::browser(tx, now, &cookie))
        .await
}

fn sig_error(kind: SigErrorKind, message: &str) -> CommonError {
    let m = message.to_owned();
    match kind {
        SigErrorKind::MissingAuthenticationToken => CommonError::MissingAuthenticationToken(m),
        SigErrorKind::IncompleteSignature | SigErrorKind::InvalidArgument => {
            CommonError::IncompleteSignature(m)
        }
        SigErrorKind::SignatureDoesNotMatch | SigErrorKind::XAmzContentSha256Mismatch => {
            CommonError::SignatureDoesNotMatch(m)
        }
        SigErrorKind::RequestExpired => CommonError::RequestExpired(m),
    }
}

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

/// The SigV4 authenticator (header or presigned query; long-term keys and STS session
/// tokens): who signed, and the region they signed for. A call signed with a long-term
/// access key Cairn issued notes the key's use (`key_use`).
async fn sigv4(
    app: &Arc<App>,
    parts: &Parts,
    body: &Bytes,
    model: &'static ServiceModel,
) -> Result<(Principal, String), ApiError> {
    let protocol = model.protocol;
    let headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let sreq = cairn_sigv4::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body,
    };
    let fail = |e: cairn_sigv4::SigError| sig_error(e.kind(), e.message()).to_api_error(protocol);
    let parsed = cairn_sigv4::parse(&sreq).map_err(fail)?;
    if !cairn_core::partition::is_known_region(&parsed.region) {
        // A region of no partition (botocore's endpoint data, models/endpoints/partitions.json): AWS
        // refuses the scope with `check_scope`'s text for a region it does not serve.
        let message = format!(
            "Credential should be scoped to a valid region, not '{}'.",
            parsed.region
        );
        return Err(sig_error(SigErrorKind::SignatureDoesNotMatch, &message).to_api_error(protocol));
    }
    let region = parsed.region.clone();
    // `--dev`: credentials Cairn issued act as their owner, checked as always; any others
    // act as the bootstrap account's root, unchecked (emulators' `test`/`test` keys).
    let dev_root = || {
        Ok((
            Principal::Root {
                account_id: app.config.bootstrap_account_id.clone(),
                access_key_id: parsed.access_key_id.clone(),
                session: None,
            },
            region.clone(),
        ))
    };
    if !app.config.dev {
        cairn_sigv4::check_scope(&parsed, &parsed.region, model.signing_name).map_err(fail)?;
    }
    let invalid =
        || CommonError::InvalidClientTokenId(INVALID_TOKEN.to_owned()).to_api_error(protocol);
    let long_term = parsed.security_token.is_none();
    let key = match parsed.security_token.as_deref() {
        // Temporary credentials: the token carries the session (sealed; see cairn_iam::sts).
        Some(token) => {
            let now = app.env.clock.now_millis();
            match cairn_iam::sts::open_session_token(&app.sealer, token, &parsed.access_key_id, now)
            {
                Ok((secret, principal)) => CachedKey {
                    secret,
                    principal,
                    fetched_ms: now,
                    generation: 0,
                },
                Err(cairn_iam::sts::TokenError::Expired) => {
                    return Err(CommonError::ExpiredToken(String::from(
                        "The security token included in the request is expired",
                    ))
                    .to_api_error(protocol));
                }
                Err(cairn_iam::sts::TokenError::Invalid) if app.config.dev => return dev_root(),
                Err(cairn_iam::sts::TokenError::Invalid) => return Err(invalid()),
            }
        }
        None => match resolve_key(app, &parsed.access_key_id).await? {
            Some(key) => key,
            None if app.config.dev => return dev_root(),
            None => return Err(invalid()),
        },
    };
    if app.config.dev {
        cairn_sigv4::check_scope(&parsed, &parsed.region, model.signing_name).map_err(fail)?;
    }
    let signing_key = app.signing_keys.signing_key_for(&parsed, &key.secret);
    let opts = cairn_sigv4::VerifyOptions::default();
    cairn_sigv4::verify_with_signing_key(
        &sreq,
        &parsed,
        &signing_key,
        app.env.clock.now_secs(),
        &opts,
    )
    .map_err(fail)?;
    if long_term {
        crate::key_use::note(app, &parsed.access_key_id, model.signing_name, &region);
    }
    Ok((key.principal, region))
}

async fn resolve_key(app: &App, access_key_id: &str) -> Result<Option<CachedKey>, ApiError> {
    let now = app.env.clock.now_millis();
    // Keys deleted or deactivated through this process stop working at once; through
    // another process sharing the database, within `credential_cache_ms`.
    let generation = app.env.generations.iam.get();
    if let Ok(cache) = app.keys.read()
        && let Some(hit) = cache.get(access_key_id)
        && now - hit.fetched_ms < app.config.credential_cache_ms
        && hit.generation == generation
    {
        return Ok(Some(hit.clone()));
    }
    let sealer = app.sealer.clone();
    let akid = access_key_id.to_owned();
    let found = app
        .env
        .store
        .read(move |tx| cairn_iam::accounts::resolve_access_key(tx, &sealer, &akid))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "access key lookup failed");
            ApiError::internal()
        })?;
    let Some((secret, principal)) = found else {
        return Ok(None);
    };
    let entry = CachedKey {
        secret,
        principal,
        fetched_ms: now,
        generation,
    };
    if let Ok(mut cache) = app.keys.write() {
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(access_key_id.to_owned(), entry.clone());
    }
    Ok(Some(entry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::SERVICES;

    /// Every operation of every served model takes SigV4 but the few the models mark
    /// unauthenticated: the portal API's four (bearer token) and the OIDC and STS calls that
    /// carry their own proof. A model refresh that changes this set must be looked at.
    #[test]
    fn only_the_unsigned_operations_of_the_models_skip_sigv4() {
        let mut bearer = Vec::new();
        let mut client = Vec::new();
        let mut none = Vec::new();
        for (model, _) in SERVICES {
            for op in model.operations {
                match scheme(model, op) {
                    Scheme::SigV4 => {}
                    Scheme::PortalBearer => bearer.push(format!("{}:{}", model.module, op.name)),
                    Scheme::OidcClient => client.push(format!("{}:{}", model.module, op.name)),
                    Scheme::None => none.push(format!("{}:{}", model.module, op.name)),
                }
            }
        }
        assert_eq!(
            bearer,
            [
                "sso:GetRoleCredentials",
                "sso:ListAccountRoles",
                "sso:ListAccounts",
                "sso:Logout"
            ]
        );
        assert_eq!(
            client,
            ["sso_oidc:CreateToken", "sso_oidc:StartDeviceAuthorization"]
        );
        assert_eq!(
            none,
            [
                "sts:AssumeRoleWithSAML",
                "sts:AssumeRoleWithWebIdentity",
                "sso_oidc:RegisterClient"
            ]
        );
    }
}
