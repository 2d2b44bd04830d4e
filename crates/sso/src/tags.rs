//! Tags on Identity Center resources (instances, permission sets, applications, trusted
//! token issuers): at most 50 per resource (IAM Identity Center User Guide, quotas [M]),
//! keys unique, `aws:` keys reserved.

use crate::instance::validation;
use cairn_api::sso_admin::types::Tag;
use cairn_core::Failure;

/// Tags a resource may carry.
pub const MAX_TAGS: usize = 50;

/// `existing` with `new` added (a key given again takes the new value).
pub fn merge(existing: &[(String, String)], new: &[Tag]) -> Result<Vec<(String, String)>, Failure> {
    let mut out = existing.to_vec();
    for t in new {
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(validation(format!(
                "The tag key {} uses the reserved prefix aws:.",
                t.key
            )));
        }
        match out.iter_mut().find(|(k, _)| *k == t.key) {
            Some(slot) => slot.1 = t.value.clone(),
            None => out.push((t.key.clone(), t.value.clone())),
        }
    }
    if out.len() > MAX_TAGS {
        return Err(Failure(cairn_wire::ApiError::new(
            cairn_api::sso_admin::Error::ServiceQuotaExceededException,
            format!("A resource can have at most {MAX_TAGS} tags."),
        )));
    }
    Ok(out)
}

pub fn api(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}
