//! sso-oidc `CreateTokenWithIAM`: an Identity Center application, its caller signed with
//! SigV4 and allowed by the application's actor policy, gets a user's tokens by an
//! authorization code from the portal's `/authorize` page, refreshes them, and exchanges
//! another application's access token for its own; and each refusal AWS documents.

use crate::common::{Raw, err_info, ok};
use crate::sso_portal::{
    Browser, MGMT, Portal, await_event, browse_signed_in, enc, hidden, portal, portal_setup, text,
};
use aws_sdk_ssoadmin::types::{
    AuthenticationMethod, AuthenticationMethodType, AuthorizationCodeGrant, Grant, GrantType,
    IamAuthenticationMethod, PrincipalType, RefreshTokenGrant, TokenExchangeGrant,
};
use aws_smithy_types::Document;
use serde_json::{Value, json};

pub(crate) const REDIRECT: &str = "https://app.example.com/callback";
/// RFC 7636 appendix B's verifier and challenge.
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

fn doc(v: &Value) -> Document {
    match v {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(aws_smithy_types::Number::Float(
            n.as_f64().unwrap_or_default(),
        )),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(a) => Document::Array(a.iter().map(doc).collect()),
        Value::Object(o) => Document::Object(o.iter().map(|(k, v)| (k.clone(), doc(v))).collect()),
    }
}

/// An actor policy letting `principal` call `CreateTokenWithIAM`.
pub(crate) fn actor_policy(principal: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": "sso-oauth:CreateTokenWithIAM",
            "Resource": "*"
        }]
    })
}

/// A customer-managed OAuth application with the given grants, the management account's
/// root allowed by its actor policy (unless `actor` says otherwise), `alice` assigned.
pub(crate) async fn application(
    p: &Portal,
    name: &str,
    grants: &[GrantType],
    actor: Option<Value>,
) -> String {
    let admin = p.f.server.sso_admin_as(&p.f.server.root());
    let app = ok(
        "CreateApplication",
        admin
            .create_application()
            .instance_arn(&p.inst)
            .application_provider_arn("arn:aws:sso::aws:applicationProvider/custom")
            .name(name)
            .send()
            .await,
    )
    .application_arn()
    .unwrap()
    .to_owned();
    for g in grants {
        let grant = match g {
            GrantType::AuthorizationCode => Grant::AuthorizationCode(
                AuthorizationCodeGrant::builder()
                    .redirect_uris(REDIRECT)
                    .build(),
            ),
            GrantType::RefreshToken => Grant::RefreshToken(RefreshTokenGrant::builder().build()),
            GrantType::TokenExchange => Grant::TokenExchange(TokenExchangeGrant::builder().build()),
            GrantType::JwtBearer => {
                Grant::JwtBearer(aws_sdk_ssoadmin::types::JwtBearerGrant::builder().build())
            }
            other => panic!("{other:?}"),
        };
        ok(
            "PutApplicationGrant",
            admin
                .put_application_grant()
                .application_arn(&app)
                .grant_type(g.clone())
                .grant(grant)
                .send()
                .await,
        );
    }
    let actor = actor.unwrap_or_else(|| actor_policy(&format!("arn:aws:iam::{MGMT}:root")));
    if !actor.is_null() {
        ok(
            "PutApplicationAuthenticationMethod",
            admin
                .put_application_authentication_method()
                .application_arn(&app)
                .authentication_method_type(AuthenticationMethodType::Iam)
                .authentication_method(AuthenticationMethod::Iam(
                    IamAuthenticationMethod::builder()
                        .actor_policy(doc(&actor))
                        .build()
                        .unwrap(),
                ))
                .send()
                .await,
        );
    }
    ok(
        "CreateApplicationAssignment",
        admin
            .create_application_assignment()
            .application_arn(&app)
            .principal_type(PrincipalType::User)
            .principal_id(&p.user_id)
            .send()
            .await,
    );
    app
}

/// Alice allows `client_id` on the `/authorize` page; answers the code it redirects with.
pub(crate) fn authorize(b: &mut Browser, p: &Portal, client_id: &str, scopes: &str) -> String {
    let path = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&state=s1&code_challenge_method=S256&scopes={}&code_challenge={CHALLENGE}",
        enc(client_id),
        enc(REDIRECT),
        enc(scopes)
    );
    let consent = browse_signed_in(b, p, &path);
    let html = text(&consent);
    assert_eq!(consent.status, 200, "{html}");
    let mut form: Vec<(String, String)> = [
        "csrf",
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
        "scopes",
    ]
    .iter()
    .map(|k| ((*k).to_owned(), hidden(&html, k)))
    .collect();
    form.push(("decision".into(), "allow".into()));
    let form_ref: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let back = b.post("/authorize", &form_ref);
    assert_eq!(back.status, 302, "{}", text(&back));
    let location = back.header("location").unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")),
        "{location}"
    );
    location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned()
}

/// The signed sso-oidc client of the management account's root.
pub(crate) fn signed_oidc(p: &Portal) -> aws_sdk_ssooidc::Client {
    p.f.server.sso_oidc_as(&p.f.server.root())
}

/// The authorization code gives the application the user's tokens (the access token works
/// with the portal API), the refresh token rotates, and the call is recorded as the
/// signing principal's.
#[tokio::test]
async fn application_redeems_its_code_and_refreshes() {
    let p = portal_setup("iamtok").await;
    let app = application(
        &p,
        "Wiki",
        &[GrantType::AuthorizationCode, GrantType::RefreshToken],
        None,
    )
    .await;
    let mut b = Browser::new(&p.f.server);
    let code = authorize(&mut b, &p, &app, "openid aws");
    let oidc = signed_oidc(&p);
    let token = ok(
        "CreateTokenWithIAM",
        oidc.create_token_with_iam()
            .client_id(&app)
            .grant_type("authorization_code")
            .code(&code)
            .code_verifier(VERIFIER)
            .redirect_uri(REDIRECT)
            .send()
            .await,
    );
    assert_eq!(token.token_type(), Some("Bearer"));
    assert!(token.expires_in() > 0 && token.expires_in() <= 3600);
    assert_eq!(token.scope(), ["openid", "aws"]);
    let access = token.access_token().unwrap().to_owned();
    let refresh = token.refresh_token().unwrap().to_owned();
    let accounts = ok(
        "ListAccounts",
        portal(&p.f.server)
            .list_accounts()
            .access_token(&access)
            .send()
            .await,
    );
    assert_eq!(accounts.account_list().len(), 1);
    // A code is good once.
    let again = err_info(
        oidc.create_token_with_iam()
            .client_id(&app)
            .grant_type("authorization_code")
            .code(&code)
            .code_verifier(VERIFIER)
            .redirect_uri(REDIRECT)
            .send()
            .await,
    );
    assert_eq!(again.code, "InvalidGrantException", "{again:?}");

    // Refresh, narrowing the scopes; the spent refresh token is refused.
    let renew = || {
        oidc.create_token_with_iam()
            .client_id(&app)
            .grant_type("refresh_token")
            .refresh_token(&refresh)
            .scope("openid")
            .send()
    };
    let fresh = ok("CreateTokenWithIAM(refresh)", renew().await);
    assert_eq!(fresh.scope(), ["openid"]);
    assert_ne!(fresh.access_token(), Some(access.as_str()));
    assert!(fresh.refresh_token().is_some());
    let spent = err_info(renew().await);
    assert_eq!(spent.code, "InvalidGrantException", "{spent:?}");
    // CreateToken does not take the application's refresh tokens.
    let other = crate::sso_portal::oidc(&p.f.server);
    let reg = ok(
        "RegisterClient",
        other
            .register_client()
            .client_name("cli")
            .client_type("public")
            .send()
            .await,
    );
    let cross = err_info(
        other
            .create_token()
            .client_id(reg.client_id().unwrap())
            .client_secret(reg.client_secret().unwrap())
            .grant_type("refresh_token")
            .refresh_token(fresh.refresh_token().unwrap())
            .send()
            .await,
    );
    assert_eq!(cross.code, "InvalidGrantException", "{cross:?}");

    let ct = p.f.server.cloudtrail_as(&p.f.server.root());
    let rec = await_event(&ct, "CreateTokenWithIAM").await;
    assert_eq!(rec["eventSource"], "sso-oauth.amazonaws.com", "{rec}");
    assert_eq!(rec["userIdentity"]["type"], "Root", "{rec}");
    assert_eq!(rec["requestParameters"]["clientId"], app.as_str(), "{rec}");
    let body = rec.to_string();
    assert!(!body.contains(&refresh), "a token in the record: {rec}");
}

/// Token exchange: an access token issued to one application, with a scope the second
/// application authorizes it for, becomes the second application's token for the same
/// user; a token without such a scope is refused.
#[tokio::test]
async fn application_exchanges_another_applications_token() {
    let p = portal_setup("iamxchg").await;
    let front = application(&p, "Front", &[GrantType::AuthorizationCode], None).await;
    let back = application(
        &p,
        "Back",
        &[GrantType::TokenExchange, GrantType::RefreshToken],
        None,
    )
    .await;
    let admin = p.f.server.sso_admin_as(&p.f.server.root());
    ok(
        "PutApplicationAccessScope",
        admin
            .put_application_access_scope()
            .application_arn(&back)
            .scope("back:read")
            .authorized_targets(&front)
            .send()
            .await,
    );
    let oidc = signed_oidc(&p);
    let mut b = Browser::new(&p.f.server);
    let redeem = |code: String| {
        oidc.create_token_with_iam()
            .client_id(&front)
            .grant_type("authorization_code")
            .code(code)
            .code_verifier(VERIFIER)
            .redirect_uri(REDIRECT)
            .send()
    };
    let code = authorize(&mut b, &p, &front, "back:read openid");
    let subject = ok("CreateTokenWithIAM(code)", redeem(code).await);
    // No refresh grant on Front: no refresh token.
    assert_eq!(subject.refresh_token(), None);
    let exchanged = ok(
        "CreateTokenWithIAM(exchange)",
        oidc.create_token_with_iam()
            .client_id(&back)
            .grant_type(EXCHANGE)
            .subject_token(subject.access_token().unwrap())
            .subject_token_type(ACCESS_TYPE)
            .send()
            .await,
    );
    assert_eq!(exchanged.issued_token_type(), Some(ACCESS_TYPE));
    assert_eq!(exchanged.refresh_token(), None);
    assert!(exchanged.scope().iter().any(|s| s == "back:read"));
    ok(
        "ListAccounts",
        portal(&p.f.server)
            .list_accounts()
            .access_token(exchanged.access_token().unwrap())
            .send()
            .await,
    );
    // Asking for a refresh token issues one with the access token.
    let with_refresh = ok(
        "CreateTokenWithIAM(exchange, refresh)",
        oidc.create_token_with_iam()
            .client_id(&back)
            .grant_type(EXCHANGE)
            .subject_token(subject.access_token().unwrap())
            .subject_token_type(ACCESS_TYPE)
            .requested_token_type("urn:ietf:params:oauth:token-type:refresh_token")
            .send()
            .await,
    );
    assert!(with_refresh.refresh_token().is_some());
    // Its own token is no subject for an application.
    let own = err_info(
        oidc.create_token_with_iam()
            .client_id(&back)
            .grant_type(EXCHANGE)
            .subject_token(exchanged.access_token().unwrap())
            .subject_token_type(ACCESS_TYPE)
            .send()
            .await,
    );
    assert_eq!(own.code, "InvalidGrantException", "{own:?}");
    // A token without Back's scope is refused.
    let code = authorize(&mut b, &p, &front, "openid");
    let plain = ok("CreateTokenWithIAM(code)", redeem(code).await);
    let unscoped = err_info(
        oidc.create_token_with_iam()
            .client_id(&back)
            .grant_type(EXCHANGE)
            .subject_token(plain.access_token().unwrap())
            .subject_token_type(ACCESS_TYPE)
            .send()
            .await,
    );
    assert_eq!(unscoped.code, "InvalidGrantException", "{unscoped:?}");
    let bad_type = err_info(
        oidc.create_token_with_iam()
            .client_id(&back)
            .grant_type(EXCHANGE)
            .subject_token(subject.access_token().unwrap())
            .subject_token_type("urn:ietf:params:oauth:token-type:id_token")
            .send()
            .await,
    );
    assert_eq!(bad_type.code, "InvalidRequestException", "{bad_type:?}");
}

/// Each refusal: an unknown application, a caller its actor policy does not allow (or no
/// actor policy), an unknown grant type, a grant the application lacks, the jwt-bearer
/// grant Cairn does not support, a missing or wrong code, a scope it does not offer, a
/// user not assigned to it.
#[tokio::test]
async fn create_token_with_iam_refusals() {
    let p = portal_setup("iamerr").await;
    let app = application(&p, "Wiki", &[GrantType::AuthorizationCode], None).await;
    let oidc = signed_oidc(&p);
    let call = |client: &str, grant: &str| {
        oidc.create_token_with_iam()
            .client_id(client)
            .grant_type(grant)
            .code("nope")
            .code_verifier(VERIFIER)
            .redirect_uri(REDIRECT)
            .send()
    };
    let unknown = format!(
        "arn:aws:sso::{MGMT}:application/{}/apl-0000000000000000",
        p.inst.rsplit('/').next().unwrap()
    );
    let e = err_info(call(&unknown, "authorization_code").await);
    assert_eq!(e.code, "InvalidClientException", "{e:?}");

    let e = err_info(call(&app, "password").await);
    assert_eq!(e.code, "UnsupportedGrantTypeException", "{e:?}");
    let e = err_info(call(&app, "refresh_token").await);
    assert_eq!(e.code, "UnauthorizedClientException", "{e:?}");
    let e = err_info(call(&app, "authorization_code").await);
    assert_eq!(e.code, "InvalidGrantException", "{e:?}");
    let e = err_info(
        oidc.create_token_with_iam()
            .client_id(&app)
            .grant_type("authorization_code")
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidRequestException", "{e:?}");

    let mut b = Browser::new(&p.f.server);
    let code = authorize(&mut b, &p, &app, "openid");
    let e = err_info(
        oidc.create_token_with_iam()
            .client_id(&app)
            .grant_type("authorization_code")
            .code(&code)
            .code_verifier(VERIFIER)
            .redirect_uri(REDIRECT)
            .scope("admin:everything")
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidScopeException", "{e:?}");

    let jwt = application(&p, "Jwt", &[GrantType::JwtBearer], None).await;
    let e = err_info(
        oidc.create_token_with_iam()
            .client_id(&jwt)
            .grant_type("urn:ietf:params:oauth:grant-type:jwt-bearer")
            .assertion("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
            .send()
            .await,
    );
    assert_eq!(e.code, "UnsupportedGrantTypeException", "{e:?}");

    // No actor policy, or one naming someone else: the caller is refused by IAM.
    let closed = application(
        &p,
        "Closed",
        &[GrantType::AuthorizationCode],
        Some(Value::Null),
    )
    .await;
    let e = err_info(call(&closed, "authorization_code").await);
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    assert!(e.message.contains("sso-oauth:CreateTokenWithIAM"), "{e:?}");
    let other = application(
        &p,
        "Other",
        &[GrantType::AuthorizationCode],
        Some(actor_policy(&format!("arn:aws:iam::{}:root", p.member))),
    )
    .await;
    let e = err_info(call(&other, "authorization_code").await);
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    // The member account's root is not allowed by its own identity either (the
    // application is the management account's).
    let e = err_info(
        p.f.server
            .sso_oidc_as(&p.member_who)
            .create_token_with_iam()
            .client_id(&app)
            .grant_type("authorization_code")
            .code("nope")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");

    // A user the application is not assigned to.
    let admin = p.f.server.sso_admin_as(&p.f.server.root());
    ok(
        "DeleteApplicationAssignment",
        admin
            .delete_application_assignment()
            .application_arn(&app)
            .principal_type(PrincipalType::User)
            .principal_id(&p.user_id)
            .send()
            .await,
    );
    let code = authorize(&mut b, &p, &app, "openid");
    let e = err_info(
        oidc.create_token_with_iam()
            .client_id(&app)
            .grant_type("authorization_code")
            .code(&code)
            .code_verifier(VERIFIER)
            .redirect_uri(REDIRECT)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    // Unsigned, the call is refused before any of this.
    let mut raw = Raw::new(
        "POST",
        "/token?aws_iam=t",
        format!(r#"{{"clientId":"{app}","grantType":"authorization_code"}}"#).as_bytes(),
    );
    raw.headers
        .push(("content-type".into(), "application/json".into()));
    let resp = p.f.server.send(&raw);
    assert_eq!(resp.status, 403, "{}", text(&resp));
}
