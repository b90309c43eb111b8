//! Zola's image functions for templates: `resize_image` and
//! `get_image_metadata`, with Zola's arguments, defaults, checks and results.
//!
//! ```text
//! let images = Images::new(root, &config)?;   // Arc<Images>, one per build
//! images.register(&mut tera);                 // adds the two functions
//! … render …
//! for (cached, output) in images.outputs() { /* copy `cached` to `output` */ }
//! ```
//!
//! - An image is resized when the template calls the function (rendering
//!   runs on rayon's threads), once per distinct request: concurrent calls
//!   for the same one wait for the first instead of doing it again.
//! - The encoded file is kept in `.bengal/processed_images/` under a name
//!   made of the source's stem and a hash of its bytes and the options
//!   (`photo.3f2a….webp`), so a rebuild, or another checkout of the same
//!   site, finds it there and publishes it under the same URL,
//!   `processed_images/<name>`. A cached file is written by rename, and is
//!   used only when its header says what it should (format and size).
//! - A path is looked up as Zola does (the site root, then `static/`, then
//!   `content/`; `@/` is `content/`; `page.assets` are paths below
//!   `content/`, as in Zola); whatever it names must resolve inside the site.
//! - Decoding is bounded ([`MAX_SIDE`], [`MAX_ALLOC`]), so a decompression
//!   bomb is an error, not an exhausted machine.
//!
//! Where Bengal differs from Zola: WebP is always encoded losslessly (there
//! is no pure-Rust lossy encoder; `quality` is still checked), AVIF is not
//! offered, `static_path` names the cached file (`.bengal/processed_images/…`,
//! which `get_image_metadata` can read), and an SVG's mime is
//! `image/svg+xml` (Zola says `text/svg+xml`).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, Cursor};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use serde_json::json;
use tera::{Tera, Value};

use crate::build::config::Config;
use crate::error::{Error, Result};
use crate::paths::{self, BENGAL_DIR, CONTENT_DIR, STATIC_DIR};

/// Where processed images are published, relative to the output root, and
/// cached, relative to `.bengal/`.
const PROCESSED_DIR: &str = "processed_images";

/// The widest or tallest image decoded or produced: far above any camera's,
/// far below what a forged header can claim.
pub const MAX_SIDE: u32 = 32_768;

/// The most memory one decode or resize may take (the `image` crate's default).
pub const MAX_ALLOC: u64 = 512 << 20;

/// The largest source or cached file read into memory.
const MAX_FILE: u64 = 256 << 20;

/// Names temporary files apart when threads of one process write at once.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A result computed once by the first thread that asks, which the others
/// wait for; an error is its message for the template.
type Once<T> = OnceLock<std::result::Result<T, String>>;

/// The image functions of one build, shared by its rendering threads.
pub struct Images {
    /// The canonical site root: everything read must resolve inside it.
    root: PathBuf,
    /// `.bengal/processed_images/`, created on the first image encoded.
    cache_dir: Once<PathBuf>,
    /// The configuration: its base path (`/`, `/docs/`), which `page.assets`
    /// paths start with, and the absolute URL of a processed image.
    config: Config,
    /// What each source file holds, by canonical path, redone when its size or mtime changes.
    sources: Mutex<HashMap<PathBuf, Arc<Probe>>>,
    /// Each distinct resize by output name: the cached file, once done.
    resized: Mutex<BTreeMap<String, Arc<Once<PathBuf>>>>,
}

/// A source file as seen at one size and mtime, read once.
struct Probe {
    stamp: (u64, Option<SystemTime>),
    info: Once<Source>,
}

/// What a source image is, read from its bytes and header alone.
#[derive(Clone, Copy)]
struct Source {
    /// [`stable_hash`] of its bytes.
    hash: u64,
    format: ImageFormat,
    /// As displayed: after its EXIF orientation.
    width: u32,
    height: u32,
}

/// A found source file: its canonical path and its name as the author sees it.
struct Found {
    file: PathBuf,
    shown: String,
}

impl Images {
    /// `root`: the site root; the configuration gives the base path (which
    /// `page.assets` paths carry) and the absolute URLs of processed images
    /// ([`Config::permalink`]).
    pub fn new(root: &Path, config: &Config) -> Result<Arc<Images>> {
        let canonical = std::fs::canonicalize(root).map_err(|err| Error::io(root, "open the site", err))?;
        Ok(Arc::new(Images {
            root: canonical,
            cache_dir: OnceLock::new(),
            config: config.clone(),
            sources: Mutex::new(HashMap::new()),
            resized: Mutex::new(BTreeMap::new()),
        }))
    }

    /// Adds `resize_image` and `get_image_metadata` to `tera`.
    pub fn register(self: &Arc<Self>, tera: &mut Tera) {
        let images = Arc::clone(self);
        tera.register_function("resize_image", move |args: &HashMap<String, Value>| images.resize_image(args));
        let images = Arc::clone(self);
        tera.register_function("get_image_metadata", move |args: &HashMap<String, Value>| {
            images.get_image_metadata(args)
        });
    }

    /// Every image produced so far: the cached file and where it goes in the
    /// output (`processed_images/<name>`), sorted by name.
    pub fn outputs(&self) -> Vec<(PathBuf, String)> {
        lock(&self.resized)
            .iter()
            .filter_map(|(name, cell)| match cell.get() {
                Some(Ok(file)) => Some((file.clone(), format!("{PROCESSED_DIR}/{name}"))),
                _ => None,
            })
            .collect()
    }

    fn resize_image(&self, args: &HashMap<String, Value>) -> tera::Result<Value> {
        const F: &str = "resize_image";
        let path = args
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| tera::Error::msg(format!("{F}: needs a `path` argument with a text value")))?;
        let width = u32_arg(args, "width", F)?;
        let height = u32_arg(args, "height", F)?;
        let op = text_arg(args, "op", F)?.unwrap_or("fill");
        let format = text_arg(args, "format", F)?.unwrap_or("auto");
        let quality = u32_arg(args, "quality", F)?;
        // Zola's `speed` is for AVIF, which Bengal does not encode; it is checked and unused.
        u32_arg(args, "speed", F)?;
        let op = Op::parse(op, width, height).map_err(|err| tera::Error::msg(format!("{F}: {err}")))?;
        let found = self.find(path, F)?.ok_or_else(|| not_found(F, path))?;
        let source = self.source(&found).map_err(|err| tera::Error::msg(format!("{F}: {err}")))?;
        let format = Format::parse(format, source.format, quality)
            .map_err(|err| tera::Error::msg(format!("{F}: {err} (resizing {})", found.shown)))?;
        let plan = Plan::new(op, (source.width, source.height));
        let (width, height) = plan.size.unwrap_or((source.width, source.height));
        let name = output_name(&found.file, source.hash, op, format);
        let cell = Arc::clone(lock(&self.resized).entry(name.clone()).or_default());
        cell.get_or_init(|| self.produce(&found, source, &plan, format, &name))
            .as_ref()
            .map_err(|err| tera::Error::msg(format!("{F}: {err}")))?;
        let site_path = self.config.site_path(&format!("{PROCESSED_DIR}/{name}"));
        Ok(json!({
            "url": self.config.permalink(&site_path),
            "static_path": format!("{BENGAL_DIR}/{PROCESSED_DIR}/{name}"),
            "width": width,
            "height": height,
            "orig_width": source.width,
            "orig_height": source.height,
        }))
    }

    fn get_image_metadata(&self, args: &HashMap<String, Value>) -> tera::Result<Value> {
        const F: &str = "get_image_metadata";
        let path = args
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| tera::Error::msg(format!("{F}: needs a `path` argument with a text value")))?;
        let allow_missing = match args.get("allow_missing") {
            None => false,
            Some(value) => value
                .as_bool()
                .ok_or_else(|| tera::Error::msg(format!("{F}: `allow_missing` must be true or false")))?,
        };
        let Some(found) = self.find(path, F)? else {
            return if allow_missing { Ok(Value::Null) } else { Err(not_found(F, path)) };
        };
        if found.file.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("svg")) {
            let (width, height) = svg_size(&found).map_err(|err| tera::Error::msg(format!("{F}: {err}")))?;
            return Ok(json!({"width": width, "height": height, "format": "svg", "mime": "image/svg+xml"}));
        }
        let source = self.source(&found).map_err(|err| tera::Error::msg(format!("{F}: {err}")))?;
        Ok(json!({
            "width": source.width,
            "height": source.height,
            "format": source.format.extensions_str().first(),
            "mime": source.format.to_mime_type(),
        }))
    }

    /// Finds `path` as Zola does (root, `static/`, `content/`; `@/` is
    /// `content/`), then as a `page.assets` path. `Ok(None)` when nothing
    /// is there; an error when what is there is outside the site or not a file.
    fn find(&self, path: &str, function: &str) -> tera::Result<Option<Found>> {
        if path.trim_start_matches('/').is_empty() {
            return Ok(None);
        }
        let zola = match path.strip_prefix("@/") {
            Some(rest) => format!("{CONTENT_DIR}/{rest}"),
            None => path.trim_start_matches('/').to_owned(),
        };
        let mut candidates: Vec<PathBuf> = Vec::new();
        candidates.extend([
            self.root.join(&zola),
            self.root.join(STATIC_DIR).join(&zola),
            self.root.join(CONTENT_DIR).join(&zola),
        ]);
        if self.config.base_path != "/"
            && let Some(rest) = path.strip_prefix(&self.config.base_path)
        {
            candidates.extend([self.root.join(CONTENT_DIR).join(rest), self.root.join(STATIC_DIR).join(rest)]);
        }
        for candidate in candidates {
            if !candidate.exists() {
                continue;
            }
            let shown = candidate.strip_prefix(&self.root).map(paths::slash_path).unwrap_or_else(|_| path.to_owned());
            paths::check_source(&self.root, &candidate, Path::new(&shown)).map_err(|err| {
                let hint = err.hint.map(|hint| format!("; {hint}")).unwrap_or_default();
                tera::Error::msg(format!("{function}: {path}: {}{hint}", err.message))
            })?;
            let file = std::fs::canonicalize(&candidate)
                .map_err(|err| tera::Error::msg(format!("{function}: {shown}: could not resolve it: {err}")))?;
            if !file.is_file() {
                continue;
            }
            return Ok(Some(Found { file, shown }));
        }
        Ok(None)
    }

    /// The source's hash, format and size, read once per size and mtime.
    fn source(&self, found: &Found) -> std::result::Result<Source, String> {
        let meta = std::fs::metadata(&found.file).map_err(|err| format!("could not read {}: {err}", found.shown))?;
        let stamp = (meta.len(), meta.modified().ok());
        let probe = {
            let mut sources = lock(&self.sources);
            let probe =
                sources.entry(found.file.clone()).or_insert_with(|| Arc::new(Probe { stamp, info: OnceLock::new() }));
            if probe.stamp != stamp {
                *probe = Arc::new(Probe { stamp, info: OnceLock::new() });
            }
            Arc::clone(probe)
        };
        probe.info.get_or_init(|| read_source(found)).clone()
    }

    /// The resized image in the cache: reused when a valid one is there,
    /// else decoded, resized, encoded and written by rename.
    fn produce(
        &self,
        found: &Found,
        source: Source,
        plan: &Plan,
        format: Format,
        name: &str,
    ) -> std::result::Result<PathBuf, String> {
        let dir = self
            .cache_dir
            .get_or_init(|| {
                paths::private_dir(&self.root, &format!("{BENGAL_DIR}/{PROCESSED_DIR}")).map_err(|err| err.to_string())
            })
            .clone()?;
        let target = dir.join(name);
        let expected = plan.size.unwrap_or((source.width, source.height));
        if cached_size(&target, format.image_format()) == Some(expected) {
            return Ok(target);
        }
        let bytes = read_bounded(&found.file).map_err(|err| format!("could not read {}: {err}", found.shown))?;
        if stable_hash(&[&bytes]) != source.hash {
            return Err(format!("{} changed while the site was being built; build again", found.shown));
        }
        let encoded = resize(&bytes, plan, format).map_err(|err| format!("could not resize {}: {err}", found.shown))?;
        let temp =
            dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)));
        crate::build::output::write_by_rename(&temp, &target, &encoded).map_err(|err| err.to_string())?;
        Ok(target)
    }
}

/// A poisoned lock only means another render panicked; the maps stay valid.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn not_found(function: &str, path: &str) -> tera::Error {
    tera::Error::msg(format!(
        "{function}: {path} not found in the site root, {STATIC_DIR}/ or {CONTENT_DIR}/; \
         give a path such as content/blog/a.png, @/blog/a.png, static/img/a.png, or one of page.assets"
    ))
}

fn text_arg<'a>(args: &'a HashMap<String, Value>, key: &str, function: &str) -> tera::Result<Option<&'a str>> {
    match args.get(key) {
        None => Ok(None),
        Some(value) => {
            value.as_str().map(Some).ok_or_else(|| tera::Error::msg(format!("{function}: `{key}` must be a text")))
        }
    }
}

fn u32_arg(args: &HashMap<String, Value>, key: &str, function: &str) -> tera::Result<Option<u32>> {
    match args.get(key) {
        None => Ok(None),
        Some(value) => value.as_u64().and_then(|n| u32::try_from(n).ok()).map(Some).ok_or_else(|| {
            tera::Error::msg(format!("{function}: `{key}` must be a non-negative integer, not {value}"))
        }),
    }
}

/// The `op` argument with the sizes it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Exactly this size, whatever the aspect ratio.
    Scale(u32, u32),
    /// This width, the height keeping the aspect ratio.
    FitWidth(u32),
    /// This height, the width keeping the aspect ratio.
    FitHeight(u32),
    /// Within this box keeping the aspect ratio; never enlarged.
    Fit(u32, u32),
    /// Exactly this size: the centre part of the same aspect ratio, scaled.
    Fill(u32, u32),
}

impl Op {
    /// Zola's checks: each op needs its sizes; Bengal also refuses a zero
    /// size (there is no image of width 0) and one above [`MAX_SIDE`].
    fn parse(op: &str, width: Option<u32>, height: Option<u32>) -> std::result::Result<Op, String> {
        let size = |value: Option<u32>, key: &str| match value {
            None => Err(format!("op=\"{op}\" needs a `{key}` argument")),
            Some(0) => Err(format!("`{key}` must be at least 1")),
            Some(n) if n > MAX_SIDE => Err(format!("`{key}` {n} is larger than Bengal's limit of {MAX_SIDE}")),
            Some(n) => Ok(n),
        };
        Ok(match op {
            "scale" => Op::Scale(size(width, "width")?, size(height, "height")?),
            "fit_width" => Op::FitWidth(size(width, "width")?),
            "fit_height" => Op::FitHeight(size(height, "height")?),
            "fit" => Op::Fit(size(width, "width")?, size(height, "height")?),
            "fill" => Op::Fill(size(width, "width")?, size(height, "height")?),
            other => return Err(format!("op must be scale, fit_width, fit_height, fit or fill, not {other:?}")),
        })
    }

    /// The bytes the output name is hashed from.
    fn key(self) -> [u8; 9] {
        let (tag, w, h) = match self {
            Op::Scale(w, h) => (0, w, h),
            Op::FitWidth(w) => (1, w, 0),
            Op::FitHeight(h) => (2, 0, h),
            Op::Fit(w, h) => (3, w, h),
            Op::Fill(w, h) => (4, w, h),
        };
        let mut key = [tag; 9];
        key[1..5].copy_from_slice(&w.to_le_bytes());
        key[5..9].copy_from_slice(&h.to_le_bytes());
        key
    }
}

/// What to do to the displayed image: crop (x, y, w, h) first, then resize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    crop: Option<(u32, u32, u32, u32)>,
    size: Option<(u32, u32)>,
}

impl Plan {
    /// Zola's arithmetic, so that templates get Zola's sizes: integer
    /// division for the fitted side, and `fill` crops only when the aspect
    /// ratios differ by more than a tenth of a scale factor.
    fn new(op: Op, (orig_w, orig_h): (u32, u32)) -> Plan {
        let (ow, oh) = (u64::from(orig_w), u64::from(orig_h));
        // A side computed from a ratio is at least 1 and, from a bounded
        // image and a bounded request, fits u32.
        let side = |n: u64| u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        let resize = |w: u32, h: u32| Plan { crop: None, size: Some((w, h)) };
        match op {
            Op::Scale(w, h) => resize(w, h),
            Op::FitWidth(w) => resize(w, side(oh * u64::from(w) / ow.max(1))),
            Op::FitHeight(h) => resize(side(ow * u64::from(h) / oh.max(1)), h),
            Op::Fit(w, h) if orig_w <= w && orig_h <= h => Plan { crop: None, size: None },
            Op::Fit(w, h) if ow * u64::from(h) > oh * u64::from(w) => Plan::new(Op::FitWidth(w), (orig_w, orig_h)),
            Op::Fit(_, h) => Plan::new(Op::FitHeight(h), (orig_w, orig_h)),
            Op::Fill(w, h) => {
                let factor_w = orig_w as f32 / w as f32;
                let factor_h = orig_h as f32 / h as f32;
                if (factor_w - factor_h).abs() <= 0.1 {
                    return resize(w, h);
                }
                let crop = if factor_w < factor_h {
                    let crop_h = ((factor_w * h as f32).round() as u32).clamp(1, orig_h);
                    (0, (orig_h - crop_h) / 2, orig_w, crop_h)
                } else {
                    let crop_w = ((factor_h * w as f32).round() as u32).clamp(1, orig_w);
                    ((orig_w - crop_w) / 2, 0, crop_w, orig_h)
                };
                Plan { crop: Some(crop), size: Some((w, h)) }
            }
        }
    }
}

/// The output format with its quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Jpeg(u8),
    Png,
    /// Encoded losslessly whatever the quality, which still names the file.
    WebP(Option<u8>),
}

impl Format {
    /// Zola's rules: `auto` is PNG for a lossless source and JPEG for the
    /// rest; JPEG quality is 1 to 100 (75 by default), WebP's 0 to 100.
    fn parse(format: &str, source: ImageFormat, quality: Option<u32>) -> std::result::Result<Format, String> {
        let lossless = matches!(
            source,
            ImageFormat::Png
                | ImageFormat::Pnm
                | ImageFormat::Tiff
                | ImageFormat::Tga
                | ImageFormat::Bmp
                | ImageFormat::Ico
                | ImageFormat::Hdr
                | ImageFormat::Farbfeld
        );
        let quality_in = |range: std::ops::RangeInclusive<u32>, what: &str| match quality {
            Some(q) if !range.contains(&q) => {
                Err(format!("quality for {what} must be from {} to {}, not {q}", range.start(), range.end()))
            }
            // In range, so it fits a u8.
            q => Ok(q.map(|q| q as u8)),
        };
        match (format, lossless) {
            ("auto", false) | ("jpg" | "jpeg", _) => Ok(Format::Jpeg(quality_in(1..=100, "JPEG")?.unwrap_or(75))),
            ("auto", true) | ("png", _) => Ok(Format::Png),
            ("webp", _) => Ok(Format::WebP(quality_in(0..=100, "WebP")?)),
            ("avif", _) => Err("Bengal does not encode AVIF; use format=\"webp\" or \"jpg\"".to_owned()),
            (other, _) => Err(format!("format must be auto, jpg, png or webp, not {other:?}")),
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Format::Jpeg(_) => ImageFormat::Jpeg,
            Format::Png => ImageFormat::Png,
            Format::WebP(_) => ImageFormat::WebP,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Jpeg(_) => "jpg",
            Format::Png => "png",
            Format::WebP(_) => "webp",
        }
    }

    /// The bytes the output name is hashed from.
    fn key(self) -> [u8; 2] {
        match self {
            Format::Jpeg(q) => [0, q],
            Format::Png => [1, 0],
            Format::WebP(None) => [2, 255],
            Format::WebP(Some(q)) => [2, q],
        }
    }
}

/// `stem.<hash of source bytes and options>.ext`: the same request for the
/// same bytes always has the same name, wherever the site is checked out.
fn output_name(file: &Path, source_hash: u64, op: Op, format: Format) -> String {
    let stem = file.file_stem().map_or_else(|| "image".into(), |s| s.to_string_lossy());
    let hash = stable_hash(&[&source_hash.to_le_bytes(), &op.key(), &format.key()]);
    format!("{stem}.{hash:016x}.{}", format.extension())
}

/// A 64-bit hash that is the same on every platform and Rust release (std's
/// `DefaultHasher` promises neither) and fast on megabytes: FxHash's step
/// over 8-byte words, each part's length mixed in, and Murmur3's finaliser.
/// Not for adversaries; a collision only needs the same stem too.
fn stable_hash(parts: &[&[u8]]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let step = |h: u64, word: u64| (h.rotate_left(5) ^ word).wrapping_mul(K);
    // A non-zero start, so that nothing does not hash to 0.
    let mut h = 0xcbf2_9ce4_8422_2325_u64;
    for part in parts {
        h = step(h, part.len() as u64);
        let chunks = part.chunks_exact(8);
        let tail = chunks.remainder();
        for chunk in chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            h = step(h, u64::from_le_bytes(word));
        }
        let mut word = [0u8; 8];
        word[..tail.len()].copy_from_slice(tail);
        h = step(h, u64::from_le_bytes(word));
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The limits of a full decode: a header claiming more is refused before
/// any pixel is allocated.
fn decode_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

/// A source file's bytes, bounded; the path is canonical, so no link is followed.
fn read_bounded(file: &Path) -> std::io::Result<Vec<u8>> {
    paths::read_regular_file(file, MAX_FILE)?.ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
}

/// Hashes the source and reads its header: format, and size as displayed.
fn read_source(found: &Found) -> std::result::Result<Source, String> {
    let bytes = read_bounded(&found.file).map_err(|err| format!("could not read {}: {err}", found.shown))?;
    let not_image = |err: &dyn std::fmt::Display| {
        format!(
            "{} is not an image Bengal can read (JPEG, PNG, WebP, GIF; SVG for get_image_metadata): {err}",
            found.shown
        )
    };
    let reader = ImageReader::new(Cursor::new(&bytes)).with_guessed_format().map_err(|err| not_image(&err))?;
    let format = reader.format().ok_or_else(|| not_image(&"unknown format"))?;
    let mut decoder = reader.into_decoder().map_err(|err| not_image(&err))?;
    let (width, height) = decoder.dimensions();
    let orientation = decoder.orientation().map_err(|err| not_image(&err))?;
    let turned = matches!(
        orientation,
        image::metadata::Orientation::Rotate90
            | image::metadata::Orientation::Rotate270
            | image::metadata::Orientation::Rotate90FlipH
            | image::metadata::Orientation::Rotate270FlipH
    );
    let (width, height) = if turned { (height, width) } else { (width, height) };
    Ok(Source { hash: stable_hash(&[&bytes]), format, width, height })
}

/// The size of a cached file of `format`, if it is a regular file whose
/// header reads; anything else is redone.
fn cached_size(path: &Path, format: ImageFormat) -> Option<(u32, u32)> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut reader = ImageReader::new(BufReader::new(file));
    reader.set_format(format);
    reader.limits(decode_limits());
    reader.into_dimensions().ok()
}

/// Decodes (bounded), orients, crops, resizes and encodes.
fn resize(bytes: &[u8], plan: &Plan, format: Format) -> std::result::Result<Vec<u8>, String> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|err| err.to_string())?;
    reader.limits(decode_limits());
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (src_w, src_h) = decoder.dimensions();
    if let Some((w, h)) = plan.size {
        // The resize first samples vertically into an image as wide as the
        // source (after orientation: its longer side, to be safe) and as
        // tall as the output, four f32 channels a pixel; then the output,
        // at most 16 bits by four channels.
        let work = u64::from(src_w.max(src_h)) * u64::from(h) * 16 + u64::from(w) * u64::from(h) * 8;
        if work > MAX_ALLOC {
            return Err(format!("a {w}x{h} image from a {src_w}x{src_h} one needs more memory than Bengal allows"));
        }
    }
    let icc = decoder.icc_profile().ok().flatten();
    let orientation = decoder.orientation().map_err(|err| err.to_string())?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    img.apply_orientation(orientation);
    if let Some((x, y, w, h)) = plan.crop {
        img = img.crop_imm(x, y, w, h);
    }
    if let Some((w, h)) = plan.size {
        img = img.resize_exact(w, h, image::imageops::FilterType::Lanczos3);
    }
    let mut out = Vec::new();
    let written = match format {
        Format::Png => {
            let mut encoder = image::codecs::png::PngEncoder::new(&mut out);
            set_icc(&mut encoder, icc);
            img.write_with_encoder(encoder)
        }
        Format::Jpeg(quality) => {
            // JPEG has no alpha and 8 bits: anything else becomes RGB8.
            if !matches!(img.color(), image::ColorType::L8 | image::ColorType::Rgb8) {
                img = DynamicImage::ImageRgb8(img.to_rgb8());
            }
            let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
            set_icc(&mut encoder, icc);
            img.write_with_encoder(encoder)
        }
        Format::WebP(_) => {
            // The lossless encoder takes 8-bit RGB or RGBA.
            img = if img.color().has_alpha() {
                DynamicImage::ImageRgba8(img.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(img.to_rgb8())
            };
            let mut encoder = image::codecs::webp::WebPEncoder::new_lossless(&mut out);
            set_icc(&mut encoder, icc);
            img.write_with_encoder(encoder)
        }
    };
    written.map_err(|err| err.to_string())?;
    Ok(out)
}

/// A limit hit says which limit, and what to do; other errors are the decoder's.
fn decode_error(err: image::ImageError) -> String {
    match err {
        image::ImageError::Limits(_) => format!(
            "it is larger than Bengal decodes (at most {MAX_SIDE} pixels a side and {} MiB); \
             make a smaller copy of it with an image editor",
            MAX_ALLOC >> 20
        ),
        other => other.to_string(),
    }
}

/// Keeps the source's colour profile where the encoder can carry it; where
/// it cannot, the pixels are written as they are (as Zola does).
fn set_icc(encoder: &mut dyn image::ImageEncoder, icc: Option<Vec<u8>>) {
    if let Some(icc) = icc {
        let _ = encoder.set_icc_profile(icc);
    }
}

/// An SVG's size: its `width` and `height`, else its `viewBox`'s.
fn svg_size(found: &Found) -> std::result::Result<(u32, u32), String> {
    let bytes = read_bounded(&found.file).map_err(|err| format!("could not read {}: {err}", found.shown))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", found.shown))?;
    let meta =
        svg_metadata::Metadata::parse(text).map_err(|err| format!("{} is not a valid SVG: {err}", found.shown))?;
    match (meta.width(), meta.height(), meta.view_box()) {
        (Some(w), Some(h), _) => Ok((w as u32, h as u32)),
        (_, _, Some(view_box)) => Ok((view_box.width as u32, view_box.height as u32)),
        _ => Err(format!("{} sets neither width and height nor a viewBox", found.shown)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A site with `bengal.toml` and the 300×380 PNG of Zola's examples in
    /// `content/blog/post/zola.png`, and a JPEG in `static/photo.jpg`.
    fn site() -> (tempfile::TempDir, Arc<Images>) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("bengal.toml"), "base_url = \"https://example.org/docs/\"\n").unwrap();
        std::fs::create_dir_all(root.join("content/blog/post")).unwrap();
        std::fs::create_dir_all(root.join("static")).unwrap();
        let gradient = image::RgbaImage::from_fn(300, 380, |x, y| image::Rgba([x as u8, y as u8, 128, 255]));
        gradient.save(root.join("content/blog/post/zola.png")).unwrap();
        let photo = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
        photo.save(root.join("static/photo.jpg")).unwrap();
        let images = Images::new(root, &config()).unwrap();
        (dir, images)
    }

    fn config() -> Config {
        Config::parse("base_url = \"https://example.org/docs/\"").unwrap()
    }

    fn call(images: &Arc<Images>, template: &str) -> tera::Result<String> {
        let mut tera = Tera::default();
        images.register(&mut tera);
        tera.render_str(template, &tera::Context::new())
    }

    /// The full message of a Tera error, its sources included.
    fn message(err: &tera::Error) -> String {
        let mut text = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(inner) = source {
            text.push_str(&format!(" | {inner}"));
            source = inner.source();
        }
        text
    }

    fn resized(images: &Arc<Images>, args: &str) -> serde_json::Value {
        let out = call(images, &format!("{{{{ resize_image({args}) | json_encode() | safe }}}}")).unwrap();
        serde_json::from_str(&out).unwrap()
    }

    #[test]
    fn each_op_gives_zolas_sizes() {
        // Zola's documentation, on its 300×380 example image.
        let (_dir, images) = site();
        let path = "path='content/blog/post/zola.png'";
        let cases = [
            ("width=150, height=150, op='scale'", (150, 150)),
            ("width=100, op='fit_width'", (100, 126)),
            ("height=150, op='fit_height'", (118, 150)),
            ("width=5000, height=5000, op='fit'", (300, 380)),
            ("width=150, height=150, op='fit'", (118, 150)),
            ("width=150, height=150, op='fill'", (150, 150)),
            ("width=150, height=150", (150, 150)),
        ];
        for (args, (width, height)) in cases {
            let value = resized(&images, &format!("{path}, {args}"));
            assert_eq!((value["width"].as_u64(), value["height"].as_u64()), (Some(width), Some(height)), "{args}");
            assert_eq!((value["orig_width"].as_u64(), value["orig_height"].as_u64()), (Some(300), Some(380)));
            let (cached, output) = images
                .outputs()
                .into_iter()
                .find(|(_, output)| value["url"].as_str().unwrap().ends_with(output.as_str()))
                .unwrap();
            assert!(output.starts_with("processed_images/zola."), "{output}");
            let actual = ImageReader::open(&cached).unwrap().into_dimensions().unwrap();
            assert_eq!(actual, (width as u32, height as u32), "{args}");
        }
        assert_eq!(Plan::new(Op::Fill(150, 150), (300, 380)).crop, Some((0, 40, 300, 300)));
    }

    #[test]
    fn result_has_zolas_fields_and_formats() {
        let (_dir, images) = site();
        let png = resized(&images, "path='@/blog/post/zola.png', width=30, height=30");
        let name = png["url"].as_str().unwrap().strip_prefix("https://example.org/docs/processed_images/").unwrap();
        assert!(name.starts_with("zola.") && name.ends_with(".png"), "{name}");
        assert_eq!(png["static_path"], format!(".bengal/processed_images/{name}"));
        let meta = call(
            &images,
            &format!("{{% set m = get_image_metadata(path='.bengal/processed_images/{name}') %}}{{{{ m.width }}}}"),
        );
        assert_eq!(meta.unwrap(), "30", "static_path can be read back");
        // A lossy source becomes a JPEG; webp and jpg are asked for by name.
        let jpg = resized(&images, "path='photo.jpg', width=32, op='fit_width'");
        assert!(jpg["url"].as_str().unwrap().ends_with(".jpg"), "{jpg}");
        assert_eq!(jpg["height"], 24);
        let webp = resized(&images, "path='/static/photo.jpg', width=32, height=10, format='webp', quality=80");
        assert!(webp["url"].as_str().unwrap().ends_with(".webp"), "{webp}");
        let outputs = images.outputs();
        assert_eq!(outputs.len(), 3);
        for (cached, output) in &outputs {
            let format = ImageFormat::from_path(output).unwrap();
            let mut reader = ImageReader::open(cached).unwrap();
            reader.set_format(format);
            assert!(reader.decode().is_ok(), "{output}");
        }
        // The same request again is the same file.
        assert_eq!(resized(&images, "path='content/blog/post/zola.png', width=30, height=30"), png);
        assert_eq!(images.outputs().len(), 3);
    }

    #[test]
    fn page_assets_paths_are_found() {
        let (_dir, images) = site();
        let value = resized(&images, "path='/docs/blog/post/zola.png', width=10, height=10");
        assert_eq!(value["orig_width"], 300);
        // Zola's `page.assets` form: the path below `content/`.
        let value = resized(&images, "path='/blog/post/zola.png', width=10, height=10");
        assert_eq!(value["orig_height"], 380);
    }

    #[test]
    fn a_cached_image_is_not_encoded_again() {
        let (dir, images) = site();
        let args = "path='content/blog/post/zola.png', width=40, height=40, op='fill'";
        resized(&images, args);
        let [(cached, _)] = images.outputs().try_into().unwrap();
        let before = std::fs::metadata(&cached).unwrap();
        use std::os::unix::fs::MetadataExt;

        // A later build (a new Images) finds the file and leaves it alone.
        let again = Images::new(dir.path(), &config()).unwrap();
        resized(&again, args);
        assert_eq!(again.outputs(), images.outputs());
        let after = std::fs::metadata(&cached).unwrap();
        assert_eq!((after.ino(), after.mtime_nsec()), (before.ino(), before.mtime_nsec()));

        // A truncated cache file is not trusted: it is written anew.
        std::fs::write(&cached, b"\x89PNG").unwrap();
        let third = Images::new(dir.path(), &config()).unwrap();
        resized(&third, args);
        assert_eq!(ImageReader::open(&cached).unwrap().into_dimensions().unwrap(), (40, 40));
    }

    #[test]
    fn concurrent_calls_share_one_resize() {
        let (dir, images) = site();
        let args = "path='content/blog/post/zola.png', width=50, height=60, format='webp'";
        let values: Vec<_> = std::thread::scope(|scope| {
            let calls: Vec<_> = (0..4).map(|_| scope.spawn(|| resized(&images, args))).collect();
            calls.into_iter().map(|call| call.join().unwrap()).collect()
        });
        assert!(values.iter().all(|value| *value == values[0]));
        assert_eq!(images.outputs().len(), 1);
        let cached: Vec<_> = std::fs::read_dir(dir.path().join(".bengal/processed_images")).unwrap().collect();
        assert_eq!(cached.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_changed_source_gets_a_new_name() {
        let (dir, images) = site();
        let args = "path='static/photo.jpg', width=8, height=8";
        let first = resized(&images, args);
        image::RgbImage::from_pixel(64, 48, image::Rgb([1, 2, 3])).save(dir.path().join("static/photo.jpg")).unwrap();
        let second = resized(&Images::new(dir.path(), &config()).unwrap(), args);
        assert_ne!(first["url"], second["url"]);
    }

    #[test]
    fn missing_files_and_bad_arguments_are_explained() {
        let (_dir, images) = site();
        let err = call(&images, "{{ resize_image(path='images/x.png', width=10, height=10) }}").unwrap_err();
        let text = message(&err);
        assert!(text.contains("resize_image: images/x.png not found in the site root, static/ or content/"), "{text}");
        let cases = [
            ("op='fit_width'", "op=\"fit_width\" needs a `width` argument"),
            ("width=10, height=10, op='stretch'", "op must be scale"),
            ("width=10, height=10, format='gif'", "format must be auto, jpg, png or webp"),
            ("width=10, height=10, format='jpg', quality=0", "quality for JPEG must be from 1 to 100"),
            ("width=-1, height=10", "`width` must be a non-negative integer"),
            ("width=0, height=10", "`width` must be at least 1"),
        ];
        for (args, expected) in cases {
            let err = call(&images, &format!("{{{{ resize_image(path='photo.jpg', {args}) }}}}")).unwrap_err();
            assert!(message(&err).contains(expected), "{args}: {}", message(&err));
        }
        assert_eq!(call(&images, "{{ get_image_metadata(path='x.png', allow_missing=true) }}").unwrap(), "");
        let err = call(&images, "{{ get_image_metadata(path='x.png') }}").unwrap_err();
        assert!(message(&err).contains("get_image_metadata: x.png not found"), "{}", message(&err));
    }

    #[test]
    fn paths_outside_the_site_are_refused() {
        let (dir, images) = site();
        let outside = tempfile::tempdir().unwrap();
        image::RgbImage::new(4, 4).save(outside.path().join("secret.png")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.png"), dir.path().join("static/link.png")).unwrap();
        let err = call(&images, "{{ get_image_metadata(path='link.png') }}").unwrap_err();
        assert!(message(&err).contains("resolves outside the site"), "{}", message(&err));
        assert!(message(&err).contains("copy the file into the site"), "{}", message(&err));
        let climb = format!("../{}/secret.png", outside.path().file_name().unwrap().to_string_lossy());
        let err = call(&images, &format!("{{{{ resize_image(path='{climb}', width=2, height=2) }}}}")).unwrap_err();
        assert!(message(&err).contains("resolves outside the site"), "{}", message(&err));
        let err = call(&images, "{{ get_image_metadata(path='/etc/hostname') }}").unwrap_err();
        assert!(message(&err).contains("not found"), "{}", message(&err));
    }

    #[test]
    fn a_decompression_bomb_is_an_error() {
        // A valid PNG header claiming 100000×100000 pixels, and no pixels:
        // its size can be read, but it is never decoded.
        let (dir, images) = site();
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend(100_000u32.to_be_bytes());
        ihdr.extend(100_000u32.to_be_bytes());
        ihdr.extend([8, 6, 0, 0, 0]);
        for chunk in [&ihdr[..], b"IDAT", b"IEND"] {
            png.extend((chunk.len() as u32 - 4).to_be_bytes());
            png.extend(chunk);
            png.extend(crc32(chunk).to_be_bytes());
        }
        std::fs::write(dir.path().join("static/bomb.png"), &png).unwrap();
        let meta = call(&images, "{{ get_image_metadata(path='bomb.png') | json_encode() | safe }}").unwrap();
        assert_eq!(meta, r#"{"format":"png","height":100000,"mime":"image/png","width":100000}"#);
        let err = call(&images, "{{ resize_image(path='bomb.png', width=10, height=10) }}").unwrap_err();
        let text = message(&err);
        assert!(text.contains("could not resize static/bomb.png: it is larger than Bengal decodes"), "{text}");
        assert!(images.outputs().is_empty());
    }

    /// PNG's CRC-32, for the forged header above.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn metadata_has_zolas_shape_svg_too() {
        let (dir, images) = site();
        let meta = call(&images, "{{ get_image_metadata(path='photo.jpg') | json_encode() | safe }}").unwrap();
        assert_eq!(meta, r#"{"format":"jpg","height":48,"mime":"image/jpeg","width":64}"#);
        std::fs::write(
            dir.path().join("static/logo.svg"),
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 105"/>"#,
        )
        .unwrap();
        let meta = call(&images, "{{ get_image_metadata(path='logo.svg') | json_encode() | safe }}").unwrap();
        assert_eq!(meta, r#"{"format":"svg","height":105,"mime":"image/svg+xml","width":96}"#);
    }

    #[test]
    fn the_hash_is_stable() {
        // Names must not change between Bengal releases: pinned values.
        assert_eq!(format!("{:016x}", stable_hash(&[b""])), "9e45d06b6217989e");
        assert_eq!(format!("{:016x}", stable_hash(&[b"bengal.png"])), "85231ab4737211b0");
        assert_ne!(stable_hash(&[b"ab", b"c"]), stable_hash(&[b"a", b"bc"]));
    }
}
