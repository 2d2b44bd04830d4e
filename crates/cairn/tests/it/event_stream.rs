//! Event streams: every recorded event POSTed to a configured endpoint in EventBridge's
//! "AWS API Call via CloudTrail" envelope, HMAC-signed, retried until the endpoint takes it,
//! and filtered as configured.

use crate::common::{Server, TempDir, Who, err_info, ok};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACCOUNT: &str = "112233445566";

/// A request the endpoint received: its headers (lower-case names) and body.
type Received = (Vec<(String, String)>, Vec<u8>);

/// What an endpoint saw: the requests it accepted, and how many it was sent.
type Seen = (Arc<Mutex<Vec<Received>>>, Arc<Mutex<usize>>);

/// Reads one request from `sock` (head, then the body by Content-Length), answers 500 while
/// fewer than `fail_first` requests came before it and 200 after, recording what it accepted.
async fn answer<S>(
    mut sock: S,
    fail_first: usize,
    g: Arc<Mutex<Vec<Received>>>,
    n: Arc<Mutex<usize>>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_end, len) = loop {
        let Ok(k) = sock.read(&mut chunk).await else {
            return;
        };
        if k == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..k]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (i + 4, len);
        }
    };
    while buf.len() < head_end + len {
        let Ok(k) = sock.read(&mut chunk).await else {
            return;
        };
        if k == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..k]);
    }
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    let body = buf[head_end..].to_vec();
    let fail = {
        let mut n = n.lock().unwrap();
        *n += 1;
        *n <= fail_first
    };
    let status = if fail {
        "500 Internal Server Error"
    } else {
        g.lock().unwrap().push((headers, body));
        "200 OK"
    };
    let _ = sock
        .write_all(
            format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await;
    let _ = sock.shutdown().await;
}

/// An HTTP endpoint on loopback that answers 500 to its first `fail_first` requests and 200
/// after, recording the requests it accepted.
async fn endpoint(fail_first: usize) -> (String, Arc<Mutex<Vec<Received>>>, Arc<Mutex<usize>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (got, seen): Seen = (Arc::default(), Arc::default());
    let (g, n) = (Arc::clone(&got), Arc::clone(&seen));
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(answer(sock, fail_first, Arc::clone(&g), Arc::clone(&n)));
        }
    });
    (url, got, seen)
}

async fn await_events(
    got: &Arc<Mutex<Vec<Received>>>,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<(Vec<(String, String)>, Value)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all: Vec<(Vec<(String, String)>, Value)> = got
            .lock()
            .unwrap()
            .iter()
            .map(|(h, b)| (h.clone(), serde_json::from_slice(b).unwrap()))
            .collect();
        let bodies: Vec<Value> = all.iter().map(|(_, b)| b.clone()).collect();
        if done(&bodies) {
            return all;
        }
        assert!(Instant::now() < deadline, "timed out; got {bodies:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn hmac_hex(secret: &str, timestamp: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_the_endpoint_in_eventbridges_envelope_signed_and_retried() {
    // The endpoint fails its first two requests: the events still arrive.
    let (url, got, seen) = endpoint(2).await;
    let dir = TempDir::new("stream-default");
    let server = Server::start_with_env(
        &dir,
        &["--account-id", ACCOUNT, "--event-stream", &url],
        &[("CAIRN_EVENT_STREAM_SECRET", "s3cret")],
    );
    ok(
        "CreateUser",
        server.iam().create_user().user_name("alice").send().await,
    );
    let events = await_events(&got, |b| {
        b.iter().any(|e| e["detail"]["eventName"] == "CreateUser")
    })
    .await;
    assert!(*seen.lock().unwrap() >= 3, "the failures were retried");
    let (headers, env) = events
        .iter()
        .find(|(_, e)| e["detail"]["eventName"] == "CreateUser")
        .unwrap();
    assert_eq!(env["version"], "0");
    assert_eq!(env["detail-type"], "AWS API Call via CloudTrail");
    assert_eq!(env["source"], "aws.iam");
    assert_eq!(env["account"], ACCOUNT);
    assert_eq!(env["region"], "us-east-1");
    assert_eq!(env["detail"]["eventSource"], "iam.amazonaws.com");
    assert_eq!(env["id"], env["detail"]["eventID"]);
    assert_eq!(env["time"], env["detail"]["eventTime"]);
    let h = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(h("content-type"), "application/json");
    let raw = got
        .lock()
        .unwrap()
        .iter()
        .find(|(_, b)| serde_json::from_slice::<Value>(b).unwrap() == *env)
        .map(|(_, b)| b.clone())
        .unwrap();
    assert_eq!(
        h("x-cairn-signature"),
        format!(
            "sha256={}",
            hmac_hex("s3cret", &h("x-cairn-timestamp"), &raw)
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_stream_gets_only_the_denials() {
    let (url, got, _) = endpoint(0).await;
    let dir = TempDir::new("stream-denied");
    let config = dir.path().join("cairn.toml");
    std::fs::write(
        &config,
        format!("[[event-stream]]\nname = \"denials\"\nurl = \"{url}\"\ndenied-only = true\n"),
    )
    .unwrap();
    let server = Server::start(
        &dir,
        &[
            "--account-id",
            ACCOUNT,
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let iam = server.iam();
    ok(
        "CreateUser",
        iam.create_user().user_name("nobody").send().await,
    );
    let key = ok(
        "CreateAccessKey",
        iam.create_access_key().user_name("nobody").send().await,
    );
    let key = key.access_key().unwrap();
    let nobody = Who::new(key.access_key_id(), key.secret_access_key());
    let e = err_info(server.iam_as(&nobody).list_users().send().await);
    assert_eq!(e.code, "AccessDenied");
    let events = await_events(&got, |b| !b.is_empty()).await;
    // A moment for anything wrongly streamed to arrive too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let all: Vec<Value> = got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect();
    assert!(!events.is_empty());
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["detail"]["eventName"], "ListUsers");
    assert_eq!(all[0]["detail"]["errorCode"], "AccessDenied");
    // No signature without a secret.
    assert!(
        got.lock().unwrap()[0]
            .0
            .iter()
            .all(|(k, _)| k != "x-cairn-signature")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batched_stream_posts_newline_delimited_envelopes_signed_as_one_body() {
    // The first request fails: the events it carried (and those queued behind them) come
    // again, none is dropped.
    let (url, got, seen) = endpoint(1).await;
    let dir = TempDir::new("stream-batched");
    let config = dir.path().join("cairn.toml");
    std::fs::write(
        &config,
        format!(
            "[[event-stream]]\nname = \"bulk\"\nurl = \"{url}\"\nsecret = \"k\"\nbatch-size = 5\n"
        ),
    )
    .unwrap();
    let server = Server::start(
        &dir,
        &[
            "--account-id",
            ACCOUNT,
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let iam = server.iam();
    for i in 0..40 {
        ok(
            "CreateUser",
            iam.create_user().user_name(format!("u{i}")).send().await,
        );
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let envelopes: Vec<Value> = loop {
        let lines: Vec<Value> = got
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, b)| {
                b.split(|&c| c == b'\n')
                    .filter(|l| !l.is_empty())
                    .map(|l| serde_json::from_slice::<Value>(l).unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        let created = lines
            .iter()
            .filter(|e| e["detail"]["eventName"] == "CreateUser")
            .count();
        if created == 40 {
            break lines;
        }
        assert!(Instant::now() < deadline, "timed out; got {lines:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let requests = got.lock().unwrap().clone();
    assert!(
        *seen.lock().unwrap() > requests.len(),
        "a request was refused"
    );
    assert!(
        requests.len() < envelopes.len(),
        "{} requests carried {} events: batched",
        requests.len(),
        envelopes.len()
    );
    for (headers, body) in &requests {
        let h = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(h("content-type"), "application/x-ndjson");
        assert!(body.ends_with(b"\n"));
        assert_eq!(
            h("x-cairn-signature"),
            format!("sha256={}", hmac_hex("k", &h("x-cairn-timestamp"), body))
        );
    }
    for e in &envelopes {
        assert_eq!(e["detail-type"], "AWS API Call via CloudTrail");
        assert_eq!(e["id"], e["detail"]["eventID"]);
        assert_eq!(e["time"], e["detail"]["eventTime"]);
        assert_eq!(e["region"], e["detail"]["awsRegion"]);
    }
    // Each event once: the rows were acknowledged after their batch was taken.
    let mut ids: Vec<&str> = envelopes
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n);
}

#[test]
fn a_batch_size_out_of_range_is_refused_at_start() {
    let dir = TempDir::new("stream-bad-batch");
    let config = dir.path().join("cairn.toml");
    std::fs::write(
        &config,
        "[[event-stream]]\nname = \"x\"\nurl = \"http://127.0.0.1:9/\"\nbatch-size = 0\n",
    )
    .unwrap();
    let out = std::process::Command::new(crate::common::cairn_binary())
        .args(["serve", "--config", config.to_str().unwrap()])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("batch-size must be 1 to 1000"), "{err}");
}

/// A TLS endpoint on loopback, `https://localhost:<port>/hook`, with a certificate issued by
/// a test CA; answers the PEM of that CA too.
async fn tls_endpoint() -> (String, String, Arc<Mutex<Vec<Received>>>) {
    let (acceptor, ca_pem) = crate::common::localhost_tls("Cairn test CA");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://localhost:{}/hook",
        listener.local_addr().unwrap().port()
    );
    let (got, seen): Seen = (Arc::default(), Arc::default());
    let g = Arc::clone(&got);
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, g, n) = (acceptor.clone(), Arc::clone(&g), Arc::clone(&seen));
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(sock).await {
                    answer(tls, 0, g, n).await;
                }
            });
        }
    });
    (url, ca_pem, got)
}

/// A server streaming to `url` that trusts only the CA in `ca_pem`, after one `CreateUser`.
async fn streaming_with_ca(tag: &str, url: &str, ca_pem: &str) -> (TempDir, Server) {
    let dir = TempDir::new(tag);
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let server = Server::start_with_env(
        &dir,
        &["--account-id", ACCOUNT, "--event-stream", url],
        &[("SSL_CERT_FILE", ca_file.to_str().unwrap())],
    );
    ok(
        "CreateUser",
        server.iam().create_user().user_name(tag).send().await,
    );
    (dir, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_endpoint_is_reached_over_tls_and_an_untrusted_one_is_not() {
    let (url, ca_pem, got) = tls_endpoint().await;
    let (_dir, server) = streaming_with_ca("stream-tls", &url, &ca_pem).await;
    let events = await_events(&got, |b| {
        b.iter().any(|e| e["detail"]["eventName"] == "CreateUser")
    })
    .await;
    assert!(!events.is_empty());
    drop(server);

    // Trusting another CA only, the handshake fails: the server says so, nothing arrives.
    let (url, _, got) = tls_endpoint().await;
    let (_dir, server) = streaming_with_ca("stream-tls-untrusted", &url, &ca_pem).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log().contains("event stream endpoint unreachable") {
        assert!(
            Instant::now() < deadline,
            "no TLS failure logged:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        server.log().contains("TLS"),
        "the failure is the handshake:\n{}",
        server.log()
    );
    assert!(
        got.lock().unwrap().is_empty(),
        "a certificate from an unknown CA was accepted"
    );
}
