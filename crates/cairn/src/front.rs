//! The HTTP front: one acceptor and one request thread per core, each thread with its own
//! current-thread Tokio runtime.
//!
//! A connection is handed to a request thread (round robin) when it is accepted and stays
//! there: its requests are parsed, handled and answered on that thread, and the thread
//! sleeps in its own `epoll` until one of its sockets is readable. Compared with one
//! work-stealing runtime for everything, no request wakes a second thread to steal work and
//! no task migrates between cores — on a small machine shared with its clients, those
//! cross-core wake-ups were a large share of the cost of a call (see the note of issue 2).
//! Calls are short; a long one delays only the connections of its own thread.
//!
//! Background work (the CloudTrail batcher, CreateAccount jobs, signals, the accept loop)
//! stays on the main runtime.

use crate::framing::Guarded;
use axum::Router;
use axum::extract::ConnectInfo;
use cairn_core::Ids;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tower::Service as _;

/// How long a shutdown waits for a connection to finish the request it is in.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The request threads.
pub struct Front {
    senders: Vec<mpsc::UnboundedSender<(std::net::TcpStream, SocketAddr)>>,
    threads: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    next: usize,
}

/// How many request threads: one per available core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

impl Front {
    /// Starts `threads` request threads serving `router`; `ids` names the requests that
    /// never reach it (unparseable HTTP, see [`crate::framing`]).
    pub fn start(router: &Router, threads: usize, ids: Arc<dyn Ids>) -> Result<Front, String> {
        let (stop, _) = watch::channel(false);
        let mut front = Front {
            senders: Vec::new(),
            threads: Vec::new(),
            stop,
            next: 0,
        };
        for i in 0..threads.max(1) {
            let (tx, rx) = mpsc::unbounded_channel();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("starting request runtime {i}: {e}"))?;
            let router = router.clone();
            let stop = front.stop.subscribe();
            let ids = Arc::clone(&ids);
            let thread = std::thread::Builder::new()
                .name(format!("cairn-http-{i}"))
                .spawn(move || runtime.block_on(request_thread(rx, router, stop, ids)))
                .map_err(|e| format!("starting request thread {i}: {e}"))?;
            front.senders.push(tx);
            front.threads.push(thread);
        }
        Ok(front)
    }

    /// Accepts connections until `shutdown` resolves, then lets every connection finish the
    /// request it is in (idle keep-alive connections are closed) and stops the threads.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), String> {
        let mut shutdown = pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, addr)) => self.hand_over(stream, addr),
                    // Out of file descriptors and the like: wait a little, keep serving.
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                },
            }
        }
        drop(listener);
        let _ = self.stop.send(true);
        self.senders.clear();
        let threads = std::mem::take(&mut self.threads);
        tokio::task::spawn_blocking(move || {
            for t in threads {
                if t.join().is_err() {
                    tracing::error!("a request thread panicked");
                }
            }
        })
        .await
        .map_err(|e| format!("joining request threads: {e}"))
    }

    fn hand_over(&mut self, stream: TcpStream, addr: SocketAddr) {
        // Request/response traffic: send each response at once, never wait for an ACK.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let Ok(stream) = stream.into_std() else {
            return;
        };
        let n = self.senders.len().max(1);
        let i = self.next % n;
        self.next = self.next.wrapping_add(1);
        if let Some(tx) = self.senders.get(i)
            && tx.send((stream, addr)).is_err()
        {
            tracing::error!(thread = i, "request thread gone; connection dropped");
        }
    }
}

async fn request_thread(
    mut incoming: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    router: Router,
    mut stop: watch::Receiver<bool>,
    ids: Arc<dyn Ids>,
) {
    let mut connections = tokio::task::JoinSet::new();
    let for_connections = stop.clone();
    loop {
        tokio::select! {
            got = incoming.recv() => match got {
                Some((stream, addr)) => match TcpStream::from_std(stream) {
                    Ok(stream) => {
                        let stream = Guarded::new(stream, Arc::clone(&ids));
                        connections.spawn(connection(stream, addr, router.clone(), for_connections.clone()));
                    }
                    Err(e) => tracing::warn!(error = %e, "could not register a connection"),
                },
                None => break,
            },
            // Reap finished connections as we go, so the set does not grow.
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                if let Err(e) = done
                    && e.is_panic()
                {
                    tracing::error!("a connection task panicked");
                }
            }
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    while connections.join_next().await.is_some() {}
}

async fn connection(
    stream: Guarded<TcpStream>,
    addr: SocketAddr,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(addr));
        router.clone().call(req)
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    let mut conn = pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::trace!(error = %e, "connection ended with an error");
            }
            return;
        }
        _ = stop.wait_for(|s| *s) => {}
    }
    // Finish the request in flight, then close; a client that never completes its request
    // does not hold the shutdown up for longer than `DRAIN_TIMEOUT`.
    conn.as_mut().graceful_shutdown();
    match tokio::time::timeout(DRAIN_TIMEOUT, conn).await {
        Ok(Err(e)) => tracing::trace!(error = %e, "connection ended with an error"),
        Ok(Ok(())) => {}
        Err(_) => tracing::warn!(%addr, "connection still busy at shutdown; closed"),
    }
}
