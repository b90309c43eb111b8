//! Other processes: who they are (from /proc on Linux) and how to stop one
//! safely. Only Bengal servers of the same user are ever signalled, and only
//! while their identity (pid and start time) is the one that was read.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long a server asked to stop may take before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// A process as /proc shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// Its pid.
    pub pid: u32,
    /// Its parent's pid.
    pub ppid: u32,
    /// Its real user id.
    pub uid: u32,
    /// Start time in clock ticks since boot: with the pid, its identity.
    pub start_time: u64,
    /// Its executable, when readable.
    pub exe: Option<PathBuf>,
    /// Its arguments.
    pub args: Vec<String>,
}

impl Process {
    /// Reads `/proc/PID`; None if it is gone or unreadable (or not Linux).
    pub fn read(pid: u32) -> Option<Process> {
        #[cfg(target_os = "linux")]
        {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name may hold spaces and parentheses: fields start after the last ')'.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let ppid = fields.get(1)?.parse().ok()?;
            let start_time = fields.get(19)?.parse().ok()?;
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.parse().ok()?;
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            let args = crate::ports::cmdline_args(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default());
            Some(Process { pid, ppid, uid, start_time, exe, args })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = pid;
            None
        }
    }

    /// This process.
    pub fn current() -> Option<Process> {
        Process::read(std::process::id())
    }

    /// Whether it is a `bengal serve`: its executable is named `bengal` (the
    /// `(deleted)` mark of a rebuilt binary aside) and its subcommand, the
    /// first argument after the global flags, is `serve`. Neither `argv[0]`
    /// nor a `serve` elsewhere among the arguments counts: both are anyone's
    /// to choose.
    pub fn is_bengal_server(&self) -> bool {
        let exe_is_bengal = self
            .exe
            .as_ref()
            .and_then(|exe| exe.file_name())
            .is_some_and(|name| name == "bengal" || name.to_string_lossy().starts_with("bengal ("));
        exe_is_bengal && subcommand(&self.args) == Some("serve")
    }

    /// `pid 4242 (flock -x server.lock, uid 65534)`, for messages: enough to
    /// find it, and whose it is when not ours.
    pub fn describe(&self) -> String {
        let mut command = self.args.join(" ");
        if command.chars().count() > 60 {
            command = command.chars().take(59).chain(['…']).collect();
        }
        let owner = if self.uid == current_uid() { String::new() } else { format!(", uid {}", self.uid) };
        format!("pid {} ({command}{owner})", self.pid)
    }

    /// Seconds since it started.
    pub fn age(&self) -> Option<Duration> {
        #[cfg(target_os = "linux")]
        {
            let uptime: f64 = std::fs::read_to_string("/proc/uptime").ok()?.split_whitespace().next()?.parse().ok()?;
            let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
            let started = self.start_time as f64 / ticks as f64;
            Some(Duration::from_secs_f64((uptime - started).max(0.0)))
        }
        #[cfg(not(target_os = "linux"))]
        None
    }

    /// The `--root` it serves (relative to its working directory), if given.
    pub fn root_arg(&self) -> Option<PathBuf> {
        let cwd = std::fs::read_link(format!("/proc/{}/cwd", self.pid)).ok();
        let root = self
            .args
            .windows(2)
            .find(|w| w[0] == "--root")
            .map(|w| PathBuf::from(&w[1]))
            .or_else(|| self.args.iter().find_map(|a| a.strip_prefix("--root=")).map(PathBuf::from));
        match (cwd, root) {
            (Some(cwd), Some(root)) => Some(cwd.join(root)),
            (Some(cwd), None) => Some(cwd),
            (None, root) => root,
        }
    }
}

/// The real user id of this process.
pub fn current_uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

/// Every Bengal server of the current user (Linux; none elsewhere).
pub fn bengal_servers() -> Vec<Process> {
    let me = std::process::id();
    let uid = current_uid();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut servers: Vec<Process> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter_map(Process::read)
        .filter(|p| p.uid == uid && p.is_bengal_server())
        .collect();
    servers.sort_by_key(|p| p.pid);
    servers
}

/// The subcommand of a `bengal` command line: the first argument after
/// `argv[0]` that is not one of the global flags.
fn subcommand(args: &[String]) -> Option<&str> {
    const GLOBAL_FLAGS: &[&str] = &["-q", "--quiet", "-v", "--verbose"];
    args.iter().skip(1).map(String::as_str).find(|arg| !GLOBAL_FLAGS.contains(arg))
}

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
            pidfd: super::parent::pidfd_open(expected.pid),
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
    fn reads_this_process() {
        let me = Process::current().unwrap();
        assert_eq!(me.pid, std::process::id());
        assert_eq!(me.uid, nix::unistd::getuid().as_raw());
        assert!(me.start_time > 0);
        assert!(!me.is_bengal_server());
    }

    #[test]
    fn recognises_bengal_servers() {
        let server = |exe: &str, args: &[&str]| Process {
            pid: 1,
            ppid: 0,
            uid: 0,
            start_time: 0,
            exe: Some(PathBuf::from(exe)),
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        assert!(server("/x/bengal", &["bengal", "serve", "--root", "site"]).is_bengal_server());
        assert!(server("/x/bengal (deleted)", &["./bengal", "-v", "serve"]).is_bengal_server());
        assert!(server("/x/bengal", &["anything", "--quiet", "serve"]).is_bengal_server());
        assert!(!server("/x/bengal", &["bengal", "build"]).is_bengal_server());
        assert!(!server("/x/bengal", &["bengal", "build", "--root", "serve"]).is_bengal_server());
        assert!(!server("/bin/dash", &["bengal", "-c", "sleep 9", "x", "serve"]).is_bengal_server());
        assert!(!server("/x/bengalish", &["bengal", "serve"]).is_bengal_server());
        assert!(!server("/usr/bin/python3", &["python3", "-m", "http.server"]).is_bengal_server());
    }

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
