//! Between validated documents and the generated types.

use crate::error::{ApiError, CommonError};
use crate::model::ServiceModel;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Decodes a validated input document. Validation already checked shapes, so a failure here
/// means a value the validator does not model (e.g. an out-of-range integer).
pub fn decode<T: DeserializeOwned>(model: &ServiceModel, input: Value) -> Result<T, ApiError> {
    serde_json::from_value(input).map_err(|e| {
        CommonError::Serialization(format!("Could not read the request: {e}"))
            .to_api_error(model.protocol)
    })
}

/// Encodes an output value into its document.
pub fn encode<T: Serialize>(output: T) -> Result<Value, ApiError> {
    serde_json::to_value(output).map_err(|_| ApiError::internal())
}
