//! ARM-style read throttling: a token bucket per (subscription, principal) and one per principal
//! for tenant-level reads.
//!
//! The bucket starts full (`burst` tokens) and gains `refill_per_sec` tokens at each whole second
//! after it was created, capped at `burst`. A request takes one token; with none left it gets 429
//! and a `Retry-After` of the seconds until the next refill.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Throttle settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Off: every request is served.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Bucket size per (subscription, principal).
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// Tokens added per second per (subscription, principal).
    #[serde(default = "default_refill")]
    pub refill_per_sec: u32,
    /// Bucket size for tenant-level reads per principal.
    #[serde(default = "default_burst")]
    pub tenant_burst: u32,
    /// Refill for tenant-level reads.
    #[serde(default = "default_refill")]
    pub tenant_refill_per_sec: u32,
}

fn yes() -> bool {
    true
}
fn default_burst() -> u32 {
    250
}
fn default_refill() -> u32 {
    25
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            enabled: true,
            burst: 250,
            refill_per_sec: 25,
            tenant_burst: 250,
            tenant_refill_per_sec: 25,
        }
    }
}

/// Which bucket a request draws from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BucketKey {
    /// Subscription-scoped reads: (subscription, principal), lower case.
    Subscription(String, String),
    /// Tenant-level reads by a principal.
    Tenant(String),
}

#[derive(Debug)]
struct Bucket {
    tokens: u32,
    created: Instant,
    refills_applied: u64,
}

/// The outcome of taking a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Served; this many tokens remain.
    Allowed {
        /// Tokens left after this request.
        remaining: u32,
    },
    /// Throttled; retry after this many seconds.
    Throttled {
        /// Seconds until the next refill (at least 1).
        retry_after_secs: u64,
    },
}

/// All buckets of a simulator.
#[derive(Debug)]
pub struct Throttle {
    config: Mutex<ThrottleConfig>,
    buckets: Mutex<HashMap<BucketKey, Bucket>>,
}

impl Throttle {
    /// A throttle with these settings.
    pub fn new(config: ThrottleConfig) -> Throttle {
        Throttle {
            config: Mutex::new(config),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the settings and empties every bucket's history.
    pub fn reconfigure(&self, config: ThrottleConfig) {
        *self.config.lock().unwrap() = config;
        self.buckets.lock().unwrap().clear();
    }

    /// The current settings.
    pub fn config(&self) -> ThrottleConfig {
        self.config.lock().unwrap().clone()
    }

    /// Takes one token from the bucket for `key`.
    pub fn admit(&self, key: BucketKey) -> Admission {
        let config = self.config();
        let (burst, refill) = match key {
            BucketKey::Subscription(..) => (config.burst, config.refill_per_sec),
            BucketKey::Tenant(_) => (config.tenant_burst, config.tenant_refill_per_sec),
        };
        if !config.enabled {
            return Admission::Allowed { remaining: burst };
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap();
        let bucket = buckets.entry(key).or_insert_with(|| Bucket {
            tokens: burst,
            created: now,
            refills_applied: 0,
        });
        let elapsed = now.duration_since(bucket.created);
        let ticks = elapsed.as_secs();
        if ticks > bucket.refills_applied {
            let add = (ticks - bucket.refills_applied).saturating_mul(refill as u64);
            bucket.tokens = (bucket.tokens as u64 + add).min(burst as u64) as u32;
            bucket.refills_applied = ticks;
        }
        if bucket.tokens > 0 {
            bucket.tokens -= 1;
            Admission::Allowed {
                remaining: bucket.tokens,
            }
        } else {
            let next_tick = bucket.created + Duration::from_secs(ticks + 1);
            let wait = next_tick.saturating_duration_since(now);
            Admission::Throttled {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_plus_one_request_is_throttled() {
        let t = Throttle::new(ThrottleConfig {
            burst: 3,
            ..Default::default()
        });
        let key = || BucketKey::Subscription("s".into(), "p".into());
        assert_eq!(t.admit(key()), Admission::Allowed { remaining: 2 });
        assert_eq!(t.admit(key()), Admission::Allowed { remaining: 1 });
        assert_eq!(t.admit(key()), Admission::Allowed { remaining: 0 });
        assert!(matches!(
            t.admit(key()),
            Admission::Throttled {
                retry_after_secs: 1
            }
        ));
        // Another principal has its own bucket.
        assert_eq!(
            t.admit(BucketKey::Subscription("s".into(), "q".into())),
            Admission::Allowed { remaining: 2 }
        );
    }

    #[test]
    fn disabled_throttle_admits_everything() {
        let t = Throttle::new(ThrottleConfig {
            enabled: false,
            burst: 1,
            ..Default::default()
        });
        for _ in 0..10 {
            assert!(matches!(
                t.admit(BucketKey::Tenant("p".into())),
                Admission::Allowed { .. }
            ));
        }
    }
}
