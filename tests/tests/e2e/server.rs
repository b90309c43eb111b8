//! A real `bengal serve` process for a test, on the test-support library's
//! launcher and HTTP client; every wait fails the test after [`DEADLINE`].

use std::path::Path;
use std::process::Command;

use bengal_tests::http::{self, Response};
use bengal_tests::launch::{self, Output};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

/// How long any wait in these tests may take before it fails.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// A running `bengal serve`, started by this test; killed (by its pid) and
/// reaped when dropped.
pub struct Server {
    child: std::process::Child,
    /// The server's pid.
    pub pid: Pid,
    output: Output,
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
        let mut command = Command::new(bengal_path());
        command.arg("serve").arg("--root").arg(root).args(args);
        Server::launch(command)
    }

    /// Starts `command` (a `bengal serve`, perhaps through a wrapper that
    /// execs it) with piped output and waits for the URL line.
    pub fn launch(command: Command) -> Server {
        let mut server = Server::spawn(command, 0);
        let line = server.wait_for_line("Local:");
        let port = line.trim_end().trim_end_matches('/').rsplit(':').next().and_then(|port| port.parse().ok());
        server.port = port.unwrap_or_else(|| panic!("no port in {line:?}"));
        server
    }

    /// Starts `command` (a `bengal serve --port PORT`) with piped output,
    /// waiting for nothing.
    pub fn spawn(mut command: Command, port: u16) -> Server {
        let piped = launch::spawn_piped(command.env("NO_COLOR", "1")).expect("start bengal serve");
        let pid = Pid::from_raw(piped.child.id() as i32);
        Server { child: piped.child, pid, output: piped.output, port, reaped: false }
    }

    /// Waits for the first printed line containing `needle`, and returns it.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        self.output.wait_for_line(needle, DEADLINE).unwrap_or_else(|err| panic!("{err}"))
    }

    /// Everything the server printed so far.
    pub fn printed(&self) -> String {
        self.output.text()
    }

    /// GET `path` from this server, as `localhost`.
    pub fn get(&self, path: &str) -> Response {
        get(self.port, path, "localhost")
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal: Signal) {
        kill(self.pid, signal).expect("signal the server");
    }

    /// Waits for the server to exit and reaps it.
    pub fn wait_exit(&mut self) -> WaitStatus {
        let status = launch::wait_exit(self.pid, DEADLINE).unwrap_or_else(|err| panic!("{err}"));
        // Reaped: keep Drop from signalling a pid that may be reused.
        self.reaped = true;
        status
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn stop(mut self) -> WaitStatus {
        self.signal(Signal::SIGTERM);
        self.wait_exit()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = launch::wait_exit(self.pid, DEADLINE);
        }
        // The process this test started, when it is a wrapper of the server.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `GET path` on 127.0.0.1:`port` with the given Host header, exactly as written.
pub fn get(port: u16, path: &str, host: &str) -> Response {
    http::send(port, &http::request("GET", path, host), DEADLINE).unwrap_or_else(|err| panic!("GET {path}: {err}"))
}
