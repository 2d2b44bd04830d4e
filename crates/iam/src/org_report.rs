//! Service last-accessed reports for Organizations entities:
//! `GenerateOrganizationsAccessReport` and `GetOrganizationsAccessReport` (IAM API Reference,
//! both operations; IAM User Guide, "View last accessed information for Organizations").
//!
//! Only the management account of an organization may generate one. The report names an
//! entity by its path (`o-…/r-…[/ou-…]*[/<account>]`) and optionally an SCP
//! (`OrganizationsPolicyId`); it lists every *accessible* service with the most recent
//! authenticated call to it by a principal of an account of the entity's subtree, as
//! CloudTrail recorded it (`cairn_trail::activity`, the tracking period of
//! [`crate::last_accessed::TRACKING_MS`]): when, from which account (its entity path), in
//! which region, and how many of the accounts called it at all.
//!
//! **Our rule for "accessible"**: a service is accessible when at least one of its actions is
//! allowed, by the policy engine, under the SCP levels in question — the named SCP alone, or
//! without one every level of SCPs from the root down to the entity (AWS: "a list of
//! services that are allowed by any SCPs that apply to the entity") — for a root-user
//! request of a member account on resource `*` with no condition keys (so a statement that
//! names specific resources or needs a condition key does not count either way). The
//! services are Cairn's served ones ([`crate::last_accessed::served`]).
//!
//! The report is asynchronous, as AWS's: `Generate…` records the job `IN_PROGRESS` and
//! enqueues an `iam.org_report` job ([`OrgReportJob`]), which builds it in one transaction
//! and marks it `COMPLETED`, or `FAILED` with `ErrorDetails` when the path names no entity
//! of the organization, the policy is not one of its SCPs, or SCPs are not enabled (checked
//! by the job, since they describe the organization at the time it runs) — [M] the codes.
//!
//! Store spaces: `iam.orgrep` (`<account>/<job id>` → [`ReportRec`]) and `iam.orgrep_run`
//! (`<account>/<job id>`: the jobs still in progress, counted for
//! `ReportGenerationLimitExceeded`).

use crate::common::{Ctx, fail, paginate, ts};
use crate::records;
use crate::root_access::{self, Orgs};
use cairn_api::iam::{Error, types};
use cairn_core::jobs::{BoxFuture, JobHandler, Step};
use cairn_core::{Env, Failure};
use cairn_store::{Job, StoreError, Tx};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const REPORTS: &str = "iam.orgrep";
const RUNNING: &str = "iam.orgrep_run";
const FORMAT: u32 = 1;
pub const KIND: &str = "iam.org_report";
/// Reports of one account in progress at once. AWS publishes no number: [M].
pub(crate) const MAX_RUNNING: usize = 10;
const SCP: &str = "SERVICE_CONTROL_POLICY";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Status {
    InProgress,
    Completed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReportRec {
    v: u32,
    org_id: String,
    entity_path: String,
    policy_id: Option<String>,
    status: Status,
    created_ms: i64,
    completed_ms: Option<i64>,
    /// `FAILED`: (code, message).
    error: Option<(String, String)>,
    /// `COMPLETED`: the accessible services, by namespace.
    services: Vec<ServiceRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ServiceRow {
    namespace: String,
    name: String,
    last: Option<Use>,
    /// Accounts whose principals called the service.
    accounts: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Use {
    ms: i64,
    /// The entity path of the account that called.
    entity_path: String,
    region: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Payload {
    account: String,
    job_id: String,
}

fn key(account: &str, id: &str) -> String {
    format!("{account}/{id}")
}

/// `GenerateOrganizationsAccessReport`: the caller's checks, then the job, `IN_PROGRESS`.
/// The caller kicks the job runner after the commit.
pub(crate) fn generate(
    orgs: &Orgs,
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GenerateOrganizationsAccessReportRequest,
) -> Result<types::GenerateOrganizationsAccessReportResponse, Failure> {
    // [M] which errors AWS answers outside an organization and from a member account (the
    // operation lists none): IAM's own, as for its other organization features.
    let s = orgs
        .standing(tx, &c.account)?
        .ok_or_else(root_access::no_org)?;
    if s.management_account_id != c.account {
        return Err(root_access::not_management());
    }
    let running = records::suffixes(tx, RUNNING, &format!("{}/", c.account))?.len();
    if running >= MAX_RUNNING {
        return Err(fail(
            Error::ReportGenerationLimitExceededException,
            "The request failed because the maximum number of concurrent requests for this account are already running.",
        ));
    }
    let id = c.ids.uuid();
    let rec = ReportRec {
        v: FORMAT,
        org_id: s.org_id,
        entity_path: input.entity_path.clone(),
        policy_id: input.organizations_policy_id.clone(),
        status: Status::InProgress,
        created_ms: c.now_ms,
        completed_ms: None,
        error: None,
        services: Vec::new(),
    };
    records::save(tx, REPORTS, &key(&c.account, &id), &rec)?;
    tx.put(RUNNING, key(&c.account, &id).as_bytes(), b"")?;
    let payload = serde_json::to_vec(&Payload {
        account: c.account.clone(),
        job_id: id.clone(),
    })
    .map_err(|_| Failure(cairn_wire::ApiError::internal()))?;
    tx.enqueue_job(KIND, &payload, c.now_ms)?;
    Ok(types::GenerateOrganizationsAccessReportResponse { job_id: Some(id) })
}

/// Why a report failed: `ErrorDetails`.
fn failed(code: &str, message: String) -> (String, String) {
    (code.to_owned(), message)
}

/// Whether some action of the service is allowed under `levels` (the rule of the module
/// doc).
fn accessible(
    levels: &[Vec<Arc<cairn_policy::Policy>>],
    namespace: &str,
    actions: &[&str],
) -> bool {
    let scp_levels: Vec<Vec<&cairn_policy::Policy>> = levels
        .iter()
        .map(|l| l.iter().map(AsRef::as_ref).collect())
        .collect();
    let policies = cairn_policy::Policies {
        scp_levels,
        ..cairn_policy::Policies::default()
    };
    let context = cairn_policy::Context::new();
    let principal = cairn_policy::Principal::new(
        cairn_policy::PrincipalType::Root,
        "arn:aws:iam::000000000000:root",
        "000000000000",
    );
    actions.iter().any(|a| {
        let action = format!("{namespace}:{a}");
        let request = cairn_policy::Request {
            principal,
            action: &action,
            resource: "*",
            resource_account: None,
            context: &context,
        };
        cairn_policy::evaluate(&request, &policies).is_allowed()
    })
}

/// The report's content, or why it failed.
fn build(
    orgs: &Orgs,
    tx: &mut dyn Tx,
    rec: &ReportRec,
    now_ms: i64,
) -> Result<Result<Vec<ServiceRow>, (String, String)>, Failure> {
    let Some(entity) = orgs.entity(tx, &rec.org_id, &rec.entity_path)? else {
        return Ok(Err(failed(
            "EntityNotFound",
            format!(
                "The entity path {} does not name an entity of organization {}.",
                rec.entity_path, rec.org_id
            ),
        )));
    };
    if !entity.scp_enabled {
        return Ok(Err(failed(
            "PolicyTypeNotEnabled",
            "Service control policies are not enabled for the organization root.".to_owned(),
        )));
    }
    let levels = match &rec.policy_id {
        Some(id) => match orgs.policy(tx, &rec.org_id, id)? {
            Some((ty, doc)) if ty == SCP => vec![vec![doc]],
            _ => {
                return Ok(Err(failed(
                    "PolicyNotFound",
                    format!("The service control policy {id} does not exist in the organization."),
                )));
            }
        },
        None => entity.scp_levels.clone(),
    };
    let services: Vec<(&str, &str)> = crate::last_accessed::served()
        .into_iter()
        .filter(|(ns, _, actions)| accessible(&levels, ns, actions))
        .map(|(ns, name, _)| (ns, name))
        .collect();
    let wanted: BTreeSet<&str> = services.iter().map(|(ns, _)| *ns).collect();
    // Per service: the newest use, and the accounts that used it.
    let mut last: BTreeMap<String, Use> = BTreeMap::new();
    let mut by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let since = now_ms.saturating_sub(crate::last_accessed::TRACKING_MS);
    for (account, path) in &entity.accounts {
        cairn_trail::activity::account_activity(tx, account, since, &mut |a| {
            if !wanted.contains(a.service.as_str()) {
                return;
            }
            by.entry(a.service.clone())
                .or_default()
                .insert(account.clone());
            if last.get(&a.service).is_none_or(|u| a.time_ms > u.ms) {
                last.insert(
                    a.service.clone(),
                    Use {
                        ms: a.time_ms,
                        entity_path: path.clone(),
                        region: a.region.clone(),
                    },
                );
            }
        })?;
    }
    Ok(Ok(services
        .into_iter()
        .map(|(ns, name)| ServiceRow {
            namespace: ns.to_owned(),
            name: name.to_owned(),
            last: last.get(ns).cloned(),
            accounts: by
                .get(ns)
                .map_or(0, |s| i32::try_from(s.len()).unwrap_or(i32::MAX)),
        })
        .collect()))
}

/// The job's one step: build the report and record its outcome, in one transaction.
/// Idempotent: a report no longer in progress is left alone.
fn run(orgs: &Orgs, tx: &mut dyn Tx, p: &Payload, now_ms: i64) -> Result<(), Failure> {
    let k = key(&p.account, &p.job_id);
    let Some(mut rec) = records::load::<ReportRec>(tx, REPORTS, &k)? else {
        return Ok(());
    };
    if rec.status != Status::InProgress {
        return Ok(());
    }
    match build(orgs, tx, &rec, now_ms)? {
        Ok(services) => {
            rec.status = Status::Completed;
            rec.services = services;
        }
        Err(e) => {
            rec.status = Status::Failed;
            rec.error = Some(e);
        }
    }
    rec.completed_ms = Some(now_ms);
    records::save(tx, REPORTS, &k, &rec)?;
    tx.delete(RUNNING, k.as_bytes())?;
    Ok(())
}

/// The `iam.org_report` job kind.
#[derive(Debug, Clone, Default)]
pub struct OrgReportJob {
    orgs: Orgs,
}

impl OrgReportJob {
    pub fn new(orgs: Orgs) -> Self {
        Self { orgs }
    }
}

impl JobHandler for OrgReportJob {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(&'a self, env: &'a Arc<Env>, job: &'a Job) -> BoxFuture<'a, Step> {
        Box::pin(async move {
            let id = job.id;
            let Ok(p) = serde_json::from_slice::<Payload>(&job.payload) else {
                tracing::error!(job = %job.id, "iam.org_report job with an unreadable payload; dropped");
                let _ = env.store.write(move |tx| tx.complete_job(id)).await;
                return Step::Done;
            };
            let now = env.clock.now_millis();
            let orgs = self.orgs.clone();
            let done = env
                .store
                .write(move |tx| {
                    run(&orgs, tx, &p, now)?;
                    tx.complete_job(id)?;
                    Ok::<_, Failure>(())
                })
                .await;
            match done {
                Ok(()) => Step::Done,
                Err(Failure(e)) => Step::Retry(e.message),
            }
        })
    }

    fn give_up<'a>(
        &'a self,
        env: &'a Arc<Env>,
        job: &'a Job,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let id = job.id;
            let p = serde_json::from_slice::<Payload>(&job.payload).ok();
            let now = env.clock.now_millis();
            let error = error.to_owned();
            env.store
                .write(move |tx| {
                    if let Some(p) = &p {
                        let k = key(&p.account, &p.job_id);
                        if let Some(mut rec) = records::load::<ReportRec>(tx, REPORTS, &k)?
                            && rec.status == Status::InProgress
                        {
                            rec.status = Status::Failed;
                            rec.completed_ms = Some(now);
                            rec.error = Some(failed("ServiceFailure", error.clone()));
                            records::save(tx, REPORTS, &k, &rec)?;
                        }
                        tx.delete(RUNNING, k.as_bytes())?;
                    }
                    tx.complete_job(id)
                })
                .await
        })
    }
}

/// `GetOrganizationsAccessReport`: the caller's own job; the services in the order
/// `SortKey` asks (by namespace ascending unless told; by time, services never called come
/// before every called one ascending and after them descending — [M]), paged.
pub(crate) fn get(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GetOrganizationsAccessReportRequest,
) -> Result<types::GetOrganizationsAccessReportResponse, Failure> {
    let rec: ReportRec =
        records::load(tx, REPORTS, &key(&c.account, &input.job_id))?.ok_or_else(|| {
            fail(
                Error::NoSuchEntityException,
                format!("No job found with JobId {}.", input.job_id), // [M]
            )
        })?;
    let mut out = types::GetOrganizationsAccessReportResponse {
        job_creation_date: ts(rec.created_ms),
        job_completion_date: rec.completed_ms.map(ts),
        ..types::GetOrganizationsAccessReportResponse::default()
    };
    match rec.status {
        Status::InProgress => {
            out.job_status = types::JobStatusType::InProgress;
            return Ok(out);
        }
        Status::Failed => {
            out.job_status = types::JobStatusType::Failed;
            out.error_details = rec
                .error
                .map(|(code, message)| types::ErrorDetails { code, message });
            return Ok(out);
        }
        Status::Completed => out.job_status = types::JobStatusType::Completed,
    }
    let mut rows = rec.services;
    let when = |r: &ServiceRow| r.last.as_ref().map(|u| u.ms);
    match input.sort_key.unwrap_or_default() {
        types::SortKeyType::ServiceNamespaceAscending => {
            rows.sort_by(|a, b| a.namespace.cmp(&b.namespace));
        }
        types::SortKeyType::ServiceNamespaceDescending => {
            rows.sort_by(|a, b| b.namespace.cmp(&a.namespace));
        }
        types::SortKeyType::LastAuthenticatedTimeAscending => {
            rows.sort_by(|a, b| when(a).cmp(&when(b)).then(a.namespace.cmp(&b.namespace)));
        }
        types::SortKeyType::LastAuthenticatedTimeDescending => {
            rows.sort_by(|a, b| when(b).cmp(&when(a)).then(a.namespace.cmp(&b.namespace)));
        }
    }
    let accessible = rows.len();
    let not_accessed = rows.iter().filter(|r| r.last.is_none()).count();
    out.number_of_services_accessible = Some(i32::try_from(accessible).unwrap_or(i32::MAX));
    out.number_of_services_not_accessed = Some(i32::try_from(not_accessed).unwrap_or(i32::MAX));
    // Keys in the sorted order (the report never changes, so markers stay valid).
    let items = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            (
                format!("{i:06}"),
                types::AccessDetail {
                    entity_path: r.last.as_ref().map(|u| u.entity_path.clone()),
                    last_authenticated_time: r.last.as_ref().map(|u| ts(u.ms)),
                    region: r.last.as_ref().map(|u| u.region.clone()),
                    service_name: r.name,
                    service_namespace: r.namespace,
                    total_authenticated_entities: Some(r.accounts),
                },
            )
        })
        .collect();
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    out.is_truncated = page.truncated();
    out.marker = page.marker;
    out.access_details = Some(page.items);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        reason = "test code: a failed expectation panics"
    )]

    use super::*;
    use cairn_core::{OrgEntity, Principal, ResourceFacts, SeededIds, ServiceStanding};
    use cairn_store::Store;

    const MANAGEMENT: &str = "111122223333";
    const MEMBER: &str = "444455556666";
    const ORG: &str = "o-abcdefghij";
    const PATH: &str = "o-abcdefghij/r-ab12/444455556666";
    const ALLOW_ALL: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    const DENY_IAM: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#;
    const ONLY_STS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:Get*","Resource":"*"}]}"#;

    fn scp(doc: &str) -> Arc<cairn_policy::Policy> {
        Arc::new(
            cairn_policy::Policy::parse("p", doc, cairn_policy::PolicyKind::ServiceControl)
                .unwrap(),
        )
    }

    /// An organization with one member account under the root, SCPs enabled, the full
    /// access policy at the root and `p-denyiam1` / `p-onlysts1` available.
    struct FakeOrgs {
        scp_enabled: bool,
    }

    impl ResourceFacts for FakeOrgs {
        fn service(&self) -> &'static str {
            "organizations"
        }

        fn service_standing(
            &self,
            _tx: &mut dyn Tx,
            account: &str,
            _service_principal: &str,
        ) -> Result<Option<ServiceStanding>, StoreError> {
            Ok([MANAGEMENT, MEMBER]
                .contains(&account)
                .then(|| ServiceStanding {
                    org_id: ORG.to_owned(),
                    management_account_id: MANAGEMENT.to_owned(),
                    all_features: true,
                    trusted_access: false,
                    delegated_admin: false,
                }))
        }

        fn org_entity(
            &self,
            _tx: &mut dyn Tx,
            org_id: &str,
            entity_path: &str,
        ) -> Result<Option<OrgEntity>, StoreError> {
            Ok((org_id == ORG && entity_path == PATH).then(|| OrgEntity {
                scp_enabled: self.scp_enabled,
                scp_levels: vec![vec![scp(ALLOW_ALL)], vec![]],
                accounts: vec![(MEMBER.to_owned(), PATH.to_owned())],
            }))
        }

        fn org_policy(
            &self,
            _tx: &mut dyn Tx,
            _org_id: &str,
            policy_id: &str,
        ) -> Result<Option<(String, Arc<cairn_policy::Policy>)>, StoreError> {
            Ok(match policy_id {
                "p-denyiam1" => Some((SCP.to_owned(), scp(DENY_IAM))),
                "p-onlysts1" => Some((SCP.to_owned(), scp(ONLY_STS))),
                "p-tagpolicy" => Some(("TAG_POLICY".to_owned(), scp(ONLY_STS))),
                _ => None,
            })
        }
    }

    fn orgs(scp_enabled: bool) -> Orgs {
        Orgs::new(Arc::new(FakeOrgs { scp_enabled }))
    }

    fn ctx(account: &str) -> Ctx {
        Ctx {
            account: account.to_owned(),
            principal: Principal::Root {
                account_id: account.to_owned(),
                access_key_id: String::from("AKIAROOT"),
                session: None,
            },
            now_ms: 1_700_000_000_000,
            ids: Arc::new(SeededIds::new(7)),
        }
    }

    fn request(
        path: &str,
        policy: Option<&str>,
    ) -> types::GenerateOrganizationsAccessReportRequest {
        types::GenerateOrganizationsAccessReportRequest {
            entity_path: path.to_owned(),
            organizations_policy_id: policy.map(str::to_owned),
        }
    }

    /// Generates and runs a report; answers its first page (sorted, paged as asked).
    fn report(
        store: &Store,
        orgs: &Orgs,
        path: &str,
        policy: Option<&str>,
    ) -> types::GetOrganizationsAccessReportResponse {
        let (o, req) = (orgs.clone(), request(path, policy));
        store
            .write_blocking(move |tx| {
                let c = ctx(MANAGEMENT);
                let id = generate(&o, tx, &c, &req)?.job_id.unwrap();
                let p = Payload {
                    account: MANAGEMENT.to_owned(),
                    job_id: id.clone(),
                };
                run(&o, tx, &p, c.now_ms + 5)?;
                get(
                    tx,
                    &c,
                    &types::GetOrganizationsAccessReportRequest {
                        job_id: id,
                        ..Default::default()
                    },
                )
            })
            .unwrap()
    }

    fn code(r: Result<impl std::fmt::Debug, Failure>) -> String {
        match r {
            Ok(v) => panic!("expected an error, got {v:?}"),
            Err(Failure(e)) => e.code.to_string(),
        }
    }

    #[test]
    fn a_service_is_accessible_when_the_scp_allows_one_of_its_actions() {
        let deny_iam = vec![vec![scp(DENY_IAM)]];
        assert!(!accessible(&deny_iam, "iam", &["GetUser", "CreateUser"]));
        assert!(accessible(&deny_iam, "sts", &["GetCallerIdentity"]));
        let only_sts = vec![vec![scp(ONLY_STS)]];
        assert!(accessible(
            &only_sts,
            "sts",
            &["AssumeRole", "GetCallerIdentity"]
        ));
        assert!(!accessible(&only_sts, "sts", &["AssumeRole"]));
        // Every level must allow: full access at the root, nothing at the account.
        let levels = vec![vec![scp(ALLOW_ALL)], vec![]];
        assert!(!accessible(&levels, "sts", &["GetCallerIdentity"]));
    }

    #[test]
    fn the_job_is_in_progress_until_it_runs() {
        let store = Store::open_sqlite_memory().unwrap();
        let o = orgs(true);
        let out = store
            .write_blocking(move |tx| {
                let c = ctx(MANAGEMENT);
                let id = generate(&o, tx, &c, &request(PATH, None))?.job_id.unwrap();
                get(
                    tx,
                    &c,
                    &types::GetOrganizationsAccessReportRequest {
                        job_id: id,
                        ..Default::default()
                    },
                )
            })
            .unwrap();
        assert_eq!(out.job_status, types::JobStatusType::InProgress);
        assert_eq!(out.access_details, None);
        assert_eq!(out.job_completion_date, None);
    }

    #[test]
    fn an_empty_account_level_makes_nothing_accessible_and_a_policy_filter_decides() {
        let store = Store::open_sqlite_memory().unwrap();
        let o = orgs(true);
        let out = report(&store, &o, PATH, None);
        assert_eq!(out.job_status, types::JobStatusType::Completed);
        assert_eq!(out.number_of_services_accessible, Some(0));
        let out = report(&store, &o, PATH, Some("p-denyiam1"));
        let names: Vec<&str> = out
            .access_details
            .as_deref()
            .unwrap()
            .iter()
            .map(|d| d.service_namespace.as_str())
            .collect();
        assert!(!names.contains(&"iam"), "{names:?}");
        assert!(names.contains(&"sts") && names.contains(&"organizations"));
        assert_eq!(out.number_of_services_accessible, Some(5));
        assert_eq!(out.number_of_services_not_accessed, Some(5));
        let out = report(&store, &o, PATH, Some("p-onlysts1"));
        assert_eq!(out.number_of_services_accessible, Some(1));
        let d = &out.access_details.unwrap()[0];
        assert_eq!(d.service_namespace, "sts");
        assert_eq!(d.service_name, "AWS Security Token Service");
        assert_eq!(d.total_authenticated_entities, Some(0));
        assert_eq!(d.last_authenticated_time, None);
    }

    #[test]
    fn a_wrong_path_or_policy_fails_the_job_with_error_details() {
        let store = Store::open_sqlite_memory().unwrap();
        let o = orgs(true);
        let out = report(&store, &o, "o-abcdefghij/r-ab12/999999999999", None);
        assert_eq!(out.job_status, types::JobStatusType::Failed);
        assert_eq!(out.error_details.unwrap().code, "EntityNotFound");
        for policy in ["p-missing1", "p-tagpolicy"] {
            let out = report(&store, &o, PATH, Some(policy));
            assert_eq!(out.job_status, types::JobStatusType::Failed);
            assert_eq!(out.error_details.unwrap().code, "PolicyNotFound");
        }
        let out = report(&store, &orgs(false), PATH, None);
        assert_eq!(out.error_details.unwrap().code, "PolicyTypeNotEnabled");
    }

    #[test]
    fn only_the_management_account_of_an_organization_generates() {
        let store = Store::open_sqlite_memory().unwrap();
        for (account, expected) in [
            (MEMBER, "CallerIsNotManagementAccountException"),
            ("777788889999", "OrganizationNotFoundException"),
        ] {
            let o = orgs(true);
            let got = store.write_blocking(move |tx| {
                generate(&o, tx, &ctx(account), &request(PATH, None)).map(|_| ())
            });
            assert_eq!(code(got), expected);
        }
    }

    #[test]
    fn too_many_reports_in_progress_are_refused() {
        let store = Store::open_sqlite_memory().unwrap();
        let o = orgs(true);
        let got = store.write_blocking(move |tx| {
            let mut c = ctx(MANAGEMENT);
            for i in 0..MAX_RUNNING {
                c.ids = Arc::new(SeededIds::new(u64::try_from(i).unwrap()));
                generate(&o, tx, &c, &request(PATH, None))?;
            }
            generate(&o, tx, &c, &request(PATH, None)).map(|_| ())
        });
        assert_eq!(code(got), "ReportGenerationLimitExceeded");
    }

    #[test]
    fn sort_keys_order_and_markers_page() {
        let row = |ns: &str, ms: Option<i64>| ServiceRow {
            namespace: ns.to_owned(),
            name: ns.to_uppercase(),
            last: ms.map(|ms| Use {
                ms,
                entity_path: PATH.to_owned(),
                region: "us-east-1".to_owned(),
            }),
            accounts: i32::from(ms.is_some()),
        };
        let rec = ReportRec {
            v: FORMAT,
            org_id: ORG.to_owned(),
            entity_path: PATH.to_owned(),
            policy_id: None,
            status: Status::Completed,
            created_ms: 1,
            completed_ms: Some(2),
            error: None,
            services: vec![row("iam", Some(20)), row("sso", None), row("sts", Some(10))],
        };
        let store = Store::open_sqlite_memory().unwrap();
        let out = store
            .write_blocking(move |tx| {
                records::save(tx, REPORTS, &key(MANAGEMENT, "job"), &rec)?;
                let c = ctx(MANAGEMENT);
                let mut seen = Vec::new();
                for sort in [
                    types::SortKeyType::ServiceNamespaceAscending,
                    types::SortKeyType::ServiceNamespaceDescending,
                    types::SortKeyType::LastAuthenticatedTimeAscending,
                    types::SortKeyType::LastAuthenticatedTimeDescending,
                ] {
                    let mut order = Vec::new();
                    let mut marker = None;
                    loop {
                        let page = get(
                            tx,
                            &c,
                            &types::GetOrganizationsAccessReportRequest {
                                job_id: "job".to_owned(),
                                marker: marker.take(),
                                max_items: Some(2),
                                sort_key: Some(sort),
                            },
                        )?;
                        order.extend(
                            page.access_details
                                .unwrap()
                                .into_iter()
                                .map(|d| d.service_namespace),
                        );
                        if page.is_truncated != Some(true) {
                            break;
                        }
                        marker = page.marker;
                    }
                    seen.push(order.join(","));
                }
                Ok::<_, Failure>(seen)
            })
            .unwrap();
        assert_eq!(
            out,
            ["iam,sso,sts", "sts,sso,iam", "sso,sts,iam", "iam,sts,sso"]
        );
    }

    #[test]
    fn another_accounts_job_is_not_found() {
        let store = Store::open_sqlite_memory().unwrap();
        let o = orgs(true);
        let got = store.write_blocking(move |tx| {
            let id = generate(&o, tx, &ctx(MANAGEMENT), &request(PATH, None))?
                .job_id
                .unwrap();
            get(
                tx,
                &ctx(MEMBER),
                &types::GetOrganizationsAccessReportRequest {
                    job_id: id,
                    ..Default::default()
                },
            )
            .map(|_| ())
        });
        assert_eq!(code(got), "NoSuchEntity");
    }
}
