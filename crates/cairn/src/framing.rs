//! AWS-shaped answers to requests that are not valid HTTP/1.1.
//!
//! hyper refuses a request it cannot parse — a negative, non-numeric or repeated
//! `Content-Length`, a `Transfer-Encoding` other than `chunked`, control bytes in a header
//! value, more headers than it accepts, a URI past its limit — before any handler runs, with
//! a bare `400`/`414`/`431` head and an empty body, then closes the connection. SDKs turn an
//! empty error body into an unhelpful parse error, so [`Guarded`] sits between hyper and the
//! socket and rewrites exactly that reply: a response head with a client- or server-error
//! status, `content-length: 0` and no `content-type` is one hyper wrote itself (every
//! response of the pipeline carries a content type and a body). The replacement keeps the
//! status and carries an AWS error in the protocol the request was in, told from the bytes
//! already read of it (`X-Amz-Target` → awsJson, `Action=` → awsQuery XML), or plain text
//! when the protocol cannot be told.

use cairn_core::Ids;
use cairn_wire::{ApiError, CommonError, json, model::Protocol, query};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How much of each request is kept to tell its protocol.
const SNIFF_BYTES: usize = 8 * 1024;

/// A connection whose parse-error replies are rewritten (see the module doc).
pub struct Guarded<S> {
    inner: S,
    /// The first bytes of the request being read (cleared when a response starts).
    seen: Vec<u8>,
    /// A rewritten reply being written: bytes, how many are written, and how many bytes of
    /// hyper's original write it stands for.
    replacing: Option<(Vec<u8>, usize, usize)>,
    ids: Arc<dyn Ids>,
}

impl<S> Guarded<S> {
    pub fn new(inner: S, ids: Arc<dyn Ids>) -> Self {
        Guarded {
            inner,
            seen: Vec::new(),
            replacing: None,
            ids,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let room = SNIFF_BYTES.saturating_sub(this.seen.len());
        if room > 0
            && let Some(new) = buf.filled().get(before..)
        {
            this.seen
                .extend_from_slice(new.get(..room.min(new.len())).unwrap_or(new));
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> Guarded<S> {
    /// Writes the rest of the replacement; `Ready(n)` once all of it is out, where `n` is the
    /// length of hyper's write it replaced.
    fn drive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        while let Some((bytes, written, consumed)) = &mut self.replacing {
            let rest = bytes.get(*written..).unwrap_or(&[]);
            if rest.is_empty() {
                let n = *consumed;
                self.replacing = None;
                return Poll::Ready(Ok(n));
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, rest))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(0))
    }

    /// Starts rewriting if `head` is hyper's own error reply; notes a response start.
    fn inspect(&mut self, head: &[u8], total: usize) -> bool {
        if !head.starts_with(b"HTTP/1.") {
            return false;
        }
        match parse_error_head(head) {
            Some(status) => {
                let reply = replacement(status, &self.seen, &self.ids.uuid());
                self.replacing = Some((reply, 0, total));
                true
            }
            None => {
                // A response of the pipeline: the next bytes read belong to a new request.
                self.seen.clear();
                false
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacing.is_some() || this.inspect(buf, buf.len()) {
            return this.drive(cx);
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let total = bufs.iter().map(|b| b.len()).sum();
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        if this.replacing.is_some() || this.inspect(first, total) {
            return this.drive(cx);
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.replacing.is_some() {
            ready!(this.drive(cx))?;
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.replacing.is_some() {
            ready!(this.drive(cx))?;
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// The status of a complete response head that hyper wrote for a request it could not
/// parse: 4xx/5xx, `content-length: 0`, no `content-type`. `None` for anything else.
fn parse_error_head(head: &[u8]) -> Option<u16> {
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    let text = std::str::from_utf8(head.get(..end)?).ok()?;
    let mut lines = text.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    if !(400..600).contains(&status) {
        return None;
    }
    let mut empty = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-type") {
            return None;
        }
        if name.eq_ignore_ascii_case("content-length") {
            empty = value.trim() == "0";
        }
    }
    empty.then_some(status)
}

/// The protocol of a request from its first bytes, if it can be told.
fn sniff(seen: &[u8]) -> Option<Protocol> {
    let head_end = seen
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(seen.len());
    let head = seen.get(..head_end).unwrap_or(seen).to_ascii_lowercase();
    if head.windows(14).any(|w| w == b"\nx-amz-target:") {
        return Some(Protocol::Json);
    }
    if seen.windows(7).any(|w| w == b"Action=") {
        return Some(Protocol::Query);
    }
    None
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        505 => "HTTP Version Not Supported",
        s if s >= 500 => "Internal Server Error",
        _ => "Bad Request",
    }
}

/// The error a parse failure with `status` reports.
fn framing_error(status: u16, protocol: Protocol) -> ApiError {
    let (code, message) = match status {
        414 => (
            "RequestURITooLong",
            "The request URI is longer than this endpoint accepts.",
        ),
        431 => (
            "RequestHeaderFieldsTooLarge",
            "The request has more header fields, or larger ones, than this endpoint accepts.",
        ),
        505 => (
            "HTTPVersionNotSupported",
            "Only HTTP/1.0 and HTTP/1.1 are supported.",
        ),
        _ => {
            let mut err = CommonError::Serialization(String::from(
                "The request is not well-formed HTTP/1.1: its request line, a header field \
                 (control characters, an invalid Content-Length) or its framing \
                 (Transfer-Encoding other than chunked) could not be parsed.",
            ))
            .to_api_error(protocol);
            err.status = status;
            return err;
        }
    };
    let mut err = CommonError::Serialization(message.to_owned()).to_api_error(protocol);
    err.code = std::borrow::Cow::Borrowed(code);
    err.status = status;
    err
}

/// The whole replacement response for a parse failure.
fn replacement(status: u16, seen: &[u8], request_id: &str) -> Vec<u8> {
    let (content_type, body) = match sniff(seen) {
        Some(Protocol::Query) => (
            "text/xml",
            query::error_xml("", &framing_error(status, Protocol::Query), request_id).into_bytes(),
        ),
        Some(protocol) => (
            "application/x-amz-json-1.1",
            json::error_body(&framing_error(status, protocol)),
        ),
        None => {
            let err = framing_error(status, Protocol::Json);
            (
                "text/plain; charset=utf-8",
                format!("{status} {}: {}\n", reason_phrase(status), err.message).into_bytes(),
            )
        }
    };
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         x-amzn-requestid: {request_id}\r\nconnection: close\r\n\r\n",
        reason_phrase(status),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn only_hypers_bare_error_heads_are_rewritten() {
        let hyper = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(parse_error_head(hyper), Some(400));
        let ours =
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/xml\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parse_error_head(ours), None);
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parse_error_head(ok), None);
        let with_body = b"HTTP/1.1 431 Too Large\r\ncontent-length: 12\r\n\r\n";
        assert_eq!(parse_error_head(with_body), None);
        assert_eq!(parse_error_head(b"HTTP/1.1 400 Bad"), None);
    }

    #[test]
    fn the_protocol_is_told_from_what_was_read() {
        let json = b"POST / HTTP/1.1\r\nX-Amz-Target: AWSOrganizationsV20161128.ListRoots\r\ncontent-length: -1\r\n\r\n";
        assert_eq!(sniff(json), Some(Protocol::Json));
        let query = b"POST /?Action=GetUser&Version=2010-05-08 HTTP/1.1\r\n\r\n";
        assert_eq!(sniff(query), Some(Protocol::Query));
        assert_eq!(sniff(b"GET / HTTP/1.1\r\n\r\n"), None);
        let reply = String::from_utf8(replacement(400, query, "rid")).unwrap();
        assert!(reply.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{reply}");
        assert!(
            reply.contains("<Code>MalformedQueryString</Code>"),
            "{reply}"
        );
        let reply = String::from_utf8(replacement(431, json, "rid")).unwrap();
        assert!(
            reply.contains("\"__type\":\"RequestHeaderFieldsTooLarge\""),
            "{reply}"
        );
        let reply = String::from_utf8(replacement(414, b"", "rid")).unwrap();
        assert!(reply.contains("text/plain"), "{reply}");
        assert!(
            reply.ends_with(
                "414 URI Too Long: The request URI is longer than this endpoint accepts.\n"
            ),
            "{reply}"
        );
    }
}
