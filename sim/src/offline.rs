//! ARM's JSON without a network: the simulator's routes answered in memory.
//!
//! [`OfflineArm`] serves the same paths, read permissions, paging and bodies as a running
//! [`Simulator`](crate::Simulator), without TLS, tokens, throttling, latency or faults. It is for
//! programs that want a fleet as ARM would return it, fast and in-process — the evaluation
//! benchmark reads a million instances this way and parses the pages with the scanner's own
//! parser, so what crosses from the simulator to the scanner is ARM's JSON and nothing else.

use crate::compute::StatusOnlyShape;
use crate::fleet::Fleet;
use crate::routes::{self, Ctx};
use crate::world::World;

/// The base URL of the `nextLink`s an [`OfflineArm`] writes.
pub const OFFLINE_BASE_URL: &str = "https://management.simulator.invalid";

/// A fleet answering ARM GETs in memory.
#[derive(Debug)]
pub struct OfflineArm {
    world: World,
    page_size: usize,
    status_only_shape: StatusOnlyShape,
}

impl OfflineArm {
    /// Indexes a validated fleet; pages hold up to `page_size` items (at least 1).
    pub fn new(fleet: &Fleet, page_size: usize) -> OfflineArm {
        OfflineArm {
            world: World::build(fleet),
            page_size: page_size.max(1),
            status_only_shape: fleet.settings.status_only_shape.unwrap_or_default(),
        }
    }

    /// Answers `GET path_and_query` (e.g. `/subscriptions/{id}/providers/…?api-version=…`, or
    /// a `nextLink` this value wrote) for the principal with this object id: the HTTP status
    /// and the JSON body, byte for byte as the simulator sends them. An unknown principal is taken for a
    /// principal of the fleet's first tenant without any role: 403s and empty listings.
    pub fn get(&self, principal: &str, path_and_query: &str) -> (u16, Vec<u8>) {
        let rest = path_and_query
            .strip_prefix(OFFLINE_BASE_URL)
            .unwrap_or(path_and_query);
        let (path, raw_query) = rest.split_once('?').unwrap_or((rest, ""));
        let principal = principal.to_ascii_lowercase();
        let tenant = self
            .world
            .principals
            .get(&principal)
            .map(|p| p.tenant.clone())
            .or_else(|| self.world.tenants.first().cloned())
            .unwrap_or_default();
        let segs: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(crate::server::percent_decode)
            .collect();
        let ctx = Ctx {
            world: &self.world,
            principal: &principal,
            tenant: &tenant,
            lower: segs.iter().map(|s| s.to_ascii_lowercase()).collect(),
            segs,
            query: url::form_urlencoded::parse(raw_query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            raw_query: raw_query.to_string(),
            base_url: OFFLINE_BASE_URL.to_string(),
            path: path.to_string(),
            page_size: self.page_size,
            paging_fault: None,
            status_only_shape: self.status_only_shape,
            compute: None,
        };
        let reply = routes::route(&ctx);
        (reply.status, reply.body)
    }

    /// Whether the simulator's name service knows `host` (a storage blob host of the fleet,
    /// served or external), as `GET /_sim/dns?name=HOST` answers it.
    pub fn host_exists(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        host == "localhost" || self.world.blob_hosts.contains(&host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_link_to_the_next_and_errors_keep_their_status() {
        let fleet = crate::generate::generate(&crate::generate::GenerateOptions {
            subscriptions: 2,
            vms_per_subscription: 7,
            scale_sets: 0,
            instances_per_scale_set: 0,
            seed: 3,
            mix: crate::generate::Mix::none(),
        });
        let scanner = crate::generate::scanner_principal(&fleet)
            .unwrap()
            .id
            .clone();
        let arm = OfflineArm::new(&fleet, 5);
        let sub = &fleet.subscriptions[1].id;
        let first = format!(
            "/subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?api-version=2025-04-01"
        );
        let (status, body) = arm.get(&scanner, &first);
        assert_eq!(status, 200);
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(page["value"].as_array().unwrap().len(), 5);
        let next = page["nextLink"].as_str().unwrap();
        assert!(next.starts_with(OFFLINE_BASE_URL), "{next}");
        let (status, body) = arm.get(&scanner, next);
        assert_eq!(status, 200);
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(page["value"].as_array().unwrap().len(), 2);
        assert!(page.get("nextLink").is_none());
        let (status, body) = arm.get("nobody", &first);
        assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    }
}
