//! `GetHumanReadableSummary` (IAM API Reference).
//!
//! AWS documents one entity type, `delegation-request`, summarized by a large language
//! model; Cairn summarizes the permission policy a delegation request delegates
//! deterministically (`delegation.rs`), for a caller who may see the request, and answers
//! `NoSuchEntity` otherwise. **Cairn's extension:** the ARN of an IAM managed policy (AWS's or the
//! account's), role, user or group is summarized *deterministically* from the parsed
//! policies (`cairn_policy`): per policy and statement, the actions grouped by service, the
//! resources, the conditions, allows before denies, and the permissions boundary. Other ARNs
//! are `InvalidInput`.
//!
//! `Locale` follows the AWS Management Console's languages (API Reference: "based on the
//! Supported languages of the AWS Management Console"); summaries are written in English
//! only, so an English locale is `AVAILABLE` and another console language `NOT_SUPPORTED`
//! (no content: "Summary content is non-empty only if the SummaryState is AVAILABLE"); a
//! locale that is no console language is `InvalidInput`.

use crate::authz::{PERMISSIONS_BOUNDARY, managed_document, principal_policy_documents};
use crate::common::{Ctx, fail};
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_policy::{Effect, Policy, PolicyKind, Statement};
use cairn_store::Tx;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The console's languages (AWS Management Console Getting Started Guide, "Changing the
/// language of the console"), English first.
const LOCALES: &[&str] = &[
    "en-US", "en-GB", "de-DE", "es-ES", "fr-FR", "id-ID", "it-IT", "ja-JP", "ko-KR", "pt-BR",
    "tr-TR", "zh-CN", "zh-TW",
];

/// `summaryContentType`: at most 10,000 characters.
const MAX_CONTENT: usize = 10_000;

fn invalid(message: impl Into<String>) -> Failure {
    fail(Error::InvalidInputException, message)
}

/// The console locale `given` names (any case; a bare language picks its first locale).
fn locale(given: Option<&str>) -> Result<&'static str, Failure> {
    let Some(given) = given else {
        return Ok("en-US");
    };
    LOCALES
        .iter()
        .find(|l| l.eq_ignore_ascii_case(given))
        .or_else(|| {
            LOCALES.iter().find(|l| {
                l.split('-')
                    .next()
                    .is_some_and(|lang| lang.eq_ignore_ascii_case(given))
            })
        })
        .copied()
        .ok_or_else(|| invalid(format!("The locale {given} is not supported.")))
}

pub(crate) fn get_human_readable_summary(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GetHumanReadableSummaryRequest,
) -> Result<types::GetHumanReadableSummaryResponse, Failure> {
    let arn = input.entity_arn.as_str();
    let locale = locale(input.locale.as_deref())?;
    let Some((account, resource)) = arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.split_once(':'))
    else {
        return Err(unsupported(arn));
    };
    let (kind, _) = resource.split_once('/').unwrap_or((resource, ""));
    let documents: Vec<(String, String, String)> = match kind {
        "delegation-request" => {
            // The permissions the request delegates (its rendered permission policy), for
            // a caller who may see the request; AWS's summary is a model's prose, Cairn's
            // the same deterministic summary as a policy's.
            let id = resource.rsplit('/').next().unwrap_or_default();
            let rec = crate::delegation::visible(tx, c, id).map_err(|_| {
                fail(
                    Error::NoSuchEntityException,
                    format!("The delegation request {arn} cannot be found."),
                )
            })?;
            vec![(arn.to_owned(), String::new(), rec.policy.clone())]
        }
        "policy" => match managed_document(tx, &c.account, arn)? {
            Some(doc) if account == c.account || account == "aws" => {
                vec![(arn.to_owned(), String::new(), doc)]
            }
            _ => return Err(not_found(arn)),
        },
        "user" | "group" | "role" => {
            principal_policy_documents(tx, &c.account, arn)?.ok_or_else(|| not_found(arn))?
        }
        _ => return Err(unsupported(arn)),
    };
    if !locale.starts_with("en-") {
        return Ok(types::GetHumanReadableSummaryResponse {
            locale: Some(locale.to_owned()),
            summary_content: Some(String::new()),
            summary_state: Some(types::SummaryStateType::NotSupported),
        });
    }
    let (state, content) = match summarize(arn, kind, &documents) {
        Some(text) => (types::SummaryStateType::Available, text),
        None => (types::SummaryStateType::Failed, String::new()),
    };
    Ok(types::GetHumanReadableSummaryResponse {
        locale: Some(locale.to_owned()),
        summary_content: Some(content),
        summary_state: Some(state),
    })
}

fn unsupported(arn: &str) -> Failure {
    invalid(format!(
        "The entity {arn} cannot be summarized: the supported entity types are delegation-request and, in Cairn, IAM policies, roles, users and groups."
    ))
}

fn not_found(arn: &str) -> Failure {
    fail(
        Error::NoSuchEntityException,
        format!("The entity {arn} cannot be found."),
    )
}

/// The summary text; `None` if a stored document does not parse (it always should).
fn summarize(arn: &str, kind: &str, documents: &[(String, String, String)]) -> Option<String> {
    let what = match kind {
        "policy" => "managed policy",
        "delegation-request" => "delegation request (the permissions it delegates)",
        "user" => "IAM user (its own policies and its groups')",
        "group" => "IAM group",
        _ => "IAM role",
    };
    let mut out = format!("Summary of the {what} {arn}.\n");
    let (boundaries, identity): (Vec<_>, Vec<_>) = documents
        .iter()
        .partition(|(_, ty, _)| ty == PERMISSIONS_BOUNDARY);
    if identity.is_empty() {
        out.push_str("\nNo policy grants anything: every request is implicitly denied.\n");
    }
    let mut parsed = Vec::with_capacity(identity.len());
    for (id, _, doc) in &identity {
        parsed.push((
            id,
            Policy::parse(id.as_str(), doc, PolicyKind::Identity).ok()?,
        ));
    }
    for (effect, heading) in [(Effect::Allow, "Allows"), (Effect::Deny, "Denies")] {
        let lines: Vec<String> = parsed
            .iter()
            .flat_map(|(id, p)| {
                p.statements()
                    .iter()
                    .filter(move |s| s.effect() == effect)
                    .flat_map(move |s| statement_lines(id, s))
            })
            .collect();
        if !lines.is_empty() {
            let _ = writeln!(out, "\n{heading}:");
            for line in lines {
                let _ = writeln!(out, "- {line}");
            }
        }
    }
    for (id, _, doc) in &boundaries {
        let p = Policy::parse(id.as_str(), doc, PolicyKind::Identity).ok()?;
        let _ = writeln!(
            out,
            "\nPermissions boundary {id}: nothing outside what it allows is granted, whatever the policies above say ({} statement{}).",
            p.statements().len(),
            if p.statements().len() == 1 { "" } else { "s" }
        );
    }
    Some(cut(out))
}

/// One line per service a statement names: `<service>: <actions> on <resources>[ when …]
/// (<policy>[, statement <sid>])`.
fn statement_lines(policy: &str, s: &Statement) -> Vec<String> {
    let (not_action, actions) = s.action_texts();
    let resources = match s.resource_texts() {
        None => String::new(),
        Some((false, list)) if list.iter().any(|r| &**r == "*") => " on all resources".into(),
        Some((false, list)) => format!(" on {}", join(list)),
        Some((true, list)) => format!(" on all resources except {}", join(list)),
    };
    let conditions = conditions(s);
    let source = match s.sid() {
        Some(sid) => format!("{policy}, statement {sid}"),
        None => policy.to_owned(),
    };
    if not_action {
        return vec![format!(
            "every action except {}{resources}{conditions} ({source})",
            join(actions)
        )];
    }
    // Actions grouped by service prefix, sorted; a bare `*` is every service.
    let mut by_service: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in actions {
        let (service, name) = a.split_once(':').unwrap_or(("*", a));
        by_service
            .entry(service.to_ascii_lowercase())
            .or_default()
            .push(name.to_owned());
    }
    by_service
        .into_iter()
        .map(|(service, mut names)| {
            names.sort_unstable();
            names.dedup();
            let what = if service == "*" {
                "every action of every service".to_owned()
            } else if names.iter().any(|n| n == "*") {
                format!("{service}: every action")
            } else {
                format!("{service}: {}", names.join(", "))
            };
            format!("{what}{resources}{conditions} ({source})")
        })
        .collect()
}

fn join(list: &[Box<str>]) -> String {
    list.iter()
        .map(AsRef::as_ref)
        .collect::<Vec<&str>>()
        .join(", ")
}

fn conditions(s: &Statement) -> String {
    let parts: Vec<String> = s
        .conditions()
        .iter()
        .map(|c| {
            let values: Vec<&str> = c.value_texts().collect();
            format!(
                "{} {} {}",
                c.key_name(),
                c.operator_name(),
                values.join(" or ")
            )
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" when {}", parts.join(" and "))
    }
}

/// At most [`MAX_CONTENT`] characters, cut at a line.
fn cut(text: String) -> String {
    if text.chars().count() <= MAX_CONTENT {
        return text;
    }
    const MORE: &str = "… (summary shortened)\n";
    let budget = MAX_CONTENT - MORE.chars().count();
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        if out.chars().count() + line.chars().count() > budget {
            break;
        }
        out.push_str(line);
    }
    out.push_str(MORE);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code: a failed expectation panics")]

    use super::*;

    #[test]
    fn locales_follow_the_console() {
        assert_eq!(locale(None).ok(), Some("en-US"));
        assert_eq!(locale(Some("JA-jp")).ok(), Some("ja-JP"));
        assert_eq!(locale(Some("en")).ok(), Some("en-US"));
        assert_eq!(
            locale(Some("xx-YY")).err().map(|f| f.0.code.to_string()),
            Some("InvalidInput".into())
        );
    }

    #[test]
    fn statements_are_grouped_by_service_allows_before_denies() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
          {"Sid":"Deny","Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"},
          {"Effect":"Allow","Action":["s3:PutObject","ec2:Describe*","s3:GetObject"],"Resource":"arn:aws:s3:::b/*",
           "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}},
          {"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:iam::*:*"}]}"#;
        let text = summarize(
            "arn:aws:iam::111122223333:policy/p",
            "policy",
            &[(
                "arn:aws:iam::111122223333:policy/p".into(),
                String::new(),
                doc.into(),
            )],
        )
        .unwrap();
        assert_eq!(
            text,
            "Summary of the managed policy arn:aws:iam::111122223333:policy/p.\n\
             \nAllows:\n\
             - ec2: Describe* on arn:aws:s3:::b/* when aws:SourceIp IpAddress 10.0.0.0/8 or 192.168.0.0/16 (arn:aws:iam::111122223333:policy/p)\n\
             - s3: GetObject, PutObject on arn:aws:s3:::b/* when aws:SourceIp IpAddress 10.0.0.0/8 or 192.168.0.0/16 (arn:aws:iam::111122223333:policy/p)\n\
             - every action except iam:* on all resources except arn:aws:iam::*:* (arn:aws:iam::111122223333:policy/p)\n\
             \nDenies:\n\
             - s3: DeleteBucket on all resources (arn:aws:iam::111122223333:policy/p, statement Deny)\n"
        );
    }

    #[test]
    fn long_summaries_are_cut_at_a_line() {
        let text = "x\n".repeat(6_000);
        let out = cut(text);
        assert!(out.chars().count() <= MAX_CONTENT);
        assert!(out.ends_with("(summary shortened)\n"));
    }
}
