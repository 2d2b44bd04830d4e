//! Starting the servers under test: Cairn (and timing its start to ready) and moto_server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::http::probe;
use crate::proc::{ChildGuard, TempDir, free_addr, log_tail};

/// Readiness is polled this often.
const POLL_EVERY: Duration = Duration::from_millis(1);
/// A server that is not ready after this long has failed to start.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a `pip install` may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// A started server.
pub struct Running {
    pub child: ChildGuard,
    pub addr: SocketAddr,
    pub log: PathBuf,
    /// From spawn until the readiness probe first succeeded.
    pub start_to_ready: Duration,
}

/// Polls `path` on `addr` every millisecond until `ready(status)` holds; returns the time from
/// `spawned`. Fails if the child exits or the deadline passes.
fn wait_ready(
    child: &ChildGuard,
    addr: SocketAddr,
    path: &str,
    spawned: Instant,
    log: &Path,
    ready: impl Fn(u16) -> bool,
) -> Result<Duration> {
    loop {
        if let Ok(status) = probe(addr, path, Duration::from_secs(2))
            && ready(status)
        {
            return Ok(spawned.elapsed());
        }
        if let Some(status) = child.exited() {
            return Err(format!(
                "{} exited ({status}) before it was ready; last log lines:\n{}",
                child.name,
                log_tail(log, 20)
            )
            .into());
        }
        if spawned.elapsed() > READY_TIMEOUT {
            return Err(format!(
                "{} not ready on http://{addr}{path} after {}s; last log lines:\n{}",
                child.name,
                READY_TIMEOUT.as_secs(),
                log_tail(log, 20)
            )
            .into());
        }
        std::thread::sleep(POLL_EVERY);
    }
}

/// Starts `cairn serve` on a free loopback port with `data_dir`, and times it until
/// `GET /readyz` answers 200.
pub fn start_cairn(binary: &Path, data_dir: &Path, log: &Path) -> Result<Running> {
    start_cairn_with_env(binary, data_dir, log, &[])
}

/// [`start_cairn`] with extra environment variables for the server.
pub fn start_cairn_with_env(
    binary: &Path,
    data_dir: &Path,
    log: &Path,
    env: &[(&str, &str)],
) -> Result<Running> {
    let addr = free_addr()?;
    let mut cmd = Command::new(binary);
    cmd.envs(env.iter().copied());
    cmd.arg("serve")
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(data_dir);
    let spawned = Instant::now();
    let child = ChildGuard::spawn("cairn", cmd, log)?;
    let start_to_ready = wait_ready(&child, addr, "/readyz", spawned, log, |s| s == 200)?;
    Ok(Running {
        child,
        addr,
        log: log.to_owned(),
        start_to_ready,
    })
}

/// The root credentials Cairn writes into its data directory on first start.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootCredentials {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

pub fn read_root_credentials(data_dir: &Path) -> Result<RootCredentials> {
    let path = data_dir.join("root-credentials.json");
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))?)
}

/// Start-to-ready measurements of Cairn.
#[derive(Debug, Serialize)]
pub struct StartupFigures {
    /// Each start with a fresh (not yet existing) data directory, in ms.
    pub fresh_ms: Vec<f64>,
    pub fresh_median_ms: f64,
    /// One start on the data directory left by the last fresh start, in ms.
    pub existing_data_dir_ms: f64,
}

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    let hi = v.get(n / 2).copied().unwrap_or_default();
    if n % 2 == 1 {
        hi
    } else {
        (v.get(n / 2 - 1).copied().unwrap_or_default() + hi) / 2.0
    }
}

/// Runs `fresh_runs` starts on fresh data directories, then one on the last one's directory,
/// and returns that last server still running (for the load), with the figures.
pub fn cairn_startups(
    binary: &Path,
    fresh_runs: usize,
    out_dir: &Path,
) -> Result<(Running, TempDir, StartupFigures)> {
    let log = out_dir.join("cairn.log");
    // Start from an empty log each run of the harness.
    std::fs::write(&log, b"")?;
    let mut fresh_ms = Vec::with_capacity(fresh_runs);
    let mut last_dir = None;
    for i in 0..fresh_runs.max(1) {
        let dir = TempDir::new("cairn")?;
        // The data directory itself does not exist yet: Cairn creates it.
        let data_dir = dir.path.join("data");
        let running = start_cairn(binary, &data_dir, &log)?;
        let ms = running.start_to_ready.as_secs_f64() * 1e3;
        eprintln!("  cairn start {}: ready in {ms:.1} ms", i + 1);
        fresh_ms.push(ms);
        running.child.stop();
        last_dir = Some(dir);
    }
    let dir = last_dir.ok_or("no startup run")?;
    let running = start_cairn(binary, &dir.path.join("data"), &log)?;
    let existing = running.start_to_ready.as_secs_f64() * 1e3;
    eprintln!("  cairn start on the existing data dir: ready in {existing:.1} ms");
    let figures = StartupFigures {
        fresh_median_ms: median(&fresh_ms),
        fresh_ms,
        existing_data_dir_ms: existing,
    };
    Ok((running, dir, figures))
}

/// Where `--moto auto` keeps its virtualenv.
pub const MOTO_VENV: &str = "target/moto-venv";

/// Runs `cmd` to completion within `timeout`, output appended to `log`.
fn run_bounded(name: &str, cmd: Command, log: &Path, timeout: Duration) -> Result<()> {
    let child = ChildGuard::spawn(name, cmd, log)?;
    match child.wait_timeout(timeout) {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(format!(
            "{name} failed ({status}); last log lines of {}:\n{}",
            log.display(),
            log_tail(log, 20)
        )
        .into()),
        None => Err(format!("{name} did not finish within {}s", timeout.as_secs()).into()),
    }
}

/// `--moto auto`: `target/moto-venv/bin/moto_server`, creating the venv and installing
/// `moto[server]` into it first if missing.
pub fn ensure_moto(out_dir: &Path) -> Result<PathBuf> {
    let venv = PathBuf::from(MOTO_VENV);
    let server = venv.join("bin").join("moto_server");
    if server.is_file() {
        return Ok(server);
    }
    let log = out_dir.join("moto-install.log");
    if !venv.join("bin").join("pip").is_file() {
        eprintln!("creating {MOTO_VENV} (python3 -m venv)");
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "venv"]).arg(&venv);
        run_bounded("python3 -m venv", cmd, &log, Duration::from_secs(120))?;
    }
    eprintln!(
        "installing moto[server] into {MOTO_VENV} (log: {})",
        log.display()
    );
    let mut cmd = Command::new(venv.join("bin").join("pip"));
    cmd.args(["install", "--disable-pip-version-check", "moto[server]"]);
    run_bounded("pip install moto[server]", cmd, &log, INSTALL_TIMEOUT)?;
    if !server.is_file() {
        return Err(format!("{} missing after installing moto[server]", server.display()).into());
    }
    Ok(server)
}

/// moto's version, from the interpreter beside `moto_server` (best effort).
pub fn moto_version(moto_server: &Path) -> Option<String> {
    let python = moto_server.parent()?.join("python");
    let out = Command::new(python)
        .args(["-c", "import moto; print(moto.__version__)"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Starts `moto_server` on a free loopback port; ready when any HTTP answer comes back.
pub fn start_moto(binary: &Path, out_dir: &Path) -> Result<Running> {
    let addr = free_addr()?;
    let log = out_dir.join("moto.log");
    std::fs::write(&log, b"")?;
    let mut cmd = Command::new(binary);
    cmd.arg("-H")
        .arg("127.0.0.1")
        .arg("-p")
        .arg(addr.port().to_string());
    let spawned = Instant::now();
    let child = ChildGuard::spawn("moto_server", cmd, &log)?;
    let start_to_ready = wait_ready(&child, addr, "/moto-api/", spawned, &log, |_| true)?;
    Ok(Running {
        child,
        addr,
        log,
        start_to_ready,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
