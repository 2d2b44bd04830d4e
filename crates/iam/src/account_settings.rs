//! Account-wide IAM settings: the account alias, the password policy, and `GetAccountSummary`.
//!
//! | space          | key         | value                 |
//! |----------------|-------------|-----------------------|
//! | `iam.alias`    | `<account>` | the alias             |
//! | `iam.aliasidx` | `<alias>`   | the account (aliases are unique across accounts) |
//! | `iam.pwpolicy` | `<account>` | [`PasswordPolicyRec`] |
//! | `iam.stspref`  | `<account>` | `1` or `2`: the global endpoint's token version |

use crate::common::{Ctx, fail, paginate};
use crate::records::{self, FORMAT, PolicyRec};
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};

const ALIAS: &str = "iam.alias";
const ALIAS_INDEX: &str = "iam.aliasidx";
const PASSWORD_POLICY: &str = "iam.pwpolicy";
const STS_PREFERENCES: &str = "iam.stspref";

/// The account's alias, if it has one.
pub(crate) fn alias_of(tx: &mut dyn Tx, account: &str) -> Result<Option<String>, StoreError> {
    Ok(tx
        .get(ALIAS, account.as_bytes())?
        .map(|raw| String::from_utf8_lossy(&raw).into_owned()))
}

/// `CreateAccountAlias`. An account has at most one alias: a new one replaces the old (AWS
/// Sign-In User Guide, "Creating, deleting, and listing an AWS account alias": "If you create
/// a new alias for your AWS account, the new alias overwrites the previous alias"). Aliases
/// are unique across accounts: another account's is `EntityAlreadyExists` (API reference;
/// the message text is [M]).
pub(crate) fn create_account_alias(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::CreateAccountAliasRequest,
) -> Result<(), Failure> {
    let alias = &input.account_alias;
    check_alias(alias)?;
    if let Some(owner) = tx.get(ALIAS_INDEX, alias.as_bytes())? {
        if owner == c.account.as_bytes() {
            return Ok(());
        }
        return Err(fail(
            Error::EntityAlreadyExistsException,
            format!("The account alias {alias} already exists."),
        ));
    }
    if let Some(old) = alias_of(tx, &c.account)? {
        tx.delete(ALIAS_INDEX, old.as_bytes())?;
    }
    tx.put(ALIAS, c.account.as_bytes(), alias.as_bytes())?;
    tx.put(ALIAS_INDEX, alias.as_bytes(), c.account.as_bytes())?;
    Ok(())
}

/// The model's `accountAliasType` pattern, `^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$`,
/// checked here because its look-ahead is beyond the `regex` crate the wire layer validates
/// with (which then skips it): lower-case letters, digits and single dashes, neither first
/// nor last. The length (3–63) is the wire layer's.
fn check_alias(alias: &str) -> Result<(), Failure> {
    let ok = alias
        .chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        && !alias.starts_with('-')
        && !alias.ends_with('-')
        && !alias.contains("--");
    if ok {
        return Ok(());
    }
    Err(crate::common::validation(format!(
        "1 validation error detected: Value '{alias}' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){{1,61}}[a-z0-9]$"
    )))
}

pub(crate) fn delete_account_alias(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::DeleteAccountAliasRequest,
) -> Result<(), Failure> {
    let alias = &input.account_alias;
    if alias_of(tx, &c.account)?.as_deref() != Some(alias.as_str()) {
        // [M]: the text.
        return Err(fail(
            Error::NoSuchEntityException,
            format!("The account alias {alias} cannot be found."),
        ));
    }
    tx.delete(ALIAS, c.account.as_bytes())?;
    tx.delete(ALIAS_INDEX, alias.as_bytes())?;
    Ok(())
}

pub(crate) fn list_account_aliases(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListAccountAliasesRequest,
) -> Result<types::ListAccountAliasesResponse, Failure> {
    let items = alias_of(tx, &c.account)?
        .map(|a| (a.clone(), a))
        .into_iter()
        .collect();
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListAccountAliasesResponse {
        is_truncated: Some(page.marker.is_some()),
        marker: page.marker,
        account_aliases: page.items,
    })
}

// ------------------------------------------------------------------------- password policy

/// The account password policy as set. `UpdateAccountPasswordPolicy` sets every member:
/// "if you do not specify a parameter, that parameter's value reverts to its default value"
/// (API reference), so what is stored is always whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PasswordPolicyRec {
    pub v: u32,
    pub minimum_length: u32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub allow_users_to_change: bool,
    /// Days; 0: passwords never expire.
    pub max_age_days: u32,
    /// 0: reuse is not prevented.
    pub reuse_prevention: u32,
    pub hard_expiry: bool,
}

pub(crate) fn password_policy(
    tx: &mut dyn Tx,
    account: &str,
) -> Result<Option<PasswordPolicyRec>, StoreError> {
    records::load(tx, PASSWORD_POLICY, account)
}

fn non_negative(v: Option<i32>, default: u32) -> u32 {
    v.and_then(|n| u32::try_from(n).ok()).unwrap_or(default)
}

pub(crate) fn update_account_password_policy(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateAccountPasswordPolicyRequest,
) -> Result<(), Failure> {
    // Defaults (API reference, UpdateAccountPasswordPolicy): length 6, nothing required,
    // users may not change their passwords, passwords never expire, reuse allowed. The
    // ranges (6–128, 1–1095, 1–24) are the model's and checked before this runs.
    let rec = PasswordPolicyRec {
        v: FORMAT,
        minimum_length: non_negative(input.minimum_password_length, 6),
        require_symbols: input.require_symbols.unwrap_or(false),
        require_numbers: input.require_numbers.unwrap_or(false),
        require_uppercase: input.require_uppercase_characters.unwrap_or(false),
        require_lowercase: input.require_lowercase_characters.unwrap_or(false),
        allow_users_to_change: input.allow_users_to_change_password.unwrap_or(false),
        max_age_days: non_negative(input.max_password_age, 0),
        reuse_prevention: non_negative(input.password_reuse_prevention, 0),
        hard_expiry: input.hard_expiry.unwrap_or(false),
    };
    records::save(tx, PASSWORD_POLICY, &c.account, &rec)?;
    Ok(())
}

fn no_password_policy(account: &str) -> Failure {
    fail(
        Error::NoSuchEntityException,
        format!("The Password Policy with domain name {account} cannot be found."),
    )
}

pub(crate) fn get_account_password_policy(
    tx: &mut dyn Tx,
    c: &Ctx,
) -> Result<types::GetAccountPasswordPolicyResponse, Failure> {
    let p = password_policy(tx, &c.account)?.ok_or_else(|| no_password_policy(&c.account))?;
    let expires = p.max_age_days > 0;
    // As AWS answers (AWS CLI reference, get-account-password-policy): `MaxPasswordAge`
    // and `HardExpiry` only for expiring passwords, `PasswordReusePrevention` only when set.
    Ok(types::GetAccountPasswordPolicyResponse {
        password_policy: types::PasswordPolicy {
            minimum_password_length: i32::try_from(p.minimum_length).ok(),
            require_symbols: Some(p.require_symbols),
            require_numbers: Some(p.require_numbers),
            require_uppercase_characters: Some(p.require_uppercase),
            require_lowercase_characters: Some(p.require_lowercase),
            allow_users_to_change_password: Some(p.allow_users_to_change),
            expire_passwords: Some(expires),
            max_password_age: expires
                .then(|| i32::try_from(p.max_age_days).ok())
                .flatten(),
            password_reuse_prevention: (p.reuse_prevention > 0)
                .then(|| i32::try_from(p.reuse_prevention).ok())
                .flatten(),
            hard_expiry: expires.then_some(p.hard_expiry),
        },
    })
}

pub(crate) fn delete_account_password_policy(tx: &mut dyn Tx, c: &Ctx) -> Result<(), Failure> {
    if !tx.delete(PASSWORD_POLICY, c.account.as_bytes())? {
        return Err(no_password_policy(&c.account));
    }
    Ok(())
}

/// The symbols a password policy counts (IAM User Guide, "Set an account password policy
/// for IAM users": `! @ # $ % ^ & * ( ) _ + - = [ ] { } | '`).
const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";

/// Whether `password` satisfies the account's policy, or, without one, AWS's default policy
/// (IAM User Guide, "Default password policy": at least 8 characters and at least three of
/// uppercase letters, lowercase letters, numbers and symbols).
pub(crate) fn check_password(
    policy: Option<&PasswordPolicyRec>,
    password: &str,
) -> Result<(), Failure> {
    let upper = password.chars().any(|c| c.is_ascii_uppercase());
    let lower = password.chars().any(|c| c.is_ascii_lowercase());
    let digit = password.chars().any(|c| c.is_ascii_digit());
    let symbol = password.chars().any(|c| SYMBOLS.contains(c));
    let length = password.chars().count();
    let ok = match policy {
        Some(p) => {
            length >= usize::try_from(p.minimum_length).unwrap_or(usize::MAX)
                && (!p.require_uppercase || upper)
                && (!p.require_lowercase || lower)
                && (!p.require_numbers || digit)
                && (!p.require_symbols || symbol)
        }
        None => length >= 8 && [upper, lower, digit, symbol].iter().filter(|b| **b).count() >= 3,
    };
    if ok {
        Ok(())
    } else {
        // The text AWS answers (captured in public reports of the error).
        Err(fail(
            Error::PasswordPolicyViolationException,
            "Password does not conform to the account password policy.",
        ))
    }
}

// ------------------------------------------------------------------------ STS preferences

/// `SetSecurityTokenServicePreferences`: which session tokens the STS global endpoint
/// issues (`v1Token`, valid only in Regions enabled by default, or `v2Token`, valid in all);
/// `GetAccountSummary` reports it as `GlobalEndpointTokenVersion` (API reference). Cairn's
/// tokens work everywhere either way; the setting is kept and reported.
pub(crate) fn set_security_token_service_preferences(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::SetSecurityTokenServicePreferencesRequest,
) -> Result<(), Failure> {
    let v: &[u8] = match input.global_endpoint_token_version {
        types::GlobalEndpointTokenVersion::V2Token => b"2",
        _ => b"1",
    };
    tx.put(STS_PREFERENCES, c.account.as_bytes(), v)?;
    Ok(())
}

fn token_version(tx: &mut dyn Tx, account: &str) -> Result<i32, StoreError> {
    Ok(
        match tx.get(STS_PREFERENCES, account.as_bytes())?.as_deref() {
            Some(b"2") => 2,
            _ => 1,
        },
    )
}

// --------------------------------------------------------------------------------- summary

/// `GetAccountSummary`: the account's entity counts and IAM's default quotas (IAM User
/// Guide, "IAM and AWS STS quotas"; the keys are the API reference's `SummaryKeyType`).
pub(crate) fn get_account_summary(
    tx: &mut dyn Tx,
    c: &Ctx,
) -> Result<types::GetAccountSummaryResponse, Failure> {
    let prefix = format!("{}/", c.account);
    let count = |tx: &mut dyn Tx, space: &str| -> Result<i32, StoreError> {
        Ok(i32::try_from(tx.count(space, prefix.as_bytes())?).unwrap_or(i32::MAX))
    };
    let users = count(tx, records::USERS)?;
    let groups = count(tx, records::GROUPS)?;
    let roles = count(tx, records::ROLES)?;
    let policies: Vec<(String, PolicyRec)> = records::load_all(tx, records::POLICIES, &prefix)?;
    let versions: usize = policies.iter().map(|(_, p)| p.versions.len()).sum();
    let root_keys = crate::accounts::root_access_keys(tx, &c.account)?;
    let instance_profiles = crate::instance_profiles::count(tx, &c.account)?;
    let providers = crate::providers::count(tx, &c.account)?;
    let token_version = token_version(tx, &c.account)?;
    let server_certificates = i32::try_from(crate::certificates::server_certificate_count(
        tx, &c.account,
    )?)
    .unwrap_or(i32::MAX);
    let root_certificates =
        !crate::certificates::signing_certificates(tx, &c.account, None)?.is_empty();
    let mut m = std::collections::BTreeMap::new();
    for (k, v) in [
        ("Users", users),
        ("UsersQuota", 5000),
        ("Groups", groups),
        ("GroupsQuota", 300),
        ("GroupsPerUserQuota", 10),
        ("Roles", roles),
        ("RolesQuota", 1000),
        (
            "Policies",
            i32::try_from(policies.len()).unwrap_or(i32::MAX),
        ),
        ("PoliciesQuota", 1500),
        (
            "PolicyVersionsInUse",
            i32::try_from(versions).unwrap_or(i32::MAX),
        ),
        ("PolicyVersionsInUseQuota", 10000),
        ("VersionsPerPolicyQuota", 5),
        ("PolicySizeQuota", 6144),
        ("UserPolicySizeQuota", 2048),
        ("GroupPolicySizeQuota", 5120),
        ("RolePolicySizeQuota", 10240),
        ("AssumeRolePolicySizeQuota", 2048),
        ("AttachedPoliciesPerUserQuota", 10),
        ("AttachedPoliciesPerGroupQuota", 10),
        ("AttachedPoliciesPerRoleQuota", 10),
        ("AccessKeysPerUserQuota", 2),
        ("AccountAccessKeysPresent", i32::from(!root_keys.is_empty())),
        ("AccountMFAEnabled", 0),
        (
            "AccountSigningCertificatesPresent",
            i32::from(root_certificates),
        ),
        ("SigningCertificatesPerUserQuota", 2),
        ("MFADevices", 0),
        ("MFADevicesInUse", 0),
        ("ServerCertificates", server_certificates),
        ("ServerCertificatesQuota", 20),
        ("InstanceProfiles", instance_profiles),
        ("InstanceProfilesQuota", 1000),
        ("Providers", providers),
        ("GlobalEndpointTokenVersion", token_version),
    ] {
        m.insert(k.to_owned(), v);
    }
    Ok(types::GetAccountSummaryResponse {
        summary_map: Some(m),
    })
}

// ---------------------------------------------------------------------- account properties

const PROPERTIES: &str = "iam.properties";

/// `PutAccountProperties`: account-wide settings as `Namespace/PropertyName` keys (API
/// reference: each key has exactly one `/`, neither first nor last; every key of one request
/// in the same namespace; values 1–1,024 characters, validated "based on the property key's
/// expected type"). AWS's references name no property yet (the API reference mentions Role
/// Manager), so Cairn keeps any well-formed key and its value as given; no feature Cairn
/// serves reads them. [M]: the `InvalidInput` texts.
pub(crate) fn put_account_properties(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::PutAccountPropertiesRequest,
) -> Result<(), Failure> {
    let mut namespace: Option<&str> = None;
    for key in input.properties.keys() {
        let Some((ns, name)) = key.split_once('/') else {
            return Err(fail(
                Error::InvalidInputException,
                format!("Property key {key} must be in the format Namespace/PropertyName."),
            ));
        };
        if ns.is_empty() || name.is_empty() || name.contains('/') {
            return Err(fail(
                Error::InvalidInputException,
                format!("Property key {key} must be in the format Namespace/PropertyName."),
            ));
        }
        match namespace {
            Some(seen) if seen != ns => {
                return Err(fail(
                    Error::InvalidInputException,
                    "All properties in a request must belong to the same namespace.",
                ));
            }
            _ => namespace = Some(ns),
        }
    }
    let mut all: std::collections::BTreeMap<String, String> =
        records::load(tx, PROPERTIES, &c.account)?.unwrap_or_default();
    for (k, v) in &input.properties {
        all.insert(k.clone(), v.clone());
    }
    records::save(tx, PROPERTIES, &c.account, &all)?;
    Ok(())
}

/// `GetAccountProperties`: every property set, `Properties` empty when none is.
pub(crate) fn get_account_properties(
    tx: &mut dyn Tx,
    c: &Ctx,
) -> Result<types::GetAccountPropertiesResponse, Failure> {
    let all: std::collections::BTreeMap<String, String> =
        records::load(tx, PROPERTIES, &c.account)?.unwrap_or_default();
    Ok(types::GetAccountPropertiesResponse {
        properties: Some(all),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_checked_against_the_policy_or_awss_default() {
        // Default: 8 characters, three of four classes.
        assert!(check_password(None, "Abcdefg1").is_ok());
        assert!(check_password(None, "abcdefg1").is_err());
        assert!(check_password(None, "Ab1!").is_err());
        assert!(check_password(None, "abcdef1!").is_ok());
        let p = PasswordPolicyRec {
            v: FORMAT,
            minimum_length: 12,
            require_symbols: true,
            require_numbers: false,
            require_uppercase: false,
            require_lowercase: true,
            allow_users_to_change: true,
            max_age_days: 0,
            reuse_prevention: 0,
            hard_expiry: false,
        };
        assert!(check_password(Some(&p), "aaaaaaaaaaa!").is_ok());
        assert!(
            check_password(Some(&p), "aaaaaaaaaa!").is_err(),
            "too short"
        );
        assert!(
            check_password(Some(&p), "aaaaaaaaaaaa").is_err(),
            "no symbol"
        );
        assert!(
            check_password(Some(&p), "AAAAAAAAAAA!").is_err(),
            "no lowercase"
        );
    }
}
