//! `bengal serve`: the site built into `.bengal/serve/`, served over HTTP
//! with live reload, rebuilt incrementally as files change.
//!
//! Every task here (one HTTP server per listener, each live-reload stream,
//! the watcher, a rebuild in flight) ends when the one cancellation token it
//! is given is cancelled; none outlives [`run`].

pub mod http;
pub mod livereload;
pub mod rebuild;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::output::WriteReport;
use crate::ports::{self, Host, Skipped};
use crate::site::BuildOptions;
use crate::watch::Watcher;
use http::AppState;
use livereload::Message;
use rebuild::Rebuilder;

/// Where the dev server writes its build, relative to the site root. It is
/// not `public/`, whose links must keep the real `base_url`.
pub const SERVE_DIR: &str = ".bengal/serve";

/// How long requests in flight may run on after shutdown begins.
pub const REQUEST_GRACE: Duration = Duration::from_millis(500);

/// What `bengal serve` was asked for.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The site root.
    pub root: PathBuf,
    /// Include drafts.
    pub drafts: bool,
    /// Where to listen.
    pub host: Host,
    /// The port asked for (0: any free port).
    pub port: u16,
    /// Fail instead of trying the next ports when `port` is taken.
    pub strict_port: bool,
    /// Host names allowed besides localhost and IP addresses.
    pub allowed_hosts: Vec<String>,
}

/// What the dev server reports, for the binary to print.
#[derive(Debug)]
pub enum ServerEvent {
    /// A port was taken by another program.
    PortSkipped(Skipped),
    /// Listening: the URL and every bound address.
    Listening {
        /// The URL to open.
        url: String,
        /// Addresses bound.
        addrs: Vec<std::net::SocketAddr>,
    },
    /// The first build finished.
    Built {
        /// How long it took.
        elapsed: Duration,
    },
    /// A rebuild finished.
    Rebuilt {
        /// What was written.
        report: WriteReport,
        /// How long it took.
        elapsed: Duration,
        /// How long each step took.
        steps: Vec<(&'static str, Duration)>,
    },
    /// A build failed; the last good build is still served.
    BuildFailed(Error),
    /// A request, for `--verbose`.
    Request {
        /// Method.
        method: String,
        /// Path.
        path: String,
        /// Response status.
        status: u16,
    },
}

/// Receives [`ServerEvent`]s.
pub type Events = Arc<dyn Fn(ServerEvent) + Send + Sync>;

/// Binds, builds, serves and rebuilds until `cancel` is cancelled.
pub async fn run(options: ServeOptions, cancel: CancellationToken, events: Events) -> Result<()> {
    let bound = ports::bind(&options.host, options.port, options.strict_port)?;
    for skipped in &bound.skipped {
        events(ServerEvent::PortSkipped(skipped.clone()));
    }
    let url = format!("http://{}:{}/", options.host.url_host(), bound.port);
    let output = options.root.join(SERVE_DIR);
    std::fs::create_dir_all(&output).map_err(|err| Error::io(&output, "create the serve directory", err))?;
    let build = BuildOptions {
        root: options.root.clone(),
        drafts: options.drafts,
        output: Some(output.clone()),
        base_url: Some(url.clone()),
    };

    let log_events = events.clone();
    let log = Box::new(move |method: &str, path: &str, status: axum::http::StatusCode| {
        log_events(ServerEvent::Request { method: method.to_owned(), path: path.to_owned(), status: status.as_u16() });
    });
    let state = AppState::new(output.clone(), options.allowed_hosts.clone(), cancel.clone(), log);

    // Watching starts before the first build, so that no save is missed
    // between the build and the banner.
    let watcher = Watcher::start(&options.root, &output)?;
    let mut rebuilder = Rebuilder::new(build, output.clone());
    let started = Instant::now();
    let (returned, first) = run_blocking(move || {
        let result = rebuilder.full();
        (rebuilder, result)
    })
    .await?;
    rebuilder = returned;
    match first {
        Ok(_) => events(ServerEvent::Built { elapsed: started.elapsed() }),
        Err(err) => {
            state.set_first_build_error(Some(err.clone()));
            events(ServerEvent::BuildFailed(err));
        }
    }

    let addrs = bound.addrs();
    let mut servers = JoinSet::new();
    for listener in bound.listeners {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|err| Error::new(format!("could not use the listener: {err}")))?;
        let app = http::router(state.clone());
        let stop = cancel.clone();
        servers.spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await });
    }
    events(ServerEvent::Listening { url, addrs });

    let watched = watch_and_rebuild(watcher, rebuilder, &state, &cancel, &events).await;
    // However the loop ended, stop the servers: open connections get a short
    // grace, then are dropped.
    cancel.cancel();
    let drained = tokio::time::timeout(REQUEST_GRACE, async { while servers.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        servers.abort_all();
        while servers.join_next().await.is_some() {}
    }
    watched
}

/// Rebuilds after each batch of changes until cancelled. Changes that arrive
/// during a rebuild are merged into exactly one follow-up rebuild.
async fn watch_and_rebuild(
    mut watcher: Watcher,
    mut rebuilder: Rebuilder,
    state: &AppState,
    cancel: &CancellationToken,
    events: &Events,
) -> Result<()> {
    while let Some(mut batch) = watcher.next_batch(cancel).await {
        loop {
            let started = Instant::now();
            let job = batch.clone();
            let (returned, result) = tokio::select! {
                biased;
                () = cancel.cancelled() => return Ok(()),
                done = run_blocking(move || {
                    let result = rebuilder.apply(&job);
                    (rebuilder, result)
                }) => done?,
            };
            rebuilder = returned;
            match result {
                Ok(report) => {
                    state.set_first_build_error(None);
                    if !report.changed.is_empty() || !report.removed.is_empty() {
                        state.live().send(reload_message(&report));
                    }
                    let steps = std::mem::take(&mut rebuilder.timings);
                    events(ServerEvent::Rebuilt { report, elapsed: started.elapsed(), steps });
                }
                Err(err) => {
                    if !rebuilder.has_built() {
                        state.set_first_build_error(Some(err.clone()));
                    }
                    state.live().send(Message::from_error(&err));
                    events(ServerEvent::BuildFailed(err));
                }
            }
            batch = watcher.drain_pending();
            if batch.is_empty() {
                break;
            }
        }
    }
    Ok(())
}

/// Stylesheets alone are swapped in place; anything else reloads the page.
fn reload_message(report: &WriteReport) -> Message {
    let css_only = report.removed.is_empty() && report.changed.iter().all(|path| path.ends_with(".css"));
    if css_only { Message::Css } else { Message::Reload }
}

/// Runs CPU-bound work off the async threads.
async fn run_blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|err| Error::new(format!("a rebuild failed unexpectedly: {err}")))
}
