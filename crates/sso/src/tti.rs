//! (stub)

use crate::model::AdminCtx;
use cairn_api::sso_admin::types;
use cairn_core::{Failure, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::ApiError;

pub fn create_trusted_token_issuer(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::CreateTrustedTokenIssuerRequest,
) -> Result<types::CreateTrustedTokenIssuerResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "CreateTrustedTokenIssuer",
    )))
}

pub fn delete_trusted_token_issuer(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DeleteTrustedTokenIssuerRequest,
) -> Result<types::DeleteTrustedTokenIssuerResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DeleteTrustedTokenIssuer",
    )))
}

pub fn describe_trusted_token_issuer(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DescribeTrustedTokenIssuerRequest,
) -> Result<types::DescribeTrustedTokenIssuerResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DescribeTrustedTokenIssuer",
    )))
}

pub fn list_trusted_token_issuers(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListTrustedTokenIssuersRequest,
) -> Result<types::ListTrustedTokenIssuersResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListTrustedTokenIssuers",
    )))
}

pub fn update_trusted_token_issuer(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::UpdateTrustedTokenIssuerRequest,
) -> Result<types::UpdateTrustedTokenIssuerResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "UpdateTrustedTokenIssuer",
    )))
}
