//! Other Bengal servers: who serves a site (the lock and the pid file), who
//! holds a port, how to stop one safely, and what `bengal cleanup` finds.
//! All of it reads `/proc` through [`procfs`] alone.
//!
//! May import [`crate::paths`] and [`crate::error`]; never `build`, `serve`
//! or `lifecycle`.

mod find;
mod pidfile;
mod procfs;
mod stop;

pub use find::{Candidate, Findings, Scope, find};
pub use pidfile::{Found, LockHolder, PidFile, ServerInfo, ServerLock, inspect, remove_stale, take_stale};
pub use procfs::{PortHolder, PortUser, Process, pidfd_open, port_holders, port_users};
pub use stop::{Refused, STOP_GRACE, Stopped, stop};
