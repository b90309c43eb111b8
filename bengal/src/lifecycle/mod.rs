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

mod events;
mod parent;
mod resources;
mod signals;

pub use events::{Exit, Phase, Shutdown, SignalKind, Trigger, channel};
pub use parent::{parent_died, parent_pid};
pub use resources::{Lifecycle, StepOutcome};
pub use signals::{Signals, hangup_ignored_at_start, listen};

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
