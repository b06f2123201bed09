//! Scans scoped by management group, against the simulator's management-group tree
//! (`tests/fixtures/fleets/management_groups.toml`, served two items per page): nested groups
//! followed through `nextLink`, exclusion of a nested group, a group the scanner may not read,
//! two subscriptions with one display name, a subscription a group lists but the scanner does
//! not see, a Lighthouse-delegated subscription, and `--subscriptions-file`.

mod common;

use common::*;
use scready_sim::SimConfig;
use std::collections::BTreeSet;
use std::process::Output;

const SCANNER_ID: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const CONTOSO: &str = "11111111-1111-4111-8111-111111111111";
const FABRIKAM: &str = "11111111-1111-4111-8111-222222222222";

/// Subscription `…0n` of the fixture.
fn sub(n: u32) -> String {
    format!("33333333-0000-4000-8000-{n:012}")
}

struct Setup {
    sim: common::Sim,
    dir: tempfile::TempDir,
    ca: String,
    token: String,
}

async fn setup() -> Setup {
    let fleet = fleet("management_groups.toml");
    let sim = common::start(&fleet, SimConfig::for_fleet(&fleet)).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sim.ca_pem()).unwrap();
    let token = sim.issue_token(SCANNER_ID).expect("the scanner exists");
    Setup {
        ca: ca.display().to_string(),
        sim,
        dir,
        token,
    }
}

impl Setup {
    /// `scready scan` with the scanner's token, into `out`, plus `extra`.
    async fn scan(&self, out: &str, extra: &[&str]) -> Output {
        let base = self.sim.base_url();
        let mut args: Vec<&str> = vec![
            "scan",
            "--cloud",
            "custom",
            "--arm-endpoint",
            &base,
            "--ca-cert",
            &self.ca,
            "--auth",
            "token",
            "--out",
            out,
            "--no-history",
            "--no-network-probe",
            "--fail-on",
            "never",
            "--format",
            "csv,json,md,html",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        common::run_scready(
            &args,
            &[("SCREADY_ACCESS_TOKEN", &self.token)],
            self.dir.path(),
        )
        .await
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    /// (subscription_id, subscription_name) of every row of `out/instances.csv`.
    fn rows(&self, out: &str) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.path(out).join("instances.csv"))
            .expect("instances.csv is written");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(&header[..2], ["subscription_id", "subscription_name"]);
        lines
            .map(|l| {
                let cells: Vec<&str> = l.split(',').collect();
                (cells[0].to_string(), cells[1].to_string())
            })
            .collect()
    }

    fn scanned(&self, out: &str) -> BTreeSet<String> {
        self.rows(out).into_iter().map(|(id, _)| id).collect()
    }

    fn report(&self, out: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(self.path(out).join("report.json"))
            .expect("report.json is written");
        serde_json::from_str(&text).unwrap()
    }
}

fn set(ids: &[u32]) -> BTreeSet<String> {
    ids.iter().map(|&n| sub(n)).collect()
}

/// Subscriptions the simulator was asked about, by id.
fn touched(setup: &Setup) -> BTreeSet<String> {
    setup
        .sim
        .stats()
        .by_subscription
        .keys()
        .map(|s| s.to_ascii_lowercase())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_groups_are_followed_through_every_page() {
    let s = setup().await;
    // The listing itself pages: six descendants below landingzones, two per page.
    let url = format!(
        "{}/providers/Microsoft.Management/managementGroups/landingzones/descendants?api-version=2020-05-01",
        s.sim.base_url()
    );
    let (status, _, body) = get(&client(&s.sim), &url, Some(&s.token)).await;
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["value"].as_array().unwrap().len(), 2);
    assert!(page["nextLink"].as_str().is_some(), "{body}");
    // Shaped as the REST example GetDescendants.json: the group's children come first.
    let corp = &page["value"][0];
    assert_eq!(
        corp["id"],
        "/providers/Microsoft.Management/managementGroups/corp"
    );
    assert_eq!(corp["type"], "Microsoft.Management/managementGroups");
    assert_eq!(corp["name"], "corp");
    assert_eq!(
        corp["properties"]["parent"]["id"],
        "/providers/Microsoft.Management/managementGroups/landingzones"
    );
    assert_eq!(corp["properties"]["displayName"], "corp");

    let out = s.scan("lz", &["--management-group", "landingzones"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Three levels down: landingzones → corp → corp-prod, and sandbox.
    assert_eq!(s.scanned("lz"), set(&[2, 3, 4, 5]));
    let report = s.report("lz");
    assert_eq!(
        report["run"]["management_groups"],
        serde_json::json!(["landingzones"])
    );
    assert!(report["run"].get("excluded_management_groups").is_none());
    assert_eq!(report["coverage"]["subscriptions"], 4);
    assert_eq!(report["coverage"]["gaps"], serde_json::json!([]));
    assert_eq!(report["run"]["partial"], false);
    // Nothing outside the group was read.
    assert_eq!(touched(&s), set(&[2, 3, 4, 5]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_subscriptions_with_one_display_name_stay_two() {
    let s = setup().await;
    let out = s.scan("corp", &["--management-group", "corp-prod"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut rows = s.rows("corp");
    rows.sort();
    assert_eq!(
        rows,
        vec![
            (sub(2), "Workloads".to_string()),
            (sub(3), "Workloads".to_string())
        ]
    );
    let report = s.report("corp");
    let subs = report["inventory"]["subscriptions"].as_array().unwrap();
    let ids: BTreeSet<&str> = subs.iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(subs.iter().all(|x| x["name"] == "Workloads"));
    let by_sub = report["summary"]["by_subscription"].as_object().unwrap();
    assert!(by_sub.contains_key(&sub(2)) && by_sub.contains_key(&sub(3)));
    // The markdown and HTML reports tell the two apart by id.
    let md = std::fs::read_to_string(s.path("corp").join("summary.md")).unwrap();
    assert!(md.contains(&sub(2)) && md.contains(&sub(3)), "{md}");
    let html = std::fs::read_to_string(s.path("corp").join("report.html")).unwrap();
    assert!(html.contains(&format!("Workloads ({})", sub(2))));
    assert!(html.contains(&format!("Workloads ({})", sub(3))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_groups_and_subscriptions_combine_with_included_ones() {
    let s = setup().await;
    let out = s
        .scan(
            "ex",
            &[
                "--management-group",
                "landingzones",
                "--exclude-management-group",
                "corp-prod",
            ],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(s.scanned("ex"), set(&[4, 5]));
    let report = s.report("ex");
    assert_eq!(
        report["run"]["excluded_management_groups"],
        serde_json::json!(["corp-prod"])
    );

    // (explicit ∪ groups) − excluded subscriptions − excluded groups.
    let (s10, s5, s2) = (sub(10), sub(5), sub(2));
    let out = s
        .scan(
            "mix",
            &[
                "--management-group",
                "landingzones",
                "--exclude-management-group",
                "corp-prod",
                "--exclude-subscription",
                &s5,
                "--subscription",
                &s10,
                // Named, but below an excluded group: excluded.
                "--subscription",
                &s2,
            ],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(s.scanned("mix"), set(&[4, 10]));
    let run = &s.report("mix")["run"];
    assert_eq!(run["requested_subscriptions"], serde_json::json!([s10, s2]));
    assert_eq!(run["excluded_subscriptions"], serde_json::json!([s5]));

    // An excluded group alone: every visible subscription but the group's.
    let out = s
        .scan("allbut", &["--exclude-management-group", "landingzones"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(s.scanned("allbut"), set(&[1, 6, 9, 10, 11]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_the_scanner_may_not_read_stops_the_scan_before_anything_is_read() {
    let s = setup().await;
    let out = s
        .scan(
            "denied",
            &[
                "--management-group",
                "platform",
                "--management-group",
                "restricted",
            ],
        )
        .await;
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("management group 'restricted'"), "{err}");
    assert!(
        err.contains("Microsoft.Management/managementGroups/descendants/read"),
        "{err}"
    );
    assert!(err.contains("403 AuthorizationFailed"), "{err}");
    assert!(!s.path("denied").join("instances.csv").exists());
    assert!(!s.path("denied").join("report.json").exists());
    // Not one subscription was read, not even the readable group's.
    assert_eq!(touched(&s), BTreeSet::new());

    let out = s
        .scan("unknown", &["--management-group", "no-such-group"])
        .await;
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("management group 'no-such-group'"), "{err}");
    assert!(err.contains("404"), "{err}");
    assert!(!s.path("unknown").join("instances.csv").exists());

    let out = s.scan("bad", &["--management-group", "a/b"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a management group id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_below_a_group_but_not_visible_is_a_named_gap() {
    let s = setup().await;
    let out = s
        .scan("partners", &["--management-group", "partners"])
        .await;
    // The run is partial: a subscription in scope was not scanned.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(s.scanned("partners"), set(&[9]));
    let report = s.report("partners");
    assert_eq!(report["run"]["partial"], true);
    let gaps = report["coverage"]["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["subscription_id"], sub(8));
    assert_eq!(gaps[0]["code"], "NotVisible");
    let message = gaps[0]["message"].as_str().unwrap();
    assert!(message.contains("Partner Hidden") && message.contains("partners"));
    assert!(!touched(&s).contains(&sub(8)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lighthouse_delegated_subscription_is_scanned_with_its_tenants_shown() {
    let s = setup().await;
    let delegated = sub(11);
    let out = s.scan("all", &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Everything visible; the hidden partner subscription is not.
    assert_eq!(s.scanned("all"), set(&[1, 2, 3, 4, 5, 6, 9, 10, 11]));
    let report = s.report("all");
    let info = report["inventory"]["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == delegated.as_str())
        .expect("the delegated subscription is in the inventory")
        .clone();
    assert_eq!(info["tenant_id"], FABRIKAM);
    assert_eq!(info["managed_by_tenants"], serde_json::json!([CONTOSO]));
    let md = std::fs::read_to_string(s.path("all").join("summary.md")).unwrap();
    assert!(
        md.contains(&format!("{FABRIKAM} (managed by {CONTOSO})")),
        "{md}"
    );
    let html = std::fs::read_to_string(s.path("all").join("report.html")).unwrap();
    assert!(html.contains(&format!("{FABRIKAM} (managed by {CONTOSO})")));
    // instances.csv keeps its columns.
    let csv = std::fs::read_to_string(s.path("all").join("instances.csv")).unwrap();
    assert!(!csv.lines().next().unwrap().contains("tenant"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriptions_file_adds_to_the_groups_and_a_bad_line_is_named() {
    let s = setup().await;
    let good = s.path("subs.txt");
    std::fs::write(
        &good,
        format!(
            "# platform and the unmanaged one\n\n{}\n  {}  # trailing comment\n",
            sub(1),
            sub(10)
        ),
    )
    .unwrap();
    let good_path = good.display().to_string();
    let out = s
        .scan(
            "file",
            &[
                "--subscriptions-file",
                &good_path,
                "--management-group",
                "sandbox",
            ],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(s.scanned("file"), set(&[1, 5, 10]));

    let bad = s.path("bad.txt");
    std::fs::write(&bad, format!("{}\n# ok\n\nnot-a-subscription\n", sub(1))).unwrap();
    let bad_path = bad.display().to_string();
    let out = s
        .scan("badfile", &["--subscriptions-file", &bad_path])
        .await;
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{bad_path}:4")), "{err}");
    assert!(err.contains("not-a-subscription"), "{err}");
    assert!(!s.path("badfile").exists());
    assert_eq!(touched(&s), set(&[1, 5, 10]));
}

#[test]
fn help_documents_the_scope_flags() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scready"))
        .args(["scan", "--help"])
        .output()
        .unwrap();
    let help = text(&out.stdout);
    for flag in [
        "--management-group",
        "--exclude-management-group",
        "--subscriptions-file",
        "descendants/read",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}
