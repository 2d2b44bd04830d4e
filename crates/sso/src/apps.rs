//! (stub)

use crate::model::AdminCtx;
use cairn_api::sso_admin::types;
use cairn_core::{Failure, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::ApiError;

pub fn create_application(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::CreateApplicationRequest,
) -> Result<types::CreateApplicationResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "CreateApplication",
    )))
}

pub fn create_application_assignment(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::CreateApplicationAssignmentRequest,
) -> Result<types::CreateApplicationAssignmentResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "CreateApplicationAssignment",
    )))
}

pub fn delete_application(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DeleteApplicationRequest,
) -> Result<types::DeleteApplicationResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DeleteApplication",
    )))
}

pub fn delete_application_access_scope(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DeleteApplicationAccessScopeRequest,
) -> Result<(), Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DeleteApplicationAccessScope",
    )))
}

pub fn delete_application_assignment(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DeleteApplicationAssignmentRequest,
) -> Result<types::DeleteApplicationAssignmentResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DeleteApplicationAssignment",
    )))
}

pub fn delete_application_authentication_method(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DeleteApplicationAuthenticationMethodRequest,
) -> Result<(), Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DeleteApplicationAuthenticationMethod",
    )))
}

pub fn delete_application_grant(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DeleteApplicationGrantRequest,
) -> Result<(), Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DeleteApplicationGrant",
    )))
}

pub fn describe_application(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DescribeApplicationRequest,
) -> Result<types::DescribeApplicationResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DescribeApplication",
    )))
}

pub fn describe_application_assignment(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DescribeApplicationAssignmentRequest,
) -> Result<types::DescribeApplicationAssignmentResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DescribeApplicationAssignment",
    )))
}

pub fn describe_application_provider(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DescribeApplicationProviderRequest,
) -> Result<types::DescribeApplicationProviderResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DescribeApplicationProvider",
    )))
}

pub fn get_application_access_scope(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::GetApplicationAccessScopeRequest,
) -> Result<types::GetApplicationAccessScopeResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "GetApplicationAccessScope",
    )))
}

pub fn get_application_assignment_configuration(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::GetApplicationAssignmentConfigurationRequest,
) -> Result<types::GetApplicationAssignmentConfigurationResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "GetApplicationAssignmentConfiguration",
    )))
}

pub fn get_application_authentication_method(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::GetApplicationAuthenticationMethodRequest,
) -> Result<types::GetApplicationAuthenticationMethodResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "GetApplicationAuthenticationMethod",
    )))
}

pub fn get_application_grant(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::GetApplicationGrantRequest,
) -> Result<types::GetApplicationGrantResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "GetApplicationGrant",
    )))
}

pub fn get_application_session_configuration(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::GetApplicationSessionConfigurationRequest,
) -> Result<types::GetApplicationSessionConfigurationResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "GetApplicationSessionConfiguration",
    )))
}

pub fn list_application_access_scopes(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListApplicationAccessScopesRequest,
) -> Result<types::ListApplicationAccessScopesResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListApplicationAccessScopes",
    )))
}

pub fn list_application_assignments(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListApplicationAssignmentsRequest,
) -> Result<types::ListApplicationAssignmentsResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListApplicationAssignments",
    )))
}

pub fn list_application_assignments_for_principal(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListApplicationAssignmentsForPrincipalRequest,
) -> Result<types::ListApplicationAssignmentsForPrincipalResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListApplicationAssignmentsForPrincipal",
    )))
}

pub fn list_application_authentication_methods(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListApplicationAuthenticationMethodsRequest,
) -> Result<types::ListApplicationAuthenticationMethodsResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListApplicationAuthenticationMethods",
    )))
}

pub fn list_application_grants(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListApplicationGrantsRequest,
) -> Result<types::ListApplicationGrantsResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListApplicationGrants",
    )))
}

pub fn list_application_providers(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListApplicationProvidersRequest,
) -> Result<types::ListApplicationProvidersResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListApplicationProviders",
    )))
}

pub fn list_applications(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListApplicationsRequest,
) -> Result<types::ListApplicationsResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListApplications",
    )))
}

pub fn put_application_access_scope(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::PutApplicationAccessScopeRequest,
) -> Result<(), Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "PutApplicationAccessScope",
    )))
}

pub fn put_application_assignment_configuration(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::PutApplicationAssignmentConfigurationRequest,
) -> Result<types::PutApplicationAssignmentConfigurationResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "PutApplicationAssignmentConfiguration",
    )))
}

pub fn put_application_authentication_method(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::PutApplicationAuthenticationMethodRequest,
) -> Result<(), Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "PutApplicationAuthenticationMethod",
    )))
}

pub fn put_application_grant(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::PutApplicationGrantRequest,
) -> Result<(), Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "PutApplicationGrant",
    )))
}

pub fn put_application_session_configuration(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::PutApplicationSessionConfigurationRequest,
) -> Result<types::PutApplicationSessionConfigurationResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "PutApplicationSessionConfiguration",
    )))
}

pub fn update_application(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::UpdateApplicationRequest,
) -> Result<types::UpdateApplicationResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "UpdateApplication",
    )))
}

// ------------------------------------------------------------------ hooks other modules call

/// The tags of the application or trusted token issuer `arn` names, when `account` may
/// administer it; `None` when the ARN names neither (the caller then answers as for an
/// unknown resource).
pub fn resource_tags(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _account: &str,
    _arn: &str,
) -> Result<Option<Vec<(String, String)>>, Failure> {
    Ok(None)
}

/// Replaces the tags of the application or trusted token issuer `arn` names; `None` when
/// the ARN names neither.
pub fn set_resource_tags(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _account: &str,
    _arn: &str,
    _tags: &[(String, String)],
) -> Result<Option<()>, Failure> {
    Ok(None)
}

/// Removes what `inst` holds in applications, trusted token issuers, access-control
/// attributes and regions, within `budget` rows (each row removed takes one); `true` when
/// nothing is left.
pub fn purge(
    _tx: &mut dyn Tx,
    _inst: &crate::model::InstanceRec,
    _budget: &mut usize,
) -> Result<bool, Failure> {
    Ok(true)
}

/// A user or group of `inst`'s directory was deleted: removes its application assignments.
/// `principal_type` is `USER` or `GROUP`.
pub fn remove_principal(
    _tx: &mut dyn Tx,
    _inst: &crate::model::InstanceRec,
    _principal_type: &str,
    _principal_id: &str,
) -> Result<(), Failure> {
    Ok(())
}
