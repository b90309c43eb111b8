//! How `bengal serve` ends and hands over is proved by the chaos scenarios
//! (`scenarios/*.toml`, `cargo xtask chaos`): each signal, a second signal,
//! parent death, a panic, startup failures, kill -9 and the next start,
//! nohup. What stays here is what a scenario cannot express: which stream a
//! message goes to, a killed server reaped before the next start (the
//! chaos harness, a subreaper, holds it as a zombie until the end), taking
//! over with `--replace` (no terminal to answer), and a port held by
//! another program or another site's server.

use std::process::Command;

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use crate::server::Server;
use crate::util::{bengal, copy_fixture, free_port};

#[test]
fn a_startup_failure_says_why_on_stderr_and_what_it_released_on_stdout() {
    let site = copy_fixture("quickstart");
    let output = bengal()
        .args(["serve", "--port", &free_port(), "--root"])
        .arg(site.path())
        .env("BENGAL_FAILPOINTS", "after_watcher")
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr, "error: failpoint `after_watcher` triggered\n");
    assert!(!stdout.is_empty() && stdout.lines().all(|line| line.starts_with("✓ ")), "{stdout}");
}

#[test]
fn a_sigkilled_and_reaped_server_is_named_as_gone_by_the_next_start() {
    let site = copy_fixture("quickstart");
    let port = free_port();
    let mut first = Server::start(site.path(), &["--port", &port]);
    first.signal(Signal::SIGKILL);
    first.wait_exit();
    assert!(site.path().join(".bengal/server.pid").exists(), "SIGKILL leaves the file");
    let mut second = Server::start(site.path(), &["--port", &port]);
    let line = second.wait_for_line("Removed stale");
    assert_eq!(line, format!("Removed stale .bengal/server.pid (pid {} is gone)", first.pid));
    second.stop();
}

#[test]
fn a_live_server_of_the_same_site_is_refused_without_a_terminal_and_replaced_with_replace() {
    let site = copy_fixture("quickstart");
    let mut first = Server::start(site.path(), &["--port", &free_port()]);
    // Suspended: it can act on nothing until SIGCONT, which the takeover sends.
    first.signal(Signal::SIGSTOP);
    let refused = bengal().args(["serve", "--port", &free_port(), "--root"]).arg(site.path()).assert().code(1);
    let stderr = String::from_utf8(refused.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("already being served") && stderr.contains("--replace"), "{stderr}");

    let mut second = Server::start(site.path(), &["--port", &free_port(), "--replace"]);
    second.wait_for_line(&format!("Stopped pid {}", first.pid));
    assert_eq!(first.wait_exit(), WaitStatus::Signaled(first.pid, Signal::SIGTERM, false));
    second.stop();
}

#[test]
fn a_foreign_listener_is_never_signalled() {
    let mut holder = Command::new("python3")
        .args(["-c", "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 holds a port");
    let mut port = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(holder.stdout.take().unwrap()), &mut port).unwrap();
    let site = copy_fixture("quickstart");
    let output =
        bengal().args(["serve", "--replace", "--port", port.trim(), "--root"]).arg(site.path()).assert().code(1);
    let stderr = String::from_utf8(output.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains(&format!("by pid {}", holder.id())), "{stderr}");
    assert!(matches!(holder.try_wait(), Ok(None)), "the foreign process was touched");
    holder.kill().unwrap();
    holder.wait().unwrap();
}

#[test]
fn a_bengal_server_of_another_site_on_the_port_is_replaced_with_replace() {
    let first_site = copy_fixture("quickstart");
    let second_site = copy_fixture("quickstart");
    let port = free_port();
    let mut first = Server::start(first_site.path(), &["--port", &port]);
    let mut second = Server::start(second_site.path(), &["--port", &port, "--replace"]);
    second.wait_for_line(&format!("Port {port} is held by a Bengal server of"));
    assert_eq!(first.wait_exit(), WaitStatus::Signaled(first.pid, Signal::SIGTERM, false));
    assert_eq!(second.port.to_string(), port);
    second.stop();
}
