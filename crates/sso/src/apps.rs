//! Applications (customer-managed OAuth and SAML applications of an instance) and what hangs
//! off them: assignments of users and groups, the assignment configuration, access scopes,
//! authentication methods, grants and the background-session setting. Facts:
//! `notes/sso-admin-facts.md` §9 — `AssignmentRequired` defaults to true, access scopes ≤ 25
//! per application, `AuthenticationMethodType` is `IAM` only, a grant must match its type,
//! account instances have no SAML applications.
//! ARN: `arn:<partition>:sso::<owner account>:application/<ssoins-…>/apl-<16 hex>`.
//!
//! Spaces:
//! - `sso.app` — `<instance id>/<apl id>` → [`AppRec`];
//! - `sso.app_assign` — `<instance id>/<apl id>/<USER|GROUP>/<principal>` → `""`;
//! - `sso.app_assign_of` — `<instance id>/<USER|GROUP>/<principal>/<apl id>` → `""`.

use crate::instance::{require_active, validation};
use crate::model::{self, AdminCtx, InstanceRec, Page};
use cairn_api::sso_admin::{Error, types};
use cairn_core::{Failure, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::{ApiError, Timestamp};
use serde::{Deserialize, Serialize};

pub const APPS: &str = "sso.app";
pub const APP_ASSIGN: &str = "sso.app_assign";
pub const APP_ASSIGN_OF: &str = "sso.app_assign_of";

/// Access scopes per application (User Guide, quotas).
const MAX_SCOPES: usize = 25;

/// The application providers Cairn offers: the two of customer-managed applications
/// (`custom`: OAuth 2.0; `custom-saml`: SAML 2.0; API Reference, CreateApplication examples).
const PROVIDERS: &[(&str, types::FederationProtocol, &str, &str)] = &[
    (
        "arn:aws:sso::aws:applicationProvider/custom",
        types::FederationProtocol::Oauth,
        "Custom OAuth 2.0 application",
        "A customer managed application that uses OAuth 2.0.",
    ),
    (
        "arn:aws:sso::aws:applicationProvider/custom-saml",
        types::FederationProtocol::Saml,
        "Custom SAML 2.0 application",
        "A customer managed application that uses SAML 2.0.",
    ),
];

/// An application and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppRec {
    pub v: u32,
    /// `apl-` and 16 hex digits.
    pub id: String,
    pub instance_id: String,
    /// The account that created it.
    pub account: String,
    pub provider_arn: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `ENABLED` or `DISABLED`.
    pub status: String,
    #[serde(default)]
    pub portal: Option<types::PortalOptions>,
    pub created_ms: i64,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    #[serde(default)]
    pub client_token: Option<String>,
    pub assignment_required: bool,
    #[serde(default)]
    pub scopes: Vec<(String, Vec<String>)>,
    #[serde(default)]
    pub auth_methods: Vec<(String, types::AuthenticationMethod)>,
    #[serde(default)]
    pub grants: Vec<(String, types::Grant)>,
    #[serde(default)]
    pub background_sessions: Option<String>,
}

impl AppRec {
    pub fn arn(&self, inst: &InstanceRec) -> String {
        format!(
            "arn:{}:sso::{}:application/{}/{}",
            cairn_core::partition::CANONICAL,
            self.account,
            inst.id,
            self.id
        )
    }

    fn status(&self) -> types::ApplicationStatus {
        if self.status == "DISABLED" {
            types::ApplicationStatus::Disabled
        } else {
            types::ApplicationStatus::Enabled
        }
    }
}

fn key(inst: &str, id: &str) -> String {
    format!("{inst}/{id}")
}

fn not_found(arn: &str) -> Failure {
    // [M]: the text.
    Failure(ApiError::new(
        Error::ResourceNotFoundException,
        format!("The application {arn} does not exist."),
    ))
}

fn missing(what: &str) -> Failure {
    Failure(ApiError::new(Error::ResourceNotFoundException, what))
}

/// The application an ARN names, whoever asks.
pub fn lookup(tx: &mut dyn Tx, arn: &str) -> Result<Option<(InstanceRec, AppRec)>, Failure> {
    let mut parts = arn.rsplit('/');
    let (Some(id), Some(inst_id)) = (parts.next(), parts.next()) else {
        return Ok(None);
    };
    let Some(inst) = model::instance(tx, inst_id)? else {
        return Ok(None);
    };
    let rec: Option<AppRec> = model::get_json(tx, APPS, &key(inst_id, id))?;
    Ok(rec.filter(|r| r.arn(&inst) == arn).map(|r| (inst, r)))
}

/// The application, as `account` may administer it (its instance's administrators).
fn require(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
) -> Result<(InstanceRec, AppRec), Failure> {
    match lookup(tx, arn)? {
        Some((inst, rec)) if model::may_administer(tx, orgs, &inst, account)? => Ok((inst, rec)),
        _ => Err(not_found(arn)),
    }
}

fn save(tx: &mut dyn Tx, rec: &AppRec) -> Result<(), Failure> {
    model::put_json(tx, APPS, &key(&rec.instance_id, &rec.id), rec)
}

fn all(tx: &mut dyn Tx, inst_id: &str) -> Result<Vec<AppRec>, Failure> {
    let mut out = Vec::new();
    for (_, raw) in tx.scan_prefix(APPS, format!("{inst_id}/").as_bytes(), false, usize::MAX)? {
        out.push(serde_json::from_slice(&raw).map_err(|_| model::corrupt(APPS))?);
    }
    Ok(out)
}

fn bad_token() -> Failure {
    validation("The provided NextToken is not valid.")
}

fn provider(arn: &str) -> Option<types::ApplicationProvider> {
    PROVIDERS
        .iter()
        .find(|(a, ..)| *a == arn)
        .map(
            |(a, protocol, name, description)| types::ApplicationProvider {
                application_provider_arn: (*a).to_owned(),
                display_data: Some(types::DisplayData {
                    description: Some((*description).to_owned()),
                    display_name: Some((*name).to_owned()),
                    icon_url: None,
                }),
                federation_protocol: Some(*protocol),
                resource_server_config: None,
            },
        )
}

// --------------------------------------------------------------------------- applications

pub fn create_application(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::CreateApplicationRequest,
) -> Result<types::CreateApplicationResponse, Failure> {
    let inst = require_active(tx, orgs, &c.account, &input.instance_arn)?;
    let respond = |rec: &AppRec| types::CreateApplicationResponse {
        application_arn: Some(rec.arn(&inst)),
        identity_store_arn: Some(inst.store_arn()),
        instance_arn: Some(inst.arn()),
    };
    if let Some(token) = &input.client_token
        && let Some(same) = all(tx, &inst.id)?
            .into_iter()
            .find(|r| r.client_token.as_deref() == Some(token.as_str()))
    {
        return Ok(respond(&same));
    }
    let Some(p) = provider(&input.application_provider_arn) else {
        return Err(missing(&format!(
            "The application provider {} does not exist.",
            input.application_provider_arn
        )));
    };
    if inst.org_id.is_none() && p.federation_protocol == Some(types::FederationProtocol::Saml) {
        // Account instances have no SAML 2.0 applications (User Guide, instance types) [M:
        // the text].
        return Err(validation(
            "SAML 2.0 applications are not available in account instances of IAM Identity Center.",
        ));
    }
    let rec = AppRec {
        v: model::FORMAT,
        id: format!("apl-{}", c.ids.hex(16)),
        instance_id: inst.id.clone(),
        account: c.account.clone(),
        provider_arn: input.application_provider_arn.clone(),
        name: input.name.clone(),
        description: input.description.clone(),
        status: input
            .status
            .map_or("ENABLED", types::ApplicationStatus::as_str)
            .to_owned(),
        portal: input.portal_options.clone(),
        created_ms: c.now_ms,
        tags: crate::tags::merge(&[], input.tags.as_deref().unwrap_or_default())?,
        client_token: input.client_token.clone(),
        assignment_required: true,
        scopes: Vec::new(),
        auth_methods: Vec::new(),
        grants: Vec::new(),
        background_sessions: None,
    };
    save(tx, &rec)?;
    Ok(respond(&rec))
}

fn describe(inst: &InstanceRec, r: &AppRec) -> types::Application {
    types::Application {
        application_account: Some(r.account.clone()),
        application_arn: Some(r.arn(inst)),
        application_provider_arn: Some(r.provider_arn.clone()),
        created_date: Some(Timestamp::from_millis(r.created_ms)),
        created_from: None,
        description: r.description.clone(),
        identity_store_arn: Some(inst.store_arn()),
        instance_arn: Some(inst.arn()),
        name: Some(r.name.clone()),
        portal_options: r.portal.clone(),
        status: Some(r.status()),
    }
}

pub fn describe_application(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DescribeApplicationRequest,
) -> Result<types::DescribeApplicationResponse, Failure> {
    let (inst, r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let a = describe(&inst, &r);
    Ok(types::DescribeApplicationResponse {
        application_account: a.application_account,
        application_arn: a.application_arn,
        application_provider_arn: a.application_provider_arn,
        created_date: a.created_date,
        created_from: a.created_from,
        description: a.description,
        identity_store_arn: a.identity_store_arn,
        instance_arn: a.instance_arn,
        name: a.name,
        portal_options: a.portal_options,
        status: a.status,
    })
}

pub fn update_application(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::UpdateApplicationRequest,
) -> Result<types::UpdateApplicationResponse, Failure> {
    let (_, mut r) = require(tx, orgs, &c.account, &input.application_arn)?;
    if let Some(n) = &input.name {
        r.name = n.clone();
    }
    if let Some(d) = &input.description {
        r.description = Some(d.clone());
    }
    if let Some(s) = input.status {
        r.status = s.as_str().to_owned();
    }
    if let Some(p) = &input.portal_options {
        let mut portal = r.portal.take().unwrap_or_default();
        if p.sign_in_options.is_some() {
            portal.sign_in_options = p.sign_in_options.clone();
        }
        r.portal = Some(portal);
    }
    save(tx, &r)?;
    Ok(types::UpdateApplicationResponse {})
}

pub fn delete_application(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DeleteApplicationRequest,
) -> Result<types::DeleteApplicationResponse, Failure> {
    let (inst, r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let prefix = format!("{}/{}/", inst.id, r.id);
    for (k, _) in tx.scan_prefix(APP_ASSIGN, prefix.as_bytes(), false, usize::MAX)? {
        let k = String::from_utf8(k).map_err(|_| model::corrupt(APP_ASSIGN))?;
        if let Some((t, id)) = k.strip_prefix(&prefix).and_then(|s| s.split_once('/')) {
            tx.delete(
                APP_ASSIGN_OF,
                format!("{}/{t}/{id}/{}", inst.id, r.id).as_bytes(),
            )?;
        }
        tx.delete(APP_ASSIGN, k.as_bytes())?;
    }
    tx.delete(APPS, key(&inst.id, &r.id).as_bytes())?;
    Ok(types::DeleteApplicationResponse {})
}

pub fn list_applications(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListApplicationsRequest,
) -> Result<types::ListApplicationsResponse, Failure> {
    let inst = require_active(tx, orgs, &c.account, &input.instance_arn)?;
    let f = input.filter.clone().unwrap_or_default();
    let page = Page::with_default(
        format!(
            "ListApplications/{}/{}/{:?}/{:?}",
            c.account, inst.id, f.application_account, f.application_provider
        ),
        input.next_token.as_deref(),
        input.max_results,
        100,
        bad_token,
    )?;
    let apps: Vec<AppRec> = all(tx, &inst.id)?
        .into_iter()
        .filter(|r| {
            f.application_account
                .as_ref()
                .is_none_or(|a| *a == r.account)
        })
        .filter(|r| {
            f.application_provider
                .as_ref()
                .is_none_or(|p| *p == r.provider_arn)
        })
        .collect();
    let (apps, next_token) = page.apply(apps, |r| r.id.clone());
    Ok(types::ListApplicationsResponse {
        applications: Some(apps.iter().map(|r| describe(&inst, r)).collect()),
        next_token,
    })
}

pub fn list_application_providers(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListApplicationProvidersRequest,
) -> Result<types::ListApplicationProvidersResponse, Failure> {
    let page = Page::with_default(
        format!("ListApplicationProviders/{}", c.account),
        input.next_token.as_deref(),
        input.max_results,
        100,
        bad_token,
    )?;
    let all: Vec<types::ApplicationProvider> =
        PROVIDERS.iter().filter_map(|(a, ..)| provider(a)).collect();
    let (items, next_token) = page.apply(all, |p| p.application_provider_arn.clone());
    Ok(types::ListApplicationProvidersResponse {
        application_providers: Some(items),
        next_token,
    })
}

pub fn describe_application_provider(
    _tx: &mut dyn Tx,
    _orgs: &dyn ResourceFacts,
    _c: &AdminCtx,
    input: &types::DescribeApplicationProviderRequest,
) -> Result<types::DescribeApplicationProviderResponse, Failure> {
    let p = provider(&input.application_provider_arn).ok_or_else(|| {
        missing(&format!(
            "The application provider {} does not exist.",
            input.application_provider_arn
        ))
    })?;
    Ok(types::DescribeApplicationProviderResponse {
        application_provider_arn: p.application_provider_arn,
        display_data: p.display_data,
        federation_protocol: p.federation_protocol,
        resource_server_config: p.resource_server_config,
    })
}

// ------------------------------------------------------------------------- assignments

fn principal_exists(
    tx: &mut dyn Tx,
    inst: &InstanceRec,
    t: types::PrincipalType,
    id: &str,
) -> Result<bool, Failure> {
    let space = match t {
        types::PrincipalType::Group => crate::directory::GROUPS,
        types::PrincipalType::User => crate::directory::USERS,
    };
    Ok(tx
        .get(space, format!("{}/{id}", inst.store_id).as_bytes())?
        .is_some())
}

fn assignment_keys(inst: &str, app: &str, t: &str, id: &str) -> [String; 2] {
    [
        format!("{inst}/{app}/{t}/{id}"),
        format!("{inst}/{t}/{id}/{app}"),
    ]
}

pub fn create_application_assignment(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::CreateApplicationAssignmentRequest,
) -> Result<types::CreateApplicationAssignmentResponse, Failure> {
    let (inst, r) = require(tx, orgs, &c.account, &input.application_arn)?;
    if !principal_exists(tx, &inst, input.principal_type, &input.principal_id)? {
        // [M]: the text.
        return Err(missing(&format!(
            "The {} {} does not exist in the identity store {}.",
            input.principal_type.as_str().to_lowercase(),
            input.principal_id,
            inst.store_id
        )));
    }
    // Assigning again changes nothing [M: AWS may answer ConflictException].
    let [a, b] = assignment_keys(
        &inst.id,
        &r.id,
        input.principal_type.as_str(),
        &input.principal_id,
    );
    tx.put(APP_ASSIGN, a.as_bytes(), b"")?;
    tx.put(APP_ASSIGN_OF, b.as_bytes(), b"")?;
    Ok(types::CreateApplicationAssignmentResponse {})
}

fn assignment_missing() -> Failure {
    // [M]: the text.
    missing("The application assignment does not exist.")
}

pub fn describe_application_assignment(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DescribeApplicationAssignmentRequest,
) -> Result<types::DescribeApplicationAssignmentResponse, Failure> {
    let (inst, r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let [a, _] = assignment_keys(
        &inst.id,
        &r.id,
        input.principal_type.as_str(),
        &input.principal_id,
    );
    if tx.get(APP_ASSIGN, a.as_bytes())?.is_none() {
        return Err(assignment_missing());
    }
    Ok(types::DescribeApplicationAssignmentResponse {
        application_arn: Some(r.arn(&inst)),
        principal_id: Some(input.principal_id.clone()),
        principal_type: Some(input.principal_type),
    })
}

pub fn delete_application_assignment(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DeleteApplicationAssignmentRequest,
) -> Result<types::DeleteApplicationAssignmentResponse, Failure> {
    let (inst, r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let [a, b] = assignment_keys(
        &inst.id,
        &r.id,
        input.principal_type.as_str(),
        &input.principal_id,
    );
    if !tx.delete(APP_ASSIGN, a.as_bytes())? {
        return Err(assignment_missing());
    }
    tx.delete(APP_ASSIGN_OF, b.as_bytes())?;
    Ok(types::DeleteApplicationAssignmentResponse {})
}

pub fn list_application_assignments(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListApplicationAssignmentsRequest,
) -> Result<types::ListApplicationAssignmentsResponse, Failure> {
    let (inst, r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let page = Page::with_default(
        format!(
            "ListApplicationAssignments/{}/{}/{}",
            c.account, inst.id, r.id
        ),
        input.next_token.as_deref(),
        input.max_results,
        100,
        bad_token,
    )?;
    let (rows, next_token) = page.scan_raw(tx, APP_ASSIGN, &format!("{}/{}/", inst.id, r.id))?;
    let arn = r.arn(&inst);
    Ok(types::ListApplicationAssignmentsResponse {
        application_assignments: Some(
            rows.iter()
                .filter_map(|(s, _)| s.split_once('/'))
                .filter_map(|(t, id)| {
                    Some(types::ApplicationAssignment {
                        application_arn: arn.clone(),
                        principal_id: id.to_owned(),
                        principal_type: types::PrincipalType::from_wire(t)?,
                    })
                })
                .collect(),
        ),
        next_token,
    })
}

pub fn list_application_assignments_for_principal(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListApplicationAssignmentsForPrincipalRequest,
) -> Result<types::ListApplicationAssignmentsForPrincipalResponse, Failure> {
    let inst = require_active(tx, orgs, &c.account, &input.instance_arn)?;
    let only = input
        .filter
        .as_ref()
        .and_then(|f| f.application_arn.clone());
    let t = input.principal_type.as_str();
    let page = Page::with_default(
        format!(
            "ListApplicationAssignmentsForPrincipal/{}/{}/{t}/{}/{only:?}",
            c.account, inst.id, input.principal_id
        ),
        input.next_token.as_deref(),
        input.max_results,
        100,
        bad_token,
    )?;
    let prefix = format!("{}/{t}/{}/", inst.id, input.principal_id);
    let mut items = Vec::new();
    for (k, _) in tx.scan_prefix(APP_ASSIGN_OF, prefix.as_bytes(), false, usize::MAX)? {
        let k = String::from_utf8(k).map_err(|_| model::corrupt(APP_ASSIGN_OF))?;
        let Some(app) = k.strip_prefix(&prefix) else {
            continue;
        };
        let Some(r) = model::get_json::<AppRec>(tx, APPS, &key(&inst.id, app))? else {
            continue;
        };
        let arn = r.arn(&inst);
        if only.as_ref().is_none_or(|o| *o == arn) {
            items.push((app.to_owned(), arn));
        }
    }
    let (items, next_token) = page.apply(items, |(k, _)| k.clone());
    Ok(types::ListApplicationAssignmentsForPrincipalResponse {
        application_assignments: Some(
            items
                .into_iter()
                .map(|(_, arn)| types::ApplicationAssignmentForPrincipal {
                    application_arn: Some(arn),
                    principal_id: Some(input.principal_id.clone()),
                    principal_type: Some(input.principal_type),
                })
                .collect(),
        ),
        next_token,
    })
}

pub fn get_application_assignment_configuration(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::GetApplicationAssignmentConfigurationRequest,
) -> Result<types::GetApplicationAssignmentConfigurationResponse, Failure> {
    let (_, r) = require(tx, orgs, &c.account, &input.application_arn)?;
    Ok(types::GetApplicationAssignmentConfigurationResponse {
        assignment_required: r.assignment_required,
    })
}

pub fn put_application_assignment_configuration(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::PutApplicationAssignmentConfigurationRequest,
) -> Result<types::PutApplicationAssignmentConfigurationResponse, Failure> {
    let (_, mut r) = require(tx, orgs, &c.account, &input.application_arn)?;
    r.assignment_required = input.assignment_required;
    save(tx, &r)?;
    Ok(types::PutApplicationAssignmentConfigurationResponse {})
}

// ------------------------------------------------------------------------ access scopes

pub fn put_application_access_scope(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::PutApplicationAccessScopeRequest,
) -> Result<(), Failure> {
    let (_, mut r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let targets = input.authorized_targets.clone().unwrap_or_default();
    match r.scopes.iter_mut().find(|(s, _)| *s == input.scope) {
        Some(slot) => slot.1 = targets,
        None => {
            if r.scopes.len() >= MAX_SCOPES {
                return Err(validation(format!(
                    "An application can have at most {MAX_SCOPES} access scopes."
                )));
            }
            r.scopes.push((input.scope.clone(), targets));
        }
    }
    save(tx, &r)?;
    Ok(())
}

fn scope_missing(scope: &str) -> Failure {
    // [M]: the text.
    missing(&format!("The access scope {scope} does not exist."))
}

pub fn get_application_access_scope(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::GetApplicationAccessScopeRequest,
) -> Result<types::GetApplicationAccessScopeResponse, Failure> {
    let (_, r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let (scope, targets) = r
        .scopes
        .into_iter()
        .find(|(s, _)| *s == input.scope)
        .ok_or_else(|| scope_missing(&input.scope))?;
    Ok(types::GetApplicationAccessScopeResponse {
        authorized_targets: (!targets.is_empty()).then_some(targets),
        scope,
    })
}

pub fn delete_application_access_scope(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DeleteApplicationAccessScopeRequest,
) -> Result<(), Failure> {
    let (_, mut r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let before = r.scopes.len();
    r.scopes.retain(|(s, _)| *s != input.scope);
    if r.scopes.len() == before {
        return Err(scope_missing(&input.scope));
    }
    save(tx, &r)?;
    Ok(())
}

pub fn list_application_access_scopes(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListApplicationAccessScopesRequest,
) -> Result<types::ListApplicationAccessScopesResponse, Failure> {
    let (inst, r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let page = Page::with_default(
        format!(
            "ListApplicationAccessScopes/{}/{}/{}",
            c.account, inst.id, r.id
        ),
        input.next_token.as_deref(),
        input.max_results,
        10,
        bad_token,
    )?;
    let mut scopes = r.scopes;
    scopes.sort_by(|a, b| a.0.cmp(&b.0));
    let (items, next_token) = page.apply(scopes, |(s, _)| s.clone());
    Ok(types::ListApplicationAccessScopesResponse {
        next_token,
        scopes: items
            .into_iter()
            .map(|(scope, t)| types::ScopeDetails {
                authorized_targets: (!t.is_empty()).then_some(t),
                scope,
            })
            .collect(),
    })
}

// --------------------------------------------------------------- authentication methods

pub fn put_application_authentication_method(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::PutApplicationAuthenticationMethodRequest,
) -> Result<(), Failure> {
    let (_, mut r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let kind = input.authentication_method_type.as_str().to_owned();
    if input.authentication_method.iam.is_none() {
        return Err(validation(
            "An IAM authentication method needs its Iam member (an ActorPolicy).",
        ));
    }
    match r.auth_methods.iter_mut().find(|(k, _)| *k == kind) {
        Some(slot) => slot.1 = input.authentication_method.clone(),
        None => r
            .auth_methods
            .push((kind, input.authentication_method.clone())),
    }
    save(tx, &r)?;
    Ok(())
}

fn method_missing() -> Failure {
    // [M]: the text.
    missing("The application has no authentication method of that type.")
}

pub fn get_application_authentication_method(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::GetApplicationAuthenticationMethodRequest,
) -> Result<types::GetApplicationAuthenticationMethodResponse, Failure> {
    let (_, r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let kind = input.authentication_method_type.as_str();
    let (_, m) = r
        .auth_methods
        .into_iter()
        .find(|(k, _)| k == kind)
        .ok_or_else(method_missing)?;
    Ok(types::GetApplicationAuthenticationMethodResponse {
        authentication_method: Some(m),
    })
}

pub fn delete_application_authentication_method(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DeleteApplicationAuthenticationMethodRequest,
) -> Result<(), Failure> {
    let (_, mut r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let kind = input.authentication_method_type.as_str();
    let before = r.auth_methods.len();
    r.auth_methods.retain(|(k, _)| k != kind);
    if r.auth_methods.len() == before {
        return Err(method_missing());
    }
    save(tx, &r)?;
    Ok(())
}

pub fn list_application_authentication_methods(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListApplicationAuthenticationMethodsRequest,
) -> Result<types::ListApplicationAuthenticationMethodsResponse, Failure> {
    let (inst, r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let page = Page::with_default(
        format!(
            "ListApplicationAuthenticationMethods/{}/{}/{}",
            c.account, inst.id, r.id
        ),
        input.next_token.as_deref(),
        None,
        100,
        bad_token,
    )?;
    let (items, next_token) = page.apply(r.auth_methods, |(k, _)| k.clone());
    Ok(types::ListApplicationAuthenticationMethodsResponse {
        authentication_methods: Some(
            items
                .into_iter()
                .map(|(k, m)| types::AuthenticationMethodItem {
                    authentication_method: Some(m),
                    authentication_method_type: types::AuthenticationMethodType::from_wire(&k),
                })
                .collect(),
        ),
        next_token,
    })
}

// ------------------------------------------------------------------------------ grants

/// A grant's union member must be the one its type names (botocore's documentation of
/// `Grant`).
fn grant_matches(t: types::GrantType, g: &types::Grant) -> bool {
    let set = [
        g.authorization_code.is_some(),
        g.jwt_bearer.is_some(),
        g.refresh_token.is_some(),
        g.token_exchange.is_some(),
    ];
    let want = match t {
        types::GrantType::AuthorizationCode => 0,
        types::GrantType::UrnIetfParamsOauthGrantTypeJwtBearer => 1,
        types::GrantType::RefreshToken => 2,
        types::GrantType::UrnIetfParamsOauthGrantTypeTokenExchange => 3,
    };
    set.iter().enumerate().all(|(i, on)| *on == (i == want))
}

pub fn put_application_grant(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::PutApplicationGrantRequest,
) -> Result<(), Failure> {
    let (_, mut r) = require(tx, orgs, &c.account, &input.application_arn)?;
    if !grant_matches(input.grant_type, &input.grant) {
        return Err(validation(format!(
            "The grant does not match its type {}.",
            input.grant_type.as_str()
        )));
    }
    let kind = input.grant_type.as_str().to_owned();
    match r.grants.iter_mut().find(|(k, _)| *k == kind) {
        Some(slot) => slot.1 = input.grant.clone(),
        None => r.grants.push((kind, input.grant.clone())),
    }
    save(tx, &r)?;
    Ok(())
}

fn grant_missing() -> Failure {
    // [M]: the text.
    missing("The application has no grant of that type.")
}

pub fn get_application_grant(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::GetApplicationGrantRequest,
) -> Result<types::GetApplicationGrantResponse, Failure> {
    let (_, r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let kind = input.grant_type.as_str();
    let (_, g) = r
        .grants
        .into_iter()
        .find(|(k, _)| k == kind)
        .ok_or_else(grant_missing)?;
    Ok(types::GetApplicationGrantResponse { grant: g })
}

pub fn delete_application_grant(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DeleteApplicationGrantRequest,
) -> Result<(), Failure> {
    let (_, mut r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let kind = input.grant_type.as_str();
    let before = r.grants.len();
    r.grants.retain(|(k, _)| k != kind);
    if r.grants.len() == before {
        return Err(grant_missing());
    }
    save(tx, &r)?;
    Ok(())
}

pub fn list_application_grants(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListApplicationGrantsRequest,
) -> Result<types::ListApplicationGrantsResponse, Failure> {
    let (inst, r) = require(tx, orgs, &c.account, &input.application_arn)?;
    let page = Page::with_default(
        format!("ListApplicationGrants/{}/{}/{}", c.account, inst.id, r.id),
        input.next_token.as_deref(),
        None,
        100,
        bad_token,
    )?;
    let (items, next_token) = page.apply(r.grants, |(k, _)| k.clone());
    Ok(types::ListApplicationGrantsResponse {
        grants: items
            .into_iter()
            .filter_map(|(k, g)| {
                Some(types::GrantItem {
                    grant: g,
                    grant_type: types::GrantType::from_wire(&k)?,
                })
            })
            .collect(),
        next_token,
    })
}

// --------------------------------------------------------------------- session setting

pub fn get_application_session_configuration(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::GetApplicationSessionConfigurationRequest,
) -> Result<types::GetApplicationSessionConfigurationResponse, Failure> {
    let (_, r) = require(tx, orgs, &c.account, &input.application_arn)?;
    // Background sessions are off until enabled [M].
    let status = r.background_sessions.as_deref().unwrap_or("DISABLED");
    Ok(types::GetApplicationSessionConfigurationResponse {
        user_background_session_application_status:
            types::UserBackgroundSessionApplicationStatus::from_wire(status),
    })
}

pub fn put_application_session_configuration(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::PutApplicationSessionConfigurationRequest,
) -> Result<types::PutApplicationSessionConfigurationResponse, Failure> {
    let (_, mut r) = require(tx, orgs, &c.account, &input.application_arn)?;
    if let Some(s) = input.user_background_session_application_status {
        r.background_sessions = Some(s.as_str().to_owned());
        save(tx, &r)?;
    }
    Ok(types::PutApplicationSessionConfigurationResponse {})
}

// ------------------------------------------------------------------ hooks other modules call

/// The tags of the application `arn` names, when `account` may administer it; `None` when
/// the ARN names none.
pub fn resource_tags(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
) -> Result<Option<Vec<(String, String)>>, Failure> {
    match require(tx, orgs, account, arn) {
        Ok((_, r)) => Ok(Some(r.tags)),
        Err(_) => Ok(None),
    }
}

/// Replaces the tags of the application `arn` names; `None` when the ARN names none.
pub fn set_resource_tags(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    arn: &str,
    tags: &[(String, String)],
) -> Result<Option<()>, Failure> {
    let Ok((_, mut r)) = require(tx, orgs, account, arn) else {
        return Ok(None);
    };
    r.tags = tags.to_vec();
    save(tx, &r)?;
    Ok(Some(()))
}

/// Removes `inst`'s applications and their assignments, within `budget` rows; `true` when
/// nothing is left.
pub fn purge(
    tx: &mut dyn Tx,
    inst: &crate::model::InstanceRec,
    budget: &mut usize,
) -> Result<bool, Failure> {
    let prefix = format!("{}/", inst.id);
    for space in [APP_ASSIGN, APP_ASSIGN_OF, APPS] {
        let rows = tx.scan_prefix(space, prefix.as_bytes(), false, *budget)?;
        *budget = budget.saturating_sub(rows.len());
        for (k, _) in rows {
            tx.delete(space, &k)?;
        }
        if *budget == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A user or group of `inst`'s directory was deleted: removes its application assignments.
/// `principal_type` is `USER` or `GROUP`.
pub fn remove_principal(
    tx: &mut dyn Tx,
    inst: &crate::model::InstanceRec,
    principal_type: &str,
    principal_id: &str,
) -> Result<(), Failure> {
    let prefix = format!("{}/{principal_type}/{principal_id}/", inst.id);
    for (k, _) in tx.scan_prefix(APP_ASSIGN_OF, prefix.as_bytes(), false, usize::MAX)? {
        let k = String::from_utf8(k).map_err(|_| model::corrupt(APP_ASSIGN_OF))?;
        if let Some(app) = k.strip_prefix(&prefix) {
            tx.delete(
                APP_ASSIGN,
                format!("{}/{app}/{principal_type}/{principal_id}", inst.id).as_bytes(),
            )?;
        }
        tx.delete(APP_ASSIGN_OF, k.as_bytes())?;
    }
    Ok(())
}

/// Tags of an application for policies (`aws:ResourceTag/*`), whoever asks.
pub fn stored_tags(tx: &mut dyn Tx, arn: &str) -> Result<Option<Vec<(String, String)>>, Failure> {
    Ok(lookup(tx, arn)?.map(|(_, r)| r.tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_must_match_its_type() {
        let code = types::Grant {
            authorization_code: Some(types::AuthorizationCodeGrant::default()),
            ..Default::default()
        };
        assert!(grant_matches(types::GrantType::AuthorizationCode, &code));
        assert!(!grant_matches(types::GrantType::RefreshToken, &code));
        assert!(!grant_matches(
            types::GrantType::AuthorizationCode,
            &types::Grant::default()
        ));
    }
}
