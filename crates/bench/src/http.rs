//! A minimal HTTP/1.1 client: one persistent keep-alive connection, one request at a time.
//!
//! Enough for the benchmark and no more: it writes a request that the caller has already
//! serialised, and reads one response framed by `Content-Length` (what both servers send),
//! `Transfer-Encoding: chunked`, or the connection closing.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest response body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// The server will not take another request on this connection.
    pub close: bool,
    /// The `Location` header, if any (the portal's redirects).
    pub location: Option<String>,
    /// Every `Set-Cookie` header, in order.
    pub set_cookies: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

#[derive(Debug, PartialEq, Eq)]
struct Head {
    status: u16,
    framing: Framing,
    close: bool,
    location: Option<String>,
    set_cookies: Vec<String>,
}

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Parses a response head (status line and headers, without the final empty line).
fn parse_head(raw: &[u8]) -> io::Result<Head> {
    let text = std::str::from_utf8(raw).map_err(|_| bad("response head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("empty response"))?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        other => return Err(bad(format!("unexpected HTTP version {other:?}"))),
    };
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
    let mut length = None;
    let mut chunked = false;
    let mut close = http10;
    let mut location = None;
    let mut set_cookies = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad(format!("bad header line {line:?}")))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n: usize = value
                .parse()
                .map_err(|_| bad(format!("bad Content-Length {value:?}")))?;
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("location") {
            location = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("set-cookie") {
            set_cookies.push(value.to_owned());
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    close = true;
                } else if token.eq_ignore_ascii_case("keep-alive") && http10 {
                    close = false;
                }
            }
        }
    }
    let framing = if status / 100 == 1 || status == 204 || status == 304 {
        Framing::Length(0)
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        close = true;
        Framing::UntilClose
    };
    if let Framing::Length(n) = framing
        && n > MAX_BODY
    {
        return Err(bad(format!("response body of {n} bytes is too large")));
    }
    Ok(Head {
        status,
        framing,
        close,
        location,
        set_cookies,
    })
}

/// A persistent HTTP/1.1 connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(8 * 1024),
        })
    }

    /// Reads more bytes into the buffer; `Ok(0)` at end of stream.
    async fn fill(&mut self) -> io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(8 * 1024);
        }
        self.stream.read_buf(&mut self.buf).await
    }

    /// Fills until the buffer holds at least `n` bytes.
    async fn ensure(&mut self, n: usize) -> io::Result<()> {
        while self.buf.len() < n {
            if self.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }

    /// Fills until a CRLF appears at or after `from`; returns its position.
    async fn line_end(&mut self, from: usize) -> io::Result<usize> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n", from) {
                return Ok(i);
            }
            if self.buf.len() > from + MAX_HEAD {
                return Err(bad("line too long"));
            }
            if self.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Sends one serialised request and reads its response.
    pub async fn send(&mut self, request: &[u8]) -> io::Result<Response> {
        // A well-behaved server sends nothing between responses; anything left over is stale.
        self.buf.clear();
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n", 0) {
                break i + 4;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("response head too large"));
            }
            if self.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        };
        let head = parse_head(self.buf.get(..head_end - 4).unwrap_or_default())?;
        let (body, consumed, close) = match head.framing {
            Framing::Length(n) => {
                self.ensure(head_end + n).await?;
                let body = self
                    .buf
                    .get(head_end..head_end + n)
                    .unwrap_or_default()
                    .to_vec();
                (body, head_end + n, head.close)
            }
            Framing::Chunked => {
                let (body, consumed) = self.read_chunked(head_end).await?;
                (body, consumed, head.close)
            }
            Framing::UntilClose => {
                while self.fill().await? != 0 {
                    if self.buf.len() > head_end + MAX_BODY {
                        return Err(bad("response body too large"));
                    }
                }
                let body = self.buf.get(head_end..).unwrap_or_default().to_vec();
                (body, self.buf.len(), true)
            }
        };
        self.buf.drain(..consumed.min(self.buf.len()));
        Ok(Response {
            status: head.status,
            body,
            close,
            location: head.location,
            set_cookies: head.set_cookies,
        })
    }

    /// Decodes a chunked body starting at `pos`; returns it and the end of the message.
    async fn read_chunked(&mut self, mut pos: usize) -> io::Result<(Vec<u8>, usize)> {
        let mut body = Vec::new();
        loop {
            let eol = self.line_end(pos).await?;
            let line = self.buf.get(pos..eol).unwrap_or_default();
            let size_text = std::str::from_utf8(line)
                .map_err(|_| bad("bad chunk size"))?
                .split(';')
                .next()
                .unwrap_or_default()
                .trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| bad(format!("bad chunk size {size_text:?}")))?;
            pos = eol + 2;
            if size == 0 {
                // Trailers (usually none), then an empty line.
                loop {
                    let eol = self.line_end(pos).await?;
                    let empty = eol == pos;
                    pos = eol + 2;
                    if empty {
                        return Ok((body, pos));
                    }
                }
            }
            if body.len() + size > MAX_BODY {
                return Err(bad("response body too large"));
            }
            self.ensure(pos + size + 2).await?;
            body.extend_from_slice(self.buf.get(pos..pos + size).unwrap_or_default());
            pos += size + 2;
        }
    }
}

/// One blocking `GET path` on a fresh connection; returns the status code.
///
/// Used to poll readiness: any error means "not ready yet".
pub fn probe(addr: SocketAddr, path: &str, timeout: Duration) -> io::Result<u16> {
    let mut stream = StdTcpStream::connect_timeout(&addr, timeout)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    loop {
        if let Some(eol) = find(&buf, b"\r\n", 0) {
            let line = std::str::from_utf8(buf.get(..eol).unwrap_or_default())
                .map_err(|_| bad("status line is not UTF-8"))?;
            return line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad(format!("bad status line {line:?}")));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if buf.len() > MAX_HEAD {
            return Err(bad("status line too long"));
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn heads() {
        let h = parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\nx: y").unwrap();
        assert_eq!(
            h,
            Head {
                status: 200,
                framing: Framing::Length(12),
                close: false,
                location: None,
                set_cookies: Vec::new(),
            }
        );
        let h = parse_head(
            b"HTTP/1.1 302 Found\r\nLocation: /start/d-1\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 0",
        )
        .unwrap();
        assert_eq!(h.location.as_deref(), Some("/start/d-1"));
        assert_eq!(h.set_cookies, vec!["a=1".to_owned(), "b=2".to_owned()]);
        let h = parse_head(b"HTTP/1.0 400 Bad\r\nContent-Length: 3").unwrap();
        assert!(h.close);
        let h =
            parse_head(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3").unwrap();
        assert!(!h.close);
        let h = parse_head(b"HTTP/1.1 500 X\r\nTransfer-Encoding: chunked").unwrap();
        assert_eq!(h.framing, Framing::Chunked);
        let h = parse_head(b"HTTP/1.1 200 OK\r\nServer: s").unwrap();
        assert_eq!(h.framing, Framing::UntilClose);
        assert!(h.close);
        let h = parse_head(b"HTTP/1.1 204 No Content").unwrap();
        assert_eq!(h.framing, Framing::Length(0));
        assert!(parse_head(b"SPDY 200 OK").is_err());
        assert!(parse_head(b"HTTP/1.1 abc OK").is_err());
    }

    /// A scripted server: answers each request on one connection with the next canned reply.
    async fn serve(replies: Vec<&'static [u8]>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            for reply in replies {
                let _ = s.read(&mut buf).await.unwrap();
                // Split the reply in two writes to exercise partial reads.
                let (a, b) = reply.split_at(reply.len() / 2);
                s.write_all(a).await.unwrap();
                s.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
                s.write_all(b).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn keep_alive_and_framings() {
        let addr = serve(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbye",
        ])
        .await;
        let mut c = Conn::connect(addr).await.unwrap();
        let r = c.send(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        assert_eq!(
            (r.status, r.body.as_slice(), r.close),
            (200, &b"hello"[..], false)
        );
        let r = c.send(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        assert_eq!((r.status, r.body.as_slice()), (403, &b"abcde"[..]));
        let r = c.send(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        assert_eq!((r.status, r.body.len()), (200, 0));
        let r = c.send(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        assert_eq!(
            (r.status, r.body.as_slice(), r.close),
            (200, &b"bye"[..], true)
        );
    }

    #[tokio::test]
    async fn truncated_response_is_an_error() {
        let addr = serve(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort"]).await;
        let mut c = Conn::connect(addr).await.unwrap();
        assert!(c.send(b"GET / HTTP/1.1\r\n\r\n").await.is_err());
    }
}
