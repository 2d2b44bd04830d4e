//! Where trails deliver: an object store of buckets and keys, as S3 has them.
//!
//! Domain code (trail delivery, digests) sees only this trait; the binary provides the
//! implementation — a local directory under the data directory by default, or an
//! S3-compatible service — so no domain crate opens a file or a socket for it.

use crate::jobs::BoxFuture;

/// An object's metadata: S3 user metadata (`x-amz-meta-<name>`), names in lower case.
pub type Metadata = Vec<(String, String)>;

/// An object as read: its body and metadata.
pub type Object = (Vec<u8>, Metadata);

type Objects = std::collections::BTreeMap<(String, String), Object>;

/// What a bucket check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketCheck {
    /// The bucket exists; `policy` is its bucket policy document, when it has one (`None`
    /// also where the store has no policies, e.g. a local directory).
    Exists { policy: Option<String> },
    /// No such bucket.
    Missing,
}

/// A failure of the object store, with a text fit for `GetTrailStatus`'s
/// `LatestDeliveryError` (AWS reports an S3 error code such as `AccessDenied` there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectError(pub String);

impl std::fmt::Display for ObjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An object store.
pub trait ObjectStore: Send + Sync + 'static {
    /// Whether the store enforces bucket policies (CloudTrail's `InsufficientS3BucketPolicy`
    /// check applies only then).
    fn has_policies(&self) -> bool;

    /// Whether `bucket` exists, and its policy.
    fn check_bucket<'a>(
        &'a self,
        bucket: &'a str,
    ) -> BoxFuture<'a, Result<BucketCheck, ObjectError>>;

    /// Writes the object whole (a reader sees the old object or the new one, never a part).
    fn put<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        body: Vec<u8>,
        metadata: Metadata,
    ) -> BoxFuture<'a, Result<(), ObjectError>>;

    /// Reads an object and its metadata (`None`: no such object).
    fn get<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Object>, ObjectError>>;

    /// The keys in `bucket` that start with `prefix`, in lexicographic order.
    fn list<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, ObjectError>>;
}

/// An in-memory store (tests).
#[derive(Debug, Default)]
pub struct MemoryObjects {
    objects: std::sync::Mutex<Objects>,
}

impl MemoryObjects {
    fn lock(&self) -> std::sync::MutexGuard<'_, Objects> {
        match self.objects.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

impl ObjectStore for MemoryObjects {
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
            self.lock()
                .insert((bucket.to_owned(), key.to_owned()), (body, metadata));
            Ok(())
        })
    }

    fn get<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Object>, ObjectError>> {
        Box::pin(async move {
            Ok(self
                .lock()
                .get(&(bucket.to_owned(), key.to_owned()))
                .cloned())
        })
    }

    fn list<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, ObjectError>> {
        Box::pin(async move {
            Ok(self
                .lock()
                .keys()
                .filter(|(b, k)| b == bucket && k.starts_with(prefix))
                .map(|(_, k)| k.clone())
                .collect())
        })
    }
}

/// Sealing secrets at rest with the master key (the binary provides it; trail signing keys
/// are stored sealed).
pub trait Seal: Send + Sync + 'static {
    /// `plaintext` sealed with the fresh random `nonce`; `None` if sealing failed.
    fn seal(&self, plaintext: &str, nonce: [u8; 12]) -> Option<String>;
    /// The plaintext of `sealed`; `None` if it does not open (another key, altered).
    fn open(&self, sealed: &str) -> Option<String>;
}

/// HTTPS GET for what Cairn reads from elsewhere — an OpenID Connect issuer's discovery
/// document and keys (the binary provides it; TLS verified against the trusted roots):
/// answers the HTTP status and body.
pub trait Fetch: Send + Sync + 'static {
    fn get<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(u16, Vec<u8>), ObjectError>>;
}

/// HTTP POST for the event streams (the binary provides it, so no domain crate opens a
/// socket): answers the HTTP status.
pub trait Webhook: Send + Sync + 'static {
    fn post<'a>(
        &'a self,
        url: &'a str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<u16, ObjectError>>;
}
