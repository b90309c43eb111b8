//! The one reader of `/proc` (Linux; elsewhere nothing is known): who a
//! process is (pid, start time, user, executable, arguments), which processes
//! hold a listening port, and pidfds. Everything the crate knows about other
//! processes comes from here.

use std::path::PathBuf;
use std::time::Duration;

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
            let args = cmdline_args(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default());
            Some(Process { pid, ppid, uid, start_time, exe, args })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = pid;
            None
        }
    }

    /// The process `pid` if it is still the one that started at
    /// `start_time`: a pid alone may have been reused since it was read.
    pub fn identified(pid: u32, start_time: Option<u64>) -> Option<Process> {
        Process::read(pid).filter(|p| Some(p.start_time) == start_time)
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

    /// A Bengal server of this user: the only kind Bengal ever stops.
    pub fn is_our_server(&self) -> bool {
        self.uid == current_uid() && self.is_bengal_server()
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

    /// The site it serves, resolved, when it can be told.
    pub fn site(&self) -> Option<PathBuf> {
        self.root_arg().and_then(|root| std::fs::canonicalize(root).ok())
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
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut servers: Vec<Process> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter_map(Process::read)
        .filter(Process::is_our_server)
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

/// Opens a pidfd for `pid` (Linux 5.3+); None where unsupported.
#[cfg(target_os = "linux")]
pub fn pidfd_open(pid: u32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1;
    // on success the fd is ours alone.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid as nix::libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is a freshly opened descriptor nobody else owns.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// A process holding a listening TCP port, as /proc tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortHolder {
    /// Its process id, so the user can `kill` it.
    pub pid: u32,
    /// The user owning the socket, from `/proc/net/tcp`, to tell "yours" from a system service.
    pub uid: u32,
    /// Its arguments joined by spaces, or its short name when the command line is empty.
    pub command: String,
    /// Its executable, when readable (the same user or root only).
    pub exe: Option<PathBuf>,
}

impl PortHolder {
    /// `pid 4242 (python3 -m http.server 5173)`, the form every message uses.
    pub fn describe(&self) -> String {
        if self.command.is_empty() {
            format!("pid {}", self.pid)
        } else {
            format!("pid {} ({})", self.pid, self.command)
        }
    }
}

/// Processes with a LISTEN socket on `port` (IPv4 or IPv6), found by matching
/// socket inodes of /proc/net/tcp and /proc/net/tcp6 with /proc/*/fd links,
/// sorted by pid so that a forking server's parent comes first. Empty when
/// unknown or not on Linux; other users' processes are usually unreadable, and
/// then only what can be seen is returned.
pub fn port_holders(port: u16) -> Vec<PortHolder> {
    #[cfg(target_os = "linux")]
    return linux::port_holders(port);
    #[cfg(not(target_os = "linux"))]
    return {
        let _ = port;
        Vec::new()
    };
}

/// Who listens on a port, as Bengal sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortUser {
    /// A Bengal server of this user, which may be offered a stop.
    OurServer(Process),
    /// Anything else, which is named and never touched.
    Foreign(PortHolder),
}

/// The holders of `port` ([`port_holders`]), each told apart.
pub fn port_users(port: u16) -> Vec<PortUser> {
    port_holders(port)
        .into_iter()
        .map(|holder| match Process::read(holder.pid).filter(Process::is_our_server) {
            Some(process) => PortUser::OurServer(process),
            None => PortUser::Foreign(holder),
        })
        .collect()
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{PortHolder, command_from_cmdline, parse_listen_inodes, parse_socket_inode};
    use std::collections::HashMap;
    use std::fs;

    /// Inode → uid of every LISTEN socket on `port`, IPv4 and IPv6.
    pub(super) fn listen_inodes(port: u16) -> HashMap<u64, u32> {
        ["/proc/net/tcp", "/proc/net/tcp6"]
            .iter()
            .filter_map(|table| fs::read_to_string(table).ok())
            .flat_map(|text| parse_listen_inodes(&text, port))
            .collect()
    }

    pub(super) fn port_holders(port: u16) -> Vec<PortHolder> {
        let inodes = listen_inodes(port);
        if inodes.is_empty() {
            return Vec::new();
        }
        let Ok(procs) = fs::read_dir("/proc") else { return Vec::new() };
        let mut holders: Vec<PortHolder> = procs
            .flatten()
            .filter_map(|entry| {
                let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
                let uid = socket_uid(pid, &inodes)?;
                Some(holder(pid, uid))
            })
            .collect();
        holders.sort_by_key(|h| h.pid);
        holders
    }

    /// The uid of the first of `inodes` that `pid` has open; `None` also when its fds are unreadable.
    fn socket_uid(pid: u32, inodes: &HashMap<u64, u32>) -> Option<u32> {
        fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten().find_map(|fd| {
            let target = fs::read_link(fd.path()).ok()?;
            inodes.get(&parse_socket_inode(target.to_str()?)?).copied()
        })
    }

    fn holder(pid: u32, uid: u32) -> PortHolder {
        let mut command = command_from_cmdline(&fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default());
        if command.is_empty() {
            command = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_string();
        }
        PortHolder { pid, uid, command, exe: fs::read_link(format!("/proc/{pid}/exe")).ok() }
    }
}

/// `(inode, uid)` of each LISTEN (`0A`) line of a /proc/net/tcp or tcp6 table whose local port is `port`.
#[cfg(any(target_os = "linux", test))]
fn parse_listen_inodes(text: &str, port: u16) -> Vec<(u64, u32)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (_, hex_port) = fields.get(1)?.rsplit_once(':')?;
            if u16::from_str_radix(hex_port, 16).ok()? != port || *fields.get(3)? != "0A" {
                return None;
            }
            Some((fields.get(9)?.parse().ok()?, fields.get(7)?.parse().ok()?))
        })
        .collect()
}

/// The inode of an fd link target `socket:[INODE]`.
#[cfg(any(target_os = "linux", test))]
fn parse_socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// The arguments of a NUL-separated /proc/PID/cmdline.
#[cfg(any(target_os = "linux", test))]
fn cmdline_args(raw: &[u8]) -> Vec<String> {
    raw.split(|&b| b == 0).filter(|arg| !arg.is_empty()).map(|arg| String::from_utf8_lossy(arg).into_owned()).collect()
}

/// A NUL-separated /proc/PID/cmdline as one line.
#[cfg(any(target_os = "linux", test))]
fn command_from_cmdline(raw: &[u8]) -> String {
    cmdline_args(raw).join(" ")
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1435 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0
   1: 0100007F:1435 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0 20 4 30 10 -1
   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17 1 0 100 0 0 10 0
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1435 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   33        0 99 1 0 100 0 0 10 0
";

    #[test]
    fn proc_parsing() {
        assert_eq!(parse_listen_inodes(TCP, 5173), vec![(4242, 1000)]);
        assert_eq!(parse_listen_inodes(TCP, 22), vec![(17, 0)]);
        assert_eq!(parse_listen_inodes(TCP6, 5173), vec![(99, 33)]);
        assert!(parse_listen_inodes(TCP, 80).is_empty());
        assert_eq!(parse_socket_inode("socket:[4242]"), Some(4242));
        assert_eq!(parse_socket_inode("pipe:[4242]"), None);
        assert_eq!(command_from_cmdline(b"python3\0-m\0http.server\x005173\0"), "python3 -m http.server 5173");
        assert_eq!(command_from_cmdline(b""), "");
    }

    #[test]
    fn finds_this_process() {
        let held = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
        let port = held.local_addr().expect("local addr").port();
        let holders = port_holders(port);
        let me = holders.iter().find(|h| h.pid == std::process::id()).expect("this process holds the port");
        assert!(!me.command.is_empty() && me.exe.is_some());
    }

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
}
