//! The one test-support library of the workspace, used by the end-to-end
//! tests (`tests/tests/e2e`) and by `cargo xtask` (the chaos suite, the
//! benchmark). Each drives a real `bengal` binary from outside, the way a
//! person, a browser or the system would, and checks with the kernel's
//! eyes; so this library needs nothing of the `bengal` crate.
//!
//! - [`http`]: a raw HTTP/1.1 client that sends requests exactly as written.
//! - [`events`]: a live-reload stream read line by line.
//! - [`launch`]: a process's output collected as it arrives; waiting for a
//!   process to end.
//! - [`fixtures`]: the workspace, its fixture sites, copies of them.
//! - [`ports`]: free ports, and whether a port is listening.
//! - [`poll`]: waiting for a condition with a deadline.
//! - [`browser`]: a headless Chromium driven over the DevTools protocol.
//!
//! ```no_run
//! let site = bengal_tests::copy_fixture("quickstart")?;
//! let port = bengal_tests::free_port()?;
//! // … start `bengal serve --root SITE --port PORT`, then:
//! let page = bengal_tests::http::get(port, "/", std::time::Duration::from_secs(20))?;
//! assert_eq!(page.status, 200);
//! # drop(site);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod browser;
pub mod events;
pub mod fixtures;
pub mod http;
pub mod launch;
pub mod poll;
pub mod ports;

pub use fixtures::{copy_fixture, fixture, workspace_root};
pub use ports::free_port;
