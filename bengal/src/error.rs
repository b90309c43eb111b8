//! The one error type of the library.
//!
//! Every error a site can cause names the file, the line where it is known, and
//! what the author can do about it; the binary and the dev server's error
//! overlay both print these fields, so they are kept separate, not pre-joined.

use std::fmt;
use std::path::{Path, PathBuf};

/// A `Result` whose error is a Bengal [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The file at fault, relative to the site root where possible.
    pub file: Option<PathBuf>,
    /// The 1-based line in `file`, where known.
    pub line: Option<usize>,
    /// The 1-based column in `line`, where known (shown by the dev
    /// server's overlay).
    pub column: Option<u32>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What the author can do about it.
    pub hint: Option<String>,
    /// Further errors the same build found, in path order: an author fixes
    /// them in one pass instead of one build each.
    pub more: Vec<Error>,
}

impl Error {
    /// An error that is not tied to a file.
    pub fn new(message: impl Into<String>) -> Self {
        Error { file: None, line: None, column: None, message: message.into(), hint: None, more: Vec::new() }
    }

    /// An error in `file`.
    pub fn in_file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error { file: Some(file.into()), ..Error::new(message) }
    }

    /// Sets the line, when known.
    pub fn at_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    /// Sets what the author can do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// An I/O failure on `path`.
    pub fn io(path: &Path, action: &str, err: std::io::Error) -> Self {
        Error::in_file(path, format!("could not {action}: {err}"))
    }

    /// `file:line` as printed before the message, or nothing.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_ref()?.display();
        Some(match self.line {
            Some(line) => format!("{file}:{line}"),
            None => file.to_string(),
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = self.location() {
            write!(f, "{location}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Every value of `results`, or every error among them as one (the first,
/// with the rest in [`Error::more`]), in the order given.
pub fn all<T>(results: impl IntoIterator<Item = Result<T>>) -> Result<Vec<T>> {
    let mut values = Vec::new();
    let mut errors: Vec<Error> = Vec::new();
    for result in results {
        match result {
            Ok(value) => values.push(value),
            Err(err) => errors.push(err),
        }
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(values),
        Some(mut first) => {
            first.more.extend(errors);
            Err(first)
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}
