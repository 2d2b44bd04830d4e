//! Child processes and temporary directories that are cleaned up on every exit path:
//! dropped guards on normal return and on error, and a signal task on Ctrl-C / SIGTERM.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::Result;

struct Registry {
    next: u64,
    children: Vec<(u64, Child)>,
    dirs: Vec<PathBuf>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 0,
    children: Vec::new(),
    dirs: Vec::new(),
});

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Kills every registered child and removes every registered directory (signal path).
pub fn cleanup_all() {
    let mut reg = registry();
    for (_, child) in reg.children.iter_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
    reg.children.clear();
    for dir in reg.dirs.drain(..) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Installs the Ctrl-C / SIGTERM / SIGHUP handler on `rt`: clean up, then exit 130.
pub fn install_signal_handler(rt: &tokio::runtime::Runtime) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut int, mut term, mut hup) = rt.block_on(async {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        ))
    })?;
    rt.spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        eprintln!("cairn-bench: interrupted; stopping child processes");
        cleanup_all();
        std::process::exit(130);
    });
    Ok(())
}

/// A running child process, stopped when dropped.
pub struct ChildGuard {
    id: u64,
    pub pid: u32,
    pub name: String,
}

impl ChildGuard {
    /// Spawns `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Self> {
        let out = File::options().create(true).append(true).open(log)?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        // Hold the lock across the spawn so a signal cannot slip between spawn and register.
        let mut reg = registry();
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {name} ({:?}): {e}", cmd.get_program()))?;
        let pid = child.id();
        reg.next += 1;
        let id = reg.next;
        reg.children.push((id, child));
        Ok(Self {
            id,
            pid,
            name: name.to_owned(),
        })
    }

    /// The exit status if the child has exited.
    pub fn exited(&self) -> Option<ExitStatus> {
        let mut reg = registry();
        let (_, child) = reg.children.iter_mut().find(|(id, _)| *id == self.id)?;
        child.try_wait().ok().flatten()
    }

    /// Waits for the child to exit by itself, at most `timeout`.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if start.elapsed() >= timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, up to 5 s to exit, then SIGKILL.
    pub fn stop(self) {
        // Drop does the work.
    }

    fn stop_now(&mut self) {
        if self.exited().is_none() {
            let term = Command::new("kill")
                .args(["-s", "TERM", &self.pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if matches!(term, Ok(s) if s.success()) {
                let _ = self.wait_timeout(Duration::from_secs(5));
            }
        }
        let mut reg = registry();
        if let Some(pos) = reg.children.iter().position(|(id, _)| *id == self.id) {
            let (_, mut child) = reg.children.swap_remove(pos);
            drop(reg);
            if child.try_wait().ok().flatten().is_none() {
                eprintln!(
                    "cairn-bench: {} did not stop on SIGTERM; killing it",
                    self.name
                );
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// A fresh temporary directory, removed when dropped.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> Result<Self> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let mut reg = registry();
        reg.next += 1;
        let path = std::env::temp_dir().join(format!(
            "cairn-bench-{}-{tag}-{nanos}-{}",
            std::process::id(),
            reg.next
        ));
        std::fs::create_dir(&path)?;
        reg.dirs.push(path.clone());
        Ok(Self { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        registry().dirs.retain(|d| *d != self.path);
    }
}

/// A loopback address with a port that was free a moment ago.
pub fn free_addr() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// Resident and peak resident memory of `pid` in KiB (`VmRSS`, `VmHWM`).
pub fn rss_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))?;
        let kib = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("bad {name} line {line:?}"))?;
        Ok(kib)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Clock ticks per second for `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// User + system CPU seconds consumed so far by `pid` ("self" for this process).
pub fn cpu_seconds(pid: &str) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("bad /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> Result<f64> {
        let v: u64 = fields
            .get(i)
            .and_then(|v| v.parse().ok())
            .ok_or("bad /proc stat field")?;
        Ok(v as f64)
    };
    // utime is field 14 and stime field 15, i.e. indexes 11 and 12 counted from field 3.
    Ok((tick(11)? + tick(12)?) / TICKS_PER_SEC)
}

/// Busy CPU seconds of the whole machine so far (all cores; idle and iowait excluded).
pub fn machine_busy_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .ok_or("no cpu line in /proc/stat")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or_default())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy: u64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    Ok(busy as f64 / TICKS_PER_SEC)
}

/// Bytes `pid` has caused to be written to storage so far (`write_bytes` of /proc/<pid>/io).
pub fn write_bytes(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The last `n` lines of a log file, for error messages.
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(n);
    lines.get(from..).unwrap_or_default().join("\n")
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn own_process_figures() {
        let (rss, peak) = rss_kib(std::process::id()).unwrap();
        assert!(rss > 0 && peak >= rss);
        assert!(cpu_seconds("self").unwrap() >= 0.0);
        assert!(machine_busy_seconds().unwrap() > 0.0);
    }

    #[test]
    fn child_is_stopped_on_drop() {
        let dir = TempDir::new("test").unwrap();
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let child = ChildGuard::spawn("sleep", cmd, &dir.path.join("log")).unwrap();
        let pid = child.pid;
        assert!(child.exited().is_none());
        drop(child);
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
        let path = dir.path.clone();
        drop(dir);
        assert!(!path.exists());
    }
}
