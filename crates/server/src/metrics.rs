//! Prometheus counters: requests and errors per operation, lock-free on the hot path.

use crate::services::SERVICES;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Metrics {
    offsets: Vec<usize>,
    requests: Vec<AtomicU64>,
    errors: Vec<AtomicU64>,
    denials: Vec<AtomicU64>,
    pub auth_failures: AtomicU64,
    pub unrouted: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut offsets = Vec::new();
        let mut total = 0;
        for (model, _) in SERVICES {
            offsets.push(total);
            total += model.operations.len();
        }
        Self {
            offsets,
            requests: (0..total).map(|_| AtomicU64::new(0)).collect(),
            errors: (0..total).map(|_| AtomicU64::new(0)).collect(),
            denials: (0..total).map(|_| AtomicU64::new(0)).collect(),
            auth_failures: AtomicU64::new(0),
            unrouted: AtomicU64::new(0),
        }
    }

    fn slot(&self, service: usize, op: usize) -> Option<usize> {
        self.offsets.get(service).map(|o| o + op)
    }

    pub fn count(&self, service: usize, op: usize, outcome: crate::pipeline::Outcome) {
        use crate::pipeline::Outcome;
        if let Some(i) = self.slot(service, op) {
            if let Some(c) = self.requests.get(i) {
                c.fetch_add(1, Ordering::Relaxed);
            }
            if outcome != Outcome::Ok
                && let Some(c) = self.errors.get(i)
            {
                c.fetch_add(1, Ordering::Relaxed);
            }
            if outcome == Outcome::Denied
                && let Some(c) = self.denials.get(i)
            {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str("# HELP cairn_requests_total AWS API requests handled, by operation.\n# TYPE cairn_requests_total counter\n");
        let mut errors = String::from(
            "# HELP cairn_request_errors_total AWS API requests answered with an error, by operation.\n# TYPE cairn_request_errors_total counter\n",
        );
        let mut denials = String::from(
            "# HELP cairn_access_denied_total AWS API requests refused by authorization, by operation; event_source and operation are the record's eventSource and eventName.\n# TYPE cairn_access_denied_total counter\n",
        );
        for (si, (model, _)) in SERVICES.iter().enumerate() {
            for (oi, op) in model.operations.iter().enumerate() {
                let Some(i) = self.slot(si, oi) else { continue };
                let r = self
                    .requests
                    .get(i)
                    .map_or(0, |c| c.load(Ordering::Relaxed));
                if r == 0 {
                    continue;
                }
                let e = self.errors.get(i).map_or(0, |c| c.load(Ordering::Relaxed));
                let _ = writeln!(
                    s,
                    "cairn_requests_total{{service=\"{}\",operation=\"{}\",event_source=\"{}\"}} {r}",
                    model.module, op.name, model.event_source
                );
                let _ = writeln!(
                    errors,
                    "cairn_request_errors_total{{service=\"{}\",operation=\"{}\",event_source=\"{}\"}} {e}",
                    model.module, op.name, model.event_source
                );
                let d = self.denials.get(i).map_or(0, |c| c.load(Ordering::Relaxed));
                let _ = writeln!(
                    denials,
                    "cairn_access_denied_total{{service=\"{}\",operation=\"{}\",event_source=\"{}\"}} {d}",
                    model.module, op.name, model.event_source
                );
            }
        }
        s.push_str(&errors);
        s.push_str(&denials);
        let _ = writeln!(
            s,
            "# HELP cairn_auth_failures_total Requests rejected by authentication.\n# TYPE cairn_auth_failures_total counter\ncairn_auth_failures_total {}",
            self.auth_failures.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# HELP cairn_unrouted_total Requests that matched no operation.\n# TYPE cairn_unrouted_total counter\ncairn_unrouted_total {}",
            self.unrouted.load(Ordering::Relaxed)
        );
        s
    }
}

/// One metric family of the job runner: name, type, help, the figure.
type JobFamily = (
    &'static str,
    &'static str,
    &'static str,
    fn(&cairn_core::jobs::KindStats) -> u64,
);

/// The job runner's figures per kind (`cairn_core::jobs`), in Prometheus text.
pub fn render_jobs(stats: &[cairn_core::jobs::KindStats]) -> String {
    let mut s = String::new();
    let families: [JobFamily; 5] = [
        (
            "cairn_jobs_queued",
            "gauge",
            "Jobs waiting to run (not leased), by kind.",
            |k| k.queued,
        ),
        (
            "cairn_jobs_running",
            "gauge",
            "Jobs running in this process, by kind.",
            |k| k.running,
        ),
        (
            "cairn_jobs_succeeded_total",
            "counter",
            "Jobs finished by this process, by kind.",
            |k| k.succeeded,
        ),
        (
            "cairn_jobs_retried_total",
            "counter",
            "Job steps that failed here and were scheduled again, by kind.",
            |k| k.retried,
        ),
        (
            "cairn_jobs_failed_total",
            "counter",
            "Jobs given up here after their last attempt, by kind.",
            |k| k.failed,
        ),
    ];
    for (name, kind, help, value) in families {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for k in stats {
            let _ = writeln!(s, "{name}{{kind=\"{}\"}} {}", k.kind, value(k));
        }
    }
    s
}
