//! What the authorize step needs to know about a service's own resources, answered by the
//! service: a service implements [`ResourceFacts`] and is listed with the others
//! (`cairn_server::services::Services::resource_facts`); the authorization code has no
//! per-service branches. IAM and Organizations implement it; CloudTrail and Identity Center
//! will, for their trails, permission sets and instances.
//!
//! Every method reads inside the authorize step's one read-only snapshot (`tx`) and answers
//! `None` (or the default) for what it does not know: the variable is then checked as `*`,
//! the resource has no tags, no resource policy applies.

use cairn_policy::Policy;
use cairn_store::{StoreError, Tx};
use serde_json::Value;
use std::sync::Arc;

/// An account's place in its organization.
#[derive(Debug, Clone)]
pub struct OrgContext {
    pub org_id: String,
    pub management_account_id: String,
    /// `aws:PrincipalOrgPaths` / `aws:ResourceOrgPaths` form: `o-…/r-…/ou-…/` (trailing `/`).
    pub path: String,
    /// SCPs by level, root first and the account last. Empty when SCPs do not apply: the
    /// management account, or an organization without the SCP policy type enabled.
    pub scp_levels: Vec<Vec<Arc<Policy>>>,
    /// RCPs by level, for resources this account owns; empty likewise (the management
    /// account, or RCPs not enabled).
    pub rcp_levels: Vec<Vec<Arc<Policy>>>,
}

/// How an account's organization stands for one AWS service integrated with Organizations
/// (`iam.amazonaws.com`): what a service asks before an organization-wide feature of its own
/// (IAM's centralized root access) may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStanding {
    pub org_id: String,
    pub management_account_id: String,
    /// The organization has all features enabled (not only consolidated billing).
    pub all_features: bool,
    /// Trusted access is enabled for the service (`EnableAWSServiceAccess`).
    pub trusted_access: bool,
    /// The account is a registered delegated administrator for the service.
    pub delegated_admin: bool,
}

/// An entity of an organization (its root, an OU or an account) as IAM's Organizations
/// access report (`iam:GenerateOrganizationsAccessReport`) needs it.
#[derive(Debug, Clone)]
pub struct OrgEntity {
    /// Whether the SCP policy type is enabled on the organization's root.
    pub scp_enabled: bool,
    /// The SCPs that apply to the entity, by level from the root down to the entity itself
    /// (empty when SCPs are not enabled).
    pub scp_levels: Vec<Vec<Arc<Policy>>>,
    /// Every account of the entity's subtree (the entity itself when it is an account), with
    /// its entity path (`o-…/r-…/ou-…/111122223333`), ascending by account ID.
    pub accounts: Vec<(String, String)>,
}

/// A resource-based policy that takes part in a decision.
#[derive(Debug, Clone)]
pub struct ResourcePolicy {
    /// The account owning the resource (a cross-account request when it is not the caller's).
    pub owner_account: String,
    /// `None`: the resource has no policy (or does not exist).
    pub policy: Option<Arc<Policy>>,
    /// The policy must allow the caller by itself, even within one account — a role's trust
    /// policy for `sts:AssumeRole`.
    pub must_allow: bool,
}

/// One service's answers. Methods default to "nothing known".
pub trait ResourceFacts: Send + Sync + 'static {
    /// The service segment of the ARNs this answers for (`arn:aws:<service>:…`), which is
    /// also the IAM prefix of the actions it serves (`iam`, `organizations`).
    fn service(&self) -> &'static str;

    /// Whether this service's resources belong to the caller's organization's management
    /// account rather than to the caller's account (Organizations: every resource of an
    /// organization is the management account's).
    fn owned_by_management(&self) -> bool {
        false
    }

    /// A template variable the catalogue resolves from the store (`resolve: store`) for a
    /// request of this service by `caller`: a handshake's type, an access key's user (with
    /// path), … The pseudo-variable `Account` asks for the owner of the resource the input
    /// names, when it is not the service's usual owner.
    fn stored_var(
        &self,
        _tx: &mut dyn Tx,
        _caller: &str,
        _var: &str,
        _input: &Value,
    ) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    /// The stored path (`/division/`) of the entity `name` a `…WithPath` variable names.
    fn entity_path(
        &self,
        _tx: &mut dyn Tx,
        _account: &str,
        _var: &str,
        _name: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    /// Whether the request names an AWS-managed variant of the resource (an Organizations
    /// policy such as `p-FullAWSAccess`, named under account `aws`).
    fn names_aws_managed(
        &self,
        _tx: &mut dyn Tx,
        _caller: &str,
        _input: &Value,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// An action condition key read from the stored resource the input names
    /// (`organizations:PolicyType` of the policy an `AttachPolicy` names).
    fn stored_condition_key(
        &self,
        _tx: &mut dyn Tx,
        _caller: &str,
        _key: &str,
        _input: &Value,
    ) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    /// Whether resources with this ARN carry tags (`aws:ResourceTag/*`).
    fn is_taggable(&self, _arn: &str) -> bool {
        false
    }

    /// The condition-key prefixes a resource's tags are offered under: `aws:ResourceTag/`,
    /// plus a service's own where it has one (`iam:ResourceTag/`).
    fn resource_tag_prefixes(&self) -> &'static [&'static str] {
        &["aws:ResourceTag/"]
    }

    /// The tags of the resource with this ARN (`None`: no such resource).
    fn resource_tags(
        &self,
        _tx: &mut dyn Tx,
        _arn: &str,
    ) -> Result<Option<Vec<(String, String)>>, StoreError> {
        Ok(None)
    }

    /// Whether `action` is evaluated with a resource-based policy of this service (cheap:
    /// decides whether the store must be read at all).
    fn has_resource_policy(&self, _action: &str) -> bool {
        false
    }

    /// The resource-based policy evaluated for `action` on the resource `arn`.
    fn resource_policy(
        &self,
        _tx: &mut dyn Tx,
        _action: &str,
        _arn: &str,
    ) -> Result<Option<ResourcePolicy>, StoreError> {
        Ok(None)
    }

    /// The organization `account` belongs to (Organizations answers; others do not).
    fn organization(
        &self,
        _tx: &mut dyn Tx,
        _account: &str,
    ) -> Result<Option<OrgContext>, StoreError> {
        Ok(None)
    }

    /// Whether `account` is a delegated administrator of its organization for the service
    /// `service_principal` (`cloudtrail.amazonaws.com`), trusted access enabled
    /// (Organizations answers; others do not).
    fn is_delegated_admin(
        &self,
        _tx: &mut dyn Tx,
        _account: &str,
        _service_principal: &str,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// The entity of organization `org_id` that `entity_path` names
    /// (`o-…/r-…[/ou-…]*[/<account>]`, each ID the parent of the next); `None` when it names
    /// none (Organizations answers; others do not).
    fn org_entity(
        &self,
        _tx: &mut dyn Tx,
        _org_id: &str,
        _entity_path: &str,
    ) -> Result<Option<OrgEntity>, StoreError> {
        Ok(None)
    }

    /// The policy `policy_id` of organization `org_id` (AWS-managed ones included): its type
    /// (`SERVICE_CONTROL_POLICY`, …) and its parsed document (Organizations answers).
    fn org_policy(
        &self,
        _tx: &mut dyn Tx,
        _org_id: &str,
        _policy_id: &str,
    ) -> Result<Option<(String, Arc<Policy>)>, StoreError> {
        Ok(None)
    }

    /// How `account`'s organization stands for the service `service_principal`; `None`:
    /// the account belongs to no organization (Organizations answers; others do not).
    fn service_standing(
        &self,
        _tx: &mut dyn Tx,
        _account: &str,
        _service_principal: &str,
    ) -> Result<Option<ServiceStanding>, StoreError> {
        Ok(None)
    }
}

/// What a service does when an organization's management account enables trusted access for
/// it (`organizations:EnableAWSServiceAccess`): Identity Center creates the organization's
/// instance, as the console's "Enable" does. Runs inside that call's transaction, only when
/// access was not enabled before; an error fails the call and nothing is written.
pub trait TrustedAccess: Send + Sync {
    /// The service principal it answers for (`sso.amazonaws.com`).
    fn service_principal(&self) -> &'static str;

    fn enabled(
        &self,
        tx: &mut dyn Tx,
        event: &TrustedAccessEvent<'_>,
    ) -> Result<(), crate::Failure>;

    /// `account` left organization `org_id` (removed, or it left), inside that call's
    /// transaction: Identity Center removes what it provisioned there.
    fn account_left(
        &self,
        _tx: &mut dyn Tx,
        _org_id: &str,
        _account: &str,
    ) -> Result<(), crate::Failure> {
        Ok(())
    }
}

/// The organization that enabled trusted access, and the call that did.
pub struct TrustedAccessEvent<'a> {
    pub org_id: &'a str,
    pub management_account: &'a str,
    /// The region the call was signed for (the home region of what the service creates).
    pub region: &'a str,
    pub now_ms: i64,
    pub ids: &'a dyn crate::Ids,
}
