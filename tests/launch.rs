//! Starting a process whose output is read as it arrives, and waiting for a
//! process to end, each with a deadline. The end-to-end tests and the chaos
//! suite start servers in different ways (pipes, a pseudo-terminal, under a
//! shell), but collect what they print, and wait on it, the same way.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::poll;

/// Everything a process printed (stdout and stderr together, in the order
/// it was read), as it arrives; cheap to clone, every clone the same output.
#[derive(Clone, Default)]
pub struct Output {
    text: Arc<Mutex<String>>,
    /// Streams whose reader has not reached their end yet: after a process
    /// exits, what it printed last may still be in a pipe.
    open_streams: Arc<AtomicUsize>,
}

/// One stream feeding an [`Output`], counted as open until dropped by its
/// reader.
pub struct OpenStream(Arc<AtomicUsize>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Output {
    /// Appends what was read. A terminal ends lines with `\r\n`; the text
    /// keeps `\n` alone, as a pipe would have it.
    pub fn push(&self, text: &str) {
        if let Ok(mut all) = self.text.lock() {
            all.push_str(&text.replace("\r\n", "\n"));
        }
    }

    /// Counts a stream in before its reader starts, so that
    /// [`Output::wait_closed`] cannot see "all closed" before it began.
    pub fn open_stream(&self) -> OpenStream {
        self.open_streams.fetch_add(1, Ordering::SeqCst);
        OpenStream(self.open_streams.clone())
    }

    /// The whole output so far.
    pub fn text(&self) -> String {
        self.text.lock().map(|all| all.clone()).unwrap_or_default()
    }

    /// Waits until every stream has been read to its end (everything the
    /// process printed is in [`Output::text`]), for at most `timeout`.
    pub fn wait_closed(&self, timeout: Duration) -> Result<(), String> {
        poll::until(timeout, || (self.open_streams.load(Ordering::SeqCst) == 0).then_some(()))
            .ok_or_else(|| format!("its output did not reach its end within {} ms", timeout.as_millis()))
    }

    /// Waits until the output contains `needle` anywhere, a line not yet
    /// ended included (a prompt waits on the same line), for at most `timeout`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> Result<(), String> {
        poll::until(timeout, || self.text().contains(needle).then_some(()))
            .ok_or_else(|| format!("no {needle:?} in the output within {} ms", timeout.as_millis()))
    }

    /// Waits for the first whole line (ended by `\n`) containing `needle`,
    /// and returns it without its line end, for at most `timeout`: a line
    /// read in the middle is never mistaken for all of it.
    pub fn wait_for_line(&self, needle: &str, timeout: Duration) -> Result<String, String> {
        let find = || {
            let text = self.text();
            let ended = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
            ended.lines().find(|line| line.contains(needle)).map(str::to_owned)
        };
        poll::until(timeout, find).ok_or_else(|| {
            format!("no line with {needle:?} within {} ms; the output:\n{}", timeout.as_millis(), self.text())
        })
    }
}

/// Reads `stream` into `output` on a thread of its own until its end. When
/// `stop` is given and set, the reader stops after its next read and closes
/// its end, as a reader that goes away early would.
pub fn read_into(mut stream: impl Read + Send + 'static, output: &Output, stop: Option<Arc<AtomicBool>>) {
    let sink = output.clone();
    let open = output.open_stream();
    std::thread::spawn(move || {
        let _open = open;
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => sink.push(&String::from_utf8_lossy(&buffer[..read])),
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
            if stop.as_ref().is_some_and(|stop| stop.load(Ordering::SeqCst)) {
                break;
            }
        }
    });
}

/// A process started by [`spawn_piped`].
pub struct Piped {
    /// The process.
    pub child: Child,
    /// What it prints on stdout and stderr.
    pub output: Output,
    /// Set to close the harness's end of its stdout after the next read:
    /// its later writes then meet a closed pipe.
    pub close_stdout: Arc<AtomicBool>,
}

/// Starts `command` with stdin from `/dev/null` and stdout and stderr on
/// pipes read into one [`Output`].
pub fn spawn_piped(command: &mut Command) -> Result<Piped, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("could not start {:?}: {err}", command.get_program()))?;
    let output = Output::default();
    let close_stdout = Arc::new(AtomicBool::new(false));
    if let Some(stdout) = child.stdout.take() {
        read_into(stdout, &output, Some(close_stdout.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        read_into(stderr, &output, None);
    }
    Ok(Piped { child, output, close_stdout })
}

/// The exit of `pid` if it has ended, reaping it; `None` while it runs. The
/// process must be a child of this one (or reparented to it, when this
/// process is a child subreaper).
pub fn try_wait(pid: Pid) -> Result<Option<WaitStatus>, String> {
    match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::StillAlive) => Ok(None),
        Ok(status) => Ok(Some(status)),
        Err(err) => Err(format!("waiting for {pid}: {err}")),
    }
}

/// Waits for `pid` to end, reaping it, for at most `timeout` (see [`try_wait`]).
pub fn wait_exit(pid: Pid, timeout: Duration) -> Result<WaitStatus, String> {
    poll::until(timeout, || try_wait(pid).transpose())
        .unwrap_or_else(|| Err(format!("pid {pid} did not exit within {} ms", timeout.as_millis())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_read_in_two_parts_is_found_whole() {
        let mut command = Command::new("sh");
        command.args(["-c", "printf 'half'; sleep 0.1; echo ' and the rest'"]);
        let piped = spawn_piped(&mut command).unwrap();
        let line = piped.output.wait_for_line("half", Duration::from_secs(10)).unwrap();
        assert_eq!(line, "half and the rest");
    }

    #[test]
    fn collects_both_streams_to_their_end() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2; exit 3"]);
        let piped = spawn_piped(&mut command).unwrap();
        let pid = Pid::from_raw(piped.child.id() as i32);
        assert_eq!(wait_exit(pid, Duration::from_secs(10)).unwrap(), WaitStatus::Exited(pid, 3));
        piped.output.wait_closed(Duration::from_secs(10)).unwrap();
        let text = piped.output.text();
        assert!(text.contains("out\n") && text.contains("err\n"), "{text:?}");
    }

    #[test]
    fn a_wait_that_runs_out_says_so() {
        let output = Output::default();
        output.push("Local: http://localhost:51");
        let err = output.wait_for_line("Local:", Duration::from_millis(20)).unwrap_err();
        assert!(err.starts_with("no line with \"Local:\" within 20 ms"), "{err}");
        assert!(output.wait_for("Local:", Duration::ZERO).is_ok(), "a line not yet ended counts for wait_for");
    }
}
