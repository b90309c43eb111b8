//! The names of a site's layout, the path helpers every module shares, and
//! the two rules that keep a site from reaching outside itself:
//!
//! - Bengal's own directories (`.bengal/`, `.bengal/serve/`) are real
//!   directories inside the site, never symlinks: a repository can ship a
//!   symlink, and writing through one would overwrite whatever it points to.
//! - A source file (content, template, static) that resolves outside the site
//!   is refused by name, so that a symlink to `/etc/passwd` is never published.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The name of the configuration file at a site's root.
pub const CONFIG_FILE: &str = "bengal.toml";

/// Every configuration file a site may have, in the order they are looked
/// for: Bengal's, then Zola's by its current name and its older one.
pub const CONFIG_FILES: [&str; 3] = [CONFIG_FILE, "zola.toml", "config.toml"];

/// The source directories, whose files a build reads and never writes.
pub const SOURCE_DIRS: [&str; 5] = [CONTENT_DIR, TEMPLATES_DIR, STATIC_DIR, SASS_DIR, THEMES_DIR];

/// `a/b/c` → `a/b`; `a` → `` (a content or output path's parent).
pub fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(parent, _)| parent)
}

/// The content directory's name, relative to the site root.
pub const CONTENT_DIR: &str = "content";

/// The site's template directory, relative to its root.
pub const TEMPLATES_DIR: &str = "templates";

/// The site's static directory, copied as it is.
pub const STATIC_DIR: &str = "static";

/// The site's Sass and SCSS, compiled when `compile_sass` is on.
pub const SASS_DIR: &str = "sass";

/// Where a site keeps its themes (`themes/NAME/`), as in Zola.
pub const THEMES_DIR: &str = "themes";

/// The pid file, relative to the site root.
pub const PID_FILE: &str = ".bengal/server.pid";

/// The lock that makes one server per site, relative to the site root.
pub const LOCK_FILE: &str = ".bengal/server.lock";

/// Bengal's own directory inside a site: the serve build, the lock, the pid file.
pub const BENGAL_DIR: &str = ".bengal";

/// Where the dev server writes its build. It is not `public/`, whose links
/// must keep the real `base_url`.
pub const SERVE_DIR: &str = ".bengal/serve";

/// Creates (or checks) `root/relative`, a directory of Bengal's own, one
/// component at a time without following a symlink at any of them.
pub fn private_dir(root: &Path, relative: &str) -> Result<PathBuf> {
    let mut dir = root.to_path_buf();
    let mut shown = PathBuf::new();
    for part in relative.split('/') {
        dir.push(part);
        shown.push(part);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(Error::io(&shown, "create the directory", err)),
        }
        let meta = std::fs::symlink_metadata(&dir).map_err(|err| Error::io(&shown, "inspect it", err))?;
        if meta.file_type().is_symlink() {
            return Err(Error::in_file(
                &shown,
                "is a symlink; Bengal keeps its own files there and never writes through a link",
            )
            .with_hint(format!("remove {} (Bengal recreates it as a directory)", shown.display())));
        }
        if !meta.is_dir() {
            return Err(Error::in_file(&shown, "is not a directory, but Bengal keeps its own files there")
                .with_hint(format!("remove or rename {}", shown.display())));
        }
    }
    Ok(dir)
}

/// A source file as it is to be read: a symlink is followed only when its
/// target lies inside the site (`root` must be canonical). `shown` names the
/// file in errors. Anything but a regular file or directory is refused, since
/// reading a FIFO or a device would hang or never end.
pub fn check_source(root: &Path, path: &Path, shown: &Path) -> Result<()> {
    let target = std::fs::canonicalize(path).map_err(|err| Error::io(shown, "resolve it", err))?;
    if !target.starts_with(root) {
        return Err(Error::in_file(shown, format!("resolves outside the site (to {})", target.display()))
            .with_hint("copy the file into the site instead of linking to it"));
    }
    let meta = std::fs::metadata(&target).map_err(|err| Error::io(shown, "inspect it", err))?;
    if meta.is_file() || meta.is_dir() {
        return Ok(());
    }
    Err(Error::in_file(shown, "is neither a regular file nor a directory").with_hint("remove it from the site"))
}

/// Reads a file Bengal wrote for itself (a record, a pid file) without
/// trusting it: never through a symlink, never blocking on a FIFO, only a
/// regular file, at most `limit` bytes. `Ok(None)` when there is no file;
/// anything else that is not a plain readable file is an error.
pub fn read_regular_file(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "not a regular file"));
    }
    if meta.len() > limit {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("larger than {limit} bytes")));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// Walks `dir` following symlinks (walkdir reports a loop as an error), with
/// each entry checked by [`check_entry`].
pub fn walk(dir: &Path) -> walkdir::IntoIter {
    walkdir::WalkDir::new(dir).follow_links(true).sort_by_file_name().into_iter()
}

/// Checks one entry of [`walk`]: a symlink must resolve inside the site
/// (`site` is its canonical root), and only files and directories are read.
/// `root` is the site root as given, for the name in errors.
pub fn check_entry(site: &Path, root: &Path, entry: &walkdir::DirEntry) -> Result<()> {
    let shown = entry.path().strip_prefix(root).unwrap_or(entry.path());
    if entry.path_is_symlink() {
        return check_source(site, entry.path(), shown);
    }
    if entry.file_type().is_file() || entry.file_type().is_dir() {
        return Ok(());
    }
    Err(Error::in_file(shown, "is neither a regular file nor a directory").with_hint("remove it from the site"))
}

/// A walkdir error (unreadable directory, symlink loop) naming the path.
pub fn walk_error(root: &Path, fallback: &Path, err: walkdir::Error) -> Error {
    let path = err.path().unwrap_or(fallback);
    let hint = match err.loop_ancestor() {
        Some(_) => "it is a symlink to a folder that holds it; remove the link",
        None => "make it readable, or remove it from the site",
    };
    Error::in_file(path.strip_prefix(root).unwrap_or(path), format!("could not read: {err}")).with_hint(hint)
}

/// `a//b/./c` → `a/b/c`; None for an empty path or one that climbs out (`..`).
/// Two outputs are the same file exactly when their normal paths are equal.
pub fn normal_path(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part => parts.push(part),
        }
    }
    if parts.is_empty() { None } else { Some(parts.join("/")) }
}

/// `path` below `base` with `/` separators, as an output path; an error
/// naming it (from the site `root`) when it is not UTF-8.
pub fn output_path(root: &Path, base: &Path, path: &Path) -> Result<String> {
    let relative = path.strip_prefix(base).unwrap_or(path);
    match relative.to_str() {
        Some(_) => Ok(slash_path(relative)),
        None => Err(not_utf8(path.strip_prefix(root).unwrap_or(path))),
    }
}

/// The error for a source whose name is not UTF-8: no URL can hold it, and
/// read lossily two names could become one.
pub fn not_utf8(shown: &Path) -> Error {
    Error::in_file(shown, "has a name that is not valid UTF-8, which no URL can hold")
        .with_hint("rename it with UTF-8 characters")
}

/// A relative path with `/` separators, as URLs and output paths spell it.
pub fn slash_path(path: &Path) -> String {
    path.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// `path` made absolute with every symlink of its existing part resolved and
/// `.` and `..` folded, without needing the rest to exist yet (an output
/// directory before the first build).
pub fn resolve_path(path: &Path) -> PathBuf {
    let joined = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut lexical = PathBuf::new();
    for component in joined.components() {
        match component {
            std::path::Component::ParentDir => {
                lexical.pop();
            }
            std::path::Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            return rest.iter().rev().fold(canonical, |acc, name| acc.join(name));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return lexical,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_loop_is_named_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("static")).unwrap();
        std::os::unix::fs::symlink("..", root.join("static/up")).unwrap();
        let err = walk(&root.join("static")).find_map(Result::err).expect("a loop");
        let err = walk_error(root, root, err);
        assert!(err.hint.as_deref().is_some_and(|hint| hint.contains("remove the link")), "{err:?}");
    }

    #[test]
    fn normal_paths() {
        assert_eq!(normal_path("blog//x/./index.html").as_deref(), Some("blog/x/index.html"));
        assert_eq!(normal_path("/a/"), Some("a".to_owned()));
        assert_eq!(normal_path("a/../b"), None);
        assert_eq!(normal_path("//"), None);
    }

    #[test]
    fn private_dirs_are_created_and_links_refused() {
        let dir = tempfile::tempdir().unwrap();
        let serve = private_dir(dir.path(), SERVE_DIR).unwrap();
        assert!(serve.is_dir());
        assert_eq!(private_dir(dir.path(), SERVE_DIR).unwrap(), serve);

        let linked = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(dir.path(), linked.path().join(BENGAL_DIR)).unwrap();
        let err = private_dir(linked.path(), SERVE_DIR).unwrap_err();
        assert_eq!(err.file.as_deref(), Some(Path::new(BENGAL_DIR)));
    }

    #[test]
    fn sources_outside_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::write(root.join("inside.txt"), "x").unwrap();
        std::os::unix::fs::symlink(root.join("inside.txt"), root.join("link.txt")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", root.join("out.txt")).unwrap();
        assert!(check_source(&root, &root.join("link.txt"), Path::new("link.txt")).is_ok());
        let err = check_source(&root, &root.join("out.txt"), Path::new("out.txt")).unwrap_err();
        assert!(err.message.contains("outside the site"), "{err}");
    }
}
