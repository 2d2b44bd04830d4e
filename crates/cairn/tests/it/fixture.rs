//! The shared fixture of the scenario tests: a server on its own data directory, optionally
//! with an organization (all features), an administrator user of the management account, and
//! a member account reached through its `OrganizationAccountAccessRole`.
//!
//! Each test builds the part it needs, so that one named test checks one behaviour and a
//! failure in one does not hide the others.

use crate::common::{Server, TempDir, Who, ok};
use aws_sdk_organizations::types::{
    CreateAccountState, HandshakeParty, HandshakePartyType, OrganizationFeatureSet,
};
use std::time::{Duration, Instant};

/// The policy that allows everything (AdministratorAccess's document).
pub const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// The ARN of the AWS-managed `AdministratorAccess` policy in the `aws` partition.
pub const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

pub struct Fixture {
    // Field order matters: the server stops before its data directory is removed.
    pub server: Server,
    pub dir: TempDir,
}

/// An organization made by [`Fixture::org`].
pub struct Org {
    pub id: String,
    pub root_id: String,
}

impl Fixture {
    /// A server whose management (root) account is `account`, with no organization.
    pub fn new(tag: &str, account: &str) -> Self {
        Self::with_args(tag, account, &[])
    }

    /// [`Fixture::new`] with more `cairn serve` flags.
    pub fn with_args(tag: &str, account: &str, extra: &[&str]) -> Self {
        let dir = TempDir::new(tag);
        let mut args = vec!["--account-id", account];
        args.extend_from_slice(extra);
        let server = Server::start(&dir, &args);
        Fixture { server, dir }
    }

    /// A server, as [`Fixture::new`], whose account has made an organization with all
    /// features.
    pub async fn with_org(tag: &str, account: &str) -> (Self, Org) {
        let f = Self::new(tag, account);
        let org = f.org().await;
        (f, org)
    }

    /// Creates the organization (all features) and answers its ID and root ID.
    pub async fn org(&self) -> Org {
        let orgs = self.server.orgs();
        let out = ok(
            "CreateOrganization",
            orgs.create_organization()
                .feature_set(OrganizationFeatureSet::All)
                .send()
                .await,
        );
        let id = out.organization().and_then(|o| o.id()).unwrap().to_owned();
        let roots = ok("ListRoots", orgs.list_roots().send().await);
        let root_id = roots.roots()[0].id().unwrap().to_owned();
        Org { id, root_id }
    }

    /// Creates IAM user `name` with inline policy `policy` (named "inline") and an access
    /// key, and answers the key ([`user_with_key`]).
    pub async fn user_with_key(&self, name: &str, policy: &str) -> Who {
        user_with_key(&self.server, name, policy).await
    }

    /// Creates IAM user `name` with `AdministratorAccess` attached, `extra` (when given) as
    /// its inline policy "extra", and an access key; answers the key.
    pub async fn admin(&self, name: &str, extra: Option<&str>) -> Who {
        let iam = self.server.iam();
        ok("CreateUser", iam.create_user().user_name(name).send().await);
        ok(
            "AttachUserPolicy",
            iam.attach_user_policy()
                .user_name(name)
                .policy_arn(ADMINISTRATOR_ACCESS)
                .send()
                .await,
        );
        if let Some(extra) = extra {
            ok(
                "PutUserPolicy",
                iam.put_user_policy()
                    .user_name(name)
                    .policy_name("extra")
                    .policy_document(extra)
                    .send()
                    .await,
            );
        }
        self.key_for(name).await
    }

    /// A new access key of existing user `name`.
    pub async fn key_for(&self, name: &str) -> Who {
        key_for(&self.server, name).await
    }

    /// Creates a member account with `CreateAccount`, waits for it to succeed, and answers
    /// its ID.
    pub async fn member(&self, name: &str, email: &str) -> String {
        let orgs = self.server.orgs();
        let request = start_member(&orgs, name, email).await;
        await_member(&orgs, &request).await
    }
}

/// Creates IAM user `name` with inline policy `policy` (named "inline") and an access key,
/// and answers the key.
pub async fn user_with_key(server: &Server, name: &str, policy: &str) -> Who {
    let iam = server.iam();
    ok("CreateUser", iam.create_user().user_name(name).send().await);
    ok(
        "PutUserPolicy",
        iam.put_user_policy()
            .user_name(name)
            .policy_name("inline")
            .policy_document(policy)
            .send()
            .await,
    );
    key_for(server, name).await
}

/// A new access key of existing user `name`.
pub async fn key_for(server: &Server, name: &str) -> Who {
    let key = ok(
        "CreateAccessKey",
        server
            .iam()
            .create_access_key()
            .user_name(name)
            .send()
            .await,
    );
    let key = key.access_key().expect("an access key");
    Who::new(key.access_key_id(), key.secret_access_key())
}

/// Sends `CreateAccount` and answers its request ID (the account is made asynchronously).
pub async fn start_member(orgs: &aws_sdk_organizations::Client, name: &str, email: &str) -> String {
    let car = ok(
        "CreateAccount",
        orgs.create_account()
            .account_name(name)
            .email(email)
            .send()
            .await,
    );
    car.create_account_status()
        .and_then(|s| s.id())
        .unwrap()
        .to_owned()
}

/// Waits for the `CreateAccount` request `request` to succeed and answers the account ID.
pub async fn await_member(orgs: &aws_sdk_organizations::Client, request: &str) -> String {
    let start = Instant::now();
    loop {
        let st = ok(
            "DescribeCreateAccountStatus",
            orgs.describe_create_account_status()
                .create_account_request_id(request)
                .send()
                .await,
        );
        let st = st.create_account_status().unwrap().clone();
        match st.state() {
            Some(CreateAccountState::Succeeded) => return st.account_id().unwrap().to_owned(),
            Some(CreateAccountState::InProgress) => {}
            other => panic!("CreateAccount ended {other:?}: {st:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "CreateAccount too slow"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Session credentials for `member`'s `OrganizationAccountAccessRole`, assumed by `who`
/// (root users may not assume roles: pass an administrator of the management account).
pub async fn member_role(server: &Server, who: &Who, member: &str) -> Who {
    let assumed = ok(
        "AssumeRole",
        server
            .sts_as(who)
            .assume_role()
            .role_arn(format!(
                "arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
            ))
            .role_session_name("it")
            .send()
            .await,
    );
    session(assumed.credentials().unwrap())
}

/// The principal of STS session credentials.
pub fn session(creds: &aws_sdk_sts::types::Credentials) -> Who {
    Who::session(
        creds.access_key_id(),
        creds.secret_access_key(),
        creds.session_token(),
    )
}

/// Invites account `id` into the organization of the server's bootstrap account and accepts
/// the handshake as `who` (that account's root).
pub async fn join(server: &Server, id: &str, who: &Who) {
    let invite = ok(
        "InviteAccountToOrganization",
        server
            .orgs()
            .invite_account_to_organization()
            .target(
                HandshakeParty::builder()
                    .id(id)
                    .r#type(HandshakePartyType::Account)
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    let handshake = invite.handshake().unwrap().id().unwrap().to_owned();
    ok(
        "AcceptHandshake",
        server
            .orgs_as(who)
            .accept_handshake()
            .handshake_id(&handshake)
            .send()
            .await,
    );
}
