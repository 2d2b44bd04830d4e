//! (stub)

use crate::model::AdminCtx;
use cairn_api::sso_admin::types;
use cairn_core::{Failure, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::ApiError;

pub fn add_region(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::AddRegionRequest,
) -> Result<types::AddRegionResponse, Failure> {
    Err(Failure(ApiError::not_implemented("SSO Admin", "AddRegion")))
}

pub fn describe_region(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DescribeRegionRequest,
) -> Result<types::DescribeRegionResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DescribeRegion",
    )))
}

pub fn list_regions(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListRegionsRequest,
) -> Result<types::ListRegionsResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListRegions",
    )))
}

pub fn remove_region(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::RemoveRegionRequest,
) -> Result<types::RemoveRegionResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "RemoveRegion",
    )))
}
