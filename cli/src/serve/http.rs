// SPDX-License-Identifier: MPL-2.0
//! The little HTTP/1.1 the server needs: a request head, static responses and the WebSocket
//! opening handshake (RFC 6455, section 4.2).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use anyhow::{bail, Context, Result};
use base64::Engine;
use sha1::Digest;

/// Requests heads larger than this are refused: the server only serves its own pages.
const MAX_HEAD: usize = 16 * 1024;

/// A parsed request head.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    headers: Vec<(String, String)>,
    /// Bytes read past the head (the start of a body).
    pub leftover: Vec<u8>,
}

impl Request {
    /// The value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// True for a WebSocket upgrade request.
    pub fn is_websocket(&self) -> bool {
        self.header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) && self.header("sec-websocket-key").is_some()
    }
}

/// Reads one request head (through the blank line) from `stream`.
pub fn read_request(stream: &TcpStream) -> Result<Request> {
    let mut reader = BufReader::new(stream.take(MAX_HEAD as u64));
    let mut line = String::new();
    reader.read_line(&mut line).context("reading the request line")?;
    let mut parts = line.split_ascii_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("malformed request line");
    };
    if !version.starts_with("HTTP/1.") {
        bail!("not HTTP/1.x");
    }
    let path = target.split('?').next().unwrap_or("/").to_owned();
    let (method, path) = (method.to_owned(), path);
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).context("reading a header")? == 0 {
            bail!("connection closed inside the request head");
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').context("malformed header")?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let leftover = reader.buffer().to_vec();
    Ok(Request { method, path, headers, leftover })
}

/// Writes a complete response with a body.
pub fn respond(mut stream: &TcpStream, status: &str, content_type: &str, body: &[u8]) -> Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    Ok(())
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455, section 4.2.2).
pub fn websocket_accept(key: &str) -> String {
    const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    let digest = sha1::Sha1::digest(format!("{}{GUID}", key.trim()).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Answers an upgrade request with 101 Switching Protocols.
pub fn accept_websocket(mut stream: &TcpStream, request: &Request) -> Result<()> {
    let key = request.header("sec-websocket-key").context("no Sec-WebSocket-Key")?;
    write!(stream, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n", websocket_accept(key))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_of_rfc_6455() {
        // The example of RFC 6455, section 1.3.
        assert_eq!(websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
