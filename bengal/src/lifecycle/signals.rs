//! The stop signals as they arrive, and the one task that feeds them through
//! their escalation ([`super::escalate`]).

use std::sync::Arc;

use futures_util::{Stream, StreamExt};

use super::events::{Escalation, SignalKind, Trigger};
use super::resources::Lifecycle;

/// Whether SIGHUP was ignored when the process started (`nohup`): then the
/// user asked the server to outlive its terminal, and it will.
pub fn hangup_ignored_at_start() -> bool {
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

/// Feeds stop signals from `signals` through [`super::escalate`] until the stream
/// ends: a stop fires `trigger`, a forced one also calls `on_force`.
pub async fn listen(
    signals: impl Stream<Item = SignalKind>,
    lifecycle: Arc<Lifecycle>,
    trigger: Trigger,
    on_force: impl Fn(),
) {
    let mut signals = std::pin::pin!(signals);
    while let Some(signal) = signals.next().await {
        match lifecycle.on_signal(signal) {
            Escalation::Stop(reason) => trigger.fire(reason),
            Escalation::Force => on_force(),
            Escalation::Nothing => {}
        }
    }
}

/// The signal streams, made once and before anything is acquired: a signal
/// that arrived while no handler exists would take its default action.
pub struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
    hangup: Option<tokio::signal::unix::Signal>,
}

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

    /// The signals as they arrive.
    pub fn into_stream(self) -> impl Stream<Item = SignalKind> {
        futures_util::stream::unfold(self, |mut signals| async move {
            let next = signals.next().await?;
            Some((next, signals))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{Shutdown, channel};

    /// Feeds `signals` to [`listen`]; returns the reasons fired and how many
    /// times it forced.
    async fn feed(lifecycle: Arc<Lifecycle>, signals: Vec<SignalKind>) -> (Vec<Shutdown>, usize) {
        let (trigger, mut reasons) = channel();
        let forced = std::sync::atomic::AtomicUsize::new(0);
        listen(futures_util::stream::iter(signals), lifecycle, trigger, || {
            forced.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
        .await;
        let mut fired = Vec::new();
        while let Ok(reason) = reasons.try_recv() {
            fired.push(reason);
        }
        (fired, forced.into_inner())
    }

    #[tokio::test]
    async fn first_stops_second_forces_the_rest_do_nothing() {
        let lifecycle = Arc::new(Lifecycle::default());
        lifecycle.set_serving();
        let signals = vec![SignalKind::Interrupt, SignalKind::Interrupt, SignalKind::Terminate];
        let (fired, forced) = feed(lifecycle.clone(), signals).await;
        assert_eq!(fired, [Shutdown::Signal(SignalKind::Interrupt)]);
        assert_eq!(forced, 1);
        assert!(lifecycle.is_forced());
    }

    #[tokio::test]
    async fn a_signal_during_a_stop_begun_elsewhere_forces_it() {
        let lifecycle = Arc::new(Lifecycle::default());
        lifecycle.set_serving();
        lifecycle.release_all(&|_| {}).await;
        let (fired, forced) = feed(lifecycle.clone(), vec![SignalKind::Hangup]).await;
        assert!(fired.is_empty(), "{fired:?}");
        assert_eq!(forced, 0, "nothing is left to force once everything is released");

        let stopping = Arc::new(Lifecycle::default());
        stopping.begin_stopping();
        let (fired, forced) = feed(stopping.clone(), vec![SignalKind::Interrupt]).await;
        assert!(fired.is_empty(), "{fired:?}");
        assert_eq!(forced, 1);
        assert!(stopping.is_forced());
    }
}
