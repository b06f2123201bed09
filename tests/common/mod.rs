//! Helpers shared by the integration tests: fleets, simulators and HTTPS clients on loopback.
#![allow(dead_code)]

use scready_sim::fleet::Fleet;
use scready_sim::{SimConfig, Simulator};
use std::path::PathBuf;

/// Path of a test fixture.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Loads a fleet from `tests/fixtures/fleets/`.
pub fn fleet(name: &str) -> Fleet {
    Fleet::load(&fixture(&format!("fleets/{name}"))).expect("fixture fleet is valid")
}

/// A managed-identity endpoint on a loopback port where nothing listens: child processes get
/// it so that no test can ever reach the instance metadata address by accident.
pub const DEAD_IDENTITY_ENDPOINT: &str = "https://127.0.0.1:9/msi/token";

/// The principal of `small.toml` that reads everything.
pub const SCANNER: &str = "aaaaaaaa-0000-4000-8000-000000000001";
/// The principal of `small.toml` that reads only the second subscription.
pub const OUTSIDER: &str = "aaaaaaaa-0000-4000-8000-000000000002";
/// The user of `small.toml` with Reader on one resource group.
pub const RG_READER: &str = "aaaaaaaa-0000-4000-8000-000000000003";
/// The tenant of `small.toml`.
pub const TENANT: &str = "11111111-1111-4111-8111-111111111111";
/// Production subscription of `small.toml`.
pub const SUB_PROD: &str = "22222222-0000-4000-8000-000000000001";
/// Development subscription of `small.toml`.
pub const SUB_DEV: &str = "22222222-0000-4000-8000-000000000002";

/// A simulator that, when the test ends, asserts it received no request but GET (the
/// read-only guarantee), unless the test declared the writes it makes.
pub struct Sim {
    inner: Simulator,
    expected_writes: u64,
    run_commands_only: bool,
}

impl Sim {
    /// Declares `n` non-GET requests this test sends on purpose.
    pub fn expect_writes(&mut self, n: u64) {
        self.expected_writes = n;
    }

    /// Declares `n` Run Command POSTs (and no other non-GET request).
    pub fn expect_run_commands(&mut self, n: u64) {
        self.expected_writes = n;
        self.run_commands_only = true;
    }
}

impl std::ops::Deref for Sim {
    type Target = Simulator;
    fn deref(&self) -> &Simulator {
        &self.inner
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let stats = self.inner.stats();
        assert_eq!(
            stats.non_get_requests, self.expected_writes,
            "the simulator saw requests other than GET: {:?}",
            stats.non_get_log
        );
        if self.run_commands_only {
            assert!(
                stats
                    .non_get_log
                    .iter()
                    .all(|l| l.starts_with("POST ") && l.contains("/runCommand?")),
                "{:?}",
                stats.non_get_log
            );
        }
    }
}

/// Starts a simulator (throttling at ARM's defaults unless configured) guarded by [`Sim`].
pub async fn start(fleet: &Fleet, config: SimConfig) -> Sim {
    Sim {
        inner: Simulator::start(fleet, config)
            .await
            .expect("simulator starts"),
        expected_writes: 0,
        run_commands_only: false,
    }
}

/// A simulator configuration with `page_size` items per page and without ARM's read throttle,
/// for tests that measure something else (answers, joins, Compute's own throttle).
pub fn unthrottled(page_size: usize) -> SimConfig {
    SimConfig {
        page_size: Some(page_size),
        throttle: scready_sim::throttle::ThrottleConfig {
            enabled: false,
            ..Default::default()
        },
        ..SimConfig::default()
    }
}

/// An HTTPS client that trusts only the simulator's CA.
pub fn client(sim: &Simulator) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(sim.ca_pem().as_bytes()).expect("CA parses");
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .expect("client builds")
}

/// A GET with an optional bearer token; returns status, headers and body text.
pub async fn get(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request is answered");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("body is read");
    (status, headers, body)
}

/// The scanning principal of the built-in demo fleet (Reader on everything).
pub const DEMO_SCANNER: &str = "76e9c809-2966-493d-8bc1-6f01162794bf";

/// A tag value that would run script if a report pasted it into HTML unescaped.
pub const HOSTILE_HTML: &str = "<img src=x onerror=alert(1)>";
/// A tag value that a spreadsheet would run as a formula.
pub const HOSTILE_FORMULA: &str = "=cmd|' /C calc'!A0";

/// Scan options for a simulator: its custom cloud and CA, the `token` credential, 8
/// subscriptions at a time, CSV and JSON into `out`, exit code 0 whatever is found, the default
/// client, quiet, no history, no progress. Tests change what they need with `..` updates.
pub fn scan_options(sim: &Simulator, out: &std::path::Path) -> scready::scan::ScanOptions {
    let base = url::Url::parse(&sim.base_url()).unwrap();
    scready::scan::ScanOptions {
        cloud: scready::cloud::Cloud::custom(base.clone(), Some(base)),
        auth: scready::auth::AuthMode::Token,
        ca_cert: Some(sim.ca_pem().as_bytes().to_vec()),
        discover: parallelism(8),
        policy: None,
        out: out.to_path_buf(),
        out_is_default: false,
        formats: vec!["csv".into(), "json".into()],
        fail_on: scready::scan::FailOn::Never,
        client: scready::arm::ArmClientOptions::default(),
        save_inventory: None,
        quiet: true,
        access: scready::scan::AccessOptions::default(),
        history: None,
        history_keep: None,
        progress: scready::progress::ProgressMode::Off,
    }
}

/// Client options for scans of generated fleets: retries after 10–50 ms instead of seconds, and
/// a 20 s request timeout for loaded machines.
pub fn quick_retries() -> scready::arm::ArmClientOptions {
    scready::arm::ArmClientOptions {
        retry_initial_delay: std::time::Duration::from_millis(10),
        retry_max_delay: std::time::Duration::from_millis(50),
        request_timeout: std::time::Duration::from_secs(20),
        ..Default::default()
    }
}

/// The principals whose access a scan audits, by object id (no labels).
pub fn audited_ids(ids: &[String]) -> Vec<scready::inventory::PrincipalRef> {
    ids.iter()
        .map(|id| scready::inventory::PrincipalRef {
            object_id: id.clone(),
            label: String::new(),
            scanner: false,
        })
        .collect()
}

/// Runs the `scready` binary in `cwd` with a clean environment (`PATH`, `HOME` = `cwd`, and a
/// managed-identity endpoint nobody answers) plus `env`; a run longer than 120 s fails the test.
pub async fn run_scready<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    env: &[(&str, &str)],
    cwd: &std::path::Path,
) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_scready"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", cwd)
        .env("IDENTITY_ENDPOINT", DEAD_IDENTITY_ENDPOINT)
        .env("IDENTITY_HEADER", "unused")
        .current_dir(cwd)
        .args(args)
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::time::timeout(std::time::Duration::from_secs(120), cmd.output())
        .await
        .expect("scready ends within 120 s")
        .expect("scready runs")
}

/// Output bytes as text (lossy).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Discovery of `n` subscriptions at a time.
pub fn parallelism(n: usize) -> scready::discover::DiscoverOptions {
    scready::discover::DiscoverOptions {
        subscription_parallelism: n,
        ..Default::default()
    }
}

/// Scan options for a simulator of the demo fleet: every report format, no history, no progress.
pub fn demo_scan_options(
    sim: &Simulator,
    out: &std::path::Path,
    policy: Option<&str>,
) -> scready::scan::ScanOptions {
    scready::scan::ScanOptions {
        policy: policy.map(fixture),
        formats: ["csv", "json", "html", "md", "junit"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        client: scready::arm::ArmClientOptions {
            retry_initial_delay: std::time::Duration::from_millis(20),
            retry_max_delay: std::time::Duration::from_millis(200),
            request_timeout: std::time::Duration::from_secs(10),
            ..Default::default()
        },
        ..scan_options(sim, out)
    }
}

/// Scans with the demo fleet's scanner token.
pub async fn scan_demo(
    sim: &Simulator,
    options: &scready::scan::ScanOptions,
) -> scready::scan::ScanOutcome {
    let token = sim
        .issue_token(DEMO_SCANNER)
        .expect("the demo scanner exists");
    let env: scready::auth::EnvLookup =
        std::sync::Arc::new(move |k: &str| (k == "SCREADY_ACCESS_TOKEN").then(|| token.clone()));
    let outcome = scready::scan::run(options, env)
        .await
        .expect("the scan runs");
    if options.formats.iter().any(|f| f == "json") {
        report::raw(&options.out);
    }
    outcome
}

/// The demo fleet with hostile text where Azure lets anyone put it: the Development
/// subscription's display name starts with `=`, VM `=SUM(1+2)` (ready) carries a formula tag
/// key and value and an HTML tag value, and VM `-2+3` has no boot diagnostics (blocked).
pub fn hostile_demo_fleet() -> Fleet {
    let mut fleet = scready_sim::demo::demo_fleet();
    let dev = fleet
        .subscriptions
        .iter_mut()
        .find(|s| s.display_name == "Contoso Development")
        .unwrap();
    dev.display_name = "=Contoso Development".into();
    let prod = fleet
        .subscriptions
        .iter_mut()
        .find(|s| s.display_name == "Contoso Production")
        .unwrap();
    let template = |name: &str| {
        prod.vms
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("demo VM {name}"))
            .clone()
    };
    let mut formula = template("vm-web-prod-01");
    formula.name = "=SUM(1+2)".into();
    formula.tags.insert("@owner".into(), HOSTILE_FORMULA.into());
    formula.tags.insert("note".into(), HOSTILE_HTML.into());
    let mut dash = template("vm-web-nobootdiag");
    dash.name = "-2+3".into();
    dash.tags.insert("+cost".into(), "-42".into());
    prod.vms.push(formula);
    prod.vms.push(dash);
    fleet
        .validate("hostile demo fleet")
        .expect("the hostile fleet is valid");
    fleet
}
pub mod report;
