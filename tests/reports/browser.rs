//! The HTML pages opened in a real headless browser, Debian's `chromium`:
//! each page must load with no console message (a script error, or the
//! page's Content-Security-Policy refusing something, is one) and no
//! network request made by the page, and must draw its charts. A
//! screenshot of each page is kept under `target/tmp/` as an artifact.
//!
//! What the browser did is read from its own records, not guessed: console
//! messages from its log on stderr (`--enable-logging=stderr`), requests
//! from its network log (`--log-net-log`, where a request the page made
//! carries the page as its initiator and the browser's own background
//! requests carry none), and the drawn page from `--dump-dom`. A control
//! page that does log and fetch proves the detectors see both.
//!
//! Without `chromium` the tests fail in CI (`CI` set: `.ci/run` installs
//! it) and are skipped, saying so, on a developer's machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration as Wait, Instant};

use nextbest::Timestamp;
use nextbest::decide::Engine;
use nextbest::forecast::Forecast;
use nextbest::history::MemoryHistory;
use nextbest::report::{Options, Report};
use nextbest::rules::{Format, RuleSet};
use nextbest::simulate::Simulation;

use crate::fixture;

/// A directory of its own for one page, under `target/tmp/`.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("browser-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

/// The browser, or `None` (after saying why) when the tests may skip.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed, and CI is set: .ci/run installs it (apt-get install chromium)"
        );
        eprintln!(
            "skipped: chromium is not installed (apt-get install chromium); the HTML pages were not opened"
        );
    }
    found
}

/// What the browser did with a page.
struct Observed {
    console: Vec<String>,
    requests: Vec<String>,
    dom: String,
}

/// Runs the browser on `page` with `extra` arguments; gives its stdout and
/// stderr. A browser that hangs is killed after two minutes (a guard, not
/// a timing assertion: a page loads in about a second).
fn browse(
    browser: &Path,
    dir: &Scratch,
    name: &str,
    page: &Path,
    extra: &[String],
) -> (String, String) {
    let profile = dir.file(&format!("{name}-profile"));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Wait::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "chromium did not finish with {} in two minutes",
                page.display()
            );
        }
        std::thread::sleep(Wait::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Opens `page`: its console messages, the requests it made, its DOM.
fn open(browser: &Path, dir: &Scratch, name: &str, page: &Path) -> Observed {
    let net_log = dir.file(&format!("{name}-net.json"));
    let extra = [
        "--enable-logging=stderr".to_owned(),
        "--v=0".to_owned(),
        format!("--log-net-log={}", net_log.display()),
        "--dump-dom".to_owned(),
    ];
    let (dom, stderr) = browse(browser, dir, name, page, &extra);
    let console = (stderr.lines())
        .filter(|line| line.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    Observed {
        console,
        requests: page_requests(&net_log),
        dom,
    }
}

/// The URLs of the requests a page made, from a network log: a request's
/// start names the origin that initiated it, and the browser's own
/// requests (update checks and the like) have none.
fn page_requests(net_log: &Path) -> Vec<String> {
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(net_log).unwrap()).unwrap();
    let start = &log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"];
    let begin = &log["constants"]["logEventPhase"]["PHASE_BEGIN"];
    assert!(
        start.is_number() && begin.is_number(),
        "the network log names no request start"
    );
    (log["events"].as_array().unwrap().iter())
        .filter(|event| &event["type"] == start && &event["phase"] == begin)
        .filter(|event| event["params"]["initiator"] != "not an origin")
        .map(|event| event["params"]["url"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// Screenshots `page` into `target/tmp/NAME.png` and returns its size.
fn screenshot(browser: &Path, dir: &Scratch, name: &str, page: &Path) -> u64 {
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let png = artifacts.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&png);
    let extra = [
        "--window-size=1280,1800".to_owned(),
        format!("--screenshot={}", png.display()),
    ];
    browse(browser, dir, &format!("{name}-shot"), page, &extra);
    std::fs::copy(page, artifacts.join(format!("{name}.html"))).unwrap();
    std::fs::metadata(&png).unwrap().len()
}

/// Checks a page of ours: nothing logged, nothing fetched, `marks` drawn.
fn check_page(name: &str, html: &str, marks: &[&str]) {
    let Some(browser) = chromium() else { return };
    let dir = Scratch::new(name);
    let page = dir.file(&format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let seen = open(&browser, &dir, name, &page);
    assert_eq!(seen.console, Vec::<String>::new(), "console messages");
    assert_eq!(seen.requests, Vec::<String>::new(), "network requests");
    assert!(seen.dom.contains("<svg"), "no chart in {}", seen.dom);
    for mark in marks {
        assert!(seen.dom.contains(mark), "`{mark}` was not drawn");
    }
    // A screenshot of a drawn page: well over the size of a blank one.
    assert!(screenshot(&browser, &dir, name, &page) > 20_000);
}

#[test]
fn the_detectors_see_console_messages_and_requests() {
    let Some(browser) = chromium() else { return };
    let dir = Scratch::new("browser-control");
    let page = dir.file("control.html");
    // Port 9 (discard) on this machine: refused, but requested.
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><img src=\"http://127.0.0.1:9/x.png\">\
         <script>console.error('control')</script></body></html>",
    )
    .unwrap();
    let seen = open(&browser, &dir, "control", &page);
    assert!(
        seen.console.iter().any(|l| l.contains("control")),
        "{:?}",
        seen.console
    );
    assert_eq!(seen.requests, ["http://127.0.0.1:9/x.png"]);
}

#[test]
fn the_report_page_draws_funnels_and_intervals_and_loads_nothing() {
    let rules = fixture::rules();
    let mut history = MemoryHistory::new();
    fixture::record_history(&mut history);
    let profiles = fixture::profiles(&rules);
    let now = Timestamp::parse(fixture::NOW).unwrap();
    let options = Options::default().min_group(1);
    let report = Report::build(&rules, &history, &profiles, now, &options).unwrap();
    // Funnel segments and an interval's dot.
    check_page(
        "report",
        &report.to_html(),
        &["<rect class=\"sent\"", "<circle"],
    );
}

#[test]
fn the_forecast_page_draws_its_histogram_and_loads_nothing() {
    let rules = RuleSet::parse(fixture::PRESSING, Format::Toml, "pressing.toml").unwrap();
    let engine = Engine::new(rules);
    let schema = &engine.rules().schema;
    let sample: Vec<Simulation> = (fixture::SAMPLE.lines())
        .map(|line| serde_json::from_str(line).unwrap())
        .map(|json| nextbest::ProfileBuilder::from_json_value(schema, &json).unwrap())
        .map(|builder| Simulation::new(&engine, builder))
        .collect();
    let from = Timestamp::parse("2026-12-01T00:00:00Z").unwrap();
    let to = Timestamp::parse("2026-12-14T23:00:00Z").unwrap();
    let step = nextbest::Duration::parse("1h").unwrap();
    let forecast = Forecast::run(&engine, &sample, from, to, step).unwrap();
    check_page("forecast", &forecast.to_html(), &["<rect class=\"bar\""]);
}
