//! Starting and driving the server under test: on a pseudo-terminal (as a
//! session leader), under a parent shell, with its output on a pipe (read,
//! or never read), or as one of two servers released at the same instant;
//! and running a helper command (a second server, `bengal cleanup`) to its
//! end. Each launch gets its own process group and a token in its
//! environment, which the oracles use to find anything it leaves behind.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bengal_tests::launch::{self, Output};
use bengal_tests::poll;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use super::procfs::{self, TOKEN_VAR};
use super::schema::Launch;

/// A launched server.
pub struct Launched {
    /// The process the harness started (the server, or its parent shell).
    pub child: Child,
    /// The server's pid, once known.
    pub pid: Option<Pid>,
    /// Its process group.
    pub pgid: Pid,
    /// What it printed.
    pub output: Output,
    /// The terminal's master side (pty launches), until closed.
    master: Option<Master>,
    /// Set to make the pipe reader close its end at the next read (and the
    /// terminal's reader let go of the master).
    pub close_pipe: Arc<AtomicBool>,
    /// Whether the server was reaped already.
    pub reaped: Option<WaitStatus>,
    /// The read ends of an `unread_pipe` launch: held open, never read, so
    /// that a full pipe blocks the server's writes instead of failing them
    /// with EPIPE. Closed when this is dropped, after the oracles ran.
    _unread_pipes: Vec<OwnedFd>,
}

/// The master side of a pseudo-terminal: the harness's writing end, and word
/// from the reading thread once it has let go of its copy.
struct Master {
    fd: OwnedFd,
    reader_closed: std::sync::mpsc::Receiver<()>,
}

/// Reads the terminal until every slave end is closed or `closing` is set;
/// polls so that it can let go of the master when the terminal is to close.
fn read_master(master: OwnedFd, sink: &Output, closing: &AtomicBool) {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let mut buffer = [0u8; 4096];
    while !closing.load(Ordering::SeqCst) {
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(20u8)) {
            Ok(0) => continue,
            Ok(_) => match nix::unistd::read(&master, &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => sink.push(&String::from_utf8_lossy(&buffer[..read])),
            },
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
}

/// Starts `argv` as `launch` says, marked with `token`. For `race` this
/// starts one of the two servers (output on pipes it reads, as `pipe`);
/// [`launch_race`] starts both.
pub fn launch(
    argv: &[String],
    cwd: &Path,
    env: &[(String, String)],
    token: &str,
    launch: Launch,
) -> Result<Launched, String> {
    let (program, args) = argv.split_first().ok_or("nothing to start")?;
    let mut command = match launch {
        Launch::Orphanable => {
            let mut shell = Command::new("sh");
            shell.arg("-c").arg("\"$@\" & wait").arg("sh").args(argv);
            shell
        }
        _ => {
            let mut direct = Command::new(program);
            direct.args(args);
            direct
        }
    };
    command.current_dir(cwd).env(TOKEN_VAR, token).env("NO_COLOR", "1").envs(env.iter().map(|(k, v)| (k, v)));
    let cannot_start = |err: std::io::Error| format!("could not start {program:?}: {err}");
    let mut output = Output::default();
    let mut close_pipe = Arc::new(AtomicBool::new(false));
    let (child, master, unread_pipes) = match launch {
        Launch::Pty => {
            let pty = nix::pty::openpty(None, None).map_err(|err| format!("openpty: {err}"))?;
            // openpty's descriptors are inherited across exec unless marked:
            // a server holding its own terminal's master would never see it close.
            for fd in [&pty.master, &pty.slave] {
                use nix::fcntl::{FcntlArg, FdFlag, fcntl};
                fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(|err| format!("fcntl: {err}"))?;
            }
            let slave = pty.slave;
            command
                .stdin(Stdio::from(slave.try_clone().map_err(|e| e.to_string())?))
                .stdout(Stdio::from(slave.try_clone().map_err(|e| e.to_string())?))
                .stderr(Stdio::from(slave));
            // SAFETY: only async-signal-safe calls between fork and exec:
            // setsid, then make stdin (the pty slave) the controlling terminal.
            unsafe {
                command.pre_exec(|| {
                    nix::unistd::setsid().map_err(std::io::Error::from)?;
                    if nix::libc::ioctl(0, nix::libc::TIOCSCTTY as _, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let child = command.spawn().map_err(cannot_start)?;
            let reader = pty.master.try_clone().map_err(|e| e.to_string())?;
            let sink = output.clone();
            let closing = close_pipe.clone();
            let (closed_sender, closed) = std::sync::mpsc::channel();
            let open = output.open_stream();
            std::thread::spawn(move || {
                read_master(reader, &sink, &closing);
                drop(open);
                let _ = closed_sender.send(());
            });
            (child, Some(Master { fd: pty.master, reader_closed: closed }), Vec::new())
        }
        Launch::UnreadPipe => {
            command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
            own_process_group(&mut command);
            let mut child = command.spawn().map_err(cannot_start)?;
            let stdout = child.stdout.take().map(OwnedFd::from);
            let stderr = child.stderr.take().map(OwnedFd::from);
            (child, None, stdout.into_iter().chain(stderr).collect())
        }
        Launch::Pipe | Launch::Orphanable | Launch::Race => {
            own_process_group(&mut command);
            let piped = launch::spawn_piped(&mut command)?;
            output = piped.output;
            close_pipe = piped.close_stdout;
            (piped.child, None, Vec::new())
        }
    };
    let pid = Pid::from_raw(child.id() as i32);
    let server = if launch == Launch::Orphanable { None } else { Some(pid) };
    Ok(Launched {
        child,
        pid: server,
        pgid: pid,
        output,
        master,
        close_pipe,
        reaped: None,
        _unread_pipes: unread_pipes,
    })
}

/// Makes the child the leader of a process group of its own, which the
/// oracles search and which no signal to the harness's group reaches.
fn own_process_group(command: &mut Command) {
    // SAFETY: setpgid is async-signal-safe.
    unsafe {
        command.pre_exec(|| nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0)).map_err(std::io::Error::from));
    }
}

/// Starts `argv` twice (launch = "race") so that both exec at the same
/// instant, and returns once they are released.
///
/// Each copy is a shell that reads a fifo, then execs `argv`. The harness
/// holds the fifo open for reading and writing, so the shells' opens return
/// at once and their reads wait; once both shells have the fifo open, the
/// harness closes it and both reads see end of file together. (Releasing
/// blocked opens instead would lose a shell that had not reached its open
/// yet: it would then wait forever for a writer.)
pub fn launch_race(
    argv: &[String],
    cwd: &Path,
    env: &[(String, String)],
    token: &str,
    timeout: Duration,
) -> Result<[Launched; 2], String> {
    let dir = tempfile::tempdir().map_err(|err| format!("no temporary directory for the fifo: {err}"))?;
    let fifo = dir.path().join("release");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR)
        .map_err(|err| format!("mkfifo {}: {err}", fifo.display()))?;
    // Close-on-exec (as std opens every file), so no racer inherits a writer.
    let gate = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .map_err(|err| format!("opening the fifo {}: {err}", fifo.display()))?;
    let mut gated: Vec<String> = ["sh", "-c", r#"read _ < "$1"; shift; exec "$@""#, "sh"].map(String::from).into();
    gated.push(fifo.display().to_string());
    gated.extend(argv.iter().cloned());
    let mut racers = [launch(&gated, cwd, env, token, Launch::Race)?, launch(&gated, cwd, env, token, Launch::Race)?];
    for racer in &mut racers {
        racer.wait_until_open(&fifo, timeout)?;
    }
    drop(gate);
    Ok(racers)
}

/// Runs a helper command (a second server, `bengal cleanup`) to its end,
/// marked with `token`, for at most `timeout`; its exit and its output.
pub fn run_to_end(argv: &[String], token: &str, timeout: Duration) -> Result<(WaitStatus, String), String> {
    let (program, args) = argv.split_first().ok_or("nothing to run")?;
    let mut command = Command::new(program);
    command.args(args).env(TOKEN_VAR, token).env("NO_COLOR", "1");
    let piped = launch::spawn_piped(&mut command)?;
    let pid = Pid::from_raw(piped.child.id() as i32);
    match launch::wait_exit(pid, timeout) {
        Ok(status) => {
            piped.output.wait_closed(timeout)?;
            Ok((status, piped.output.text()))
        }
        Err(err) => {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = launch::wait_exit(pid, timeout);
            Err(format!("{}: {err}", args.first().unwrap_or(program)))
        }
    }
}

impl Launched {
    /// Types bytes on the terminal.
    pub fn type_bytes(&self, bytes: &[u8]) -> Result<(), String> {
        let master = self.master.as_ref().ok_or("not on a terminal")?;
        let mut file = std::fs::File::from(master.fd.try_clone().map_err(|e| e.to_string())?);
        file.write_all(bytes).map_err(|err| format!("typing on the terminal: {err}"))
    }

    /// Closes the terminal: once the last master descriptor is closed, the
    /// kernel hangs up the session (SIGHUP, and SIGCONT to a stopped group).
    pub fn close_terminal(&mut self) -> Result<(), String> {
        let master = self.master.take().ok_or("not on a terminal")?;
        self.close_pipe.store(true, Ordering::SeqCst);
        master.reader_closed.recv_timeout(Duration::from_secs(2)).map_err(|_| "the terminal reader did not let go")?;
        drop(master.fd);
        Ok(())
    }

    /// Finds the server under a parent shell: the shell's only child.
    pub fn find_server_under_shell(&mut self, timeout: Duration) -> Result<Pid, String> {
        if let Some(pid) = self.pid {
            return Ok(pid);
        }
        let shell = self.child.id();
        let found = poll::until(timeout, || procfs::children_of(shell).first().copied());
        let pid = Pid::from_raw(found.ok_or("the parent shell started no server")? as i32);
        self.pid = Some(pid);
        Ok(pid)
    }

    /// SIGKILLs the parent shell and reaps it; the server is then ours (the
    /// harness is a subreaper).
    pub fn kill_parent(&mut self) -> Result<(), String> {
        self.child.kill().map_err(|err| format!("killing the parent: {err}"))?;
        self.child.wait().map(drop).map_err(|err| format!("reaping the parent: {err}"))
    }

    /// Sends a signal to the server.
    pub fn signal(&self, signal: Signal) -> Result<(), String> {
        let pid = self.pid.ok_or("the server's pid is not known")?;
        kill(pid, signal).map_err(|err| format!("{signal} to {pid}: {err}"))
    }

    /// Waits for the server to exit, for at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<WaitStatus> {
        poll::until(timeout, || match self.try_exit() {
            Ok(Some(status)) => Some(Some(status)),
            Ok(None) => None,
            Err(_) => Some(None),
        })
        .flatten()
    }

    /// The server's exit if it has exited (reaping it), without waiting;
    /// `Err` when it cannot be waited for (pid unknown, or not our child).
    pub fn try_exit(&mut self) -> Result<Option<WaitStatus>, String> {
        if let Some(status) = self.reaped {
            return Ok(Some(status));
        }
        let pid = self.pid.ok_or("the server's pid is not known")?;
        let status = launch::try_wait(pid)?;
        self.reaped = status;
        Ok(status)
    }

    /// Waits until the process has `path` open, for at most `timeout`.
    fn wait_until_open(&mut self, path: &Path, timeout: Duration) -> Result<(), String> {
        let pid = self.pid.ok_or("the racer's pid is not known")?;
        let opened = poll::until(timeout, || match procfs::has_open(pid.as_raw() as u32, path) {
            Ok(true) => Some(Ok(())),
            Err(err) => Some(Err(format!("{}: {err}", path.display()))),
            Ok(false) => match self.try_exit() {
                Ok(Some(status)) => {
                    Some(Err(format!("racer {pid} ended before its release ({status:?}): {}", self.output.text())))
                }
                Ok(None) => None,
                Err(err) => Some(Err(err)),
            },
        });
        opened.unwrap_or_else(|| {
            Err(format!("racer {pid} did not open {} within {} ms", path.display(), timeout.as_millis()))
        })
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        if self.reaped.is_none()
            && let Some(pid) = self.pid
        {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both racers are released, neither waits for the other's deadline, and
    /// they start together (each prints the clock as its first act).
    #[test]
    fn a_race_releases_both_at_once() {
        let site = tempfile::tempdir().unwrap();
        let argv = ["sh", "-c", "date +%s%N"].map(String::from);
        let mut racers = launch_race(&argv, site.path(), &[], "race-test", Duration::from_secs(10)).unwrap();
        let mut started = Vec::new();
        for racer in &mut racers {
            let status = racer.wait_exit(Duration::from_secs(10));
            assert!(matches!(status, Some(WaitStatus::Exited(_, 0))), "{status:?}");
            racer.output.wait_closed(Duration::from_secs(10)).unwrap();
            started.push(racer.output.text().trim().parse::<u128>().unwrap());
        }
        let apart = started[0].abs_diff(started[1]);
        eprintln!("the racers started {} µs apart", apart / 1000);
        assert!(apart < 1_000_000_000, "{apart} ns apart");
    }

    #[test]
    fn a_command_run_to_its_end_gives_its_exit_and_output() {
        let argv = ["sh", "-c", "echo said; exit 3"].map(String::from);
        let (status, output) = run_to_end(&argv, "end-test", Duration::from_secs(10)).unwrap();
        assert!(matches!(status, WaitStatus::Exited(_, 3)), "{status:?}");
        assert_eq!(output, "said\n");
    }
}
