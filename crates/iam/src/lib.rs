//! Accounts and credentials — the part of IAM every other service stands on — the IAM API
//! (users, groups, roles, inline and managed policies, access keys) and the STS slice
//! (`GetCallerIdentity`).
//!
//! Secret access keys must be kept in a recoverable form (SigV4 verification needs the
//! secret itself), so they are sealed with ChaCha20-Poly1305 under a master key the binary
//! keeps in the data directory (mode 0600): a copy of the database alone does not leak them.
//!
//! [`authz`] is what the authorizer and other services read: the policies of a principal
//! (parsed once, cached), roles and trust policies, managed policies by ARN.

mod account_settings;
pub mod accounts;
mod authorization_details;
pub mod authz;
mod certificates;
mod common;
mod credential_report;
mod delegation;
mod groups;
mod instance_profiles;
mod keys;
mod last_accessed;
pub mod login;
pub(crate) mod managed;
pub mod mfa;
pub mod org_report;
pub mod outbound;
mod policies;
mod providers;
mod records;
pub mod reserved;
mod roles;
pub mod root_access;
pub(crate) mod saml;
pub mod saml_providers;
pub mod seal;
mod service;
mod service_credentials;
mod service_linked;
pub mod simulate;
mod ssh_keys;
pub mod sts;
mod summary;
mod templates;
mod users;
pub mod web_identity;
pub(crate) mod x509;
pub(crate) mod xmldsig;

pub use accounts::{AccessKey, Account, Credentials, KeyOwner};
pub use authz::{
    EntityKind, IamFacts, IdentityPolicies, RoleInfo, create_role_in, entity_path, managed_policy,
    principal_policy_documents, role_by_name, role_identity, user_identity,
};
pub use org_report::OrgReportJob;
pub use root_access::Orgs;
pub use seal::Sealer;
pub use service::IamService;
pub use sts::StsService;
#[cfg(test)]
mod tests;
