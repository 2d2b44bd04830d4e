//! Unit tests of the wire layer against small hand-built models and the generated ones.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation panics"
)]

mod error;
mod fixture;
mod json;
mod model;
mod query;
mod real;
mod trail;
mod types;
mod validate;
mod xml;
