//! AWS Organizations.
//!
//! The stored shape and the shared primitives are in [`model`] (its doc lists every store
//! space). Each area of the API lives in its own module, and the one `impl Organizations`
//! below delegates to them: `org` (the organization itself), `accounts` (create, move,
//! close, remove, leave), `handshakes` (invitations, all-features), `tree` (OUs),
//! `policies` (policies, attachments, policy types, effective policies), `tags`,
//! `delegation` (trusted access, delegated administrators, the resource policy),
//! `transfers` (responsibility transfers). [`authz`] is what the authorize step reads.

mod accounts;
pub mod authz;
mod delegation;
mod handshakes;
mod hs;
mod mail;
pub mod model;
mod org;
mod policies;
mod tags;
mod transfers;
mod tree;

pub use accounts::CreateAccountJob;
pub use authz::OrgFacts;
pub use delegation::enable_service_access_in;
pub use model::{Org, org_of};

use cairn_api::organizations::{Organizations, types};
use cairn_core::Call;
use cairn_wire::ApiError;

/// What an operator configures about Organizations (read once by the binary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgConfig {
    /// Accounts an organization may hold: AWS's default quota is 10; raise it as one asks
    /// AWS to.
    pub max_accounts: usize,
}

impl Default for OrgConfig {
    fn default() -> Self {
        OrgConfig {
            max_accounts: model::quota::ACCOUNTS_DEFAULT,
        }
    }
}

/// AWS Organizations.
#[derive(Default)]
pub struct OrganizationsService {
    orgs: org::OrgCache,
    config: OrgConfig,
    /// What other services do when trusted access is enabled for them.
    trusted: Vec<std::sync::Arc<dyn cairn_core::TrustedAccess>>,
}

impl std::fmt::Debug for OrganizationsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrganizationsService")
            .field("config", &self.config)
            .field("trusted", &self.trusted.len())
            .finish()
    }
}

impl OrganizationsService {
    pub fn new(config: OrgConfig) -> Self {
        OrganizationsService {
            orgs: org::OrgCache::default(),
            config,
            trusted: Vec::new(),
        }
    }

    /// Adds the services that act when trusted access is enabled for them.
    pub fn with_trusted_access(
        mut self,
        hooks: Vec<std::sync::Arc<dyn cairn_core::TrustedAccess>>,
    ) -> Self {
        self.trusted = hooks;
        self
    }
}

impl Organizations for OrganizationsService {
    type Context = Call;

    // ---- org.rs: add the methods of this module below, keep them sorted.
    async fn create_organization(
        &self,
        ctx: &Call,
        input: types::CreateOrganizationRequest,
    ) -> Result<types::CreateOrganizationResponse, ApiError> {
        org::create_organization(ctx, input).await
    }
    async fn describe_organization(
        &self,
        ctx: &Call,
    ) -> Result<types::DescribeOrganizationResponse, ApiError> {
        org::describe_organization(ctx, &self.orgs).await
    }
    async fn delete_organization(&self, ctx: &Call) -> Result<(), ApiError> {
        org::delete_organization(ctx).await
    }
    async fn list_roots(
        &self,
        ctx: &Call,
        input: types::ListRootsRequest,
    ) -> Result<types::ListRootsResponse, ApiError> {
        org::list_roots(ctx, input).await
    }
    // ---- end org.rs

    // ---- accounts.rs: add the methods of this module below, keep them sorted.
    async fn close_account(
        &self,
        ctx: &Call,
        input: types::CloseAccountRequest,
    ) -> Result<(), ApiError> {
        accounts::close_account(ctx, input).await
    }
    async fn create_account(
        &self,
        ctx: &Call,
        input: types::CreateAccountRequest,
    ) -> Result<types::CreateAccountResponse, ApiError> {
        accounts::create_account(ctx, input).await
    }
    async fn create_gov_cloud_account(
        &self,
        ctx: &Call,
        input: types::CreateGovCloudAccountRequest,
    ) -> Result<types::CreateGovCloudAccountResponse, ApiError> {
        accounts::create_gov_cloud_account(ctx, input).await
    }
    async fn describe_account(
        &self,
        ctx: &Call,
        input: types::DescribeAccountRequest,
    ) -> Result<types::DescribeAccountResponse, ApiError> {
        accounts::describe_account(ctx, input).await
    }
    async fn describe_create_account_status(
        &self,
        ctx: &Call,
        input: types::DescribeCreateAccountStatusRequest,
    ) -> Result<types::DescribeCreateAccountStatusResponse, ApiError> {
        accounts::describe_create_account_status(ctx, input).await
    }
    async fn leave_organization(&self, ctx: &Call) -> Result<(), ApiError> {
        let out = accounts::leave_organization(ctx, &self.trusted).await;
        // Services may have removed roles in the account (Identity Center's).
        ctx.generations().iam.bump();
        out
    }
    async fn list_accounts(
        &self,
        ctx: &Call,
        input: types::ListAccountsRequest,
    ) -> Result<types::ListAccountsResponse, ApiError> {
        accounts::list_accounts(ctx, input).await
    }
    async fn list_accounts_for_parent(
        &self,
        ctx: &Call,
        input: types::ListAccountsForParentRequest,
    ) -> Result<types::ListAccountsForParentResponse, ApiError> {
        accounts::list_accounts_for_parent(ctx, input).await
    }
    async fn list_create_account_status(
        &self,
        ctx: &Call,
        input: types::ListCreateAccountStatusRequest,
    ) -> Result<types::ListCreateAccountStatusResponse, ApiError> {
        accounts::list_create_account_status(ctx, input).await
    }
    async fn move_account(
        &self,
        ctx: &Call,
        input: types::MoveAccountRequest,
    ) -> Result<(), ApiError> {
        accounts::move_account(ctx, input).await
    }
    async fn remove_account_from_organization(
        &self,
        ctx: &Call,
        input: types::RemoveAccountFromOrganizationRequest,
    ) -> Result<(), ApiError> {
        let out = accounts::remove_account_from_organization(ctx, input, &self.trusted).await;
        ctx.generations().iam.bump();
        out
    }
    // ---- end accounts.rs

    // ---- handshakes.rs: add the methods of this module below, keep them sorted.
    async fn accept_handshake(
        &self,
        ctx: &Call,
        input: types::AcceptHandshakeRequest,
    ) -> Result<types::AcceptHandshakeResponse, ApiError> {
        handshakes::accept_handshake(ctx, input, self.config.max_accounts).await
    }
    async fn cancel_handshake(
        &self,
        ctx: &Call,
        input: types::CancelHandshakeRequest,
    ) -> Result<types::CancelHandshakeResponse, ApiError> {
        handshakes::cancel_handshake(ctx, input).await
    }
    async fn decline_handshake(
        &self,
        ctx: &Call,
        input: types::DeclineHandshakeRequest,
    ) -> Result<types::DeclineHandshakeResponse, ApiError> {
        handshakes::decline_handshake(ctx, input).await
    }
    async fn describe_handshake(
        &self,
        ctx: &Call,
        input: types::DescribeHandshakeRequest,
    ) -> Result<types::DescribeHandshakeResponse, ApiError> {
        handshakes::describe_handshake(ctx, input).await
    }
    async fn enable_all_features(
        &self,
        ctx: &Call,
        input: types::EnableAllFeaturesRequest,
    ) -> Result<types::EnableAllFeaturesResponse, ApiError> {
        handshakes::enable_all_features(ctx, input).await
    }
    async fn invite_account_to_organization(
        &self,
        ctx: &Call,
        input: types::InviteAccountToOrganizationRequest,
    ) -> Result<types::InviteAccountToOrganizationResponse, ApiError> {
        handshakes::invite_account_to_organization(ctx, input, self.config.max_accounts).await
    }
    async fn list_handshakes_for_account(
        &self,
        ctx: &Call,
        input: types::ListHandshakesForAccountRequest,
    ) -> Result<types::ListHandshakesForAccountResponse, ApiError> {
        handshakes::list_handshakes_for_account(ctx, input).await
    }
    async fn list_handshakes_for_organization(
        &self,
        ctx: &Call,
        input: types::ListHandshakesForOrganizationRequest,
    ) -> Result<types::ListHandshakesForOrganizationResponse, ApiError> {
        handshakes::list_handshakes_for_organization(ctx, input).await
    }
    // ---- end handshakes.rs

    // ---- tree.rs: add the methods of this module below, keep them sorted.
    async fn create_organizational_unit(
        &self,
        ctx: &Call,
        input: types::CreateOrganizationalUnitRequest,
    ) -> Result<types::CreateOrganizationalUnitResponse, ApiError> {
        tree::create_organizational_unit(ctx, input).await
    }
    async fn delete_organizational_unit(
        &self,
        ctx: &Call,
        input: types::DeleteOrganizationalUnitRequest,
    ) -> Result<(), ApiError> {
        tree::delete_organizational_unit(ctx, input).await
    }
    async fn describe_organizational_unit(
        &self,
        ctx: &Call,
        input: types::DescribeOrganizationalUnitRequest,
    ) -> Result<types::DescribeOrganizationalUnitResponse, ApiError> {
        tree::describe_organizational_unit(ctx, input).await
    }
    async fn list_children(
        &self,
        ctx: &Call,
        input: types::ListChildrenRequest,
    ) -> Result<types::ListChildrenResponse, ApiError> {
        tree::list_children(ctx, input).await
    }
    async fn list_organizational_units_for_parent(
        &self,
        ctx: &Call,
        input: types::ListOrganizationalUnitsForParentRequest,
    ) -> Result<types::ListOrganizationalUnitsForParentResponse, ApiError> {
        tree::list_organizational_units_for_parent(ctx, input).await
    }
    async fn list_parents(
        &self,
        ctx: &Call,
        input: types::ListParentsRequest,
    ) -> Result<types::ListParentsResponse, ApiError> {
        tree::list_parents(ctx, input).await
    }
    async fn update_organizational_unit(
        &self,
        ctx: &Call,
        input: types::UpdateOrganizationalUnitRequest,
    ) -> Result<types::UpdateOrganizationalUnitResponse, ApiError> {
        tree::update_organizational_unit(ctx, input).await
    }
    // ---- end tree.rs

    // ---- policies.rs: add the methods of this module below, keep them sorted.
    async fn attach_policy(
        &self,
        ctx: &Call,
        input: types::AttachPolicyRequest,
    ) -> Result<(), ApiError> {
        policies::attach_policy(ctx, input).await
    }
    async fn create_policy(
        &self,
        ctx: &Call,
        input: types::CreatePolicyRequest,
    ) -> Result<types::CreatePolicyResponse, ApiError> {
        policies::create_policy(ctx, input).await
    }
    async fn delete_policy(
        &self,
        ctx: &Call,
        input: types::DeletePolicyRequest,
    ) -> Result<(), ApiError> {
        policies::delete_policy(ctx, input).await
    }
    async fn describe_effective_policy(
        &self,
        ctx: &Call,
        input: types::DescribeEffectivePolicyRequest,
    ) -> Result<types::DescribeEffectivePolicyResponse, ApiError> {
        policies::describe_effective_policy(ctx, input).await
    }
    async fn describe_policy(
        &self,
        ctx: &Call,
        input: types::DescribePolicyRequest,
    ) -> Result<types::DescribePolicyResponse, ApiError> {
        policies::describe_policy(ctx, input).await
    }
    async fn detach_policy(
        &self,
        ctx: &Call,
        input: types::DetachPolicyRequest,
    ) -> Result<(), ApiError> {
        policies::detach_policy(ctx, input).await
    }
    async fn disable_policy_type(
        &self,
        ctx: &Call,
        input: types::DisablePolicyTypeRequest,
    ) -> Result<types::DisablePolicyTypeResponse, ApiError> {
        policies::disable_policy_type(ctx, input).await
    }
    async fn enable_policy_type(
        &self,
        ctx: &Call,
        input: types::EnablePolicyTypeRequest,
    ) -> Result<types::EnablePolicyTypeResponse, ApiError> {
        policies::enable_policy_type(ctx, input).await
    }
    async fn list_accounts_with_invalid_effective_policy(
        &self,
        ctx: &Call,
        input: types::ListAccountsWithInvalidEffectivePolicyRequest,
    ) -> Result<types::ListAccountsWithInvalidEffectivePolicyResponse, ApiError> {
        policies::list_accounts_with_invalid_effective_policy(ctx, input).await
    }
    async fn list_effective_policy_validation_errors(
        &self,
        ctx: &Call,
        input: types::ListEffectivePolicyValidationErrorsRequest,
    ) -> Result<types::ListEffectivePolicyValidationErrorsResponse, ApiError> {
        policies::list_effective_policy_validation_errors(ctx, input).await
    }
    async fn list_policies(
        &self,
        ctx: &Call,
        input: types::ListPoliciesRequest,
    ) -> Result<types::ListPoliciesResponse, ApiError> {
        policies::list_policies(ctx, input).await
    }
    async fn list_policies_for_target(
        &self,
        ctx: &Call,
        input: types::ListPoliciesForTargetRequest,
    ) -> Result<types::ListPoliciesForTargetResponse, ApiError> {
        policies::list_policies_for_target(ctx, input).await
    }
    async fn list_targets_for_policy(
        &self,
        ctx: &Call,
        input: types::ListTargetsForPolicyRequest,
    ) -> Result<types::ListTargetsForPolicyResponse, ApiError> {
        policies::list_targets_for_policy(ctx, input).await
    }
    async fn update_policy(
        &self,
        ctx: &Call,
        input: types::UpdatePolicyRequest,
    ) -> Result<types::UpdatePolicyResponse, ApiError> {
        policies::update_policy(ctx, input).await
    }
    // ---- end policies.rs

    // ---- tags.rs: add the methods of this module below, keep them sorted.
    async fn list_tags_for_resource(
        &self,
        ctx: &Call,
        input: types::ListTagsForResourceRequest,
    ) -> Result<types::ListTagsForResourceResponse, ApiError> {
        tags::list_tags_for_resource(ctx, input).await
    }
    async fn tag_resource(
        &self,
        ctx: &Call,
        input: types::TagResourceRequest,
    ) -> Result<(), ApiError> {
        tags::tag_resource(ctx, input).await
    }
    async fn untag_resource(
        &self,
        ctx: &Call,
        input: types::UntagResourceRequest,
    ) -> Result<(), ApiError> {
        tags::untag_resource(ctx, input).await
    }
    // ---- end tags.rs

    // ---- delegation.rs: add the methods of this module below, keep them sorted.
    async fn delete_resource_policy(&self, ctx: &Call) -> Result<(), ApiError> {
        delegation::delete_resource_policy(ctx).await
    }
    async fn deregister_delegated_administrator(
        &self,
        ctx: &Call,
        input: types::DeregisterDelegatedAdministratorRequest,
    ) -> Result<(), ApiError> {
        delegation::deregister_delegated_administrator(ctx, input).await
    }
    async fn describe_resource_policy(
        &self,
        ctx: &Call,
    ) -> Result<types::DescribeResourcePolicyResponse, ApiError> {
        delegation::describe_resource_policy(ctx).await
    }
    async fn disable_aws_service_access(
        &self,
        ctx: &Call,
        input: types::DisableAWSServiceAccessRequest,
    ) -> Result<(), ApiError> {
        delegation::disable_aws_service_access(ctx, input).await
    }
    async fn enable_aws_service_access(
        &self,
        ctx: &Call,
        input: types::EnableAWSServiceAccessRequest,
    ) -> Result<(), ApiError> {
        delegation::enable_aws_service_access(ctx, input, &self.trusted).await
    }
    async fn list_aws_service_access_for_organization(
        &self,
        ctx: &Call,
        input: types::ListAWSServiceAccessForOrganizationRequest,
    ) -> Result<types::ListAWSServiceAccessForOrganizationResponse, ApiError> {
        delegation::list_aws_service_access_for_organization(ctx, input).await
    }
    async fn list_delegated_administrators(
        &self,
        ctx: &Call,
        input: types::ListDelegatedAdministratorsRequest,
    ) -> Result<types::ListDelegatedAdministratorsResponse, ApiError> {
        delegation::list_delegated_administrators(ctx, input).await
    }
    async fn list_delegated_services_for_account(
        &self,
        ctx: &Call,
        input: types::ListDelegatedServicesForAccountRequest,
    ) -> Result<types::ListDelegatedServicesForAccountResponse, ApiError> {
        delegation::list_delegated_services_for_account(ctx, input).await
    }
    async fn put_resource_policy(
        &self,
        ctx: &Call,
        input: types::PutResourcePolicyRequest,
    ) -> Result<types::PutResourcePolicyResponse, ApiError> {
        delegation::put_resource_policy(ctx, input).await
    }
    async fn register_delegated_administrator(
        &self,
        ctx: &Call,
        input: types::RegisterDelegatedAdministratorRequest,
    ) -> Result<(), ApiError> {
        delegation::register_delegated_administrator(ctx, input).await
    }
    // ---- end delegation.rs

    // ---- transfers.rs: add the methods of this module below, keep them sorted.
    async fn describe_responsibility_transfer(
        &self,
        ctx: &Call,
        input: types::DescribeResponsibilityTransferRequest,
    ) -> Result<types::DescribeResponsibilityTransferResponse, ApiError> {
        transfers::describe_responsibility_transfer(ctx, input).await
    }
    async fn invite_organization_to_transfer_responsibility(
        &self,
        ctx: &Call,
        input: types::InviteOrganizationToTransferResponsibilityRequest,
    ) -> Result<types::InviteOrganizationToTransferResponsibilityResponse, ApiError> {
        transfers::invite_organization_to_transfer_responsibility(ctx, input).await
    }
    async fn list_inbound_responsibility_transfers(
        &self,
        ctx: &Call,
        input: types::ListInboundResponsibilityTransfersRequest,
    ) -> Result<types::ListInboundResponsibilityTransfersResponse, ApiError> {
        transfers::list_inbound_responsibility_transfers(ctx, input).await
    }
    async fn list_outbound_responsibility_transfers(
        &self,
        ctx: &Call,
        input: types::ListOutboundResponsibilityTransfersRequest,
    ) -> Result<types::ListOutboundResponsibilityTransfersResponse, ApiError> {
        transfers::list_outbound_responsibility_transfers(ctx, input).await
    }
    async fn terminate_responsibility_transfer(
        &self,
        ctx: &Call,
        input: types::TerminateResponsibilityTransferRequest,
    ) -> Result<types::TerminateResponsibilityTransferResponse, ApiError> {
        transfers::terminate_responsibility_transfer(ctx, input).await
    }
    async fn update_responsibility_transfer(
        &self,
        ctx: &Call,
        input: types::UpdateResponsibilityTransferRequest,
    ) -> Result<types::UpdateResponsibilityTransferResponse, ApiError> {
        transfers::update_responsibility_transfer(ctx, input).await
    }
    // ---- end transfers.rs
}
