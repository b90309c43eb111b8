use predicates::prelude::*;

use crate::util::{bengal, fixture};

#[test]
fn usage_error_exits_2() {
    bengal().args(["build", "--no-such-flag"]).assert().code(2).stderr(predicate::str::contains("--no-such-flag"));
    bengal().assert().code(2);
}

#[test]
fn quiet_prints_nothing_on_success() {
    let out = tempfile::tempdir().unwrap();
    bengal()
        .args(["build", "--quiet", "--root"])
        .arg(fixture("quickstart"))
        .arg("--output")
        .arg(out.path())
        .assert()
        .success()
        .stdout("")
        .stderr("");
}

#[test]
fn no_colour_without_a_terminal_even_when_allowed() {
    let out = tempfile::tempdir().unwrap();
    let mut command = bengal();
    command.env_remove("NO_COLOR");
    command
        .args(["build", "--root"])
        .arg(fixture("broken-config"))
        .arg("--output")
        .arg(out.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("\u{1b}[").not());
}
