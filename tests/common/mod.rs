//! Helpers shared by the integration tests: fleets, simulators and HTTPS clients on loopback.
#![allow(dead_code)]

use scready::sim::fleet::Fleet;
use scready::sim::{SimConfig, Simulator};
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

/// Starts a simulator with throttling at ARM's defaults.
pub async fn start(fleet: &Fleet, config: SimConfig) -> Simulator {
    Simulator::start(fleet, config)
        .await
        .expect("simulator starts")
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
