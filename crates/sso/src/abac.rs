//! (stub)

use crate::model::AdminCtx;
use cairn_api::sso_admin::types;
use cairn_core::{Failure, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::ApiError;

pub fn create_instance_access_control_attribute_configuration(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::CreateInstanceAccessControlAttributeConfigurationRequest,
) -> Result<types::CreateInstanceAccessControlAttributeConfigurationResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "CreateInstanceAccessControlAttributeConfiguration",
    )))
}

pub fn delete_instance_access_control_attribute_configuration(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DeleteInstanceAccessControlAttributeConfigurationRequest,
) -> Result<types::DeleteInstanceAccessControlAttributeConfigurationResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DeleteInstanceAccessControlAttributeConfiguration",
    )))
}

pub fn describe_instance_access_control_attribute_configuration(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DescribeInstanceAccessControlAttributeConfigurationRequest,
) -> Result<types::DescribeInstanceAccessControlAttributeConfigurationResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DescribeInstanceAccessControlAttributeConfiguration",
    )))
}

pub fn update_instance_access_control_attribute_configuration(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::UpdateInstanceAccessControlAttributeConfigurationRequest,
) -> Result<types::UpdateInstanceAccessControlAttributeConfigurationResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "UpdateInstanceAccessControlAttributeConfiguration",
    )))
}
