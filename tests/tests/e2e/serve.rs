//! `bengal serve` end to end: a real server on a free port, a real HTTP client.

use std::net::TcpListener;

use bengal_tests::events::EventStream;

use crate::server::{DEADLINE, Server, get};
use crate::util::{copy_fixture, free_port};

fn serve_quickstart() -> (tempfile::TempDir, Server) {
    let site = copy_fixture("quickstart");
    let server = Server::start(site.path(), &["--port", &free_port()]);
    (site, server)
}

#[test]
fn serves_pages_with_the_reload_script_and_no_store() {
    let (_site, server) = serve_quickstart();
    let page = server.get("/blog/hello-bengal/");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    let tag = format!(
        "<script src=\"/__bengal/livereload.js\" data-build=\"{}\" data-file=\"blog/hello-bengal/index.html\"></script></body>",
        build_of(&page.body)
    );
    assert!(page.body.contains(&tag), "{}", page.body);
    assert!(
        page.body.contains("href=\"http://localhost:") || page.body.contains("href=\"/blog/"),
        "links use the served base"
    );

    let redirect = server.get("/blog");
    assert_eq!(redirect.status, 308);
    assert_eq!(redirect.header("location").as_deref(), Some("/blog/"));
    std::fs::create_dir_all(_site.path().join(".bengal/serve/evil.example")).unwrap();
    let no_open_redirect = server.get("//evil.example");
    assert_eq!(no_open_redirect.header("location").as_deref(), Some("/evil.example/"));

    let missing = server.get("/no/such/page/");
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("livereload.js"), "the site's 404 page, with live reload");

    let css = server.get("/theme.css");
    assert_eq!(css.status, 200);
    assert!(css.header("last-modified").is_some());
    assert!(!css.body.contains("livereload"));
    server.stop();
}

#[test]
fn built_files_on_disk_stay_clean() {
    let (site, server) = serve_quickstart();
    let on_disk = std::fs::read_to_string(site.path().join(".bengal/serve/index.html")).expect("serve output");
    assert!(!on_disk.contains("livereload"));
    assert!(!site.path().join("public").exists(), "serve does not touch public/");
    server.stop();
}

#[test]
fn an_update_names_the_files_each_edit_changed() {
    let (site, server) = serve_quickstart();
    let mut events = EventStream::open(server.port, DEADLINE).unwrap();

    let post = site.path().join("content/blog/why-static.md");
    let text = std::fs::read_to_string(&post).unwrap();
    std::fs::write(&post, format!("{text}\nA sentence added while serving.\n")).unwrap();
    assert_eq!(events.next_event().unwrap(), update(&["atom.xml", "blog/why-static/index.html"]));
    assert!(server.get("/blog/why-static/").body.contains("A sentence added while serving."));

    std::fs::write(site.path().join("static/extra.css"), "body { color: red; }\n").unwrap();
    assert_eq!(events.next_event().unwrap(), update(&["extra.css"]));
    assert_eq!(server.get("/extra.css").body, "body { color: red; }\n");
    server.stop();
}

/// The `update` event naming `changed`.
fn update(changed: &[&str]) -> (String, String) {
    let changed: Vec<String> = changed.iter().map(|path| format!("\"{path}\"")).collect();
    ("update".to_owned(), format!("{{\"changed\":[{}],\"removed\":[]}}", changed.join(",")))
}

/// The build a page shows, from its injected script.
fn build_of(page: &str) -> String {
    let at = page.find("data-build=\"").expect("the live-reload script names the build") + "data-build=\"".len();
    page[at..].split('"').next().unwrap_or_default().to_owned()
}

#[test]
fn a_page_that_connects_late_is_told_at_once_what_changed_since_its_build() {
    let (site, server) = serve_quickstart();
    let page = server.get("/blog/why-static/").body;
    let shown = build_of(&page);
    assert!(page.contains("data-file=\"blog/why-static/index.html\""), "{page}");
    let mut events = EventStream::open(server.port, DEADLINE).unwrap();
    let post = site.path().join("content/blog/why-static.md");
    std::fs::write(&post, std::fs::read_to_string(&post).unwrap() + "\nSaved while the page loaded.\n").unwrap();
    events.next_event().unwrap();

    // The page's own stream opens only now, after the save.
    let mut late = EventStream::open_since(server.port, &shown, DEADLINE).unwrap();
    assert_eq!(late.next_event().unwrap(), update(&["atom.xml", "blog/why-static/index.html"]));
    let current = build_of(&server.get("/blog/why-static/").body);
    assert_ne!(current, shown);
    let mut up_to_date = EventStream::open_since(server.port, &current, DEADLINE).unwrap();
    std::fs::write(site.path().join("static/extra.css"), "a {}\n").unwrap();
    assert_eq!(up_to_date.next_event().unwrap(), update(&["extra.css"]), "nothing before the next change");

    // A page of an earlier server process cannot know: it reloads.
    let mut earlier = EventStream::open_since(server.port, "0ld.7", DEADLINE).unwrap();
    assert_eq!(earlier.next_event().unwrap().0, "reload");
    server.stop();
}

#[test]
fn broken_template_shows_overlay_keeps_last_good_page_then_recovers() {
    let (site, server) = serve_quickstart();
    let mut events = EventStream::open(server.port, DEADLINE).unwrap();
    let good = server.get("/blog/hello-bengal/").body;

    let template = site.path().join("templates/page.html");
    std::fs::create_dir_all(template.parent().unwrap()).unwrap();
    // A syntax error, and templates that would recurse without end (which
    // aborted the server before they were checked).
    let nested = "{% if true %}".repeat(5000);
    for (text, line) in [("<h1>{{ page.title </h1>\n", 1), ("<p>\n{% include \"page.html\" %}\n", 2), (&nested, 1)] {
        std::fs::write(&template, text).unwrap();
        let (name, data) = events.next_event().unwrap();
        assert_eq!(name, "build-error");
        let line = format!("\"line\":{line},");
        assert!(data.contains("\"file\":\"templates/page.html\"") && data.contains(&line), "{line} {data}");
        assert_eq!(server.get("/blog/hello-bengal/").body, good, "the last good build is still served");
    }

    std::fs::write(&template, "{% extends \"base.html\" %}{% block content %}FIXED {{ page.title }}{% endblock %}\n")
        .unwrap();
    assert_eq!(events.next_event().unwrap().0, "update");
    assert!(server.get("/blog/hello-bengal/").body.contains("FIXED Hello, Bengal"));
    server.stop();
}

#[test]
fn a_failed_first_build_still_serves_the_error_until_fixed() {
    let site = copy_fixture("broken-front-matter");
    let mut server = Server::start(site.path(), &["--port", &free_port()]);
    server.wait_for_line("error: content/post.md:3");
    let page = server.get("/");
    assert_eq!(page.status, 500);
    assert!(page.body.contains("content/post.md:3") && page.body.contains("livereload.js"));

    // The error stands for every page, a page rendered first included.
    let mut events = EventStream::open(server.port, DEADLINE).unwrap();
    assert_eq!(events.next_event().unwrap().0, "build-error");
    std::fs::write(site.path().join("content/post.md"), "+++\ntitle = \"Fixed\"\n+++\nNow it builds.\n").unwrap();
    assert_eq!(events.next_event().unwrap().0, "update");
    assert_eq!(server.get("/post/").status, 200);
    server.stop();
}

#[test]
fn traversal_attempts_are_refused() {
    let (site, server) = serve_quickstart();
    std::fs::write(site.path().join("secret.txt"), "SECRET").unwrap();
    std::os::unix::fs::symlink(site.path().join("secret.txt"), site.path().join(".bengal/serve/link.txt")).unwrap();
    for path in [
        "/../secret.txt",
        "/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/blog/..%2f..%2fsecret.txt",
        "/link.txt",
        &format!("/{}", site.path().join("secret.txt").display()),
    ] {
        let response = server.get(path);
        assert!(response.status >= 400, "{path} → {}", response.status);
        assert!(!response.body.contains("SECRET"), "{path} leaked the file");
    }
    server.stop();
}

#[test]
fn foreign_host_is_refused_unless_allowed() {
    let site = copy_fixture("quickstart");
    let server = Server::start(site.path(), &["--port", &free_port(), "--allowed-host", "tunnel.example"]);
    let refused = get(server.port, "/", "evil.example");
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("--allowed-host evil.example"), "{}", refused.body);
    assert_eq!(get(server.port, "/", "tunnel.example").status, 200);
    assert_eq!(get(server.port, "/", &format!("127.0.0.1:{}", server.port)).status, 200);
    server.stop();
}

#[test]
fn a_port_held_by_another_process_is_skipped_and_named() {
    let holder = TcpListener::bind(("127.0.0.1", 5173));
    let site = copy_fixture("quickstart");
    let mut server = Server::start(site.path(), &[]);
    let skipped = server.wait_for_line("Port 5173 is in use");
    if holder.is_ok() {
        assert!(skipped.contains(&format!("pid {}", std::process::id())), "{skipped}");
    }
    assert!((5174..=5183).contains(&server.port), "{}", server.port);
    assert_eq!(server.get("/").status, 200);
    server.stop();
}

#[test]
fn explicit_port_that_is_taken_fails_with_the_holder() {
    let holder = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let site = copy_fixture("quickstart");
    let output = crate::util::bengal().args(["serve", "--port", &port, "--root"]).arg(site.path()).assert().code(1);
    let stderr = String::from_utf8(output.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains(&format!("Port {port} is in use by pid {}", std::process::id())), "{stderr}");
}

#[test]
fn pages_are_never_torn_during_rebuilds() {
    let (site, server) = serve_quickstart();
    let mut events = EventStream::open(server.port, DEADLINE).unwrap();
    let post = site.path().join("content/blog/why-static.md");
    let original = std::fs::read_to_string(&post).unwrap();
    let port = server.port;
    let reader = std::thread::spawn(move || {
        (0..150)
            .map(|_| get(port, "/blog/why-static/", "localhost"))
            .filter(|r| r.status != 200 || !r.body.trim_end().ends_with("</html>"))
            .map(|r| format!("{} {}", r.status, r.body.len()))
            .collect::<Vec<_>>()
    });
    for edit in 0..10 {
        std::fs::write(&post, format!("{original}\n{}\n", "Padding words. ".repeat(200 * (edit + 1)))).unwrap();
        assert_eq!(events.next_event().unwrap().0, "update");
    }
    let torn = reader.join().unwrap();
    assert!(torn.is_empty(), "incomplete responses: {torn:?}");
    server.stop();
}

#[test]
fn serving_the_current_directory_rebuilds_on_edits() {
    let site = copy_fixture("quickstart");
    let mut command = std::process::Command::new(crate::server::bengal_path());
    command.args(["serve", "--port", &free_port()]).current_dir(site.path());
    let server = Server::launch(command);
    let mut events = EventStream::open(server.port, DEADLINE).unwrap();
    let post = site.path().join("content/blog/why-static.md");
    std::fs::write(&post, std::fs::read_to_string(&post).unwrap() + "\nEdited from the site's own directory.\n")
        .unwrap();
    assert_eq!(events.next_event().unwrap().0, "update");
    assert!(server.get("/blog/why-static/").body.contains("Edited from the site"));
    server.stop();
}

const RESUMED: &str = "Serving the last build at once";

/// A server restarted on a site where no file changed since the last server
/// built it (at start or on a save) serves that output at once, building
/// behind it; a record of that output
/// that is torn or of another Bengal is never trusted: the site is built
/// before it is served, and served right.
#[test]
fn a_restart_serves_the_last_build_only_while_its_record_is_whole_and_current() {
    let site = copy_fixture("quickstart");
    let port = free_port();
    let record = site.path().join(".bengal/serve-record.json");
    let page = "/blog/hello-bengal/";
    let serve = || Server::start(site.path(), &["--port", &port]);
    let built_first = |server: &mut Server| {
        server.wait_for_line("Built in");
        assert!(!server.printed().contains(RESUMED), "{}", server.printed());
        assert!(server.get(page).body.contains("Hello"), "{}", server.get(page).body);
    };

    let mut first = serve();
    built_first(&mut first);
    // What a server rebuilt is recorded too: its edits leave the site current.
    let mut events = EventStream::open(first.port, DEADLINE).unwrap();
    let post = site.path().join("content/blog/hello-bengal.md");
    std::fs::write(&post, std::fs::read_to_string(&post).unwrap() + "\nEdited while served.\n").unwrap();
    assert_eq!(events.next_event().unwrap().0, "update");
    first.stop();

    let mut resumed = serve();
    resumed.wait_for_line(&format!("{RESUMED}: no file has changed"));
    let served = resumed.get(page);
    assert_eq!(served.status, 200);
    assert!(served.body.contains("Edited while served."), "{}", served.body);
    resumed.stop();

    let whole = std::fs::read_to_string(&record).unwrap();
    std::fs::write(&record, &whole[..whole.len() / 2]).unwrap();
    let mut torn = serve();
    built_first(&mut torn);
    torn.stop();

    let mut foreign: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    foreign["bengal"] = "0.0.1 1 1".into();
    std::fs::write(&record, foreign.to_string()).unwrap();
    let mut other_bengal = serve();
    built_first(&mut other_bengal);
    other_bengal.stop();
}

/// On a first start, a page asked for before the build is done is rendered
/// ahead of the rest and served at once. (The failpoint holds the build's
/// other jobs until two pages are answered: the first is seen answered
/// while nothing is written and the build is not done.)
#[test]
fn on_a_first_start_a_page_asked_for_is_rendered_first() {
    let site = copy_fixture("quickstart");
    let port = free_port();
    let mut command = std::process::Command::new(crate::server::bengal_path());
    command.arg("serve").arg("--root").arg(site.path()).args(["--port", &port]);
    command.env("BENGAL_FAILPOINTS", "hold_build_for_two_requests");
    let mut server = Server::spawn(command, port.parse().unwrap());
    // The port is bound before the build starts: asked until it accepts.
    let asked = bengal_tests::poll::until(DEADLINE, || {
        bengal_tests::http::get(server.port, "/blog/hello-bengal/", DEADLINE).ok()
    })
    .expect("the server accepts");
    assert_eq!(asked.status, 200);
    assert!(asked.body.contains("Hello") && asked.body.contains("livereload.js"), "{}", asked.body);
    assert!(!site.path().join(".bengal/serve/blog/hello-bengal/index.html").exists());
    assert!(!server.printed().contains("Built in"), "{}", server.printed());

    assert_eq!(server.get("/").status, 200);
    server.wait_for_line("Built in");
    assert!(site.path().join(".bengal/serve/blog/hello-bengal/index.html").is_file());
    server.stop();
}

/// A restart tells what a first start tells of the configuration: which
/// file was read, what of it Bengal ignores.
#[test]
fn a_restart_tells_of_the_configuration_as_a_first_start_does() {
    let site = copy_fixture("zola-themed");
    let port = free_port();
    let note = "Read config.toml (Zola's configuration)";
    let first = Server::start(site.path(), &["--port", &port]);
    assert!(first.printed().contains(note), "{}", first.printed());
    first.stop();
    let mut resumed = Server::start(site.path(), &["--port", &port]);
    let printed = resumed.wait_for_line(RESUMED);
    assert!(resumed.printed().contains(note), "{printed}\n{}", resumed.printed());
    resumed.stop();
}

/// A server restarted after files changed with no server running serves
/// the last build at once, and renders first each page asked for before
/// the build behind it is done: a changed page is never served as it was.
/// (The failpoint holds the build's other jobs until two pages are
/// answered, so the first is seen answered while nothing is written.)
#[test]
fn a_page_changed_since_the_last_build_is_rendered_first_when_asked_for() {
    let site = copy_fixture("quickstart");
    let port = free_port();
    Server::start(site.path(), &["--port", &port]).stop();
    let written = |page: &str| std::fs::read_to_string(site.path().join(".bengal/serve").join(page)).unwrap();
    for post in ["hello-bengal", "why-static"] {
        let file = site.path().join(format!("content/blog/{post}.md"));
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, format!("{text}\nWritten while no server ran.\n")).unwrap();
    }

    let mut command = std::process::Command::new(crate::server::bengal_path());
    command.arg("serve").arg("--root").arg(site.path()).args(["--port", &port]);
    command.env("BENGAL_FAILPOINTS", "hold_build_for_two_requests");
    let mut server = Server::launch(command);
    server.wait_for_line(&format!("{RESUMED} while what changed since is built"));
    let asked = server.get("/blog/hello-bengal/");
    assert_eq!(asked.status, 200);
    assert!(asked.body.contains("Written while no server ran."), "{}", asked.body);
    assert!(!written("blog/hello-bengal/index.html").contains("Written while no server ran."));

    assert!(server.get("/blog/why-static/index.html").body.contains("Written while no server ran."));
    server.wait_for_line("Rebuilt in");
    assert!(written("blog/hello-bengal/index.html").contains("Written while no server ran."));
    server.stop();
}
