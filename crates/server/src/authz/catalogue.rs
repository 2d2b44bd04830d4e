//! The authorization catalogue (`models/authorization/*.json`), loaded once and indexed like
//! [`SERVICES`]: for every operation, the IAM action, the resources it acts on (ARN template +
//! where each variable comes from), the condition keys fed from the input, and the further
//! actions some inputs require. See `models/authorization/README.md` for the file shape.

use crate::services::SERVICES;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The catalogue files, embedded at build time (the JSON is data, not code).
const FILES: &[(&str, &str)] = &[
    (
        "organizations",
        include_str!("../../../../models/authorization/organizations.json"),
    ),
    (
        "sts",
        include_str!("../../../../models/authorization/sts.json"),
    ),
    (
        "cloudtrail",
        include_str!("../../../../models/authorization/cloudtrail.json"),
    ),
    (
        "iam",
        include_str!("../../../../models/authorization/iam.json"),
    ),
    (
        "sso-admin",
        include_str!("../../../../models/authorization/sso-admin.json"),
    ),
    (
        "identitystore",
        include_str!("../../../../models/authorization/identitystore.json"),
    ),
    (
        "sso",
        include_str!("../../../../models/authorization/sso.json"),
    ),
    (
        "sso-oidc",
        include_str!("../../../../models/authorization/sso-oidc.json"),
    ),
    (
        "cloudtrail-data",
        include_str!("../../../../models/authorization/cloudtrail-data.json"),
    ),
];

#[derive(Deserialize)]
struct FileJson {
    service: String,
    resource_types: BTreeMap<String, ResourceTypeJson>,
    operations: BTreeMap<String, OperationJson>,
}

#[derive(Deserialize)]
struct ResourceTypeJson {
    arn: String,
}

#[derive(Deserialize)]
struct OperationJson {
    action: Option<String>,
    #[serde(default)]
    resources: Vec<ResourceJson>,
    #[serde(default)]
    condition_keys: Vec<String>,
    #[serde(default)]
    condition_sources: BTreeMap<String, String>,
    #[serde(default)]
    also_requires: Vec<AlsoJson>,
    #[serde(default = "yes")]
    policy_checked: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct ResourceJson {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    members: BTreeMap<String, String>,
    #[serde(default)]
    resolve: BTreeMap<String, String>,
    #[serde(default)]
    accepts_arn: bool,
    #[serde(default)]
    default: Option<String>,
}

#[derive(Deserialize)]
struct AlsoJson {
    action: String,
    when: String,
    #[serde(default)]
    resources: Option<Vec<ResourceJson>>,
}

/// Where a template variable's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An input member path (`A`, `A.B`, `A[]`, `A[].B`).
    Member(String),
    /// The request context (`OrganizationId`: the caller's organization).
    Context,
    /// A stored resource the request names.
    Store,
    /// The calling principal itself.
    Caller,
    /// Created by this call: unknown before the handler runs; checked as `*`.
    New,
    /// Nothing names it: `*`.
    Wildcard,
    /// The same-named variable of the ARN held by this member.
    ArnOf(String),
}

/// One resource an operation is checked against.
#[derive(Debug, Clone)]
pub struct ResourceSpec {
    pub template: String,
    /// The member holding the whole ARN, if the input names the resource by ARN.
    pub whole_arn: Option<String>,
    /// The IAM path member (`Path`) for `…NameWithPath` variables on create calls.
    pub path_member: Option<String>,
    /// Template variable → sources tried in order (member first, then `resolve`).
    pub vars: Vec<(String, Vec<Source>)>,
    /// A member that may hold the bare name/ID or the whole ARN.
    pub accepts_arn: bool,
    /// When the member is absent the resource is the caller's own.
    pub default_caller: bool,
    /// The template of the AWS-managed variant of this resource type (`awspolicy` for
    /// Organizations' `policy`: named under account `aws`), used when the request names an
    /// AWS-managed resource.
    pub aws_template: Option<String>,
}

/// A further action evaluated when an input member is present.
#[derive(Debug, Clone)]
pub struct Also {
    pub action: String,
    pub when: String,
    /// `None`: the operation's own resources.
    pub resources: Option<Vec<ResourceSpec>>,
}

/// How one operation is authorized.
#[derive(Debug, Clone)]
pub struct OpAuth {
    /// `None`: IAM never authorizes the call (bearer-token and unsigned APIs).
    pub action: Option<String>,
    /// `false`: policies cannot deny it (`sts:GetCallerIdentity`, `sts:GetSessionToken`).
    pub policy_checked: bool,
    pub resources: Vec<ResourceSpec>,
    /// Condition key → input member path.
    pub condition_sources: Vec<(String, String)>,
    /// Condition keys whose value is read from the stored resource the request names
    /// (those Cairn resolves: [`STORED_KEYS`]).
    pub stored_keys: Vec<String>,
    pub also: Vec<Also>,
}

/// Action condition keys Cairn reads from the stored resource when the input does not
/// carry them.
pub const STORED_KEYS: &[&str] = &["organizations:PolicyType"];

/// One service's entries, by operation index of its model, and its resource ARN templates.
#[derive(Debug, Default)]
pub struct ServiceAuth {
    pub ops: Vec<Option<OpAuth>>,
    pub templates: Vec<String>,
}

/// The catalogue, by index of [`SERVICES`].
#[derive(Debug, Default)]
pub struct Catalogue {
    pub services: Vec<ServiceAuth>,
}

impl Catalogue {
    /// The loaded catalogue (parsed once). A file that does not parse is a build defect: it
    /// is logged and its service's operations are refused (deny by default).
    pub fn get() -> &'static Catalogue {
        static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
        CATALOGUE.get_or_init(Catalogue::load)
    }

    pub fn op(&self, service: usize, op: usize) -> Option<&OpAuth> {
        self.services.get(service)?.ops.get(op)?.as_ref()
    }

    fn load() -> Catalogue {
        let mut files: BTreeMap<String, FileJson> = BTreeMap::new();
        for (name, text) in FILES {
            match serde_json::from_str::<FileJson>(text) {
                Ok(f) => {
                    files.insert(f.service.clone(), f);
                }
                Err(e) => {
                    tracing::error!(file = name, error = %e, "authorization catalogue unreadable")
                }
            }
        }
        let services = SERVICES
            .iter()
            .map(|(model, _)| {
                let key = model.module.replace('_', "-");
                let Some(file) = files.get(&key) else {
                    return ServiceAuth::default();
                };
                let templates = file
                    .resource_types
                    .values()
                    .map(|t| t.arn.clone())
                    .collect();
                let ops = model
                    .operations
                    .iter()
                    .map(|op| file.operations.get(op.name).map(|o| build_op(file, o)))
                    .collect();
                ServiceAuth { ops, templates }
            })
            .collect();
        Catalogue { services }
    }
}

fn build_op(file: &FileJson, o: &OperationJson) -> OpAuth {
    let resources = o
        .resources
        .iter()
        .filter_map(|r| build_resource(file, r))
        .collect();
    OpAuth {
        action: o.action.clone(),
        policy_checked: o.policy_checked,
        resources,
        condition_sources: o
            .condition_sources
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        stored_keys: o
            .condition_keys
            .iter()
            .filter(|k| STORED_KEYS.contains(&k.as_str()) && !o.condition_sources.contains_key(*k))
            .cloned()
            .collect(),
        also: o
            .also_requires
            .iter()
            .map(|a| Also {
                action: a.action.clone(),
                when: a.when.clone(),
                resources: a
                    .resources
                    .as_ref()
                    .map(|rs| rs.iter().filter_map(|r| build_resource(file, r)).collect()),
            })
            .collect(),
    }
}

fn build_resource(file: &FileJson, r: &ResourceJson) -> Option<ResourceSpec> {
    let template = file.resource_types.get(&r.kind)?.arn.clone();
    let mut vars: Vec<(String, Vec<Source>)> = Vec::new();
    for var in template_vars(&template) {
        if matches!(var, "Partition" | "Region") {
            continue;
        }
        let mut sources = Vec::new();
        if let Some(m) = r.members.get(var) {
            sources.push(Source::Member(m.clone()));
        }
        if let Some(s) = r.resolve.get(var) {
            sources.push(match s.as_str() {
                "context" => Source::Context,
                "store" => Source::Store,
                "caller" => Source::Caller,
                "new" => Source::New,
                "wildcard" => Source::Wildcard,
                other => match other.strip_prefix("arn:") {
                    Some(member) => Source::ArnOf(member.to_owned()),
                    None => Source::Wildcard,
                },
            });
        }
        if var == "Account" && sources.is_empty() {
            continue;
        }
        vars.push((var.to_owned(), sources));
    }
    Some(ResourceSpec {
        template,
        whole_arn: r.members.get("ARN").cloned(),
        path_member: r.members.get("Path").cloned(),
        vars,
        accepts_arn: r.accepts_arn,
        default_caller: r.default.as_deref() == Some("caller"),
        aws_template: file
            .resource_types
            .get(&format!("aws{}", r.kind))
            .map(|t| t.arn.clone()),
    })
}

/// The `${Name}` variables of an ARN template, in order.
pub fn template_vars(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = rest.get(start + 2..).unwrap_or("");
        let Some(end) = after.find('}') else { break };
        if let Some(name) = after.get(..end) {
            out.push(name);
        }
        rest = after.get(end + 1..).unwrap_or("");
    }
    out
}

/// Fills a template: `lookup` gives each variable's value (`None` leaves `*`). This is the
/// one place resource ARNs are rendered, so the joints between literal text and values are
/// handled here, once, for every service:
///
/// - a value that already starts with the literal ID prefix written before its variable
///   (`o-`, `ou-`, `p-`…) is not prefixed twice (`ou/o-…/ou-ab12-…`, not `ou-ou-ab12-…`);
/// - a value that starts with the `/` the template has just written does not repeat it: an IAM path-qualified name `/division/bob` after `user/` renders
///   `user/division/bob`, and the root path `/alice` renders `user/alice` — never
///   `user//alice`, which no policy written against AWS's ARNs would match.
pub fn fill(template: &str, mut lookup: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(rest.get(..start).unwrap_or(""));
        let after = rest.get(start + 2..).unwrap_or("");
        let Some(end) = after.find('}') else {
            out.push_str(rest.get(start..).unwrap_or(""));
            return out;
        };
        let name = after.get(..end).unwrap_or("");
        let value = lookup(name).unwrap_or_else(|| String::from("*"));
        let value = match literal_id_prefix(&out) {
            Some(p) if value.starts_with(p) => value.get(p.len()..).unwrap_or(""),
            _ => value.as_str(),
        };
        let value = if out.ends_with('/') {
            value.strip_prefix('/').unwrap_or(value)
        } else {
            value
        };
        out.push_str(value);
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// The ID prefix (`ou-`, `r-`, …) the template text written so far ends with, if any.
pub fn literal_id_prefix(written: &str) -> Option<&str> {
    if !written.ends_with('-') {
        return None;
    }
    let start = written.rfind(['/', ':']).map_or(0, |i| i + 1);
    let p = written.get(start..)?;
    (p.len() >= 2 && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        .then_some(p)
}

/// The literal ID prefix written right before `${var}` in `template`.
pub fn prefix_before<'t>(template: &'t str, var: &str) -> Option<&'t str> {
    let needle = format!("${{{var}}}");
    let at = template.find(&needle)?;
    literal_id_prefix(template.get(..at)?)
}

/// Reads `var` out of a concrete ARN that matches `template`.
pub fn extract(template: &str, arn: &str, var: &str) -> Option<String> {
    // Split the template into literal and variable pieces, then match left to right: a
    // variable extends to the next occurrence of the following literal (the last one to the
    // end).
    let mut pieces: Vec<(bool, &str)> = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let lit = rest.get(..start).unwrap_or("");
        if !lit.is_empty() {
            pieces.push((false, lit));
        }
        let after = rest.get(start + 2..)?;
        let end = after.find('}')?;
        pieces.push((true, after.get(..end)?));
        rest = after.get(end + 1..)?;
    }
    if !rest.is_empty() {
        pieces.push((false, rest));
    }
    let mut at = arn;
    let mut found = None;
    let mut i = 0;
    while let Some(&(is_var, text)) = pieces.get(i) {
        if is_var {
            let value = match pieces.get(i + 1) {
                Some(&(false, next)) => {
                    let end = at.find(next)?;
                    let v = at.get(..end)?;
                    at = at.get(end..)?;
                    v
                }
                _ => {
                    let v = at;
                    at = "";
                    v
                }
            };
            if text == var {
                found = Some(value.to_owned());
            }
        } else {
            at = at.strip_prefix(text)?;
        }
        i += 1;
    }
    if at.is_empty() { found } else { None }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn every_service_and_operation_has_an_entry() {
        let c = Catalogue::get();
        assert_eq!(c.services.len(), SERVICES.len());
        for (i, (model, _)) in SERVICES.iter().enumerate() {
            for (j, op) in model.operations.iter().enumerate() {
                assert!(
                    c.op(i, j).is_some(),
                    "{}.{} has no authorization entry",
                    model.module,
                    op.name
                );
            }
        }
    }

    #[test]
    fn fill_does_not_repeat_id_prefixes() {
        let t = "arn:${Partition}:organizations::${Account}:ou/o-${OrganizationId}/ou-${OrganizationalUnitId}";
        let arn = fill(t, |v| match v {
            "Partition" => Some("aws".into()),
            "Account" => Some("111111111111".into()),
            "OrganizationId" => Some("o-abcdefghij".into()),
            "OrganizationalUnitId" => Some("ou-ab12-cdefgh34".into()),
            _ => None,
        });
        assert_eq!(
            arn,
            "arn:aws:organizations::111111111111:ou/o-abcdefghij/ou-ab12-cdefgh34"
        );
        assert_eq!(prefix_before(t, "OrganizationalUnitId"), Some("ou-"));
        assert_eq!(prefix_before(t, "Account"), None);
    }

    #[test]
    fn fill_does_not_repeat_the_separator_before_a_path() {
        let t = "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}";
        let user = |name: &'static str| {
            fill(t, move |v| match v {
                "Partition" => Some("aws".into()),
                "Account" => Some("111122223333".into()),
                "UserNameWithPath" => Some(name.into()),
                _ => None,
            })
        };
        assert_eq!(user("/alice"), "arn:aws:iam::111122223333:user/alice");
        assert_eq!(
            user("/division/bob"),
            "arn:aws:iam::111122223333:user/division/bob"
        );
        assert_eq!(user("alice"), "arn:aws:iam::111122223333:user/alice");
        // Only the joint is collapsed: a value's own inner separators stay as they are.
        assert_eq!(user("/a//b"), "arn:aws:iam::111122223333:user/a//b");
        // An unknown value is the wildcard, after the separator.
        let any = fill(t, |_| None);
        assert_eq!(any, "arn:*:iam::*:user/*");
    }

    #[test]
    fn extract_reads_a_variable_back() {
        let t = "arn:${Partition}:sso:::instance/${InstanceId}";
        assert_eq!(
            extract(t, "arn:aws:sso:::instance/ssoins-1234", "InstanceId").as_deref(),
            Some("ssoins-1234")
        );
        assert_eq!(extract(t, "arn:aws:iam::1:role/x", "InstanceId"), None);
    }
}
