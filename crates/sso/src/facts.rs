//! What the authorize step learns from Identity Center about its resources: the tags of
//! instances and permission sets (`aws:ResourceTag/*`; Service Authorization Reference, "AWS
//! IAM Identity Center": both resource types take `aws:ResourceTag/${TagKey}`).

use crate::{apps, model, permsets, tti};
use cairn_core::{Failure, ResourceFacts, ResourcePolicy};
use cairn_store::{StoreError, Tx};
use std::sync::Arc;

const CREATE_TOKEN_WITH_IAM: &str = "sso-oauth:CreateTokenWithIAM";

/// Identity Center's [`ResourceFacts`] (ARNs `arn:<partition>:sso:…`).
#[derive(Debug, Default)]
pub struct SsoFacts;

/// The kind and the last two path parts of an sso ARN (`instance/ssoins-…`,
/// `permissionSet/ssoins-…/ps-…`, `application/ssoins-…/apl-…`, `trustedTokenIssuer/…`).
fn parts(arn: &str) -> Option<(&str, Vec<&str>)> {
    let rest = arn.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("sso:")?;
    // region (empty) and account (empty or 12 digits) precede the resource.
    let mut fields = rest.splitn(3, ':');
    let (_region, _account, resource) = (fields.next()?, fields.next()?, fields.next()?);
    let mut path = resource.split('/');
    let kind = path.next()?;
    Some((kind, path.collect()))
}

fn from_failure(Failure(e): Failure) -> StoreError {
    StoreError::Backend(e.message)
}

impl ResourceFacts for SsoFacts {
    fn service(&self) -> &'static str {
        "sso"
    }

    fn is_taggable(&self, arn: &str) -> bool {
        matches!(
            parts(arn),
            Some((
                "instance" | "permissionSet" | "application" | "trustedTokenIssuer",
                _
            ))
        )
    }

    fn resource_tags(
        &self,
        tx: &mut dyn Tx,
        arn: &str,
    ) -> Result<Option<Vec<(String, String)>>, StoreError> {
        let Some((kind, path)) = parts(arn) else {
            return Ok(None);
        };
        match (kind, path.as_slice()) {
            ("instance", [id]) => Ok(model::instance(tx, id)
                .map_err(from_failure)?
                .filter(|i| i.arn() == arn)
                .map(|i| i.tags)),
            ("permissionSet", [inst, ps]) => Ok(permsets::get(tx, inst, ps)
                .map_err(from_failure)?
                .map(|p| p.tags)),
            ("application", [_, _]) => apps::stored_tags(tx, arn).map_err(from_failure),
            ("trustedTokenIssuer", [_, _]) => Ok(tti::lookup(tx, arn)
                .map_err(from_failure)?
                .map(|(_, t)| t.tags)),
            _ => Ok(None),
        }
    }

    fn has_resource_policy(&self, action: &str) -> bool {
        action.eq_ignore_ascii_case(CREATE_TOKEN_WITH_IAM)
    }

    /// An application's `IAM` authentication method (its actor policy) decides who may call
    /// `CreateTokenWithIAM` for it, and must allow the caller by itself, like a role's trust
    /// policy (API Reference, IamAuthenticationMethod: "An IAM policy document in JSON" that
    /// names the principals allowed to call `CreateTokenWithIAM`). An application without
    /// one — or with one that does not parse — allows nobody.
    fn resource_policy(
        &self,
        tx: &mut dyn Tx,
        action: &str,
        arn: &str,
    ) -> Result<Option<ResourcePolicy>, StoreError> {
        if !self.has_resource_policy(action) {
            return Ok(None);
        }
        let Some((_, app)) = apps::lookup(tx, arn).map_err(from_failure)? else {
            return Ok(None);
        };
        let policy = crate::oidc_iam::actor_policy(&app).and_then(|doc| {
            cairn_policy::Policy::parse(arn, &doc, cairn_policy::PolicyKind::Resource)
                .map_err(|e| tracing::warn!(%arn, error = %e, "an unusable actor policy"))
                .ok()
        });
        Ok(Some(ResourcePolicy {
            owner_account: app.account,
            policy: policy.map(Arc::new),
            must_allow: true,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::parts;

    #[test]
    fn sso_arns_parse() {
        assert_eq!(
            parts("arn:aws:sso:::instance/ssoins-0123456789abcdef"),
            Some(("instance", vec!["ssoins-0123456789abcdef"]))
        );
        assert_eq!(
            parts("arn:aws-cn:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef"),
            Some((
                "permissionSet",
                vec!["ssoins-0123456789abcdef", "ps-0123456789abcdef"]
            ))
        );
        assert_eq!(
            parts("arn:aws:sso::111122223333:application/ssoins-1/apl-2"),
            Some(("application", vec!["ssoins-1", "apl-2"]))
        );
        assert_eq!(parts("arn:aws:iam::111122223333:role/x"), None);
    }
}
