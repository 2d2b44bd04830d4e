//! Service last-accessed reports ("access advisor"): `GenerateServiceLastAccessedDetails`,
//! `GetServiceLastAccessedDetails`, `GetServiceLastAccessedDetailsWithEntities` and
//! `ListPoliciesGrantingServiceAccess`.
//!
//! A report lists every service the entity's identity policies allow (Cairn's served
//! services whose actions an `Allow` statement covers, and every other service prefix an
//! `Allow` statement names), each with the last *authenticated* call to it by the entities the
//! policies apply to, as CloudTrail recorded it (`cairn_trail::activity`: every record is
//! of an authenticated call, denied ones included, as AWS counts them), over AWS's tracking
//! period of 400 days. The job completes in the transaction of `Generate…`, as
//! `GenerateCredentialReport` does; its result is kept under `iam.lastacc`
//! (`<account>/<job id>`).
//!
//! Which entities count: a user — itself; a role — its sessions (`sessionIssuer`); a group —
//! its members; a managed policy — the users and roles it is attached to and the members of
//! the groups it is attached to. The last authenticated entity is the user or role ARN.

use crate::authz::{IDENTITY_POLICY, principal_policy_documents};
use crate::common::{Ctx, fail, paginate, ts};
use crate::records::{self, EntityKind};
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

const JOBS: &str = "iam.lastacc";
const FORMAT: u32 = 1;

/// AWS's tracking period for last-accessed data.
pub(crate) const TRACKING_MS: i64 = 400 * 24 * 60 * 60 * 1000;

/// The services Cairn serves: namespace, the name AWS reports for it ([M] but `iam`'s),
/// and its actions (the operations of its API).
pub(crate) fn served() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    vec![
        (
            "cloudtrail",
            "AWS CloudTrail",
            cairn_api::cloudtrail::Operation::ALL
                .iter()
                .map(|o| o.name())
                .collect(),
        ),
        (
            "iam",
            "AWS Identity and Access Management",
            cairn_api::iam::Operation::ALL
                .iter()
                .map(|o| o.name())
                .collect(),
        ),
        (
            "identitystore",
            "AWS Identity Store",
            cairn_api::identitystore::Operation::ALL
                .iter()
                .map(|o| o.name())
                .collect(),
        ),
        (
            "organizations",
            "AWS Organizations",
            cairn_api::organizations::Operation::ALL
                .iter()
                .map(|o| o.name())
                .collect(),
        ),
        (
            "sso",
            "AWS IAM Identity Center",
            cairn_api::sso_admin::Operation::ALL
                .iter()
                .map(|o| o.name())
                .collect(),
        ),
        (
            "sts",
            "AWS Security Token Service",
            cairn_api::sts::Operation::ALL
                .iter()
                .map(|o| o.name())
                .collect(),
        ),
    ]
}

/// The services whose actions AWS tracks at action level (of Cairn's: IAM).
const TRACKED: &[&str] = &["iam"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct JobRec {
    v: u32,
    arn: String,
    action_level: bool,
    created_ms: i64,
    completed_ms: i64,
    services: Vec<ServiceRec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ServiceRec {
    namespace: String,
    name: String,
    last: Option<Use>,
    total_entities: i32,
    /// Action level, tracked services: every allowed action, with its last use.
    actions: Option<Vec<(String, Option<Use>)>>,
    /// Every entity the policies apply to, with its last use of the service.
    entities: Vec<(Entity, Option<i64>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Use {
    ms: i64,
    entity: String,
    region: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entity {
    arn: String,
    id: String,
    name: String,
    path: String,
    /// `user` or `role`.
    kind: String,
}

fn invalid(message: impl Into<String>) -> Failure {
    fail(Error::InvalidInputException, message)
}

/// `arn:<anything>:rest` → `rest`, so that records rendered in another partition compare.
fn unpartitioned(arn: &str) -> &str {
    arn.strip_prefix("arn:")
        .and_then(|r| r.split_once(':'))
        .map_or(arn, |(_, rest)| rest)
}

/// What a report is about: its policy documents and the entities whose calls count.
struct Subject {
    documents: Vec<String>,
    entities: Vec<Entity>,
}

fn user_entity(tx: &mut dyn Tx, account: &str, name: &str) -> Result<Option<Entity>, StoreError> {
    Ok(records::user(tx, account, name)?.map(|u| Entity {
        arn: records::entity_arn(account, EntityKind::User, &u.path, &u.name),
        id: u.id,
        name: u.name,
        path: u.path,
        kind: "user".into(),
    }))
}

fn role_entity(tx: &mut dyn Tx, account: &str, name: &str) -> Result<Option<Entity>, StoreError> {
    Ok(records::role(tx, account, name)?.map(|r| Entity {
        arn: records::entity_arn(account, EntityKind::Role, &r.path, &r.name),
        id: r.id,
        name: r.name,
        path: r.path,
        kind: "role".into(),
    }))
}

fn members(tx: &mut dyn Tx, account: &str, group: &str) -> Result<Vec<Entity>, StoreError> {
    let mut out = Vec::new();
    for m in records::members_of(tx, account, group)? {
        out.extend(user_entity(tx, account, &m)?);
    }
    Ok(out)
}

fn subject(tx: &mut dyn Tx, c: &Ctx, arn: &str) -> Result<Subject, Failure> {
    let not_found = || {
        fail(
            Error::NoSuchEntityException,
            format!("The entity {arn} does not exist."), // [M]
        )
    };
    let rest = arn
        .strip_prefix("arn:aws:iam::")
        .ok_or_else(|| invalid(format!("Invalid ARN: {arn}")))?; // [M]
    let (account, resource) = rest
        .split_once(':')
        .ok_or_else(|| invalid(format!("Invalid ARN: {arn}")))?;
    if resource.starts_with("policy/") {
        let documents = match crate::policies::find_managed(tx, &c.account, arn)? {
            Some(crate::policies::Managed::Aws(p)) => vec![p.document.clone()],
            Some(crate::policies::Managed::Customer(p)) => p
                .default_document()
                .map(str::to_owned)
                .into_iter()
                .collect(),
            None => return Err(not_found()),
        };
        let mut entities = Vec::new();
        for suffix in records::suffixes(
            tx,
            records::ATTACHED,
            &records::usage_prefix(&c.account, arn),
        )? {
            let Some((kind, name)) = records::parse_usage_suffix(&suffix) else {
                continue;
            };
            match kind {
                EntityKind::User => entities.extend(user_entity(tx, &c.account, name)?),
                EntityKind::Role => entities.extend(role_entity(tx, &c.account, name)?),
                EntityKind::Group => entities.extend(members(tx, &c.account, name)?),
            }
        }
        entities.sort_by(|a, b| a.arn.cmp(&b.arn));
        entities.dedup_by(|a, b| a.arn == b.arn);
        return Ok(Subject {
            documents,
            entities,
        });
    }
    if account != c.account {
        return Err(not_found());
    }
    let documents: Vec<String> = principal_policy_documents(tx, &c.account, arn)?
        .ok_or_else(not_found)?
        .into_iter()
        .filter(|(_, kind, _)| kind == IDENTITY_POLICY)
        .map(|(_, _, doc)| doc)
        .collect();
    let name = resource.rsplit('/').next().unwrap_or_default();
    let entities = if resource.starts_with("user/") {
        user_entity(tx, &c.account, name)?.into_iter().collect()
    } else if resource.starts_with("role/") {
        role_entity(tx, &c.account, name)?.into_iter().collect()
    } else {
        members(tx, &c.account, name)?
    };
    Ok(Subject {
        documents,
        entities,
    })
}

/// The allowed services of `documents`: namespace → (name, allowed actions of a served
/// service; empty for another service).
fn allowed_services(documents: &[String]) -> BTreeMap<String, (String, Vec<String>)> {
    let policies: Vec<cairn_policy::Policy> = documents
        .iter()
        .filter_map(|d| {
            cairn_policy::Policy::parse("report", d, cairn_policy::PolicyKind::Identity).ok()
        })
        .collect();
    let allows: Vec<&cairn_policy::Statement> = policies
        .iter()
        .flat_map(|p| p.statements())
        .filter(|s| s.effect() == cairn_policy::Effect::Allow)
        .collect();
    let mut out = BTreeMap::new();
    for (ns, name, actions) in served() {
        let granted: Vec<String> = actions
            .iter()
            .map(|a| format!("{ns}:{a}"))
            .filter(|a| allows.iter().any(|s| s.covers_action(a)))
            .map(|a| a.split_once(':').map_or(a.clone(), |(_, n)| n.to_owned()))
            .collect();
        if !granted.is_empty() {
            out.insert(ns.to_owned(), (name.to_owned(), granted));
        }
    }
    // Other services: every literal prefix an Allow statement's Action names.
    for doc in documents {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(doc) else {
            continue;
        };
        let statements = match v.get("Statement") {
            Some(serde_json::Value::Array(a)) => a.clone(),
            Some(other) => vec![other.clone()],
            None => Vec::new(),
        };
        for st in statements {
            if st.get("Effect").and_then(serde_json::Value::as_str) != Some("Allow") {
                continue;
            }
            let actions = match st.get("Action") {
                Some(serde_json::Value::String(s)) => vec![s.clone()],
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            for a in actions {
                if let Some((ns, _)) = a.split_once(':')
                    && !ns.contains(['*', '?'])
                {
                    let ns = ns.to_ascii_lowercase();
                    out.entry(ns.clone()).or_insert((ns, Vec::new()));
                }
            }
        }
    }
    out
}

fn build(tx: &mut dyn Tx, c: &Ctx, arn: &str, action_level: bool) -> Result<JobRec, Failure> {
    let subject = subject(tx, c, arn)?;
    let services = allowed_services(&subject.documents);
    // Whose calls count, by unpartitioned ARN.
    let by_arn: BTreeMap<String, usize> = subject
        .entities
        .iter()
        .enumerate()
        .map(|(i, e)| (unpartitioned(&e.arn).to_owned(), i))
        .collect();
    // (service, entity index) → last use; (service, action) → last use.
    let mut last: BTreeMap<(String, usize), Use> = BTreeMap::new();
    let mut last_action: BTreeMap<(String, String), Use> = BTreeMap::new();
    let since = c.now_ms.saturating_sub(TRACKING_MS);
    cairn_trail::activity::account_activity(tx, &c.account, since, &mut |a| {
        if !services.contains_key(&a.service) {
            return;
        }
        let who = a.issuer_arn.as_deref().unwrap_or(&a.arn);
        let Some(&i) = by_arn.get(unpartitioned(who)) else {
            return;
        };
        let Some(entity) = subject.entities.get(i) else {
            return;
        };
        let u = Use {
            ms: a.time_ms,
            entity: entity.arn.clone(),
            region: a.region.clone(),
        };
        let newer = |prev: &Use| a.time_ms > prev.ms;
        let key = (a.service.clone(), i);
        if last.get(&key).is_none_or(newer) {
            last.insert(key, u.clone());
        }
        let key = (a.service.clone(), a.event_name.clone());
        if last_action.get(&key).is_none_or(newer) {
            last_action.insert(key, u);
        }
    })?;
    let mut out = Vec::new();
    for (ns, (name, actions)) in services {
        let uses: Vec<(Entity, Option<i64>)> = subject
            .entities
            .iter()
            .enumerate()
            .map(|(i, e)| (e.clone(), last.get(&(ns.clone(), i)).map(|u| u.ms)))
            .collect();
        let newest = subject
            .entities
            .iter()
            .enumerate()
            .filter_map(|(i, _)| last.get(&(ns.clone(), i)))
            .max_by_key(|u| u.ms)
            .cloned();
        let total = uses.iter().filter(|(_, u)| u.is_some()).count();
        let tracked = action_level && TRACKED.contains(&ns.as_str());
        out.push(ServiceRec {
            actions: tracked.then(|| {
                actions
                    .iter()
                    .map(|a| {
                        (
                            a.clone(),
                            last_action.get(&(ns.clone(), a.clone())).cloned(),
                        )
                    })
                    .collect()
            }),
            namespace: ns,
            name,
            last: newest,
            total_entities: i32::try_from(total).unwrap_or(i32::MAX),
            entities: uses,
        });
    }
    Ok(JobRec {
        v: FORMAT,
        arn: arn.to_owned(),
        action_level,
        created_ms: c.now_ms,
        completed_ms: c.now_ms,
        services: out,
    })
}

pub(crate) fn generate(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GenerateServiceLastAccessedDetailsRequest,
) -> Result<types::GenerateServiceLastAccessedDetailsResponse, Failure> {
    let action_level = matches!(
        input.granularity,
        Some(types::AccessAdvisorUsageGranularityType::ActionLevel)
    );
    let job = build(tx, c, &input.arn, action_level)?;
    let id = c.ids.uuid();
    records::save(tx, JOBS, &format!("{}/{id}", c.account), &job)?;
    Ok(types::GenerateServiceLastAccessedDetailsResponse { job_id: Some(id) })
}

fn job(tx: &mut dyn Tx, c: &Ctx, id: &str) -> Result<JobRec, Failure> {
    records::load(tx, JOBS, &format!("{}/{id}", c.account))?.ok_or_else(|| {
        fail(
            Error::NoSuchEntityException,
            format!("No job found with JobId {id}."), // [M]
        )
    })
}

fn granularity(action_level: bool) -> types::AccessAdvisorUsageGranularityType {
    if action_level {
        types::AccessAdvisorUsageGranularityType::ActionLevel
    } else {
        types::AccessAdvisorUsageGranularityType::ServiceLevel
    }
}

pub(crate) fn get(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GetServiceLastAccessedDetailsRequest,
) -> Result<types::GetServiceLastAccessedDetailsResponse, Failure> {
    let job = job(tx, c, &input.job_id)?;
    let items = job
        .services
        .iter()
        .map(|s| {
            (
                s.namespace.clone(),
                types::ServiceLastAccessed {
                    last_authenticated: s.last.as_ref().map(|u| ts(u.ms)),
                    last_authenticated_entity: s.last.as_ref().map(|u| u.entity.clone()),
                    last_authenticated_region: s.last.as_ref().map(|u| u.region.clone()),
                    service_name: s.name.clone(),
                    service_namespace: s.namespace.clone(),
                    total_authenticated_entities: Some(s.total_entities),
                    tracked_actions_last_accessed: s.actions.as_ref().map(|actions| {
                        actions
                            .iter()
                            .map(|(name, u)| types::TrackedActionLastAccessed {
                                action_name: Some(name.clone()),
                                last_accessed_entity: u.as_ref().map(|u| u.entity.clone()),
                                last_accessed_region: u.as_ref().map(|u| u.region.clone()),
                                last_accessed_time: u.as_ref().map(|u| ts(u.ms)),
                            })
                            .collect()
                    }),
                },
            )
        })
        .collect();
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    let is_truncated = page.truncated();
    Ok(types::GetServiceLastAccessedDetailsResponse {
        error: None,
        is_truncated,
        job_completion_date: ts(job.completed_ms),
        job_creation_date: ts(job.created_ms),
        job_status: types::JobStatusType::Completed,
        job_type: Some(granularity(job.action_level)),
        marker: page.marker,
        services_last_accessed: page.items,
    })
}

pub(crate) fn get_with_entities(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GetServiceLastAccessedDetailsWithEntitiesRequest,
) -> Result<types::GetServiceLastAccessedDetailsWithEntitiesResponse, Failure> {
    let job = job(tx, c, &input.job_id)?;
    let service = job
        .services
        .iter()
        .find(|s| s.namespace.eq_ignore_ascii_case(&input.service_namespace));
    let items = service
        .map(|s| {
            s.entities
                .iter()
                .map(|(e, used)| {
                    (
                        e.arn.clone(),
                        types::EntityDetails {
                            entity_info: types::EntityInfo {
                                arn: e.arn.clone(),
                                id: e.id.clone(),
                                name: e.name.clone(),
                                path: Some(e.path.clone()),
                                r#type: if e.kind == "role" {
                                    types::PolicyOwnerEntityType::Role
                                } else {
                                    types::PolicyOwnerEntityType::User
                                },
                            },
                            last_authenticated: used.map(ts),
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    let is_truncated = page.truncated();
    Ok(types::GetServiceLastAccessedDetailsWithEntitiesResponse {
        entity_details_list: page.items,
        error: None,
        is_truncated,
        job_completion_date: ts(job.completed_ms),
        job_creation_date: ts(job.created_ms),
        job_status: types::JobStatusType::Completed,
        marker: page.marker,
    })
}

/// `ListPoliciesGrantingServiceAccess`: per namespace asked, the policies of the user, group
/// or role (a user's groups' too) that allow it.
pub(crate) fn list_policies_granting(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListPoliciesGrantingServiceAccessRequest,
) -> Result<types::ListPoliciesGrantingServiceAccessResponse, Failure> {
    let arn = &input.arn;
    let not_found = || {
        fail(
            Error::NoSuchEntityException,
            format!("The entity {arn} does not exist."), // [M]
        )
    };
    let rest = arn
        .strip_prefix("arn:aws:iam::")
        .ok_or_else(|| invalid(format!("Invalid ARN: {arn}")))?;
    let (account, resource) = rest
        .split_once(':')
        .ok_or_else(|| invalid(format!("Invalid ARN: {arn}")))?;
    if account != c.account {
        return Err(not_found());
    }
    let name = resource.rsplit('/').next().unwrap_or_default();
    let owners = if resource.starts_with("user/") {
        let u = records::user(tx, &c.account, name)?.ok_or_else(not_found)?;
        let mut owners = vec![(EntityKind::User, u.name.clone())];
        for g in records::groups_of(tx, &c.account, &u.name)? {
            if let Some(g) = records::group(tx, &c.account, &g)? {
                owners.push((EntityKind::Group, g.name));
            }
        }
        owners
    } else if resource.starts_with("role/") {
        let r = records::role(tx, &c.account, name)?.ok_or_else(not_found)?;
        vec![(EntityKind::Role, r.name)]
    } else if resource.starts_with("group/") {
        let g = records::group(tx, &c.account, name)?.ok_or_else(not_found)?;
        vec![(EntityKind::Group, g.name)]
    } else {
        return Err(invalid(format!("Invalid ARN: {arn}")));
    };
    // (policy, document) of every owner.
    let mut policies: Vec<(types::PolicyGrantingServiceAccess, String)> = Vec::new();
    for (okind, oname) in &owners {
        let owner_type = match okind {
            EntityKind::User => types::PolicyOwnerEntityType::User,
            EntityKind::Group => types::PolicyOwnerEntityType::Group,
            EntityKind::Role => types::PolicyOwnerEntityType::Role,
        };
        for p in records::inline_policies(tx, &c.account, *okind, oname)? {
            policies.push((
                types::PolicyGrantingServiceAccess {
                    entity_name: Some(oname.clone()),
                    entity_type: Some(owner_type),
                    policy_arn: None,
                    policy_name: p.name,
                    policy_type: types::PolicyType::Inline,
                },
                p.document,
            ));
        }
        for parn in records::attached_arns(tx, &c.account, *okind, oname)? {
            let doc = match crate::policies::find_managed(tx, &c.account, &parn)? {
                Some(crate::policies::Managed::Aws(p)) => Some(p.document.clone()),
                Some(crate::policies::Managed::Customer(p)) => {
                    p.default_document().map(str::to_owned)
                }
                None => None,
            };
            let Some(doc) = doc else { continue };
            let pname = parn.rsplit('/').next().unwrap_or_default().to_owned();
            policies.push((
                types::PolicyGrantingServiceAccess {
                    entity_name: None,
                    entity_type: None,
                    policy_arn: Some(parn),
                    policy_name: pname,
                    policy_type: types::PolicyType::Managed,
                },
                doc,
            ));
        }
    }
    let mut entries = Vec::new();
    let mut seen = BTreeSet::new();
    for ns in &input.service_namespaces {
        let ns = ns.to_ascii_lowercase();
        if !seen.insert(ns.clone()) {
            continue;
        }
        let granting: Vec<types::PolicyGrantingServiceAccess> = policies
            .iter()
            .filter(|(_, doc)| allowed_services(std::slice::from_ref(doc)).contains_key(&ns))
            .map(|(p, _)| p.clone())
            .collect();
        entries.push(types::ListPoliciesGrantingServiceAccessEntry {
            policies: Some(granting),
            service_namespace: Some(ns),
        });
    }
    Ok(types::ListPoliciesGrantingServiceAccessResponse {
        is_truncated: Some(false),
        marker: None,
        policies_granting_service_access: entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_services_follow_the_allow_statements() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["iam:Get*","s3:GetObject"],"Resource":"*"},
            {"Effect":"Deny","Action":"sts:*","Resource":"*"}]}"#;
        let s = allowed_services(&[doc.to_owned()]);
        assert_eq!(s.keys().collect::<Vec<_>>(), ["iam", "s3"]);
        let (name, actions) = &s["iam"];
        assert_eq!(name, "AWS Identity and Access Management");
        assert!(actions.iter().all(|a| a.starts_with("Get")), "{actions:?}");
        assert!(actions.contains(&"GetUser".to_owned()));
    }

    #[test]
    fn allow_all_grants_every_served_service() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let s = allowed_services(&[doc.to_owned()]);
        for ns in [
            "cloudtrail",
            "iam",
            "identitystore",
            "organizations",
            "sso",
            "sts",
        ] {
            assert!(s.contains_key(ns), "{ns}");
        }
    }

    #[test]
    fn not_action_grants_what_it_does_not_name() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#;
        let s = allowed_services(&[doc.to_owned()]);
        assert!(!s.contains_key("iam"));
        assert!(s.contains_key("sts"));
    }

    #[test]
    fn partitions_compare_alike() {
        assert_eq!(
            unpartitioned("arn:aws-cn:iam::123456789012:user/a"),
            unpartitioned("arn:aws:iam::123456789012:user/a")
        );
    }
}
