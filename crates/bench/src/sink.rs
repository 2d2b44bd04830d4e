//! `cairn-bench sink`: an HTTP/1.1 endpoint on loopback that takes every POST and answers
//! 200 — the event stream's receiver in the trail-overhead benchmark, cheap enough not to
//! compete with the server it measures (a Python sink took a third of a core).
//!
//! Prints the port it listens on, then serves until killed. Keep-alive; bodies are read by
//! `Content-Length` and dropped.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";

/// Serves one connection: requests one after another until the peer closes.
async fn serve(mut sock: tokio::net::TcpStream) {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        // The head.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(k) => buf.extend_from_slice(chunk.get(..k).unwrap_or_default()),
            }
        };
        let head = String::from_utf8_lossy(buf.get(..head_end).unwrap_or_default()).to_lowercase();
        let len = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        // The body.
        while buf.len() < head_end + len {
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(k) => buf.extend_from_slice(chunk.get(..k).unwrap_or_default()),
            }
        }
        buf.drain(..head_end + len);
        if sock.write_all(OK).await.is_err() {
            return;
        }
    }
}

/// Runs the sink (never returns unless it cannot listen).
pub fn main() -> std::process::ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cairn-bench sink: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cairn-bench sink: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        match listener.local_addr() {
            Ok(a) => println!("{}", a.port()),
            Err(e) => {
                eprintln!("cairn-bench sink: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
        loop {
            if let Ok((sock, _)) = listener.accept().await {
                let _ = sock.set_nodelay(true);
                tokio::spawn(serve(sock));
            }
        }
    })
}
