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

/// How many errors of one build are printed.
const ERRORS_SHOWN: usize = 20;

/// How long a build runs before a progress bar is worth drawing.
const PROGRESS_AFTER: Duration = Duration::from_millis(300);

/// Prints a line to stdout, through the [`output`] queue.
macro_rules! out {
    () => {
        output::emit(output::Stream::Out, String::new())
    };
    ($($arg:tt)*) => {
        output::emit(output::Stream::Out, format!($($arg)*))
    };
}

/// Prints a line to stderr, through the [`output`] queue.
macro_rules! err {
    ($($arg:tt)*) => {
        output::emit(output::Stream::Err, format!($($arg)*))
    };
}

/// Every line goes through a bounded queue to one writer thread, so that a
/// terminal or pipe that is not being read (`| less` paused, Ctrl+S, a parent
/// that never reads) delays the output, never the server: when the queue is
/// full, lines are dropped and counted, and the count is printed where they
/// went missing. A closed stdout loses the lines instead of panicking.
pub mod output {
    use std::io::Write;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
    use std::time::Duration;

    /// Lines waiting to be written, at most.
    const QUEUE_LINES: usize = 1024;

    /// Where a line goes.
    #[derive(Debug, Clone, Copy)]
    pub enum Stream {
        Out,
        Err,
    }

    enum Message {
        Line { stream: Stream, text: String, dropped_before: usize },
        Flushed(SyncSender<()>),
    }

    struct Queue {
        sender: SyncSender<Message>,
        dropped: AtomicUsize,
    }

    static QUEUE: OnceLock<Queue> = OnceLock::new();

    fn queue() -> &'static Queue {
        QUEUE.get_or_init(|| {
            let (sender, receiver) = sync_channel(QUEUE_LINES);
            // Without the thread, lines stay queued and are dropped once it is full.
            let _ = std::thread::Builder::new().name("output".into()).spawn(move || write_lines(receiver));
            Queue { sender, dropped: AtomicUsize::new(0) }
        })
    }

    /// Queues one line; never blocks.
    pub fn emit(stream: Stream, text: String) {
        let queue = queue();
        let dropped_before = queue.dropped.swap(0, Ordering::SeqCst);
        match queue.sender.try_send(Message::Line { stream, text, dropped_before }) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                queue.dropped.fetch_add(dropped_before + 1, Ordering::SeqCst);
            }
        }
    }

    /// Waits until the lines queued so far are written, for at most `wait`.
    pub fn flush(wait: Duration) {
        let (done, written) = sync_channel(1);
        if queue().sender.try_send(Message::Flushed(done)).is_ok() {
            let _ = written.recv_timeout(wait);
        }
    }

    fn write_lines(receiver: Receiver<Message>) {
        for message in receiver {
            match message {
                Message::Line { stream, text, dropped_before } => {
                    if dropped_before > 0 {
                        let _ = writeln!(
                            anstream::stderr(),
                            "warning: {dropped_before} line{} of output dropped: nobody was reading it",
                            if dropped_before == 1 { "" } else { "s" }
                        );
                    }
                    let _ = match stream {
                        Stream::Out => writeln!(anstream::stdout(), "{text}"),
                        Stream::Err => writeln!(anstream::stderr(), "{text}"),
                    };
                }
                Message::Flushed(done) => {
                    let _ = done.send(());
                }
            }
        }
    }
}

/// How long the end of a command waits for its last lines to be written: a
/// reader that has stopped reading delays the exit by this much at most.
pub const FLUSH_WAIT: Duration = Duration::from_millis(500);

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

    /// An error, and the further ones the same build found (the first
    /// [`ERRORS_SHOWN`]: one broken template can fail every page).
    pub fn error(&self, err: &bengal::Error) {
        for err in std::iter::once(err).chain(&err.more).take(ERRORS_SHOWN) {
            err!("{ERROR}error:{ERROR:#} {err}");
            if let Some(hint) = &err.hint {
                err!("  {HINT}help:{HINT:#} {hint}");
            }
        }
        if !err.more.is_empty() {
            let count = err.more.len() + 1;
            let unshown = count.saturating_sub(ERRORS_SHOWN);
            let unshown = if unshown > 0 { format!(" ({unshown} not shown)") } else { String::new() };
            err!("{ERROR}error:{ERROR:#} {count} errors{unshown}; fix them and build again");
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
        // The question comes after what is queued, and is waited for: it is
        // asked on a terminal, which someone is reading.
        output::flush(FLUSH_WAIT);
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

    /// Which configuration file was read, when it is Zola's, and what of it
    /// Bengal ignores for now: said once per build or server.
    pub fn config_notes(&self, notes: &bengal::build::ConfigNotes) {
        if notes.file != bengal::paths::CONFIG_FILE {
            self.info(&format!("Read {} (Zola's configuration)", notes.file));
        }
        if !notes.ignored.is_empty() {
            self.warning(&format!(
                "{} asks for what Bengal does not do yet; ignored: {}",
                notes.file,
                notes.ignored.join(", ")
            ));
        }
        if let Some(theme) = &notes.missing_theme {
            self.warning(&format!(
                "theme `{theme}` is not in themes/{theme}/ (a git submodule not checked out?); \
                 Bengal's built-in theme renders the site instead"
            ));
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
