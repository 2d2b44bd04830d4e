//! The HTTP server: one listener, one pipeline for every AWS API.
//!
//! ```text
//! socket ─▶ route ─▶ authenticate ─▶ parse+validate ─▶ authorize ─▶ handle ─▶ audit ─▶ serialize
//! ```
//!
//! **Invariant:** every AWS API request goes through [`pipeline::handle`]; services are
//! reached only through [`services::Services::dispatch`], which only the pipeline calls, with
//! a [`cairn_core::Call`] it built after authentication and authorization.

pub mod app;
pub mod authz;
mod key_use;
pub mod metrics;
pub mod pipeline;
pub mod services;
pub mod web;

pub use app::{App, Config, router};
