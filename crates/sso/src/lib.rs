//! IAM Identity Center: instances (the organization's, enabled with trusted access, and
//! account instances), the identity store — users, groups, memberships (`identitystore`) —
//! and the administration API (`sso-admin`).
//!
//! [`model`] holds the instance record and what the modules share (its doc lists the store
//! spaces); `directory` is the identity store, `instance` the instance lifecycle and the
//! trusted-access hook ([`SsoTrustedAccess`]), `jobs` the asynchronous work (`sso.task`).
//! Facts behind the behaviour, with their sources: `notes/identitystore-facts.md`,
//! `notes/sso-admin-facts.md`.

mod admin;
pub mod directory;
pub mod instance;
pub mod jobs;
pub mod model;
mod tags;

pub use instance::SsoTrustedAccess;
pub use jobs::SsoJob;

use cairn_api::identitystore::{IdentityStore, types as ids_types};
use cairn_api::sso_admin::{SsoAdmin, types as admin_types};
use cairn_core::{Call, Failure, Ids, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::ApiError;
use directory::Ctx;
use serde::Serialize;
use std::sync::Arc;

fn dir_ctx(call: &Call) -> Ctx {
    Ctx {
        account: call.account_id().to_owned(),
        caller_arn: call.principal().arn(),
        now_ms: call.now_ms(),
    }
}

/// The `identitystore` API.
pub struct IdentityStoreService {
    orgs: Arc<dyn ResourceFacts>,
}

impl IdentityStoreService {
    /// `orgs` answers who is a delegated administrator (Organizations' facts).
    pub fn new(orgs: Arc<dyn ResourceFacts>) -> Self {
        IdentityStoreService { orgs }
    }

    async fn write<R, F>(&self, call: &Call, f: F) -> Result<R, ApiError>
    where
        R: Serialize + Send + 'static,
        F: Fn(&mut dyn Tx, &dyn ResourceFacts, &dyn Ids, &Ctx) -> Result<R, Failure>
            + Send
            + 'static,
    {
        let c = dir_ctx(call);
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
        let c = dir_ctx(call);
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
        self.write(ctx, move |tx, o, _, c| {
            directory::delete_group(tx, o, c, &input)
        })
        .await
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
        self.write(ctx, move |tx, o, _, c| {
            directory::delete_user(tx, o, c, &input)
        })
        .await
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
}
