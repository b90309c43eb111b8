//! Oracles that cannot be fooled by what the server says about itself: the
//! kernel's view of processes (through [`super::procfs`]) and of sockets
//! (through `bengal_tests::ports`).

use std::time::{Duration, Instant};

use bengal_tests::{poll, ports};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::procfs;

/// A process that outlived its scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// Its pid.
    pub pid: u32,
    /// Why it counts as the scenario's.
    pub why: &'static str,
    /// Its command line.
    pub command: String,
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} ({}): {}", self.pid, self.why, self.command)
    }
}

/// Reaps every exited child of the harness (it is a subreaper, so orphans
/// of a scenario end up here).
pub fn reap_zombies() {
    while let Ok(status) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
        if status == WaitStatus::StillAlive {
            break;
        }
    }
}

/// Processes of the scenario still alive: marked with its token, in its
/// process group, or reparented to the harness.
pub fn leftovers(token: &str, pgid: u32) -> Vec<Leftover> {
    reap_zombies();
    let me = std::process::id();
    procfs::pids()
        .into_iter()
        .filter(|&pid| pid != me)
        .filter_map(|pid| {
            let stat = procfs::stat(pid).filter(|s| !s.zombie)?;
            let why = if procfs::carries_token(pid, token) {
                "carries the scenario's token"
            } else if stat.pgid == pgid {
                "in the scenario's process group"
            } else if stat.ppid == me {
                "reparented to the harness"
            } else {
                return None;
            };
            Some(Leftover { pid, why, command: procfs::command_line(pid) })
        })
        .collect()
}

/// Kills leftovers by pid, and reaps them.
pub fn kill_all(leftovers: &[Leftover]) {
    for leftover in leftovers {
        let _ = kill(Pid::from_raw(leftover.pid as i32), Signal::SIGKILL);
    }
    let all_gone = || {
        reap_zombies();
        leftovers.iter().all(|l| procfs::stat(l.pid).is_none_or(|s| s.zombie)).then_some(())
    };
    let _ = poll::until(Duration::from_secs(2), all_gone);
    reap_zombies();
}

/// Whether nothing listens on `port` (no LISTEN entry in `/proc/net/tcp`
/// nor `tcp6`) and it binds again on every loopback address.
pub use ports::is_free as port_free;

/// Polls until `port` is free; returns when it became free (None: not within `timeout`).
/// The instant is taken before the check that found it free, so a port
/// found free in time never reads as late.
pub fn wait_port_free(port: u16, timeout: Duration) -> Option<Instant> {
    poll::until(timeout, || {
        let checked = Instant::now();
        port_free(port).then_some(checked)
    })
}
