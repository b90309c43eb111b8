//! The resource manager: every resource is registered as it is acquired and
//! released once, whatever triggered the release, in three stages:
//!
//! 1. **first** ([`Lifecycle::register_first`]): what must end at once, in
//!    reverse order: listening sockets stop accepting, so the port is free
//!    within milliseconds of the first reason, whatever is in flight;
//! 2. **graceful** ([`Lifecycle::register`]): everything else winds down at
//!    the same time, each bounded by its own timeout (a rebuild in flight, open
//!    requests, the watcher); outcomes are logged last-acquired-first, so the
//!    log reads the same every time;
//! 3. **last** ([`Lifecycle::register_always`]): the pid file, in reverse order.
//!
//! Each step is isolated in its own task: a step that fails, panics or hangs
//! is logged and the others still run. Once forced (a second
//! Ctrl+C) the graceful steps are cut short; the first and last ones still
//! run. Drop guards of the resources themselves back this up for early
//! returns and panics.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::events::{Escalation, Phase, SignalKind, escalate};

/// What releasing one resource does.
pub type Release = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send>;

/// When a step is released, and whether forcing cuts it short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    First,
    Graceful,
    Last,
}

struct Step {
    /// Past tense, as logged: `stopped watcher`.
    label: String,
    timeout: Duration,
    stage: Stage,
    release: Release,
}

/// How one step ended, as one line of the cleanup log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// Released.
    Done(String),
    /// Released with an error.
    Failed(String, String),
    /// Did not finish within its timeout.
    TimedOut(String, Duration),
    /// Skipped because shutdown was forced.
    Skipped(String),
}

impl std::fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepOutcome::Done(label) => write!(f, "✓ {label}"),
            StepOutcome::Failed(label, err) => write!(f, "✗ {label}: {err}"),
            StepOutcome::TimedOut(label, after) => write!(f, "✗ {label}: timed out after {} ms", after.as_millis()),
            StepOutcome::Skipped(label) => write!(f, "- {label}: skipped (forced)"),
        }
    }
}

/// How long a first or last step may take: they must be quick.
const QUICK_STEP: Duration = Duration::from_secs(1);

/// Owns the release of everything a server acquired, and its [`Phase`].
pub struct Lifecycle {
    steps: Mutex<Vec<Step>>,
    phase: Mutex<Phase>,
    /// Only the first release does anything.
    released: AtomicBool,
    /// Cancelled when forced, so that graceful steps in flight are cut short.
    forced: CancellationToken,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            steps: Mutex::default(),
            phase: Mutex::new(Phase::Starting),
            released: AtomicBool::new(false),
            forced: CancellationToken::new(),
        }
    }
}

impl Lifecycle {
    /// Registers a resource released before all others, even when forced (it
    /// must be quick): a listening socket.
    pub fn register_first<F, Fut>(&self, label: impl Into<String>, release: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.push(label.into(), QUICK_STEP, Stage::First, Box::new(move || Box::pin(release())));
    }

    /// Registers a resource whose release may wait (a server draining, a
    /// task ending); it winds down alongside the others and is cut short
    /// once shutdown is forced.
    pub fn register<F, Fut>(&self, label: impl Into<String>, timeout: Duration, release: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.push(label.into(), timeout, Stage::Graceful, Box::new(move || Box::pin(release())));
    }

    /// Registers a resource released after all others, even when forced (it
    /// must be quick): the pid file.
    pub fn register_always<F>(&self, label: impl Into<String>, release: F)
    where
        F: FnOnce() -> Result<(), String> + Send + 'static,
    {
        self.push(label.into(), QUICK_STEP, Stage::Last, Box::new(move || Box::pin(async move { release() })));
    }

    fn push(&self, label: String, timeout: Duration, stage: Stage, release: Release) {
        if let Ok(mut steps) = self.steps.lock() {
            steps.push(Step { label, timeout, stage, release });
        }
    }

    fn set_phase(&self, next: Phase) {
        if let Ok(mut phase) = self.phase.lock() {
            *phase = next;
        }
    }

    /// The server is up: `Starting` → `Serving` (any later phase stays).
    pub fn set_serving(&self) {
        if let Ok(mut phase) = self.phase.lock()
            && *phase == Phase::Starting
        {
            *phase = Phase::Serving;
        }
    }

    /// A stop has begun, whatever its reason (a signal escalates from here).
    pub fn begin_stopping(&self) {
        if let Ok(mut phase) = self.phase.lock()
            && matches!(*phase, Phase::Starting | Phase::Serving)
        {
            *phase = Phase::Stopping { forced: false };
        }
    }

    /// Moves the phase as `signal` asks ([`escalate`]) and says what to do.
    pub fn on_signal(&self, signal: SignalKind) -> Escalation {
        let escalation = match self.phase.lock() {
            Ok(mut phase) => {
                let (next, escalation) = escalate(*phase, signal);
                *phase = next;
                escalation
            }
            Err(_) => Escalation::Nothing,
        };
        if escalation == Escalation::Force {
            self.forced.cancel();
        }
        escalation
    }

    /// Whether the graceful steps were cut short.
    pub fn is_forced(&self) -> bool {
        self.forced.is_cancelled()
    }

    /// Releases everything, stage by stage, calling `log` with each outcome
    /// (last acquired first within a stage). Only the first call does anything.
    pub async fn release_all(&self, log: &(dyn Fn(&StepOutcome) + Sync)) -> Vec<StepOutcome> {
        if self.released.swap(true, Ordering::SeqCst) {
            return Vec::new();
        }
        self.begin_stopping();
        let mut steps = self.steps.lock().map(|mut steps| std::mem::take(&mut *steps)).unwrap_or_default();
        steps.reverse();
        let mut outcomes = Vec::with_capacity(steps.len());
        let (first, rest): (Vec<Step>, Vec<Step>) = steps.into_iter().partition(|s| s.stage == Stage::First);
        let (graceful, last): (Vec<Step>, Vec<Step>) = rest.into_iter().partition(|s| s.stage == Stage::Graceful);
        for step in first {
            let outcome = self.run(step).await;
            log(&outcome);
            outcomes.push(outcome);
        }
        // Started together; awaited in order, so the log keeps its order while
        // the slowest step alone sets the time.
        for outcome in futures_util::future::join_all(graceful.into_iter().map(|step| self.run(step))).await {
            log(&outcome);
            outcomes.push(outcome);
        }
        for step in last {
            let outcome = self.run(step).await;
            log(&outcome);
            outcomes.push(outcome);
        }
        self.set_phase(Phase::Stopped);
        outcomes
    }

    async fn run(&self, step: Step) -> StepOutcome {
        let Step { label, timeout, stage, release } = step;
        let graceful = stage == Stage::Graceful;
        if graceful && self.is_forced() {
            return StepOutcome::Skipped(label);
        }
        // Each step runs as its own task, so a panic in it is one failed step.
        let task = tokio::spawn(release());
        let forced = async { if graceful { self.forced.cancelled().await } else { std::future::pending().await } };
        tokio::select! {
            joined = tokio::time::timeout(timeout, task) => match joined {
                Ok(Ok(Ok(()))) => StepOutcome::Done(label),
                Ok(Ok(Err(err))) => StepOutcome::Failed(label, err),
                Ok(Err(join)) => StepOutcome::Failed(label, format!("panicked: {join}")),
                Err(_) => StepOutcome::TimedOut(label, timeout),
            },
            () = forced => StepOutcome::Skipped(label),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    type Marker = Box<dyn Fn() + Send + Sync>;

    fn recorder() -> (Arc<Mutex<Vec<&'static str>>>, impl Fn(&'static str) -> Marker) {
        let order = Arc::new(Mutex::new(Vec::new()));
        let record = order.clone();
        (order, move |name| {
            let record = record.clone();
            Box::new(move || record.lock().unwrap().push(name))
        })
    }

    fn lines(outcomes: &[StepOutcome]) -> Vec<String> {
        outcomes.iter().map(ToString::to_string).collect()
    }

    #[tokio::test]
    async fn releases_last_first_and_only_once() {
        let (order, mark) = recorder();
        let lifecycle = Lifecycle::default();
        for name in ["pid file", "listener", "watcher"] {
            let mark = mark(name);
            lifecycle.register(name, Duration::from_secs(1), move || async move {
                mark();
                Ok(())
            });
        }
        let outcomes = lifecycle.release_all(&|_| {}).await;
        assert_eq!(lines(&outcomes), ["✓ watcher", "✓ listener", "✓ pid file"]);
        assert_eq!(*order.lock().unwrap(), ["watcher", "listener", "pid file"]);
        assert!(lifecycle.release_all(&|_| {}).await.is_empty(), "second release does nothing");
        assert_eq!(order.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_failing_or_panicking_step_does_not_stop_the_others() {
        let lifecycle = Lifecycle::default();
        lifecycle.register_always("first", || Ok(()));
        lifecycle.register("panics", Duration::from_secs(1), || async { panic!("boom") });
        lifecycle.register("fails", Duration::from_secs(1), || async { Err("disk full".to_owned()) });
        let outcomes = lines(&lifecycle.release_all(&|_| {}).await);
        assert_eq!(outcomes[0], "✗ fails: disk full");
        assert!(outcomes[1].starts_with("✗ panics: panicked"), "{outcomes:?}");
        assert_eq!(outcomes[2], "✓ first");
    }

    #[tokio::test]
    async fn a_hanging_step_times_out() {
        let lifecycle = Lifecycle::default();
        lifecycle.register_always("after", || Ok(()));
        lifecycle.register("hangs", Duration::from_millis(50), std::future::pending);
        let outcomes = lines(&lifecycle.release_all(&|_| {}).await);
        assert_eq!(outcomes, ["✗ hangs: timed out after 50 ms", "✓ after"]);
    }

    #[tokio::test]
    async fn forcing_skips_graceful_steps_but_not_the_first_and_last() {
        let lifecycle = Arc::new(Lifecycle::default());
        lifecycle.register_always("removed pid file", || Ok(()));
        lifecycle.register("later", Duration::from_secs(60), std::future::pending);
        let forcer = lifecycle.clone();
        lifecycle.register("drains", Duration::from_secs(60), move || async move {
            let _ = forcer.on_signal(SignalKind::Interrupt);
            std::future::pending().await
        });
        lifecycle.register_first("stopped accepting", || async { Ok(()) });
        let started = std::time::Instant::now();
        let outcomes = lines(&lifecycle.release_all(&|_| {}).await);
        assert_eq!(
            outcomes,
            ["✓ stopped accepting", "- drains: skipped (forced)", "- later: skipped (forced)", "✓ removed pid file"]
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn first_steps_go_first_and_graceful_steps_wind_down_together() {
        let (order, mark) = recorder();
        let lifecycle = Lifecycle::default();
        let released = Arc::new(tokio::sync::Notify::new());
        let notify = released.clone();
        let mark_pid = mark("pid file");
        lifecycle.register_always("pid file", move || {
            mark_pid();
            Ok(())
        });
        let mark_accept = mark("listener");
        lifecycle.register_first("stopped accepting", move || async move {
            mark_accept();
            Ok(())
        });
        lifecycle.register("releases the other", Duration::from_secs(5), move || async move {
            notify.notify_one();
            Ok(())
        });
        // Released first (last registered), it waits for the step registered
        // before it: run one after the other, it would time out.
        let mark_worker = mark("worker");
        lifecycle.register("waits for the other", Duration::from_secs(5), move || async move {
            released.notified().await;
            mark_worker();
            Ok(())
        });
        let outcomes = lines(&lifecycle.release_all(&|_| {}).await);
        assert_eq!(outcomes, ["✓ stopped accepting", "✓ waits for the other", "✓ releases the other", "✓ pid file"]);
        assert_eq!(*order.lock().unwrap(), ["listener", "worker", "pid file"]);
    }
}
