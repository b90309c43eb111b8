use std::sync::Arc;
use std::time::Duration;

use bengal::devserver::{self, ServeOptions, ServerEvent};
use bengal::ports::Host;
use bengal::{Error, Result};
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::ui::Ui;

/// The port Vite made familiar.
const DEFAULT_PORT: u16 = 5173;

/// How long blocking work (a rebuild in flight) may delay the exit.
const BLOCKING_GRACE: Duration = Duration::from_millis(500);

pub fn run(args: &ServeArgs, ui: &Ui) -> Result<()> {
    let host = Host::parse(&args.host)?;
    if !host.is_loopback() {
        ui.warning(&format!("listening on {}: anyone who can reach this machine can see the site", args.host));
    }
    let options = ServeOptions {
        root: args.root.clone(),
        drafts: args.drafts,
        host,
        port: args.port.unwrap_or(DEFAULT_PORT),
        strict_port: args.strict_port || args.port.is_some(),
        allowed_hosts: args.allowed_hosts.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| Error::new(format!("could not start the async runtime: {err}")))?;
    let cancel = CancellationToken::new();
    let events = printer(*ui, args.root.clone(), args.open);
    let result = runtime.block_on(async {
        let signals = tokio::spawn(stop_on_signal(cancel.clone()));
        let result = devserver::run(options, cancel.clone(), events).await;
        signals.abort();
        result
    });
    runtime.shutdown_timeout(BLOCKING_GRACE);
    if result.is_ok() {
        ui.success("Server stopped");
    }
    result
}

fn printer(ui: Ui, root: std::path::PathBuf, open: bool) -> devserver::Events {
    Arc::new(move |event| match event {
        ServerEvent::PortSkipped(skipped) => ui.info(&format!("{}, trying another one…", skipped.message())),
        ServerEvent::Listening { url, .. } => {
            ui.banner(&root, &url);
            if open {
                open_browser(&ui, &url);
            }
        }
        ServerEvent::Built { elapsed } => ui.success(&format!("Built in {} ms", elapsed.as_millis())),
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
    match std::process::Command::new(opener).arg(url).spawn() {
        // Reaped on a thread of its own so that it never lingers as a zombie.
        Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
        Err(err) => ui.warning(&format!("could not open a browser ({opener}: {err}); open {url} yourself")),
    }
}

/// Cancels on Ctrl+C, SIGTERM or SIGHUP.
async fn stop_on_signal(cancel: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    cancel.cancel();
}
