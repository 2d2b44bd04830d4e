//! `GetAccountAuthorizationDetails`: every user, group and role of the account with its
//! inline policies, attached managed policies, groups, boundary and tags, and the managed
//! policies with all their versions — the snapshot security tooling audits. Documents are
//! URL-encoded, as everywhere in IAM's answers.
//!
//! One page runs across the four lists in the order users, groups, roles, policies (each by
//! name), so `MaxItems` and `Marker` work as for any IAM list. AWS managed policies are
//! listed when attached to, or the boundary of, some entity of the account ([M]: AWS's
//! choice of which AWS managed policies to list).

use crate::common::{Ctx, api_tags_opt, paginate, ts, url_encode};
use crate::records::{self, EntityKind, GROUPS, POLICIES, PolicyRec, ROLES, USERS};
use crate::users::boundary_api;
use cairn_api::iam::types;
use cairn_core::Failure;
use cairn_store::{StoreError, Tx};

enum Item {
    User(types::UserDetail),
    Group(types::GroupDetail),
    Role(types::RoleDetail),
    Policy(types::ManagedPolicyDetail),
}

fn inline(
    tx: &mut dyn Tx,
    account: &str,
    kind: EntityKind,
    name: &str,
) -> Result<Vec<types::PolicyDetail>, StoreError> {
    Ok(records::inline_policies(tx, account, kind, name)?
        .into_iter()
        .map(|p| types::PolicyDetail {
            policy_name: Some(p.name),
            policy_document: Some(url_encode(&p.document)),
        })
        .collect())
}

fn attached(
    tx: &mut dyn Tx,
    account: &str,
    kind: EntityKind,
    name: &str,
) -> Result<Vec<types::AttachedPolicy>, StoreError> {
    Ok(records::attached_arns(tx, account, kind, name)?
        .into_iter()
        .map(|arn| types::AttachedPolicy {
            policy_name: Some(arn.rsplit('/').next().unwrap_or(&arn).to_owned()),
            policy_arn: Some(arn),
        })
        .collect())
}

fn count(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub(crate) fn get_account_authorization_details(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GetAccountAuthorizationDetailsRequest,
) -> Result<types::GetAccountAuthorizationDetailsResponse, Failure> {
    use types::EntityType as T;
    let filter = input.filter.as_deref().unwrap_or_default();
    let wants = |t: T| filter.is_empty() || filter.contains(&t);
    let account = c.account.as_str();
    let prefix = format!("{account}/");
    let mut items: Vec<(String, Item)> = Vec::new();
    if wants(T::User) {
        for (k, u) in records::load_all::<records::UserRec>(tx, USERS, &prefix)? {
            let groups = records::groups_of(tx, account, &u.name)?
                .into_iter()
                .filter_map(|g| {
                    records::group(tx, account, &g)
                        .ok()
                        .flatten()
                        .map(|g| g.name)
                })
                .collect();
            items.push((
                format!("1/{k}"),
                Item::User(types::UserDetail {
                    arn: Some(records::entity_arn(
                        account,
                        EntityKind::User,
                        &u.path,
                        &u.name,
                    )),
                    attached_managed_policies: Some(attached(
                        tx,
                        account,
                        EntityKind::User,
                        &u.name,
                    )?),
                    create_date: Some(ts(u.created_ms)),
                    group_list: Some(groups),
                    path: Some(u.path.clone()),
                    permissions_boundary: boundary_api(u.boundary.as_deref()),
                    tags: api_tags_opt(&u.tags),
                    user_id: Some(u.id.clone()),
                    user_name: Some(u.name.clone()),
                    user_policy_list: Some(inline(tx, account, EntityKind::User, &u.name)?),
                }),
            ));
        }
    }
    if wants(T::Group) {
        for (k, g) in records::load_all::<records::GroupRec>(tx, GROUPS, &prefix)? {
            items.push((
                format!("2/{k}"),
                Item::Group(types::GroupDetail {
                    arn: Some(records::entity_arn(
                        account,
                        EntityKind::Group,
                        &g.path,
                        &g.name,
                    )),
                    attached_managed_policies: Some(attached(
                        tx,
                        account,
                        EntityKind::Group,
                        &g.name,
                    )?),
                    create_date: Some(ts(g.created_ms)),
                    group_id: Some(g.id.clone()),
                    group_name: Some(g.name.clone()),
                    group_policy_list: Some(inline(tx, account, EntityKind::Group, &g.name)?),
                    path: Some(g.path.clone()),
                }),
            ));
        }
    }
    if wants(T::Role) {
        for (k, r) in records::load_all::<records::RoleRec>(tx, ROLES, &prefix)? {
            let profiles = crate::instance_profiles::profiles_of_role(tx, account, &r.name)?;
            items.push((
                format!("3/{k}"),
                Item::Role(types::RoleDetail {
                    arn: Some(records::entity_arn(
                        account,
                        EntityKind::Role,
                        &r.path,
                        &r.name,
                    )),
                    assume_role_policy_document: Some(url_encode(&r.trust)),
                    attached_managed_policies: Some(attached(
                        tx,
                        account,
                        EntityKind::Role,
                        &r.name,
                    )?),
                    create_date: Some(ts(r.created_ms)),
                    instance_profile_list: Some(profiles),
                    path: Some(r.path.clone()),
                    permissions_boundary: boundary_api(r.boundary.as_deref()),
                    role_id: Some(r.id.clone()),
                    role_last_used: Some(types::RoleLastUsed::default()),
                    role_name: Some(r.name.clone()),
                    role_policy_list: Some(inline(tx, account, EntityKind::Role, &r.name)?),
                    tags: api_tags_opt(&r.tags),
                }),
            ));
        }
    }
    if wants(T::LocalManagedPolicy) {
        for (k, p) in records::load_all::<PolicyRec>(tx, POLICIES, &prefix)? {
            let arn = records::policy_arn(account, &p.path, &p.name);
            let versions = p
                .versions
                .iter()
                .map(|v| types::PolicyVersion {
                    create_date: Some(ts(v.created_ms)),
                    document: Some(url_encode(&v.document)),
                    is_default_version: Some(v.n == p.default_version),
                    version_id: Some(format!("v{}", v.n)),
                })
                .collect();
            items.push((
                format!("4/{k}"),
                Item::Policy(types::ManagedPolicyDetail {
                    attachment_count: Some(count(crate::policies::attachment_count(
                        tx, account, &arn,
                    )?)),
                    permissions_boundary_usage_count: Some(count(crate::policies::boundary_count(
                        tx, account, &arn,
                    )?)),
                    arn: Some(arn),
                    create_date: Some(ts(p.created_ms)),
                    default_version_id: Some(format!("v{}", p.default_version)),
                    description: p.description.clone(),
                    is_attachable: Some(true),
                    path: Some(p.path.clone()),
                    policy_id: Some(p.id.clone()),
                    policy_name: Some(p.name.clone()),
                    policy_version_list: Some(versions),
                    update_date: Some(ts(p.updated_ms)),
                }),
            ));
        }
    }
    if wants(T::AWSManagedPolicy) {
        for p in crate::managed::all() {
            let attachments = crate::policies::attachment_count(tx, account, &p.arn)?;
            let boundaries = crate::policies::boundary_count(tx, account, &p.arn)?;
            if attachments == 0 && boundaries == 0 {
                continue;
            }
            items.push((
                format!("5/{}", p.arn),
                Item::Policy(types::ManagedPolicyDetail {
                    arn: Some(p.arn.clone()),
                    attachment_count: Some(count(attachments)),
                    permissions_boundary_usage_count: Some(count(boundaries)),
                    create_date: Some(ts(p.created_ms)),
                    default_version_id: Some(p.default_version.clone()),
                    description: None,
                    is_attachable: Some(true),
                    path: Some(p.path.clone()),
                    policy_id: Some(p.id.clone()),
                    policy_name: Some(p.name.clone()),
                    policy_version_list: Some(vec![types::PolicyVersion {
                        create_date: Some(ts(p.created_ms)),
                        document: Some(url_encode(&p.document)),
                        is_default_version: Some(true),
                        version_id: Some(p.default_version.clone()),
                    }]),
                    update_date: Some(ts(p.updated_ms)),
                }),
            ));
        }
    }
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    let (mut users, mut groups, mut roles, mut policies) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for item in page.items {
        match item {
            Item::User(u) => users.push(u),
            Item::Group(g) => groups.push(g),
            Item::Role(r) => roles.push(r),
            Item::Policy(p) => policies.push(p),
        }
    }
    Ok(types::GetAccountAuthorizationDetailsResponse {
        is_truncated: Some(page.marker.is_some()),
        marker: page.marker,
        user_detail_list: Some(users),
        group_detail_list: Some(groups),
        role_detail_list: Some(roles),
        policies: Some(policies),
    })
}
