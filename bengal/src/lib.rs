//! Bengal: a static site generator whose dev server never leaves a process or a
//! port behind.
//!
//! - [`build`]: the generator, a plain pipeline of data from a site's files to
//!   its output. It imports none of the modules below.
//! - [`serve`]: the dev server: ports, watching, incremental rebuilds, HTTP
//!   and live reload. It may import the other three.
//! - [`lifecycle`]: how *this* process ends: one shutdown reason, the release
//!   of every resource in order, signals and their escalation, the parent watch.
//! - [`servers`]: *other* Bengal servers: the site's lock and pid file, the
//!   one `/proc` reader, the safe stop, what `bengal cleanup` finds.
//!
//! [`paths`] names the site's layout and keeps every read and write inside the
//! site; [`error`] is the one error type, which always names the file, the
//! line where known, and what to do.
#![deny(missing_docs)]

#[cfg(not(unix))]
compile_error!("Bengal runs on Unix: Linux, where every guarantee holds, and macOS.");

pub mod build;
pub mod error;
pub mod lifecycle;
pub mod paths;
pub mod serve;
pub mod servers;

pub use error::{Error, Result};
