//! `bengal cleanup`: finding what a crashed or orphaned server left behind.
//! Deciding and stopping is the command's; this only looks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::pidfile::{self, Found, LockHolder};
use super::procfs::PortHolder;
use super::procfs::{PortUser, Process, bengal_servers, port_users};
use crate::error::Result;

/// Where to look.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The site whose pid file is read (and whose orphans are found).
    pub root: PathBuf,
    /// Also what holds this port.
    pub port: Option<u16>,
    /// Every Bengal server of the current user.
    pub all: bool,
}

/// A Bengal server found running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The process, as read (its identity is checked again before a stop).
    pub process: Process,
    /// Ports it serves, when known (from its pid file or the port asked for).
    pub ports: Vec<u16>,
    /// The site it serves, when known.
    pub site: Option<PathBuf>,
}

impl Candidate {
    /// Its parent is init: nobody will ever stop it but us.
    pub fn is_orphan(&self) -> bool {
        self.process.ppid == 1
    }

    /// How long it has run.
    pub fn age(&self) -> Option<Duration> {
        self.process.age()
    }
}

/// What was found.
#[derive(Debug, Default)]
pub struct Findings {
    /// A pid file nobody holds: its server died (SIGKILL, power loss).
    pub stale_pid_file: Option<PathBuf>,
    /// Bengal servers to offer to stop.
    pub servers: Vec<Candidate>,
    /// Processes on the port that are not Bengal servers: never touched.
    pub foreign: Vec<PortHolder>,
    /// The site's lock is held by something that is not a Bengal server of
    /// this user (described), which is never touched either.
    pub foreign_lock: Option<String>,
}

/// Looks at the site's pid file, Bengal servers of this site (or of the
/// user with `all`), and what holds `port`.
pub fn find(scope: &Scope) -> Result<Findings> {
    let mut findings = Findings::default();
    let site = std::fs::canonicalize(&scope.root).unwrap_or_else(|_| scope.root.clone());
    match pidfile::inspect(&scope.root)? {
        Found::Stale(_) => findings.stale_pid_file = Some(scope.root.join(crate::paths::PID_FILE)),
        Found::Live(info) => {
            if let Some(process) = Process::identified(info.pid, info.start_time) {
                findings.servers.push(Candidate { process, ports: info.ports, site: Some(site.clone()) });
            }
        }
        Found::Held(LockHolder::BengalServer(process)) if process.is_our_server() => {
            findings.servers.push(Candidate { process, ports: Vec::new(), site: Some(site.clone()) });
        }
        Found::Held(holder) => findings.foreign_lock = Some(holder.describe()),
        Found::Nothing => {}
    }
    for process in bengal_servers() {
        let serves = process.site();
        if scope.all || serves.as_deref() == Some(site.as_path()) {
            let ports = serves.as_deref().map(ports_from_pid_file).unwrap_or_default();
            add(&mut findings, Candidate { process, ports, site: serves });
        }
    }
    if let Some(port) = scope.port {
        for user in port_users(port) {
            match user {
                PortUser::OurServer(process) => {
                    let site = process.site();
                    add(&mut findings, Candidate { process, ports: vec![port], site });
                }
                PortUser::Foreign(holder) => findings.foreign.push(holder),
            }
        }
    }
    findings.servers.sort_by_key(|c| c.process.pid);
    Ok(findings)
}

fn add(findings: &mut Findings, candidate: Candidate) {
    match findings.servers.iter_mut().find(|c| c.process.pid == candidate.process.pid) {
        Some(known) => {
            for port in candidate.ports {
                if !known.ports.contains(&port) {
                    known.ports.push(port);
                }
            }
        }
        None => findings.servers.push(candidate),
    }
}

fn ports_from_pid_file(site: &Path) -> Vec<u16> {
    match pidfile::inspect(site) {
        Ok(Found::Live(info)) => info.ports,
        _ => Vec::new(),
    }
}
