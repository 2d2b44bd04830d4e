//! The harness: a temporary directory, the `cairn` server as a child process, SDK clients,
//! a minimal HTTP/1.1 client for raw requests, and `aws-sigv4` signing of those requests.

use std::fmt::Debug;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudtrail::types::{Event, LookupAttribute, LookupAttributeKey};
use aws_sdk_organizations::config::http::HttpResponse;
use aws_sdk_organizations::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::operation::RequestId;
use serde_json::Value;

/// An SDK config builder for Cairn: plain HTTP, us-east-1, static credentials, no retries.
macro_rules! sdk_builder {
    ($sdk:ident, $endpoint:expr, $who:expr) => {{
        use $sdk::config::retry::RetryConfig;
        use $sdk::config::{BehaviorVersion, Credentials, Region};
        let who: &Who = $who;
        let mut builder = $sdk::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url($endpoint)
            .credentials_provider(Credentials::new(
                who.akid.clone(),
                who.secret.clone(),
                who.token.clone(),
                None,
                "cairn-it",
            ))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(RetryConfig::disabled());
        if let Some(t) = who.time {
            builder = builder.time_source(aws_smithy_async::time::StaticTimeSource::new(t));
        }
        builder
    }};
}

/// The `cairn` binary under test: this build's, or the one `CAIRN_IT_BINARY` names — to run
/// a new test against an older build and see it fail before the fix it guards.
pub fn cairn_binary() -> PathBuf {
    std::env::var_os("CAIRN_IT_BINARY")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_cairn")), PathBuf::from)
}

/// How long a server may take to print its "listening" line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Read-only CloudTrail records are group-committed in short batches: how long to poll
/// `LookupEvents` for a record before failing.
pub const AUDIT_POLL: Duration = Duration::from_millis(2500);

// ------------------------------------------------------------------------------- temp dir

/// A fresh directory under the system temp dir, removed on drop (kept when the test panics,
/// so the data directory and the server log can be inspected).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let path = std::env::temp_dir().join(format!(
            "cairn-it-{tag}-{}-{}-{nanos:08x}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A PostgreSQL schema name of its own (`it_<16 hex>`, from the path), for a server on
    /// this directory when the suite runs against PostgreSQL (`CAIRN_IT_POSTGRES_URL`).
    pub fn schema(&self) -> String {
        // FNV-1a over the path: stable across restarts on the same directory.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.0.to_string_lossy().bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("it_{h:016x}")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test failed: keeping {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

// --------------------------------------------------------------------------------- server

/// The store options of a command on `dir`'s data: none (SQLite in the data dir), or with
/// `CAIRN_IT_POSTGRES_URL` set, `--database-url <it> --database-schema <dir's schema>`.
pub fn store_args(dir: &TempDir) -> Vec<std::ffi::OsString> {
    match std::env::var_os("CAIRN_IT_POSTGRES_URL").filter(|u| !u.is_empty()) {
        Some(url) => vec![
            "--database-url".into(),
            url,
            "--database-schema".into(),
            dir.schema().into(),
        ],
        None => Vec::new(),
    }
}

/// The bootstrap root user's credentials, from `<data-dir>/root-credentials.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootCreds {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub email: String,
}

impl RootCreds {
    pub fn read(data_dir: &Path) -> Self {
        let path = data_dir.join("root-credentials.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
        let field = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("root-credentials.json has no string {k}: {text}"))
                .to_owned()
        };
        RootCreds {
            account_id: field("AccountId"),
            access_key_id: field("AccessKeyId"),
            secret_access_key: field("SecretAccessKey"),
            email: field("Email"),
        }
    }

    pub fn who(&self) -> Who {
        Who::new(&self.access_key_id, &self.secret_access_key)
    }
}

/// A running `cairn serve`, killed (SIGKILL) on drop.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub endpoint: String,
    pub creds: RootCreds,
    log: PathBuf,
    /// The server's `CAIRN_TEST_CLOCK_FILE`: [`Server::advance_clock`] writes it.
    clock_file: PathBuf,
}

impl Server {
    /// Starts `cairn serve --listen 127.0.0.1:0 --data-dir <dir>/data <extra…>` and waits for
    /// its "listening on http://127.0.0.1:<port>" line.
    pub fn start(dir: &TempDir, extra: &[&str]) -> Server {
        Server::start_with_env(dir, extra, &[])
    }

    /// [`Server::start`] with extra environment variables for the server process.
    pub fn start_with_env(dir: &TempDir, extra: &[&str], envs: &[(&str, &str)]) -> Server {
        static STARTS: AtomicUsize = AtomicUsize::new(0);
        let data_dir = dir.path().join("data");
        let log = dir.path().join(format!(
            "server-{}.log",
            STARTS.fetch_add(1, Ordering::Relaxed)
        ));
        let log_file = std::fs::File::create(&log).unwrap();
        let clock_file = dir.path().join("clock-offset-ms");
        let mut cmd = Command::new(cairn_binary());
        cmd.env("CAIRN_TEST_CLOCK_FILE", &clock_file);
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&data_dir)
            .args(extra);
        // CAIRN_IT_POSTGRES_URL: the same tests against PostgreSQL, each server directory
        // with its own schema (so a restart on the directory finds its data again).
        if !extra.contains(&"--database-url") {
            cmd.args(store_args(dir));
        }
        cmd.env_remove("CAIRN_MASTER_KEY")
            .env_remove("CAIRN_DATABASE_URL")
            .env_remove("CAIRN_DATA_DIR")
            .env_remove("CAIRN_LISTEN")
            .env_remove("CAIRN_SMTP_URL")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file));
        let mut child = cmd.spawn().expect("spawning the cairn binary");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        // Forwards every stdout line; keeps draining after start-up so the child never blocks
        // on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let mut seen = Vec::new();
        let port = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(port) = parse_port(&line) {
                        break port;
                    }
                    seen.push(line);
                }
                Err(e) => {
                    let status = child.try_wait().ok().flatten();
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "cairn did not start ({e:?}; exit status {status:?}).\nstdout:\n{}\nstderr:\n{}",
                        seen.join("\n"),
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            }
        };
        let creds = RootCreds::read(&data_dir);
        Server {
            child: Some(child),
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            creds,
            log,
            clock_file,
        }
    }

    /// How far the server's clock is ahead of the wall clock.
    pub fn clock_offset(&self) -> Duration {
        let ms = std::fs::read_to_string(&self.clock_file)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        Duration::from_millis(ms)
    }

    /// Moves the server's clock forward by `by` (debug builds of `cairn` read the offset
    /// from `CAIRN_TEST_CLOCK_FILE` at every reading of their clock). Requests signed after
    /// this must be signed at the server's time: [`Server::now`] with [`Who::at`].
    pub fn advance_clock(&self, by: Duration) {
        // The server logs that it reads the file; a release build (or an older one, through
        // CAIRN_IT_BINARY) does not, and its clock would not move.
        assert!(
            self.log().contains("CAIRN_TEST_CLOCK_FILE"),
            "this cairn binary does not honour CAIRN_TEST_CLOCK_FILE (a release build?)"
        );
        let total = self.clock_offset() + by;
        let tmp = self.clock_file.with_extension("tmp");
        std::fs::write(&tmp, total.as_millis().to_string()).unwrap();
        std::fs::rename(&tmp, &self.clock_file).unwrap();
    }

    /// The server's time.
    pub fn now(&self) -> SystemTime {
        SystemTime::now() + self.clock_offset()
    }

    /// SIGKILL, then reap. Idempotent.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits up to `within` for the process to exit by itself (a crash point); its exit
    /// status, or `None` if it is still running (it is then killed).
    pub fn await_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM (graceful shutdown), then waits up to `within` for the process to exit; its
    /// exit status, or `None` if it did not exit in time (it is then killed).
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM failed");
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's stderr so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn root(&self) -> Who {
        self.creds.who()
    }

    pub fn orgs(&self) -> aws_sdk_organizations::Client {
        self.orgs_as(&self.root())
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        self.sts_as(&self.root())
    }

    pub fn cloudtrail(&self) -> aws_sdk_cloudtrail::Client {
        self.cloudtrail_as(&self.root())
    }

    pub fn orgs_as(&self, who: &Who) -> aws_sdk_organizations::Client {
        aws_sdk_organizations::Client::from_conf(
            sdk_builder!(aws_sdk_organizations, &self.endpoint, who).build(),
        )
    }

    pub fn sts_as(&self, who: &Who) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::from_conf(sdk_builder!(aws_sdk_sts, &self.endpoint, who).build())
    }

    /// A CloudTrail client that sends botocore's `X-Amz-Target` (see [`BotocoreTarget`]).
    pub fn cloudtrail_as(&self, who: &Who) -> aws_sdk_cloudtrail::Client {
        let builder =
            sdk_builder!(aws_sdk_cloudtrail, &self.endpoint, who).interceptor(BotocoreTarget);
        aws_sdk_cloudtrail::Client::from_conf(builder.build())
    }

    /// A CloudTrail client (as [`Server::cloudtrail_as`]) signing for `region`.
    pub fn cloudtrail_in(&self, who: &Who, region: &str) -> aws_sdk_cloudtrail::Client {
        let builder = sdk_builder!(aws_sdk_cloudtrail, &self.endpoint, who)
            .region(aws_sdk_cloudtrail::config::Region::new(region.to_owned()))
            .interceptor(BotocoreTarget);
        aws_sdk_cloudtrail::Client::from_conf(builder.build())
    }

    /// An STS client signing for `region` (and so in its partition).
    pub fn sts_in(&self, who: &Who, region: &str) -> aws_sdk_sts::Client {
        let b = sdk_builder!(aws_sdk_sts, &self.endpoint, who)
            .region(aws_sdk_sts::config::Region::new(region.to_owned()));
        aws_sdk_sts::Client::from_conf(b.build())
    }

    /// An IAM client signing for `region`.
    pub fn iam_in(&self, who: &Who, region: &str) -> aws_sdk_iam::Client {
        let b = sdk_builder!(aws_sdk_iam, &self.endpoint, who)
            .region(aws_sdk_iam::config::Region::new(region.to_owned()));
        aws_sdk_iam::Client::from_conf(b.build())
    }

    /// An Organizations client signing for `region`.
    pub fn orgs_in(&self, who: &Who, region: &str) -> aws_sdk_organizations::Client {
        let b = sdk_builder!(aws_sdk_organizations, &self.endpoint, who).region(
            aws_sdk_organizations::config::Region::new(region.to_owned()),
        );
        aws_sdk_organizations::Client::from_conf(b.build())
    }

    /// The CloudTrail client exactly as the Rust SDK ships it.
    pub fn cloudtrail_unmodified(&self) -> aws_sdk_cloudtrail::Client {
        aws_sdk_cloudtrail::Client::from_conf(
            sdk_builder!(aws_sdk_cloudtrail, &self.endpoint, &self.root()).build(),
        )
    }

    /// Sends `raw` as is.
    pub fn send(&self, raw: &Raw) -> Resp {
        send(self.port, raw)
    }

    /// Signs `raw` for `service` with the bootstrap root credentials, now, and sends it.
    pub fn send_signed(&self, raw: Raw, service: &str) -> Resp {
        let signed = raw.signed(self.port, &Sig::new(&self.root(), service));
        self.send(&signed)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn parse_port(line: &str) -> Option<u16> {
    let rest = line.split("http://127.0.0.1:").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

// ---------------------------------------------------------------------------- SDK clients

/// Credentials (and optionally a fixed signing clock) for a client.
#[derive(Debug, Clone)]
pub struct Who {
    pub akid: String,
    pub secret: String,
    /// Sign as if the clock showed this time.
    pub time: Option<SystemTime>,
    /// The session token of temporary credentials.
    pub token: Option<String>,
}

impl Who {
    pub fn new(akid: &str, secret: &str) -> Self {
        Who {
            akid: akid.to_owned(),
            secret: secret.to_owned(),
            time: None,
            token: None,
        }
    }

    /// Temporary credentials.
    pub fn session(akid: &str, secret: &str, token: &str) -> Self {
        Who {
            token: Some(token.to_owned()),
            ..Who::new(akid, secret)
        }
    }

    pub fn at(mut self, time: SystemTime) -> Self {
        self.time = Some(time);
        self
    }
}

/// Rewrites the Smithy-based SDKs' CloudTrail target `CloudTrail_20131101.<Op>` into the
/// one botocore (boto3, the AWS CLI) sends, `com.amazonaws.cloudtrail.v20131101.
/// CloudTrail_20131101.<Op>`, before signing.
///
/// AWS accepts both targets and so must Cairn: most tests speak botocore's form through this
/// interceptor, `audit::lookup_events_with_the_unmodified_sdk` the SDK's own.
#[derive(Debug)]
pub struct BotocoreTarget;

impl aws_sdk_cloudtrail::config::Intercept for BotocoreTarget {
    fn name(&self) -> &'static str {
        "BotocoreTarget"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_sdk_cloudtrail::config::interceptors::BeforeTransmitInterceptorContextMut<
            '_,
        >,
        _components: &aws_sdk_cloudtrail::config::RuntimeComponents,
        _cfg: &mut aws_sdk_cloudtrail::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let headers = context.request_mut().headers_mut();
        let rewritten = headers
            .get("x-amz-target")
            .and_then(|t| t.strip_prefix("CloudTrail_20131101."))
            .map(|op| format!("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.{op}"));
        if let Some(target) = rewritten {
            headers.insert("x-amz-target", target);
        }
        Ok(())
    }
}

/// What a failed SDK call tells the client.
#[derive(Debug, Clone)]
pub struct ErrInfo {
    pub code: String,
    pub message: String,
    pub status: u16,
    pub request_id: Option<String>,
}

/// The AWS error of a call that must fail with a service error.
pub fn err_info<O: Debug, E>(result: Result<O, SdkError<E, HttpResponse>>) -> ErrInfo
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let err = match result {
        Ok(out) => panic!("expected an AWS error, got success: {out:?}"),
        Err(e) => e,
    };
    let Some(code) = err.code() else {
        panic!(
            "expected an AWS error response, got {}",
            DisplayErrorContext(&err)
        );
    };
    ErrInfo {
        code: code.to_owned(),
        message: err.message().unwrap_or("").to_owned(),
        status: err.raw_response().map_or(0, |r| r.status().as_u16()),
        request_id: err.request_id().map(str::to_owned),
    }
}

/// Unwraps an SDK result with the full error chain on failure.
pub fn ok<O, E>(what: &str, result: Result<O, SdkError<E, HttpResponse>>) -> O
where
    E: std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(o) => o,
        Err(e) => panic!("{what}: {}", DisplayErrorContext(&e)),
    }
}

pub fn attr(key: LookupAttributeKey, value: &str) -> LookupAttribute {
    LookupAttribute::builder()
        .attribute_key(key)
        .attribute_value(value)
        .build()
        .unwrap()
}

/// Every event `LookupEvents` returns for `filter`, following `NextToken`, newest first.
pub async fn lookup_all(
    ct: &aws_sdk_cloudtrail::Client,
    filter: Option<LookupAttribute>,
) -> Vec<Event> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = ct.lookup_events().max_results(50);
        if let Some(a) = &filter {
            req = req.lookup_attributes(a.clone());
        }
        if let Some(t) = &token {
            req = req.next_token(t.clone());
        }
        let page = ok("LookupEvents", req.send().await);
        out.extend(page.events().iter().cloned());
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => return out,
        }
        assert!(out.len() < 100_000, "LookupEvents paging does not end");
    }
}

/// The parsed `CloudTrailEvent` of an event.
pub fn record(e: &Event) -> Value {
    let raw = e
        .cloud_trail_event()
        .expect("event without CloudTrailEvent");
    serde_json::from_str(raw)
        .unwrap_or_else(|err| panic!("CloudTrailEvent is not JSON ({err}): {raw}"))
}

/// Polls `LookupEvents` (unfiltered) until a record exists for each of `request_ids`;
/// returns the records by request id. Fails after [`AUDIT_POLL`].
pub async fn await_records(
    ct: &aws_sdk_cloudtrail::Client,
    filter: Option<LookupAttribute>,
    request_ids: &[&str],
) -> std::collections::BTreeMap<String, Value> {
    let deadline = Instant::now() + AUDIT_POLL;
    loop {
        let mut by_id = std::collections::BTreeMap::new();
        for e in lookup_all(ct, filter.clone()).await {
            let r = record(&e);
            if let Some(id) = r.get("requestID").and_then(Value::as_str) {
                by_id.insert(id.to_owned(), r);
            }
        }
        let missing: Vec<&&str> = request_ids
            .iter()
            .filter(|id| !by_id.contains_key(**id))
            .collect();
        if missing.is_empty() {
            return by_id;
        }
        if Instant::now() > deadline {
            panic!(
                "no CloudTrail record after {AUDIT_POLL:?} for request ids {missing:?}; records seen: {:#?}",
                by_id
                    .values()
                    .map(|r| (r["eventName"].clone(), r["requestID"].clone()))
                    .collect::<Vec<_>>()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------- raw HTTP requests

/// A raw HTTP/1.1 request.
#[derive(Debug, Clone)]
pub struct Raw {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn new(method: &str, path: &str, body: &[u8]) -> Self {
        Raw {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: vec![(String::from("user-agent"), String::from("cairn-it/raw"))],
            body: body.to_vec(),
        }
    }

    /// An awsJson 1.1 call: `POST /` with `X-Amz-Target`.
    pub fn json(target: &str, body: &str) -> Self {
        Raw::new("POST", "/", body.as_bytes())
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", target)
    }

    /// An Organizations call.
    pub fn orgs(op: &str, body: &str) -> Self {
        Raw::json(&format!("AWSOrganizationsV20161128.{op}"), body)
    }

    /// An awsQuery call: form-encoded `POST /`.
    pub fn query(form: &str) -> Self {
        Raw::new("POST", "/", form.as_bytes()).header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Signs the request with `aws-sigv4` (header signature) as it will be sent to
    /// `127.0.0.1:<port>`.
    pub fn signed(mut self, port: u16, sig: &Sig) -> Raw {
        use aws_credential_types::Credentials;
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        use aws_sigv4::sign::v4;
        use aws_smithy_runtime_api::client::identity::Identity;

        let host = format!("127.0.0.1:{port}");
        let mut builder = http::Request::builder()
            .method(self.method.as_str())
            .uri(format!("http://{host}{}", self.path));
        if !self.has_header("host") {
            builder = builder.header("host", host.as_str());
        }
        for (n, v) in &self.headers {
            builder = builder.header(n.as_str(), v.as_str());
        }
        let mut request = builder.body(self.body.clone()).unwrap();
        let identity: Identity =
            Credentials::new(&sig.akid, &sig.secret, None, None, "cairn-it").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&sig.region)
            .name(&sig.service)
            .time(sig.time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let instructions = {
            let pairs: Vec<(&str, &str)> = request
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
                .collect();
            let signable = SignableRequest::new(
                request.method().as_str(),
                request.uri().to_string(),
                pairs.into_iter(),
                SignableBody::Bytes(request.body()),
            )
            .unwrap();
            sign(signable, &params).unwrap().into_parts().0
        };
        instructions.apply_to_request_http1x(&mut request);
        self.headers = request
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        self
    }
}

/// How to sign a raw request.
#[derive(Debug, Clone)]
pub struct Sig {
    pub akid: String,
    pub secret: String,
    pub service: String,
    pub region: String,
    pub time: SystemTime,
}

impl Sig {
    pub fn new(who: &Who, service: &str) -> Self {
        Sig {
            akid: who.akid.clone(),
            secret: who.secret.clone(),
            service: service.to_owned(),
            region: String::from("us-east-1"),
            time: who.time.unwrap_or_else(SystemTime::now),
        }
    }
}

/// A raw HTTP response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn request_id(&self) -> Option<&str> {
        self.header("x-amzn-requestid")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not JSON ({e}): {} {}",
                self.status,
                self.text()
            )
        })
    }

    /// The AWS error code: awsJson `__type` (namespace stripped) or awsQuery `<Code>`.
    pub fn error_code(&self) -> Option<String> {
        let text = self.text();
        if text.trim_start().starts_with('<') {
            let start = text.find("<Code>")? + "<Code>".len();
            let end = text[start..].find("</Code>")? + start;
            return Some(xml_unescape(&text[start..end]));
        }
        let v: Value = serde_json::from_str(&text).ok()?;
        let t = v.get("__type")?.as_str()?;
        Some(t.rsplit('#').next().unwrap_or(t).to_owned())
    }

    /// The error message: awsJson `message`/`Message`, awsQuery `<Message>`.
    pub fn error_message(&self) -> String {
        let text = self.text();
        if text.trim_start().starts_with('<') {
            let Some(start) = text.find("<Message>").map(|i| i + "<Message>".len()) else {
                return String::new();
            };
            let end = text[start..]
                .find("</Message>")
                .map_or(text.len(), |i| i + start);
            return xml_unescape(&text[start..end]);
        }
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        v.get("message")
            .or_else(|| v.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    }
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the response.
pub fn send(port: u16, raw: &Raw) -> Resp {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("connecting to {port}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!("{} {} HTTP/1.1\r\n", raw.method, raw.path);
    if !raw.has_header("host") {
        head.push_str(&format!("host: 127.0.0.1:{port}\r\n"));
    }
    for (n, v) in &raw.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        raw.body.len()
    ));
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&raw.body).unwrap();
    stream.flush().unwrap();

    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (n, v) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("bad header line {line:?}"));
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let body = if let Some(len) = get("content-length") {
        let mut body = vec![0u8; len.parse().unwrap()];
        reader.read_exact(&mut body).unwrap();
        body
    } else if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let size =
                usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap();
            let mut chunk = vec![0u8; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
        body
    } else {
        let mut body = Vec::new();
        reader.read_to_end(&mut body).unwrap();
        body
    };
    Resp {
        status,
        headers,
        body,
    }
}

// ------------------------------------------------------------------------------------ IAM

impl Server {
    /// An IAM client with the bootstrap root credentials.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        self.iam_as(&self.root())
    }

    pub fn iam_as(&self, who: &Who) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::from_conf(sdk_builder!(aws_sdk_iam, &self.endpoint, who).build())
    }

    pub fn sso_admin_as(&self, who: &Who) -> aws_sdk_ssoadmin::Client {
        aws_sdk_ssoadmin::Client::from_conf(
            sdk_builder!(aws_sdk_ssoadmin, &self.endpoint, who).build(),
        )
    }

    /// sso-oidc signed as `who` (`CreateTokenWithIAM`; the other operations are unsigned).
    pub fn sso_oidc_as(&self, who: &Who) -> aws_sdk_ssooidc::Client {
        aws_sdk_ssooidc::Client::from_conf(
            sdk_builder!(aws_sdk_ssooidc, &self.endpoint, who).build(),
        )
    }

    pub fn identitystore_as(&self, who: &Who) -> aws_sdk_identitystore::Client {
        aws_sdk_identitystore::Client::from_conf(
            sdk_builder!(aws_sdk_identitystore, &self.endpoint, who).build(),
        )
    }
}

/// A new standalone account made with `cairn signup` on the server's data directory: its ID
/// and root credentials.
pub fn signup(dir: &TempDir, email: &str, name: &str) -> (String, Who) {
    let out = Command::new(cairn_binary())
        .args(["signup", "--email", email, "--name", name, "--data-dir"])
        .arg(dir.path().join("data"))
        .env_remove("CAIRN_MASTER_KEY")
        .env_remove("CAIRN_DATABASE_URL")
        .env_remove("CAIRN_DATA_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("running cairn signup");
    assert!(
        out.status.success(),
        "cairn signup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("signup prints JSON");
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap().to_owned();
    (
        field("AccountId"),
        Who::new(&field("AccessKeyId"), &field("SecretAccessKey")),
    )
}

/// The error code and `Reason` of a raw Organizations call signed as the bootstrap root.
pub fn raw_reason(server: &Server, op: &str, body: &str) -> (String, String) {
    let resp = server.send_signed(Raw::orgs(op, body), "organizations");
    assert_eq!(resp.status, 400, "{op}: {}", resp.text());
    let v = resp.json();
    (
        resp.error_code().unwrap_or_default(),
        v["Reason"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A TLS acceptor for `localhost`, its certificate issued by a fresh test CA called
/// `ca_name`; answers the acceptor and the CA's PEM (for the server's `SSL_CERT_FILE`).
pub fn localhost_tls(ca_name: &str) -> (tokio_rustls::TlsAcceptor, String) {
    use tokio_rustls::rustls;
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, ca_name);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    #[expect(deprecated, reason = "the server side of the ring provider Cairn uses")]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    (
        tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)),
        ca_cert.pem(),
    )
}
