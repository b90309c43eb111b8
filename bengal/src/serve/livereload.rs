//! Live reload over server-sent events on the same port as the site.
//!
//! Every open page holds one SSE stream. A stream ends as soon as the server
//! is cancelled, so an open tab can never hold shutdown up.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::sync::{broadcast, watch};
use tokio_stream::wrappers::BroadcastStream;
use tokio_util::sync::WaitForCancellationFutureOwned;

/// Where the live-reload stream is served.
pub const EVENTS_PATH: &str = "/__bengal/livereload";
/// Where the live-reload script is served.
pub const SCRIPT_PATH: &str = "/__bengal/livereload.js";
/// The script injected into every HTML response.
pub const SCRIPT: &str = include_str!("livereload.js");

/// How soon a page reconnects after losing the server.
const RETRY: Duration = Duration::from_millis(500);

/// What an open page is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Message {
    /// Reload the page.
    Reload,
    /// Only stylesheets changed: swap them in place.
    Css,
    /// The last rebuild failed: show it over the page.
    BuildError {
        /// File at fault, relative to the site root.
        file: Option<String>,
        /// Line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
}

impl Message {
    /// The message for a failed build.
    pub fn from_error(err: &crate::Error) -> Message {
        Message::BuildError {
            file: err.file.as_ref().map(|f| f.display().to_string()),
            line: err.line,
            message: err.message.clone(),
            hint: err.hint.clone(),
        }
    }

    fn event(&self) -> Event {
        match self {
            Message::Reload => Event::default().event("reload").data("{}"),
            Message::Css => Event::default().event("css").data("{}"),
            Message::BuildError { file, line, message, hint } => {
                let data = serde_json::json!({"file": file, "line": line, "message": message, "hint": hint});
                Event::default().event("build-error").data(data.to_string())
            }
        }
    }
}

/// The sending side, shared by the rebuild loop and every stream.
pub struct LiveReload {
    sender: broadcast::Sender<Message>,
    /// The standing build error, shown to pages that connect while it lasts.
    error: watch::Sender<Option<Message>>,
}

impl Default for LiveReload {
    fn default() -> Self {
        LiveReload { sender: broadcast::channel(64).0, error: watch::channel(None).0 }
    }
}

impl LiveReload {
    /// Tells every open page; returns how many streams were listening.
    pub fn send(&self, message: Message) -> usize {
        let standing = matches!(message, Message::BuildError { .. }).then(|| message.clone());
        self.error.send_replace(standing);
        self.sender.send(message).unwrap_or(0)
    }

    /// A new page's stream: a greeting, the standing error if any, then
    /// every message, until `stop` resolves.
    pub fn stream(
        &self,
        stop: WaitForCancellationFutureOwned,
    ) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
        let receiver = self.sender.subscribe();
        let standing = self.error.borrow().clone();
        let hello = Event::default().retry(RETRY).comment("bengal");
        let first = futures_util::stream::iter(std::iter::once(hello).chain(standing.map(|m| m.event())));
        let updates =
            BroadcastStream::new(receiver).filter_map(|message| async move { message.ok().map(|m| m.event()) });
        let stream = first.chain(updates).map(Ok).take_until(stop);
        Sse::new(stream).keep_alive(KeepAlive::default())
    }
}

/// `GET /__bengal/livereload.js`.
pub async fn script() -> impl axum::response::IntoResponse {
    ([("content-type", "text/javascript; charset=utf-8"), ("cache-control", "no-store")], SCRIPT)
}
