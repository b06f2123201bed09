//! Combining the results of several scans into one (`scready merge`): the shards of a sharded
//! scan (`--shard K/N`), or separate scans such as one per tenant.
//!
//! The inventories are combined and evaluated again with the policy, so that every verdict is
//! the one a single scan of the whole estate would reach (a VM of one shard whose
//! boot-diagnostics account lives in another shard's subscription is judged with that account).
//! Inputs are refused when they cannot be one result: another policy, another cloud, two
//! reports of the same shard, shards of different counts, or a subscription read twice. A
//! shard that is missing makes the result partial, with a coverage gap naming it.

use crate::arm::CallStats;
use crate::discover::shard::Shard;
use crate::inventory::{
    AccessAudit, AccessInventory, CoverageGap, EnvironmentProbe, GapScope, HostExistence,
    Inventory, Membership, INVENTORY_SCHEMA_VERSION,
};
use crate::result::RunInfo;
use std::collections::{BTreeMap, HashMap, HashSet};

/// One result to merge: what its `report.json` says.
#[derive(Clone, Debug, Default)]
pub struct MergeInput {
    /// Where it was read from (named in errors and in `run.merged_from`).
    pub origin: String,
    /// Its run metadata.
    pub run: RunInfo,
    /// Its policy fingerprint (`policy.fingerprint`; empty when it recorded none).
    pub policy_fingerprint: String,
    /// Its ARM call counts.
    pub calls: CallStats,
    /// Its inventory.
    pub inventory: Inventory,
}

/// The combined inputs, ready to be evaluated.
#[derive(Clone, Debug, Default)]
pub struct Merged {
    /// The combined inventory (with a gap per missing shard).
    pub inventory: Inventory,
    /// Run metadata: the earliest start, the latest finish, the inputs' scope.
    pub run: RunInfo,
    /// The inputs' ARM calls, summed.
    pub calls: CallStats,
    /// True when an input was partial.
    pub any_partial: bool,
    /// Shards of the sharded scan that no input holds.
    pub missing_shards: Vec<Shard>,
}

/// The message of a missing shard's coverage gap.
pub fn missing_shard_message(shard: Shard) -> String {
    format!("shard {shard} missing: its subscriptions were not scanned")
}

/// Combines the inputs, evaluated with the policy whose fingerprint is `fingerprint`.
///
/// Errors (one sentence naming the inputs concerned): no input; an input without a policy
/// fingerprint, or with another policy's; inputs of different clouds; two inputs of the same
/// shard; shards of different counts; a subscription in two inputs.
pub fn merge(mut inputs: Vec<MergeInput>, fingerprint: &str) -> Result<Merged, String> {
    if inputs.is_empty() {
        return Err("nothing to merge: name the result directories".into());
    }
    check_policies(&inputs, fingerprint)?;
    let cloud = inputs[0].inventory.cloud.clone();
    if let Some(other) = inputs.iter().find(|i| i.inventory.cloud != cloud) {
        return Err(format!(
            "{} scanned cloud '{}' and {} cloud '{}': only results of one cloud can be merged",
            inputs[0].origin, cloud, other.origin, other.inventory.cloud
        ));
    }
    let missing_shards = check_shards(&inputs)?;
    check_subscriptions(&inputs)?;
    // Shards in shard order, then the other inputs as given.
    inputs.sort_by_key(|i| i.run.shard.map(|s| s.index).unwrap_or(u32::MAX));
    let any_partial = inputs
        .iter()
        .any(|i| i.run.partial || !i.inventory.gaps.is_empty());
    let run = merged_run(&inputs);
    let mut calls = CallStats::default();
    for i in &inputs {
        add_calls(&mut calls, &i.calls);
    }
    let mut inventory = combine(inputs.into_iter().map(|i| i.inventory).collect());
    for shard in &missing_shards {
        inventory.gaps.push(CoverageGap {
            subscription_id: None,
            what: GapScope::SHARD.into(),
            status: None,
            code: "ShardMissing".into(),
            message: missing_shard_message(*shard),
        });
    }
    Ok(Merged {
        inventory,
        run,
        calls,
        any_partial,
        missing_shards,
    })
}

/// Every input recorded the fingerprint of the policy given to the merge.
fn check_policies(inputs: &[MergeInput], fingerprint: &str) -> Result<(), String> {
    if let Some(i) = inputs.iter().find(|i| i.policy_fingerprint.is_empty()) {
        return Err(format!(
            "{} records no policy fingerprint (policy.fingerprint): it was written by a scready \
             that cannot merge results; scan it again with this version",
            i.origin
        ));
    }
    let mut by_fingerprint: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for i in inputs {
        by_fingerprint
            .entry(i.policy_fingerprint.as_str())
            .or_default()
            .push(i.origin.as_str());
    }
    if by_fingerprint.len() > 1 {
        let groups: Vec<String> = by_fingerprint
            .iter()
            .map(|(f, origins)| format!("{} (policy {})", origins.join(", "), short(f)))
            .collect();
        return Err(format!(
            "the results were evaluated with different policies: {}; merge only results of \
             scans run with the same --policy",
            groups.join(" vs ")
        ));
    }
    let (theirs, origins) = by_fingerprint
        .into_iter()
        .next()
        .expect("one input at least");
    if theirs != fingerprint {
        return Err(format!(
            "{} were evaluated with another policy (fingerprint {}) than this merge's \
             (fingerprint {}): give `scready merge` the same --policy the scans used",
            origins.join(", "),
            short(theirs),
            short(fingerprint)
        ));
    }
    Ok(())
}

/// The first 12 hex digits of a fingerprint, for messages.
fn short(fingerprint: &str) -> &str {
    fingerprint.get(..12).unwrap_or(fingerprint)
}

/// Shards agree on their count and are not repeated; returns the missing ones.
fn check_shards(inputs: &[MergeInput]) -> Result<Vec<Shard>, String> {
    let sharded: Vec<(&MergeInput, Shard)> = inputs
        .iter()
        .filter_map(|i| i.run.shard.map(|s| (i, s)))
        .collect();
    let Some((first, first_shard)) = sharded.first() else {
        return Ok(Vec::new());
    };
    if let Some((other, other_shard)) = sharded.iter().find(|(_, s)| s.count != first_shard.count) {
        return Err(format!(
            "{} is shard {first_shard} and {} is shard {other_shard}: shards of scans split \
             into different numbers of shards cannot be merged",
            first.origin, other.origin
        ));
    }
    let scope = |i: &MergeInput| {
        let sorted = |v: &Vec<String>| {
            let mut v = v.clone();
            v.sort();
            v.dedup();
            v
        };
        (
            sorted(&i.run.requested_subscriptions),
            sorted(&i.run.excluded_subscriptions),
            sorted(&i.run.management_groups),
            sorted(&i.run.excluded_management_groups),
        )
    };
    if let Some((other, _)) = sharded.iter().find(|(i, _)| scope(i) != scope(first)) {
        return Err(format!(
            "{} and {} are shards of scans with different --subscription, \
             --exclude-subscription, --subscriptions-file, --management-group or \
             --exclude-management-group options: shards must select the same subscriptions",
            first.origin, other.origin
        ));
    }
    let mut seen: HashMap<u32, &str> = HashMap::new();
    for (input, shard) in &sharded {
        if let Some(before) = seen.insert(shard.index, input.origin.as_str()) {
            return Err(format!(
                "{before} and {} are both shard {shard}: merge one result per shard",
                input.origin
            ));
        }
    }
    Ok((0..first_shard.count)
        .filter(|k| !seen.contains_key(k))
        .map(|index| Shard {
            index,
            count: first_shard.count,
        })
        .collect())
}

/// No subscription is in two inputs.
fn check_subscriptions(inputs: &[MergeInput]) -> Result<(), String> {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for input in inputs {
        for s in &input.inventory.subscriptions {
            let id = s.id.to_ascii_lowercase();
            if let Some(before) = seen.insert(id.clone(), input.origin.as_str()) {
                return Err(if before == input.origin {
                    format!("{before} lists subscription {id} twice")
                } else {
                    format!(
                        "subscription {id} is in both {before} and {}: each subscription must \
                         be scanned by one input only",
                        input.origin
                    )
                });
            }
        }
    }
    Ok(())
}

fn add_calls(total: &mut CallStats, c: &CallStats) {
    total.calls += c.calls;
    total.requests += c.requests;
    total.retries += c.retries;
    total.throttled += c.throttled;
    for (status, n) in &c.by_status {
        *total.by_status.entry(*status).or_default() += n;
    }
    total.transport_errors += c.transport_errors;
    total.token_renewals += c.token_renewals;
    total.rate_limit_wait_ms += c.rate_limit_wait_ms;
    total.compute_limit_wait_ms += c.compute_limit_wait_ms;
    total.retry_after_capped += c.retry_after_capped;
}

/// How far apart the inputs started (zero when fewer than two start times can be read).
pub fn start_spread(inputs: &[MergeInput]) -> time::Duration {
    let starts: Vec<time::OffsetDateTime> = inputs
        .iter()
        .filter_map(|i| parse_time(&i.run.started_at))
        .collect();
    match (starts.iter().min(), starts.iter().max()) {
        (Some(a), Some(b)) => *b - *a,
        _ => time::Duration::ZERO,
    }
}

fn parse_time(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

fn format_time(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Run metadata of the merged result: the earliest start and the latest finish (the wall time
/// between them), the scope of the inputs (the subscriptions they named when all named some,
/// and every exclusion); `partial` and `status` are set after evaluation.
fn merged_run(inputs: &[MergeInput]) -> RunInfo {
    let starts: Vec<time::OffsetDateTime> = inputs
        .iter()
        .filter_map(|i| parse_time(&i.run.started_at))
        .collect();
    let finishes: Vec<time::OffsetDateTime> = inputs
        .iter()
        .filter_map(|i| parse_time(&i.run.finished_at))
        .collect();
    let started = starts.iter().min().copied();
    let finished = finishes.iter().max().copied();
    let duration_ms = match (started, finished) {
        (Some(s), Some(f)) if f >= s => (f - s).whole_milliseconds() as u64,
        _ => inputs.iter().map(|i| i.run.duration_ms).max().unwrap_or(0),
    };
    let all_named = inputs
        .iter()
        .all(|i| !i.run.requested_subscriptions.is_empty());
    RunInfo {
        tool: "scready".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        started_at: started.map(format_time).unwrap_or_default(),
        finished_at: finished.map(format_time).unwrap_or_default(),
        duration_ms,
        cloud: inputs[0].run.cloud.clone(),
        requested_subscriptions: if all_named {
            union(inputs.iter().map(|i| &i.run.requested_subscriptions))
        } else {
            Vec::new()
        },
        excluded_subscriptions: union(inputs.iter().map(|i| &i.run.excluded_subscriptions)),
        management_groups: union(inputs.iter().map(|i| &i.run.management_groups)),
        excluded_management_groups: union(inputs.iter().map(|i| &i.run.excluded_management_groups)),
        partial: false,
        status: String::new(),
        shard: None,
        merged_from: inputs.iter().map(|i| i.origin.clone()).collect(),
    }
}

/// The sorted, deduplicated union of lists.
fn union<'a>(lists: impl Iterator<Item = &'a Vec<String>>) -> Vec<String> {
    let mut v: Vec<String> = lists.flatten().cloned().collect();
    v.sort();
    v.dedup();
    v
}

/// Pushes the items of `from` that `seen` has not had yet.
fn extend_unique<T: Clone + Eq + std::hash::Hash>(
    into: &mut Vec<T>,
    seen: &mut HashSet<T>,
    from: Vec<T>,
) {
    for item in from {
        if seen.insert(item.clone()) {
            into.push(item);
        }
    }
}

/// Combines inventories of disjoint subscriptions (checked by [`merge`]): subscriptions,
/// instances, storage accounts, locks and per-subscription access listings are concatenated;
/// what every scan reads for itself (the subscription listing's gaps, role definitions, group
/// memberships, blob-host look-ups, the reachability probe, audited principals) is united,
/// keeping a definite answer over an undecided one.
pub fn combine(inventories: Vec<Inventory>) -> Inventory {
    let mut out = Inventory {
        schema_version: INVENTORY_SCHEMA_VERSION,
        ..Default::default()
    };
    let scanned_at = inventories
        .iter()
        .filter_map(|i| parse_time(&i.scanned_at).map(|t| (t, &i.scanned_at)))
        .min()
        .map(|(_, s)| s.clone())
        .or_else(|| inventories.first().map(|i| i.scanned_at.clone()))
        .unwrap_or_default();
    out.scanned_at = scanned_at;
    out.cloud = inventories
        .first()
        .map(|i| i.cloud.clone())
        .unwrap_or_default();
    let mut principals_seen = HashSet::new();
    let mut storage_seen = HashSet::new();
    let mut locks_seen = HashSet::new();
    let mut gaps_seen = HashSet::new();
    let mut audits: Vec<AccessAudit> = Vec::new();
    for inv in inventories {
        let Inventory {
            schema_version: _,
            scanned_at: _,
            cloud: _,
            principals,
            subscriptions,
            instances,
            storage_accounts,
            locks,
            host_lookups,
            gaps,
            access,
            environment,
            guest,
            access_audit,
        } = inv;
        for p in principals {
            if principals_seen.insert(p.object_id.to_ascii_lowercase()) {
                out.principals.push(p);
            } else if p.scanner {
                // The same principal may be the scanning identity of one input and named in
                // another: the scanner flag (judged with the permissions API) is kept.
                if let Some(q) = out
                    .principals
                    .iter_mut()
                    .find(|q| q.object_id.eq_ignore_ascii_case(&p.object_id))
                {
                    q.scanner = true;
                }
            }
        }
        out.subscriptions.extend(subscriptions);
        out.instances.extend(instances);
        for s in storage_accounts {
            if storage_seen.insert(s.id.to_ascii_lowercase()) {
                out.storage_accounts.push(s);
            }
        }
        extend_unique(&mut out.locks, &mut locks_seen, locks);
        for (host, found) in host_lookups {
            match out.host_lookups.get(&host) {
                Some(HostExistence::Exists | HostExistence::Missing) => {}
                Some(HostExistence::Unknown(_)) if matches!(found, HostExistence::Unknown(_)) => {}
                _ => {
                    out.host_lookups.insert(host, found);
                }
            }
        }
        extend_unique(&mut out.gaps, &mut gaps_seen, gaps);
        if let Some(a) = access {
            merge_access(out.access.get_or_insert_with(Default::default), a);
        }
        if let Some(e) = environment {
            merge_environment(out.environment.get_or_insert_with(Default::default), e);
        }
        if let Some(g) = guest {
            out.guest.get_or_insert_with(Default::default).extend(g);
        }
        if let Some(a) = access_audit {
            if !audits.contains(&a) {
                audits.push(a);
            }
        }
    }
    out.access_audit = match audits.len() {
        0 => None,
        1 => audits.pop(),
        _ => Some(AccessAudit {
            given: audits.iter().all(|a| a.given),
            token_kind: audits
                .iter()
                .all(|a| a.token_kind == audits[0].token_kind)
                .then_some(audits[0].token_kind)
                .flatten(),
            reason: {
                let mut reasons: Vec<&str> = audits.iter().map(|a| a.reason.as_str()).collect();
                reasons.dedup();
                format!("merged results: {}", reasons.join("; "))
            },
        }),
    };
    out
}

fn merge_access(into: &mut AccessInventory, from: AccessInventory) {
    let AccessInventory {
        role_assignments,
        role_definitions,
        deny_assignments,
        caller_permissions,
        memberships,
    } = from;
    // Listed per subscription (`listed_in`), and the subscriptions are disjoint.
    into.role_assignments.extend(role_assignments);
    into.deny_assignments.extend(deny_assignments);
    for (id, def) in role_definitions {
        into.role_definitions.entry(id).or_insert(def);
    }
    for (scope, blocks) in caller_permissions {
        into.caller_permissions.entry(scope).or_insert(blocks);
    }
    for (principal, m) in memberships {
        let merged = match (into.memberships.remove(&principal), m) {
            (None, m) => m,
            (Some(Membership::Known(mut a)), Membership::Known(b)) => {
                a.extend(b);
                a.sort();
                a.dedup();
                Membership::Known(a)
            }
            (Some(Membership::Known(a)), Membership::Unknown(_))
            | (Some(Membership::Unknown(_)), Membership::Known(a)) => Membership::Known(a),
            (Some(u @ Membership::Unknown(_)), Membership::Unknown(_)) => u,
        };
        into.memberships.insert(principal, merged);
    }
}

/// Every distinct probe result is kept: a host one job could not reach stays unreachable.
fn merge_environment(into: &mut EnvironmentProbe, from: EnvironmentProbe) {
    for h in from.hosts {
        if !into.hosts.contains(&h) {
            into.hosts.push(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{HostProbe, PrincipalRef, StorageInfo, SubscriptionInfo};

    fn input(origin: &str, shard: Option<(u32, u32)>, subs: &[&str]) -> MergeInput {
        MergeInput {
            origin: origin.into(),
            run: RunInfo {
                started_at: "2026-01-01T02:00:00Z".into(),
                finished_at: "2026-01-01T02:10:00Z".into(),
                cloud: "public".into(),
                shard: shard.map(|(index, count)| Shard { index, count }),
                ..Default::default()
            },
            policy_fingerprint: "f".repeat(64),
            calls: CallStats {
                calls: 10,
                requests: 12,
                ..Default::default()
            },
            inventory: Inventory {
                schema_version: INVENTORY_SCHEMA_VERSION,
                scanned_at: "2026-01-01T02:00:00Z".into(),
                cloud: "public".into(),
                subscriptions: subs
                    .iter()
                    .map(|s| SubscriptionInfo {
                        id: s.to_string(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn shards_are_combined_and_a_missing_one_is_a_gap() {
        let mut a = input("a", Some((0, 3)), &["s1"]);
        a.run.started_at = "2026-01-01T01:59:00Z".into();
        let mut c = input("c", Some((2, 3)), &["s3", "s4"]);
        c.run.finished_at = "2026-01-01T02:20:30Z".into();
        let m = merge(vec![c, a], &"f".repeat(64)).unwrap();
        let ids: Vec<&str> = m
            .inventory
            .subscriptions
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(ids, ["s1", "s3", "s4"], "shard order");
        assert_eq!(m.missing_shards, [Shard { index: 1, count: 3 }]);
        assert_eq!(m.inventory.gaps.len(), 1);
        assert_eq!(m.inventory.gaps[0].what, "shard");
        assert_eq!(
            m.inventory.gaps[0].message,
            "shard 1/3 missing: its subscriptions were not scanned"
        );
        assert_eq!(m.run.started_at, "2026-01-01T01:59:00Z");
        assert_eq!(m.run.finished_at, "2026-01-01T02:20:30Z");
        assert_eq!(m.run.duration_ms, (21 * 60 + 30) * 1000);
        assert_eq!(m.run.shard, None);
        assert_eq!(m.run.merged_from, ["a", "c"]);
        assert_eq!((m.calls.calls, m.calls.requests), (20, 24));
        assert!(!m.any_partial);
    }

    #[test]
    fn refusals_name_the_inputs() {
        let fp = "f".repeat(64);
        let e = merge(
            vec![
                input("dir-a", Some((1, 4)), &["s1"]),
                input("dir-b", Some((1, 4)), &["s2"]),
            ],
            &fp,
        )
        .unwrap_err();
        assert!(
            e.contains("dir-a") && e.contains("dir-b") && e.contains("shard 1/4"),
            "{e}"
        );
        let e = merge(
            vec![
                input("dir-a", Some((0, 4)), &["s1"]),
                input("dir-b", Some((1, 2)), &["s2"]),
            ],
            &fp,
        )
        .unwrap_err();
        assert!(e.contains("different numbers of shards"), "{e}");
        let mut narrower = input("dir-b", Some((1, 4)), &["s2"]);
        narrower.run.excluded_subscriptions = vec!["s9".into()];
        let e = merge(vec![input("dir-a", Some((0, 4)), &["s1"]), narrower], &fp).unwrap_err();
        assert!(
            e.contains("dir-a and dir-b are shards of scans with different"),
            "{e}"
        );
        let e = merge(
            vec![input("t1", None, &["s1", "s2"]), input("t2", None, &["S2"])],
            &fp,
        )
        .unwrap_err();
        assert!(e.contains("subscription s2 is in both t1 and t2"), "{e}");
        let mut other = input("t2", None, &["s3"]);
        other.policy_fingerprint = "0".repeat(64);
        let e = merge(vec![input("t1", None, &["s1"]), other], &fp).unwrap_err();
        assert!(
            e.contains("different policies") && e.contains("t1") && e.contains("t2"),
            "{e}"
        );
        let e = merge(vec![input("t1", None, &["s1"])], &"0".repeat(64)).unwrap_err();
        assert!(e.contains("--policy"), "{e}");
        let mut old = input("t1", None, &["s1"]);
        old.policy_fingerprint.clear();
        assert!(merge(vec![old], &fp)
            .unwrap_err()
            .contains("no policy fingerprint"));
        let mut gov = input("t2", None, &["s3"]);
        gov.inventory.cloud = "usgov".into();
        assert!(merge(vec![input("t1", None, &["s1"]), gov], &fp)
            .unwrap_err()
            .contains("one cloud"));
    }

    #[test]
    fn unsharded_inputs_merge_and_shared_reads_are_united() {
        let mut a = input("t1", None, &["s1"]);
        let mut b = input("t2", None, &["s2"]);
        a.run.requested_subscriptions = vec!["s1".into()];
        b.run.requested_subscriptions = vec!["s2".into()];
        let account = StorageInfo {
            id: "/subscriptions/s1/rg/x/acct".into(),
            ..Default::default()
        };
        a.inventory.storage_accounts = vec![account.clone()];
        b.inventory.storage_accounts = vec![account];
        a.inventory.host_lookups = [
            ("h1".to_string(), HostExistence::Unknown("timeout".into())),
            ("h2".to_string(), HostExistence::Missing),
        ]
        .into_iter()
        .collect();
        b.inventory.host_lookups = [
            ("h1".to_string(), HostExistence::Exists),
            ("h2".to_string(), HostExistence::Unknown("timeout".into())),
        ]
        .into_iter()
        .collect();
        let listing = CoverageGap {
            what: "subscriptions".into(),
            message: "boom".into(),
            ..Default::default()
        };
        a.inventory.gaps = vec![listing.clone()];
        b.inventory.gaps = vec![listing];
        let p = |id: &str, scanner| PrincipalRef {
            object_id: id.into(),
            label: String::new(),
            scanner,
        };
        a.inventory.principals = vec![p("p1", false)];
        b.inventory.principals = vec![p("P1", true), p("p2", false)];
        a.inventory.access = Some(AccessInventory {
            memberships: [("p1".to_string(), Membership::Unknown("x".into()))]
                .into_iter()
                .collect(),
            ..Default::default()
        });
        b.inventory.access = Some(AccessInventory {
            memberships: [("p1".to_string(), Membership::Known(vec!["g".into()]))]
                .into_iter()
                .collect(),
            ..Default::default()
        });
        let probe = |reachable| HostProbe {
            target: "h:443".into(),
            reachable,
            detail: if reachable {
                "ok".into()
            } else {
                "refused".into()
            },
        };
        a.inventory.environment = Some(EnvironmentProbe {
            hosts: vec![probe(true)],
        });
        b.inventory.environment = Some(EnvironmentProbe {
            hosts: vec![probe(true), probe(false)],
        });
        let m = merge(vec![a, b], &"f".repeat(64)).unwrap();
        let inv = &m.inventory;
        assert_eq!(inv.subscriptions.len(), 2);
        assert_eq!(inv.storage_accounts.len(), 1);
        assert_eq!(inv.host_lookups["h1"], HostExistence::Exists);
        assert_eq!(inv.host_lookups["h2"], HostExistence::Missing);
        assert_eq!(inv.gaps.len(), 1, "the same listing gap once");
        assert!(m.any_partial);
        assert_eq!(inv.principals.len(), 2);
        assert!(inv.principals[0].scanner);
        assert_eq!(
            inv.access.as_ref().unwrap().memberships["p1"],
            Membership::Known(vec!["g".into()])
        );
        assert_eq!(inv.environment.as_ref().unwrap().hosts.len(), 2);
        assert_eq!(m.run.requested_subscriptions, ["s1", "s2"]);
        assert!(m.missing_shards.is_empty());
    }
}
