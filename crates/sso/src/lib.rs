//! IAM Identity Center: instances (the organization's, enabled with trusted access, and
//! account instances), the identity store — users, groups, memberships (`identitystore`) —
//! and the administration API (`sso-admin`).
//!
//! [`model`] holds the instance record and what the modules share (its doc lists the store
//! spaces); `directory` is the identity store, `instance` the instance lifecycle and the
//! trusted-access hook ([`SsoTrustedAccess`]), `jobs` the asynchronous work (`sso.task`).
//! Facts behind the behaviour, with their sources: `notes/identitystore-facts.md`,
//! `notes/sso-admin-facts.md`.

pub mod abac;
mod admin;
pub(crate) mod apps;
pub mod assign;
pub mod authn;
pub mod directory;
mod facts;
pub mod instance;
pub mod jobs;
pub mod mfa;
pub mod model;
pub mod oidc;
pub mod oidc_iam;
pub mod permsets;
pub mod portal;
mod regions;
pub mod signin;
mod tags;
mod tti;

pub use facts::SsoFacts;
pub use instance::SsoTrustedAccess;
pub use jobs::SsoJob;
pub use portal::{OidcService, PortalService};

use cairn_api::identitystore::{IdentityStore, types as ids_types};
use cairn_api::sso_admin::{SsoAdmin, types as admin_types};
use cairn_core::{Call, Failure, Ids, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::ApiError;
use directory::Ctx;
use serde::Serialize;
use std::sync::Arc;

fn dir_ctx(call: &Call, portal_url: Option<&str>) -> Ctx {
    Ctx {
        account: call.account_id().to_owned(),
        caller_arn: call.principal().arn(),
        now_ms: call.now_ms(),
        portal_url: portal_url.map(str::to_owned),
    }
}

/// The `identitystore` API.
pub struct IdentityStoreService {
    orgs: Arc<dyn ResourceFacts>,
    portal_url: Option<String>,
}

impl IdentityStoreService {
    /// `orgs` answers who is a delegated administrator (Organizations' facts).
    pub fn new(orgs: Arc<dyn ResourceFacts>) -> Self {
        IdentityStoreService {
            orgs,
            portal_url: None,
        }
    }

    /// Users created with an email are invited to set their password at the access portal
    /// under `url` (`--public-url`).
    pub fn with_portal_url(mut self, url: &str) -> Self {
        self.portal_url = Some(url.trim_end_matches('/').to_owned());
        self
    }

    async fn write<R, F>(&self, call: &Call, f: F) -> Result<R, ApiError>
    where
        R: Serialize + Send + 'static,
        F: Fn(&mut dyn Tx, &dyn ResourceFacts, &dyn Ids, &Ctx) -> Result<R, Failure>
            + Send
            + 'static,
    {
        let c = dir_ctx(call, self.portal_url.as_deref());
        let orgs = Arc::clone(&self.orgs);
        let ids = call.ids_arc();
        call.write(move |tx| f(tx, orgs.as_ref(), ids.as_ref(), &c))
            .await
    }

    async fn read<R, F>(&self, call: &Call, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Tx, &dyn ResourceFacts, &Ctx) -> Result<R, Failure> + Send + 'static,
    {
        let c = dir_ctx(call, self.portal_url.as_deref());
        let orgs = Arc::clone(&self.orgs);
        call.read(move |tx| f(tx, orgs.as_ref(), &c)).await
    }
}

impl IdentityStore for IdentityStoreService {
    type Context = Call;

    async fn create_group(
        &self,
        ctx: &Call,
        input: ids_types::CreateGroupRequest,
    ) -> Result<ids_types::CreateGroupResponse, ApiError> {
        self.write(ctx, move |tx, o, ids, c| {
            directory::create_group(tx, o, ids, c, &input)
        })
        .await
    }

    async fn create_group_membership(
        &self,
        ctx: &Call,
        input: ids_types::CreateGroupMembershipRequest,
    ) -> Result<ids_types::CreateGroupMembershipResponse, ApiError> {
        self.write(ctx, move |tx, o, ids, c| {
            directory::create_group_membership(tx, o, ids, c, &input)
        })
        .await
    }

    async fn create_user(
        &self,
        ctx: &Call,
        input: ids_types::CreateUserRequest,
    ) -> Result<ids_types::CreateUserResponse, ApiError> {
        self.write(ctx, move |tx, o, ids, c| {
            directory::create_user(tx, o, ids, c, &input)
        })
        .await
    }

    async fn delete_group(
        &self,
        ctx: &Call,
        input: ids_types::DeleteGroupRequest,
    ) -> Result<ids_types::DeleteGroupResponse, ApiError> {
        let out = self
            .write(ctx, move |tx, o, _, c| {
                directory::delete_group(tx, o, c, &input)
            })
            .await;
        // Its account assignments, and roles where they were the last, went with it.
        ctx.generations().iam.bump();
        out
    }

    async fn delete_group_membership(
        &self,
        ctx: &Call,
        input: ids_types::DeleteGroupMembershipRequest,
    ) -> Result<ids_types::DeleteGroupMembershipResponse, ApiError> {
        self.write(ctx, move |tx, o, _, c| {
            directory::delete_group_membership(tx, o, c, &input)
        })
        .await
    }

    async fn delete_user(
        &self,
        ctx: &Call,
        input: ids_types::DeleteUserRequest,
    ) -> Result<ids_types::DeleteUserResponse, ApiError> {
        let out = self
            .write(ctx, move |tx, o, _, c| {
                directory::delete_user(tx, o, c, &input)
            })
            .await;
        // Its account assignments, and roles where they were the last, went with it.
        ctx.generations().iam.bump();
        out
    }

    async fn describe_group(
        &self,
        ctx: &Call,
        input: ids_types::DescribeGroupRequest,
    ) -> Result<ids_types::DescribeGroupResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            directory::describe_group(tx, o, c, &input)
        })
        .await
    }

    async fn describe_group_membership(
        &self,
        ctx: &Call,
        input: ids_types::DescribeGroupMembershipRequest,
    ) -> Result<ids_types::DescribeGroupMembershipResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            directory::describe_group_membership(tx, o, c, &input)
        })
        .await
    }

    async fn describe_identity_store(
        &self,
        ctx: &Call,
        input: ids_types::DescribeIdentityStoreRequest,
    ) -> Result<ids_types::DescribeIdentityStoreResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            directory::describe_identity_store(tx, o, c, &input)
        })
        .await
    }

    async fn describe_user(
        &self,
        ctx: &Call,
        input: ids_types::DescribeUserRequest,
    ) -> Result<ids_types::DescribeUserResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            directory::describe_user(tx, o, c, &input)
        })
        .await
    }

    async fn get_group_id(
        &self,
        ctx: &Call,
        input: ids_types::GetGroupIdRequest,
    ) -> Result<ids_types::GetGroupIdResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            directory::get_group_id(tx, o, c, &input)
        })
        .await
    }

    async fn get_group_membership_id(
        &self,
        ctx: &Call,
        input: ids_types::GetGroupMembershipIdRequest,
    ) -> Result<ids_types::GetGroupMembershipIdResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            directory::get_group_membership_id(tx, o, c, &input)
        })
        .await
    }

    async fn get_user_id(
        &self,
        ctx: &Call,
        input: ids_types::GetUserIdRequest,
    ) -> Result<ids_types::GetUserIdResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            directory::get_user_id(tx, o, c, &input)
        })
        .await
    }

    async fn is_member_in_groups(
        &self,
        ctx: &Call,
        input: ids_types::IsMemberInGroupsRequest,
    ) -> Result<ids_types::IsMemberInGroupsResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            directory::is_member_in_groups(tx, o, c, &input)
        })
        .await
    }

    async fn list_group_memberships(
        &self,
        ctx: &Call,
        input: ids_types::ListGroupMembershipsRequest,
    ) -> Result<ids_types::ListGroupMembershipsResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            directory::list_group_memberships(tx, o, c, &input)
        })
        .await
    }

    async fn list_group_memberships_for_member(
        &self,
        ctx: &Call,
        input: ids_types::ListGroupMembershipsForMemberRequest,
    ) -> Result<ids_types::ListGroupMembershipsForMemberResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            directory::list_group_memberships_for_member(tx, o, c, &input)
        })
        .await
    }

    async fn list_groups(
        &self,
        ctx: &Call,
        input: ids_types::ListGroupsRequest,
    ) -> Result<ids_types::ListGroupsResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            directory::list_groups(tx, o, c, &input)
        })
        .await
    }

    async fn list_identity_stores(
        &self,
        ctx: &Call,
        input: ids_types::ListIdentityStoresRequest,
    ) -> Result<ids_types::ListIdentityStoresResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            directory::list_identity_stores(tx, o, c, &input)
        })
        .await
    }

    async fn list_users(
        &self,
        ctx: &Call,
        input: ids_types::ListUsersRequest,
    ) -> Result<ids_types::ListUsersResponse, ApiError> {
        self.read(ctx, move |tx, o, c| directory::list_users(tx, o, c, &input))
            .await
    }

    async fn update_group(
        &self,
        ctx: &Call,
        input: ids_types::UpdateGroupRequest,
    ) -> Result<ids_types::UpdateGroupResponse, ApiError> {
        self.write(ctx, move |tx, o, _, c| {
            directory::update_group(tx, o, c, &input)
        })
        .await
    }

    async fn update_identity_store(
        &self,
        ctx: &Call,
        input: ids_types::UpdateIdentityStoreRequest,
    ) -> Result<ids_types::UpdateIdentityStoreResponse, ApiError> {
        self.write(ctx, move |tx, o, _, c| {
            directory::update_identity_store(tx, o, c, &input)
        })
        .await
    }

    async fn update_user(
        &self,
        ctx: &Call,
        input: ids_types::UpdateUserRequest,
    ) -> Result<ids_types::UpdateUserResponse, ApiError> {
        self.write(ctx, move |tx, o, _, c| {
            directory::update_user(tx, o, c, &input)
        })
        .await
    }
}

/// The `sso-admin` API.
pub struct SsoAdminService {
    orgs: Arc<dyn ResourceFacts>,
}

impl SsoAdminService {
    pub fn new(orgs: Arc<dyn ResourceFacts>) -> Self {
        SsoAdminService { orgs }
    }

    fn ctx(call: &Call) -> model::AdminCtx {
        model::AdminCtx {
            account: call.account_id().to_owned(),
            caller_arn: call.principal().arn(),
            now_ms: call.now_ms(),
            region: call.info().region.clone(),
            request_id: call.request_id().to_owned(),
            ids: call.ids_arc(),
        }
    }

    async fn write<R, F>(&self, call: &Call, f: F) -> Result<R, ApiError>
    where
        R: Serialize + Send + 'static,
        F: Fn(&mut dyn Tx, &dyn ResourceFacts, &model::AdminCtx) -> Result<R, Failure>
            + Send
            + 'static,
    {
        let c = Self::ctx(call);
        let orgs = Arc::clone(&self.orgs);
        call.write(move |tx| f(tx, orgs.as_ref(), &c)).await
    }

    async fn read<R, F>(&self, call: &Call, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Tx, &dyn ResourceFacts, &model::AdminCtx) -> Result<R, Failure>
            + Send
            + 'static,
    {
        let c = Self::ctx(call);
        let orgs = Arc::clone(&self.orgs);
        call.read(move |tx| f(tx, orgs.as_ref(), &c)).await
    }
}

impl SsoAdmin for SsoAdminService {
    type Context = Call;

    async fn create_instance(
        &self,
        ctx: &Call,
        input: admin_types::CreateInstanceRequest,
    ) -> Result<admin_types::CreateInstanceResponse, ApiError> {
        let account = ctx.account_id().to_owned();
        let region = ctx.info().region.clone();
        let now = ctx.now_ms();
        let ids = ctx.ids_arc();
        let out = ctx
            .write(move |tx| {
                instance::create_instance(tx, ids.as_ref(), now, &account, &region, &input)
            })
            .await?;
        ctx.kick_jobs();
        Ok(out)
    }

    async fn delete_instance(
        &self,
        ctx: &Call,
        input: admin_types::DeleteInstanceRequest,
    ) -> Result<admin_types::DeleteInstanceResponse, ApiError> {
        let account = ctx.account_id().to_owned();
        let now = ctx.now_ms();
        let orgs = Arc::clone(&self.orgs);
        let out = ctx
            .write(move |tx| instance::delete_instance(tx, orgs.as_ref(), now, &account, &input))
            .await?;
        ctx.kick_jobs();
        Ok(out)
    }

    async fn describe_instance(
        &self,
        ctx: &Call,
        input: admin_types::DescribeInstanceRequest,
    ) -> Result<admin_types::DescribeInstanceResponse, ApiError> {
        let account = ctx.account_id().to_owned();
        let orgs = Arc::clone(&self.orgs);
        ctx.read(move |tx| instance::describe_instance(tx, orgs.as_ref(), &account, &input))
            .await
    }

    async fn list_instances(
        &self,
        ctx: &Call,
        input: admin_types::ListInstancesRequest,
    ) -> Result<admin_types::ListInstancesResponse, ApiError> {
        let account = ctx.account_id().to_owned();
        let orgs = Arc::clone(&self.orgs);
        ctx.read(move |tx| instance::list_instances(tx, orgs.as_ref(), &account, &input))
            .await
    }

    async fn update_instance(
        &self,
        ctx: &Call,
        input: admin_types::UpdateInstanceRequest,
    ) -> Result<admin_types::UpdateInstanceResponse, ApiError> {
        let account = ctx.account_id().to_owned();
        let orgs = Arc::clone(&self.orgs);
        ctx.write(move |tx| instance::update_instance(tx, orgs.as_ref(), &account, &input))
            .await
    }

    async fn tag_resource(
        &self,
        ctx: &Call,
        input: admin_types::TagResourceRequest,
    ) -> Result<admin_types::TagResourceResponse, ApiError> {
        let account = ctx.account_id().to_owned();
        let orgs = Arc::clone(&self.orgs);
        ctx.write(move |tx| instance::tag_resource(tx, orgs.as_ref(), &account, &input))
            .await
    }

    async fn untag_resource(
        &self,
        ctx: &Call,
        input: admin_types::UntagResourceRequest,
    ) -> Result<admin_types::UntagResourceResponse, ApiError> {
        let account = ctx.account_id().to_owned();
        let orgs = Arc::clone(&self.orgs);
        ctx.write(move |tx| instance::untag_resource(tx, orgs.as_ref(), &account, &input))
            .await
    }

    async fn list_tags_for_resource(
        &self,
        ctx: &Call,
        input: admin_types::ListTagsForResourceRequest,
    ) -> Result<admin_types::ListTagsForResourceResponse, ApiError> {
        let account = ctx.account_id().to_owned();
        let orgs = Arc::clone(&self.orgs);
        ctx.read(move |tx| instance::list_tags_for_resource(tx, orgs.as_ref(), &account, &input))
            .await
    }

    async fn add_region(
        &self,
        ctx: &Call,
        input: admin_types::AddRegionRequest,
    ) -> Result<admin_types::AddRegionResponse, ApiError> {
        self.write(ctx, move |tx, o, c| regions::add_region(tx, o, c, &input))
            .await
    }

    async fn attach_customer_managed_policy_reference_to_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::AttachCustomerManagedPolicyReferenceToPermissionSetRequest,
    ) -> Result<admin_types::AttachCustomerManagedPolicyReferenceToPermissionSetResponse, ApiError>
    {
        self.write(ctx, move |tx, o, c| {
            permsets::attach_customer_managed_policy_reference_to_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn attach_managed_policy_to_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::AttachManagedPolicyToPermissionSetRequest,
    ) -> Result<admin_types::AttachManagedPolicyToPermissionSetResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            permsets::attach_managed_policy_to_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn create_account_assignment(
        &self,
        ctx: &Call,
        input: admin_types::CreateAccountAssignmentRequest,
    ) -> Result<admin_types::CreateAccountAssignmentResponse, ApiError> {
        let out = self
            .write(ctx, move |tx, o, c| {
                assign::create_account_assignment(tx, o, c, &input)
            })
            .await?;
        ctx.kick_jobs();
        Ok(out)
    }

    async fn create_application(
        &self,
        ctx: &Call,
        input: admin_types::CreateApplicationRequest,
    ) -> Result<admin_types::CreateApplicationResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            apps::create_application(tx, o, c, &input)
        })
        .await
    }

    async fn create_application_assignment(
        &self,
        ctx: &Call,
        input: admin_types::CreateApplicationAssignmentRequest,
    ) -> Result<admin_types::CreateApplicationAssignmentResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            apps::create_application_assignment(tx, o, c, &input)
        })
        .await
    }

    async fn create_instance_access_control_attribute_configuration(
        &self,
        ctx: &Call,
        input: admin_types::CreateInstanceAccessControlAttributeConfigurationRequest,
    ) -> Result<admin_types::CreateInstanceAccessControlAttributeConfigurationResponse, ApiError>
    {
        self.write(ctx, move |tx, o, c| {
            abac::create_instance_access_control_attribute_configuration(tx, o, c, &input)
        })
        .await
    }

    async fn create_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::CreatePermissionSetRequest,
    ) -> Result<admin_types::CreatePermissionSetResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            permsets::create_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn create_trusted_token_issuer(
        &self,
        ctx: &Call,
        input: admin_types::CreateTrustedTokenIssuerRequest,
    ) -> Result<admin_types::CreateTrustedTokenIssuerResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            tti::create_trusted_token_issuer(tx, o, c, &input)
        })
        .await
    }

    async fn delete_account_assignment(
        &self,
        ctx: &Call,
        input: admin_types::DeleteAccountAssignmentRequest,
    ) -> Result<admin_types::DeleteAccountAssignmentResponse, ApiError> {
        let out = self
            .write(ctx, move |tx, o, c| {
                assign::delete_account_assignment(tx, o, c, &input)
            })
            .await?;
        ctx.kick_jobs();
        Ok(out)
    }

    async fn delete_application(
        &self,
        ctx: &Call,
        input: admin_types::DeleteApplicationRequest,
    ) -> Result<admin_types::DeleteApplicationResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            apps::delete_application(tx, o, c, &input)
        })
        .await
    }

    async fn delete_application_access_scope(
        &self,
        ctx: &Call,
        input: admin_types::DeleteApplicationAccessScopeRequest,
    ) -> Result<(), ApiError> {
        self.write(ctx, move |tx, o, c| {
            apps::delete_application_access_scope(tx, o, c, &input)
        })
        .await
    }

    async fn delete_application_assignment(
        &self,
        ctx: &Call,
        input: admin_types::DeleteApplicationAssignmentRequest,
    ) -> Result<admin_types::DeleteApplicationAssignmentResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            apps::delete_application_assignment(tx, o, c, &input)
        })
        .await
    }

    async fn delete_application_authentication_method(
        &self,
        ctx: &Call,
        input: admin_types::DeleteApplicationAuthenticationMethodRequest,
    ) -> Result<(), ApiError> {
        self.write(ctx, move |tx, o, c| {
            apps::delete_application_authentication_method(tx, o, c, &input)
        })
        .await
    }

    async fn delete_application_grant(
        &self,
        ctx: &Call,
        input: admin_types::DeleteApplicationGrantRequest,
    ) -> Result<(), ApiError> {
        self.write(ctx, move |tx, o, c| {
            apps::delete_application_grant(tx, o, c, &input)
        })
        .await
    }

    async fn delete_inline_policy_from_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::DeleteInlinePolicyFromPermissionSetRequest,
    ) -> Result<admin_types::DeleteInlinePolicyFromPermissionSetResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            permsets::delete_inline_policy_from_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn delete_instance_access_control_attribute_configuration(
        &self,
        ctx: &Call,
        input: admin_types::DeleteInstanceAccessControlAttributeConfigurationRequest,
    ) -> Result<admin_types::DeleteInstanceAccessControlAttributeConfigurationResponse, ApiError>
    {
        self.write(ctx, move |tx, o, c| {
            abac::delete_instance_access_control_attribute_configuration(tx, o, c, &input)
        })
        .await
    }

    async fn delete_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::DeletePermissionSetRequest,
    ) -> Result<admin_types::DeletePermissionSetResponse, ApiError> {
        let out = self
            .write(ctx, move |tx, o, c| {
                permsets::delete_permission_set(tx, o, c, &input)
            })
            .await?;
        ctx.kick_jobs();
        Ok(out)
    }

    async fn delete_permissions_boundary_from_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::DeletePermissionsBoundaryFromPermissionSetRequest,
    ) -> Result<admin_types::DeletePermissionsBoundaryFromPermissionSetResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            permsets::delete_permissions_boundary_from_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn delete_trusted_token_issuer(
        &self,
        ctx: &Call,
        input: admin_types::DeleteTrustedTokenIssuerRequest,
    ) -> Result<admin_types::DeleteTrustedTokenIssuerResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            tti::delete_trusted_token_issuer(tx, o, c, &input)
        })
        .await
    }

    async fn describe_account_assignment_creation_status(
        &self,
        ctx: &Call,
        input: admin_types::DescribeAccountAssignmentCreationStatusRequest,
    ) -> Result<admin_types::DescribeAccountAssignmentCreationStatusResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            assign::describe_account_assignment_creation_status(tx, o, c, &input)
        })
        .await
    }

    async fn describe_account_assignment_deletion_status(
        &self,
        ctx: &Call,
        input: admin_types::DescribeAccountAssignmentDeletionStatusRequest,
    ) -> Result<admin_types::DescribeAccountAssignmentDeletionStatusResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            assign::describe_account_assignment_deletion_status(tx, o, c, &input)
        })
        .await
    }

    async fn describe_application(
        &self,
        ctx: &Call,
        input: admin_types::DescribeApplicationRequest,
    ) -> Result<admin_types::DescribeApplicationResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::describe_application(tx, o, c, &input)
        })
        .await
    }

    async fn describe_application_assignment(
        &self,
        ctx: &Call,
        input: admin_types::DescribeApplicationAssignmentRequest,
    ) -> Result<admin_types::DescribeApplicationAssignmentResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::describe_application_assignment(tx, o, c, &input)
        })
        .await
    }

    async fn describe_application_provider(
        &self,
        ctx: &Call,
        input: admin_types::DescribeApplicationProviderRequest,
    ) -> Result<admin_types::DescribeApplicationProviderResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::describe_application_provider(tx, o, c, &input)
        })
        .await
    }

    async fn describe_instance_access_control_attribute_configuration(
        &self,
        ctx: &Call,
        input: admin_types::DescribeInstanceAccessControlAttributeConfigurationRequest,
    ) -> Result<admin_types::DescribeInstanceAccessControlAttributeConfigurationResponse, ApiError>
    {
        self.read(ctx, move |tx, o, c| {
            abac::describe_instance_access_control_attribute_configuration(tx, o, c, &input)
        })
        .await
    }

    async fn describe_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::DescribePermissionSetRequest,
    ) -> Result<admin_types::DescribePermissionSetResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            permsets::describe_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn describe_permission_set_provisioning_status(
        &self,
        ctx: &Call,
        input: admin_types::DescribePermissionSetProvisioningStatusRequest,
    ) -> Result<admin_types::DescribePermissionSetProvisioningStatusResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            assign::describe_permission_set_provisioning_status(tx, o, c, &input)
        })
        .await
    }

    async fn describe_region(
        &self,
        ctx: &Call,
        input: admin_types::DescribeRegionRequest,
    ) -> Result<admin_types::DescribeRegionResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            regions::describe_region(tx, o, c, &input)
        })
        .await
    }

    async fn describe_trusted_token_issuer(
        &self,
        ctx: &Call,
        input: admin_types::DescribeTrustedTokenIssuerRequest,
    ) -> Result<admin_types::DescribeTrustedTokenIssuerResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            tti::describe_trusted_token_issuer(tx, o, c, &input)
        })
        .await
    }

    async fn detach_customer_managed_policy_reference_from_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::DetachCustomerManagedPolicyReferenceFromPermissionSetRequest,
    ) -> Result<admin_types::DetachCustomerManagedPolicyReferenceFromPermissionSetResponse, ApiError>
    {
        self.write(ctx, move |tx, o, c| {
            permsets::detach_customer_managed_policy_reference_from_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn detach_managed_policy_from_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::DetachManagedPolicyFromPermissionSetRequest,
    ) -> Result<admin_types::DetachManagedPolicyFromPermissionSetResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            permsets::detach_managed_policy_from_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn get_application_access_scope(
        &self,
        ctx: &Call,
        input: admin_types::GetApplicationAccessScopeRequest,
    ) -> Result<admin_types::GetApplicationAccessScopeResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::get_application_access_scope(tx, o, c, &input)
        })
        .await
    }

    async fn get_application_assignment_configuration(
        &self,
        ctx: &Call,
        input: admin_types::GetApplicationAssignmentConfigurationRequest,
    ) -> Result<admin_types::GetApplicationAssignmentConfigurationResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::get_application_assignment_configuration(tx, o, c, &input)
        })
        .await
    }

    async fn get_application_authentication_method(
        &self,
        ctx: &Call,
        input: admin_types::GetApplicationAuthenticationMethodRequest,
    ) -> Result<admin_types::GetApplicationAuthenticationMethodResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::get_application_authentication_method(tx, o, c, &input)
        })
        .await
    }

    async fn get_application_grant(
        &self,
        ctx: &Call,
        input: admin_types::GetApplicationGrantRequest,
    ) -> Result<admin_types::GetApplicationGrantResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::get_application_grant(tx, o, c, &input)
        })
        .await
    }

    async fn get_application_session_configuration(
        &self,
        ctx: &Call,
        input: admin_types::GetApplicationSessionConfigurationRequest,
    ) -> Result<admin_types::GetApplicationSessionConfigurationResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::get_application_session_configuration(tx, o, c, &input)
        })
        .await
    }

    async fn get_inline_policy_for_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::GetInlinePolicyForPermissionSetRequest,
    ) -> Result<admin_types::GetInlinePolicyForPermissionSetResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            permsets::get_inline_policy_for_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn get_permissions_boundary_for_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::GetPermissionsBoundaryForPermissionSetRequest,
    ) -> Result<admin_types::GetPermissionsBoundaryForPermissionSetResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            permsets::get_permissions_boundary_for_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn list_account_assignment_creation_status(
        &self,
        ctx: &Call,
        input: admin_types::ListAccountAssignmentCreationStatusRequest,
    ) -> Result<admin_types::ListAccountAssignmentCreationStatusResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            assign::list_account_assignment_creation_status(tx, o, c, &input)
        })
        .await
    }

    async fn list_account_assignment_deletion_status(
        &self,
        ctx: &Call,
        input: admin_types::ListAccountAssignmentDeletionStatusRequest,
    ) -> Result<admin_types::ListAccountAssignmentDeletionStatusResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            assign::list_account_assignment_deletion_status(tx, o, c, &input)
        })
        .await
    }

    async fn list_account_assignments(
        &self,
        ctx: &Call,
        input: admin_types::ListAccountAssignmentsRequest,
    ) -> Result<admin_types::ListAccountAssignmentsResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            assign::list_account_assignments(tx, o, c, &input)
        })
        .await
    }

    async fn list_account_assignments_for_principal(
        &self,
        ctx: &Call,
        input: admin_types::ListAccountAssignmentsForPrincipalRequest,
    ) -> Result<admin_types::ListAccountAssignmentsForPrincipalResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            assign::list_account_assignments_for_principal(tx, o, c, &input)
        })
        .await
    }

    async fn list_accounts_for_provisioned_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::ListAccountsForProvisionedPermissionSetRequest,
    ) -> Result<admin_types::ListAccountsForProvisionedPermissionSetResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            assign::list_accounts_for_provisioned_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn list_application_access_scopes(
        &self,
        ctx: &Call,
        input: admin_types::ListApplicationAccessScopesRequest,
    ) -> Result<admin_types::ListApplicationAccessScopesResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::list_application_access_scopes(tx, o, c, &input)
        })
        .await
    }

    async fn list_application_assignments(
        &self,
        ctx: &Call,
        input: admin_types::ListApplicationAssignmentsRequest,
    ) -> Result<admin_types::ListApplicationAssignmentsResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::list_application_assignments(tx, o, c, &input)
        })
        .await
    }

    async fn list_application_assignments_for_principal(
        &self,
        ctx: &Call,
        input: admin_types::ListApplicationAssignmentsForPrincipalRequest,
    ) -> Result<admin_types::ListApplicationAssignmentsForPrincipalResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::list_application_assignments_for_principal(tx, o, c, &input)
        })
        .await
    }

    async fn list_application_authentication_methods(
        &self,
        ctx: &Call,
        input: admin_types::ListApplicationAuthenticationMethodsRequest,
    ) -> Result<admin_types::ListApplicationAuthenticationMethodsResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::list_application_authentication_methods(tx, o, c, &input)
        })
        .await
    }

    async fn list_application_grants(
        &self,
        ctx: &Call,
        input: admin_types::ListApplicationGrantsRequest,
    ) -> Result<admin_types::ListApplicationGrantsResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::list_application_grants(tx, o, c, &input)
        })
        .await
    }

    async fn list_application_providers(
        &self,
        ctx: &Call,
        input: admin_types::ListApplicationProvidersRequest,
    ) -> Result<admin_types::ListApplicationProvidersResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::list_application_providers(tx, o, c, &input)
        })
        .await
    }

    async fn list_applications(
        &self,
        ctx: &Call,
        input: admin_types::ListApplicationsRequest,
    ) -> Result<admin_types::ListApplicationsResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            apps::list_applications(tx, o, c, &input)
        })
        .await
    }

    async fn list_customer_managed_policy_references_in_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::ListCustomerManagedPolicyReferencesInPermissionSetRequest,
    ) -> Result<admin_types::ListCustomerManagedPolicyReferencesInPermissionSetResponse, ApiError>
    {
        self.read(ctx, move |tx, o, c| {
            permsets::list_customer_managed_policy_references_in_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn list_managed_policies_in_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::ListManagedPoliciesInPermissionSetRequest,
    ) -> Result<admin_types::ListManagedPoliciesInPermissionSetResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            permsets::list_managed_policies_in_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn list_permission_set_provisioning_status(
        &self,
        ctx: &Call,
        input: admin_types::ListPermissionSetProvisioningStatusRequest,
    ) -> Result<admin_types::ListPermissionSetProvisioningStatusResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            assign::list_permission_set_provisioning_status(tx, o, c, &input)
        })
        .await
    }

    async fn list_permission_sets(
        &self,
        ctx: &Call,
        input: admin_types::ListPermissionSetsRequest,
    ) -> Result<admin_types::ListPermissionSetsResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            permsets::list_permission_sets(tx, o, c, &input)
        })
        .await
    }

    async fn list_permission_sets_provisioned_to_account(
        &self,
        ctx: &Call,
        input: admin_types::ListPermissionSetsProvisionedToAccountRequest,
    ) -> Result<admin_types::ListPermissionSetsProvisionedToAccountResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            assign::list_permission_sets_provisioned_to_account(tx, o, c, &input)
        })
        .await
    }

    async fn list_regions(
        &self,
        ctx: &Call,
        input: admin_types::ListRegionsRequest,
    ) -> Result<admin_types::ListRegionsResponse, ApiError> {
        self.read(ctx, move |tx, o, c| regions::list_regions(tx, o, c, &input))
            .await
    }

    async fn list_trusted_token_issuers(
        &self,
        ctx: &Call,
        input: admin_types::ListTrustedTokenIssuersRequest,
    ) -> Result<admin_types::ListTrustedTokenIssuersResponse, ApiError> {
        self.read(ctx, move |tx, o, c| {
            tti::list_trusted_token_issuers(tx, o, c, &input)
        })
        .await
    }

    async fn provision_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::ProvisionPermissionSetRequest,
    ) -> Result<admin_types::ProvisionPermissionSetResponse, ApiError> {
        let out = self
            .write(ctx, move |tx, o, c| {
                assign::provision_permission_set(tx, o, c, &input)
            })
            .await?;
        ctx.kick_jobs();
        Ok(out)
    }

    async fn put_application_access_scope(
        &self,
        ctx: &Call,
        input: admin_types::PutApplicationAccessScopeRequest,
    ) -> Result<(), ApiError> {
        self.write(ctx, move |tx, o, c| {
            apps::put_application_access_scope(tx, o, c, &input)
        })
        .await
    }

    async fn put_application_assignment_configuration(
        &self,
        ctx: &Call,
        input: admin_types::PutApplicationAssignmentConfigurationRequest,
    ) -> Result<admin_types::PutApplicationAssignmentConfigurationResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            apps::put_application_assignment_configuration(tx, o, c, &input)
        })
        .await
    }

    async fn put_application_authentication_method(
        &self,
        ctx: &Call,
        input: admin_types::PutApplicationAuthenticationMethodRequest,
    ) -> Result<(), ApiError> {
        self.write(ctx, move |tx, o, c| {
            apps::put_application_authentication_method(tx, o, c, &input)
        })
        .await
    }

    async fn put_application_grant(
        &self,
        ctx: &Call,
        input: admin_types::PutApplicationGrantRequest,
    ) -> Result<(), ApiError> {
        self.write(ctx, move |tx, o, c| {
            apps::put_application_grant(tx, o, c, &input)
        })
        .await
    }

    async fn put_application_session_configuration(
        &self,
        ctx: &Call,
        input: admin_types::PutApplicationSessionConfigurationRequest,
    ) -> Result<admin_types::PutApplicationSessionConfigurationResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            apps::put_application_session_configuration(tx, o, c, &input)
        })
        .await
    }

    async fn put_inline_policy_to_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::PutInlinePolicyToPermissionSetRequest,
    ) -> Result<admin_types::PutInlinePolicyToPermissionSetResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            permsets::put_inline_policy_to_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn put_permissions_boundary_to_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::PutPermissionsBoundaryToPermissionSetRequest,
    ) -> Result<admin_types::PutPermissionsBoundaryToPermissionSetResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            permsets::put_permissions_boundary_to_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn remove_region(
        &self,
        ctx: &Call,
        input: admin_types::RemoveRegionRequest,
    ) -> Result<admin_types::RemoveRegionResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            regions::remove_region(tx, o, c, &input)
        })
        .await
    }

    async fn update_application(
        &self,
        ctx: &Call,
        input: admin_types::UpdateApplicationRequest,
    ) -> Result<admin_types::UpdateApplicationResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            apps::update_application(tx, o, c, &input)
        })
        .await
    }

    async fn update_instance_access_control_attribute_configuration(
        &self,
        ctx: &Call,
        input: admin_types::UpdateInstanceAccessControlAttributeConfigurationRequest,
    ) -> Result<admin_types::UpdateInstanceAccessControlAttributeConfigurationResponse, ApiError>
    {
        self.write(ctx, move |tx, o, c| {
            abac::update_instance_access_control_attribute_configuration(tx, o, c, &input)
        })
        .await
    }

    async fn update_permission_set(
        &self,
        ctx: &Call,
        input: admin_types::UpdatePermissionSetRequest,
    ) -> Result<admin_types::UpdatePermissionSetResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            permsets::update_permission_set(tx, o, c, &input)
        })
        .await
    }

    async fn update_trusted_token_issuer(
        &self,
        ctx: &Call,
        input: admin_types::UpdateTrustedTokenIssuerRequest,
    ) -> Result<admin_types::UpdateTrustedTokenIssuerResponse, ApiError> {
        self.write(ctx, move |tx, o, c| {
            tti::update_trusted_token_issuer(tx, o, c, &input)
        })
        .await
    }
}
