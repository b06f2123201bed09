//! The report sinks on a scanned simulator fleet: JUnit against the schema's structure, the
//! Markdown summary against the JSON, CSV formula neutralisation, and HTML escaping and
//! self-containment (the Chromium tests are in `report_html.rs`).

mod common;

use common::*;
use scready_sim::SimConfig;
use std::collections::BTreeMap;
use std::path::Path;

/// Scans the hostile demo fleet with the configuration checks only.
async fn scan_hostile(out: &Path) -> scready::scan::ScanOutcome {
    let fleet = hostile_demo_fleet();
    let sim = common::start(&fleet, SimConfig::default()).await;
    let outcome = scan_demo(
        &sim,
        &demo_scan_options(&sim, out, Some("policies/config-only.toml")),
    )
    .await;
    assert_eq!(outcome.result.coverage.instances, fleet.instance_count());
    outcome
}

fn report_json(dir: &Path) -> serde_json::Value {
    common::report::read(dir)
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect();
    (headers, rows)
}

#[tokio::test]
async fn junit_has_a_suite_per_subscription_a_case_per_instance_and_a_failure_per_blocked_one() {
    let out = tempfile::tempdir().unwrap();
    let outcome = scan_hostile(out.path()).await;
    let r = &outcome.result;
    let text = std::fs::read_to_string(out.path().join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("junit.xml is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let attr = |n: roxmltree::Node, a: &str| -> usize {
        n.attribute(a)
            .unwrap_or_else(|| panic!("<{}> has {a}", n.tag_name().name()))
            .parse()
            .unwrap()
    };
    let json = report_json(out.path());
    let blocked = json["summary"]["by_verdict"]["blocked"].as_u64().unwrap() as usize;
    let unknown = json["summary"]["by_verdict"]["unknown"].as_u64().unwrap() as usize;
    assert_eq!(blocked, 18, "the demo's 17 and the hostile fleet's -2+3");
    assert_eq!(attr(root, "tests"), r.inventory.instances.len());
    assert_eq!(attr(root, "failures"), blocked);
    assert_eq!(attr(root, "skipped"), unknown);
    assert_eq!(attr(root, "errors"), 0);

    // Only the elements and attributes of the JUnit schema, in their places.
    let suites: Vec<roxmltree::Node> = root.children().filter(|n| n.is_element()).collect();
    assert!(suites.iter().all(|s| s.tag_name().name() == "testsuite"));
    assert_eq!(suites.len(), r.inventory.subscriptions.len());
    let mut cases_total = 0;
    let mut failures_total = 0;
    let mut per_suite: BTreeMap<String, usize> = BTreeMap::new();
    for suite in &suites {
        for a in ["name", "tests", "failures", "errors", "skipped", "time"] {
            assert!(suite.attribute(a).is_some(), "testsuite lacks {a}");
        }
        let cases: Vec<roxmltree::Node> = suite
            .children()
            .filter(|n| n.is_element() && n.tag_name().name() == "testcase")
            .collect();
        for n in suite.children().filter(|n| n.is_element()) {
            assert!(
                ["testcase", "properties"].contains(&n.tag_name().name()),
                "{:?}",
                n.tag_name()
            );
        }
        let failures = cases
            .iter()
            .filter(|c| c.children().any(|x| x.tag_name().name() == "failure"))
            .count();
        let skipped = cases
            .iter()
            .filter(|c| c.children().any(|x| x.tag_name().name() == "skipped"))
            .count();
        assert_eq!(attr(*suite, "tests"), cases.len());
        assert_eq!(attr(*suite, "failures"), failures);
        assert_eq!(attr(*suite, "skipped"), skipped);
        for c in &cases {
            assert!(c.attribute("name").is_some() && c.attribute("classname").is_some());
            for x in c.children().filter(|n| n.is_element()) {
                assert!(
                    ["failure", "skipped", "system-out"].contains(&x.tag_name().name()),
                    "{:?}",
                    x.tag_name()
                );
            }
        }
        cases_total += cases.len();
        failures_total += failures;
        let id = suite
            .descendants()
            .find(|n| {
                n.tag_name().name() == "property" && n.attribute("name") == Some("subscription_id")
            })
            .and_then(|n| n.attribute("value"))
            .expect("each suite names its subscription id");
        per_suite.insert(id.to_string(), cases.len());
    }
    assert_eq!(cases_total, r.inventory.instances.len());
    assert_eq!(failures_total, blocked);
    for s in &r.inventory.subscriptions {
        let n = r
            .inventory
            .instances
            .iter()
            .filter(|i| i.subscription_id == s.id)
            .count();
        assert_eq!(per_suite[&s.id], n, "suite of {}", s.name);
    }

    // A failure carries the blocking finding with its remediation; hostile names survive as text.
    let case = |name: &str| {
        doc.descendants()
            .find(|n| n.tag_name().name() == "testcase" && n.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("no test case {name}"))
    };
    let failure = case("vm-web-deallocated")
        .children()
        .find(|n| n.tag_name().name() == "failure")
        .unwrap();
    assert_eq!(
        failure.attribute("message"),
        Some("blocked by vm-not-running")
    );
    let body = failure.text().unwrap();
    assert!(
        body.contains("[fail] vm-not-running: the VM is deallocated")
            && body.contains("remediation: az vm start --name vm-web-deallocated"),
        "{body}"
    );
    let dev_case = case("vm-app-dev-01");
    assert_eq!(
        dev_case
            .children()
            .find(|n| n.tag_name().name() == "failure")
            .unwrap()
            .attribute("message"),
        Some("blocked by subscription-console-disabled"),
        "subscription-wide findings fail every instance of the subscription"
    );
    assert!(dev_case
        .parent()
        .unwrap()
        .attribute("name")
        .unwrap()
        .starts_with("=Contoso Development ("));
    assert_eq!(
        dev_case.attribute("classname"),
        Some("=Contoso Development.rg-app-dev")
    );
    assert!(case("=SUM(1+2)")
        .children()
        .all(|n| n.tag_name().name() != "failure"));
    let warned = case("vm-app-firewalldiag");
    let out_text = warned
        .children()
        .find(|n| n.tag_name().name() == "system-out")
        .unwrap()
        .text()
        .unwrap();
    assert!(out_text.contains("[warn] storage-firewall"), "{out_text}");
}

#[tokio::test]
async fn the_markdown_summary_counts_equal_the_json() {
    let out = tempfile::tempdir().unwrap();
    scan_hostile(out.path()).await;
    let md = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    let json = report_json(out.path());
    let table = |header: &str| -> Vec<Vec<String>> {
        let start = md
            .lines()
            .position(|l| l == header)
            .unwrap_or_else(|| panic!("no table {header} in\n{md}"));
        md.lines()
            .skip(start + 2)
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                l.trim_matches('|')
                    .split(" | ")
                    .map(|c| c.trim().to_string())
                    .collect()
            })
            .collect()
    };
    let verdicts = table("| verdict | instances | share |");
    let total = json["coverage"]["instances"].as_u64().unwrap() as f64;
    assert_eq!(verdicts.len(), 4);
    for (row, key) in verdicts
        .iter()
        .zip(["ready", "ready_with_warnings", "unknown", "blocked"])
    {
        let n = json["summary"]["by_verdict"][key].as_u64().unwrap();
        assert_eq!(row[0], key.replace('_', " "));
        assert_eq!(row[1], n.to_string(), "{key}");
        assert_eq!(row[2], format!("{:.1}%", n as f64 * 100.0 / total), "{key}");
    }
    let checks = table("| check | instances |");
    let expected: Vec<Vec<String>> = json["summary"]["blocking_checks"]
        .as_array()
        .unwrap()
        .iter()
        .take(8)
        .map(|p| {
            vec![
                format!("`{}`", p[0].as_str().unwrap()),
                p[1].as_u64().unwrap().to_string(),
            ]
        })
        .collect();
    assert_eq!(checks, expected);
    assert!(
        md.contains(&format!(
            "**{} instances** in {} subscriptions",
            json["coverage"]["instances"], json["coverage"]["subscriptions"]
        )),
        "{md}"
    );
    // The hostile subscription name is escaped text, not a table-breaking or formula cell.
    let subs = table("| status | check | subscription |");
    assert_eq!(subs.len(), 2, "{subs:?}");
    assert!(subs
        .iter()
        .all(|r| r[2].starts_with("=Contoso Development (")));
    assert!(md.contains("Complete: every listing was read."));
}

#[tokio::test]
async fn hostile_names_and_tags_are_neutralised_in_both_csvs() {
    let out = tempfile::tempdir().unwrap();
    scan_hostile(out.path()).await;
    let formula = |c: &str| c.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let (headers, rows) = csv_rows(&out.path().join("instances.csv"));
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    for row in &rows {
        for cell in row {
            assert!(!formula(cell), "a formula cell in instances.csv: {cell:?}");
        }
    }
    let row = |name: &str| {
        rows.iter()
            .find(|r| r[col("name")] == name)
            .unwrap_or_else(|| panic!("no row {name}"))
    };
    let sum = row("'=SUM(1+2)");
    assert_eq!(sum[col("verdict")], "ready");
    assert_eq!(
        sum[col("tags")],
        format!("'@owner={HOSTILE_FORMULA};app=web;env=prod;note={HOSTILE_HTML}")
    );
    let dash = row("'-2+3");
    assert_eq!(dash[col("verdict")], "blocked");
    assert_eq!(dash[col("tags")], "'+cost=-42");
    let dev = row("vm-app-dev-01");
    assert_eq!(dev[col("subscription_name")], "'=Contoso Development");

    let (headers, rows) = csv_rows(&out.path().join("findings.csv"));
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    for row in &rows {
        for cell in row {
            assert!(!formula(cell), "a formula cell in findings.csv: {cell:?}");
        }
    }
    let dash: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[col("resource_id")].ends_with("/virtualMachines/-2+3"))
        .collect();
    assert_eq!(dash.len(), 1);
    assert_eq!(dash[0][col("check_id")], "boot-diagnostics-disabled");
    assert_eq!(dash[0][col("resource_name")], "'-2+3");
    // `+` is not allowed in a VM name: the command is withheld rather than pasted with it.
    assert!(
        dash[0][col("remediation")].starts_with(
            "# withheld: the VM name \"-2+3\" contains characters Azure does not allow (+)"
        ),
        "{}",
        dash[0][col("remediation")]
    );
    let sub_rows: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[col("check_id")].starts_with("subscription-"))
        .collect();
    assert_eq!(sub_rows.len(), 2);
    assert!(sub_rows
        .iter()
        .all(|r| r[col("resource_name")] == "'=Contoso Development"));
}

#[tokio::test]
async fn the_html_escapes_azure_text_and_references_nothing_outside_the_file() {
    let out = tempfile::tempdir().unwrap();
    scan_hostile(out.path()).await;
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(
        !html.contains(HOSTILE_HTML),
        "the raw tag value is in the page"
    );
    assert!(html.contains("note=&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.to_ascii_lowercase().contains("<img"));
    assert!(html.contains("&#39;") && html.contains("=SUM(1+2)"));
    // Fetch nothing: a policy that forbids every fetch, and nothing that would fetch.
    let csp_start = html
        .find("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;;")
        .expect("a Content-Security-Policy that denies by default");
    assert!(csp_start < html.find("<style>").unwrap());
    let lower = html.to_ascii_lowercase();
    for needle in [
        "<link",
        "<iframe",
        "<object",
        "<embed",
        "@import",
        "url(",
        "src=\"http",
        "src=\"//",
        "<script src",
        "fetch(",
        "xmlhttprequest",
        "websocket",
    ] {
        assert!(!lower.contains(needle), "the page contains {needle}");
    }
    // URLs in attributes are links to the documentation, never fetched. (Escaped text cannot
    // contain a raw quote, so every `="http` is a real attribute.)
    let mut links = 0;
    for pat in ["=\"http", "=\"//", "='http", "=http"] {
        for (i, _) in lower.match_indices(pat) {
            let tag_start = lower[..i].rfind('<').unwrap();
            assert!(
                lower[tag_start..].starts_with("<a href=\"https://"),
                "a URL attribute outside a link: {}",
                &html[tag_start..(i + 60).min(html.len())]
            );
            links += 1;
        }
    }
    assert!(links > 0, "the check texts link to their documentation");
    assert_eq!(html.matches("<script>").count(), 1);
    assert_eq!(html.matches("<style>").count(), 1);
    // The instance data is carried once, as JSON that no Azure text can end early: the data
    // element and the script are the only elements that close a script.
    assert_eq!(
        html.matches("<script type=\"application/json\" id=\"scready-data\">")
            .count(),
        1
    );
    assert_eq!(html.matches("</script>").count(), 2);
    assert!(html.contains("note=\\u003cimg src=x onerror=alert(1)\\u003e"));
}

#[tokio::test]
async fn the_prometheus_textfile_counts_equal_the_json_and_passes_promtool() {
    let fleet = hostile_demo_fleet();
    let sim = common::start(&fleet, SimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut options = demo_scan_options(&sim, dir.path(), Some("policies/config-only.toml"));
    options.formats = vec!["json".into(), "prom".into()];
    let outcome = scan_demo(&sim, &options).await;
    let text = std::fs::read_to_string(dir.path().join("scready.prom")).unwrap();
    // Every family has HELP and TYPE once, before its samples; no sample has a timestamp.
    let mut families = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap();
            assert!(
                families.insert(name.to_string(), 0usize).is_none(),
                "{name}"
            );
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            *families.get_mut(name).expect("TYPE before samples") += 1;
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(
                !line.contains("resource_id") && !line.contains("/virtualMachines/"),
                "no label per instance: {line}"
            );
        }
    }
    let sample = |needle: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("{needle} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let r = &outcome.result;
    for v in scready::findings::Verdict::ALL {
        assert_eq!(
            sample(&format!("scready_instances{{verdict=\"{}\"}}", v.as_str())) as usize,
            r.count(v)
        );
    }
    assert_eq!(
        sample("scready_scan_arm_requests ") as u64,
        r.coverage.calls.requests
    );
    assert_eq!(
        sample("scready_scan_partial ") as u8,
        u8::from(r.run.partial)
    );
    // The hostile subscription name ("=Contoso Development") is a label value, escaped.
    assert!(text.contains("subscription_name=\"=Contoso Development\""));
    // promtool is the reference linter (Debian's prometheus package; CI installs it).
    match std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(dir.path().join("scready.prom")).unwrap())
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) if std::env::var_os("SCREADY_REQUIRE_PROMTOOL").is_none() => {
            eprintln!(
                "promtool is not installed: the structural checks above ran, promtool did not"
            );
        }
        Err(e) => panic!("promtool is required here: {e}"),
    }
}

/// `scready` itself, run in `dir`.
fn scready_cli(args: &[&str], dir: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_scready"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("scready runs")
}

#[tokio::test]
async fn report_json_follows_its_schema_and_holds_the_whole_result() {
    let out = tempfile::tempdir().unwrap();
    let r = scan_hostile(out.path()).await.result;
    let raw = common::report::raw(out.path());
    // Each check's texts once, with the templates its findings' remediations come from.
    let boot = &raw["checks"]["boot-diagnostics-disabled"];
    assert_eq!(boot["severity"], "error");
    assert!(boot["remediation"]
        .as_str()
        .unwrap()
        .starts_with("az vm boot-diagnostics enable --name {name}"));
    assert_eq!(
        raw["verdicts"].as_array().unwrap().len(),
        r.inventory.instances.len()
    );
    // Rows are short: a ready instance's verdict is `["ready"]`, a finding names its instance
    // by index and leaves out what its check says.
    let text = std::fs::read_to_string(out.path().join("report.json")).unwrap();
    assert!(text.contains("\n[\"ready\"],\n"), "one row per line");
    let finding = raw["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f[1] == "vm-not-running")
        .unwrap();
    assert!(finding[0].is_u64(), "{finding}");
    // Expanded by the tests' own decoder, it is the scan result, field for field.
    let expanded = common::report::expand(&raw);
    let whole = serde_json::to_value(&r).unwrap();
    for key in ["verdicts", "findings", "access"] {
        assert_eq!(expanded[key], whole[key], "{key}");
    }
    assert_eq!(expanded["inventory"], whole["inventory"]);
    for key in ["run", "policy", "coverage", "summary", "access_audit"] {
        assert_eq!(raw[key], whole[key], "{key} is written as in schema 1");
    }
}

/// A change that makes a report invalid.
type Breaks = Box<dyn Fn(&mut serde_json::Value)>;

#[test]
fn the_schema_refuses_broken_reports_and_allows_new_run_fields() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = common::fixture("reports/demo-schema1.json");
    let out = scready_cli(
        &[
            "evaluate",
            fixture.to_str().unwrap(),
            "--out",
            "e",
            "--format",
            "json",
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let good = common::report::raw(&dir.path().join("e"));
    let valid = |v: &serde_json::Value| {
        jsonschema::draft202012::new(common::report::schema())
            .unwrap()
            .is_valid(v)
    };
    assert!(valid(&good));
    let mut more = good.clone();
    more["run"]["shard"] = serde_json::json!("1/4");
    more["policy"]["fingerprint"] = serde_json::json!("abc");
    more["coverage"]["management_groups"] = serde_json::json!([]);
    assert!(valid(&more), "run, policy and coverage may gain fields");
    let broken: Vec<(&str, Breaks)> = vec![
        (
            "a status outside the enum",
            Box::new(|r| r["findings"][0][2] = "failed".into()),
        ),
        (
            "a verdict outside the enum",
            Box::new(|r| r["verdicts"][0][0] = "fine".into()),
        ),
        (
            "no verdicts",
            Box::new(|r| {
                r.as_object_mut().unwrap().remove("verdicts");
            }),
        ),
        (
            "an instance row one field short",
            Box::new(|r| {
                r["inventory"]["instances"]["rows"][0]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            }),
        ),
        (
            "a string where an index goes",
            Box::new(|r| r["inventory"]["instances"]["rows"][0][3] = "sub".into()),
        ),
        ("schema 1", Box::new(|r| r["schema_version"] = 1.into())),
        (
            "an unknown top-level field",
            Box::new(|r| r["extra"] = true.into()),
        ),
        (
            "a check without its title",
            Box::new(|r| {
                let checks = r["checks"].as_object_mut().unwrap();
                let first = checks.keys().next().unwrap().clone();
                checks[&first].as_object_mut().unwrap().remove("title");
            }),
        ),
    ];
    for (what, breaks) in broken {
        let mut r = good.clone();
        breaks(&mut r);
        assert!(!valid(&r), "the schema accepts {what}");
    }
}

#[test]
fn evaluate_and_diff_read_reports_of_schema_1_and_2() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = common::fixture("reports/demo-schema1.json");
    let old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    assert_eq!(old["schema_version"], 1);
    // Schema 1 → evaluate → schema 2: the same conclusions as the report it was read from.
    let out = scready_cli(
        &[
            "evaluate",
            fixture.to_str().unwrap(),
            "--out",
            "two",
            "--format",
            "json",
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let two = common::report::read(&dir.path().join("two"));
    for key in ["verdicts", "findings", "access"] {
        assert_eq!(two[key], old[key], "{key}");
    }
    assert_eq!(two["inventory"], old["inventory"]);
    assert!(!old["access"].as_array().unwrap().is_empty());
    // Schema 2 → evaluate: the same again.
    let out = scready_cli(
        &[
            "evaluate",
            "two/report.json",
            "--out",
            "again",
            "--format",
            "json",
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let again = common::report::read(&dir.path().join("again"));
    for key in ["verdicts", "findings", "access", "inventory"] {
        assert_eq!(again[key], two[key], "{key}");
    }

    // Diff: schema 1 against schema 2, both ways, and schema 2 against itself: nothing moved.
    for (a, b) in [
        (fixture.to_str().unwrap(), "two/report.json"),
        ("two/report.json", fixture.to_str().unwrap()),
        ("two/report.json", "again/report.json"),
    ] {
        let out = scready_cli(&["diff", a, b], dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert!(
            stdout.contains("0 newly blocked, 0 fixed, 0 appeared, 0 disappeared"),
            "{stdout}"
        );
        assert!(stdout.contains(&format!("run 1: {a}")), "{stdout}");
    }
    // An older report where one blocked instance was ready, and another that has one
    // instance fewer: the diff names both.
    let mut older = old.clone();
    let k = older["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .position(|v| v["verdict"] == "blocked")
        .unwrap();
    older["verdicts"][k]["verdict"] = "ready".into();
    older["verdicts"][k]["blockers"] = serde_json::json!([]);
    let blocked_name = older["inventory"]["instances"][k]["name"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(dir.path().join("older.json"), older.to_string()).unwrap();
    let out = scready_cli(&["diff", "older.json", "two/report.json"], dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 newly blocked, 0 fixed, 0 appeared, 0 disappeared"),
        "{stdout}"
    );
    assert!(stdout.contains(&blocked_name), "{stdout}");
    let mut fewer = common::report::raw(&dir.path().join("two"));
    fewer["inventory"]["instances"]["rows"]
        .as_array_mut()
        .unwrap()
        .remove(k);
    fewer["verdicts"].as_array_mut().unwrap().remove(k);
    std::fs::write(dir.path().join("fewer.json"), fewer.to_string()).unwrap();
    let out = scready_cli(
        &["diff", fixture.to_str().unwrap(), "fewer.json"],
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("0 newly blocked, 0 fixed, 0 appeared, 1 disappeared"),
        "{stdout}"
    );
    // A run id and a file do not mix; a file that is not a report is named.
    let out = scready_cli(&["diff", "1", "two/report.json"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    std::fs::write(dir.path().join("other.json"), "{\"a\": 1}").unwrap();
    let out = scready_cli(&["diff", "other.json", "two/report.json"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("other.json: not a report.json"), "{stderr}");
}

/// The committed OCSF 1.8.0 JSON Schema of class `compliance_finding` with the `cloud` profile
/// (provenance in `tests/fixtures/ocsf/SOURCES.md`); every `$ref` in it is local.
fn ocsf_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixture("ocsf/compliance_finding-1.8.0-cloud.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        schema["$id"],
        "https://schema.ocsf.io/schema/1.8.0/classes/compliance_finding?profiles=cloud"
    );
    jsonschema::validator_for(&schema).expect("the OCSF schema compiles offline")
}

/// Scans the hostile demo fleet (configuration checks, one waiver) into `out` with the CSV,
/// JSON and both OCSF formats, on a simulator of its own.
async fn scan_for_ocsf(out: &Path) -> scready::scan::ScanOutcome {
    let policy = out.with_extension("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "{}\n[[waivers]]\nchecks = [\"vm-not-running\"]\nresource = \"*/virtualMachines/vm-web-stopped\"\nreason = \"parked until the migration\"\nexpires = 2999-12-31\n",
            std::fs::read_to_string(fixture("policies/config-only.toml")).unwrap()
        ),
    )
    .unwrap();
    let fleet = hostile_demo_fleet();
    let sim = common::start(&fleet, SimConfig::default()).await;
    let mut options = demo_scan_options(&sim, out, None);
    options.policy = Some(policy);
    options.formats = ["csv", "json", "ocsf", "ocsf-jsonl"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    scan_demo(&sim, &options).await
}

fn ocsf_events(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("findings.ocsf.json")).unwrap();
    let array: serde_json::Value = serde_json::from_str(&text).expect("a JSON array");
    array.as_array().expect("a JSON array").clone()
}

#[tokio::test]
async fn ocsf_events_validate_against_the_official_schema_and_say_what_findings_csv_says() {
    let root = tempfile::tempdir().unwrap();
    let (dir1, dir2) = (root.path().join("one"), root.path().join("two"));
    let outcome = scan_for_ocsf(&dir1).await;
    let r = &outcome.result;
    let events = ocsf_events(&dir1);

    // Every event is valid against the schema, and the schema does reject what OCSF does not
    // define (its objects are closed).
    let validator = ocsf_validator();
    for e in &events {
        let errors: Vec<String> = validator
            .iter_errors(e)
            .map(|err| format!("{} at {}", err, err.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}\nin {e:#}");
    }
    let mut wrong = events[0].clone();
    wrong["compliance"]["verdict"] = "blocked".into();
    assert!(!validator.is_valid(&wrong));
    let mut wrong = events[0].clone();
    wrong["class_uid"] = 2001.into();
    assert!(!validator.is_valid(&wrong));

    // The JSON Lines file holds the same events, one per line.
    let lines = std::fs::read_to_string(dir1.join("findings.ocsf.jsonl")).unwrap();
    let from_lines: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("one event per line"))
        .collect();
    assert_eq!(from_lines, events);

    // One event per row of findings.csv, saying the same: resource, check, status, severity,
    // message, remediation command, principal.
    let (headers, rows) = csv_rows(&dir1.join("findings.csv"));
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(events.len(), rows.len());
    assert_eq!(events.len(), r.findings.len());
    let unquote = |s: &str| s.strip_prefix('\'').unwrap_or(s).to_string();
    let mut from_csv: Vec<[String; 5]> = rows
        .iter()
        .map(|row| {
            [
                unquote(&row[col("resource_id")]),
                row[col("check_id")].clone(),
                row[col("status")].clone(),
                row[col("severity")].clone(),
                unquote(&row[col("message")]),
            ]
        })
        .collect();
    let mut from_ocsf: Vec<[String; 5]> = events
        .iter()
        .map(|e| {
            [
                e["resources"][0]["uid"].as_str().unwrap().to_string(),
                e["compliance"]["control"].as_str().unwrap().to_string(),
                e["compliance"]["status_code"].as_str().unwrap().to_string(),
                e["unmapped"]["severity"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            ]
        })
        .collect();
    from_csv.sort();
    from_ocsf.sort();
    assert_eq!(from_ocsf, from_csv);

    // The enums follow OCSF: a failed check is Fail whatever its severity, an undecided one is
    // Warning, a waived one Other (and the finding Suppressed); severity from the policy.
    let started = time::OffsetDateTime::parse(
        &r.run.started_at,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let millis = (started.unix_timestamp_nanos() / 1_000_000) as i64;
    let mut statuses = std::collections::BTreeSet::new();
    for e in &events {
        assert_eq!(e["class_uid"], 2003);
        assert_eq!(e["category_uid"], 2);
        assert_eq!(e["activity_id"], 1);
        assert_eq!(e["type_uid"], 200301);
        assert_eq!(e["metadata"]["version"], "1.8.0");
        assert_eq!(e["metadata"]["product"]["name"], "scready");
        assert_eq!(e["metadata"]["product"]["version"], r.run.version.as_str());
        assert_eq!(e["metadata"]["profiles"], serde_json::json!(["cloud"]));
        assert_eq!(e["cloud"]["provider"], "Azure");
        assert_eq!(
            e["compliance"]["standards"],
            serde_json::json!(["Azure Serial Console readiness"])
        );
        assert_eq!(e["time"], millis);
        let status = e["compliance"]["status_code"].as_str().unwrap().to_string();
        let (compliance_id, finding_id) = match status.as_str() {
            "fail" | "warn" => (3, 1),
            "unknown" => (2, 1),
            "waived" => (99, 3),
            other => panic!("status {other}"),
        };
        assert_eq!(e["compliance"]["status_id"], compliance_id, "{e}");
        assert_eq!(e["status_id"], finding_id, "{e}");
        let severity_id = match e["unmapped"]["severity"].as_str().unwrap() {
            "error" => 4,
            "warning" => 3,
            "info" => 1,
            other => panic!("severity {other}"),
        };
        assert_eq!(e["severity_id"], severity_id, "{e}");
        statuses.insert(status);
    }
    for s in ["fail", "warn", "waived"] {
        assert!(statuses.contains(s), "the fleet gives {s} findings");
    }
    let waived: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["compliance"]["status_code"] == "waived")
        .collect();
    assert_eq!(waived.len(), 1);
    assert!(waived[0]["resources"][0]["uid"]
        .as_str()
        .unwrap()
        .ends_with("/virtualMachines/vm-web-stopped"));
    assert!(waived[0]["compliance"]["status_details"][0]
        .as_str()
        .unwrap()
        .starts_with("parked until the migration"));

    // A known failing instance: `-2+3` has no boot diagnostics.
    let vm = r
        .inventory
        .instances
        .iter()
        .find(|i| i.name == "-2+3")
        .unwrap();
    let prod = r
        .inventory
        .subscriptions
        .iter()
        .find(|s| s.name == "Contoso Production")
        .unwrap();
    let csv_row = rows
        .iter()
        .find(|row| {
            row[col("resource_id")] == vm.id.as_str()
                && row[col("check_id")] == "boot-diagnostics-disabled"
        })
        .unwrap();
    let e = events
        .iter()
        .find(|e| {
            e["resources"][0]["uid"] == vm.id.as_str()
                && e["compliance"]["control"] == "boot-diagnostics-disabled"
        })
        .expect("an event for -2+3's missing boot diagnostics");
    assert_eq!(e["compliance"]["status_id"], 3);
    assert_eq!(e["compliance"]["status"], "Fail");
    assert_eq!(e["severity_id"], 4);
    assert_eq!(e["severity"], "High");
    assert_eq!(e["status"], "New");
    let resource = &e["resources"][0];
    assert_eq!(resource["type"], "Microsoft.Compute/virtualMachines");
    assert_eq!(resource["name"], "-2+3");
    assert_eq!(resource["region"], vm.location.as_str());
    assert_eq!(resource["group"]["name"], vm.resource_group.as_str());
    assert_eq!(resource["data"]["verdict"], "blocked");
    let tags = resource["tags"].as_array().unwrap();
    assert_eq!(tags.len(), vm.tags.len());
    assert!(tags.contains(&serde_json::json!({"name": "+cost", "value": "-42"})));
    assert_eq!(e["cloud"]["region"], vm.location.as_str());
    assert_eq!(e["cloud"]["account"]["uid"], prod.id.as_str());
    assert_eq!(e["cloud"]["account"]["name"], "Contoso Production");
    assert_eq!(e["cloud"]["account"]["type_id"], 13);
    assert_eq!(e["metadata"]["tenant_uid"], prod.tenant_id.as_str());
    assert!(!prod.tenant_id.is_empty());
    let title = &r.checks["boot-diagnostics-disabled"];
    assert_eq!(e["finding_info"]["title"], title.title.as_str());
    assert_eq!(e["remediation"]["references"][0], title.docs.as_str());
    let command = unquote(&csv_row[col("remediation")]);
    // Its name is one Azure would not allow: the command is withheld, and says so.
    assert!(command.starts_with("# withheld: "), "{command}");
    assert_eq!(e["unmapped"]["remediation_command"], command.as_str());
    let desc = e["remediation"]["desc"].as_str().unwrap();
    assert!(
        desc.starts_with(&unquote(&csv_row[col("mitigation")])) && desc.ends_with(&command),
        "{desc}"
    );

    // A subscription finding: the subscription is the resource, and has no region.
    let dev = r
        .inventory
        .subscriptions
        .iter()
        .find(|s| s.name == "=Contoso Development")
        .unwrap();
    let e = events
        .iter()
        .find(|e| e["compliance"]["control"] == "subscription-console-disabled")
        .unwrap();
    assert_eq!(
        e["resources"][0]["uid"],
        format!("/subscriptions/{}", dev.id)
    );
    assert_eq!(
        e["resources"][0]["type"],
        "Microsoft.Resources/subscriptions"
    );
    assert_eq!(e["cloud"]["account"]["name"], "=Contoso Development");
    assert!(e["cloud"].get("region").is_none());

    // finding_info.uid: one per (resource, check, principal), the same in a second scan of the
    // same fleet (a fresh simulator, another output directory, a later time).
    let key = |e: &serde_json::Value| {
        (
            e["resources"][0]["uid"]
                .as_str()
                .unwrap()
                .to_ascii_lowercase(),
            e["compliance"]["control"].as_str().unwrap().to_string(),
            e["unmapped"]["principal_id"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    };
    let uids = |events: &[serde_json::Value]| -> BTreeMap<_, String> {
        events
            .iter()
            .map(|e| {
                (
                    key(e),
                    e["finding_info"]["uid"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let first = uids(&events);
    assert_eq!(
        first.len(),
        events.len(),
        "one event per (resource, check, principal)"
    );
    let distinct: std::collections::BTreeSet<&String> = first.values().collect();
    assert_eq!(
        distinct.len(),
        first.len(),
        "a uid per (resource, check, principal)"
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    scan_for_ocsf(&dir2).await;
    let again = ocsf_events(&dir2);
    assert_ne!(again[0]["time"], events[0]["time"]);
    assert_eq!(uids(&again), first);
    let id = |resource: &str, check: &str| {
        first[&(
            resource.to_ascii_lowercase(),
            check.to_string(),
            String::new(),
        )]
            .clone()
    };
    let other = r
        .inventory
        .instances
        .iter()
        .find(|i| i.name == "vm-web-nobootdiag")
        .unwrap();
    assert_ne!(
        id(&vm.id, "boot-diagnostics-disabled"),
        id(&other.id, "boot-diagnostics-disabled")
    );
    // The same instance with a name Azure allows gets the command itself.
    let e = events
        .iter()
        .find(|e| {
            e["resources"][0]["uid"] == other.id.as_str()
                && e["compliance"]["control"] == "boot-diagnostics-disabled"
        })
        .unwrap();
    let command = e["unmapped"]["remediation_command"].as_str().unwrap();
    assert!(
        command.starts_with("az vm boot-diagnostics enable")
            && command.contains("vm-web-nobootdiag"),
        "{command}"
    );
    assert!(e["remediation"]["desc"]
        .as_str()
        .unwrap()
        .ends_with(command));
}
