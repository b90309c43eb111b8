//! Watching the parent process, so that a server whose terminal, editor or
//! test runner died without a signal does not live on as an orphan holding
//! its port.
//!
//! The parent *process* is watched (a pidfd on Linux; polling `getppid()`
//! elsewhere), not PR_SET_PDEATHSIG, which fires when the parent's forking
//! *thread* exits and so kills children of multi-threaded launchers by
//! mistake.

use std::time::Duration;

/// How often the fallback checks whether the parent changed.
const POLL_EVERY: Duration = Duration::from_millis(250);

/// The parent's pid.
pub fn parent_pid() -> u32 {
    nix::unistd::getppid().as_raw() as u32
}

/// Resolves when the parent process that this process had at `parent` exits.
pub async fn parent_died(parent: u32) {
    #[cfg(target_os = "linux")]
    if let Some(fd) = crate::servers::pidfd_open(parent) {
        // The parent may have died between reading its pid and opening the
        // pidfd, in which case the pid may be someone else's by now.
        if parent_pid() != parent {
            return;
        }
        // SAFETY: the AsyncFd takes ownership of the pidfd, which stays open
        // (and is not registered elsewhere) for as long as it lives.
        if let Ok(readable) = unsafe { tokio::io::unix::AsyncFd::register(fd) } {
            let _ = readable.readable().await;
            return;
        }
    }
    let mut ticks = tokio::time::interval(POLL_EVERY);
    while parent_pid() == parent {
        ticks.tick().await;
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn notices_a_process_exit() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let fd = crate::servers::pidfd_open(child.id()).expect("pidfd");
        // SAFETY: the AsyncFd owns the pidfd for its whole life.
        let readable = unsafe { tokio::io::unix::AsyncFd::register(fd) }.unwrap();
        child.kill().unwrap();
        let waited = tokio::time::timeout(Duration::from_secs(5), readable.readable()).await;
        assert!(waited.is_ok(), "pidfd did not report the exit");
        child.wait().unwrap();
    }
}
