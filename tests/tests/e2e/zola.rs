//! A site written for Zola builds as it is: its `config.toml` in Zola's
//! format (with one warning for what Bengal does not do yet), its front
//! matter, its URLs.

use predicates::prelude::*;

use crate::util::{bengal, fixture};

#[test]
fn a_zola_site_builds_with_zolas_urls_and_one_warning() {
    let out = tempfile::tempdir().unwrap();
    bengal()
        .args(["build", "--root"])
        .arg(fixture("zola-site"))
        .arg("--output")
        .arg(out.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("Read config.toml (Zola's configuration)"))
        .stderr(
            "warning: config.toml asks for what Bengal does not do yet; ignored: compile_sass, \
             taxonomies.categories.feed, theme\n",
        );
    for page in [
        "blog/dated-post/index.html",
        "elsewhere/moved/index.html",
        "about/index.html",
        "tags/rust/index.html",
        "categories/notes/index.html",
        "sitemap.xml",
        "robots.txt",
    ] {
        assert!(out.path().join(page).is_file(), "{page} is missing");
    }
    assert!(!out.path().join("atom.xml").exists(), "generate_feeds = false writes no feed");
    let post = std::fs::read_to_string(out.path().join("blog/dated-post/index.html")).unwrap();
    assert!(post.contains("A dated post") && !post.contains("+++"), "front matter after blank lines was read");
    assert!(post.contains("2016-10-08") || post.contains("October"), "dated by its file name");
}
