//! What every IAM handler shares: the call's context as plain data (write closures may run
//! more than once and must be `'static`), AWS's errors, pagination, tags, documents.

use crate::records::EntityKind;
use base64::Engine;
use cairn_api::iam::{Error, types};
use cairn_core::{Call, Failure, Ids, Principal};
use cairn_wire::error::ErrorShape;
use cairn_wire::{ApiError, Timestamp};
use std::sync::Arc;

/// The parts of a [`Call`] IAM logic needs, owned.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub account: String,
    pub principal: Principal,
    pub now_ms: i64,
    pub ids: Arc<dyn Ids>,
}

impl Ctx {
    pub(crate) fn of(call: &Call) -> Self {
        Self {
            account: call.account_id().to_owned(),
            principal: call.principal().clone(),
            now_ms: call.now_ms(),
            ids: call.ids_arc(),
        }
    }

    /// `<prefix>` + 17 characters of `[A-Z2-7]`: `AIDA…`, `AROA…`, `AGPA…`, `ANPA…`.
    pub(crate) fn unique_id(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.ids.upper_alnum(17))
    }
}

pub(crate) fn fail(code: Error, message: impl Into<String>) -> Failure {
    Failure(ApiError::new(code, message))
}

/// IAM's `ValidationError` (not in the model's error list).
pub(crate) fn validation(message: impl Into<String>) -> Failure {
    Failure(ApiError::new(
        ErrorShape {
            code: "ValidationError",
            status: 400,
            sender_fault: true,
            message_key: "message",
        },
        message,
    ))
}

/// `AccessDenied` as IAM words it for a resource no policy can grant (AWS managed policies).
pub(crate) fn access_denied(principal: &Principal, action: &str, resource: &str) -> Failure {
    Failure(ApiError::new(
        ErrorShape {
            code: "AccessDenied",
            status: 403,
            sender_fault: true,
            message_key: "message",
        },
        format!(
            "User: {} is not authorized to perform: iam:{action} on resource: {resource}",
            principal.arn()
        ),
    ))
}

pub(crate) fn no_such(kind: EntityKind, name: &str) -> Failure {
    fail(
        Error::NoSuchEntityException,
        format!("The {} with name {name} cannot be found.", kind.word()),
    )
}

pub(crate) fn already_exists(kind: EntityKind, name: &str) -> Failure {
    let word = match kind {
        EntityKind::User => "User",
        EntityKind::Group => "Group",
        EntityKind::Role => "Role",
    };
    fail(
        Error::EntityAlreadyExistsException,
        format!("{word} with name {name} already exists."),
    )
}

pub(crate) fn delete_conflict(what: &str) -> Failure {
    fail(
        Error::DeleteConflictException,
        format!("Cannot delete entity, must {what} first."),
    )
}

pub(crate) fn ts(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

/// The path given, or `/`.
pub(crate) fn path_or_root(path: Option<&str>) -> String {
    path.unwrap_or("/").to_owned()
}

/// Size of a policy document as IAM counts it: characters other than whitespace.
pub(crate) fn policy_size(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

/// Percent-encodes a policy document as IAM returns it (RFC 3986 unreserved kept).
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------- pagination

/// One page of a listing.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    /// Set when more items follow.
    pub marker: Option<String>,
}

impl<T> Page<T> {
    pub(crate) fn truncated(&self) -> Option<bool> {
        Some(self.marker.is_some())
    }
}

/// Pages `items` (sorted by their key): the marker names the first key of the next page, so
/// pages stay stable when earlier items are deleted in between.
pub(crate) fn paginate<T>(
    mut items: Vec<(String, T)>,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> Result<Page<T>, Failure> {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let start_key = match marker {
        Some(m) => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(m)
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .ok_or_else(|| fail(Error::InvalidInputException, "Invalid Marker."))?,
        ),
        None => None,
    };
    let max = usize::try_from(max_items.unwrap_or(100))
        .unwrap_or(100)
        .max(1);
    let mut iter = items
        .into_iter()
        .skip_while(|(k, _)| start_key.as_deref().is_some_and(|s| k.as_str() < s))
        .peekable();
    let mut out = Vec::new();
    while out.len() < max {
        match iter.next() {
            Some((_, item)) => out.push(item),
            None => break,
        }
    }
    let marker = iter
        .peek()
        .map(|(k, _)| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k.as_bytes()));
    Ok(Page { items: out, marker })
}

// ------------------------------------------------------------------------------------ tags

/// Most tags an IAM resource carries.
pub(crate) const MAX_TAGS: usize = 50;

pub(crate) fn to_api_tags(tags: &[(String, String)]) -> Vec<types::Tag> {
    tags.iter()
        .map(|(k, v)| types::Tag {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

/// `Some(tags)` when there are any (AWS leaves the member out otherwise).
pub(crate) fn api_tags_opt(tags: &[(String, String)]) -> Option<Vec<types::Tag>> {
    (!tags.is_empty()).then(|| to_api_tags(tags))
}

/// Merges `new` into `tags` (keys case-insensitive: a new value replaces the old one, with the
/// new key's case), refusing duplicates within the request and more than [`MAX_TAGS`].
pub(crate) fn merge_tags(
    tags: &mut Vec<(String, String)>,
    new: &[types::Tag],
) -> Result<(), Failure> {
    for (i, t) in new.iter().enumerate() {
        let lower = t.key.to_lowercase();
        if new
            .iter()
            .skip(i + 1)
            .any(|o| o.key.to_lowercase() == lower)
        {
            return Err(fail(
                Error::InvalidInputException,
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    for t in new {
        let lower = t.key.to_lowercase();
        match tags.iter_mut().find(|(k, _)| k.to_lowercase() == lower) {
            Some(slot) => *slot = (t.key.clone(), t.value.clone()),
            None => tags.push((t.key.clone(), t.value.clone())),
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(fail(
            Error::LimitExceededException,
            format!("Cannot exceed quota for TagsPerResource: {MAX_TAGS}"),
        ));
    }
    Ok(())
}

pub(crate) fn remove_tags(tags: &mut Vec<(String, String)>, keys: &[String]) {
    let lower: Vec<String> = keys.iter().map(|k| k.to_lowercase()).collect();
    tags.retain(|(k, _)| !lower.contains(&k.to_lowercase()));
}

/// A page of tags (in the order they were added).
pub(crate) fn tag_page(
    tags: &[(String, String)],
    marker: Option<&str>,
    max_items: Option<i32>,
) -> Result<Page<types::Tag>, Failure> {
    let keyed = to_api_tags(tags)
        .into_iter()
        .enumerate()
        .map(|(i, t)| (format!("{i:08}"), t))
        .collect();
    paginate(keyed, marker, max_items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_resume_at_the_marker() {
        let items: Vec<(String, u32)> = (0..5).map(|i| (format!("k{i}"), i)).collect();
        let p1 = paginate(items.clone(), None, Some(2)).unwrap();
        assert_eq!(p1.items, vec![0, 1]);
        let p2 = paginate(items.clone(), p1.marker.as_deref(), Some(2)).unwrap();
        assert_eq!(p2.items, vec![2, 3]);
        let p3 = paginate(items, p2.marker.as_deref(), Some(2)).unwrap();
        assert_eq!(p3.items, vec![4]);
        assert!(p3.marker.is_none());
        assert!(paginate(Vec::<(String, u32)>::new(), Some("!!"), None).is_err());
    }

    #[test]
    fn tags_merge_case_insensitively() {
        let mut tags = vec![(String::from("Team"), String::from("a"))];
        let t = |k: &str, v: &str| types::Tag {
            key: k.into(),
            value: v.into(),
        };
        merge_tags(&mut tags, &[t("team", "b"), t("env", "x")]).unwrap();
        assert_eq!(
            tags,
            vec![("team".into(), "b".into()), ("env".into(), "x".into())]
        );
        assert!(merge_tags(&mut tags, &[t("a", "1"), t("A", "2")]).is_err());
        remove_tags(&mut tags, &[String::from("TEAM")]);
        assert_eq!(tags.len(), 1);
    }

    #[test]
    fn documents_are_url_encoded_and_sized() {
        assert_eq!(
            url_encode("{\"A\": \"b c\"}"),
            "%7B%22A%22%3A%20%22b%20c%22%7D"
        );
        assert_eq!(policy_size("{ \"a\" :\n 1 }"), 7);
    }
}
