//! Look-up tables the checks share, built once per evaluation.

use super::Outcome;
use crate::inventory::{
    CoverageGap, GapScope, Instance, Inventory, LockInfo, StorageInfo, SubscriptionInfo,
};
use crate::policy::Policy;
use crate::rbac::PermissionBlock;
use foldhash::{HashMap, HashSet};

/// Indexes over an inventory, plus the policy.
pub struct Context<'a> {
    /// The inventory.
    pub inventory: &'a Inventory,
    /// The policy.
    pub policy: &'a Policy,
    /// Subscriptions by id.
    pub subscriptions: HashMap<&'a str, &'a SubscriptionInfo>,
    /// Storage accounts by blob host.
    pub storage_by_host: HashMap<&'a str, &'a StorageInfo>,
    /// Locks by scope (lower case).
    pub locks_by_scope: HashMap<&'a str, Vec<&'a LockInfo>>,
    /// Gaps by (subscription, what).
    pub gaps: HashMap<(&'a str, &'a str), &'a CoverageGap>,
    /// Storage listings that failed, in any subscription.
    pub storage_gaps: Vec<&'a CoverageGap>,
    /// Subscriptions (lower case) that hold any lock.
    pub locked_subscriptions: HashSet<&'a str>,
    /// The scanning identity's permissions by scope (lower case).
    pub caller_permissions: HashMap<&'a str, &'a [PermissionBlock]>,
}

impl<'a> Context<'a> {
    /// Builds the indexes.
    pub fn new(inventory: &'a Inventory, policy: &'a Policy) -> Context<'a> {
        let mut locks_by_scope: HashMap<&str, Vec<&LockInfo>> = HashMap::default();
        for l in &inventory.locks {
            locks_by_scope.entry(l.scope.as_str()).or_default().push(l);
        }
        let gaps = inventory
            .gaps
            .iter()
            .filter_map(|g| Some(((g.subscription_id.as_deref()?, g.what.as_str()), g)))
            .collect();
        let locked_subscriptions = inventory
            .locks
            .iter()
            .filter_map(|l| l.scope.strip_prefix("/subscriptions/"))
            .map(|rest| rest.split('/').next().unwrap_or(rest))
            .collect();
        Context {
            locked_subscriptions,
            caller_permissions: inventory
                .access
                .iter()
                .flat_map(|a| &a.caller_permissions)
                .map(|(scope, blocks)| (scope.as_str(), blocks.as_slice()))
                .collect(),
            inventory,
            policy,
            subscriptions: inventory
                .subscriptions
                .iter()
                .map(|s| (s.id.as_str(), s))
                .collect(),
            storage_by_host: inventory
                .storage_accounts
                .iter()
                .map(|s| (s.blob_host.as_str(), s))
                .collect(),
            locks_by_scope,
            gaps,
            storage_gaps: inventory
                .gaps
                .iter()
                .filter(|g| g.what == GapScope::STORAGE_ACCOUNTS)
                .collect(),
        }
    }

    /// The gap of (subscription, what), if that listing failed.
    pub fn gap(&self, subscription: &str, what: &str) -> Option<&'a CoverageGap> {
        if self.gaps.is_empty() {
            return None;
        }
        self.gaps.get(&(subscription, what)).copied()
    }
}

/// A gap as a reason for an `unknown` outcome.
pub fn gap_reason(g: &CoverageGap) -> String {
    match g.status {
        Some(s) => format!(
            "listing {} of subscription {} failed: HTTP {s} {}: {}",
            g.what,
            g.subscription_id.as_deref().unwrap_or("-"),
            g.code,
            g.message
        ),
        None => format!(
            "listing {} of subscription {} failed: {}: {}",
            g.what,
            g.subscription_id.as_deref().unwrap_or("-"),
            g.code,
            g.message
        ),
    }
}

/// The reason an instance's model was not read, as an `unknown` reason.
pub fn model_reason(i: &Instance) -> Option<String> {
    i.model_not_read
        .as_deref()
        .map(|why| format!("the instance's model was not read: {why}"))
}

/// `unknown` with the reason, when the instance's model was not read: the checks built on
/// model fields start with this, so that empty fields are never read as "not configured".
pub fn model_unknown(i: &Instance) -> Option<Outcome> {
    model_reason(i).map(Outcome::Unknown)
}

/// `unknown` with the reason, when the instance's run-time status was not read.
pub fn status_unknown(i: &Instance) -> Option<Outcome> {
    i.status_not_read.as_deref().map(|why| {
        Outcome::Unknown(format!(
            "the instance's run-time status was not read: {why}"
        ))
    })
}
