//! (stub)

use crate::model::AdminCtx;
use cairn_api::sso_admin::types;
use cairn_core::{Failure, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::ApiError;

pub fn attach_customer_managed_policy_reference_to_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::AttachCustomerManagedPolicyReferenceToPermissionSetRequest,
) -> Result<types::AttachCustomerManagedPolicyReferenceToPermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
    )))
}

pub fn attach_managed_policy_to_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::AttachManagedPolicyToPermissionSetRequest,
) -> Result<types::AttachManagedPolicyToPermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "AttachManagedPolicyToPermissionSet",
    )))
}

pub fn create_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::CreatePermissionSetRequest,
) -> Result<types::CreatePermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "CreatePermissionSet",
    )))
}

pub fn delete_inline_policy_from_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DeleteInlinePolicyFromPermissionSetRequest,
) -> Result<types::DeleteInlinePolicyFromPermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DeleteInlinePolicyFromPermissionSet",
    )))
}

pub fn delete_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DeletePermissionSetRequest,
) -> Result<types::DeletePermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DeletePermissionSet",
    )))
}

pub fn delete_permissions_boundary_from_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DeletePermissionsBoundaryFromPermissionSetRequest,
) -> Result<types::DeletePermissionsBoundaryFromPermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DeletePermissionsBoundaryFromPermissionSet",
    )))
}

pub fn describe_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DescribePermissionSetRequest,
) -> Result<types::DescribePermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DescribePermissionSet",
    )))
}

pub fn detach_customer_managed_policy_reference_from_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DetachCustomerManagedPolicyReferenceFromPermissionSetRequest,
) -> Result<types::DetachCustomerManagedPolicyReferenceFromPermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DetachCustomerManagedPolicyReferenceFromPermissionSet",
    )))
}

pub fn detach_managed_policy_from_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DetachManagedPolicyFromPermissionSetRequest,
) -> Result<types::DetachManagedPolicyFromPermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DetachManagedPolicyFromPermissionSet",
    )))
}

pub fn get_inline_policy_for_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::GetInlinePolicyForPermissionSetRequest,
) -> Result<types::GetInlinePolicyForPermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "GetInlinePolicyForPermissionSet",
    )))
}

pub fn get_permissions_boundary_for_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::GetPermissionsBoundaryForPermissionSetRequest,
) -> Result<types::GetPermissionsBoundaryForPermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "GetPermissionsBoundaryForPermissionSet",
    )))
}

pub fn list_customer_managed_policy_references_in_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListCustomerManagedPolicyReferencesInPermissionSetRequest,
) -> Result<types::ListCustomerManagedPolicyReferencesInPermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListCustomerManagedPolicyReferencesInPermissionSet",
    )))
}

pub fn list_managed_policies_in_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListManagedPoliciesInPermissionSetRequest,
) -> Result<types::ListManagedPoliciesInPermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListManagedPoliciesInPermissionSet",
    )))
}

pub fn list_permission_sets(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListPermissionSetsRequest,
) -> Result<types::ListPermissionSetsResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListPermissionSets",
    )))
}

pub fn put_inline_policy_to_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::PutInlinePolicyToPermissionSetRequest,
) -> Result<types::PutInlinePolicyToPermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "PutInlinePolicyToPermissionSet",
    )))
}

pub fn put_permissions_boundary_to_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::PutPermissionsBoundaryToPermissionSetRequest,
) -> Result<types::PutPermissionsBoundaryToPermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "PutPermissionsBoundaryToPermissionSet",
    )))
}

pub fn update_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::UpdatePermissionSetRequest,
) -> Result<types::UpdatePermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "UpdatePermissionSet",
    )))
}

pub fn resource_tags(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _account: &str,
    _arn: &str,
) -> Result<Option<Vec<(String, String)>>, Failure> {
    Ok(None)
}

pub fn set_resource_tags(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _account: &str,
    _arn: &str,
    _tags: &[(String, String)],
) -> Result<Option<()>, Failure> {
    Ok(None)
}

pub fn purge(
    _tx: &mut dyn Tx,
    _inst: &crate::model::InstanceRec,
    _budget: &mut usize,
) -> Result<bool, Failure> {
    Ok(true)
}
