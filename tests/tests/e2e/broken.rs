//! Each broken fixture fails with exit code 1 and a message naming the file,
//! the line, and what to do.

use crate::util::{bengal, fixture};

fn build_error(name: &str) -> String {
    let out = tempfile::tempdir().unwrap();
    let output = bengal()
        .args(["build", "--root"])
        .arg(fixture(name))
        .arg("--output")
        .arg(out.path())
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(output.stdout.is_empty(), "nothing on stdout for a failed build");
    assert!(std::fs::read_dir(out.path()).unwrap().next().is_none(), "a failed build wrote output");
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn broken_config() {
    insta::assert_snapshot!(build_error("broken-config"));
}

#[test]
fn broken_front_matter() {
    insta::assert_snapshot!(build_error("broken-front-matter"));
}

#[test]
fn broken_yaml() {
    insta::assert_snapshot!(build_error("broken-yaml"));
}

#[test]
fn unclosed_front_matter() {
    insta::assert_snapshot!(build_error("unclosed-front-matter"));
}

#[test]
fn broken_template() {
    insta::assert_snapshot!(build_error("broken-template"));
}

#[test]
fn missing_template() {
    insta::assert_snapshot!(build_error("missing-template"));
}

#[test]
fn broken_link() {
    insta::assert_snapshot!(build_error("broken-link"));
}

#[test]
fn no_site_here() {
    let dir = tempfile::tempdir().unwrap();
    let output = bengal().arg("build").current_dir(dir.path()).assert().code(1).get_output().clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("error: no bengal.toml in ."), "{stderr}");
    assert!(stderr.contains("bengal new site NAME"), "{stderr}");
}
