//! `bengal serve`: the site built into `.bengal/serve/`, served over HTTP
//! with live reload, rebuilt incrementally as files change.
//!
//! Every task here (one HTTP server per listener, the live-reload streams,
//! the watcher, a rebuild in flight) is registered with the lifecycle as it
//! starts, with the token or handle that ends it; releasing them is the
//! lifecycle's job: the listening sockets first, then the rest together.
//!
//! - `ports`: binding each port once; `watch`: changed paths in debounced
//!   batches; `rebuild`: a batch into the smallest rebuild; `http` and
//!   `connections`: the site over HTTP/1.1; `livereload`: the event stream.
//!
//! The top of the crate: may import `build`, `lifecycle`, `servers`.

mod connections;
mod http;
mod livereload;
mod ports;
mod rebuild;
mod resume;
mod watch;

pub use ports::Host;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::build::output::WriteReport;
use crate::build::rush::Rush;
use crate::build::site::Site;
use crate::build::{BuildOptions, ConfigNotes};
use crate::error::{Error, Result};
use crate::lifecycle::{Lifecycle, Shutdown, Trigger, failpoint, failpoint_set};
use crate::paths::{self, PID_FILE, SERVE_DIR};
use crate::serve::watch::Watcher;
use crate::servers::{PidFile, Process, ServerInfo, ServerLock};
use http::AppState;
use livereload::Message;
use ports::Skipped;
use rebuild::Rebuilder;
use resume::Record;

/// How long the rebuild loop waits for a pause before it records what the
/// last rebuild was built from: that hashes every input's path, a cost for
/// a pause rather than for each save.
const RECORD_WHEN_QUIET: Duration = Duration::from_millis(500);

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
    /// The last server's output is served at once, the first build behind
    /// it; `changed`: some of the site's files changed since it was made
    /// (the pages asked for are then rendered first).
    Resumed {
        /// Files changed since the output was made.
        changed: bool,
        /// What to tell about the configuration, when it reads.
        config: Option<ConfigNotes>,
    },
    /// The first build finished.
    Built {
        /// How long it took.
        elapsed: Duration,
        /// What to tell about the configuration.
        config: ConfigNotes,
    },
    /// A rebuild started, after this many changed paths.
    Rebuilding {
        /// Changed paths in the batch.
        changes: usize,
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

/// Everything a server needs besides its options: where to register what it
/// acquires, where to report a fatal failure, and when to stop.
pub struct Context {
    /// Releases what the server acquires, in reverse order.
    pub lifecycle: Arc<Lifecycle>,
    /// Reports fatal failures of tasks.
    pub trigger: Trigger,
    /// Cancelled when the server is to stop.
    pub stop: CancellationToken,
    /// Receives what happens.
    pub events: Events,
}

/// Writes the pid file, acquires the listeners and the watcher (each
/// registered with the lifecycle as it is acquired), builds, serves and
/// rebuilds until `stop` is cancelled; `lock` makes this the site's one
/// server. Returning early with an error leaves the release of what was
/// acquired to the caller's [`Lifecycle::release_all`].
pub async fn run(options: ServeOptions, context: Context, lock: &ServerLock) -> Result<()> {
    let Context { lifecycle, trigger, stop, events } = context;
    let info = server_info(&options, &[], "")?;
    let pid_file = Arc::new(Mutex::new(PidFile::create(&options.root, lock, &info)?));
    let released = pid_file.clone();
    lifecycle.register_always(format!("removed {PID_FILE}"), move || {
        released.lock().map_err(|_| "lock poisoned".to_owned())?.release().map_err(|err| err.to_string())
    });
    failpoint("after_pidfile")?;

    let bound = ports::bind(&options.host, options.port, options.strict_port)?;
    for skipped in &bound.skipped {
        events(ServerEvent::PortSkipped(skipped.clone()));
    }
    let url = format!("http://{}:{}/", options.host.url_host(), bound.port);
    let info = server_info(&options, &[bound.port], &url)?;
    pid_file.lock().map_err(|_| Error::new("pid file lock poisoned"))?.update(&info)?;
    failpoint("after_bind")?;

    let output = paths::private_dir(&options.root, SERVE_DIR)?;
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
    let streams = CancellationToken::new();
    let rush = Arc::new(if failpoint_set("hold_build_for_two_requests") { Rush::holding(2) } else { Rush::new() });
    let state = AppState::new(output.clone(), options.allowed_hosts.clone(), streams.clone(), rush.clone(), log);

    // Listeners serve from now on: a page asked for before the first build
    // is done is rendered first, anything else waits for it.
    let addrs = bound.addrs();
    for (listener, addr) in bound.listeners.into_iter().zip(&addrs) {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|err| Error::new(format!("could not use the listener on {addr}: {err}")))?;
        let (accept_loop, connections) = connections::serve(listener, http::router(state.clone()));
        lifecycle.register(format!("closed {addr}"), REQUEST_GRACE * 2, move || async move {
            connections.drain(REQUEST_GRACE).await;
            Ok(())
        });
        // Released before everything else: the port is free at once.
        lifecycle.register_first(format!("stopped accepting on {addr}"), move || accept_loop.stop());
    }
    lifecycle.register("closed live-reload streams", REQUEST_GRACE, move || async move {
        streams.cancel();
        Ok(())
    });

    // Watching starts before the first build, so that no save is missed
    // between the build and the banner.
    let watcher = Watcher::start(&options.root, &output)?;
    failpoint("after_watcher")?;
    // The output of the last server, when its record is this binary's, is
    // served at once and the first build runs behind it, rendering first
    // the pages asked for unless no file changed.
    // Walking the site and reading its configuration block, and a file can
    // keep them blocked (a hung mount): off this task, which a stop ends.
    let stuck = failpoint_set("stuck_startup");
    let (stamp, record, config) = run_blocking({
        let (build, root, output) = (build.clone(), options.root.clone(), output.clone());
        move || {
            if stuck {
                eprintln!("failpoint `stuck_startup`: reading the site never ends");
                loop {
                    std::thread::park();
                }
            }
            let stamp = resume::Stamp::take(&build);
            let record = stamp.as_ref().map_or(Record::Unusable, |stamp| stamp.recorded(&root, &output));
            let config = (record != Record::Unusable).then(|| Site::load_config(&build).ok()).flatten();
            (stamp, record, config)
        }
    })
    .await?;
    let mut rebuilder = Rebuilder::new(build).stamped(stamp);
    if record == Record::Current {
        rush.close();
    } else {
        rebuilder = rebuilder.rushing(rush);
    }
    let mut first_batch = None;
    if record != Record::Unusable {
        first_batch = Some(watch::Batch { paths: [options.root.clone()].into() });
        events(ServerEvent::Resumed { changed: record == Record::Stale, config: config.map(|c| ConfigNotes::of(&c)) });
    } else {
        let started = Instant::now();
        let (returned, first) = run_blocking(move || {
            let result = rebuilder.full();
            (rebuilder, result)
        })
        .await?;
        rebuilder = returned;
        match first {
            // A build that succeeded is the last good one, which has its notes.
            Ok(_) => {
                if let Some(config) = rebuilder.config_notes() {
                    events(ServerEvent::Built { elapsed: started.elapsed(), config });
                }
            }
            Err(err) => {
                state.set_first_build_error(Some(err.clone()));
                // Pages rendered first while it ran show it too.
                state.live().failed(Message::from_error(&err, &options.root));
                events(ServerEvent::BuildFailed(err));
            }
        }
    }
    state.set_ready();

    let (idle_sender, mut idle) = tokio::sync::watch::channel(true);
    let idle_sender = Arc::new(idle_sender);
    lifecycle.register("stopped rebuild worker", Duration::from_secs(2), move || async move {
        // Closed means every holder is gone, the rebuild in flight included.
        let _ = idle.wait_for(|idle| *idle).await;
        Ok(())
    });
    let watch_stop = CancellationToken::new();
    let loop_stop = watch_stop.clone();
    let loop_events = events.clone();
    let worker = tokio::spawn(async move {
        let result =
            watch_and_rebuild(watcher, rebuilder, first_batch, &state, &loop_stop, &idle_sender, &loop_events).await;
        if let Err(err) = result {
            trigger.fire(Shutdown::Fatal(err.to_string()));
        }
    });
    lifecycle.register("stopped watcher", Duration::from_secs(1), move || async move {
        watch_stop.cancel();
        worker.await.map_err(|err| err.to_string())
    });
    if failpoint_set("slow_stop") {
        // A step that never ends by itself: only a forced stop gets past it.
        lifecycle.register("finished slow step", Duration::from_secs(60), std::future::pending);
    }
    if failpoint_set("panic_in_task") {
        tokio::spawn(async { panic!("failpoint `panic_in_task` triggered") });
    }
    events(ServerEvent::Listening { url, addrs });
    lifecycle.set_serving();
    stop.cancelled().await;
    Ok(())
}

/// What the pid file says about this server.
fn server_info(options: &ServeOptions, ports: &[u16], url: &str) -> Result<ServerInfo> {
    Ok(ServerInfo {
        pid: std::process::id(),
        ports: ports.to_vec(),
        host: options.host.url_host(),
        url: url.to_owned(),
        start_time: Process::current().map(|p| p.start_time),
        exe: std::env::current_exe().map_err(|err| Error::new(format!("cannot find this executable: {err}")))?,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// Sets the rebuild worker idle when dropped.
struct IdleOnDrop(Arc<tokio::sync::watch::Sender<bool>>);

impl Drop for IdleOnDrop {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

/// Rebuilds after `first` (a build behind a resumed output), then after
/// each batch of changes until cancelled. Everything that arrives during a
/// rebuild is merged into one follow-up rebuild, at once.
async fn watch_and_rebuild(
    mut watcher: Watcher,
    mut rebuilder: Rebuilder,
    mut first: Option<watch::Batch>,
    state: &AppState,
    cancel: &CancellationToken,
    idle: &Arc<tokio::sync::watch::Sender<bool>>,
    events: &Events,
) -> Result<()> {
    watcher.watch_paths(&rebuilder.extra_inputs());
    loop {
        let next = match first.take() {
            Some(batch) => Some(batch),
            None if rebuilder.unrecorded() => tokio::select! {
                batch = watcher.next_batch(cancel) => batch,
                () = tokio::time::sleep(RECORD_WHEN_QUIET) => {
                    rebuilder = run_blocking(move || {
                        rebuilder.record();
                        rebuilder
                    })
                    .await?;
                    continue;
                }
            },
            None => watcher.next_batch(cancel).await,
        };
        let Some(mut batch) = next else { break };
        loop {
            let started = Instant::now();
            let job = batch.clone();
            events(ServerEvent::Rebuilding { changes: job.paths.len() });
            idle.send_replace(false);
            // Marks the worker idle when the rebuild ends, even one left
            // running by a cancelled loop.
            let done = IdleOnDrop(idle.clone());
            let slow = failpoint_set("slow_rebuild");
            let busy = run_blocking(move || {
                if slow {
                    // A rebuild that outlasts any stop's patience.
                    std::thread::sleep(Duration::from_secs(5));
                }
                let result = rebuilder.apply(&job);
                drop(done);
                (rebuilder, result)
            });
            let (returned, result) = tokio::select! {
                biased;
                () = cancel.cancelled() => return Ok(()),
                done = busy => done?,
            };
            rebuilder = returned;
            match result {
                Ok(report) => {
                    state.set_first_build_error(None);
                    state.live().built(&report);
                    let steps = std::mem::take(&mut rebuilder.timings);
                    events(ServerEvent::Rebuilt { report, elapsed: started.elapsed(), steps });
                }
                Err(err) => {
                    // Changes that came during the rebuild may be the rest of
                    // the save it read half of: they are built before an
                    // error is shown.
                    let pending = watcher.drain_pending();
                    if !pending.is_empty() {
                        batch = pending;
                        continue;
                    }
                    if !rebuilder.has_built() {
                        state.set_first_build_error(Some(err.clone()));
                    }
                    state.live().failed(Message::from_error(&err, rebuilder.root()));
                    events(ServerEvent::BuildFailed(err));
                }
            }
            watcher.watch_paths(&rebuilder.extra_inputs());
            batch = watcher.drain_pending();
            if batch.is_empty() {
                break;
            }
        }
    }
    // Stopping: the next server starts from what the last rebuild built.
    rebuilder.record();
    Ok(())
}

/// Runs CPU-bound work off the async threads.
async fn run_blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| Error::new(format!("reading or building the site failed unexpectedly: {err}")))
}
