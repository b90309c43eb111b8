//! What a run says: one row a scenario as it ends, then the failures with
//! their transcripts, the `N passed, M failed` line, and the outcomes as
//! JSON; and the cleanup logs, redacted, compared with their reviewed
//! snapshots.

use std::path::Path;

use serde::Serialize;

/// A scenario's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Everything it expects held, and it left nothing behind.
    Pass,
    /// Something did not hold, or could not be checked.
    Fail,
    /// Not run: it needs what only Bengal has, and the server is another.
    Skip,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so the table's column widths apply.
        f.pad(match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "skip",
        })
    }
}

impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One scenario's outcome: a row of the table, an entry of the JSON.
#[derive(Debug, Serialize)]
pub struct Outcome {
    /// The scenario's name (a file that did not load: its stem).
    pub scenario: String,
    /// What it shows.
    pub description: String,
    /// Its result.
    pub result: Verdict,
    /// How the server ended (`code:0`, `signal:SIGTERM`, `running`), or why
    /// there is no such thing to say.
    pub exit: String,
    /// From the start to the port accepting.
    pub ready_ms: Option<u128>,
    /// From the fault to the exit.
    pub exit_ms: Option<u128>,
    /// From the fault (else the exit) to the port free.
    pub port_free_ms: Option<u128>,
    /// What did not hold.
    pub failures: Vec<String>,
    /// What the server printed, shown with the failures.
    #[serde(skip)]
    pub transcript: String,
}

impl Outcome {
    /// An outcome with nothing measured yet.
    pub fn new(scenario: &str, description: &str, result: Verdict) -> Outcome {
        Outcome {
            scenario: scenario.to_owned(),
            description: description.to_owned(),
            result,
            exit: String::new(),
            ready_ms: None,
            exit_ms: None,
            port_free_ms: None,
            failures: Vec::new(),
            transcript: String::new(),
        }
    }

    /// The failed row of a scenario file that did not load.
    pub fn not_loaded(name: &str, error: String) -> Outcome {
        let mut outcome = Outcome::new(name, "the scenario file did not load", Verdict::Fail);
        outcome.exit = "not loaded".to_owned();
        outcome.failures.push(error);
        outcome
    }
}

/// Prints the outcome's row of the table.
pub fn print_row(outcome: &Outcome) {
    let ms = |value: Option<u128>| value.map(|value| value.to_string()).unwrap_or_else(|| "-".into());
    println!(
        "{:<34} {:<5} {:<16} ready {:>6} ms  exit {:>6} ms  port free {:>6} ms",
        outcome.scenario,
        outcome.result,
        outcome.exit,
        ms(outcome.ready_ms),
        ms(outcome.exit_ms),
        ms(outcome.port_free_ms)
    );
}

/// Prints each failure with its transcript, then `N passed, M failed`
/// (and how many were skipped); writes the JSON where asked. Err when
/// anything failed.
pub fn finish(outcomes: &[Outcome], json: Option<&Path>) -> Result<(), String> {
    let count = |verdict: Verdict| outcomes.iter().filter(|outcome| outcome.result == verdict).count();
    for outcome in outcomes.iter().filter(|outcome| outcome.result == Verdict::Fail) {
        println!("\n--- {} failed ({}):", outcome.scenario, outcome.description);
        for failure in &outcome.failures {
            println!("  - {failure}");
        }
        println!("--- transcript:\n{}", outcome.transcript.trim_end());
    }
    if let Some(path) = json {
        let json = serde_json::to_string_pretty(outcomes).map_err(|err| err.to_string())?;
        std::fs::write(path, json).map_err(|err| format!("{}: {err}", path.display()))?;
    }
    let (passed, failed, skipped) = (count(Verdict::Pass), count(Verdict::Fail), count(Verdict::Skip));
    let skipped = if skipped > 0 { format!(", {skipped} skipped") } else { String::new() };
    println!("{passed} passed, {failed} failed{skipped}");
    if failed == 0 { Ok(()) } else { Err("chaos: some scenarios failed".into()) }
}

/// Ports, pids, paths and durations vary between runs; the rest must not.
/// The site's path goes first, whole; then numbers are replaced only as
/// whole tokens (a run of digits), so that a pid containing the port's
/// digits, or a port inside a longer number, is never mangled. The
/// terminal's echo of Ctrl+C (`^C`) goes too: the kernel sends the signal
/// before it echoes, so the server's first line may come before or after
/// the echo, and where it lands says nothing about the server.
pub fn redact(text: &str, site: &Path, port: u16, pids: &[u32]) -> String {
    let text = text.replace(&site.display().to_string(), "[SITE]").replace("^C", "");
    let mut redacted = String::with_capacity(text.len());
    for line in text.lines() {
        let line = redact_numbers(line, port, pids);
        // "Rebuilt in 12 ms" → "Rebuilt in <N> ms"
        let line = match line.find(" in ").zip(line.find(" ms")) {
            Some((start, end)) if end > start + 4 && line[start + 4..end].chars().all(|c| c.is_ascii_digit()) => {
                format!("{} in <N>{}", &line[..start], &line[end..])
            }
            _ => line,
        };
        redacted.push_str(line.trim_end());
        redacted.push('\n');
    }
    redacted
}

/// Replaces each run of digits that is the port with `<PORT>`, and each that
/// is a server's pid with `<PID>` (after `pid `, a pid even if it equals the
/// port).
fn redact_numbers(line: &str, port: u16, pids: &[u32]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, from_digits) = rest.split_at(start);
        let end = from_digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(from_digits.len());
        let (digits, after) = from_digits.split_at(end);
        out.push_str(before);
        let number = digits.parse::<u64>().ok();
        let is_pid = number.is_some_and(|n| pids.iter().any(|&pid| u64::from(pid) == n));
        let is_port = number == Some(u64::from(port));
        let after_pid_word = out.ends_with("pid ");
        out.push_str(match (is_pid, is_port) {
            (true, true) if after_pid_word => "<PID>",
            (_, true) => "<PORT>",
            (true, false) => "<PID>",
            (false, false) => digits,
        });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Compares with `scenarios/snapshots/NAME.snap` (insta): a changed log fails
/// until reviewed with `cargo insta review`.
pub fn snapshot(name: &str, log: &str) -> Result<(), String> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(bengal_tests::workspace_root().join("scenarios/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name.to_owned(), log));
    }));
    result
        .map_err(|_| format!("the log differs from scenarios/snapshots/{name}.snap (review with `cargo insta review`)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_terminals_echo_of_ctrl_c_is_dropped_wherever_it_lands() {
        let echoed_first = "^CReceived SIGINT, shutting down\n✓ stopped accepting on [::1]:5173\n";
        let echoed_later = "Received SIGINT, shutting down\n^C✓ stopped accepting on [::1]:5173\n";
        let expected = "Received SIGINT, shutting down\n✓ stopped accepting on [::1]:<PORT>\n";
        assert_eq!(redact(echoed_first, Path::new("/x"), 5173, &[]), expected);
        assert_eq!(redact(echoed_later, Path::new("/x"), 5173, &[]), expected);
    }

    #[test]
    fn a_pid_containing_the_port_s_digits_is_redacted_whole() {
        let site = Path::new("/tmp/.tmpAb5173");
        let log = "Stopped pid 51734 serving /tmp/.tmpAb5173\n✓ closed 127.0.0.1:5173\nRebuilt in 15173 ms\n";
        assert_eq!(
            redact(log, site, 5173, &[51734]),
            "Stopped pid <PID> serving [SITE]\n✓ closed 127.0.0.1:<PORT>\nRebuilt in <N> ms\n"
        );
    }

    #[test]
    fn a_pid_equal_to_the_port_is_a_pid_after_the_word_pid() {
        assert_eq!(redact("pid 5173 on [::1]:5173\n", Path::new("/x"), 5173, &[5173]), "pid <PID> on [::1]:<PORT>\n");
    }

    #[test]
    fn other_numbers_stay() {
        assert_eq!(
            redact("Bengal 0.1.0 on 127.0.0.1:8080 \n", Path::new("/x"), 5173, &[42]),
            "Bengal 0.1.0 on 127.0.0.1:8080\n"
        );
    }

    #[test]
    fn verdicts_read_as_the_table_and_the_json_show_them() {
        assert_eq!(format!("[{:<5}]", Verdict::Fail), "[FAIL ]");
        let json = serde_json::to_string(&Outcome::new("sigterm", "d", Verdict::Skip)).unwrap();
        assert!(json.contains("\"result\":\"skip\""), "{json}");
    }
}
