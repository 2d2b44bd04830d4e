//! Expired tokens, codes and sessions are refused: the server's clock is moved past each
//! lifetime AWS gives them (`Server::advance_clock`, the debug build's
//! `CAIRN_TEST_CLOCK_FILE`) — an access token's hour (also as a token exchange's subject),
//! a device code's `expiresIn`, an
//! authorization code's five minutes, the portal session's eight hours (which ends the
//! refresh token), and a browser session's idle hour and absolute eight hours.

use crate::common::{err_info, ok};
use crate::sso_iam_token::{REDIRECT, VERIFIER, application, authorize};
use crate::sso_portal::{
    Browser, PASSWORD, Portal, device_start, oidc, portal, portal_setup, text,
};
use aws_sdk_ssoadmin::types::GrantType;
use std::time::Duration;

const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A client registered for the authorization code (redirecting to [`REDIRECT`]) and refresh.
async fn code_client(p: &Portal) -> (String, String) {
    let reg = ok(
        "RegisterClient",
        oidc(&p.f.server)
            .register_client()
            .client_name("cairn-it-app")
            .client_type("public")
            .grant_types("authorization_code")
            .grant_types("refresh_token")
            .redirect_uris(REDIRECT)
            .issuer_url(p.start_url())
            .scopes("sso:account:access")
            .send()
            .await,
    );
    (
        reg.client_id().unwrap().to_owned(),
        reg.client_secret().unwrap().to_owned(),
    )
}

/// Alice's tokens for a registered client: (access token, refresh token).
async fn tokens(p: &Portal, b: &mut Browser, cid: &str, secret: &str) -> (String, String) {
    let code = authorize(b, p, cid, "sso:account:access");
    let t = ok(
        "CreateToken",
        oidc(&p.f.server)
            .create_token()
            .client_id(cid)
            .client_secret(secret)
            .grant_type("authorization_code")
            .code(code)
            .code_verifier(VERIFIER)
            .redirect_uri(REDIRECT)
            .send()
            .await,
    );
    (
        t.access_token().unwrap().to_owned(),
        t.refresh_token().unwrap().to_owned(),
    )
}

/// An hour after it was issued, the access token is refused by the portal API with AWS's
/// `UnauthorizedException`.
#[tokio::test]
async fn expired_access_token_is_unauthorized_in_the_portal() {
    let p = portal_setup("expacc").await;
    let (cid, secret) = code_client(&p).await;
    let mut b = Browser::new(&p.f.server);
    let (access, _) = tokens(&p, &mut b, &cid, &secret).await;
    let sso = portal(&p.f.server);
    let creds = || {
        sso.get_role_credentials()
            .access_token(&access)
            .account_id(&p.member)
            .role_name("ReadOnly")
            .send()
    };
    ok("GetRoleCredentials", creds().await);
    p.f.server.advance_clock(Duration::from_secs(3600));
    let e = err_info(sso.list_accounts().access_token(&access).send().await);
    assert_eq!(e.code, "UnauthorizedException", "{e:?}");
    assert_eq!(e.message, "Session token not found or invalid", "{e:?}");
    let e = err_info(creds().await);
    assert_eq!(e.code, "UnauthorizedException", "{e:?}");
    assert_eq!(e.message, "Session token not found or invalid", "{e:?}");
}

/// A device code past its `expiresIn` (600 s) is `ExpiredTokenException`.
#[tokio::test]
async fn expired_device_code_is_an_expired_token() {
    let p = portal_setup("expdev").await;
    let oidc = oidc(&p.f.server);
    let (cid, secret, dev) = device_start(&p, "cairn-it-device").await;
    let (cid, secret) = (cid.as_str(), secret.as_str());
    let poll = || {
        oidc.create_token()
            .client_id(cid)
            .client_secret(secret)
            .grant_type(DEVICE)
            .device_code(dev.device_code().unwrap())
            .send()
    };
    let e = err_info(poll().await);
    assert_eq!(e.code, "AuthorizationPendingException", "{e:?}");
    p.f.server.advance_clock(Duration::from_secs(
        u64::try_from(dev.expires_in()).unwrap(),
    ));
    let e = err_info(poll().await);
    assert_eq!(e.code, "ExpiredTokenException", "{e:?}");
}

/// An authorization code not redeemed within its five minutes is an invalid grant, for a
/// registered client (`CreateToken`) and for an application (`CreateTokenWithIAM`).
#[tokio::test]
async fn expired_authorization_code_is_an_invalid_grant() {
    let p = portal_setup("expcode").await;
    let (cid, secret) = code_client(&p).await;
    let app = application(&p, "Wiki", &[GrantType::AuthorizationCode], None).await;
    let mut b = Browser::new(&p.f.server);
    let code = authorize(&mut b, &p, &cid, "sso:account:access");
    let app_code = authorize(&mut b, &p, &app, "openid");
    p.f.server.advance_clock(Duration::from_secs(5 * 60));
    let e = err_info(
        oidc(&p.f.server)
            .create_token()
            .client_id(&cid)
            .client_secret(&secret)
            .grant_type("authorization_code")
            .code(code)
            .code_verifier(VERIFIER)
            .redirect_uri(REDIRECT)
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidGrantException", "{e:?}");
    // Signed at the server's (moved) time.
    let root = p.f.server.root().at(p.f.server.now());
    let e = err_info(
        p.f.server
            .sso_oidc_as(&root)
            .create_token_with_iam()
            .client_id(&app)
            .grant_type("authorization_code")
            .code(app_code)
            .code_verifier(VERIFIER)
            .redirect_uri(REDIRECT)
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidGrantException", "{e:?}");
}

/// The refresh token lasts as long as the portal session it came from (eight hours by
/// default): refreshing works until then, and is `ExpiredTokenException` after.
#[tokio::test]
async fn refresh_token_ends_with_the_portal_session() {
    let p = portal_setup("exprefresh").await;
    let (cid, secret) = code_client(&p).await;
    let mut b = Browser::new(&p.f.server);
    let (_, refresh) = tokens(&p, &mut b, &cid, &secret).await;
    let oidc = oidc(&p.f.server);
    let renew = |t: String| {
        oidc.create_token()
            .client_id(&cid)
            .client_secret(&secret)
            .grant_type("refresh_token")
            .refresh_token(t)
            .send()
    };
    // Seven hours on, the refreshed access token lasts to the session's end, no longer.
    p.f.server
        .advance_clock(Duration::from_secs(7 * 3600 + 1800));
    let fresh = ok("CreateToken(refresh)", renew(refresh).await);
    assert!(fresh.expires_in() <= 1800, "{fresh:?}");
    p.f.server.advance_clock(Duration::from_secs(1800));
    let e = err_info(renew(fresh.refresh_token().unwrap().to_owned()).await);
    assert_eq!(e.code, "ExpiredTokenException", "{e:?}");
}

/// A browser session unused for an hour is signed out; one in use ends after eight hours.
#[tokio::test]
async fn browser_session_times_out_idle_and_absolute() {
    let p = portal_setup("expweb").await;
    let home = format!("/start/{}", p.store);
    let mut b = Browser::new(&p.f.server);
    let signed_in = |b: &mut Browser| {
        let page = b.open(&home);
        let html = text(&page);
        if html.contains("Signed in as") {
            true
        } else {
            assert!(html.contains("name=\"password\""), "{html}");
            false
        }
    };
    let sign_in = |b: &mut Browser| {
        let page = b.open(&home);
        let after = b.sign_in(&page, &p.store, "alice", PASSWORD);
        assert_eq!(after.status, 302, "{}", text(&after));
    };
    sign_in(&mut b);
    assert!(signed_in(&mut b));
    p.f.server.advance_clock(Duration::from_secs(59 * 60));
    assert!(signed_in(&mut b), "used within the hour");
    p.f.server.advance_clock(Duration::from_secs(60 * 60));
    assert!(!signed_in(&mut b), "idle for an hour");

    sign_in(&mut b);
    // In use every 50 minutes: still signed in after 7 h 30 min, not after 8 h 20 min.
    for _ in 0..9 {
        p.f.server.advance_clock(Duration::from_secs(50 * 60));
        assert!(signed_in(&mut b));
    }
    p.f.server.advance_clock(Duration::from_secs(50 * 60));
    assert!(!signed_in(&mut b), "past the session's eight hours");
}

/// An access token past its hour is no subject for a token exchange:
/// `ExpiredTokenException`.
#[tokio::test]
async fn expired_subject_token_is_an_expired_token() {
    let p = portal_setup("expsubj").await;
    let (cid, secret) = code_client(&p).await;
    let back = application(&p, "Back", &[GrantType::TokenExchange], None).await;
    ok(
        "PutApplicationAccessScope",
        p.f.server
            .sso_admin_as(&p.f.server.root())
            .put_application_access_scope()
            .application_arn(&back)
            .scope("sso:account:access")
            .send()
            .await,
    );
    let mut b = Browser::new(&p.f.server);
    let (access, _) = tokens(&p, &mut b, &cid, &secret).await;
    let exchange = |root| {
        p.f.server
            .sso_oidc_as(&root)
            .create_token_with_iam()
            .client_id(&back)
            .grant_type("urn:ietf:params:oauth:grant-type:token-exchange")
            .subject_token(&access)
            .subject_token_type("urn:ietf:params:oauth:token-type:access_token")
            .send()
    };
    ok(
        "CreateTokenWithIAM(exchange)",
        exchange(p.f.server.root()).await,
    );
    p.f.server.advance_clock(Duration::from_secs(3600));
    let e = err_info(exchange(p.f.server.root().at(p.f.server.now())).await);
    assert_eq!(e.code, "ExpiredTokenException", "{e:?}");
}
