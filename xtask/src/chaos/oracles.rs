//! Oracles that cannot be fooled by what the server says about itself: the
//! kernel's view of processes and sockets.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

use super::process::TOKEN_VAR;

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

struct Stat {
    ppid: u32,
    pgid: u32,
    zombie: bool,
}

fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    Some(Stat {
        zombie: fields.first() == Some(&"Z"),
        ppid: fields.get(1)?.parse().ok()?,
        pgid: fields.get(2)?.parse().ok()?,
    })
}

fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|entries| entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

fn command_line(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    raw.split(|&b| b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a)).collect::<Vec<_>>().join(" ")
}

fn has_token(pid: u32, token: &str) -> bool {
    let wanted = format!("{TOKEN_VAR}={token}");
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|&b| b == 0).any(|var| var == wanted.as_bytes()))
        .unwrap_or(false)
}

/// Living children of `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    pids().into_iter().filter(|&p| stat(p).is_some_and(|s| s.ppid == pid && !s.zombie)).collect()
}

/// Reaps every exited child of the harness (it is a subreaper, so orphans
/// of a scenario end up here).
pub fn reap_zombies() {
    while let Ok(status) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
        if status == nix::sys::wait::WaitStatus::StillAlive {
            break;
        }
    }
}

/// Processes of the scenario still alive: marked with its token, in its
/// process group, or reparented to the harness.
pub fn leftovers(token: &str, pgid: u32) -> Vec<Leftover> {
    reap_zombies();
    let me = std::process::id();
    pids()
        .into_iter()
        .filter(|&pid| pid != me)
        .filter_map(|pid| {
            let stat = stat(pid).filter(|s| !s.zombie)?;
            let why = if has_token(pid, token) {
                "carries the scenario's token"
            } else if stat.pgid == pgid {
                "in the scenario's process group"
            } else if stat.ppid == me {
                "reparented to the harness"
            } else {
                return None;
            };
            Some(Leftover { pid, why, command: command_line(pid) })
        })
        .collect()
}

/// Kills leftovers by pid, and reaps them.
pub fn kill_all(leftovers: &[Leftover]) {
    for leftover in leftovers {
        let _ = kill(Pid::from_raw(leftover.pid as i32), Signal::SIGKILL);
    }
    let end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < end && leftovers.iter().any(|l| stat(l.pid).is_some_and(|s| !s.zombie)) {
        reap_zombies();
        std::thread::sleep(Duration::from_millis(5));
    }
    reap_zombies();
}

/// Whether nothing listens on `port`: no LISTEN entry in /proc/net/tcp and
/// tcp6, and binding it again (with SO_REUSEADDR, as servers do) works on
/// every loopback address.
pub fn port_free(port: u16) -> bool {
    let listening = ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let local_port =
                    fields.get(1).and_then(|a| a.rsplit(':').next()).and_then(|p| u16::from_str_radix(p, 16).ok());
                local_port == Some(port) && fields.get(3) == Some(&"0A")
            })
        })
    });
    let ipv6 = std::net::TcpListener::bind(("::1", 0)).is_ok();
    let bindable = std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
        && (!ipv6 || std::net::TcpListener::bind(("::1", port)).is_ok());
    !listening && bindable
}

/// Polls until `port` is free; returns when it became free (None: not within `timeout`).
/// The instant is taken before the check that found it free, so a port
/// found free in time never reads as late.
pub fn wait_port_free(port: u16, timeout: Duration) -> Option<Instant> {
    let end = Instant::now() + timeout;
    loop {
        let checked = Instant::now();
        if port_free(port) {
            return Some(checked);
        }
        if checked >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
