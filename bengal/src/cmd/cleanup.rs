//! `bengal cleanup`: shows what was found, asks before stopping each server
//! (`--force` for scripts), and exits 0 only when nothing is left running.

use bengal::paths::LOCK_FILE;
use bengal::servers::{self, Candidate, Scope, Stopped};
use bengal::{Error, Result};

use crate::cli::CleanupArgs;
use crate::ui::Ui;

pub fn run(args: &CleanupArgs, ui: &Ui) -> Result<()> {
    let scope = Scope { root: args.root.clone(), port: args.port, all: args.all };
    let findings = servers::find(&scope)?;
    let mut left_running = 0;

    if let Some(path) = &findings.stale_pid_file {
        let shown = ui.display_path(path);
        let shown = shown.trim_end_matches('/');
        if args.dry_run {
            ui.info_line(&format!("Would remove stale {shown}"));
        } else if servers::remove_stale(&args.root)? {
            ui.info_line(&format!("✓ removed stale {shown}"));
        }
    }
    for holder in &findings.foreign {
        ui.info_line(&format!(
            "Port {} is held by {}, which is not a Bengal server: left alone",
            args.port.unwrap_or_default(),
            holder.describe()
        ));
        left_running += 1;
    }
    if let Some(holder) = &findings.foreign_lock {
        ui.info_line(&format!(
            "The site's lock {LOCK_FILE} is held by {holder}, which is not a Bengal server of yours: left alone"
        ));
        left_running += 1;
    }
    if findings.servers.is_empty() {
        if findings.stale_pid_file.is_none() && findings.foreign.is_empty() && findings.foreign_lock.is_none() {
            ui.info_line("Nothing to clean up: no Bengal server is running here");
        }
    } else {
        print_table(ui, &findings.servers);
    }
    for candidate in &findings.servers {
        let pid = candidate.process.pid;
        if args.dry_run {
            ui.info_line(&format!("Would stop pid {pid}"));
            left_running += 1;
            continue;
        }
        if !args.force && !ui.ask(&format!("Stop pid {pid}? [Y/n] ")) {
            ui.info_line(&format!("Left pid {pid} running"));
            left_running += 1;
            continue;
        }
        match servers::stop(&candidate.process) {
            Ok(Stopped::Gracefully | Stopped::AlreadyGone) => ui.info_line(&format!("✓ stopped pid {pid}")),
            Ok(Stopped::Killed) => ui
                .info_line(&format!("✓ killed pid {pid} (it did not stop within {} s)", servers::STOP_GRACE.as_secs())),
            Err(refused) => {
                ui.info_line(&format!("✗ did not stop pid {pid}: {refused}"));
                left_running += 1;
            }
        }
    }
    if left_running == 0 {
        return Ok(());
    }
    let hint = if args.force || args.dry_run { "see above" } else { "run again with --force to stop without asking" };
    Err(Error::new(format!("{left_running} process{} left running", if left_running == 1 { "" } else { "es" }))
        .with_hint(hint))
}

fn print_table(ui: &Ui, servers: &[Candidate]) {
    let count = servers.len();
    ui.info_line(&format!("Found {count} Bengal server{}:", if count == 1 { "" } else { "s" }));
    ui.info_line(&format!("  {:>7}  {:>7}  {:<11}  {:>6}  SITE", "PID", "PPID", "PORT", "AGE"));
    for candidate in servers {
        let ports = candidate.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        let age = candidate.age().map(short_duration).unwrap_or_else(|| "?".into());
        let site = candidate.site.as_ref().map(|s| s.display().to_string()).unwrap_or_else(|| "?".into());
        let orphan = if candidate.is_orphan() { " (orphan)" } else { "" };
        ui.info_line(&format!(
            "  {:>7}  {:>7}  {:<11}  {:>6}  {site}{orphan}",
            candidate.process.pid,
            candidate.process.ppid,
            if ports.is_empty() { "?".to_owned() } else { ports },
            age
        ));
    }
}

fn short_duration(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86400),
    }
}
