//! AWS wire layer: model tables, protocol codecs (awsJson, awsQuery, restJson1), validation
//! and AWS error shapes. This crate knows no service; everything service-specific arrives as a
//! generated [`model::ServiceModel`] table from `cairn-api`.

pub mod codec;
pub mod error;
pub mod json;
pub mod model;
pub mod query;
pub mod rest;
pub mod trail;
pub mod types;
pub mod validate;

pub use error::{ApiError, CommonError, ErrorShape};
pub use model::{Protocol, ServiceModel};
pub use types::{Blob, Timestamp};
pub use validate::ValidationStyle;
