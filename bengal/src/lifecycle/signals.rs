//! Signals as a small enum, and the one task that turns them into shutdown
//! reasons: the first signal asks for a graceful stop, any later one forces it.

use std::sync::Arc;

use super::{Lifecycle, Shutdown, Trigger};

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

    #[cfg(unix)]
    fn number(self) -> nix::sys::signal::Signal {
        use nix::sys::signal::Signal;
        match self {
            SignalKind::Interrupt => Signal::SIGINT,
            SignalKind::Terminate => Signal::SIGTERM,
            SignalKind::Hangup => Signal::SIGHUP,
            SignalKind::Quit => Signal::SIGQUIT,
        }
    }

    /// Ends the process by this signal with its default action, so the
    /// parent sees "killed by SIGTERM" (status 143 in a shell), not an exit
    /// code. SIGQUIT's core dump is turned off first: the stop was asked for.
    pub fn die_by(self) -> ! {
        #[cfg(unix)]
        {
            use nix::sys::signal::{SigHandler, raise, signal};
            if self == SignalKind::Quit {
                let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
            }
            // SAFETY: restoring the default disposition installs no Rust code as a handler.
            let _ = unsafe { signal(self.number(), SigHandler::SigDfl) };
            let _ = raise(self.number());
            std::process::exit(128 + self.number() as i32)
        }
        #[cfg(not(unix))]
        std::process::exit(1)
    }
}

/// Whether SIGHUP was ignored when the process started (`nohup`): then the
/// user asked the server to outlive its terminal, and it will.
pub fn hangup_ignored_at_start() -> bool {
    #[cfg(unix)]
    {
        use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
        let probe = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
        // SAFETY: installs SIG_IGN only long enough to read the previous
        // disposition, then puts that one back; no handler code is involved.
        unsafe {
            match sigaction(Signal::SIGHUP, &probe) {
                Ok(previous) => {
                    let _ = sigaction(Signal::SIGHUP, &previous);
                    matches!(previous.handler(), SigHandler::SigIgn)
                }
                Err(_) => false,
            }
        }
    }
    #[cfg(not(unix))]
    false
}

/// Listens for stop signals until the process ends: the first fires
/// `trigger`, the next ones (any of them) force the shutdown.
pub async fn listen(mut signals: Signals, trigger: Trigger, lifecycle: Arc<Lifecycle>, on_second: impl Fn()) {
    let mut first = true;
    while let Some(kind) = signals.next().await {
        // A stop already under way (parent died, a panic) is forced by the
        // first signal: the user is waiting on it.
        if first && !lifecycle.is_releasing() {
            first = false;
            trigger.fire(Shutdown::Signal(kind));
        } else {
            lifecycle.force();
            on_second();
        }
    }
}

/// The signal streams, made once and before anything is acquired: a signal
/// that arrived while no handler exists would take its default action.
#[cfg(unix)]
pub struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
    hangup: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
impl Signals {
    /// Installs the handlers; SIGHUP's only when `watch_hangup` (not under `nohup`).
    pub fn new(watch_hangup: bool) -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind as Kind, signal};
        Ok(Signals {
            interrupt: signal(Kind::interrupt())?,
            terminate: signal(Kind::terminate())?,
            quit: signal(Kind::quit())?,
            hangup: if watch_hangup { Some(signal(Kind::hangup())?) } else { None },
        })
    }

    async fn next(&mut self) -> Option<SignalKind> {
        let hangup = async {
            match self.hangup.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(()) = self.interrupt.recv() => Some(SignalKind::Interrupt),
            Some(()) = self.terminate.recv() => Some(SignalKind::Terminate),
            Some(()) = self.quit.recv() => Some(SignalKind::Quit),
            Some(()) = hangup => Some(SignalKind::Hangup),
            else => None,
        }
    }
}

/// Ctrl+C only, where there are no Unix signals.
#[cfg(not(unix))]
pub struct Signals;

#[cfg(not(unix))]
impl Signals {
    /// Nothing to install ahead of time.
    pub fn new(_watch_hangup: bool) -> std::io::Result<Signals> {
        Ok(Signals)
    }

    async fn next(&mut self) -> Option<SignalKind> {
        tokio::signal::ctrl_c().await.ok().map(|()| SignalKind::Interrupt)
    }
}
