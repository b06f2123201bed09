//! Client-side read throttling: a token bucket per subscription (and one for tenant-level
//! reads), kept below ARM's own limits and lowered whenever ARM reports fewer remaining reads
//! than the bucket holds (another client may be spending the same budget).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bucket settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Bucket size.
    pub burst: f64,
    /// Tokens per second.
    pub per_sec: f64,
    /// Reads kept in reserve below what ARM reports remaining.
    pub reserve: f64,
}

impl Default for RateLimit {
    /// Below ARM's 250 burst / 25 per second per subscription and principal.
    fn default() -> Self {
        RateLimit {
            burst: 200.0,
            per_sec: 20.0,
            reserve: 10.0,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Buckets by key (a subscription id, or `tenant`).
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
    waited: Mutex<Duration>,
}

impl RateLimiter {
    /// A limiter with these settings.
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
            waited: Mutex::new(Duration::ZERO),
        }
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.limit.per_sec).min(self.limit.burst);
        b.last = now;
    }

    /// Waits until a read may be sent for `key`, then takes a token.
    pub async fn acquire(&self, key: &str) {
        loop {
            let wait = {
                let mut buckets = self.buckets.lock().unwrap();
                let now = Instant::now();
                let b = buckets.entry(key.to_string()).or_insert(Bucket {
                    tokens: self.limit.burst,
                    last: now,
                });
                self.refill(b, now);
                if b.tokens >= 1.0 {
                    b.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - b.tokens) / self.limit.per_sec.max(0.001))
            };
            *self.waited.lock().unwrap() += wait;
            tokio::time::sleep(wait).await;
        }
    }

    /// Lowers the bucket to what ARM says remains (minus the reserve).
    pub fn observe_remaining(&self, key: &str, remaining: u32) {
        let mut buckets = self.buckets.lock().unwrap();
        if let Some(b) = buckets.get_mut(key) {
            let cap = (remaining as f64 - self.limit.reserve).max(0.0);
            if b.tokens > cap {
                b.tokens = cap;
            }
        }
    }

    /// Empties the bucket after a 429, so that the next reads wait for a refill.
    pub fn observe_throttled(&self, key: &str) {
        if let Some(b) = self.buckets.lock().unwrap().get_mut(key) {
            b.tokens = b.tokens.min(0.0);
        }
    }

    /// Total time requests spent waiting for tokens.
    pub fn waited(&self) -> Duration {
        *self.waited.lock().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn burst_is_immediate_then_reads_are_paced() {
        let rl = RateLimiter::new(RateLimit {
            burst: 3.0,
            per_sec: 20.0,
            reserve: 0.0,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            rl.acquire("s").await;
        }
        assert!(t0.elapsed() < Duration::from_millis(30));
        rl.acquire("s").await;
        assert!(
            t0.elapsed() >= Duration::from_millis(40),
            "the fourth waits ~50ms"
        );
        // Another key has its own bucket.
        let t1 = Instant::now();
        rl.acquire("t").await;
        assert!(t1.elapsed() < Duration::from_millis(30));
    }

    #[tokio::test]
    async fn remaining_header_lowers_the_bucket() {
        let rl = RateLimiter::new(RateLimit {
            burst: 100.0,
            per_sec: 100.0,
            reserve: 10.0,
        });
        rl.acquire("s").await;
        rl.observe_remaining("s", 10);
        let t0 = Instant::now();
        rl.acquire("s").await;
        assert!(
            t0.elapsed() >= Duration::from_millis(5),
            "no tokens were left"
        );
    }
}
