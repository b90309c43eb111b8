//! A raw HTTP/1.1 client for a server on 127.0.0.1. Each request goes on a
//! connection of its own exactly as written (a path with `..` in any
//! spelling, any Host header, any method), and the response is read to the
//! end of the connection within a deadline: a test sees what a browser, or
//! an attacker, would get, with no client library normalising anything on
//! the way, and a server that never finishes a response is an error, not a
//! hang.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A response as it came over the wire.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The status line and the headers, without the blank line after them.
    pub head: String,
    /// The body, decoded as UTF-8 where it is not.
    pub body: String,
    /// How many bytes of body arrived ([`Response::body`] may differ in
    /// length where it was not UTF-8).
    pub body_bytes: usize,
}

impl Response {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }

    /// Checks that the whole body arrived: as many bytes as `Content-Length`
    /// says, where it says (without it, the end of the connection ends the
    /// body). Not for the answer to a `HEAD`, which declares a length and
    /// sends no body.
    pub fn check_complete(&self) -> Result<(), String> {
        match self.header("content-length").and_then(|length| length.parse::<usize>().ok()) {
            Some(length) if self.body_bytes < length => {
                Err(format!("status {}, but {} of {length} body bytes", self.status, self.body_bytes))
            }
            _ => Ok(()),
        }
    }
}

/// The request `METHOD path` for `host`, asking the server to close the
/// connection once it has answered.
pub fn request(method: &str, path: &str, host: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

/// `GET path` from `localhost`, answered in full within `timeout`.
pub fn get(port: u16, path: &str, timeout: Duration) -> Result<Response, String> {
    send(port, &request("GET", path, "localhost"), timeout)
}

/// Sends `request` exactly as written on a new connection, and reads the
/// response until the server closes the connection, all within `timeout`.
/// The request should say `Connection: close` (see [`request`]).
pub fn send(port: u16, request: &str, timeout: Duration) -> Result<Response, String> {
    let deadline = Instant::now() + timeout;
    let mut stream = connect(port, timeout)?;
    stream.write_all(request.as_bytes()).map_err(|err| format!("sending the request: {err}"))?;
    let raw = read_to_close(&mut stream, deadline)?;
    parse(&raw)
}

/// Connects to 127.0.0.1:`port`, with reads and writes that fail after
/// `timeout` instead of blocking forever.
pub fn connect(port: u16, timeout: Duration) -> Result<TcpStream, String> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let stream = TcpStream::connect_timeout(&address, timeout).map_err(|err| format!("connect: {err}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|err| err.to_string())?;
    stream.set_write_timeout(Some(timeout)).map_err(|err| err.to_string())?;
    Ok(stream)
}

/// Everything the server sends until it closes the connection, which must
/// happen before `deadline`.
pub fn read_to_close(stream: &mut TcpStream, deadline: Instant) -> Result<Vec<u8>, String> {
    let mut raw = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    let too_late =
        |raw: &Vec<u8>| format!("the connection was still open at the deadline ({} bytes so far)", raw.len());
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(too_late(&raw));
        }
        stream.set_read_timeout(Some(left)).map_err(|err| err.to_string())?;
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(raw),
            Ok(read) => raw.extend_from_slice(&buffer[..read]),
            Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(too_late(&raw));
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(format!("reading the response: {err} ({} bytes so far)", raw.len())),
        }
    }
}

/// Splits a raw response into status, head and body.
fn parse(raw: &[u8]) -> Result<Response, String> {
    let Some(head_end) = raw.windows(4).position(|window| window == b"\r\n\r\n") else {
        return Err(format!("the connection closed before the headers ended ({} bytes)", raw.len()));
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|code| code.parse().ok());
    let status = status.ok_or_else(|| format!("no status line in {:?}", head.lines().next().unwrap_or_default()))?;
    let body = &raw[head_end + 4..];
    Ok(Response { status, head, body: String::from_utf8_lossy(body).into_owned(), body_bytes: body.len() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A server on a free port that reads one request, answers `response`
    /// (then closes), and hands back the request it read.
    fn answer_once(response: &'static [u8]) -> (u16, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
                request.push(byte[0]);
            }
            stream.write_all(response).unwrap();
            String::from_utf8(request).unwrap()
        });
        (port, server)
    }

    #[test]
    fn sends_the_path_and_host_as_written_and_reads_status_headers_and_body() {
        let (port, server) = answer_once(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nX-Test: yes\r\n\r\ngone");
        let response = send(port, &request("GET", "/%2e%2e/x", "evil.example"), Duration::from_secs(5)).unwrap();
        assert_eq!(server.join().unwrap(), "GET /%2e%2e/x HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
        assert_eq!((response.status, response.body.as_str()), (404, "gone"));
        assert_eq!(response.header("x-test").as_deref(), Some("yes"));
        assert!(response.check_complete().is_ok());
    }

    #[test]
    fn a_body_shorter_than_its_length_is_incomplete() {
        let (port, server) = answer_once(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
        let response = get(port, "/", Duration::from_secs(5)).unwrap();
        server.join().unwrap();
        assert_eq!(response.check_complete().unwrap_err(), "status 200, but 5 of 10 body bytes");
    }

    #[test]
    fn a_connection_that_closes_before_the_headers_end_is_an_error() {
        let (port, server) = answer_once(b"HTTP/1.1 200 OK\r\nContent-");
        let err = get(port, "/", Duration::from_secs(5)).unwrap_err();
        server.join().unwrap();
        assert!(err.contains("before the headers ended"), "{err}");
    }
}
