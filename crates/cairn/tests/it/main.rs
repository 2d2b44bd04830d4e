//! Integration tests of the foundation: the real `cairn` binary, started as a subprocess on
//! its own temporary data directory, driven by the official AWS SDKs for Rust and by raw,
//! `aws-sigv4`-signed HTTP requests.
//!
//! One test binary on purpose (link time matters on 2 cores); each area is a module.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "test code: a failed expectation panics; tests read their environment and the wall clock"
)]

mod audit;
mod auth;
mod authz;
mod bad_requests;
mod channels;
mod cli;
mod common;
mod crash;
mod deny_kinds;
mod event_stream;
mod fixture;
mod hardening;
mod iam;
mod iam_account;
mod iam_certificates;
mod iam_delegation;
mod iam_last_accessed;
mod iam_org_access_report;
mod iam_templates;
mod jobs;
mod observability;
mod orgs_accounts;
mod orgs_delegation;
mod orgs_policies;
mod outbound;
mod partitions;
mod root_access;
mod saml;
mod slice;
mod sso_apps;
mod sso_directory;
mod sso_expiry;
mod sso_iam_token;
mod sso_instances;
mod sso_permission_sets;
mod sso_portal;
mod sts_federation;
mod trail_delivery;
mod trail_digests;
mod trail_insights;
mod trails;
mod web_identity;
