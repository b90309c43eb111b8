//! Faults and hostile input from the review of issue 8: each test failed on
//! the binary before the fix. (The unread output pipe, two servers released
//! at the same instant and a stop during a rebuild are chaos scenarios.)

use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use bengal_tests::http;
use predicates::prelude::*;

use crate::server::{DEADLINE, Server, bengal_path};
use crate::util::{bengal, build_into, copy_fixture, free_port};

/// Every file under `dir` with its bytes, to show nothing was touched.
fn snapshot_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("read dir") {
            let entry = entry.expect("entry");
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                files.push((entry.path().display().to_string(), std::fs::read(entry.path()).expect("read")));
            }
        }
    }
    files.sort();
    files
}

/// A directory outside the site holding one file of the user's.
fn elsewhere_with_a_file() -> tempfile::TempDir {
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("keep.txt"), "mine").unwrap();
    elsewhere
}

/// `elsewhere` holds the user's file, as it was, and nothing else.
fn assert_untouched(elsewhere: &Path) {
    let names: Vec<_> = std::fs::read_dir(elsewhere).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["keep.txt"]);
    assert_eq!(std::fs::read_to_string(elsewhere.join("keep.txt")).unwrap(), "mine");
}

/// `bengal serve` that must refuse to start: exit 1 within the deadline.
fn serve_refused(site: &Path) -> assert_cmd::assert::Assert {
    bengal().args(["serve", "--port", &free_port(), "--root"]).arg(site).timeout(DEADLINE).assert().code(1)
}

#[test]
fn a_symlinked_serve_directory_is_refused_and_the_sources_are_untouched() {
    let site = copy_fixture("quickstart");
    std::fs::create_dir(site.path().join(".bengal")).unwrap();
    symlink("../content", site.path().join(".bengal/serve")).unwrap();
    let before = snapshot_tree(&site.path().join("content"));
    serve_refused(site.path())
        .stderr(predicate::str::contains(".bengal/serve").and(predicate::str::contains("symlink")));
    assert_eq!(snapshot_tree(&site.path().join("content")), before, "content/ was changed");
}

#[test]
fn a_symlinked_bengal_directory_is_refused_and_nothing_is_written_there() {
    let site = copy_fixture("quickstart");
    let elsewhere = elsewhere_with_a_file();
    symlink(elsewhere.path(), site.path().join(".bengal")).unwrap();
    serve_refused(site.path()).stderr(predicate::str::contains(".bengal").and(predicate::str::contains("symlink")));
    assert_untouched(elsewhere.path());
}

#[test]
fn an_explicit_output_keeps_files_bengal_did_not_write() {
    let site = copy_fixture("quickstart");
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("keep.txt"), "mine").unwrap();
    std::fs::create_dir(out.path().join("notes")).unwrap();
    std::fs::write(out.path().join("notes/todo.md"), "mine too").unwrap();
    build_into(site.path(), out.path()).success();
    assert!(out.path().join("blog/why-static/index.html").is_file());
    std::fs::remove_file(site.path().join("content/blog/why-static.md")).unwrap();
    build_into(site.path(), out.path()).success();
    assert!(!out.path().join("blog/why-static").exists(), "a file Bengal wrote and no longer produces stays");
    assert_eq!(std::fs::read_to_string(out.path().join("keep.txt")).unwrap(), "mine");
    assert_eq!(std::fs::read_to_string(out.path().join("notes/todo.md")).unwrap(), "mine too");
}

#[test]
fn a_symlinked_output_dir_in_the_config_is_refused() {
    let site = copy_fixture("quickstart");
    let elsewhere = elsewhere_with_a_file();
    symlink(elsewhere.path(), site.path().join("public")).unwrap();
    bengal()
        .args(["build", "--root"])
        .arg(site.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("public").and(predicate::str::contains("symlink")));
    assert_untouched(elsewhere.path());
}

#[test]
fn a_symlink_inside_the_output_is_never_written_through() {
    let site = copy_fixture("quickstart");
    let out = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    symlink(elsewhere.path(), out.path().join("blog")).unwrap();
    build_into(site.path(), out.path())
        .code(1)
        .stderr(predicate::str::contains("blog").and(predicate::str::contains("symlink")));
    assert!(std::fs::read_dir(elsewhere.path()).unwrap().next().is_none(), "wrote through the link");
}

#[test]
fn files_that_resolve_outside_the_site_are_refused_by_name() {
    for (link, hint) in [
        ("content/passwd.txt", "content/passwd.txt"),
        ("content/blog/secret.md", "content/blog/secret.md"),
        ("static/passwd", "static/passwd"),
        ("templates/page.html", "templates/page.html"),
    ] {
        let site = copy_fixture("quickstart");
        let path = site.path().join(link);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        symlink("/etc/passwd", &path).unwrap();
        let out = tempfile::tempdir().unwrap();
        build_into(site.path(), out.path())
            .code(1)
            .stderr(predicate::str::contains(hint).and(predicate::str::contains("outside the site")));
        assert!(!out.path().join("passwd.txt").exists() && !out.path().join("passwd").exists());
    }
}

/// A theme kept outside the site, with a file to publish and a template.
fn theme_elsewhere() -> tempfile::TempDir {
    let theme = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(theme.path().join("static")).unwrap();
    std::fs::create_dir_all(theme.path().join("templates")).unwrap();
    std::fs::write(theme.path().join("static/secret.txt"), "secret").unwrap();
    std::fs::write(theme.path().join("templates/index.html"), "outside template").unwrap();
    theme
}

fn with_theme(site: &Path, theme: &str) {
    let config = site.join("bengal.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("theme = {theme:?}\n{text}")).unwrap();
}

#[test]
fn a_theme_that_resolves_outside_the_site_is_refused() {
    let theme = theme_elsewhere();
    let absolute = theme.path().display().to_string();
    for how in ["linked", "absolute", "climbing"] {
        let site = copy_fixture("quickstart");
        std::fs::create_dir_all(site.path().join("themes")).unwrap();
        let name = match how {
            "linked" => {
                symlink(theme.path(), site.path().join("themes/t")).unwrap();
                "t".to_owned()
            }
            "absolute" => absolute.clone(),
            _ => {
                assert_eq!(site.path().parent(), theme.path().parent(), "both in the temporary directory");
                format!("../../{}", theme.path().file_name().unwrap().to_string_lossy())
            }
        };
        with_theme(site.path(), &name);
        let out = tempfile::tempdir().unwrap();
        build_into(site.path(), out.path()).code(1).stderr(predicate::str::contains("theme"));
        assert!(!out.path().join("secret.txt").exists(), "a {how} theme published a file from outside");
    }
}

#[test]
fn a_themes_toml_that_is_a_link_out_or_a_fifo_is_refused_without_hanging() {
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(secret.path().join("theme.toml"), "[extra]\ntoken = \"from outside\"\n").unwrap();
    for (fifo, says) in [(false, "outside the site"), (true, "neither a regular file")] {
        let site = copy_fixture("quickstart");
        std::fs::create_dir_all(site.path().join("themes/t")).unwrap();
        let toml = site.path().join("themes/t/theme.toml");
        if fifo {
            nix::unistd::mkfifo(&toml, nix::sys::stat::Mode::S_IRWXU).unwrap();
        } else {
            symlink(secret.path().join("theme.toml"), &toml).unwrap();
        }
        with_theme(site.path(), "t");
        let out = tempfile::tempdir().unwrap();
        build_into(site.path(), out.path())
            .code(1)
            .stderr(predicate::str::contains("themes/t/theme.toml").and(predicate::str::contains(says)));
    }
}

#[test]
fn a_file_in_a_given_output_that_bengal_did_not_write_is_never_replaced() {
    let site = copy_fixture("quickstart");
    std::fs::write(site.path().join("static/CNAME"), "site.example\n").unwrap();
    std::fs::create_dir_all(site.path().join("static/.git/hooks")).unwrap();
    std::fs::write(site.path().join("static/.git/hooks/pre-commit"), "echo planted\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("CNAME"), "mine\n").unwrap();
    std::fs::create_dir_all(out.path().join(".git/hooks")).unwrap();
    std::fs::write(out.path().join(".git/hooks/pre-commit"), "original\n").unwrap();
    let kept = || {
        assert_eq!(std::fs::read_to_string(out.path().join("CNAME")).unwrap(), "mine\n");
        assert_eq!(std::fs::read_to_string(out.path().join(".git/hooks/pre-commit")).unwrap(), "original\n");
    };
    build_into(site.path(), out.path())
        .code(1)
        .stderr(predicate::str::contains("CNAME").and(predicate::str::contains("Bengal did not write")));
    kept();
    // Once the site no longer makes it, the build goes through, and the
    // file, never Bengal's, stays through the builds after.
    std::fs::remove_file(site.path().join("static/CNAME")).unwrap();
    build_into(site.path(), out.path()).success();
    build_into(site.path(), out.path()).success();
    kept();
    assert!(out.path().join("index.html").is_file());
}

#[test]
fn a_static_file_whose_name_is_not_utf8_is_refused_by_name() {
    use std::os::unix::ffi::OsStrExt;
    let site = copy_fixture("quickstart");
    for name in [&b"bad\xfename.txt"[..], b"bad\xffname.txt"] {
        std::fs::write(site.path().join("static").join(std::ffi::OsStr::from_bytes(name)), name).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path())
        .code(1)
        .stderr(predicate::str::contains("static/bad").and(predicate::str::contains("not valid UTF-8")));
}

#[test]
fn a_static_link_into_the_output_or_the_repository_is_refused() {
    let site = copy_fixture("quickstart");
    std::fs::create_dir_all(site.path().join("public")).unwrap();
    std::fs::create_dir_all(site.path().join(".git")).unwrap();
    std::fs::write(site.path().join(".git/config"), "[remote]\nurl = https://token@example.org/\n").unwrap();
    let build = || bengal().args(["build", "--root"]).arg(site.path()).timeout(DEADLINE).assert();
    // The output would be published into itself, one level deeper at every
    // build; a repository's config may hold credentials.
    for (link, target, says) in [("static/out", "../public", "output"), ("static/repo", "../.git", "repository")] {
        symlink(target, site.path().join(link)).unwrap();
        for _ in 0..2 {
            build().code(1).stderr(predicate::str::contains(link).and(predicate::str::contains(says)));
        }
        std::fs::remove_file(site.path().join(link)).unwrap();
    }
    build().success();
    assert!(!site.path().join("public/out").exists() && !site.path().join("public/repo").exists());
}

#[test]
fn a_symlink_to_a_file_inside_the_site_is_followed() {
    let site = copy_fixture("quickstart");
    symlink("images/logo.svg", site.path().join("static/logo-link.svg")).unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).success();
    assert!(std::fs::read_to_string(out.path().join("logo-link.svg")).unwrap().contains("<svg"));
}

/// A process named `bengal` with `serve` among its arguments, in `site`.
fn impostor(site: &Path, args: &[&str]) -> std::process::Child {
    Command::new("sh")
        .arg0("bengal")
        .args(["-c", "read _"])
        .args(args)
        .current_dir(site)
        .stdin(Stdio::piped())
        .spawn()
        .expect("start sh")
}

#[test]
fn cleanup_knows_a_server_by_its_executable_and_subcommand_not_its_name() {
    let site = copy_fixture("quickstart");
    let mut fake = impostor(site.path(), &["x", "serve"]);
    bengal()
        .args(["cleanup", "--dry-run", "--root"])
        .arg(site.path())
        .assert()
        .success()
        .stdout(predicate::str::contains(fake.id().to_string()).not());
    assert!(matches!(fake.try_wait(), Ok(None)), "the impostor was signalled");
    drop(fake.stdin.take());
    fake.wait().unwrap();
}

/// A page whose YAML front matter nests `depth` lists deep.
fn nested_yaml(depth: usize) -> String {
    format!("---\ntitle: deep\nextra:\n  deep: {}{}\n---\nbody\n", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn deeply_nested_or_huge_front_matter_is_an_error_naming_the_file() {
    let cases = [
        ("deep-yaml.md", nested_yaml(200_000)),
        ("deep-toml.md", format!("+++\n[extra]\ndeep = {}{}\n+++\n", "[".repeat(200_000), "]".repeat(200_000))),
        ("huge.md", format!("+++\n[extra]\nblob = \"{}\"\n+++\n", "x".repeat(2 << 20))),
    ];
    for (name, text) in cases {
        let site = copy_fixture("quickstart");
        std::fs::write(site.path().join("content/blog").join(name), text).unwrap();
        let out = tempfile::tempdir().unwrap();
        build_into(site.path(), out.path()).code(1).stderr(
            predicate::str::contains(format!("content/blog/{name}")).and(predicate::str::contains("front matter")),
        );
    }
}

#[test]
fn front_matter_nested_a_little_still_builds() {
    let site = copy_fixture("quickstart");
    std::fs::write(site.path().join("content/blog/nested.md"), nested_yaml(8)).unwrap();
    let out = tempfile::tempdir().unwrap();
    build_into(site.path(), out.path()).success();
}

/// Writes `.bengal/server.pid` as `write` says and starts a server, which
/// must treat it as stale.
fn starts_over_a_hostile_pid_file(write: impl Fn(&Path)) -> (tempfile::TempDir, Server) {
    let site = copy_fixture("quickstart");
    std::fs::create_dir(site.path().join(".bengal")).unwrap();
    write(&site.path().join(".bengal/server.pid"));
    let mut command = Command::new(bengal_path());
    command.args(["serve", "--port", &free_port(), "--root"]).arg(site.path());
    // A binary that reads /dev/zero must hit a limit, not the machine's memory.
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_AS, 8 << 30, 8 << 30)
                .map_err(std::io::Error::from)
        });
    }
    let mut server = Server::launch(command);
    server.wait_for_line("Removed stale .bengal/server.pid");
    (site, server)
}

#[test]
fn a_pid_file_that_is_a_link_to_dev_zero_is_stale() {
    let (site, server) = starts_over_a_hostile_pid_file(|path| symlink("/dev/zero", path).unwrap());
    let pid_file = std::fs::read_to_string(site.path().join(".bengal/server.pid")).unwrap();
    assert!(pid_file.contains(&format!("\"pid\": {}", server.pid)), "{pid_file}");
    server.stop();
}

#[test]
fn a_pid_file_that_is_a_fifo_is_stale() {
    let (_site, server) =
        starts_over_a_hostile_pid_file(|path| nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRWXU).unwrap());
    assert_eq!(server.get("/").status, 200);
    server.stop();
}

#[test]
fn a_pid_file_of_bytes_that_are_not_utf8_is_stale() {
    let (_site, server) =
        starts_over_a_hostile_pid_file(|path| std::fs::write(path, [0xff, 0xfe, 0x00, 0x80]).unwrap());
    server.stop();
}

#[test]
fn cleanup_removes_a_pid_file_it_cannot_read() {
    let site = copy_fixture("quickstart");
    std::fs::create_dir(site.path().join(".bengal")).unwrap();
    std::fs::write(site.path().join(".bengal/server.pid"), [0xff, 0xfe]).unwrap();
    bengal()
        .args(["cleanup", "--root"])
        .arg(site.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("removed stale"));
    assert!(!site.path().join(".bengal/server.pid").exists());
}

#[test]
fn a_stale_pid_file_naming_a_live_pid_does_not_call_it_gone() {
    let (_site, mut server) = starts_over_a_hostile_pid_file(|path| {
        std::fs::write(path, r#"{"pid":1,"ports":[1],"host":"localhost","url":"http://localhost:1/","start_time":1,"exe":"/x/bengal","version":"0.1.0"}"#).unwrap()
    });
    let line = server.wait_for_line("Removed stale");
    assert!(!line.contains("pid 1 is gone"), "{line}");
    server.stop();
}

/// Holds `.bengal/server.lock` in a process that is not a Bengal server
/// (of another user when the tests run as root).
fn foreign_lock_holder(site: &Path) -> std::process::Child {
    let lock = site.join(".bengal/server.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "").unwrap();
    let mut command = Command::new("flock");
    command.arg("--exclusive").arg(&lock).args(["sh", "-c", "echo held; read _"]);
    if nix::unistd::geteuid().is_root() {
        let nobody = nix::unistd::Uid::from_raw(65534);
        nix::unistd::chown(&lock, Some(nobody), None).unwrap();
        command.uid(65534);
    }
    let mut holder = command.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("start flock");
    let mut held = [0u8; 5];
    holder.stdout.as_mut().unwrap().read_exact(&mut held).expect("the lock is held");
    holder
}

#[test]
fn a_lock_held_by_a_process_that_is_not_a_bengal_server_is_named_by_serve_and_cleanup() {
    let site = copy_fixture("quickstart");
    let mut holder = foreign_lock_holder(site.path());
    let pid = holder.id().to_string();
    serve_refused(site.path())
        .stderr(predicate::str::contains(".bengal/server.lock").and(predicate::str::contains(&pid)));
    bengal()
        .args(["cleanup", "--force", "--root"])
        .arg(site.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains(&pid).and(predicate::str::contains("left alone")));
    assert!(matches!(holder.try_wait(), Ok(None)), "the holder was signalled");
    drop(holder.stdin.take());
    holder.wait().unwrap();
}

#[test]
fn a_page_whose_slug_comes_out_empty_is_an_error() {
    use std::os::unix::ffi::OsStrExt;
    let not_utf8 = std::ffi::OsStr::from_bytes(b"caf\xe9.md").to_owned();
    for (name, expected) in
        [(std::ffi::OsString::from("!!!.md"), "content/blog/!!!.md"), (not_utf8, "content/blog/caf")]
    {
        let site = copy_fixture("quickstart");
        std::fs::write(site.path().join("content/blog").join(&name), "+++\ntitle = \"Lost\"\n+++\nbody\n").unwrap();
        let out = tempfile::tempdir().unwrap();
        build_into(site.path(), out.path()).code(1).stderr(predicate::str::contains(expected));
    }
}

#[test]
fn pages_answer_get_and_head_only() {
    let site = copy_fixture("quickstart");
    let server = Server::start(site.path(), &["--port", &free_port()]);
    for method in ["POST", "PUT", "DELETE"] {
        let request =
            format!("{method} / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let response = http::send(server.port, &request, DEADLINE).unwrap();
        assert_eq!(response.status, 405, "{method}: {response:?}");
        assert_eq!(response.header("allow").map(|allow| allow.to_ascii_lowercase()).as_deref(), Some("get, head"));
    }
    let head = http::send(server.port, &http::request("HEAD", "/", "localhost"), DEADLINE).unwrap();
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(head.body_bytes, 0, "HEAD has no body: {head:?}");
    assert_eq!(server.get("/.bengal-written").status, 404, "Bengal's record is not part of the site");
    let staging = site.path().join(".bengal/serve/.bengal-staging.1");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("0"), "torn").unwrap();
    assert_eq!(server.get("/.bengal-staging.1/0").status, 404, "a build's staging folder is not part of the site");
    server.stop();
}

#[test]
fn a_half_sent_request_is_closed_by_the_server() {
    let site = copy_fixture("quickstart");
    let server = Server::start(site.path(), &["--port", &free_port()]);
    let mut half_sent = http::connect(server.port, DEADLINE).unwrap();
    write!(half_sent, "GET / HTTP/1.1\r\nHost: localh").unwrap();
    let closed = http::read_to_close(&mut half_sent, Instant::now() + DEADLINE);
    assert!(closed.is_ok(), "the connection is still open after {DEADLINE:?}: {closed:?}");
    let mut idle = http::connect(server.port, DEADLINE).unwrap();
    write!(idle, "GET /blog/ HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let answered = http::read_to_close(&mut idle, Instant::now() + DEADLINE);
    assert!(answered.is_ok(), "an idle keep-alive connection is still open after {DEADLINE:?}: {answered:?}");
    assert!(answered.unwrap().starts_with(b"HTTP/1.1 200"), "answered before closing");
    server.stop();
}

#[test]
fn a_configured_output_inside_a_hidden_directory_is_refused() {
    let site = copy_fixture("quickstart");
    std::fs::create_dir(site.path().join(".git")).unwrap();
    std::fs::write(site.path().join(".git/config"), "[core]\n").unwrap();
    std::fs::write(site.path().join("static/config"), "[core]\nfsmonitor = \"echo PWNED\"\n").unwrap();
    let config = std::fs::read_to_string(site.path().join("bengal.toml")).unwrap();
    std::fs::write(site.path().join("bengal.toml"), format!("output_dir = \".git\"\n{config}")).unwrap();
    bengal().args(["build", "--root"]).arg(site.path()).assert().code(1).stderr(predicate::str::contains(".git"));
    assert_eq!(std::fs::read_to_string(site.path().join(".git/config")).unwrap(), "[core]\n");
}
