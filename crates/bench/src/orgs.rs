//! `cairn-bench orgs`: an AWS Organizations benchmark against a fresh `cairn serve`.
//!
//! 1. Builds an organization through the API: `CreateOrganization`, OUs nested up to five
//!    levels, and accounts created with `CreateAccount` and polled with
//!    `DescribeCreateAccountStatus` until `SUCCEEDED` (the latency of each is measured).
//! 2. Times full paginations of `ListAccounts` and `ListChildren`, and `ListPoliciesForTarget`.
//! 3. Measures what SCP evaluation costs: a member account's role session (assumed by an IAM
//!    admin user of the management account) calls `DescribeOrganization` in a closed loop with
//!    five SCPs at every level of its path, then again after `DisablePolicyType`; the
//!    management user's own calls (never subject to SCPs) run beside both as a control.
//!
//! Every loop is bounded in time or count; the server is stopped and its data directory removed
//! on every exit path.

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};

use crate::http::Conn;
use crate::load::{self, LevelResult, Plan};
use crate::sign::{Creds, Endpoint, SignMode, Signer};
use crate::{Result, proc, server};

/// No single setup call may take longer than this.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// A `CreateAccount` not `SUCCEEDED` after this long counts as timed out.
const CREATE_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between two `DescribeCreateAccountStatus` polls of one request.
const POLL_EVERY: Duration = Duration::from_millis(1);
/// Upper bound on the pages of one listing.
const MAX_PAGES: usize = 100_000;
const SCP: &str = "SERVICE_CONTROL_POLICY";
/// Policies attached to each level of the measured account's path.
const SCPS_PER_LEVEL: usize = 5;

pub const USAGE: &str = "usage: cairn-bench orgs [options]

Builds an organization in a fresh `cairn serve` through the API and measures it; writes
target/bench/orgs.json (see crates/bench/README.md).

  --cairn PATH              cairn binary (default target/release/cairn)
  --accounts N              accounts to create (default 1000)
  --ous N                   OUs to create, nested up to 5 levels (default 200)
  --create-concurrency N    concurrent creations (default 4)
  --page-size N             MaxResults of the listings (default 20)
  --list-repeats N          timed repetitions of each listing (default 20)
  --scp-depth N             OU levels of the SCP path below the root, 1..=5 (default 5)
  --rounds N                SCPs-on / SCPs-off measurement rounds, order alternating (default 4)
  --duration SECS           measured time per closed-loop level (default 5)
  --warmup SECS             unmeasured warm-up before each level (default 1)
  --concurrency LIST        closed-loop worker counts (default 1,8)
  --sign MODE               per-second (default) or per-request, as for the main benchmark
  --client-threads N        load generator threads (default: number of CPUs)
  --out PATH                JSON results (default target/bench/orgs.json)";

pub struct Args {
    cairn: PathBuf,
    accounts: usize,
    ous: usize,
    create_concurrency: usize,
    page_size: usize,
    list_repeats: usize,
    scp_depth: usize,
    rounds: usize,
    duration: Duration,
    warmup: Duration,
    concurrency: Vec<usize>,
    sign: SignMode,
    client_threads: usize,
    out: PathBuf,
}

fn number(flag: &str, value: &str, range: std::ops::RangeInclusive<usize>) -> Result<usize> {
    match value.parse::<usize>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "{flag} wants a number in {}..={}, got {value:?}",
            range.start(),
            range.end()
        )
        .into()),
    }
}

pub fn parse_args(raw: &[String]) -> Result<Option<Args>> {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut args = Args {
        cairn: PathBuf::from("target/release/cairn"),
        accounts: 1000,
        ous: 200,
        create_concurrency: 4,
        page_size: 20,
        list_repeats: 20,
        scp_depth: 5,
        rounds: 4,
        duration: Duration::from_secs(5),
        warmup: Duration::from_secs(1),
        concurrency: vec![1, 8],
        sign: SignMode::PerSecond,
        client_threads: cpus,
        out: PathBuf::from("target/bench/orgs.json"),
    };
    let mut it = raw.iter();
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Ok(None);
        }
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n.to_owned(), v.to_owned()),
            None => (
                flag.clone(),
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))?,
            ),
        };
        match name.as_str() {
            "--cairn" => args.cairn = PathBuf::from(value),
            "--accounts" => args.accounts = number(&name, &value, 1..=5000)?,
            "--ous" => args.ous = number(&name, &value, 0..=1990)?,
            "--create-concurrency" => args.create_concurrency = number(&name, &value, 1..=64)?,
            "--page-size" => args.page_size = number(&name, &value, 1..=20)?,
            "--list-repeats" => args.list_repeats = number(&name, &value, 1..=1000)?,
            "--scp-depth" => args.scp_depth = number(&name, &value, 1..=5)?,
            "--rounds" => args.rounds = number(&name, &value, 1..=10)?,
            "--duration" => args.duration = crate::seconds(&name, &value)?,
            "--warmup" => args.warmup = crate::seconds(&name, &value)?,
            "--concurrency" => {
                args.concurrency = value
                    .split(',')
                    .map(|c| number("--concurrency", c.trim(), 1..=1024))
                    .collect::<Result<_>>()?;
            }
            "--sign" => {
                args.sign = match value.as_str() {
                    "per-second" => SignMode::PerSecond,
                    "per-request" => SignMode::PerRequest,
                    other => return Err(format!("--sign: unknown mode {other:?}").into()),
                }
            }
            "--client-threads" => args.client_threads = number(&name, &value, 1..=256)?,
            "--out" => args.out = PathBuf::from(value),
            other => return Err(format!("unknown option {other:?}\n\n{USAGE}").into()),
        }
    }
    Ok(Some(args))
}

// ----------------------------------------------------------------------------- client

/// One answer.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    /// From writing the request to the last byte of the answer (signing excluded).
    pub(crate) elapsed: Duration,
}

/// The request as a reader needs it to reproduce a failure (bodies hold no secrets here).
fn describe(endpoint: &Endpoint, body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body).chars().take(2000).collect();
    match &endpoint.target {
        Some(t) => format!(
            "POST / (SigV4 {}/us-east-1) X-Amz-Target: {t}, body {text}",
            endpoint.service
        ),
        None => format!(
            "POST / (SigV4 {}/us-east-1) form body {text}",
            endpoint.service
        ),
    }
}

pub(crate) fn failure(endpoint: &Endpoint, body: &[u8], reply: &Reply) -> String {
    let answer: String = reply.body.chars().take(4000).collect();
    format!(
        "request: {}\nresponse: HTTP {} {answer}",
        describe(endpoint, body),
        reply.status
    )
}

/// `application/x-www-form-urlencoded` with RFC 3986 unreserved characters kept.
pub(crate) fn form(params: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The text of the first `<tag>…</tag>` in an XML answer, entities decoded.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let len = xml.get(start..)?.find(&close)?;
    let raw = xml.get(start..start + len)?;
    Some(
        raw.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// A client with one keep-alive connection, re-opened when the server closed it.
pub(crate) struct Api {
    addr: SocketAddr,
    conn: Option<Conn>,
}

impl Api {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self { addr, conn: None }
    }

    pub(crate) async fn send(
        &mut self,
        creds: &Creds,
        endpoint: &Endpoint,
        body: &[u8],
    ) -> Result<Reply> {
        let mut signer = Signer::for_endpoint(
            creds,
            self.addr.to_string(),
            endpoint.clone(),
            body,
            SignMode::PerRequest,
        );
        let request = signer.request(SystemTime::now())?.to_vec();
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => tokio::time::timeout(CALL_TIMEOUT, Conn::connect(self.addr))
                .await
                .map_err(|_| format!("connecting to {} timed out", self.addr))??,
        };
        let start = Instant::now();
        let resp = tokio::time::timeout(CALL_TIMEOUT, conn.send(&request))
            .await
            .map_err(|_| {
                format!(
                    "{}: no answer within {} s",
                    describe(endpoint, body),
                    CALL_TIMEOUT.as_secs()
                )
            })?
            .map_err(|e| format!("{}: {e}", describe(endpoint, body)))?;
        let elapsed = start.elapsed();
        if !resp.close {
            self.conn = Some(conn);
        }
        Ok(Reply {
            status: resp.status,
            body: String::from_utf8_lossy(&resp.body).into_owned(),
            elapsed,
        })
    }

    /// One Organizations call that must answer 200; the parsed answer and its latency.
    pub(crate) async fn org(
        &mut self,
        creds: &Creds,
        op: &str,
        input: &Value,
    ) -> Result<(Value, Duration)> {
        let endpoint = Endpoint::organizations(op);
        let body = serde_json::to_vec(input)?;
        let reply = self.send(creds, &endpoint, &body).await?;
        if reply.status != 200 {
            return Err(failure(&endpoint, &body, &reply).into());
        }
        let value = if reply.body.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&reply.body)
                .map_err(|e| format!("{op}: unparsable answer ({e}): {}", reply.body))?
        };
        Ok((value, reply.elapsed))
    }

    /// One awsQuery call (IAM, STS) that must answer 200; the XML answer.
    async fn query(
        &mut self,
        creds: &Creds,
        service: &'static str,
        params: &[(&str, &str)],
    ) -> Result<String> {
        let endpoint = Endpoint::query(service);
        let body = form(params);
        let reply = self.send(creds, &endpoint, body.as_bytes()).await?;
        if reply.status != 200 {
            return Err(failure(&endpoint, body.as_bytes(), &reply).into());
        }
        Ok(reply.body)
    }
}

pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_str()
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs `jobs` on `workers` tasks, each with its own connection; results in job order.
async fn pool<J, R, F>(addr: SocketAddr, workers: usize, jobs: Vec<J>, f: F) -> Vec<Result<R>>
where
    J: Send + 'static,
    R: Send + 'static,
    F: for<'a> Fn(&'a mut Api, J) -> BoxFut<'a, Result<R>> + Send + Sync + 'static,
{
    let n = jobs.len();
    let queue: Arc<Mutex<VecDeque<(usize, J)>>> =
        Arc::new(Mutex::new(jobs.into_iter().enumerate().collect()));
    let f = Arc::new(f);
    let mut tasks = Vec::new();
    for _ in 0..workers.clamp(1, n.max(1)) {
        let queue = queue.clone();
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let mut api = Api::new(addr);
            let mut out = Vec::new();
            loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                let Some((i, job)) = next else {
                    break;
                };
                out.push((i, (*f)(&mut api, job).await));
            }
            out
        }));
    }
    let mut results: Vec<Option<Result<R>>> = (0..n).map(|_| None).collect();
    for task in tasks {
        if let Ok(out) = task.await {
            for (i, r) in out {
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(r);
                }
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("worker task failed".into())))
        .collect()
}

// ----------------------------------------------------------------------------- figures

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub n: usize,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

fn stats(samples: &[Duration]) -> Option<Stats> {
    if samples.is_empty() {
        return None;
    }
    let mut ns: Vec<u64> = samples
        .iter()
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .collect();
    ns.sort_unstable();
    let ms = |v: u64| v as f64 / 1e6;
    Some(Stats {
        n: ns.len(),
        min_ms: ms(ns.first().copied().unwrap_or_default()),
        p50_ms: ms(load::percentile(&ns, 50.0)),
        p90_ms: ms(load::percentile(&ns, 90.0)),
        p99_ms: ms(load::percentile(&ns, 99.0)),
        max_ms: ms(ns.last().copied().unwrap_or_default()),
        mean_ms: ms(ns.iter().sum::<u64>() / ns.len() as u64),
    })
}

#[derive(Debug, Serialize)]
struct OuFigures {
    created: usize,
    max_depth: usize,
    /// `CreateOrganizationalUnit` latency.
    latency: Option<Stats>,
}

#[derive(Debug, Serialize)]
struct AccountFigures {
    requested: usize,
    succeeded: usize,
    failed: usize,
    /// Not `SUCCEEDED` within the timeout, or a failed call.
    errors: usize,
    first_failure: Option<String>,
    concurrency: usize,
    wall_s: f64,
    /// From sending `CreateAccount` to the `DescribeCreateAccountStatus` answer that said
    /// `SUCCEEDED` (polled every ~1 ms), as a client sees it.
    create_to_succeeded: Option<Stats>,
    /// `CompletedTimestamp - RequestedTimestamp` as the server recorded them.
    server_recorded: Option<Stats>,
    /// `CreateAccount` call alone (answers `IN_PROGRESS`).
    create_call: Option<Stats>,
    /// `DescribeCreateAccountStatus` calls per creation.
    polls_mean: f64,
}

#[derive(Debug, Serialize)]
struct MoveFigures {
    moved: usize,
    latency: Option<Stats>,
}

#[derive(Debug, Serialize)]
struct Setup {
    create_organization_ms: f64,
    root_id: String,
    ous: OuFigures,
    accounts: AccountFigures,
    moves: MoveFigures,
}

#[derive(Debug, Serialize)]
struct Listing {
    operation: String,
    input: Value,
    items: usize,
    pages: usize,
    /// The first (unmeasured) listing, caches cold.
    first_ms: f64,
    /// The whole listing, every page in turn on one connection.
    total: Option<Stats>,
    /// Each page.
    page: Option<Stats>,
}

#[derive(Debug, Serialize)]
struct Phase {
    round: usize,
    scps_enabled: bool,
    /// The member account's role session.
    member: Vec<LevelResult>,
    /// The management account's IAM user (never subject to SCPs): a drift control.
    management_user: Vec<LevelResult>,
}

#[derive(Debug, Serialize)]
struct Comparison {
    concurrency: usize,
    /// Means over the rounds.
    member_p50_with_ms: f64,
    member_p50_without_ms: f64,
    member_p50_diff_us: f64,
    member_p99_with_ms: f64,
    member_p99_without_ms: f64,
    member_p99_diff_us: f64,
    member_cpu_with_us: f64,
    member_cpu_without_us: f64,
    member_cpu_diff_us: f64,
    /// The same differences for the management user, which SCPs never touch: what the
    /// machine drifted between the phases.
    control_p50_diff_us: f64,
    control_cpu_diff_us: f64,
    /// Per round: member p50 difference in µs.
    per_round_p50_diff_us: Vec<f64>,
}

#[derive(Debug, Serialize)]
struct ScpFigures {
    member_account: String,
    role_arn: String,
    /// Root, OUs, account: the targets of the measured account's path.
    path: Vec<String>,
    policies_per_level: usize,
    policies_created: usize,
    request: &'static str,
    phases: Vec<Phase>,
    comparison: Vec<Comparison>,
}

#[derive(Debug, Serialize)]
struct Goal {
    what: String,
    target: String,
    measured: String,
    met: Option<bool>,
}

#[derive(Debug, Serialize)]
struct Config {
    binary: String,
    accounts: usize,
    ous: usize,
    create_concurrency: usize,
    page_size: usize,
    list_repeats: usize,
    scp_depth: usize,
    rounds: usize,
    duration_s: f64,
    warmup_s: f64,
    concurrency: Vec<usize>,
    sign_mode: SignMode,
    client_threads: usize,
    cpus: usize,
    server_env: Vec<String>,
    load_average_at_start: String,
}

#[derive(Debug, Serialize)]
struct Results {
    generated_unix_s: u64,
    config: Config,
    setup: Option<Setup>,
    listings: Vec<Listing>,
    scp: Option<ScpFigures>,
    goals: Vec<Goal>,
    /// Every failed step: the exact request and the server's answer.
    problems: Vec<String>,
}

// ----------------------------------------------------------------------------- phase 1

struct Built {
    root: String,
    ous: Vec<String>,
    /// Created accounts in creation order; `None` where creation failed.
    accounts: Vec<Option<String>>,
    /// Accounts left under the root.
    under_root: usize,
}

pub(crate) struct CreateOutcome {
    pub(crate) account_id: Option<String>,
    pub(crate) state: String,
    pub(crate) reason: Option<String>,
    total: Duration,
    create_call: Duration,
    server: Option<Duration>,
    polls: u32,
}

pub(crate) async fn create_one(api: &mut Api, creds: &Creds, i: usize) -> Result<CreateOutcome> {
    let start = Instant::now();
    let (answer, create_call) = api
        .org(
            creds,
            "CreateAccount",
            &json!({
                "Email": format!("bench-{i:05}@example.com"),
                "AccountName": format!("bench-{i:05}"),
            }),
        )
        .await?;
    let mut status = answer
        .get("CreateAccountStatus")
        .cloned()
        .ok_or("CreateAccount answered without CreateAccountStatus")?;
    let id = str_at(&status, &["Id"])
        .ok_or("CreateAccount answered without an Id")?
        .to_owned();
    let mut polls = 0u32;
    while str_at(&status, &["State"]) == Some("IN_PROGRESS") {
        if start.elapsed() > CREATE_TIMEOUT {
            return Err(format!(
                "CreateAccount request {id} still IN_PROGRESS after {} s",
                CREATE_TIMEOUT.as_secs()
            )
            .into());
        }
        tokio::time::sleep(POLL_EVERY).await;
        let (answer, _) = api
            .org(
                creds,
                "DescribeCreateAccountStatus",
                &json!({ "CreateAccountRequestId": id }),
            )
            .await?;
        polls += 1;
        status = answer
            .get("CreateAccountStatus")
            .cloned()
            .ok_or("DescribeCreateAccountStatus answered without CreateAccountStatus")?;
    }
    let total = start.elapsed();
    let secs = |k: &str| status.get(k).and_then(Value::as_f64);
    let server = match (secs("RequestedTimestamp"), secs("CompletedTimestamp")) {
        (Some(a), Some(b)) if b >= a => Some(Duration::from_secs_f64(b - a)),
        _ => None,
    };
    Ok(CreateOutcome {
        account_id: str_at(&status, &["AccountId"]).map(str::to_owned),
        state: str_at(&status, &["State"]).unwrap_or("?").to_owned(),
        reason: str_at(&status, &["FailureReason"]).map(str::to_owned),
        total,
        create_call,
        server,
        polls,
    })
}

async fn build(
    addr: SocketAddr,
    creds: &Arc<Creds>,
    args: &Args,
    problems: &mut Vec<String>,
) -> Result<(Setup, Built)> {
    let mut api = Api::new(addr);
    eprintln!("orgs: CreateOrganization");
    let (_, create_org) = api
        .org(creds, "CreateOrganization", &json!({ "FeatureSet": "ALL" }))
        .await?;
    let (roots, _) = api.org(creds, "ListRoots", &json!({})).await?;
    let root = roots
        .get("Roots")
        .and_then(|r| r.get(0))
        .and_then(|r| str_at(r, &["Id"]))
        .ok_or("ListRoots answered no root")?
        .to_owned();

    // OUs: a fifth at each depth 1..=5; OU i below OU i - per_level.
    eprintln!("orgs: creating {} OUs", args.ous);
    let per_level = args.ous.div_ceil(5).max(1);
    let mut ous: Vec<String> = Vec::with_capacity(args.ous);
    let mut ou_latency = Vec::new();
    let mut max_depth = 0;
    for level in 0..5 {
        let from = level * per_level;
        let to = ((level + 1) * per_level).min(args.ous);
        if from >= to {
            break;
        }
        let mut jobs = Vec::new();
        for i in from..to {
            let parent = if level == 0 {
                root.clone()
            } else {
                ous.get(i - per_level).cloned().ok_or("OU parent missing")?
            };
            jobs.push((i, parent));
        }
        let c = creds.clone();
        let results = pool(
            addr,
            args.create_concurrency,
            jobs,
            move |api, (i, parent): (usize, String)| {
                let c = c.clone();
                Box::pin(async move {
                    let (answer, took) = api
                        .org(
                            &c,
                            "CreateOrganizationalUnit",
                            &json!({ "ParentId": parent, "Name": format!("bench-ou-{i:04}") }),
                        )
                        .await?;
                    let id = str_at(&answer, &["OrganizationalUnit", "Id"])
                        .ok_or("CreateOrganizationalUnit answered no Id")?
                        .to_owned();
                    Ok((id, took))
                })
            },
        )
        .await;
        for r in results {
            let (id, took) = r?;
            ous.push(id);
            ou_latency.push(took);
        }
        max_depth = level + 1;
    }

    // Accounts.
    eprintln!(
        "orgs: creating {} accounts, {} at a time",
        args.accounts, args.create_concurrency
    );
    let started = Instant::now();
    let c = creds.clone();
    let outcomes = pool(
        addr,
        args.create_concurrency,
        (0..args.accounts).collect(),
        move |api, i: usize| {
            let c = c.clone();
            Box::pin(async move { create_one(api, &c, i).await })
        },
    )
    .await;
    let wall = started.elapsed();
    let mut accounts = Vec::with_capacity(outcomes.len());
    let (mut totals, mut servers, mut calls) = (Vec::new(), Vec::new(), Vec::new());
    let (mut succeeded, mut failed, mut errors, mut polls) = (0, 0, 0, 0u64);
    let mut first_failure = None;
    for o in outcomes {
        match o {
            Ok(o) if o.state == "SUCCEEDED" && o.account_id.is_some() => {
                succeeded += 1;
                totals.push(o.total);
                calls.push(o.create_call);
                servers.extend(o.server);
                polls += u64::from(o.polls);
                accounts.push(o.account_id);
            }
            Ok(o) => {
                failed += 1;
                if first_failure.is_none() {
                    first_failure = Some(format!(
                        "CreateAccount ended {} ({})",
                        o.state,
                        o.reason.unwrap_or_default()
                    ));
                }
                accounts.push(None);
            }
            Err(e) => {
                errors += 1;
                if first_failure.is_none() {
                    first_failure = Some(e.to_string());
                }
                accounts.push(None);
            }
        }
    }
    if let Some(f) = &first_failure {
        problems.push(format!("CreateAccount: {f}"));
    }
    eprintln!(
        "orgs: {succeeded} accounts SUCCEEDED, {failed} FAILED, {errors} errors in {:.1} s",
        wall.as_secs_f64()
    );

    // Every other account moves into an OU (round robin); the rest stay under the root.
    let mut moves = Vec::new();
    if !ous.is_empty() {
        for (i, a) in accounts.iter().enumerate() {
            if let (Some(id), true) = (a, i % 2 == 1)
                && let Some(ou) = ous.get((i / 2) % ous.len())
            {
                moves.push((id.clone(), ou.clone()));
            }
        }
    }
    eprintln!("orgs: moving {} accounts into OUs", moves.len());
    let c = creds.clone();
    let root2 = root.clone();
    let moved = pool(
        addr,
        args.create_concurrency,
        moves,
        move |api, (account, ou): (String, String)| {
            let c = c.clone();
            let root = root2.clone();
            Box::pin(async move {
                let (_, took) = api
                    .org(
                        &c,
                        "MoveAccount",
                        &json!({
                            "AccountId": account,
                            "SourceParentId": root,
                            "DestinationParentId": ou,
                        }),
                    )
                    .await?;
                Ok(took)
            })
        },
    )
    .await;
    let mut move_latency = Vec::new();
    let mut move_errors = 0;
    for r in moved {
        match r {
            Ok(t) => move_latency.push(t),
            Err(e) => {
                move_errors += 1;
                if move_errors == 1 {
                    problems.push(format!("MoveAccount: {e}"));
                }
            }
        }
    }
    if move_errors > 1 {
        problems.push(format!("MoveAccount: {move_errors} calls failed in all"));
    }
    let under_root = succeeded - move_latency.len();
    let setup = Setup {
        create_organization_ms: create_org.as_secs_f64() * 1e3,
        root_id: root.clone(),
        ous: OuFigures {
            created: ous.len(),
            max_depth,
            latency: stats(&ou_latency),
        },
        accounts: AccountFigures {
            requested: args.accounts,
            succeeded,
            failed,
            errors,
            first_failure,
            concurrency: args.create_concurrency,
            wall_s: wall.as_secs_f64(),
            create_to_succeeded: stats(&totals),
            server_recorded: stats(&servers),
            create_call: stats(&calls),
            polls_mean: polls as f64 / succeeded.max(1) as f64,
        },
        moves: MoveFigures {
            moved: move_latency.len(),
            latency: stats(&move_latency),
        },
    };
    Ok((
        setup,
        Built {
            root,
            ous,
            accounts,
            under_root,
        },
    ))
}

// ----------------------------------------------------------------------------- phase 2

/// One full pagination; (items, pages, total time, per-page times).
async fn paginate(
    api: &mut Api,
    creds: &Creds,
    op: &str,
    input: &Value,
    key: &str,
) -> Result<(usize, usize, Duration, Vec<Duration>)> {
    let mut items = 0;
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    let start = Instant::now();
    loop {
        let mut req = input.clone();
        if let (Some(t), Some(obj)) = (&token, req.as_object_mut()) {
            obj.insert(String::from("NextToken"), Value::String(t.clone()));
        }
        let (answer, took) = api.org(creds, op, &req).await?;
        pages.push(took);
        items += answer
            .get(key)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        token = str_at(&answer, &["NextToken"]).map(str::to_owned);
        if token.is_none() {
            break;
        }
        if pages.len() >= MAX_PAGES {
            return Err(format!("{op}: more than {MAX_PAGES} pages").into());
        }
    }
    Ok((items, pages.len(), start.elapsed(), pages))
}

async fn time_listing(
    api: &mut Api,
    creds: &Creds,
    op: &str,
    input: Value,
    key: &str,
    repeats: usize,
) -> Result<Listing> {
    let (items, pages, first, _) = paginate(api, creds, op, &input, key).await?;
    let mut totals = Vec::with_capacity(repeats);
    let mut per_page = Vec::new();
    for _ in 0..repeats {
        let (n, _, total, p) = paginate(api, creds, op, &input, key).await?;
        if n != items {
            return Err(format!("{op}: {n} items in one listing, {items} in the first").into());
        }
        totals.push(total);
        per_page.extend(p);
    }
    let listing = Listing {
        operation: op.to_owned(),
        input,
        items,
        pages,
        first_ms: first.as_secs_f64() * 1e3,
        total: stats(&totals),
        page: stats(&per_page),
    };
    eprintln!(
        "orgs: {op}: {items} items in {pages} pages, median {:.2} ms",
        listing.total.as_ref().map_or(0.0, |s| s.p50_ms)
    );
    Ok(listing)
}

// ----------------------------------------------------------------------------- phase 3

/// SCP `k` of path level `level`: several statements with conditions, none of which denies
/// the measured call from 127.0.0.1, and (policy 0) the allow every level needs.
fn scp_document(level: usize, k: usize) -> Value {
    let mut quarantined = serde_json::Map::new();
    quarantined.insert(
        format!("aws:PrincipalTag/bench-quarantine-{level}-{k}"),
        json!("true"),
    );
    match k {
        0 => json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowCoreServices",
                    "Effect": "Allow",
                    "Action": ["organizations:Describe*", "organizations:List*", "sts:*", "iam:*",
                               "cloudtrail:*", "ec2:*", "s3:*", "sso:*", "identitystore:*"],
                    "Resource": "*"
                },
                {
                    "Sid": "AllowRegionalElsewhere",
                    "Effect": "Allow",
                    "NotAction": ["organizations:*", "account:*", "iam:*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}
                }
            ]
        }),
        1 => json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyOtherRegions",
                    "Effect": "Deny",
                    "NotAction": ["iam:*", "organizations:*", "sts:*", "cloudfront:*", "route53:*", "support:*"],
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2", "eu-west-1"]}}
                },
                {
                    "Sid": "DenyQuarantined",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringEquals": quarantined}
                }
            ]
        }),
        2 => json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyUnknownPrincipals",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringNotLike": {"aws:PrincipalArn": [
                        "arn:aws:iam::*:role/OrganizationAccountAccessRole",
                        format!("arn:aws:iam::*:role/level-{level}-*"),
                        "arn:aws:iam::*:user/*"
                    ]}}
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Action": "organizations:*",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}
                }
            ]
        }),
        3 => json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyOutsideNetworks",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"NotIpAddress": {"aws:SourceIp": [
                        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128"
                    ]}}
                },
                {
                    "Sid": "DenyAfterSunset",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2099-12-31T23:59:59Z"}}
                }
            ]
        }),
        _ => json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ProtectGuardrails",
                    "Effect": "Deny",
                    "Action": ["organizations:LeaveOrganization", "iam:DeleteRole", "iam:DetachRolePolicy",
                               "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "ec2:DeleteFlowLogs"],
                    "Resource": "*",
                    "Condition": {"StringNotLike": {"aws:PrincipalArn": format!("arn:aws:iam::*:role/breakglass-{level}")}}
                },
                {
                    "Sid": "DenyStaleSessions",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2001-01-01T00:00:00Z"}}
                },
                {
                    "Sid": "DenyTaggedOff",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringEqualsIgnoreCase": {"aws:PrincipalTag/access": ["off", "revoked"]}}
                }
            ]
        }),
    }
}

/// Makes `policies[i]` exactly the SCPs of `targets[i]`: attaches all but the last, detaches
/// whatever else is attached (`FullAWSAccess`, which counts toward the limit of 5 and cannot be
/// the last one removed), attaches the last, and checks the count.
async fn attach_scps(
    api: &mut Api,
    creds: &Creds,
    targets: &[String],
    policies: &[Vec<String>],
) -> Result<()> {
    for (target, ours) in targets.iter().zip(policies) {
        let Some((last, first)) = ours.split_last() else {
            continue;
        };
        for p in first {
            api.org(
                creds,
                "AttachPolicy",
                &json!({ "PolicyId": p, "TargetId": target }),
            )
            .await?;
        }
        let (listed, _) = api
            .org(
                creds,
                "ListPoliciesForTarget",
                &json!({ "TargetId": target, "Filter": SCP }),
            )
            .await?;
        let attached: Vec<String> = listed
            .get("Policies")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| str_at(p, &["Id"]).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for other in attached.iter().filter(|p| !ours.contains(*p)) {
            api.org(
                creds,
                "DetachPolicy",
                &json!({ "PolicyId": other, "TargetId": target }),
            )
            .await?;
        }
        api.org(
            creds,
            "AttachPolicy",
            &json!({ "PolicyId": last, "TargetId": target }),
        )
        .await?;
        let (listed, _) = api
            .org(
                creds,
                "ListPoliciesForTarget",
                &json!({ "TargetId": target, "Filter": SCP }),
            )
            .await?;
        let n = listed
            .get("Policies")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if n != ours.len() {
            return Err(format!("{target} has {n} SCPs attached, expected {}", ours.len()).into());
        }
    }
    Ok(())
}

async fn measure(
    addr: SocketAddr,
    pid: u32,
    creds: &Creds,
    args: &Args,
    label: &str,
) -> Result<Vec<LevelResult>> {
    let signer = Signer::for_endpoint(
        creds,
        addr.to_string(),
        Endpoint::organizations("DescribeOrganization"),
        b"{}",
        args.sign,
    );
    let mut out = Vec::new();
    for &concurrency in &args.concurrency {
        let plan = Plan {
            concurrency,
            warmup: args.warmup,
            duration: args.duration,
        };
        let level = load::run_level(addr, pid, &signer, plan).await?;
        eprintln!(
            "  {label} c={concurrency}: {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, server {:.1} µs CPU/req, {} errors",
            level.throughput_rps,
            level.latency.as_ref().map_or(0.0, |l| l.p50_ms),
            level.latency.as_ref().map_or(0.0, |l| l.p99_ms),
            level.server_cpu_us_per_request,
            level.errors
        );
        if let Some(e) = &level.first_error {
            eprintln!("    first error: {e}");
        }
        if level.other_cpu_pct > 20.0 {
            eprintln!(
                "    warning: other processes used {:.0}% of a core during this level",
                level.other_cpu_pct
            );
        }
        out.push(level);
    }
    Ok(out)
}

/// Checks that `creds` may call `DescribeOrganization` (one call, exact failure reported).
async fn check_describe(api: &mut Api, creds: &Creds, who: &str) -> Result<()> {
    api.org(creds, "DescribeOrganization", &json!({}))
        .await
        .map(|_| ())
        .map_err(|e| format!("{who} DescribeOrganization: {e}").into())
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

fn compare(phases: &[Phase], concurrency: &[usize]) -> Vec<Comparison> {
    let pick = |with: bool, member: bool, c: usize| -> Vec<(usize, f64, f64, f64)> {
        phases
            .iter()
            .filter(|p| p.scps_enabled == with)
            .filter_map(|p| {
                let levels = if member {
                    &p.member
                } else {
                    &p.management_user
                };
                let l = levels.iter().find(|l| l.concurrency == c)?;
                let lat = l.latency.as_ref()?;
                Some((p.round, lat.p50_ms, lat.p99_ms, l.server_cpu_us_per_request))
            })
            .collect()
    };
    concurrency
        .iter()
        .map(|&c| {
            let mw = pick(true, true, c);
            let mo = pick(false, true, c);
            let cw = pick(true, false, c);
            let co = pick(false, false, c);
            let m = |v: &[(usize, f64, f64, f64)], f: fn(&(usize, f64, f64, f64)) -> f64| {
                mean(v.iter().map(f))
            };
            let per_round = mw
                .iter()
                .filter_map(|w| {
                    let o = mo.iter().find(|o| o.0 == w.0)?;
                    Some((w.1 - o.1) * 1e3)
                })
                .collect();
            Comparison {
                concurrency: c,
                member_p50_with_ms: m(&mw, |x| x.1),
                member_p50_without_ms: m(&mo, |x| x.1),
                member_p50_diff_us: (m(&mw, |x| x.1) - m(&mo, |x| x.1)) * 1e3,
                member_p99_with_ms: m(&mw, |x| x.2),
                member_p99_without_ms: m(&mo, |x| x.2),
                member_p99_diff_us: (m(&mw, |x| x.2) - m(&mo, |x| x.2)) * 1e3,
                member_cpu_with_us: m(&mw, |x| x.3),
                member_cpu_without_us: m(&mo, |x| x.3),
                member_cpu_diff_us: m(&mw, |x| x.3) - m(&mo, |x| x.3),
                control_p50_diff_us: (m(&cw, |x| x.1) - m(&co, |x| x.1)) * 1e3,
                control_cpu_diff_us: m(&cw, |x| x.3) - m(&co, |x| x.3),
                per_round_p50_diff_us: per_round,
            }
        })
        .collect()
}

async fn scp_phase(
    addr: SocketAddr,
    pid: u32,
    creds: &Arc<Creds>,
    built: &Built,
    args: &Args,
    listings: &mut Vec<Listing>,
) -> Result<ScpFigures> {
    let mut api = Api::new(addr);
    let root = &built.root;
    let member = built
        .accounts
        .iter()
        .flatten()
        .next()
        .cloned()
        .ok_or("no account was created")?;
    let enable = json!({ "RootId": root, "PolicyType": SCP });
    eprintln!("orgs: EnablePolicyType {SCP}");
    api.org(creds, "EnablePolicyType", &enable).await?;

    // The path root → scp-path-1 → … → scp-path-N → member.
    let mut path = vec![root.clone()];
    for d in 1..=args.scp_depth {
        let parent = path.last().cloned().unwrap_or_default();
        let (answer, _) = api
            .org(
                creds,
                "CreateOrganizationalUnit",
                &json!({ "ParentId": parent, "Name": format!("scp-path-{d}") }),
            )
            .await?;
        path.push(
            str_at(&answer, &["OrganizationalUnit", "Id"])
                .ok_or("CreateOrganizationalUnit answered no Id")?
                .to_owned(),
        );
    }
    let (parents, _) = api
        .org(creds, "ListParents", &json!({ "ChildId": member }))
        .await?;
    let source = parents
        .get("Parents")
        .and_then(|p| p.get(0))
        .and_then(|p| str_at(p, &["Id"]))
        .ok_or("ListParents answered no parent")?
        .to_owned();
    api.org(
        creds,
        "MoveAccount",
        &json!({
            "AccountId": member,
            "SourceParentId": source,
            "DestinationParentId": path.last().cloned().unwrap_or_default(),
        }),
    )
    .await?;
    path.push(member.clone());

    eprintln!(
        "orgs: creating and attaching {SCPS_PER_LEVEL} SCPs at each of {} levels",
        path.len()
    );
    let mut policies: Vec<Vec<String>> = Vec::new();
    for level in 0..path.len() {
        let mut ids = Vec::new();
        for k in 0..SCPS_PER_LEVEL {
            let content = scp_document(level, k).to_string();
            let (answer, _) = api
                .org(
                    creds,
                    "CreatePolicy",
                    &json!({
                        "Name": format!("bench-scp-level{level}-{k}"),
                        "Description": format!("cairn-bench SCP {k} of path level {level}"),
                        "Type": SCP,
                        "Content": content,
                    }),
                )
                .await?;
            ids.push(
                str_at(&answer, &["Policy", "PolicySummary", "Id"])
                    .ok_or("CreatePolicy answered no Id")?
                    .to_owned(),
            );
        }
        policies.push(ids);
    }
    attach_scps(&mut api, creds, &path, &policies).await?;

    listings.push(
        time_listing(
            &mut api,
            creds,
            "ListPoliciesForTarget",
            json!({ "TargetId": member, "Filter": SCP, "MaxResults": args.page_size }),
            "Policies",
            args.list_repeats,
        )
        .await?,
    );

    // An IAM admin user of the management account, and a session in the member's role.
    eprintln!("orgs: IAM user, access key, AssumeRole");
    let admin = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    })
    .to_string();
    let user = "cairn-bench-admin";
    let v = ("Version", "2010-05-08");
    api.query(
        creds,
        "iam",
        &[("Action", "CreateUser"), v, ("UserName", user)],
    )
    .await?;
    api.query(
        creds,
        "iam",
        &[
            ("Action", "PutUserPolicy"),
            v,
            ("UserName", user),
            ("PolicyName", "admin"),
            ("PolicyDocument", admin.as_str()),
        ],
    )
    .await?;
    let xml = api
        .query(
            creds,
            "iam",
            &[("Action", "CreateAccessKey"), v, ("UserName", user)],
        )
        .await?;
    let user_creds = Creds {
        access_key_id: xml_text(&xml, "AccessKeyId").ok_or("CreateAccessKey: no AccessKeyId")?,
        secret_access_key: xml_text(&xml, "SecretAccessKey")
            .ok_or("CreateAccessKey: no SecretAccessKey")?,
        session_token: None,
    };
    let role_arn = format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole");
    let xml = api
        .query(
            &user_creds,
            "sts",
            &[
                ("Action", "AssumeRole"),
                ("Version", "2011-06-15"),
                ("RoleArn", role_arn.as_str()),
                ("RoleSessionName", "cairn-bench"),
                ("DurationSeconds", "3600"),
            ],
        )
        .await?;
    let session = Creds {
        access_key_id: xml_text(&xml, "AccessKeyId").ok_or("AssumeRole: no AccessKeyId")?,
        secret_access_key: xml_text(&xml, "SecretAccessKey")
            .ok_or("AssumeRole: no SecretAccessKey")?,
        session_token: Some(xml_text(&xml, "SessionToken").ok_or("AssumeRole: no SessionToken")?),
    };

    // Rounds alternate the order (on, off, off, on, on, off, …) so that a steady drift of the
    // machine or of the store (every call adds a CloudTrail record) cancels out.
    let mut phases = Vec::new();
    let mut enabled = true;
    for round in 0..args.rounds {
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for want in order {
            if want && !enabled {
                eprintln!("orgs: round {}: EnablePolicyType and re-attach", round + 1);
                api.org(creds, "EnablePolicyType", &enable).await?;
                attach_scps(&mut api, creds, &path, &policies).await?;
            } else if !want && enabled {
                api.org(creds, "DisablePolicyType", &enable).await?;
            }
            enabled = want;
            let label = if want { "SCPs on" } else { "SCPs off" };
            check_describe(
                &mut api,
                &session,
                &format!("member role session ({label})"),
            )
            .await?;
            check_describe(&mut api, &user_creds, "management IAM user").await?;
            eprintln!(
                "orgs: round {}: {}",
                round + 1,
                if want {
                    format!("{} SCPs on the member's path", path.len() * SCPS_PER_LEVEL)
                } else {
                    String::from("SCPs disabled")
                }
            );
            let member = measure(addr, pid, &session, args, &format!("member, {label}")).await?;
            let management_user = measure(addr, pid, &user_creds, args, "management user").await?;
            phases.push(Phase {
                round: round + 1,
                scps_enabled: want,
                member,
                management_user,
            });
        }
    }
    let comparison = compare(&phases, &args.concurrency);
    Ok(ScpFigures {
        member_account: member,
        role_arn,
        path,
        policies_per_level: SCPS_PER_LEVEL,
        policies_created: policies.iter().map(Vec::len).sum(),
        request: "POST / X-Amz-Target: AWSOrganizationsV20161128.DescribeOrganization, body {}, SigV4 organizations/us-east-1 (with X-Amz-Security-Token for the role session)",
        phases,
        comparison,
    })
}

// ----------------------------------------------------------------------------- report

fn goals(r: &Results) -> Vec<Goal> {
    let mut out = Vec::new();
    let create = r
        .setup
        .as_ref()
        .and_then(|s| s.accounts.create_to_succeeded.as_ref())
        .map(|s| s.p50_ms);
    out.push(Goal {
        what: String::from("CreateAccount → SUCCEEDED, median"),
        target: String::from("<= 50 ms"),
        measured: create.map_or(String::from("n/a"), |m| format!("{m:.2} ms")),
        met: create.map(|m| m <= 50.0),
    });
    let list = r
        .listings
        .iter()
        .find(|l| l.operation == "ListAccounts")
        .and_then(|l| l.total.as_ref())
        .map(|s| s.p50_ms);
    out.push(Goal {
        what: String::from("ListAccounts full pagination, median"),
        target: String::from("<= 100 ms"),
        measured: list.map_or(String::from("n/a"), |m| format!("{m:.2} ms")),
        met: list.map(|m| m <= 100.0),
    });
    for c in r.scp.iter().flat_map(|s| &s.comparison) {
        out.push(Goal {
            what: format!(
                "SCP evaluation overhead per call (p50 difference, concurrency {})",
                c.concurrency
            ),
            target: String::from("<= 20 µs"),
            measured: format!(
                "{:.1} µs (server CPU {:+.1} µs/req; control drift {:+.1} µs)",
                c.member_p50_diff_us, c.member_cpu_diff_us, c.control_p50_diff_us
            ),
            met: Some(c.member_p50_diff_us <= 20.0),
        });
    }
    out
}

fn stat_cells(s: Option<&Stats>) -> String {
    s.map_or(String::from("- | - | - | -"), |s| {
        format!(
            "{:.2} | {:.2} | {:.2} | {:.2}",
            s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms
        )
    })
}

fn markdown(r: &Results) -> String {
    let mut s = String::new();
    let c = &r.config;
    s.push_str(&format!(
        "## cairn-bench orgs\n\n{} CPUs (load average at start {}); {} accounts, {} OUs, creation concurrency {}; server env {}\n\n",
        c.cpus,
        c.load_average_at_start,
        c.accounts,
        c.ous,
        c.create_concurrency,
        c.server_env.join(" ")
    ));
    if let Some(setup) = &r.setup {
        let a = &setup.accounts;
        s.push_str("| step | count | p50 ms | p90 ms | p99 ms | max ms | notes |\n|---|---|---|---|---|---|---|\n");
        s.push_str(&format!(
            "| CreateOrganization | 1 | {:.2} | | | | |\n",
            setup.create_organization_ms
        ));
        s.push_str(&format!(
            "| CreateOrganizationalUnit | {} | {} | depth up to {} |\n",
            setup.ous.created,
            stat_cells(setup.ous.latency.as_ref()),
            setup.ous.max_depth
        ));
        s.push_str(&format!(
            "| CreateAccount → SUCCEEDED (client) | {} | {} | {} failed, {} errors, {:.1} s wall, {:.1} polls/account |\n",
            a.succeeded,
            stat_cells(a.create_to_succeeded.as_ref()),
            a.failed,
            a.errors,
            a.wall_s,
            a.polls_mean
        ));
        s.push_str(&format!(
            "| CreateAccount → SUCCEEDED (server timestamps) | {} | {} | CompletedTimestamp − RequestedTimestamp |\n",
            a.server_recorded.as_ref().map_or(0, |x| x.n),
            stat_cells(a.server_recorded.as_ref())
        ));
        s.push_str(&format!(
            "| CreateAccount call (IN_PROGRESS answer) | {} | {} | |\n",
            a.create_call.as_ref().map_or(0, |x| x.n),
            stat_cells(a.create_call.as_ref())
        ));
        s.push_str(&format!(
            "| MoveAccount | {} | {} | |\n\n",
            setup.moves.moved,
            stat_cells(setup.moves.latency.as_ref())
        ));
    }
    if !r.listings.is_empty() {
        s.push_str("| listing | items | pages | repeats | first ms | p50 ms | p90 ms | max ms | page p50 ms |\n|---|---|---|---|---|---|---|---|---|\n");
        for l in &r.listings {
            let (p50, p90, max, n) = l
                .total
                .as_ref()
                .map_or((0.0, 0.0, 0.0, 0), |t| (t.p50_ms, t.p90_ms, t.max_ms, t.n));
            s.push_str(&format!(
                "| {} {} | {} | {} | {n} | {:.2} | {p50:.2} | {p90:.2} | {max:.2} | {:.3} |\n",
                l.operation,
                l.input,
                l.items,
                l.pages,
                l.first_ms,
                l.page.as_ref().map_or(0.0, |p| p.p50_ms)
            ));
        }
        s.push('\n');
    }
    if let Some(scp) = &r.scp {
        s.push_str(&format!(
            "SCP path: {} ({} SCPs, {} per level); member {}\n\n",
            scp.path.join(" → "),
            scp.policies_created,
            scp.policies_per_level,
            scp.member_account
        ));
        s.push_str("| round | SCPs | caller | concurrency | req/s | p50 ms | p90 ms | p99 ms | server CPU µs/req | errors | other CPU |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
        for p in &scp.phases {
            for (who, levels) in [
                ("member role session", &p.member),
                ("management IAM user", &p.management_user),
            ] {
                for l in levels {
                    let (p50, p90, p99) = l
                        .latency
                        .as_ref()
                        .map_or((0.0, 0.0, 0.0), |x| (x.p50_ms, x.p90_ms, x.p99_ms));
                    s.push_str(&format!(
                        "| {} | {} | {who} | {} | {:.0} | {p50:.3} | {p90:.3} | {p99:.3} | {:.1} | {} | {:.0}% |\n",
                        p.round,
                        if p.scps_enabled { "on" } else { "off" },
                        l.concurrency,
                        l.throughput_rps,
                        l.server_cpu_us_per_request,
                        l.errors,
                        l.other_cpu_pct
                    ));
                }
            }
        }
        s.push_str("\n| concurrency | member p50 on / off ms | Δ p50 µs | member p99 on / off ms | Δ p99 µs | server CPU on / off µs/req | Δ CPU µs | control Δ p50 µs | control Δ CPU µs | Δ p50 per round µs |\n|---|---|---|---|---|---|---|---|---|---|\n");
        for c in &scp.comparison {
            s.push_str(&format!(
                "| {} | {:.3} / {:.3} | {:+.1} | {:.3} / {:.3} | {:+.1} | {:.1} / {:.1} | {:+.1} | {:+.1} | {:+.1} | {} |\n",
                c.concurrency,
                c.member_p50_with_ms,
                c.member_p50_without_ms,
                c.member_p50_diff_us,
                c.member_p99_with_ms,
                c.member_p99_without_ms,
                c.member_p99_diff_us,
                c.member_cpu_with_us,
                c.member_cpu_without_us,
                c.member_cpu_diff_us,
                c.control_p50_diff_us,
                c.control_cpu_diff_us,
                c.per_round_p50_diff_us
                    .iter()
                    .map(|d| format!("{d:+.1}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        s.push('\n');
    }
    s.push_str("| goal | target | measured | met |\n|---|---|---|---|\n");
    for g in &r.goals {
        let met = match g.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "n/a",
        };
        s.push_str(&format!(
            "| {} | {} | {} | {met} |\n",
            g.what, g.target, g.measured
        ));
    }
    if !r.problems.is_empty() {
        s.push_str("\nProblems:\n");
        for p in &r.problems {
            s.push_str(&format!("- {p}\n"));
        }
    }
    s
}

// ----------------------------------------------------------------------------- run

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
        .worker_threads(args.client_threads)
        .enable_all()
        .build()?;
    proc::install_signal_handler(&rt)?;

    let max_accounts = (args.accounts + 10).max(2000).to_string();
    let server_env = [("CAIRN_ORG_MAX_ACCOUNTS", max_accounts.as_str())];
    let data = proc::TempDir::new("orgs")?;
    let data_dir = data.path.join("data");
    let log = out_dir.join("cairn-orgs.log");
    std::fs::write(&log, b"")?;
    let server = server::start_cairn_with_env(&args.cairn, &data_dir, &log, &server_env)?;
    eprintln!(
        "orgs: cairn ready on {} in {:.1} ms (log: {})",
        server.addr,
        server.start_to_ready.as_secs_f64() * 1e3,
        log.display()
    );
    let root_creds = server::read_root_credentials(&data_dir)?;
    let creds = Arc::new(Creds::long_term(
        &root_creds.access_key_id,
        &root_creds.secret_access_key,
    ));
    let addr = server.addr;
    let pid = server.child.pid;

    let mut results = Results {
        generated_unix_s: SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
        config: Config {
            binary: args.cairn.display().to_string(),
            accounts: args.accounts,
            ous: args.ous,
            create_concurrency: args.create_concurrency,
            page_size: args.page_size,
            list_repeats: args.list_repeats,
            scp_depth: args.scp_depth,
            rounds: args.rounds,
            duration_s: args.duration.as_secs_f64(),
            warmup_s: args.warmup.as_secs_f64(),
            concurrency: args.concurrency.clone(),
            sign_mode: args.sign,
            client_threads: args.client_threads,
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            server_env: server_env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            load_average_at_start,
        },
        setup: None,
        listings: Vec::new(),
        scp: None,
        goals: Vec::new(),
        problems: Vec::new(),
    };

    rt.block_on(async {
        let mut problems = Vec::new();
        let built = match build(addr, &creds, args, &mut problems).await {
            Ok((setup, built)) => {
                results.setup = Some(setup);
                Some(built)
            }
            Err(e) => {
                problems.push(format!("building the organization: {e}"));
                None
            }
        };
        if let Some(built) = &built {
            let mut api = Api::new(addr);
            let listed = async {
                let n = args.page_size;
                results.listings.push(
                    time_listing(
                        &mut api,
                        &creds,
                        "ListAccounts",
                        json!({ "MaxResults": n }),
                        "Accounts",
                        args.list_repeats,
                    )
                    .await?,
                );
                results.listings.push(
                    time_listing(
                        &mut api,
                        &creds,
                        "ListChildren",
                        json!({ "ParentId": built.root, "ChildType": "ACCOUNT", "MaxResults": n }),
                        "Children",
                        args.list_repeats,
                    )
                    .await?,
                );
                if let Some(ou) = built.ous.first() {
                    results.listings.push(
                        time_listing(
                            &mut api,
                            &creds,
                            "ListChildren",
                            json!({ "ParentId": ou, "ChildType": "ACCOUNT", "MaxResults": n }),
                            "Children",
                            args.list_repeats,
                        )
                        .await?,
                    );
                }
                Ok::<_, crate::Error>(())
            };
            if let Err(e) = listed.await {
                problems.push(format!("listings: {e}"));
            }
            eprintln!("orgs: {} accounts under the root", built.under_root);
            match scp_phase(addr, pid, &creds, built, args, &mut results.listings).await {
                Ok(scp) => results.scp = Some(scp),
                Err(e) => problems.push(format!("SCP evaluation: {e}")),
            }
        }
        results.problems.extend(problems);
    });

    server.child.stop();
    drop(data);
    results.goals = goals(&results);
    println!("{}", markdown(&results));
    let json = serde_json::to_string_pretty(&results)?;
    std::fs::write(&args.out, json)?;
    eprintln!("results written to {}", args.out.display());
    rt.shutdown_timeout(Duration::from_secs(1));
    if results.problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} problem(s); see above and {}",
            results.problems.len(),
            args.out.display()
        )
        .into())
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn forms_and_xml() {
        assert_eq!(
            form(&[
                ("Action", "PutUserPolicy"),
                ("PolicyDocument", "{\"a\": 1}/+")
            ]),
            "Action=PutUserPolicy&PolicyDocument=%7B%22a%22%3A%201%7D%2F%2B"
        );
        let xml = "<R><Credentials><AccessKeyId>ASIA1</AccessKeyId><SessionToken>a&amp;b</SessionToken></Credentials></R>";
        assert_eq!(xml_text(xml, "AccessKeyId").unwrap(), "ASIA1");
        assert_eq!(xml_text(xml, "SessionToken").unwrap(), "a&b");
        assert!(xml_text(xml, "Missing").is_none());
    }

    #[test]
    fn scp_documents_are_json_objects_under_the_size_limit() {
        for level in 0..7 {
            for k in 0..SCPS_PER_LEVEL {
                let doc = scp_document(level, k).to_string();
                assert!(doc.len() < 5120, "{doc}");
                assert!(doc.contains("\"Statement\""));
            }
        }
    }

    #[test]
    fn args() {
        let a = parse_args(&[
            String::from("--accounts=50"),
            String::from("--ous"),
            String::from("7"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!((a.accounts, a.ous, a.scp_depth), (50, 7, 5));
        assert!(parse_args(&[String::from("--scp-depth"), String::from("6")]).is_err());
        assert!(parse_args(&[String::from("--help")]).unwrap().is_none());
    }
}
