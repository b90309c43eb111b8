//! The end of a scenario: what `[expect]` asks of the server under test
//! (its exit, the port freed in time, the pid file, its output, the
//! snapshot of its cleanup log), and the exit of a command a step runs to
//! its end.

use std::time::Instant;

use bengal_tests::poll;
use nix::sys::wait::WaitStatus;

use super::WAIT;
use super::oracles;
use super::report::{self, Outcome};
use super::runner::Runner;
use super::schema::{Exit, PidFile};

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

/// Checks what the scenario expects of the server under test once its
/// steps are done, filling in the outcome's exit and timings.
pub fn check(runner: &mut Runner, outcome: &mut Outcome, failures: &mut Vec<String>) {
    let scenario = runner.scenario;
    let expect = &scenario.expect;
    let fault = runner.fault;
    let foreign = runner.foreign;
    let port = runner.port;
    let pids = runner.server_pids();
    let Some(server) = runner.server.as_mut() else { return };
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
    let pid_file = runner.site.join(".bengal/server.pid").exists();
    match expect.pid_file {
        Some(PidFile::Absent) if pid_file => failures.push(".bengal/server.pid was left behind".into()),
        Some(PidFile::Present) if !pid_file => failures.push(".bengal/server.pid is missing".into()),
        _ => {}
    }
    let text = server.output.text();
    failures.extend(lacking(&text, &expect.output).map(|line| format!("the output lacks {line:?}")));
    if expect.snapshot {
        let from = fault.map(|(_, len)| len).unwrap_or(0).min(text.len());
        let log = report::redact(&text[from..], &runner.site, port, &pids);
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
