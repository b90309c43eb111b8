//! A headless Chromium, driven over the DevTools protocol (CDP), for tests
//! that need what only a browser does: run a page's scripts, load its
//! images, follow a live reload, report what went wrong in the console.
//!
//! The client is written here, by hand, on a synchronous websocket
//! (`tungstenite`, ws:// only) and `serde_json`: the crates that speak CDP
//! (`chromiumoxide`, `headless_chrome`) pull in huge generated protocol
//! crates, and CI has 20 minutes on 2 cores; the tests need a handful of
//! methods (`Target.*`, `Page.navigate` and `reload`, `Runtime.evaluate`,
//! `Emulation.setDeviceMetricsOverride`) and a few events.
//!
//! The browser is Debian's `chromium` (`/usr/bin/chromium`, or the program
//! named by `BENGAL_CHROMIUM`). It follows the rules of the other helpers:
//!
//! - It runs in a process group of its own, which this process creates.
//!   The browser's zygotes, renderers and utility processes are its
//!   descendants and stay in that group, so dropping the [`Browser`] kills
//!   the group (SIGKILL, never anything by name), reaps the browser and
//!   waits, with a deadline, until no live process of the group is left.
//!   Chromium's crash handlers (`chrome_crashpad_handler`) are the
//!   exception: they detach (new session, parent init) so as to outlive a
//!   crash, and end by themselves once the browser is gone. Their command
//!   line names the crash database, which lies in the browser's own
//!   temporary directory (`XDG_CONFIG_HOME` and `HOME` point there), so the
//!   drop waits for them too and, should one outlive the deadline, kills it
//!   by its pid.
//! - Every call has a deadline ([`DEADLINE`] unless told) and returns an
//!   error that says what it waited for, instead of hanging.
//! - Waiting for a page is waiting for a condition (a load event, a value
//!   in the page) with a deadline, checked often; never a fixed sleep.
//!
//! One websocket to the browser target carries everything: each tab is a
//! flat session (`Target.attachToTarget` with `flatten: true`), and a
//! reader thread routes answers by their `id` and events by their
//! `sessionId`.
//!
//! ```no_run
//! use std::time::Duration;
//! let browser = bengal_tests::browser::Browser::launch();
//! let tab = browser.open("http://127.0.0.1:5173/");
//! tab.wait_for("document.title !== ''", Duration::from_secs(10))?;
//! assert_eq!(tab.eval("1 + 1")?, serde_json::json!(2));
//! assert!(tab.console_errors().is_empty(), "{:?}", tab.console_errors());
//! # Ok::<(), String>(())
//! ```

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

use crate::launch::{self, Output};
use crate::poll;

/// How long one call to the browser (a command and its answer, a
/// navigation and its load event) may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// How long Chromium may take to start and say where it listens: a cold
/// start on a loaded CI machine takes a few seconds.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// How often [`Tab::wait_for`] evaluates its condition: each check is a
/// round trip to the renderer, so less often than [`poll::INTERVAL`].
const CONDITION_INTERVAL: Duration = Duration::from_millis(10);

/// The browser when `BENGAL_CHROMIUM` does not name another.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// The flags this machine needs: headless without a sandbox or GPU (as
/// root, in a container); without the background networking, component
/// updates and sync, Chromium's own outgoing connections are refused here
/// and fill its log; a fresh profile each time; the DevTools port chosen by
/// the kernel. The profile directory follows, then `about:blank`.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-port=0",
];

/// A headless Chromium started by this process, in a process group of its
/// own, with a fresh profile; everything is ended and removed when dropped.
pub struct Browser {
    /// The browser's pid, which is also its process group.
    pgid: Pid,
    /// Holds `profile/` (`--user-data-dir`) and `home/` (its `HOME`, crash
    /// database and caches).
    dir: Option<tempfile::TempDir>,
    output: Output,
    port: u16,
    cdp: Arc<Cdp>,
    reader: Option<JoinHandle<()>>,
}

impl Browser {
    /// Starts Chromium and connects to it; panics with the reason when it
    /// cannot (Chromium missing, not starting, not answering).
    pub fn launch() -> Browser {
        Browser::try_launch().unwrap_or_else(|err| panic!("{err}"))
    }

    /// Starts Chromium ([`chromium_path`]) and connects to it.
    pub fn try_launch() -> Result<Browser, String> {
        Browser::try_launch_program(&chromium_path())
    }

    /// Starts `program`, a Chromium, and connects to it.
    pub fn try_launch_program(program: &Path) -> Result<Browser, String> {
        if !program.is_file() {
            return Err(format!(
                "no Chromium at {}: install Debian's chromium package (apt-get install chromium), \
                 or name another Chromium in BENGAL_CHROMIUM",
                program.display()
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("bengal-chromium-")
            .tempdir()
            .map_err(|err| format!("a temporary directory for Chromium: {err}"))?;
        let profile = dir.path().join("profile");
        let home = dir.path().join("home");
        for path in [&profile, &home] {
            std::fs::create_dir(path).map_err(|err| format!("create {}: {err}", path.display()))?;
        }
        let mut command = Command::new(program);
        command
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            // Crash reports, caches and settings land in the temporary
            // directory, not in the user's; the crash handlers' command
            // line then names it (see the module's documentation).
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().map_err(|err| {
            format!(
                "could not start {}: {err}; install Debian's chromium package (apt-get install chromium)",
                program.display()
            )
        })?;
        let output = Output::default();
        if let Some(stdout) = child.stdout.take() {
            launch::read_into(stdout, &output, None);
        }
        if let Some(stderr) = child.stderr.take() {
            launch::read_into(stderr, &output, None);
        }
        let pgid = Pid::from_raw(child.id() as i32);
        // From here on, Drop ends the group and removes the directory.
        let mut browser =
            Browser { pgid, dir: Some(dir), output, port: 0, cdp: Arc::new(Cdp::default()), reader: None };
        let url = browser.devtools_url(&profile)?;
        browser.port = url
            .strip_prefix("ws://127.0.0.1:")
            .and_then(|rest| rest.split('/').next())
            .and_then(|port| port.parse().ok())
            .ok_or_else(|| format!("no port in the DevTools address {url:?}"))?;
        let (reader, writer) = connect(&url)?;
        browser.cdp = Arc::new(Cdp { writer: Mutex::new(Some(writer)), ..Cdp::default() });
        let cdp = browser.cdp.clone();
        let reader = std::thread::Builder::new()
            .name("chromium-devtools".into())
            .spawn(move || cdp.read_all(reader))
            .map_err(|err| format!("start the DevTools reader: {err}"))?;
        browser.reader = Some(reader);
        Ok(browser)
    }

    /// Waits for the browser to say where it listens: the `DevToolsActivePort`
    /// file in its profile (port, then path), or the line `DevTools listening
    /// on ws://…` on its stderr, whichever comes first.
    fn devtools_url(&mut self, profile: &Path) -> Result<String, String> {
        let from_file = || {
            let text = std::fs::read_to_string(profile.join("DevToolsActivePort")).ok()?;
            let mut lines = text.lines();
            let port: u16 = lines.next()?.trim().parse().ok()?;
            // The file is written in place: a path read in the middle
            // lacks part of its id (a UUID, 36 characters).
            let path = lines.next()?.trim();
            let id = path.strip_prefix("/devtools/browser/")?;
            (id.len() == 36).then(|| format!("ws://127.0.0.1:{port}{path}"))
        };
        let from_output = || {
            let text = self.output.text();
            let ended = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
            ended.lines().find_map(|line| line.strip_prefix("DevTools listening on ")).map(|url| url.trim().to_owned())
        };
        let mut exited = None;
        let found = poll::until(START_DEADLINE, || {
            if let Some(url) = from_file().or_else(from_output) {
                return Some(url);
            }
            // Not reaped (WNOWAIT): the group's id stays ours until the drop.
            let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
            match waitid(Id::Pid(self.pgid), flags) {
                Ok(WaitStatus::StillAlive) | Err(_) => {}
                Ok(status) => {
                    exited = Some(status);
                    return Some(String::new());
                }
            }
            None
        });
        match (found, exited) {
            (_, Some(status)) => {
                let _ = self.output.wait_closed(Duration::from_secs(1));
                Err(format!("Chromium exited ({status:?}) before it listened; its output:\n{}", self.output.text()))
            }
            (Some(url), None) => Ok(url),
            (None, None) => Err(format!(
                "Chromium did not say where DevTools listens within {} s; its output:\n{}",
                START_DEADLINE.as_secs(),
                self.output.text()
            )),
        }
    }

    /// Opens a new tab on `url` and waits for its load event; panics with
    /// the reason when it cannot (see [`Browser::try_open`]).
    pub fn open(&self, url: &str) -> Tab {
        self.try_open(url).unwrap_or_else(|err| panic!("open {url}: {err}"))
    }

    /// Opens a new tab (a new target, at `about:blank`), attaches to it,
    /// enables the `Runtime`, `Log`, `Network` and `Page` domains (so that
    /// nothing the page does from its first request on is missed) and
    /// `Inspector` (a crash then fails every wait at once), then navigates
    /// to `url` and waits for its load event.
    pub fn try_open(&self, url: &str) -> Result<Tab, String> {
        let created = self.cdp.call(None, "Target.createTarget", json!({ "url": "about:blank" }), DEADLINE)?;
        let target_id = string_at(&created, "targetId")?;
        let mut tab =
            Tab { cdp: self.cdp.clone(), target_id, session_id: String::new(), events: Arc::default(), closed: false };
        let attached = self.cdp.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": tab.target_id, "flatten": true }),
            DEADLINE,
        )?;
        tab.session_id = string_at(&attached, "sessionId")?;
        // Registered before any domain is enabled: no event is lost.
        lock(&self.cdp.state).sessions.insert(tab.session_id.clone(), tab.events.clone());
        for domain in ["Runtime", "Log", "Network", "Page", "Inspector"] {
            tab.call(&format!("{domain}.enable"), json!({}))?;
        }
        tab.navigate(url)?;
        Ok(tab)
    }

    /// The browser's process group (its pid): every process of the browser
    /// but its crash handlers is in it.
    pub fn pgid(&self) -> Pid {
        self.pgid
    }

    /// The port DevTools listens on (127.0.0.1).
    pub fn devtools_port(&self) -> u16 {
        self.port
    }

    /// The browser's temporary directory (profile, home, crash database);
    /// removed when the browser is dropped.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(|dir| dir.path())
    }

    /// What Chromium printed so far (stdout and stderr), for a failure message.
    pub fn output(&self) -> String {
        self.output.text()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the connection: the reader sees its end and stops.
        self.cdp.shut_down();
        // The group is ours (created at spawn with process_group(0)); the
        // browser is not reaped yet, so its pid, the group's id, cannot
        // have been reused.
        let _ = killpg(self.pgid, Signal::SIGKILL);
        let _ = launch::wait_exit(self.pgid, DEADLINE);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        // The browser's children, orphaned, are reaped by init.
        let _ = poll::until(DEADLINE, || live_in_group(self.pgid).is_empty().then_some(()));
        if let Some(dir) = self.dir.take() {
            let stragglers = || processes_naming(dir.path());
            if poll::until(DEADLINE, || stragglers().is_empty().then_some(())).is_none() {
                for pid in stragglers() {
                    let _ = kill(pid, Signal::SIGKILL);
                }
                let _ = poll::until(DEADLINE, || stragglers().is_empty().then_some(()));
            }
            drop(dir);
        }
    }
}

/// The Chromium to start: `BENGAL_CHROMIUM` if set (a path, or a name
/// looked up in `PATH`), else Debian's `/usr/bin/chromium`.
pub fn chromium_path() -> PathBuf {
    let Some(named) = std::env::var_os("BENGAL_CHROMIUM").filter(|named| !named.is_empty()) else {
        return DEFAULT_CHROMIUM.into();
    };
    let named = PathBuf::from(named);
    if named.components().count() > 1 {
        return named;
    }
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join(&named)).find(|found| found.is_file()))
        .unwrap_or(named)
}

/// The processes of group `pgid` that still run (zombies, which hold
/// nothing but a pid until their parent reaps them, are left out), from
/// `/proc/*/stat`.
pub fn live_in_group(pgid: Pid) -> Vec<Pid> {
    proc_pids()
        .into_iter()
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
            // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses.
            let Some(after) = stat.rfind(')').map(|end| &stat[end + 1..]) else { return false };
            let fields: Vec<&str> = after.split_whitespace().collect();
            fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.as_raw().to_string()
        })
        .collect()
}

/// The live processes whose command line contains `path`.
pub fn processes_naming(path: &Path) -> Vec<Pid> {
    let needle = path.as_os_str().as_encoded_bytes();
    proc_pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.windows(needle.len()).any(|window| window == needle))
        })
        .filter(|pid| !matches!(kill(*pid, None), Err(Errno::ESRCH)))
        .collect()
}

fn proc_pids() -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok()).map(Pid::from_raw).collect()
}

/// Opens the websocket to `url` (ws://127.0.0.1:PORT/…) and returns two
/// ends of it on one TCP connection: one only reads (the reader thread),
/// one only writes (the callers, under a lock). Neither ever does the
/// other's job: Chromium sends no pings, so the reading end has no pong to
/// write.
fn connect(url: &str) -> Result<(WebSocket<TcpStream>, WebSocket<TcpStream>), String> {
    let address = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| format!("not a ws:// address: {url}"))?;
    let address: std::net::SocketAddr = address.parse().map_err(|err| format!("{address}: {err}"))?;
    let stream = TcpStream::connect_timeout(&address, DEADLINE).map_err(|err| format!("connect to {url}: {err}"))?;
    stream.set_nodelay(true).map_err(|err| format!("{url}: {err}"))?;
    // Bounds the handshake; the reader then blocks until the next message.
    stream.set_read_timeout(Some(DEADLINE)).map_err(|err| format!("{url}: {err}"))?;
    stream.set_write_timeout(Some(DEADLINE)).map_err(|err| format!("{url}: {err}"))?;
    let writer = stream.try_clone().map_err(|err| format!("{url}: {err}"))?;
    let (reader, _) = tungstenite::client::client(url, stream)
        .map_err(|err| format!("the websocket handshake with {url} failed: {err}"))?;
    reader.get_ref().set_read_timeout(None).map_err(|err| format!("{url}: {err}"))?;
    Ok((reader, WebSocket::from_raw_socket(writer, Role::Client, None)))
}

/// The connection to the browser: a writer under a lock, and what the
/// reader thread routes (answers to whoever waits for their `id`, events to
/// their session's [`Events`]).
#[derive(Default)]
struct Cdp {
    writer: Mutex<Option<WebSocket<TcpStream>>>,
    next_id: AtomicU64,
    state: Mutex<Routes>,
}

#[derive(Default)]
struct Routes {
    waiting: HashMap<u64, mpsc::Sender<Result<Value, String>>>,
    sessions: HashMap<String, Arc<Mutex<Events>>>,
    /// Why the connection ended, once it has: no answer will come.
    closed: Option<String>,
}

type Answer = mpsc::Receiver<Result<Value, String>>;

impl Cdp {
    /// Sends `method` (to the browser, or to a tab's session) and waits for
    /// its answer for at most `timeout`.
    fn call(&self, session: Option<&str>, method: &str, params: Value, timeout: Duration) -> Result<Value, String> {
        let (id, answer) = self.send(session, method, params)?;
        match answer.recv_timeout(timeout) {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(err)) => Err(format!("{method}: {err}")),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                lock(&self.state).waiting.remove(&id);
                Err(format!("{method}: no answer from Chromium within {} ms", timeout.as_millis()))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(format!("{method}: {}", self.closed_reason())),
        }
    }

    /// Sends a command and returns its id and where its answer will arrive.
    fn send(&self, session: Option<&str>, method: &str, params: Value) -> Result<(u64, Answer), String> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        let (sender, answer) = mpsc::channel();
        {
            // Checked and registered under one lock: the reader, ending,
            // drops every registered sender, so no caller waits in vain.
            let mut state = lock(&self.state);
            if let Some(reason) = &state.closed {
                return Err(format!("{method}: {reason}"));
            }
            state.waiting.insert(id, sender);
        }
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = session.into();
        }
        let sent = match lock(&self.writer).as_mut() {
            Some(writer) => writer.send(Message::text(message.to_string())).map_err(|err| err.to_string()),
            None => Err("the connection to Chromium is closed".to_owned()),
        };
        if let Err(err) = sent {
            lock(&self.state).waiting.remove(&id);
            return Err(format!("{method}: could not send it to Chromium: {err}"));
        }
        Ok((id, answer))
    }

    fn closed_reason(&self) -> String {
        lock(&self.state).closed.clone().unwrap_or_else(|| "the connection to Chromium is closed".to_owned())
    }

    /// Reads every message until the connection ends, then fails whoever
    /// still waits.
    fn read_all(&self, mut reader: WebSocket<TcpStream>) {
        let reason = loop {
            match reader.read() {
                Ok(Message::Text(text)) => self.route(text.as_str()),
                Ok(Message::Close(frame)) => break format!("Chromium closed the connection ({frame:?})"),
                Ok(_) => {}
                Err(err) => break format!("the connection to Chromium ended: {err}"),
            }
        };
        let mut state = lock(&self.state);
        state.closed.get_or_insert(reason);
        state.waiting.clear();
    }

    fn route(&self, text: &str) {
        let Ok(message) = serde_json::from_str::<Value>(text) else { return };
        if let Some(id) = message.get("id").and_then(Value::as_u64) {
            let Some(waiter) = lock(&self.state).waiting.remove(&id) else { return };
            let answer = match message.get("error") {
                Some(error) => Err(error.get("message").and_then(Value::as_str).map_or_else(
                    || error.to_string(),
                    |text| match error.get("data").and_then(Value::as_str) {
                        Some(data) => format!("{text} ({data})"),
                        None => text.to_owned(),
                    },
                )),
                None => Ok(message.get("result").cloned().unwrap_or(Value::Null)),
            };
            let _ = waiter.send(answer);
            return;
        }
        let method = message.get("method").and_then(Value::as_str).unwrap_or_default();
        let params = message.get("params").unwrap_or(&Value::Null);
        let session = match message.get("sessionId").and_then(Value::as_str) {
            Some(session) => session,
            // The browser's own events: only a tab going away matters.
            None if method == "Target.detachedFromTarget" => {
                let Some(session) = params.get("sessionId").and_then(Value::as_str) else { return };
                if let Some(events) = lock(&self.state).sessions.remove(session) {
                    lock(&events).detached = Some("the tab was detached (closed or crashed)".into());
                }
                return;
            }
            None => return,
        };
        let events = lock(&self.state).sessions.get(session).cloned();
        if let Some(events) = events {
            lock(&events).record(method, params);
        }
    }

    /// Closes the connection both ways: the reader thread sees its end.
    fn shut_down(&self) {
        // First, so that calls after this one say why.
        lock(&self.state).closed.get_or_insert_with(|| "the browser was closed".into());
        if let Some(writer) = lock(&self.writer).take() {
            let _ = writer.get_ref().shutdown(Shutdown::Both);
        }
    }
}

/// What a tab's events told so far.
#[derive(Default)]
struct Events {
    /// Load events of documents other than `about:blank`.
    loads: usize,
    /// Every main-frame load event: the loader (document) it was for.
    loaded: Vec<String>,
    /// The main frame's current document: its loader and URL.
    loader: String,
    url: String,
    console_errors: Vec<String>,
    failed_requests: Vec<String>,
    responses: Vec<(String, u16)>,
    /// Requests seen, by id: their URL, and whether a failure of theirs is
    /// already reported (a response of status ≥ 400 may be followed by its
    /// loading failing; one entry each).
    requests: HashMap<String, (String, bool)>,
    detached: Option<String>,
}

impl Events {
    fn record(&mut self, method: &str, params: &Value) {
        let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        match method {
            "Page.frameNavigated" => {
                let frame = &params["frame"];
                if frame.get("parentId").is_none() {
                    self.loader = text(frame, "loaderId");
                    self.url = text(frame, "url");
                }
            }
            "Page.loadEventFired" => {
                if self.url != "about:blank" {
                    self.loads += 1;
                }
                self.loaded.push(self.loader.clone());
            }
            "Runtime.exceptionThrown" => {
                let details = &params["exceptionDetails"];
                let description = details["exception"].get("description").and_then(Value::as_str);
                let message = match description {
                    Some(description) => format!("{} {description}", text(details, "text")),
                    None => text(details, "text"),
                };
                self.console_errors.push(with_location(message, details));
            }
            "Runtime.consoleAPICalled" if params["type"] == "error" => {
                let args: Vec<String> =
                    params["args"].as_array().map(|args| args.iter().map(remote_text).collect()).unwrap_or_default();
                let frame = params["stackTrace"]["callFrames"].get(0).cloned().unwrap_or_default();
                self.console_errors.push(with_location(format!("console.error: {}", args.join(" ")), &frame));
            }
            "Log.entryAdded" if params["entry"]["level"] == "error" => {
                let entry = &params["entry"];
                self.console_errors.push(with_location(text(entry, "text"), entry));
            }
            "Network.requestWillBeSent" => {
                let url = text(&params["request"], "url");
                self.requests.insert(text(params, "requestId"), (url, false));
            }
            "Network.responseReceived" => {
                let response = &params["response"];
                let status = response["status"].as_u64().unwrap_or(0);
                let url = text(response, "url");
                self.responses.push((url.clone(), status as u16));
                if status >= 400 {
                    self.failed_requests.push(format!("{url}: HTTP {status} {}", text(response, "statusText")));
                    self.requests.insert(text(params, "requestId"), (url, true));
                }
            }
            // A request cancelled (the page went away, a script changed its
            // mind) did not fail.
            "Network.loadingFailed" if params["canceled"] != true => {
                let id = text(params, "requestId");
                let (url, reported) =
                    self.requests.get(&id).cloned().unwrap_or_else(|| (format!("request {id}"), false));
                if !reported {
                    let mut reason = text(params, "errorText");
                    if let Some(blocked) = params.get("blockedReason").and_then(Value::as_str) {
                        reason = format!("{reason} (blocked: {blocked})");
                    }
                    self.failed_requests.push(format!("{url}: {reason}"));
                    self.requests.insert(id, (url, true));
                }
            }
            "Inspector.targetCrashed" => {
                self.console_errors.push("the page crashed".into());
                self.detached = Some("the page crashed".into());
            }
            "Inspector.detached" => {
                self.detached = Some(format!("the tab was detached: {}", text(params, "reason")));
            }
            _ => {}
        }
    }
}

/// `message (url:line:column)` when `at` (a call frame, an exception's
/// details, a log entry) names a place; lines and columns count from 1.
fn with_location(message: String, at: &Value) -> String {
    let url = at.get("url").and_then(Value::as_str).unwrap_or_default();
    if url.is_empty() {
        return message;
    }
    match (at.get("lineNumber").and_then(Value::as_u64), at.get("columnNumber").and_then(Value::as_u64)) {
        (Some(line), Some(column)) => format!("{message} ({url}:{}:{})", line + 1, column + 1),
        (Some(line), None) => format!("{message} ({url}:{})", line + 1),
        _ => format!("{message} ({url})"),
    }
}

/// A console argument as the console shows it: a string as it is, another
/// value as JSON, an object by its description.
fn remote_text(object: &Value) -> String {
    match object.get("value") {
        Some(Value::String(text)) => text.clone(),
        Some(value) => value.to_string(),
        None => ["unserializableValue", "description", "type"]
            .iter()
            .find_map(|key| object.get(*key).and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned(),
    }
}

/// A tab of a [`Browser`], with what its events said; closed (best effort)
/// when dropped. A tab outliving its browser fails every call.
pub struct Tab {
    cdp: Arc<Cdp>,
    target_id: String,
    session_id: String,
    events: Arc<Mutex<Events>>,
    closed: bool,
}

impl Tab {
    fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        self.call_within(method, params, DEADLINE)
    }

    fn call_within(&self, method: &str, params: Value, timeout: Duration) -> Result<Value, String> {
        if let Some(reason) = &lock(&self.events).detached {
            return Err(format!("{method}: {reason}"));
        }
        self.cdp.call(Some(&self.session_id), method, params, timeout)
    }

    /// Evaluates `js` in the page (`Runtime.evaluate`, a promise awaited)
    /// and returns its value as JSON: `undefined` is `null`, a value JSON
    /// cannot hold (`NaN`, `-0`, `Infinity`, a BigInt) is its text, a DOM
    /// node is `{}`. A thrown exception is an error with its description.
    pub fn eval(&self, js: &str) -> Result<Value, String> {
        self.evaluate(js, DEADLINE).map_err(|err| format!("{js}: {err}"))
    }

    /// [`Tab::eval`], its error without the expression.
    fn evaluate(&self, js: &str, timeout: Duration) -> Result<Value, String> {
        let params = json!({ "expression": js, "returnByValue": true, "awaitPromise": true });
        let answer = self.call_within("Runtime.evaluate", params, timeout)?;
        if let Some(details) = answer.get("exceptionDetails") {
            return Err(exception_text(details));
        }
        let result = &answer["result"];
        Ok(match (result.get("value"), result.get("unserializableValue")) {
            (Some(value), _) => value.clone(),
            (None, Some(text)) => text.clone(),
            (None, None) => Value::Null,
        })
    }

    /// Evaluates the expression `js_condition` every 10 ms until its value
    /// is truthy (as JavaScript sees it; a promise is awaited) and returns
    /// that value, or fails after `timeout` with the last value or error.
    /// An error (no page during a navigation, an exception) counts as not
    /// yet, but an expression that does not compile fails at once.
    pub fn wait_for(&self, js_condition: &str, timeout: Duration) -> Result<Value, String> {
        let wrapped =
            format!("(async () => {{ const value = await (\n{js_condition}\n); return [!!value, value]; }})()");
        let end = Instant::now() + timeout;
        // Compiled once, not run: a syntax error is not worth waiting on.
        // (Without a page to compile in, mid-navigation, the checks tell.)
        let params = json!({ "expression": wrapped, "sourceURL": "", "persistScript": false });
        if let Ok(compiled) = self.call("Runtime.compileScript", params)
            && let Some(details) = compiled.get("exceptionDetails")
        {
            return Err(format!("{js_condition}: {}", exception_text(details)));
        }
        let mut last = String::new();
        let found = poll::until_every(CONDITION_INTERVAL, timeout, || {
            // Each check may take as long as is left, but not less than a
            // round trip: the last check runs at or after the deadline.
            let left = end.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
            match self.evaluate(&wrapped, left) {
                Ok(Value::Array(pair)) if pair.first() == Some(&Value::Bool(true)) => {
                    return Some(pair.get(1).cloned().unwrap_or(Value::Null));
                }
                Ok(Value::Array(pair)) => last = format!("{}", pair.get(1).unwrap_or(&Value::Null)),
                Ok(other) => last = other.to_string(),
                Err(err) => last = format!("error: {err}"),
            }
            None
        });
        found
            .ok_or_else(|| format!("{js_condition} was not true within {} ms; last value: {last}", timeout.as_millis()))
    }

    /// Navigates to `url` and waits for the load event of the document it
    /// loads (not any other's); a navigation that fails (refused, DNS) is
    /// an error. A change of fragment only loads nothing, and returns at once.
    pub fn navigate(&self, url: &str) -> Result<(), String> {
        let answer = self.call("Page.navigate", json!({ "url": url }))?;
        if let Some(error) = answer.get("errorText").and_then(Value::as_str).filter(|text| !text.is_empty()) {
            return Err(format!("navigating to {url}: {error}"));
        }
        let Some(loader) = answer.get("loaderId").and_then(Value::as_str) else { return Ok(()) };
        self.wait_load(|events| events.loaded.iter().any(|loaded| loaded == loader), DEADLINE)
            .map_err(|err| format!("navigating to {url}: {err}"))
    }

    /// Reloads the page and waits for the load event of the new document.
    pub fn reload(&self) -> Result<(), String> {
        let (before, seen) = {
            let events = lock(&self.events);
            (events.loader.clone(), events.loaded.len())
        };
        self.call("Page.reload", json!({}))?;
        self.wait_load(|events| events.loaded[seen..].iter().any(|loaded| *loaded != before), DEADLINE)
            .map_err(|err| format!("reloading: {err}"))
    }

    /// How many load events of the main frame this tab has seen (the blank
    /// page a tab starts on not counted): 1 after [`Browser::open`], one
    /// more for each navigation or reload, the page's own included (a live
    /// reload), so a test can tell that a page was not reloaded.
    pub fn loads(&self) -> usize {
        lock(&self.events).loads
    }

    /// Waits until [`Tab::loads`] is at least `count`, for at most `timeout`.
    pub fn wait_for_load_count(&self, count: usize, timeout: Duration) -> Result<(), String> {
        self.wait_load(|events| events.loads >= count, timeout)
            .map_err(|err| format!("waiting for {count} loads (seen {}): {err}", self.loads()))
    }

    fn wait_load(&self, loaded: impl Fn(&Events) -> bool, timeout: Duration) -> Result<(), String> {
        let found = poll::until(timeout, || {
            let events = lock(&self.events);
            if loaded(&events) { Some(Ok(())) } else { events.detached.clone().map(Err) }
        });
        found.unwrap_or_else(|| Err(format!("no load event within {} ms", timeout.as_millis())))
    }

    /// The page's errors so far, in order: uncaught exceptions,
    /// `console.error` calls, and the browser's own error entries (a
    /// resource that failed to load, a blocked script…), each with where it
    /// happened when known.
    pub fn console_errors(&self) -> Vec<String> {
        lock(&self.events).console_errors.clone()
    }

    /// The requests that failed so far, in order, each as `URL: reason`:
    /// a response with status 400 or more (`HTTP 404 Not Found`), or a
    /// request that got no response (`net::ERR_CONNECTION_REFUSED`, or
    /// blocked, with why); one entry per request. A request cancelled
    /// (the page navigated away from it) is not a failure.
    ///
    /// The favicon: after a page's load event Chromium asks for its icon
    /// (`/favicon.ico` when the page names none). Headless too (Chromium
    /// 156 here), and it fetches it through the page, so the tab's
    /// `Network` domain sees the request: a missing favicon is here as
    /// `…/favicon.ico: HTTP 404 Not Found`, and in [`Tab::console_errors`]
    /// as Chromium's "Failed to load resource" entry. Chromium asks once per
    /// icon URL and browser: after it failed, a reload or another tab of
    /// the same [`Browser`] does not ask again, and a navigation started
    /// before the answer came may drop its events. A test of the favicon
    /// opens its page in a fresh browser and waits (with a deadline) for
    /// the entry, since it comes after the load.
    pub fn failed_requests(&self) -> Vec<String> {
        lock(&self.events).failed_requests.clone()
    }

    /// Every response so far, in the order their headers arrived: URL and
    /// status. A stream (server-sent events) is here once its headers are,
    /// while it stays open.
    pub fn responses(&self) -> Vec<(String, u16)> {
        lock(&self.events).responses.clone()
    }

    /// Emulates a viewport of `width` × `height` CSS pixels (scale 1, not mobile).
    pub fn set_viewport(&self, width: u32, height: u32) -> Result<(), String> {
        let params = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false });
        self.call("Emulation.setDeviceMetricsOverride", params).map(drop)
    }

    /// Delays every request the tab makes from now on by `latency` before
    /// it is sent (`Network.emulateNetworkConditions`), which keeps a
    /// resource loading that long: a swap of stylesheets stays in flight
    /// while a test does what would come meanwhile. Streams already open
    /// are not delayed.
    pub fn delay_requests(&self, latency: Duration) -> Result<(), String> {
        let latency = latency.as_millis();
        let params = json!({ "offline": false, "latency": latency, "downloadThroughput": -1, "uploadThroughput": -1 });
        self.call("Network.emulateNetworkConditions", params).map(drop)
    }

    /// The DevTools target id of this tab.
    pub fn target_id(&self) -> &str {
        &self.target_id
    }

    /// Closes the tab (`Target.closeTarget`).
    pub fn close(mut self) -> Result<(), String> {
        self.closed = true;
        self.close_target(DEADLINE)
    }

    fn close_target(&self, timeout: Duration) -> Result<(), String> {
        lock(&self.cdp.state).sessions.remove(&self.session_id);
        self.cdp.call(None, "Target.closeTarget", json!({ "targetId": self.target_id }), timeout).map(drop)
    }
}

impl Drop for Tab {
    fn drop(&mut self) {
        if !self.closed {
            // Best effort: fails at once when the browser is gone.
            let _ = self.close_target(Duration::from_secs(2));
        }
    }
}

/// What an exception says: its description (message and stack), else its
/// value, else the details' text.
fn exception_text(details: &Value) -> String {
    let exception = &details["exception"];
    exception
        .get("description")
        .and_then(Value::as_str)
        .or_else(|| exception.get("value").and_then(Value::as_str))
        .or_else(|| details.get("text").and_then(Value::as_str))
        .unwrap_or("an exception")
        .to_owned()
}

/// The string at `key` of a command's answer.
fn string_at(answer: &Value, key: &str) -> Result<String, String> {
    answer.get(key).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| format!("no {key} in {answer}"))
}

/// Locks `mutex`, even poisoned by a test's panic: the data stays usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_chromium_says_how_to_install_it() {
        let Err(err) = Browser::try_launch_program(Path::new("/nonexistent/chromium")) else {
            panic!("a browser from nothing")
        };
        assert!(err.contains("install Debian's chromium package (apt-get install chromium)"), "{err}");
    }

    #[test]
    fn events_count_loads_and_failures_once() {
        let mut events = Events::default();
        let navigated = |loader: &str, url: &str| json!({ "frame": { "id": "F", "loaderId": loader, "url": url } });
        events.record("Page.frameNavigated", &navigated("L0", "about:blank"));
        events.record("Page.loadEventFired", &json!({}));
        events.record("Page.frameNavigated", &navigated("L1", "http://127.0.0.1:1/"));
        events.record(
            "Page.frameNavigated",
            &json!({ "frame": { "id": "G", "parentId": "F", "loaderId": "L2", "url": "http://127.0.0.1:1/frame" } }),
        );
        events.record("Page.loadEventFired", &json!({}));
        assert_eq!((events.loads, events.loaded.clone()), (1, vec!["L0".to_owned(), "L1".to_owned()]));

        let request = |id: &str, url: &str| json!({ "requestId": id, "request": { "url": url } });
        events.record("Network.requestWillBeSent", &request("1", "http://127.0.0.1:1/a.png"));
        events.record(
            "Network.responseReceived",
            &json!({ "requestId": "1", "response": { "url": "http://127.0.0.1:1/a.png", "status": 404, "statusText": "Not Found" } }),
        );
        events.record("Network.loadingFailed", &json!({ "requestId": "1", "errorText": "net::ERR_FAILED" }));
        events.record("Network.requestWillBeSent", &request("2", "http://127.0.0.1:2/"));
        events
            .record("Network.loadingFailed", &json!({ "requestId": "2", "errorText": "net::ERR_CONNECTION_REFUSED" }));
        events.record("Network.requestWillBeSent", &request("3", "http://127.0.0.1:1/gone"));
        events.record(
            "Network.loadingFailed",
            &json!({ "requestId": "3", "errorText": "net::ERR_ABORTED", "canceled": true }),
        );
        assert_eq!(
            events.failed_requests,
            ["http://127.0.0.1:1/a.png: HTTP 404 Not Found", "http://127.0.0.1:2/: net::ERR_CONNECTION_REFUSED"]
        );
    }

    #[test]
    fn console_entries_name_their_place() {
        let mut events = Events::default();
        events.record(
            "Runtime.consoleAPICalled",
            &json!({ "type": "error", "args": [{ "type": "string", "value": "boom" }, { "type": "number", "value": 42 }, { "type": "object", "description": "HTMLDivElement" }],
                     "stackTrace": { "callFrames": [{ "url": "http://h/", "lineNumber": 0, "columnNumber": 8 }] } }),
        );
        events.record(
            "Runtime.consoleAPICalled",
            &json!({ "type": "log", "args": [{ "type": "string", "value": "fine" }] }),
        );
        events.record(
            "Log.entryAdded",
            &json!({ "entry": { "level": "error", "text": "Failed to load resource", "url": "http://h/x.png" } }),
        );
        events.record("Log.entryAdded", &json!({ "entry": { "level": "warning", "text": "meh" } }));
        assert_eq!(
            events.console_errors,
            ["console.error: boom 42 HTMLDivElement (http://h/:1:9)", "Failed to load resource (http://h/x.png)"]
        );
    }
}
