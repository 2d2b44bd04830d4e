//! The authorize step: every signed AWS API call is decided by the IAM policy engine
//! (`cairn-policy`) before its handler runs, table-driven by the authorization catalogue.
//!
//! For one call:
//! 1. The catalogue entry of the operation gives the IAM action, the resources (ARN
//!    templates and where each variable comes from) and the condition keys fed by the input.
//!    Calls IAM never authorizes (unsigned portal/OIDC calls; `sts:GetCallerIdentity`,
//!    `sts:GetSessionToken`) pass.
//! 2. The facts are gathered ([`gather`]): the principal's identity policies and permissions
//!    boundary (cached per principal under the IAM generation, [`cache`]), its account's place
//!    in its organization and the SCPs along that path (cached per account under the
//!    Organizations generation), the session policies of temporary
//!    credentials, the resource ARNs (from the input, the organization, or the store), and
//!    the resource-based policy where the action has one (a role's trust policy for
//!    `sts:AssumeRole`) — what a service knows of its own resources it answers through
//!    [`cairn_core::ResourceFacts`] ([`resolve`] renders the ARNs). Warm caches and an input
//!    that names its resources make this free of store reads; otherwise it is one read-only
//!    snapshot.
//! 3. The request context ([`context`]) carries the global condition keys (aws-facts §5.5;
//!    the principal's from `cairn_policy::principal_keys`, shared with the simulator) and the
//!    catalogue's `condition_sources`.
//! 4. Each (action, resource) pair ([`decide`]) — the operation's own and the `also_requires` actions whose
//!    input member is present — must be allowed. The first denial answers with the service's
//!    AccessDenied shape and AWS's message, and the pipeline records it in CloudTrail.
//!
//! Caches are per process: with several Cairn processes on one PostgreSQL database, a change
//! made through another process is seen after at most `credential_cache_ms`.

pub(crate) mod cache;
pub(crate) mod catalogue;
pub(crate) mod context;
pub(crate) mod decide;
pub(crate) mod gather;
pub(crate) mod recorded;
pub(crate) mod resolve;

pub use cache::AuthzCache;

use crate::app::App;
use cairn_core::{Call, Principal};
use cairn_wire::ApiError;
use catalogue::Catalogue;
use serde_json::Value;

/// Decides whether the call may proceed.
pub(crate) async fn authorize(
    app: &App,
    call: &Call,
    service: usize,
    op_index: usize,
    input: &Value,
) -> Result<(), ApiError> {
    // `--dev` is not checked here: its unknown credentials act as the bootstrap account's
    // root, which is authorized as the root always is, and the credentials Cairn issued keep
    // their owners' permissions.
    let info = call.info();
    let principal = call.principal();
    // A principal of another scheme than the operation's never reaches its handler: an
    // unsigned caller only the operations the model marks unauthenticated, an Identity Center
    // user only the portal API (its bearer token's and browser session's one use), and a
    // signed caller only the SigV4 operations (see `authn`).
    let scheme = crate::authn::scheme(info.model, info.operation);
    match (principal, scheme) {
        (Principal::Anonymous, crate::authn::Scheme::None)
        | (Principal::OidcClient { .. }, crate::authn::Scheme::OidcClient)
        | (Principal::IdentityCenterUser(_), crate::authn::Scheme::PortalBearer) => return Ok(()),
        (
            Principal::Anonymous | Principal::OidcClient { .. } | Principal::IdentityCenterUser(_),
            _,
        )
        | (
            _,
            crate::authn::Scheme::None
            | crate::authn::Scheme::OidcClient
            | crate::authn::Scheme::PortalBearer,
        ) => {
            tracing::error!(
                operation = info.operation.name,
                "a principal of another authentication scheme reached authorization; refusing"
            );
            return Err(cairn_wire::CommonError::AccessDenied(format!(
                "{} cannot call {}.",
                principal.arn(),
                info.operation.name
            ))
            .to_api_error(info.model.protocol));
        }
        _ => {}
    }
    let protocol = info.model.protocol;
    decide::temporary_credential_limits(
        principal,
        info.model.signing_name,
        info.operation.name,
        protocol,
    )?;
    let Some(op) = Catalogue::get().op(service, op_index) else {
        tracing::error!(
            operation = info.operation.name,
            "no authorization catalogue entry; refusing"
        );
        return Err(ApiError::internal());
    };
    let Some(action) = op.action.as_deref() else {
        return Ok(());
    };
    if !op.policy_checked {
        return Ok(());
    }
    let resource_facts = app.services.resource_facts();
    let ttl_ms = app.config.credential_cache_ms;
    let facts = gather::gather(gather::Inputs {
        env: &app.env,
        cache: &app.authz,
        ttl_ms,
        facts: resource_facts,
        principal,
        region: &info.region,
        service_index: service,
        op,
        action,
        input,
    })
    .await?;
    call.set_resources(recorded::recorded(
        &facts.checks,
        action,
        principal.account_id(),
    ));
    if decide::root_unrestricted(principal, &facts) {
        // The root user has every permission in its own account; only SCPs, RCPs and a
        // resource policy (none of which apply here) could restrict it.
        return Ok(());
    }
    let tags =
        gather::resource_tags(&app.env, &app.authz, ttl_ms, resource_facts, &facts.checks).await?;
    let region = if info.model.global {
        "us-east-1"
    } else {
        info.region.as_str()
    };
    let service_prefix = action.split(':').next().unwrap_or("");
    let identity_tags = facts
        .identity
        .as_ref()
        .map(|i| i.tags.clone())
        .unwrap_or_default();
    let context = context::build(&context::ContextInput {
        principal,
        region,
        source_ip: &info.source_ip,
        user_agent: &info.user_agent,
        now_ms: app.env.clock.now_millis(),
        org: facts.org.as_deref(),
        identity_tags: &identity_tags,
        owned_by_management: resource_facts
            .iter()
            .any(|f| f.service() == service_prefix && f.owned_by_management()),
        op,
        input,
        stored: &facts.stored,
    });
    decide::decide(principal, &facts, &tags, &context, protocol)
}
