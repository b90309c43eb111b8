//! `cargo xtask chaos`: the scenario suite. Every scenario starts a real
//! server, hurts it the way a person or the system would, and checks with
//! the kernel's eyes that the port is free and nothing is left running.

mod oracles;
mod process;
mod schema;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use crate::workspace_root;
use process::Launched;
use schema::{Launch, Scenario, Step};

/// How long any wait of a scenario may take.
const WAIT: Duration = Duration::from_secs(20);

/// How long each request of a `flood` may take to be answered in full: far
/// more than a dev server needs, far less than [`WAIT`], so that a server
/// stuck in a write is told apart from a slow one request by request.
const FLOOD_RESPONSE: Duration = Duration::from_secs(5);

/// Settings from the command line.
#[derive(Debug, Default)]
pub struct ChaosArgs {
    filter: Option<String>,
    repeat: usize,
    json: Option<PathBuf>,
    keep_going: bool,
    server: Option<String>,
}

impl ChaosArgs {
    /// The whole suite, once, as `cargo xtask test` runs it.
    pub fn default_suite() -> ChaosArgs {
        ChaosArgs { repeat: 1, ..ChaosArgs::default() }
    }

    pub fn parse(args: &[String]) -> Result<ChaosArgs, String> {
        let mut chaos = ChaosArgs { repeat: 1, ..ChaosArgs::default() };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--repeat" => {
                    chaos.repeat = args.next().and_then(|n| n.parse().ok()).ok_or("--repeat takes a number")?
                }
                "--json" => chaos.json = Some(args.next().ok_or("--json takes a file")?.into()),
                "--keep-going" => chaos.keep_going = true,
                "--server" => chaos.server = Some(args.next().ok_or("--server takes a command with {port}")?.clone()),
                flag if flag.starts_with('-') => {
                    return Err(format!(
                        "chaos: unknown flag {flag}; usage: cargo xtask chaos [FILTER] [--repeat N] [--json FILE] [--keep-going] [--server 'CMD {{port}}']"
                    ));
                }
                filter => chaos.filter = Some(filter.to_owned()),
            }
        }
        Ok(chaos)
    }
}

/// One scenario's outcome.
#[derive(Debug, Default, serde::Serialize)]
struct Outcome {
    scenario: String,
    description: String,
    result: String,
    exit: String,
    ready_ms: Option<u128>,
    exit_ms: Option<u128>,
    port_free_ms: Option<u128>,
    failures: Vec<String>,
    #[serde(skip)]
    transcript: String,
}

pub fn run(args: &ChaosArgs) -> Result<(), String> {
    nix::sys::prctl::set_child_subreaper(true).map_err(|err| format!("cannot become a subreaper: {err}"))?;
    let root = workspace_root();
    if args.server.is_none() {
        crate::cargo(&["build", "--package", "bengal", "--bins"])?;
    }
    let mut scenarios = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("scenarios"))
        .map_err(|err| format!("scenarios/: {err}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for file in &files {
        let scenario = schema::load(file)?;
        if args.filter.as_ref().is_none_or(|f| scenario.name.contains(f.as_str())) {
            scenarios.push(scenario);
        }
    }
    let mut outcomes = Vec::new();
    'all: for round in 0..args.repeat {
        for (index, scenario) in scenarios.iter().enumerate() {
            let outcome = run_scenario(&root, scenario, args.server.as_deref(), round * 1000 + index);
            let failed = outcome.result == "FAIL";
            print_row(&outcome);
            outcomes.push(outcome);
            if failed && !args.keep_going {
                break 'all;
            }
        }
    }
    if args.server.is_none() && args.filter.is_none() {
        for outcome in self_test(&root) {
            print_row(&outcome);
            outcomes.push(outcome);
        }
    }
    let passed = outcomes.iter().filter(|o| o.result == "pass").count();
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.result == "FAIL").collect();
    let skipped = outcomes.iter().filter(|o| o.result == "skip").count();
    for outcome in &failed {
        println!("\n--- {} failed ({}):", outcome.scenario, outcome.description);
        for failure in &outcome.failures {
            println!("  - {failure}");
        }
        println!("--- transcript:\n{}", outcome.transcript.trim_end());
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&outcomes).map_err(|err| err.to_string())?;
        std::fs::write(path, json).map_err(|err| format!("{}: {err}", path.display()))?;
    }
    let skipped = if skipped > 0 { format!(", {skipped} skipped") } else { String::new() };
    println!("{} passed, {} failed{skipped}", passed, failed.len());
    if failed.is_empty() { Ok(()) } else { Err("chaos: some scenarios failed".into()) }
}

fn print_row(outcome: &Outcome) {
    let ms = |v: Option<u128>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
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

/// The state of one running scenario.
struct Runner<'a> {
    scenario: &'a Scenario,
    site: PathBuf,
    port: u16,
    token: String,
    argv: Vec<String>,
    foreign: bool,
    server: Option<Launched>,
    previous: Vec<Launched>,
    /// Both servers of a race launch, until `wait_ready` has told the winner
    /// (then `server`) from the loser (then in `previous`).
    racers: Vec<Launched>,
    started: Instant,
    fault: Option<(Instant, usize)>,
    ready_ms: Option<u128>,
    held: Vec<TcpStream>,
    holder: Option<std::net::TcpListener>,
    pgids: Vec<u32>,
}

fn run_scenario(root: &Path, scenario: &Scenario, server: Option<&str>, index: usize) -> Outcome {
    let mut outcome =
        Outcome { scenario: scenario.name.clone(), description: scenario.description.clone(), ..Outcome::default() };
    if server.is_some() && scenario.bengal_only {
        outcome.result = "skip".into();
        outcome.exit = "bengal only".into();
        return outcome;
    }
    let Ok(site) = tempfile::tempdir() else {
        outcome.result = "FAIL".into();
        outcome.failures.push("no temporary directory".into());
        return outcome;
    };
    copy_dir(&root.join("fixtures").join(&scenario.fixture), site.path());
    let site_path = std::fs::canonicalize(site.path()).unwrap_or_else(|_| site.path().to_path_buf());
    let port = scenario.default_port.unwrap_or_else(free_port);
    let bengal = crate::target_dir().join("debug/bengal").display().to_string();
    let argv = match server {
        Some(command) => {
            vec!["sh".into(), "-c".into(), format!("exec {}", command.replace("{port}", &port.to_string()))]
        }
        None => {
            let mut argv = scenario.prefix.clone();
            argv.extend([bengal, "serve".into(), "--root".into(), site_path.display().to_string()]);
            if scenario.default_port.is_none() {
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
    let explicit_start = scenario.steps.iter().any(|s| matches!(s, Step::Start | Step::HoldPortForeign));
    let mut failures = Vec::new();
    if !explicit_start && let Err(err) = runner.start() {
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
    left.sort_by_key(|l| l.pid);
    left.dedup_by_key(|l| l.pid);
    if !left.is_empty() {
        failures.extend(left.iter().map(|l| format!("left running: {l}")));
        oracles::kill_all(&left);
    }
    outcome.transcript = runner.transcript();
    outcome.ready_ms = runner.ready_ms;
    outcome.result = if failures.is_empty() { "pass".into() } else { "FAIL".into() };
    outcome.failures = failures;
    outcome
}

impl Runner<'_> {
    fn start(&mut self) -> Result<(), String> {
        let env: Vec<(String, String)> = self.scenario.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if self.scenario.launch == Launch::Race {
            let racers = process::launch_race(&self.argv, &self.site, &env, &self.token, WAIT)?;
            // From the release on: the shells waiting for it are not the servers' start.
            self.started = Instant::now();
            self.pgids.extend(racers.iter().map(|racer| racer.pgid.as_raw() as u32));
            self.previous.extend(self.server.take());
            self.racers = racers.into();
            return Ok(());
        }
        self.started = Instant::now();
        let launched = process::launch(&self.argv, &self.site, &env, &self.token, self.scenario.launch)?;
        self.pgids.push(launched.pgid.as_raw() as u32);
        if let Some(old) = self.server.replace(launched) {
            self.previous.push(old);
        }
        Ok(())
    }

    fn server(&mut self) -> Result<&mut Launched, String> {
        self.server.as_mut().ok_or_else(|| "no server started".to_owned())
    }

    fn mark_fault(&mut self) {
        let len = self.server.as_ref().map(|s| s.output.text().len()).unwrap_or(0);
        self.fault = Some((Instant::now(), len));
    }

    fn step(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::Start => self.start(),
            Step::WaitReady => self.wait_ready(),
            Step::CtrlC => {
                self.mark_fault();
                self.server()?.type_bytes(b"\x03")
            }
            Step::CtrlZ => self.server()?.type_bytes(b"\x1a"),
            Step::Signal { signal } => {
                let signal: Signal = signal.parse().map_err(|_| format!("unknown signal {signal}"))?;
                if !matches!(signal, Signal::SIGSTOP | Signal::SIGCONT | Signal::SIGTSTP) {
                    self.mark_fault();
                }
                self.server()?.signal(signal)
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
                let (status, output) = run_to_end(&argv, &self.token)?;
                check_exit(expect_exit, status)?;
                for line in expect_output {
                    if !output.contains(line.as_str()) {
                        return Err(format!("the second server did not print {line:?}:\n{output}"));
                    }
                }
                Ok(())
            }
            Step::Replace => self.start(),
            Step::OpenLivereload => {
                let mut stream = self.connect()?;
                write!(stream, "GET /__bengal/livereload HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .map_err(|e| e.to_string())?;
                let mut first = [0u8; 64];
                let read = stream.read(&mut first).map_err(|e| e.to_string())?;
                if !String::from_utf8_lossy(&first[..read]).starts_with("HTTP/1.1 200") {
                    return Err("the live-reload stream did not open".into());
                }
                self.held.push(stream);
                Ok(())
            }
            Step::OpenKeepalive => {
                let mut stream = self.connect()?;
                write!(stream, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n")
                    .map_err(|e| e.to_string())?;
                let mut first = [0u8; 64];
                stream.read(&mut first).map_err(|e| e.to_string())?;
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
                let (got, body) = http_get(self.port, path)?;
                if got != *status {
                    return Err(format!("GET {path}: {got}, expected {status}"));
                }
                match contains {
                    Some(text) if !body.contains(text.as_str()) => Err(format!("GET {path}: no {text:?} in the body")),
                    _ => Ok(()),
                }
            }
            Step::HoldPortForeign => {
                self.holder = std::net::TcpListener::bind(("127.0.0.1", self.port)).ok();
                Ok(())
            }
            Step::WaitOutput { text } => self.server()?.output.wait_for(text, WAIT),
            Step::Type { text } => self.server()?.type_bytes(format!("{text}\n").as_bytes()),
            Step::Cleanup { args, expect_code } => {
                let bengal = crate::target_dir().join("debug/bengal").display().to_string();
                let mut argv = vec![bengal, "cleanup".into(), "--root".into(), self.site.display().to_string()];
                argv.extend(args.iter().cloned());
                self.mark_fault();
                let (status, output) = run_to_end(&argv, &self.token)?;
                check_exit(&format!("code:{expect_code}"), status).map_err(|err| format!("{err}\n{output}"))
            }
            Step::RapidRestart { times } => {
                for round in 0..*times {
                    self.server()?.type_bytes(b"\x03")?;
                    let status = self.server()?.wait_exit(WAIT).ok_or(format!("round {round}: no exit"))?;
                    if !self.foreign {
                        check_exit("signal:SIGINT", status).map_err(|e| format!("round {round}: {e}"))?;
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
                    fetch_within(self.port, &path, FLOOD_RESPONSE)
                        .map_err(|err| format!("request {number} of {requests} (a {}-byte path): {err}", path.len()))?;
                }
                Ok(())
            }
        }
    }

    fn connect(&self) -> Result<TcpStream, String> {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| format!("connect: {e}"))?;
        stream.set_read_timeout(Some(WAIT)).map_err(|e| e.to_string())?;
        Ok(stream)
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
            server.output.wait_for("Local:", WAIT)?;
            // The port may differ from the one asked for (a fallback).
            let text = server.output.text();
            let port =
                text.lines().rev().find(|l| l.contains("Local:")).and_then(|l| {
                    l.trim().trim_end_matches('/').rsplit(':').next().and_then(|p| p.trim().parse().ok())
                });
            if let Some(port) = port {
                self.port = port;
            }
        }
        let end = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > end {
                return Err(format!("port {} never accepted", self.port));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
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
        let end = Instant::now() + WAIT;
        let (loser, status) = loop {
            let mut served = Vec::new();
            let mut exited = Vec::new();
            for (index, racer) in self.racers.iter_mut().enumerate() {
                if racer.output.text().contains("Local:") {
                    served.push(index);
                }
                if let Some(status) = racer.try_exit()? {
                    exited.push((index, status));
                }
            }
            match (served.as_slice(), exited.as_slice()) {
                ([_, _], _) => {
                    return Err(format!(
                        "both servers serve the site: pids {} each printed \"Local:\"",
                        pids.join(" and ")
                    ));
                }
                ([winner], [(loser, status)]) if winner != loser => break (*loser, *status),
                (_, [_, _]) => return Err(format!("neither server serves: pids {} both exited", pids.join(" and "))),
                _ if Instant::now() >= end => {
                    let state = |index: usize| match (served.contains(&index), exited.iter().find(|(i, _)| *i == index))
                    {
                        (_, Some((_, status))) => format!("pid {} exited ({})", pids[index], describe(*status)),
                        (true, None) => format!("pid {} serves", pids[index]),
                        (false, None) => format!("pid {} neither serves nor gave up", pids[index]),
                    };
                    return Err(format!(
                        "not one server serving and the other gone within {} s: {}, {}",
                        WAIT.as_secs(),
                        state(0),
                        state(1)
                    ));
                }
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        let loser_said = |err: String| format!("the losing server {}: {err}", pids[loser]);
        // It has exited, but its last words may still be in the pipe.
        self.racers[loser].output.wait_closed(WAIT).map_err(loser_said)?;
        check_exit("code:1", status).map_err(loser_said)?;
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

    fn check(&mut self, outcome: &mut Outcome, failures: &mut Vec<String>) {
        let expect = &self.scenario.expect;
        let fault = self.fault;
        let foreign = self.foreign;
        let port = self.port;
        let Some(server) = self.server.as_mut() else { return };
        if expect.exit == "running" {
            outcome.exit = "running".into();
            if http_get(port, "/").is_err() {
                failures.push("expected to keep serving, but the port does not answer".into());
            }
            return;
        }
        // The port is watched from the fault on, while the server winds
        // down: one whose shutdown lingers (a rebuild to abandon, a full
        // output pipe) must still let go of its port within the limit.
        let mut freed_before_exit = None;
        let end = Instant::now() + WAIT;
        let status = loop {
            let checked = Instant::now();
            if fault.is_some() && freed_before_exit.is_none() && oracles::port_free(port) {
                freed_before_exit = Some(checked);
            }
            match server.try_exit() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(2)),
                Ok(None) | Err(_) => break None,
            }
        };
        let exited = Instant::now();
        outcome.exit = status.map(describe).unwrap_or_else(|| "still running".into());
        if let Some((at, _)) = fault {
            outcome.exit_ms = Some(exited.saturating_duration_since(at).as_millis());
        }
        match status {
            None => failures.push(format!("did not exit within {} s", WAIT.as_secs())),
            Some(status) if !foreign => {
                if let Err(err) = check_exit(&expect.exit, status) {
                    failures.push(err);
                }
            }
            Some(_) => {}
        }
        let since = fault.map(|(at, _)| at).unwrap_or(exited);
        let limit = Duration::from_millis(expect.port_free_within_ms);
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
        let pid_file = self.site.join(".bengal/server.pid").exists();
        match expect.pid_file.as_deref() {
            Some("absent") if pid_file => failures.push(".bengal/server.pid was left behind".into()),
            Some("present") if !pid_file => failures.push(".bengal/server.pid is missing".into()),
            _ => {}
        }
        let text = server.output.text();
        for line in &expect.output {
            if !text.contains(line.as_str()) {
                failures.push(format!("the output lacks {line:?}"));
            }
        }
        if expect.snapshot {
            let from = fault.map(|(_, len)| len).unwrap_or(0).min(text.len());
            let log = redact(&text[from..], &self.site, port, &self.server_pids());
            if let Err(err) = snapshot(&self.scenario.name, &log) {
                failures.push(err);
            }
        }
    }

    fn server_pids(&self) -> Vec<u32> {
        self.previous.iter().chain(self.server.iter()).filter_map(|s| s.pid.map(|p| p.as_raw() as u32)).collect()
    }
}

fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("code:{code}"),
        WaitStatus::Signaled(_, signal, _) => format!("signal:{}", signal.as_str()),
        other => format!("{other:?}"),
    }
}

fn check_exit(expected: &str, status: WaitStatus) -> Result<(), String> {
    let got = describe(status);
    if got == expected { Ok(()) } else { Err(format!("exit {got}, expected {expected}")) }
}

/// Runs a helper command (a second server, `bengal cleanup`) to its end.
fn run_to_end(argv: &[String], token: &str) -> Result<(WaitStatus, String), String> {
    let child = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .env(process::TOKEN_VAR, token)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|err| format!("could not start {}: {err}", argv[0]))?;
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (sender, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    match done.recv_timeout(WAIT) {
        Ok(Ok(output)) => {
            let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
            use std::os::unix::process::ExitStatusExt;
            let status = match output.status.signal() {
                Some(signal) => WaitStatus::Signaled(pid, Signal::try_from(signal).unwrap_or(Signal::SIGKILL), false),
                None => WaitStatus::Exited(pid, output.status.code().unwrap_or(-1)),
            };
            Ok((status, text))
        }
        _ => {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            Err(format!("{} did not finish within {} s", argv[1], WAIT.as_secs()))
        }
    }
}

fn http_get(port: u16, path: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(WAIT)).map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or("no status line")?;
    Ok((status, text))
}

/// One GET on a connection of its own (`Connection: close`), which must be
/// answered in full, with any status, within `limit`: headers, then the
/// body up to its `Content-Length` or to the end of the connection.
fn fetch_within(port: u16, path: &str, limit: Duration) -> Result<u16, String> {
    let end = Instant::now() + limit;
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, limit).map_err(|e| format!("connect: {e}"))?;
    stream.set_write_timeout(Some(limit)).map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("sending the request: {e}"))?;
    let mut raw = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no complete response within {} s ({} bytes so far)", limit.as_secs(), raw.len()));
        }
        stream.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => raw.extend_from_slice(&buffer[..read]),
            Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(format!("no complete response within {} s ({} bytes so far)", limit.as_secs(), raw.len()));
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(format!("reading the response: {err} ({} bytes so far)", raw.len())),
        }
    }
    let Some(head_end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Err(format!("the connection closed before the headers ended ({} bytes)", raw.len()));
    };
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or("no status line")?;
    let declared = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
    });
    let body = raw.len() - (head_end + 4);
    match declared {
        Some(length) if body < length => Err(format!("status {status}, but {body} of {length} body bytes")),
        _ => Ok(status),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::create_dir_all(to);
    for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            copy_dir(&entry.path(), &target);
        } else {
            let _ = std::fs::copy(entry.path(), target);
        }
    }
}

/// Ports, pids, paths and durations vary between runs; the rest must not.
fn redact(text: &str, site: &Path, port: u16, pids: &[u32]) -> String {
    let mut out = text.replace(&site.display().to_string(), "[SITE]").replace(&port.to_string(), "<PORT>");
    for pid in pids {
        out = out.replace(&format!("pid {pid}"), "pid <PID>");
    }
    let mut redacted = String::with_capacity(out.len());
    for line in out.lines() {
        // "Rebuilt in 12 ms" → "Rebuilt in <N> ms"
        let line = match line.find(" in ").zip(line.find(" ms")) {
            Some((start, end)) if end > start + 4 && line[start + 4..end].chars().all(|c| c.is_ascii_digit()) => {
                format!("{} in <N>{}", &line[..start], &line[end..])
            }
            _ => line.to_owned(),
        };
        redacted.push_str(line.trim_end());
        redacted.push('\n');
    }
    redacted
}

/// Compares with `scenarios/snapshots/NAME.snap` (insta): a changed log fails
/// until reviewed with `cargo insta review`.
fn snapshot(name: &str, log: &str) -> Result<(), String> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace_root().join("scenarios/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name.to_owned(), log));
    }));
    result
        .map_err(|_| format!("the log differs from scenarios/snapshots/{name}.snap (review with `cargo insta review`)"))
}

/// Negative controls: the suite must be able to fail. Each leaky server
/// must be caught by the oracles.
fn self_test(root: &Path) -> Vec<Outcome> {
    let Ok(sigterm) = schema::load(&root.join("scenarios/sigterm.toml")) else { return Vec::new() };
    let leaky = [
        (
            "self-test: ignores SIGTERM",
            "sh -c 'trap \"\" TERM INT HUP; exec python3 -m http.server {port} --bind 127.0.0.1'",
        ),
        (
            "self-test: child survives",
            "sh -c 'python3 -m http.server {port} --bind 127.0.0.1 >/dev/null 2>&1 & exec sleep 600'",
        ),
    ];
    leaky
        .iter()
        .enumerate()
        .map(|(index, (name, command))| {
            let mut scenario = sigterm.clone();
            scenario.launch = Launch::Pipe;
            let caught = run_scenario(root, &scenario, Some(command), 9000 + index);
            let detected = caught.result == "FAIL" && caught.failures.iter().any(|f| f.contains("left running"));
            Outcome {
                scenario: (*name).to_owned(),
                result: if detected { "pass".into() } else { "FAIL".into() },
                exit: if detected { "leak detected".into() } else { "leak missed".into() },
                failures: if detected {
                    Vec::new()
                } else {
                    vec![format!("the harness did not catch it: {:?}", caught.failures)]
                },
                transcript: caught.transcript,
                ..Outcome::default()
            }
        })
        .collect()
}
