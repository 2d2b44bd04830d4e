//! One sign-in to every account: the access portal's pages (driven here with HTTP requests
//! exactly as a browser sends them), sso-oidc's device and authorization-code flows and the
//! portal API (`sso`) through the official SDKs, and the role sessions they give — the
//! permission set's permissions in the member account, nothing more.

use crate::common::{Raw, Resp, Server, Who, err_info, ok, signup};
use crate::fixture::{Fixture, join};
use crate::sso_instances::enable_sso;
use aws_sdk_ssoadmin::types::{PrincipalType, StatusValues, TargetType};
use std::path::Path;
use std::time::{Duration, Instant};

pub(crate) const MGMT: &str = "111111111111";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
pub(crate) const PASSWORD: &str = "Corr3ct-Horse!";

pub(crate) fn oidc(server: &Server) -> aws_sdk_ssooidc::Client {
    use aws_sdk_ssooidc::config::retry::RetryConfig;
    use aws_sdk_ssooidc::config::{BehaviorVersion, Region};
    aws_sdk_ssooidc::Client::from_conf(
        aws_sdk_ssooidc::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&server.endpoint)
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

pub(crate) fn portal(server: &Server) -> aws_sdk_sso::Client {
    use aws_sdk_sso::config::retry::RetryConfig;
    use aws_sdk_sso::config::{BehaviorVersion, Region};
    aws_sdk_sso::Client::from_conf(
        aws_sdk_sso::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&server.endpoint)
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

/// A browser: a cookie jar and requests as a browser sends them (form posts, no redirects
/// followed unless asked).
pub struct Browser {
    port: u16,
    cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn new(server: &Server) -> Self {
        Browser {
            port: server.port,
            cookies: Vec::new(),
        }
    }

    fn send(&mut self, mut raw: Raw) -> Resp {
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            raw.headers.push(("cookie".into(), jar.join("; ")));
        }
        raw.headers
            .push(("user-agent".into(), "Mozilla/5.0 (cairn-it browser)".into()));
        let resp = crate::common::send(self.port, &raw);
        for (n, v) in &resp.headers {
            if n.eq_ignore_ascii_case("set-cookie") {
                let pair = v.split(';').next().unwrap_or("");
                if let Some((k, val)) = pair.split_once('=') {
                    self.cookies.retain(|(ck, _)| ck != k);
                    let expired = v.contains("Max-Age=0");
                    if !expired {
                        self.cookies.push((k.to_owned(), val.to_owned()));
                    }
                }
            }
        }
        resp
    }

    pub fn get(&mut self, path: &str) -> Resp {
        self.send(Raw::new("GET", path, b""))
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        let mut raw = Raw::new("POST", path, body.join("&").as_bytes());
        raw.headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        self.send(raw)
    }

    /// Follows redirects from `resp` (GETs), answering the last response.
    pub fn follow(&mut self, mut resp: Resp) -> Resp {
        for _ in 0..10 {
            if resp.status != 302 {
                return resp;
            }
            let to = resp.header("location").unwrap().to_owned();
            if to.starts_with("http://127.0.0.1:") && !to.contains(&format!(":{}/", self.port)) {
                return resp; // a client's loopback redirect: not ours to follow
            }
            let path = to
                .strip_prefix(&format!("http://127.0.0.1:{}", self.port))
                .unwrap_or(&to)
                .to_owned();
            resp = self.get(&path);
        }
        resp
    }

    /// GET `path`, following redirects.
    pub fn open(&mut self, path: &str) -> Resp {
        let r = self.get(path);
        self.follow(r)
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.retain(|(k, _)| k != name);
        self.cookies.push((name.to_owned(), value.to_owned()));
    }

    /// Signs in on the sign-in page `resp` shows; answers the page it lands on.
    pub fn sign_in(&mut self, page: &Resp, store: &str, user: &str, password: &str) -> Resp {
        let html = text(page);
        assert!(
            html.contains("name=\"password\""),
            "not a sign-in page: {html}"
        );
        let csrf = hidden(&html, "csrf");
        let next = hidden(&html, "next");
        self.post(
            &format!("/start/{store}/signin"),
            &[
                ("csrf", &csrf),
                ("next", &next),
                ("username", user),
                ("password", password),
            ],
        )
    }
}

pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn text(r: &Resp) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// The value of the hidden input `name` in `html`.
pub fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + needle.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end]
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
}

/// The newest email in the outbox to `to`, waiting for the mail job.
pub fn await_mail(data_dir: &Path, to: &str, subject_has: &str, seen: usize) -> String {
    let start = Instant::now();
    loop {
        let mut found: Vec<String> = std::fs::read_dir(data_dir.join("outbox"))
            .map(|d| {
                d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .filter(|m| m.contains(&format!("To: {to}")) && m.contains(subject_has))
                    .collect()
            })
            .unwrap_or_default();
        if found.len() > seen {
            found.sort();
            return found.pop().unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no mail to {to} about {subject_has}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A quoted-printable body, decoded (the outbox writes mail as SMTP would send it).
pub fn unquote(mail: &str) -> String {
    let joined = mail.replace("=\r\n", "").replace("=\n", "");
    let b = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The setup link's path (`/start/<store>/setup?token=…`) in a mail.
pub fn setup_path(mail: &str) -> String {
    let body = unquote(mail);
    let at = body.find("/setup?token=").expect("a link");
    let start = body[..at].rfind("/start/").expect("a start URL");
    let rest = &body[start..];
    let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    rest[..end].to_owned()
}

/// Sets a password through the link in `mail`.
pub fn set_password(b: &mut Browser, mail: &str, password: &str) -> Resp {
    let path = setup_path(mail);
    let page = b.get(&path);
    assert_eq!(page.status, 200, "{}", text(&page));
    let html = text(&page);
    let store = path.split('/').nth(2).unwrap().to_owned();
    b.post(
        &format!("/start/{store}/setup"),
        &[
            ("csrf", &hidden(&html, "csrf")),
            ("token", &hidden(&html, "token")),
            ("password", password),
            ("confirm", password),
        ],
    )
}

/// `cairn sso settings ARGS` on the server's data directory; answers the printed settings.
pub fn sso_settings(dir: &crate::common::TempDir, args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(crate::common::cairn_binary())
        .args(["sso", "settings"])
        .args(args)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("CAIRN_MASTER_KEY")
        .env_remove("CAIRN_DATABASE_URL")
        .env_remove("CAIRN_DATA_DIR")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running cairn sso settings");
    assert!(
        out.status.success(),
        "cairn sso settings failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("sso settings prints JSON")
}

/// The six-digit TOTP code of a base32 secret for a step (RFC 6238; `cairn_iam::mfa`'s,
/// checked against the RFC's vectors), as an authenticator app shows it.
pub fn totp(b32: &str, step: u64) -> String {
    let seed = cairn_iam::mfa::base32_decode(b32).expect("a base32 secret");
    cairn_iam::mfa::totp_code(&seed, i64::try_from(step).unwrap())
}

pub fn step_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 30
}

/// The secret key a registration page shows.
pub fn mfa_secret(html: &str) -> String {
    let needle = "id=\"mfa-secret\">";
    let start = html.find(needle).expect("a registration page") + needle.len();
    let end = html[start..].find('<').unwrap() + start;
    html[start..end].to_owned()
}

/// An organization with Identity Center, a member account, a user `alice` (password set
/// through her invitation) in a group assigned `ReadOnly` in the member account.
pub struct Portal {
    pub f: Fixture,
    pub inst: String,
    pub store: String,
    pub member: String,
    pub member_who: Who,
    pub user_id: String,
    pub group_id: String,
    pub ps_arn: String,
}

impl Portal {
    pub fn start_url(&self) -> String {
        format!("{}/start/{}", self.f.server.endpoint, self.store)
    }
}

pub async fn portal_setup(tag: &str) -> Portal {
    portal_setup_with(tag, false).await
}

pub async fn portal_setup_with(tag: &str, with_mfa: bool) -> Portal {
    let (f, _org) = Fixture::with_org(tag, MGMT).await;
    let (member, member_who) = signup(&f.dir, &format!("{tag}-member@example.com"), "Member");
    join(&f.server, &member, &member_who).await;
    let (inst, store) = enable_sso(&f.server).await;
    if !with_mfa {
        // These tests are about the flows after sign-in; `mfa_…` tests the second factor.
        let s = sso_settings(&f.dir, &["--mfa", "disabled"]);
        assert_eq!(s["Mfa"], "DISABLED", "{s}");
        assert_eq!(
            s["StartUrl"],
            format!("https://{store}.awsapps.com/start"),
            "{s}"
        );
    }
    let ids = f.server.identitystore_as(&f.server.root());
    let user = ok(
        "CreateUser",
        ids.create_user()
            .identity_store_id(&store)
            .user_name("alice")
            .display_name("Alice Doe")
            .name(
                aws_sdk_identitystore::types::Name::builder()
                    .given_name("Alice")
                    .family_name("Doe")
                    .build(),
            )
            .emails(
                aws_sdk_identitystore::types::Email::builder()
                    .value("alice@example.com")
                    .primary(true)
                    .build(),
            )
            .send()
            .await,
    );
    let user_id = user.user_id().to_owned();
    let group = ok(
        "CreateGroup",
        ids.create_group()
            .identity_store_id(&store)
            .display_name("Readers")
            .send()
            .await,
    );
    let group_id = group.group_id().to_owned();
    ok(
        "CreateGroupMembership",
        ids.create_group_membership()
            .identity_store_id(&store)
            .group_id(&group_id)
            .member_id(aws_sdk_identitystore::types::MemberId::UserId(
                user_id.clone(),
            ))
            .send()
            .await,
    );
    let admin = f.server.sso_admin_as(&f.server.root());
    let ps = ok(
        "CreatePermissionSet",
        admin
            .create_permission_set()
            .instance_arn(&inst)
            .name("ReadOnly")
            .session_duration("PT2H")
            .send()
            .await,
    );
    let ps_arn = ps
        .permission_set()
        .unwrap()
        .permission_set_arn()
        .unwrap()
        .to_owned();
    ok(
        "AttachManagedPolicyToPermissionSet",
        admin
            .attach_managed_policy_to_permission_set()
            .instance_arn(&inst)
            .permission_set_arn(&ps_arn)
            .managed_policy_arn(READ_ONLY)
            .send()
            .await,
    );
    assign(
        &f.server,
        &inst,
        &ps_arn,
        &member,
        PrincipalType::Group,
        &group_id,
    )
    .await;
    let p = Portal {
        f,
        inst,
        store,
        member,
        member_who,
        user_id,
        group_id,
        ps_arn,
    };
    // The invitation, and the password set through it.
    let mail = await_mail(
        &p.f.dir.path().join("data"),
        "alice@example.com",
        "Invitation",
        0,
    );
    let mut b = Browser::new(&p.f.server);
    let done = set_password(&mut b, &mail, PASSWORD);
    assert_eq!(done.status, 200, "{}", text(&done));
    assert!(text(&done).contains("Your password is set"));
    p
}

pub async fn assign(
    server: &Server,
    inst: &str,
    ps: &str,
    account: &str,
    ptype: PrincipalType,
    pid: &str,
) {
    let admin = server.sso_admin_as(&server.root());
    let out = ok(
        "CreateAccountAssignment",
        admin
            .create_account_assignment()
            .instance_arn(inst)
            .permission_set_arn(ps)
            .target_id(account)
            .target_type(TargetType::AwsAccount)
            .principal_type(ptype)
            .principal_id(pid)
            .send()
            .await,
    );
    let id = out
        .account_assignment_creation_status()
        .unwrap()
        .request_id()
        .unwrap()
        .to_owned();
    let start = Instant::now();
    loop {
        let s = ok(
            "DescribeAccountAssignmentCreationStatus",
            admin
                .describe_account_assignment_creation_status()
                .instance_arn(inst)
                .account_assignment_creation_request_id(&id)
                .send()
                .await,
        );
        let st = s.account_assignment_creation_status().unwrap();
        match st.status() {
            Some(StatusValues::InProgress) => {}
            Some(StatusValues::Succeeded) => return,
            other => panic!("assignment ended {other:?}: {:?}", st.failure_reason()),
        }
        assert!(start.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A public client registered as `name`, and a device authorization it started at the
/// portal's start URL: its ID, its secret and the authorization.
pub async fn device_start(
    p: &Portal,
    name: &str,
) -> (
    String,
    String,
    aws_sdk_ssooidc::operation::start_device_authorization::StartDeviceAuthorizationOutput,
) {
    let oidc = oidc(&p.f.server);
    let reg = ok(
        "RegisterClient",
        oidc.register_client()
            .client_name(name)
            .client_type("public")
            .send()
            .await,
    );
    let (cid, secret) = (reg.client_id().unwrap(), reg.client_secret().unwrap());
    let dev = ok(
        "StartDeviceAuthorization",
        oidc.start_device_authorization()
            .client_id(cid)
            .client_secret(secret)
            .start_url(p.start_url())
            .send()
            .await,
    );
    (cid.to_owned(), secret.to_owned(), dev)
}

/// The newest record of `event_name` that `ct`'s account sees, waiting for it.
pub(crate) async fn await_event(
    ct: &aws_sdk_cloudtrail::Client,
    event_name: &str,
) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let found = crate::common::lookup_all(
            ct,
            Some(crate::common::attr(
                aws_sdk_cloudtrail::types::LookupAttributeKey::EventName,
                event_name,
            )),
        )
        .await;
        if let Some(e) = found.first() {
            return crate::common::record(e);
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no {event_name} record"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Signs in (following the redirects from `path`) and answers the page after sign-in.
pub(crate) fn browse_signed_in(b: &mut Browser, p: &Portal, path: &str) -> Resp {
    let page = b.get(path);
    let page = b.follow(page);
    if text(&page).contains("name=\"password\"") {
        let after = b.sign_in(&page, &p.store, "alice", PASSWORD);
        assert_eq!(after.status, 302, "{}", text(&after));
        b.follow(after)
    } else {
        page
    }
}

/// The device flow: the user confirms the code in the portal; the client's token then
/// lists exactly her account and role, and its credentials are the role's session.
#[tokio::test]
async fn device_code_gives_the_users_accounts_and_roles() {
    let p = portal_setup("ssodev").await;
    let oidc = oidc(&p.f.server);
    let reg = ok(
        "RegisterClient",
        oidc.register_client()
            .client_name("botocore-client-test")
            .client_type("public")
            .scopes("sso:account:access")
            .send()
            .await,
    );
    let (cid, secret) = (
        reg.client_id().unwrap().to_owned(),
        reg.client_secret().unwrap().to_owned(),
    );
    assert_eq!(
        reg.client_secret_expires_at() - reg.client_id_issued_at(),
        90 * 24 * 3600
    );
    let dev = ok(
        "StartDeviceAuthorization",
        oidc.start_device_authorization()
            .client_id(&cid)
            .client_secret(&secret)
            .start_url(p.start_url())
            .send()
            .await,
    );
    assert_eq!(dev.expires_in(), 600);
    assert_eq!(dev.interval(), 1);
    let user_code = dev.user_code().unwrap().to_owned();
    assert_eq!(user_code.len(), 9, "{user_code}");
    let device_code = dev.device_code().unwrap().to_owned();
    let poll = || {
        oidc.create_token()
            .client_id(&cid)
            .client_secret(&secret)
            .grant_type("urn:ietf:params:oauth:grant-type:device_code")
            .device_code(&device_code)
            .send()
    };
    let pending = err_info(poll().await);
    assert_eq!(pending.code, "AuthorizationPendingException", "{pending:?}");
    // Polling again within the interval is too fast.
    let fast = err_info(poll().await);
    assert_eq!(fast.code, "SlowDownException", "{fast:?}");

    // The browser opens the verification URI, signs in, and allows the request.
    let complete = dev.verification_uri_complete().unwrap();
    assert!(
        complete.ends_with(&format!("/device?user_code={user_code}")),
        "{complete}"
    );
    let path = complete.strip_prefix(&p.f.server.endpoint).unwrap();
    let mut b = Browser::new(&p.f.server);
    let page = browse_signed_in(&mut b, &p, path);
    let html = text(&page);
    assert!(html.contains("botocore-client-test"), "{html}");
    assert!(html.contains(&user_code), "{html}");
    let done = b.post(
        "/device",
        &[
            ("csrf", &hidden(&html, "csrf")),
            ("user_code", &user_code),
            ("decision", "allow"),
        ],
    );
    assert!(text(&done).contains("Request approved"), "{}", text(&done));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let token = ok("CreateToken", poll().await);
    assert_eq!(token.token_type(), Some("Bearer"));
    assert!(token.expires_in() > 0 && token.expires_in() <= 3600);
    let access = token.access_token().unwrap().to_owned();
    // The device code is spent.
    let again = err_info(poll().await);
    assert_eq!(again.code, "InvalidGrantException", "{again:?}");

    let sso = portal(&p.f.server);
    let accounts = ok(
        "ListAccounts",
        sso.list_accounts().access_token(&access).send().await,
    );
    let ids: Vec<&str> = accounts
        .account_list()
        .iter()
        .filter_map(|a| a.account_id())
        .collect();
    assert_eq!(ids, vec![p.member.as_str()]);
    assert_eq!(accounts.account_list()[0].account_name(), Some("Member"));
    let roles = ok(
        "ListAccountRoles",
        sso.list_account_roles()
            .access_token(&access)
            .account_id(&p.member)
            .send()
            .await,
    );
    let names: Vec<&str> = roles
        .role_list()
        .iter()
        .filter_map(|r| r.role_name())
        .collect();
    assert_eq!(names, vec!["ReadOnly"]);
    let creds = ok(
        "GetRoleCredentials",
        sso.get_role_credentials()
            .access_token(&access)
            .account_id(&p.member)
            .role_name("ReadOnly")
            .send()
            .await,
    );
    let rc = creds.role_credentials().unwrap();
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    // The permission set's two hours, in epoch milliseconds.
    let left = rc.expiration() - now_ms;
    assert!(left > 7_000_000 && left <= 7_200_000, "{left}");
    let who = Who::session(
        rc.access_key_id().unwrap(),
        rc.secret_access_key().unwrap(),
        rc.session_token().unwrap(),
    );
    let me = ok(
        "GetCallerIdentity",
        p.f.server.sts_as(&who).get_caller_identity().send().await,
    );
    let arn = me.arn().unwrap();
    assert!(
        arn.starts_with(&format!(
            "arn:aws:sts::{}:assumed-role/AWSReservedSSO_ReadOnly_",
            p.member
        )) && arn.ends_with("/alice"),
        "{arn}"
    );
    // ReadOnly reads the organization, and writes nothing.
    ok(
        "DescribeOrganization",
        p.f.server
            .orgs_as(&who)
            .describe_organization()
            .send()
            .await,
    );
    let denied = err_info(
        p.f.server
            .iam_as(&who)
            .create_user()
            .user_name("mallory")
            .send()
            .await,
    );
    assert_eq!(denied.code, "AccessDenied", "{denied:?}");
    assert!(
        denied
            .message
            .contains("is not authorized to perform: iam:CreateUser"),
        "{denied:?}"
    );

    // CloudTrail: the role session's calls name the Identity Center user, and the portal
    // calls are hers.
    let member_ct = p.f.server.cloudtrail_as(&p.member_who);
    let r = await_event(&member_ct, "DescribeOrganization").await;
    assert_eq!(r["userIdentity"]["type"], "AssumedRole", "{r:#}");
    assert_eq!(
        r["userIdentity"]["onBehalfOf"]["userId"],
        p.user_id.as_str(),
        "{r:#}"
    );
    assert!(
        r["userIdentity"]["onBehalfOf"]["identityStoreArn"]
            .as_str()
            .is_some_and(|a| a.ends_with(&format!(":identitystore/{}", p.store))),
        "{r:#}"
    );
    let r = await_event(&p.f.server.cloudtrail(), "GetRoleCredentials").await;
    assert_eq!(r["eventSource"], "sso.amazonaws.com", "{r:#}");
    assert_eq!(r["userIdentity"]["type"], "IdentityCenterUser", "{r:#}");
    assert_eq!(r["userIdentity"]["accountId"], MGMT, "{r:#}");
    assert_eq!(
        r["userIdentity"]["onBehalfOf"]["userId"],
        p.user_id.as_str(),
        "{r:#}"
    );
    assert!(r["userIdentity"]["credentialId"].is_string(), "{r:#}");

    // Another user's role is not hers.
    let other = err_info(
        sso.get_role_credentials()
            .access_token(&access)
            .account_id(MGMT)
            .role_name("ReadOnly")
            .send()
            .await,
    );
    assert_eq!(other.code, "ResourceNotFoundException", "{other:?}");

    // Logout ends the token.
    ok("Logout", sso.logout().access_token(&access).send().await);
    let gone = err_info(sso.list_accounts().access_token(&access).send().await);
    assert_eq!(gone.code, "UnauthorizedException", "{gone:?}");
}

/// The authorization code flow with PKCE, as `aws sso login` runs it: the `/authorize`
/// page, a loopback redirect with the code, the exchange, and refresh-token rotation.
#[tokio::test]
async fn authorization_code_with_pkce_and_refresh() {
    let p = portal_setup("ssopkce").await;
    let oidc = oidc(&p.f.server);
    let redirect = "http://127.0.0.1:54321/oauth/callback";
    let reg = ok(
        "RegisterClient",
        oidc.register_client()
            .client_name("cairn-it-cli")
            .client_type("public")
            .grant_types("authorization_code")
            .grant_types("refresh_token")
            .redirect_uris(redirect)
            .issuer_url(p.start_url())
            .scopes("sso:account:access")
            .send()
            .await,
    );
    let (cid, secret) = (
        reg.client_id().unwrap().to_owned(),
        reg.client_secret().unwrap().to_owned(),
    );
    // RFC 7636 appendix B's verifier and challenge.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let authorize = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&state=xyz123&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge={challenge}",
        enc(&cid),
        enc(redirect)
    );
    let mut b = Browser::new(&p.f.server);
    let consent = browse_signed_in(&mut b, &p, &authorize);
    let html = text(&consent);
    assert!(html.contains("cairn-it-cli"), "{html}");
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
        location.starts_with(&format!("{redirect}?code=")),
        "{location}"
    );
    assert!(location.ends_with("&state=xyz123"), "{location}");
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let exchange = |v: &str| {
        oidc.create_token()
            .client_id(&cid)
            .client_secret(&secret)
            .grant_type("authorization_code")
            .code(&code)
            .code_verifier(v)
            .redirect_uri(redirect)
            .send()
    };
    let token = ok("CreateToken", exchange(verifier).await);
    let refresh = token.refresh_token().unwrap().to_owned();
    // A code is good once.
    let twice = err_info(exchange(verifier).await);
    assert_eq!(twice.code, "InvalidGrantException", "{twice:?}");
    let sso = portal(&p.f.server);
    ok(
        "ListAccounts",
        sso.list_accounts()
            .access_token(token.access_token().unwrap())
            .send()
            .await,
    );
    // Refresh rotates: the new token works, the spent refresh token does not.
    let renew = || {
        oidc.create_token()
            .client_id(&cid)
            .client_secret(&secret)
            .grant_type("refresh_token")
            .refresh_token(&refresh)
            .send()
    };
    let fresh = ok("CreateToken(refresh)", renew().await);
    assert_ne!(fresh.access_token(), token.access_token());
    let spent = err_info(renew().await);
    assert_eq!(spent.code, "InvalidGrantException", "{spent:?}");

    // A wrong verifier is refused, and spends the code.
    let page = b.get(&authorize);
    let html = text(&page);
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
    let location = back.header("location").unwrap().to_owned();
    let code2 = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let wrong = err_info(
        oidc.create_token()
            .client_id(&cid)
            .client_secret(&secret)
            .grant_type("authorization_code")
            .code(code2)
            .code_verifier("not-the-verifier-not-the-verifier-not-the-verifier")
            .redirect_uri(redirect)
            .send()
            .await,
    );
    assert_eq!(wrong.code, "InvalidGrantException", "{wrong:?}");

    // Denying sends the client `error=access_denied`.
    let mut form: Vec<(String, String)> =
        form.into_iter().filter(|(k, _)| k != "decision").collect();
    form.push(("decision".into(), "deny".into()));
    let form_ref: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let back = b.post("/authorize", &form_ref);
    let location = back.header("location").unwrap();
    assert_eq!(
        location,
        format!("{redirect}?error=access_denied&state=xyz123")
    );
}

/// OIDC's documented errors, the portal's refusals, CSRF and cookie tampering, lockout,
/// and a user who leaves the group losing the account.
#[tokio::test]
async fn oidc_errors_csrf_lockout_and_revocation() {
    let p = portal_setup("ssoerr").await;
    let oidc = oidc(&p.f.server);
    let bad_type = err_info(
        oidc.register_client()
            .client_name("x")
            .client_type("confidential")
            .send()
            .await,
    );
    assert_eq!(
        bad_type.code, "InvalidClientMetadataException",
        "{bad_type:?}"
    );
    let bad_grant = err_info(
        oidc.register_client()
            .client_name("x")
            .client_type("public")
            .grant_types("password")
            .send()
            .await,
    );
    assert_eq!(
        bad_grant.code, "UnsupportedGrantTypeException",
        "{bad_grant:?}"
    );
    let bad_redirect = err_info(
        oidc.register_client()
            .client_name("x")
            .client_type("public")
            .grant_types("authorization_code")
            .redirect_uris("http://evil.example.com/cb")
            .issuer_url(p.start_url())
            .send()
            .await,
    );
    assert_eq!(
        bad_redirect.code, "InvalidRedirectUriException",
        "{bad_redirect:?}"
    );
    let reg = ok(
        "RegisterClient",
        oidc.register_client()
            .client_name("c")
            .client_type("public")
            .send()
            .await,
    );
    let cid = reg.client_id().unwrap();
    let wrong_secret = err_info(
        oidc.start_device_authorization()
            .client_id(cid)
            .client_secret("not-the-secret")
            .start_url(p.start_url())
            .send()
            .await,
    );
    assert_eq!(
        wrong_secret.code, "InvalidClientException",
        "{wrong_secret:?}"
    );
    assert_eq!(wrong_secret.status, 401);
    let unknown_grant = err_info(
        oidc.create_token()
            .client_id(cid)
            .client_secret(reg.client_secret().unwrap())
            .grant_type("client_credentials")
            .send()
            .await,
    );
    assert_eq!(
        unknown_grant.code, "UnsupportedGrantTypeException",
        "{unknown_grant:?}"
    );
    let bad_device = err_info(
        oidc.create_token()
            .client_id(cid)
            .client_secret(reg.client_secret().unwrap())
            .grant_type("urn:ietf:params:oauth:grant-type:device_code")
            .device_code("nope")
            .send()
            .await,
    );
    assert_eq!(bad_device.code, "InvalidGrantException", "{bad_device:?}");
    let sso = portal(&p.f.server);
    let forged = err_info(sso.list_accounts().access_token("aoaforged").send().await);
    assert_eq!(forged.code, "UnauthorizedException", "{forged:?}");
    assert_eq!(forged.status, 401);

    // CSRF: a form without the token, or with another's, is refused.
    let mut b = Browser::new(&p.f.server);
    let page = b.open(&format!("/start/{}", p.store));
    let no_csrf = b.post(
        &format!("/start/{}/signin", p.store),
        &[("username", "alice"), ("password", PASSWORD)],
    );
    assert_eq!(no_csrf.status, 403);
    assert!(b.cookie("cairn-portal").is_none());
    let home = b.sign_in(&page, &p.store, "alice", PASSWORD);
    let home = b.follow(home);
    let html = text(&home);
    assert!(
        html.contains("Signed in as <strong>alice</strong>"),
        "{html}"
    );
    assert!(html.contains(&p.member), "{html}");
    let forged_form = b.post(
        &format!("/start/{}/credentials", p.store),
        &[
            ("csrf", "forged"),
            ("account", &p.member),
            ("role", "ReadOnly"),
        ],
    );
    assert_eq!(forged_form.status, 403);
    // The credentials panel, with the session's token, answers working credentials.
    let creds = b.post(
        &format!("/start/{}/credentials", p.store),
        &[
            ("csrf", &hidden(&html, "csrf")),
            ("account", &p.member),
            ("role", "ReadOnly"),
        ],
    );
    let html = text(&creds);
    assert!(html.contains("export AWS_ACCESS_KEY_ID=\"ASIA"), "{html}");
    // A tampered cookie is no session.
    let real = b.cookie("cairn-portal").unwrap().to_owned();
    b.set_cookie("cairn-portal", &format!("{real}x"));
    let page = b.get(&format!("/start/{}", p.store));
    assert!(text(&page).contains("name=\"password\""));
    b.set_cookie("cairn-portal", &real);
    // Sign-out ends the session on the server: the old cookie no longer works.
    let page = b.get(&format!("/start/{}", p.store));
    let html = text(&page);
    b.post(
        &format!("/start/{}/signout", p.store),
        &[("csrf", &hidden(&html, "csrf"))],
    );
    b.set_cookie("cairn-portal", &real);
    let page = b.get(&format!("/start/{}", p.store));
    assert!(text(&page).contains("name=\"password\""));

    // Five wrong passwords lock the user, even against the right one.
    let mut b = Browser::new(&p.f.server);
    for i in 0..5 {
        let page = b.open(&format!("/start/{}", p.store));
        let r = b.sign_in(&page, &p.store, "alice", "Wr0ng-password!");
        let html = text(&r);
        if i < 4 {
            assert!(html.contains("Incorrect username or password."), "{html}");
        } else {
            assert!(html.contains("locked"), "{html}");
        }
    }
    let page = b.open(&format!("/start/{}", p.store));
    let r = b.sign_in(&page, &p.store, "alice", PASSWORD);
    assert!(text(&r).contains("locked"), "{}", text(&r));

    // The sign-ins are CloudTrail events.
    let ct = p.f.server.cloudtrail();
    let found = crate::common::lookup_all(
        &ct,
        Some(crate::common::attr(
            aws_sdk_cloudtrail::types::LookupAttributeKey::EventSource,
            "signin.amazonaws.com",
        )),
    )
    .await;
    let records: Vec<serde_json::Value> = found.iter().map(crate::common::record).collect();
    let failures = records
        .iter()
        .filter(|r| {
            r["eventName"] == "CredentialVerification"
                && r["serviceEventDetails"]["CredentialVerification"] == "Failure"
        })
        .count();
    assert!(failures >= 5, "{records:#?}");
    let ok_auth = records
        .iter()
        .find(|r| r["eventName"] == "UserAuthentication")
        .expect("a UserAuthentication event");
    assert_eq!(ok_auth["userIdentity"]["type"], "IdentityCenterUser");
    assert_eq!(
        ok_auth["userIdentity"]["onBehalfOf"]["userId"],
        p.user_id.as_str()
    );
    assert_eq!(ok_auth["eventType"], "AwsServiceEvent");
    assert_eq!(ok_auth["additionalEventData"]["CredentialType"], "PASSWORD");
}

/// A user removed from the group loses the account at the next `ListAccounts`, and gets
/// no new credentials.
#[tokio::test]
async fn leaving_the_group_loses_the_account() {
    let p = portal_setup("ssoleave").await;
    let oidc = oidc(&p.f.server);
    let (cid, secret, dev) = device_start(&p, "c").await;
    let (cid, secret) = (cid.as_str(), secret.as_str());
    let mut b = Browser::new(&p.f.server);
    let path = dev
        .verification_uri_complete()
        .unwrap()
        .strip_prefix(&p.f.server.endpoint)
        .unwrap()
        .to_owned();
    let page = browse_signed_in(&mut b, &p, &path);
    let html = text(&page);
    b.post(
        "/device",
        &[
            ("csrf", &hidden(&html, "csrf")),
            ("user_code", dev.user_code().unwrap()),
            ("decision", "allow"),
        ],
    );
    let token = ok(
        "CreateToken",
        oidc.create_token()
            .client_id(cid)
            .client_secret(secret)
            .grant_type("urn:ietf:params:oauth:grant-type:device_code")
            .device_code(dev.device_code().unwrap())
            .send()
            .await,
    );
    let access = token.access_token().unwrap();
    let sso = portal(&p.f.server);
    let before = ok(
        "ListAccounts",
        sso.list_accounts().access_token(access).send().await,
    );
    assert_eq!(before.account_list().len(), 1);
    let ids = p.f.server.identitystore_as(&p.f.server.root());
    let m = ok(
        "GetGroupMembershipId",
        ids.get_group_membership_id()
            .identity_store_id(&p.store)
            .group_id(&p.group_id)
            .member_id(aws_sdk_identitystore::types::MemberId::UserId(
                p.user_id.clone(),
            ))
            .send()
            .await,
    );
    ok(
        "DeleteGroupMembership",
        ids.delete_group_membership()
            .identity_store_id(&p.store)
            .membership_id(m.membership_id())
            .send()
            .await,
    );
    let after = ok(
        "ListAccounts",
        sso.list_accounts().access_token(access).send().await,
    );
    assert!(after.account_list().is_empty(), "{after:?}");
    let creds = err_info(
        sso.get_role_credentials()
            .access_token(access)
            .account_id(&p.member)
            .role_name("ReadOnly")
            .send()
            .await,
    );
    assert_eq!(creds.code, "ResourceNotFoundException", "{creds:?}");
    // Deleting the user ends her tokens.
    ok(
        "DeleteUser",
        ids.delete_user()
            .identity_store_id(&p.store)
            .user_id(&p.user_id)
            .send()
            .await,
    );
    let gone = err_info(sso.list_accounts().access_token(access).send().await);
    assert_eq!(gone.code, "UnauthorizedException", "{gone:?}");
    let _ = (&p.inst, &p.ps_arn, &p.member_who);
}

/// MFA as the instance's settings ask: registration at the first sign-in (the QR code and
/// the key shown, a code from an authenticator app computed here), context-aware prompts
/// (a browser that did MFA is not asked again, a new one is), always-on (asked every time),
/// a code used twice refused, users without a device blocked when the setting says so, and
/// wrong codes counting towards the lockout. Sign-ins record which factors were used.
#[tokio::test]
async fn mfa_registration_and_prompts_follow_the_instance_settings() {
    let p = portal_setup_with("ssomfa", true).await;
    let defaults = sso_settings(&p.f.dir, &[]);
    assert_eq!(defaults["Mfa"], "CONTEXT_AWARE", "{defaults}");
    assert_eq!(
        defaults["WithoutMfaDevice"], "REQUIRE_REGISTRATION",
        "{defaults}"
    );
    assert_eq!(defaults["SessionDurationSeconds"], 28800, "{defaults}");
    let home = format!("/start/{}", p.store);
    let mut b = Browser::new(&p.f.server);
    let page = b.open(&home);
    let r = b.sign_in(&page, &p.store, "alice", PASSWORD);
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some(format!("/start/{}/mfa", p.store).as_str())
    );
    assert!(
        b.cookie("cairn-portal").is_none(),
        "no session before the second factor"
    );
    let reg = b.open(r.header("location").unwrap());
    let html = text(&reg);
    assert!(html.contains("Register an authenticator app"), "{html}");
    assert!(
        html.contains("src=\"data:image/png;base64,iVBORw0KGgo"),
        "a PNG QR code"
    );
    let secret = mfa_secret(&html);
    assert_eq!(secret.len(), 32, "{secret}");
    let post_code = |b: &mut Browser, page: &Resp, code: &str| {
        let html = text(page);
        b.post(
            &format!("/start/{}/mfa", p.store),
            &[("csrf", &hidden(&html, "csrf")), ("code", code)],
        )
    };
    let wrong = post_code(&mut b, &reg, "000000");
    assert!(
        text(&wrong).contains("The code is not correct"),
        "{}",
        text(&wrong)
    );
    let s = step_now();
    let done = post_code(&mut b, &wrong, &totp(&secret, s));
    assert_eq!(done.status, 302, "{}", text(&done));
    let page = b.follow(done);
    assert!(
        text(&page).contains("Signed in as <strong>alice</strong>"),
        "{}",
        text(&page)
    );
    assert!(b.cookie("cairn-device").is_some());
    // The registration is recorded as the Identity Store's, on her behalf.
    let ct = p.f.server.cloudtrail();
    for name in [
        "StartVirtualMfaDeviceRegistration",
        "CompleteVirtualMfaDeviceRegistration",
    ] {
        let r = await_event(&ct, name).await;
        assert_eq!(r["eventSource"], "sso-directory.amazonaws.com", "{r:#}");
        assert_eq!(r["userIdentity"]["type"], "IdentityCenterUser", "{r:#}");
        assert_eq!(
            r["userIdentity"]["onBehalfOf"]["userId"],
            p.user_id.as_str(),
            "{r:#}"
        );
    }

    // Context-aware: this browser is known, so no prompt after signing out and in.
    let html = text(&page);
    b.post(
        &format!("/start/{}/signout", p.store),
        &[("csrf", &hidden(&html, "csrf"))],
    );
    let page = b.open(&home);
    let r = b.sign_in(&page, &p.store, "alice", PASSWORD);
    assert_eq!(
        r.header("location"),
        Some(home.as_str()),
        "no MFA for a known browser"
    );

    // A new browser is asked; the code already used is refused, the next step's taken.
    let mut other = Browser::new(&p.f.server);
    let page = other.open(&home);
    let r = other.sign_in(&page, &p.store, "alice", PASSWORD);
    let prompt = other.open(r.header("location").unwrap());
    let html = text(&prompt);
    assert!(
        html.contains("Enter the code your authenticator app shows"),
        "{html}"
    );
    let replay = post_code(&mut other, &prompt, &totp(&secret, s));
    assert!(
        text(&replay).contains("The code is not correct"),
        "replayed code accepted"
    );
    let ok_next = post_code(&mut other, &replay, &totp(&secret, step_now() + 1));
    assert_eq!(ok_next.status, 302, "{}", text(&ok_next));

    // Always-on: even the known browser is asked.
    let s2 = sso_settings(
        &p.f.dir,
        &["--mfa", "always-on", "--session-duration", "3600"],
    );
    assert_eq!(s2["Mfa"], "ALWAYS_ON");
    let mut fresh = Browser::new(&p.f.server);
    fresh.set_cookie("cairn-device", b.cookie("cairn-device").unwrap());
    let page = fresh.open(&home);
    let r = fresh.sign_in(&page, &p.store, "alice", PASSWORD);
    assert_eq!(
        r.header("location"),
        Some(format!("/start/{}/mfa", p.store).as_str())
    );
    // Wrong codes count towards the lockout, with the password's failures.
    let mut prompt = fresh.open(r.header("location").unwrap());
    for _ in 0..5 {
        prompt = post_code(&mut fresh, &prompt, "123456");
    }
    assert!(text(&prompt).contains("locked"), "{}", text(&prompt));

    // A user without a device, where the setting blocks them.
    sso_settings(&p.f.dir, &["--without-mfa-device", "block"]);
    let ids = p.f.server.identitystore_as(&p.f.server.root());
    ok(
        "CreateUser",
        ids.create_user()
            .identity_store_id(&p.store)
            .user_name("bob")
            .display_name("Bob")
            .name(
                aws_sdk_identitystore::types::Name::builder()
                    .given_name("Bob")
                    .family_name("Roe")
                    .build(),
            )
            .emails(
                aws_sdk_identitystore::types::Email::builder()
                    .value("bob@example.com")
                    .primary(true)
                    .build(),
            )
            .send()
            .await,
    );
    let mail = await_mail(
        &p.f.dir.path().join("data"),
        "bob@example.com",
        "Invitation",
        0,
    );
    let mut bb = Browser::new(&p.f.server);
    set_password(&mut bb, &mail, PASSWORD);
    let page = bb.open(&home);
    let r = bb.sign_in(&page, &p.store, "bob", PASSWORD);
    assert_eq!(r.status, 403, "{}", text(&r));
    assert!(text(&r).contains("MFA device required"));

    // The record: password then TOTP verified, and the authentication used MFA.
    let found = crate::common::lookup_all(
        &p.f.server.cloudtrail(),
        Some(crate::common::attr(
            aws_sdk_cloudtrail::types::LookupAttributeKey::EventName,
            "UserAuthentication",
        )),
    )
    .await;
    let records: Vec<serde_json::Value> = found.iter().map(crate::common::record).collect();
    assert!(
        records
            .iter()
            .any(|r| r["additionalEventData"]["MFAUsed"] == "Yes"),
        "{records:#?}"
    );
    let found = crate::common::lookup_all(
        &p.f.server.cloudtrail(),
        Some(crate::common::attr(
            aws_sdk_cloudtrail::types::LookupAttributeKey::EventName,
            "CredentialVerification",
        )),
    )
    .await;
    let records: Vec<serde_json::Value> = found.iter().map(crate::common::record).collect();
    assert!(
        records
            .iter()
            .any(|r| r["additionalEventData"]["CredentialType"] == "TOTP"
                && r["serviceEventDetails"]["CredentialVerification"] == "Failure"),
        "{records:#?}"
    );
}

/// A form post of the route test: (route, path, fields).
type FormCase<'a> = (&'a str, String, Vec<(&'a str, String)>);

/// Every route of the portal's pages (`cairn_server::app::PAGE_ROUTES`, what the router
/// serves besides the AWS pipeline) refuses an unauthenticated browser: protected pages
/// send it to the sign-in page (showing nothing of the user's), and every form post
/// without the session's CSRF token is refused.
#[tokio::test]
async fn every_portal_route_refuses_the_unauthenticated() {
    let p = portal_setup("ssoroutes").await;
    let oidc = oidc(&p.f.server);
    let reg = ok(
        "RegisterClient",
        oidc.register_client()
            .client_name("c")
            .client_type("public")
            .grant_types("authorization_code")
            .grant_types("urn:ietf:params:oauth:grant-type:device_code")
            .redirect_uris("http://127.0.0.1/oauth/callback")
            .issuer_url(p.start_url())
            .send()
            .await,
    );
    let dev = ok(
        "StartDeviceAuthorization",
        oidc.start_device_authorization()
            .client_id(reg.client_id().unwrap())
            .client_secret(reg.client_secret().unwrap())
            .start_url(p.start_url())
            .send()
            .await,
    );
    let s = &p.store;
    let authorize = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&state=s&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        enc(reg.client_id().unwrap()),
        enc("http://127.0.0.1:5000/oauth/callback")
    );
    // (route, method, path, form) — protected GETs must land on the sign-in page.
    let gets: Vec<(&str, String)> = vec![
        ("/start", "/start".to_owned()),
        ("/start/{*rest}", format!("/start/{s}")),
        (
            "/start/{*rest}",
            format!("/start/{s}/console?account={}&role=ReadOnly", p.member),
        ),
        ("/start/{*rest}", format!("/start/{s}/mfa")),
        (
            "/device",
            format!("/device?user_code={}", dev.user_code().unwrap()),
        ),
        ("/authorize", authorize.clone()),
    ];
    let posts: Vec<FormCase> = vec![
        (
            "/start/{*rest}",
            format!("/start/{s}/signin"),
            vec![("username", "alice".into()), ("password", PASSWORD.into())],
        ),
        ("/start/{*rest}", format!("/start/{s}/signout"), vec![]),
        (
            "/start/{*rest}",
            format!("/start/{s}/credentials"),
            vec![("account", p.member.clone()), ("role", "ReadOnly".into())],
        ),
        (
            "/start/{*rest}",
            format!("/start/{s}/mfa"),
            vec![("code", "123456".into())],
        ),
        (
            "/start/{*rest}",
            format!("/start/{s}/setup"),
            vec![
                ("token", "x".into()),
                ("password", PASSWORD.into()),
                ("confirm", PASSWORD.into()),
            ],
        ),
        (
            "/start/{*rest}",
            format!("/start/{s}/forgot"),
            vec![("username", "alice".into())],
        ),
        (
            "/device",
            "/device".to_owned(),
            vec![
                ("user_code", dev.user_code().unwrap().to_owned()),
                ("decision", "allow".into()),
            ],
        ),
        (
            "/authorize",
            "/authorize".to_owned(),
            vec![
                ("client_id", reg.client_id().unwrap().to_owned()),
                ("decision", "allow".into()),
            ],
        ),
    ];
    let mut covered = std::collections::BTreeSet::new();
    for (route, path) in &gets {
        covered.insert(*route);
        let mut b = Browser::new(&p.f.server);
        let page = b.open(path);
        let html = text(&page);
        assert!(
            page.status == 200
                && html.contains("name=\"password\"")
                && !html.contains("Signed in as")
                && !html.contains("AWS accounts"),
            "GET {path} without a session did not land on the sign-in page: {} {html}",
            page.status
        );
        assert!(b.cookie("cairn-portal").is_none());
    }
    for (route, path, form) in &posts {
        covered.insert(*route);
        let mut b = Browser::new(&p.f.server);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = b.post(path, &form);
        assert_eq!(
            r.status,
            403,
            "POST {path} without a CSRF token: {}",
            text(&r)
        );
        // With the pre-sign-in CSRF token but no session, nothing protected happens either.
        let page = b.open(&format!("/start/{s}"));
        let token = hidden(&text(&page), "csrf");
        let mut with = form.clone();
        with.push(("csrf", &token));
        let r = b.post(path, &with);
        let html = text(&r);
        assert!(
            !html.contains("AWS_ACCESS_KEY_ID") && !html.contains("Request approved"),
            "POST {path} without a session did something: {html}"
        );
        if !path.ends_with("/signin") {
            assert!(
                b.cookie("cairn-portal").is_none(),
                "POST {path} made a session"
            );
        }
    }
    let routes: std::collections::BTreeSet<&str> =
        cairn_server::app::PAGE_ROUTES.iter().copied().collect();
    assert_eq!(covered, routes, "a portal route without a case here");
    // The device code was not approved by any of it.
    let pending = err_info(
        oidc.create_token()
            .client_id(reg.client_id().unwrap())
            .client_secret(reg.client_secret().unwrap())
            .grant_type("urn:ietf:params:oauth:grant-type:device_code")
            .device_code(dev.device_code().unwrap())
            .send()
            .await,
    );
    assert_eq!(pending.code, "AuthorizationPendingException", "{pending:?}");
}

/// The portal's pages are adapters of the portal API: the credentials panel and sign-out run
/// `GetRoleCredentials` and `Logout` through the same core as the bearer-token calls, so
/// they are authorized as the signed-in user and recorded in CloudTrail as hers (the browser
/// session's cookie hidden as every token is), and sign-out ends the session server-side.
#[tokio::test]
async fn portal_pages_run_the_portal_api_as_the_signed_in_user() {
    let p = portal_setup("ssopages").await;
    // Her password, set from the invitation's link, is an Identity Store event of hers.
    let ct = p.f.server.cloudtrail();
    let r = await_event(&ct, "UpdatePassword").await;
    assert_eq!(r["eventSource"], "sso-directory.amazonaws.com", "{r:#}");
    assert_eq!(r["userIdentity"]["type"], "IdentityCenterUser", "{r:#}");
    assert_eq!(
        r["userIdentity"]["onBehalfOf"]["userId"],
        p.user_id.as_str(),
        "{r:#}"
    );
    assert!(!r.to_string().contains(PASSWORD), "{r:#}");
    let mut b = Browser::new(&p.f.server);
    let home = browse_signed_in(&mut b, &p, &format!("/start/{}", p.store));
    let html = text(&home);
    assert!(html.contains(&p.member), "{html}");
    let csrf = hidden(&html, "csrf");
    let creds = b.post(
        &format!("/start/{}/credentials", p.store),
        &[
            ("csrf", csrf.as_str()),
            ("account", p.member.as_str()),
            ("role", "ReadOnly"),
        ],
    );
    assert!(
        text(&creds).contains("export AWS_ACCESS_KEY_ID=\"ASIA"),
        "{}",
        text(&creds)
    );
    // A role she does not have is refused by the handler the API uses.
    let denied = b.post(
        &format!("/start/{}/credentials", p.store),
        &[
            ("csrf", csrf.as_str()),
            ("account", p.member.as_str()),
            ("role", "NoSuchSet"),
        ],
    );
    assert_eq!(denied.status, 403, "{}", text(&denied));
    // Both calls are recorded (the refused one with the handler's error), newest first.
    // (Reads are recorded in short group commits: wait for both.)
    let start = Instant::now();
    let records: Vec<serde_json::Value> = loop {
        let found = crate::common::lookup_all(
            &ct,
            Some(crate::common::attr(
                aws_sdk_cloudtrail::types::LookupAttributeKey::EventName,
                "GetRoleCredentials",
            )),
        )
        .await;
        if found.len() >= 2 || start.elapsed() > Duration::from_secs(10) {
            break found.iter().map(crate::common::record).collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(records.len(), 2, "{records:#?}");
    let refused = records.iter().filter(|r| r.get("errorCode").is_some());
    assert_eq!(
        refused.map(|r| r["errorCode"].clone()).collect::<Vec<_>>(),
        ["ResourceNotFoundException"],
        "{records:#?}"
    );
    let Some(r) = records.iter().find(|r| r.get("errorCode").is_none()) else {
        panic!("no successful GetRoleCredentials record: {records:#?}");
    };
    assert!(r.get("errorCode").is_none(), "{r:#}");
    assert_eq!(r["eventSource"], "sso.amazonaws.com", "{r:#}");
    assert_eq!(r["userIdentity"]["type"], "IdentityCenterUser", "{r:#}");
    assert_eq!(r["userIdentity"]["accountId"], MGMT, "{r:#}");
    assert_eq!(
        r["userIdentity"]["onBehalfOf"]["userId"],
        p.user_id.as_str(),
        "{r:#}"
    );
    assert_eq!(
        r["requestParameters"]["accountId"],
        p.member.as_str(),
        "{r:#}"
    );
    assert_eq!(
        r["requestParameters"]["accessToken"], "HIDDEN_DUE_TO_SECURITY_REASONS",
        "{r:#}"
    );
    let cookie = b.cookie("cairn-portal").unwrap().to_owned();
    assert!(
        !r.to_string().contains(&cookie),
        "the session cookie is in the record: {r:#}"
    );

    // The accounts page read them through ListAccounts and ListAccountRoles, as hers.
    for name in ["ListAccounts", "ListAccountRoles"] {
        let r = await_event(&ct, name).await;
        assert_eq!(r["userIdentity"]["type"], "IdentityCenterUser", "{r:#}");
        assert_eq!(
            r["userIdentity"]["onBehalfOf"]["userId"],
            p.user_id.as_str(),
            "{r:#}"
        );
    }

    let page = b.get(&format!("/start/{}", p.store));
    let out = b.post(
        &format!("/start/{}/signout", p.store),
        &[("csrf", &hidden(&text(&page), "csrf"))],
    );
    assert_eq!(out.status, 302);
    let r = await_event(&ct, "Logout").await;
    assert_eq!(r["userIdentity"]["type"], "IdentityCenterUser", "{r:#}");
    assert!(r.get("errorCode").is_none(), "{r:#}");
    b.set_cookie("cairn-portal", &cookie);
    let page = b.get(&format!("/start/{}", p.store));
    let page = b.follow(page);
    assert!(
        text(&page).contains("name=\"password\""),
        "{} {}",
        page.status,
        text(&page)
    );
}
