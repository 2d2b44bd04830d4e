//! AWS Organizations.
//!
//! Served so far: `CreateOrganization`, `DescribeOrganization`, `ListRoots`,
//! `DeleteOrganization`. State lives in the store under `org.*` spaces:
//! `org.org` (organization id → [`Org`]) and `org.member` (account id → organization id).

use cairn_api::organizations::{Error, Organizations, types};
use cairn_core::{Call, Failure};
use cairn_store::{StoreError, Tx};
use cairn_wire::ApiError;
use serde::{Deserialize, Serialize};

const ORGS: &str = "org.org";
const MEMBERS: &str = "org.member";
const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub v: u32,
    pub id: String,
    pub feature_set: String,
    pub management_account_id: String,
    pub management_email: String,
    pub root_id: String,
    pub created_ms: i64,
}

impl Org {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:organizations::{}:organization/{}",
            self.management_account_id, self.id
        )
    }

    pub fn root_arn(&self) -> String {
        format!(
            "arn:aws:organizations::{}:root/{}/{}",
            self.management_account_id, self.id, self.root_id
        )
    }

    pub fn account_arn(&self, account_id: &str) -> String {
        format!(
            "arn:aws:organizations::{}:account/{}/{account_id}",
            self.management_account_id, self.id
        )
    }

    fn to_api(&self) -> types::Organization {
        let all = self.feature_set == "ALL";
        types::Organization {
            arn: Some(self.arn()),
            available_policy_types: Some(if all {
                vec![types::PolicyTypeSummary {
                    r#type: Some(types::PolicyType::ServiceControlPolicy),
                    status: Some(types::PolicyTypeStatus::Enabled),
                }]
            } else {
                Vec::new()
            }),
            feature_set: types::OrganizationFeatureSet::from_wire(&self.feature_set),
            id: Some(self.id.clone()),
            master_account_arn: Some(self.account_arn(&self.management_account_id)),
            master_account_email: Some(self.management_email.clone()),
            master_account_id: Some(self.management_account_id.clone()),
        }
    }
}

fn corrupt() -> Failure {
    Failure::from(StoreError::Backend(String::from(
        "corrupt organization record",
    )))
}

/// The organization `account_id` belongs to, if any.
pub fn org_of(tx: &mut dyn Tx, account_id: &str) -> Result<Option<Org>, Failure> {
    let Some(org_id) = tx.get(MEMBERS, account_id.as_bytes())? else {
        return Ok(None);
    };
    let Some(raw) = tx.get(ORGS, &org_id)? else {
        return Ok(None);
    };
    serde_json::from_slice(&raw)
        .map(Some)
        .map_err(|_| corrupt())
}

fn not_in_use() -> ApiError {
    ApiError::new(
        Error::AWSOrganizationsNotInUseException,
        "Your account is not a member of an organization.",
    )
}

fn require_org(tx: &mut dyn Tx, account_id: &str) -> Result<Org, Failure> {
    org_of(tx, account_id)?.ok_or_else(|| Failure(not_in_use()))
}

fn require_management(org: &Org, account_id: &str) -> Result<(), Failure> {
    if org.management_account_id == account_id {
        Ok(())
    } else {
        Err(Failure(ApiError::new(
            Error::AccessDeniedException,
            "You don't have permissions to access this resource.",
        )))
    }
}

/// AWS Organizations.
#[derive(Debug, Default)]
pub struct OrganizationsService;

impl Organizations for OrganizationsService {
    type Context = Call;

    async fn create_organization(
        &self,
        ctx: &Call,
        input: types::CreateOrganizationRequest,
    ) -> Result<types::CreateOrganizationResponse, ApiError> {
        let account_id = ctx.account_id().to_owned();
        let feature_set = input.feature_set.map_or("ALL", |f| f.as_str()).to_owned();
        let org_id = format!("o-{}", ctx.ids().lower_alnum(10));
        let root_id = format!("r-{}", ctx.ids().lower_alnum(4));
        let now = ctx.now_ms();
        ctx.write(move |tx| {
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
                management_email: account.email,
                root_id: root_id.clone(),
                created_ms: now,
            };
            let raw = serde_json::to_vec(&org).map_err(|_| corrupt())?;
            tx.put(ORGS, org.id.as_bytes(), &raw)?;
            tx.put(MEMBERS, account_id.as_bytes(), org.id.as_bytes())?;
            Ok(types::CreateOrganizationResponse {
                organization: Some(org.to_api()),
            })
        })
        .await
    }

    async fn describe_organization(
        &self,
        ctx: &Call,
    ) -> Result<types::DescribeOrganizationResponse, ApiError> {
        let account_id = ctx.account_id().to_owned();
        ctx.read(move |tx| {
            let org = require_org(tx, &account_id)?;
            Ok(types::DescribeOrganizationResponse {
                organization: Some(org.to_api()),
            })
        })
        .await
    }

    async fn list_roots(
        &self,
        ctx: &Call,
        input: types::ListRootsRequest,
    ) -> Result<types::ListRootsResponse, ApiError> {
        let account_id = ctx.account_id().to_owned();
        ctx.read(move |tx| {
            let org = require_org(tx, &account_id)?;
            require_management(&org, &account_id)?;
            if input.next_token.is_some() {
                // We never hand out a token for the single root, so any token is foreign.
                return Err(Failure(
                    ApiError::new(
                        Error::InvalidInputException,
                        "The provided pagination token is invalid.",
                    )
                    .with("Reason", "INVALID_NEXT_TOKEN"),
                ));
            }
            Ok(types::ListRootsResponse {
                next_token: None,
                roots: Some(vec![types::Root {
                    arn: Some(org.root_arn()),
                    id: Some(org.root_id.clone()),
                    name: Some(String::from("Root")),
                    policy_types: Some(Vec::new()),
                }]),
            })
        })
        .await
    }

    async fn delete_organization(&self, ctx: &Call) -> Result<(), ApiError> {
        let account_id = ctx.account_id().to_owned();
        ctx.write(move |tx| {
            let org = require_org(tx, &account_id)?;
            require_management(&org, &account_id)?;
            let members = tx.scan_prefix(MEMBERS, b"", false, usize::MAX)?;
            let others = members
                .iter()
                .filter(|(k, v)| v.as_slice() == org.id.as_bytes() && k.as_slice() != account_id.as_bytes())
                .count();
            if others > 0 {
                return Err(Failure(ApiError::new(
                    Error::OrganizationNotEmptyException,
                    "To delete an organization you must first remove all member accounts (except the management account).",
                )));
            }
            tx.delete(MEMBERS, account_id.as_bytes())?;
            tx.delete(ORGS, org.id.as_bytes())?;
            Ok(())
        })
        .await
    }
}
