//! `cargo xtask bench`: full-build time and peak memory of Bengal on
//! generated sites of each size asked, against Zola and Hugo on the same
//! pages in the same run when they are there; then the dev server's figures.
//!
//! Reports medians and ratios; it asserts nothing, since a timing is a
//! measurement, not a test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bengal_tests::events::EventStream;
use bengal_tests::{http, launch, poll};

use crate::cargo;
use crate::flags::Bench;

mod browser;

/// The longest any wait on a server may take.
const WAIT: Duration = Duration::from_secs(120);

/// The largest site the dev server figures are taken on: the issue's
/// targets are for 1,000 and 10,000 pages.
const SERVE_PAGES: usize = 10_000;

/// Builds Bengal (release), generates the sites, and prints the figures.
pub fn run(args: &Bench) -> Result<(), String> {
    cargo(&["build", "--release", "--package", "bengal", "--bins"])?;
    let bengal = crate::target_dir().join("release/bengal");
    let zola = args.zola.clone().or_else(|| on_path("zola"));
    let out = args.out.clone().unwrap_or_else(|| crate::target_dir().join("bench/out"));
    let mut sites = Vec::new();
    for &pages in &args.pages {
        let site = crate::target_dir().join(format!("bench/site-{pages}"));
        generate_site(&site, pages).map_err(|err| format!("could not write the bench site: {err}"))?;
        eprintln!("site: {pages} pages in {}", site.display());
        sites.push((pages, site));
    }
    if !args.serve_only {
        if zola.is_none() {
            eprintln!("zola is not installed: it is left out (build it from its repository, pass --zola BIN)");
        }
        if on_path("hugo").is_none() {
            eprintln!("hugo is not installed: it is left out (apt-get install hugo)");
        }
        for (pages, site) in &sites {
            let builders = builders(&bengal, args.baseline.as_deref(), zola.as_deref(), site, &out);
            let runs = time_interleaved(&builders, args.runs)?;
            print_builds(*pages, args.runs, &builders, &runs);
        }
    }
    for (pages, site) in sites.iter().filter(|(pages, _)| *pages <= SERVE_PAGES) {
        let serve = serve_bench(&bengal, site, *pages, args.runs * 2 + 1)?;
        print_serve(*pages, &serve);
    }
    match sites.iter().rfind(|(pages, _)| *pages <= SERVE_PAGES) {
        Some((pages, site)) => browser_bench(&bengal, site, *pages, args),
        None => Ok(()),
    }
}

/// `name` if it runs from `PATH` (asked its `version`, which Zola and Hugo
/// both answer).
fn on_path(name: &str) -> Option<PathBuf> {
    let runs = Command::new(name).arg(if name == "hugo" { "version" } else { "--version" }).output();
    let runs = runs.is_ok_and(|out| out.status.success());
    runs.then(|| PathBuf::from(name))
}

/// One generator's build of a bench site into `output`.
struct Builder {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    output: PathBuf,
    /// The Bengal build this one is compared with (an index into the
    /// builders): the one whose templates do about the same work.
    compared_with: Option<usize>,
}

/// Bengal's builds come first: the site with Bengal's theme, then Zola's copy
/// of it as it is (Zola's templates, which do about what the Hugo layouts do).
const BENGAL: usize = 0;
const BENGAL_ON_ZOLA_SITE: usize = 1;

/// Bengal on the site and on its Zola copy, then the baseline, Zola and Hugo,
/// each that is there.
fn builders(bengal: &Path, baseline: Option<&Path>, zola: Option<&Path>, site: &Path, out: &Path) -> Vec<Builder> {
    let text = |path: &Path| path.display().to_string();
    let bengal_build = |name, program: &Path, root: &Path, compared_with| {
        let output = out.join(name);
        let args =
            vec!["--quiet".into(), "build".into(), "--root".into(), text(root), "--output".into(), text(&output)];
        Builder { name, program: program.to_path_buf(), args, output, compared_with }
    };
    let mut builders =
        vec![bengal_build("bengal", bengal, site, None), bengal_build("bengal-zs", bengal, &site.join("zola"), None)];
    if let Some(baseline) = baseline {
        builders.push(bengal_build("baseline", baseline, site, Some(BENGAL)));
    }
    if let Some(zola) = zola {
        let output = out.join("zola");
        let args =
            vec!["--root".into(), text(&site.join("zola")), "build".into(), "--output-dir".into(), text(&output)];
        builders.push(Builder {
            name: "zola",
            program: zola.to_path_buf(),
            args,
            output,
            compared_with: Some(BENGAL_ON_ZOLA_SITE),
        });
    }
    if on_path("hugo").is_some() {
        let output = out.join("hugo");
        let args = vec!["--quiet".into(), "--source".into(), text(site), "--destination".into(), text(&output)];
        builders.push(Builder {
            name: "hugo",
            program: "hugo".into(),
            args,
            output,
            compared_with: Some(BENGAL_ON_ZOLA_SITE),
        });
    }
    builders
}

/// One build: its wall time and the peak memory (resident) of its process.
#[derive(Clone, Copy)]
struct Run {
    time: Duration,
    peak_bytes: u64,
}

fn print_builds(pages: usize, runs: usize, builders: &[Builder], measured: &[Vec<Run>]) {
    println!(
        "full build of {pages} pages into an empty output, median of {runs} runs (after one warm-up; the builds take turns):"
    );
    let medians: Vec<(Duration, u64)> = measured
        .iter()
        .map(|runs| {
            (
                median(&runs.iter().map(|r| r.time).collect::<Vec<_>>()),
                median(&runs.iter().map(|r| r.peak_bytes).collect::<Vec<_>>()),
            )
        })
        .collect();
    for (builder, (time, peak)) in builders.iter().zip(&medians) {
        println!("  {:<9} {:>9.1} ms {:>7.1} MiB peak", builder.name, ms(*time), mib(*peak));
    }
    println!("  (bengal-zs: Bengal building the Zola copy of the site as it is, with Zola's templates)");
    for (builder, (other_time, other_peak)) in builders.iter().zip(&medians) {
        let Some(bengal) = builder.compared_with else { continue };
        let (time, peak) = medians[bengal];
        println!(
            "  {:>9} / {:<9} time {:.2}, memory {:.2}",
            builders[bengal].name,
            builder.name,
            ms(time) / ms(*other_time),
            mib(peak) / mib(*other_peak)
        );
    }
}

/// The browser figures, when Chromium is there.
fn browser_bench(bengal: &Path, site: &Path, pages: usize, args: &Bench) -> Result<(), String> {
    if !bengal_tests::browser::chromium_path().is_file() {
        eprintln!("chromium is not installed: the browser figures are skipped (apt-get install chromium)");
        return Ok(());
    }
    let (page, url_path) = edited_page(site, pages);
    let times = browser::run(bengal, site, &page, &url_path, args.runs * 2 + 1)?;
    println!("in headless Chromium, {pages} pages, a tab open on {url_path}:");
    println!("  save to new text painted      {:>8.1} ms  (median of {})", ms(median(&times.text)), times.text.len());
    println!("  first save of static/theme.css to restyled {:>8.1} ms", ms(times.first_css));
    println!("  stylesheet save to restyled   {:>8.1} ms  (median of {})", ms(median(&times.css)), times.css.len());
    println!("  restart, serving to reloaded  {:>8.1} ms", ms(times.restart));
    Ok(())
}

/// The page the serve figures edit, one of the middle of the site (page N
/// is in section N % SECTIONS), and its URL path.
fn edited_page(site: &Path, pages: usize) -> (PathBuf, String) {
    let page = 13 % pages;
    let section = page % SECTIONS;
    (site.join(format!("content/s{section}/p{page:05}.md")), format!("/s{section}/p{page:05}/"))
}

fn print_serve(pages: usize, serve: &ServeTimes) {
    println!("bengal serve on the site of {pages} pages:");
    println!("  first start to a page's first 200 (rendered first)  {:>8.1} ms", ms(serve.first_response));
    println!("  first start to built                                {:>8.1} ms", ms(serve.first_built));
    println!("  restart on the unchanged site to first 200          {:>8.1} ms", ms(serve.restart_response));
    println!("  restart after a page changed to its new text (rendered first) {:>8.1} ms", ms(serve.changed_response));
    println!(
        "  save to update event {:>8.1} ms  (median of {} edits of one page)",
        ms(median(&serve.reloads)),
        serve.reloads.len()
    );
}

struct ServeTimes {
    /// A page asked for as soon as a first server accepts.
    first_response: Duration,
    /// Until that server printed its address, the first build done.
    first_built: Duration,
    reloads: Vec<Duration>,
    /// A second server on the site left as the first built it.
    restart_response: Duration,
    /// A server on a site changed since the last one built it.
    changed_response: Duration,
}

/// Starts `bengal serve` on `site`, times the first 200, then times each of
/// `edits` saves of one page until its update event arrives.
fn serve_bench(bengal: &Path, site: &Path, pages: usize, edits: usize) -> Result<ServeTimes, String> {
    let port = bengal_tests::free_port().map_err(|err| format!("no free port: {err}"))?;
    // A cold start: nothing left from an earlier serve to skip writing.
    let served = site.join(".bengal/serve");
    if served.exists() {
        std::fs::remove_dir_all(&served).map_err(|err| format!("could not clear {}: {err}", served.display()))?;
    }
    let (page, url_path) = edited_page(site, pages);
    let started = Instant::now();
    let mut server = Serving::spawn(bengal, site, port)?;
    let first_response = first_200(port, &url_path, "", started)?;
    // The banner is printed once the site is built.
    server.wait_serving()?;
    let first_built = started.elapsed();
    let mut events = EventStream::open(port, WAIT)?;
    let mut reloads = Vec::with_capacity(edits);
    for edit in 0..edits {
        let saved = Instant::now();
        append(&page, &format!("\nEdit number {edit}.\n"))?;
        events.wait_for("event: update")?;
        reloads.push(saved.elapsed());
    }
    // Stopped, it has recorded what its last rebuild was made from.
    drop(server);
    let restarted = Instant::now();
    let server = Serving::start(bengal, site, port)?;
    let status = http::get(port, "/", WAIT)?.status;
    if status != 200 {
        return Err(format!("the restarted bengal serve answered / with {status}, not 200"));
    }
    let restart_response = restarted.elapsed();
    drop(server);
    append(&page, "\nChanged while no server ran.\n")?;
    let restarted = Instant::now();
    let _server = Serving::spawn(bengal, site, port)?;
    let changed_response = first_200(port, &url_path, "Changed while no server ran.", restarted)?;
    Ok(ServeTimes { first_response, first_built, reloads, restart_response, changed_response })
}

/// How long since `started` until `GET path` answers 200 with `text` in
/// its body, asked again while the port refuses.
fn first_200(port: u16, path: &str, text: &str, started: Instant) -> Result<Duration, String> {
    let answered = poll::until(WAIT, || http::get(port, path, WAIT).ok());
    match answered {
        Some(response) if response.status == 200 && response.body.contains(text) => Ok(started.elapsed()),
        Some(response) => Err(format!("{path} answered {} without {text:?}", response.status)),
        None => Err(format!("{path} did not answer within {} s", WAIT.as_secs())),
    }
}

fn append(file: &Path, text: &str) -> Result<(), String> {
    let old = std::fs::read_to_string(file).map_err(|err| format!("{}: {err}", file.display()))?;
    std::fs::write(file, old + text).map_err(|err| format!("{}: {err}", file.display()))
}

/// A `bengal serve` of a site, serving once `start` returns; stopped (by
/// its pid) when dropped. Its output is read all along, so the server's
/// lines never meet a full or closed pipe.
struct Serving {
    server: launch::Piped,
}

impl Serving {
    /// Starts a server and waits until it prints its address.
    fn start(bengal: &Path, site: &Path, port: u16) -> Result<Serving, String> {
        let mut serving = Serving::spawn(bengal, site, port)?;
        serving.wait_serving()?;
        Ok(serving)
    }

    /// Starts a server, not waiting for anything.
    fn spawn(bengal: &Path, site: &Path, port: u16) -> Result<Serving, String> {
        let mut command = Command::new(bengal);
        command.args(["serve", "--port", &port.to_string(), "--root"]).arg(site).env("NO_COLOR", "1");
        Ok(Serving { server: launch::spawn_piped(&mut command)? })
    }

    /// Waits until the server prints its address (after its first build).
    fn wait_serving(&mut self) -> Result<(), String> {
        let server = &mut self.server;
        let serving = poll::until(WAIT, || {
            if server.output.text().contains("Local:") {
                Some(Ok(()))
            } else {
                server.child.try_wait().ok().flatten().map(Err)
            }
        });
        match serving {
            Some(Ok(())) => Ok(()),
            Some(Err(status)) => {
                Err(format!("bengal serve exited before serving ({status}):\n{}", server.output.text()))
            }
            None => Err(format!("bengal serve did not serve within {} s", WAIT.as_secs())),
        }
    }
}

impl Drop for Serving {
    /// Stops the server as an author would, so that it records its last
    /// build for the next start; killed if it does not stop in time.
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.server.child.id() as i32);
        let stopped = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).is_ok()
            && launch::wait_exit(pid, Duration::from_secs(10)).is_ok();
        if !stopped {
            let _ = self.server.child.kill();
            let _ = self.server.child.wait();
        }
    }
}

/// Times `runs` builds of each builder after one warm-up each. The output
/// directory is removed (untimed) before every run, so each is a full build
/// from nothing, as a deploy or CI build is. The builders take turns, so a
/// slow spell of a shared machine weighs on all of them alike and their
/// ratio holds.
fn time_interleaved(builders: &[Builder], runs: usize) -> Result<Vec<Vec<Run>>, String> {
    let mut measured = vec![Vec::with_capacity(runs); builders.len()];
    for run in 0..=runs {
        for (builder, measured) in builders.iter().zip(&mut measured) {
            if builder.output.exists() {
                std::fs::remove_dir_all(&builder.output)
                    .map_err(|err| format!("could not clear {}: {err}", builder.output.display()))?;
            }
            let timed = build_once(builder)?;
            if run > 0 {
                measured.push(timed);
            }
        }
    }
    Ok(measured)
}

/// Runs one build, its output discarded, and reaps it with `wait4`, which
/// reports the peak resident memory of that one process.
fn build_once(builder: &Builder) -> Result<Run, String> {
    let started = Instant::now();
    let child = Command::new(&builder.program)
        .args(&builder.args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|err| format!("could not run {}: {err}", builder.program.display()))?;
    let pid = i32::try_from(child.id()).map_err(|_| "a pid out of range".to_owned())?;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills; the pid is our child's,
    // reaped here once (the Child is never waited on).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let time = started.elapsed();
    if reaped != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{} {} failed (status {status})", builder.program.display(), builder.args.join(" ")));
    }
    // Linux reports ru_maxrss in KiB.
    Ok(Run { time, peak_bytes: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024 })
}

fn median<T: Ord + Copy>(values: &[T]) -> T {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

const SECTIONS: usize = 10;
const TAGS: usize = 50;
const WORDS: &[&str] = &[
    "static",
    "site",
    "generator",
    "markdown",
    "template",
    "section",
    "page",
    "build",
    "server",
    "browser",
    "reload",
    "fast",
    "simple",
    "content",
    "author",
    "theme",
    "feed",
    "taxonomy",
    "render",
    "output",
];

/// Writes a site that both Bengal and Hugo can build: TOML front matter that
/// both read, `bengal.toml` for Bengal, `hugo.toml` and `layouts/` for Hugo;
/// and the same pages in `zola/` for Zola, whose front matter puts terms
/// under `[taxonomies]` and which has no templates of its own.
fn generate_site(site: &Path, pages: usize) -> std::io::Result<()> {
    let last = format!("s{}/p{:05}.md", (pages - 1) % SECTIONS, pages - 1);
    if site.join("content").join(&last).is_file() && site.join("zola/content").join(&last).is_file() {
        return Ok(());
    }
    if site.exists() {
        std::fs::remove_dir_all(site)?;
    }
    let write = |relative: &str, text: &str| -> std::io::Result<()> {
        let path: PathBuf = site.join(relative);
        std::fs::create_dir_all(path.parent().unwrap_or(site))?;
        std::fs::write(path, text)
    };
    write("bengal.toml", "title = \"Bench\"\nbase_url = \"https://example.org/\"\npaginate_by = 10\n")?;
    write("hugo.toml", "baseURL = \"https://example.org/\"\ntitle = \"Bench\"\npaginate = 10\n")?;
    for (name, text) in HUGO_LAYOUTS {
        write(&format!("layouts/_default/{name}"), text)?;
    }
    write("zola/config.toml", ZOLA_CONFIG)?;
    for (name, text) in ZOLA_TEMPLATES {
        write(&format!("zola/templates/{name}"), text)?;
    }
    for content in ["content", "zola/content"] {
        write(&format!("{content}/_index.md"), "+++\ntitle = \"Home\"\n+++\nWelcome.\n")?;
        for section in 0..SECTIONS {
            let front = format!("+++\ntitle = \"Section {section}\"\npaginate_by = 10\n+++\n");
            write(&format!("{content}/s{section}/_index.md"), &front)?;
        }
    }
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for page in 0..pages {
        let section = page % SECTIONS;
        let tags: Vec<String> = (0..3).map(|_| format!("\"tag{}\"", next() as usize % TAGS)).collect();
        let day = page % 28 + 1;
        let month = page / 28 % 12 + 1;
        let mut body = String::new();
        for paragraph in 0..4 {
            if paragraph == 2 {
                body.push_str("## A heading\n\n```rust\nfn main() {\n    println!(\"hello\");\n}\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n");
            }
            let words: Vec<&str> = (0..80).map(|_| WORDS[next() as usize % WORDS.len()]).collect();
            body.push_str(&words.join(" "));
            body.push_str(".\n\n");
        }
        let (title, tags) = (format!("title = \"Page {page}\"\ndate = 2024-{month:02}-{day:02}"), tags.join(", "));
        let file = format!("s{section}/p{page:05}.md");
        write(&format!("content/{file}"), &format!("+++\n{title}\ntags = [{tags}]\n+++\n\n{body}"))?;
        write(&format!("zola/content/{file}"), &format!("+++\n{title}\n[taxonomies]\ntags = [{tags}]\n+++\n\n{body}"))?;
    }
    Ok(())
}

/// Zola's configuration: feeds and the tags taxonomy, paginated as Bengal's
/// and Hugo's lists are, and code highlighted with classes.
const ZOLA_CONFIG: &str = "base_url = \"https://example.org/\"
title = \"Bench\"
generate_feeds = true
taxonomies = [{ name = \"tags\", paginate_by = 10 }]

[markdown.highlighting]
theme = \"github-dark\"
style = \"class\"
";

/// Zola templates doing what the Hugo layouts do.
const ZOLA_TEMPLATES: &[(&str, &str)] = &[
    (
        "base.html",
        "<!DOCTYPE html><html><head><title>{% block title %}{{ config.title }}{% endblock %}</title></head><body><nav>{% for s in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] %}<a href=\"/s{{ s }}/\">Section {{ s }}</a>{% endfor %}</nav><main>{% block main %}{% endblock %}</main></body></html>",
    ),
    (
        "page.html",
        "{% extends \"base.html\" %}{% block main %}<h1>{{ page.title }}</h1><time>{{ page.date | date(format=\"%B %e, %Y\") }}</time> {{ page.reading_time }} min<ul>{% for tag in page.taxonomies.tags %}<li>{{ tag }}</li>{% endfor %}</ul>{{ page.content | safe }}{% endblock %}",
    ),
    ("section.html", ZOLA_LIST),
    ("index.html", ZOLA_LIST),
    ("taxonomy_single.html", ZOLA_LIST),
    (
        "taxonomy_list.html",
        "{% extends \"base.html\" %}{% block main %}{% for term in terms %}<a href=\"{{ term.permalink }}\">{{ term.name }}</a>{% endfor %}{% endblock %}",
    ),
];

const ZOLA_LIST: &str = "{% extends \"base.html\" %}{% block main %}{% if paginator %}{% for p in paginator.pages %}<article><a href=\"{{ p.permalink }}\">{{ p.title }}</a>{{ p.summary | safe }}</article>{% endfor %}{% endif %}{% endblock %}";

/// Hugo layouts doing about what Bengal's theme does: a base, a page with its
/// tags and content, and paginated lists with summaries.
const HUGO_LAYOUTS: &[(&str, &str)] = &[
    (
        "baseof.html",
        "<!DOCTYPE html><html><head><title>{{ .Title }}</title></head><body><nav>{{ range .Site.Sections }}<a href=\"{{ .RelPermalink }}\">{{ .Title }}</a>{{ end }}</nav><main>{{ block \"main\" . }}{{ end }}</main></body></html>",
    ),
    (
        "single.html",
        "{{ define \"main\" }}<h1>{{ .Title }}</h1><time>{{ .Date.Format \"January 2, 2006\" }}</time> {{ .ReadingTime }} min<ul>{{ range .Params.tags }}<li>{{ . }}</li>{{ end }}</ul>{{ .TableOfContents }}{{ .Content }}{{ end }}",
    ),
    (
        "list.html",
        "{{ define \"main\" }}<h1>{{ .Title }}</h1>{{ .Content }}{{ range .Paginator.Pages }}<article><a href=\"{{ .RelPermalink }}\">{{ .Title }}</a>{{ .Summary }}</article>{{ end }}{{ end }}",
    ),
];
