//! Sharded scans: `--shard K/N` keeps the selected subscriptions whose id hashes to shard `K`
//! of `N`, so that `N` jobs together read the estate once and `scready merge` combines them.
//!
//! The hash is stable across versions and platforms: the first 8 bytes of the SHA-256 digest
//! of the lower-case subscription id (its UTF-8 bytes, no newline), read as a big-endian
//! unsigned 64-bit integer, modulo `N`. `K` is 0-based (`0 ≤ K < N`), like a Kubernetes
//! Indexed Job's `JOB_COMPLETION_INDEX`, so `--shard $(JOB_COMPLETION_INDEX)/N` works as is.

use crate::inventory::{CoverageGap, SubscriptionInfo};
use serde::{Deserialize, Serialize};

/// The most shards a scan can be split into.
pub const MAX_SHARDS: u32 = 10_000;

/// One shard of a sharded scan: `index` of `count`, 0-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard (0-based, below `count`).
    pub index: u32,
    /// How many shards the scan is split into.
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// Parses `K/N` (0 ≤ K < N ≤ [`MAX_SHARDS`]).
    fn from_str(text: &str) -> Result<Shard, String> {
        let t = text.trim();
        let (k, n) = t.split_once('/').ok_or_else(|| {
            format!("'{text}' is not a shard: write K/N, e.g. 0/4 (K counts from 0)")
        })?;
        let number = |s: &str, what: &str| -> Result<u32, String> {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "'{text}': {what} '{s}' is not a whole number (write K/N, e.g. 0/4)"
                ));
            }
            s.parse::<u32>()
                .map_err(|_| format!("'{text}': {what} '{s}' is too large"))
        };
        let index = number(k, "the shard index K")?;
        let count = number(n, "the shard count N")?;
        if count == 0 || count > MAX_SHARDS {
            return Err(format!(
                "'{text}': the shard count N must be from 1 to {MAX_SHARDS}"
            ));
        }
        if index >= count {
            return Err(format!(
                "'{text}': the shard index K counts from 0 and must be below N (0 to {}); \
                 a Kubernetes Indexed Job's JOB_COMPLETION_INDEX already counts from 0",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

/// The shard (0-based, below `count`) a subscription id belongs to; see the module docs for
/// the hash. `count` 0 is treated as 1.
pub fn shard_of(subscription_id: &str, count: u32) -> u32 {
    let lower = subscription_id.trim().to_ascii_lowercase();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, lower.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    (u64::from_be_bytes(first) % u64::from(count.max(1))) as u32
}

impl Shard {
    /// True when the subscription belongs to this shard.
    pub fn contains(&self, subscription_id: &str) -> bool {
        shard_of(subscription_id, self.count) == self.index
    }
}

/// Keeps the selected subscriptions of `shard` (all of them without one), and drops the
/// coverage gaps of the subscriptions it removed (another shard reads and reports those).
/// Gaps that belong to no subscription (the subscription listing itself) are kept. The last
/// step of subscription selection.
pub fn retain(
    shard: Option<Shard>,
    subscriptions: &mut Vec<SubscriptionInfo>,
    gaps: &mut Vec<CoverageGap>,
) {
    let Some(shard) = shard else {
        return;
    };
    subscriptions.retain(|s| shard.contains(&s.id));
    gaps.retain(|g| {
        g.subscription_id
            .as_deref()
            .is_none_or(|s| shard.contains(s))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The assignment is part of the file format of sharded runs: jobs of different versions
    /// must split an estate the same way. These values must never change.
    #[test]
    fn the_hash_of_known_ids_is_pinned() {
        // Computed independently: `python3 -c "import hashlib; print(int.from_bytes(
        // hashlib.sha256(b'<id>').digest()[:8], 'big') % N)"`.
        let pinned: &[(&str, u32, u32)] = &[
            ("00000000-0000-0000-0000-000000000000", 4, 0),
            ("22222222-0000-4000-8000-000000000001", 4, 3),
            ("22222222-0000-4000-8000-000000000002", 4, 2),
            ("22222222-0000-4000-8000-000000000003", 4, 1),
            ("22222222-0000-4000-8000-000000000001", 7, 4),
        ];
        for (id, n, want) in pinned {
            assert_eq!(shard_of(id, *n), *want, "{id} of {n}");
            assert_eq!(
                shard_of(&id.to_ascii_uppercase(), *n),
                *want,
                "the hash is of the lower-case id"
            );
        }
        // The hash itself: SHA-256 of the all-zero GUID, first 8 bytes big-endian.
        let zero = "00000000-0000-0000-0000-000000000000";
        assert_eq!(
            shard_of(zero, u32::MAX),
            (1_349_170_572_285_598_868u64 % u64::from(u32::MAX)) as u32
        );
    }

    #[test]
    fn one_shard_holds_everything_and_shards_partition_the_ids() {
        let ids: Vec<String> = (0..200)
            .map(|n| format!("22222222-0000-4000-8000-{n:012}"))
            .collect();
        assert!(ids.iter().all(|id| shard_of(id, 1) == 0));
        let mut per_shard = [0usize; 4];
        for id in &ids {
            let owners: Vec<u32> = (0..4)
                .filter(|k| {
                    Shard {
                        index: *k,
                        count: 4,
                    }
                    .contains(id)
                })
                .collect();
            assert_eq!(owners.len(), 1, "{id} belongs to exactly one shard");
            per_shard[owners[0] as usize] += 1;
        }
        assert!(per_shard.iter().all(|n| *n > 20), "{per_shard:?}");
    }

    #[test]
    fn shard_text_is_zero_based_k_of_n() {
        assert_eq!("0/4".parse::<Shard>(), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(" 3/4 ".parse::<Shard>(), Ok(Shard { index: 3, count: 4 }));
        assert_eq!("0/1".parse::<Shard>(), Ok(Shard { index: 0, count: 1 }));
        assert_eq!(Shard { index: 2, count: 4 }.to_string(), "2/4");
        for (bad, says) in [
            ("4/4", "counts from 0"),
            ("1/0", "from 1 to"),
            ("2", "write K/N"),
            ("-1/4", "not a whole number"),
            ("a/4", "not a whole number"),
            ("1/", "not a whole number"),
            ("0/99999999999", "too large"),
            ("0/10001", "from 1 to"),
        ] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn retain_keeps_the_shard_and_its_gaps() {
        let ids: Vec<String> = (0..40)
            .map(|n| format!("33333333-0000-4000-8000-{n:012}"))
            .collect();
        let shard = Shard { index: 1, count: 3 };
        let mut subs: Vec<SubscriptionInfo> = ids
            .iter()
            .map(|id| SubscriptionInfo {
                id: id.clone(),
                ..Default::default()
            })
            .collect();
        let mut gaps: Vec<CoverageGap> = ids
            .iter()
            .map(|id| CoverageGap {
                subscription_id: Some(id.clone()),
                what: "storage accounts".into(),
                ..Default::default()
            })
            .chain([CoverageGap {
                what: "subscriptions".into(),
                ..Default::default()
            }])
            .collect();
        retain(Some(shard), &mut subs, &mut gaps);
        assert!(!subs.is_empty() && subs.len() < ids.len());
        assert!(subs.iter().all(|s| shard_of(&s.id, 3) == 1));
        assert_eq!(gaps.len(), subs.len() + 1);
        assert!(gaps.iter().any(|g| g.subscription_id.is_none()));
        let mut all = subs.clone();
        retain(None, &mut all, &mut gaps);
        assert_eq!(all, subs);
    }
}
