//! The authorize step's per-process caches: identity policies per principal, the
//! organization context per account, resource tags per ARN, parsed session policies. Every
//! entry is filed under the generation of the state it was read from (`Env::generations`,
//! read *before* the store) and a time-to-live, so a change committed through this process is
//! in force for the next call, and one through another process after at most the TTL.

use cairn_core::{GenerationCache, OrgContext, Principal};
use cairn_iam::IdentityPolicies;
use cairn_policy::{Policy, PolicyKind};
use cairn_store::{StoreError, Tx};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A resource's tags, `(key, value)`.
pub(crate) type ResourceTags = Vec<(String, String)>;

/// Per-process caches of what authorization reads from the store.
#[derive(Default)]
pub struct AuthzCache {
    pub(crate) identities: GenerationCache<Option<Arc<IdentityPolicies>>>,
    pub(crate) orgs: GenerationCache<Option<Arc<OrgContext>>>,
    session_policies: RwLock<HashMap<String, Arc<Policy>>>,
    /// Tags by resource ARN, under the sum of the IAM and Organizations generations (both
    /// only grow, so the sum moves whenever either does).
    pub(crate) tags: GenerationCache<Option<Arc<ResourceTags>>>,
}

impl AuthzCache {
    /// A session's inline policy, parsed once per distinct document. `None`: it does not
    /// parse — it was validated when the session was issued, so that means a token forged
    /// around the validation, which the seal makes impossible; callers refuse.
    pub(crate) fn session_policy(&self, doc: &str) -> Option<Arc<Policy>> {
        if let Ok(map) = self.session_policies.read()
            && let Some(p) = map.get(doc)
        {
            return Some(Arc::clone(p));
        }
        let parsed = Arc::new(Policy::parse("", doc, PolicyKind::Identity).ok()?);
        if let Ok(mut map) = self.session_policies.write() {
            if map.len() >= cairn_core::generation::CACHE_LIMIT {
                map.clear();
            }
            map.insert(doc.to_owned(), Arc::clone(&parsed));
        }
        Some(parsed)
    }
}

/// The principal as the store knows it: whose identity policies apply.
#[derive(Clone)]
pub(crate) enum Subject {
    Root,
    User {
        account: String,
        name: String,
    },
    Role {
        account: String,
        name: String,
    },
    /// A federated user session the root user issued: the root user's implicit full access,
    /// narrowed by the session policies.
    RootFederation {
        account: String,
    },
}

impl Subject {
    pub(crate) fn of(p: &Principal) -> Subject {
        match p {
            Principal::IamUser {
                account_id,
                user_name,
                ..
            } => Subject::User {
                account: account_id.clone(),
                name: user_name.clone(),
            },
            Principal::AssumedRole {
                account_id,
                role_name,
                ..
            } => Subject::Role {
                account: account_id.clone(),
                name: role_name.clone(),
            },
            Principal::FederatedUser {
                account_id,
                issuer: Some(user),
                ..
            } => Subject::User {
                account: account_id.clone(),
                name: user.user_name.clone(),
            },
            Principal::FederatedUser {
                account_id,
                issuer: None,
                ..
            } => Subject::RootFederation {
                account: account_id.clone(),
            },
            Principal::Root { .. }
            | Principal::IdentityCenterUser(_)
            | Principal::OidcClient { .. }
            | Principal::Anonymous => Subject::Root,
        }
    }

    /// The identity cache's key; `None` for principals without identity policies.
    pub(crate) fn cache_key(&self) -> Option<String> {
        match self {
            Subject::Root => None,
            Subject::User { account, name } => Some(format!("u/{account}/{}", name.to_lowercase())),
            Subject::Role { account, name } => Some(format!("r/{account}/{}", name.to_lowercase())),
            Subject::RootFederation { account } => Some(format!("rf/{account}")),
        }
    }

    pub(crate) fn load(&self, tx: &mut dyn Tx) -> Result<Option<IdentityPolicies>, StoreError> {
        match self {
            Subject::Root => Ok(None),
            Subject::User { account, name } => cairn_iam::user_identity(tx, account, name),
            Subject::Role { account, name } => cairn_iam::role_identity(tx, account, name),
            Subject::RootFederation { .. } => {
                const ALL: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
                let all = Policy::parse("", ALL, cairn_policy::PolicyKind::Identity).ok();
                Ok(Some(IdentityPolicies {
                    policies: all.map(Arc::new).into_iter().collect(),
                    boundary: None,
                    tags: Vec::new(),
                }))
            }
        }
    }
}
