//! The lifecycle core: one shutdown path for every way a server can end.
//!
//! Every trigger (a signal, the parent's death, a fatal error or a panic in
//! any task, a normal return) becomes one [`Shutdown`] reason sent to one
//! place; the first one starts the release of every registered resource
//! ([`Lifecycle`]), and the process then ends the way the reason says
//! ([`Shutdown::exit`]) so that shells and supervisors see what happened.
//!
//! Phases ([`Phase`]): `Starting` (resources registered as acquired; a
//! failure releases what exists and exits 1) → `Serving` → `Stopping` (first
//! reason; a second signal forces) → `Stopped` (every step logged; `main`
//! ends the process as [`Exit`] says).
//!
//! Imports [`crate::servers`] for pidfds; never `build` or `serve`.

mod parent;
mod resources;
mod signals;

use std::fmt;

use tokio::sync::mpsc;

pub use parent::{parent_died, parent_pid};
pub use resources::{Lifecycle, StepOutcome};
pub use signals::{Escalation, SignalKind, Signals, escalate, hangup_ignored_at_start, listen};

/// Why the server stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shutdown {
    /// A signal: Ctrl+C, `kill`, a closed terminal, Ctrl+\.
    Signal(SignalKind),
    /// The parent process exited without signalling us.
    ParentDied,
    /// A task failed in a way the server cannot go on from.
    Fatal(String),
    /// A task or thread panicked.
    Panic(String),
}

impl fmt::Display for Shutdown {
    /// The first line of the cleanup log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shutdown::Signal(signal) => write!(f, "Received {}, shutting down", signal.name()),
            Shutdown::ParentDied => f.write_str("Parent process exited, shutting down"),
            Shutdown::Fatal(message) => write!(f, "Fatal error: {message}, shutting down"),
            Shutdown::Panic(message) => write!(f, "A task panicked: {message}, shutting down"),
        }
    }
}

impl Shutdown {
    /// How the process ends after the cleanup: a signal stop dies of that
    /// same signal (the shell sees 130, 143, 129, 131), a parent's death
    /// exits 0, a failure exits 1.
    pub fn exit(&self) -> Exit {
        match self {
            Shutdown::Signal(signal) => Exit::Signal(*signal),
            Shutdown::ParentDied => Exit::Code(0),
            Shutdown::Fatal(_) | Shutdown::Panic(_) => Exit::Code(1),
        }
    }
}

/// How the process is to end: decided by a command, acted on by `main` alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exit with this status.
    Code(u8),
    /// Die by this signal with its default action.
    Signal(SignalKind),
}

/// Where a server stands. Signals escalate by it ([`signals::escalate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Acquiring its resources.
    Starting,
    /// Listening and rebuilding.
    Serving,
    /// Releasing its resources; `forced` once the graceful steps are cut short.
    Stopping {
        /// A second signal came.
        forced: bool,
    },
    /// Everything released.
    Stopped,
}

/// Sends shutdown reasons; cheap to clone into every task.
#[derive(Debug, Clone)]
pub struct Trigger(mpsc::UnboundedSender<Shutdown>);

impl Trigger {
    /// Asks for shutdown; only the first reason counts.
    pub fn fire(&self, reason: Shutdown) {
        let _ = self.0.send(reason);
    }
}

/// A trigger and the receiver of its reasons.
pub fn channel() -> (Trigger, mpsc::UnboundedReceiver<Shutdown>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (Trigger(sender), receiver)
}

/// Sends [`Shutdown::Panic`] from every panic, in any thread or task, then
/// prints the default report.
pub fn install_panic_hook(trigger: Trigger) {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        // Before the report, whose write to a stderr nobody reads may block.
        trigger.fire(Shutdown::Panic(message));
        default(info);
    }));
}

/// Named fault-injection points for the chaos suite: `BENGAL_FAILPOINTS`
/// lists the names (comma-separated) that fail. Unset in normal use, where
/// this is one environment lookup at a few points of startup.
pub fn failpoint(name: &str) -> crate::Result<()> {
    match std::env::var("BENGAL_FAILPOINTS") {
        Ok(names) if names.split(',').any(|n| n.trim() == name) => {
            Err(crate::Error::new(format!("failpoint `{name}` triggered")))
        }
        _ => Ok(()),
    }
}

/// Whether failpoint `name` is set, for faults other than an error (a panic).
pub fn failpoint_set(name: &str) -> bool {
    failpoint(name).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_log_lines() {
        assert_eq!(Shutdown::Signal(SignalKind::Terminate).to_string(), "Received SIGTERM, shutting down");
        assert_eq!(Shutdown::Signal(SignalKind::Interrupt).to_string(), "Received SIGINT, shutting down");
        assert_eq!(Shutdown::ParentDied.to_string(), "Parent process exited, shutting down");
    }
}
