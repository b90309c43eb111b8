//! Bengal: a static site generator whose dev server never leaves a process or a
//! port behind.
//!
//! A build is a plain pipeline of data, with no global state, so that the dev
//! server can re-run any stage for one file:
//!
//! 1. [`config`] reads `bengal.toml`;
//! 2. [`content`] discovers `content/` and parses front matter ([`frontmatter`]);
//! 3. [`markdown`] turns each page body into HTML, resolving internal links and
//!    highlighting code ([`highlight`]);
//! 4. [`site`] assembles sections, taxonomies and pagination into a [`Site`];
//! 5. [`render`] applies the Tera [`templates`] in memory, and [`output`]
//!    writes only the files whose bytes changed, each through a temporary file
//!    renamed over the old one.
//!
//! [`devserver`] serves a site with live reload and incremental rebuilds,
//! binding through [`ports`] and watching through [`watch`].
//!
//! [`lifecycle`] owns how a server ends: one shutdown path, the pid file,
//! stale-server recovery and `bengal cleanup`.
//!
//! [`layout`] names the site's directories and keeps every read and write
//! inside the site: no symlink leads a build outside it.
//!
//! [`scaffold`] creates new sites; [`error`] is the one error type, which always
//! names the file, the line where known, and what to do.
#![deny(missing_docs)]

pub mod config;
pub mod content;
pub mod devserver;
pub mod error;
pub mod frontmatter;
pub mod highlight;
pub mod html;
pub mod layout;
pub mod lifecycle;
pub mod markdown;
pub mod output;
pub mod ports;
pub mod render;
pub mod scaffold;
pub mod site;
pub mod templates;
pub mod watch;

pub use config::Config;
pub use error::{Error, Result};
pub use site::{BuildOptions, BuildSummary, Site};
