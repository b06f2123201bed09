//! ARM-style read throttling: a token bucket per (subscription, principal), one per subscription
//! shared by all principals (the global bucket), and one per principal for tenant-level reads.
//!
//! A bucket starts full (`burst` tokens) and gains `refill_per_sec` tokens at each whole second
//! after it was created, capped at `burst`. A request takes one token; with none left it gets 429
//! and a `Retry-After` of the seconds until the next refill.
//!
//! Source: Microsoft Learn, "Understand how Azure Resource Manager throttles requests"
//! (azure-resource-manager/management/request-limits-and-throttling, ms.date 05/28/2025):
//! subscription reads 250 tokens refilled at 25 per second per subscription and principal, and
//! "global subscription limits that are equivalent to 15 times the individual service principal
//! limits … The global limits apply across all service principals". Real responses carry both
//! counters, e.g. `x-ms-ratelimit-remaining-subscription-reads: 249` with
//! `x-ms-ratelimit-remaining-subscription-global-reads: 3749` (Azure/azure-powershell#26256).

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
    /// The global bucket of a subscription (all principals together) holds this many times
    /// `burst` and refills this many times `refill_per_sec`; 0 turns it off.
    #[serde(default = "default_global_multiplier")]
    pub global_multiplier: u32,
}

fn default_global_multiplier() -> u32 {
    15
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
            global_multiplier: 15,
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
    /// Subscription-scoped reads by every principal together: subscription, lower case.
    SubscriptionGlobal(String),
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

/// The outcome of a subscription-scoped read, which draws from the principal's bucket and the
/// subscription's global bucket at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriptionAdmission {
    /// Served; these many tokens remain in each bucket.
    Allowed {
        /// Tokens left in the (subscription, principal) bucket.
        remaining: u32,
        /// Tokens left in the subscription's global bucket (`None` when it is off).
        global_remaining: Option<u32>,
    },
    /// Throttled by one of the buckets; neither bucket was charged.
    Throttled {
        /// Seconds until the emptied bucket refills (at least 1).
        retry_after_secs: u64,
        /// True when the global bucket is the empty one.
        global: bool,
        /// Tokens left in the (subscription, principal) bucket.
        remaining: u32,
        /// Tokens left in the subscription's global bucket (`None` when it is off).
        global_remaining: Option<u32>,
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

    fn limits(config: &ThrottleConfig, key: &BucketKey) -> (u32, u32) {
        match key {
            BucketKey::Subscription(..) => (config.burst, config.refill_per_sec),
            BucketKey::Tenant(_) => (config.tenant_burst, config.tenant_refill_per_sec),
            BucketKey::SubscriptionGlobal(_) => (
                config.burst.saturating_mul(config.global_multiplier),
                config
                    .refill_per_sec
                    .saturating_mul(config.global_multiplier),
            ),
        }
    }

    /// Refills the bucket for `key` up to now and returns its tokens and the wait until its
    /// next refill.
    fn refilled(
        buckets: &mut HashMap<BucketKey, Bucket>,
        key: BucketKey,
        (burst, refill): (u32, u32),
        now: Instant,
    ) -> (&mut Bucket, u64) {
        let bucket = buckets.entry(key).or_insert_with(|| Bucket {
            tokens: burst,
            created: now,
            refills_applied: 0,
        });
        let ticks = now.duration_since(bucket.created).as_secs();
        if ticks > bucket.refills_applied {
            let add = (ticks - bucket.refills_applied).saturating_mul(refill as u64);
            bucket.tokens = (bucket.tokens as u64 + add).min(burst as u64) as u32;
            bucket.refills_applied = ticks;
        }
        let next_tick = bucket.created + Duration::from_secs(ticks + 1);
        let wait = next_tick.saturating_duration_since(now);
        (bucket, wait.as_secs_f64().ceil().max(1.0) as u64)
    }

    /// Takes one token from the bucket for `key`.
    pub fn admit(&self, key: BucketKey) -> Admission {
        let config = self.config();
        let limits = Throttle::limits(&config, &key);
        if !config.enabled {
            return Admission::Allowed {
                remaining: limits.0,
            };
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap();
        let (bucket, retry_after_secs) = Throttle::refilled(&mut buckets, key, limits, now);
        if bucket.tokens > 0 {
            bucket.tokens -= 1;
            Admission::Allowed {
                remaining: bucket.tokens,
            }
        } else {
            Admission::Throttled { retry_after_secs }
        }
    }

    /// Takes one token from the (subscription, principal) bucket and one from the subscription's
    /// global bucket, or from neither when either is empty.
    pub fn admit_subscription(&self, subscription: &str, principal: &str) -> SubscriptionAdmission {
        let config = self.config();
        let own_key = BucketKey::Subscription(subscription.to_string(), principal.to_string());
        let global_key = BucketKey::SubscriptionGlobal(subscription.to_string());
        let own_limits = Throttle::limits(&config, &own_key);
        let global_limits = Throttle::limits(&config, &global_key);
        let global_on = config.global_multiplier > 0;
        if !config.enabled {
            return SubscriptionAdmission::Allowed {
                remaining: own_limits.0,
                global_remaining: global_on.then_some(global_limits.0),
            };
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap();
        let (global_tokens, global_wait) = if global_on {
            let (b, wait) =
                Throttle::refilled(&mut buckets, global_key.clone(), global_limits, now);
            (Some(b.tokens), wait)
        } else {
            (None, 1)
        };
        let (own, own_wait) = Throttle::refilled(&mut buckets, own_key, own_limits, now);
        if own.tokens == 0 || global_tokens == Some(0) {
            let global = global_tokens == Some(0);
            return SubscriptionAdmission::Throttled {
                retry_after_secs: if global { global_wait } else { own_wait },
                global,
                remaining: own.tokens,
                global_remaining: global_tokens,
            };
        }
        own.tokens -= 1;
        let remaining = own.tokens;
        let global_remaining = if global_on {
            let g = buckets.get_mut(&global_key).expect("refilled above");
            g.tokens -= 1;
            Some(g.tokens)
        } else {
            None
        };
        SubscriptionAdmission::Allowed {
            remaining,
            global_remaining,
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
    fn the_global_bucket_is_shared_by_every_principal_of_a_subscription() {
        let t = Throttle::new(ThrottleConfig {
            burst: 2,
            global_multiplier: 2,
            ..Default::default()
        });
        let admit = |p: &str| t.admit_subscription("s", p);
        assert_eq!(
            admit("p"),
            SubscriptionAdmission::Allowed {
                remaining: 1,
                global_remaining: Some(3)
            }
        );
        assert_eq!(
            admit("q"),
            SubscriptionAdmission::Allowed {
                remaining: 1,
                global_remaining: Some(2)
            }
        );
        assert!(matches!(admit("r"), SubscriptionAdmission::Allowed { .. }));
        assert!(matches!(admit("s"), SubscriptionAdmission::Allowed { .. }));
        // Four tokens taken by four principals: the global bucket is empty, the fifth
        // principal's own bucket is full, and nothing is charged.
        assert_eq!(
            admit("t"),
            SubscriptionAdmission::Throttled {
                retry_after_secs: 1,
                global: true,
                remaining: 2,
                global_remaining: Some(0)
            }
        );
        // Another subscription has its own global bucket.
        assert!(matches!(
            t.admit_subscription("other", "t"),
            SubscriptionAdmission::Allowed { .. }
        ));
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
