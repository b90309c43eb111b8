use predicates::prelude::*;

use crate::util::{bengal, read};

#[test]
fn new_site_builds_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    bengal()
        .args(["new", "site", "mysite"])
        .current_dir(dir.path())
        .assert()
        .success()
        .stdout("✓ Created a new site in mysite\n  Next: cd mysite && bengal serve\n");
    bengal()
        .args(["build", "--root", "mysite"])
        .current_dir(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::starts_with("✓ Built 1 page, 2 sections, 0 assets"));
    let post = read(&dir.path().join("mysite/public"), "blog/first-post/index.html");
    assert!(post.contains("My first post"));
}

#[test]
fn new_site_refuses_a_non_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/notes.txt"), "keep me").unwrap();
    bengal()
        .args(["new", "site", "taken"])
        .current_dir(dir.path())
        .assert()
        .code(1)
        .stderr("error: taken already exists and is not empty\n  help: choose a new directory name, or empty that one first; nothing was written\n");
    assert_eq!(read(dir.path(), "taken/notes.txt"), "keep me");
    assert_eq!(std::fs::read_dir(dir.path().join("taken")).unwrap().count(), 1);
}
