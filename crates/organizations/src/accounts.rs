//! Member accounts: `CreateAccount` (a durable asynchronous job), `CreateGovCloudAccount`,
//! `DescribeCreateAccountStatus`, `ListCreateAccountStatus`, `DescribeAccount`,
//! `ListAccounts`, `ListAccountsForParent`, `MoveAccount`, `RemoveAccountFromOrganization`,
//! `CloseAccount`, `LeaveOrganization`.
//!
//! # CreateAccount
//!
//! The call stores the request (`org.car`, state `IN_PROGRESS`, indexed in `org.carorg`)
//! and enqueues the job `org.create_account` in one transaction, answers `IN_PROGRESS`
//! without an `AccountId`, and spawns a task that claims and runs the job at once. The job,
//! in one transaction: allocates the account ID, creates the account (its root user gets no
//! access key), the role `RoleName` (default `OrganizationAccountAccessRole`) trusting the
//! management account's root with `AdministratorAccess` attached, the member record
//! (`CREATED`, `ACTIVE`) under the root with the default policies and the tags; marks the
//! request `SUCCEEDED` (or `FAILED` with AWS's `FailureReason`), completes the job and
//! records the `CreateAccountResult` service event. Then it sends the verification email.
//! It runs as [`CreateAccountJob`] on the one job runner (`cairn_core::jobs`): a restarted
//! node resumes its own jobs at once, a dead node's after their lease.
//!
//! # Leaving
//!
//! `RemoveAccountFromOrganization` and `LeaveOrganization` refuse the management account,
//! a registered delegated administrator (`CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG`)
//! and an account created by the organization less than seven days ago
//! (`WAIT_PERIOD_ACTIVE`). AWS's other standalone-account prerequisites (EULA, phone
//! verification, payment method, support plan) have no counterpart in Cairn and count as met.
//!
//! # CloseAccount
//!
//! The account becomes `PENDING_CLOSURE` and reads as `SUSPENDED` [`CLOSE_DELAY_MS`] later.
//! At most 10 % of the member accounts (at least 10, at most 1,000) may be closed per rolling
//! 30 days (`CLOSE_ACCOUNT_QUOTA_EXCEEDED`).

use crate::authz;
use crate::mail;
use crate::model::{
    self, ACCOUNTS, AccountRec, CREATE_REQUESTS, CREATE_REQUESTS_BY_ORG, FORMAT, MEMBERS, NodeKind,
    Org, Page, constraint, require_management, require_management_or_delegated, require_org,
};
use cairn_api::organizations::{Error, types};
use cairn_core::jobs::{BoxFuture, JobHandler, Retry, Step};
use cairn_core::{AuditEvent, AuditSink, Call, Env, Failure, Ids, Principal};
use cairn_store::{Job, JobId, StoreError, Tx};
use cairn_wire::{ApiError, Timestamp};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The job kind of a pending `CreateAccount`.
pub const JOB_KIND: &str = "org.create_account";
/// How long a claimed job is leased to its worker.
const LEASE_MS: i64 = 30_000;
/// Attempts before a job that keeps failing internally marks its request `FAILED`.
const MAX_ATTEMPTS: u32 = 5;
/// The role `CreateAccount` makes when `RoleName` is not given.
pub const DEFAULT_ROLE: &str = "OrganizationAccountAccessRole";
const ADMIN_POLICY: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
/// A `PENDING_CLOSURE` account reads as `SUSPENDED` this long after `CloseAccount`.
pub const CLOSE_DELAY_MS: i64 = 2_000;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// A created account may leave only this long after it was created (AWS: seven days).
pub const CREATED_WAIT_MS: i64 = 7 * DAY_MS;
/// The closure quota's window.
const CLOSE_WINDOW_MS: i64 = 30 * DAY_MS;

// ----------------------------------------------------------------------------- records

/// A `CreateAccount` request as stored in `org.car`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CarRec {
    pub v: u32,
    pub id: String,
    pub org_id: String,
    pub account_name: String,
    pub email: String,
    pub role_name: String,
    /// `ALLOW` / `DENY` (`IamUserAccessToBilling`; default `ALLOW`).
    pub iam_user_access_to_billing: String,
    pub tags: Vec<(String, String)>,
    /// `IN_PROGRESS`, `SUCCEEDED`, `FAILED`.
    pub state: String,
    #[serde(default)]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    pub requested_ms: i64,
    #[serde(default)]
    pub completed_ms: Option<i64>,
}

impl CarRec {
    pub fn to_api(&self) -> types::CreateAccountStatus {
        let done = self.state == "SUCCEEDED";
        types::CreateAccountStatus {
            account_id: if done { self.account_id.clone() } else { None },
            account_name: Some(self.account_name.clone()),
            completed_timestamp: self.completed_ms.map(Timestamp::from_millis),
            failure_reason: self
                .failure_reason
                .as_deref()
                .and_then(types::CreateAccountFailureReason::from_wire),
            gov_cloud_account_id: None,
            id: Some(self.id.clone()),
            requested_timestamp: Some(Timestamp::from_millis(self.requested_ms)),
            state: types::CreateAccountState::from_wire(&self.state),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct JobPayload {
    car_id: String,
    /// Absent in jobs written before steps existed: they start at `create`.
    #[serde(default)]
    step: JobStep,
}

// ----------------------------------------------------------------------------- helpers

fn api(f: Failure) -> ApiError {
    f.0
}

fn account_not_found() -> Failure {
    Failure(ApiError::new(
        Error::AccountNotFoundException,
        "You specified an account that doesn't exist.",
    ))
}

/// The account as it reads at `now_ms`: a `PENDING_CLOSURE` account is `SUSPENDED` once
/// [`CLOSE_DELAY_MS`] passed.
pub(crate) fn effective(mut rec: AccountRec, now_ms: i64) -> AccountRec {
    if rec.status == "PENDING_CLOSURE"
        && rec
            .closed_ms
            .is_some_and(|c| now_ms.saturating_sub(c) >= CLOSE_DELAY_MS)
    {
        rec.status = String::from("SUSPENDED");
    }
    rec
}

/// Closures allowed per rolling 30 days: 10 % of the member accounts, between 10 and 1,000.
pub(crate) fn close_quota(member_accounts: usize) -> usize {
    (member_accounts / 10).clamp(10, 1_000)
}

/// A stricter check than the model's pattern: what AWS refuses as `INVALID_EMAIL`.
fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.contains('.')
}

/// Takes an account out of its organization (it becomes standalone): tree, attachments,
/// tags, member record, membership.
pub(crate) fn detach_account(tx: &mut dyn Tx, org: &Org, account_id: &str) -> Result<(), Failure> {
    model::forget_node(tx, org, account_id)?;
    model::unlink(tx, org, account_id)?;
    tx.delete(ACCOUNTS, format!("{}/{account_id}", org.id).as_bytes())?;
    tx.delete(MEMBERS, account_id.as_bytes())?;
    Ok(())
}

/// The conditions AWS puts on an account leaving (either call).
fn check_can_leave(tx: &mut dyn Tx, org: &Org, rec: &AccountRec, now: i64) -> Result<(), Failure> {
    if tx.count(
        model::DELEGATED_ADMINS,
        format!("{}/{}/", org.id, rec.id).as_bytes(),
    )? > 0
    {
        return Err(constraint(
            "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG",
            "You attempted to remove an account that is registered as a delegated administrator for a service integrated with your organization. To complete this operation, you must first deregister this account as a delegated administrator.",
        ));
    }
    if rec.joined_method == "CREATED" && now.saturating_sub(rec.joined_ms) < CREATED_WAIT_MS {
        return Err(constraint(
            "WAIT_PERIOD_ACTIVE",
            "After you create an AWS account, you must wait until at least seven days after the account was created. Invited accounts aren't subject to this waiting period.",
        ));
    }
    Ok(())
}

// ----------------------------------------------------------------------------- CreateAccount

struct NewAccount {
    account_name: String,
    email: String,
    role_name: Option<String>,
    billing: Option<types::IAMUserAccessToBilling>,
    tags: Option<Vec<types::Tag>>,
}

async fn start_create(
    ctx: &Call,
    req: NewAccount,
) -> Result<types::CreateAccountResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let tags = crate::tags::tag_pairs(req.tags.as_deref()).map_err(api)?;
    let car_id = model::new_create_request_id(ctx.ids());
    let now = ctx.now_ms();
    let role_name = req.role_name.unwrap_or_else(|| DEFAULT_ROLE.to_owned());
    let billing = req.billing.map_or("ALLOW", |b| b.as_str()).to_owned();
    let out = authz::write(ctx, move |tx| {
        let org = require_org(tx, &caller)?;
        require_management(&org, &caller)?;
        let rec = CarRec {
            v: FORMAT,
            id: car_id.clone(),
            org_id: org.id.clone(),
            account_name: req.account_name.clone(),
            email: req.email.clone(),
            role_name: role_name.clone(),
            iam_user_access_to_billing: billing.clone(),
            tags: tags.clone(),
            state: String::from("IN_PROGRESS"),
            failure_reason: None,
            account_id: None,
            requested_ms: now,
            completed_ms: None,
        };
        model::put_json(tx, CREATE_REQUESTS, &rec.id, &rec)?;
        tx.put(
            CREATE_REQUESTS_BY_ORG,
            format!("{}/{}", org.id, rec.id).as_bytes(),
            b"",
        )?;
        let payload = serde_json::to_vec(&JobPayload {
            car_id: rec.id.clone(),
            step: JobStep::Create,
        })
        .map_err(|_| model::corrupt("job payload"))?;
        tx.enqueue_job(JOB_KIND, &payload, now)?;
        Ok(types::CreateAccountResponse {
            create_account_status: Some(rec.to_api()),
        })
    })
    .await?;
    ctx.kick_jobs();
    Ok(out)
}

pub(crate) async fn create_account(
    ctx: &Call,
    input: types::CreateAccountRequest,
) -> Result<types::CreateAccountResponse, ApiError> {
    start_create(
        ctx,
        NewAccount {
            account_name: input.account_name,
            email: input.email,
            role_name: input.role_name,
            billing: input.iam_user_access_to_billing,
            tags: input.tags,
        },
    )
    .await
}

/// Cairn has no GovCloud (US) partition, so no management account is paired with a GovCloud
/// account: AWS's answer for that case.
pub(crate) async fn create_gov_cloud_account(
    ctx: &Call,
    _input: types::CreateGovCloudAccountRequest,
) -> Result<types::CreateGovCloudAccountResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &caller)?;
        require_management(&org, &caller)?;
        Err::<types::CreateGovCloudAccountResponse, _>(constraint(
            "MASTER_ACCOUNT_NOT_GOVCLOUD_ENABLED",
            "You attempted to create an account in the AWS GovCloud (US) Region, but the management account of the organization isn't associated with an account in the AWS GovCloud (US) Region.",
        ))
    })
    .await
}

pub(crate) async fn describe_create_account_status(
    ctx: &Call,
    input: types::DescribeCreateAccountStatusRequest,
) -> Result<types::DescribeCreateAccountStatusResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &caller)?;
        require_management_or_delegated(tx, &org, &caller)?;
        let rec: Option<CarRec> =
            model::get_json(tx, CREATE_REQUESTS, &input.create_account_request_id)?;
        match rec {
            Some(rec) if rec.org_id == org.id => Ok(types::DescribeCreateAccountStatusResponse {
                create_account_status: Some(rec.to_api()),
            }),
            _ => Err(Failure(ApiError::new(
                Error::CreateAccountStatusNotFoundException,
                "We can't find a create account request with the CreateAccountRequestId that you specified.",
            ))),
        }
    })
    .await
}

pub(crate) async fn list_create_account_status(
    ctx: &Call,
    input: types::ListCreateAccountStatusRequest,
) -> Result<types::ListCreateAccountStatusResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    ctx.read(move |tx| {
        let org = require_org(tx, &caller)?;
        require_management_or_delegated(tx, &org, &caller)?;
        let states: Vec<&str> = input.states.iter().flatten().map(|s| s.as_str()).collect();
        let mut binding = format!("ListCreateAccountStatus/{caller}/");
        for s in &states {
            binding.push_str(s);
            binding.push(',');
        }
        let page = Page::new(binding, input.next_token.as_deref(), input.max_results)?;
        let mut recs = Vec::new();
        for id in model::scan_ids(tx, CREATE_REQUESTS_BY_ORG, &format!("{}/", org.id))? {
            if let Some(rec) = model::get_json::<CarRec>(tx, CREATE_REQUESTS, &id)?
                && (states.is_empty() || states.contains(&rec.state.as_str()))
            {
                recs.push(rec);
            }
        }
        let (recs, next_token) = page.apply(recs, |r| r.id.clone());
        Ok(types::ListCreateAccountStatusResponse {
            create_account_statuses: Some(recs.iter().map(CarRec::to_api).collect()),
            next_token,
        })
    })
    .await
}

// ----------------------------------------------------------------------------- the job

/// `CreateAccount`'s job, in two steps, each one transaction
/// ([`cairn_core::jobs`]: a step's effects and the job's progress commit together):
/// 1. `create` — the checks (`ACCOUNT_LIMIT_EXCEEDED`, `INVALID_EMAIL`,
///    `EMAIL_ALREADY_EXISTS`, each ending the request `FAILED`), then the account, its root
///    user, the role, the member record under the root with the default policies and tags;
/// 2. `finish` — the request `SUCCEEDED`, the `CreateAccountResult` service event and the
///    verification email (a mail job).
///
/// A crash between them resumes at `finish`: one account, one event, one email.
pub struct CreateAccountJob {
    sealer: cairn_iam::Sealer,
    max_accounts: usize,
}

impl CreateAccountJob {
    /// `sealer`: the master key's, for the accounts it creates; `max_accounts`: the
    /// organization quota (configuration).
    pub fn new(sealer: cairn_iam::Sealer, max_accounts: usize) -> Self {
        CreateAccountJob {
            sealer,
            max_accounts,
        }
    }
}

/// The step a `CreateAccount` job is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum JobStep {
    #[default]
    Create,
    Finish,
}

impl JobHandler for CreateAccountJob {
    fn kind(&self) -> &'static str {
        JOB_KIND
    }

    fn retry(&self) -> Retry {
        Retry {
            max_attempts: MAX_ATTEMPTS,
            base_ms: 500,
            max_ms: 30_000,
        }
    }

    fn lease_ms(&self) -> i64 {
        LEASE_MS
    }

    fn run<'a>(&'a self, env: &'a Arc<Env>, job: &'a Job) -> BoxFuture<'a, Step> {
        Box::pin(async move {
            let Ok(payload) = serde_json::from_slice::<JobPayload>(&job.payload) else {
                tracing::error!(job = %job.id, "CreateAccount job with an unreadable payload; dropped");
                let id = job.id;
                let _ = env.store.write(move |tx| tx.complete_job(id)).await;
                return Step::Done;
            };
            let now = env.clock.now_millis();
            let ids = Arc::clone(&env.ids);
            let audit = Arc::clone(&env.audit);
            let sealer = self.sealer.clone();
            let max_accounts = self.max_accounts;
            let job_id = job.id;
            let result = env
                .store
                .write(move |tx| match payload.step {
                    JobStep::Create => create_step(
                        tx,
                        ids.as_ref(),
                        &sealer,
                        audit.as_ref(),
                        now,
                        job_id,
                        &payload.car_id,
                        max_accounts,
                    ),
                    JobStep::Finish => finish_step(
                        tx,
                        ids.as_ref(),
                        audit.as_ref(),
                        now,
                        job_id,
                        &payload.car_id,
                    ),
                })
                .await;
            match result {
                Ok(step) => {
                    env.generations.orgs.bump();
                    env.generations.iam.bump();
                    // A verification email may be queued.
                    env.jobs.kick();
                    step
                }
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
            tracing::warn!(job = %job.id, error, "CreateAccount kept failing; the request fails with INTERNAL_FAILURE");
            let now = env.clock.now_millis();
            let ids = Arc::clone(&env.ids);
            let audit = Arc::clone(&env.audit);
            let job_id = job.id;
            let car_id = serde_json::from_slice::<JobPayload>(&job.payload)
                .map(|p| p.car_id)
                .ok();
            env.store
                .write(move |tx| -> Result<(), Failure> {
                    let rec = match &car_id {
                        Some(id) => model::get_json::<CarRec>(tx, CREATE_REQUESTS, id)?,
                        None => None,
                    };
                    match rec {
                        Some(mut rec) if rec.state == "IN_PROGRESS" => fail(
                            tx,
                            ids.as_ref(),
                            audit.as_ref(),
                            &mut rec,
                            "INTERNAL_FAILURE",
                            now,
                            job_id,
                        )
                        .map(|_| ()),
                        _ => Ok(tx.complete_job(job_id)?),
                    }
                })
                .await
                .map_err(|Failure(e)| StoreError::Backend(e.message))?;
            env.generations.orgs.bump();
            Ok(())
        })
    }
}

/// The `CreateAccountResult` service event (eventType `AwsServiceEvent`). Cairn's record
/// format has no `serviceEventDetails`; the status is written as `responseElements`.
fn result_event(ids: &dyn Ids, now: i64, management: &str, rec: &CarRec) -> AuditEvent {
    let mut status = serde_json::Map::new();
    status.insert("id".into(), rec.id.clone().into());
    status.insert("state".into(), rec.state.clone().into());
    status.insert(
        "accountName".into(),
        "HIDDEN_DUE_TO_SECURITY_REASONS".into(),
    );
    if let Some(a) = &rec.account_id {
        status.insert("accountId".into(), a.clone().into());
    }
    if let Some(f) = &rec.failure_reason {
        status.insert("failureReason".into(), f.clone().into());
    }
    status.insert(
        "requestedTimestamp".into(),
        (rec.requested_ms / 1000).into(),
    );
    if let Some(c) = rec.completed_ms {
        status.insert("completedTimestamp".into(), (c / 1000).into());
    }
    let mut details = serde_json::Map::new();
    details.insert("createAccountStatus".into(), status.into());
    AuditEvent {
        event_time_ms: now,
        event_id: ids.uuid_v7(now),
        request_id: ids.uuid(),
        principal: Principal::Anonymous,
        event_source: String::from("organizations.amazonaws.com"),
        event_name: String::from("CreateAccountResult"),
        aws_region: String::from("us-east-1"),
        source_ip: String::from("organizations.amazonaws.com"),
        user_agent: String::from("organizations.amazonaws.com"),
        request_parameters: None,
        response_elements: Some(details.into()),
        error_code: None,
        error_message: None,
        read_only: false,
        event_type: String::from("AwsServiceEvent"),
        management_event: true,
        recipient_account_id: management.to_owned(),
        resources: Vec::new(),
        federated: None,
        service_event_details: None,
        additional_event_data: None,
    }
}

/// Marks the request `FAILED` with `reason`, completes the job, records the event.
fn fail(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    audit: &dyn AuditSink,
    rec: &mut CarRec,
    reason: &str,
    now: i64,
    job_id: JobId,
) -> Result<Step, Failure> {
    rec.state = String::from("FAILED");
    rec.failure_reason = Some(reason.to_owned());
    rec.completed_ms = Some(now);
    model::put_json(tx, CREATE_REQUESTS, &rec.id, rec)?;
    tx.complete_job(job_id)?;
    let management = model::get_json::<Org>(tx, model::ORGS, &rec.org_id)?
        .map(|o| o.management_account_id)
        .unwrap_or_default();
    audit.record_in(tx, &result_event(ids, now, &management, rec))?;
    Ok(Step::Done)
}

/// The trust policy of the role `CreateAccount` makes.
pub(crate) fn access_role_trust(management_account_id: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{management_account_id}:root")},
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}

/// The first step: checks, then the account and everything that comes with it; the job moves
/// on to `finish`.
#[allow(
    clippy::too_many_arguments,
    reason = "the step's transaction, its injected effects and the job it advances"
)]
fn create_step(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    sealer: &cairn_iam::Sealer,
    audit: &dyn AuditSink,
    now: i64,
    job_id: JobId,
    car_id: &str,
    max_accounts: usize,
) -> Result<Step, Failure> {
    let Some(mut rec) = model::get_json::<CarRec>(tx, CREATE_REQUESTS, car_id)? else {
        tx.complete_job(job_id)?;
        return Ok(Step::Done);
    };
    if rec.state != "IN_PROGRESS" || rec.account_id.is_some() {
        // Done already, or the account exists and only `finish` is left.
        if rec.state == "IN_PROGRESS" {
            advance(tx, job_id, car_id, now)?;
            return Ok(Step::Next);
        }
        tx.complete_job(job_id)?;
        return Ok(Step::Done);
    }
    let Some(org) = model::get_json::<Org>(tx, model::ORGS, &rec.org_id)? else {
        return fail(tx, ids, audit, &mut rec, "INTERNAL_FAILURE", now, job_id);
    };
    let members = model::member_count(tx, &org)?;
    let pending = crate::hs::pending_invites(tx, &org, now)?;
    if members.saturating_add(pending) >= max_accounts {
        return fail(
            tx,
            ids,
            audit,
            &mut rec,
            "ACCOUNT_LIMIT_EXCEEDED",
            now,
            job_id,
        );
    }
    if !plausible_email(&rec.email) {
        return fail(tx, ids, audit, &mut rec, "INVALID_EMAIL", now, job_id);
    }
    let account_id = model::new_account_id(tx, ids)?;
    match cairn_iam::accounts::create_account(
        tx,
        ids,
        sealer,
        now,
        &rec.email,
        &rec.account_name,
        Some(&account_id),
    ) {
        Ok((_, creds)) => {
            // The root user of a created account has no access key (AWS: no password
            // either); the management account reaches it through the role.
            cairn_iam::accounts::delete_access_key(tx, &creds.access_key_id)?;
        }
        Err(cairn_iam::accounts::AccountError::EmailTaken(_)) => {
            return fail(
                tx,
                ids,
                audit,
                &mut rec,
                "EMAIL_ALREADY_EXISTS",
                now,
                job_id,
            );
        }
        Err(cairn_iam::accounts::AccountError::Store(e)) => return Err(e.into()),
        Err(e) => {
            tracing::error!(error = %e, "creating the account");
            return Err(Failure(ApiError::internal()));
        }
    }
    cairn_iam::create_role_in(
        tx,
        ids,
        now,
        &account_id,
        &rec.role_name,
        "/",
        &access_role_trust(&org.management_account_id),
        &[ADMIN_POLICY],
    )?;
    model::put_account_rec(
        tx,
        &org,
        &AccountRec {
            v: FORMAT,
            id: account_id.clone(),
            name: rec.account_name.clone(),
            email: rec.email.clone(),
            status: String::from("ACTIVE"),
            joined_method: String::from("CREATED"),
            joined_ms: now,
            closed_ms: None,
        },
    )?;
    tx.put(MEMBERS, account_id.as_bytes(), org.id.as_bytes())?;
    model::set_parent(tx, &org, &account_id, &org.root_id)?;
    model::attach_defaults(tx, &org, &account_id)?;
    for (k, v) in &rec.tags {
        model::put_tag(tx, &org, &account_id, k, v)?;
    }
    rec.account_id = Some(account_id);
    model::put_json(tx, CREATE_REQUESTS, &rec.id, &rec)?;
    advance(tx, job_id, car_id, now)?;
    Ok(Step::Next)
}

/// Moves the job to its `finish` step.
fn advance(tx: &mut dyn Tx, job_id: JobId, car_id: &str, now: i64) -> Result<(), Failure> {
    let payload = serde_json::to_vec(&JobPayload {
        car_id: car_id.to_owned(),
        step: JobStep::Finish,
    })
    .map_err(|_| model::corrupt("job payload"))?;
    tx.advance_job(job_id, &payload, now)?;
    Ok(())
}

/// The second step: the request `SUCCEEDED`, its service event, the verification email.
fn finish_step(
    tx: &mut dyn Tx,
    ids: &dyn Ids,
    audit: &dyn AuditSink,
    now: i64,
    job_id: JobId,
    car_id: &str,
) -> Result<Step, Failure> {
    let Some(mut rec) = model::get_json::<CarRec>(tx, CREATE_REQUESTS, car_id)? else {
        tx.complete_job(job_id)?;
        return Ok(Step::Done);
    };
    let (Some(account_id), "IN_PROGRESS") = (rec.account_id.clone(), rec.state.as_str()) else {
        tx.complete_job(job_id)?;
        return Ok(Step::Done);
    };
    let Some(org) = model::get_json::<Org>(tx, model::ORGS, &rec.org_id)? else {
        return fail(tx, ids, audit, &mut rec, "INTERNAL_FAILURE", now, job_id);
    };
    rec.state = String::from("SUCCEEDED");
    rec.completed_ms = Some(now);
    model::put_json(tx, CREATE_REQUESTS, &rec.id, &rec)?;
    audit.record_in(
        tx,
        &result_event(ids, now, &org.management_account_id, &rec),
    )?;
    mail::enqueue(
        tx,
        &mail::account_verification(&rec.email, &rec.account_name, &account_id, &org.id),
        now,
    )?;
    tx.complete_job(job_id)?;
    Ok(Step::Done)
}

// ----------------------------------------------------------------------------- reads

pub(crate) async fn describe_account(
    ctx: &Call,
    input: types::DescribeAccountRequest,
) -> Result<types::DescribeAccountResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    ctx.read(move |tx| {
        let org = require_org(tx, &caller)?;
        require_management_or_delegated(tx, &org, &caller)?;
        let rec =
            model::get_account_rec(tx, &org, &input.account_id)?.ok_or_else(account_not_found)?;
        Ok(types::DescribeAccountResponse {
            account: Some(effective(rec, now).to_api(&org)),
        })
    })
    .await
}

pub(crate) async fn list_accounts(
    ctx: &Call,
    input: types::ListAccountsRequest,
) -> Result<types::ListAccountsResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    ctx.read(move |tx| {
        let org = require_org(tx, &caller)?;
        require_management_or_delegated(tx, &org, &caller)?;
        let page = Page::new(
            format!("ListAccounts/{caller}"),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        // A bounded scan per page: a full listing reads each account once.
        let (recs, next_token) = page.scan::<AccountRec>(tx, ACCOUNTS, &format!("{}/", org.id))?;
        Ok(types::ListAccountsResponse {
            accounts: Some(
                recs.into_iter()
                    .map(|(_, r)| effective(r, now).to_api(&org))
                    .collect(),
            ),
            next_token,
        })
    })
    .await
}

pub(crate) async fn list_accounts_for_parent(
    ctx: &Call,
    input: types::ListAccountsForParentRequest,
) -> Result<types::ListAccountsForParentResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    ctx.read(move |tx| {
        let org = require_org(tx, &caller)?;
        require_management_or_delegated(tx, &org, &caller)?;
        let parent = input.parent_id.clone();
        let exists = match NodeKind::of(&parent) {
            Some(NodeKind::Root) => parent == org.root_id,
            Some(NodeKind::Ou) => model::get_ou(tx, &org, &parent)?.is_some(),
            _ => false,
        };
        if !exists {
            return Err(Failure(ApiError::new(
                Error::ParentNotFoundException,
                "We can't find a root or OU with the ParentId that you specified.",
            )));
        }
        let page = Page::new(
            format!("ListAccountsForParent/{caller}/{parent}"),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let mut recs = Vec::new();
        for id in model::children(tx, &org, &parent, NodeKind::Account)? {
            if let Some(rec) = model::get_account_rec(tx, &org, &id)? {
                recs.push(rec);
            }
        }
        let (recs, next_token) = page.apply(recs, |r| r.id.clone());
        Ok(types::ListAccountsForParentResponse {
            accounts: Some(
                recs.into_iter()
                    .map(|r| effective(r, now).to_api(&org))
                    .collect(),
            ),
            next_token,
        })
    })
    .await
}

// ----------------------------------------------------------------------------- changes

pub(crate) async fn move_account(
    ctx: &Call,
    input: types::MoveAccountRequest,
) -> Result<(), ApiError> {
    let caller = ctx.account_id().to_owned();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &caller)?;
        require_management(&org, &caller)?;
        let account = input.account_id.as_str();
        if model::get_account_rec(tx, &org, account)?.is_none() {
            return Err(account_not_found());
        }
        let parent_exists = |tx: &mut dyn Tx, id: &str| -> Result<bool, Failure> {
            Ok(match NodeKind::of(id) {
                Some(NodeKind::Root) => id == org.root_id,
                Some(NodeKind::Ou) => model::get_ou(tx, &org, id)?.is_some(),
                _ => false,
            })
        };
        if !parent_exists(tx, &input.source_parent_id)? {
            return Err(Failure(ApiError::new(
                Error::SourceParentNotFoundException,
                "We can't find a source root or OU with the ParentId that you specified.",
            )));
        }
        if !parent_exists(tx, &input.destination_parent_id)? {
            return Err(Failure(ApiError::new(
                Error::DestinationParentNotFoundException,
                "We can't find the destination container (a root or OU) with the ParentId that you specified.",
            )));
        }
        let current = model::parent_of(tx, &org, account)?;
        if current.as_deref() != Some(input.source_parent_id.as_str()) {
            return Err(account_not_found());
        }
        if input.source_parent_id == input.destination_parent_id {
            return Err(Failure(ApiError::new(
                Error::DuplicateAccountException,
                "That account is already present in the specified destination.",
            )));
        }
        model::set_parent(tx, &org, account, &input.destination_parent_id)?;
        Ok(())
    })
    .await
}

/// The services that remove what they hold in an account that leaves.
type Hooks = [std::sync::Arc<dyn cairn_core::TrustedAccess>];

fn account_left(tx: &mut dyn Tx, hooks: &Hooks, org: &Org, account: &str) -> Result<(), Failure> {
    for hook in hooks {
        hook.account_left(tx, &org.id, account)?;
    }
    Ok(())
}

pub(crate) async fn remove_account_from_organization(
    ctx: &Call,
    input: types::RemoveAccountFromOrganizationRequest,
    hooks: &Hooks,
) -> Result<(), ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    let hooks = hooks.to_vec();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &caller)?;
        require_management(&org, &caller)?;
        let rec = model::get_account_rec(tx, &org, &input.account_id)?
            .ok_or_else(account_not_found)?;
        if rec.id == org.management_account_id {
            return Err(constraint(
                "ACCOUNT_CANNOT_LEAVE_ORGANIZATION",
                "You attempted to remove the management account from the organization. You can't remove the management account. Instead, after you remove all member accounts, delete the organization itself.",
            ));
        }
        check_can_leave(tx, &org, &rec, now)?;
        account_left(tx, &hooks, &org, &rec.id)?;
        detach_account(tx, &org, &rec.id)
    })
    .await
}

pub(crate) async fn leave_organization(ctx: &Call, hooks: &Hooks) -> Result<(), ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    let hooks = hooks.to_vec();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &caller)?;
        if org.management_account_id == caller {
            return Err(Failure(ApiError::new(
                Error::MasterCannotLeaveOrganizationException,
                "You can't remove a management account from an organization. If you want the management account to become a member account in another organization, you must first delete the current organization of the management account.",
            )));
        }
        let rec = model::get_account_rec(tx, &org, &caller)?.ok_or_else(account_not_found)?;
        check_can_leave(tx, &org, &rec, now)?;
        account_left(tx, &hooks, &org, &rec.id)?;
        detach_account(tx, &org, &rec.id)
    })
    .await
}

pub(crate) async fn close_account(
    ctx: &Call,
    input: types::CloseAccountRequest,
) -> Result<(), ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &caller)?;
        require_management(&org, &caller)?;
        let rec = model::get_account_rec(tx, &org, &input.account_id)?
            .ok_or_else(account_not_found)?;
        if rec.id == org.management_account_id {
            return Err(constraint(
                "CANNOT_CLOSE_MANAGEMENT_ACCOUNT",
                "You attempted to close the management account. To close the management account for the organization, you must first either remove or close all member accounts in the organization. Follow standard account closure process using root credentials.",
            ));
        }
        let rec = effective(rec, now);
        match rec.status.as_str() {
            "SUSPENDED" => {
                return Err(Failure(ApiError::new(
                    Error::AccountAlreadyClosedException,
                    "You attempted to close an account that is already closed.",
                )));
            }
            "PENDING_CLOSURE" => {
                return Err(Failure(ApiError::new(
                    Error::ConflictException,
                    "The request failed because it conflicts with the current state of the specified resource: the account is already being closed.",
                )));
            }
            _ => {}
        }
        let all: Vec<AccountRec> = model::scan_json(tx, ACCOUNTS, &format!("{}/", org.id))?;
        let members = all
            .iter()
            .filter(|a| a.id != org.management_account_id)
            .count();
        let recent = all
            .iter()
            .filter(|a| {
                a.closed_ms
                    .is_some_and(|c| now.saturating_sub(c) < CLOSE_WINDOW_MS)
            })
            .count();
        if recent >= close_quota(members) {
            return Err(constraint(
                "CLOSE_ACCOUNT_QUOTA_EXCEEDED",
                "You have exceeded close account quota for the past 30 days.",
            ));
        }
        let mut rec = rec;
        rec.status = String::from("PENDING_CLOSURE");
        rec.closed_ms = Some(now);
        model::put_account_rec(tx, &org, &rec)?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(status: &str, closed: Option<i64>) -> AccountRec {
        AccountRec {
            v: FORMAT,
            id: String::from("111122223333"),
            name: String::from("a"),
            email: String::from("a@example.com"),
            status: status.to_owned(),
            joined_method: String::from("CREATED"),
            joined_ms: 0,
            closed_ms: closed,
        }
    }

    #[test]
    fn closure_becomes_suspended_after_the_delay() {
        let r = rec("PENDING_CLOSURE", Some(1_000));
        assert_eq!(effective(r.clone(), 1_000).status, "PENDING_CLOSURE");
        assert_eq!(
            effective(r.clone(), 1_000 + CLOSE_DELAY_MS).status,
            "SUSPENDED"
        );
        assert_eq!(effective(rec("ACTIVE", None), 9_999_999).status, "ACTIVE");
    }

    #[test]
    fn close_quota_is_ten_percent_between_10_and_1000() {
        assert_eq!(close_quota(0), 10);
        assert_eq!(close_quota(99), 10);
        assert_eq!(close_quota(250), 25);
        assert_eq!(close_quota(50_000), 1_000);
    }

    #[test]
    fn emails() {
        assert!(plausible_email("a.b@example.com"));
        assert!(!plausible_email("a@example..com"));
        assert!(!plausible_email("a@.example.com"));
        assert!(!plausible_email("a@example"));
    }

    #[test]
    fn tags_are_checked() {
        let t = |k: &str| types::Tag {
            key: k.to_owned(),
            value: String::new(),
        };
        assert!(crate::tags::tag_pairs(Some(&[t("a"), t("b")])).is_ok());
        assert!(crate::tags::tag_pairs(Some(&[t("a"), t("a")])).is_err());
        assert!(crate::tags::tag_pairs(Some(&[t("aws:x")])).is_err());
        assert!(crate::tags::tag_pairs(None).unwrap().is_empty());
    }

    struct Events(std::sync::Mutex<Vec<String>>);

    impl AuditSink for Events {
        fn record_in(
            &self,
            _tx: &mut dyn Tx,
            e: &AuditEvent,
        ) -> Result<(), cairn_store::StoreError> {
            self.0
                .lock()
                .unwrap()
                .push(format!("{}/{}", e.event_name, e.event_type));
            Ok(())
        }

        fn record(
            &self,
            _e: AuditEvent,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<(), cairn_store::StoreError>> + Send + '_>,
        > {
            Box::pin(async { Ok(()) })
        }
    }

    /// A job claimed by a worker that died is run once its lease expired; it creates the
    /// account, its role and the member record, and records `CreateAccountResult`.
    #[tokio::test]
    async fn a_job_left_by_a_dead_worker_runs_after_its_lease() {
        let t0 = 1_700_000_000_000;
        let store = cairn_store::Store::open_sqlite_memory().unwrap();
        let clock = Arc::new(cairn_core::ManualClock::new(t0));
        let events = Arc::new(Events(std::sync::Mutex::new(Vec::new())));
        let env = Arc::new(Env {
            store: store.clone(),
            clock: clock.clone(),
            ids: Arc::new(cairn_core::SeededIds::new(1)),
            audit: events.clone(),
            node: String::from("test-node"),
            faults: cairn_core::Faults::default(),
            jobs: Default::default(),
            generations: Default::default(),
        });
        let sealer = cairn_iam::Sealer::new(&[7u8; 32]);
        let runner = cairn_core::jobs::Runner::new(
            Arc::clone(&env),
            vec![Arc::new(CreateAccountJob::new(sealer.clone(), 10))],
        );
        store
            .write_blocking(move |tx| -> Result<(), Failure> {
                cairn_iam::accounts::create_account(
                    tx,
                    &cairn_core::SeededIds::new(2),
                    &sealer,
                    t0,
                    "boss@example.com",
                    "Boss",
                    Some("111111111111"),
                )
                .map_err(|_| Failure(ApiError::internal()))?;
                let org = Org {
                    v: FORMAT,
                    id: String::from("o-abcdefghij"),
                    feature_set: String::from("ALL"),
                    management_account_id: String::from("111111111111"),
                    management_email: String::from("boss@example.com"),
                    root_id: String::from("r-abcd"),
                    created_ms: t0,
                    policy_types: Vec::new(),
                };
                model::save_org(tx, &org)?;
                tx.put(MEMBERS, b"111111111111", org.id.as_bytes())?;
                let car = CarRec {
                    v: FORMAT,
                    id: String::from("car-0123456789abcdef"),
                    org_id: org.id.clone(),
                    account_name: String::from("Dev"),
                    email: String::from("dev@example.com"),
                    role_name: String::from(DEFAULT_ROLE),
                    iam_user_access_to_billing: String::from("ALLOW"),
                    tags: vec![(String::from("k"), String::from("v"))],
                    state: String::from("IN_PROGRESS"),
                    failure_reason: None,
                    account_id: None,
                    requested_ms: t0,
                    completed_ms: None,
                };
                model::put_json(tx, CREATE_REQUESTS, &car.id, &car)?;
                let payload = serde_json::to_vec(&JobPayload {
                    car_id: car.id,
                    step: JobStep::Create,
                })
                .unwrap();
                tx.enqueue_job(JOB_KIND, &payload, t0)?;
                Ok(())
            })
            .unwrap();
        // A worker claims the job and dies.
        let claimed = store
            .claim_jobs(&[JOB_KIND], "a-dead-node", t0, LEASE_MS, 8)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(runner.run_until_idle().await, 0, "the lease still holds");
        clock.advance(LEASE_MS);
        assert_eq!(runner.run_until_idle().await, 2, "both steps ran");
        assert_eq!(runner.run_until_idle().await, 0, "the job is complete");
        // The verification email is queued, once.
        let counts = store.read(|tx| tx.job_counts(0)).await.unwrap();
        assert_eq!(counts.len(), 1);
        assert_eq!((counts[0].kind.as_str(), counts[0].total), ("mail.send", 1));
        let (car, role, member) = store
            .read(|tx| -> Result<_, Failure> {
                let car: CarRec =
                    model::get_json(tx, CREATE_REQUESTS, "car-0123456789abcdef")?.unwrap();
                let id = car.account_id.clone().unwrap();
                let role = cairn_iam::role_by_name(tx, &id, DEFAULT_ROLE)?;
                let member = tx.get(MEMBERS, id.as_bytes())?;
                Ok((car, role, member))
            })
            .await
            .unwrap();
        assert_eq!(car.state, "SUCCEEDED");
        assert_eq!(car.completed_ms, Some(t0 + LEASE_MS));
        assert!(role.is_some());
        assert_eq!(member.as_deref(), Some(&b"o-abcdefghij"[..]));
        assert_eq!(
            *events.0.lock().unwrap(),
            vec![String::from("CreateAccountResult/AwsServiceEvent")]
        );
    }

    #[test]
    fn status_hides_the_account_id_until_done() {
        let mut r = CarRec {
            v: FORMAT,
            id: String::from("car-0123456789abcdef"),
            org_id: String::from("o-abcdefghij"),
            account_name: String::from("n"),
            email: String::from("n@example.com"),
            role_name: String::from(DEFAULT_ROLE),
            iam_user_access_to_billing: String::from("ALLOW"),
            tags: Vec::new(),
            state: String::from("IN_PROGRESS"),
            failure_reason: None,
            account_id: Some(String::from("111122223333")),
            requested_ms: 1,
            completed_ms: None,
        };
        assert!(r.to_api().account_id.is_none());
        r.state = String::from("SUCCEEDED");
        assert_eq!(r.to_api().account_id.as_deref(), Some("111122223333"));
    }
}
