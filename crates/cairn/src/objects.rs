//! The object stores trails deliver into ([`cairn_core::ObjectStore`]).
//!
//! * [`LocalDir`] — the default: `<data-dir>/objects/<bucket>/<key>`, every bucket present
//!   (made on first write), no bucket policies. An object's user metadata (a digest's
//!   signature) lives beside the tree, in `<root>/.metadata/<bucket>/<key>.json`; bucket
//!   names cannot start with `.`, so it never collides with a bucket.
//! * [`S3`] — an S3-compatible service over `http://` or `https://` (MinIO, Ceph, Garage,
//!   moto, AWS S3): path-style requests signed with SigV4 by our own signer; a trail's bucket
//!   is a bucket there, checked at `CreateTrail` (`HeadBucket`, then its policy). Written
//!   here rather than taken from the `object_store` crate: its S3 support brings an HTTP
//!   stack (reqwest, aws-lc-rs) that costs minutes of build on two cores for four requests.
//!
//! Both the S3 client and the event streams' webhook client ([`HttpWebhook`]) speak HTTP/1.1
//! over one pool of keep-alive connections, plain or TLS (rustls; the trusted roots are the
//! system's, or those in `SSL_CERT_FILE` / `SSL_CERT_DIR` when set).

use cairn_core::jobs::BoxFuture;
use cairn_core::objects::{Metadata, Object};
use cairn_core::{BucketCheck, ObjectError, ObjectStore};
use std::path::{Component, Path, PathBuf};

/// A local directory as an object store.
#[derive(Debug, Clone)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: PathBuf) -> Self {
        LocalDir { root }
    }

    /// The file of `bucket`/`key`, refusing keys that would leave the bucket's directory.
    fn path(&self, bucket: &str, key: &str) -> Result<PathBuf, ObjectError> {
        let bucket_ok = !bucket.is_empty()
            && !bucket.starts_with('.')
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bucket_ok {
            return Err(ObjectError(format!("InvalidBucketName: {bucket}")));
        }
        let rel = Path::new(key);
        let clean = !key.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !clean {
            return Err(ObjectError(format!("InvalidObjectKey: {key}")));
        }
        Ok(self.root.join(bucket).join(rel))
    }

    fn meta_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root
            .join(".metadata")
            .join(bucket)
            .join(format!("{key}.json"))
    }
}

fn io(e: &std::io::Error) -> ObjectError {
    ObjectError(format!("InternalError: {e}"))
}

/// Writes `body` to `path` whole: a temporary file in the same directory, then a rename.
fn write_whole(path: &Path, body: &[u8]) -> Result<(), ObjectError> {
    let dir = path
        .parent()
        .ok_or_else(|| ObjectError("InternalError: no parent".into()))?;
    std::fs::create_dir_all(dir).map_err(|e| io(&e))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("object");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, body).map_err(|e| io(&e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(&e))
}

impl ObjectStore for LocalDir {
    fn has_policies(&self) -> bool {
        false
    }

    fn check_bucket<'a>(
        &'a self,
        _bucket: &'a str,
    ) -> BoxFuture<'a, Result<BucketCheck, ObjectError>> {
        Box::pin(async { Ok(BucketCheck::Exists { policy: None }) })
    }

    fn put<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        body: Vec<u8>,
        metadata: Metadata,
    ) -> BoxFuture<'a, Result<(), ObjectError>> {
        Box::pin(async move {
            let path = self.path(bucket, key)?;
            let meta = (!metadata.is_empty()).then(|| {
                let map: serde_json::Map<String, serde_json::Value> = metadata
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect();
                (
                    self.meta_path(bucket, key),
                    serde_json::Value::Object(map).to_string(),
                )
            });
            tokio::task::spawn_blocking(move || {
                // The metadata first: an object is never visible without it.
                if let Some((mpath, text)) = meta {
                    write_whole(&mpath, text.as_bytes())?;
                }
                write_whole(&path, &body)
            })
            .await
            .map_err(|e| ObjectError(format!("InternalError: {e}")))?
        })
    }

    fn get<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Object>, ObjectError>> {
        Box::pin(async move {
            let path = self.path(bucket, key)?;
            let mpath = self.meta_path(bucket, key);
            tokio::task::spawn_blocking(move || {
                let body = match std::fs::read(&path) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(io(&e)),
                };
                let meta = match std::fs::read(&mpath) {
                    Ok(text) => {
                        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&text)
                            .map(|m| {
                                m.into_iter()
                                    .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                                    .collect()
                            })
                            .unwrap_or_default()
                    }
                    Err(_) => Vec::new(),
                };
                Ok(Some((body, meta)))
            })
            .await
            .map_err(|e| ObjectError(format!("InternalError: {e}")))?
        })
    }

    fn list<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, ObjectError>> {
        Box::pin(async move {
            let base = self.root.join(bucket);
            if bucket.starts_with('.') || bucket.contains('/') {
                return Ok(Vec::new());
            }
            let prefix = prefix.to_owned();
            tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                let mut stack = vec![base.clone()];
                while let Some(dir) = stack.pop() {
                    let entries = match std::fs::read_dir(&dir) {
                        Ok(e) => e,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(io(&e)),
                    };
                    for entry in entries {
                        let entry = entry.map_err(|e| io(&e))?;
                        let path = entry.path();
                        let name = entry.file_name();
                        if name.to_string_lossy().starts_with('.') {
                            continue; // temporary files
                        }
                        if path.is_dir() {
                            stack.push(path);
                        } else if let Ok(rel) = path.strip_prefix(&base) {
                            let key = rel
                                .components()
                                .filter_map(|c| c.as_os_str().to_str())
                                .collect::<Vec<_>>()
                                .join("/");
                            if key.starts_with(&prefix) {
                                out.push(key);
                            }
                        }
                    }
                }
                out.sort();
                Ok(out)
            })
            .await
            .map_err(|e| ObjectError(format!("InternalError: {e}")))?
        })
    }
}

/// An S3-compatible object store.
#[derive(Debug, Clone)]
pub struct S3 {
    /// The endpoint.
    target: Target,
    region: String,
    access_key_id: String,
    secret_access_key: String,
    /// Only this bucket, when the URL named one (`s3://bucket`).
    only_bucket: Option<String>,
}

/// Characters S3 keeps unescaped in a path segment (RFC 3986 unreserved).
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The text of every `<tag>…</tag>` in `xml`.
fn xml_all(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(xml_unescape(&after[..j]));
        rest = &after[j + close.len()..];
    }
    out
}

struct S3Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

type Sender = hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>;

/// Where requests go: `host:port`, and whether over TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host:port` (what is dialled, and the `Host` header).
    pub authority: String,
    /// The host (a DNS name or an IP address), checked against the server's certificate.
    host: String,
    pub tls: bool,
}

impl Target {
    /// From `http://host[:port][/path][?query]` or the same with `https://`: the target and
    /// the request path (with its query; `/` when there is none). The port defaults to 80 or
    /// 443.
    pub fn parse(url: &str) -> Result<(Target, String), String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("not an http:// or https:// URL: {url:?}"));
        };
        let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        // `http://host` asks for `/`, `http://host?q` for `/?q`.
        let path = if tail.starts_with('/') {
            tail.to_owned()
        } else {
            format!("/{tail}")
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(format!("no host in {url:?}"));
        }
        // `[v6]:port`, `[v6]`, `host:port`, `host`.
        let (host, port) = if let Some(r) = authority.strip_prefix('[') {
            let (h, after) = r
                .split_once(']')
                .ok_or_else(|| format!("bad IPv6 host in {url:?}"))?;
            (h.to_owned(), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (authority.to_owned(), None),
            }
        };
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("bad port in {url:?}"))?,
            None if tls => 443,
            None => 80,
        };
        let dial = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok((
            Target {
                authority: dial,
                host,
                tls,
            },
            path,
        ))
    }

    /// The pool's key: scheme and authority.
    fn pool_key(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.authority
        )
    }
}

/// Idle keep-alive connections per endpoint (scheme and `host:port`), shared by the S3
/// client and the webhooks: delivery and event streams reuse a connection instead of
/// opening one per request.
static POOL: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Vec<Sender>>>> =
    std::sync::LazyLock::new(Default::default);
/// Idle connections kept per endpoint.
const MAX_IDLE: usize = 8;

fn take_idle(key: &str) -> Option<Sender> {
    let mut pool = POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let idle = pool.get_mut(key)?;
    while let Some(s) = idle.pop() {
        if !s.is_closed() {
            return Some(s);
        }
    }
    None
}

fn give_back(key: &str, sender: Sender) {
    if sender.is_closed() {
        return;
    }
    let mut pool = POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let idle = pool.entry(key.to_owned()).or_default();
    if idle.len() < MAX_IDLE {
        idle.push(sender);
    }
}

/// The TLS client settings: the system's trusted roots (or `SSL_CERT_FILE` /
/// `SSL_CERT_DIR`), rustls' safe defaults (TLS 1.2 and 1.3), ring's algorithms.
static TLS: std::sync::LazyLock<
    Result<std::sync::Arc<tokio_rustls::rustls::ClientConfig>, String>,
> = std::sync::LazyLock::new(|| {
    use tokio_rustls::rustls;
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
        return Err(format!(
            "no trusted CA certificates (the system store, SSL_CERT_FILE or SSL_CERT_DIR){}",
            if why.is_empty() {
                String::new()
            } else {
                format!(": {}", why.join("; "))
            }
        ));
    }
    #[expect(
        deprecated,
        reason = "ring, not aws-lc-rs (whose C build costs minutes on two cores): no \
                      post-quantum key exchange, which connections to the operator's own \
                      object store and webhooks can do without"
    )]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
});

async fn handshake<T>(io: T) -> Result<Sender, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// A new connection to `target` (TLS-verified when it is `https`), within 10 s.
async fn connect(target: &Target) -> Result<Sender, String> {
    let limit = std::time::Duration::from_secs(10);
    let stream = tokio::time::timeout(limit, tokio::net::TcpStream::connect(&target.authority))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    if !target.tls {
        return handshake(stream).await;
    }
    let config = TLS.as_ref().map_err(Clone::clone)?;
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(target.host.clone())
        .map_err(|e| format!("{}: {e}", target.host))?;
    let tls = tokio::time::timeout(
        limit,
        tokio_rustls::TlsConnector::from(std::sync::Arc::clone(config)).connect(name, stream),
    )
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("TLS: {e}"))?;
    handshake(tls).await
}

/// The same request again (a pooled connection the peer had closed is retried once on a
/// new one).
fn copy(
    req: &hyper::Request<http_body_util::Full<bytes::Bytes>>,
) -> hyper::Request<http_body_util::Full<bytes::Bytes>> {
    let mut again = hyper::Request::new(req.body().clone());
    *again.method_mut() = req.method().clone();
    *again.uri_mut() = req.uri().clone();
    *again.headers_mut() = req.headers().clone();
    again
}

/// Sends one HTTP/1.1 request to `target` on a pooled or new connection and reads the whole
/// response, within 10 s to connect and 60 s to answer.
async fn send(
    target: &Target,
    req: hyper::Request<http_body_util::Full<bytes::Bytes>>,
) -> Result<S3Response, String> {
    use http_body_util::BodyExt;
    let timeout = std::time::Duration::from_secs(60);
    let key = target.pool_key();
    let mut pooled = take_idle(&key);
    if let Some(s) = pooled.as_mut()
        && s.ready().await.is_err()
    {
        pooled = None;
    }
    let (mut sender, resp) = match pooled {
        Some(mut s) => {
            let spare = copy(&req);
            match tokio::time::timeout(timeout, s.send_request(req)).await {
                Ok(Ok(resp)) => (s, resp),
                // The idle connection went away under us: once more on a new one.
                _ => {
                    let mut fresh = connect(target).await?;
                    let resp = tokio::time::timeout(timeout, fresh.send_request(spare))
                        .await
                        .map_err(|e| e.to_string())?
                        .map_err(|e| e.to_string())?;
                    (fresh, resp)
                }
            }
        }
        None => {
            let mut fresh = connect(target).await?;
            let resp = tokio::time::timeout(timeout, fresh.send_request(req))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            (fresh, resp)
        }
    };
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_owned(), v.to_owned()))
        })
        .collect();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes()
        .to_vec();
    if sender.ready().await.is_ok() {
        give_back(&key, sender);
    }
    Ok(S3Response {
        status,
        headers,
        body,
    })
}

/// The event streams' HTTP client (`http://` and `https://` endpoints).
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpWebhook;

impl cairn_core::Webhook for HttpWebhook {
    fn post<'a>(
        &'a self,
        url: &'a str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<u16, ObjectError>> {
        Box::pin(async move {
            let (target, path) = Target::parse(url).map_err(ObjectError)?;
            let mut req = hyper::Request::builder()
                .method("POST")
                .uri(path)
                .header("host", target.authority.as_str())
                .header("content-length", body.len());
            for (k, v) in &headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let req = req
                .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                .map_err(|e| ObjectError(e.to_string()))?;
            send(&target, req)
                .await
                .map(|r| r.status)
                .map_err(ObjectError)
        })
    }
}

/// GET over the same client (OpenID Connect discovery documents and keys).
impl cairn_core::Fetch for HttpWebhook {
    fn get<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(u16, Vec<u8>), ObjectError>> {
        Box::pin(async move {
            let (target, path) = Target::parse(url).map_err(ObjectError)?;
            let req = hyper::Request::builder()
                .method("GET")
                .uri(path)
                .header("host", target.authority.as_str())
                .header("accept", "application/json")
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .map_err(|e| ObjectError(e.to_string()))?;
            send(&target, req)
                .await
                .map(|r| (r.status, r.body))
                .map_err(ObjectError)
        })
    }
}

impl S3 {
    /// From `--object-store s3://[bucket]` and the endpoint settings.
    pub fn new(
        endpoint: &str,
        region: &str,
        access_key_id: &str,
        secret_access_key: &str,
        only_bucket: Option<String>,
    ) -> Result<Self, String> {
        let bad = || format!("the S3 endpoint must be http(s)://host[:port], got {endpoint:?}");
        let (target, path) = Target::parse(endpoint).map_err(|_| bad())?;
        if path != "/" {
            return Err(bad());
        }
        Ok(S3 {
            target,
            region: region.to_owned(),
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            only_bucket,
        })
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        query: &str,
        extra: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<S3Response, ObjectError> {
        use sha2::Digest;
        #[expect(
            clippy::disallowed_methods,
            reason = "the binary's own clock, for signing"
        )]
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let amz_date = cairn_sigv4::format_amz_date(now);
        let sha = hex_lower(&sha2::Sha256::digest(&body));
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), self.target.authority.clone()),
            ("x-amz-content-sha256".into(), sha),
            ("x-amz-date".into(), amz_date.clone()),
        ];
        headers.extend(extra.iter().cloned());
        let signed: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_bytes()))
            .collect();
        let auth = cairn_sigv4::client_authorization(
            method,
            path,
            query,
            &signed,
            &body,
            &self.access_key_id,
            &self.secret_access_key,
            &self.region,
            "s3",
            &amz_date,
        );
        let uri = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        let mut req = hyper::Request::builder().method(method).uri(uri);
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .header("authorization", auth)
            .header("content-length", body.len())
            .body(http_body_util::Full::new(bytes::Bytes::from(body)))
            .map_err(|e| ObjectError(format!("InternalError: {e}")))?;
        send(&self.target, req).await.map_err(|e| {
            ObjectError(format!(
                "ServiceUnavailable: S3 endpoint {}: {e}",
                self.target.pool_key()
            ))
        })
    }

    fn error(what: &str, r: &S3Response) -> ObjectError {
        let text = String::from_utf8_lossy(&r.body);
        let code = xml_all(&text, "Code")
            .into_iter()
            .next()
            .unwrap_or_default();
        ObjectError(format!(
            "{} ({what}: HTTP {})",
            if code.is_empty() { "S3Error" } else { &code },
            r.status
        ))
    }

    fn path(bucket: &str, key: &str) -> String {
        format!("/{}/{}", uri_encode(bucket, false), uri_encode(key, true))
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ObjectStore for S3 {
    fn has_policies(&self) -> bool {
        true
    }

    fn check_bucket<'a>(
        &'a self,
        bucket: &'a str,
    ) -> BoxFuture<'a, Result<BucketCheck, ObjectError>> {
        Box::pin(async move {
            if self.only_bucket.as_deref().is_some_and(|b| b != bucket) {
                return Ok(BucketCheck::Missing);
            }
            let path = format!("/{}", uri_encode(bucket, false));
            let head = self.request("HEAD", &path, "", &[], Vec::new()).await?;
            match head.status {
                200 => {}
                404 => return Ok(BucketCheck::Missing),
                _ => return Err(Self::error("HeadBucket", &head)),
            }
            let pol = self
                .request("GET", &path, "policy=", &[], Vec::new())
                .await?;
            match pol.status {
                200 => Ok(BucketCheck::Exists {
                    policy: Some(String::from_utf8_lossy(&pol.body).into_owned()),
                }),
                404 => Ok(BucketCheck::Exists { policy: None }),
                _ => Err(Self::error("GetBucketPolicy", &pol)),
            }
        })
    }

    fn put<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        body: Vec<u8>,
        metadata: Metadata,
    ) -> BoxFuture<'a, Result<(), ObjectError>> {
        Box::pin(async move {
            let extra: Vec<(String, String)> = metadata
                .into_iter()
                .map(|(k, v)| (format!("x-amz-meta-{}", k.to_ascii_lowercase()), v))
                .collect();
            let r = self
                .request("PUT", &Self::path(bucket, key), "", &extra, body)
                .await?;
            if r.status == 200 {
                Ok(())
            } else {
                Err(Self::error("PutObject", &r))
            }
        })
    }

    fn get<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Object>, ObjectError>> {
        Box::pin(async move {
            let r = self
                .request("GET", &Self::path(bucket, key), "", &[], Vec::new())
                .await?;
            match r.status {
                200 => {
                    let meta = r
                        .headers
                        .iter()
                        .filter_map(|(k, v)| {
                            k.strip_prefix("x-amz-meta-")
                                .map(|n| (n.to_owned(), v.clone()))
                        })
                        .collect();
                    Ok(Some((r.body, meta)))
                }
                404 => Ok(None),
                _ => Err(Self::error("GetObject", &r)),
            }
        })
    }

    fn list<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, ObjectError>> {
        Box::pin(async move {
            let path = format!("/{}", uri_encode(bucket, false));
            let mut out = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let mut query = vec![
                    ("list-type".to_owned(), "2".to_owned()),
                    ("prefix".to_owned(), prefix.to_owned()),
                ];
                if let Some(t) = &token {
                    query.push(("continuation-token".to_owned(), t.clone()));
                }
                query.sort();
                let q = query
                    .iter()
                    .map(|(k, v)| format!("{k}={}", uri_encode(v, false)))
                    .collect::<Vec<_>>()
                    .join("&");
                let r = self.request("GET", &path, &q, &[], Vec::new()).await?;
                if r.status != 200 {
                    return Err(Self::error("ListObjectsV2", &r));
                }
                let text = String::from_utf8_lossy(&r.body).into_owned();
                out.extend(xml_all(&text, "Key"));
                let truncated = xml_all(&text, "IsTruncated")
                    .first()
                    .is_some_and(|t| t == "true");
                token = xml_all(&text, "NextContinuationToken").into_iter().next();
                if !truncated || token.is_none() {
                    break;
                }
            }
            out.sort();
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn objects_round_trip_with_metadata_and_list_by_prefix() {
        let root = std::env::temp_dir().join(format!("cairn-objects-{}", std::process::id()));
        let store = LocalDir::new(root.clone());
        store
            .put("logs", "a/b/one.json.gz", b"1".to_vec(), Vec::new())
            .await
            .unwrap();
        store
            .put(
                "logs",
                "a/c/two.json.gz",
                b"2".to_vec(),
                vec![("signature".to_owned(), "abc".to_owned())],
            )
            .await
            .unwrap();
        let (body, meta) = store.get("logs", "a/c/two.json.gz").await.unwrap().unwrap();
        assert_eq!(body, b"2");
        assert_eq!(meta, vec![("signature".to_owned(), "abc".to_owned())]);
        assert_eq!(
            store.list("logs", "a/").await.unwrap(),
            vec!["a/b/one.json.gz", "a/c/two.json.gz"]
        );
        assert_eq!(
            store.list("logs", "a/c").await.unwrap(),
            vec!["a/c/two.json.gz"]
        );
        assert!(store.get("logs", "nope").await.unwrap().is_none());
        assert!(
            store
                .put("logs", "../escape", Vec::new(), Vec::new())
                .await
                .is_err()
        );
        assert!(
            store
                .put("../x", "k", Vec::new(), Vec::new())
                .await
                .is_err()
        );
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn endpoints_parse_with_their_scheme_and_default_ports() {
        let t = |u: &str| Target::parse(u).map(|(t, p)| (t.authority, t.host, t.tls, p));
        assert_eq!(
            t("https://s3.eu-west-1.amazonaws.com"),
            Ok((
                "s3.eu-west-1.amazonaws.com:443".into(),
                "s3.eu-west-1.amazonaws.com".into(),
                true,
                "/".into()
            ))
        );
        assert_eq!(
            t("http://127.0.0.1:9000/hook?x=1"),
            Ok((
                "127.0.0.1:9000".into(),
                "127.0.0.1".into(),
                false,
                "/hook?x=1".into()
            ))
        );
        assert_eq!(
            t("https://[::1]:8443/"),
            Ok(("[::1]:8443".into(), "::1".into(), true, "/".into()))
        );
        assert_eq!(
            t("http://minio"),
            Ok(("minio:80".into(), "minio".into(), false, "/".into()))
        );
        assert_eq!(
            t("http://hooks.example?token=1"),
            Ok((
                "hooks.example:80".into(),
                "hooks.example".into(),
                false,
                "/?token=1".into()
            ))
        );
        assert!(t("ftp://x").is_err());
        assert!(t("https://").is_err());
        assert!(t("http://h:notaport").is_err());
        assert!(t("http://user@h").is_err());
        assert!(S3::new("https://minio.example:9000/", "us-east-1", "a", "b", None).is_ok());
        assert!(S3::new("https://minio.example/bucket", "us-east-1", "a", "b", None).is_err());
    }

    #[test]
    fn encodings() {
        assert_eq!(uri_encode("a b/c~", true), "a%20b/c~");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
        assert_eq!(
            xml_all("<R><Key>a&amp;b</Key><Key>c</Key></R>", "Key"),
            vec!["a&b", "c"]
        );
    }
}
