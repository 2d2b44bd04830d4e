//! Inline policies, customer managed policies and their versions, attachments, and the AWS
//! managed policies (read-only).

use crate::common::{
    Ctx, Page, access_denied, fail, merge_tags, no_such, paginate, path_or_root, policy_size,
    remove_tags, tag_page, ts, url_encode,
};
use crate::managed::{self, AwsPolicy};
use crate::records::{
    self, ATTACH, ATTACHED, BOUNDARY, EntityKind, FORMAT, INLINE, InlineRec, POLICIES, PolicyRec,
    VersionRec, entity_key, owned_prefix, usage_key, usage_prefix,
};
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_policy::{Policy, PolicyKind};
use cairn_store::{StoreError, Tx};

/// Largest managed policy document (non-whitespace characters).
pub(crate) const MANAGED_POLICY_SIZE: usize = 6_144;
/// Most versions a managed policy keeps.
pub(crate) const MAX_VERSIONS: usize = 5;
/// Most managed policies attached to one user, group or role.
pub(crate) const MAX_ATTACHED: usize = 10;

/// Aggregate inline policy size per entity kind.
fn inline_quota(kind: EntityKind) -> usize {
    match kind {
        EntityKind::User => 2_048,
        EntityKind::Group => 5_120,
        EntityKind::Role => 10_240,
    }
}

/// Validates an identity policy document (`id`: how decisions would name it).
pub(crate) fn check_identity(id: &str, document: &str) -> Result<(), Failure> {
    check_document(id, document, PolicyKind::Identity)
}

fn check_document(id: &str, document: &str, kind: PolicyKind) -> Result<(), Failure> {
    Policy::parse(id, document, kind)
        .map(|_| ())
        .map_err(|e| fail(Error::MalformedPolicyDocumentException, e.message()))
}

/// A managed policy: AWS's (read-only) or the account's own.
pub(crate) enum Managed {
    Aws(&'static AwsPolicy),
    Customer(PolicyRec),
}

/// The managed policy `arn` names, as seen from `account`: AWS managed policies, or the
/// account's own (another account's policies are not visible).
pub(crate) fn find_managed(
    tx: &mut dyn Tx,
    account: &str,
    arn: &str,
) -> Result<Option<Managed>, StoreError> {
    if let Some(p) = managed::by_arn(arn) {
        return Ok(Some(Managed::Aws(p)));
    }
    match records::parse_policy_arn(arn) {
        Some((owner, _, _)) if owner == account => {
            Ok(records::customer_policy(tx, arn)?.map(Managed::Customer))
        }
        _ => Ok(None),
    }
}

fn not_attachable(arn: &str) -> Failure {
    fail(
        Error::NoSuchEntityException,
        format!("Policy {arn} does not exist or is not attachable."),
    )
}

fn policy_not_found(arn: &str) -> Failure {
    fail(
        Error::NoSuchEntityException,
        format!("Policy {arn} was not found."),
    )
}

/// Checks a permissions boundary ARN names an existing managed policy.
pub(crate) fn check_boundary(tx: &mut dyn Tx, account: &str, arn: &str) -> Result<(), Failure> {
    let usable = match find_managed(tx, account, arn)? {
        None => false,
        Some(Managed::Aws(p)) => p.attachable(),
        Some(_) => true,
    };
    if !usable {
        return Err(fail(
            Error::NoSuchEntityException,
            format!("Scope ARN: {arn} does not exist or is not attachable."),
        ));
    }
    Ok(())
}

/// Records (or clears) the boundary index entry of an entity.
pub(crate) fn set_boundary_index(
    tx: &mut dyn Tx,
    account: &str,
    kind: EntityKind,
    name: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<(), StoreError> {
    if let Some(arn) = old {
        tx.delete(BOUNDARY, usage_key(account, arn, kind, name).as_bytes())?;
    }
    if let Some(arn) = new {
        tx.put(
            BOUNDARY,
            usage_key(account, arn, kind, name).as_bytes(),
            b"",
        )?;
    }
    Ok(())
}

/// The stored name of an entity (the case it was created with), or NoSuchEntity.
pub(crate) fn require_entity(
    tx: &mut dyn Tx,
    account: &str,
    kind: EntityKind,
    name: &str,
) -> Result<String, Failure> {
    let found = match kind {
        EntityKind::User => records::user(tx, account, name)?.map(|r| r.name),
        EntityKind::Group => records::group(tx, account, name)?.map(|r| r.name),
        EntityKind::Role => records::role(tx, account, name)?.map(|r| r.name),
    };
    found.ok_or_else(|| no_such(kind, name))
}

// --------------------------------------------------------------------------------- inline

fn inline_key(account: &str, kind: EntityKind, entity: &str, policy: &str) -> String {
    format!("{}{policy}", owned_prefix(account, kind, entity))
}

fn no_such_inline(kind: EntityKind, policy: &str) -> Failure {
    fail(
        Error::NoSuchEntityException,
        format!(
            "The {} policy with name {policy} cannot be found.",
            kind.word()
        ),
    )
}

/// `PutUserPolicy` / `PutGroupPolicy` / `PutRolePolicy`.
pub(crate) fn put_inline(
    tx: &mut dyn Tx,
    c: &Ctx,
    kind: EntityKind,
    entity: &str,
    policy: &str,
    document: &str,
) -> Result<(), Failure> {
    if kind == EntityKind::Role {
        crate::reserved::check_mutable(tx, &c.account, entity)?;
    }
    let name = require_entity(tx, &c.account, kind, entity)?;
    check_identity("", document)?;
    let others: usize = records::inline_policies(tx, &c.account, kind, entity)?
        .iter()
        .filter(|p| p.name != policy)
        .map(|p| policy_size(&p.document))
        .sum();
    let quota = inline_quota(kind);
    if others + policy_size(document) > quota {
        return Err(fail(
            Error::LimitExceededException,
            format!(
                "Maximum policy size of {quota} bytes exceeded for {} {name}",
                kind.word()
            ),
        ));
    }
    let rec = InlineRec {
        v: FORMAT,
        name: policy.to_owned(),
        document: document.to_owned(),
    };
    records::save(
        tx,
        INLINE,
        &inline_key(&c.account, kind, entity, policy),
        &rec,
    )?;
    Ok(())
}

/// `Get…Policy`: (entity's stored name, policy name, URL-encoded document).
pub(crate) fn get_inline(
    tx: &mut dyn Tx,
    c: &Ctx,
    kind: EntityKind,
    entity: &str,
    policy: &str,
) -> Result<(String, String, String), Failure> {
    let name = require_entity(tx, &c.account, kind, entity)?;
    let rec: InlineRec = records::load(tx, INLINE, &inline_key(&c.account, kind, entity, policy))?
        .ok_or_else(|| no_such_inline(kind, policy))?;
    Ok((name, rec.name, url_encode(&rec.document)))
}

pub(crate) fn delete_inline(
    tx: &mut dyn Tx,
    c: &Ctx,
    kind: EntityKind,
    entity: &str,
    policy: &str,
) -> Result<(), Failure> {
    if kind == EntityKind::Role {
        crate::reserved::check_mutable(tx, &c.account, entity)?;
    }
    require_entity(tx, &c.account, kind, entity)?;
    if !tx.delete(
        INLINE,
        inline_key(&c.account, kind, entity, policy).as_bytes(),
    )? {
        return Err(no_such_inline(kind, policy));
    }
    Ok(())
}

pub(crate) fn list_inline(
    tx: &mut dyn Tx,
    c: &Ctx,
    kind: EntityKind,
    entity: &str,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> Result<Page<String>, Failure> {
    require_entity(tx, &c.account, kind, entity)?;
    let names = records::inline_policies(tx, &c.account, kind, entity)?
        .into_iter()
        .map(|p| (p.name.clone(), p.name))
        .collect();
    paginate(names, marker, max_items)
}

// ---------------------------------------------------------------------------- attachments

fn attach_key(account: &str, kind: EntityKind, entity: &str, arn: &str) -> String {
    format!("{}{arn}", owned_prefix(account, kind, entity))
}

/// Attaches a managed policy inside a transaction (entity checked by the caller).
pub(crate) fn attach_in(
    tx: &mut dyn Tx,
    account: &str,
    kind: EntityKind,
    entity: &str,
    arn: &str,
) -> Result<(), Failure> {
    match find_managed(tx, account, arn)? {
        None => return Err(not_attachable(arn)),
        Some(Managed::Aws(p)) if !p.attachable() => return Err(not_attachable(arn)),
        Some(_) => {}
    }
    let key = attach_key(account, kind, entity, arn);
    if tx.get(ATTACH, key.as_bytes())?.is_some() {
        return Ok(());
    }
    let count = tx.count(ATTACH, owned_prefix(account, kind, entity).as_bytes())?;
    if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_ATTACHED {
        let what = match kind {
            EntityKind::User => "PoliciesPerUser",
            EntityKind::Group => "PoliciesPerGroup",
            EntityKind::Role => "PoliciesPerRole",
        };
        return Err(fail(
            Error::LimitExceededException,
            format!("Cannot exceed quota for {what}: {MAX_ATTACHED}"),
        ));
    }
    tx.put(ATTACH, key.as_bytes(), b"")?;
    tx.put(
        ATTACHED,
        usage_key(account, arn, kind, entity).as_bytes(),
        b"",
    )?;
    Ok(())
}

pub(crate) fn attach(
    tx: &mut dyn Tx,
    c: &Ctx,
    kind: EntityKind,
    entity: &str,
    arn: &str,
) -> Result<(), Failure> {
    if kind == EntityKind::Role {
        crate::reserved::check_mutable(tx, &c.account, entity)?;
    }
    require_entity(tx, &c.account, kind, entity)?;
    attach_in(tx, &c.account, kind, entity, arn)
}

pub(crate) fn detach(
    tx: &mut dyn Tx,
    c: &Ctx,
    kind: EntityKind,
    entity: &str,
    arn: &str,
) -> Result<(), Failure> {
    if kind == EntityKind::Role {
        crate::reserved::check_mutable(tx, &c.account, entity)?;
    }
    require_entity(tx, &c.account, kind, entity)?;
    if !tx.delete(ATTACH, attach_key(&c.account, kind, entity, arn).as_bytes())? {
        return Err(policy_not_found(arn));
    }
    tx.delete(
        ATTACHED,
        usage_key(&c.account, arn, kind, entity).as_bytes(),
    )?;
    Ok(())
}

/// The last component of a policy ARN (its name).
fn arn_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

pub(crate) fn list_attached(
    tx: &mut dyn Tx,
    c: &Ctx,
    kind: EntityKind,
    entity: &str,
    path_prefix: Option<&str>,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> Result<Page<types::AttachedPolicy>, Failure> {
    require_entity(tx, &c.account, kind, entity)?;
    let prefix = path_prefix.unwrap_or("/");
    let items = records::attached_arns(tx, &c.account, kind, entity)?
        .into_iter()
        .filter(|arn| {
            records::parse_policy_arn(arn).is_some_and(|(_, path, _)| path.starts_with(prefix))
        })
        .map(|arn| {
            let item = types::AttachedPolicy {
                policy_name: Some(arn_name(&arn).to_owned()),
                policy_arn: Some(arn.clone()),
            };
            (arn, item)
        })
        .collect();
    paginate(items, marker, max_items)
}

/// How many entities of `account` have the policy attached.
pub(crate) fn attachment_count(
    tx: &mut dyn Tx,
    account: &str,
    arn: &str,
) -> Result<u64, StoreError> {
    tx.count(ATTACHED, usage_prefix(account, arn).as_bytes())
}

/// How many entities of `account` use the policy as their permissions boundary.
pub(crate) fn boundary_count(tx: &mut dyn Tx, account: &str, arn: &str) -> Result<u64, StoreError> {
    tx.count(BOUNDARY, usage_prefix(account, arn).as_bytes())
}

// ------------------------------------------------------------------------ managed policies

fn count_i32(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn version_id(n: u32) -> String {
    format!("v{n}")
}

/// `v<n>` → n.
fn parse_version(id: &str) -> Option<u32> {
    id.strip_prefix('v')?.parse().ok()
}

fn customer_api(
    tx: &mut dyn Tx,
    account: &str,
    p: &PolicyRec,
    detail: bool,
) -> Result<types::Policy, StoreError> {
    let arn = records::policy_arn(account, &p.path, &p.name);
    Ok(types::Policy {
        attachment_count: Some(count_i32(attachment_count(tx, account, &arn)?)),
        permissions_boundary_usage_count: Some(count_i32(boundary_count(tx, account, &arn)?)),
        arn: Some(arn),
        create_date: Some(ts(p.created_ms)),
        update_date: Some(ts(p.updated_ms)),
        default_version_id: Some(version_id(p.default_version)),
        description: if detail { p.description.clone() } else { None },
        is_attachable: Some(true),
        path: Some(p.path.clone()),
        policy_id: Some(p.id.clone()),
        policy_name: Some(p.name.clone()),
        tags: if detail {
            crate::common::api_tags_opt(&p.tags)
        } else {
            None
        },
    })
}

fn aws_api(tx: &mut dyn Tx, account: &str, p: &AwsPolicy) -> Result<types::Policy, StoreError> {
    Ok(types::Policy {
        attachment_count: Some(count_i32(attachment_count(tx, account, &p.arn)?)),
        permissions_boundary_usage_count: Some(count_i32(boundary_count(tx, account, &p.arn)?)),
        arn: Some(p.arn.clone()),
        create_date: Some(ts(p.created_ms)),
        update_date: Some(ts(p.updated_ms)),
        default_version_id: Some(p.default_version.clone()),
        description: None,
        is_attachable: Some(p.attachable()),
        path: Some(p.path.clone()),
        policy_id: Some(p.id.clone()),
        policy_name: Some(p.name.clone()),
        tags: None,
    })
}

/// The account's own policy an ARN names, or the right error (AWS managed → AccessDenied
/// for `action`; anything else → NoSuchEntity).
fn writable_policy(
    tx: &mut dyn Tx,
    c: &Ctx,
    arn: &str,
    action: &str,
) -> Result<PolicyRec, Failure> {
    match find_managed(tx, &c.account, arn)? {
        Some(Managed::Customer(p)) => Ok(p),
        Some(Managed::Aws(p)) => Err(access_denied(
            &c.principal,
            action,
            &format!("policy {}", p.arn),
        )),
        None => Err(policy_not_found(arn)),
    }
}

fn save_policy(tx: &mut dyn Tx, account: &str, p: &PolicyRec) -> Result<(), StoreError> {
    records::save(tx, POLICIES, &entity_key(account, &p.name), p)
}

fn check_managed_document(arn: &str, document: &str) -> Result<(), Failure> {
    if policy_size(document) > MANAGED_POLICY_SIZE {
        return Err(fail(
            Error::LimitExceededException,
            format!("Cannot exceed quota for PolicySize: {MANAGED_POLICY_SIZE}"),
        ));
    }
    // A managed policy's document must be Version 2012-10-17, an inline one need not.
    check_document(arn, document, PolicyKind::ManagedIdentity)
}

pub(crate) fn create_policy(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::CreatePolicyRequest,
) -> Result<types::CreatePolicyResponse, Failure> {
    let path = path_or_root(input.path.as_deref());
    let name = &input.policy_name;
    let key = entity_key(&c.account, name);
    if tx.get(POLICIES, key.as_bytes())?.is_some() {
        return Err(fail(
            Error::EntityAlreadyExistsException,
            format!("A policy called {name} already exists. Duplicate names are not allowed."),
        ));
    }
    let arn = records::policy_arn(&c.account, &path, name);
    check_managed_document(&arn, &input.policy_document)?;
    let mut tags = Vec::new();
    merge_tags(&mut tags, input.tags.as_deref().unwrap_or_default())?;
    let rec = PolicyRec {
        v: FORMAT,
        name: name.clone(),
        id: c.unique_id("ANPA"),
        path,
        description: input.description.clone().filter(|d| !d.is_empty()),
        created_ms: c.now_ms,
        updated_ms: c.now_ms,
        default_version: 1,
        next_version: 2,
        versions: vec![VersionRec {
            n: 1,
            document: input.policy_document.clone(),
            created_ms: c.now_ms,
        }],
        tags,
    };
    save_policy(tx, &c.account, &rec)?;
    Ok(types::CreatePolicyResponse {
        policy: Some(customer_api(tx, &c.account, &rec, true)?),
    })
}

pub(crate) fn get_policy(
    tx: &mut dyn Tx,
    c: &Ctx,
    arn: &str,
) -> Result<types::GetPolicyResponse, Failure> {
    let policy = match find_managed(tx, &c.account, arn)? {
        Some(Managed::Aws(p)) => aws_api(tx, &c.account, p)?,
        Some(Managed::Customer(p)) => customer_api(tx, &c.account, &p, true)?,
        None => return Err(policy_not_found(arn)),
    };
    Ok(types::GetPolicyResponse {
        policy: Some(policy),
    })
}

pub(crate) fn delete_policy(tx: &mut dyn Tx, c: &Ctx, arn: &str) -> Result<(), Failure> {
    let p = writable_policy(tx, c, arn, "DeletePolicy")?;
    if attachment_count(tx, &c.account, arn)? > 0 || boundary_count(tx, &c.account, arn)? > 0 {
        return Err(fail(
            Error::DeleteConflictException,
            "Cannot delete a policy attached to entities.",
        ));
    }
    if p.versions.len() > 1 {
        return Err(fail(
            Error::DeleteConflictException,
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
        ));
    }
    tx.delete(POLICIES, entity_key(&c.account, &p.name).as_bytes())?;
    Ok(())
}

pub(crate) fn list_policies(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListPoliciesRequest,
) -> Result<types::ListPoliciesResponse, Failure> {
    let scope = input.scope.unwrap_or(types::PolicyScopeType::All);
    let prefix = input.path_prefix.as_deref().unwrap_or("/");
    let only_attached = input.only_attached.unwrap_or(false);
    let usage = input.policy_usage_filter;
    let keep = |p: &types::Policy| -> bool {
        if !p.path.as_deref().unwrap_or("/").starts_with(prefix) {
            return false;
        }
        if !only_attached {
            return true;
        }
        let attached = p.attachment_count.unwrap_or(0) > 0;
        let bounding = p.permissions_boundary_usage_count.unwrap_or(0) > 0;
        match usage {
            Some(types::PolicyUsageType::PermissionsPolicy) => attached,
            Some(types::PolicyUsageType::PermissionsBoundary) => bounding,
            None => attached || bounding,
        }
    };
    let mut items = Vec::new();
    if scope != types::PolicyScopeType::Local {
        for p in managed::all() {
            let api = aws_api(tx, &c.account, p)?;
            if keep(&api) {
                items.push((format!("aws/{}", p.arn), api));
            }
        }
    }
    if scope != types::PolicyScopeType::Aws {
        let own: Vec<(String, PolicyRec)> =
            records::load_all(tx, POLICIES, &format!("{}/", c.account))?;
        for (lname, p) in own {
            let api = customer_api(tx, &c.account, &p, false)?;
            if keep(&api) {
                items.push((format!("local/{lname}"), api));
            }
        }
    }
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListPoliciesResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        policies: Some(page.items),
    })
}

fn version_api(v: &VersionRec, default: u32, with_document: bool) -> types::PolicyVersion {
    types::PolicyVersion {
        create_date: Some(ts(v.created_ms)),
        document: with_document.then(|| url_encode(&v.document)),
        is_default_version: Some(v.n == default),
        version_id: Some(version_id(v.n)),
    }
}

pub(crate) fn create_policy_version(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::CreatePolicyVersionRequest,
) -> Result<types::CreatePolicyVersionResponse, Failure> {
    let arn = &input.policy_arn;
    let mut p = writable_policy(tx, c, arn, "CreatePolicyVersion")?;
    if p.versions.len() >= MAX_VERSIONS {
        return Err(fail(
            Error::LimitExceededException,
            format!(
                "A managed policy can have up to {MAX_VERSIONS} versions. Before you create a new version, you must delete an existing version."
            ),
        ));
    }
    check_managed_document(arn, &input.policy_document)?;
    let v = VersionRec {
        n: p.next_version,
        document: input.policy_document.clone(),
        created_ms: c.now_ms,
    };
    p.next_version = p.next_version.saturating_add(1);
    if input.set_as_default.unwrap_or(false) {
        p.default_version = v.n;
        p.updated_ms = c.now_ms;
    }
    let out = version_api(&v, p.default_version, false);
    p.versions.push(v);
    save_policy(tx, &c.account, &p)?;
    Ok(types::CreatePolicyVersionResponse {
        policy_version: Some(out),
    })
}

fn no_such_version(arn: &str, version: &str) -> Failure {
    fail(
        Error::NoSuchEntityException,
        format!("Policy {arn} version {version} does not exist."),
    )
}

pub(crate) fn get_policy_version(
    tx: &mut dyn Tx,
    c: &Ctx,
    arn: &str,
    version: &str,
) -> Result<types::GetPolicyVersionResponse, Failure> {
    let out = match find_managed(tx, &c.account, arn)? {
        Some(Managed::Aws(p)) if p.default_version == version => types::PolicyVersion {
            create_date: Some(ts(p.updated_ms)),
            document: Some(url_encode(&p.document)),
            is_default_version: Some(true),
            version_id: Some(p.default_version.clone()),
        },
        Some(Managed::Aws(_)) => return Err(no_such_version(arn, version)),
        Some(Managed::Customer(p)) => {
            let n = parse_version(version).ok_or_else(|| no_such_version(arn, version))?;
            let v = p
                .versions
                .iter()
                .find(|v| v.n == n)
                .ok_or_else(|| no_such_version(arn, version))?;
            version_api(v, p.default_version, true)
        }
        None => return Err(policy_not_found(arn)),
    };
    Ok(types::GetPolicyVersionResponse {
        policy_version: Some(out),
    })
}

pub(crate) fn list_policy_versions(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListPolicyVersionsRequest,
) -> Result<types::ListPolicyVersionsResponse, Failure> {
    let arn = &input.policy_arn;
    let items: Vec<(String, types::PolicyVersion)> = match find_managed(tx, &c.account, arn)? {
        Some(Managed::Aws(p)) => vec![(
            String::new(),
            types::PolicyVersion {
                create_date: Some(ts(p.updated_ms)),
                document: None,
                is_default_version: Some(true),
                version_id: Some(p.default_version.clone()),
            },
        )],
        // Newest first, as IAM lists them.
        Some(Managed::Customer(p)) => p
            .versions
            .iter()
            .map(|v| {
                (
                    format!("{:010}", u32::MAX - v.n),
                    version_api(v, p.default_version, false),
                )
            })
            .collect(),
        None => return Err(policy_not_found(arn)),
    };
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListPolicyVersionsResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        versions: Some(page.items),
    })
}

pub(crate) fn delete_policy_version(
    tx: &mut dyn Tx,
    c: &Ctx,
    arn: &str,
    version: &str,
) -> Result<(), Failure> {
    let mut p = writable_policy(tx, c, arn, "DeletePolicyVersion")?;
    let n = parse_version(version).ok_or_else(|| no_such_version(arn, version))?;
    if !p.versions.iter().any(|v| v.n == n) {
        return Err(no_such_version(arn, version));
    }
    if p.default_version == n {
        return Err(fail(
            Error::DeleteConflictException,
            "Cannot delete the default version of a policy.",
        ));
    }
    p.versions.retain(|v| v.n != n);
    save_policy(tx, &c.account, &p)?;
    Ok(())
}

pub(crate) fn set_default_policy_version(
    tx: &mut dyn Tx,
    c: &Ctx,
    arn: &str,
    version: &str,
) -> Result<(), Failure> {
    let mut p = writable_policy(tx, c, arn, "SetDefaultPolicyVersion")?;
    let n = parse_version(version).ok_or_else(|| no_such_version(arn, version))?;
    if !p.versions.iter().any(|v| v.n == n) {
        return Err(no_such_version(arn, version));
    }
    if p.default_version != n {
        p.default_version = n;
        p.updated_ms = c.now_ms;
        save_policy(tx, &c.account, &p)?;
    }
    Ok(())
}

pub(crate) fn list_entities_for_policy(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListEntitiesForPolicyRequest,
) -> Result<types::ListEntitiesForPolicyResponse, Failure> {
    let arn = &input.policy_arn;
    if find_managed(tx, &c.account, arn)?.is_none() {
        return Err(policy_not_found(arn));
    }
    let prefix = input.path_prefix.as_deref().unwrap_or("/");
    let mut spaces = Vec::new();
    match input.policy_usage_filter {
        Some(types::PolicyUsageType::PermissionsPolicy) => spaces.push(ATTACHED),
        Some(types::PolicyUsageType::PermissionsBoundary) => spaces.push(BOUNDARY),
        None => spaces.extend([ATTACHED, BOUNDARY]),
    }
    let wanted = |kind: EntityKind| match input.entity_filter {
        None => true,
        Some(types::EntityType::User) => kind == EntityKind::User,
        Some(types::EntityType::Group) => kind == EntityKind::Group,
        Some(types::EntityType::Role) => kind == EntityKind::Role,
        Some(_) => false,
    };
    enum Found {
        User(types::PolicyUser),
        Group(types::PolicyGroup),
        Role(types::PolicyRole),
    }
    let mut items: Vec<(String, Found)> = Vec::new();
    for space in spaces {
        for suffix in records::suffixes(tx, space, &usage_prefix(&c.account, arn))? {
            let Some((kind, lname)) = records::parse_usage_suffix(&suffix) else {
                continue;
            };
            if !wanted(kind) {
                continue;
            }
            let key = format!("{}/{lname}", kind.letter());
            if items.iter().any(|(k, _)| *k == key) {
                continue;
            }
            let found = match kind {
                EntityKind::User => records::user(tx, &c.account, lname)?
                    .filter(|r| r.path.starts_with(prefix))
                    .map(|r| {
                        Found::User(types::PolicyUser {
                            user_id: Some(r.id),
                            user_name: Some(r.name),
                        })
                    }),
                EntityKind::Group => records::group(tx, &c.account, lname)?
                    .filter(|r| r.path.starts_with(prefix))
                    .map(|r| {
                        Found::Group(types::PolicyGroup {
                            group_id: Some(r.id),
                            group_name: Some(r.name),
                        })
                    }),
                EntityKind::Role => records::role(tx, &c.account, lname)?
                    .filter(|r| r.path.starts_with(prefix))
                    .map(|r| {
                        Found::Role(types::PolicyRole {
                            role_id: Some(r.id),
                            role_name: Some(r.name),
                        })
                    }),
            };
            if let Some(f) = found {
                items.push((key, f));
            }
        }
    }
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    let (mut users, mut groups, mut roles) = (Vec::new(), Vec::new(), Vec::new());
    for f in page.items {
        match f {
            Found::User(u) => users.push(u),
            Found::Group(g) => groups.push(g),
            Found::Role(r) => roles.push(r),
        }
    }
    Ok(types::ListEntitiesForPolicyResponse {
        is_truncated: Some(page.marker.is_some()),
        marker: page.marker,
        policy_groups: Some(groups),
        policy_roles: Some(roles),
        policy_users: Some(users),
    })
}

pub(crate) fn tag_policy(
    tx: &mut dyn Tx,
    c: &Ctx,
    arn: &str,
    tags: &[types::Tag],
) -> Result<(), Failure> {
    let mut p = writable_policy(tx, c, arn, "TagPolicy")?;
    merge_tags(&mut p.tags, tags)?;
    save_policy(tx, &c.account, &p)?;
    Ok(())
}

pub(crate) fn untag_policy(
    tx: &mut dyn Tx,
    c: &Ctx,
    arn: &str,
    keys: &[String],
) -> Result<(), Failure> {
    let mut p = writable_policy(tx, c, arn, "UntagPolicy")?;
    remove_tags(&mut p.tags, keys);
    save_policy(tx, &c.account, &p)?;
    Ok(())
}

pub(crate) fn list_policy_tags(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListPolicyTagsRequest,
) -> Result<types::ListPolicyTagsResponse, Failure> {
    let tags = match find_managed(tx, &c.account, &input.policy_arn)? {
        Some(Managed::Customer(p)) => p.tags,
        Some(Managed::Aws(_)) => Vec::new(),
        None => return Err(policy_not_found(&input.policy_arn)),
    };
    let page = tag_page(&tags, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListPolicyTagsResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        tags: page.items,
    })
}

/// Moves an entity's inline policies, attachments and boundary index entry to a new name.
pub(crate) fn rename_owned(
    tx: &mut dyn Tx,
    account: &str,
    kind: EntityKind,
    old: &str,
    new: &str,
    boundary: Option<&str>,
) -> Result<(), StoreError> {
    let old_prefix = owned_prefix(account, kind, old);
    let new_prefix = owned_prefix(account, kind, new);
    for (k, v) in tx.scan_prefix(INLINE, old_prefix.as_bytes(), false, usize::MAX)? {
        let rest = k.get(old_prefix.len()..).unwrap_or_default();
        let mut nk = new_prefix.as_bytes().to_vec();
        nk.extend_from_slice(rest);
        tx.delete(INLINE, &k)?;
        tx.put(INLINE, &nk, &v)?;
    }
    for arn in records::suffixes(tx, ATTACH, &old_prefix)? {
        tx.delete(ATTACH, attach_key(account, kind, old, &arn).as_bytes())?;
        tx.put(ATTACH, attach_key(account, kind, new, &arn).as_bytes(), b"")?;
        tx.delete(ATTACHED, usage_key(account, &arn, kind, old).as_bytes())?;
        tx.put(
            ATTACHED,
            usage_key(account, &arn, kind, new).as_bytes(),
            b"",
        )?;
    }
    if let Some(arn) = boundary {
        tx.delete(BOUNDARY, usage_key(account, arn, kind, old).as_bytes())?;
        tx.put(BOUNDARY, usage_key(account, arn, kind, new).as_bytes(), b"")?;
    }
    Ok(())
}

/// Whether an entity still has inline policies / attached managed policies.
pub(crate) fn owned_counts(
    tx: &mut dyn Tx,
    account: &str,
    kind: EntityKind,
    name: &str,
) -> Result<(u64, u64), StoreError> {
    let prefix = owned_prefix(account, kind, name);
    Ok((
        tx.count(INLINE, prefix.as_bytes())?,
        tx.count(ATTACH, prefix.as_bytes())?,
    ))
}
