//! The end of a scenario: what `[expect]` asks of the server under test
//! (its exit, the port freed in time, the pid file, its output, the
//! snapshot of its cleanup log), and the exit of a command a step runs to
//! its end.

use std::path::Path;
use std::time::Instant;

use bengal_tests::poll;
use nix::sys::wait::WaitStatus;

use super::WAIT;
use super::oracles;
use super::process::Launched;
use super::report::{self, Outcome};
use super::schema::{Exit, PidFile, Scenario};

/// How a status reads in the table and in messages: as an [`Exit`] where
/// it is one (`code:0`, `signal:SIGTERM`).
pub fn describe(status: WaitStatus) -> String {
    Exit::of(status).map(|exit| exit.to_string()).unwrap_or_else(|| format!("{status:?}"))
}

/// Whether a process ended as expected.
pub fn check_exit(expected: Exit, status: WaitStatus) -> Result<(), String> {
    if Exit::of(status) == Some(expected) {
        Ok(())
    } else {
        Err(format!("exit {}, expected {expected}", describe(status)))
    }
}

/// A scenario whose steps are done, as the checks of its end see it.
pub struct Finished<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// The server under test.
    pub server: &'a mut Launched,
    /// The site it served.
    pub site: &'a Path,
    /// The port under test.
    pub port: u16,
    /// When the last fault happened, and how long the output was then.
    pub fault: Option<(Instant, usize)>,
    /// Whether the server is another than Bengal: only the port is checked.
    pub foreign: bool,
    /// Every Bengal server's pid, for the redaction.
    pub pids: Vec<u32>,
}

/// Checks what the scenario expects of the server under test once its
/// steps are done, filling in the outcome's exit and timings.
pub fn check(finished: Finished<'_>, outcome: &mut Outcome, failures: &mut Vec<String>) {
    let Finished { scenario, server, site, port, fault, foreign, pids } = finished;
    let expect = &scenario.expect;
    if expect.exit == Exit::Running {
        outcome.exit = Exit::Running.to_string();
        if bengal_tests::http::get(port, "/", WAIT).is_err() {
            failures.push("expected to keep serving, but the port does not answer".into());
        }
        return;
    }
    // The port is watched from the fault on, while the server winds
    // down: one whose shutdown lingers (a rebuild to abandon, a full
    // output pipe) must still let go of its port within the limit.
    let mut freed_before_exit = None;
    let status = poll::until(WAIT, || {
        let checked = Instant::now();
        if fault.is_some() && freed_before_exit.is_none() && oracles::port_free(port) {
            freed_before_exit = Some(checked);
        }
        match server.try_exit() {
            Ok(Some(status)) => Some(Some(status)),
            Ok(None) => None,
            Err(_) => Some(None),
        }
    })
    .flatten();
    let exited = Instant::now();
    outcome.exit = status.map(describe).unwrap_or_else(|| "still running".into());
    if let Some((at, _)) = fault {
        outcome.exit_ms = Some(exited.saturating_duration_since(at).as_millis());
    }
    match status {
        None => failures.push(format!("did not exit within {} s", WAIT.as_secs())),
        Some(status) if !foreign => {
            if let Err(err) = check_exit(expect.exit, status) {
                failures.push(err);
            }
        }
        Some(_) => {}
    }
    let since = fault.map(|(at, _)| at).unwrap_or(exited);
    let limit = expect.port_free_within;
    // Freed before the exit counts only if it is still free after it.
    let freed = freed_before_exit
        .filter(|_| oracles::port_free(port))
        .or_else(|| oracles::wait_port_free(port, (since + limit).saturating_duration_since(Instant::now())));
    match freed {
        Some(free) => {
            let after = free.saturating_duration_since(since);
            outcome.port_free_ms = Some(after.as_millis());
            if after > limit {
                failures.push(format!(
                    "port {port} free only {} ms after the fault, not within {} ms",
                    after.as_millis(),
                    limit.as_millis()
                ));
            }
        }
        None => {
            let from = if fault.is_some() { "the fault" } else { "the exit" };
            failures.push(format!("port {port} not free within {} ms of {from}", limit.as_millis()));
        }
    }
    if foreign {
        return;
    }
    let pid_file = site.join(".bengal/server.pid").exists();
    match expect.pid_file {
        Some(PidFile::Absent) if pid_file => failures.push(".bengal/server.pid was left behind".into()),
        Some(PidFile::Present) if !pid_file => failures.push(".bengal/server.pid is missing".into()),
        _ => {}
    }
    let text = server.output.text();
    failures.extend(lacking(&text, &expect.output).map(|line| format!("the output lacks {line:?}")));
    if expect.snapshot {
        let from = fault.map(|(_, len)| len).unwrap_or(0).min(text.len());
        let log = report::redact(&text[from..], site, port, &pids);
        if let Err(err) = report::snapshot(&scenario.name, &log) {
            failures.push(err);
        }
    }
}

/// The lines of `expected` that `output` does not contain.
pub fn lacking<'a>(output: &'a str, expected: &'a [String]) -> impl Iterator<Item = &'a String> {
    expected.iter().filter(move |line| !output.contains(line.as_str()))
}

/// A command a step ran to its end (a second server, `bengal cleanup`)
/// ended as expected and printed the expected lines.
pub fn check_command(
    what: &str,
    expected: Exit,
    lines: &[String],
    status: WaitStatus,
    output: &str,
) -> Result<(), String> {
    check_exit(expected, status).map_err(|err| format!("{what}: {err}\n{output}"))?;
    match lacking(output, lines).next() {
        Some(line) => Err(format!("{what} did not print {line:?}:\n{output}")),
        None => Ok(()),
    }
}
