//! What the authorize step learns from CloudTrail about its own resources: a trail's tags
//! (`aws:ResourceTag/*` on `arn:…:cloudtrail:<region>:<account>:trail/<name>`).

use crate::trails;
use cairn_core::ResourceFacts;
use cairn_store::{StoreError, Tx};

/// CloudTrail's [`ResourceFacts`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TrailFacts;

/// `(region, account, name)` of a trail ARN.
fn trail_of(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = resource.strip_prefix("trail/")?;
    (service == "cloudtrail" && !name.is_empty()).then_some((region, account, name))
}

impl ResourceFacts for TrailFacts {
    fn service(&self) -> &'static str {
        "cloudtrail"
    }

    fn is_taggable(&self, arn: &str) -> bool {
        trail_of(arn).is_some()
    }

    fn resource_tags(
        &self,
        tx: &mut dyn Tx,
        arn: &str,
    ) -> Result<Option<Vec<(String, String)>>, StoreError> {
        let Some((region, account, name)) = trail_of(arn) else {
            return Ok(None);
        };
        Ok(trails::get(tx, account, region, name)?.map(|t| t.tags))
    }
}

#[cfg(test)]
mod tests {
    use super::trail_of;

    #[test]
    fn trail_arns_parse() {
        assert_eq!(
            trail_of("arn:aws:cloudtrail:us-east-1:111122223333:trail/main"),
            Some(("us-east-1", "111122223333", "main"))
        );
        assert_eq!(
            trail_of("arn:aws-cn:cloudtrail:cn-north-1:111122223333:trail/a.b"),
            Some(("cn-north-1", "111122223333", "a.b"))
        );
        assert_eq!(
            trail_of("arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/x"),
            None
        );
        assert_eq!(trail_of("arn:aws:iam::111122223333:user/trail/x"), None);
        assert_eq!(
            trail_of("arn:aws:cloudtrail:us-east-1:111122223333:trail/"),
            None
        );
    }
}
