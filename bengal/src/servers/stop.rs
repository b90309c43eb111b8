//! Stopping another Bengal server safely: only a Bengal server of this user,
//! and only while its identity (pid and start time) is the one that was read.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::procfs::{Process, current_uid};

/// How long a server asked to stop may take before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How a stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It exited after SIGTERM.
    Gracefully,
    /// It had to be killed after [`STOP_GRACE`].
    Killed,
    /// It was already gone.
    AlreadyGone,
}

/// Why a process was not stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Another user's process is never touched.
    OtherUser,
    /// The pid now belongs to another process.
    IdentityChanged,
    /// Not a Bengal server.
    NotBengal,
    /// Still alive after SIGKILL (e.g. uninterruptible sleep).
    Unkillable,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::OtherUser => "it belongs to another user",
            Refused::IdentityChanged => "that pid now belongs to another process",
            Refused::NotBengal => "it is not a Bengal server",
            Refused::Unkillable => "it did not die even after SIGKILL",
        })
    }
}

/// Stops `expected` (as read earlier): SIGTERM then SIGCONT (as systemd does,
/// so a suspended server can act on it), up to [`STOP_GRACE`] for it to exit,
/// then SIGKILL.
pub fn stop(expected: &Process) -> Result<Stopped, Refused> {
    // The pidfd is opened before the identity check: from then on it names
    // that process, even if the pid were reused.
    let exit = ExitWatch::new(expected);
    let Some(now) = Process::read(expected.pid) else { return Ok(Stopped::AlreadyGone) };
    if now.uid != current_uid() {
        return Err(Refused::OtherUser);
    }
    if now.start_time != expected.start_time {
        return Err(Refused::IdentityChanged);
    }
    if !now.is_bengal_server() {
        return Err(Refused::NotBengal);
    }
    exit.signal(Signal::SIGTERM);
    exit.signal(Signal::SIGCONT);
    if exit.wait(STOP_GRACE) {
        return Ok(Stopped::Gracefully);
    }
    exit.signal(Signal::SIGKILL);
    if exit.wait(Duration::from_secs(2)) { Ok(Stopped::Killed) } else { Err(Refused::Unkillable) }
}

/// Waits for one process to exit: through a pidfd on Linux (woken by the
/// kernel), else by checking its identity every few milliseconds.
struct ExitWatch {
    expected: Process,
    #[cfg(target_os = "linux")]
    pidfd: Option<std::os::fd::OwnedFd>,
}

impl ExitWatch {
    fn new(expected: &Process) -> ExitWatch {
        ExitWatch {
            expected: expected.clone(),
            #[cfg(target_os = "linux")]
            pidfd: super::procfs::pidfd_open(expected.pid),
        }
    }

    /// Signals the watched process: through its pidfd where there is one.
    fn signal(&self, signal: Signal) {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.pidfd {
            use std::os::fd::AsRawFd;
            // SAFETY: pidfd_send_signal takes a pidfd we own, a signal number
            // and no siginfo; it touches no memory of ours.
            let sent = unsafe {
                nix::libc::syscall(
                    nix::libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    signal as nix::libc::c_int,
                    std::ptr::null::<nix::libc::siginfo_t>(),
                    0,
                )
            };
            if sent == 0 {
                return;
            }
        }
        let _ = kill(Pid::from_raw(self.expected.pid as i32), signal);
    }

    fn gone(&self) -> bool {
        Process::read(self.expected.pid).is_none_or(|p| p.start_time != self.expected.start_time || is_zombie(p.pid))
    }

    fn wait(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.pidfd {
            use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
            use std::os::fd::AsFd;
            // Until readable (the process exited) or the deadline; an
            // interrupted poll just polls again.
            while !self.gone() {
                let left = end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
                let millis = PollTimeout::from(left.as_millis().clamp(1, u128::from(u16::MAX)) as u16);
                let _ = poll(&mut fds, millis);
            }
            return true;
        }
        while Instant::now() < end {
            if self.gone() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.gone()
    }
}

/// A zombie has exited; only its parent has not reaped it yet.
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_process_that_is_not_bengal() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let process = Process::read(child.id()).unwrap();
        assert_eq!(stop(&process), Err(Refused::NotBengal));
        let mut changed = process.clone();
        changed.start_time += 1;
        assert_eq!(stop(&changed), Err(Refused::IdentityChanged));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(stop(&process), Ok(Stopped::AlreadyGone));
    }
}
