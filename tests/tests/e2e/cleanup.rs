//! `bengal cleanup`: stale pid files, servers of this site, of a port, of the user.
//! (Stopping a detached server with `--force` is the chaos scenarios
//! `nohup_survives` and `cleanup_orphan`.)

use nix::sys::signal::Signal;
use predicates::prelude::*;

use crate::server::Server;
use crate::util::{bengal, copy_fixture, free_port};

#[test]
fn nothing_to_do_exits_0() {
    let site = copy_fixture("quickstart");
    bengal()
        .args(["cleanup", "--root"])
        .arg(site.path())
        .assert()
        .success()
        .stdout("Nothing to clean up: no Bengal server is running here\n");
}

#[test]
fn without_a_terminal_or_force_nothing_is_stopped() {
    let site = copy_fixture("quickstart");
    let server = Server::start(site.path(), &["--port", &free_port()]);
    bengal()
        .args(["cleanup", "--root"])
        .arg(site.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("Left pid {} running", server.pid)))
        .stderr(predicate::str::contains("--force"));
    bengal().args(["cleanup", "--dry-run", "--root"]).arg(site.path()).assert().code(1);
    assert_eq!(server.get("/").status, 200, "still serving");
    server.stop();
}

#[test]
fn a_stale_pid_file_is_removed() {
    let site = copy_fixture("quickstart");
    let mut server = Server::start(site.path(), &["--port", &free_port()]);
    server.signal(Signal::SIGKILL);
    server.wait_exit();
    bengal()
        .args(["cleanup", "--root"])
        .arg(site.path())
        .assert()
        .success()
        .stdout(predicate::str::starts_with("✓ removed stale "));
    assert!(!site.path().join(".bengal/server.pid").exists());
}

#[test]
fn all_finds_servers_of_other_sites_and_port_names_foreign_holders() {
    let site = copy_fixture("quickstart");
    let elsewhere = tempfile::tempdir().unwrap();
    let server = Server::start(site.path(), &["--port", &free_port()]);
    // A dry run: other tests' servers run too, and a test stops only its own.
    bengal()
        .args(["cleanup", "--all", "--dry-run", "--root"])
        .arg(elsewhere.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("Would stop pid {}", server.pid)));
    server.stop();

    let holder = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    bengal()
        .args(["cleanup", "--force", "--port", &port, "--root"])
        .arg(elsewhere.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("is held by pid {}", std::process::id())))
        .stdout(predicate::str::contains("not a Bengal server: left alone"));
}
