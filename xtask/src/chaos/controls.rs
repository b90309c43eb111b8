//! The negative controls: the suite must be able to fail. Each runs the
//! `sigterm` scenario against a leaky server, which the oracles must catch
//! (a control passes when its scenario fails with something left running).

use std::path::Path;

use super::report::{Outcome, Verdict};
use super::runner::run_scenario;
use super::schema::{self, Launch};

/// Leaky servers, by what is wrong with them.
const LEAKY: [(&str, &str); 2] = [
    (
        "self-test: ignores SIGTERM",
        "sh -c 'trap \"\" TERM INT HUP; exec python3 -m http.server {port} --bind 127.0.0.1'",
    ),
    (
        "self-test: child survives",
        "sh -c 'python3 -m http.server {port} --bind 127.0.0.1 >/dev/null 2>&1 & exec sleep 600'",
    ),
];

/// Runs every control; one outcome each.
pub fn run(root: &Path) -> Vec<Outcome> {
    let sigterm = match schema::load(&root.join("scenarios/sigterm.toml")) {
        Ok(scenario) => scenario,
        Err(err) => {
            return LEAKY
                .iter()
                .map(|(name, _)| Outcome::not_loaded(name, format!("the control's scenario: {err}")))
                .collect();
        }
    };
    LEAKY
        .iter()
        .enumerate()
        .map(|(index, (name, command))| {
            let mut scenario = sigterm.clone();
            scenario.launch = Launch::Pipe;
            let caught = run_scenario(&scenario, Some(command), 9000 + index);
            let detected = caught.result == Verdict::Fail && caught.failures.iter().any(|f| f.contains("left running"));
            let mut outcome = Outcome::new(name, "", if detected { Verdict::Pass } else { Verdict::Fail });
            outcome.exit = if detected { "leak detected" } else { "leak missed" }.to_owned();
            if !detected {
                outcome.failures.push(format!("the harness did not catch it: {:?}", caught.failures));
            }
            outcome.transcript = caught.transcript;
            outcome
        })
        .collect()
}
