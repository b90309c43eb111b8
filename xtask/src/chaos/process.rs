//! Starting and driving the server under test: on a pseudo-terminal (as a
//! session leader), under a parent shell, or with its output on a pipe. Each
//! launch gets its own process group and a token in its environment, which
//! the oracles use to find anything it leaves behind.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use super::schema::Launch;

/// The environment variable that marks every process of one scenario.
pub const TOKEN_VAR: &str = "BENGAL_CHAOS_TOKEN";

/// Everything the server printed, as it arrives.
#[derive(Clone, Default)]
pub struct Output(Arc<Mutex<String>>);

impl Output {
    fn push(&self, text: &str) {
        if let Ok(mut all) = self.0.lock() {
            all.push_str(&text.replace("\r\n", "\n"));
        }
    }

    /// The whole output so far.
    pub fn text(&self) -> String {
        self.0.lock().map(|all| all.clone()).unwrap_or_default()
    }

    /// Waits until the output contains `needle`, for at most `timeout`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> Result<(), String> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.text().contains(needle) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(format!("no {needle:?} in the output within {} ms", timeout.as_millis()))
    }
}

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
    /// Set to make the pipe reader close its end at the next line (and the
    /// terminal's reader let go of the master).
    pub close_pipe: Arc<AtomicBool>,
    /// Whether the server was reaped already.
    pub reaped: Option<WaitStatus>,
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

/// Starts `argv` as `launch` says, marked with `token`.
pub fn launch(
    argv: &[String],
    cwd: &std::path::Path,
    env: &[(String, String)],
    token: &str,
    launch: Launch,
) -> Result<Launched, String> {
    let output = Output::default();
    let close_pipe = Arc::new(AtomicBool::new(false));
    let mut command = match launch {
        Launch::Orphanable => {
            let mut shell = Command::new("sh");
            shell.arg("-c").arg("\"$@\" & wait").arg("sh").args(argv);
            shell
        }
        _ => {
            let mut direct = Command::new(&argv[0]);
            direct.args(&argv[1..]);
            direct
        }
    };
    command.current_dir(cwd).env(TOKEN_VAR, token).env("NO_COLOR", "1").envs(env.iter().map(|(k, v)| (k, v)));
    let (child, master) = match launch {
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
            let child = command.spawn().map_err(|err| format!("could not start {:?}: {err}", argv[0]))?;
            let reader = pty.master.try_clone().map_err(|e| e.to_string())?;
            let sink = output.clone();
            let closing = close_pipe.clone();
            let (closed_sender, closed) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                read_master(reader, &sink, &closing);
                let _ = closed_sender.send(());
            });
            (child, Some(Master { fd: pty.master, reader_closed: closed }))
        }
        Launch::Pipe | Launch::Orphanable => {
            command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
            // SAFETY: setpgid is async-signal-safe.
            unsafe {
                command.pre_exec(|| {
                    nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0)).map_err(std::io::Error::from)
                });
            }
            let mut child = command.spawn().map_err(|err| format!("could not start {:?}: {err}", argv[0]))?;
            for (stream, closable) in [
                (child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>), true),
                (child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>), false),
            ] {
                let Some(mut stream) = stream else { continue };
                let sink = output.clone();
                let close = close_pipe.clone();
                std::thread::spawn(move || {
                    let mut buffer = [0u8; 4096];
                    while let Ok(read) = stream.read(&mut buffer) {
                        if read == 0 {
                            break;
                        }
                        sink.push(&String::from_utf8_lossy(&buffer[..read]));
                        // A reader that goes away early: the pipe closes here.
                        if closable && close.load(Ordering::SeqCst) {
                            break;
                        }
                    }
                });
            }
            (child, None)
        }
    };
    let pid = Pid::from_raw(child.id() as i32);
    let server = if launch == Launch::Orphanable { None } else { Some(pid) };
    Ok(Launched { child, pid: server, pgid: pid, output, master, close_pipe, reaped: None })
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
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Some(pid) = super::oracles::children_of(shell).first() {
                self.pid = Some(Pid::from_raw(*pid as i32));
                return Ok(Pid::from_raw(*pid as i32));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err("the parent shell started no server".to_owned())
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
        if let Some(status) = self.reaped {
            return Some(status);
        }
        let pid = self.pid?;
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            match waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => std::thread::sleep(Duration::from_millis(2)),
                Ok(status) => {
                    self.reaped = Some(status);
                    return Some(status);
                }
                Err(_) => return None,
            }
        }
        None
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        if self.reaped.is_none()
            && let Some(pid) = self.pid
        {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
