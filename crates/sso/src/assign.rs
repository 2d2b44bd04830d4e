//! (stub)

use crate::model::AdminCtx;
use cairn_api::sso_admin::types;
use cairn_core::{Failure, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::ApiError;

pub fn create_account_assignment(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::CreateAccountAssignmentRequest,
) -> Result<types::CreateAccountAssignmentResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "CreateAccountAssignment",
    )))
}

pub fn delete_account_assignment(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DeleteAccountAssignmentRequest,
) -> Result<types::DeleteAccountAssignmentResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DeleteAccountAssignment",
    )))
}

pub fn describe_account_assignment_creation_status(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DescribeAccountAssignmentCreationStatusRequest,
) -> Result<types::DescribeAccountAssignmentCreationStatusResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DescribeAccountAssignmentCreationStatus",
    )))
}

pub fn describe_account_assignment_deletion_status(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DescribeAccountAssignmentDeletionStatusRequest,
) -> Result<types::DescribeAccountAssignmentDeletionStatusResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DescribeAccountAssignmentDeletionStatus",
    )))
}

pub fn describe_permission_set_provisioning_status(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::DescribePermissionSetProvisioningStatusRequest,
) -> Result<types::DescribePermissionSetProvisioningStatusResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "DescribePermissionSetProvisioningStatus",
    )))
}

pub fn list_account_assignment_creation_status(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListAccountAssignmentCreationStatusRequest,
) -> Result<types::ListAccountAssignmentCreationStatusResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListAccountAssignmentCreationStatus",
    )))
}

pub fn list_account_assignment_deletion_status(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListAccountAssignmentDeletionStatusRequest,
) -> Result<types::ListAccountAssignmentDeletionStatusResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListAccountAssignmentDeletionStatus",
    )))
}

pub fn list_account_assignments(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListAccountAssignmentsRequest,
) -> Result<types::ListAccountAssignmentsResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListAccountAssignments",
    )))
}

pub fn list_account_assignments_for_principal(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListAccountAssignmentsForPrincipalRequest,
) -> Result<types::ListAccountAssignmentsForPrincipalResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListAccountAssignmentsForPrincipal",
    )))
}

pub fn list_accounts_for_provisioned_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListAccountsForProvisionedPermissionSetRequest,
) -> Result<types::ListAccountsForProvisionedPermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListAccountsForProvisionedPermissionSet",
    )))
}

pub fn list_permission_set_provisioning_status(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListPermissionSetProvisioningStatusRequest,
) -> Result<types::ListPermissionSetProvisioningStatusResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListPermissionSetProvisioningStatus",
    )))
}

pub fn list_permission_sets_provisioned_to_account(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ListPermissionSetsProvisionedToAccountRequest,
) -> Result<types::ListPermissionSetsProvisionedToAccountResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ListPermissionSetsProvisionedToAccount",
    )))
}

pub fn provision_permission_set(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    _input: &types::ProvisionPermissionSetRequest,
) -> Result<types::ProvisionPermissionSetResponse, Failure> {
    Err(Failure(ApiError::not_implemented(
        "SSO Admin",
        "ProvisionPermissionSet",
    )))
}

pub fn purge(
    _tx: &mut dyn Tx,
    _inst: &crate::model::InstanceRec,
    _budget: &mut usize,
) -> Result<bool, Failure> {
    Ok(true)
}

pub fn remove_principal(
    _tx: &mut dyn Tx,
    _inst: &crate::model::InstanceRec,
    _now_ms: i64,
    _principal_type: &str,
    _principal_id: &str,
) -> Result<(), Failure> {
    Ok(())
}
