//! Pages asked for while a build runs, rendered ahead of the rest.
//!
//! The dev server serves before its first build is done: the last server's
//! output behind a record of changed files, or nothing on a first start. A
//! page requested meanwhile is handed to the build as an [`Ask`]; the render
//! stage renders it before its next job and answers with its bytes, which
//! are also staged as usual. An ask the build cannot answer (no job makes
//! that file, or the file is already rendered) is dropped when the build
//! ends, and the request falls back to the output, written by then.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::output::{Artifact, Staged, Staging};
use crate::error::Result;

/// The longest a held build waits for its asks, from its first held job
/// (see [`Rush::holding`]).
const HOLD_DEADLINE: Duration = Duration::from_secs(10);

/// Requests waiting on a build, shared between the server and the build.
#[derive(Default)]
pub struct Rush {
    asks: Mutex<Asks>,
    /// Set while asks wait to be taken: the render loop checks a flag, not a lock.
    pending: AtomicBool,
    /// Woken on each ask and answer, for a held build.
    news: Condvar,
    /// For how many answers jobs wait (the test failpoint
    /// `hold_build_for_two_requests`), so that "rendered first" can be
    /// seen; and since when, from the first job held.
    hold: Option<usize>,
    held_since: OnceLock<Instant>,
}

#[derive(Default)]
struct Asks {
    closed: bool,
    waiting: Vec<Ask>,
    /// Asks for files already rendered, answered by the output once the
    /// build has written it.
    deferred: Vec<Ask>,
    answered: usize,
}

/// An output file asked for (relative to the output, e.g.
/// `blog/hello/index.html`), and where its bytes go.
struct Ask {
    file: String,
    answer: oneshot::Sender<Vec<u8>>,
}

impl Rush {
    /// A rush that whatever build takes it serves until [`Rush::close`].
    pub fn new() -> Rush {
        Rush::default()
    }

    /// A rush whose build renders nothing but asks until `answers` are
    /// answered (or [`HOLD_DEADLINE`] passes): a test sees its first page
    /// answered while the build has written nothing.
    pub fn holding(answers: usize) -> Rush {
        Rush { hold: Some(answers), ..Rush::default() }
    }

    /// Asks for `file`: answered with its bytes when the build renders it
    /// first, or dropped (the receiver errs) when it cannot, once the build
    /// has ended.
    pub fn ask(&self, file: String) -> oneshot::Receiver<Vec<u8>> {
        let (answer, receiver) = oneshot::channel();
        let mut asks = self.lock();
        if !asks.closed {
            asks.waiting.push(Ask { file, answer });
            self.pending.store(true, Ordering::Release);
            self.news.notify_all();
        }
        receiver
    }

    /// The build has ended and written its output: every ask left falls
    /// back to it, and later asks are dropped at once.
    pub fn close(&self) {
        let mut asks = self.lock();
        asks.closed = true;
        asks.waiting.clear();
        asks.deferred.clear();
        self.pending.store(false, Ordering::Release);
        self.news.notify_all();
    }

    /// `rush`, closed when the guard is dropped, however the build ends.
    pub fn closed_on_drop(rush: Arc<Rush>) -> ClosedOnDrop {
        ClosedOnDrop(rush)
    }

    fn lock(&self) -> MutexGuard<'_, Asks> {
        self.asks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self) -> Vec<Ask> {
        if !self.pending.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut self.lock().waiting)
    }

    fn defer(&self, ask: Ask) {
        self.lock().deferred.push(ask);
    }

    fn answer(&self, ask: Ask, bytes: Vec<u8>) {
        // A request given up (the browser closed it) needs no answer.
        let _ = ask.answer.send(bytes);
        self.lock().answered += 1;
        self.news.notify_all();
    }

    /// Whether a held build is to look for asks again before its next job:
    /// waits for news while fewer asks than held for are answered, and the
    /// hold lasts.
    fn held(&self) -> bool {
        let Some(answers) = self.hold else { return false };
        let until = *self.held_since.get_or_init(Instant::now) + HOLD_DEADLINE;
        let asks = self.lock();
        let Some(left) = until.checked_duration_since(Instant::now()) else { return false };
        if asks.answered >= answers || asks.closed {
            return false;
        }
        if asks.waiting.is_empty() {
            drop(self.news.wait_timeout(asks, left).unwrap_or_else(PoisonError::into_inner));
        }
        true
    }
}

/// A [`Rush`] closed when dropped.
pub struct ClosedOnDrop(Arc<Rush>);

impl std::ops::Deref for ClosedOnDrop {
    type Target = Rush;

    fn deref(&self) -> &Rush {
        &self.0
    }
}

impl Drop for ClosedOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// One render stage's side of a [`Rush`]: which job makes which file,
/// which jobs an ask took, and what those jobs staged.
pub(crate) struct RushedJobs<'r> {
    rush: &'r Rush,
    /// Output file → job, made at the first ask.
    files: OnceLock<HashMap<String, usize>>,
    taken: Vec<AtomicBool>,
    staged: Mutex<Vec<(usize, Result<Vec<Staged>>)>>,
}

impl<'r> RushedJobs<'r> {
    pub(crate) fn new(rush: &'r Rush, jobs: usize) -> RushedJobs<'r> {
        RushedJobs {
            rush,
            files: OnceLock::new(),
            taken: (0..jobs).map(|_| AtomicBool::new(false)).collect(),
            staged: Mutex::new(Vec::new()),
        }
    }

    /// Renders the jobs asked for since the last call, then tells whether
    /// job `index` is still the caller's to render (an ask may have taken it).
    ///
    /// `files` lists each job's output page, `render` renders a job.
    pub(crate) fn before(
        &self,
        index: usize,
        files: impl FnOnce() -> HashMap<String, usize>,
        render: impl Fn(usize) -> Result<Vec<Artifact>>,
        staging: &Staging,
    ) -> bool {
        let mut files = Some(files);
        loop {
            for ask in self.rush.take() {
                let files = self.files.get_or_init(|| files.take().map(|files| files()).unwrap_or_default());
                match files.get(&ask.file) {
                    Some(&job) if !self.taken[job].swap(true, Ordering::AcqRel) => {
                        self.render_first(job, ask, &render, staging);
                    }
                    // Already rendered, or made by no job of this build (a
                    // static file, an alias): answered by the output it writes.
                    _ => self.rush.defer(ask),
                }
            }
            if !self.rush.held() {
                break;
            }
        }
        !self.taken[index].swap(true, Ordering::AcqRel)
    }

    fn render_first(&self, job: usize, ask: Ask, render: impl Fn(usize) -> Result<Vec<Artifact>>, staging: &Staging) {
        let mut ask = Some(ask);
        let result = render(job).and_then(|artifacts| {
            let page = artifacts.iter().find_map(|artifact| match artifact {
                Artifact::Bytes { path, bytes } if ask.as_ref().is_some_and(|ask| ask.file == *path) => Some(bytes),
                _ => None,
            });
            if let (Some(bytes), Some(ask)) = (page, ask.take()) {
                self.rush.answer(ask, bytes.clone());
            }
            artifacts.into_iter().map(|artifact| staging.stage(artifact)).collect()
        });
        // A page that failed is shown as the build's error, once it ends.
        if let Some(ask) = ask {
            self.rush.defer(ask);
        }
        self.staged.lock().unwrap_or_else(PoisonError::into_inner).push((job, result));
    }

    /// What the jobs taken by asks staged, by job.
    pub(crate) fn into_staged(self) -> Vec<(usize, Result<Vec<Staged>>)> {
        self.staged.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_left_at_close_and_made_after_it_are_dropped() {
        let rush = Rush::new();
        let mut early = rush.ask("a/index.html".into());
        assert!(matches!(early.try_recv(), Err(oneshot::error::TryRecvError::Empty)));
        rush.close();
        assert!(matches!(early.try_recv(), Err(oneshot::error::TryRecvError::Closed)));
        let mut late = rush.ask("b/index.html".into());
        assert!(matches!(late.try_recv(), Err(oneshot::error::TryRecvError::Closed)));
    }
}
