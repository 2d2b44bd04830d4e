//! `cairn-bench`: Cairn's start to ready, idle RSS, and closed-loop throughput/latency of signed
//! Organizations `DescribeOrganization` calls, with the same load against moto_server for
//! comparison. All traffic goes to 127.0.0.1; every loop is bounded; child processes are
//! stopped on every exit path. See README.md beside Cargo.toml.

#![allow(
    clippy::disallowed_methods,
    reason = "the benchmark is a tool: it reads the clock and its environment directly"
)]

mod http;
mod identity;
mod load;
mod orgs;
mod proc;
mod server;
mod sign;
mod sink;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::load::{LevelResult, Plan};
use crate::server::{Running, StartupFigures};
use crate::sign::{CREATE_ORGANIZATION, DESCRIBE_ORGANIZATION, SignMode, Signer};

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

const USAGE: &str = "usage: cairn-bench [options]
       cairn-bench orgs [options]   (Organizations benchmark; `cairn-bench orgs --help`)
       cairn-bench sso [options]    (IAM Identity Center benchmark; `cairn-bench sso --help`)
       cairn-bench sink             (an HTTP endpoint taking every POST; prints its port)

  --cairn PATH         cairn binary (default target/release/cairn); `none` skips Cairn
  --moto PATH|auto     moto_server to compare with; `auto` creates target/moto-venv and
                       installs moto[server] into it if missing (default: no comparison)
  --duration SECS      measured time per concurrency level (default 10)
  --warmup SECS        unmeasured warm-up before each level (default 1)
  --concurrency LIST   comma-separated worker counts (default 1,8,64)
  --starts N           fresh-data-dir starts to time (default 5; one more on an existing dir)
  --sign MODE          per-second (default: sign once per second per worker, byte-identical to
                       signing each request) or per-request
  --client-threads N   load generator threads (default: number of CPUs)
  --out PATH           JSON results (default target/bench/results.json)
  --trail on|off       load with an organization trail logging (default off); an event
                       stream too when the environment sets CAIRN_EVENT_STREAM_URL";

struct Args {
    cairn: Option<PathBuf>,
    moto: Option<String>,
    duration: Duration,
    warmup: Duration,
    concurrency: Vec<usize>,
    starts: usize,
    sign: SignMode,
    client_threads: usize,
    out: PathBuf,
    /// Load with an organization trail logging (and whatever event stream the environment
    /// configures, e.g. `CAIRN_EVENT_STREAM_URL`): the cost of delivery on the call path.
    trail: bool,
}

fn seconds(flag: &str, v: &str) -> Result<Duration> {
    let s: f64 = v
        .parse()
        .map_err(|_| format!("{flag} wants seconds, got {v:?}"))?;
    if !(0.0..=600.0).contains(&s) {
        return Err(format!("{flag} must be between 0 and 600 seconds").into());
    }
    Ok(Duration::from_secs_f64(s))
}

fn parse_args(raw: Vec<String>) -> Result<Option<Args>> {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut args = Args {
        cairn: Some(PathBuf::from("target/release/cairn")),
        moto: None,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(1),
        concurrency: vec![1, 8, 64],
        starts: 5,
        sign: SignMode::PerSecond,
        client_threads: cpus,
        out: PathBuf::from("target/bench/results.json"),
        trail: false,
    };
    let mut it = raw.into_iter();
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Ok(None);
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (flag.clone(), None),
        };
        let value = match inline {
            Some(v) => v,
            None => it.next().ok_or_else(|| format!("{name} needs a value"))?,
        };
        match name.as_str() {
            "--cairn" => args.cairn = (value != "none").then(|| PathBuf::from(value)),
            "--moto" => args.moto = (value != "none").then_some(value),
            "--duration" => args.duration = seconds(&name, &value)?,
            "--warmup" => args.warmup = seconds(&name, &value)?,
            "--concurrency" => {
                args.concurrency = value
                    .split(',')
                    .map(|c| match c.trim().parse::<usize>() {
                        Ok(n) if (1..=1024).contains(&n) => Ok(n),
                        _ => Err(format!("--concurrency wants numbers 1..=1024, got {c:?}")),
                    })
                    .collect::<std::result::Result<_, _>>()?;
            }
            "--starts" => {
                args.starts = match value.parse() {
                    Ok(n) if (1..=100).contains(&n) => n,
                    _ => return Err(format!("--starts wants 1..=100, got {value:?}").into()),
                }
            }
            "--sign" => {
                args.sign = match value.as_str() {
                    "per-second" => SignMode::PerSecond,
                    "per-request" => SignMode::PerRequest,
                    other => return Err(format!("--sign: unknown mode {other:?}").into()),
                }
            }
            "--client-threads" => {
                args.client_threads = match value.parse() {
                    Ok(n) if (1..=256).contains(&n) => n,
                    _ => {
                        return Err(format!("--client-threads wants 1..=256, got {value:?}").into());
                    }
                }
            }
            "--out" => args.out = PathBuf::from(value),
            "--trail" => args.trail = value == "on",
            other => return Err(format!("unknown option {other:?}\n\n{USAGE}").into()),
        }
    }
    Ok(Some(args))
}

#[derive(Debug, Serialize)]
struct Rss {
    /// VmRSS 1 s after the server became ready, KiB.
    idle_after_start_kib: u64,
    /// VmRSS 1 s after the last load level, KiB.
    idle_after_load_kib: u64,
    /// VmHWM (peak RSS) at the end, KiB.
    peak_kib: u64,
}

#[derive(Debug, Serialize)]
struct TargetResults {
    binary: String,
    version: Option<String>,
    /// Cairn: the startup series; moto: one start.
    startup: Option<StartupFigures>,
    start_to_ready_ms: f64,
    rss: Rss,
    load: Vec<LevelResult>,
}

#[derive(Debug, Serialize)]
struct Ratio {
    concurrency: usize,
    cairn_rps: f64,
    moto_rps: f64,
    cairn_over_moto: f64,
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
    duration_s: f64,
    warmup_s: f64,
    concurrency: Vec<usize>,
    sign_mode: SignMode,
    client_threads: usize,
    cpus: usize,
    /// /proc/loadavg when the run began: other work on the machine disturbs the figures.
    load_average_at_start: String,
    request: &'static str,
}

#[derive(Debug, Serialize)]
struct Results {
    generated_unix_s: u64,
    config: Config,
    /// Mean cost of one `aws-sigv4` signature on this machine, µs.
    client_sign_cost_us: f64,
    cairn: Option<TargetResults>,
    moto: Option<TargetResults>,
    ratios: Vec<Ratio>,
    goals: Vec<Goal>,
}

fn settle() {
    std::thread::sleep(Duration::from_secs(1));
}

/// Sends one signed CloudTrail (awsJson 1.1) request and returns (status, body).
fn call_cloudtrail(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    creds: (&str, &str),
    operation: &str,
    body: &[u8],
) -> Result<(u16, String)> {
    let endpoint = sign::Endpoint {
        service: "cloudtrail",
        content_type: sign::JSON_CONTENT_TYPE,
        target: Some(format!(
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.{operation}"
        )),
    };
    let signer = Signer::for_endpoint(
        &sign::Creds::long_term(creds.0, creds.1),
        addr.to_string(),
        endpoint,
        body,
        SignMode::PerRequest,
    );
    send_once(rt, addr, signer, operation)
}

/// Sends `signer`'s request once and returns (status, body).
fn send_once(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    mut signer: Signer,
    what: &str,
) -> Result<(u16, String)> {
    rt.block_on(async {
        let mut conn = http::Conn::connect(addr).await?;
        let request = signer.request(SystemTime::now())?;
        let resp = tokio::time::timeout(Duration::from_secs(30), conn.send(request))
            .await
            .map_err(|_| format!("{what}: no answer within 30 s"))??;
        Ok((
            resp.status,
            String::from_utf8_lossy(&resp.body).into_owned(),
        ))
    })
}

/// Sends one signed request and returns (status, body).
fn call_once(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    creds: (&str, &str),
    target: &str,
    body: &[u8],
) -> Result<(u16, String)> {
    let signer = Signer::new(
        creds.0,
        creds.1,
        addr.to_string(),
        target,
        body,
        SignMode::PerRequest,
    );
    send_once(rt, addr, signer, target)
}

/// Creates the organization (an existing one is fine), checks that `DescribeOrganization`
/// answers 200, then runs every concurrency level.
fn load_target(
    rt: &tokio::runtime::Runtime,
    name: &str,
    server: &Running,
    creds: (&str, &str),
    args: &Args,
) -> Result<Vec<LevelResult>> {
    let (status, body) = call_once(
        rt,
        server.addr,
        creds,
        CREATE_ORGANIZATION,
        br#"{"FeatureSet":"ALL"}"#,
    )?;
    if status != 200 && !body.contains("AlreadyInOrganization") {
        return Err(format!("{name}: CreateOrganization answered {status}: {body}").into());
    }
    let (status, body) = call_once(rt, server.addr, creds, DESCRIBE_ORGANIZATION, b"{}")?;
    if status != 200 {
        return Err(format!("{name}: DescribeOrganization answered {status}: {body}").into());
    }
    if args.trail {
        for (op, body) in [
            (
                "CreateTrail",
                r#"{"Name":"bench","S3BucketName":"bench-logs","IsOrganizationTrail":true,"IsMultiRegionTrail":true}"#,
            ),
            ("StartLogging", r#"{"Name":"bench"}"#),
        ] {
            let (status, text) = call_cloudtrail(rt, server.addr, creds, op, body.as_bytes())?;
            if status != 200 {
                return Err(format!("{name}: {op} answered {status}: {text}").into());
            }
        }
        eprintln!("  {name}: an organization trail is logging");
    }
    let signer = Signer::new(
        creds.0,
        creds.1,
        server.addr.to_string(),
        DESCRIBE_ORGANIZATION,
        b"{}",
        args.sign,
    );
    let mut levels = Vec::new();
    for &concurrency in &args.concurrency {
        let plan = Plan {
            concurrency,
            warmup: args.warmup,
            duration: args.duration,
        };
        let level = rt.block_on(load::run_level(
            server.addr,
            server.child.pid,
            &signer,
            plan,
        ))?;
        eprintln!(
            "  {name} c={concurrency}: {:.0} req/s, p99 {:.3} ms, {} errors",
            level.throughput_rps,
            level.latency.as_ref().map_or(0.0, |l| l.p99_ms),
            level.errors
        );
        if level.other_cpu_pct > 20.0 {
            eprintln!(
                "    warning: other processes used {:.0}% of a core during this level; figures are disturbed",
                level.other_cpu_pct
            );
        }
        if let Some(e) = &level.first_error {
            eprintln!("    first error: {e}");
        }
        levels.push(level);
    }
    Ok(levels)
}

fn bench_cairn(
    rt: &tokio::runtime::Runtime,
    binary: &Path,
    args: &Args,
    out_dir: &Path,
) -> Result<TargetResults> {
    if !binary.is_file() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p cairn`, or pass --cairn none",
            binary.display()
        )
        .into());
    }
    eprintln!(
        "cairn: timing start to ready ({} fresh starts + 1 existing)",
        args.starts
    );
    let (server, data, startup) = server::cairn_startups(binary, args.starts, out_dir)?;
    settle();
    let (idle_after_start, _) = proc::rss_kib(server.child.pid)?;
    let creds = server::read_root_credentials(&data.path.join("data"))?;
    eprintln!(
        "cairn: load as account {} (log: {})",
        creds.account_id,
        server.log.display()
    );
    let load = load_target(
        rt,
        "cairn",
        &server,
        (&creds.access_key_id, &creds.secret_access_key),
        args,
    )?;
    settle();
    let (idle_after_load, peak) = proc::rss_kib(server.child.pid)?;
    let start_to_ready_ms = startup.fresh_median_ms;
    server.child.stop();
    drop(data);
    Ok(TargetResults {
        binary: binary.display().to_string(),
        version: None,
        startup: Some(startup),
        start_to_ready_ms,
        rss: Rss {
            idle_after_start_kib: idle_after_start,
            idle_after_load_kib: idle_after_load,
            peak_kib: peak,
        },
        load,
    })
}

fn bench_moto(
    rt: &tokio::runtime::Runtime,
    spec: &str,
    args: &Args,
    out_dir: &Path,
) -> Result<TargetResults> {
    let binary = if spec == "auto" {
        server::ensure_moto(out_dir)?
    } else {
        PathBuf::from(spec)
    };
    let version = server::moto_version(&binary);
    eprintln!(
        "moto: starting {} (version {})",
        binary.display(),
        version.as_deref().unwrap_or("unknown")
    );
    let server = server::start_moto(&binary, out_dir)?;
    eprintln!(
        "moto: ready in {:.1} ms (log: {})",
        server.start_to_ready.as_secs_f64() * 1e3,
        server.log.display()
    );
    settle();
    let (idle_after_start, _) = proc::rss_kib(server.child.pid)?;
    // moto accepts any well-formed credentials.
    let load = load_target(
        rt,
        "moto",
        &server,
        (
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        args,
    )?;
    settle();
    let (idle_after_load, peak) = proc::rss_kib(server.child.pid)?;
    let start_to_ready_ms = server.start_to_ready.as_secs_f64() * 1e3;
    server.child.stop();
    Ok(TargetResults {
        binary: binary.display().to_string(),
        version,
        startup: None,
        start_to_ready_ms,
        rss: Rss {
            idle_after_start_kib: idle_after_start,
            idle_after_load_kib: idle_after_load,
            peak_kib: peak,
        },
        load,
    })
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn goals(cairn: Option<&TargetResults>, ratios: &[Ratio]) -> Vec<Goal> {
    let mut out = Vec::new();
    let at8 = cairn.and_then(|c| c.load.iter().find(|l| l.concurrency == 8));
    let ratio8 = ratios.iter().find(|r| r.concurrency == 8);
    out.push(Goal {
        what: String::from("throughput vs moto at concurrency 8"),
        target: String::from(">= 80x"),
        measured: ratio8.map_or(String::from("n/a"), |r| {
            format!("{:.1}x", r.cairn_over_moto)
        }),
        met: ratio8.map(|r| r.cairn_over_moto >= 80.0),
    });
    let p99 = at8.and_then(|l| l.latency.as_ref().map(|x| x.p99_ms));
    out.push(Goal {
        what: String::from("p99 latency at concurrency 8"),
        target: String::from("<= 2.5 ms"),
        measured: p99.map_or(String::from("n/a"), |p| format!("{p:.3} ms")),
        met: p99.map(|p| p <= 2.5 && at8.is_some_and(|l| l.errors == 0)),
    });
    let rss = cairn.map(|c| c.rss.idle_after_start_kib.max(c.rss.idle_after_load_kib));
    out.push(Goal {
        what: String::from("idle RSS (worse of after start / after load)"),
        target: String::from("<= 30 MB"),
        measured: rss.map_or(String::from("n/a"), mib),
        met: rss.map(|k| k * 1024 <= 30_000_000),
    });
    let ready = cairn.map(|c| c.start_to_ready_ms);
    out.push(Goal {
        what: String::from("start to ready (median, fresh data dir)"),
        target: String::from("<= 50 ms"),
        measured: ready.map_or(String::from("n/a"), |m| format!("{m:.1} ms")),
        met: ready.map(|m| m <= 50.0),
    });
    out
}

fn markdown(r: &Results) -> String {
    let mut s = String::new();
    let c = &r.config;
    s.push_str(&format!(
        "## cairn-bench\n\n{} CPUs (load average at start {}); {} s measured + {} s warm-up per level; signing {} ({:.1} µs per signature); {} client threads\n\n",
        c.cpus, c.load_average_at_start, c.duration_s, c.warmup_s, c.sign_mode.label(), r.client_sign_cost_us, c.client_threads
    ));
    s.push_str("| server | start to ready | idle RSS after start | idle RSS after load | peak RSS |\n|---|---|---|---|---|\n");
    for (name, t) in [("cairn", &r.cairn), ("moto", &r.moto)] {
        if let Some(t) = t {
            let ready = match &t.startup {
                Some(st) => format!(
                    "{:.1} ms median of {} fresh ({}); existing dir {:.1} ms",
                    st.fresh_median_ms,
                    st.fresh_ms.len(),
                    st.fresh_ms
                        .iter()
                        .map(|m| format!("{m:.1}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    st.existing_data_dir_ms
                ),
                None => format!("{:.1} ms", t.start_to_ready_ms),
            };
            s.push_str(&format!(
                "| {name} | {ready} | {} | {} | {} |\n",
                mib(t.rss.idle_after_start_kib),
                mib(t.rss.idle_after_load_kib),
                mib(t.rss.peak_kib)
            ));
        }
    }
    s.push_str("\n| server | concurrency | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU | client CPU | other CPU | server writes/req |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (name, t) in [("cairn", &r.cairn), ("moto", &r.moto)] {
        for l in t.iter().flat_map(|t| &t.load) {
            let (p50, p90, p99, max) = l.latency.as_ref().map_or(
                (
                    String::from("-"),
                    String::from("-"),
                    String::from("-"),
                    String::from("-"),
                ),
                |x| {
                    (
                        format!("{:.3}", x.p50_ms),
                        format!("{:.3}", x.p90_ms),
                        format!("{:.3}", x.p99_ms),
                        format!("{:.3}", x.max_ms),
                    )
                },
            );
            let writes = l
                .server_write_bytes_per_ok
                .map_or(String::from("-"), |b| format!("{:.1} KiB", b / 1024.0));
            s.push_str(&format!(
                "| {name} | {} | {:.0} | {p50} | {p90} | {p99} | {max} | {} | {:.0}% | {:.0}% | {:.0}% | {writes} |\n",
                l.concurrency,
                l.throughput_rps,
                l.errors,
                l.server_cpu_pct,
                l.client_cpu_pct,
                l.other_cpu_pct
            ));
        }
    }
    if !r.ratios.is_empty() {
        s.push_str(
            "\n| concurrency | cairn req/s | moto req/s | cairn / moto |\n|---|---|---|---|\n",
        );
        for x in &r.ratios {
            s.push_str(&format!(
                "| {} | {:.0} | {:.0} | {:.1}x |\n",
                x.concurrency, x.cairn_rps, x.moto_rps, x.cairn_over_moto
            ));
        }
    }
    s.push_str("\n| goal | target | measured | met |\n|---|---|---|---|\n");
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
    s
}

fn run(args: &Args) -> Result<()> {
    let load_average_at_start = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned();
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

    let sign_cost = sign::signing_cost_us(20_000)?;
    eprintln!("client: one aws-sigv4 signature costs {sign_cost:.1} µs");

    let cairn = match &args.cairn {
        Some(binary) => Some(bench_cairn(&rt, binary, args, &out_dir)?),
        None => None,
    };
    let moto = match &args.moto {
        Some(spec) => Some(bench_moto(&rt, spec, args, &out_dir)?),
        None => None,
    };
    let ratios: Vec<Ratio> = match (&cairn, &moto) {
        (Some(c), Some(m)) => c
            .load
            .iter()
            .filter_map(|cl| {
                let ml = m.load.iter().find(|ml| ml.concurrency == cl.concurrency)?;
                Some(Ratio {
                    concurrency: cl.concurrency,
                    cairn_rps: cl.throughput_rps,
                    moto_rps: ml.throughput_rps,
                    cairn_over_moto: if ml.throughput_rps > 0.0 {
                        cl.throughput_rps / ml.throughput_rps
                    } else {
                        f64::INFINITY
                    },
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    let results = Results {
        generated_unix_s: SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
        config: Config {
            duration_s: args.duration.as_secs_f64(),
            warmup_s: args.warmup.as_secs_f64(),
            concurrency: args.concurrency.clone(),
            sign_mode: args.sign,
            client_threads: args.client_threads,
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            load_average_at_start,
            request: "POST / X-Amz-Target: AWSOrganizationsV20161128.DescribeOrganization, body {}, SigV4 organizations/us-east-1",
        },
        client_sign_cost_us: sign_cost,
        goals: goals(cairn.as_ref(), &ratios),
        cairn,
        moto,
        ratios,
    };
    println!("{}", markdown(&results));
    let json = serde_json::to_string_pretty(&results)?;
    std::fs::write(&args.out, json)?;
    eprintln!("results written to {}", args.out.display());
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

fn orgs_main(raw: &[String]) -> std::process::ExitCode {
    let args = match orgs::parse_args(raw) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{}", orgs::USAGE);
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("cairn-bench orgs: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match orgs::run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cairn-bench orgs: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn sso_main(raw: &[String]) -> std::process::ExitCode {
    let args = match identity::parse_args(raw) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{}", identity::USAGE);
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("cairn-bench sso: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match identity::run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cairn-bench sso: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn main() -> std::process::ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if let Some(("orgs", rest)) = raw.split_first().map(|(a, r)| (a.as_str(), r)) {
        return orgs_main(rest);
    }
    if let Some(("sso", rest)) = raw.split_first().map(|(a, r)| (a.as_str(), r)) {
        return sso_main(rest);
    }
    if raw.first().map(String::as_str) == Some("sink") {
        return sink::main();
    }
    let args = match parse_args(raw) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("cairn-bench: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cairn-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
