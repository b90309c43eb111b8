//! End-to-end tests of the `bengal` binary live in `tests/`; this crate has no
//! library code of its own.
