//! Closed-loop load: N workers, each with its own keep-alive connection, each sending the next
//! request as soon as the previous response has arrived.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::Result;
use crate::http::Conn;
use crate::sign::Signer;

/// No single request may take longer than this; a timed-out request counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound on requests per concurrency level, whatever the duration.
const MAX_REQUESTS_PER_LEVEL: u64 = 20_000_000;

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LevelResult {
    pub concurrency: usize,
    /// Measured window (after warm-up) until the last worker finished, in seconds.
    pub measured_s: f64,
    /// 200 answers in the measured window.
    pub ok: u64,
    /// Answers other than 200 in the measured window.
    pub errors_status: u64,
    /// Connection errors and timeouts in the measured window.
    pub errors_io: u64,
    /// `errors_status + errors_io`.
    pub errors: u64,
    /// 200 answers per second.
    pub throughput_rps: f64,
    /// Latency of the 200 answers (write of the request to the last byte of the response).
    pub latency: Option<Latency>,
    /// Every status seen in the measured window.
    pub statuses: BTreeMap<u16, u64>,
    /// Connections re-opened (after an error or a `Connection: close`), warm-up included.
    pub reconnects: u64,
    /// The first failure, for diagnosis.
    pub first_error: Option<String>,
    /// CPU used by the server over the whole level, in percent of one core.
    pub server_cpu_pct: f64,
    /// CPU used by this load generator over the whole level, in percent of one core.
    pub client_cpu_pct: f64,
    /// CPU used by every other process on the machine over the whole level, in percent of
    /// one core: anything much above zero means the figures are disturbed.
    pub other_cpu_pct: f64,
    /// Bytes the server wrote to storage per 200 answer (from /proc/<pid>/io), if readable.
    pub server_write_bytes_per_ok: Option<f64>,
    /// Requests sent over the whole level, warm-up included (what the CPU figures cover).
    pub requests_total: u64,
    /// Server CPU time per request over the whole level (warm-up included), in µs.
    pub server_cpu_us_per_request: f64,
}

#[derive(Default)]
struct WorkerStats {
    latencies_ns: Vec<u64>,
    errors_status: u64,
    errors_io: u64,
    statuses: BTreeMap<u16, u64>,
    reconnects: u64,
    first_error: Option<String>,
    finished: Option<Instant>,
    sent: u64,
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(300).collect()
}

async fn reconnect(addr: SocketAddr, end: Instant) -> Option<Conn> {
    // Bounded: a few attempts, never past the end of the level.
    for _ in 0..100 {
        if Instant::now() >= end {
            return None;
        }
        if let Ok(Ok(conn)) = tokio::time::timeout(REQUEST_TIMEOUT, Conn::connect(addr)).await {
            return Some(conn);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

async fn worker(
    addr: SocketAddr,
    conn: Conn,
    mut signer: Signer,
    warm_end: Instant,
    end: Instant,
    max_requests: u64,
) -> Result<WorkerStats> {
    let mut stats = WorkerStats {
        latencies_ns: Vec::with_capacity(64 * 1024),
        ..WorkerStats::default()
    };
    let mut conn = Some(conn);
    let mut sent = 0u64;
    while sent < max_requests {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let measured = now >= warm_end;
        let request = signer.request(SystemTime::now())?;
        // A request that needs a new connection (the server closed the last one, as
        // moto_server does after every answer) pays for it in its latency, as a client would.
        let start = Instant::now();
        if conn.is_none() {
            stats.reconnects += 1;
            conn = reconnect(addr, end).await;
        }
        let Some(c) = conn.as_mut() else {
            // Past the end, `reconnect` gives up without trying: that is no error.
            if measured && Instant::now() < end {
                stats.errors_io += 1;
                if stats.first_error.is_none() {
                    stats.first_error = Some(format!("could not reconnect to {addr}"));
                }
            }
            break;
        };
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, c.send(request)).await;
        let latency = start.elapsed();
        sent += 1;
        match outcome {
            Ok(Ok(resp)) => {
                if measured {
                    *stats.statuses.entry(resp.status).or_default() += 1;
                    if resp.status == 200 {
                        stats
                            .latencies_ns
                            .push(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
                    } else {
                        stats.errors_status += 1;
                        if stats.first_error.is_none() {
                            stats.first_error =
                                Some(format!("HTTP {}: {}", resp.status, snippet(&resp.body)));
                        }
                    }
                }
                if resp.close {
                    conn = None;
                }
            }
            Ok(Err(e)) => {
                if measured {
                    stats.errors_io += 1;
                    if stats.first_error.is_none() {
                        stats.first_error = Some(format!("connection error: {e}"));
                    }
                }
                conn = None;
            }
            Err(_) => {
                if measured {
                    stats.errors_io += 1;
                    if stats.first_error.is_none() {
                        stats.first_error =
                            Some(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs()));
                    }
                }
                conn = None;
            }
        }
    }
    stats.finished = Some(Instant::now());
    stats.sent = sent;
    Ok(stats)
}

/// Nearest-rank percentile of sorted samples.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let idx = rank.clamp(1, sorted.len()) - 1;
    sorted.get(idx).copied().unwrap_or_default()
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Runs one concurrency level against `addr` with requests from `signer` (cloned per worker).
pub async fn run_level(
    addr: SocketAddr,
    server_pid: u32,
    signer: &Signer,
    plan: Plan,
) -> Result<LevelResult> {
    // Connect everything first: connection set-up is not part of any latency.
    let mut conns = Vec::with_capacity(plan.concurrency);
    for _ in 0..plan.concurrency {
        let conn = tokio::time::timeout(REQUEST_TIMEOUT, Conn::connect(addr))
            .await
            .map_err(|_| format!("connecting to {addr} timed out"))?
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        conns.push(conn);
    }
    let server_pid_text = server_pid.to_string();
    let server_cpu0 = crate::proc::cpu_seconds(&server_pid_text)?;
    let client_cpu0 = crate::proc::cpu_seconds("self")?;
    let machine_cpu0 = crate::proc::machine_busy_seconds()?;
    let written0 = crate::proc::write_bytes(server_pid);
    let t0 = Instant::now();
    let warm_end = t0 + plan.warmup;
    let end = warm_end + plan.duration;
    let per_worker = (MAX_REQUESTS_PER_LEVEL / plan.concurrency.max(1) as u64).max(1);
    let mut tasks = Vec::with_capacity(plan.concurrency);
    for conn in conns {
        tasks.push(tokio::spawn(worker(
            addr,
            conn,
            signer.clone(),
            warm_end,
            end,
            per_worker,
        )));
    }
    let mut all = Vec::new();
    let mut errors_status = 0;
    let mut errors_io = 0;
    let mut reconnects = 0;
    let mut requests_total = 0;
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let mut first_error = None;
    let mut last = warm_end;
    for task in tasks {
        let stats = task.await.map_err(|e| format!("worker failed: {e}"))??;
        all.extend_from_slice(&stats.latencies_ns);
        errors_status += stats.errors_status;
        errors_io += stats.errors_io;
        reconnects += stats.reconnects;
        requests_total += stats.sent;
        for (status, n) in stats.statuses {
            *statuses.entry(status).or_default() += n;
        }
        if first_error.is_none() {
            first_error = stats.first_error;
        }
        if let Some(f) = stats.finished {
            last = last.max(f);
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let server_cpu = crate::proc::cpu_seconds(&server_pid_text)? - server_cpu0;
    let client_cpu = crate::proc::cpu_seconds("self")? - client_cpu0;
    let machine_cpu = crate::proc::machine_busy_seconds()? - machine_cpu0;
    let written = crate::proc::write_bytes(server_pid)
        .zip(written0)
        .map(|(b, a)| b.saturating_sub(a));
    let measured_s = last.duration_since(warm_end).as_secs_f64().max(1e-9);
    all.sort_unstable();
    let ok = all.len() as u64;
    let latency = (!all.is_empty()).then(|| Latency {
        p50_ms: ms(percentile(&all, 50.0)),
        p90_ms: ms(percentile(&all, 90.0)),
        p99_ms: ms(percentile(&all, 99.0)),
        max_ms: ms(all.last().copied().unwrap_or_default()),
        mean_ms: ms(all.iter().sum::<u64>() / ok.max(1)),
    });
    Ok(LevelResult {
        concurrency: plan.concurrency,
        measured_s,
        ok,
        errors_status,
        errors_io,
        errors: errors_status + errors_io,
        throughput_rps: ok as f64 / measured_s,
        latency,
        statuses,
        reconnects,
        first_error,
        server_cpu_pct: 100.0 * server_cpu / wall,
        client_cpu_pct: 100.0 * client_cpu / wall,
        other_cpu_pct: (100.0 * (machine_cpu - server_cpu - client_cpu) / wall).max(0.0),
        server_write_bytes_per_ok: written.map(|w| w as f64 / (ok.max(1)) as f64),
        requests_total,
        server_cpu_us_per_request: 1e6 * server_cpu / requests_total.max(1) as f64,
    })
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::sign::{DESCRIBE_ORGANIZATION, SignMode};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A keep-alive server answering every third request with 403 and closing the connection
    /// after every fifth answer.
    async fn flaky_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let mut answered = 0;
                    loop {
                        let mut got = Vec::new();
                        // Read one whole request: head plus the 2-byte body.
                        while !got.windows(4).any(|w| w == b"\r\n\r\n") || !got.ends_with(b"{}") {
                            match s.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => got.extend_from_slice(buf.get(..n).unwrap()),
                            }
                        }
                        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        answered += 1;
                        let close = answered % 5 == 0;
                        let reply = format!(
                            "HTTP/1.1 {}\r\nContent-Length: 2\r\n{}\r\n{{}}",
                            if n % 3 == 2 {
                                "403 Forbidden"
                            } else {
                                "200 OK"
                            },
                            if close { "Connection: close\r\n" } else { "" }
                        );
                        if s.write_all(reply.as_bytes()).await.is_err() || close {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn errors_are_counted_and_closed_connections_reopened() {
        let addr = flaky_server().await;
        let signer = Signer::new(
            "AKIDEXAMPLE",
            "secret",
            addr.to_string(),
            DESCRIBE_ORGANIZATION,
            b"{}",
            SignMode::PerSecond,
        );
        let plan = Plan {
            concurrency: 3,
            warmup: Duration::from_millis(50),
            duration: Duration::from_millis(300),
        };
        let r = run_level(addr, std::process::id(), &signer, plan)
            .await
            .unwrap();
        assert!(r.ok > 10, "{r:?}");
        assert!(r.errors_status > 5, "{r:?}");
        assert_eq!(r.errors, r.errors_status + r.errors_io);
        assert_eq!(r.statuses.get(&403).copied(), Some(r.errors_status));
        assert_eq!(r.statuses.get(&200).copied(), Some(r.ok));
        assert!(r.reconnects > 0, "{r:?}");
        assert_eq!(r.errors_io, 0, "{r:?}");
        assert!(r.first_error.unwrap().starts_with("HTTP 403"));
        assert!(r.latency.is_some());
    }

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 90.0), 90);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
