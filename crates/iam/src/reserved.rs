//! Roles a service owns (IAM Identity Center's `AWSReservedSSO_…` under `/aws-reserved/`):
//! other services set them to a wanted state inside their own transaction, and IAM's own API
//! refuses to change them.
//!
//! Also the SAML providers such a service keeps in each account (`AWSSSO_<hex>_DO_NOT_DELETE`),
//! stored in `iam.saml` (`<account>/<name>` → [`SamlProviderRec`]) so that the IAM SAML
//! provider API, when it lands, serves them.

use crate::common::fail;
use crate::policies::{attach_in, find_managed, set_boundary_index};
use crate::records::{
    self, ATTACH, ATTACHED, EntityKind, FORMAT, INLINE, InlineRec, ROLES, entity_key, owned_prefix,
    usage_key,
};
use crate::roles::{NewRole, check_trust, create_role_tx};
use cairn_api::iam::Error;
use cairn_core::{Failure, Ids};
use cairn_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};

/// The path prefix of roles only their service may change.
pub const RESERVED_PATH: &str = "/aws-reserved/";

pub(crate) const SAML: &str = "iam.saml";

/// The path prefix of service-linked roles (`/aws-service-role/<service principal>/`).
pub const SERVICE_ROLE_PATH: &str = "/aws-service-role/";

/// Whether a role path is a reserved one.
pub fn is_reserved_path(path: &str) -> bool {
    path.starts_with(RESERVED_PATH)
}

/// Whether a role is protected from the IAM API: a reserved role, or a service-linked one
/// (IAM User Guide, "Using service-linked roles": "you can't modify the trust or
/// permissions policies of a service-linked role … you can edit the description"; deleting
/// one goes through `DeleteServiceLinkedRole`).
pub fn is_protected_path(path: &str) -> bool {
    is_reserved_path(path) || path.starts_with(SERVICE_ROLE_PATH)
}

/// IAM's refusal of a change to a reserved role through its own API. Message as AWS words
/// it (AWS re:Post knowledge center, "identity-center-aws-reserved-sso"; IAM Identity Center
/// User Guide, troubleshooting); the code is IAM's `UnmodifiableEntity`.
fn protected(name: &str) -> Failure {
    fail(
        Error::UnmodifiableEntityException,
        format!(
            "Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS"
        ),
    )
}

/// Refuses an IAM API mutation of `name` in `account` when it is a reserved or
/// service-linked role. A role that does not exist passes (the mutation then answers
/// NoSuchEntity as usual).
pub(crate) fn check_mutable(tx: &mut dyn Tx, account: &str, name: &str) -> Result<(), Failure> {
    match records::role(tx, account, name)? {
        Some(r) if is_protected_path(&r.path) => Err(protected(&r.name)),
        _ => Ok(()),
    }
}

/// [`check_mutable`] for what IAM lets a service-linked role change (its description):
/// only reserved roles are refused.
pub(crate) fn check_describable(tx: &mut dyn Tx, account: &str, name: &str) -> Result<(), Failure> {
    match records::role(tx, account, name)? {
        Some(r) if is_reserved_path(&r.path) => Err(protected(&r.name)),
        _ => Ok(()),
    }
}

/// The wanted state of a service-owned role.
pub struct ReservedRole<'a> {
    pub name: &'a str,
    pub path: &'a str,
    pub trust: &'a str,
    pub max_session_s: i64,
    /// `(policy name, document)` of its one inline policy, if any.
    pub inline: Option<(&'a str, &'a str)>,
    /// Managed policy ARNs (AWS's, or the account's own), in attachment order.
    pub managed: &'a [String],
    pub boundary: Option<&'a str>,
}

/// Whether `arn` names a managed policy visible from `account` (AWS's, or its own).
pub fn managed_policy_exists(
    tx: &mut dyn Tx,
    account: &str,
    arn: &str,
) -> Result<bool, StoreError> {
    Ok(find_managed(tx, account, arn)?.is_some())
}

/// Creates the role, or brings it to `spec`: trust policy, session limit, exactly the inline
/// policy and managed policies given, the boundary. Fails as IAM would (a managed policy that
/// does not exist: NoSuchEntity; a malformed document: MalformedPolicyDocument). The caller
/// bumps the IAM generation after its commit.
pub fn sync_reserved_role(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    now_ms: i64,
    account: &str,
    spec: &ReservedRole<'_>,
) -> Result<(), Failure> {
    let role = match records::role(tx, account, spec.name)? {
        Some(r) => r,
        None => create_role_tx(
            tx,
            ids,
            now_ms,
            account,
            &NewRole {
                name: spec.name,
                path: spec.path,
                trust: spec.trust,
                description: None,
                max_session_s: spec.max_session_s,
                boundary: None,
                tags: &[],
                attach: &[],
            },
        )?,
    };
    let mut role = role;
    let arn = records::entity_arn(account, EntityKind::Role, &role.path, &role.name);
    check_trust(&arn, spec.trust)?;
    if let Some(b) = spec.boundary
        && find_managed(tx, account, b)?.is_none()
    {
        return Err(fail(
            Error::NoSuchEntityException,
            format!("Policy {b} does not exist or is not attachable."),
        ));
    }
    set_boundary_index(
        tx,
        account,
        EntityKind::Role,
        &role.name,
        role.boundary.as_deref(),
        spec.boundary,
    )?;
    role.trust = spec.trust.to_owned();
    role.max_session_s = spec.max_session_s;
    role.boundary = spec.boundary.map(str::to_owned);
    records::save(tx, ROLES, &entity_key(account, &role.name), &role)?;

    // Inline policy: exactly the one wanted.
    let prefix = owned_prefix(account, EntityKind::Role, &role.name);
    for rec in records::inline_policies(tx, account, EntityKind::Role, &role.name)? {
        if spec.inline.is_none_or(|(n, _)| n != rec.name) {
            tx.delete(INLINE, format!("{prefix}{}", rec.name).as_bytes())?;
        }
    }
    if let Some((name, document)) = spec.inline {
        crate::policies::check_identity("", document)?;
        let rec = InlineRec {
            v: FORMAT,
            name: name.to_owned(),
            document: document.to_owned(),
        };
        records::save(tx, INLINE, &format!("{prefix}{name}"), &rec)?;
    }

    // Managed policies: detach what is no longer wanted, attach what is new.
    for arn in records::attached_arns(tx, account, EntityKind::Role, &role.name)? {
        if !spec.managed.contains(&arn) {
            tx.delete(ATTACH, format!("{prefix}{arn}").as_bytes())?;
            tx.delete(
                ATTACHED,
                usage_key(account, &arn, EntityKind::Role, &role.name).as_bytes(),
            )?;
        }
    }
    for arn in spec.managed {
        attach_in(tx, account, EntityKind::Role, &role.name, arn)?;
    }
    Ok(())
}

/// Deletes a service-owned role with its inline policies, attachments and boundary; `false`
/// when there was none.
pub fn delete_reserved_role(tx: &mut dyn Tx, account: &str, name: &str) -> Result<bool, Failure> {
    let Some(role) = records::role(tx, account, name)? else {
        return Ok(false);
    };
    let prefix = owned_prefix(account, EntityKind::Role, &role.name);
    for rec in records::inline_policies(tx, account, EntityKind::Role, &role.name)? {
        tx.delete(INLINE, format!("{prefix}{}", rec.name).as_bytes())?;
    }
    for arn in records::attached_arns(tx, account, EntityKind::Role, &role.name)? {
        tx.delete(ATTACH, format!("{prefix}{arn}").as_bytes())?;
        tx.delete(
            ATTACHED,
            usage_key(account, &arn, EntityKind::Role, &role.name).as_bytes(),
        )?;
    }
    set_boundary_index(
        tx,
        account,
        EntityKind::Role,
        &role.name,
        role.boundary.as_deref(),
        None,
    )?;
    tx.delete(ROLES, entity_key(account, &role.name).as_bytes())?;
    Ok(true)
}

/// A SAML identity provider of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlProviderRec {
    pub v: u32,
    pub name: String,
    /// The SAML metadata document.
    pub metadata: String,
    pub created_ms: i64,
    /// `SAMLProviderUUID`.
    #[serde(default)]
    pub uuid: Option<String>,
    /// The metadata's `validUntil`.
    #[serde(default)]
    pub valid_until_ms: Option<i64>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

/// The ARN of SAML provider `name` in `account`.
pub fn saml_provider_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:saml-provider/{name}")
}

/// Creates the SAML provider `name` in `account` unless it is there (its metadata is then
/// brought to `metadata`).
pub fn ensure_saml_provider(
    tx: &mut dyn Tx,
    now_ms: i64,
    account: &str,
    name: &str,
    metadata: &str,
) -> Result<(), Failure> {
    let key = format!("{account}/{name}");
    let rec = match records::load::<SamlProviderRec>(tx, SAML, &key)? {
        Some(mut r) if r.metadata != metadata => {
            r.metadata = metadata.to_owned();
            r
        }
        Some(_) => return Ok(()),
        None => SamlProviderRec {
            v: FORMAT,
            name: name.to_owned(),
            metadata: metadata.to_owned(),
            created_ms: now_ms,
            uuid: None,
            valid_until_ms: None,
            tags: Vec::new(),
        },
    };
    records::save(tx, SAML, &key, &rec)?;
    Ok(())
}

/// Removes the SAML provider `name` of `account`; `false` when there was none.
pub fn delete_saml_provider(tx: &mut dyn Tx, account: &str, name: &str) -> Result<bool, Failure> {
    Ok(tx.delete(SAML, format!("{account}/{name}").as_bytes())?)
}

/// The SAML provider `name` of `account`.
pub fn saml_provider(
    tx: &mut dyn Tx,
    account: &str,
    name: &str,
) -> Result<Option<SamlProviderRec>, Failure> {
    Ok(records::load(tx, SAML, &format!("{account}/{name}"))?)
}
