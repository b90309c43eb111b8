//! Live reload over server-sent events on the same port as the site.
//!
//! Every page carries the build it shows (`data-build` on the injected
//! script) and opens one stream with it; each event after that carries the
//! new build as its SSE `id`, which the browser sends back as
//! `Last-Event-ID` when it reconnects. So a page that connects late (a save
//! landed while it loaded) or after a lost connection is told at once what
//! changed since its build; a page of an earlier server process reloads.
//!
//! A stream ends as soon as the server is cancelled, so an open tab can
//! never hold shutdown up.

use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::sync::{broadcast, watch};
use tokio_stream::wrappers::BroadcastStream;
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::build::output::WriteReport;

/// Where the live-reload stream is served.
pub const EVENTS_PATH: &str = "/__bengal/livereload";
/// Where the live-reload script is served.
pub const SCRIPT_PATH: &str = "/__bengal/livereload.js";
/// The script injected into every HTML response.
pub const SCRIPT: &str = include_str!("livereload.js");

/// How soon a page reconnects after losing the server: a restarted server
/// has its pages back within this of accepting connections.
const RETRY: Duration = Duration::from_millis(100);

/// How many builds' changes are kept to tell a late page what it missed;
/// a page further behind reloads.
const HISTORY: usize = 64;

/// At most this many changed paths are sent in one update; a larger change
/// reloads every page instead.
const MAX_CHANGED: usize = 5_000;

/// At most this many errors of one build are sent to pages.
const MAX_ERRORS: usize = 20;

/// Lines of source shown on each side of an error's line.
const EXCERPT_CONTEXT: usize = 2;

/// Files larger than this get no source excerpt.
const MAX_EXCERPT_FILE: u64 = 4 * 1024 * 1024;

/// What an open page is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
pub enum Message {
    /// A build wrote these output files (paths relative to the output):
    /// a page among them fetches itself and patches its body, a changed
    /// stylesheet is swapped in place.
    Update {
        /// Files written because their bytes changed.
        changed: Vec<String>,
        /// Files removed.
        removed: Vec<String>,
    },
    /// The page cannot know what changed since its build (a page of an
    /// earlier server, or one too far behind): reload it.
    Reload,
    /// The last build failed: show its errors over the page.
    BuildError {
        /// Every error of the build, in path order (at most [`MAX_ERRORS`]).
        errors: Vec<ErrorView>,
    },
}

/// One build error as the overlay shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorView {
    /// File at fault, relative to the site root.
    pub file: Option<String>,
    /// Line, when known.
    pub line: Option<usize>,
    /// Column, when known.
    pub column: Option<u32>,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
    /// The first line number of `excerpt`.
    pub excerpt_start: usize,
    /// A few lines of the file around `line`.
    pub excerpt: Vec<String>,
}

impl Message {
    /// The message for a failed build, with source excerpts read from the
    /// site at `root`.
    pub fn from_error(err: &crate::Error, root: &Path) -> Message {
        let errors = std::iter::once(err).chain(&err.more).take(MAX_ERRORS).map(|e| ErrorView::new(e, root)).collect();
        Message::BuildError { errors }
    }

    fn name(&self) -> &'static str {
        match self {
            Message::Update { .. } => "update",
            Message::Reload => "reload",
            Message::BuildError { .. } => "build-error",
        }
    }

    fn event(&self, id: &str) -> Event {
        let mut data = serde_json::to_value(self).unwrap_or_default();
        if let Some(fields) = data.as_object_mut() {
            fields.remove("event");
        }
        Event::default().id(id).event(self.name()).data(data.to_string())
    }
}

impl ErrorView {
    fn new(err: &crate::Error, root: &Path) -> ErrorView {
        let (excerpt_start, excerpt) = match (&err.file, err.line) {
            (Some(file), Some(line)) => excerpt(&root.join(file), line),
            _ => (0, Vec::new()),
        };
        ErrorView {
            file: err.file.as_ref().map(|f| f.display().to_string()),
            line: err.line,
            column: err.column,
            message: err.message.clone(),
            hint: err.hint.clone(),
            excerpt_start,
            excerpt,
        }
    }
}

/// Lines `line - 2 ..= line + 2` of `file` (each cut at 240 characters),
/// and the number of the first; nothing when the file cannot be read or is
/// too large to be a source file.
fn excerpt(file: &Path, line: usize) -> (usize, Vec<String>) {
    let small = std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.len() <= MAX_EXCERPT_FILE);
    let Some(text) = small.then(|| std::fs::read(file).ok()).flatten() else { return (0, Vec::new()) };
    let text = String::from_utf8_lossy(&text);
    let first = line.saturating_sub(EXCERPT_CONTEXT).max(1);
    let lines =
        text.lines().skip(first - 1).take(line + EXCERPT_CONTEXT + 1 - first).map(|l| l.chars().take(240).collect());
    (first, lines.collect())
}

/// Which server process and build a page shows: `"<instance>.<build>"`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BuildId {
    instance: String,
    build: u64,
}

impl BuildId {
    fn parse(text: &str) -> Option<BuildId> {
        let (instance, build) = text.rsplit_once('.')?;
        Some(BuildId { instance: instance.to_owned(), build: build.parse().ok()? })
    }
}

/// The builds since the server started: the newest number, and what the
/// last [`HISTORY`] of them changed.
#[derive(Default)]
struct Builds {
    newest: u64,
    changes: VecDeque<(u64, Vec<String>, Vec<String>)>,
}

impl Builds {
    /// What builds after `since` changed, as one update; None when they
    /// are no longer all known, or too many.
    fn since(&self, since: u64) -> Option<Message> {
        if since == self.newest {
            return None;
        }
        let oldest_known = self.changes.front().map_or(self.newest + 1, |(build, _, _)| *build);
        if since > self.newest || since + 1 < oldest_known {
            return Some(Message::Reload);
        }
        let (mut changed, mut removed) = (BTreeSet::new(), BTreeSet::new());
        for (_, c, r) in self.changes.iter().filter(|(build, _, _)| *build > since) {
            changed.extend(c.iter().cloned());
            removed.extend(r.iter().cloned());
        }
        if changed.len() + removed.len() > MAX_CHANGED {
            return Some(Message::Reload);
        }
        Some(Message::Update { changed: changed.into_iter().collect(), removed: removed.into_iter().collect() })
    }
}

/// The sending side, shared by the rebuild loop and every stream.
pub struct LiveReload {
    /// Tells this server process from a restarted one.
    instance: String,
    builds: Mutex<Builds>,
    sender: broadcast::Sender<(String, Message)>,
    /// The standing build error, shown to pages that connect while it lasts.
    error: watch::Sender<Option<Message>>,
}

impl Default for LiveReload {
    fn default() -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        LiveReload {
            instance: format!("{:x}{:x}", std::process::id(), nanos % (1 << 40)),
            builds: Mutex::new(Builds::default()),
            sender: broadcast::channel(64).0,
            error: watch::channel(None).0,
        }
    }
}

impl LiveReload {
    /// The build pages served now show, for the injected script: read
    /// before the page's file, so that a page is never older than it says.
    pub fn current(&self) -> String {
        self.id(self.lock().newest)
    }

    /// Tells every open page what a good build wrote (and that any error
    /// is gone); returns how many streams were listening.
    pub fn built(&self, report: &WriteReport) -> usize {
        let build = {
            let mut builds = self.lock();
            if !report.changed.is_empty() || !report.removed.is_empty() {
                builds.newest += 1;
                let build = builds.newest;
                builds.changes.push_back((build, report.changed.clone(), report.removed.clone()));
                if builds.changes.len() > HISTORY {
                    builds.changes.pop_front();
                }
            }
            builds.newest
        };
        self.error.send_replace(None);
        let update = Message::Update { changed: report.changed.clone(), removed: report.removed.clone() };
        self.sender.send((self.id(build), update)).unwrap_or(0)
    }

    /// Shows a failed build on every open page, and on pages that open
    /// while it lasts.
    pub fn failed(&self, message: Message) -> usize {
        self.error.send_replace(Some(message.clone()));
        self.sender.send((self.current(), message)).unwrap_or(0)
    }

    /// A page's stream: a greeting, what changed since `since` (the page's
    /// build, or the last event it saw), the standing error if any, then
    /// every message, until `stop` resolves.
    pub fn stream(
        &self,
        since: Option<&str>,
        stop: WaitForCancellationFutureOwned,
    ) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
        let receiver = self.sender.subscribe();
        // One look at the builds: the catch-up and its id agree.
        let (current, catch_up) = {
            let builds = self.lock();
            let catch_up = match since.map(BuildId::parse) {
                Some(Some(id)) if id.instance == self.instance => builds.since(id.build),
                Some(_) => Some(Message::Reload),
                None => None,
            };
            (self.id(builds.newest), catch_up)
        };
        let standing = self.error.borrow().clone();
        let hello = Event::default().retry(RETRY).comment("bengal");
        let first = std::iter::once(hello)
            .chain(catch_up.iter().chain(standing.iter()).map(|message| message.event(&current)))
            .collect::<Vec<_>>();
        let updates = BroadcastStream::new(receiver)
            .filter_map(|message| async move { message.ok().map(|(id, message)| message.event(&id)) });
        let stream = futures_util::stream::iter(first).chain(updates).map(Ok).take_until(stop);
        Sse::new(stream).keep_alive(KeepAlive::default())
    }

    fn id(&self, build: u64) -> String {
        format!("{}.{build}", self.instance)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Builds> {
        self.builds.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `GET /__bengal/livereload.js`.
pub async fn script() -> impl axum::response::IntoResponse {
    ([("content-type", "text/javascript; charset=utf-8"), ("cache-control", "no-store")], SCRIPT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(changed: &[&str]) -> WriteReport {
        WriteReport { changed: changed.iter().map(|s| s.to_string()).collect(), ..WriteReport::default() }
    }

    #[test]
    fn a_late_page_is_told_what_changed_since_its_build() {
        let live = LiveReload::default();
        let first = live.current();
        live.built(&report(&["a/index.html"]));
        live.built(&report(&[]));
        live.built(&report(&["b/index.html", "a/index.html"]));
        let BuildId { build, .. } = BuildId::parse(&first).unwrap();
        let update = live.lock().since(build);
        let Some(Message::Update { changed, .. }) = update else { panic!("{update:?}") };
        assert_eq!(changed, ["a/index.html", "b/index.html"]);
        let newest = BuildId::parse(&live.current()).unwrap().build;
        assert_eq!(live.lock().since(newest), None, "up to date");
    }

    #[test]
    fn a_page_of_another_server_or_too_far_behind_reloads() {
        let live = LiveReload::default();
        for n in 0..HISTORY + 2 {
            live.built(&report(&[&format!("{n}.html")]));
        }
        // Builds 3 to 66 are remembered: a page of build 2 needs no more.
        assert_eq!(live.lock().since(1), Some(Message::Reload));
        assert!(matches!(live.lock().since(2), Some(Message::Update { .. })));
        assert_eq!(live.lock().since(67), Some(Message::Reload), "from the future: another server");
        assert_ne!(LiveReload::default().instance, live.instance);
    }

    #[test]
    fn an_excerpt_is_the_lines_around_the_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.md"), "1\n2\n3\n4\n5\n6\n").unwrap();
        assert_eq!(excerpt(&dir.path().join("a.md"), 2), (1, vec!["1".into(), "2".into(), "3".into(), "4".into()]));
        assert_eq!(excerpt(&dir.path().join("a.md"), 6).0, 4);
        assert_eq!(excerpt(&dir.path().join("missing.md"), 1), (0, Vec::new()));
    }
}
