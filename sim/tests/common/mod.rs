//! Helpers shared by the simulator's tests: fixtures, simulators and HTTPS clients on loopback.
#![allow(dead_code)]

use scready_sim::fleet::Fleet;
use scready_sim::{SimConfig, Simulator};
use std::path::PathBuf;

/// Path of a fixture in the workspace's `tests/fixtures/` (the fleets and the ARM examples with
/// their provenance, `tests/fixtures/arm/SOURCES.md`), shared with the scanner's tests.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(rel)
}

/// Loads a fleet from `tests/fixtures/fleets/`.
pub fn fleet(name: &str) -> Fleet {
    Fleet::load(&fixture(&format!("fleets/{name}"))).expect("fixture fleet is valid")
}

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

/// A simulator that, when the test ends, asserts it received no request but GET, unless the
/// test declared the writes it makes.
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

/// Starts a simulator guarded by [`Sim`].
pub async fn start(fleet: &Fleet, config: SimConfig) -> Sim {
    Sim {
        inner: Simulator::start(fleet, config)
            .await
            .expect("simulator starts"),
        expected_writes: 0,
        run_commands_only: false,
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

/// Sends `n` GETs with up to 16 in flight; returns the statuses in completion order.
pub async fn burst(client: &reqwest::Client, url: &str, token: &str, n: usize) -> Vec<u16> {
    use futures::StreamExt;
    futures::stream::iter(0..n)
        .map(|_| async {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
        .buffer_unordered(16)
        .collect()
        .await
}
