//! The IAM API handlers: each runs its logic (in the entity modules) inside one store
//! transaction; mutations bump the IAM [`generation`](crate::authz::generation) once committed.

use crate::common::Ctx;
use crate::records::EntityKind;
use crate::seal::Sealer;
use crate::{
    account_settings, authorization_details, certificates, credential_report, delegation, groups,
    instance_profiles, keys, last_accessed, login, mfa, org_report, policies, providers, roles,
    root_access, saml_providers, service_credentials, service_linked, ssh_keys, summary, templates,
    users,
};
use cairn_api::iam::{Iam, types};
use cairn_core::Call;
use cairn_wire::ApiError;

/// AWS Identity and Access Management: users, groups, roles, inline and managed policies,
/// access keys.
#[derive(Debug, Default)]
pub struct IamService {
    sealer: Option<Sealer>,
    /// Where clients reach this server (`--public-url`): outbound federation's issuers.
    public_url: String,
    /// Organizations, for centralized root access ([`crate::root_access`]).
    orgs: crate::Orgs,
}

impl IamService {
    /// A service that seals new secret access keys with `sealer` (the master key's). Without
    /// one ([`Default`], for tests of other services) `CreateAccessKey` fails.
    pub fn with_sealer(sealer: Sealer) -> Self {
        Self {
            sealer: Some(sealer),
            public_url: String::new(),
            orgs: crate::Orgs::default(),
        }
    }

    /// The URL clients reach this server at, without a trailing `/`.
    #[must_use]
    pub fn with_public_url(mut self, url: &str) -> Self {
        url.trim_end_matches('/').clone_into(&mut self.public_url);
        self
    }

    /// Asks Organizations through `orgs` (centralized root access).
    pub fn with_orgs(mut self, orgs: crate::Orgs) -> Self {
        self.orgs = orgs;
        self
    }

    fn sealer(&self) -> Option<Sealer> {
        self.sealer.clone()
    }
}

/// A mutation: the logic runs in a write transaction (with the call's CloudTrail record);
/// the IAM generation moves once it committed.
macro_rules! mutate {
    ($call:expr, $input:expr, |$tx:ident, $c:ident, $i:ident| $body:expr) => {{
        let $c = Ctx::of($call);
        let $i = $input;
        let out = $call.write(move |$tx| $body).await?;
        $call.generations().iam.bump();
        Ok(out)
    }};
}

/// A read: the logic runs on a read-only snapshot.
macro_rules! query {
    ($call:expr, $input:expr, |$tx:ident, $c:ident, $i:ident| $body:expr) => {{
        let $c = Ctx::of($call);
        let $i = $input;
        $call.read(move |$tx| $body).await
    }};
}

/// A centralized-root-access feature change: a mutation whose answer is the organization and
/// its features.
macro_rules! feature_change {
    ($self:ident, $call:expr, $change:expr, $resp:ident) => {{
        let orgs = $self.orgs.clone();
        let account = $call.account_id().to_owned();
        let (org, list) = $call
            .write(move |tx| root_access::change(&orgs, tx, &account, $change))
            .await?;
        $call.generations().iam.bump();
        Ok(types::$resp {
            organization_id: Some(org),
            enabled_features: Some(list),
        })
    }};
}

impl Iam for IamService {
    type Context = Call;

    async fn list_organizations_features(
        &self,
        ctx: &Call,
        _input: types::ListOrganizationsFeaturesRequest,
    ) -> Result<types::ListOrganizationsFeaturesResponse, ApiError> {
        let orgs = self.orgs.clone();
        let account = ctx.account_id().to_owned();
        let (org, list) = ctx
            .read(move |tx| root_access::list(&orgs, tx, &account))
            .await?;
        Ok(types::ListOrganizationsFeaturesResponse {
            organization_id: Some(org),
            enabled_features: Some(list),
        })
    }

    async fn enable_organizations_root_credentials_management(
        &self,
        ctx: &Call,
        _input: types::EnableOrganizationsRootCredentialsManagementRequest,
    ) -> Result<types::EnableOrganizationsRootCredentialsManagementResponse, ApiError> {
        feature_change!(
            self,
            ctx,
            root_access::Change::CredentialsManagement(true),
            EnableOrganizationsRootCredentialsManagementResponse
        )
    }

    async fn disable_organizations_root_credentials_management(
        &self,
        ctx: &Call,
        _input: types::DisableOrganizationsRootCredentialsManagementRequest,
    ) -> Result<types::DisableOrganizationsRootCredentialsManagementResponse, ApiError> {
        feature_change!(
            self,
            ctx,
            root_access::Change::CredentialsManagement(false),
            DisableOrganizationsRootCredentialsManagementResponse
        )
    }

    async fn enable_organizations_root_sessions(
        &self,
        ctx: &Call,
        _input: types::EnableOrganizationsRootSessionsRequest,
    ) -> Result<types::EnableOrganizationsRootSessionsResponse, ApiError> {
        feature_change!(
            self,
            ctx,
            root_access::Change::RootSessions(true),
            EnableOrganizationsRootSessionsResponse
        )
    }

    async fn disable_organizations_root_sessions(
        &self,
        ctx: &Call,
        _input: types::DisableOrganizationsRootSessionsRequest,
    ) -> Result<types::DisableOrganizationsRootSessionsResponse, ApiError> {
        feature_change!(
            self,
            ctx,
            root_access::Change::RootSessions(false),
            DisableOrganizationsRootSessionsResponse
        )
    }

    async fn create_user(
        &self,
        ctx: &Call,
        input: types::CreateUserRequest,
    ) -> Result<types::CreateUserResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| users::create_user(
            tx, &c, &input_
        ))
    }

    async fn get_user(
        &self,
        ctx: &Call,
        input: types::GetUserRequest,
    ) -> Result<types::GetUserResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| users::get_user(tx, &c, &input_))
    }

    async fn list_users(
        &self,
        ctx: &Call,
        input: types::ListUsersRequest,
    ) -> Result<types::ListUsersResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| users::list_users(
            tx, &c, &input_
        ))
    }

    async fn update_user(
        &self,
        ctx: &Call,
        input: types::UpdateUserRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| users::update_user(
            tx, &c, &input_
        ))
    }

    async fn delete_user(
        &self,
        ctx: &Call,
        input: types::DeleteUserRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| users::delete_user(
            tx,
            &c,
            &input_.user_name
        ))
    }

    async fn tag_user(&self, ctx: &Call, input: types::TagUserRequest) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| users::tag_user(
            tx,
            &c,
            &input_.user_name,
            &input_.tags
        ))
    }

    async fn untag_user(&self, ctx: &Call, input: types::UntagUserRequest) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| users::untag_user(
            tx,
            &c,
            &input_.user_name,
            &input_.tag_keys
        ))
    }

    async fn list_user_tags(
        &self,
        ctx: &Call,
        input: types::ListUserTagsRequest,
    ) -> Result<types::ListUserTagsResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| users::list_user_tags(
            tx, &c, &input_
        ))
    }

    async fn put_user_permissions_boundary(
        &self,
        ctx: &Call,
        input: types::PutUserPermissionsBoundaryRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| users::set_user_boundary(
            tx,
            &c,
            &input_.user_name,
            Some(&input_.permissions_boundary)
        ))
    }

    async fn delete_user_permissions_boundary(
        &self,
        ctx: &Call,
        input: types::DeleteUserPermissionsBoundaryRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| users::set_user_boundary(
            tx,
            &c,
            &input_.user_name,
            None
        ))
    }

    async fn create_group(
        &self,
        ctx: &Call,
        input: types::CreateGroupRequest,
    ) -> Result<types::CreateGroupResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| groups::create_group(
            tx, &c, &input_
        ))
    }

    async fn get_group(
        &self,
        ctx: &Call,
        input: types::GetGroupRequest,
    ) -> Result<types::GetGroupResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| groups::get_group(
            tx, &c, &input_
        ))
    }

    async fn list_groups(
        &self,
        ctx: &Call,
        input: types::ListGroupsRequest,
    ) -> Result<types::ListGroupsResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| groups::list_groups(
            tx, &c, &input_
        ))
    }

    async fn update_group(
        &self,
        ctx: &Call,
        input: types::UpdateGroupRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| groups::update_group(
            tx, &c, &input_
        ))
    }

    async fn delete_group(
        &self,
        ctx: &Call,
        input: types::DeleteGroupRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| groups::delete_group(
            tx,
            &c,
            &input_.group_name
        ))
    }

    async fn add_user_to_group(
        &self,
        ctx: &Call,
        input: types::AddUserToGroupRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| groups::add_user_to_group(
            tx,
            &c,
            &input_.group_name,
            &input_.user_name
        ))
    }

    async fn remove_user_from_group(
        &self,
        ctx: &Call,
        input: types::RemoveUserFromGroupRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| groups::remove_user_from_group(
            tx,
            &c,
            &input_.group_name,
            &input_.user_name
        ))
    }

    async fn list_groups_for_user(
        &self,
        ctx: &Call,
        input: types::ListGroupsForUserRequest,
    ) -> Result<types::ListGroupsForUserResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| groups::list_groups_for_user(
            tx, &c, &input_
        ))
    }

    async fn create_role(
        &self,
        ctx: &Call,
        input: types::CreateRoleRequest,
    ) -> Result<types::CreateRoleResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| roles::create_role(
            tx, &c, &input_
        ))
    }

    async fn acquire_role(
        &self,
        ctx: &Call,
        input: types::AcquireRoleRequest,
    ) -> Result<types::AcquireRoleResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| templates::acquire_role(
            tx, &c, &input_
        ))
    }

    async fn get_role_template_version(
        &self,
        _ctx: &Call,
        input: types::GetRoleTemplateVersionRequest,
    ) -> Result<types::GetRoleTemplateVersionResponse, ApiError> {
        // AWS's templates are data; no store is read.
        templates::get_role_template_version(&input).map_err(|f| f.0)
    }

    async fn get_human_readable_summary(
        &self,
        ctx: &Call,
        input: types::GetHumanReadableSummaryRequest,
    ) -> Result<types::GetHumanReadableSummaryResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            summary::get_human_readable_summary(tx, &c, &input_)
        })
    }

    async fn get_role(
        &self,
        ctx: &Call,
        input: types::GetRoleRequest,
    ) -> Result<types::GetRoleResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| roles::get_role(
            tx,
            &c,
            &input_.role_name
        ))
    }

    async fn list_roles(
        &self,
        ctx: &Call,
        input: types::ListRolesRequest,
    ) -> Result<types::ListRolesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| roles::list_roles(
            tx, &c, &input_
        ))
    }

    async fn update_role(
        &self,
        ctx: &Call,
        input: types::UpdateRoleRequest,
    ) -> Result<types::UpdateRoleResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| roles::update_role(
            tx, &c, &input_
        ))
    }

    async fn update_role_description(
        &self,
        ctx: &Call,
        input: types::UpdateRoleDescriptionRequest,
    ) -> Result<types::UpdateRoleDescriptionResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| roles::update_role_description(
            tx, &c, &input_
        ))
    }

    async fn update_assume_role_policy(
        &self,
        ctx: &Call,
        input: types::UpdateAssumeRolePolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(
            ctx,
            input,
            |tx, c, input_| roles::update_assume_role_policy(
                tx,
                &c,
                &input_.role_name,
                &input_.policy_document
            )
        )
    }

    async fn delete_role(
        &self,
        ctx: &Call,
        input: types::DeleteRoleRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| roles::delete_role(
            tx,
            &c,
            &input_.role_name
        ))
    }

    async fn tag_role(&self, ctx: &Call, input: types::TagRoleRequest) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| roles::tag_role(
            tx,
            &c,
            &input_.role_name,
            &input_.tags
        ))
    }

    async fn untag_role(&self, ctx: &Call, input: types::UntagRoleRequest) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| roles::untag_role(
            tx,
            &c,
            &input_.role_name,
            &input_.tag_keys
        ))
    }

    async fn list_role_tags(
        &self,
        ctx: &Call,
        input: types::ListRoleTagsRequest,
    ) -> Result<types::ListRoleTagsResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| roles::list_role_tags(
            tx, &c, &input_
        ))
    }

    async fn put_role_permissions_boundary(
        &self,
        ctx: &Call,
        input: types::PutRolePermissionsBoundaryRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| roles::set_role_boundary(
            tx,
            &c,
            &input_.role_name,
            Some(&input_.permissions_boundary)
        ))
    }

    async fn delete_role_permissions_boundary(
        &self,
        ctx: &Call,
        input: types::DeleteRolePermissionsBoundaryRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| roles::set_role_boundary(
            tx,
            &c,
            &input_.role_name,
            None
        ))
    }

    async fn put_user_policy(
        &self,
        ctx: &Call,
        input: types::PutUserPolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::put_inline(
            tx,
            &c,
            EntityKind::User,
            &input_.user_name,
            &input_.policy_name,
            &input_.policy_document
        ))
    }

    async fn get_user_policy(
        &self,
        ctx: &Call,
        input: types::GetUserPolicyRequest,
    ) -> Result<types::GetUserPolicyResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| policies::get_inline(
            tx,
            &c,
            EntityKind::User,
            &input_.user_name,
            &input_.policy_name
        )
        .map(
            |(entity, policy_name, policy_document)| types::GetUserPolicyResponse {
                user_name: entity,
                policy_name,
                policy_document
            }
        ))
    }

    async fn delete_user_policy(
        &self,
        ctx: &Call,
        input: types::DeleteUserPolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::delete_inline(
            tx,
            &c,
            EntityKind::User,
            &input_.user_name,
            &input_.policy_name
        ))
    }

    async fn list_user_policies(
        &self,
        ctx: &Call,
        input: types::ListUserPoliciesRequest,
    ) -> Result<types::ListUserPoliciesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| policies::list_inline(
            tx,
            &c,
            EntityKind::User,
            &input_.user_name,
            input_.marker.as_deref(),
            input_.max_items
        )
        .map(|page| types::ListUserPoliciesResponse {
            is_truncated: page.truncated(),
            marker: page.marker,
            policy_names: page.items
        }))
    }

    async fn attach_user_policy(
        &self,
        ctx: &Call,
        input: types::AttachUserPolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::attach(
            tx,
            &c,
            EntityKind::User,
            &input_.user_name,
            &input_.policy_arn
        ))
    }

    async fn detach_user_policy(
        &self,
        ctx: &Call,
        input: types::DetachUserPolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::detach(
            tx,
            &c,
            EntityKind::User,
            &input_.user_name,
            &input_.policy_arn
        ))
    }

    async fn list_attached_user_policies(
        &self,
        ctx: &Call,
        input: types::ListAttachedUserPoliciesRequest,
    ) -> Result<types::ListAttachedUserPoliciesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| policies::list_attached(
            tx,
            &c,
            EntityKind::User,
            &input_.user_name,
            input_.path_prefix.as_deref(),
            input_.marker.as_deref(),
            input_.max_items
        )
        .map(|page| types::ListAttachedUserPoliciesResponse {
            is_truncated: page.truncated(),
            marker: page.marker,
            attached_policies: Some(page.items)
        }))
    }

    async fn put_group_policy(
        &self,
        ctx: &Call,
        input: types::PutGroupPolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::put_inline(
            tx,
            &c,
            EntityKind::Group,
            &input_.group_name,
            &input_.policy_name,
            &input_.policy_document
        ))
    }

    async fn get_group_policy(
        &self,
        ctx: &Call,
        input: types::GetGroupPolicyRequest,
    ) -> Result<types::GetGroupPolicyResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| policies::get_inline(
            tx,
            &c,
            EntityKind::Group,
            &input_.group_name,
            &input_.policy_name
        )
        .map(
            |(entity, policy_name, policy_document)| types::GetGroupPolicyResponse {
                group_name: entity,
                policy_name,
                policy_document
            }
        ))
    }

    async fn delete_group_policy(
        &self,
        ctx: &Call,
        input: types::DeleteGroupPolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::delete_inline(
            tx,
            &c,
            EntityKind::Group,
            &input_.group_name,
            &input_.policy_name
        ))
    }

    async fn list_group_policies(
        &self,
        ctx: &Call,
        input: types::ListGroupPoliciesRequest,
    ) -> Result<types::ListGroupPoliciesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| policies::list_inline(
            tx,
            &c,
            EntityKind::Group,
            &input_.group_name,
            input_.marker.as_deref(),
            input_.max_items
        )
        .map(|page| types::ListGroupPoliciesResponse {
            is_truncated: page.truncated(),
            marker: page.marker,
            policy_names: page.items
        }))
    }

    async fn attach_group_policy(
        &self,
        ctx: &Call,
        input: types::AttachGroupPolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::attach(
            tx,
            &c,
            EntityKind::Group,
            &input_.group_name,
            &input_.policy_arn
        ))
    }

    async fn detach_group_policy(
        &self,
        ctx: &Call,
        input: types::DetachGroupPolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::detach(
            tx,
            &c,
            EntityKind::Group,
            &input_.group_name,
            &input_.policy_arn
        ))
    }

    async fn list_attached_group_policies(
        &self,
        ctx: &Call,
        input: types::ListAttachedGroupPoliciesRequest,
    ) -> Result<types::ListAttachedGroupPoliciesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| policies::list_attached(
            tx,
            &c,
            EntityKind::Group,
            &input_.group_name,
            input_.path_prefix.as_deref(),
            input_.marker.as_deref(),
            input_.max_items
        )
        .map(|page| types::ListAttachedGroupPoliciesResponse {
            is_truncated: page.truncated(),
            marker: page.marker,
            attached_policies: Some(page.items)
        }))
    }

    async fn put_role_policy(
        &self,
        ctx: &Call,
        input: types::PutRolePolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::put_inline(
            tx,
            &c,
            EntityKind::Role,
            &input_.role_name,
            &input_.policy_name,
            &input_.policy_document
        ))
    }

    async fn get_role_policy(
        &self,
        ctx: &Call,
        input: types::GetRolePolicyRequest,
    ) -> Result<types::GetRolePolicyResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| policies::get_inline(
            tx,
            &c,
            EntityKind::Role,
            &input_.role_name,
            &input_.policy_name
        )
        .map(
            |(entity, policy_name, policy_document)| types::GetRolePolicyResponse {
                role_name: entity,
                policy_name,
                policy_document
            }
        ))
    }

    async fn delete_role_policy(
        &self,
        ctx: &Call,
        input: types::DeleteRolePolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::delete_inline(
            tx,
            &c,
            EntityKind::Role,
            &input_.role_name,
            &input_.policy_name
        ))
    }

    async fn list_role_policies(
        &self,
        ctx: &Call,
        input: types::ListRolePoliciesRequest,
    ) -> Result<types::ListRolePoliciesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| policies::list_inline(
            tx,
            &c,
            EntityKind::Role,
            &input_.role_name,
            input_.marker.as_deref(),
            input_.max_items
        )
        .map(|page| types::ListRolePoliciesResponse {
            is_truncated: page.truncated(),
            marker: page.marker,
            policy_names: page.items
        }))
    }

    async fn attach_role_policy(
        &self,
        ctx: &Call,
        input: types::AttachRolePolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::attach(
            tx,
            &c,
            EntityKind::Role,
            &input_.role_name,
            &input_.policy_arn
        ))
    }

    async fn detach_role_policy(
        &self,
        ctx: &Call,
        input: types::DetachRolePolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::detach(
            tx,
            &c,
            EntityKind::Role,
            &input_.role_name,
            &input_.policy_arn
        ))
    }

    async fn list_attached_role_policies(
        &self,
        ctx: &Call,
        input: types::ListAttachedRolePoliciesRequest,
    ) -> Result<types::ListAttachedRolePoliciesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| policies::list_attached(
            tx,
            &c,
            EntityKind::Role,
            &input_.role_name,
            input_.path_prefix.as_deref(),
            input_.marker.as_deref(),
            input_.max_items
        )
        .map(|page| types::ListAttachedRolePoliciesResponse {
            is_truncated: page.truncated(),
            marker: page.marker,
            attached_policies: Some(page.items)
        }))
    }

    async fn create_policy(
        &self,
        ctx: &Call,
        input: types::CreatePolicyRequest,
    ) -> Result<types::CreatePolicyResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::create_policy(
            tx, &c, &input_
        ))
    }

    async fn get_policy(
        &self,
        ctx: &Call,
        input: types::GetPolicyRequest,
    ) -> Result<types::GetPolicyResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| policies::get_policy(
            tx,
            &c,
            &input_.policy_arn
        ))
    }

    async fn delete_policy(
        &self,
        ctx: &Call,
        input: types::DeletePolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::delete_policy(
            tx,
            &c,
            &input_.policy_arn
        ))
    }

    async fn list_policies(
        &self,
        ctx: &Call,
        input: types::ListPoliciesRequest,
    ) -> Result<types::ListPoliciesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| policies::list_policies(
            tx, &c, &input_
        ))
    }

    async fn create_policy_version(
        &self,
        ctx: &Call,
        input: types::CreatePolicyVersionRequest,
    ) -> Result<types::CreatePolicyVersionResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::create_policy_version(
            tx, &c, &input_
        ))
    }

    async fn get_policy_version(
        &self,
        ctx: &Call,
        input: types::GetPolicyVersionRequest,
    ) -> Result<types::GetPolicyVersionResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| policies::get_policy_version(
            tx,
            &c,
            &input_.policy_arn,
            &input_.version_id
        ))
    }

    async fn list_policy_versions(
        &self,
        ctx: &Call,
        input: types::ListPolicyVersionsRequest,
    ) -> Result<types::ListPolicyVersionsResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| policies::list_policy_versions(
            tx, &c, &input_
        ))
    }

    async fn delete_policy_version(
        &self,
        ctx: &Call,
        input: types::DeletePolicyVersionRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::delete_policy_version(
            tx,
            &c,
            &input_.policy_arn,
            &input_.version_id
        ))
    }

    async fn set_default_policy_version(
        &self,
        ctx: &Call,
        input: types::SetDefaultPolicyVersionRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            policies::set_default_policy_version(tx, &c, &input_.policy_arn, &input_.version_id)
        })
    }

    async fn list_entities_for_policy(
        &self,
        ctx: &Call,
        input: types::ListEntitiesForPolicyRequest,
    ) -> Result<types::ListEntitiesForPolicyResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            policies::list_entities_for_policy(tx, &c, &input_)
        })
    }

    async fn tag_policy(&self, ctx: &Call, input: types::TagPolicyRequest) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::tag_policy(
            tx,
            &c,
            &input_.policy_arn,
            &input_.tags
        ))
    }

    async fn untag_policy(
        &self,
        ctx: &Call,
        input: types::UntagPolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| policies::untag_policy(
            tx,
            &c,
            &input_.policy_arn,
            &input_.tag_keys
        ))
    }

    async fn list_policy_tags(
        &self,
        ctx: &Call,
        input: types::ListPolicyTagsRequest,
    ) -> Result<types::ListPolicyTagsResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| policies::list_policy_tags(
            tx, &c, &input_
        ))
    }

    async fn create_access_key(
        &self,
        ctx: &Call,
        input: types::CreateAccessKeyRequest,
    ) -> Result<types::CreateAccessKeyResponse, ApiError> {
        let sealer = self.sealer();
        mutate!(ctx, input, |tx, c, input_| keys::create_access_key(
            tx,
            &c,
            sealer.as_ref(),
            input_.user_name.as_deref()
        ))
    }

    async fn list_access_keys(
        &self,
        ctx: &Call,
        input: types::ListAccessKeysRequest,
    ) -> Result<types::ListAccessKeysResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| keys::list_access_keys(
            tx, &c, &input_
        ))
    }

    async fn update_access_key(
        &self,
        ctx: &Call,
        input: types::UpdateAccessKeyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| keys::update_access_key(
            tx, &c, &input_
        ))
    }

    async fn delete_access_key(
        &self,
        ctx: &Call,
        input: types::DeleteAccessKeyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| keys::delete_access_key(
            tx, &c, &input_
        ))
    }

    async fn get_access_key_last_used(
        &self,
        ctx: &Call,
        input: types::GetAccessKeyLastUsedRequest,
    ) -> Result<types::GetAccessKeyLastUsedResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| keys::get_access_key_last_used(
            tx,
            &c,
            &input_.access_key_id
        ))
    }

    async fn generate_service_last_accessed_details(
        &self,
        ctx: &Call,
        input: types::GenerateServiceLastAccessedDetailsRequest,
    ) -> Result<types::GenerateServiceLastAccessedDetailsResponse, ApiError> {
        // The job completes in its own transaction; no IAM state changes, so no
        // generation bump.
        let c = Ctx::of(ctx);
        ctx.write(move |tx| last_accessed::generate(tx, &c, &input))
            .await
    }

    async fn generate_organizations_access_report(
        &self,
        ctx: &Call,
        input: types::GenerateOrganizationsAccessReportRequest,
    ) -> Result<types::GenerateOrganizationsAccessReportResponse, ApiError> {
        // Only the report's own records change: no IAM generation bump.
        let c = Ctx::of(ctx);
        let orgs = self.orgs.clone();
        let out = ctx
            .write(move |tx| org_report::generate(&orgs, tx, &c, &input))
            .await?;
        ctx.kick_jobs();
        Ok(out)
    }

    async fn get_organizations_access_report(
        &self,
        ctx: &Call,
        input: types::GetOrganizationsAccessReportRequest,
    ) -> Result<types::GetOrganizationsAccessReportResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| org_report::get(tx, &c, &input_))
    }

    async fn get_service_last_accessed_details(
        &self,
        ctx: &Call,
        input: types::GetServiceLastAccessedDetailsRequest,
    ) -> Result<types::GetServiceLastAccessedDetailsResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| last_accessed::get(
            tx, &c, &input_
        ))
    }

    async fn get_service_last_accessed_details_with_entities(
        &self,
        ctx: &Call,
        input: types::GetServiceLastAccessedDetailsWithEntitiesRequest,
    ) -> Result<types::GetServiceLastAccessedDetailsWithEntitiesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            last_accessed::get_with_entities(tx, &c, &input_)
        })
    }

    async fn list_policies_granting_service_access(
        &self,
        ctx: &Call,
        input: types::ListPoliciesGrantingServiceAccessRequest,
    ) -> Result<types::ListPoliciesGrantingServiceAccessResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            last_accessed::list_policies_granting(tx, &c, &input_)
        })
    }

    async fn simulate_custom_policy(
        &self,
        _ctx: &Call,
        input: types::SimulateCustomPolicyRequest,
    ) -> Result<types::SimulatePolicyResponse, ApiError> {
        crate::simulate::simulate_custom(&input)
    }

    async fn simulate_principal_policy(
        &self,
        ctx: &Call,
        input: types::SimulatePrincipalPolicyRequest,
    ) -> Result<types::SimulatePolicyResponse, ApiError> {
        let account = ctx.account_id().to_owned();
        let source = input.policy_source_arn.clone();
        let documents = ctx
            .read(move |tx| {
                crate::authz::principal_policy_documents(tx, &account, &source)
                    .map_err(cairn_core::Failure::from)
            })
            .await?;
        let Some(documents) = documents else {
            return Err(ApiError::new(
                cairn_api::iam::Error::NoSuchEntityException,
                format!("The principal {} cannot be found.", input.policy_source_arn),
            ));
        };
        crate::simulate::simulate_principal(&input, documents)
    }

    // Account settings, login profiles, instance profiles, OIDC providers.

    async fn create_account_alias(
        &self,
        ctx: &Call,
        input: types::CreateAccountAliasRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            account_settings::create_account_alias(tx, &c, &input_)
        })
    }

    async fn delete_account_alias(
        &self,
        ctx: &Call,
        input: types::DeleteAccountAliasRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            account_settings::delete_account_alias(tx, &c, &input_)
        })
    }

    async fn list_account_aliases(
        &self,
        ctx: &Call,
        input: types::ListAccountAliasesRequest,
    ) -> Result<types::ListAccountAliasesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            account_settings::list_account_aliases(tx, &c, &input_)
        })
    }

    async fn update_account_password_policy(
        &self,
        ctx: &Call,
        input: types::UpdateAccountPasswordPolicyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            account_settings::update_account_password_policy(tx, &c, &input_)
        })
    }

    async fn get_account_password_policy(
        &self,
        ctx: &Call,
    ) -> Result<types::GetAccountPasswordPolicyResponse, ApiError> {
        query!(ctx, (), |tx, c, _input| {
            account_settings::get_account_password_policy(tx, &c)
        })
    }

    async fn delete_account_password_policy(&self, ctx: &Call) -> Result<(), ApiError> {
        mutate!(ctx, (), |tx, c, _input| {
            account_settings::delete_account_password_policy(tx, &c)
        })
    }

    async fn get_account_summary(
        &self,
        ctx: &Call,
    ) -> Result<types::GetAccountSummaryResponse, ApiError> {
        query!(ctx, (), |tx, c, _input| {
            account_settings::get_account_summary(tx, &c)
        })
    }

    async fn create_login_profile(
        &self,
        ctx: &Call,
        input: types::CreateLoginProfileRequest,
    ) -> Result<types::CreateLoginProfileResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| login::create_login_profile(
            tx, &c, &input_
        ))
    }

    async fn get_login_profile(
        &self,
        ctx: &Call,
        input: types::GetLoginProfileRequest,
    ) -> Result<types::GetLoginProfileResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| login::get_login_profile(
            tx, &c, &input_
        ))
    }

    async fn update_login_profile(
        &self,
        ctx: &Call,
        input: types::UpdateLoginProfileRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| login::update_login_profile(
            tx, &c, &input_
        ))
    }

    /// The signing key is made before the transaction (RSA key generation takes a while and
    /// the transaction may be retried), and only for an account that has none.
    async fn enable_outbound_web_identity_federation(
        &self,
        ctx: &Call,
    ) -> Result<types::EnableOutboundWebIdentityFederationResponse, ApiError> {
        let account = Ctx::of(ctx).account;
        let has = ctx
            .read(move |tx| Ok(crate::outbound::has_key(tx, &account)?))
            .await?;
        let key = if has {
            None
        } else {
            let sealer = self.sealer().ok_or_else(ApiError::internal)?;
            Some(crate::outbound::generate_key(ctx.ids(), &sealer).ok_or_else(ApiError::internal)?)
        };
        let base = self.public_url.clone();
        mutate!(ctx, (), |tx, c, _i| crate::outbound::enable(
            tx,
            &c,
            &base,
            key.as_ref()
        ))
    }

    async fn disable_outbound_web_identity_federation(&self, ctx: &Call) -> Result<(), ApiError> {
        mutate!(ctx, (), |tx, c, _i| crate::outbound::disable(tx, &c))
    }

    async fn get_outbound_web_identity_federation_info(
        &self,
        ctx: &Call,
    ) -> Result<types::GetOutboundWebIdentityFederationInfoResponse, ApiError> {
        let base = self.public_url.clone();
        query!(ctx, (), |tx, c, _i| crate::outbound::info(tx, &c, &base))
    }

    async fn update_open_id_connect_provider(
        &self,
        ctx: &Call,
        input: types::UpdateOpenIDConnectProviderRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            providers::update_open_id_connect_provider(tx, &c, &input_)
        })
    }

    async fn put_account_properties(
        &self,
        ctx: &Call,
        input: types::PutAccountPropertiesRequest,
    ) -> Result<types::PutAccountPropertiesResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            account_settings::put_account_properties(tx, &c, &input_)?;
            Ok(types::PutAccountPropertiesResponse {})
        })
    }

    async fn get_account_properties(
        &self,
        ctx: &Call,
        _input: types::GetAccountPropertiesRequest,
    ) -> Result<types::GetAccountPropertiesResponse, ApiError> {
        query!(ctx, (), |tx, c, _i| {
            account_settings::get_account_properties(tx, &c)
        })
    }

    async fn change_password(
        &self,
        ctx: &Call,
        input: types::ChangePasswordRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| login::change_password(
            tx, &c, &input_
        ))
    }

    async fn delete_login_profile(
        &self,
        ctx: &Call,
        input: types::DeleteLoginProfileRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| login::delete_login_profile(
            tx, &c, &input_
        ))
    }

    async fn create_instance_profile(
        &self,
        ctx: &Call,
        input: types::CreateInstanceProfileRequest,
    ) -> Result<types::CreateInstanceProfileResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            instance_profiles::create_instance_profile(tx, &c, &input_)
        })
    }

    async fn get_instance_profile(
        &self,
        ctx: &Call,
        input: types::GetInstanceProfileRequest,
    ) -> Result<types::GetInstanceProfileResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            instance_profiles::get_instance_profile(tx, &c, &input_.instance_profile_name)
        })
    }

    async fn delete_instance_profile(
        &self,
        ctx: &Call,
        input: types::DeleteInstanceProfileRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            instance_profiles::delete_instance_profile(tx, &c, &input_.instance_profile_name)
        })
    }

    async fn list_instance_profiles(
        &self,
        ctx: &Call,
        input: types::ListInstanceProfilesRequest,
    ) -> Result<types::ListInstanceProfilesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            instance_profiles::list_instance_profiles(tx, &c, &input_)
        })
    }

    async fn list_instance_profiles_for_role(
        &self,
        ctx: &Call,
        input: types::ListInstanceProfilesForRoleRequest,
    ) -> Result<types::ListInstanceProfilesForRoleResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            instance_profiles::list_instance_profiles_for_role(tx, &c, &input_)
        })
    }

    async fn add_role_to_instance_profile(
        &self,
        ctx: &Call,
        input: types::AddRoleToInstanceProfileRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            instance_profiles::add_role_to_instance_profile(tx, &c, &input_)
        })
    }

    async fn remove_role_from_instance_profile(
        &self,
        ctx: &Call,
        input: types::RemoveRoleFromInstanceProfileRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            instance_profiles::remove_role_from_instance_profile(tx, &c, &input_)
        })
    }

    async fn tag_instance_profile(
        &self,
        ctx: &Call,
        input: types::TagInstanceProfileRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            instance_profiles::tag_instance_profile(tx, &c, &input_)
        })
    }

    async fn untag_instance_profile(
        &self,
        ctx: &Call,
        input: types::UntagInstanceProfileRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            instance_profiles::untag_instance_profile(tx, &c, &input_)
        })
    }

    async fn list_instance_profile_tags(
        &self,
        ctx: &Call,
        input: types::ListInstanceProfileTagsRequest,
    ) -> Result<types::ListInstanceProfileTagsResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            instance_profiles::list_instance_profile_tags(tx, &c, &input_)
        })
    }

    async fn create_open_id_connect_provider(
        &self,
        ctx: &Call,
        input: types::CreateOpenIDConnectProviderRequest,
    ) -> Result<types::CreateOpenIDConnectProviderResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            providers::create_open_id_connect_provider(tx, &c, &input_)
        })
    }

    async fn get_open_id_connect_provider(
        &self,
        ctx: &Call,
        input: types::GetOpenIDConnectProviderRequest,
    ) -> Result<types::GetOpenIDConnectProviderResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            providers::get_open_id_connect_provider(tx, &c, &input_.open_id_connect_provider_arn)
        })
    }

    async fn list_open_id_connect_providers(
        &self,
        ctx: &Call,
        input: types::ListOpenIDConnectProvidersRequest,
    ) -> Result<types::ListOpenIDConnectProvidersResponse, ApiError> {
        query!(ctx, input, |tx, c, _input| {
            providers::list_open_id_connect_providers(tx, &c)
        })
    }

    async fn delete_open_id_connect_provider(
        &self,
        ctx: &Call,
        input: types::DeleteOpenIDConnectProviderRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            providers::delete_open_id_connect_provider(tx, &c, &input_.open_id_connect_provider_arn)
        })
    }

    async fn add_client_id_to_open_id_connect_provider(
        &self,
        ctx: &Call,
        input: types::AddClientIDToOpenIDConnectProviderRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            providers::add_client_id_to_open_id_connect_provider(tx, &c, &input_)
        })
    }

    async fn remove_client_id_from_open_id_connect_provider(
        &self,
        ctx: &Call,
        input: types::RemoveClientIDFromOpenIDConnectProviderRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            providers::remove_client_id_from_open_id_connect_provider(tx, &c, &input_)
        })
    }

    async fn update_open_id_connect_provider_thumbprint(
        &self,
        ctx: &Call,
        input: types::UpdateOpenIDConnectProviderThumbprintRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            providers::update_open_id_connect_provider_thumbprint(tx, &c, &input_)
        })
    }

    async fn tag_open_id_connect_provider(
        &self,
        ctx: &Call,
        input: types::TagOpenIDConnectProviderRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            providers::tag_open_id_connect_provider(tx, &c, &input_)
        })
    }

    async fn untag_open_id_connect_provider(
        &self,
        ctx: &Call,
        input: types::UntagOpenIDConnectProviderRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            providers::untag_open_id_connect_provider(tx, &c, &input_)
        })
    }

    async fn list_open_id_connect_provider_tags(
        &self,
        ctx: &Call,
        input: types::ListOpenIDConnectProviderTagsRequest,
    ) -> Result<types::ListOpenIDConnectProviderTagsResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            providers::list_open_id_connect_provider_tags(tx, &c, &input_)
        })
    }

    // Virtual MFA devices.

    async fn create_virtual_mfa_device(
        &self,
        ctx: &Call,
        input: types::CreateVirtualMFADeviceRequest,
    ) -> Result<types::CreateVirtualMFADeviceResponse, ApiError> {
        let sealer = self.sealer();
        mutate!(ctx, input, |tx, c, input_| mfa::create_virtual_mfa_device(
            tx,
            &c,
            sealer.as_ref(),
            &input_
        ))
    }

    async fn enable_mfa_device(
        &self,
        ctx: &Call,
        input: types::EnableMFADeviceRequest,
    ) -> Result<(), ApiError> {
        let sealer = self.sealer();
        mutate!(ctx, input, |tx, c, input_| mfa::enable_mfa_device(
            tx,
            &c,
            sealer.as_ref(),
            &input_
        ))
    }

    async fn resync_mfa_device(
        &self,
        ctx: &Call,
        input: types::ResyncMFADeviceRequest,
    ) -> Result<(), ApiError> {
        let sealer = self.sealer();
        mutate!(ctx, input, |tx, c, input_| mfa::resync_mfa_device(
            tx,
            &c,
            sealer.as_ref(),
            &input_
        ))
    }

    async fn deactivate_mfa_device(
        &self,
        ctx: &Call,
        input: types::DeactivateMFADeviceRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| mfa::deactivate_mfa_device(
            tx, &c, &input_
        ))
    }

    async fn delete_virtual_mfa_device(
        &self,
        ctx: &Call,
        input: types::DeleteVirtualMFADeviceRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| mfa::delete_virtual_mfa_device(
            tx, &c, &input_
        ))
    }

    async fn list_mfa_devices(
        &self,
        ctx: &Call,
        input: types::ListMFADevicesRequest,
    ) -> Result<types::ListMFADevicesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| mfa::list_mfa_devices(
            tx, &c, &input_
        ))
    }

    async fn list_virtual_mfa_devices(
        &self,
        ctx: &Call,
        input: types::ListVirtualMFADevicesRequest,
    ) -> Result<types::ListVirtualMFADevicesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| mfa::list_virtual_mfa_devices(
            tx, &c, &input_
        ))
    }

    async fn get_mfa_device(
        &self,
        ctx: &Call,
        input: types::GetMFADeviceRequest,
    ) -> Result<types::GetMFADeviceResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| mfa::get_mfa_device(
            tx, &c, &input_
        ))
    }

    async fn tag_mfa_device(
        &self,
        ctx: &Call,
        input: types::TagMFADeviceRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| mfa::tag_mfa_device(
            tx, &c, &input_
        ))
    }

    async fn untag_mfa_device(
        &self,
        ctx: &Call,
        input: types::UntagMFADeviceRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| mfa::untag_mfa_device(
            tx, &c, &input_
        ))
    }

    async fn list_mfa_device_tags(
        &self,
        ctx: &Call,
        input: types::ListMFADeviceTagsRequest,
    ) -> Result<types::ListMFADeviceTagsResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| mfa::list_mfa_device_tags(
            tx, &c, &input_
        ))
    }

    // Service-linked roles.

    async fn create_service_linked_role(
        &self,
        ctx: &Call,
        input: types::CreateServiceLinkedRoleRequest,
    ) -> Result<types::CreateServiceLinkedRoleResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            service_linked::create_service_linked_role(tx, &c, &input_)
        })
    }

    async fn delete_service_linked_role(
        &self,
        ctx: &Call,
        input: types::DeleteServiceLinkedRoleRequest,
    ) -> Result<types::DeleteServiceLinkedRoleResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            service_linked::delete_service_linked_role(tx, &c, &input_)
        })
    }

    async fn get_service_linked_role_deletion_status(
        &self,
        ctx: &Call,
        input: types::GetServiceLinkedRoleDeletionStatusRequest,
    ) -> Result<types::GetServiceLinkedRoleDeletionStatusResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            service_linked::get_service_linked_role_deletion_status(tx, &c, &input_)
        })
    }

    // The credential report.

    async fn generate_credential_report(
        &self,
        ctx: &Call,
    ) -> Result<types::GenerateCredentialReportResponse, ApiError> {
        mutate!(ctx, (), |tx, c, _input| {
            credential_report::generate_credential_report(tx, &c)
        })
    }

    async fn get_credential_report(
        &self,
        ctx: &Call,
    ) -> Result<types::GetCredentialReportResponse, ApiError> {
        query!(ctx, (), |tx, c, _input| {
            credential_report::get_credential_report(tx, &c)
        })
    }

    // Context keys.

    async fn get_context_keys_for_custom_policy(
        &self,
        _ctx: &Call,
        input: types::GetContextKeysForCustomPolicyRequest,
    ) -> Result<types::GetContextKeysForPolicyResponse, ApiError> {
        Ok(types::GetContextKeysForPolicyResponse {
            context_key_names: Some(crate::simulate::context_keys(&input.policy_input_list)?),
        })
    }

    async fn get_context_keys_for_principal_policy(
        &self,
        ctx: &Call,
        input: types::GetContextKeysForPrincipalPolicyRequest,
    ) -> Result<types::GetContextKeysForPolicyResponse, ApiError> {
        let account = ctx.account_id().to_owned();
        let source = input.policy_source_arn.clone();
        let documents = ctx
            .read(move |tx| {
                crate::authz::principal_policy_documents(tx, &account, &source)
                    .map_err(cairn_core::Failure::from)
            })
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    cairn_api::iam::Error::NoSuchEntityException,
                    format!("The principal {} cannot be found.", input.policy_source_arn),
                )
            })?;
        // The principal's identity policies (not its boundary), then the request's.
        let mut texts: Vec<String> = documents
            .into_iter()
            .filter(|(_, kind, _)| kind != crate::authz::PERMISSIONS_BOUNDARY)
            .map(|(_, _, text)| text)
            .collect();
        texts.extend(input.policy_input_list.iter().flatten().cloned());
        Ok(types::GetContextKeysForPolicyResponse {
            context_key_names: Some(crate::simulate::context_keys(&texts)?),
        })
    }

    async fn set_security_token_service_preferences(
        &self,
        ctx: &Call,
        input: types::SetSecurityTokenServicePreferencesRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            account_settings::set_security_token_service_preferences(tx, &c, &input_)
        })
    }

    async fn get_account_authorization_details(
        &self,
        ctx: &Call,
        input: types::GetAccountAuthorizationDetailsRequest,
    ) -> Result<types::GetAccountAuthorizationDetailsResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            authorization_details::get_account_authorization_details(tx, &c, &input_)
        })
    }

    // SAML providers.

    async fn create_saml_provider(
        &self,
        ctx: &Call,
        input: types::CreateSAMLProviderRequest,
    ) -> Result<types::CreateSAMLProviderResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            saml_providers::create_saml_provider(tx, &c, &input_)
        })
    }

    async fn get_saml_provider(
        &self,
        ctx: &Call,
        input: types::GetSAMLProviderRequest,
    ) -> Result<types::GetSAMLProviderResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            saml_providers::get_saml_provider(tx, &c, &input_.saml_provider_arn)
        })
    }

    async fn update_saml_provider(
        &self,
        ctx: &Call,
        input: types::UpdateSAMLProviderRequest,
    ) -> Result<types::UpdateSAMLProviderResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            saml_providers::update_saml_provider(tx, &c, &input_)
        })
    }

    async fn delete_saml_provider(
        &self,
        ctx: &Call,
        input: types::DeleteSAMLProviderRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            saml_providers::delete_saml_provider(tx, &c, &input_.saml_provider_arn)
        })
    }

    async fn tag_saml_provider(
        &self,
        ctx: &Call,
        input: types::TagSAMLProviderRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            saml_providers::tag_saml_provider(tx, &c, &input_)
        })
    }

    async fn untag_saml_provider(
        &self,
        ctx: &Call,
        input: types::UntagSAMLProviderRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            saml_providers::untag_saml_provider(tx, &c, &input_)
        })
    }

    async fn list_saml_provider_tags(
        &self,
        ctx: &Call,
        input: types::ListSAMLProviderTagsRequest,
    ) -> Result<types::ListSAMLProviderTagsResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            saml_providers::list_saml_provider_tags(tx, &c, &input_)
        })
    }

    async fn list_saml_providers(
        &self,
        ctx: &Call,
        input: types::ListSAMLProvidersRequest,
    ) -> Result<types::ListSAMLProvidersResponse, ApiError> {
        query!(ctx, input, |tx, c, _input| {
            saml_providers::list_saml_providers(tx, &c)
        })
    }

    // SSH public keys.

    async fn upload_ssh_public_key(
        &self,
        ctx: &Call,
        input: types::UploadSSHPublicKeyRequest,
    ) -> Result<types::UploadSSHPublicKeyResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| ssh_keys::upload_ssh_public_key(
            tx, &c, &input_
        ))
    }

    async fn get_ssh_public_key(
        &self,
        ctx: &Call,
        input: types::GetSSHPublicKeyRequest,
    ) -> Result<types::GetSSHPublicKeyResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| ssh_keys::get_ssh_public_key(
            tx, &c, &input_
        ))
    }

    async fn create_delegation_request(
        &self,
        ctx: &Call,
        input: types::CreateDelegationRequestRequest,
    ) -> Result<types::CreateDelegationRequestResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| delegation::create(
            tx, &c, &input_
        ))
    }

    async fn get_delegation_request(
        &self,
        ctx: &Call,
        input: types::GetDelegationRequestRequest,
    ) -> Result<types::GetDelegationRequestResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| delegation::get(tx, &c, &input_))
    }

    async fn list_delegation_requests(
        &self,
        ctx: &Call,
        input: types::ListDelegationRequestsRequest,
    ) -> Result<types::ListDelegationRequestsResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| delegation::list(
            tx, &c, &input_
        ))
    }

    async fn associate_delegation_request(
        &self,
        ctx: &Call,
        input: types::AssociateDelegationRequestRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| delegation::associate(
            tx,
            &c,
            &input_.delegation_request_id
        ))
    }

    async fn update_delegation_request(
        &self,
        ctx: &Call,
        input: types::UpdateDelegationRequestRequest,
    ) -> Result<(), ApiError> {
        let out: Result<(), ApiError> = mutate!(ctx, input, |tx, c, input_| {
            delegation::update(tx, &c, &input_)
        });
        ctx.kick_jobs();
        out
    }

    async fn accept_delegation_request(
        &self,
        ctx: &Call,
        input: types::AcceptDelegationRequestRequest,
    ) -> Result<(), ApiError> {
        let out: Result<(), ApiError> = mutate!(ctx, input, |tx, c, input_| {
            delegation::accept(tx, &c, &input_.delegation_request_id)
        });
        ctx.kick_jobs();
        out
    }

    async fn reject_delegation_request(
        &self,
        ctx: &Call,
        input: types::RejectDelegationRequestRequest,
    ) -> Result<(), ApiError> {
        let out: Result<(), ApiError> = mutate!(ctx, input, |tx, c, input_| {
            delegation::reject(tx, &c, &input_)
        });
        ctx.kick_jobs();
        out
    }

    /// The exchange token goes out as a `notify.publish` job ([`crate::delegation`]).
    async fn send_delegation_token(
        &self,
        ctx: &Call,
        input: types::SendDelegationTokenRequest,
    ) -> Result<(), ApiError> {
        let out: Result<(), ApiError> = mutate!(ctx, input, |tx, c, input_| {
            delegation::send_token(tx, &c, &input_.delegation_request_id)
        });
        ctx.kick_jobs();
        out
    }

    async fn list_ssh_public_keys(
        &self,
        ctx: &Call,
        input: types::ListSSHPublicKeysRequest,
    ) -> Result<types::ListSSHPublicKeysResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| ssh_keys::list_ssh_public_keys(
            tx, &c, &input_
        ))
    }

    async fn update_ssh_public_key(
        &self,
        ctx: &Call,
        input: types::UpdateSSHPublicKeyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| ssh_keys::update_ssh_public_key(
            tx, &c, &input_
        ))
    }

    async fn delete_ssh_public_key(
        &self,
        ctx: &Call,
        input: types::DeleteSSHPublicKeyRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| ssh_keys::delete_ssh_public_key(
            tx, &c, &input_
        ))
    }

    // Service-specific credentials.

    async fn create_service_specific_credential(
        &self,
        ctx: &Call,
        input: types::CreateServiceSpecificCredentialRequest,
    ) -> Result<types::CreateServiceSpecificCredentialResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            service_credentials::create_service_specific_credential(tx, &c, &input_)
        })
    }

    async fn reset_service_specific_credential(
        &self,
        ctx: &Call,
        input: types::ResetServiceSpecificCredentialRequest,
    ) -> Result<types::ResetServiceSpecificCredentialResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            service_credentials::reset_service_specific_credential(tx, &c, &input_)
        })
    }

    async fn list_service_specific_credentials(
        &self,
        ctx: &Call,
        input: types::ListServiceSpecificCredentialsRequest,
    ) -> Result<types::ListServiceSpecificCredentialsResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            service_credentials::list_service_specific_credentials(tx, &c, &input_)
        })
    }

    async fn update_service_specific_credential(
        &self,
        ctx: &Call,
        input: types::UpdateServiceSpecificCredentialRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            service_credentials::update_service_specific_credential(tx, &c, &input_)
        })
    }

    async fn delete_service_specific_credential(
        &self,
        ctx: &Call,
        input: types::DeleteServiceSpecificCredentialRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            service_credentials::delete_service_specific_credential(tx, &c, &input_)
        })
    }

    // Signing and server certificates.

    async fn upload_signing_certificate(
        &self,
        ctx: &Call,
        input: types::UploadSigningCertificateRequest,
    ) -> Result<types::UploadSigningCertificateResponse, ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            certificates::upload_signing_certificate(tx, &c, &input_)
        })
    }

    async fn list_signing_certificates(
        &self,
        ctx: &Call,
        input: types::ListSigningCertificatesRequest,
    ) -> Result<types::ListSigningCertificatesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            certificates::list_signing_certificates(tx, &c, &input_)
        })
    }

    async fn update_signing_certificate(
        &self,
        ctx: &Call,
        input: types::UpdateSigningCertificateRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            certificates::update_signing_certificate(tx, &c, &input_)
        })
    }

    async fn delete_signing_certificate(
        &self,
        ctx: &Call,
        input: types::DeleteSigningCertificateRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            certificates::delete_signing_certificate(tx, &c, &input_)
        })
    }

    async fn upload_server_certificate(
        &self,
        ctx: &Call,
        input: types::UploadServerCertificateRequest,
    ) -> Result<types::UploadServerCertificateResponse, ApiError> {
        let sealer = self.sealer();
        mutate!(ctx, input, |tx, c, input_| {
            certificates::upload_server_certificate(tx, &c, sealer.as_ref(), &input_)
        })
    }

    async fn get_server_certificate(
        &self,
        ctx: &Call,
        input: types::GetServerCertificateRequest,
    ) -> Result<types::GetServerCertificateResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            certificates::get_server_certificate(tx, &c, &input_)
        })
    }

    async fn list_server_certificates(
        &self,
        ctx: &Call,
        input: types::ListServerCertificatesRequest,
    ) -> Result<types::ListServerCertificatesResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            certificates::list_server_certificates(tx, &c, &input_)
        })
    }

    async fn update_server_certificate(
        &self,
        ctx: &Call,
        input: types::UpdateServerCertificateRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            certificates::update_server_certificate(tx, &c, &input_)
        })
    }

    async fn delete_server_certificate(
        &self,
        ctx: &Call,
        input: types::DeleteServerCertificateRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            certificates::delete_server_certificate(tx, &c, &input_)
        })
    }

    async fn tag_server_certificate(
        &self,
        ctx: &Call,
        input: types::TagServerCertificateRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            certificates::tag_server_certificate(tx, &c, &input_)
        })
    }

    async fn untag_server_certificate(
        &self,
        ctx: &Call,
        input: types::UntagServerCertificateRequest,
    ) -> Result<(), ApiError> {
        mutate!(ctx, input, |tx, c, input_| {
            certificates::untag_server_certificate(tx, &c, &input_)
        })
    }

    async fn list_server_certificate_tags(
        &self,
        ctx: &Call,
        input: types::ListServerCertificateTagsRequest,
    ) -> Result<types::ListServerCertificateTagsResponse, ApiError> {
        query!(ctx, input, |tx, c, input_| {
            certificates::list_server_certificate_tags(tx, &c, &input_)
        })
    }
}
