//! What the Compute resource provider adds to ARM's behaviour: the shape of the `statusOnly=true`
//! VM listing, and Compute's own throttling policies.
//!
//! **`statusOnly=true`.** The REST spec describes the parameter only as "statusOnly=true enables
//! fetching run time status of all Virtual Machines in the subscription" (VirtualMachines_ListAll,
//! azure-rest-api-specs, Microsoft.Compute 2025-04-01). Users report that the VMs it returns lack
//! their tags and other model fields (Azure/azure-sdk-for-go#18565: "when I remove the list
//! option StatusOnly … then I can get non-nil tags"), and Azure/azure-rest-api-specs#42411 states
//! that no documented list call returns both the full VM properties and the power state. The
//! conservative reading ([`StatusOnlyShape::Status`], the default) serves identity, location,
//! `vmId` and the instance view only; [`StatusOnlyShape::Full`] serves the model too.
//!
//! **Compute policies.** Compute throttles per subscription with named policies and reports what
//! is left after each call: `x-ms-ratelimit-remaining-resource:
//! Microsoft.Compute/HighCostGet3Min;159,Microsoft.Compute/HighCostGet30Min;799` and
//! `x-ms-request-charge: 1`. A rejected call is 429 with `Retry-After` and an
//! `OperationNotAllowed` error whose detail `TooManyRequests` names the operation group and
//! carries a JSON text with `operationGroup`, `startTime`, `endTime`, `allowedRequestCount` and
//! `measuredRequestCount` (Microsoft Learn, "Troubleshooting API throttling errors",
//! troubleshoot/azure/virtual-machines/troubleshooting-throttling-errors; the AKS article
//! "TooManyRequestsReceived" shows the same body with `target` equal to the operation group;
//! a recorded response in the Azure SDK for JavaScript's test recordings carries both policies
//! comma-separated in one header). The simulator models each policy as a fixed window: the
//! window starts at the first call after the previous one ended, each call in it counts one, and
//! a call finding any policy used up is rejected without counting. Microsoft also counts per
//! region; the simulator counts per subscription.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// What the `statusOnly=true` VM listing returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusOnlyShape {
    /// `id`, `name`, `type`, `location`, `properties.vmId` and `properties.instanceView` only:
    /// no tags, no zones, no model.
    #[default]
    Status,
    /// The full model with the instance view embedded.
    Full,
}

impl std::str::FromStr for StatusOnlyShape {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "status" => Ok(StatusOnlyShape::Status),
            "full" => Ok(StatusOnlyShape::Full),
            other => Err(format!("'{other}' is not full or status")),
        }
    }
}

impl std::fmt::Display for StatusOnlyShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StatusOnlyShape::Status => "status",
            StatusOnlyShape::Full => "full",
        })
    }
}

/// One Compute throttling policy: at most `limit` calls per fixed `window` per subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputePolicy {
    /// The name in `x-ms-ratelimit-remaining-resource`, e.g.
    /// `Microsoft.Compute/HighCostGet3Min`. Clients may read the window from the suffix
    /// (`<N>Sec`, `<N>Min`, `<N>Hour`), so keep it consistent with `window`.
    pub name: String,
    /// Calls allowed per window.
    pub limit: u32,
    /// The window.
    #[serde(rename = "window_secs", with = "secs")]
    pub window: Duration,
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

impl ComputePolicy {
    /// A policy with this name, limit and window.
    pub fn new(name: &str, limit: u32, window: Duration) -> ComputePolicy {
        ComputePolicy {
            name: name.to_string(),
            limit,
            window,
        }
    }

    /// The operation group: the name without its `Microsoft.Compute/` prefix (what the 429
    /// body names in `target` and `operationGroup`).
    pub fn operation_group(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }
}

/// Compute's throttling of the VM reads: the policies every counted call is charged against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputeThrottle {
    /// The policies, in header order.
    pub policies: Vec<ComputePolicy>,
}

impl Default for ComputeThrottle {
    /// `Microsoft.Compute/HighCostGet3Min` (300 per 180 s) and
    /// `Microsoft.Compute/HighCostGet30Min` (1,500 per 1,800 s). Microsoft publishes the policy
    /// names, not their limits (the public samples show 159 and 799 remaining, and an
    /// `allowedRequestCount` of 800 for a 30-minute group); these defaults keep the 30-minute
    /// policy binding for a sustained scan and the 3-minute one for a burst.
    fn default() -> Self {
        ComputeThrottle {
            policies: vec![
                ComputePolicy::new(
                    "Microsoft.Compute/HighCostGet3Min",
                    300,
                    Duration::from_secs(180),
                ),
                ComputePolicy::new(
                    "Microsoft.Compute/HighCostGet30Min",
                    1500,
                    Duration::from_secs(1800),
                ),
            ],
        }
    }
}

impl ComputeThrottle {
    /// Checks names (non-empty, unique, no `,` or `;`), limits (at least 1) and windows (at
    /// least a millisecond); the error names the policy.
    pub fn validate(&self) -> Result<(), String> {
        if self.policies.is_empty() {
            return Err("a Compute throttle needs at least one policy".into());
        }
        let mut seen = std::collections::HashSet::new();
        for (i, p) in self.policies.iter().enumerate() {
            if p.name.trim().is_empty()
                || p.name.contains([',', ';'])
                || !p.name.bytes().all(|b| (0x21..0x7f).contains(&b))
            {
                return Err(format!(
                    "policies[{i}].name {:?} must be printable ASCII without spaces, ',' or ';'",
                    p.name
                ));
            }
            if !seen.insert(p.name.to_ascii_lowercase()) {
                return Err(format!("policies[{i}].name: duplicate policy '{}'", p.name));
            }
            if p.limit == 0 {
                return Err(format!("policies[{i}].limit must be at least 1"));
            }
            if p.window < Duration::from_millis(1) {
                return Err(format!("policies[{i}].window must be positive"));
            }
        }
        Ok(())
    }

    /// Parses `NAME:LIMIT:WINDOW_SECS` (the `--compute-policy` form).
    pub fn parse_policy(text: &str) -> Result<ComputePolicy, String> {
        let mut parts = text.rsplitn(3, ':');
        let (Some(window), Some(limit), Some(name)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("'{text}' is not NAME:LIMIT:WINDOW_SECS"));
        };
        let limit: u32 = limit
            .parse()
            .map_err(|_| format!("'{limit}' in '{text}' is not a call count"))?;
        let window: u64 = window
            .parse()
            .map_err(|_| format!("'{window}' in '{text}' is not a number of seconds"))?;
        Ok(ComputePolicy::new(name, limit, Duration::from_secs(window)))
    }
}

#[derive(Debug)]
struct Window {
    started: Instant,
    started_wall: SystemTime,
    counted: u32,
    measured: u32,
}

/// A rejected call: which policy, how long to wait, and the error detail Compute sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComputeRejection {
    /// The used-up policy whose window ends last.
    pub policy: ComputePolicy,
    /// Whole seconds until that window ends, rounded up, at least 1.
    pub retry_after_secs: u64,
    /// Start of that window.
    pub start: SystemTime,
    /// End of that window.
    pub end: SystemTime,
    /// Calls seen in that window, the rejected ones included.
    pub measured: u32,
}

/// The outcome of charging one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComputeCharge {
    /// `x-ms-ratelimit-remaining-resource`: every policy with what remains after this call.
    pub remaining_header: String,
    /// Set when the call is rejected.
    pub rejected: Option<ComputeRejection>,
}

/// The Compute policies of a running simulator: windows per (subscription, policy) and counts
/// of rejected calls per policy.
#[derive(Debug)]
pub struct ComputeLimiter {
    config: Mutex<Option<ComputeThrottle>>,
    windows: Mutex<HashMap<(String, usize), Window>>,
    rejected: Mutex<BTreeMap<String, u64>>,
}

impl ComputeLimiter {
    /// A limiter with these policies (`None`: Compute does not throttle).
    pub fn new(config: Option<ComputeThrottle>) -> ComputeLimiter {
        ComputeLimiter {
            config: Mutex::new(config),
            windows: Mutex::new(HashMap::new()),
            rejected: Mutex::new(BTreeMap::new()),
        }
    }

    /// Replaces the policies; every window starts afresh.
    pub fn reconfigure(&self, config: Option<ComputeThrottle>) {
        *self.config.lock().unwrap() = config;
        self.windows.lock().unwrap().clear();
    }

    /// Rejected calls per policy name.
    pub fn rejected_counts(&self) -> BTreeMap<String, u64> {
        self.rejected.lock().unwrap().clone()
    }

    /// Forgets the counts of rejected calls (the windows continue).
    pub fn reset_counts(&self) {
        self.rejected.lock().unwrap().clear();
    }

    /// Charges one call of `subscription` against every policy, or rejects it without charging
    /// when a policy is used up. `None` when Compute does not throttle.
    pub fn charge(&self, subscription: &str) -> Option<ComputeCharge> {
        let config = self.config.lock().unwrap().clone()?;
        let now = Instant::now();
        let wall = SystemTime::now();
        let sub = subscription.to_ascii_lowercase();
        let mut windows = self.windows.lock().unwrap();
        // Close the windows that have ended.
        for (i, p) in config.policies.iter().enumerate() {
            let key = (sub.clone(), i);
            if windows
                .get(&key)
                .is_some_and(|w| now >= w.started + p.window)
            {
                windows.remove(&key);
            }
        }
        let mut worst: Option<(usize, Duration)> = None;
        for (i, p) in config.policies.iter().enumerate() {
            if let Some(w) = windows.get(&(sub.clone(), i)) {
                if w.counted >= p.limit {
                    let left = (w.started + p.window).saturating_duration_since(now);
                    if worst.is_none_or(|(_, l)| left > l) {
                        worst = Some((i, left));
                    }
                }
            }
        }
        let remaining =
            |windows: &HashMap<(String, usize), Window>, i: usize, p: &ComputePolicy| {
                let used = windows.get(&(sub.clone(), i)).map_or(0, |w| w.counted);
                p.limit.saturating_sub(used)
            };
        if let Some((i, left)) = worst {
            for (j, _) in config.policies.iter().enumerate() {
                if let Some(w) = windows.get_mut(&(sub.clone(), j)) {
                    w.measured = w.measured.saturating_add(1);
                }
            }
            let p = &config.policies[i];
            let w = &windows[&(sub.clone(), i)];
            let header = header(&config, |j, q| remaining(&windows, j, q));
            let rejection = ComputeRejection {
                policy: p.clone(),
                retry_after_secs: left.as_secs_f64().ceil().max(1.0) as u64,
                start: w.started_wall,
                end: w.started_wall + p.window,
                measured: w.measured,
            };
            *self
                .rejected
                .lock()
                .unwrap()
                .entry(p.name.clone())
                .or_default() += 1;
            return Some(ComputeCharge {
                remaining_header: header,
                rejected: Some(rejection),
            });
        }
        for (i, _) in config.policies.iter().enumerate() {
            let w = windows.entry((sub.clone(), i)).or_insert(Window {
                started: now,
                started_wall: wall,
                counted: 0,
                measured: 0,
            });
            w.counted += 1;
            w.measured = w.measured.saturating_add(1);
        }
        Some(ComputeCharge {
            remaining_header: header(&config, |j, q| remaining(&windows, j, q)),
            rejected: None,
        })
    }
}

fn header(config: &ComputeThrottle, remaining: impl Fn(usize, &ComputePolicy) -> u32) -> String {
    config
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{};{}", p.name, remaining(i, p)))
        .collect::<Vec<_>>()
        .join(",")
}

/// The time form of the throttling detail, e.g. `2018-06-29T19:54:21.0914017+00:00`.
pub fn detail_time(t: SystemTime) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]+00:00"
    );
    time::OffsetDateTime::from(t)
        .format(&fmt)
        .unwrap_or_default()
}

impl ComputeRejection {
    /// The `message` of the `TooManyRequests` detail: a JSON text.
    pub fn detail_message(&self) -> String {
        serde_json::json!({
            "operationGroup": self.policy.operation_group(),
            "startTime": detail_time(self.start),
            "endTime": detail_time(self.end),
            "allowedRequestCount": self.policy.limit,
            "measuredRequestCount": self.measured,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(limit: u32, window_ms: u64) -> ComputeLimiter {
        ComputeLimiter::new(Some(ComputeThrottle {
            policies: vec![
                ComputePolicy::new(
                    "Microsoft.Compute/HighCostGet1Sec",
                    limit,
                    Duration::from_millis(window_ms),
                ),
                ComputePolicy::new(
                    "Microsoft.Compute/HighCostGet1Hour",
                    100,
                    Duration::from_secs(3600),
                ),
            ],
        }))
    }

    #[test]
    fn calls_count_down_every_policy_then_the_used_up_one_rejects() {
        let l = limiter(2, 60_000);
        let c = l.charge("S").unwrap();
        assert_eq!(
            c.remaining_header,
            "Microsoft.Compute/HighCostGet1Sec;1,Microsoft.Compute/HighCostGet1Hour;99"
        );
        assert!(c.rejected.is_none());
        l.charge("s").unwrap();
        let c = l.charge("s").unwrap();
        let r = c.rejected.expect("the third call is rejected");
        assert_eq!(r.policy.operation_group(), "HighCostGet1Sec");
        assert!((59..=60).contains(&r.retry_after_secs), "{r:?}");
        assert_eq!(r.measured, 3);
        assert_eq!(
            c.remaining_header,
            "Microsoft.Compute/HighCostGet1Sec;0,Microsoft.Compute/HighCostGet1Hour;98",
            "a rejected call does not count"
        );
        let detail: serde_json::Value = serde_json::from_str(&r.detail_message()).unwrap();
        assert_eq!(detail["allowedRequestCount"], 2);
        assert_eq!(detail["measuredRequestCount"], 3);
        assert!(detail["startTime"].as_str().unwrap().ends_with("+00:00"));
        // Another subscription has its own windows.
        assert!(l.charge("t").unwrap().rejected.is_none());
        assert_eq!(l.rejected_counts()["Microsoft.Compute/HighCostGet1Sec"], 1);
    }

    #[test]
    fn a_new_window_starts_at_the_first_call_after_the_last_one_ended() {
        let l = limiter(1, 200);
        assert!(l.charge("s").unwrap().rejected.is_none());
        assert!(l.charge("s").unwrap().rejected.is_some());
        std::thread::sleep(Duration::from_millis(250));
        let c = l.charge("s").unwrap();
        assert!(c.rejected.is_none());
        assert!(c
            .remaining_header
            .starts_with("Microsoft.Compute/HighCostGet1Sec;0,"));
    }

    #[test]
    fn policies_parse_and_validate() {
        let p = ComputeThrottle::parse_policy("Microsoft.Compute/HighCostGet3Sec:300:3").unwrap();
        assert_eq!(p.limit, 300);
        assert_eq!(p.window, Duration::from_secs(3));
        assert!(ComputeThrottle::parse_policy("x:y").is_err());
        ComputeThrottle::default().validate().unwrap();
        let bad = ComputeThrottle {
            policies: vec![ComputePolicy::new("a;b", 1, Duration::from_secs(1))],
        };
        assert!(bad.validate().is_err());
        assert!(ComputeLimiter::new(None).charge("s").is_none());
        assert_eq!(
            "full".parse::<StatusOnlyShape>().unwrap(),
            StatusOnlyShape::Full
        );
    }
}
