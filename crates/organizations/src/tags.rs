//! Tags on Organizations resources: `TagResource`, `UntagResource`, `ListTagsForResource`.
//!
//! Taggable: the root (`r-…`), OUs (`ou-…`), member accounts (12 digits), customer-managed
//! policies (`p-…`), the resource policy (`rp-…`) and responsibility transfers (`rt-…`).
//! Tags live in `org.tag` under `<org>/<resource id>/<key>`.
//!
//! Rules (Organizations API reference, `TagResource` / `Tag` / `ConstraintViolationException`):
//! - at most 50 tags per resource → `ConstraintViolationException` `MAX_TAG_LIMIT_EXCEEDED`
//!   (counted after the request is applied, so overwriting keys never trips it);
//! - a key twice in one request → `InvalidInputException` `DUPLICATE_TAG_KEY`;
//! - keys beginning with `aws:` are system tags → `InvalidInputException`
//!   `INVALID_SYSTEM_TAGS_PARAMETER` (also for `UntagResource`);
//! - AWS-managed policies cannot be tagged → `InvalidInputException` `IMMUTABLE_POLICY` [M].
//!
//! Not implemented: enforcement of tag policies on Organizations resources
//! (`TAG_POLICY_VIOLATION`).

use crate::authz;
use crate::model::{self, NodeKind, Org, Page, require_management, require_org};
use cairn_api::organizations::{Error, types};
use cairn_core::{Call, Failure};
use cairn_store::Tx;
use cairn_wire::ApiError;
use std::collections::BTreeSet;

/// Tags per resource.
pub(crate) const MAX_TAGS: usize = 50;

fn target_not_found() -> Failure {
    Failure(ApiError::new(
        Error::TargetNotFoundException,
        "We can't find a root, OU, account, or policy with the TargetId that you specified.",
    ))
}

/// Checks the tags of one request (duplicate keys, system keys).
pub(crate) fn check_request_tags<'a>(
    keys: impl IntoIterator<Item = &'a str>,
) -> Result<(), Failure> {
    let mut seen = BTreeSet::new();
    for key in keys {
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(model::invalid_input(
                "INVALID_SYSTEM_TAGS_PARAMETER",
                "You specified a tag key that is a system tag. You can't add, edit, or delete system tag keys because they're reserved for AWS use.",
            ));
        }
        if !seen.insert(key) {
            return Err(model::invalid_input(
                "DUPLICATE_TAG_KEY",
                "You specified the same tag key more than once in the request.",
            ));
        }
    }
    Ok(())
}

/// Tags given on a call that creates something (an OU, a policy, an invitation, an
/// account request, the resource policy, a transfer): the request checks and the limit of
/// tags one resource may carry.
pub(crate) fn check_new_tags(tags: &[types::Tag]) -> Result<(), Failure> {
    check_request_tags(tags.iter().map(|t| t.key.as_str()))?;
    if tags.len() > MAX_TAGS {
        return Err(model::constraint(
            "MAX_TAG_LIMIT_EXCEEDED",
            "You have exceeded the number of tags allowed on this resource.",
        ));
    }
    Ok(())
}

/// Writes `tags` on `resource` (which exists), enforcing the per-resource limit.
pub(crate) fn put_tags(
    tx: &mut dyn Tx,
    org: &Org,
    resource: &str,
    tags: &[types::Tag],
) -> Result<(), Failure> {
    check_request_tags(tags.iter().map(|t| t.key.as_str()))?;
    let mut keys: BTreeSet<String> = model::tags_of(tx, org, resource)?
        .into_iter()
        .map(|t| t.key)
        .collect();
    keys.extend(tags.iter().map(|t| t.key.clone()));
    if keys.len() > MAX_TAGS {
        return Err(model::constraint(
            "MAX_TAG_LIMIT_EXCEEDED",
            "You have exceeded the number of tags allowed on this resource.",
        ));
    }
    for t in tags {
        model::put_tag(tx, org, resource, &t.key, &t.value)?;
    }
    Ok(())
}

/// Whether a taggable resource exists; AWS-managed policies are refused.
fn require_taggable(tx: &mut dyn Tx, org: &Org, id: &str) -> Result<(), Failure> {
    let exists = if NodeKind::of(id).is_some() {
        model::node_exists(tx, org, id)?
    } else if id.starts_with("p-") {
        if model::aws_managed(id).is_some() {
            return Err(model::invalid_input(
                "IMMUTABLE_POLICY",
                "You specified a policy that is managed by AWS and can't be modified.",
            ));
        }
        model::get_policy(tx, org, id)?.is_some()
    } else if id.starts_with("rp-") {
        // The resource policy record is the delegation module's; it carries its ID.
        match model::get_json::<serde_json::Value>(tx, model::RESOURCE_POLICY, &org.id)? {
            Some(v) => ["id", "Id"]
                .iter()
                .any(|k| v.get(*k).and_then(serde_json::Value::as_str) == Some(id)),
            None => false,
        }
    } else if id.starts_with("rt-") {
        tx.get(model::TRANSFERS, id.as_bytes())?.is_some()
    } else {
        false
    };
    if exists {
        Ok(())
    } else {
        Err(target_not_found())
    }
}

pub(crate) async fn tag_resource(
    ctx: &Call,
    input: types::TagResourceRequest,
) -> Result<(), ApiError> {
    let account_id = ctx.account_id().to_owned();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management(&org, &account_id)?;
        require_taggable(tx, &org, &input.resource_id)?;
        put_tags(tx, &org, &input.resource_id, &input.tags)
    })
    .await
}

pub(crate) async fn untag_resource(
    ctx: &Call,
    input: types::UntagResourceRequest,
) -> Result<(), ApiError> {
    let account_id = ctx.account_id().to_owned();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &account_id)?;
        require_management(&org, &account_id)?;
        require_taggable(tx, &org, &input.resource_id)?;
        for key in &input.tag_keys {
            if key.to_ascii_lowercase().starts_with("aws:") {
                return Err(model::invalid_input(
                    "INVALID_SYSTEM_TAGS_PARAMETER",
                    "You specified a tag key that is a system tag. You can't add, edit, or delete system tag keys because they're reserved for AWS use.",
                ));
            }
        }
        for key in &input.tag_keys {
            tx.delete(
                model::TAGS,
                format!("{}/{}/{key}", org.id, input.resource_id).as_bytes(),
            )?;
        }
        Ok(())
    })
    .await
}

pub(crate) async fn list_tags_for_resource(
    ctx: &Call,
    input: types::ListTagsForResourceRequest,
) -> Result<types::ListTagsForResourceResponse, ApiError> {
    let account_id = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &account_id)?;
        model::require_management_or_delegated(tx, &org, &account_id)?;
        let page = Page::new(
            format!("ListTagsForResource/{account_id}/{}", input.resource_id),
            input.next_token.as_deref(),
            None,
        )?;
        require_taggable(tx, &org, &input.resource_id)?;
        let (tags, next_token) = page.apply(model::tags_of(tx, &org, &input.resource_id)?, |t| {
            t.key.clone()
        });
        Ok(types::ListTagsForResourceResponse {
            next_token,
            tags: Some(tags),
        })
    })
    .await
}

/// Checks a request's tags as AWS does ([`check_new_tags`]); returns them as
/// pairs.
pub(crate) fn tag_pairs(tags: Option<&[types::Tag]>) -> Result<Vec<(String, String)>, Failure> {
    let tags = tags.unwrap_or_default();
    check_new_tags(tags)?;
    Ok(tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect())
}
