//! Resource-provider throttles: Compute's own call-rate policies, apart from ARM's read limits.
//!
//! Microsoft.Compute limits calls per subscription (and region) with named policies over a
//! time window, and reports what is left of each on every response:
//! `x-ms-ratelimit-remaining-resource: Microsoft.Compute/HighCostGet3Min;159,Microsoft.Compute/HighCostGet30Min;799`.
//! A call over a policy's limit is answered `429` with ARM error `OperationNotAllowed` and a
//! `Retry-After` ("Troubleshooting API throttling errors", Azure Virtual Machines docs).
//!
//! The limiter keeps, per subscription, the remaining count of every policy it has seen and
//! lets a Compute request go only while `remaining − in flight` stays above a small reserve:
//! it slows down before a policy reaches zero instead of learning from 429s. A policy's window
//! is read from its name (`…3Min`, `…30Min`; also `Sec` and `Hour`), otherwise taken as 60 s;
//! the window is taken to start when the request that first showed the fresh count was sent,
//! which is never earlier than the real start, so the wait it implies is never too short.
//! After a 429 the subscription's Compute requests wait out its `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The response header with the remaining calls of each Compute policy.
pub const REMAINING_RESOURCE_HEADER: &str = "x-ms-ratelimit-remaining-resource";

/// Window assumed for a policy whose name carries none.
const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// How often a waiting request looks again while the count is being refreshed.
const POLL: Duration = Duration::from_millis(20);

#[derive(Debug)]
struct PolicyState {
    remaining: u32,
    window: Duration,
    window_start: Instant,
    /// When the request that reported `remaining` was sent.
    reported_by: Instant,
    /// The most ever reported left (about the policy's limit).
    peak: u32,
    /// The estimated window has ended: the count is unknown until a response tells it.
    stale: bool,
}

#[derive(Debug, Default)]
struct SubscriptionState {
    policies: HashMap<String, PolicyState>,
    in_flight: u32,
    blocked_until: Option<Instant>,
}

/// Compute-policy limits per subscription.
#[derive(Debug)]
pub struct ProviderLimiter {
    reserve: u32,
    subscriptions: Mutex<HashMap<String, SubscriptionState>>,
    waited: Mutex<Duration>,
}

/// A Compute request in flight; dropping it frees its place.
#[derive(Debug)]
pub struct InFlight<'a> {
    limiter: &'a ProviderLimiter,
    key: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(s) = self
            .limiter
            .subscriptions
            .lock()
            .unwrap()
            .get_mut(&self.key)
        {
            s.in_flight = s.in_flight.saturating_sub(1);
        }
    }
}

/// The window a policy's name gives (`HighCostGet3Min` → 3 minutes), if any.
pub fn window_of(policy: &str) -> Option<Duration> {
    let name = policy.rsplit('/').next().unwrap_or(policy);
    for (unit, secs) in [("Hour", 3600u64), ("Min", 60), ("Sec", 1)] {
        if let Some(rest) = name.strip_suffix(unit) {
            let digits: String = rest
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if let Ok(n) = digits.parse::<u64>() {
                return Some(Duration::from_secs(n.saturating_mul(secs)));
            }
        }
    }
    None
}

/// Parses `name;remaining,name;remaining`; malformed parts are skipped.
pub fn parse_remaining(header: &str) -> Vec<(&str, u32)> {
    header
        .split(',')
        .filter_map(|part| {
            let (name, n) = part.trim().rsplit_once(';')?;
            Some((name.trim(), n.trim().parse().ok()?))
        })
        .filter(|(name, _)| !name.is_empty())
        .collect()
}

impl ProviderLimiter {
    /// A limiter that keeps `reserve` calls of every policy unused.
    pub fn new(reserve: u32) -> ProviderLimiter {
        ProviderLimiter {
            reserve,
            subscriptions: Mutex::new(HashMap::new()),
            waited: Mutex::new(Duration::ZERO),
        }
    }

    /// Waits until a Compute request of subscription `key` may be sent.
    pub async fn acquire(&self, key: &str) -> InFlight<'_> {
        loop {
            let wait = {
                let mut subs = self.subscriptions.lock().unwrap();
                let s = subs.entry(key.to_string()).or_default();
                let now = Instant::now();
                let mut until: Option<Instant> = s.blocked_until.filter(|b| *b > now);
                if until.is_none() {
                    s.blocked_until = None;
                    for p in s.policies.values_mut() {
                        let reset_at = p.window_start + p.window;
                        if !p.stale && now >= reset_at {
                            p.stale = true;
                        }
                        let free = if p.stale {
                            // A few requests find out the fresh count.
                            i64::from(self.reserve.max(1)) - i64::from(s.in_flight)
                        } else {
                            i64::from(p.remaining)
                                - i64::from(s.in_flight)
                                - i64::from(self.reserve)
                        };
                        if free <= 0 {
                            let at = if p.stale { now + POLL } else { reset_at };
                            until = Some(until.map_or(at, |u| u.max(at)));
                        }
                    }
                }
                match until {
                    None => {
                        s.in_flight += 1;
                        return InFlight {
                            limiter: self,
                            key: key.to_string(),
                        };
                    }
                    Some(u) => u
                        .saturating_duration_since(now)
                        .max(Duration::from_millis(1)),
                }
            };
            *self.waited.lock().unwrap() += wait;
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes in the remaining counts a response reported for a request sent at `sent_at`.
    pub fn observe(&self, key: &str, header: &str, sent_at: Instant) {
        let mut subs = self.subscriptions.lock().unwrap();
        let s = subs.entry(key.to_string()).or_default();
        let in_flight = s.in_flight;
        for (name, remaining) in parse_remaining(header) {
            match s.policies.get_mut(name) {
                None => {
                    s.policies.insert(
                        name.to_string(),
                        PolicyState {
                            remaining,
                            window: window_of(name).unwrap_or(DEFAULT_WINDOW),
                            window_start: sent_at,
                            reported_by: sent_at,
                            peak: remaining,
                            stale: false,
                        },
                    );
                }
                Some(p) => {
                    // Close to the most ever left, more than the requests in flight can
                    // explain, reported by a request sent after the one behind the current
                    // count: a new window. (Concurrent requests reach Compute in another order
                    // than they were sent, so a somewhat larger count mid-window is no sign.)
                    p.peak = p.peak.max(remaining);
                    let fresh = sent_at > p.reported_by
                        && remaining > p.remaining.saturating_add(in_flight)
                        && remaining >= p.peak - p.peak / 4;
                    // Once the window is thought over, the first answer to a request sent
                    // after that tells the new count; a late answer from before does not.
                    let first_after_reset = p.stale && sent_at >= p.window_start + p.window;
                    if first_after_reset || fresh {
                        p.remaining = remaining;
                        p.window_start = sent_at;
                        p.reported_by = sent_at;
                        p.stale = false;
                    } else if remaining < p.remaining {
                        // Answers arrive out of order: the smallest count is the latest.
                        p.remaining = remaining;
                        p.reported_by = p.reported_by.max(sent_at);
                    }
                }
            }
        }
    }

    /// A 429 from Compute: the subscription's Compute requests wait `retry_after`.
    pub fn observe_throttled(&self, key: &str, retry_after: Duration) {
        let mut subs = self.subscriptions.lock().unwrap();
        let s = subs.entry(key.to_string()).or_default();
        let until = Instant::now() + retry_after;
        s.blocked_until = Some(s.blocked_until.map_or(until, |b| b.max(until)));
    }

    /// Total time requests spent waiting for a Compute policy.
    pub fn waited(&self) -> Duration {
        *self.waited.lock().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_come_from_policy_names() {
        let m = |n: u64| Some(Duration::from_secs(n));
        assert_eq!(window_of("Microsoft.Compute/HighCostGet3Min"), m(180));
        assert_eq!(window_of("Microsoft.Compute/HighCostGet30Min"), m(1800));
        assert_eq!(window_of("Microsoft.Compute/GetVMScaleSet3Sec"), m(3));
        assert_eq!(window_of("Microsoft.Compute/Daily1Hour"), m(3600));
        assert_eq!(window_of("Microsoft.Compute/Odd"), None);
        assert_eq!(window_of("Min"), None);
    }

    #[test]
    fn the_header_lists_several_policies() {
        assert_eq!(
            parse_remaining(
                "Microsoft.Compute/HighCostGet3Min;159,Microsoft.Compute/HighCostGet30Min;799"
            ),
            vec![
                ("Microsoft.Compute/HighCostGet3Min", 159),
                ("Microsoft.Compute/HighCostGet30Min", 799)
            ]
        );
        assert_eq!(parse_remaining("junk, ;5,a;x,b;7"), vec![("b", 7)]);
    }

    #[tokio::test]
    async fn requests_stop_at_the_reserve_until_the_window_ends() {
        let l = ProviderLimiter::new(2);
        let t0 = Instant::now();
        l.observe("s", "Microsoft.Compute/Get1Sec;3", t0);
        // 3 left, 2 kept in reserve: one request may go.
        let first = l.acquire("s").await;
        assert!(t0.elapsed() < Duration::from_millis(100));
        drop(first);
        l.observe("s", "Microsoft.Compute/Get1Sec;2", t0);
        let t1 = Instant::now();
        let _second = l.acquire("s").await;
        assert!(
            t1.elapsed() >= Duration::from_millis(800),
            "waited for the window: {:?}",
            t1.elapsed()
        );
    }

    #[tokio::test]
    async fn a_429_holds_the_subscription_for_its_retry_after() {
        let l = ProviderLimiter::new(0);
        l.observe_throttled("s", Duration::from_millis(300));
        let t0 = Instant::now();
        let _a = l.acquire("s").await;
        assert!(t0.elapsed() >= Duration::from_millis(280));
        let t1 = Instant::now();
        let _b = l.acquire("other").await;
        assert!(t1.elapsed() < Duration::from_millis(100));
    }
}
