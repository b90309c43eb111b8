//! `.bengal/server.pid`: who serves this site, held under an exclusive lock
//! for the server's whole life.
//!
//! The lock, not the pid, is the liveness test: the kernel drops it when the
//! process dies, even by SIGKILL, so a reused pid can never look alive, and a
//! file whose lock can be taken is stale whatever it says.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The pid file, relative to the site root.
pub const PID_FILE: &str = ".bengal/server.pid";

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

/// A pid file this process wrote and holds locked; removed on release or drop.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    /// Held open for the lock's sake.
    file: Option<File>,
}

/// What is found at a site's pid file.
#[derive(Debug)]
pub enum Found {
    /// No pid file.
    Nothing,
    /// A file nobody holds: its server died without cleaning up.
    Stale(Option<ServerInfo>),
    /// A live server holds it.
    Live(ServerInfo),
}

/// Looks at the pid file under `root` without changing it.
pub fn inspect(root: &Path) -> Result<Found> {
    let path = root.join(PID_FILE);
    let mut file = match OpenOptions::new().read(true).open(&path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Nothing),
        Err(err) => return Err(Error::io(Path::new(PID_FILE), "open it", err)),
    };
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|err| Error::io(Path::new(PID_FILE), "read it", err))?;
    let info = serde_json::from_str::<ServerInfo>(&text).ok();
    match file.try_lock() {
        // Nobody holds it: stale. Our probe lock ends with `file`.
        Ok(()) => Ok(Found::Stale(info)),
        Err(TryLockError::WouldBlock) => match info {
            Some(info) => Ok(Found::Live(info)),
            // Locked but not yet written: a server is starting right now.
            None => Ok(Found::Live(ServerInfo::unknown())),
        },
        Err(TryLockError::Error(err)) => Err(Error::io(Path::new(PID_FILE), "lock it", err)),
    }
}

/// Removes a stale pid file; returns whether it did. (A server starting in
/// the instant between the check and the removal would lose its file; the
/// window is a few microseconds and the next start recovers.)
pub fn remove_stale(root: &Path) -> Result<bool> {
    match inspect(root)? {
        Found::Stale(_) => {
            std::fs::remove_file(root.join(PID_FILE))
                .map_err(|err| Error::io(Path::new(PID_FILE), "remove the stale file", err))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

impl ServerInfo {
    fn unknown() -> ServerInfo {
        ServerInfo {
            pid: 0,
            ports: Vec::new(),
            host: String::new(),
            url: String::new(),
            start_time: None,
            exe: PathBuf::new(),
            version: String::new(),
        }
    }
}

impl PidFile {
    /// Writes `info` to `root/.bengal/server.pid` atomically (a temporary
    /// file, locked, then renamed over it; never through a symlink) and keeps
    /// it locked. Fails if a live server holds the current file.
    pub fn create(root: &Path, info: &ServerInfo) -> Result<PidFile> {
        let path = root.join(PID_FILE);
        let dir = path.parent().unwrap_or(root);
        std::fs::create_dir_all(dir).map_err(|err| Error::io(dir, "create the directory", err))?;
        if let Found::Live(other) = inspect(root)? {
            return Err(already_served(&other));
        }
        let temp = dir.join(format!(".server.pid.{}", std::process::id()));
        let _ = std::fs::remove_file(&temp);
        let mut file = open_new_nofollow(&temp).map_err(|err| Error::io(&temp, "create it", err))?;
        file.try_lock().map_err(|err| Error::new(format!("could not lock {}: {err}", temp.display())))?;
        let text = serde_json::to_string_pretty(info).unwrap_or_default();
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|err| Error::io(&temp, "write it", err))?;
        std::fs::rename(&temp, &path).map_err(|err| {
            let _ = std::fs::remove_file(&temp);
            Error::io(&path, "move it in place", err)
        })?;
        let pid_file = PidFile { path, file: Some(file) };
        // Two servers starting at the same moment both saw no live file; the
        // one whose rename came last owns it, the other finds out here.
        if !pid_file.is_current() {
            let other = match inspect(root)? {
                Found::Live(other) => other,
                _ => ServerInfo::unknown(),
            };
            return Err(already_served(&other));
        }
        Ok(pid_file)
    }

    /// Rewrites the file with `info` (the ports, once bound), atomically and
    /// still locked: the new file is locked before it replaces the old one.
    pub fn update(&mut self, info: &ServerInfo) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let temp = dir.join(format!(".server.pid.{}", std::process::id()));
        let _ = std::fs::remove_file(&temp);
        let file = write_locked(&temp, info)?;
        std::fs::rename(&temp, &self.path).map_err(|err| {
            let _ = std::fs::remove_file(&temp);
            Error::io(&self.path, "move it in place", err)
        })?;
        self.file = Some(file);
        Ok(())
    }

    /// Whether the file at the path is still the one this process wrote.
    fn is_current(&self) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ours = self.file.as_ref().and_then(|f| f.metadata().ok());
            let there = std::fs::symlink_metadata(&self.path).ok();
            matches!((ours, there), (Some(a), Some(b)) if a.ino() == b.ino() && a.dev() == b.dev())
        }
        #[cfg(not(unix))]
        true
    }

    /// Removes the file (if it is still ours) and drops the lock. Idempotent.
    pub fn release(&mut self) -> std::io::Result<()> {
        if self.file.is_none() {
            return Ok(());
        }
        // Removed while still locked, so nobody ever sees it stale.
        let result = if self.is_current() { std::fs::remove_file(&self.path) } else { Ok(()) };
        self.file = None;
        result.or_else(|err| if err.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(err) })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = self.release();
    }
}

fn already_served(other: &ServerInfo) -> Error {
    let what = if other.pid == 0 {
        "another Bengal server is starting for this site".to_owned()
    } else {
        format!("a Bengal server (pid {}) is already serving this site at {}", other.pid, other.url)
    };
    Error::new(what).with_hint("open that URL, stop it with `bengal cleanup`, or start with --replace to take over")
}

/// Creates `temp` (never through a symlink), locks it, and writes `info`.
fn write_locked(temp: &Path, info: &ServerInfo) -> Result<File> {
    let mut file = open_new_nofollow(temp).map_err(|err| Error::io(temp, "create it", err))?;
    file.try_lock().map_err(|err| Error::new(format!("could not lock {}: {err}", temp.display())))?;
    let text = serde_json::to_string_pretty(info).unwrap_or_default();
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(|err| Error::io(temp, "write it", err))?;
    Ok(file)
}

fn open_new_nofollow(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
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
    fn a_held_file_is_live_and_blocks_a_second_server() {
        let dir = tempfile::tempdir().unwrap();
        let mut held = PidFile::create(dir.path(), &info()).unwrap();
        assert!(matches!(inspect(dir.path()).unwrap(), Found::Live(found) if found == info()));
        let err = PidFile::create(dir.path(), &info()).unwrap_err();
        assert!(err.message.contains("already serving"), "{err}");
        held.release().unwrap();
        held.release().unwrap();
        assert!(matches!(inspect(dir.path()).unwrap(), Found::Nothing));
    }

    #[test]
    fn an_unheld_file_is_stale_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".bengal")).unwrap();
        std::fs::write(dir.path().join(PID_FILE), serde_json::to_string(&info()).unwrap()).unwrap();
        assert!(matches!(inspect(dir.path()).unwrap(), Found::Stale(Some(_))));
        assert!(remove_stale(dir.path()).unwrap());
        assert!(!dir.path().join(PID_FILE).exists());
    }

    #[test]
    fn update_keeps_it_locked() {
        let dir = tempfile::tempdir().unwrap();
        let mut held = PidFile::create(dir.path(), &info()).unwrap();
        let mut bound = info();
        bound.ports = vec![5174];
        held.update(&bound).unwrap();
        assert!(matches!(inspect(dir.path()).unwrap(), Found::Live(found) if found.ports == [5174]));
        held.release().unwrap();
        assert!(!dir.path().join(PID_FILE).exists());
    }

    #[test]
    fn drop_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        drop(PidFile::create(dir.path(), &info()).unwrap());
        assert!(!dir.path().join(PID_FILE).exists());
    }

    #[cfg(unix)]
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
