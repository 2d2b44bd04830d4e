//! What the authorize step learns from Identity Center about its resources: the tags of
//! instances and permission sets (`aws:ResourceTag/*`; Service Authorization Reference, "AWS
//! IAM Identity Center": both resource types take `aws:ResourceTag/${TagKey}`).

use crate::{apps, model, permsets, tti};
use cairn_core::{Failure, ResourceFacts};
use cairn_store::{StoreError, Tx};

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
