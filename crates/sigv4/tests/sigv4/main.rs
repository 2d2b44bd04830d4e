//! Integration tests for `cairn-sigv4`, one binary:
//! * `conformance` — AWS's SigV4 test-suite vectors (skipped when `shared/` is absent);
//! * `crosscheck` — requests signed by the official `aws-sigv4` crate;
//! * `errors` — error kinds and AWS messages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "test code: a failed expectation panics; tests sign requests at the wall-clock time"
)]

mod conformance;
mod crosscheck;
mod errors;

use cairn_sigv4::Request;

/// An owned HTTP request; [`Owned::with`] lends it out as a [`Request`].
#[derive(Debug, Clone)]
pub struct Owned {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Owned {
    pub fn new(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Self {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec()))
                .collect(),
            body: body.to_vec(),
        }
    }

    /// Runs `f` with a borrowed [`Request`] view.
    pub fn with<R>(&self, f: impl FnOnce(&Request<'_>) -> R) -> R {
        let headers: Vec<(&str, &[u8])> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        f(&Request {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &headers,
            body: &self.body,
        })
    }

    pub fn header_mut(&mut self, name: &str) -> Option<&mut Vec<u8>> {
        self.headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        match self.header_mut(name) {
            Some(v) => *v = value.as_bytes().to_vec(),
            None => self
                .headers
                .push((name.to_owned(), value.as_bytes().to_vec())),
        }
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
}

/// Parses `parse` + `verify` in one go.
pub fn check(
    req: &Owned,
    secret: &str,
    now: i64,
    opts: &cairn_sigv4::VerifyOptions,
) -> Result<cairn_sigv4::Parsed, cairn_sigv4::SigError> {
    req.with(|r| {
        let parsed = cairn_sigv4::parse(r)?;
        cairn_sigv4::verify(r, &parsed, secret, now, opts)?;
        Ok(parsed)
    })
}
