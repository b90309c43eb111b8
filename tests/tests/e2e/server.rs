//! A real `bengal serve` process for tests, and a plain HTTP client that
//! sends exactly what it is told (paths as written, any Host header).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

/// How long any wait in these tests may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A running `bengal serve`; killed and reaped when dropped.
pub struct Server {
    /// The process this test started: the server, or a parent shell of it.
    child: Child,
    /// The server's pid.
    pub pid: Pid,
    lines: Receiver<String>,
    /// Every line printed so far (stdout and stderr).
    pub transcript: Vec<String>,
    /// The port it serves on.
    pub port: u16,
    reaped: bool,
}

/// The `bengal` binary under test.
pub fn bengal_path() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("bengal")
}

impl Server {
    /// Starts `bengal serve --root ROOT ARGS…` and waits until it prints its URL.
    pub fn start(root: &Path, args: &[&str]) -> Server {
        Server::start_with_env(root, args, &[])
    }

    /// Like [`Server::start`], with extra environment variables.
    pub fn start_with_env(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(bengal_path());
        command.arg("serve").arg("--root").arg(root).args(args).envs(env.iter().copied());
        Server::launch(command)
    }

    /// Starts `bengal serve` as the child of a shell (which the test may then
    /// kill), and waits until it prints its URL.
    pub fn start_under_shell(root: &Path, args: &[&str]) -> Server {
        let mut command = Command::new("sh");
        command.arg("-c").arg("\"$0\" serve \"$@\" & wait").arg(bengal_path()).arg("--root").arg(root).args(args);
        let mut server = Server::launch(command);
        let info = std::fs::read_to_string(root.join(".bengal/server.pid")).expect("pid file");
        let pid =
            info.split("\"pid\":").nth(1).and_then(|rest| rest.split(',').next()).and_then(|p| p.trim().parse().ok());
        server.pid = Pid::from_raw(pid.expect("pid in the pid file"));
        server
    }

    /// Spawns `command` with piped output and waits for the URL line.
    pub fn launch(mut command: Command) -> Server {
        let mut child = command
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start bengal serve");
        let lines = read_lines(&mut child);
        let pid = Pid::from_raw(child.id() as i32);
        let mut server = Server { child, pid, lines, transcript: Vec::new(), port: 0, reaped: false };
        let line = server.wait_for_line("Local:");
        let port = line.rsplit(':').next().and_then(|p| p.trim_end_matches('/').parse().ok());
        server.port = port.unwrap_or_else(|| panic!("no port in {line:?}"));
        server
    }

    /// Waits for a printed line containing `needle`, failing after [`DEADLINE`].
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        if let Some(line) = self.transcript.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.transcript.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => {
                    panic!("no line with {needle:?} within {DEADLINE:?}; transcript:\n{}", self.transcript.join("\n"))
                }
            }
        }
    }

    /// SIGKILLs the shell started by [`Server::start_under_shell`] and reaps
    /// it. The kernel reparents the server as the shell exits, so once this
    /// returns a subreaper test owns the server.
    pub fn kill_parent_shell(&mut self) {
        self.child.kill().expect("SIGKILL the shell");
        self.child.wait().expect("reap the shell");
    }

    /// Every line the server printed, once it has exited (its pipes closed).
    pub fn rest_of_transcript(&mut self) -> Vec<String> {
        let end = Instant::now() + DEADLINE;
        while let Ok(line) = self.lines.recv_timeout(end.saturating_duration_since(Instant::now())) {
            self.transcript.push(line);
        }
        self.transcript.clone()
    }

    /// GET `path` from this server.
    pub fn get(&self, path: &str) -> Response {
        get(self.port, path, "localhost")
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal: Signal) {
        kill(self.pid, signal).expect("signal the server");
    }

    /// Waits for the server to exit, failing after [`DEADLINE`]. The server
    /// must be this test's child (or reparented to it, see `become_subreaper`).
    pub fn wait_exit(&mut self) -> WaitStatus {
        let pid = self.pid;
        let (sender, exited) = channel();
        std::thread::spawn(move || sender.send(waitpid(pid, None)));
        let status = exited.recv_timeout(DEADLINE).expect("server exits within the deadline").expect("waitpid");
        // Reaped above; keep Drop from signalling a pid that may be reused.
        self.reaped = true;
        status
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn stop(mut self) -> WaitStatus {
        self.signal(Signal::SIGTERM);
        self.wait_exit()
    }
}

/// Marks lines that came from stderr in the transcript: the two streams
/// interleave in no fixed order, so log assertions look at stdout alone.
pub const STDERR: &str = "[stderr] ";

fn read_lines(child: &mut Child) -> Receiver<String> {
    let (sender, lines) = channel();
    let streams = [
        child.stdout.take().map(|s| (Box::new(s) as Box<dyn Read + Send>, "")),
        child.stderr.take().map(|s| (Box::new(s) as Box<dyn Read + Send>, STDERR)),
    ];
    for (stream, mark) in streams.into_iter().flatten() {
        let sender = sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if sender.send(format!("{mark}{line}")).is_err() {
                    break;
                }
            }
        });
    }
    lines
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = waitpid(self.pid, None);
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Response {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }
}

/// `GET path` on 127.0.0.1:`port` with the given Host header, exactly as written.
pub fn get(port: u16, path: &str, host: &str) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Response { status, head: head.to_owned(), body: body.to_owned() }
}

/// An open live-reload stream.
pub struct EventStream {
    reader: BufReader<TcpStream>,
}

impl EventStream {
    /// Connects to the server's live-reload stream and waits for its greeting.
    pub fn open(port: u16) -> EventStream {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
        write!(stream, "GET /__bengal/livereload HTTP/1.1\r\nHost: localhost\r\n\r\n").expect("send");
        let mut events = EventStream { reader: BufReader::new(stream) };
        events.next_line_containing(": bengal");
        events
    }

    /// The next `event:` name, skipping comments and data; fails after [`DEADLINE`].
    pub fn next_event(&mut self) -> (String, String) {
        let name = self.next_line_containing("event: ").trim_start_matches("event: ").trim().to_owned();
        let data = self.next_line_containing("data: ").trim_start_matches("data: ").trim().to_owned();
        (name, data)
    }

    fn next_line_containing(&mut self, needle: &str) -> String {
        let end = Instant::now() + DEADLINE;
        let mut line = String::new();
        while Instant::now() < end {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) => panic!("live-reload stream closed while waiting for {needle:?}"),
                Ok(_) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(err) => panic!("live-reload stream: {err} while waiting for {needle:?}"),
            }
        }
        panic!("no {needle:?} within {DEADLINE:?}")
    }
}
