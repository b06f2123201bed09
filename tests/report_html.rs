//! `report.html` in a real headless Chromium: the table's rows, filters and sorting as a reader
//! uses them (driven through the page's `#filter=…&sort=…&instance=…` links), the virtual table
//! of a fleet larger than a screen (only the rows on screen in the DOM, search, filters and
//! sorting over every instance, every row reachable), hostile Azure text rendered as text, no
//! load attempted outside the file, a screenshot kept as a test artifact, and the demo's
//! screenshot.
//!
//! Without Chromium these tests say so and pass, unless `SCREADY_REQUIRE_CHROMIUM=1` (CI), where
//! they fail.

mod common;

use common::*;
use scready::browser::{file_url, png_size, Chromium};
use scready_sim::generate::{generate, scanner_principal, GenerateOptions};
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
    verdict: String,
    /// The full resource id (the name cell's title).
    id: String,
}

fn rows(dom: &str) -> Vec<Row> {
    dom.match_indices("<tr class=\"inst\"")
        .map(|(i, _)| {
            let (attrs, rest) = start_tag(&dom[i..]);
            let cell = rest.find("<td class=\"name\"").expect("a name cell");
            let (cell_attrs, after) = start_tag(&rest[cell..]);
            let name = after[..after.find("</td>").unwrap()].to_string();
            Row {
                name: unescape(&name),
                verdict: attrs["data-verdict"].clone(),
                id: unescape(&cell_attrs["title"]),
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

/// The names of the rows in the DOM, in order.
fn visible(dom: &str) -> Vec<String> {
    rows(dom).into_iter().map(|r| r.name).collect()
}

/// An attribute of the first start tag that begins with `tag_start` (e.g. `<table id="instances"`).
fn attribute(dom: &str, tag_start: &str, name: &str) -> Option<String> {
    let at = dom.find(tag_start)?;
    start_tag(&dom[at..]).0.get(name).map(|v| unescape(v))
}

/// The heights of the table's two spacer rows (above and below the rows drawn), in pixels.
fn spacers(dom: &str) -> (f64, f64) {
    let heights: Vec<f64> = dom
        .match_indices("<tr class=\"spacer\">")
        .map(|(i, _)| {
            let td = dom[i..].find("<td").unwrap() + i;
            let style = start_tag(&dom[td..]).0["style"].clone();
            style
                .trim_start_matches("height:")
                .trim()
                .trim_end_matches(';')
                .trim_end_matches("px")
                .parse()
                .unwrap_or_else(|_| panic!("a spacer height: {style}"))
        })
        .collect();
    assert_eq!(heights.len(), 2, "two spacer rows");
    (heights[0], heights[1])
}

/// The side panel of the selected instance, as markup (empty when none is selected).
fn detail(dom: &str) -> &str {
    let at = dom.find("<div id=\"detail\"").expect("the detail panel");
    let end = dom[at..].find("</section>").unwrap() + at;
    let panel = &dom[at..end];
    if start_tag(panel).0.contains_key("hidden") {
        ""
    } else {
        panel
    }
}

/// The texts of every `<code>` element in `markup`, unescaped.
fn codes(markup: &str) -> Vec<String> {
    markup
        .match_indices("<code>")
        .map(|(i, _)| {
            let rest = &markup[i + 6..];
            unescape(&rest[..rest.find("</code>").unwrap()])
        })
        .collect()
}

/// Loads `url` in a window tall enough for every row of a small fleet.
async fn load_tall(chromium: &Chromium, url: String) -> scready::browser::LoadedPage {
    let c = chromium.clone();
    tokio::task::spawn_blocking(move || c.load_sized(&url, Some((1400, 4000))))
        .await
        .unwrap()
        .expect("Chromium loads the report")
}

async fn load(chromium: &Chromium, url: String) -> scready::browser::LoadedPage {
    let c = chromium.clone();
    tokio::task::spawn_blocking(move || c.load(&url))
        .await
        .unwrap()
        .expect("Chromium loads the report")
}

/// True when the page's script ran to its end.
fn script_ran(dom: &str) -> bool {
    attribute(dom, "<html", "data-script").as_deref() == Some("ready")
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

/// `findings.csv` rows as maps of column → value.
fn findings_csv(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("findings.csv")).unwrap();
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
    let page = load_tall(&chromium, url.clone()).await;
    assert!(script_ran(&page.dom), "the page's script ran to its end");
    // A window tall enough for the whole fleet: every instance is drawn, once.
    let all = rows(&page.dom);
    assert_eq!(all.len(), csv.len(), "one row per instance");
    assert_eq!(all.len(), 44);
    assert!(page.dom.contains("<b id=\"shown\">44</b> of 44 instances"));
    let ids: std::collections::BTreeSet<String> = all.iter().map(|r| r.id.clone()).collect();
    let csv_ids: std::collections::BTreeSet<String> =
        csv.iter().map(|r| r["resource_id"].clone()).collect();
    assert_eq!(ids, csv_ids, "the rows are the instances");
    assert_eq!(spacers(&page.dom), (0.0, 0.0), "no row is left out");
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
    assert_eq!(page.console, Vec::<String>::new(), "console messages");

    // The instance's own panel shows its tags as text too, and its remediation exactly as
    // findings.csv has it.
    let dash = csv.iter().find(|r| r["name"] == "-2+3").unwrap();
    let page = load(
        &chromium,
        format!("{url}#instance={}", encode(&dash["resource_id"])),
    )
    .await;
    let panel = detail(&page.dom);
    assert!(panel.contains("<h3>-2+3 <span class=\"badge blocked\">blocked</span></h3>"));
    assert!(
        panel.contains("<span class=\"tag\">+cost=-42</span>"),
        "{panel}"
    );
    let remediations: Vec<String> = findings_csv(out.path())
        .into_iter()
        .filter(|f| f["resource_id"] == dash["resource_id"] && !f["remediation"].is_empty())
        .map(|f| f["remediation"].clone())
        .collect();
    assert!(!remediations.is_empty());
    let shown = codes(panel);
    assert_eq!(shown[0], dash["resource_id"], "the id comes first");
    assert_eq!(shown[1..].to_vec(), remediations);
    let formula = csv.iter().find(|r| r["name"] == "=SUM(1+2)").unwrap();
    let page = load(
        &chromium,
        format!("{url}#instance={}", encode(&formula["resource_id"])),
    )
    .await;
    assert!(detail(&page.dom)
        .contains("<span class=\"tag\">note=&lt;img src=x onerror=alert(1)&gt;</span>"));
    assert!(!page.dom.to_ascii_lowercase().contains("<img"));

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
    let control = load(&chromium, file_url(&control).unwrap()).await;
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
        let page = load_tall(&chromium, format!("{base}#{hash}")).await;
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
    let page = load_tall(
        &chromium,
        format!("{base}#filter=rg:rg-web-prod&sort=name:desc"),
    )
    .await;
    let got = visible(&page.dom);
    let mut expected = names(&|r| r["resource_group"] == "rg-web-prod");
    expected.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
    assert_eq!(got, expected);
    assert!(page
        .dom
        .contains("<th data-key=\"name\" aria-sort=\"descending\">Name</th>"));
}

/// A tag value that would end the page's data element, and then run script, if the data were
/// not escaped.
const BREAKOUT: &str = "</script><script>document.title='broken out'</script><!--";

/// A generated fleet of 2,000 instances (4 subscriptions of 400 VMs and a Uniform scale set of
/// 100), one VM tagged with [`BREAKOUT`], scanned into `instances.csv`, `findings.csv` and
/// `report.html`.
async fn large_report(dir: &Path) -> PathBuf {
    let mut fleet = generate(&GenerateOptions {
        subscriptions: 4,
        vms_per_subscription: 400,
        scale_sets: 1,
        instances_per_scale_set: 100,
        seed: 21,
        ..Default::default()
    });
    fleet.subscriptions[1].vms[7]
        .tags
        .insert("note".into(), BREAKOUT.into());
    let sim = common::start(
        &fleet,
        SimConfig {
            page_size: Some(1000),
            ..SimConfig::default()
        },
    )
    .await;
    let token = sim
        .issue_token(&scanner_principal(&fleet).unwrap().id)
        .unwrap();
    let env: scready::auth::EnvLookup =
        std::sync::Arc::new(move |k: &str| (k == "SCREADY_ACCESS_TOKEN").then(|| token.clone()));
    let options = scready::scan::ScanOptions {
        formats: vec!["csv".into(), "html".into()],
        ..common::scan_options(&sim, dir)
    };
    scready::scan::run(&options, env)
        .await
        .expect("the scan runs");
    dir.join("report.html")
}

#[tokio::test]
async fn a_fleet_larger_than_a_screen_is_drawn_virtually_and_searched_filtered_and_sorted_whole() {
    let Some(chromium) = chromium() else { return };
    let out = tempfile::tempdir().unwrap();
    let html = large_report(out.path()).await;
    let csv = instances_csv(out.path());
    let n = csv.len();
    assert!(n > 1900, "{n} instances");
    let base = file_url(&html).unwrap();
    // What the page must show, computed from instances.csv.
    let lower = |s: &str| s.to_lowercase();
    let mut by_name: Vec<&BTreeMap<String, String>> = csv.iter().collect();
    by_name.sort_by_key(|r| lower(&r["name"]));
    let names_asc: Vec<String> = by_name.iter().map(|r| r["name"].clone()).collect();
    let mut names_desc = names_asc.clone();
    names_desc.reverse();
    let count = |f: &dyn Fn(&BTreeMap<String, String>) -> bool| csv.iter().filter(|r| f(r)).count();

    // Opened as is: the count of the whole fleet, a screenful of rows (blocked first), and
    // spacers standing for the rest.
    let page = load(&chromium, base.clone()).await;
    assert!(script_ran(&page.dom));
    assert_eq!(page.console, Vec::<String>::new(), "console messages");
    assert!(page
        .dom
        .contains(&format!("<b id=\"shown\">{n}</b> of {n} instances")));
    assert_eq!(
        attribute(&page.dom, "<table id=\"instances\"", "data-shown"),
        Some(n.to_string())
    );
    assert!(
        page.dom.contains("<title>Serial Console readiness"),
        "the title is the report's"
    );
    let drawn = rows(&page.dom);
    assert!(
        drawn.len() >= 10 && drawn.len() <= 80,
        "{} rows in the DOM for {n} instances",
        drawn.len()
    );
    let blocked = count(&|r| r["verdict"] == "blocked");
    assert!(blocked > drawn.len());
    assert!(
        drawn.iter().all(|r| r.verdict == "blocked"),
        "blocked first"
    );
    let height: f64 = attribute(&page.dom, "<table id=\"instances\"", "data-row-height")
        .unwrap()
        .parse()
        .unwrap();
    assert!(height > 10.0 && height < 100.0, "{height}");
    let (top, bottom) = spacers(&page.dom);
    assert_eq!(top, 0.0);
    assert!(
        (bottom - (n - drawn.len()) as f64 * height).abs() < 1.0,
        "the scrollbar covers every instance: {bottom} px below for {} rows of {height} px",
        n - drawn.len()
    );

    // Sorting orders all of them.
    let page = load(&chromium, format!("{base}#sort=name:asc")).await;
    let got = visible(&page.dom);
    assert_eq!(got, names_asc[..got.len()].to_vec());
    let page = load(&chromium, format!("{base}#sort=name:desc")).await;
    let got = visible(&page.dom);
    assert_eq!(got, names_desc[..got.len()].to_vec());
    assert!(page
        .dom
        .contains("<th data-key=\"name\" aria-sort=\"descending\">Name</th>"));

    // Every row is reachable: a link to an instance far down scrolls the table to it.
    let target = by_name[1500];
    let page = load(
        &chromium,
        format!(
            "{base}#sort=name:asc&instance={}",
            encode(&target["resource_id"])
        ),
    )
    .await;
    let drawn = rows(&page.dom);
    assert!(drawn.iter().any(|r| r.id == target["resource_id"]));
    let first: usize = attribute(&page.dom, "<table id=\"instances\"", "data-first")
        .unwrap()
        .parse()
        .unwrap();
    assert!(first > 1400 && first <= 1500, "first row drawn: {first}");
    assert_eq!(
        visible(&page.dom),
        names_asc[first..first + drawn.len()].to_vec()
    );
    let (top, bottom) = spacers(&page.dom);
    assert!((top - first as f64 * height).abs() < 1.0, "{top}");
    assert!((bottom - (n - first - drawn.len()) as f64 * height).abs() < 1.0);
    assert_eq!(codes(detail(&page.dom))[0], target["resource_id"]);
    // Its findings in the panel are findings.csv's, remediation for remediation.
    let findings = findings_csv(out.path());
    let with_fix = by_name[1000..]
        .iter()
        .find(|r| {
            findings
                .iter()
                .any(|f| f["resource_id"] == r["resource_id"] && !f["remediation"].is_empty())
        })
        .expect("an instance with a remediation");
    let page = load(
        &chromium,
        format!(
            "{base}#sort=name:asc&instance={}",
            encode(&with_fix["resource_id"])
        ),
    )
    .await;
    let expected: Vec<String> = findings
        .iter()
        .filter(|f| f["resource_id"] == with_fix["resource_id"] && !f["remediation"].is_empty())
        .map(|f| f["remediation"].clone())
        .collect();
    assert_eq!(codes(detail(&page.dom))[1..].to_vec(), expected);

    // Search covers every instance: by resource id, by subscription name, by tag value.
    let id = &by_name[1234]["resource_id"];
    let page = load(&chromium, format!("{base}#filter=q:{}", encode(&lower(id)))).await;
    let expected = count(&|r| lower(&r["resource_id"]).contains(&lower(id)));
    assert!(expected >= 1);
    assert_eq!(
        attribute(&page.dom, "<table id=\"instances\"", "data-shown"),
        Some(expected.to_string())
    );
    assert!(rows(&page.dom).iter().any(|r| &r.id == id));
    let sub_name = csv[csv.len() / 2]["subscription_name"].clone();
    let page = load(&chromium, format!("{base}#filter=q:{}", encode(&sub_name))).await;
    let expected = count(&|r| r["subscription_name"] == sub_name);
    assert!(expected > 400, "{expected}");
    assert_eq!(
        attribute(&page.dom, "<table id=\"instances\"", "data-shown"),
        Some(expected.to_string())
    );
    let drawn = rows(&page.dom);
    assert!(drawn.len() < 80);
    assert!(drawn.iter().all(|r| csv
        .iter()
        .any(|c| c["resource_id"] == r.id && c["subscription_name"] == sub_name)));
    let page = load(
        &chromium,
        format!("{base}#filter=q:{}", encode("</script>")),
    )
    .await;
    assert_eq!(
        attribute(&page.dom, "<table id=\"instances\"", "data-shown"),
        Some("1".to_string())
    );
    assert!(page.dom.contains(
        "<span class=\"tag\">note=&lt;/script&gt;&lt;script&gt;document.title='broken out'&lt;/script&gt;&lt;!--</span>"
    ));
    assert!(!page.dom.contains("broken out</title>"));
    assert!(page.console.is_empty(), "{:?}", page.console);

    // Filters: by verdict, by check, by subscription with a verdict, sorted.
    let page = load(&chromium, format!("{base}#filter=verdict:blocked")).await;
    assert_eq!(
        attribute(&page.dom, "<table id=\"instances\"", "data-shown"),
        Some(blocked.to_string())
    );
    let drawn = rows(&page.dom);
    assert!(drawn.len() < blocked && drawn.iter().all(|r| r.verdict == "blocked"));
    let has_check = |r: &BTreeMap<String, String>, c: &str| {
        ["blockers", "warnings", "unknowns"]
            .iter()
            .any(|k| r[*k].split(';').any(|x| x == c))
    };
    let mut checks: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &csv {
        for k in ["blockers", "warnings", "unknowns"] {
            for c in r[k].split(';').filter(|c| !c.is_empty()) {
                *checks.entry(c).or_default() += 1;
            }
        }
    }
    let (check, _) = checks.iter().max_by_key(|(_, n)| **n).unwrap();
    let page = load(&chromium, format!("{base}#filter=check:{check}")).await;
    assert_eq!(
        attribute(&page.dom, "<table id=\"instances\"", "data-shown"),
        Some(count(&|r| has_check(r, check)).to_string())
    );
    let sub = csv[0]["subscription_id"].clone();
    let page = load(
        &chromium,
        format!("{base}#filter=sub:{sub};verdict:ready&sort=name:desc"),
    )
    .await;
    let mut expected: Vec<String> = csv
        .iter()
        .filter(|r| r["subscription_id"] == sub && r["verdict"] == "ready")
        .map(|r| r["name"].clone())
        .collect();
    expected.sort_by_key(|n| std::cmp::Reverse(lower(n)));
    assert_eq!(
        attribute(&page.dom, "<table id=\"instances\"", "data-shown"),
        Some(expected.len().to_string())
    );
    let got = visible(&page.dom);
    assert!(!got.is_empty());
    assert_eq!(got, expected[..got.len()].to_vec());
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
    common::report::raw(&dir);
    assert!(!dir.join("junit.xml").exists(), "junit only on request");
    let shot = std::fs::read(dir.join("report.png")).unwrap();
    assert_eq!(png_size(&shot), Some((1400, 1000)));
    assert!(stdout.contains(&format!("screenshot: {}", dir.join("report.png").display())));
}
