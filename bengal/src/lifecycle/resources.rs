//! The resource manager: every resource is registered as it is acquired and
//! released in reverse order, once, whatever triggered the release.
//!
//! Each step is bounded by its own timeout and isolated: a step that fails or
//! hangs is logged and the others still run. After [`Lifecycle::force`] (a
//! second Ctrl+C) the graceful steps left are skipped; the steps registered
//! with [`Lifecycle::register_always`] (the pid file) still run. Drop guards
//! of the resources themselves back this up for early returns and panics.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// What releasing one resource does.
pub type Release = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send>;

struct Step {
    /// Past tense, as logged: `stopped watcher`.
    label: String,
    timeout: Duration,
    /// Skipped once shutdown is forced.
    graceful: bool,
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

/// Owns the release of everything a server acquired.
#[derive(Default)]
pub struct Lifecycle {
    steps: Mutex<Vec<Step>>,
    released: AtomicBool,
    forced: CancellationToken,
}

impl Lifecycle {
    /// Registers a resource whose release may wait (a server draining, a
    /// task ending); it is skipped once shutdown is forced.
    pub fn register<F, Fut>(&self, label: impl Into<String>, timeout: Duration, release: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.push(label.into(), timeout, true, Box::new(move || Box::pin(release())));
    }

    /// Registers a resource released even when forced (it must be quick).
    pub fn register_always<F>(&self, label: impl Into<String>, release: F)
    where
        F: FnOnce() -> Result<(), String> + Send + 'static,
    {
        self.push(label.into(), Duration::from_secs(1), false, Box::new(move || Box::pin(async move { release() })));
    }

    fn push(&self, label: String, timeout: Duration, graceful: bool, release: Release) {
        if let Ok(mut steps) = self.steps.lock() {
            steps.push(Step { label, timeout, graceful, release });
        }
    }

    /// Skips the graceful steps still to come (and cuts the running one short).
    pub fn force(&self) {
        self.forced.cancel();
    }

    /// Whether the release has begun.
    pub fn is_releasing(&self) -> bool {
        self.released.load(Ordering::SeqCst)
    }

    /// Whether [`Lifecycle::force`] was called.
    pub fn is_forced(&self) -> bool {
        self.forced.is_cancelled()
    }

    /// Releases everything, last acquired first, calling `log` with each
    /// outcome as it happens. Only the first call does anything.
    pub async fn release_all(&self, log: &(dyn Fn(&StepOutcome) + Sync)) -> Vec<StepOutcome> {
        if self.released.swap(true, Ordering::SeqCst) {
            return Vec::new();
        }
        let steps = self.steps.lock().map(|mut steps| std::mem::take(&mut *steps)).unwrap_or_default();
        let mut outcomes = Vec::with_capacity(steps.len());
        for step in steps.into_iter().rev() {
            let outcome = self.run(step).await;
            log(&outcome);
            outcomes.push(outcome);
        }
        outcomes
    }

    async fn run(&self, step: Step) -> StepOutcome {
        let Step { label, timeout, graceful, release } = step;
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
    async fn forcing_skips_graceful_steps_but_not_the_pid_file() {
        let lifecycle = Arc::new(Lifecycle::default());
        lifecycle.register_always("removed pid file", || Ok(()));
        lifecycle.register("later", Duration::from_secs(60), || async { Ok(()) });
        let forcer = lifecycle.clone();
        lifecycle.register("drains", Duration::from_secs(60), move || async move {
            forcer.force();
            std::future::pending().await
        });
        let started = std::time::Instant::now();
        let outcomes = lines(&lifecycle.release_all(&|_| {}).await);
        assert_eq!(outcomes, ["- drains: skipped (forced)", "- later: skipped (forced)", "✓ removed pid file"]);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
