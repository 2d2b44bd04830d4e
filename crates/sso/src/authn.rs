//! The Identity Center authenticators: the [`Principal`] a portal bearer token or a signed-in
//! browser session acts as. The server's pipeline runs them before any handler (the portal
//! API's operations are unsigned: their credential is the `x-amz-sso_bearer_token` header;
//! the portal's pages carry the session cookie), so a handler sees an authenticated
//! Identity Center user or is never reached.

use crate::model::{self, InstanceRec};
use crate::signin::{self, WebSessionRec, hash_secret};
use cairn_core::{Failure, IdentityCenterUser, PortalCredential, Principal};
use cairn_store::Tx;
use std::sync::Arc;

/// CloudTrail's `credentialId` of a credential: a prefix of its stored hash, which reveals
/// nothing of it [M: AWS's `credentialId` format is not documented].
fn credential_id(hash: &str) -> String {
    hash.get(..32).unwrap_or(hash).to_owned()
}

fn principal(
    inst: &InstanceRec,
    user_id: &str,
    user_name: &str,
    credential: PortalCredential,
    hash: &str,
    session_expires_ms: i64,
) -> Principal {
    Principal::IdentityCenterUser(Arc::new(IdentityCenterUser {
        account_id: inst.owner.clone(),
        instance_id: inst.id.clone(),
        store_id: inst.store_id.clone(),
        identity_store_arn: inst.store_arn(),
        user_id: user_id.to_owned(),
        user_name: user_name.to_owned(),
        credential,
        credential_id: credential_id(hash),
        session_expires_ms,
    }))
}

fn active_instance(tx: &mut dyn Tx, id: &str) -> Result<Option<InstanceRec>, Failure> {
    Ok(model::instance(tx, id)?.filter(|i| i.status == "ACTIVE"))
}

/// The user a portal access token acts for, if the token is current, its instance active
/// and its user still in the directory.
pub fn bearer(tx: &mut dyn Tx, now_ms: i64, token: &str) -> Result<Option<Principal>, Failure> {
    let Some(rec) = crate::oidc::access_token(tx, now_ms, token)? else {
        return Ok(None);
    };
    let Some(inst) = active_instance(tx, &rec.grant.instance_id)? else {
        return Ok(None);
    };
    let hash = hash_secret(token);
    Ok(Some(principal(
        &inst,
        &rec.grant.user_id,
        &rec.grant.user_name,
        PortalCredential::AccessToken { hash: hash.clone() },
        &hash,
        rec.grant.session_expires_ms,
    )))
}

/// The user a browser session cookie is signed in as, with the session, if it is current
/// (see [`signin::session`]) and its instance active.
pub fn browser(
    tx: &mut dyn Tx,
    now_ms: i64,
    cookie: &str,
) -> Result<Option<(WebSessionRec, InstanceRec, Principal)>, Failure> {
    let Some(rec) = signin::session(tx, now_ms, cookie)? else {
        return Ok(None);
    };
    let Some(inst) = active_instance(tx, &rec.instance_id)? else {
        return Ok(None);
    };
    let hash = hash_secret(cookie);
    let p = principal(
        &inst,
        &rec.user_id,
        &rec.user_name,
        PortalCredential::BrowserSession { hash: hash.clone() },
        &hash,
        rec.expires_ms,
    );
    Ok(Some((rec, inst, p)))
}

/// Ends the credential a user authenticated with (`sso:Logout`): the access token and its
/// refresh token, or the browser session. Answers whether it was still there.
pub fn end(tx: &mut dyn Tx, credential: &PortalCredential) -> Result<bool, Failure> {
    match credential {
        PortalCredential::AccessToken { hash } => crate::oidc::revoke_token_hash(tx, hash),
        PortalCredential::BrowserSession { hash } => signin::end_session_hash(tx, hash),
    }
}

/// The sso-oidc client a `clientId` and `clientSecret` prove, or `InvalidClientException`
/// (unknown client, wrong secret, expired registration).
pub fn oidc_client(
    tx: &mut dyn Tx,
    now_ms: i64,
    client_id: &str,
    client_secret: &str,
) -> Result<Result<Principal, cairn_wire::ApiError>, Failure> {
    Ok(
        crate::oidc::authenticate_client(tx, now_ms, client_id, client_secret)?
            .map(|c| Principal::OidcClient { client_id: c.id }),
    )
}
