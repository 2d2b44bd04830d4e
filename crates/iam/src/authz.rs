//! What the authorizer and other services read from IAM: the policies that apply to a
//! principal (parsed once, cached), roles and their trust policies, managed policies by ARN,
//! and role creation inside another service's transaction.
//!
//! Every committed IAM mutation bumps a process-wide [`generation`], so caches built from what
//! follows can tell when they are stale. Parsed policies are cached process-wide, keyed by
//! the policy id and a hash of the document, so the request path does not parse again.

use crate::managed;
use crate::policies::find_managed;
pub use crate::records::EntityKind;
use crate::records::{self, INLINE, InlineRec, entity_arn, owned_prefix};
use crate::roles::{DEFAULT_MAX_SESSION_S, NewRole, create_role_tx};
use cairn_core::{Failure, Ids};
use cairn_policy::{Policy, PolicyKind};
use cairn_store::{StoreError, Tx};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex};

// ---------------------------------------------------------------------------- parse cache

/// Most parsed policies kept; the cache starts over when it is full.
const CACHE_CAPACITY: usize = 4_096;

type CacheKey = (PolicyKind, String, u64);

struct Cached {
    document: Arc<str>,
    policy: Arc<Policy>,
}

/// The parse cache: entries, and the bytes of the documents they hold.
static CACHE: LazyLock<Mutex<(HashMap<CacheKey, Cached>, usize)>> =
    LazyLock::new(|| Mutex::new((HashMap::new(), 0)));

/// Document bytes the parse cache holds at most (the parsed forms are of the same order):
/// policies are up to 128 KB each, so a count alone would not bound it.
const CACHE_BYTES: usize = 8 * 1024 * 1024;

fn hash_of(document: &str) -> u64 {
    let mut h = DefaultHasher::new();
    document.hash(&mut h);
    h.finish()
}

/// The parsed form of a stored document, from the process-wide cache when possible (keyed by
/// kind, id and document). `None` (logged) if the document no longer parses — stored documents
/// were validated when written. Organizations' SCPs and RCPs are cached here too.
pub fn parsed(id: &str, document: &str, kind: PolicyKind) -> Option<Arc<Policy>> {
    let key = (kind, id.to_owned(), hash_of(document));
    if let Ok(cache) = CACHE.lock()
        && let Some(hit) = cache.0.get(&key)
        && &*hit.document == document
    {
        return Some(Arc::clone(&hit.policy));
    }
    let policy = match Policy::parse(id, document, kind) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            tracing::error!(
                policy = id,
                detail = e.detail(),
                "a stored policy does not parse"
            );
            return None;
        }
    };
    if let Ok(mut cache) = CACHE.lock() {
        let (entries, bytes) = &mut *cache;
        if entries.len() >= CACHE_CAPACITY || *bytes + document.len() > CACHE_BYTES {
            entries.clear();
            *bytes = 0;
        }
        *bytes += document.len();
        entries.insert(
            key,
            Cached {
                document: Arc::from(document),
                policy: Arc::clone(&policy),
            },
        );
    }
    Some(policy)
}

// ------------------------------------------------------------------------------- identity

/// The policies that apply to a user or a role.
#[derive(Debug, Clone, Default)]
pub struct IdentityPolicies {
    /// Inline and attached managed policies (a user's own and its groups'; or the role's).
    /// Managed policies carry their ARN as id; inline policies an empty id.
    pub policies: Vec<Arc<Policy>>,
    /// The permissions boundary, if one is set.
    pub boundary: Option<Arc<Policy>>,
    /// The entity's tags (`aws:PrincipalTag/*`).
    pub tags: Vec<(String, String)>,
}

/// The default version of a managed policy (customer or AWS managed) by ARN, parsed.
pub fn managed_policy(
    tx: &mut dyn Tx,
    policy_arn: &str,
) -> Result<Option<Arc<Policy>>, StoreError> {
    if let Some(p) = managed::by_arn(policy_arn) {
        return Ok(parsed(&p.arn, &p.document, PolicyKind::Identity));
    }
    let Some(p) = records::customer_policy(tx, policy_arn)? else {
        return Ok(None);
    };
    Ok(p.default_document()
        .and_then(|doc| parsed(policy_arn, doc, PolicyKind::Identity)))
}

/// Inline (id "") and attached managed policies of one entity, appended to `out`.
fn own_policies(
    tx: &mut dyn Tx,
    account: &str,
    kind: EntityKind,
    name: &str,
    out: &mut Vec<Arc<Policy>>,
) -> Result<(), StoreError> {
    for p in records::inline_policies(tx, account, kind, name)? {
        if let Some(parsed) = parsed("", &p.document, PolicyKind::Identity) {
            out.push(parsed);
        }
    }
    for arn in records::attached_arns(tx, account, kind, name)? {
        if let Some(parsed) = managed_policy(tx, &arn)? {
            out.push(parsed);
        }
    }
    Ok(())
}

fn boundary(tx: &mut dyn Tx, arn: Option<&str>) -> Result<Option<Arc<Policy>>, StoreError> {
    match arn {
        Some(a) => managed_policy(tx, a),
        None => Ok(None),
    }
}

/// The policies of IAM user `user_name` in `account_id`, with its groups'; `None` if no such user.
pub fn user_identity(
    tx: &mut dyn Tx,
    account_id: &str,
    user_name: &str,
) -> Result<Option<IdentityPolicies>, StoreError> {
    let Some(user) = records::user(tx, account_id, user_name)? else {
        return Ok(None);
    };
    let mut policies = Vec::new();
    own_policies(tx, account_id, EntityKind::User, &user.name, &mut policies)?;
    for group in records::groups_of(tx, account_id, &user.name)? {
        own_policies(tx, account_id, EntityKind::Group, &group, &mut policies)?;
    }
    // "Allow users to change their own password" grants every IAM user of the account
    // `iam:ChangePassword` (IAM User Guide, "Set an account password policy for IAM
    // users"); the operation acts on the caller alone.
    if crate::account_settings::password_policy(tx, account_id)?
        .is_some_and(|p| p.allow_users_to_change)
    {
        const CHANGE_OWN: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:ChangePassword","Resource":"*"}}"#;
        if let Ok(p) = Policy::parse("", CHANGE_OWN, cairn_policy::PolicyKind::Identity) {
            policies.push(Arc::new(p));
        }
    }
    Ok(Some(IdentityPolicies {
        policies,
        boundary: boundary(tx, user.boundary.as_deref())?,
        tags: user.tags,
    }))
}

/// The policies of role `role_name` in `account_id`; `None` if no such role.
pub fn role_identity(
    tx: &mut dyn Tx,
    account_id: &str,
    role_name: &str,
) -> Result<Option<IdentityPolicies>, StoreError> {
    let Some(role) = records::role(tx, account_id, role_name)? else {
        return Ok(None);
    };
    let mut policies = Vec::new();
    own_policies(tx, account_id, EntityKind::Role, &role.name, &mut policies)?;
    Ok(Some(IdentityPolicies {
        policies,
        boundary: boundary(tx, role.boundary.as_deref())?,
        tags: role.tags,
    }))
}

// ---------------------------------------------------------------------------- resource tags

/// The IAM user or role an ARN names: `(account, "user" | "role", name)`.
fn tag_target(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let (kind, path_and_name) = resource.split_once('/')?;
    let name = path_and_name.rsplit('/').next()?;
    (matches!(kind, "user" | "role") && !name.is_empty() && !name.contains('*'))
        .then_some((account, kind, name))
}

/// Whether `arn` names an IAM resource that carries tags (a user or a role).
pub fn is_taggable(arn: &str) -> bool {
    tag_target(arn).is_some()
}

/// The tags of the IAM user or role `arn` names, for `aws:ResourceTag/*` and
/// `iam:ResourceTag/*`; `None` for other ARNs and for entities that do not exist.
pub fn resource_tags(
    tx: &mut dyn Tx,
    arn: &str,
) -> Result<Option<Vec<(String, String)>>, StoreError> {
    let Some((account, kind, name)) = tag_target(arn) else {
        return Ok(None);
    };
    Ok(match kind {
        "user" => records::user(tx, account, name)?.map(|u| u.tags),
        _ => records::role(tx, account, name)?.map(|r| r.tags),
    })
}

// ----------------------------------------------------------------------------------- roles

/// A role as `sts:AssumeRole` and Identity Center need it.
#[derive(Debug, Clone)]
pub struct RoleInfo {
    pub account_id: String,
    pub name: String,
    /// `AROA…`
    pub role_id: String,
    pub path: String,
    pub arn: String,
    /// The trust policy, parsed as [`PolicyKind::RoleTrust`] with the role ARN as id.
    pub trust_policy: Arc<Policy>,
    pub max_session_duration_s: i64,
    pub tags: Vec<(String, String)>,
}

fn role_info(account_id: &str, r: records::RoleRec) -> Result<RoleInfo, StoreError> {
    let arn = entity_arn(account_id, EntityKind::Role, &r.path, &r.name);
    let trust_policy = parsed(&arn, &r.trust, PolicyKind::RoleTrust)
        .ok_or_else(|| records::corrupt("role trust policy"))?;
    Ok(RoleInfo {
        account_id: account_id.to_owned(),
        name: r.name,
        role_id: r.id,
        path: r.path,
        arn,
        trust_policy,
        max_session_duration_s: r.max_session_s,
        tags: r.tags,
    })
}

/// The role `role_name` of `account_id` (names are case-insensitive).
pub fn role_by_name(
    tx: &mut dyn Tx,
    account_id: &str,
    role_name: &str,
) -> Result<Option<RoleInfo>, StoreError> {
    match records::role(tx, account_id, role_name)? {
        Some(r) => role_info(account_id, r).map(Some),
        None => Ok(None),
    }
}

/// A resource-ARN template variable that IAM reads from the stored resource the request
/// names (`resolve: store` in the authorization catalogue), for `account`'s resources:
/// - `UserNameWithPath` of `GetAccessKeyLastUsed`: the user the `AccessKeyId` belongs to
///   (path and name); `None` for a root key, which names no user;
/// - `RoleNameWithPath` of `GetServiceLinkedRoleDeletionStatus`: the role named in the
///   `DeletionTaskId` (`task/aws-service-role/<service>/<RoleName>/<uuid>`, IAM API
///   Reference), under its service-linked path.
pub fn stored_var(
    tx: &mut dyn Tx,
    account: &str,
    var: &str,
    input: &serde_json::Value,
) -> Result<Option<String>, StoreError> {
    let member = |name: &str| input.get(name).and_then(serde_json::Value::as_str);
    match var {
        "UserNameWithPath" => {
            let Some(key_id) = member("AccessKeyId") else {
                return Ok(None);
            };
            let Some(key) = crate::accounts::get_access_key(tx, key_id)? else {
                return Ok(None);
            };
            if key.account_id != account {
                return Ok(None);
            }
            Ok(match key.owner {
                crate::accounts::KeyOwner::User {
                    user_name, path, ..
                } => Some(format!("{path}{user_name}")),
                crate::accounts::KeyOwner::Root => None,
            })
        }
        "RoleNameWithPath" => Ok(member("DeletionTaskId").and_then(|task| {
            let rest = task.strip_prefix("task/")?;
            let (role_path, _uuid) = rest.rsplit_once('/')?;
            role_path
                .starts_with("aws-service-role/")
                .then(|| format!("/{role_path}"))
        })),
        _ => Ok(None),
    }
}

/// The stored path ("/" or "/a/b/") of a user, group or role, for building its ARN.
pub fn entity_path(
    tx: &mut dyn Tx,
    account_id: &str,
    kind: EntityKind,
    name: &str,
) -> Result<Option<String>, StoreError> {
    Ok(match kind {
        EntityKind::User => records::user(tx, account_id, name)?.map(|r| r.path),
        EntityKind::Group => records::group(tx, account_id, name)?.map(|r| r.path),
        EntityKind::Role => records::role(tx, account_id, name)?.map(|r| r.path),
    })
}

/// Creates a role inside an existing transaction (Organizations' `CreateAccount` makes
/// `OrganizationAccountAccessRole` this way): trust policy document, managed policy ARNs to
/// attach. Fails as `CreateRole`/`AttachRolePolicy` would (EntityAlreadyExists,
/// MalformedPolicyDocument, NoSuchEntity, …); the session duration is IAM's default (1 h).
/// The caller bumps [`generation`] once its transaction committed.
#[allow(
    clippy::too_many_arguments,
    reason = "the role record has that many independent fields; a struct would only rename them"
)]
pub fn create_role_in(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    account_id: &str,
    name: &str,
    path: &str,
    trust_policy: &str,
    attach: &[&str],
) -> Result<RoleInfo, Failure> {
    let spec = NewRole {
        name,
        path,
        trust: trust_policy,
        description: None,
        max_session_s: DEFAULT_MAX_SESSION_S,
        boundary: None,
        tags: &[],
        attach,
    };
    let rec = create_role_tx(tx, ids, now_ms, account_id, &spec)?;
    Ok(role_info(account_id, rec)?)
}

// ----------------------------------------------------------------------------- simulation

/// Source type of an identity-based policy in [`principal_policy_documents`].
pub const IDENTITY_POLICY: &str = "IAM Policy";
/// Source type of a permissions boundary in [`principal_policy_documents`].
pub const PERMISSIONS_BOUNDARY: &str = "Permissions Boundary";

/// `(kind, path, name)` of an IAM user, group or role ARN in `account_id`.
fn parse_entity_arn<'a>(account_id: &str, arn: &'a str) -> Option<(EntityKind, &'a str, &'a str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    if account != account_id {
        return None;
    }
    let cut = resource.find('/')?;
    let (word, path_name) = resource.split_at(cut);
    let kind = match word {
        "user" => EntityKind::User,
        "group" => EntityKind::Group,
        "role" => EntityKind::Role,
        _ => return None,
    };
    let last = path_name.rfind('/')?;
    let (path, name) = path_name.split_at(last + 1);
    (!name.is_empty()).then_some((kind, path, name))
}

fn documents_of(
    tx: &mut dyn Tx,
    account_id: &str,
    kind: EntityKind,
    name: &str,
    out: &mut Vec<(String, String, String)>,
) -> Result<(), StoreError> {
    let inline: Vec<(String, InlineRec)> =
        records::load_all(tx, INLINE, &owned_prefix(account_id, kind, name))?;
    for (_, p) in inline {
        out.push((p.name, IDENTITY_POLICY.to_owned(), p.document));
    }
    for arn in records::attached_arns(tx, account_id, kind, name)? {
        if let Some(doc) = managed_document(tx, account_id, &arn)? {
            out.push((arn, IDENTITY_POLICY.to_owned(), doc));
        }
    }
    Ok(())
}

pub(crate) fn managed_document(
    tx: &mut dyn Tx,
    account_id: &str,
    arn: &str,
) -> Result<Option<String>, StoreError> {
    Ok(match find_managed(tx, account_id, arn)? {
        Some(crate::policies::Managed::Aws(p)) => Some(p.document.clone()),
        Some(crate::policies::Managed::Customer(p)) => p.default_document().map(str::to_owned),
        None => None,
    })
}

/// Every policy document that applies to a principal, for `SimulatePrincipalPolicy`:
/// `(source id, type, document)` where the source id is the policy ARN (managed) or the inline
/// policy's name, and the type [`IDENTITY_POLICY`] or [`PERMISSIONS_BOUNDARY`]. A user's
/// groups' policies are included. `None` when the ARN names no user, group or role of
/// `account_id`.
#[allow(
    clippy::type_complexity,
    reason = "one tuple per policy source, read once by the simulator"
)]
pub fn principal_policy_documents(
    tx: &mut dyn Tx,
    account_id: &str,
    principal_arn: &str,
) -> Result<Option<Vec<(String, String, String)>>, StoreError> {
    let Some((kind, path, name)) = parse_entity_arn(account_id, principal_arn) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    let boundary_arn = match kind {
        EntityKind::User => {
            let Some(u) = records::user(tx, account_id, name)?.filter(|u| u.path == path) else {
                return Ok(None);
            };
            documents_of(tx, account_id, kind, &u.name, &mut out)?;
            for group in records::groups_of(tx, account_id, &u.name)? {
                documents_of(tx, account_id, EntityKind::Group, &group, &mut out)?;
            }
            u.boundary
        }
        EntityKind::Group => {
            let Some(g) = records::group(tx, account_id, name)?.filter(|g| g.path == path) else {
                return Ok(None);
            };
            documents_of(tx, account_id, kind, &g.name, &mut out)?;
            None
        }
        EntityKind::Role => {
            let Some(r) = records::role(tx, account_id, name)?.filter(|r| r.path == path) else {
                return Ok(None);
            };
            documents_of(tx, account_id, kind, &r.name, &mut out)?;
            r.boundary
        }
    };
    if let Some(arn) = boundary_arn
        && let Some(doc) = managed_document(tx, account_id, &arn)?
    {
        out.push((arn, PERMISSIONS_BOUNDARY.to_owned(), doc));
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parse_cache_is_bounded_by_bytes() {
        // Distinct large documents (as a client storing many 100 KB policies makes them).
        let padding = "x".repeat(100 * 1024);
        for i in 0..200 {
            let doc = format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S{i}","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{padding}"}}]}}"#
            );
            assert!(parsed("test-bound", &doc, PolicyKind::Identity).is_some());
            let bytes = CACHE.lock().unwrap().1;
            assert!(bytes <= CACHE_BYTES, "{bytes} bytes cached");
        }
    }

    #[test]
    fn entity_arns_split_into_path_and_name() {
        assert_eq!(
            parse_entity_arn("111122223333", "arn:aws:iam::111122223333:user/alice"),
            Some((EntityKind::User, "/", "alice"))
        );
        assert_eq!(
            parse_entity_arn("111122223333", "arn:aws:iam::111122223333:role/a/b/r"),
            Some((EntityKind::Role, "/a/b/", "r"))
        );
        assert_eq!(
            parse_entity_arn("111122223333", "arn:aws:iam::444455556666:user/alice"),
            None
        );
        assert_eq!(
            parse_entity_arn("111122223333", "arn:aws:iam::111122223333:policy/p"),
            None
        );
    }

    #[test]
    fn parsed_policies_are_shared() {
        let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        let a = parsed("", doc, PolicyKind::Identity).unwrap();
        let b = parsed("", doc, PolicyKind::Identity).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(parsed("", "{}", PolicyKind::Identity).is_none());
    }
}

/// IAM's answers to the authorize step (see [`cairn_core::facts`]): paths of users, groups
/// and roles, the stored variables of `GetAccessKeyLastUsed` and
/// `GetServiceLinkedRoleDeletionStatus`, tags of users and roles, and a role's trust policy
/// for `sts:AssumeRole`.
#[derive(Debug, Default, Clone, Copy)]
pub struct IamFacts;

impl cairn_core::ResourceFacts for IamFacts {
    fn service(&self) -> &'static str {
        "iam"
    }

    fn stored_var(
        &self,
        tx: &mut dyn Tx,
        caller: &str,
        var: &str,
        input: &serde_json::Value,
    ) -> Result<Option<String>, StoreError> {
        stored_var(tx, caller, var, input)
    }

    fn entity_path(
        &self,
        tx: &mut dyn Tx,
        account: &str,
        var: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let kind = match var {
            "UserNameWithPath" => EntityKind::User,
            "GroupNameWithPath" => EntityKind::Group,
            "RoleNameWithPath" => EntityKind::Role,
            "CertificateNameWithPath" => {
                return crate::certificates::server_certificate_path(tx, account, name);
            }
            _ => return Ok(None),
        };
        entity_path(tx, account, kind, name)
    }

    fn is_taggable(&self, arn: &str) -> bool {
        is_taggable(arn)
    }

    fn resource_tags(
        &self,
        tx: &mut dyn Tx,
        arn: &str,
    ) -> Result<Option<Vec<(String, String)>>, StoreError> {
        resource_tags(tx, arn)
    }

    /// IAM's users and roles offer their tags as `iam:ResourceTag/*` too (Service
    /// Authorization Reference, IAM's resource types).
    fn resource_tag_prefixes(&self) -> &'static [&'static str] {
        &["aws:ResourceTag/", "iam:ResourceTag/"]
    }

    fn has_resource_policy(&self, action: &str) -> bool {
        action.eq_ignore_ascii_case("sts:AssumeRole")
    }

    /// A role's trust policy decides `sts:AssumeRole` with the caller's identity policies,
    /// and must allow the caller by itself (IAM User Guide, "Policy evaluation logic": a
    /// role trust policy is a resource-based policy that must grant access even in the same
    /// account).
    fn resource_policy(
        &self,
        tx: &mut dyn Tx,
        action: &str,
        arn: &str,
    ) -> Result<Option<cairn_core::ResourcePolicy>, StoreError> {
        if !self.has_resource_policy(action) {
            return Ok(None);
        }
        let Some((account, name)) = crate::sts::parse_role_arn(arn) else {
            return Ok(None);
        };
        let policy = role_by_name(tx, account, name)?.map(|r| r.trust_policy);
        Ok(Some(cairn_core::ResourcePolicy {
            owner_account: account.to_owned(),
            policy,
            must_allow: true,
        }))
    }
}
