//! Scenario files as written (`scenarios/NAME.toml`), checked strictly: an
//! unknown key or a step that cannot be parsed is an error naming the file
//! and the line.

use std::path::Path;

use serde::Deserialize;

/// One scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, e.g. `sigterm`; the file stem by convention.
    pub name: String,
    /// What it shows, in one sentence.
    pub description: String,
    /// Fixture site under `fixtures/`.
    #[serde(default = "quickstart")]
    pub fixture: String,
    /// How the server is started.
    pub launch: Launch,
    /// Extra arguments after `bengal serve --root SITE --port PORT`.
    #[serde(default)]
    pub args: Vec<String>,
    /// A command the server is started through, e.g. one that ignores SIGHUP
    /// as `nohup` does.
    #[serde(default)]
    pub prefix: Vec<String>,
    /// Extra environment.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// Start on this port without `--port` (so the default fallback applies)
    /// instead of a free port given with `--port`.
    #[serde(default)]
    pub default_port: Option<u16>,
    /// Uses what only Bengal has (its pid file, its log, its flags): skipped
    /// with `--server`.
    #[serde(default)]
    pub bengal_only: bool,
    /// Steps, in order.
    pub steps: Vec<Step>,
    /// What must hold at the end.
    pub expect: Expect,
}

fn quickstart() -> String {
    "quickstart".to_owned()
}

/// How the server under test is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Launch {
    /// Session leader on a pseudo-terminal, as in a terminal window.
    Pty,
    /// Under a parent shell that the scenario may kill.
    Orphanable,
    /// Output to a pipe the harness reads (and may close).
    Pipe,
    /// Output (stdout and stderr) to pipes the harness holds open but never
    /// reads, as a parent that spawns with a pipe and forgets it: once a pipe
    /// is full, every write of the server blocks. Nothing it prints can be
    /// checked, so readiness is the port accepting.
    UnreadPipe,
    /// Two servers for the same site and port, released at the same instant;
    /// exactly one must serve and the other exit 1 saying why. The winner is
    /// the server under test from then on.
    Race,
}

/// One step.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Wait until the port accepts (and, for Bengal, the banner is printed;
    /// for a race, until one server serves and the other has given up).
    WaitReady,
    /// Type Ctrl+C on the terminal (`\x03`): the line discipline sends SIGINT.
    CtrlC,
    /// Type Ctrl+Z (`\x1a`): SIGTSTP suspends the server.
    CtrlZ,
    /// Send a signal to the server's pid.
    Signal {
        /// `SIGTERM`, `SIGHUP`, `SIGKILL`, `SIGSTOP`, …
        signal: String,
    },
    /// Close the pseudo-terminal's master side: the kernel hangs up the session.
    CloseTerminal,
    /// SIGKILL the parent shell (launch = "orphanable").
    KillParent,
    /// Close the harness's end of the output pipe (launch = "pipe").
    CloseStdout,
    /// Start a second `bengal serve` on the same site and port; it must exit
    /// with `expect_exit` and print `expect_output`.
    SecondServer {
        /// Extra arguments.
        #[serde(default)]
        args: Vec<String>,
        /// Its exit, as in [`Expect::exit`].
        expect_exit: String,
        /// Lines its output must contain.
        #[serde(default)]
        expect_output: Vec<String>,
    },
    /// Start a replacement server for the same site (with `--replace`) and
    /// make it the server under test from then on.
    Replace,
    /// Open a live-reload stream and keep it open.
    OpenLivereload,
    /// Open a keep-alive connection and keep it open.
    OpenKeepalive,
    /// Write a file of the site (relative to its root).
    WriteFile {
        /// Path.
        path: String,
        /// Contents.
        contents: String,
    },
    /// GET a path and check the status.
    Get {
        /// Path.
        path: String,
        /// Expected status.
        status: u16,
        /// Text the body must contain.
        #[serde(default)]
        contains: Option<String>,
    },
    /// Hold the scenario's port with a foreign (non-Bengal) listener: the
    /// harness itself, which must be left alone.
    HoldPortForeign,
    /// Wait for a line of output.
    WaitOutput {
        /// Text the line contains.
        text: String,
    },
    /// Type a line on the terminal (an answer to a prompt).
    Type {
        /// The text, without the newline.
        text: String,
    },
    /// Run `bengal cleanup` on the site with these arguments.
    Cleanup {
        /// Arguments.
        #[serde(default)]
        args: Vec<String>,
        /// Expected exit code.
        expect_code: i32,
    },
    /// Start the server (for scenarios whose first steps prepare the ground).
    Start,
    /// Stop and start on the same port, `times` times (Ctrl+C each time).
    RapidRestart {
        /// How many restarts.
        times: u32,
    },
    /// Send `requests` GETs one after the other, each on its own connection,
    /// for a path of `path_bytes` bytes; each must get a complete response
    /// (any status) within 5 s. With `--verbose` every request is a log line,
    /// so this fills an output pipe nobody reads.
    Flood {
        /// How many requests.
        requests: u32,
        /// Length of the requested path, the leading `/` included.
        path_bytes: usize,
    },
}

/// What must hold at the end.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `signal:SIGTERM`, `code:0`, or `running` (the server must still serve).
    pub exit: String,
    /// The port accepts no connection within this many ms of the fault.
    #[serde(default = "port_free_ms")]
    pub port_free_within_ms: u64,
    /// Whether `.bengal/server.pid` is left: `absent` or `present`.
    #[serde(default)]
    pub pid_file: Option<String>,
    /// Lines the output must contain.
    #[serde(default)]
    pub output: Vec<String>,
    /// Compare the output from the fault on with the reviewed snapshot.
    #[serde(default)]
    pub snapshot: bool,
}

fn port_free_ms() -> u64 {
    2000
}

/// Reads and checks one scenario file.
pub fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    let scenario: Scenario = toml::from_str(&text).map_err(|err| {
        let line = err
            .span()
            .map(|span| text.as_bytes()[..span.start.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1);
        let at = line.map(|l| format!(":{l}")).unwrap_or_default();
        format!("{}{at}: {}", path.display(), err.message())
    })?;
    scenario.check_possible().map_err(|err| format!("{}: {err}", path.display()))?;
    Ok(scenario)
}

impl Scenario {
    /// Rejects what well-formed TOML can still ask for but the harness cannot
    /// check: a scenario that would otherwise time out or pass vacuously is
    /// better refused when it is written.
    fn check_possible(&self) -> Result<(), String> {
        if self.launch == Launch::UnreadPipe {
            let never_read = "launch = \"unread_pipe\" never reads the server's output, so";
            if self.expect.snapshot {
                return Err(format!("{never_read} `snapshot = true` cannot be checked"));
            }
            if !self.expect.output.is_empty() {
                return Err(format!("{never_read} `expect.output` cannot be checked"));
            }
            if self.steps.iter().any(|step| matches!(step, Step::WaitOutput { .. })) {
                return Err(format!("{never_read} a `wait_output` step would never see its text"));
            }
            if self.default_port.is_some() {
                return Err(format!("{never_read} the port it falls back to (`default_port`) cannot be learnt"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_file_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let scenario = load(&path).unwrap();
                assert_eq!(Some(scenario.name.as_str()), path.file_stem().and_then(|s| s.to_str()));
            }
        }
    }

    #[test]
    fn unknown_keys_and_bad_steps_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "name = \"x\"\ndescription = \"d\"\nlaunch = \"pty\"\nsteps = []\ncolour = 1\n[expect]\nexit = \"code:0\"\n").unwrap();
        let err = load(&path).unwrap_err();
        assert!(err.contains("bad.toml:5") && err.contains("colour"), "{err}");
        std::fs::write(&path, "name = \"x\"\ndescription = \"d\"\nlaunch = \"pty\"\n[[steps]]\ndo = \"dance\"\n[expect]\nexit = \"code:0\"\n").unwrap();
        let err = load(&path).unwrap_err();
        assert!(err.contains("bad.toml:") && err.contains("dance"), "{err}");
    }

    #[test]
    fn an_unread_pipe_cannot_expect_output() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unread.toml");
        let head = "name = \"x\"\ndescription = \"d\"\nlaunch = \"unread_pipe\"\n";
        let cases = [
            ("steps = []\n[expect]\nexit = \"code:0\"\nsnapshot = true\n", "snapshot"),
            ("steps = []\n[expect]\nexit = \"code:0\"\noutput = [\"Local:\"]\n", "expect.output"),
            ("steps = [{ do = \"wait_output\", text = \"Local:\" }]\n[expect]\nexit = \"code:0\"\n", "wait_output"),
            ("default_port = 5173\nsteps = []\n[expect]\nexit = \"code:0\"\n", "default_port"),
        ];
        for (rest, named) in cases {
            std::fs::write(&path, format!("{head}{rest}")).unwrap();
            let err = load(&path).unwrap_err();
            assert!(err.contains("unread.toml") && err.contains("unread_pipe") && err.contains(named), "{err}");
        }
        std::fs::write(
            &path,
            format!(
                "{head}steps = [{{ do = \"flood\", requests = 2, path_bytes = 10 }}]\n[expect]\nexit = \"code:0\"\n"
            ),
        )
        .unwrap();
        let scenario = load(&path).unwrap();
        assert!(matches!(scenario.steps[..], [Step::Flood { requests: 2, path_bytes: 10 }]));
    }
}
