//! `bengal serve`: the lifecycle around the dev server. Every way the server
//! can end comes through here as one [`Shutdown`] reason, releases every
//! resource in reverse order with a fixed log, and ends the process the way
//! the reason says.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bengal::lifecycle::{self, Exit, Lifecycle, Shutdown, SignalKind};
use bengal::paths::{LOCK_FILE, PID_FILE};
use bengal::serve::{self as devserver, Context, Host, ServeOptions, ServerEvent};
use bengal::servers::{self, Found, LockHolder, PortUser, Process, ServerInfo, ServerLock};
use bengal::{Error, Result};
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::ui::Ui;

/// The port Vite made familiar.
const DEFAULT_PORT: u16 = 5173;

/// How long blocking work (a rebuild in flight) may delay the exit.
const BLOCKING_GRACE: Duration = Duration::from_millis(100);

/// How the serve command ended, before the process exits.
enum Ended {
    /// A trigger stopped a running server.
    Stopped(Shutdown),
    /// Startup failed.
    Failed(Error),
}

pub fn run(args: &ServeArgs, ui: &Ui) -> Result<Exit> {
    let host = Host::parse(&args.host)?;
    if !host.is_loopback() {
        ui.warning(&format!("listening on {}: anyone who can reach this machine can see the site", args.host));
    }
    // Changed paths arrive absolute and resolved; so must the root they are
    // compared with.
    let root = std::fs::canonicalize(&args.root).map_err(|err| {
        Error::new(format!("cannot serve {}: {err}", args.root.display()))
            .with_hint("pass --root with the directory that holds bengal.toml")
    })?;
    let port = args.port.unwrap_or(DEFAULT_PORT);
    let lock = take_over(&root, port, args.replace, ui)?;
    let options = ServeOptions {
        root,
        drafts: args.drafts,
        host,
        port,
        strict_port: args.strict_port || args.port.is_some(),
        allowed_hosts: args.allowed_hosts.clone(),
    };
    // Detached on purpose (nohup, or already a child of init): neither the
    // terminal's SIGHUP nor the parent is watched.
    let nohup = lifecycle::hangup_ignored_at_start();
    let parent = lifecycle::parent_pid();
    let watch_parent = !args.no_parent_watch && !nohup && parent > 1;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| Error::new(format!("could not start the async runtime: {err}")))?;
    let lifecycle = Arc::new(Lifecycle::default());
    let (trigger, mut reasons) = lifecycle::channel();
    lifecycle::install_panic_hook(trigger.clone());
    let ended = runtime.block_on(async {
        // Handlers are in place before anything is acquired, so no signal
        // can take the default action and skip the cleanup.
        let signals = lifecycle::Signals::new(!nohup)
            .map_err(|err| Error::new(format!("could not install signal handlers: {err}")))?;
        let second = *ui;
        tokio::spawn(lifecycle::listen(signals.into_stream(), lifecycle.clone(), trigger.clone(), move || {
            second.info_line("Forcing shutdown");
        }));
        if watch_parent {
            let trigger = trigger.clone();
            tokio::spawn(async move {
                lifecycle::parent_died(parent).await;
                trigger.fire(Shutdown::ParentDied);
            });
        }
        let stop = CancellationToken::new();
        let context = Context { lifecycle: lifecycle.clone(), trigger, stop: stop.clone(), events: printer(*ui, args) };
        let server = devserver::run(options, context, &lock);
        // Whatever comes first: a startup failure, or a reason to stop. The
        // server's future is dropped either way; what it acquired is released
        // below, what it had not registered yet closes with it.
        let ended = tokio::select! {
            result = server => match result {
                Err(err) => Ended::Failed(err),
                Ok(()) => Ended::Stopped(Shutdown::Fatal("the server stopped by itself".into())),
            },
            Some(reason) = reasons.recv() => Ended::Stopped(reason),
        };
        match &ended {
            Ended::Stopped(reason) => {
                ui.info_line(&reason.to_string());
                if matches!(reason, Shutdown::Signal(SignalKind::Interrupt)) {
                    ui.info_line("Press Ctrl+C again to stop at once");
                }
            }
            Ended::Failed(err) => ui.error(err),
        }
        stop.cancel();
        lifecycle.release_all(&|outcome| ui.info_line(&outcome.to_string())).await;
        Ok::<_, Error>(ended)
    })?;
    runtime.shutdown_timeout(BLOCKING_GRACE);
    match ended {
        Ended::Stopped(reason) => {
            ui.info_line("Server stopped");
            Ok(reason.exit())
        }
        // Already printed and released: exit 1 without a second message.
        Ended::Failed(_) => Ok(Exit::Code(1)),
    }
}

/// Before starting: takes the site's lock, which makes this the one server
/// of the site. A live server holding it is offered to be stopped (on a
/// terminal, or with `--replace`); then a stale pid file is removed, and a
/// Bengal server of another site holding the port is offered to be stopped.
fn take_over(root: &Path, port: u16, replace: bool, ui: &Ui) -> Result<ServerLock> {
    let lock = match ServerLock::try_acquire(root)? {
        Some(lock) => lock,
        None => {
            match servers::inspect(root)? {
                Found::Live(info) => replace_live_server(&info, replace, ui)?,
                Found::Held(holder) => return Err(held_by(&holder)),
                // It stopped meanwhile.
                Found::Nothing | Found::Stale(_) => {}
            }
            ServerLock::try_acquire(root)?.ok_or_else(|| held_by(&LockHolder::Unknown(None)))?
        }
    };
    if let Found::Stale(info) = servers::take_stale(root, &lock)? {
        // "Gone" only when it is: the pid may have been reused since.
        let gone = info.filter(|i| Process::read(i.pid).is_none()).map(|i| format!(" (pid {} is gone)", i.pid));
        ui.info_line(&format!("Removed stale {PID_FILE}{}", gone.unwrap_or_default()));
    }
    let other = servers::port_users(port).into_iter().find_map(|user| match user {
        PortUser::OurServer(process) => Some(process),
        PortUser::Foreign(_) => None,
    });
    if let Some(process) = other {
        let site = process.site().map(|r| r.display().to_string()).unwrap_or_else(|| "another site".into());
        ui.info_line(&format!("Port {port} is held by a Bengal server of {site} (pid {})", process.pid));
        if replace || ui.ask("Stop it and take over? [Y/n] ") {
            stop_server(process, ui)?;
        }
    }
    Ok(lock)
}

/// Offers to stop the live server of this site; an error when declined.
fn replace_live_server(info: &ServerInfo, replace: bool, ui: &Ui) -> Result<()> {
    ui.info_line(&format!("A Bengal server (pid {}) is already serving this site at {}", info.pid, info.url));
    if !(replace || ui.ask("Stop it and take over? [Y/n] ")) {
        return Err(Error::new("this site is already being served").with_hint(format!(
            "open {}, stop it with `bengal cleanup`, or start with --replace to take over",
            info.url
        )));
    }
    let Some(process) = Process::identified(info.pid, info.start_time) else {
        return Err(Error::new(format!("cannot tell which process serves this site (pid {})", info.pid))
            .with_hint("wait a moment and try again, or run `bengal cleanup`"));
    };
    stop_server(process, ui)
}

/// The lock is held by something other than a server that says who it is.
fn held_by(holder: &LockHolder) -> Error {
    match holder {
        LockHolder::BengalServer(process) => {
            Error::new(format!("another Bengal server (pid {}) is starting for this site", process.pid))
                .with_hint("open its URL once it is ready, or stop it with `bengal cleanup`")
        }
        LockHolder::Other(_) => Error::new(format!(
            "the site's lock {LOCK_FILE} is held by {}, which is not a Bengal server",
            holder.describe()
        ))
        .with_hint("stop that process, or serve the site from another copy"),
        LockHolder::Unknown(_) => Error::new(format!("the site's lock {LOCK_FILE} is held by {}", holder.describe()))
            .with_hint("run `bengal cleanup` to see what holds it"),
    }
}

fn stop_server(process: Process, ui: &Ui) -> Result<()> {
    match servers::stop(&process) {
        Ok(servers::Stopped::Gracefully | servers::Stopped::AlreadyGone) => {
            ui.info_line(&format!("Stopped pid {}", process.pid));
            Ok(())
        }
        Ok(servers::Stopped::Killed) => {
            ui.info_line(&format!(
                "Killed pid {} (it did not stop within {} s)",
                process.pid,
                servers::STOP_GRACE.as_secs()
            ));
            Ok(())
        }
        Err(refused) => Err(Error::new(format!("did not stop pid {}: {refused}", process.pid))
            .with_hint("stop it yourself, or choose another --port")),
    }
}

fn printer(ui: Ui, args: &ServeArgs) -> devserver::Events {
    let root = args.root.clone();
    let open = args.open;
    Arc::new(move |event| match event {
        ServerEvent::PortSkipped(skipped) => ui.info(&format!("{}, trying another one…", skipped.message())),
        ServerEvent::Listening { url, .. } => {
            ui.banner(&root, &url);
            if open {
                open_browser(&ui, &url);
            }
        }
        ServerEvent::Resumed { changed, config } => {
            if let Some(config) = config {
                ui.config_notes(&config);
            }
            ui.success(if changed {
                "Serving the last build at once while what changed since is built; a page you open is built first"
            } else {
                "Serving the last build at once: no file has changed since it was made"
            })
        }
        ServerEvent::Built { elapsed, config } => {
            ui.config_notes(&config);
            ui.success(&format!("Built in {} ms", elapsed.as_millis()))
        }
        ServerEvent::Rebuilding { changes } => {
            ui.verbose(&format!("rebuilding after {changes} change{}", if changes == 1 { "" } else { "s" }))
        }
        ServerEvent::Rebuilt { report, elapsed, steps } if !report.changed.is_empty() || !report.removed.is_empty() => {
            let files = report.changed.len() + report.removed.len();
            ui.success(&format!(
                "Rebuilt in {} ms ({files} file{} changed)",
                elapsed.as_millis(),
                if files == 1 { "" } else { "s" }
            ));
            for (step, took) in steps {
                ui.verbose(&format!("{:>6.1} ms  {step}", took.as_secs_f64() * 1000.0));
            }
        }
        ServerEvent::Rebuilt { .. } => {}
        ServerEvent::BuildFailed(err) => {
            ui.error(&err);
            ui.info("the last good build is still served; fix the file and save");
        }
        ServerEvent::Request { method, path, status } => ui.verbose(&format!("{method} {path} {status}")),
    })
}

/// Opens `url` in the default browser; a failure is only a warning.
fn open_browser(ui: &Ui, url: &str) {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let quiet = || std::process::Stdio::null();
    // Detached from our output: a browser it starts must not hold our pipes open.
    match std::process::Command::new(opener).arg(url).stdin(quiet()).stdout(quiet()).stderr(quiet()).spawn() {
        // Reaped on a thread of its own so that it never lingers as a zombie.
        Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
        Err(err) => ui.warning(&format!("could not open a browser ({opener}: {err}); open {url} yourself")),
    }
}
