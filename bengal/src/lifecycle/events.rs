//! The lifecycle's vocabulary, which every other part of it speaks: the
//! signals that stop a server, why a server stops ([`Shutdown`]), where it
//! stands ([`Phase`]), how signals escalate by phase ([`escalate`]), how the
//! process ends ([`Exit`]), and the channel that carries a reason to stop.
//! It imports nothing else of the lifecycle.

use std::fmt;

use tokio::sync::mpsc;

/// The signals that stop a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    /// SIGINT: Ctrl+C at the terminal.
    Interrupt,
    /// SIGTERM: `kill`, a supervisor, an editor stopping its child.
    Terminate,
    /// SIGHUP: the terminal closed or the SSH session dropped.
    Hangup,
    /// SIGQUIT: Ctrl+\ at the terminal.
    Quit,
}

impl SignalKind {
    /// The conventional name, e.g. `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            SignalKind::Interrupt => "SIGINT",
            SignalKind::Terminate => "SIGTERM",
            SignalKind::Hangup => "SIGHUP",
            SignalKind::Quit => "SIGQUIT",
        }
    }

    /// The signal's number.
    pub fn number(self) -> nix::sys::signal::Signal {
        use nix::sys::signal::Signal;
        match self {
            SignalKind::Interrupt => Signal::SIGINT,
            SignalKind::Terminate => Signal::SIGTERM,
            SignalKind::Hangup => Signal::SIGHUP,
            SignalKind::Quit => Signal::SIGQUIT,
        }
    }
}

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

/// What one signal asks for.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Escalation {
    /// Stop gracefully, for this reason.
    Stop(Shutdown),
    /// Cut the stop under way short.
    Force,
    /// Nothing more can be done.
    Nothing,
}

/// The escalation of signals, by the phase one arrives in: the first asks
/// for a graceful stop, the next forces it; one that arrives while a stop
/// begun by something else (the parent's death, a panic) is under way forces
/// it at once, since the user is waiting on it. Returns the next phase too.
pub fn escalate(phase: Phase, signal: SignalKind) -> (Phase, Escalation) {
    match phase {
        Phase::Starting | Phase::Serving => {
            (Phase::Stopping { forced: false }, Escalation::Stop(Shutdown::Signal(signal)))
        }
        Phase::Stopping { forced: false } => (Phase::Stopping { forced: true }, Escalation::Force),
        Phase::Stopping { forced: true } | Phase::Stopped => (phase, Escalation::Nothing),
    }
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

    #[test]
    fn signals_escalate_by_phase() {
        let term = SignalKind::Terminate;
        let stopping = Phase::Stopping { forced: false };
        let forced = Phase::Stopping { forced: true };
        assert_eq!(escalate(Phase::Starting, term), (stopping, Escalation::Stop(Shutdown::Signal(term))));
        assert_eq!(escalate(Phase::Serving, term), (stopping, Escalation::Stop(Shutdown::Signal(term))));
        assert_eq!(escalate(stopping, SignalKind::Interrupt), (forced, Escalation::Force));
        assert_eq!(escalate(forced, term), (forced, Escalation::Nothing));
        assert_eq!(escalate(Phase::Stopped, term), (Phase::Stopped, Escalation::Nothing));
    }
}
