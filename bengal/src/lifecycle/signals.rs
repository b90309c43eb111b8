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
/// `trigger`, the next ones (any of them) force the shutdown. SIGHUP is not
/// listened to when `watch_hangup` is false (started under `nohup`).
pub async fn listen(trigger: Trigger, lifecycle: Arc<Lifecycle>, watch_hangup: bool, on_second: impl Fn()) {
    let Some(mut signals) = Signals::new(watch_hangup) else { return };
    let mut first = true;
    while let Some(kind) = signals.next().await {
        if first {
            first = false;
            trigger.fire(Shutdown::Signal(kind));
        } else {
            lifecycle.force();
            on_second();
        }
    }
}

/// The signal streams, made once: a signal that arrives while no stream
/// exists would be lost.
#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
    hangup: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
impl Signals {
    fn new(watch_hangup: bool) -> Option<Signals> {
        use tokio::signal::unix::{SignalKind as Kind, signal};
        Some(Signals {
            interrupt: signal(Kind::interrupt()).ok()?,
            terminate: signal(Kind::terminate()).ok()?,
            quit: signal(Kind::quit()).ok()?,
            hangup: if watch_hangup { Some(signal(Kind::hangup()).ok()?) } else { None },
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

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new(_watch_hangup: bool) -> Option<Signals> {
        Some(Signals)
    }

    async fn next(&mut self) -> Option<SignalKind> {
        tokio::signal::ctrl_c().await.ok().map(|()| SignalKind::Interrupt)
    }
}
