//! Talking to a running dev server with nothing but std: one GET, or an
//! open live-reload stream read line by line, each with a deadline.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The status of `GET path` on 127.0.0.1:`port`, or None if nothing answers.
pub fn get_status(port: u16, path: &str, timeout: Duration) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0u8; 32];
    let read = stream.read(&mut head).ok()?;
    let text = String::from_utf8_lossy(&head[..read]);
    text.split_whitespace().nth(1)?.parse().ok()
}

/// An open live-reload stream.
pub struct EventStream {
    reader: BufReader<TcpStream>,
}

impl EventStream {
    /// Connects and waits for the server's greeting.
    pub fn open(port: u16, timeout: Duration) -> Result<EventStream, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|err| format!("connect: {err}"))?;
        stream.set_read_timeout(Some(timeout)).map_err(|err| err.to_string())?;
        write!(stream, "GET /__bengal/livereload HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .map_err(|err| err.to_string())?;
        let mut events = EventStream { reader: BufReader::new(stream) };
        events.wait_for(": bengal", timeout)?;
        Ok(events)
    }

    /// Waits for a line containing `needle`.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> Result<(), String> {
        let end = Instant::now() + timeout;
        let mut line = String::new();
        while Instant::now() < end {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) => return Err(format!("stream closed while waiting for {needle:?}")),
                Ok(_) if line.contains(needle) => return Ok(()),
                Ok(_) => {}
                Err(err) => return Err(format!("{err} while waiting for {needle:?}")),
            }
        }
        Err(format!("no {needle:?} within {timeout:?}"))
    }
}
