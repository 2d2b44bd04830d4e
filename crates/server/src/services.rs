//! The table of served APIs and the dispatch into them.

use cairn_api::{
    cloudtrail, cloudtrail_data, iam, identitystore, organizations, sso, sso_admin, sso_oidc, sts,
};
use cairn_core::{Call, ResourceFacts};
use cairn_wire::ApiError;
use cairn_wire::model::ServiceModel;
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Svc {
    Organizations,
    Sts,
    CloudTrail,
    Iam,
    SsoAdmin,
    IdentityStore,
    SsoPortal,
    SsoOidc,
    CloudTrailData,
}

/// Every API Cairn routes, with its model table.
pub static SERVICES: &[(&ServiceModel, Svc)] = &[
    (&organizations::MODEL, Svc::Organizations),
    (&sts::MODEL, Svc::Sts),
    (&cloudtrail::MODEL, Svc::CloudTrail),
    (&iam::MODEL, Svc::Iam),
    (&sso_admin::MODEL, Svc::SsoAdmin),
    (&identitystore::MODEL, Svc::IdentityStore),
    (&sso::MODEL, Svc::SsoPortal),
    (&sso_oidc::MODEL, Svc::SsoOidc),
    (&cloudtrail_data::MODEL, Svc::CloudTrailData),
];

/// The service implementations.
pub struct Services {
    pub organizations: cairn_organizations::OrganizationsService,
    pub sts: cairn_iam::StsService,
    pub iam: cairn_iam::IamService,
    pub cloudtrail: cairn_trail::CloudTrailService,
    pub cloudtrail_data: cairn_trail::CloudTrailDataService,
    pub sso_admin: cairn_sso::SsoAdminService,
    pub identitystore: cairn_sso::IdentityStoreService,
    pub portal: cairn_sso::PortalService,
    pub oidc: cairn_sso::OidcService,
    /// What each service tells the authorize step about its own resources; a service that
    /// has resources adds its [`ResourceFacts`] here.
    pub facts: ServiceFacts,
}

/// The services' [`ResourceFacts`].
pub struct ServiceFacts(pub Vec<Arc<dyn ResourceFacts>>);

impl Default for ServiceFacts {
    fn default() -> Self {
        ServiceFacts(vec![
            Arc::new(cairn_iam::IamFacts),
            Arc::new(cairn_organizations::OrgFacts),
            Arc::new(cairn_trail::TrailFacts),
            Arc::new(cairn_sso::SsoFacts),
        ])
    }
}

impl Default for Services {
    fn default() -> Self {
        Services {
            organizations: cairn_organizations::OrganizationsService::default()
                .with_trusted_access(vec![Arc::new(cairn_sso::SsoTrustedAccess)]),
            sts: cairn_iam::StsService::default().with_orgs(cairn_iam::Orgs::new(Arc::new(
                cairn_organizations::OrgFacts,
            ))),
            iam: cairn_iam::IamService::default().with_orgs(cairn_iam::Orgs::new(Arc::new(
                cairn_organizations::OrgFacts,
            ))),
            cloudtrail: cairn_trail::CloudTrailService::new(Arc::new(
                cairn_organizations::OrgFacts,
            )),
            cloudtrail_data: cairn_trail::CloudTrailDataService,
            sso_admin: cairn_sso::SsoAdminService::new(Arc::new(cairn_organizations::OrgFacts)),
            identitystore: cairn_sso::IdentityStoreService::new(Arc::new(
                cairn_organizations::OrgFacts,
            )),
            portal: cairn_sso::PortalService::new(None),
            oidc: cairn_sso::OidcService::new(""),
            facts: ServiceFacts::default(),
        }
    }
}

impl Services {
    pub fn resource_facts(&self) -> &[Arc<dyn ResourceFacts>] {
        &self.facts.0
    }
}

macro_rules! route {
    ($module:ident, $svc:expr, $call:expr, $name:expr, $input:expr) => {
        match $module::Operation::from_name($name) {
            Some(op) => $module::dispatch($svc, $call, op, $input).await,
            None => Err(ApiError::internal()),
        }
    };
}

impl Services {
    /// Runs the operation. Only the pipeline calls this, with a call it authorized.
    pub(crate) async fn dispatch(
        &self,
        svc: Svc,
        call: &Call,
        op: &str,
        input: Value,
    ) -> Result<Value, ApiError> {
        match svc {
            Svc::Organizations => route!(organizations, &self.organizations, call, op, input),
            Svc::Sts => route!(sts, &self.sts, call, op, input),
            // CloudTrail Lake, channels, dashboards and imports are not served: refused as
            // CloudTrail refuses an operation it does not support (UnsupportedOperation-
            // Exception, in every one of those operations' error lists in the model).
            Svc::CloudTrail => route!(cloudtrail, &self.cloudtrail, call, op, input).map_err(|e| {
                if e.is_not_implemented() {
                    ApiError::new(
                        cloudtrail::Error::UnsupportedOperationException,
                        format!("{op} is not supported: Cairn serves trails, not CloudTrail Lake, channels or dashboards."),
                    )
                } else {
                    e
                }
            }),
            Svc::Iam => route!(iam, &self.iam, call, op, input),
            Svc::SsoAdmin => route!(sso_admin, &self.sso_admin, call, op, input),
            Svc::IdentityStore => route!(identitystore, &self.identitystore, call, op, input),
            Svc::SsoPortal => route!(sso, &self.portal, call, op, input),
            Svc::SsoOidc => route!(sso_oidc, &self.oidc, call, op, input),
            Svc::CloudTrailData => route!(cloudtrail_data, &self.cloudtrail_data, call, op, input),
        }
    }
}
