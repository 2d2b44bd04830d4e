//! The HTTP server: one listener; adapters for the AWS protocols (`pipeline`) and the
//! portal's pages (`web`) in front of one protocol-free core (`exec`).
//!
//! ```text
//! socket ─▶ adapter: route ─▶ authenticate (authn) ─▶ parse ─▶ core: validate ─▶ authorize ─▶ handle ─▶ audit ─▶ adapter: serialize
//! ```
//!
//! **Invariant:** services are reached only through [`services::Services::dispatch`], which
//! only the core (`exec::execute`) calls, with a [`cairn_core::Call`] it built for a principal
//! an authenticator of `authn` produced, after authorization.

pub mod app;
mod authn;
pub mod authz;
mod exec;
mod key_use;
pub mod metrics;
pub mod pipeline;
pub mod services;
pub mod web;

pub use app::{App, Config, router};
