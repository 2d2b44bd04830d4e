//! IAM OpenID Connect identity providers: the issuers whose tokens
//! `sts:AssumeRoleWithWebIdentity` accepts, with their audiences (client IDs) and the
//! thumbprints of their certificates.
//!
//! ARN: `arn:aws:iam::<account>:oidc-provider/<url without https://>`; `GetOpenIDConnect
//! Provider` answers the URL without the scheme too (API reference example).
//!
//! | space      | key                          | value             |
//! |------------|------------------------------|-------------------|
//! | `iam.oidc` | `<account>/<url w/o scheme>` | [`OidcProviderRec`] |

use crate::common::{
    Ctx, api_tags_opt, fail, merge_tags, remove_tags, tag_page, to_api_tags, ts, validation,
};
use crate::records::{self, FORMAT};
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};

const OIDC: &str = "iam.oidc";

/// AWS's quotas (IAM User Guide, "IAM object quotas"): 100 OIDC providers per account, 100
/// client IDs and 5 thumbprints per provider.
const PROVIDERS_QUOTA: u64 = 100;
const CLIENT_IDS_QUOTA: usize = 100;
const THUMBPRINTS_QUOTA: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OidcProviderRec {
    pub v: u32,
    /// The URL without `https://` (and without a trailing `/`).
    pub url: String,
    pub created_ms: i64,
    #[serde(default)]
    pub client_ids: Vec<String>,
    /// Lower-case hex SHA-1 fingerprints.
    #[serde(default)]
    pub thumbprints: Vec<String>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The trusted identity propagation context provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_provider: Option<types::ContextProvider>,
    /// The IAM Identity Center instance associated with the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_center_instance_arn: Option<String>,
}

fn invalid_input(message: &str) -> Failure {
    fail(Error::InvalidInputException, message)
}

/// An Identity Center association needs a context provider (API reference,
/// UpdateOpenIDConnectProvider: "To remove the context provider, first remove the IAM
/// Identity Center association"). [M]: the text.
fn check_association(r: &OidcProviderRec) -> Result<(), Failure> {
    if r.identity_center_instance_arn.is_some() && r.context_provider.is_none() {
        return Err(invalid_input(
            "An IAM Identity Center instance can be associated only with a provider that has a context provider.",
        ));
    }
    Ok(())
}

/// `UpdateOpenIDConnectProvider` (API reference): sets, replaces or removes the context
/// provider, or the Identity Center association — one of the two per request, and for each
/// either the new value or its `Remove…` flag, not both; the context provider cannot go
/// while an association remains. Thumbprints are not this operation's. [M]: the texts.
pub(crate) fn update_open_id_connect_provider(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateOpenIDConnectProviderRequest,
) -> Result<(), Failure> {
    let mut r = require(tx, c, &input.open_id_connect_provider_arn)?;
    let remove_cp = input.remove_context_provider == Some(true);
    let remove_ic = input.remove_identity_center_instance == Some(true);
    if input.context_provider.is_some() && remove_cp {
        return Err(invalid_input(
            "ContextProvider and RemoveContextProvider cannot both be specified.",
        ));
    }
    if input.identity_center_instance_arn.is_some() && remove_ic {
        return Err(invalid_input(
            "IdentityCenterInstanceArn and RemoveIdentityCenterInstance cannot both be specified.",
        ));
    }
    let cp_change = input.context_provider.is_some() || remove_cp;
    let ic_change = input.identity_center_instance_arn.is_some() || remove_ic;
    match (cp_change, ic_change) {
        (true, true) => {
            return Err(invalid_input(
                "A request can change either the context provider or the IAM Identity Center association, not both.",
            ));
        }
        (false, false) => {
            return Err(invalid_input(
                "Specify a context provider or an IAM Identity Center instance to update.",
            ));
        }
        _ => {}
    }
    if remove_cp {
        if r.identity_center_instance_arn.is_some() {
            return Err(invalid_input(
                "Remove the IAM Identity Center association before the context provider.",
            ));
        }
        r.context_provider = None;
    } else if let Some(cp) = &input.context_provider {
        r.context_provider = Some(cp.clone());
    }
    if remove_ic {
        r.identity_center_instance_arn = None;
    } else if let Some(arn) = &input.identity_center_instance_arn {
        r.identity_center_instance_arn = Some(arn.clone());
    }
    check_association(&r)?;
    save(tx, &c.account, &r)?;
    Ok(())
}

fn arn(account: &str, url: &str) -> String {
    format!("arn:aws:iam::{account}:oidc-provider/{url}")
}

/// How many identity providers the account has (`GetAccountSummary`'s `Providers`).
pub(crate) fn count(tx: &mut dyn Tx, account: &str) -> Result<i32, StoreError> {
    Ok(i32::try_from(tx.count(OIDC, format!("{account}/").as_bytes())?).unwrap_or(i32::MAX))
}

/// The provider an ARN names (`None` when it is not one of the caller's account).
fn url_of<'a>(account: &str, arn: &'a str) -> Option<&'a str> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (acct, resource) = rest.split_once(':')?;
    let url = resource.strip_prefix("oidc-provider/")?;
    (acct == account && !url.is_empty()).then_some(url)
}

fn not_found(arn: &str) -> Failure {
    // [M]: the text.
    fail(
        Error::NoSuchEntityException,
        format!("OpenIDConnect Provider not found for arn {arn}"),
    )
}

fn require(tx: &mut dyn Tx, c: &Ctx, arn: &str) -> Result<OidcProviderRec, Failure> {
    let Some(url) = url_of(&c.account, arn) else {
        return Err(not_found(arn));
    };
    records::load(tx, OIDC, &format!("{}/{url}", c.account))?.ok_or_else(|| not_found(arn))
}

/// The provider of `account` whose URL is the token issuer `iss` (`https://…`, a trailing
/// `/` ignored): what `AssumeRoleWithWebIdentity` looks up.
pub(crate) fn provider_for_issuer(
    tx: &mut dyn Tx,
    account: &str,
    iss: &str,
) -> Result<Option<OidcProviderRec>, StoreError> {
    let url = iss
        .strip_prefix("https://")
        .unwrap_or(iss)
        .trim_end_matches('/');
    records::load(tx, OIDC, &format!("{account}/{url}"))
}

fn save(tx: &mut dyn Tx, account: &str, r: &OidcProviderRec) -> Result<(), StoreError> {
    records::save(tx, OIDC, &format!("{account}/{}", r.url), r)
}

/// The issuer URL as IAM keeps it: `https://` required and dropped, a trailing `/` dropped;
/// no query or fragment ("The URL must begin with https:// … You cannot register the
/// same provider multiple times", API reference; the texts are [M]).
fn normalize_url(url: &str) -> Result<String, Failure> {
    let invalid = || {
        fail(
            Error::InvalidInputException,
            "Invalid OpenId Connect Provider URL.",
        )
    };
    let rest = url.strip_prefix("https://").ok_or_else(invalid)?;
    let rest = rest.trim_end_matches('/');
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = authority.split_once(':').unwrap_or((authority, "443"));
    if host.is_empty()
        || rest.contains(['?', '#', ' '])
        || port.is_empty()
        || !port.chars().all(|ch| ch.is_ascii_digit())
        || !host
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '-')
    {
        return Err(invalid());
    }
    Ok(rest.to_owned())
}

fn check_thumbprints(list: &[String]) -> Result<Vec<String>, Failure> {
    if list.len() > THUMBPRINTS_QUOTA {
        return Err(fail(
            Error::LimitExceededException,
            format!(
                "Thumbprint list must contain fewer than {} entries.",
                THUMBPRINTS_QUOTA + 1
            ),
        ));
    }
    list.iter()
        .map(|t| {
            if t.len() == 40 && t.chars().all(|ch| ch.is_ascii_hexdigit()) {
                Ok(t.to_ascii_lowercase())
            } else {
                Err(validation(format!(
                    "1 validation error detected: Value '{t}' at 'thumbprintList' failed to satisfy constraint: Member must have length greater than or equal to 40"
                )))
            }
        })
        .collect()
}

fn add_client_id(list: &mut Vec<String>, id: &str) -> Result<(), Failure> {
    if list.iter().any(|c| c == id) {
        return Ok(());
    }
    if list.len() >= CLIENT_IDS_QUOTA {
        return Err(fail(
            Error::LimitExceededException,
            format!(
                "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {CLIENT_IDS_QUOTA}"
            ),
        ));
    }
    list.push(id.to_owned());
    Ok(())
}

pub(crate) fn create_open_id_connect_provider(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::CreateOpenIDConnectProviderRequest,
) -> Result<types::CreateOpenIDConnectProviderResponse, Failure> {
    let url = normalize_url(&input.url)?;
    let key = format!("{}/{url}", c.account);
    if tx.get(OIDC, key.as_bytes())?.is_some() {
        return Err(fail(
            Error::EntityAlreadyExistsException,
            format!("Provider with url {} already exists.", input.url),
        ));
    }
    if tx.count(OIDC, format!("{}/", c.account).as_bytes())? >= PROVIDERS_QUOTA {
        return Err(fail(
            Error::LimitExceededException,
            format!("Cannot exceed quota for OpenIdConnectProvidersPerAccount: {PROVIDERS_QUOTA}"),
        ));
    }
    let mut client_ids = Vec::new();
    for id in input.client_id_list.iter().flatten() {
        add_client_id(&mut client_ids, id)?;
    }
    let mut tags = Vec::new();
    merge_tags(&mut tags, input.tags.as_deref().unwrap_or_default())?;
    let rec = OidcProviderRec {
        v: FORMAT,
        url,
        created_ms: c.now_ms,
        client_ids,
        thumbprints: check_thumbprints(input.thumbprint_list.as_deref().unwrap_or_default())?,
        tags,
        context_provider: input.context_provider.clone(),
        identity_center_instance_arn: input.identity_center_instance_arn.clone(),
    };
    check_association(&rec)?;
    save(tx, &c.account, &rec)?;
    Ok(types::CreateOpenIDConnectProviderResponse {
        open_id_connect_provider_arn: Some(arn(&c.account, &rec.url)),
        tags: api_tags_opt(&rec.tags),
    })
}

pub(crate) fn get_open_id_connect_provider(
    tx: &mut dyn Tx,
    c: &Ctx,
    provider_arn: &str,
) -> Result<types::GetOpenIDConnectProviderResponse, Failure> {
    let r = require(tx, c, provider_arn)?;
    Ok(types::GetOpenIDConnectProviderResponse {
        url: Some(r.url.clone()),
        client_id_list: Some(r.client_ids.clone()),
        thumbprint_list: Some(r.thumbprints.clone()),
        create_date: Some(ts(r.created_ms)),
        tags: Some(to_api_tags(&r.tags)),
        context_provider: r.context_provider.clone(),
        identity_center_instance_arn: r.identity_center_instance_arn.clone(),
        // [M]: the identity store of the associated instance; Cairn does not look it up.
        identity_store_arn: None,
    })
}

pub(crate) fn list_open_id_connect_providers(
    tx: &mut dyn Tx,
    c: &Ctx,
) -> Result<types::ListOpenIDConnectProvidersResponse, Failure> {
    let all: Vec<(String, OidcProviderRec)> =
        records::load_all(tx, OIDC, &format!("{}/", c.account))?;
    Ok(types::ListOpenIDConnectProvidersResponse {
        open_id_connect_provider_list: Some(
            all.iter()
                .map(|(_, r)| types::OpenIDConnectProviderListEntry {
                    arn: Some(arn(&c.account, &r.url)),
                    ..Default::default()
                })
                .collect(),
        ),
    })
}

/// `DeleteOpenIDConnectProvider` "is idempotent; it does not fail or return an error if you
/// call the operation for a provider that does not exist" (API reference).
pub(crate) fn delete_open_id_connect_provider(
    tx: &mut dyn Tx,
    c: &Ctx,
    provider_arn: &str,
) -> Result<(), Failure> {
    if let Some(url) = url_of(&c.account, provider_arn) {
        tx.delete(OIDC, format!("{}/{url}", c.account).as_bytes())?;
    }
    Ok(())
}

pub(crate) fn add_client_id_to_open_id_connect_provider(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::AddClientIDToOpenIDConnectProviderRequest,
) -> Result<(), Failure> {
    let mut r = require(tx, c, &input.open_id_connect_provider_arn)?;
    add_client_id(&mut r.client_ids, &input.client_id)?;
    save(tx, &c.account, &r)?;
    Ok(())
}

/// Removing a client ID the provider does not have is not an error (API reference: "This
/// operation is idempotent").
pub(crate) fn remove_client_id_from_open_id_connect_provider(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::RemoveClientIDFromOpenIDConnectProviderRequest,
) -> Result<(), Failure> {
    let mut r = require(tx, c, &input.open_id_connect_provider_arn)?;
    r.client_ids.retain(|id| id != &input.client_id);
    save(tx, &c.account, &r)?;
    Ok(())
}

pub(crate) fn update_open_id_connect_provider_thumbprint(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateOpenIDConnectProviderThumbprintRequest,
) -> Result<(), Failure> {
    let mut r = require(tx, c, &input.open_id_connect_provider_arn)?;
    r.thumbprints = check_thumbprints(&input.thumbprint_list)?;
    save(tx, &c.account, &r)?;
    Ok(())
}

pub(crate) fn tag_open_id_connect_provider(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::TagOpenIDConnectProviderRequest,
) -> Result<(), Failure> {
    let mut r = require(tx, c, &input.open_id_connect_provider_arn)?;
    merge_tags(&mut r.tags, &input.tags)?;
    save(tx, &c.account, &r)?;
    Ok(())
}

pub(crate) fn untag_open_id_connect_provider(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UntagOpenIDConnectProviderRequest,
) -> Result<(), Failure> {
    let mut r = require(tx, c, &input.open_id_connect_provider_arn)?;
    remove_tags(&mut r.tags, &input.tag_keys);
    save(tx, &c.account, &r)?;
    Ok(())
}

pub(crate) fn list_open_id_connect_provider_tags(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListOpenIDConnectProviderTagsRequest,
) -> Result<types::ListOpenIDConnectProviderTagsResponse, Failure> {
    let r = require(tx, c, &input.open_id_connect_provider_arn)?;
    let page = tag_page(&r.tags, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListOpenIDConnectProviderTagsResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        tags: page.items,
    })
}
