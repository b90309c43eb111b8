//! `cargo xtask chaos`: the scenario suite. Every scenario starts a real
//! server, hurts it the way a person or the system would, and checks with
//! the kernel's eyes that the port is free and nothing is left running.
//!
//! | module | job |
//! |---|---|
//! | `schema` | a scenario file → a typed [`schema::Scenario`]; errors name file and line |
//! | `runner` | one scenario: the site, the launch, the steps, then the oracles |
//! | `expect` | what `[expect]` asks at the end: exit, port, pid file, output, snapshot |
//! | `report` | the table, the summary, the JSON, redaction and snapshots |
//! | `controls` | the negative controls: leaky servers the suite must catch |
//! | `process` | launches: pty, under a shell, pipes read or unread, a race |
//! | `oracles` | leftovers (token, process group, reparented) and the port free |
//! | `procfs` | what `/proc` says, the leaf `process` and `oracles` share |
//!
//! `process` and `oracles` do not import each other; both read `/proc`
//! through `procfs`.

mod controls;
mod expect;
mod oracles;
mod process;
mod procfs;
mod report;
mod runner;
mod schema;

use std::time::Duration;

use bengal_tests::workspace_root;

use crate::flags;
use report::Outcome;

/// How long any wait of a scenario may take.
const WAIT: Duration = Duration::from_secs(20);

/// How long each request of a `flood` may take to be answered in full: far
/// more than a dev server needs, far less than [`WAIT`], so that a server
/// stuck in a write is told apart from a slow one request by request.
const FLOOD_RESPONSE: Duration = Duration::from_secs(5);

/// Runs the suite as `flags` say: every scenario whose name matches, each
/// round; then, for the whole suite against Bengal, the negative controls.
/// A scenario file that does not load is one failed row; the rest still run.
pub fn run(flags: &flags::Chaos) -> Result<(), String> {
    nix::sys::prctl::set_child_subreaper(true).map_err(|err| format!("cannot become a subreaper: {err}"))?;
    let root = workspace_root();
    if flags.server.is_none() {
        crate::cargo(&["build", "--package", "bengal", "--bins"])?;
    }
    let files = schema::load_dir(&root.join("scenarios"))?;
    let selected: Vec<_> = files
        .into_iter()
        .filter(|file| {
            let name = file.scenario.as_ref().map_or(&file.stem, |scenario| &scenario.name);
            flags.filter.as_ref().is_none_or(|filter| name.contains(filter.as_str()))
        })
        .collect();
    let mut outcomes = Vec::new();
    'all: for round in 0..flags.repeat {
        for (index, file) in selected.iter().enumerate() {
            let outcome = match &file.scenario {
                Ok(scenario) => runner::run_scenario(scenario, flags.server.as_deref(), round * 1000 + index),
                // Said once, however many rounds.
                Err(_) if round > 0 => continue,
                Err(err) => Outcome::not_loaded(&file.stem, err.clone()),
            };
            report::print_row(&outcome);
            // A file that did not load stops nothing: the others are sound.
            let stop = outcome.result == report::Verdict::Fail && file.scenario.is_ok() && !flags.keep_going;
            outcomes.push(outcome);
            if stop {
                break 'all;
            }
        }
    }
    if flags.server.is_none() && flags.filter.is_none() {
        for outcome in controls::run(&root) {
            report::print_row(&outcome);
            outcomes.push(outcome);
        }
    }
    report::finish(&outcomes, flags.json.as_deref())
}
