//! Sass: a site's `sass/` compiled to CSS, as Zola does with
//! `compile_sass = true`, by [grass](https://github.com/connorskees/grass)
//! (the compiler Zola uses, so a Zola site's stylesheets mean the same here).
//!
//! The API, for whoever wires it into the build:
//!
//! - [`compile`]`(root, theme_sass)` → every [`Stylesheet`] of the site, in
//!   output path order, or one [`Error`] with every broken file in
//!   [`Error::more`]. It only reads; writing the CSS is the caller's.
//! - [`compile_theme`]`(root, theme_sass)`: the theme's alone, for a site
//!   with a theme but without `compile_sass` (Zola compiles it even then).
//! - [`is_sass_source`]`(path)`: whether a change at `path` (relative to the
//!   site root) can change what `compile` returns, for the dev server.
//!
//! The rules, Zola's:
//!
//! - Every `.scss` or `.sass` file under `sass/` is an entry point compiled to
//!   the same relative path with `.css` (`sass/sub/x.scss` → `sub/x.css`),
//!   unless its name or one of its folders' names under `sass/` starts with
//!   `_`: those are partials, only imported.
//! - `x.scss` and `x.sass` in one folder would both be `x.css`: an error.
//! - A theme's `sass/` is compiled too; a site file with the same output path
//!   replaces the theme's (Zola compiles the theme first and the site over it).
//! - An import is looked up next to the importing file, then in `sass/`, then
//!   in the theme's `sass/`. Whatever it finds must resolve inside the site:
//!   `@import "../../../etc/x"` or a symlink out of the site is refused, as
//!   every other source is (see [`crate::paths`]).
//!
//! Bounds, so that a stylesheet cannot hang a build: each file read (entry or
//! import) is at most [`MAX_SASS_BYTES`], never through a FIFO; an import
//! cycle, a file importing itself among them, is grass's error
//! ("This file is already being loaded."), at the import that closes it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::paths::{self, SASS_DIR};

/// The largest stylesheet read. Bootstrap's whole Sass source is under half
/// a megabyte; anything near this is a mistake (a generated or binary file
/// named `.scss`) that would only make the build slow.
pub const MAX_SASS_BYTES: u64 = 8 << 20;

/// One compiled stylesheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stylesheet {
    /// The entry point, relative to the site root (`sass/main.scss`,
    /// `themes/NAME/sass/main.scss`), for messages and the dev server.
    pub source: PathBuf,
    /// The output path, relative to the output root (`main.css`, `sub/x.css`).
    pub output: String,
    /// The compiled CSS, compressed as Zola writes it.
    pub css: String,
}

/// Compiles every entry point of `root`'s `sass/` and of `theme_sass` (a
/// theme's `sass/` folder, given as a path like `root`; lower priority than
/// the site's): what `compile_sass = true` asks for. A missing folder has no
/// stylesheets. Every file that fails is reported, in output path order.
pub fn compile(root: &Path, theme_sass: Option<&Path>) -> Result<Vec<Stylesheet>> {
    compile_dirs(root, true, theme_sass)
}

/// Compiles only `theme_sass`, a theme's `sass/` folder: Zola compiles a
/// theme's stylesheets whenever a theme is set, and the site's own only with
/// `compile_sass = true`, so a site without it still gets its theme's CSS.
pub fn compile_theme(root: &Path, theme_sass: &Path) -> Result<Vec<Stylesheet>> {
    compile_dirs(root, false, Some(theme_sass))
}

/// [`compile`] and [`compile_theme`]: the site's `sass/` when `site_sass`.
fn compile_dirs(root: &Path, site_sass: bool, theme_sass: Option<&Path>) -> Result<Vec<Stylesheet>> {
    let site = std::fs::canonicalize(root).map_err(|err| Error::io(root, "open the site", err))?;
    let site_sass = if site_sass { source_dir(&site, root, &root.join(SASS_DIR))? } else { None };
    let theme_sass = match theme_sass {
        Some(dir) => source_dir(&site, root, dir)?,
        None => None,
    };
    // The theme's first, so that the site's replace them by output path.
    let found = crate::error::all(theme_sass.iter().chain(&site_sass).map(|dir| entry_points(&site, dir)))?;
    let entries: BTreeMap<String, PathBuf> = found.into_iter().flatten().collect();
    // Looked up after the importing file's own folder, the site's first.
    let load_paths: Vec<&PathBuf> = site_sass.iter().chain(&theme_sass).collect();
    let compiled: Vec<Result<Stylesheet>> = entries
        .into_iter()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(output, source)| {
            let css = compile_file(&site, &load_paths, &source)?;
            Ok(Stylesheet { source, output, css })
        })
        .collect();
    crate::error::all(compiled)
}

/// Whether a change at `path`, relative to the site root, can change what
/// [`compile`] returns: anything under `sass/` or `themes/NAME/sass/`, where
/// every entry point and import lives (a deleted or renamed folder too). An
/// import reached through a symlink to elsewhere in the site is read from
/// its target, which this does not know of.
pub fn is_sass_source(path: &Path) -> bool {
    let mut parts = path.components().map(|part| part.as_os_str());
    match parts.next() {
        Some(first) if first == SASS_DIR => true,
        Some(first) if first == crate::paths::THEMES_DIR => parts.nth(1).is_some_and(|dir| dir == SASS_DIR),
        _ => false,
    }
}

/// `dir` canonical, when it exists and resolves inside the site (`site`,
/// canonical); `root` is the root as given, for the name in errors.
fn source_dir(site: &Path, root: &Path, dir: &Path) -> Result<Option<PathBuf>> {
    if std::fs::symlink_metadata(dir).is_err() {
        return Ok(None);
    }
    let shown = dir.strip_prefix(root).unwrap_or(dir);
    paths::check_source(site, dir, shown)?;
    let dir = std::fs::canonicalize(dir).map_err(|err| Error::io(shown, "resolve it", err))?;
    if !dir.is_dir() {
        return Err(
            Error::in_file(shown, "is not a directory").with_hint("Sass stylesheets go in a folder of that name")
        );
    }
    Ok(Some(dir))
}

/// The entry points under `dir` (canonical, inside `site`): output path →
/// source relative to the site. Partials (`_name`, or inside a `_folder`) are
/// skipped; two sources of one output are an error, every such pair reported.
fn entry_points(site: &Path, dir: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut conflicts: Vec<Result<()>> = Vec::new();
    let mut walker = paths::walk(dir);
    while let Some(entry) = walker.next() {
        let entry = entry.map_err(|err| paths::walk_error(site, dir, err))?;
        if entry.depth() > 0 && entry.file_name().to_string_lossy().starts_with('_') {
            if entry.file_type().is_dir() {
                walker.skip_current_dir();
            }
            continue;
        }
        paths::check_entry(site, site, &entry)?;
        let is_sass = entry.path().extension().is_some_and(|ext| ext == "scss" || ext == "sass");
        if !entry.file_type().is_file() || !is_sass {
            continue;
        }
        let output = paths::output_path(site, dir, entry.path())?;
        let output = paths::slash_path(&Path::new(&output).with_extension("css"));
        let source = entry.path().strip_prefix(site).unwrap_or(entry.path()).to_path_buf();
        match found.get(&output) {
            Some(first) => conflicts.push(Err(Error::in_file(
                &source,
                format!("compiles to {output}, as {} does", first.display()),
            )
            .with_hint("rename one of them: `.scss` and `.sass` files of one name in one folder clash"))),
            None => {
                found.insert(output, source);
            }
        }
    }
    crate::error::all(conflicts)?;
    Ok(found)
}

/// Compiles one entry point (`source`, relative to `site`), compressed as
/// Zola does. grass's own output (`@warn`, `@debug`) is silenced: the build
/// prints nothing itself, and stray lines would break the progress bar and
/// the dev server's log.
fn compile_file(site: &Path, load_paths: &[&PathBuf], source: &Path) -> Result<String> {
    let fs = SiteFs { site, refused: RefCell::new(None), unreadable: RefCell::new(None) };
    let options =
        grass::Options::default().fs(&fs).load_paths(load_paths).style(grass::OutputStyle::Compressed).quiet(true);
    let compiled = grass::from_path(site.join(source), &options);
    // What grass made of the empty stand-in does not matter: the file is the fault.
    if let Some(err) = fs.unreadable.take() {
        return Err(err);
    }
    compiled.map_err(|err| fs.error(*err, source))
}

/// grass's view of the disk: only what resolves inside the site exists, and
/// each file is read as [`paths::read_regular_file`] reads Bengal's own
/// (bounded, not blocking, a regular file only) and must be UTF-8.
///
/// A read never fails towards grass: grass 0.13 panics on an I/O or UTF-8
/// error inside an import (it expects every error there to carry a span),
/// and a panic ends the dev server. The file is given to grass as empty
/// instead, and its error kept in `unreadable` for [`compile_file`].
#[derive(Debug)]
struct SiteFs<'a> {
    /// The site root, canonical.
    site: &'a Path,
    /// A candidate of the import being looked up that exists but resolves
    /// outside the site (to this): grass reports "can't find", this says why.
    refused: RefCell<Option<PathBuf>>,
    /// The first file that could not be read.
    unreadable: RefCell<Option<Error>>,
}

impl SiteFs<'_> {
    /// `path`'s target, when it exists inside the site.
    fn inside(&self, path: &Path) -> Option<PathBuf> {
        let target = std::fs::canonicalize(path).ok()?;
        if target.starts_with(self.site) {
            return Some(target);
        }
        *self.refused.borrow_mut() = Some(target);
        None
    }

    /// `path` relative to the site, as errors name files.
    fn shown(&self, path: &Path) -> PathBuf {
        path.strip_prefix(self.site).unwrap_or(path).to_path_buf()
    }

    /// `path`'s text, or why it cannot be compiled.
    fn read_text(&self, path: &Path) -> Result<Vec<u8>> {
        let shown = self.shown(path);
        paths::check_source(self.site, path, &shown)?;
        // The target itself: `read_regular_file` follows no link, and this one was checked.
        let target = std::fs::canonicalize(path).map_err(|err| Error::io(&shown, "resolve it", err))?;
        let too_big = || format!("Sass files are read up to {MAX_SASS_BYTES} bytes: split it into partials");
        let bytes = match paths::read_regular_file(&target, MAX_SASS_BYTES) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Err(Error::in_file(&shown, "was removed while it was compiled")),
            Err(err) => return Err(Error::io(&shown, "read it", err).with_hint(too_big())),
        };
        if let Err(err) = std::str::from_utf8(&bytes) {
            let line = bytes[..err.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
            return Err(Error::in_file(&shown, "is not UTF-8 text").at_line(Some(line)).with_hint("save it as UTF-8"));
        }
        Ok(bytes)
    }

    /// grass's error of compiling `source` as Bengal's: the file where it
    /// is (an imported partial's, not the entry point's), the line, a hint.
    fn error(&self, err: grass::Error, source: &Path) -> Error {
        match err.kind() {
            grass::ErrorKind::ParseError { message, loc, .. } => {
                let file = self.shown(Path::new(loc.file.name()));
                let error = match self.refused.take() {
                    Some(target) if message == CANT_FIND => {
                        Error::in_file(file, format!("imports a stylesheet outside the site ({})", target.display()))
                            .with_hint("copy the stylesheet into sass/; imports are read only from inside the site")
                    }
                    _ => {
                        let hint = hint_for(&message);
                        Error::in_file(file, message).with_hint(hint)
                    }
                };
                error.at_line(Some(loc.begin.line + 1))
            }
            // Not from a read (those never fail, see `SiteFs`): kept for what a later grass may add.
            other => Error::in_file(source, format!("could not compile: {other:?}")),
        }
    }
}

/// grass's message for an import it found nowhere.
const CANT_FIND: &str = "Can't find stylesheet to import.";

/// What to do about grass's `message`.
fn hint_for(message: &str) -> &'static str {
    if message == CANT_FIND {
        "an import is looked up next to the importing file, then in sass/ and the theme's sass/; \
         a partial `_name.scss` is imported as `name`"
    } else if message.contains("already being loaded") {
        "an import leads back to a file being loaded (an import cycle): remove one of its imports"
    } else {
        "fix the stylesheet there (grass compiles Sass as dart-sass does: https://sass-lang.com/documentation)"
    }
}

impl grass::Fs for SiteFs<'_> {
    fn is_dir(&self, path: &Path) -> bool {
        self.inside(path).is_some_and(|target| target.is_dir())
    }

    fn is_file(&self, path: &Path) -> bool {
        self.inside(path).is_some_and(|target| target.is_file())
    }

    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        // A new file: what an earlier lookup refused is not this import's.
        self.refused.take();
        match self.read_text(path) {
            Ok(bytes) => Ok(bytes),
            Err(err) => {
                self.unreadable.borrow_mut().get_or_insert(err);
                Ok(Vec::new())
            }
        }
    }

    fn canonicalize(&self, path: &Path) -> std::io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A site at `dir/site` (so `dir` is outside it) with `files`.
    fn site_with(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("site");
        for (name, text) in files {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        std::fs::create_dir_all(&root).unwrap();
        (dir, root)
    }

    fn outputs(sheets: &[Stylesheet]) -> Vec<(&str, String)> {
        sheets.iter().map(|s| (s.output.as_str(), paths::slash_path(&s.source))).collect()
    }

    #[test]
    fn entry_points_keep_their_path_and_partials_are_only_imported() {
        let (_dir, root) = site_with(&[
            ("sass/main.scss", "@import \"colors\";\na { color: $link; }\n"),
            ("sass/_colors.scss", "$link: #123456;\n"),
            ("sass/sub/x.sass", "@import \"colors\"\nb\n  color: $link\n"),
            ("sass/_vendor/y.scss", "c { color: red; }\n"),
            ("sass/notes.txt", "not a stylesheet"),
        ]);
        let sheets = compile(&root, None).unwrap();
        assert_eq!(
            outputs(&sheets),
            [("main.css", "sass/main.scss".to_owned()), ("sub/x.css", "sass/sub/x.sass".to_owned())]
        );
        assert_eq!(sheets[0].css.trim(), "a{color:#123456}");
        assert_eq!(sheets[1].css.trim(), "b{color:#123456}");
    }

    #[test]
    fn a_site_without_sass_has_no_stylesheets() {
        let (_dir, root) = site_with(&[]);
        assert_eq!(compile(&root, None).unwrap(), []);
    }

    #[test]
    fn site_files_replace_the_themes_and_import_its_partials() {
        let (_dir, root) = site_with(&[
            ("themes/t/sass/main.scss", "a { color: red; }"),
            ("themes/t/sass/extra.scss", "@import \"base\";"),
            ("themes/t/sass/_base.scss", "$c: green; b { color: $c; }"),
            ("sass/main.scss", "@import \"base\"; a { color: $c; }"),
        ]);
        let sheets = compile(&root, Some(&root.join("themes/t/sass"))).unwrap();
        assert_eq!(
            outputs(&sheets),
            [("extra.css", "themes/t/sass/extra.scss".to_owned()), ("main.css", "sass/main.scss".to_owned())]
        );
        assert_eq!(sheets[1].css.trim(), "b{color:green}a{color:green}");
    }

    #[test]
    fn without_compile_sass_only_the_theme_is_compiled() {
        let (_dir, root) = site_with(&[
            ("themes/t/sass/main.scss", "@import \"base\"; a { color: $c; }"),
            ("themes/t/sass/_base.scss", "$c: red;"),
            ("sass/main.scss", "a { color: blue; }"),
            ("sass/_base.scss", "$c: blue;"),
        ]);
        let sheets = compile_theme(&root, &root.join("themes/t/sass")).unwrap();
        assert_eq!(outputs(&sheets), [("main.css", "themes/t/sass/main.scss".to_owned())]);
        assert_eq!(sheets[0].css.trim(), "a{color:red}");
    }

    #[test]
    fn an_error_names_the_partial_and_line_where_it_is() {
        let (_dir, root) = site_with(&[
            ("sass/main.scss", "a { color: red; }\n@import \"broken\";\n"),
            ("sass/_broken.scss", "b {\n  color: red;\n  width: 1px + 1s;\n}\n"),
        ]);
        let err = compile(&root, None).unwrap_err();
        assert_eq!(err.file.as_deref(), Some(Path::new("sass/_broken.scss")), "{err}");
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.message.contains("Incompatible units"), "{err}");
        assert!(err.hint.is_some());
    }

    #[test]
    fn every_broken_file_is_reported() {
        let (_dir, root) = site_with(&[
            ("sass/a.scss", "a { color: $nope; }"),
            ("sass/b.scss", "ok { color: red; }"),
            ("sass/c.scss", "\n\nc { color: red;"),
        ]);
        let err = compile(&root, None).unwrap_err();
        assert_eq!(err.location().as_deref(), Some("sass/a.scss:1"), "{err}");
        assert!(err.message.contains("Undefined variable"), "{err}");
        assert_eq!(err.more.len(), 1, "{err:?}");
        assert_eq!(err.more[0].file.as_deref(), Some(Path::new("sass/c.scss")));
        assert_eq!(err.more[0].line, Some(3));
    }

    #[test]
    fn import_cycles_end_in_an_error() {
        let (_dir, root) = site_with(&[
            ("sass/self.scss", "@import \"self\";\n"),
            ("sass/a.scss", "@import \"b\";\n"),
            ("sass/_b.scss", "x { y: z; }\n@import \"a\";\n"),
        ]);
        let err = compile(&root, None).unwrap_err();
        let all: Vec<&Error> = std::iter::once(&err).chain(&err.more).collect();
        assert_eq!(all.len(), 2, "{err:?}");
        assert_eq!(all[0].location().as_deref(), Some("sass/_b.scss:2"));
        assert_eq!(all[1].location().as_deref(), Some("sass/self.scss:1"));
        assert!(all.iter().all(|e| e.message.contains("already being loaded")), "{err:?}");
    }

    #[test]
    fn imports_outside_the_site_are_refused() {
        let (dir, root) = site_with(&[
            ("sass/up.scss", "a { b: c; }\n@import \"../../secret\";\n"),
            ("sass/linked.scss", "@import \"link\";\n"),
        ]);
        std::fs::write(dir.path().join("_secret.scss"), "$leak: 1;").unwrap();
        std::os::unix::fs::symlink(dir.path().join("_secret.scss"), root.join("sass/_link.scss")).unwrap();
        let err = compile(&root, None).unwrap_err();
        assert_eq!(err.location().as_deref(), Some("sass/linked.scss:1"), "{err}");
        assert!(err.message.contains("outside the site"), "{err}");
        assert_eq!(err.more.len(), 1, "{err:?}");
        assert_eq!(err.more[0].location().as_deref(), Some("sass/up.scss:2"));
        assert!(err.more[0].message.contains("outside the site"), "{err:?}");
    }

    #[test]
    fn an_entry_point_linked_outside_the_site_is_refused() {
        let (dir, root) = site_with(&[("sass/ok.scss", "")]);
        std::fs::write(dir.path().join("outside.scss"), "a { b: c; }").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside.scss"), root.join("sass/evil.scss")).unwrap();
        let err = compile(&root, None).unwrap_err();
        assert_eq!(err.file.as_deref(), Some(Path::new("sass/evil.scss")));
        assert!(err.message.contains("outside the site"), "{err}");
    }

    #[test]
    fn a_huge_file_is_refused_unread() {
        let (_dir, root) = site_with(&[("sass/main.scss", "@import \"huge\";")]);
        let huge = std::fs::File::create(root.join("sass/_huge.scss")).unwrap();
        huge.set_len(MAX_SASS_BYTES + 1).unwrap();
        let err = compile(&root, None).unwrap_err();
        assert_eq!(err.file.as_deref(), Some(Path::new("sass/_huge.scss")), "{err}");
        assert!(err.message.contains("larger than"), "{err}");
    }

    #[test]
    fn a_partial_that_is_not_utf8_is_named_with_its_line() {
        let (_dir, root) = site_with(&[("sass/main.scss", "@import \"latin1\";")]);
        std::fs::write(root.join("sass/_latin1.scss"), b"a { b: c; }\n/* caf\xe9 */\n").unwrap();
        let err = compile(&root, None).unwrap_err();
        assert_eq!(err.location().as_deref(), Some("sass/_latin1.scss:2"), "{err}");
        assert!(err.message.contains("UTF-8"), "{err}");
    }

    #[test]
    fn two_sources_of_one_output_clash() {
        let (_dir, root) = site_with(&[("sass/x.scss", ""), ("sass/x.sass", "")]);
        let err = compile(&root, None).unwrap_err();
        assert_eq!(err.file.as_deref(), Some(Path::new("sass/x.scss")));
        assert!(err.message.contains("as sass/x.sass does"), "{err}");
    }

    #[test]
    fn a_source_whose_name_is_not_utf8_is_named_as_it_is() {
        use std::os::unix::ffi::OsStrExt;
        let (_dir, root) = site_with(&[("sass/main.scss", "")]);
        std::fs::write(root.join("sass").join(std::ffi::OsStr::from_bytes(b"x\xff.scss")), "").unwrap();
        let err = compile(&root, None).unwrap_err();
        let file = err.file.as_deref().map(|file| file.to_string_lossy().into_owned());
        assert_eq!(file.as_deref(), Some("sass/x\u{FFFD}.scss"), "{err:?}");
        assert!(err.message.contains("not valid UTF-8"), "{err:?}");
    }

    #[test]
    fn sass_sources_are_under_a_sass_folder() {
        assert!(is_sass_source(Path::new("sass/_colors.scss")));
        assert!(is_sass_source(Path::new("sass/sub")));
        assert!(is_sass_source(Path::new("themes/t/sass/main.sass")));
        assert!(!is_sass_source(Path::new("themes/t/templates/sass/x.scss")));
        assert!(!is_sass_source(Path::new("static/sass/x.scss")));
        assert!(!is_sass_source(Path::new("sass.scss")));
    }
}
