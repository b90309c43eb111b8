//! Zola's template functions and filters that need no pages: `load_data`,
//! `get_hash`, `now`, and the filters `markdown`, `base64_encode`,
//! `base64_decode`, `regex_replace` and `num_format`; plus the Tera
//! builtins Zola sites use that Bengal's Tera (built without its `builtins`
//! feature, see below) lacks: `urlencode`, `urlencode_strict`,
//! `filesizeformat` and `get_random`. Names, arguments, defaults and result
//! shapes are Zola's, so a Zola site's templates render unchanged.
//!
//! ```ignore
//! let functions = Functions::new(root, &config, markdown);
//! functions.register(&mut tera);
//! // after rendering: the files templates read, for the dev server
//! let watched = functions.data_files();
//! ```
//!
//! - One [`Functions`] belongs to one build: `now` is the time it was made
//!   (Zola's rule: every page of a build shows the same time), and
//!   `load_data` and `get_hash` cache their results in it. A cached result
//!   is reused only while its file's size and modification time are
//!   unchanged, so keeping it across dev-server rebuilds is also safe.
//! - Files are found as Zola finds them (see `Functions::find`) and never
//!   outside the site: a path or symlink that resolves outside is an error,
//!   even with `required = false`. Bengal has no HTTP client, so
//!   `load_data(url=…)` is an error telling the author to download the file
//!   into the site.
//! - `throw(message)` and `get_env` are Tera's own, present without its
//!   `builtins` feature; `date` and `slugify` stay Bengal's
//!   (`templates.rs`).
//!
//! Why not Tera's `builtins` feature: it brings chrono-tz, whose build
//! script parses the time zone database with a build-time copy of `regex`.
//! Measured cold on this shared 2-core machine (a crate with only tera, dev
//! profile, dependencies at opt-level 1 as in this workspace): 144 s
//! without, 256 s with (+112 s); the crates only it adds take 55 s of CPU,
//! plus about 40 s for the build-time `regex`, all before tera can start.
//! The functions it would give are a few lines each here; what is lost is
//! `date`'s `timezone` argument.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, Hash};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Local, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use regex::Regex;
use sha2::Digest;
use tera::{Tera, Value};

use crate::build::config::{Config, toml_error, toml_to_json};
use crate::paths::{CONTENT_DIR, STATIC_DIR};

/// Renders Markdown for the `markdown` filter: `(text, inline)` to HTML, or
/// a message. `inline` is true for `markdown(inline=true)`; the filter itself
/// strips the paragraph around the result then, as Zola does, so the
/// renderer need only leave out what does not belong in a fragment.
/// Supplied by the caller so this module does not depend on how pages are
/// rendered (links, highlighting, shortcodes).
pub type MarkdownFn = Arc<dyn Fn(&str, bool) -> Result<String, String> + Send + Sync>;

/// The largest file `load_data` or `get_hash` reads: a data file this large
/// is a mistake (a build artifact, a dump), and reading it once per page
/// would stall the build.
const READ_LIMIT: u64 = 16 * 1024 * 1024;

/// How many compiled `regex_replace` patterns are kept: a template that
/// builds patterns from page data could otherwise grow the cache without end.
const REGEX_CACHE_LIMIT: usize = 256;

/// Tera's `urlencode`: Python's `quote` with `/` kept, and (as Tera does) `%`
/// kept too, so an already-encoded URL is not encoded twice.
const URL_ENCODE_SET: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'%').remove(b'-').remove(b'.').remove(b'/').remove(b'_').remove(b'~');

/// Zola's template functions and filters for one build. Shared by every
/// render thread, so its caches are behind mutexes.
pub struct Functions {
    /// The site root as given, for the paths [`Functions::data_files`] reports.
    root: PathBuf,
    /// The site root with symlinks resolved: every file read must be inside.
    site: PathBuf,
    /// The site's theme, whose `static/` is looked in last.
    theme: Option<String>,
    /// `num_format`'s default locale: the site's language, as in Zola.
    language: String,
    markdown: MarkdownFn,
    /// When the build began, for `now`.
    started: DateTime<Local>,
    data: FileCache<(PathBuf, Format), Value>,
    hashes: FileCache<(PathBuf, u16, bool), String>,
    /// Every file read (or looked for and missing), for the dev server.
    read: Mutex<BTreeSet<PathBuf>>,
    regexes: Mutex<HashMap<String, Regex>>,
}

impl Functions {
    /// Functions for the site at `root`; `markdown` renders the `markdown`
    /// filter's text.
    pub fn new(root: &Path, config: &Config, markdown: MarkdownFn) -> Arc<Functions> {
        Arc::new(Functions {
            root: root.to_path_buf(),
            site: crate::paths::resolve_path(root),
            theme: config.theme.clone(),
            language: config.language.clone(),
            markdown,
            started: Local::now(),
            data: FileCache::default(),
            hashes: FileCache::default(),
            read: Mutex::default(),
            regexes: Mutex::default(),
        })
    }

    /// Registers every function and filter of this module in `tera`,
    /// replacing any of the same name.
    pub fn register(self: &Arc<Self>, tera: &mut Tera) {
        let this = Arc::clone(self);
        tera.register_function("load_data", move |args: &Args| this.load_data(args));
        let this = Arc::clone(self);
        tera.register_function("get_hash", move |args: &Args| this.get_hash(args));
        let this = Arc::clone(self);
        tera.register_function("now", move |args: &Args| this.now(args));
        tera.register_function("get_random", get_random);
        let this = Arc::clone(self);
        tera.register_filter("markdown", move |value: &Value, args: &Args| this.markdown(value, args));
        let this = Arc::clone(self);
        tera.register_filter("regex_replace", move |value: &Value, args: &Args| this.regex_replace(value, args));
        let this = Arc::clone(self);
        tera.register_filter("num_format", move |value: &Value, args: &Args| this.num_format(value, args));
        tera.register_filter("base64_encode", base64_encode);
        tera.register_filter("base64_decode", base64_decode);
        tera.register_filter("urlencode", |value: &Value, _: &Args| {
            Ok(Value::String(utf8_percent_encode(text_value(value, "urlencode")?, URL_ENCODE_SET).to_string()))
        });
        tera.register_filter("urlencode_strict", |value: &Value, _: &Args| {
            Ok(Value::String(utf8_percent_encode(text_value(value, "urlencode_strict")?, NON_ALPHANUMERIC).to_string()))
        });
        tera.register_filter("filesizeformat", filesizeformat);
        tera.register_function("range", range);
    }

    /// Every site file a function read so far, and every place where
    /// `load_data` looked for a missing file, as `root` joined with the
    /// path inside the site, sorted. A page rendered with them must be
    /// rendered again when one of them changes or appears.
    pub fn data_files(&self) -> Vec<PathBuf> {
        self.read.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }

    /// Adds `files` to the files read ([`Functions::data_files`]).
    pub fn remember(&self, files: Vec<PathBuf>) {
        self.read.lock().unwrap_or_else(PoisonError::into_inner).extend(files);
    }

    /// `load_data(path | url | literal, format, required = true)`.
    fn load_data(&self, args: &Args) -> tera::Result<Value> {
        const NAME: &str = "load_data";
        if let Some(url) = args.get("url") {
            let url = url.as_str().unwrap_or("the URL");
            return Err(format!(
                "load_data: Bengal reads only files inside the site and does not fetch {url}; \
                 download it into the site (e.g. `curl -o static/data.json {url}`) and use \
                 load_data(path=\"static/data.json\")"
            )
            .into());
        }
        let path = optional_text(args, "path", NAME)?;
        let literal = optional_text(args, "literal", NAME)?;
        let format = optional_text(args, "format", NAME)?.map(Format::parse).transpose()?;
        let required = optional_bool(args, "required", NAME)?.unwrap_or(true);
        match (path, literal) {
            (Some(_), Some(_)) | (None, None) => Err("load_data: give exactly one of `path` or `literal`".into()),
            (None, Some(literal)) => format.unwrap_or(Format::Plain).load(literal.to_owned(), "the literal"),
            (Some(path), None) => {
                let Some(found) = self.find(path, NAME)? else {
                    return if required {
                        Err(format!(
                            "load_data: {path} not found (looked in the site root, {STATIC_DIR}/ and {CONTENT_DIR}/); \
                             pass required=false to get null instead"
                        )
                        .into())
                    } else {
                        Ok(Value::Null)
                    };
                };
                let format = format.unwrap_or_else(|| Format::of_path(&found.real));
                self.data.get_or_insert((found.real.clone(), format), &found.real, || {
                    let text = String::from_utf8(read_bounded(&found, NAME)?)
                        .map_err(|_| format!("load_data: {} is not UTF-8 text", found.shown))?;
                    format.load(text, &found.shown)
                })
            }
        }
    }

    /// `get_hash(path | literal, sha_type = 384, base64 = true)`.
    fn get_hash(&self, args: &Args) -> tera::Result<Value> {
        const NAME: &str = "get_hash";
        let sha_type = match args.get("sha_type") {
            None => 384,
            Some(value) => match value.as_u64() {
                Some(bits @ (256 | 384 | 512)) => bits as u16,
                _ => return Err(format!("get_hash: `sha_type` must be 256, 384 or 512, not {value}").into()),
            },
        };
        let base64 = optional_bool(args, "base64", NAME)?.unwrap_or(true);
        match (optional_text(args, "path", NAME)?, optional_text(args, "literal", NAME)?) {
            (Some(_), Some(_)) | (None, None) => Err("get_hash: give exactly one of `path` or `literal`".into()),
            (None, Some(literal)) => Ok(Value::String(digest(literal.as_bytes(), sha_type, base64))),
            (Some(path), None) => {
                let found = self.find(path, NAME)?.ok_or_else(|| {
                    format!("get_hash: {path} not found (looked in the site root, {STATIC_DIR}/ and {CONTENT_DIR}/)")
                })?;
                self.hashes
                    .get_or_insert((found.real.clone(), sha_type, base64), &found.real, || {
                        Ok(digest(&read_bounded(&found, NAME)?, sha_type, base64))
                    })
                    .map(Value::String)
            }
        }
    }

    /// `now(utc = false, timestamp = false)`: the build's start time, as RFC
    /// 3339 text or Unix seconds.
    fn now(&self, args: &Args) -> tera::Result<Value> {
        let utc = optional_bool(args, "utc", "now")?.unwrap_or(false);
        let timestamp = optional_bool(args, "timestamp", "now")?.unwrap_or(false);
        Ok(match (utc, timestamp) {
            (_, true) => Value::from(self.started.timestamp()),
            (true, false) => Value::String(self.started.with_timezone(&Utc).to_rfc3339()),
            (false, false) => Value::String(self.started.to_rfc3339()),
        })
    }

    /// The `markdown(inline = false)` filter.
    fn markdown(&self, value: &Value, args: &Args) -> tera::Result<Value> {
        let text = text_value(value, "markdown")?;
        let inline = optional_bool(args, "inline", "markdown")?.unwrap_or(false);
        let html = (self.markdown)(text, inline).map_err(|err| format!("markdown: {err}"))?;
        if !inline {
            return Ok(Value::String(html));
        }
        // A fragment goes inside the template's own element: drop the one
        // paragraph pulldown-cmark wraps a line in (`<p>…</p>\n`).
        let inner = html.strip_prefix("<p>").unwrap_or(&html);
        Ok(Value::String(inner.strip_suffix("</p>\n").unwrap_or(inner).to_owned()))
    }

    /// The `regex_replace(pattern, rep)` filter; `rep` may name groups
    /// (`$1`, `$name`).
    fn regex_replace(&self, value: &Value, args: &Args) -> tera::Result<Value> {
        const NAME: &str = "regex_replace";
        let text = text_value(value, NAME)?;
        let pattern = required_text(args, "pattern", NAME)?;
        let rep = required_text(args, "rep", NAME)?;
        // A `Regex` clone shares the compiled program; the lock is not held
        // while replacing, so render threads do not queue behind each other.
        let regex = {
            let mut regexes = self.regexes.lock().unwrap_or_else(PoisonError::into_inner);
            match regexes.get(pattern) {
                Some(regex) => regex.clone(),
                None => {
                    let regex = Regex::new(pattern).map_err(|err| {
                        format!("regex_replace: `{pattern}` is not a valid regular expression: {err}")
                    })?;
                    if regexes.len() >= REGEX_CACHE_LIMIT {
                        regexes.clear();
                    }
                    regexes.insert(pattern.to_owned(), regex.clone());
                    regex
                }
            }
        };
        Ok(Value::String(regex.replace_all(text, rep).into_owned()))
    }

    /// The `num_format(locale = the site's language)` filter: an integer
    /// with the locale's digit grouping (`1,000,000`, `10,00,000`).
    fn num_format(&self, value: &Value, args: &Args) -> tera::Result<Value> {
        use num_format::{Locale, ToFormattedString};
        let number = value.as_i64().ok_or_else(|| format!("num_format: expects an integer, got {value}"))?;
        let name = optional_text(args, "locale", "num_format")?.unwrap_or(&self.language);
        let locale = Locale::from_name(name).map_err(|_| {
            format!("num_format: `{name}` is not a locale it knows (e.g. en, de, fr, en-IN); pass locale=\"…\"")
        })?;
        Ok(Value::String(number.to_formatted_string(&locale)))
    }

    /// Finds `path` as Zola does: `@/x` means `content/x`, a leading `/` is
    /// dropped, and the first existing of `root/path`, `root/static/path` and
    /// `root/content/path` wins. Zola also looks in the output directory and
    /// a theme's `static/`; Bengal has no themes, and its output is written
    /// after rendering, so a file there would be the previous build's.
    ///
    /// `Ok(None)` when none exists (the places looked are recorded, so that
    /// creating the file rebuilds); an error when the file resolves outside
    /// the site or is not a regular file.
    fn find(&self, path: &str, function: &str) -> tera::Result<Option<Found>> {
        let relative = match path.strip_prefix("@/") {
            Some(rest) => format!("{CONTENT_DIR}/{rest}"),
            None => path.trim_start_matches('/').to_owned(),
        };
        if relative.is_empty() {
            return Err(format!("{function}: `path` is empty").into());
        }
        let mut candidates: Vec<PathBuf> =
            ["", STATIC_DIR, CONTENT_DIR].iter().map(|dir| Path::new(dir).join(&relative)).collect();
        if let Some(theme) = &self.theme {
            candidates.push(Path::new(crate::paths::THEMES_DIR).join(theme).join(STATIC_DIR).join(&relative));
        }
        let Some(candidate) = candidates.iter().find(|candidate| self.root.join(candidate).exists()) else {
            let mut read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
            let normal = candidates.iter().filter_map(|c| crate::paths::normal_path(&crate::paths::slash_path(c)));
            read.extend(normal.map(|c| self.root.join(c)));
            return Ok(None);
        };
        let real = std::fs::canonicalize(self.root.join(candidate))
            .map_err(|err| format!("{function}: could not resolve {path}: {err}"))?;
        let Ok(inside) = real.strip_prefix(&self.site) else {
            return Err(format!(
                "{function}: {path} resolves outside the site (to {}); copy the file into the site instead",
                real.display()
            )
            .into());
        };
        if !real.is_file() {
            return Err(format!("{function}: {path} is not a regular file").into());
        }
        let shown = crate::paths::slash_path(inside);
        self.read.lock().unwrap_or_else(PoisonError::into_inner).insert(self.root.join(inside));
        Ok(Some(Found { real, shown }))
    }
}

/// A file [`Functions::find`] found inside the site.
struct Found {
    /// Its path with symlinks resolved.
    real: PathBuf,
    /// Its path inside the site, for messages.
    shown: String,
}

/// Reads `found`, refusing more than [`READ_LIMIT`] bytes.
fn read_bounded(found: &Found, function: &str) -> tera::Result<Vec<u8>> {
    let io_error = |err: std::io::Error| format!("{function}: could not read {}: {err}", found.shown);
    let file = std::fs::File::open(&found.real).map_err(io_error)?;
    let mut bytes = Vec::new();
    file.take(READ_LIMIT + 1).read_to_end(&mut bytes).map_err(io_error)?;
    if bytes.len() as u64 > READ_LIMIT {
        return Err(format!(
            "{function}: {} is larger than {} MiB, the most Bengal reads for a template",
            found.shown,
            READ_LIMIT / 1024 / 1024
        )
        .into());
    }
    Ok(bytes)
}

/// Results computed from a file, reused while the file's size and
/// modification time are those it had when read.
struct FileCache<K, V>(Mutex<HashMap<K, (Stamp, V)>>);

/// A file's size and modification time.
type Stamp = (u64, Option<SystemTime>);

impl<K, V> Default for FileCache<K, V> {
    fn default() -> Self {
        FileCache(Mutex::default())
    }
}

impl<K: Hash + Eq, V: Clone> FileCache<K, V> {
    /// The cached value for `key` if `file` is unchanged, else `make`'s
    /// (cached when it succeeds). The lock is not held while `make` reads
    /// and parses, so threads rendering other pages are not held up; two
    /// threads that miss together both compute, once.
    fn get_or_insert(&self, key: K, file: &Path, make: impl FnOnce() -> tera::Result<V>) -> tera::Result<V> {
        let stamp = std::fs::metadata(file).map(|meta| (meta.len(), meta.modified().ok())).ok();
        let cache = |map: &HashMap<K, (Stamp, V)>| {
            map.get(&key).filter(|(was, _)| Some(*was) == stamp).map(|(_, value)| value.clone())
        };
        if let Some(value) = cache(&self.0.lock().unwrap_or_else(PoisonError::into_inner)) {
            return Ok(value);
        }
        let value = make()?;
        if let Some(stamp) = stamp {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(key, (stamp, value.clone()));
        }
        Ok(value)
    }
}

/// The data formats of `load_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Format {
    Toml,
    Json,
    Yaml,
    Csv,
    Bibtex,
    Xml,
    Plain,
}

impl Format {
    /// The `format` argument, as Zola spells it.
    fn parse(name: &str) -> tera::Result<Format> {
        Format::named(name).ok_or_else(|| {
            format!("load_data: unknown format `{name}`; use toml, json, yaml, csv, bibtex, xml or plain").into()
        })
    }

    fn named(name: &str) -> Option<Format> {
        Some(match name.to_ascii_lowercase().as_str() {
            "toml" => Format::Toml,
            "json" => Format::Json,
            "yaml" | "yml" => Format::Yaml,
            "csv" => Format::Csv,
            "bibtex" => Format::Bibtex,
            "xml" => Format::Xml,
            "plain" => Format::Plain,
            _ => return None,
        })
    }

    /// The format a file's extension names; plain text for any other.
    fn of_path(path: &Path) -> Format {
        path.extension().and_then(|ext| ext.to_str()).and_then(Format::named).unwrap_or(Format::Plain)
    }

    /// Parses `text` (from `shown`, for messages) into Zola's shape for
    /// this format.
    fn load(self, text: String, shown: &str) -> tera::Result<Value> {
        let failed = |what: &str, line: Option<usize>, err: &dyn std::fmt::Display| -> tera::Error {
            let at = line.map(|line| format!(" line {line}")).unwrap_or_default();
            format!("load_data: {shown}{at} is not valid {what}: {err}").into()
        };
        match self {
            Format::Plain => Ok(Value::String(text)),
            Format::Toml => {
                let table: toml::Table = toml::from_str(&text).map_err(|err| {
                    let err = toml_error(&text, &err);
                    failed("TOML", err.line, &err.message)
                })?;
                Ok(toml_to_json(toml::Value::Table(table)))
            }
            Format::Json => serde_json::from_str(&text).map_err(|err| failed("JSON", Some(err.line()), &err)),
            Format::Yaml => serde_norway::from_str(&text).map_err(|err| {
                let line = err.location().map(|at| at.line());
                let message = err.to_string();
                failed("YAML", line, &message.split(" at line ").next().unwrap_or(message.as_str()))
            }),
            Format::Csv => load_csv(&text).map_err(|err| {
                let line = err.position().map(|at| at.line() as usize);
                failed("CSV", line, &err)
            }),
            Format::Bibtex => load_bibtex(&text).map_err(|err| failed("BibTeX", None, &err)),
            Format::Xml => roxmltree_to_serde::xml_str_to_json(&text, &roxmltree_to_serde::Config::default())
                .map_err(|err| failed("XML", Some(err.pos().row as usize), &err)),
        }
    }
}

/// Zola's CSV shape: `{headers: [...], records: [[...], ...]}`, every cell
/// text, the first line the headers.
fn load_csv(text: &str) -> Result<Value, csv::Error> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let row = |record: &csv::StringRecord| Value::Array(record.iter().map(Value::from).collect());
    let headers = row(reader.headers()?);
    let records = reader.records().map(|record| record.map(|r| row(&r))).collect::<Result<Vec<_>, _>>()?;
    Ok(serde_json::json!({ "headers": headers, "records": records }))
}

/// Zola's BibTeX shape: `{preambles, comments, variables, bibliographies:
/// [{entry_type, citation_key, tags}]}`, tag names in lower case.
fn load_bibtex(text: &str) -> Result<Value, nom_bibtex::error::BibtexError> {
    let bibtex = nom_bibtex::Bibtex::parse(text)?;
    let entries: Vec<Value> = bibtex
        .bibliographies()
        .iter()
        .map(|entry| {
            let tags: serde_json::Map<String, Value> =
                entry.tags().iter().map(|(key, value)| (key.to_lowercase(), Value::from(value.as_str()))).collect();
            serde_json::json!({
                "entry_type": entry.entry_type(),
                "citation_key": entry.citation_key(),
                "tags": tags,
            })
        })
        .collect();
    Ok(serde_json::json!({
        "preambles": bibtex.preambles(),
        "comments": bibtex.comments(),
        "variables": bibtex.variables(),
        "bibliographies": entries,
    }))
}

/// `data`'s SHA-2 digest of `bits` (256, 384 or 512), as base64 or lower-case hex.
fn digest(data: &[u8], bits: u16, base64: bool) -> String {
    let bytes = match bits {
        256 => sha2::Sha256::digest(data).to_vec(),
        512 => sha2::Sha512::digest(data).to_vec(),
        _ => sha2::Sha384::digest(data).to_vec(),
    };
    if base64 { BASE64.encode(bytes) } else { bytes.iter().map(|byte| format!("{byte:02x}")).collect() }
}

/// The `base64_encode` filter: the text's UTF-8 bytes, standard alphabet.
fn base64_encode(value: &Value, _: &Args) -> tera::Result<Value> {
    Ok(Value::String(BASE64.encode(text_value(value, "base64_encode")?)))
}

/// The `base64_decode` filter; the decoded bytes must be UTF-8 text.
fn base64_decode(value: &Value, _: &Args) -> tera::Result<Value> {
    let bytes = BASE64
        .decode(text_value(value, "base64_decode")?)
        .map_err(|err| format!("base64_decode: not base64: {err}"))?;
    let text = String::from_utf8(bytes).map_err(|_| "base64_decode: the decoded bytes are not UTF-8 text")?;
    Ok(Value::String(text))
}

/// Tera's `filesizeformat(binary = false)`: bytes in steps of 1024, named
/// `kB`, `MB`… (or `KiB`, `MiB`… with `binary=true`), two decimals unless whole.
fn filesizeformat(value: &Value, args: &Args) -> tera::Result<Value> {
    const DECIMAL: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    const BINARY: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let bytes =
        value.as_u64().ok_or_else(|| format!("filesizeformat: expects a whole number of bytes, got {value}"))?;
    let units = if optional_bool(args, "binary", "filesizeformat")?.unwrap_or(false) { BINARY } else { DECIMAL };
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < units.len() {
        size /= 1024.0;
        unit += 1;
    }
    let places = if size.fract() == 0.0 { 0 } else { 2 };
    Ok(Value::String(format!("{size:.places$} {}", units[unit])))
}

/// The most numbers `range` makes: enough for any page, and far from the
/// memory a typo (`end=1e9`) would ask for.
const MAX_RANGE: usize = 1_000_000;

/// Tera's `range(start = 0, end, step_by = 1)`, which loops without end
/// on `step_by=0` and makes as many numbers as asked: both are errors here.
fn range(args: &Args) -> tera::Result<Value> {
    let number = |key: &str| match args.get(key) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("Function `range` received {key}={value} but `{key}` can only be a number")),
    };
    let start = number("start")?.unwrap_or(0);
    let end = number("end")?.ok_or("Function `range` was called without a `end` argument")?;
    let step_by = number("step_by")?.unwrap_or(1);
    if start > end {
        return Err("Function `range` was called with a `start` argument greater than the `end` one".into());
    }
    if step_by == 0 {
        return Err("Function `range` was called with step_by=0: `step_by` must be at least 1, or it never ends".into());
    }
    let count = (end - start).div_ceil(step_by);
    if count > MAX_RANGE {
        return Err(format!(
            "Function `range` was asked for {count} numbers, more than the {MAX_RANGE} a template may use"
        )
        .into());
    }
    Ok(Value::from((start..end).step_by(step_by).collect::<Vec<_>>()))
}

/// Tera's `get_random(start = 0, end)`: an integer in `start..end`, for
/// varying a page's look, not for secrets. The randomness is std's hash
/// keys, which are random per process and differ per call.
fn get_random(args: &Args) -> tera::Result<Value> {
    let bound = |key: &str| match args.get(key) {
        None => Ok(None),
        Some(value) => value.as_i64().map(Some).ok_or_else(|| format!("get_random: `{key}` must be an integer")),
    };
    let start = bound("start")?.unwrap_or(0);
    let end = bound("end")?.ok_or("get_random: missing integer argument `end`")?;
    let span = end
        .checked_sub(start)
        .filter(|span| *span > 0)
        .ok_or_else(|| format!("get_random: `end` ({end}) must be greater than `start` ({start})"))?;
    let random = std::hash::RandomState::new().hash_one(SystemTime::now());
    Ok(Value::from(start + (random % span as u64) as i64))
}

type Args = HashMap<String, Value>;

fn text_value<'a>(value: &'a Value, function: &str) -> tera::Result<&'a str> {
    value.as_str().ok_or_else(|| format!("{function}: expects text, got {value}").into())
}

fn optional_text<'a>(args: &'a Args, key: &str, function: &str) -> tera::Result<Option<&'a str>> {
    match args.get(key) {
        None => Ok(None),
        Some(value) => value.as_str().map(Some).ok_or_else(|| format!("{function}: `{key}` must be text").into()),
    }
}

fn required_text<'a>(args: &'a Args, key: &str, function: &str) -> tera::Result<&'a str> {
    optional_text(args, key, function)?.ok_or_else(|| format!("{function}: missing text argument `{key}`").into())
}

fn optional_bool(args: &Args, key: &str, function: &str) -> tera::Result<Option<bool>> {
    match args.get(key) {
        None => Ok(None),
        Some(value) => {
            value.as_bool().map(Some).ok_or_else(|| format!("{function}: `{key}` must be true or false").into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A site with `files`, and a Tera with the functions registered whose
    /// `markdown` echoes its input in a paragraph.
    fn site(files: &[(&str, &str)]) -> (tempfile::TempDir, Arc<Functions>, Tera) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let markdown: MarkdownFn = Arc::new(|text: &str, inline: bool| {
            if text == "fail" { Err("bad markdown".to_owned()) } else { Ok(format!("<p>{text}|{inline}</p>\n")) }
        });
        let functions = Functions::new(dir.path(), &Config::parse("").unwrap(), markdown);
        let mut tera = Tera::default();
        functions.register(&mut tera);
        (dir, functions, tera)
    }

    fn render(tera: &mut Tera, template: &str) -> Result<String, String> {
        tera.render_str(template, &tera::Context::new()).map_err(|err| {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(inner) = source {
                text.push_str(&format!(" / {inner}"));
                source = inner.source();
            }
            text
        })
    }

    #[test]
    fn each_format_gives_zolas_shape() {
        let (_dir, _, mut tera) = site(&[
            ("data/a.toml", "title = \"T\"\nwhen = 2024-03-01\n[[items]]\nn = 1\n"),
            ("static/b.json", "{\"list\": [1, 2]}"),
            ("content/c.yaml", "name: Y\n"),
            ("data/d.csv", "Number,Title\n1,Gutenberg\n2,Printing\n"),
            ("data/e.bib", "@misc{key1, Title = {A Book}, author = \"Ann\"}\n"),
            ("data/f.xml", "<root><n>1</n><n>2</n></root>"),
            ("data/g.txt", "plain text"),
        ]);
        let cases = [
            ("path='data/a.toml'", r#"{"items":[{"n":1}],"title":"T","when":"2024-03-01"}"#),
            ("path='b.json'", r#"{"list":[1,2]}"#),
            ("path='@/c.yaml'", r#"{"name":"Y"}"#),
            ("path='/data/d.csv'", r#"{"headers":["Number","Title"],"records":[["1","Gutenberg"],["2","Printing"]]}"#),
            // As in Zola, only a `.bibtex` extension names the format.
            (
                "path='data/e.bib', format='bibtex'",
                r#"{"bibliographies":[{"citation_key":"key1","entry_type":"misc","tags":{"author":"Ann","title":"A Book"}}],"comments":[],"preambles":[],"variables":{}}"#,
            ),
            ("path='data/f.xml'", r#"{"root":{"n":[1,2]}}"#),
            ("path='data/g.txt'", r#""plain text""#),
            ("path='data/a.toml', format='plain'", r#""title = \"T\"\nwhen = 2024-03-01\n[[items]]\nn = 1\n""#),
            ("literal='{\"x\": 1}', format='json'", r#"{"x":1}"#),
            ("literal='x,y\n1,2', format='csv'", r#"{"headers":["x","y"],"records":[["1","2"]]}"#),
            ("literal='k = 1'", r#""k = 1""#),
        ];
        for (args, want) in cases {
            let out = render(&mut tera, &format!("{{{{ load_data({args}) | json_encode() | safe }}}}"));
            assert_eq!(out.as_deref(), Ok(want), "load_data({args})");
        }
    }

    #[test]
    fn a_missing_file_is_null_unless_required() {
        let (dir, functions, mut tera) = site(&[]);
        let out = render(&mut tera, "{{ load_data(path='data/x.json', required=false) | json_encode() }}");
        assert_eq!(out.as_deref(), Ok("null"));
        let err = render(&mut tera, "{{ load_data(path='data/x.json') }}").unwrap_err();
        assert!(err.contains("data/x.json not found") && err.contains("required=false"), "{err}");
        // Creating it in any place looked must rebuild.
        assert!(functions.data_files().contains(&dir.path().join("static/data/x.json")));
    }

    #[test]
    fn paths_outside_the_site_are_refused() {
        let (dir, _, mut tera) = site(&[("data/in.txt", "x"), ("content/_index.md", "")]);
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("link.txt")).unwrap();
        let name = outside.path().file_name().unwrap().to_string_lossy();
        for path in ["link.txt".to_owned(), format!("../{name}/secret.txt")] {
            for call in [format!("load_data(path='{path}', required=false)"), format!("get_hash(path='{path}')")] {
                let err = render(&mut tera, &format!("{{{{ {call} }}}}")).unwrap_err();
                assert!(err.contains("resolves outside the site"), "{call}: {err}");
            }
        }
        assert_eq!(render(&mut tera, "{{ load_data(path='content/../data/in.txt') }}").as_deref(), Ok("x"));
    }

    #[test]
    fn a_url_is_refused_with_what_to_do() {
        let (_dir, _, mut tera) = site(&[]);
        let err = render(&mut tera, "{{ load_data(url='https://example.com/a.json') }}").unwrap_err();
        assert!(err.contains("does not fetch https://example.com/a.json"), "{err}");
        assert!(err.contains("download it into the site"), "{err}");
    }

    #[test]
    fn bad_data_and_too_large_files_are_clear_errors() {
        let (dir, _, mut tera) = site(&[("data/bad.json", "{\n\"a\": }"), ("data/bad.toml", "a = 1\nb = \n")]);
        let err = render(&mut tera, "{{ load_data(path='data/bad.json', required=false) }}").unwrap_err();
        assert!(err.contains("data/bad.json line 2 is not valid JSON"), "{err}");
        let err = render(&mut tera, "{{ load_data(path='data/bad.toml') }}").unwrap_err();
        assert!(err.contains("data/bad.toml line 2 is not valid TOML"), "{err}");
        let err = render(&mut tera, "{{ load_data(literal='x', format='ini') }}").unwrap_err();
        assert!(err.contains("unknown format `ini`"), "{err}");
        let big = std::fs::File::create(dir.path().join("big.txt")).unwrap();
        big.set_len(READ_LIMIT + 1).unwrap();
        let err = render(&mut tera, "{{ load_data(path='big.txt') }}").unwrap_err();
        assert!(err.contains("larger than 16 MiB"), "{err}");
    }

    #[test]
    fn results_are_cached_until_the_file_changes_and_files_are_recorded() {
        let (dir, functions, mut tera) = site(&[("data/a.json", "[1]")]);
        let template = "{{ load_data(path='data/a.json') | json_encode() | safe }}";
        assert_eq!(render(&mut tera, template).as_deref(), Ok("[1]"));
        let key = (std::fs::canonicalize(dir.path().join("data/a.json")).unwrap(), Format::Json);
        assert!(functions.data.0.lock().unwrap().contains_key(&key));
        std::fs::write(dir.path().join("data/a.json"), "[1, 2]").unwrap();
        assert_eq!(render(&mut tera, template).as_deref(), Ok("[1,2]"));
        assert_eq!(functions.data_files(), [dir.path().join("data/a.json")]);
    }

    #[test]
    fn get_hash_matches_known_digests() {
        let (_dir, functions, mut tera) = site(&[("static/app.js", "Hello World")]);
        let cases = [
            // `printf 'Hello World' | sha256sum` and `| openssl dgst -sha384 -binary | base64`.
            (
                "literal='Hello World', sha_type=256, base64=false",
                "a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e",
            ),
            ("path='app.js'", "mVFDKRhrL2rkoTKefubGEKcpY2M1F0rGt0D5AoOW/MgD0Ok4Y6fD2Q+Gvu54L08/"),
            (
                "literal='Hello World', sha_type=512",
                "LHT9F+2v2A6ER7DUZ0HuJDt+t03SFJoKsbkkb7MDgvJ+hT2FhXGeDmfL2g2qj1FnEGRhXWRa4nrLFb+xRH9Fmw==",
            ),
        ];
        for (args, want) in cases {
            assert_eq!(render(&mut tera, &format!("{{{{ get_hash({args}) | safe }}}}")).as_deref(), Ok(want), "{args}");
        }
        let err = render(&mut tera, "{{ get_hash(literal='x', sha_type=1) }}").unwrap_err();
        assert!(err.contains("256, 384 or 512"), "{err}");
        assert_eq!(functions.data_files().len(), 1);
    }

    #[test]
    fn filters_do_what_zolas_do() {
        let (_dir, _, mut tera) = site(&[]);
        let cases = [
            (r#"{{ "World Hello" | regex_replace(pattern=`(?P<a>\w+) (?P<b>\w+)`, rep=`$b, $a`) }}"#, "Hello, World"),
            ("{{ 1000000 | num_format }}", "1,000,000"),
            ("{{ 1000000 | num_format(locale='en-IN') }}", "10,00,000"),
            ("{{ 'héllo wörld' | base64_encode }}", "aMOpbGxvIHfDtnJsZA=="),
            ("{{ 'héllo wörld' | base64_encode | base64_decode }}", "héllo wörld"),
            ("{{ 'a b/c%20?' | urlencode }}", "a%20b/c%20%3F"),
            ("{{ 'a b/c' | urlencode_strict }}", "a%20b%2Fc"),
            (
                "{{ 100 | filesizeformat }}|{{ 1024 | filesizeformat }}|{{ 1500 | filesizeformat(binary=true) }}",
                "100 B|1 kB|1.46 KiB",
            ),
            ("{% set r = get_random(start=5, end=6) %}{{ r }}", "5"),
        ];
        for (template, want) in cases {
            assert_eq!(render(&mut tera, template).as_deref(), Ok(want), "{template}");
        }
        let err = render(&mut tera, "{{ 'x' | regex_replace(pattern='(', rep='') }}").unwrap_err();
        assert!(err.contains("`(` is not a valid regular expression"), "{err}");
        let err = render(&mut tera, "{{ 1 | num_format(locale='xx') }}").unwrap_err();
        assert!(err.contains("`xx` is not a locale"), "{err}");
        let err = render(&mut tera, "{{ '@@' | base64_decode }}").unwrap_err();
        assert!(err.contains("not base64"), "{err}");
    }

    #[test]
    fn range_is_teras_but_never_endless_nor_huge() {
        let (_dir, _, mut tera) = site(&[]);
        let cases = [
            ("{% for i in range(end=3) %}{{ i }}{% endfor %}", "012"),
            ("{% for i in range(start=2, end=9, step_by=3) %}{{ i }},{% endfor %}", "2,5,8,"),
            ("{{ range(start=4, end=4) | length }}", "0"),
        ];
        for (template, want) in cases {
            assert_eq!(render(&mut tera, template).as_deref(), Ok(want), "{template}");
        }
        for (template, says) in [
            ("{{ range(end=5, step_by=0) }}", "`step_by` must be at least 1"),
            ("{{ range(end=100000000) }}", "100000000 numbers"),
            ("{{ range(start=5, end=1) }}", "greater than"),
            ("{{ range(end='x') }}", "`end` can only be a number"),
        ] {
            let err = render(&mut tera, template).unwrap_err();
            assert!(err.contains(says), "{template}: {err}");
        }
    }

    #[test]
    fn markdown_filter_calls_the_given_renderer() {
        let (_dir, _, mut tera) = site(&[]);
        assert_eq!(render(&mut tera, "{{ 'a' | markdown | safe }}").as_deref(), Ok("<p>a|false</p>\n"));
        assert_eq!(render(&mut tera, "{{ 'a' | markdown(inline=true) | safe }}").as_deref(), Ok("a|true"));
        let err = render(&mut tera, "{{ 'fail' | markdown }}").unwrap_err();
        assert!(err.contains("markdown: bad markdown"), "{err}");
    }

    #[test]
    fn now_is_the_build_time_and_throw_fails_with_its_message() {
        let (_dir, functions, mut tera) = site(&[]);
        let stamp = functions.started.timestamp().to_string();
        assert_eq!(render(&mut tera, "{{ now(timestamp=true) }}"), Ok(stamp));
        let utc = render(&mut tera, "{{ now(utc=true) }}").unwrap();
        assert!(utc.ends_with("+00:00"), "{utc}");
        assert_eq!(render(&mut tera, "{{ now() }}"), Ok(functions.started.to_rfc3339()));
        let err = render(&mut tera, "{{ throw(message='no author set') }}").unwrap_err();
        assert!(err.contains("no author set"), "{err}");
    }
}
