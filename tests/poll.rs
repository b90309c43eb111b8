//! Waiting for a condition with a deadline: every wait of the tests and of
//! the chaos suite checks what it waits for, often, until a deadline, so it
//! ends as soon as the condition holds and fails (instead of hanging) when
//! it never does. Nothing sleeps a fixed time and hopes.

use std::time::{Duration, Instant};

/// How long between two checks: short enough that a wait ends within a few
/// milliseconds of its condition (the chaos suite reports timings in ms),
/// long enough that polling leaves the CPU to the server under test.
pub const INTERVAL: Duration = Duration::from_millis(2);

/// Calls `check` every [`INTERVAL`] until it returns `Some`, and returns
/// that; `None` once `timeout` has passed. `check` runs at least once, and
/// once more at or after the deadline, so a condition that holds in time is
/// never reported late.
pub fn until<T>(timeout: Duration, check: impl FnMut() -> Option<T>) -> Option<T> {
    until_every(INTERVAL, timeout, check)
}

/// [`until`], checking every `interval`: for a check that is itself costly
/// (a round trip to a browser).
pub fn until_every<T>(interval: Duration, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(interval.min(end.saturating_duration_since(Instant::now())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_what_the_check_found_or_none_after_the_deadline() {
        let mut calls = 0;
        assert_eq!(
            until(Duration::from_secs(5), || {
                calls += 1;
                (calls == 3).then_some("third")
            }),
            Some("third")
        );
        let started = Instant::now();
        assert_eq!(until(Duration::from_millis(20), || None::<()>), None);
        assert!(started.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn a_zero_timeout_still_checks_once() {
        assert_eq!(until(Duration::ZERO, || Some(1)), Some(1));
    }
}
