//! HTTP/1.1 on one listening socket, with an accept loop of our own, so that a
//! stop can close the socket first (the port is free at once) and let the
//! connections already open wind down after, bounded:
//!
//! - [`AcceptLoop::stop`] ends the accept loop and closes the socket;
//! - [`Connections::drain`] asks every connection to finish its response and
//!   close, and cuts off those still open after the grace period.
//!
//! A connection that sends no complete request head within
//! [`HEADER_READ_TIMEOUT`] (half-sent, or idle between keep-alive requests) is
//! closed, so a client cannot hold one open forever.

use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a client may take to send a request head, or stay idle between
/// requests. Browsers send a head at once and reconnect when closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The accept loop of one listener.
pub struct AcceptLoop {
    accepting: CancellationToken,
    task: JoinHandle<()>,
}

/// The connections accepted by one listener.
pub struct Connections {
    draining: CancellationToken,
    cut_off: CancellationToken,
    tracker: TaskTracker,
}

/// Serves `app` on `listener` until stopped.
pub fn serve(listener: TcpListener, app: Router) -> (AcceptLoop, Connections) {
    let connections = Connections {
        draining: CancellationToken::new(),
        cut_off: CancellationToken::new(),
        tracker: TaskTracker::new(),
    };
    let accepting = CancellationToken::new();
    let task = tokio::spawn(accept(listener, app, accepting.clone(), connections.clone_handles()));
    (AcceptLoop { accepting, task }, connections)
}

impl AcceptLoop {
    /// Stops accepting; once this returns, the listening socket is closed.
    pub async fn stop(self) -> Result<(), String> {
        self.accepting.cancel();
        self.task.await.map_err(|err| err.to_string())
    }
}

impl Connections {
    fn clone_handles(&self) -> Connections {
        Connections { draining: self.draining.clone(), cut_off: self.cut_off.clone(), tracker: self.tracker.clone() }
    }

    /// Lets open connections finish their responses for `grace`, then cuts
    /// off those still open.
    pub async fn drain(self, grace: Duration) {
        self.draining.cancel();
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait()).await.is_err() {
            self.cut_off.cancel();
            self.tracker.wait().await;
        }
    }
}

async fn accept(listener: TcpListener, app: Router, accepting: CancellationToken, connections: Connections) {
    loop {
        let stream = tokio::select! {
            biased;
            () = accepting.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // A response's head and body go out as written: Nagle's
                    // wait for an ACK the browser delays cost 40 ms per
                    // stylesheet or page fetched after a save.
                    let _ = stream.set_nodelay(true);
                    stream
                }
                // Out of descriptors, or a connection reset before it was
                // taken: the next accept may well succeed.
                Err(_) => continue,
            },
        };
        let service = TowerToHyperService::new(app.clone());
        let (draining, cut_off) = (connections.draining.clone(), connections.cut_off.clone());
        connections.tracker.spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                () = draining.cancelled() => connection.as_mut().graceful_shutdown(),
                () = cut_off.cancelled() => return,
            }
            tokio::select! {
                _ = connection => {}
                () = cut_off.cancelled() => {}
            }
        });
    }
    drop(listener);
}
