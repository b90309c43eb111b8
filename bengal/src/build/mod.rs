//! The generator: a site's files in, its output written. A plain pipeline of
//! data with no global state, so that the dev server can re-run any stage
//! for one file:
//!
//! 1. [`config`] reads `bengal.toml`;
//! 2. [`content`] discovers `content/` and parses front matter ([`frontmatter`]);
//! 3. [`markdown`] turns each page body into HTML, resolving internal links and
//!    highlighting code ([`highlight`]);
//! 4. [`site`] assembles sections, taxonomies and pagination into a [`Site`];
//! 5. [`render`] applies the Tera [`templates`] in memory, and [`output`]
//!    writes only the files whose bytes changed.
//!
//! Imports nothing of `serve`, `lifecycle` or `servers`.

pub mod config;
pub mod content;
pub mod frontmatter;
pub mod highlight;
pub mod html;
pub mod markdown;
pub mod output;
pub mod render;
pub mod scaffold;
pub mod site;
pub mod templates;

pub use site::{BuildOptions, BuildSummary, Site};
