//! Role templates: `GetRoleTemplateVersion` and `AcquireRole` (IAM API Reference; IAM User
//! Guide, "Overview of role templates").
//!
//! A role template is AWS's, under the account `aws`
//! (`arn:aws:iam::aws:role-template/<service principal>/<name>:<major version>`); a version
//! (major in the ARN, minor chosen by `MinorVersion`, else the template's default) fixes the
//! role's name, path and description patterns, trust policy, inline and managed policies,
//! permissions boundary, tags and maximum session duration, with `${Parameter}` placeholders
//! filled from `ReplacementValues` (the placeholder syntax is Cairn's: AWS does not publish
//! its own). The templates served are data, `data/role-templates.json` (its `source` says
//! which facts are AWS's and which Cairn's).
//!
//! `AcquireRole` makes a real role through the code paths of `CreateRole`,
//! `AttachRolePolicy` and `PutRolePolicy`, inside the call's one transaction: any failure
//! rolls the whole role back. A role of the resulting name that this template version made
//! and that nobody changed since is returned as it is (role manager "either creates a role
//! from that template or returns an existing role that already matches it"); one the
//! template made but that was changed since is `RoleModified`; any other role of that name
//! is `NameConflict`.

use crate::common::{Ctx, fail, url_encode};
use crate::policies::put_inline;
use crate::records::{self, EntityKind, RoleRec};
use crate::roles::{DEFAULT_MAX_SESSION_S, NewRole, create_role_tx, role_api};
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::Tx;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

const DATA: &str = include_str!("../data/role-templates.json");

#[derive(serde::Deserialize)]
struct Catalogue {
    versions: Vec<types::RoleTemplateVersion>,
}

/// The served template versions (`data/role-templates.json`).
fn catalogue() -> &'static [types::RoleTemplateVersion] {
    static CATALOGUE: OnceLock<Vec<types::RoleTemplateVersion>> = OnceLock::new();
    CATALOGUE.get_or_init(|| match serde_json::from_str::<Catalogue>(DATA) {
        Ok(c) => c.versions,
        Err(e) => {
            tracing::error!(error = %e, "role-templates.json does not parse");
            Vec::new()
        }
    })
}

/// The template a role was made from: `SourceRoleTemplate`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SourceRec {
    pub arn: String,
    pub minor: i32,
}

pub(crate) fn source_api(s: &SourceRec) -> types::SourceRoleTemplate {
    types::SourceRoleTemplate {
        template_arn: s.arn.clone(),
        template_minor_version: s.minor,
    }
}

fn no_template(arn: &str) -> Failure {
    fail(
        Error::NoSuchEntityException,
        format!("The role template {arn} cannot be found."),
    )
}

fn invalid(message: impl Into<String>) -> Failure {
    fail(Error::InvalidInputException, message)
}

/// The version of `arn` that `minor` names (`None`: the template's default minor version).
fn find<'a>(
    versions: &'a [types::RoleTemplateVersion],
    arn: &str,
    minor: Option<i32>,
) -> Result<&'a types::RoleTemplateVersion, Failure> {
    let mut of_template = versions
        .iter()
        .filter(|v| v.template_arn.as_deref() == Some(arn))
        .peekable();
    let first = of_template
        .peek()
        .copied()
        .ok_or_else(|| no_template(arn))?;
    let wanted = minor.or(first.default_minor_version).unwrap_or(0);
    of_template
        .find(|v| v.minor_version.unwrap_or(0) == wanted)
        .ok_or_else(|| {
            fail(
                Error::NoSuchEntityException,
                format!("Minor version {wanted} of the role template {arn} cannot be found."),
            )
        })
}

/// The version as `GetRoleTemplateVersion` answers it: policy documents URL-encoded, as
/// every IAM answer carries them.
fn version_api(v: &types::RoleTemplateVersion) -> types::RoleTemplateVersion {
    let mut out = v.clone();
    out.assume_role_policy_document_template = v
        .assume_role_policy_document_template
        .as_deref()
        .map(url_encode);
    if let Some(list) = out.inline_policy_templates.as_mut() {
        for p in list {
            p.policy_document = url_encode(&p.policy_document);
        }
    }
    out
}

pub(crate) fn get_role_template_version(
    input: &types::GetRoleTemplateVersionRequest,
) -> Result<types::GetRoleTemplateVersionResponse, Failure> {
    get_in(catalogue(), input)
}

fn get_in(
    versions: &[types::RoleTemplateVersion],
    input: &types::GetRoleTemplateVersionRequest,
) -> Result<types::GetRoleTemplateVersionResponse, Failure> {
    let v = find(versions, &input.template_arn, input.minor_version)?;
    Ok(types::GetRoleTemplateVersionResponse {
        role_template_version: version_api(v),
    })
}

// ---------------------------------------------------------------------------- parameters

/// A parameter's values, checked against its definition.
type Values = BTreeMap<String, (types::ParameterTypeType, Vec<String>)>;

fn is_list(t: types::ParameterTypeType) -> bool {
    matches!(
        t,
        types::ParameterTypeType::StringList
            | types::ParameterTypeType::NumberList
            | types::ParameterTypeType::ArnList
    )
}

/// Checks `ReplacementValues` against the version's `ParametersDefinition`: every value
/// names a parameter; single-valued types get one value; numbers parse; ARNs look like ARNs;
/// an immutable parameter keeps its default; a required one without a default is given.
fn resolve_values(
    defs: &[types::ParameterDefinition],
    given: Option<&BTreeMap<String, types::ReplacementValueEntry>>,
) -> Result<Values, Failure> {
    let empty = BTreeMap::new();
    let given = given.unwrap_or(&empty);
    if let Some(unknown) = given.keys().find(|k| !defs.iter().any(|d| &d.name == *k)) {
        return Err(invalid(format!(
            "The role template does not define the parameter {unknown}."
        )));
    }
    let mut out = Values::new();
    for d in defs {
        let default: Option<Vec<String>> = d.default_value.as_ref().map(|v| {
            if is_list(d.r#type) {
                v.split(',').map(str::to_owned).collect()
            } else {
                vec![v.clone()]
            }
        });
        let values = match (given.get(&d.name), default) {
            (Some(entry), default) => {
                if d.immutable == Some(true) && default.as_ref() != Some(&entry.values) {
                    return Err(invalid(format!(
                        "The parameter {} is immutable and cannot be replaced.",
                        d.name
                    )));
                }
                entry.values.clone()
            }
            (None, Some(default)) => default,
            (None, None) if d.is_required == Some(true) => {
                return Err(invalid(format!(
                    "The role template requires a value for the parameter {}.",
                    d.name
                )));
            }
            (None, None) => continue,
        };
        if !is_list(d.r#type) && values.len() != 1 {
            return Err(invalid(format!(
                "The parameter {} of type {} takes exactly one value.",
                d.name,
                d.r#type.as_str()
            )));
        }
        for v in &values {
            let ok = match d.r#type {
                types::ParameterTypeType::Number | types::ParameterTypeType::NumberList => {
                    v.parse::<f64>().is_ok_and(f64::is_finite)
                }
                types::ParameterTypeType::Arn | types::ParameterTypeType::ArnList => {
                    v.starts_with("arn:") && v.split(':').count() >= 6
                }
                _ => true,
            };
            if !ok {
                return Err(invalid(format!(
                    "The value {v} of the parameter {} is not a valid {}.",
                    d.name,
                    d.r#type.as_str()
                )));
            }
        }
        out.insert(d.name.clone(), (d.r#type, values));
    }
    Ok(out)
}

/// Fills the `${Name}` placeholders of `text`. In a JSON document (`json`), values are
/// escaped for a JSON string, and a placeholder that is a whole JSON string (`"${Name}"`)
/// of a list parameter becomes a JSON array of the values; elsewhere a list parameter's
/// values are joined with commas.
fn render(text: &str, values: &Values, json: bool) -> Result<String, Failure> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        let name = &rest[start + 2..start + 2 + len];
        let (kind, list) = values.get(name).ok_or_else(|| {
            tracing::error!(
                parameter = name,
                "role template names an undefined parameter"
            );
            Failure(cairn_wire::ApiError::internal())
        })?;
        let before = &rest[..start];
        let after = &rest[start + 3 + len..];
        if json && is_list(*kind) && before.ends_with('"') && after.starts_with('"') {
            out.push_str(&before[..before.len() - 1]);
            out.push_str(&serde_json::Value::from(list.clone()).to_string());
            rest = &after[1..];
            continue;
        }
        out.push_str(before);
        let joined = list.join(",");
        if json {
            let quoted = serde_json::Value::from(joined).to_string();
            out.push_str(&quoted[1..quoted.len() - 1]);
        } else {
            out.push_str(&joined);
        }
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

// ---------------------------------------------------------------------------- AcquireRole

/// A role as the template version makes it.
struct Rendered {
    name: String,
    path: String,
    description: Option<String>,
    trust: String,
    inline: Vec<(String, String)>,
    managed: Vec<String>,
    boundary: Option<String>,
    tags: Vec<types::Tag>,
    max_session_s: i64,
}

fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

fn is_path(path: &str) -> bool {
    path == "/"
        || (path.len() <= 512
            && path.len() >= 2
            && path.starts_with('/')
            && path.ends_with('/')
            && path.bytes().all(|b| (0x21..=0x7e).contains(&b)))
}

fn render_role(v: &types::RoleTemplateVersion, values: &Values) -> Result<Rendered, Failure> {
    let name = render(
        v.role_name_pattern.as_deref().unwrap_or_default(),
        values,
        false,
    )?;
    if !is_name(&name) {
        return Err(invalid(format!(
            "The role name {name} that the role template produces is not a valid role name."
        )));
    }
    let path = render(v.role_path_pattern.as_deref().unwrap_or("/"), values, false)?;
    if !is_path(&path) {
        return Err(invalid(format!(
            "The path {path} that the role template produces is not a valid path."
        )));
    }
    let description = v
        .role_description_pattern
        .as_deref()
        .map(|p| render(p, values, false))
        .transpose()?;
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 1000)
    {
        return Err(invalid(
            "The role description that the role template produces is longer than 1000 characters.",
        ));
    }
    let trust = render(
        v.assume_role_policy_document_template
            .as_deref()
            .unwrap_or_default(),
        values,
        true,
    )?;
    let inline = v
        .inline_policy_templates
        .iter()
        .flatten()
        .map(|p| {
            Ok((
                p.policy_name.clone(),
                render(&p.policy_document, values, true)?,
            ))
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let tags = v
        .role_tags_template
        .iter()
        .flatten()
        .map(|t| {
            Ok(types::Tag {
                key: render(&t.key, values, false)?,
                value: render(&t.value, values, false)?,
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    Ok(Rendered {
        name,
        path,
        description,
        trust,
        inline,
        managed: v.managed_policy_arns.clone().unwrap_or_default(),
        boundary: v.permission_boundary_arn.clone(),
        tags,
        max_session_s: v
            .max_session_duration
            .map_or(DEFAULT_MAX_SESSION_S, i64::from),
    })
}

fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Whether the stored role is still what the template made of it.
fn unchanged(
    tx: &mut dyn Tx,
    account: &str,
    rec: &RoleRec,
    want: &Rendered,
) -> Result<bool, Failure> {
    let tags_now: BTreeSet<(&str, &str)> = rec
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let tags_want: BTreeSet<(&str, &str)> = want
        .tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str()))
        .collect();
    if rec.path != want.path
        || rec.description != want.description
        || rec.max_session_s != want.max_session_s
        || rec.boundary != want.boundary
        || tags_now != tags_want
        || !same_json(&rec.trust, &want.trust)
    {
        return Ok(false);
    }
    let attached: BTreeSet<String> =
        records::attached_arns(tx, account, EntityKind::Role, &rec.name)?
            .into_iter()
            .collect();
    if attached != want.managed.iter().cloned().collect() {
        return Ok(false);
    }
    let inline = records::inline_policies(tx, account, EntityKind::Role, &rec.name)?;
    Ok(inline.len() == want.inline.len()
        && want.inline.iter().all(|(name, doc)| {
            inline
                .iter()
                .any(|p| &p.name == name && same_json(&p.document, doc))
        }))
}

pub(crate) fn acquire_role(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::AcquireRoleRequest,
) -> Result<types::AcquireRoleResponse, Failure> {
    acquire_in(tx, c, catalogue(), input)
}

fn acquire_in(
    tx: &mut dyn Tx,
    c: &Ctx,
    versions: &[types::RoleTemplateVersion],
    input: &types::AcquireRoleRequest,
) -> Result<types::AcquireRoleResponse, Failure> {
    let v = find(versions, &input.template_arn, input.template_minor_version)?;
    if v.enabled == Some(false) || v.version_enabled == Some(false) {
        return Err(fail(
            Error::RoleTemplateDisabledException,
            format!(
                "The role template {} is disabled and cannot be used to create roles.",
                input.template_arn
            ),
        ));
    }
    let values = resolve_values(
        v.parameters_definition.as_deref().unwrap_or_default(),
        input.replacement_values.as_ref(),
    )?;
    let want = render_role(v, &values)?;
    let source = SourceRec {
        arn: input.template_arn.clone(),
        minor: v.minor_version.unwrap_or(0),
    };
    if let Some(existing) = records::role(tx, &c.account, &want.name)? {
        return match &existing.source {
            Some(s) if s.arn == source.arn => {
                if s.minor == source.minor && unchanged(tx, &c.account, &existing, &want)? {
                    Ok(types::AcquireRoleResponse {
                        role: role_api(&c.account, &existing, true),
                    })
                } else {
                    Err(fail(
                        Error::RoleModifiedException,
                        format!(
                            "The role {} was created from the role template {} but no longer matches it.",
                            existing.name, source.arn
                        ),
                    ))
                }
            }
            _ => Err(fail(
                Error::NameConflictException,
                format!(
                    "The role name {} conflicts with an existing role in the account.",
                    existing.name
                ),
            )),
        };
    }
    let managed: Vec<&str> = want.managed.iter().map(String::as_str).collect();
    let spec = NewRole {
        name: &want.name,
        path: &want.path,
        trust: &want.trust,
        description: want.description.as_deref(),
        max_session_s: want.max_session_s,
        boundary: want.boundary.as_deref(),
        tags: &want.tags,
        attach: &managed,
    };
    let mut rec = create_role_tx(tx, c.ids.as_ref(), c.now_ms, &c.account, &spec)?;
    rec.source = Some(source);
    records::save(
        tx,
        records::ROLES,
        &records::entity_key(&c.account, &rec.name),
        &rec,
    )?;
    for (name, doc) in &want.inline {
        put_inline(tx, c, EntityKind::Role, &rec.name, name, doc)?;
    }
    let mut role = role_api(&c.account, &rec, true);
    role.role_last_used = None;
    Ok(types::AcquireRoleResponse { role })
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        reason = "test code: a failed expectation panics"
    )]

    use super::*;
    use cairn_core::{Principal, SeededIds};
    use cairn_store::Store;
    use std::sync::Arc;

    const ACCOUNT: &str = "111122223333";
    const POWER: &str = "arn:aws:iam::aws:role-template/iam.amazonaws.com/PowerUserRoleTemplate:1";
    const READER: &str = "arn:aws:iam::aws:role-template/ec2.amazonaws.com/Reader:1";

    fn ctx() -> Ctx {
        Ctx {
            account: ACCOUNT.to_owned(),
            principal: Principal::Root {
                account_id: ACCOUNT.to_owned(),
                access_key_id: String::from("AKIAROOT"),
                session: None,
            },
            now_ms: 1_800_000_000_000,
            ids: Arc::new(SeededIds::new(7)),
        }
    }

    fn values(pairs: &[(&str, &[&str])]) -> BTreeMap<String, types::ReplacementValueEntry> {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    types::ReplacementValueEntry {
                        values: v.iter().map(|s| (*s).to_owned()).collect(),
                    },
                )
            })
            .collect()
    }

    /// A template with two minor versions (1 disabled), a list parameter, an immutable
    /// one, an inline policy and tags.
    fn test_catalogue() -> Vec<types::RoleTemplateVersion> {
        let base: types::RoleTemplateVersion = serde_json::from_value(serde_json::json!({
            "TemplateArn": READER,
            "TemplateName": "Reader",
            "MajorVersion": 1,
            "MinorVersion": 0,
            "DefaultMinorVersion": 0,
            "Enabled": true,
            "VersionEnabled": true,
            "ParametersDefinition": [
                {"Name": "Team", "Type": "String", "IsRequired": true},
                {"Name": "Buckets", "Type": "ArnList", "IsRequired": true},
                {"Name": "Limit", "Type": "Number", "DefaultValue": "5", "Immutable": true}
            ],
            "RoleNamePattern": "Reader-${Team}",
            "RolePathPattern": "/readers/",
            "AssumeRolePolicyDocumentTemplate": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"ec2.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}",
            "InlinePolicyTemplates": [{"PolicyName": "read", "PolicyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"${Buckets}\"}]}"}],
            "RoleTagsTemplate": [{"Key": "team", "Value": "${Team}"}]
        }))
        .unwrap();
        let mut disabled = base.clone();
        disabled.minor_version = Some(1);
        disabled.version_enabled = Some(false);
        vec![base, disabled]
    }

    fn acquire(
        store: &Store,
        cat: &[types::RoleTemplateVersion],
        minor: Option<i32>,
        pairs: &[(&str, &[&str])],
    ) -> Result<types::AcquireRoleResponse, String> {
        let cat = cat.to_vec();
        let input = types::AcquireRoleRequest {
            template_arn: READER.into(),
            template_minor_version: minor,
            replacement_values: Some(values(pairs)),
        };
        store
            .write_blocking(move |tx| acquire_in(tx, &ctx(), &cat, &input))
            .map_err(|Failure(e)| e.code.to_string())
    }

    const BUCKETS: &[&str] = &["arn:aws:s3:::b"];

    #[test]
    fn the_vendored_catalogue_serves_power_user() {
        let v = get_role_template_version(&types::GetRoleTemplateVersionRequest {
            template_arn: POWER.into(),
            minor_version: None,
        })
        .unwrap()
        .role_template_version;
        assert_eq!(v.template_name.as_deref(), Some("PowerUserRoleTemplate"));
        assert_eq!(
            v.managed_policy_arns,
            Some(vec!["arn:aws:iam::aws:policy/PowerUserAccess".to_owned()])
        );
    }

    #[test]
    fn placeholders_are_escaped_and_lists_become_arrays() {
        let mut vals = Values::new();
        vals.insert(
            "A".into(),
            (types::ParameterTypeType::String, vec!["x\"y".into()]),
        );
        vals.insert(
            "L".into(),
            (
                types::ParameterTypeType::ArnList,
                vec!["arn:1".into(), "arn:2".into()],
            ),
        );
        assert_eq!(
            render(r#"{"a":"${A}","l":"${L}"}"#, &vals, true).unwrap(),
            r#"{"a":"x\"y","l":["arn:1","arn:2"]}"#
        );
        assert_eq!(
            render("n-${A}-${L}", &vals, false).unwrap(),
            "n-x\"y-arn:1,arn:2"
        );
    }

    #[test]
    fn a_disabled_minor_version_is_refused() {
        let store = Store::open_sqlite_memory().unwrap();
        let cat = test_catalogue();
        let got = acquire(
            &store,
            &cat,
            Some(1),
            &[("Team", &["a"]), ("Buckets", BUCKETS)],
        );
        assert_eq!(got.err().as_deref(), Some("RoleTemplateDisabled"));
        let missing = acquire(
            &store,
            &cat,
            Some(7),
            &[("Team", &["a"]), ("Buckets", BUCKETS)],
        );
        assert_eq!(missing.err().as_deref(), Some("NoSuchEntity"));
    }

    #[test]
    fn parameters_are_checked_against_their_definitions() {
        let store = Store::open_sqlite_memory().unwrap();
        let cat = test_catalogue();
        let err = |pairs: &[(&str, &[&str])]| acquire(&store, &cat, None, pairs).err();
        let invalid = Some(String::from("InvalidInput"));
        assert_eq!(err(&[("Buckets", BUCKETS)]), invalid, "required");
        assert_eq!(
            err(&[("Team", &["a", "b"]), ("Buckets", BUCKETS)]),
            invalid,
            "one value"
        );
        assert_eq!(
            err(&[("Team", &["a"]), ("Buckets", &["bucket"])]),
            invalid,
            "an ARN"
        );
        assert_eq!(
            err(&[("Team", &["a"]), ("Buckets", BUCKETS), ("Limit", &["6"])]),
            invalid,
            "immutable"
        );
        assert_eq!(
            err(&[("Team", &["a"]), ("Buckets", BUCKETS), ("Other", &["x"])]),
            invalid,
            "undefined"
        );
        assert_eq!(
            err(&[("Team", &["a b"]), ("Buckets", BUCKETS)]),
            invalid,
            "role name"
        );
        let role = acquire(
            &store,
            &cat,
            None,
            &[("Team", &["a"]), ("Buckets", BUCKETS)],
        )
        .unwrap()
        .role;
        assert_eq!(role.arn, "arn:aws:iam::111122223333:role/readers/Reader-a");
        assert_eq!(
            role.source_role_template
                .map(|s| (s.template_arn, s.template_minor_version)),
            Some((READER.to_owned(), 0))
        );
        let doc = store
            .write_blocking(|tx| {
                Ok::<_, Failure>(records::inline_policies(
                    tx,
                    ACCOUNT,
                    EntityKind::Role,
                    "Reader-a",
                )?)
            })
            .unwrap();
        assert_eq!(
            doc[0].document,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::b"]}]}"#
        );
    }

    #[test]
    fn a_failing_inline_policy_leaves_no_role() {
        let store = Store::open_sqlite_memory().unwrap();
        let mut cat = test_catalogue();
        if let Some(p) = cat[0]
            .inline_policy_templates
            .as_mut()
            .and_then(|l| l.first_mut())
        {
            p.policy_document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]}"#.into();
        }
        let got = acquire(
            &store,
            &cat,
            None,
            &[("Team", &["a"]), ("Buckets", BUCKETS)],
        );
        assert_eq!(got.err().as_deref(), Some("MalformedPolicyDocument"));
        let left = store
            .write_blocking(|tx| Ok::<_, Failure>(records::role(tx, ACCOUNT, "Reader-a")?))
            .unwrap();
        assert!(left.is_none());
    }
}
