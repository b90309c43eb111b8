//! One server per site, and what it says about itself.
//!
//! - `.bengal/server.lock` decides: a server takes an exclusive lock on it
//!   before anything else and holds it for life. The file is never renamed or
//!   removed, so two servers started at the same instant lock the same inode
//!   and exactly one wins; the kernel drops the lock when the process dies,
//!   even by SIGKILL, so a held lock is a live server and a free one is not.
//! - `.bengal/server.pid` is only information (pid, URL, ports, start time),
//!   written after the lock is held and read without trusting it: never
//!   through a symlink, never blocking, a regular file of bounded size;
//!   whatever cannot be parsed is stale.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::procfs::Process;
use crate::error::{Error, Result};
use crate::paths::{self, LOCK_FILE, PID_FILE};

/// How long a lock that looks held is tried again before it counts as held.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(50);

/// A pid file is a few hundred bytes; anything much larger is not one.
const MAX_PID_FILE: u64 = 64 * 1024;

/// What a running server says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Its process id.
    pub pid: u32,
    /// The ports it listens on.
    pub ports: Vec<u16>,
    /// The host it was asked to listen on.
    pub host: String,
    /// The URL it serves.
    pub url: String,
    /// Its start time, in clock ticks since boot (`/proc/PID/stat` field 22):
    /// with the pid, the process's identity.
    pub start_time: Option<u64>,
    /// Its executable.
    pub exe: PathBuf,
    /// Bengal's version.
    pub version: String,
}

/// What is found at a site.
#[derive(Debug)]
pub enum Found {
    /// No server, no pid file.
    Nothing,
    /// A pid file, but no server holds the lock: its server died without
    /// cleaning up. What it says, when it could be read.
    Stale(Option<ServerInfo>),
    /// A live Bengal server holds the lock and says who it is.
    Live(ServerInfo),
    /// The lock is held, but not by the server the pid file names: a server
    /// starting this very moment, or another program.
    Held(LockHolder),
}

/// Who holds a site's lock when the pid file does not say.
#[derive(Debug)]
pub enum LockHolder {
    /// A Bengal server (one starting, its pid file not yet written).
    BengalServer(Process),
    /// Another program, which is never touched.
    Other(Process),
    /// Its pid, where the system tells it (`/proc/locks` on Linux) but
    /// `/proc` says no more.
    Unknown(Option<u32>),
}

impl LockHolder {
    fn of(pid: Option<u32>) -> LockHolder {
        match pid.and_then(Process::read) {
            Some(process) if process.is_bengal_server() => LockHolder::BengalServer(process),
            Some(process) => LockHolder::Other(process),
            None => LockHolder::Unknown(pid),
        }
    }

    /// `pid 4242 (flock -x …, uid 65534)`, or as much as is known.
    pub fn describe(&self) -> String {
        match self {
            LockHolder::BengalServer(process) | LockHolder::Other(process) => process.describe(),
            LockHolder::Unknown(Some(pid)) => format!("pid {pid}"),
            LockHolder::Unknown(None) => "another process".to_owned(),
        }
    }
}

/// The site's lock, held for the server's whole life (released on drop or exit).
#[derive(Debug)]
pub struct ServerLock {
    _file: File,
}

impl ServerLock {
    /// Takes the lock, creating `.bengal/` and the lock file as needed; `None`
    /// when another process holds it.
    pub fn try_acquire(root: &Path) -> Result<Option<ServerLock>> {
        paths::private_dir(root, paths::BENGAL_DIR)?;
        let file = open_lock(root)?;
        // An `inspect` elsewhere holds a shared lock for a few microseconds:
        // a free lock is taken within this bound, a held one is not.
        let deadline = std::time::Instant::now() + LOCK_PATIENCE;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(ServerLock { _file: file })),
                Err(TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(err)) => return Err(Error::io(Path::new(LOCK_FILE), "lock it", err)),
            }
        }
    }
}

/// Opens the lock file without following a link, creating it private to this
/// user. One that cannot be opened (another user's) is an error saying whose.
fn open_lock(root: &Path) -> Result<File> {
    let path = root.join(LOCK_FILE);
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK).mode(0o600);
    }
    let file = options.open(&path).map_err(|err| {
        let owner = owner_of(&path).map(|uid| format!(" (it belongs to uid {uid})")).unwrap_or_default();
        Error::io(Path::new(LOCK_FILE), &format!("open it{owner}"), err)
            .with_hint("a server of another user may serve this site; if none does, remove .bengal/server.lock")
    })?;
    let is_file = file.metadata().map(|m| m.is_file()).unwrap_or(false);
    if !is_file {
        return Err(Error::in_file(LOCK_FILE, "is not a regular file").with_hint("remove it; Bengal recreates it"));
    }
    Ok(file)
}

fn owner_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).ok().map(|m| m.uid())
}

/// Looks at the site without changing it. Whether the lock is held is
/// probed with a shared lock, which [`ServerLock::try_acquire`] waits out.
pub fn inspect(root: &Path) -> Result<Found> {
    let info = read_info(root);
    let lock_path = root.join(LOCK_FILE);
    let held = match std::fs::symlink_metadata(&lock_path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => false,
        _ => {
            let file = open_lock(root)?;
            match file.try_lock_shared() {
                Ok(()) => false,
                Err(TryLockError::WouldBlock) => true,
                Err(TryLockError::Error(err)) => return Err(Error::io(Path::new(LOCK_FILE), "lock it", err)),
            }
        }
    };
    Ok(match (held, info) {
        (false, PidInfo::Missing) => Found::Nothing,
        (false, PidInfo::Read(info)) => Found::Stale(Some(info)),
        (false, PidInfo::Unreadable) => Found::Stale(None),
        (true, PidInfo::Read(info)) if names_a_live_server(&info) => Found::Live(info),
        (true, _) => Found::Held(LockHolder::of(lock_holder(&lock_path))),
    })
}

/// What the pid file holds.
enum PidInfo {
    Missing,
    Unreadable,
    Read(ServerInfo),
}

fn read_info(root: &Path) -> PidInfo {
    match paths::read_regular_file(&root.join(PID_FILE), MAX_PID_FILE) {
        Ok(None) => PidInfo::Missing,
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).map_or(PidInfo::Unreadable, PidInfo::Read),
        Err(_) => PidInfo::Unreadable,
    }
}

/// The process the pid file names is alive, is the one that wrote it (same
/// start time), and is a Bengal server.
fn names_a_live_server(info: &ServerInfo) -> bool {
    Process::identified(info.pid, info.start_time).is_some_and(|p| p.is_bengal_server())
}

/// The pid holding the lock on `path`, from `/proc/locks` (Linux).
fn lock_holder(path: &Path) -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let inode = std::fs::symlink_metadata(path).ok()?.ino();
        let locks = std::fs::read_to_string("/proc/locks").ok()?;
        // `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`: pid, then maj:min:inode.
        locks.lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (pid, device) = (fields.get(4)?, fields.get(5)?);
            let found: u64 = device.rsplit(':').next()?.parse().ok()?;
            (found == inode).then(|| pid.parse().ok()).flatten()
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        None
    }
}

/// With the lock held, any pid file is stale: removes it and says what it
/// said ([`Found::Stale`]), or [`Found::Nothing`].
pub fn take_stale(root: &Path, _lock: &ServerLock) -> Result<Found> {
    let info = match read_info(root) {
        PidInfo::Missing => return Ok(Found::Nothing),
        PidInfo::Unreadable => None,
        PidInfo::Read(info) => Some(info),
    };
    remove_pid_file(root)?;
    Ok(Found::Stale(info))
}

/// Removes the pid file when no server holds the lock; returns whether it
/// did. Taking the lock for the removal means no server can start meanwhile.
pub fn remove_stale(root: &Path) -> Result<bool> {
    let Some(_lock) = ServerLock::try_acquire(root)? else { return Ok(false) };
    remove_pid_file(root)
}

fn remove_pid_file(root: &Path) -> Result<bool> {
    match std::fs::remove_file(root.join(PID_FILE)) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(Error::io(Path::new(PID_FILE), "remove the stale file", err)),
    }
}

/// The pid file of the server holding the site's [`ServerLock`]; removed on
/// release or drop.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    /// The file written last, to tell it from one written by someone else.
    written: Option<File>,
}

impl PidFile {
    /// Writes `info`, replacing whatever was there (the caller holds the lock,
    /// so anything there is stale).
    pub fn create(root: &Path, _lock: &ServerLock, info: &ServerInfo) -> Result<PidFile> {
        let mut pid_file = PidFile { path: root.join(PID_FILE), written: None };
        pid_file.update(info)?;
        Ok(pid_file)
    }

    /// Rewrites the file with `info` (the ports, once bound), atomically: a
    /// temporary file (never through a symlink) renamed over it.
    pub fn update(&mut self, info: &ServerInfo) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let temp = dir.join(format!(".server.pid.{}", std::process::id()));
        let _ = std::fs::remove_file(&temp);
        let mut file = open_new_nofollow(&temp).map_err(|err| Error::io(&temp, "create it", err))?;
        let text = serde_json::to_string_pretty(info).unwrap_or_default();
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|err| Error::io(&temp, "write it", err))?;
        std::fs::rename(&temp, &self.path).map_err(|err| {
            let _ = std::fs::remove_file(&temp);
            Error::io(&self.path, "move it in place", err)
        })?;
        self.written = Some(file);
        Ok(())
    }

    /// Whether the file at the path is still the one this process wrote.
    fn is_current(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let ours = self.written.as_ref().and_then(|f| f.metadata().ok());
        let there = std::fs::symlink_metadata(&self.path).ok();
        matches!((ours, there), (Some(a), Some(b)) if a.ino() == b.ino() && a.dev() == b.dev())
    }

    /// Removes the file (if it is still ours). Idempotent.
    pub fn release(&mut self) -> std::io::Result<()> {
        if self.written.is_none() {
            return Ok(());
        }
        let result = if self.is_current() { std::fs::remove_file(&self.path) } else { Ok(()) };
        self.written = None;
        result.or_else(|err| if err.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(err) })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = self.release();
    }
}

fn open_new_nofollow(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(nix::libc::O_NOFOLLOW).mode(0o644);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ServerInfo {
        ServerInfo {
            pid: std::process::id(),
            ports: vec![5173],
            host: "localhost".into(),
            url: "http://localhost:5173/".into(),
            start_time: Some(42),
            exe: PathBuf::from("/usr/bin/bengal"),
            version: "0.1.0".into(),
        }
    }

    #[test]
    fn one_lock_per_site() {
        let dir = tempfile::tempdir().unwrap();
        let held = ServerLock::try_acquire(dir.path()).unwrap().unwrap();
        assert!(ServerLock::try_acquire(dir.path()).unwrap().is_none());
        // Held, but this test process is not a Bengal server.
        assert!(matches!(inspect(dir.path()).unwrap(), Found::Held(_)));
        drop(held);
        assert!(ServerLock::try_acquire(dir.path()).unwrap().is_some());
        assert!(matches!(inspect(dir.path()).unwrap(), Found::Nothing));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_holder_of_the_lock_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let _held = ServerLock::try_acquire(dir.path()).unwrap().unwrap();
        let Found::Held(LockHolder::Other(holder)) = inspect(dir.path()).unwrap() else {
            panic!("held by this process")
        };
        assert_eq!(holder.pid, std::process::id());
    }

    #[test]
    fn an_unheld_pid_file_is_stale_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".bengal")).unwrap();
        std::fs::write(dir.path().join(PID_FILE), serde_json::to_string(&info()).unwrap()).unwrap();
        assert!(matches!(inspect(dir.path()).unwrap(), Found::Stale(Some(_))));
        assert!(remove_stale(dir.path()).unwrap());
        assert!(!dir.path().join(PID_FILE).exists());
    }

    #[test]
    fn what_cannot_be_parsed_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".bengal")).unwrap();
        for bytes in [&b"\xff\xfe"[..], b"{\"pid\": 1", b""] {
            std::fs::write(dir.path().join(PID_FILE), bytes).unwrap();
            assert!(matches!(inspect(dir.path()).unwrap(), Found::Stale(None)));
        }
    }

    #[test]
    fn a_pid_file_is_written_updated_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let lock = ServerLock::try_acquire(dir.path()).unwrap().unwrap();
        let mut held = PidFile::create(dir.path(), &lock, &info()).unwrap();
        let mut bound = info();
        bound.ports = vec![5174];
        held.update(&bound).unwrap();
        assert!(matches!(read_info(dir.path()), PidInfo::Read(found) if found.ports == [5174]));
        held.release().unwrap();
        held.release().unwrap();
        assert!(!dir.path().join(PID_FILE).exists());
        drop(PidFile::create(dir.path(), &lock, &info()).unwrap());
        assert!(!dir.path().join(PID_FILE).exists(), "dropping removes it");
    }

    #[test]
    fn never_opens_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(open_new_nofollow(&link).is_err());
        assert!(!target.exists(), "followed a symlink");
    }
}
