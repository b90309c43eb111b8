//! A dev server's live-reload stream (`/__bengal/livereload`, server-sent
//! events), held open and read line by line the way a browser tab does,
//! each wait bounded by a timeout.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// An open live-reload stream.
pub struct EventStream {
    reader: BufReader<TcpStream>,
    timeout: Duration,
}

impl EventStream {
    /// Opens the stream on 127.0.0.1:`port` and waits for the server's
    /// greeting (`: bengal`), so that an event sent after this returns is
    /// not missed. Each later wait may take `timeout`.
    pub fn open(port: u16, timeout: Duration) -> Result<EventStream, String> {
        EventStream::open_since(port, "", timeout)
    }

    /// Opens the stream as a page showing build `since` does (the
    /// `data-build` of its script).
    pub fn open_since(port: u16, since: &str, timeout: Duration) -> Result<EventStream, String> {
        let mut stream = crate::http::connect(port, timeout)?;
        write!(stream, "GET /__bengal/livereload?since={since} HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .map_err(|err| format!("sending the request: {err}"))?;
        let mut events = EventStream { reader: BufReader::new(stream), timeout };
        let status = events.next_line()?;
        if !status.starts_with("HTTP/1.1 200") {
            return Err(format!("the live-reload stream did not open: {}", status.trim_end()));
        }
        events.wait_for(": bengal")?;
        Ok(events)
    }

    /// The next line containing `needle`, skipping the others.
    pub fn wait_for(&mut self, needle: &str) -> Result<String, String> {
        let end = Instant::now() + self.timeout;
        loop {
            let line = self.next_line_before(end).map_err(|err| format!("{err} while waiting for {needle:?}"))?;
            if line.contains(needle) {
                return Ok(line);
            }
        }
    }

    /// The next event: its name (`update`, `reload`, `build-error`) and its data.
    pub fn next_event(&mut self) -> Result<(String, String), String> {
        let name = self.wait_for("event: ")?.trim_start_matches("event: ").trim().to_owned();
        let data = self.wait_for("data: ")?.trim_start_matches("data: ").trim().to_owned();
        Ok((name, data))
    }

    /// The underlying connection, to hold the stream open without reading it.
    pub fn into_connection(self) -> TcpStream {
        self.reader.into_inner()
    }

    fn next_line(&mut self) -> Result<String, String> {
        self.next_line_before(Instant::now() + self.timeout)
    }

    fn next_line_before(&mut self, end: Instant) -> Result<String, String> {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("nothing within {} ms", self.timeout.as_millis()));
        }
        self.reader.get_ref().set_read_timeout(Some(left)).map_err(|err| err.to_string())?;
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err("the stream closed".to_owned()),
            Ok(_) => Ok(line),
            Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                Err(format!("nothing within {} ms", self.timeout.as_millis()))
            }
            Err(err) => Err(err.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn reads_the_greeting_then_events_and_times_out_on_silence() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n: bengal\n\nevent: css\ndata: {}\n\n",
                )
                .unwrap();
            // Holds the stream open, silent, until the test is done.
            let _ = finished.recv();
        });
        let mut events = EventStream::open(port, Duration::from_millis(300)).unwrap();
        assert_eq!(events.next_event().unwrap(), ("css".to_owned(), "{}".to_owned()));
        let err = events.next_event().unwrap_err();
        assert!(err.contains("nothing within 300 ms"), "{err}");
        drop(done);
        server.join().unwrap();
    }
}
