//! End-to-end tests of the real `bengal` binary, on the test-support library
//! (`bengal_tests`). How a server ends is proved by the chaos scenarios
//! (`cargo xtask chaos`); these tests keep what a scenario cannot express.
//!
//! - `browser`: the headless-Chromium driver (`bengal_tests::browser`).
//! - `build`: the quickstart fixture builds, and what it writes.
//! - `snapshots`: rendered HTML of a few quickstart pages (insta).
//! - `broken`: each broken fixture fails with exit 1, naming file and line.
//! - `new_site`: `bengal new site` and what it refuses.
//! - `cli`: usage errors, flags, colour.
//! - `serve`: the dev server: pages, live reload, overlay, safety, ports.
//! - `live`: the dev server in headless Chromium: patches, overlay, restarts.
//! - `lifecycle`: what the chaos scenarios cannot express: output streams,
//!   `--replace`, ports held by others.
//! - `cleanup`: `bengal cleanup` on stale files, live and foreign processes.
//! - `faults`: hostile input and faults: symlinks, pid files, locks, slugs, methods.
//! - `zola`: a site written for Zola builds as it is.
//! - `zola_templates`: a Zola site with its own templates and a theme, using
//!   Zola's template variables, functions and filters (issue 11).

mod server;
mod util;

mod broken;
mod browser;
mod build;
mod cleanup;
mod cli;
mod faults;
mod lifecycle;
mod live;
mod new_site;
mod serve;
mod snapshots;
mod zola;
mod zola_templates;
