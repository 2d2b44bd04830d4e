//! The access portal's API (`sso`, signing name `awsssoportal`): with the bearer token from
//! sso-oidc, a user lists the accounts and roles assigned to them — directly or through a
//! group, provisioned — and gets a role session's credentials. The session is the
//! `AWSReservedSSO_<set>_<hex>` role of the account, named after the user, lasting the
//! permission set's session duration, tagged with the instance's access-control
//! attributes; the engine then evaluates it as any role session (the set's policies,
//! boundary, the account's SCPs).

use crate::assign::{ASSIGNMENTS_OF, PROVISIONED, ProvisionedRec};
use crate::directory::{self, UserRec};
use crate::model::{self, InstanceRec};
use crate::oidc;
use crate::{abac, permsets};
use cairn_api::sso::{Error, SsoPortal, types};
use cairn_core::{Call, Failure, IdentityCenterUser, Principal, Session};
use cairn_iam::Sealer;
use cairn_store::Tx;
use cairn_wire::ApiError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// `ListAccounts` / `ListAccountRoles` page size without `maxResults` [M].
const DEFAULT_PAGE: usize = 100;

pub fn unauthorized() -> ApiError {
    // What the portal answers a token it does not know, an expired or a revoked one.
    ApiError::new(
        Error::UnauthorizedException,
        "Session token not found or invalid",
    )
}

fn not_found() -> ApiError {
    // [M]: the text.
    ApiError::new(Error::ResourceNotFoundException, "No access")
}

/// One role a user may take: a permission set provisioned to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub account_id: String,
    pub permission_set_id: String,
    pub permission_set_name: String,
    pub session_duration: String,
    pub role: ProvisionedRec,
}

/// Every account and role `user` is entitled to in `inst`, sorted by account and role.
pub fn entitlements(
    tx: &mut dyn Tx,
    inst: &InstanceRec,
    user_id: &str,
) -> Result<Vec<Entitlement>, Failure> {
    let mut principals = vec![format!("{}/USER/{user_id}/", inst.id)];
    for g in directory::groups_of(tx, &inst.store_id, user_id)? {
        principals.push(format!("{}/GROUP/{g}/", inst.id));
    }
    let mut pairs: BTreeMap<(String, String), ()> = BTreeMap::new();
    for prefix in principals {
        for (k, _) in model::scan_strings(tx, ASSIGNMENTS_OF, &prefix)? {
            if let Some((account, ps)) = k.get(prefix.len()..).and_then(|r| r.split_once('/')) {
                pairs.insert((account.to_owned(), ps.to_owned()), ());
            }
        }
    }
    let mut out = Vec::new();
    for (account, ps_id) in pairs.into_keys() {
        let role: Option<ProvisionedRec> =
            model::get_json(tx, PROVISIONED, &format!("{}/{ps_id}/{account}", inst.id))?;
        let (Some(role), Some(ps)) = (role, permsets::get(tx, &inst.id, &ps_id)?) else {
            continue;
        };
        out.push(Entitlement {
            account_id: account,
            permission_set_id: ps_id,
            permission_set_name: ps.name,
            session_duration: ps.session_duration,
            role,
        });
    }
    out.sort_by(|a, b| {
        (&a.account_id, &a.permission_set_name).cmp(&(&b.account_id, &b.permission_set_name))
    });
    Ok(out)
}

/// An account's name and email, from Organizations (none for an account outside one).
pub fn account_info(tx: &mut dyn Tx, account: &str) -> Result<(String, String), Failure> {
    if let Some(org) = cairn_organizations::org_of(tx, account)?
        && let Some(rec) = cairn_organizations::model::get_account_rec(tx, &org, account)?
    {
        return Ok((rec.name, rec.email));
    }
    Ok((account.to_owned(), String::new()))
}

/// A value of a user for an access-control attribute source such as
/// `${path:userName}`, `${path:name.givenName}`, `${path:emails[primary eq true].value}`,
/// `${path:enterprise.department}` (User Guide, "Attributes for access control": the
/// supported user attributes).
fn attribute_value(user: &UserRec, source: &str) -> Option<String> {
    let path = source.strip_prefix("${path:")?.strip_suffix('}')?;
    let cap = |s: &str| {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
            .unwrap_or_default()
    };
    if path.starts_with("emails") {
        let emails = user.attrs.get("Emails")?.as_array()?;
        let primary = emails
            .iter()
            .find(|e| e.get("Primary").and_then(Value::as_bool) == Some(true))
            .or_else(|| emails.first())?;
        return primary.get("Value")?.as_str().map(str::to_owned);
    }
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut v: &Value = if first == "enterprise" {
        user.attrs
            .get("Extensions")?
            .get("aws:identitystore:enterprise")?
    } else {
        user.attrs.get(&cap(first))?
    };
    if first == "enterprise" {
        let next = parts.next()?;
        v = v.get(next).or_else(|| v.get(cap(next)))?;
    }
    for p in parts {
        v = v.get(cap(p)).or_else(|| v.get(p))?;
    }
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Credentials for `user`'s session in `account` as the permission set `role_name`, if
/// the user is entitled to it: the provisioned role, named after the user, for the set's
/// session duration (never beyond `session_end_ms`, the portal session it came from), with
/// the instance's access-control attributes as session tags.
#[allow(clippy::too_many_arguments, reason = "the parts of one request, named")]
pub fn role_credentials(
    tx: &mut dyn Tx,
    sealer: &Sealer,
    ids: &dyn cairn_core::Ids,
    now: i64,
    inst: &InstanceRec,
    user: &UserRec,
    account_id: &str,
    role_name: &str,
    session_end_ms: i64,
) -> Result<Result<cairn_api::sts::types::Credentials, ApiError>, Failure> {
    let Some(ent) = entitlements(tx, inst, &user.id)?
        .into_iter()
        .find(|e| e.account_id == account_id && e.permission_set_name == role_name)
    else {
        return Ok(Err(not_found()));
    };
    let Some((role_id, role_path)) =
        cairn_iam::sts::role_identity(tx, &ent.account_id, &ent.role.role_name)?
    else {
        return Ok(Err(not_found()));
    };
    let duration_s = permsets::parse_duration(&ent.session_duration).unwrap_or(3600);
    // At least 15 minutes (the shortest session a role allows), even at a session's end.
    let expires_ms = (now + duration_s * 1000).min(session_end_ms.max(now + 900_000));
    let mut tags = Vec::new();
    for (key, sources) in abac::access_control_attributes(tx, inst)? {
        if let Some(v) = sources.iter().find_map(|s| attribute_value(user, s)) {
            tags.push((key, v));
        }
    }
    let session = Session {
        issued_at_ms: now,
        expires_ms,
        mfa_authenticated: false,
        source_identity: None,
        policy: None,
        policy_arns: Vec::new(),
        tags,
        transitive_tag_keys: Vec::new(),
        chained: false,
        assumed_root: false,
        on_behalf_of: Some(cairn_core::OnBehalfOf {
            user_id: user.id.clone(),
            identity_store_arn: inst.store_arn(),
        }),
        ..Session::default()
    };
    let session_name = user.user_name().unwrap_or(&user.id).to_owned();
    Ok(cairn_iam::sts::issue_role_session(
        sealer,
        ids,
        &ent.account_id,
        &ent.role.role_name,
        &role_id,
        &role_path,
        &session_name,
        session,
    ))
}

/// The portal API.
pub struct PortalService {
    sealer: Option<Sealer>,
}

impl PortalService {
    pub fn new(sealer: Option<Sealer>) -> Self {
        PortalService { sealer }
    }
}

/// The Identity Center user the call is authenticated as (the pipeline's bearer
/// authenticator, or the portal's browser session), or `UnauthorizedException`.
fn portal_user(ctx: &Call) -> Result<Arc<IdentityCenterUser>, ApiError> {
    match ctx.principal() {
        Principal::IdentityCenterUser(u) => Ok(Arc::clone(u)),
        _ => Err(unauthorized()),
    }
}

/// The user's instance and directory entry, read again in the call's transaction (the
/// user may have been deleted since authentication), or `UnauthorizedException`.
fn load(
    tx: &mut dyn Tx,
    u: &IdentityCenterUser,
) -> Result<Result<(InstanceRec, UserRec), ApiError>, Failure> {
    let Some(inst) = model::instance(tx, &u.instance_id)?.filter(|i| i.status == "ACTIVE") else {
        return Ok(Err(unauthorized()));
    };
    let Some(user) = directory::user(tx, &u.store_id, &u.user_id)? else {
        return Ok(Err(unauthorized()));
    };
    Ok(Ok((inst, user)))
}

fn page<T: Clone>(
    items: &[T],
    key: impl Fn(&T) -> String,
    next_token: Option<&str>,
    max: Option<i32>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let max = max.map_or(DEFAULT_PAGE, |m| usize::try_from(m).unwrap_or(1).max(1));
    let start = match next_token {
        None => 0,
        Some(t) => match items.iter().position(|i| key(i) == t) {
            Some(p) => p + 1,
            None => {
                return Err(ApiError::new(
                    Error::InvalidRequestException,
                    "The nextToken is not valid.",
                ));
            }
        },
    };
    let rest = items.get(start..).unwrap_or(&[]);
    let taken: Vec<T> = rest.iter().take(max).cloned().collect();
    let next = (rest.len() > max).then(|| taken.last().map(&key)).flatten();
    Ok((taken, next))
}

impl SsoPortal for PortalService {
    type Context = Call;

    async fn list_accounts(
        &self,
        ctx: &Call,
        input: types::ListAccountsRequest,
    ) -> Result<types::ListAccountsResponse, ApiError> {
        let u = portal_user(ctx)?;
        let accounts = ctx
            .read(move |tx| {
                let (inst, user) = match load(tx, &u)? {
                    Ok(g) => g,
                    Err(e) => return Ok(Err(e)),
                };
                let mut ids: Vec<String> = entitlements(tx, &inst, &user.id)?
                    .into_iter()
                    .map(|e| e.account_id)
                    .collect();
                ids.dedup();
                let mut out = Vec::new();
                for id in ids {
                    let (name, email) = account_info(tx, &id)?;
                    out.push(types::AccountInfo {
                        account_id: Some(id),
                        account_name: Some(name),
                        email_address: Some(email),
                    });
                }
                Ok(page(
                    &out,
                    |a| a.account_id.clone().unwrap_or_default(),
                    input.next_token.as_deref(),
                    input.max_results,
                ))
            })
            .await?;
        let (account_list, next_token) = accounts?;
        Ok(types::ListAccountsResponse {
            account_list: Some(account_list),
            next_token,
        })
    }

    async fn list_account_roles(
        &self,
        ctx: &Call,
        input: types::ListAccountRolesRequest,
    ) -> Result<types::ListAccountRolesResponse, ApiError> {
        let u = portal_user(ctx)?;
        let roles = ctx
            .read(move |tx| {
                let (inst, user) = match load(tx, &u)? {
                    Ok(g) => g,
                    Err(e) => return Ok(Err(e)),
                };
                let roles: Vec<types::RoleInfo> = entitlements(tx, &inst, &user.id)?
                    .into_iter()
                    .filter(|e| e.account_id == input.account_id)
                    .map(|e| types::RoleInfo {
                        account_id: Some(e.account_id),
                        role_name: Some(e.permission_set_name),
                    })
                    .collect();
                Ok(page(
                    &roles,
                    |r| r.role_name.clone().unwrap_or_default(),
                    input.next_token.as_deref(),
                    input.max_results,
                ))
            })
            .await?;
        let (role_list, next_token) = roles?;
        Ok(types::ListAccountRolesResponse {
            next_token,
            role_list: Some(role_list),
        })
    }

    async fn get_role_credentials(
        &self,
        ctx: &Call,
        input: types::GetRoleCredentialsRequest,
    ) -> Result<types::GetRoleCredentialsResponse, ApiError> {
        let Some(sealer) = self.sealer.clone() else {
            tracing::error!("the portal has no sealer: role credentials cannot be issued");
            return Err(ApiError::internal());
        };
        let u = portal_user(ctx)?;
        let now = ctx.now_ms();
        let ids = ctx.ids_arc();
        let creds = ctx
            .read(move |tx| {
                let (inst, user) = match load(tx, &u)? {
                    Ok(g) => g,
                    Err(e) => return Ok(Err(e)),
                };
                role_credentials(
                    tx,
                    &sealer,
                    ids.as_ref(),
                    now,
                    &inst,
                    &user,
                    &input.account_id,
                    &input.role_name,
                    u.session_expires_ms,
                )
            })
            .await?;
        let creds = creds?;
        Ok(types::GetRoleCredentialsResponse {
            role_credentials: Some(types::RoleCredentials {
                access_key_id: Some(creds.access_key_id),
                // The portal answers the expiry in epoch milliseconds.
                expiration: Some(creds.expiration.millis),
                secret_access_key: Some(creds.secret_access_key),
                session_token: Some(creds.session_token),
            }),
        })
    }

    async fn logout(&self, ctx: &Call, _input: types::LogoutRequest) -> Result<(), ApiError> {
        // The credential the call authenticated with, whichever it is (the token in
        // `accessToken`, or the browser session behind the portal's sign-out).
        let u = portal_user(ctx)?;
        ctx.write_outcome(move |tx| {
            if crate::authn::end(tx, &u.credential)? {
                Ok(Ok(()))
            } else {
                Ok(Err(unauthorized()))
            }
        })
        .await
    }
}

/// The OIDC API.
pub struct OidcService {
    public_url: String,
}

impl OidcService {
    /// `public_url`: where browsers reach this server (the device verification page).
    pub fn new(public_url: &str) -> Self {
        OidcService {
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }
}

impl cairn_api::sso_oidc::SsoOidc for OidcService {
    type Context = Call;

    async fn register_client(
        &self,
        ctx: &Call,
        input: cairn_api::sso_oidc::types::RegisterClientRequest,
    ) -> Result<cairn_api::sso_oidc::types::RegisterClientResponse, ApiError> {
        let ids = ctx.ids_arc();
        let now = ctx.now_ms();
        ctx.write_outcome(move |tx| oidc::register_client(tx, ids.as_ref(), now, &input))
            .await
    }

    async fn start_device_authorization(
        &self,
        ctx: &Call,
        input: cairn_api::sso_oidc::types::StartDeviceAuthorizationRequest,
    ) -> Result<cairn_api::sso_oidc::types::StartDeviceAuthorizationResponse, ApiError> {
        let ids = ctx.ids_arc();
        let now = ctx.now_ms();
        let url = self.public_url.clone();
        ctx.write_outcome(move |tx| {
            oidc::start_device_authorization(tx, ids.as_ref(), now, &url, &input)
        })
        .await
    }

    async fn create_token(
        &self,
        ctx: &Call,
        input: cairn_api::sso_oidc::types::CreateTokenRequest,
    ) -> Result<cairn_api::sso_oidc::types::CreateTokenResponse, ApiError> {
        let ids = ctx.ids_arc();
        let now = ctx.now_ms();
        ctx.write_outcome(move |tx| oidc::create_token(tx, ids.as_ref(), now, &input))
            .await
    }

    async fn create_token_with_iam(
        &self,
        ctx: &Call,
        input: cairn_api::sso_oidc::types::CreateTokenWithIAMRequest,
    ) -> Result<cairn_api::sso_oidc::types::CreateTokenWithIAMResponse, ApiError> {
        let ids = ctx.ids_arc();
        let now = ctx.now_ms();
        ctx.write_outcome(move |tx| {
            crate::oidc_iam::create_token_with_iam(tx, ids.as_ref(), now, &input)
        })
        .await
    }
}
