//! Trusted token issuers: OIDC issuers whose JWTs an instance's applications may exchange
//! for Identity Center tokens (trusted identity propagation). Type `OIDC_JWT` only; the issuer
//! URL is fixed at creation (the update configuration has none); claim and identity store
//! attribute paths and the JWKS retrieval option (`OPEN_ID_DISCOVERY`) are kept as given
//! (API Reference: CreateTrustedTokenIssuer, OidcJwtConfiguration, OidcJwtUpdateConfiguration).
//! ARN: `arn:<partition>:sso::<owner account>:trustedTokenIssuer/<ssoins-…>/tti-<uuid>`.
//!
//! Space: `sso.tti` — `<instance id>/<tti id>` → [`TtiRec`].

use crate::instance::{conflict, require_active, validation};
use crate::model::{self, AdminCtx, InstanceRec, Page};
use cairn_api::sso_admin::{Error, types};
use cairn_core::{Failure, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::ApiError;
use serde::{Deserialize, Serialize};

pub const TTIS: &str = "sso.tti";

/// Trusted token issuers per instance [M: the User Guide's quota table was not seen].
const MAX_PER_INSTANCE: u64 = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TtiRec {
    pub v: u32,
    /// `tti-<uuid>`.
    pub id: String,
    pub instance_id: String,
    pub name: String,
    pub issuer_url: String,
    pub claim_attribute_path: String,
    pub identity_store_attribute_path: String,
    pub created_ms: i64,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    #[serde(default)]
    pub client_token: Option<String>,
}

impl TtiRec {
    pub fn arn(&self, inst: &InstanceRec) -> String {
        format!(
            "arn:{}:sso::{}:trustedTokenIssuer/{}/{}",
            cairn_core::partition::CANONICAL,
            inst.owner,
            inst.id,
            self.id
        )
    }

    fn config(&self) -> types::TrustedTokenIssuerConfiguration {
        types::TrustedTokenIssuerConfiguration {
            oidc_jwt_configuration: Some(types::OidcJwtConfiguration {
                claim_attribute_path: self.claim_attribute_path.clone(),
                identity_store_attribute_path: self.identity_store_attribute_path.clone(),
                issuer_url: self.issuer_url.clone(),
                jwks_retrieval_option: types::JwksRetrievalOption::OpenIdDiscovery,
            }),
        }
    }
}

fn not_found(arn: &str) -> Failure {
    // [M]: the text.
    Failure(ApiError::new(
        Error::ResourceNotFoundException,
        format!("The trusted token issuer {arn} does not exist."),
    ))
}

fn key(inst: &str, id: &str) -> String {
    format!("{inst}/{id}")
}

fn all(tx: &mut dyn Tx, inst_id: &str) -> Result<Vec<TtiRec>, Failure> {
    let mut out = Vec::new();
    for (_, raw) in tx.scan_prefix(TTIS, format!("{inst_id}/").as_bytes(), false, usize::MAX)? {
        out.push(serde_json::from_slice(&raw).map_err(|_| model::corrupt(TTIS))?);
    }
    Ok(out)
}

/// The issuer an ARN names, with its instance, as `account` may administer it.
fn require(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
) -> Result<(InstanceRec, TtiRec), Failure> {
    let found = lookup(tx, arn)?;
    let Some((inst, rec)) = found else {
        return Err(not_found(arn));
    };
    if !model::may_administer(tx, orgs, &inst, account)? {
        return Err(not_found(arn));
    }
    Ok((inst, rec))
}

/// The issuer an ARN names, whoever asks (tags for policies).
pub fn lookup(tx: &mut dyn Tx, arn: &str) -> Result<Option<(InstanceRec, TtiRec)>, Failure> {
    let mut parts = arn.rsplit('/');
    let (Some(id), Some(inst_id)) = (parts.next(), parts.next()) else {
        return Ok(None);
    };
    let Some(inst) = model::instance(tx, inst_id)? else {
        return Ok(None);
    };
    let rec: Option<TtiRec> = model::get_json(tx, TTIS, &key(inst_id, id))?;
    Ok(rec.filter(|r| r.arn(&inst) == arn).map(|r| (inst, r)))
}

fn check_name(tx: &mut dyn Tx, inst_id: &str, name: &str, except: &str) -> Result<(), Failure> {
    if all(tx, inst_id)?
        .iter()
        .any(|r| r.name == name && r.id != except)
    {
        // [M]: the text.
        return Err(conflict(format!(
            "A trusted token issuer named {name} already exists."
        )));
    }
    Ok(())
}

pub fn create_trusted_token_issuer(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::CreateTrustedTokenIssuerRequest,
) -> Result<types::CreateTrustedTokenIssuerResponse, Failure> {
    let inst = require_active(tx, orgs, &c.account, &input.instance_arn)?;
    let existing = all(tx, &inst.id)?;
    if let Some(token) = &input.client_token
        && let Some(same) = existing
            .iter()
            .find(|r| r.client_token.as_deref() == Some(token.as_str()))
    {
        return Ok(types::CreateTrustedTokenIssuerResponse {
            trusted_token_issuer_arn: Some(same.arn(&inst)),
        });
    }
    let Some(cfg) = &input
        .trusted_token_issuer_configuration
        .oidc_jwt_configuration
    else {
        return Err(validation(
            "TrustedTokenIssuerConfiguration needs an OidcJwtConfiguration for type OIDC_JWT.",
        ));
    };
    if !cfg.issuer_url.starts_with("https://") {
        // [M]: OIDC issuers are HTTPS URLs (OpenID Connect Discovery 1.0); the text is Cairn's.
        return Err(validation(format!(
            "The issuer URL {} must be an https:// URL.",
            cfg.issuer_url
        )));
    }
    check_name(tx, &inst.id, &input.name, "")?;
    if u64::try_from(existing.len()).unwrap_or(u64::MAX) >= MAX_PER_INSTANCE {
        return Err(Failure(ApiError::new(
            Error::ServiceQuotaExceededException,
            format!("An instance can have at most {MAX_PER_INSTANCE} trusted token issuers."),
        )));
    }
    let rec = TtiRec {
        v: model::FORMAT,
        id: format!("tti-{}", c.ids.uuid()),
        instance_id: inst.id.clone(),
        name: input.name.clone(),
        issuer_url: cfg.issuer_url.clone(),
        claim_attribute_path: cfg.claim_attribute_path.clone(),
        identity_store_attribute_path: cfg.identity_store_attribute_path.clone(),
        created_ms: c.now_ms,
        tags: crate::tags::merge(&[], input.tags.as_deref().unwrap_or_default())?,
        client_token: input.client_token.clone(),
    };
    model::put_json(tx, TTIS, &key(&inst.id, &rec.id), &rec)?;
    Ok(types::CreateTrustedTokenIssuerResponse {
        trusted_token_issuer_arn: Some(rec.arn(&inst)),
    })
}

pub fn describe_trusted_token_issuer(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DescribeTrustedTokenIssuerRequest,
) -> Result<types::DescribeTrustedTokenIssuerResponse, Failure> {
    let (inst, rec) = require(tx, orgs, &c.account, &input.trusted_token_issuer_arn)?;
    Ok(types::DescribeTrustedTokenIssuerResponse {
        name: Some(rec.name.clone()),
        trusted_token_issuer_arn: Some(rec.arn(&inst)),
        trusted_token_issuer_configuration: Some(rec.config()),
        trusted_token_issuer_type: Some(types::TrustedTokenIssuerType::OidcJwt),
    })
}

pub fn list_trusted_token_issuers(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListTrustedTokenIssuersRequest,
) -> Result<types::ListTrustedTokenIssuersResponse, Failure> {
    let inst = require_active(tx, orgs, &c.account, &input.instance_arn)?;
    let page = Page::with_default(
        format!("ListTrustedTokenIssuers/{}/{}", c.account, inst.id),
        input.next_token.as_deref(),
        input.max_results,
        100,
        || validation("The provided NextToken is not valid."),
    )?;
    let (items, next_token) = page.apply(all(tx, &inst.id)?, |r| r.id.clone());
    Ok(types::ListTrustedTokenIssuersResponse {
        next_token,
        trusted_token_issuers: Some(
            items
                .iter()
                .map(|r| types::TrustedTokenIssuerMetadata {
                    name: Some(r.name.clone()),
                    trusted_token_issuer_arn: Some(r.arn(&inst)),
                    trusted_token_issuer_type: Some(types::TrustedTokenIssuerType::OidcJwt),
                })
                .collect(),
        ),
    })
}

pub fn update_trusted_token_issuer(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::UpdateTrustedTokenIssuerRequest,
) -> Result<types::UpdateTrustedTokenIssuerResponse, Failure> {
    let (inst, mut rec) = require(tx, orgs, &c.account, &input.trusted_token_issuer_arn)?;
    if let Some(name) = &input.name {
        check_name(tx, &inst.id, name, &rec.id)?;
        rec.name = name.clone();
    }
    if let Some(cfg) = input
        .trusted_token_issuer_configuration
        .as_ref()
        .and_then(|c| c.oidc_jwt_configuration.as_ref())
    {
        if let Some(p) = &cfg.claim_attribute_path {
            rec.claim_attribute_path = p.clone();
        }
        if let Some(p) = &cfg.identity_store_attribute_path {
            rec.identity_store_attribute_path = p.clone();
        }
    }
    model::put_json(tx, TTIS, &key(&inst.id, &rec.id), &rec)?;
    Ok(types::UpdateTrustedTokenIssuerResponse {})
}

pub fn delete_trusted_token_issuer(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DeleteTrustedTokenIssuerRequest,
) -> Result<types::DeleteTrustedTokenIssuerResponse, Failure> {
    let (inst, rec) = require(tx, orgs, &c.account, &input.trusted_token_issuer_arn)?;
    tx.delete(TTIS, key(&inst.id, &rec.id).as_bytes())?;
    Ok(types::DeleteTrustedTokenIssuerResponse {})
}

/// The tags of the issuer `arn` names, when `account` may administer it.
pub fn resource_tags(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
) -> Result<Option<Vec<(String, String)>>, Failure> {
    match require(tx, orgs, account, arn) {
        Ok((_, rec)) => Ok(Some(rec.tags)),
        Err(_) => Ok(None),
    }
}

pub fn set_resource_tags(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
    tags: &[(String, String)],
) -> Result<Option<()>, Failure> {
    let Ok((inst, mut rec)) = require(tx, orgs, account, arn) else {
        return Ok(None);
    };
    rec.tags = tags.to_vec();
    model::put_json(tx, TTIS, &key(&inst.id, &rec.id), &rec)?;
    Ok(Some(()))
}

/// Removes the instance's issuers (its deletion), within `budget` rows.
pub fn purge(tx: &mut dyn Tx, inst: &InstanceRec, budget: &mut usize) -> Result<bool, Failure> {
    let rows = tx.scan_prefix(TTIS, format!("{}/", inst.id).as_bytes(), false, *budget)?;
    *budget = budget.saturating_sub(rows.len());
    for (k, _) in rows {
        tx.delete(TTIS, &k)?;
    }
    Ok(*budget > 0)
}
