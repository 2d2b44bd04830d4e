//! The object stores trails deliver into ([`cairn_core::ObjectStore`]).
//!
//! * [`LocalDir`] — the default: `<data-dir>/objects/<bucket>/<key>`, every bucket present
//!   (made on first write), no bucket policies. An object's user metadata (a digest's
//!   signature) lives beside the tree, in `<root>/.metadata/<bucket>/<key>.json`; bucket
//!   names cannot start with `.`, so it never collides with a bucket.

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
}
