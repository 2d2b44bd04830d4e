//! `cairn-bench sso`: the IAM Identity Center benchmark against a fresh `cairn serve`.
//!
//! 1. Through the API: an organization with `--accounts` member accounts (`CreateAccount`),
//!    Identity Center enabled (`EnableAWSServiceAccess`), the instance `ACTIVE`.
//! 2. Server stopped, the bulk loaded **through the store** with Cairn's own code (the same
//!    functions the API handlers run, in transactions of a few thousand rows): users, groups,
//!    memberships, permission sets, and assignments provisioned as the `sso.task` job would
//!    (`cairn_sso::assign::provision`, so every assignment has its real IAM role).
//!    The store's size is taken after loading.
//! 3. Server restarted on that data: closed loops of `ListAccountAssignmentsForPrincipal`
//!    (random assigned principals) and `IsMemberInGroups` (random users, ten group IDs of
//!    which half are theirs) at concurrency 1 and 8; p50/p90/p99/max.
//! 4. Provisioning end to end: a new permission set assigned to every account (one
//!    `CreateAccountAssignment` per account, all requests polled to `SUCCEEDED`), then changed
//!    and re-provisioned with `ProvisionPermissionSet(ALL_PROVISIONED_ACCOUNTS)`.
//!
//! Every loop is bounded; the server is stopped and its data directory removed on every exit.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};

use crate::orgs::{Api, create_one, failure, str_at};
use crate::sign::{Creds, Endpoint};
use crate::{Result, proc, server};

pub const USAGE: &str = "usage: cairn-bench sso [options]

Builds an Identity Center data set (accounts through the API, the directory, permission sets
and provisioned assignments through the store), then measures it in a fresh `cairn serve`;
writes target/bench/sso.json (see crates/bench/README.md).

  --cairn PATH              cairn binary (default target/release/cairn)
  --users N                 users (default 100000)
  --groups N                groups (default 10000)
  --memberships-per-user N  groups each user is in (default 10: 1,000,000 memberships)
  --accounts N              member accounts (default 500)
  --permission-sets N       permission sets (default 50)
  --assignments N           provisioned account assignments (default 20000)
  --duration SECS           measured time per closed-loop level (default 5)
  --concurrency LIST        closed-loop worker counts (default 1,8)
  --out PATH                JSON results (default target/bench/sso.json)";

pub struct Args {
    cairn: PathBuf,
    users: usize,
    groups: usize,
    per_user: usize,
    accounts: usize,
    permission_sets: usize,
    assignments: usize,
    duration: Duration,
    concurrency: Vec<usize>,
    out: PathBuf,
}

fn number(flag: &str, value: &str, range: std::ops::RangeInclusive<usize>) -> Result<usize> {
    let n: usize = value
        .parse()
        .map_err(|_| format!("{flag} wants a number, got {value:?}"))?;
    if !range.contains(&n) {
        return Err(format!("{flag} must be in {range:?}").into());
    }
    Ok(n)
}

pub fn parse_args(raw: &[String]) -> Result<Option<Args>> {
    let mut a = Args {
        cairn: PathBuf::from("target/release/cairn"),
        users: 100_000,
        groups: 10_000,
        per_user: 10,
        accounts: 500,
        permission_sets: 50,
        assignments: 20_000,
        duration: Duration::from_secs(5),
        concurrency: vec![1, 8],
        out: PathBuf::from("target/bench/sso.json"),
    };
    let mut it = raw.iter();
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Ok(None);
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--cairn" => a.cairn = PathBuf::from(value),
            "--users" => a.users = number(flag, value, 1..=10_000_000)?,
            "--groups" => a.groups = number(flag, value, 1..=1_000_000)?,
            "--memberships-per-user" => a.per_user = number(flag, value, 0..=100)?,
            "--accounts" => a.accounts = number(flag, value, 1..=10_000)?,
            "--permission-sets" => a.permission_sets = number(flag, value, 1..=2_000)?,
            "--assignments" => a.assignments = number(flag, value, 0..=10_000_000)?,
            "--duration" => {
                let s: f64 = value
                    .parse()
                    .map_err(|_| format!("--duration wants seconds, got {value:?}"))?;
                if !(0.1..=600.0).contains(&s) {
                    return Err("--duration must be between 0.1 and 600 seconds".into());
                }
                a.duration = Duration::from_secs_f64(s);
            }
            "--concurrency" => {
                a.concurrency = value
                    .split(',')
                    .map(|c| number("--concurrency", c.trim(), 1..=256))
                    .collect::<Result<_>>()?;
            }
            "--out" => a.out = PathBuf::from(value),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    if a.per_user > a.groups {
        return Err("--memberships-per-user cannot exceed --groups".into());
    }
    Ok(Some(a))
}

fn sso(op: &str) -> Endpoint {
    Endpoint {
        service: "sso",
        content_type: "application/x-amz-json-1.1",
        target: Some(format!("SWBExternalService.{op}")),
    }
}

fn ids(op: &str) -> Endpoint {
    Endpoint {
        service: "identitystore",
        content_type: "application/x-amz-json-1.1",
        target: Some(format!("AWSIdentityStore.{op}")),
    }
}

/// One JSON call that must answer 200: the answer and its latency.
async fn call(
    api: &mut Api,
    creds: &Creds,
    endpoint: &Endpoint,
    input: &Value,
) -> Result<(Value, Duration)> {
    let body = serde_json::to_vec(input)?;
    let reply = api.send(creds, endpoint, &body).await?;
    if reply.status != 200 {
        return Err(failure(endpoint, &body, &reply).into());
    }
    let value = if reply.body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&reply.body)?
    };
    Ok((value, reply.elapsed))
}

/// A small deterministic generator (splitmix64): the same data set and the same query mix on
/// every run.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// The groups of user `u`: `per_user` distinct groups.
fn groups_of(u: usize, per_user: usize, groups: usize) -> Vec<usize> {
    let stride = groups / per_user.max(1);
    (0..per_user)
        .map(|k| (u * 7 + k * stride.max(1)) % groups)
        .collect()
}

#[derive(Debug, Serialize)]
struct Loaded {
    users: usize,
    groups: usize,
    memberships: usize,
    permission_sets: usize,
    assignments: usize,
    roles: usize,
    load_s: f64,
    /// The SQLite database and its write-ahead log after loading.
    store_bytes: u64,
    db_bytes: u64,
    wal_bytes: u64,
}

/// What the load step hands the measurements.
struct DataSet {
    user_ids: Vec<String>,
    group_ids: Vec<String>,
    /// Principals with assignments: (`USER`|`GROUP`, id).
    assigned: Vec<(&'static str, String)>,
}

fn store_err(e: impl std::fmt::Display) -> crate::Error {
    e.to_string().into()
}

fn failure_text(cairn_core::Failure(e): cairn_core::Failure) -> String {
    format!("{}: {}", e.code, e.message)
}

/// The bulk, through the store: Cairn's own functions inside transactions of `BATCH` items.
#[allow(
    clippy::too_many_lines,
    reason = "one linear recipe: users, groups, memberships, sets, assignments"
)]
fn load(
    args: &Args,
    data_dir: &Path,
    mgmt: &str,
    inst_id: &str,
    accounts: &[String],
) -> Result<(DataSet, Loaded)> {
    use cairn_api::identitystore::types as it;
    use cairn_api::sso_admin::types as st;
    const BATCH: usize = 2_000;
    let started = Instant::now();
    let store = cairn_store::Store::open_sqlite(&data_dir.join("cairn.db")).map_err(store_err)?;
    let inst = store
        .read_blocking({
            let id = inst_id.to_owned();
            move |tx| cairn_sso::model::instance(tx, &id)
        })
        .map_err(failure_text)?
        .ok_or("the instance is missing from the store")?;
    let store_id = inst.store_id.clone();
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
    let dctx = cairn_sso::directory::Ctx {
        account: mgmt.to_owned(),
        caller_arn: format!("arn:aws:iam::{mgmt}:root"),
        now_ms: now,
        portal_url: None,
    };
    let actx = cairn_sso::model::AdminCtx {
        account: mgmt.to_owned(),
        caller_arn: dctx.caller_arn.clone(),
        now_ms: now,
        region: "us-east-1".to_owned(),
        request_id: "bench".to_owned(),
        ids: Arc::new(cairn_core::RandomIds),
    };
    let orgs = cairn_organizations::OrgFacts;

    // Users.
    let mut user_ids = Vec::with_capacity(args.users);
    for chunk in (0..args.users).collect::<Vec<_>>().chunks(BATCH) {
        let chunk = chunk.to_vec();
        let (store_id, dctx) = (store_id.clone(), dctx.clone_ctx());
        let made = store
            .write_blocking(
                move |tx| -> std::result::Result<Vec<String>, cairn_core::Failure> {
                    let mut out = Vec::with_capacity(chunk.len());
                    for u in &chunk {
                        let input = it::CreateUserRequest {
                            identity_store_id: store_id.clone(),
                            user_name: Some(format!("user{u:07}")),
                            display_name: Some(format!("User {u}")),
                            name: Some(it::Name {
                                given_name: Some(format!("Given{u}")),
                                family_name: Some("Bench".to_owned()),
                                ..Default::default()
                            }),
                            emails: Some(vec![it::Email {
                                value: Some(format!("user{u:07}@example.com")),
                                r#type: Some("work".to_owned()),
                                primary: Some(true),
                            }]),
                            ..Default::default()
                        };
                        let r = cairn_sso::directory::create_user(
                            tx,
                            &orgs,
                            &cairn_core::RandomIds,
                            &dctx,
                            &input,
                        )?;
                        out.push(r.user_id);
                    }
                    Ok(out)
                },
            )
            .map_err(failure_text)?;
        user_ids.extend(made);
    }
    eprintln!(
        "sso: {} users loaded in {:.1} s",
        user_ids.len(),
        started.elapsed().as_secs_f64()
    );

    // Groups.
    let mut group_ids = Vec::with_capacity(args.groups);
    for chunk in (0..args.groups).collect::<Vec<_>>().chunks(BATCH) {
        let chunk = chunk.to_vec();
        let (store_id, dctx) = (store_id.clone(), dctx.clone_ctx());
        let made = store
            .write_blocking(
                move |tx| -> std::result::Result<Vec<String>, cairn_core::Failure> {
                    let mut out = Vec::with_capacity(chunk.len());
                    for g in &chunk {
                        let input = it::CreateGroupRequest {
                            identity_store_id: store_id.clone(),
                            display_name: Some(format!("group{g:06}")),
                            description: Some(format!("Bench group {g}")),
                        };
                        let r = cairn_sso::directory::create_group(
                            tx,
                            &orgs,
                            &cairn_core::RandomIds,
                            &dctx,
                            &input,
                        )?;
                        out.push(r.group_id);
                    }
                    Ok(out)
                },
            )
            .map_err(failure_text)?;
        group_ids.extend(made);
    }

    // Memberships.
    let pairs: Vec<(usize, usize)> = (0..args.users)
        .flat_map(|u| {
            groups_of(u, args.per_user, args.groups)
                .into_iter()
                .map(move |g| (u, g))
        })
        .collect();
    let memberships = pairs.len();
    let users = Arc::new(user_ids.clone());
    let groups = Arc::new(group_ids.clone());
    for chunk in pairs.chunks(BATCH * 2) {
        let chunk = chunk.to_vec();
        let (store_id, dctx) = (store_id.clone(), dctx.clone_ctx());
        let (users, groups) = (Arc::clone(&users), Arc::clone(&groups));
        store
            .write_blocking(move |tx| -> std::result::Result<(), cairn_core::Failure> {
                for (u, g) in &chunk {
                    let (Some(uid), Some(gid)) = (users.get(*u), groups.get(*g)) else {
                        continue;
                    };
                    let input = it::CreateGroupMembershipRequest {
                        identity_store_id: store_id.clone(),
                        group_id: gid.clone(),
                        member_id: it::MemberId {
                            user_id: Some(uid.clone()),
                        },
                    };
                    cairn_sso::directory::create_group_membership(
                        tx,
                        &orgs,
                        &cairn_core::RandomIds,
                        &dctx,
                        &input,
                    )?;
                }
                Ok(())
            })
            .map_err(failure_text)?;
    }
    eprintln!(
        "sso: {memberships} memberships loaded at {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Permission sets, each with ReadOnlyAccess.
    let inst_arn = inst.arn();
    let sets = {
        let (actx, inst_arn, n) = (actx.clone(), inst_arn.clone(), args.permission_sets);
        store
            .write_blocking(
                move |tx| -> std::result::Result<Vec<String>, cairn_core::Failure> {
                    let mut out = Vec::with_capacity(n);
                    for p in 0..n {
                        let made = cairn_sso::permsets::create_permission_set(
                            tx,
                            &orgs,
                            &actx,
                            &st::CreatePermissionSetRequest {
                                instance_arn: inst_arn.clone(),
                                name: format!("Set{p:03}"),
                                ..Default::default()
                            },
                        )?;
                        let arn = made
                            .permission_set
                            .and_then(|p| p.permission_set_arn)
                            .unwrap_or_default();
                        cairn_sso::permsets::attach_managed_policy_to_permission_set(
                            tx,
                            &orgs,
                            &actx,
                            &st::AttachManagedPolicyToPermissionSetRequest {
                                instance_arn: inst_arn.clone(),
                                permission_set_arn: arn.clone(),
                                managed_policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess"
                                    .to_owned(),
                            },
                        )?;
                        out.push(arn.rsplit('/').next().unwrap_or_default().to_owned());
                    }
                    Ok(out)
                },
            )
            .map_err(failure_text)?
    };

    // Assignments: half to groups, half to users; assignment i is set i % sets in account
    // (i / sets) % accounts, provisioned as the job does it.
    let mut assigned = Vec::with_capacity(args.assignments);
    let nth = |v: &[String], i: usize| v.get(i % v.len().max(1)).cloned();
    let plan: Vec<(usize, &'static str, String, String, String)> = (0..args.assignments)
        .filter_map(|i| {
            let (t, id) = if i % 2 == 0 {
                ("GROUP", nth(&group_ids, i / 2)?)
            } else {
                ("USER", nth(&user_ids, i / 2)?)
            };
            let ps = nth(&sets, i)?;
            let account = nth(accounts, i / sets.len().max(1))?;
            Some((i, t, id, ps, account))
        })
        .collect();
    let mut roles = 0usize;
    for chunk in plan.chunks(500) {
        let chunk = chunk.to_vec();
        let inst = inst.clone();
        let made = store
            .write_blocking(
                move |tx| -> std::result::Result<usize, cairn_core::Failure> {
                    let mut roles = 0;
                    for (_, t, id, ps_id, account) in &chunk {
                        let Some(ps) = cairn_sso::permsets::get(tx, &inst.id, ps_id)? else {
                            continue;
                        };
                        if !cairn_sso::assign::is_provisioned(tx, &inst.id, ps_id, account)? {
                            cairn_sso::assign::provision(
                                tx,
                                &cairn_core::RandomIds,
                                now,
                                &inst,
                                &ps,
                                account,
                            )?;
                            roles += 1;
                        }
                        // The two index rows of an assignment (crates/sso/src/assign.rs).
                        tx.put(
                            cairn_sso::assign::ASSIGNMENTS,
                            format!("{}/{account}/{ps_id}/{t}/{id}", inst.id).as_bytes(),
                            b"",
                        )?;
                        tx.put(
                            cairn_sso::assign::ASSIGNMENTS_OF,
                            format!("{}/{t}/{id}/{account}/{ps_id}", inst.id).as_bytes(),
                            b"",
                        )?;
                    }
                    Ok(roles)
                },
            )
            .map_err(failure_text)?;
        roles += made;
    }
    for (_, t, id, _, _) in &plan {
        assigned.push((*t, id.clone()));
    }
    assigned.sort();
    assigned.dedup();
    drop(store);
    let load_s = started.elapsed().as_secs_f64();
    // The store closed: SQLite checkpoints its write-ahead log into the database file.
    let size = |f: &str| std::fs::metadata(data_dir.join(f)).map_or(0, |m| m.len());
    let (db_bytes, wal_bytes) = (size("cairn.db"), size("cairn.db-wal"));
    let store_bytes = db_bytes + wal_bytes;
    eprintln!(
        "sso: loaded in {load_s:.1} s; store {store_bytes} bytes (database {db_bytes}, log {wal_bytes})"
    );
    Ok((
        DataSet {
            user_ids,
            group_ids,
            assigned,
        },
        Loaded {
            users: args.users,
            groups: args.groups,
            memberships,
            permission_sets: sets.len(),
            assignments: args.assignments,
            roles,
            load_s,
            store_bytes,
            db_bytes,
            wal_bytes,
        },
    ))
}

trait CloneCtx {
    fn clone_ctx(&self) -> Self;
}

impl CloneCtx for cairn_sso::directory::Ctx {
    fn clone_ctx(&self) -> Self {
        cairn_sso::directory::Ctx {
            account: self.account.clone(),
            caller_arn: self.caller_arn.clone(),
            now_ms: self.now_ms,
            portal_url: self.portal_url.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct Level {
    operation: String,
    concurrency: usize,
    requests: usize,
    throughput_rps: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

fn level(operation: &str, concurrency: usize, mut samples: Vec<Duration>, wall: Duration) -> Level {
    samples.sort();
    let pick = |p: f64| {
        if samples.is_empty() {
            return 0.0;
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a rank within the sample count"
        )]
        let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
        samples
            .get(i.min(samples.len() - 1))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    #[allow(clippy::cast_precision_loss, reason = "a request count")]
    let rps = samples.len() as f64 / wall.as_secs_f64().max(1e-9);
    Level {
        operation: operation.to_owned(),
        concurrency,
        requests: samples.len(),
        throughput_rps: rps,
        p50_ms: pick(0.50),
        p90_ms: pick(0.90),
        p99_ms: pick(0.99),
        max_ms: samples.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
    }
}

/// `workers` tasks, each with its own connection, sending `bodies` round-robin from its own
/// offset for `duration`; every answer must be 200 and pass `check`.
async fn closed_loop(
    addr: SocketAddr,
    creds: &Arc<Creds>,
    endpoint: Endpoint,
    bodies: Arc<Vec<Vec<u8>>>,
    workers: usize,
    duration: Duration,
    check: fn(&Value) -> bool,
) -> Result<(Vec<Duration>, Duration)> {
    let start = Instant::now();
    let end = start + duration;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (creds, endpoint, bodies) = (Arc::clone(creds), endpoint.clone(), Arc::clone(&bodies));
        tasks.push(tokio::spawn(async move {
            let mut api = Api::new(addr);
            let mut samples = Vec::new();
            let mut i = w * 7919;
            while Instant::now() < end && samples.len() < 10_000_000 {
                let Some(body) = bodies.get(i % bodies.len().max(1)) else {
                    return Err(crate::Error::from("no request bodies"));
                };
                i += 1;
                let reply = api.send(&creds, &endpoint, body).await?;
                if reply.status != 200 {
                    return Err(crate::Error::from(failure(&endpoint, body, &reply)));
                }
                let v: Value = serde_json::from_str(&reply.body)?;
                if !check(&v) {
                    return Err(format!("implausible answer: {}", reply.body).into());
                }
                samples.push(reply.elapsed);
            }
            Ok::<_, crate::Error>(samples)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    Ok((all, start.elapsed()))
}

#[derive(Debug, Serialize)]
struct Provisioning {
    accounts: usize,
    assign_all_s: f64,
    reprovision_all_s: f64,
}

async fn await_requests(
    api: &mut Api,
    creds: &Creds,
    inst: &str,
    op: &str,
    id_member: &str,
    status_member: &str,
    ids: &[String],
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    for id in ids {
        loop {
            let (v, _) = call(
                api,
                creds,
                &sso(op),
                &json!({"InstanceArn": inst, id_member: id}),
            )
            .await?;
            match str_at(&v, &[status_member, "Status"]) {
                Some("SUCCEEDED") => break,
                Some("IN_PROGRESS") => {}
                other => return Err(format!("request {id} ended {other:?}: {v}").into()),
            }
            if Instant::now() > deadline {
                return Err(format!("request {id} still IN_PROGRESS after 600 s").into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(())
}

async fn provisioning(
    addr: SocketAddr,
    creds: &Arc<Creds>,
    inst: &str,
    store_id: &str,
    accounts: &[String],
) -> Result<Provisioning> {
    let mut api = Api::new(addr);
    let (ps, _) = call(
        &mut api,
        creds,
        &sso("CreatePermissionSet"),
        &json!({"InstanceArn": inst, "Name": "BenchProvision"}),
    )
    .await?;
    let ps = str_at(&ps, &["PermissionSet", "PermissionSetArn"])
        .ok_or("no PermissionSetArn")?
        .to_owned();
    call(
        &mut api,
        creds,
        &sso("AttachManagedPolicyToPermissionSet"),
        &json!({"InstanceArn": inst, "PermissionSetArn": ps,
                "ManagedPolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    )
    .await?;
    let (g, _) = call(
        &mut api,
        creds,
        &ids("CreateGroup"),
        &json!({"IdentityStoreId": store_id, "DisplayName": "bench-provision"}),
    )
    .await?;
    let group = str_at(&g, &["GroupId"]).ok_or("no GroupId")?.to_owned();

    let started = Instant::now();
    let mut requests = Vec::with_capacity(accounts.len());
    for account in accounts {
        let (v, _) = call(
            &mut api,
            creds,
            &sso("CreateAccountAssignment"),
            &json!({"InstanceArn": inst, "PermissionSetArn": ps, "TargetId": account,
                    "TargetType": "AWS_ACCOUNT", "PrincipalType": "GROUP", "PrincipalId": group}),
        )
        .await?;
        requests.push(
            str_at(&v, &["AccountAssignmentCreationStatus", "RequestId"])
                .ok_or("no RequestId")?
                .to_owned(),
        );
    }
    await_requests(
        &mut api,
        creds,
        inst,
        "DescribeAccountAssignmentCreationStatus",
        "AccountAssignmentCreationRequestId",
        "AccountAssignmentCreationStatus",
        &requests,
    )
    .await?;
    let assign_all_s = started.elapsed().as_secs_f64();

    call(
        &mut api,
        creds,
        &sso("PutInlinePolicyToPermissionSet"),
        &json!({"InstanceArn": inst, "PermissionSetArn": ps, "InlinePolicy":
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#}),
    )
    .await?;
    let started = Instant::now();
    let (v, _) = call(
        &mut api,
        creds,
        &sso("ProvisionPermissionSet"),
        &json!({"InstanceArn": inst, "PermissionSetArn": ps,
                "TargetType": "ALL_PROVISIONED_ACCOUNTS"}),
    )
    .await?;
    let id = str_at(&v, &["PermissionSetProvisioningStatus", "RequestId"])
        .ok_or("no RequestId")?
        .to_owned();
    await_requests(
        &mut api,
        creds,
        inst,
        "DescribePermissionSetProvisioningStatus",
        "ProvisionPermissionSetRequestId",
        "PermissionSetProvisioningStatus",
        &[id],
    )
    .await?;
    Ok(Provisioning {
        accounts: accounts.len(),
        assign_all_s,
        reprovision_all_s: started.elapsed().as_secs_f64(),
    })
}

#[derive(Debug, Serialize)]
struct Goal {
    goal: String,
    target: String,
    measured: String,
    met: bool,
}

#[derive(Debug, Serialize)]
struct Results {
    generated_unix_s: u64,
    cpus: usize,
    load_average_at_start: String,
    accounts_setup_s: f64,
    loaded: Loaded,
    levels: Vec<Level>,
    provisioning: Provisioning,
    goals: Vec<Goal>,
}

fn markdown(r: &Results) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let l = &r.loaded;
    let _ = writeln!(
        s,
        "| users | groups | memberships | accounts | sets | assignments | roles | load | store |\n|---|---|---|---|---|---|---|---|---|"
    );
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} | {} | {} | {} | {:.1} s | {:.1} MiB |\n",
        l.users,
        l.groups,
        l.memberships,
        r.provisioning.accounts,
        l.permission_sets,
        l.assignments,
        l.roles,
        l.load_s,
        l.store_bytes as f64 / 1_048_576.0
    );
    let _ = writeln!(
        s,
        "| operation | concurrency | req/s | p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|"
    );
    for v in &r.levels {
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {:.3} |",
            v.operation, v.concurrency, v.throughput_rps, v.p50_ms, v.p90_ms, v.p99_ms, v.max_ms
        );
    }
    let _ = writeln!(
        s,
        "\n| provisioning ({} accounts) | seconds |\n|---|---|\n| CreateAccountAssignment to every account, all SUCCEEDED | {:.2} |\n| ProvisionPermissionSet ALL_PROVISIONED_ACCOUNTS, SUCCEEDED | {:.2} |",
        r.provisioning.accounts, r.provisioning.assign_all_s, r.provisioning.reprovision_all_s
    );
    let _ = writeln!(s, "\n| goal | target | measured | met |\n|---|---|---|---|");
    for g in &r.goals {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            g.goal,
            g.target,
            g.measured,
            if g.met { "yes" } else { "**no**" }
        );
    }
    s
}

#[allow(
    clippy::too_many_lines,
    reason = "the benchmark's four phases in order"
)]
pub fn run(args: &Args) -> Result<()> {
    let load_average_at_start = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !args.cairn.is_file() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p cairn -p cairn-bench`",
            args.cairn.display()
        )
        .into());
    }
    let out_dir = args
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::create_dir_all(&out_dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    proc::install_signal_handler(&rt)?;
    let max_accounts = (args.accounts + 10).max(2000).to_string();
    let env = [("CAIRN_ORG_MAX_ACCOUNTS", max_accounts.as_str())];
    let data = proc::TempDir::new("sso")?;
    let data_dir = data.path.join("data");
    let log = out_dir.join("cairn-sso.log");
    std::fs::write(&log, b"")?;

    // 1. Accounts and the instance, through the API.
    let server = server::start_cairn_with_env(&args.cairn, &data_dir, &log, &env)?;
    let root = server::read_root_credentials(&data_dir)?;
    let creds = Arc::new(Creds::long_term(
        &root.access_key_id,
        &root.secret_access_key,
    ));
    let addr = server.addr;
    let setup_started = Instant::now();
    let (accounts, inst, store_id) = rt.block_on(async {
        let mut api = Api::new(addr);
        api.org(&creds, "CreateOrganization", &json!({"FeatureSet": "ALL"}))
            .await?;
        let mut accounts = Vec::with_capacity(args.accounts);
        for i in 0..args.accounts {
            let made = create_one(&mut api, &creds, i).await?;
            match (made.state.as_str(), made.account_id) {
                ("SUCCEEDED", Some(id)) => accounts.push(id),
                (state, _) => {
                    return Err(crate::Error::from(format!(
                        "CreateAccount {i} ended {state}: {:?}",
                        made.reason
                    )));
                }
            }
        }
        api.org(
            &creds,
            "EnableAWSServiceAccess",
            &json!({"ServicePrincipal": "sso.amazonaws.com"}),
        )
        .await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (v, _) = call(&mut api, &creds, &sso("ListInstances"), &json!({})).await?;
            let first = v.get("Instances").and_then(|i| i.get(0)).cloned();
            if let Some(i) = first
                && str_at(&i, &["Status"]) == Some("ACTIVE")
            {
                let arn = str_at(&i, &["InstanceArn"]).unwrap_or_default().to_owned();
                let store = str_at(&i, &["IdentityStoreId"])
                    .unwrap_or_default()
                    .to_owned();
                return Ok((accounts, arn, store));
            }
            if Instant::now() > deadline {
                return Err("the instance never became ACTIVE".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })?;
    let accounts_setup_s = setup_started.elapsed().as_secs_f64();
    eprintln!(
        "sso: {} accounts and the instance in {accounts_setup_s:.1} s",
        accounts.len()
    );
    server.child.stop();

    // 2. The bulk, through the store.
    let inst_id = inst.rsplit('/').next().unwrap_or_default().to_owned();
    let (set, loaded) = load(args, &data_dir, &root.account_id, &inst_id, &accounts)?;

    // 3. Reads, on a restarted server.
    let server = server::start_cairn_with_env(&args.cairn, &data_dir, &log, &env)?;
    let addr = server.addr;
    let mut mix = Mix(42);
    let for_principal: Vec<Vec<u8>> = (0..2_000)
        .filter_map(|_| {
            let (t, id) = set.assigned.get(mix.below(set.assigned.len()))?;
            serde_json::to_vec(&json!({"InstanceArn": inst, "PrincipalType": t, "PrincipalId": id}))
                .ok()
        })
        .collect();
    let is_member: Vec<Vec<u8>> = (0..2_000)
        .filter_map(|_| {
            let u = mix.below(set.user_ids.len());
            let mut gids: Vec<String> = groups_of(u, args.per_user, args.groups)
                .into_iter()
                .take(5)
                .filter_map(|g| set.group_ids.get(g).cloned())
                .collect();
            while gids.len() < 10 {
                if let Some(g) = set.group_ids.get(mix.below(set.group_ids.len())) {
                    gids.push(g.clone());
                }
            }
            serde_json::to_vec(&json!({"IdentityStoreId": store_id,
                "MemberId": {"UserId": set.user_ids.get(u)?}, "GroupIds": gids}))
            .ok()
        })
        .collect();
    let for_principal = Arc::new(for_principal);
    let is_member = Arc::new(is_member);
    let mut levels = Vec::new();
    for &c in &args.concurrency {
        let (samples, wall) = rt.block_on(closed_loop(
            addr,
            &creds,
            sso("ListAccountAssignmentsForPrincipal"),
            Arc::clone(&for_principal),
            c,
            args.duration,
            |v| v.get("AccountAssignments").is_some_and(Value::is_array),
        ))?;
        levels.push(level(
            "ListAccountAssignmentsForPrincipal",
            c,
            samples,
            wall,
        ));
        let (samples, wall) = rt.block_on(closed_loop(
            addr,
            &creds,
            ids("IsMemberInGroups"),
            Arc::clone(&is_member),
            c,
            args.duration,
            |v| {
                v.get("Results")
                    .and_then(Value::as_array)
                    .is_some_and(|r| r.len() == 10)
            },
        ))?;
        levels.push(level("IsMemberInGroups", c, samples, wall));
    }

    // 4. Provisioning end to end.
    let provisioning = rt.block_on(provisioning(addr, &creds, &inst, &store_id, &accounts))?;
    server.child.stop();

    let worst_p99 = |op: &str| {
        levels
            .iter()
            .filter(|l| l.operation == op)
            .map(|l| l.p99_ms)
            .fold(0.0_f64, f64::max)
    };
    let mut goals = Vec::new();
    for op in ["ListAccountAssignmentsForPrincipal", "IsMemberInGroups"] {
        let p = worst_p99(op);
        goals.push(Goal {
            goal: format!("{op} p99 (worst level)"),
            target: "<= 10 ms".to_owned(),
            measured: format!("{p:.3} ms"),
            met: p <= 10.0,
        });
    }
    for (what, s) in [
        ("assign one set to every account", provisioning.assign_all_s),
        (
            "re-provision one set to every account",
            provisioning.reprovision_all_s,
        ),
    ] {
        goals.push(Goal {
            goal: format!("{what} ({} accounts)", provisioning.accounts),
            target: "<= 5 s".to_owned(),
            measured: format!("{s:.2} s"),
            met: s <= 5.0,
        });
    }
    let results = Results {
        generated_unix_s: SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average_at_start,
        accounts_setup_s,
        loaded,
        levels,
        provisioning,
        goals,
    };
    print!("{}", markdown(&results));
    std::fs::write(&args.out, serde_json::to_vec_pretty(&results)?)?;
    eprintln!("sso: results in {}", args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memberships_are_distinct_groups() {
        for u in [0, 1, 99_999] {
            let mut g = groups_of(u, 10, 10_000);
            g.sort_unstable();
            g.dedup();
            assert_eq!(g.len(), 10);
        }
    }

    #[test]
    fn args() {
        let a = parse_args(&[
            "--users".into(),
            "10".into(),
            "--concurrency".into(),
            "1,4".into(),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(a.users, 10);
        assert_eq!(a.concurrency, vec![1, 4]);
        assert!(parse_args(&["--bogus".into(), "1".into()]).is_err());
    }
}
