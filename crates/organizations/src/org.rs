//! The organization itself: `CreateOrganization`, `DescribeOrganization`,
//! `DeleteOrganization`, `ListRoots`.

use crate::authz;
use crate::model::{
    self, AccountRec, EnabledType, FORMAT, MEMBERS, ORGS, Org, Page, require_management,
    require_org,
};
use cairn_api::organizations::{Error, types};
use cairn_core::{Call, Failure, GenerationCache};
use cairn_wire::ApiError;

pub(crate) async fn create_organization(
    ctx: &Call,
    input: types::CreateOrganizationRequest,
) -> Result<types::CreateOrganizationResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    let feature_set = input.feature_set.map_or("ALL", |f| f.as_str()).to_owned();
    let org_id = format!("o-{}", ctx.ids().lower_alnum(10));
    let root_id = format!("r-{}", ctx.ids().lower_alnum(4));
    let now = ctx.now_ms();
    authz::write(ctx, move |tx| {
        if tx.get(MEMBERS, account_id.as_bytes())?.is_some() {
            return Err(Failure(ApiError::new(
                Error::AlreadyInOrganizationException,
                "The AWS account is already a member of an organization.",
            )));
        }
        let account = cairn_iam::accounts::get_account(tx, &account_id)?
            .ok_or_else(|| Failure(ApiError::internal()))?;
        let org = Org {
            v: FORMAT,
            id: org_id.clone(),
            feature_set: feature_set.clone(),
            management_account_id: account_id.clone(),
            management_email: account.email.clone(),
            root_id: root_id.clone(),
            created_ms: now,
            policy_types: Vec::<EnabledType>::new(),
        };
        let raw = serde_json::to_vec(&org).map_err(|_| model::corrupt("organization"))?;
        tx.put(ORGS, org.id.as_bytes(), &raw)?;
        tx.put(MEMBERS, account_id.as_bytes(), org.id.as_bytes())?;
        model::put_account_rec(
            tx,
            &org,
            &AccountRec {
                v: FORMAT,
                id: account_id.clone(),
                name: account.name.clone(),
                email: account.email.clone(),
                status: String::from("ACTIVE"),
                joined_method: String::from("INVITED"),
                joined_ms: now,
                closed_ms: None,
            },
        )?;
        model::set_parent(tx, &org, &account_id, &root_id)?;
        Ok(types::CreateOrganizationResponse {
            organization: Some(org.to_api()),
        })
    })
    .await
}

/// `DescribeOrganization` answers by member account, so the hottest read of the service
/// needs no store transaction.
///
/// An entry is valid while [`authz::generation`] has not moved since it was read: every
/// mutation bumps it after its commit ([`authz::write`]). Only for the embedded SQLite store,
/// which one process owns: with PostgreSQL several processes may share the data, and their
/// writes do not bump this process's generation, so every call reads the store there.
pub(crate) type OrgCache = GenerationCache<types::Organization>;

pub(crate) async fn describe_organization(
    ctx: &Call,
    cache: &OrgCache,
) -> Result<types::DescribeOrganizationResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    let cacheable = ctx.sole_writer();
    // Read before the store: a change committed after this point bumps it past `generation`,
    // so what is cached below under `generation` can never outlive that change.
    let generation = ctx.generations().orgs.get();
    if cacheable && let Some(organization) = cache.get(&account_id, generation, 0, i64::MAX) {
        return Ok(types::DescribeOrganizationResponse {
            organization: Some(organization),
        });
    }
    let key = account_id.clone();
    let organization = ctx
        .read(move |tx| Ok(require_org(tx, &key)?.to_api()))
        .await?;
    if cacheable {
        cache.put(account_id, generation, 0, organization.clone());
    }
    Ok(types::DescribeOrganizationResponse {
        organization: Some(organization),
    })
}

pub(crate) async fn list_roots(
    ctx: &Call,
    input: types::ListRootsRequest,
) -> Result<types::ListRootsResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &account_id)?;
        model::require_management_or_delegated(tx, &org, &account_id)?;
        let page = Page::new(
            format!("ListRoots/{account_id}"),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let (roots, next_token) =
            page.apply(vec![org.root_api()], |r| r.id.clone().unwrap_or_default());
        Ok(types::ListRootsResponse {
            next_token,
            roots: Some(roots),
        })
    })
    .await
}

pub(crate) async fn delete_organization(ctx: &Call) -> Result<(), ApiError> {
    let account_id = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management(&org, &account_id)?;
        if crate::transfers::has_active_transfer(tx, &account_id, now)? {
            return Err(model::constraint(
                "ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS",
                "You can't delete an organization that has an active responsibility transfer.",
            ));
        }
        let members = model::scan_ids(tx, model::ACCOUNTS, &format!("{}/", org.id))?;
        if members.iter().any(|m| *m != account_id) {
            return Err(Failure(ApiError::new(
                Error::OrganizationNotEmptyException,
                "To delete an organization you must first remove all member accounts (except the management account).",
            )));
        }
        // Nothing of the organization survives it: OUs, policies, attachments, tags,
        // delegations, the resource policy.
        let prefix = format!("{}/", org.id);
        for space in [
            model::ACCOUNTS,
            model::OUS,
            model::CHILDREN,
            model::PARENTS,
            model::POLICIES,
            model::ATTACHED,
            model::TARGETS,
            model::TAGS,
            model::SERVICE_ACCESS,
            model::DELEGATED_ADMINS,
        ] {
            for (k, _) in tx.scan_prefix(space, prefix.as_bytes(), false, usize::MAX)? {
                tx.delete(space, &k)?;
            }
        }
        tx.delete(model::RESOURCE_POLICY, org.id.as_bytes())?;
        // Open invitations die with the organization (they stay visible, CANCELED, for the
        // usual 30 days).
        crate::hs::cancel_open_for_org(tx, &org.id, now)?;
        tx.delete(MEMBERS, account_id.as_bytes())?;
        tx.delete(ORGS, org.id.as_bytes())?;
        Ok(())
    })
    .await
}
