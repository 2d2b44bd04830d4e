//! The authenticated caller.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What temporary credentials carry besides the identity they act as.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// When the credentials were issued (epoch millis): `aws:TokenIssueTime`.
    pub issued_at_ms: i64,
    /// When they stop working (epoch millis).
    pub expires_ms: i64,
    pub mfa_authenticated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// The inline session policy (`Policy` of `AssumeRole`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Managed session policies (`PolicyArns`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_arns: Vec<String>,
    /// Session tags, keys as given (`aws:PrincipalTag/…`; they override the role's tags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitive_tag_keys: Vec<String>,
    /// Set when the session was made by `AssumeRole` called with role-session credentials
    /// (role chaining: at most one hour).
    #[serde(default)]
    pub chained: bool,
    /// A privileged session of a member account's root user (`sts:AssumeRoot`): the task
    /// policy is `policy_arns[0]`, `aws:AssumedRoot` is `true`, and CloudTrail records
    /// `sessionContext.assumedRoot`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub assumed_root: bool,
    /// Scope-down policies (`sts:GetScopedCredentials`), oldest first: each one narrows the
    /// session further (an intersection, not a union like `policy` and `policy_arns`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scoped: Vec<String>,
    /// The scoped session's description (`ScopedSessionDescription` of the last call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoped_description: Option<String>,
    /// Credentials traded in for a temporary-delegation token (`sts:GetDelegatedAccessToken`):
    /// the delegation request they came from. The session policy is the request's permission
    /// policy, and CloudTrail records the request in `sessionContext`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation_request_id: Option<String>,
    /// The Identity Center user a portal role session was issued to (`sso:GetRoleCredentials`):
    /// CloudTrail records it as `userIdentity.onBehalfOf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<OnBehalfOf>,
}

/// An Identity Center user a session acts for (CloudTrail User Guide, "CloudTrail
/// userIdentity element": `onBehalfOf` with `userId` and `identityStoreArn`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnBehalfOf {
    pub user_id: String,
    pub identity_store_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Principal {
    /// An account's root user.
    Root {
        account_id: String,
        access_key_id: String,
        /// Temporary credentials (`sts:GetSessionToken`); `None` for the long-term key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<Arc<Session>>,
    },
    /// An IAM user.
    IamUser {
        account_id: String,
        user_name: String,
        /// `AIDA…`
        user_id: String,
        path: String,
        access_key_id: String,
        /// Temporary credentials (`sts:GetSessionToken`); `None` for a long-term key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<Arc<Session>>,
    },
    /// A role session (`sts:AssumeRole`, Identity Center).
    AssumedRole {
        account_id: String,
        role_name: String,
        /// `AROA…`
        role_id: String,
        role_path: String,
        session_name: String,
        /// `ASIA…`
        access_key_id: String,
        session: Arc<Session>,
    },
    /// A federated user session (`sts:GetFederationToken`): `name` is the caller-chosen
    /// `Name`; the permissions are the issuing IAM user's, intersected with the session
    /// policies (IAM User Guide, "Requesting temporary security credentials").
    FederatedUser {
        account_id: String,
        name: String,
        /// The IAM user who called `GetFederationToken`; `None`: the account's root user.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issuer: Option<IssuingUser>,
        /// `ASIA…`
        access_key_id: String,
        session: Arc<Session>,
    },
    /// An Identity Center user, authenticated by the access portal's bearer token (the
    /// portal API, `x-amz-sso_bearer_token`) or by a signed-in browser session (the portal's
    /// pages). It has no IAM permissions of its own: it may call the portal API for itself
    /// and nothing else (see the server's `authn` and `authz`).
    IdentityCenterUser(Arc<IdentityCenterUser>),
    /// An sso-oidc client that proved its registration's secret (`clientId` and
    /// `clientSecret` of `StartDeviceAuthorization` and `CreateToken`, RFC 6749 §2.3.1). It
    /// has no IAM identity: CloudTrail records it as an unsigned caller.
    OidcClient { client_id: String },
    /// An unsigned call (the OIDC operations that AWS serves without SigV4, and the STS
    /// operations authenticated by the assertion they carry).
    Anonymous,
}

/// An Identity Center user a bearer token or browser session acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityCenterUser {
    /// The instance's owner: the account the user's calls are recorded in.
    pub account_id: String,
    pub instance_id: String,
    /// The identity store (`d-…`) and its ARN (`onBehalfOf.identityStoreArn`).
    pub store_id: String,
    pub identity_store_arn: String,
    pub user_id: String,
    pub user_name: String,
    /// What the user authenticated with.
    pub credential: PortalCredential,
    /// CloudTrail's `credentialId`: an ID of the credential that reveals nothing of it.
    pub credential_id: String,
    /// When the sign-in behind the credential ends (epoch millis): no role session issued
    /// for it outlives this.
    pub session_expires_ms: i64,
}

/// The credential an [`IdentityCenterUser`] presented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PortalCredential {
    /// An sso-oidc access token (its SHA-256, as stored).
    AccessToken { hash: String },
    /// The access portal's browser session (its cookie's SHA-256, as stored).
    BrowserSession { hash: String },
}

/// The IAM user a federated user session was issued by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuingUser {
    pub user_name: String,
    /// `AIDA…`
    pub user_id: String,
    pub path: String,
}

impl Principal {
    pub fn account_id(&self) -> &str {
        match self {
            Self::Root { account_id, .. }
            | Self::IamUser { account_id, .. }
            | Self::AssumedRole { account_id, .. }
            | Self::FederatedUser { account_id, .. } => account_id,
            Self::IdentityCenterUser(u) => &u.account_id,
            Self::OidcClient { .. } | Self::Anonymous => "",
        }
    }

    pub fn access_key_id(&self) -> Option<&str> {
        match self {
            Self::Root { access_key_id, .. }
            | Self::IamUser { access_key_id, .. }
            | Self::AssumedRole { access_key_id, .. }
            | Self::FederatedUser { access_key_id, .. } => Some(access_key_id),
            Self::IdentityCenterUser(_) | Self::OidcClient { .. } | Self::Anonymous => None,
        }
    }

    /// The caller's ARN as `GetCallerIdentity` reports it.
    pub fn arn(&self) -> String {
        match self {
            Self::Root { account_id, .. } => format!("arn:aws:iam::{account_id}:root"),
            Self::IamUser {
                account_id,
                user_name,
                path,
                ..
            } => format!("arn:aws:iam::{account_id}:user{path}{user_name}"),
            Self::AssumedRole {
                account_id,
                role_name,
                session_name,
                ..
            } => {
                format!("arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}")
            }
            Self::FederatedUser {
                account_id, name, ..
            } => format!("arn:aws:sts::{account_id}:federated-user/{name}"),
            // The identity store user's ARN (Service Authorization Reference, "AWS Identity
            // Store": resource type `User`, `arn:${Partition}:identitystore:::user/${UserId}`).
            Self::IdentityCenterUser(u) => format!("arn:aws:identitystore:::user/{}", u.user_id),
            Self::OidcClient { .. } | Self::Anonymous => String::new(),
        }
    }

    /// The role a role session belongs to (`arn:aws:iam::…:role/<path>/<name>`): what
    /// `aws:PrincipalArn` holds and resource policies may name. `None` for other callers.
    pub fn role_arn(&self) -> Option<String> {
        match self {
            Self::AssumedRole {
                account_id,
                role_name,
                role_path,
                ..
            } => {
                let path = if role_path.is_empty() { "/" } else { role_path };
                Some(format!("arn:aws:iam::{account_id}:role{path}{role_name}"))
            }
            _ => None,
        }
    }

    /// `aws:PrincipalArn`: the role's ARN for role sessions, the caller's ARN otherwise.
    pub fn principal_arn(&self) -> String {
        self.role_arn().unwrap_or_else(|| self.arn())
    }

    /// `aws:userid` / `GetCallerIdentity.UserId`.
    pub fn user_id(&self) -> String {
        match self {
            Self::Root { account_id, .. } => account_id.clone(),
            Self::IamUser { user_id, .. } => user_id.clone(),
            Self::AssumedRole {
                role_id,
                session_name,
                ..
            } => format!("{role_id}:{session_name}"),
            // "account:caller-specified-name" (IAM User Guide, "aws:userid").
            Self::FederatedUser {
                account_id, name, ..
            } => format!("{account_id}:{name}"),
            Self::IdentityCenterUser(u) => u.user_id.clone(),
            Self::OidcClient { client_id } => client_id.clone(),
            Self::Anonymous => String::new(),
        }
    }

    /// The temporary-credential session the caller signs with, if any.
    pub fn session(&self) -> Option<&Session> {
        match self {
            Self::Root { session, .. } | Self::IamUser { session, .. } => session.as_deref(),
            Self::AssumedRole { session, .. } | Self::FederatedUser { session, .. } => {
                Some(session)
            }
            Self::IdentityCenterUser(_) | Self::OidcClient { .. } | Self::Anonymous => None,
        }
    }

    pub fn is_root(&self) -> bool {
        matches!(self, Self::Root { .. })
    }
}
