//! Everything the binary prints: colour only on a terminal and never with
//! `NO_COLOR` (anstream decides), a progress bar only on a terminal and only
//! once a build has run longer than a moment.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;

const ERROR: Style = AnsiColor::Red.on_default().bold();
const HINT: Style = AnsiColor::Cyan.on_default().bold();
const SUCCESS: Style = AnsiColor::Green.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const URL: Style = AnsiColor::Cyan.on_default();

/// How long a build runs before a progress bar is worth drawing.
const PROGRESS_AFTER: Duration = Duration::from_millis(300);

/// Prints a line to stdout. A closed stdout (a pipe whose reader went away)
/// loses the line instead of panicking: a server must outlive its log reader.
macro_rules! out {
    ($($arg:tt)*) => {{
        let _ = writeln!(anstream::stdout(), $($arg)*);
    }};
}

/// Prints a line to stderr, never panicking.
macro_rules! err {
    ($($arg:tt)*) => {{
        let _ = writeln!(anstream::stderr(), $($arg)*);
    }};
}

/// Output settings from the global flags.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    quiet: bool,
    verbose: bool,
}

impl Ui {
    pub fn new(quiet: bool, verbose: bool) -> Self {
        Ui { quiet, verbose }
    }

    pub fn error(&self, err: &bengal::Error) {
        err!("{ERROR}error:{ERROR:#} {err}");
        if let Some(hint) = &err.hint {
            err!("  {HINT}help:{HINT:#} {hint}");
        }
    }

    pub fn warning(&self, message: &str) {
        err!("{WARNING}warning:{WARNING:#} {message}");
    }

    pub fn success(&self, message: &str) {
        if !self.quiet {
            out!("{SUCCESS}✓{SUCCESS:#} {message}");
        }
    }

    /// A line of the lifecycle log: printed even with `--quiet`, since it is
    /// how a stop reports what it released.
    pub fn info_line(&self, message: &str) {
        out!("{message}");
    }

    /// Asks a yes/no question on a terminal (Enter means yes); without a
    /// terminal nobody can answer, which means no.
    pub fn ask(&self, question: &str) -> bool {
        if !std::io::stdin().is_terminal() {
            return false;
        }
        let mut stdout = anstream::stdout();
        let _ = write!(stdout, "{question}");
        let _ = stdout.flush();
        let mut answer = String::new();
        if std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut answer).is_err() {
            return false;
        }
        matches!(answer.trim().to_ascii_lowercase().as_str(), "" | "y" | "yes")
    }

    pub fn info(&self, message: &str) {
        if !self.quiet {
            out!("  {message}");
        }
    }

    pub fn verbose(&self, message: &str) {
        if self.verbose {
            out!("  {message}");
        }
    }

    /// The serve banner: what is served, where, and how to stop.
    pub fn banner(&self, site: &Path, url: &str) {
        if !self.quiet {
            out!();
            out!("  {SUCCESS}Bengal {}{SUCCESS:#}  serving {}", env!("CARGO_PKG_VERSION"), self.display_path(site));
            out!();
            out!("  ➜  Local:   {URL}{url}{URL:#}");
            out!("  ➜  Press Ctrl+C to stop");
            out!();
        }
    }

    /// `path` relative to the working directory when it is below it.
    pub fn display_path(&self, path: &Path) -> String {
        let cwd = std::env::current_dir().ok();
        let shown = cwd.as_deref().and_then(|cwd| path.strip_prefix(cwd).ok()).unwrap_or(path);
        format!("{}/", shown.display().to_string().trim_end_matches('/'))
    }

    pub fn progress(&self, label: &'static str) -> Progress {
        let enabled = !self.quiet && std::io::stderr().is_terminal();
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label);
        Progress { bar, enabled, started: Instant::now() }
    }
}

/// A progress bar that stays hidden for quick builds.
pub struct Progress {
    bar: ProgressBar,
    enabled: bool,
    started: Instant,
}

impl Progress {
    pub fn update(&self, done: usize, total: usize) {
        if self.enabled && self.bar.is_hidden() && self.started.elapsed() > PROGRESS_AFTER {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
