//! One scenario from start to verdict: a copy of the fixture site, the
//! server started as the scenario says, its steps in order, the checks of
//! [`super::expect`], then the oracles, whatever happened before them.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bengal_tests::events::EventStream;
use bengal_tests::{http, poll};
use nix::sys::signal::Signal;

use super::expect::{self, Finished, check_exit, describe};
use super::oracles;
use super::process::{self, Launched};
use super::report::{Outcome, Verdict};
use super::schema::{Exit, Launch, Port, Scenario, Step};
use super::{FLOOD_RESPONSE, WAIT};

/// The state of one running scenario.
struct Runner<'a> {
    /// The scenario.
    scenario: &'a Scenario,
    /// The copy of the fixture site it runs in.
    site: PathBuf,
    /// The port under test (learnt from the banner where it falls back).
    port: u16,
    /// The mark in the environment of every process it starts.
    token: String,
    /// The command line of the server under test.
    argv: Vec<String>,
    /// Whether the server is another (`--server`): Bengal-only checks skip.
    foreign: bool,
    /// The server under test.
    server: Option<Launched>,
    /// Servers it replaced, kept for the oracles and the redaction.
    previous: Vec<Launched>,
    /// Both servers of a race launch, until `wait_ready` has told the winner
    /// (then `server`) from the loser (then in `previous`).
    racers: Vec<Launched>,
    /// When the server under test was started (released, for a race).
    started: Instant,
    /// When the last fault happened, and how long the output was then.
    fault: Option<(Instant, usize)>,
    /// From the start to the port accepting, once it has.
    ready_ms: Option<u128>,
    /// Connections held open (a live-reload stream, a keep-alive).
    held: Vec<TcpStream>,
    /// The harness's own listener on the port (`hold_port_foreign`).
    holder: Option<TcpListener>,
    /// The process group of each launch, searched by the oracles.
    pgids: Vec<u32>,
}

/// Runs `scenario` against Bengal, or against `server` (a command with
/// `{port}`); `index` makes its token unique within the run.
pub fn run_scenario(scenario: &Scenario, server: Option<&str>, index: usize) -> Outcome {
    if server.is_some() && scenario.bengal_only {
        let mut outcome = Outcome::new(&scenario.name, &scenario.description, Verdict::Skip);
        outcome.exit = "bengal only".into();
        return outcome;
    }
    let mut outcome = Outcome::new(&scenario.name, &scenario.description, Verdict::Fail);
    let site = match bengal_tests::copy_fixture(&scenario.fixture) {
        Ok(site) => site,
        Err(err) => {
            outcome.failures.push(format!("could not copy the fixture {}: {err}", scenario.fixture));
            return outcome;
        }
    };
    let port = match scenario.port {
        Port::Default(port) => port,
        Port::Free => match bengal_tests::free_port() {
            Ok(port) => port,
            Err(err) => {
                outcome.failures.push(format!("no free port: {err}"));
                return outcome;
            }
        },
    };
    let site_path = std::fs::canonicalize(site.path()).unwrap_or_else(|_| site.path().to_path_buf());
    let argv = match server {
        Some(command) => {
            vec!["sh".into(), "-c".into(), format!("exec {}", command.replace("{port}", &port.to_string()))]
        }
        None => {
            let mut argv = scenario.prefix.clone();
            argv.extend([bengal_binary(), "serve".into(), "--root".into(), site_path.display().to_string()]);
            if scenario.port == Port::Free {
                argv.extend(["--port".into(), port.to_string()]);
            }
            argv.extend(scenario.args.iter().cloned());
            argv
        }
    };
    let mut runner = Runner {
        scenario,
        site: site_path,
        port,
        token: format!("chaos-{}-{index}", std::process::id()),
        argv,
        foreign: server.is_some(),
        server: None,
        previous: Vec::new(),
        racers: Vec::new(),
        started: Instant::now(),
        fault: None,
        ready_ms: None,
        held: Vec::new(),
        holder: None,
        pgids: Vec::new(),
    };
    let mut failures = Vec::new();
    if !scenario.starts_in_a_step
        && let Err(err) = runner.start()
    {
        failures.push(err);
    }
    if failures.is_empty() {
        for step in &scenario.steps {
            if let Err(err) = runner.step(step) {
                failures.push(format!("step {step:?}: {err}"));
                break;
            }
        }
    }
    if failures.is_empty() {
        runner.check(&mut outcome, &mut failures);
    }
    // The oracles, whatever happened above.
    drop(runner.held.drain(..));
    let mut left = Vec::new();
    for pgid in &runner.pgids {
        left.extend(oracles::leftovers(&runner.token, *pgid));
    }
    left.sort_by_key(|leftover| leftover.pid);
    left.dedup_by_key(|leftover| leftover.pid);
    if !left.is_empty() {
        failures.extend(left.iter().map(|leftover| format!("left running: {leftover}")));
        oracles::kill_all(&left);
    }
    outcome.transcript = runner.transcript();
    outcome.ready_ms = runner.ready_ms;
    outcome.result = if failures.is_empty() { Verdict::Pass } else { Verdict::Fail };
    outcome.failures = failures;
    outcome
}

/// The `bengal` binary that `cargo xtask chaos` built.
fn bengal_binary() -> String {
    crate::target_dir().join("debug/bengal").display().to_string()
}

impl Runner<'_> {
    fn start(&mut self) -> Result<(), String> {
        let env = &self.scenario.env;
        if self.scenario.launch == Launch::Race {
            let racers = process::launch_race(&self.argv, &self.site, env, &self.token, WAIT)?;
            // From the release on: the shells waiting for it are not the servers' start.
            self.started = Instant::now();
            self.pgids.extend(racers.iter().map(|racer| racer.pgid.as_raw() as u32));
            self.previous.extend(self.server.take());
            self.racers = racers.into();
            return Ok(());
        }
        self.started = Instant::now();
        let launched = process::launch(&self.argv, &self.site, env, &self.token, self.scenario.launch)?;
        self.pgids.push(launched.pgid.as_raw() as u32);
        if let Some(old) = self.server.replace(launched) {
            self.previous.push(old);
        }
        Ok(())
    }

    fn server(&mut self) -> Result<&mut Launched, String> {
        self.server.as_mut().ok_or_else(|| "no server started".to_owned())
    }

    /// Marks now as the fault, which the timings count from and the
    /// snapshot starts at.
    fn mark_fault(&mut self) {
        let len = self.server.as_ref().map(|s| s.output.text().len()).unwrap_or(0);
        self.fault = Some((Instant::now(), len));
    }

    fn step(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::Start | Step::Replace => self.start(),
            Step::WaitReady => self.wait_ready(),
            Step::CtrlC => {
                self.mark_fault();
                self.server()?.type_bytes(b"\x03")
            }
            Step::CtrlZ => self.server()?.type_bytes(b"\x1a"),
            Step::Signal { signal } => {
                // Suspending and resuming is no fault: nothing should end.
                if !matches!(signal, Signal::SIGSTOP | Signal::SIGCONT | Signal::SIGTSTP) {
                    self.mark_fault();
                }
                self.server()?.signal(*signal)
            }
            Step::CloseTerminal => {
                self.mark_fault();
                self.server()?.close_terminal()
            }
            Step::KillParent => {
                self.server()?.find_server_under_shell(WAIT)?;
                self.mark_fault();
                self.server()?.kill_parent()
            }
            Step::CloseStdout => {
                self.server()?.close_pipe.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            }
            Step::SecondServer { args, expect_exit, expect_output } => {
                let mut argv = self.argv[self.scenario.prefix.len()..].to_vec();
                argv.extend(args.iter().cloned());
                let (status, output) = process::run_to_end(&argv, &self.token, WAIT)?;
                expect::check_command("the second server", *expect_exit, expect_output, status, &output)
            }
            Step::OpenLivereload => {
                let events = EventStream::open(self.port, WAIT)?;
                self.held.push(events.into_connection());
                Ok(())
            }
            Step::OpenKeepalive => {
                let mut stream = http::connect(self.port, WAIT)?;
                std::io::Write::write_all(
                    &mut stream,
                    b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n",
                )
                .map_err(|e| e.to_string())?;
                let mut first = [0u8; 64];
                std::io::Read::read(&mut stream, &mut first).map_err(|e| e.to_string())?;
                self.held.push(stream);
                Ok(())
            }
            Step::WriteFile { path, contents } => {
                let target = self.site.join(path);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                std::fs::write(target, contents).map_err(|e| e.to_string())
            }
            Step::Get { path, status, contains } => {
                let response = http::get(self.port, path, WAIT)?;
                if response.status != *status {
                    return Err(format!("GET {path}: {}, expected {status}", response.status));
                }
                match contains {
                    Some(text) if !response.body.contains(text.as_str()) => {
                        Err(format!("GET {path}: no {text:?} in the body"))
                    }
                    _ => Ok(()),
                }
            }
            Step::HoldPortForeign => {
                self.holder = TcpListener::bind(("127.0.0.1", self.port)).ok();
                Ok(())
            }
            Step::WaitOutput { text } => self.server()?.output.wait_for(text, WAIT),
            Step::Type { text } => self.server()?.type_bytes(format!("{text}\n").as_bytes()),
            Step::Cleanup { args, expect_code, expect_output } => {
                let mut argv =
                    vec![bengal_binary(), "cleanup".into(), "--root".into(), self.site.display().to_string()];
                argv.extend(args.iter().cloned());
                self.mark_fault();
                let (status, output) = process::run_to_end(&argv, &self.token, WAIT)?;
                expect::check_command("bengal cleanup", Exit::Code(*expect_code), expect_output, status, &output)
            }
            Step::RapidRestart { times } => {
                for round in 0..*times {
                    self.server()?.type_bytes(b"\x03")?;
                    let status = self.server()?.wait_exit(WAIT).ok_or(format!("round {round}: no exit"))?;
                    if !self.foreign {
                        check_exit(Exit::Signal(Signal::SIGINT), status).map_err(|e| format!("round {round}: {e}"))?;
                    }
                    oracles::wait_port_free(self.port, Duration::from_secs(2))
                        .ok_or(format!("round {round}: port not free"))?;
                    self.start()?;
                    self.wait_ready()?;
                }
                Ok(())
            }
            Step::Flood { requests, path_bytes } => {
                let path = format!("/{}", "a".repeat(path_bytes.saturating_sub(1)));
                for number in 1..=*requests {
                    http::get(self.port, &path, FLOOD_RESPONSE)
                        .and_then(|response| response.check_complete())
                        .map_err(|err| format!("request {number} of {requests} (a {}-byte path): {err}", path.len()))?;
                }
                Ok(())
            }
        }
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        if !self.racers.is_empty() {
            self.settle_race()?;
        }
        // Nothing printed can be seen from a foreign server (its banner is its
        // own) nor through a pipe that is never read: the port alone tells.
        let banner = !self.foreign && self.scenario.launch != Launch::UnreadPipe;
        let server = self.server()?;
        if banner {
            let line = server.output.wait_for_line("Local:", WAIT)?;
            // The port may differ from the one asked for (a fallback).
            if let Some(port) = line.trim().trim_end_matches('/').rsplit(':').next().and_then(|p| p.parse().ok()) {
                self.port = port;
            }
        }
        let port = self.port;
        poll::until(WAIT, || TcpStream::connect(("127.0.0.1", port)).ok())
            .ok_or_else(|| format!("port {port} never accepted"))?;
        self.ready_ms = Some(self.started.elapsed().as_millis());
        if self.scenario.launch == Launch::Orphanable {
            self.server()?.find_server_under_shell(WAIT)?;
        }
        Ok(())
    }

    /// Waits until exactly one racer serves and the other has exited 1
    /// saying the site is served; the winner becomes the server under test,
    /// the loser (reaped) stays for the oracles. Both serving, or neither
    /// giving up within [`WAIT`], is the failure a race launch looks for.
    fn settle_race(&mut self) -> Result<(), String> {
        let pids: Vec<String> = self.racers.iter().map(|r| r.pid.map(|p| p.to_string()).unwrap_or_default()).collect();
        let mut last_seen = (Vec::new(), Vec::new());
        let settled = poll::until(WAIT, || {
            let mut served = Vec::new();
            let mut exited = Vec::new();
            for (index, racer) in self.racers.iter_mut().enumerate() {
                if racer.output.text().contains("Local:") {
                    served.push(index);
                }
                match racer.try_exit() {
                    Ok(Some(status)) => exited.push((index, status)),
                    Ok(None) => {}
                    Err(err) => return Some(Err(err)),
                }
            }
            let settled = match (served.as_slice(), exited.as_slice()) {
                ([_, _], _) => Some(Err(format!(
                    "both servers serve the site: pids {} each printed \"Local:\"",
                    pids.join(" and ")
                ))),
                ([winner], [(loser, status)]) if winner != loser => Some(Ok((*loser, *status))),
                (_, [_, _]) => Some(Err(format!("neither server serves: pids {} both exited", pids.join(" and ")))),
                _ => None,
            };
            last_seen = (served, exited);
            settled
        });
        let (loser, status) = settled.unwrap_or_else(|| {
            let (served, exited) = &last_seen;
            let state = |index: usize| match (served.contains(&index), exited.iter().find(|(i, _)| *i == index)) {
                (_, Some((_, status))) => format!("pid {} exited ({})", pids[index], describe(*status)),
                (true, None) => format!("pid {} serves", pids[index]),
                (false, None) => format!("pid {} neither serves nor gave up", pids[index]),
            };
            Err(format!(
                "not one server serving and the other gone within {} s: {}, {}",
                WAIT.as_secs(),
                state(0),
                state(1)
            ))
        })?;
        let loser_said = |err: String| format!("the losing server {}: {err}", pids[loser]);
        // It has exited, but its last words may still be in the pipe.
        self.racers[loser].output.wait_closed(WAIT).map_err(loser_said)?;
        check_exit(Exit::Code(1), status).map_err(loser_said)?;
        if !self.racers[loser].output.text().contains("this site") {
            return Err(loser_said("it exited without saying that this site is served".into()));
        }
        let mut racers = std::mem::take(&mut self.racers);
        self.previous.push(racers.remove(loser));
        // The one left is the winner (`start` moved any earlier server aside).
        self.server = racers.pop();
        Ok(())
    }

    /// What the server under test printed, and each racer's output while a
    /// race is unsettled (that is where it failed).
    fn transcript(&self) -> String {
        let mut text = self.server.as_ref().map(|s| s.output.text()).unwrap_or_default();
        for racer in &self.racers {
            let pid = racer.pid.map(|p| p.to_string()).unwrap_or_default();
            text.push_str(&format!("--- racer {pid}:\n{}\n", racer.output.text().trim_end()));
        }
        text
    }

    /// Checks the end, when a server was started.
    fn check(&mut self, outcome: &mut Outcome, failures: &mut Vec<String>) {
        let pids = self.server_pids();
        let Some(server) = self.server.as_mut() else { return };
        let finished = Finished {
            scenario: self.scenario,
            server,
            site: &self.site,
            port: self.port,
            fault: self.fault,
            foreign: self.foreign,
            pids,
        };
        expect::check(finished, outcome, failures);
    }

    /// The pids of every Bengal server of the scenario, for the redaction.
    fn server_pids(&self) -> Vec<u32> {
        self.previous.iter().chain(self.server.iter()).filter_map(|s| s.pid.map(|p| p.as_raw() as u32)).collect()
    }
}
