//! `report.html` in a real headless Chromium: the table's rows, filters and sorting as a reader
//! uses them (driven through the page's `#filter=…&sort=…` links), hostile Azure text rendered as
//! text, no load attempted outside the file, a screenshot kept as a test artifact, and the demo's
//! screenshot.
//!
//! Without Chromium these tests say so and pass, unless `SCREADY_REQUIRE_CHROMIUM=1` (CI), where
//! they fail.

mod common;

use common::*;
use scready::browser::{file_url, png_size, Chromium};
use scready_sim::SimConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn chromium() -> Option<Chromium> {
    match Chromium::find() {
        Some(c) => Some(c),
        None if std::env::var("SCREADY_REQUIRE_CHROMIUM").as_deref() == Ok("1") => {
            panic!("SCREADY_REQUIRE_CHROMIUM=1 but no Chromium was found (install the chromium package or set SCREADY_CHROMIUM)")
        }
        None => {
            eprintln!(
                "SKIPPED: no Chromium found; install the chromium package to run the browser tests"
            );
            None
        }
    }
}

/// Where tests keep what a person may want to look at afterwards.
fn artifact_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-html");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The attributes of the start tag at the beginning of `s` (quote-aware: Chromium does not
/// escape `<` or `>` inside attribute values), and the rest after it.
fn start_tag(s: &str) -> (BTreeMap<String, String>, &str) {
    let mut attrs = BTreeMap::new();
    let bytes = s.as_bytes();
    let mut i = s.find(char::is_whitespace).unwrap_or(0);
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] == b'>' {
            return (attrs, &s[(i + 1).min(s.len())..]);
        }
        let name_end = s[i..]
            .find(|c: char| c == '=' || c == '>' || c.is_whitespace())
            .map(|n| i + n)
            .unwrap_or(s.len());
        let name = s[i..name_end].to_string();
        i = name_end;
        if bytes.get(i) == Some(&b'=') && bytes.get(i + 1) == Some(&b'"') {
            let close = s[i + 2..].find('"').unwrap() + i + 2;
            attrs.insert(name, s[i + 2..close].to_string());
            i = close + 1;
        } else {
            attrs.insert(name, String::new());
        }
    }
}

/// One instance row of the dumped DOM.
#[derive(Debug)]
struct Row {
    name: String,
    hidden: bool,
    verdict: String,
}

fn rows(dom: &str) -> Vec<Row> {
    dom.match_indices("<tr class=\"inst\"")
        .map(|(i, _)| {
            let (attrs, rest) = start_tag(&dom[i..]);
            let cell = rest.find("<td class=\"name\"").expect("a name cell");
            let (_, after) = start_tag(&rest[cell..]);
            let name = after[..after.find("</td>").unwrap()].to_string();
            Row {
                name: unescape(&name),
                hidden: attrs.contains_key("hidden"),
                verdict: attrs["data-verdict"].clone(),
            }
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

fn visible(dom: &str) -> Vec<String> {
    rows(dom)
        .into_iter()
        .filter(|r| !r.hidden)
        .map(|r| r.name)
        .collect()
}

/// `encodeURIComponent`.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `instances.csv` rows as maps of column → value.
fn instances_csv(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("instances.csv")).unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records()
        .map(|x| {
            headers
                .iter()
                .cloned()
                .zip(
                    x.unwrap()
                        .iter()
                        .map(|c| c.trim_start_matches('\'').to_string()),
                )
                .collect()
        })
        .collect()
}

async fn hostile_report(dir: &Path) -> PathBuf {
    let sim = common::start(&hostile_demo_fleet(), SimConfig::default()).await;
    scan_demo(
        &sim,
        &demo_scan_options(&sim, dir, Some("policies/config-only.toml")),
    )
    .await;
    dir.join("report.html")
}

#[tokio::test]
async fn the_page_shows_every_instance_renders_hostile_text_as_text_and_loads_nothing() {
    let Some(chromium) = chromium() else { return };
    let out = tempfile::tempdir().unwrap();
    let html = hostile_report(out.path()).await;
    let csv = instances_csv(out.path());
    let url = file_url(&html).unwrap();
    let page = tokio::task::spawn_blocking(move || chromium.load(&url).map(|p| (p, chromium)))
        .await
        .unwrap()
        .expect("Chromium loads the report");
    let (page, chromium) = page;
    assert!(
        page.dom
            .contains("<html lang=\"en\" data-script=\"ready\">"),
        "the page's script ran to its end"
    );
    let all = rows(&page.dom);
    assert_eq!(all.len(), csv.len(), "one row per instance");
    assert_eq!(all.len(), 44);
    assert!(all.iter().all(|r| !r.hidden));
    assert!(page.dom.contains("<b id=\"shown\">44</b> of 44 instances"));
    let mut by_verdict: BTreeMap<String, usize> = BTreeMap::new();
    for r in &all {
        *by_verdict.entry(r.verdict.clone()).or_default() += 1;
    }
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for r in &csv {
        *expected.entry(r["verdict"].clone()).or_default() += 1;
    }
    assert_eq!(by_verdict, expected);
    assert!(all.iter().any(|r| r.name == "=SUM(1+2)"));

    // The hostile tag value is text in the live DOM, never an element.
    assert!(!page.dom.to_ascii_lowercase().contains("<img"));
    assert!(
        page.dom
            .contains("<span class=\"tag\">note=&lt;img src=x onerror=alert(1)&gt;</span>"),
        "the tag is shown as text"
    );
    // Nothing was blocked, nothing failed, nothing was logged: no load was even attempted.
    assert_eq!(page.console, Vec::<String>::new(), "console messages");

    // The same check sees a blocked load when a page does attempt one.
    let control = out.path().join("control.html");
    std::fs::write(
        &control,
        format!(
            "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"{}\"></head><body><img src=\"http://127.0.0.1:9/x.png\"></body></html>",
            scready::report::html::esc(&scready::report::html::content_security_policy())
        ),
    )
    .unwrap();
    let url = file_url(&control).unwrap();
    let control = tokio::task::spawn_blocking(move || chromium.load(&url))
        .await
        .unwrap()
        .unwrap();
    assert!(
        control.console.iter().any(
            |l| l.contains("http://127.0.0.1:9/x.png") && l.contains("Content Security Policy")
        ),
        "{:?}",
        control.console
    );
}

#[tokio::test]
async fn filters_narrow_the_table_and_sorting_orders_it() {
    let Some(chromium) = chromium() else { return };
    let out = tempfile::tempdir().unwrap();
    let html = hostile_report(out.path()).await;
    let csv = instances_csv(out.path());
    let dev = csv
        .iter()
        .find(|r| r["subscription_name"] == "=Contoso Development")
        .unwrap()["subscription_id"]
        .clone();
    let names = |f: &dyn Fn(&BTreeMap<String, String>) -> bool| -> Vec<String> {
        let mut v: Vec<String> = csv
            .iter()
            .filter(|r| f(r))
            .map(|r| r["name"].clone())
            .collect();
        v.sort();
        v
    };
    let has_check = |r: &BTreeMap<String, String>, c: &str| {
        ["blockers", "warnings", "unknowns"]
            .iter()
            .any(|k| r[*k].split(';').any(|x| x == c))
    };
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            "filter=verdict:blocked".into(),
            names(&|r| r["verdict"] == "blocked"),
        ),
        (
            "filter=check:boot-diagnostics-disabled".into(),
            names(&|r| has_check(r, "boot-diagnostics-disabled")),
        ),
        (
            format!("filter=sub:{dev};verdict:blocked"),
            names(&|r| r["subscription_id"] == dev && r["verdict"] == "blocked"),
        ),
        (
            format!("filter=tag:{}", encode(&format!("note={HOSTILE_HTML}"))),
            vec!["=SUM(1+2)".to_string()],
        ),
        (
            "filter=tag:ENV".into(),
            names(&|r| r["tags"].split(';').any(|t| t.starts_with("env="))),
        ),
        (
            "filter=q:nobootdiag".into(),
            vec!["vm-web-nobootdiag".to_string()],
        ),
    ];
    // Sanity of the expectations themselves.
    assert_eq!(cases[0].1.len(), 18);
    assert_eq!(cases[1].1.len(), 3);
    assert_eq!(cases[2].1.len(), 3);
    let base = file_url(&html).unwrap();
    for (hash, expected) in cases {
        let url = format!("{base}#{hash}");
        let c = chromium.clone();
        let page = tokio::task::spawn_blocking(move || c.load(&url))
            .await
            .unwrap()
            .unwrap();
        let mut got = visible(&page.dom);
        got.sort();
        assert_eq!(got, expected, "#{hash}");
        assert!(
            page.dom.contains(&format!(
                "data-total=\"44\" data-shown=\"{}\"",
                expected.len()
            )),
            "#{hash}: the count shown"
        );
        assert!(page.console.is_empty(), "#{hash}: {:?}", page.console);
    }

    // Sorting by name, descending, within a resource-group filter.
    let url = format!("{base}#filter=rg:rg-web-prod&sort=name:desc");
    let page = tokio::task::spawn_blocking(move || chromium.load(&url))
        .await
        .unwrap()
        .unwrap();
    let got = visible(&page.dom);
    let mut expected = names(&|r| r["resource_group"] == "rg-web-prod");
    expected.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
    assert_eq!(got, expected);
    assert!(page
        .dom
        .contains("<th data-key=\"name\" aria-sort=\"descending\">Name</th>"));
}

#[tokio::test]
async fn a_screenshot_of_the_report_is_kept_and_the_demo_takes_one() {
    let Some(chromium) = chromium() else { return };
    let out = tempfile::tempdir().unwrap();
    let html = hostile_report(out.path()).await;
    let png = artifact_dir().join("report.png");
    let (h, p) = (html.clone(), png.clone());
    tokio::task::spawn_blocking(move || chromium.screenshot(&h, &p, 1400, 1000))
        .await
        .unwrap()
        .expect("Chromium takes a screenshot");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(png_size(&bytes), Some((1400, 1000)));
    assert!(bytes.len() > 20_000, "a rendered page, not a blank one");
    std::fs::copy(&html, artifact_dir().join("report.html")).unwrap();
    eprintln!("screenshot kept: {}", png.display());

    // `scready demo` (what `make run` runs) writes every default report and the screenshot.
    let demo = tempfile::tempdir().unwrap();
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_scready"))
        .args(["demo", "--out"])
        .arg(demo.path().join("reports/demo"))
        .current_dir(demo.path())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let dir = demo.path().join("reports/demo");
    for f in [
        "instances.csv",
        "findings.csv",
        "report.json",
        "report.html",
        "summary.md",
        "history.sqlite",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    assert!(!dir.join("junit.xml").exists(), "junit only on request");
    let shot = std::fs::read(dir.join("report.png")).unwrap();
    assert_eq!(png_size(&shot), Some((1400, 1000)));
    assert!(stdout.contains(&format!("screenshot: {}", dir.join("report.png").display())));
}
