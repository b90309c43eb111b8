//! `bengal new site NAME`: a small site that builds and serves as it is, with
//! each file showing one thing an author will want to change.

use std::path::Path;

use crate::error::{Error, Result};

/// The files of a new site, relative to its root.
const SKELETON: &[(&str, &str)] = &[
    (
        "bengal.toml",
        r#"title = "My new site"
base_url = "https://example.org/"
description = "A site built with Bengal"
language = "en"
taxonomies = ["tags"]
paginate_by = 10

[markdown]
highlight_code = true
smart_punctuation = true
heading_anchors = true

[extra]
author = "Your Name"
"#,
    ),
    (
        "content/_index.md",
        r#"+++
title = "Welcome"
+++

This is the home page, written in `content/_index.md`. Run `bengal serve` and
edit any file under `content/`: the browser reloads as you save.
"#,
    ),
    (
        "content/blog/_index.md",
        r#"+++
title = "Blog"
description = "Posts, newest first"
+++
"#,
    ),
    (
        "content/blog/first-post.md",
        r#"+++
title = "My first post"
date = 2026-01-01
tags = ["bengal"]
+++

A first paragraph becomes the summary on the blog's list page.

## A heading

Headings get anchors, code gets highlighted:

```rust
fn main() {
    println!("Hello from Bengal");
}
```
"#,
    ),
    ("static/.gitkeep", ""),
    ("templates/.gitkeep", ""),
];

/// Creates a new site at `dir`, which must not exist or be empty.
pub fn new_site(dir: &Path) -> Result<()> {
    if let Ok(mut entries) = std::fs::read_dir(dir) {
        if entries.next().is_some() {
            return Err(Error::new(format!("{} already exists and is not empty", dir.display()))
                .with_hint("choose a new directory name, or empty that one first; nothing was written"));
        }
    } else if dir.exists() {
        return Err(Error::new(format!("{} exists and is not a directory", dir.display()))
            .with_hint("choose a new directory name; nothing was written"));
    }
    for (relative, text) in SKELETON {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|err| Error::io(parent, "create the directory", err))?;
        }
        std::fs::write(&path, text).map_err(|err| Error::io(&path, "write it", err))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_non_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        assert!(new_site(dir.path()).is_err());
        assert_eq!(std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(), "mine");
    }

    #[test]
    fn skeleton_is_a_valid_site() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        new_site(&site).unwrap();
        let options = crate::build::BuildOptions { root: site.clone(), ..Default::default() };
        let loaded = crate::build::site::Site::load(&options).unwrap();
        assert_eq!(loaded.pages.len(), 1);
    }
}
