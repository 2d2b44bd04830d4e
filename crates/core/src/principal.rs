//! The authenticated caller.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Principal {
    /// An account's root user.
    Root {
        account_id: String,
        access_key_id: String,
    },
    /// An IAM user.
    IamUser {
        account_id: String,
        user_name: String,
        /// `AIDA…`
        user_id: String,
        path: String,
        access_key_id: String,
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
        /// When the session was issued (epoch millis).
        issued_at_ms: i64,
        mfa_authenticated: bool,
        source_identity: Option<String>,
    },
    /// An unsigned call (the portal and OIDC operations that AWS serves without SigV4).
    Anonymous,
}

impl Principal {
    pub fn account_id(&self) -> &str {
        match self {
            Self::Root { account_id, .. }
            | Self::IamUser { account_id, .. }
            | Self::AssumedRole { account_id, .. } => account_id,
            Self::Anonymous => "",
        }
    }

    pub fn access_key_id(&self) -> Option<&str> {
        match self {
            Self::Root { access_key_id, .. }
            | Self::IamUser { access_key_id, .. }
            | Self::AssumedRole { access_key_id, .. } => Some(access_key_id),
            Self::Anonymous => None,
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
            Self::Anonymous => String::new(),
        }
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
            Self::Anonymous => String::new(),
        }
    }

    pub fn is_root(&self) -> bool {
        matches!(self, Self::Root { .. })
    }
}
