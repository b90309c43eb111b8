//! Scenario files (`scenarios/NAME.toml`) in two layers, as trycmd's
//! `OneShot → TryCmd`: [`ScenarioFile`] is the file as written, read
//! strictly by serde, and converts into [`Scenario`], what the runner works
//! from. Whatever has a fixed vocabulary (an exit, the pid file's state, a
//! signal) is an enum parsed as the file loads, so a typo is an error naming
//! the file and the line instead of a check that quietly never matches.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use serde::{Deserialize, Deserializer, de::Error as _};

/// One scenario, checked and ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Short name, e.g. `sigterm`; the file stem by convention.
    pub name: String,
    /// What it shows, in one sentence.
    pub description: String,
    /// Fixture site under `fixtures/`.
    pub fixture: String,
    /// How the server is started.
    pub launch: Launch,
    /// Extra arguments after `bengal serve --root SITE [--port PORT]`.
    pub args: Vec<String>,
    /// A command the server is started through, e.g. one that ignores SIGHUP
    /// as `nohup` does.
    pub prefix: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Which port the server is started on.
    pub port: Port,
    /// Uses what only Bengal has (its pid file, its log, its flags): skipped
    /// with `--server`.
    pub bengal_only: bool,
    /// Steps, in order.
    pub steps: Vec<Step>,
    /// Whether a step starts the server (`start`, or `hold_port_foreign`,
    /// whose port must be held first); otherwise it starts before the steps.
    pub starts_in_a_step: bool,
    /// What must hold at the end.
    pub expect: Expect,
}

/// Which port a server under test is started on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// A port free at the start, given with `--port`.
    Free,
    /// This port, without `--port`, so that the server's own choice (and
    /// its fallback when the port is taken) applies.
    Default(u16),
}

/// What must hold at the end of a scenario.
#[derive(Debug, Clone)]
pub struct Expect {
    /// How the server under test ends.
    pub exit: Exit,
    /// The port must be free within this long of the fault.
    pub port_free_within: Duration,
    /// Whether `.bengal/server.pid` is left; unchecked when not said.
    pub pid_file: Option<PidFile>,
    /// Lines the output must contain.
    pub output: Vec<String>,
    /// Compare the output from the fault on with the reviewed snapshot.
    pub snapshot: bool,
}

/// How a process ends, written `code:N`, `signal:SIGNAME` or `running`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exits with this code.
    Code(i32),
    /// It dies by this signal.
    Signal(Signal),
    /// It does not end: it must still serve.
    Running,
}

impl Exit {
    /// How a reaped process ended; None for a status that is no end
    /// (stopped, continued).
    pub fn of(status: WaitStatus) -> Option<Exit> {
        match status {
            WaitStatus::Exited(_, code) => Some(Exit::Code(code)),
            WaitStatus::Signaled(_, signal, _) => Some(Exit::Signal(signal)),
            _ => None,
        }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(code) => write!(f, "code:{code}"),
            Exit::Signal(signal) => write!(f, "signal:{}", signal.as_str()),
            Exit::Running => f.write_str("running"),
        }
    }
}

impl FromStr for Exit {
    type Err = String;

    fn from_str(text: &str) -> Result<Exit, String> {
        let exit = match text.split_once(':') {
            _ if text == "running" => Some(Exit::Running),
            Some(("code", code)) => code.parse().ok().map(Exit::Code),
            Some(("signal", name)) => name.parse().ok().map(Exit::Signal),
            _ => None,
        };
        exit.ok_or_else(|| {
            format!("`{text}` is not an exit: write `code:N`, `signal:SIGNAME` (e.g. `signal:SIGTERM`) or `running`")
        })
    }
}

impl<'de> Deserialize<'de> for Exit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Exit, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(D::Error::custom)
    }
}

/// An exit that ends: a command run to its end cannot be `running`.
fn ending<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Exit, D::Error> {
    match Exit::deserialize(deserializer)? {
        Exit::Running => {
            Err(D::Error::custom("this command runs to its end: expect `code:N` or `signal:SIGNAME`, not `running`"))
        }
        exit => Ok(exit),
    }
}

/// A signal by its name, `SIGTERM`.
fn signal_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Signal, D::Error> {
    let name = String::deserialize(deserializer)?;
    name.parse().map_err(|_| D::Error::custom(format!("unknown signal `{name}`: write its name, e.g. `SIGTERM`")))
}

/// Whether `.bengal/server.pid` is there at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PidFile {
    /// Removed: the server cleaned up.
    Absent,
    /// Left (a server still running, or killed with SIGKILL).
    Present,
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

/// One step. Steps need no second layer: each field's type parses itself
/// as the file loads (a signal's name, an exit).
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
        #[serde(deserialize_with = "signal_name")]
        signal: Signal,
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
        /// Its exit.
        #[serde(deserialize_with = "ending")]
        expect_exit: Exit,
        /// Lines its output must contain.
        #[serde(default)]
        expect_output: Vec<String>,
    },
    /// Start a replacement server for the same site and make it the server
    /// under test from then on.
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
    /// Wait for text in the output (a prompt without its line end counts).
    WaitOutput {
        /// The text.
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
        /// Lines its output must contain.
        #[serde(default)]
        expect_output: Vec<String>,
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

/// A scenario file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    name: String,
    description: String,
    #[serde(default = "quickstart")]
    fixture: String,
    launch: Launch,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    prefix: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Start on this port without `--port` ([`Port::Default`]).
    #[serde(default)]
    default_port: Option<u16>,
    #[serde(default)]
    bengal_only: bool,
    /// Each step is read on its own ([`Step`]), so that an error in one
    /// names the step's line rather than the list's.
    steps: Vec<toml::Spanned<toml::Value>>,
    expect: ExpectFile,
}

/// `[expect]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    exit: Exit,
    #[serde(default = "port_free_ms")]
    port_free_within_ms: u64,
    #[serde(default)]
    pid_file: Option<PidFile>,
    #[serde(default)]
    output: Vec<String>,
    #[serde(default)]
    snapshot: bool,
}

fn quickstart() -> String {
    "quickstart".to_owned()
}

fn port_free_ms() -> u64 {
    2000
}

/// Why a scenario file is refused: a message, and where in the file when
/// that is known.
#[derive(Debug)]
pub struct Invalid {
    /// The bytes of the file the message is about.
    span: Option<std::ops::Range<usize>>,
    message: String,
}

impl Invalid {
    fn new(message: impl Into<String>) -> Invalid {
        Invalid { span: None, message: message.into() }
    }

    fn from_toml(err: &toml::de::Error, span: Option<std::ops::Range<usize>>) -> Invalid {
        Invalid { span: err.span().or(span), message: err.message().to_owned() }
    }

    /// `PATH:LINE: message` (the line where it is known) for the file
    /// `path` whose text is `text`.
    fn at(&self, path: &Path, text: &str) -> String {
        let line = self.span.as_ref().map(|span| {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            before.iter().filter(|&&byte| byte == b'\n').count() + 1
        });
        let at = line.map(|line| format!(":{line}")).unwrap_or_default();
        format!("{}{at}: {}", path.display(), self.message)
    }
}

impl TryFrom<ScenarioFile> for Scenario {
    type Error = Invalid;

    /// Reads each step, and rejects what well-formed TOML can still ask for
    /// but the harness cannot check: a scenario that would otherwise time
    /// out or pass vacuously is better refused when it is written.
    fn try_from(file: ScenarioFile) -> Result<Scenario, Invalid> {
        let steps = file
            .steps
            .into_iter()
            .map(|step| {
                let span = step.span();
                Step::deserialize(step.into_inner()).map_err(|err| Invalid::from_toml(&err, Some(span)))
            })
            .collect::<Result<Vec<Step>, Invalid>>()?;
        if file.launch == Launch::UnreadPipe {
            let never_read = "launch = \"unread_pipe\" never reads the server's output, so";
            if file.expect.snapshot {
                return Err(Invalid::new(format!("{never_read} `snapshot = true` cannot be checked")));
            }
            if !file.expect.output.is_empty() {
                return Err(Invalid::new(format!("{never_read} `expect.output` cannot be checked")));
            }
            if steps.iter().any(|step| matches!(step, Step::WaitOutput { .. })) {
                return Err(Invalid::new(format!("{never_read} a `wait_output` step would never see its text")));
            }
            if file.default_port.is_some() {
                return Err(Invalid::new(format!(
                    "{never_read} the port it falls back to (`default_port`) cannot be learnt"
                )));
            }
        }
        let expect = file.expect;
        Ok(Scenario {
            starts_in_a_step: steps.iter().any(|step| matches!(step, Step::Start | Step::HoldPortForeign)),
            name: file.name,
            description: file.description,
            fixture: file.fixture,
            launch: file.launch,
            args: file.args,
            prefix: file.prefix,
            env: file.env.into_iter().collect(),
            port: file.default_port.map_or(Port::Free, Port::Default),
            bengal_only: file.bengal_only,
            steps,
            expect: Expect {
                exit: expect.exit,
                port_free_within: Duration::from_millis(expect.port_free_within_ms),
                pid_file: expect.pid_file,
                output: expect.output,
                snapshot: expect.snapshot,
            },
        })
    }
}

/// Reads and checks one scenario file; an error names the file, and the
/// line where it is known.
pub fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    toml::from_str::<ScenarioFile>(&text)
        .map_err(|err| Invalid::from_toml(&err, None))
        .and_then(Scenario::try_from)
        .map_err(|invalid| invalid.at(path, &text))
}

/// One file of the scenarios directory.
pub struct File {
    /// Its name without `.toml`: the scenario's name by convention, and the
    /// row's name when it does not load.
    pub stem: String,
    /// The scenario, or why it did not load.
    pub scenario: Result<Scenario, String>,
}

/// Every `*.toml` file of `dir`, by name, each loaded or with the error
/// that kept it from loading: one bad file does not keep the rest from running.
pub fn load_dir(dir: &Path) -> Result<Vec<File>, String> {
    let entries = std::fs::read_dir(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    let mut paths: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    paths.sort();
    Ok(paths
        .iter()
        .map(|path| File {
            stem: path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default(),
            scenario: load(path),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "name = \"x\"\ndescription = \"d\"\nlaunch = \"pty\"\n";

    /// Loads `text` as the file `bad.toml`.
    fn load_text(text: &str) -> Result<Scenario, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        load(&path)
    }

    #[test]
    fn every_scenario_file_loads_and_is_named_after_its_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        for file in load_dir(&dir).unwrap() {
            assert_eq!(file.scenario.unwrap().name, file.stem);
        }
    }

    #[test]
    fn a_file_that_does_not_load_is_listed_with_its_error_among_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let good = format!("{HEAD}steps = []\n[expect]\nexit = \"code:0\"\n");
        std::fs::write(dir.path().join("a_good.toml"), &good).unwrap();
        std::fs::write(dir.path().join("b_typo.toml"), good.replace("code:0", "code:0\"\npid_file = \"abesnt"))
            .unwrap();
        std::fs::write(dir.path().join("notes.md"), "not a scenario").unwrap();
        let files = load_dir(dir.path()).unwrap();
        assert_eq!(files.iter().map(|file| file.stem.as_str()).collect::<Vec<_>>(), ["a_good", "b_typo"]);
        assert!(files[0].scenario.is_ok());
        let err = files[1].scenario.as_ref().unwrap_err();
        assert!(err.contains("b_typo.toml:7:") && err.contains("abesnt"), "{err}");
    }

    #[test]
    fn unknown_keys_and_bad_steps_name_the_line() {
        let err = load_text(&format!("{HEAD}steps = []\ncolour = 1\n[expect]\nexit = \"code:0\"\n")).unwrap_err();
        assert!(err.contains("bad.toml:5") && err.contains("colour"), "{err}");
        let err = load_text(&format!("{HEAD}[[steps]]\ndo = \"dance\"\n[expect]\nexit = \"code:0\"\n")).unwrap_err();
        assert!(err.contains("bad.toml:4") && err.contains("dance"), "{err}");
    }

    #[test]
    fn a_misspelt_value_is_an_error_naming_the_line() {
        let expect = "steps = []\n[expect]\n";
        for (text, line, named) in [
            (format!("{HEAD}{expect}exit = \"code:0\"\npid_file = \"abesnt\"\n"), 7, "abesnt"),
            (format!("{HEAD}{expect}exit = \"sigal:SIGTERM\"\n"), 6, "sigal:SIGTERM"),
            (format!("{HEAD}{expect}exit = \"signal:SIGTREM\"\n"), 6, "signal:SIGTREM"),
            (format!("{HEAD}{expect}exit = \"code:zero\"\n"), 6, "code:zero"),
            (
                format!(
                    "{HEAD}steps = [\n  {{ do = \"wait_ready\" }},\n  {{ do = \"signal\", signal = \"SIGTREM\" }},\n]\n[expect]\nexit = \"code:0\"\n"
                ),
                6,
                "SIGTREM",
            ),
            (
                format!(
                    "{HEAD}steps = [\n  {{ do = \"second_server\", expect_exit = \"running\" }},\n]\n[expect]\nexit = \"code:0\"\n"
                ),
                5,
                "running",
            ),
        ] {
            let err = load_text(&text).unwrap_err();
            assert!(err.contains(&format!("bad.toml:{line}:")) && err.contains(named), "{text}\n→ {err}");
        }
    }

    #[test]
    fn values_parse_into_their_enums() {
        let scenario = load_text(&format!(
            "{HEAD}default_port = 5173\nsteps = [{{ do = \"signal\", signal = \"SIGHUP\" }}]\n[expect]\nexit = \"signal:SIGHUP\"\npid_file = \"present\"\nport_free_within_ms = 250\n"
        ))
        .unwrap();
        assert!(matches!(scenario.steps[..], [Step::Signal { signal: Signal::SIGHUP }]));
        assert_eq!(scenario.expect.exit, Exit::Signal(Signal::SIGHUP));
        assert_eq!(scenario.expect.pid_file, Some(PidFile::Present));
        assert_eq!(scenario.expect.port_free_within, Duration::from_millis(250));
        assert_eq!(scenario.port, Port::Default(5173));
        for exit in ["code:0", "code:-1", "signal:SIGTERM", "running"] {
            assert_eq!(exit.parse::<Exit>().unwrap().to_string(), exit);
        }
    }

    #[test]
    fn an_unread_pipe_cannot_expect_output() {
        let head = "name = \"x\"\ndescription = \"d\"\nlaunch = \"unread_pipe\"\n";
        let cases = [
            ("steps = []\n[expect]\nexit = \"code:0\"\nsnapshot = true\n", "snapshot"),
            ("steps = []\n[expect]\nexit = \"code:0\"\noutput = [\"Local:\"]\n", "expect.output"),
            ("steps = [{ do = \"wait_output\", text = \"Local:\" }]\n[expect]\nexit = \"code:0\"\n", "wait_output"),
            ("default_port = 5173\nsteps = []\n[expect]\nexit = \"code:0\"\n", "default_port"),
        ];
        for (rest, named) in cases {
            let err = load_text(&format!("{head}{rest}")).unwrap_err();
            assert!(err.contains("bad.toml") && err.contains("unread_pipe") && err.contains(named), "{err}");
        }
        let scenario = load_text(&format!(
            "{head}steps = [{{ do = \"flood\", requests = 2, path_bytes = 10 }}]\n[expect]\nexit = \"code:0\"\n"
        ))
        .unwrap();
        assert!(matches!(scenario.steps[..], [Step::Flood { requests: 2, path_bytes: 10 }]));
    }
}
