//! sso-admin beyond instances: permission sets, account assignments and provisioning
//! (still to come: those operations answer NotImplemented for now).

use crate::model::InstanceRec;
use cairn_core::Failure;
use cairn_store::Tx;

/// Removes what `inst` holds beyond its directory, within `budget` rows; `true` when done.
pub fn purge_instance(
    _tx: &mut dyn Tx,
    _inst: &InstanceRec,
    _budget: &mut usize,
) -> Result<bool, Failure> {
    Ok(true)
}

/// Tags a permission set, application or trusted token issuer; `None` when the ARN names
/// none of them.
pub fn tag_resource(
    _tx: &mut dyn Tx,
    _orgs: &dyn cairn_core::ResourceFacts,
    _account: &str,
    _input: &cairn_api::sso_admin::types::TagResourceRequest,
) -> Result<Option<cairn_api::sso_admin::types::TagResourceResponse>, Failure> {
    Ok(None)
}

pub fn untag_resource(
    _tx: &mut dyn Tx,
    _orgs: &dyn cairn_core::ResourceFacts,
    _account: &str,
    _input: &cairn_api::sso_admin::types::UntagResourceRequest,
) -> Result<Option<cairn_api::sso_admin::types::UntagResourceResponse>, Failure> {
    Ok(None)
}

pub fn resource_tags(
    _tx: &mut dyn Tx,
    _orgs: &dyn cairn_core::ResourceFacts,
    _account: &str,
    _arn: &str,
) -> Result<Option<Vec<(String, String)>>, Failure> {
    Ok(None)
}
