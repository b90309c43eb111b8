//! Every way `bengal serve` can end: the port is free, nothing is left
//! running, the pid file is gone, and the exit status tells what happened.

use std::process::Command;

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use crate::server::{Server, bengal_path};
use crate::util::{bengal, copy_fixture, free_port};

/// The port is free, the pid file gone, and the log ends as it should.
fn assert_cleaned_up(site: &std::path::Path, server: &mut Server, first_lines: &[&str]) {
    let port = server.port;
    assert!(!bengal::servers::is_listening(port), "port {port} still has a listener");
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port can be bound again");
    assert!(!site.join(".bengal/server.pid").exists(), "pid file left behind");
    let log: Vec<String> =
        server.rest_of_transcript().into_iter().filter(|l| !l.starts_with(crate::server::STDERR)).collect();
    let from = log.iter().position(|l| l == first_lines[0]).unwrap_or_else(|| panic!("no {first_lines:?} in {log:#?}"));
    assert_eq!(log[from..from + first_lines.len()], *first_lines, "the log starts with the reason");
    // localhost is ::1 too where the machine has IPv6.
    let ipv6 = std::net::TcpListener::bind(("::1", 0)).is_ok();
    let mut expected = Vec::new();
    if ipv6 {
        expected.push(format!("✓ stopped accepting on [::1]:{port}"));
    }
    expected.push(format!("✓ stopped accepting on 127.0.0.1:{port}"));
    expected.extend(["✓ stopped watcher".to_owned(), "✓ stopped rebuild worker".to_owned()]);
    expected.push("✓ closed live-reload streams".to_owned());
    if ipv6 {
        expected.push(format!("✓ closed [::1]:{port}"));
    }
    expected.extend([
        format!("✓ closed 127.0.0.1:{port}"),
        "✓ removed .bengal/server.pid".into(),
        "Server stopped".into(),
    ]);
    assert_eq!(log[from + first_lines.len()..], expected[..], "cleanup log");
}

fn stopped_by(signal: Signal, first_lines: &[&str]) {
    let site = copy_fixture("quickstart");
    let mut server = Server::start(site.path(), &["--port", &free_port()]);
    server.signal(signal);
    assert_eq!(server.wait_exit(), WaitStatus::Signaled(server.pid, signal, false));
    assert_cleaned_up(site.path(), &mut server, first_lines);
}

#[test]
fn sigint_stops_cleanly_and_dies_by_sigint() {
    stopped_by(Signal::SIGINT, &["Received SIGINT, shutting down", "Press Ctrl+C again to stop at once"]);
}

#[test]
fn sigterm_stops_cleanly_and_dies_by_sigterm() {
    stopped_by(Signal::SIGTERM, &["Received SIGTERM, shutting down"]);
}

#[test]
fn sighup_stops_cleanly_and_dies_by_sighup() {
    stopped_by(Signal::SIGHUP, &["Received SIGHUP, shutting down"]);
}

#[test]
fn sigquit_stops_cleanly_and_dies_by_sigquit() {
    stopped_by(Signal::SIGQUIT, &["Received SIGQUIT, shutting down"]);
}

#[test]
fn a_second_signal_forces_and_still_removes_the_pid_file() {
    let site = copy_fixture("quickstart");
    // `slow_stop` adds a release step that never ends: only forcing gets past it.
    let mut server =
        Server::start_with_env(site.path(), &["--port", &free_port()], &[("BENGAL_FAILPOINTS", "slow_stop")]);
    let _stream = crate::server::EventStream::open(server.port);
    server.signal(Signal::SIGINT);
    server.wait_for_line("Press Ctrl+C again to stop at once");
    server.signal(Signal::SIGINT);
    assert_eq!(server.wait_exit(), WaitStatus::Signaled(server.pid, Signal::SIGINT, false));
    let log = server.rest_of_transcript();
    for line in ["Forcing shutdown", "- finished slow step: skipped (forced)", "✓ removed .bengal/server.pid"] {
        assert!(log.iter().any(|l| l == line), "no {line:?} in {log:#?}");
    }
    assert!(!site.path().join(".bengal/server.pid").exists());
}

#[test]
fn parent_death_without_a_signal_stops_the_server_with_status_0() {
    nix::sys::prctl::set_child_subreaper(true).expect("become a subreaper");
    let site = copy_fixture("quickstart");
    let mut server = Server::start_under_shell(site.path(), &["--port", &free_port()]);
    // SIGKILL: the shell cannot pass anything on; only the watch can notice.
    server.kill_parent_shell();
    assert_eq!(server.wait_exit(), WaitStatus::Exited(server.pid, 0));
    assert_cleaned_up(site.path(), &mut server, &["Parent process exited, shutting down"]);
}

#[test]
fn a_panic_in_a_task_still_runs_the_full_cleanup() {
    let site = copy_fixture("quickstart");
    let mut server =
        Server::start_with_env(site.path(), &["--port", &free_port()], &[("BENGAL_FAILPOINTS", "panic_in_task")]);
    assert_eq!(server.wait_exit(), WaitStatus::Exited(server.pid, 1));
    assert_cleaned_up(
        site.path(),
        &mut server,
        &["A task panicked: failpoint `panic_in_task` triggered, shutting down"],
    );
}

#[test]
fn startup_failures_release_what_was_acquired_and_exit_1() {
    for (failpoint, released) in [
        ("after_pidfile", vec!["✓ removed .bengal/server.pid"]),
        ("after_bind", vec!["✓ removed .bengal/server.pid"]),
        (
            "after_watcher",
            vec![
                "✓ stopped accepting on [::1]:PORT",
                "✓ stopped accepting on 127.0.0.1:PORT",
                "✓ closed live-reload streams",
                "✓ closed [::1]:PORT",
                "✓ closed 127.0.0.1:PORT",
                "✓ removed .bengal/server.pid",
            ],
        ),
    ] {
        let site = copy_fixture("quickstart");
        let port = free_port();
        let output = bengal()
            .args(["serve", "--port", &port, "--root"])
            .arg(site.path())
            .env("BENGAL_FAILPOINTS", failpoint)
            .assert()
            .code(1)
            .get_output()
            .clone();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr, format!("error: failpoint `{failpoint}` triggered\n"), "{failpoint}");
        let expected: Vec<String> = released.iter().map(|l| l.replace("PORT", &port)).collect();
        assert_eq!(stdout.lines().collect::<Vec<_>>(), expected, "{failpoint}");
        assert!(!site.path().join(".bengal/server.pid").exists(), "{failpoint}");
        assert!(!bengal::servers::is_listening(port.parse().unwrap()), "{failpoint}");
    }
}

#[test]
fn a_sigkilled_server_leaves_a_stale_file_that_the_next_start_removes() {
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
fn nohup_disables_hangup_and_parent_watching() {
    let site = copy_fixture("quickstart");
    let mut command = Command::new("nohup");
    command.arg(bengal_path()).args(["serve", "--port", &free_port(), "--root"]).arg(site.path());
    let mut server = Server::launch(command);
    server.signal(Signal::SIGHUP);
    server.signal(Signal::SIGTERM);
    // Pending together, SIGHUP (1) would be handled before SIGTERM (15): the
    // stop names SIGTERM only because the hangup was ignored.
    assert_eq!(server.wait_exit(), WaitStatus::Signaled(server.pid, Signal::SIGTERM, false));
    assert!(server.rest_of_transcript().iter().any(|l| l == "Received SIGTERM, shutting down"));
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
