//! The STS slice served so far.

use cairn_api::sts::{Sts, types};
use cairn_core::Call;
use cairn_wire::ApiError;

/// AWS Security Token Service.
#[derive(Debug, Default)]
pub struct StsService;

impl Sts for StsService {
    type Context = Call;

    async fn get_caller_identity(
        &self,
        ctx: &Call,
        _input: types::GetCallerIdentityRequest,
    ) -> Result<types::GetCallerIdentityResponse, ApiError> {
        let p = ctx.principal();
        Ok(types::GetCallerIdentityResponse {
            account: Some(p.account_id().to_owned()),
            arn: Some(p.arn()),
            user_id: Some(p.user_id()),
        })
    }
}
