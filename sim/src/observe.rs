//! What the simulator saw: a log of every request and counters, for tests and benchmarks.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One served request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// ARM request number (1-based; 0 for token and admin requests).
    pub number: u64,
    /// HTTP method.
    pub method: String,
    /// Path and query as received.
    pub path: String,
    /// Status sent (0 when the connection was dropped before a status).
    pub status: u16,
    /// Milliseconds from the request arriving to the response head being ready.
    pub latency_ms: f64,
    /// Milliseconds since the simulator started, at arrival.
    pub started_ms: f64,
    /// Object id of the caller, when authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Subscription the request addressed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    /// The fault injected, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// Counters over all requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// ARM requests (everything but the token and admin endpoints).
    pub arm_requests: u64,
    /// Token endpoint requests.
    pub token_requests: u64,
    /// Requests by status code.
    pub by_status: BTreeMap<u16, u64>,
    /// 429s sent by the throttles (ARM's read buckets and Compute's policies), not by injected
    /// faults.
    pub throttled: u64,
    /// Calls rejected by each Compute policy (by policy name), included in `throttled`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub compute_throttled: BTreeMap<String, u64>,
    /// Injected faults.
    pub faults_injected: u64,
    /// ARM requests with a method other than GET (accepted or not).
    pub non_get_requests: u64,
    /// Non-GET ARM requests that were rejected.
    pub rejected_writes: u64,
    /// Method and path of every non-GET ARM request.
    pub non_get_log: Vec<String>,
    /// Requests per subscription.
    pub by_subscription: BTreeMap<String, u64>,
    /// Peak number of ARM requests being served at once.
    pub peak_in_flight: u64,
}

/// The request log and counters of a running simulator.
#[derive(Debug, Default)]
pub struct Observer {
    log: Mutex<Vec<RequestRecord>>,
    stats: Mutex<Stats>,
    in_flight: Mutex<u64>,
}

impl Observer {
    /// Records a finished request.
    pub fn record(&self, rec: RequestRecord, throttled: bool, is_arm: bool) {
        {
            let mut s = self.stats.lock().unwrap();
            if is_arm {
                s.arm_requests += 1;
                if rec.method != "GET" {
                    s.non_get_requests += 1;
                    s.non_get_log.push(format!("{} {}", rec.method, rec.path));
                    if rec.status == 405 {
                        s.rejected_writes += 1;
                    }
                }
                if let Some(sub) = &rec.subscription {
                    *s.by_subscription.entry(sub.clone()).or_default() += 1;
                }
            } else if rec.path.contains("/oauth2/") || rec.path.contains("/token") {
                s.token_requests += 1;
            }
            *s.by_status.entry(rec.status).or_default() += 1;
            if throttled {
                s.throttled += 1;
            }
            if rec.fault.is_some() {
                s.faults_injected += 1;
            }
        }
        self.log.lock().unwrap().push(rec);
    }

    /// Marks an ARM request as started (for the in-flight peak).
    pub fn enter(&self) {
        let mut n = self.in_flight.lock().unwrap();
        *n += 1;
        let mut s = self.stats.lock().unwrap();
        s.peak_in_flight = s.peak_in_flight.max(*n);
    }

    /// Marks an ARM request as finished.
    pub fn leave(&self) {
        let mut n = self.in_flight.lock().unwrap();
        *n = n.saturating_sub(1);
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        self.stats.lock().unwrap().clone()
    }

    /// A copy of the request log.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.log.lock().unwrap().clone()
    }

    /// Clears the log and the counters.
    pub fn reset(&self) {
        self.log.lock().unwrap().clear();
        *self.stats.lock().unwrap() = Stats::default();
    }
}
