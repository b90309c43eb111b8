//! What `/proc` says about processes: their parent, group and state, their
//! command line, the scenario token in their environment, the files they
//! hold open. The leaf that the launcher ([`super::process`]) and the
//! oracles ([`super::oracles`]) share, so that neither imports the other.

use std::path::Path;

/// The environment variable that marks every process of one scenario: the
/// launcher sets it, the oracles look for it.
pub const TOKEN_VAR: &str = "BENGAL_CHAOS_TOKEN";

/// A process's parent, group and state, from `/proc/PID/stat`.
pub struct Stat {
    /// Its parent's pid.
    pub ppid: u32,
    /// Its process group.
    pub pgid: u32,
    /// Whether it has exited and waits to be reaped.
    pub zombie: bool,
}

/// `/proc/PID/stat`, or None once the process is gone.
pub fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces and parentheses.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    Some(Stat {
        zombie: fields.first() == Some(&"Z"),
        ppid: fields.get(1)?.parse().ok()?,
        pgid: fields.get(2)?.parse().ok()?,
    })
}

/// Every pid on the system.
pub fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|entries| entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

/// Living (not zombie) children of `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    pids().into_iter().filter(|&child| stat(child).is_some_and(|s| s.ppid == pid && !s.zombie)).collect()
}

/// A process's command line, its arguments joined by spaces.
pub fn command_line(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<_> = raw.split(|&b| b == 0).filter(|arg| !arg.is_empty()).map(String::from_utf8_lossy).collect();
    args.join(" ")
}

/// Whether the process's environment holds `TOKEN_VAR=token`.
pub fn carries_token(pid: u32, token: &str) -> bool {
    let wanted = format!("{TOKEN_VAR}={token}");
    std::fs::read(format!("/proc/{pid}/environ"))
        .is_ok_and(|env| env.split(|&b| b == 0).any(|var| var == wanted.as_bytes()))
}

/// Whether the process has `path` open: one of its descriptors in
/// `/proc/PID/fd` is that file (same device and inode).
pub fn has_open(pid: u32, path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let wanted = std::fs::metadata(path)?;
    let descriptors = std::fs::read_dir(format!("/proc/{pid}/fd"));
    Ok(descriptors.into_iter().flatten().flatten().any(|fd| {
        std::fs::metadata(fd.path()).is_ok_and(|file| file.ino() == wanted.ino() && file.dev() == wanted.dev())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_as_proc_shows_it() {
        let me = std::process::id();
        let stat = stat(me).unwrap();
        assert!(!stat.zombie);
        assert_eq!(stat.ppid, std::os::unix::process::parent_id());
        assert!(pids().contains(&me));
        assert!(!command_line(me).is_empty());
        assert!(!carries_token(me, "no-such-token"));
        let file = tempfile::NamedTempFile::new().unwrap();
        assert!(has_open(me, file.path()).unwrap());
    }
}
