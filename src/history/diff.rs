//! The diff between two recorded runs: instances that became blocked, were fixed, became
//! undecided, appeared and disappeared, and checks whose counts moved.
//!
//! A partial run did not see everything: an instance missing from it, in a subscription whose
//! instance listings failed in that run, is reported as *not seen*, never as disappeared (and
//! the same for an instance that seems to appear after a partial run).

use super::{InstanceRecord, RunRecord, RunSnapshot};
use crate::findings::Verdict;
use crate::inventory::GapScope;
use foldhash::HashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One instance whose state changed between two runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceChange {
    /// Resource id.
    pub resource_id: String,
    /// Name.
    pub name: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// Subscription display name.
    pub subscription_name: String,
    /// Resource group.
    pub resource_group: String,
    /// Verdict in the older run (absent when it was not there).
    pub before: Option<Verdict>,
    /// Verdict in the newer run (absent when it is not there).
    pub after: Option<Verdict>,
    /// The checks behind the change: the newer run's blockers for a newly blocked instance,
    /// the older run's blockers for a fixed one, the blockers or undecided checks otherwise.
    pub checks: Vec<String>,
}

impl InstanceChange {
    /// `subscription/resource group/name`.
    pub fn path(&self) -> String {
        let sub = if self.subscription_name.is_empty() {
            &self.subscription_id
        } else {
            &self.subscription_name
        };
        format!("{sub}/{}/{}", self.resource_group, self.name)
    }
}

/// A check whose number of failing instances moved.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckMove {
    /// Check id.
    pub check_id: String,
    /// Instances failing it in the older run.
    pub before: usize,
    /// Instances failing it in the newer run.
    pub after: usize,
}

/// A subscription that a run could not fully list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadSubscription {
    /// Subscription GUID (empty for the tenant-level subscription listing).
    pub subscription_id: String,
    /// Display name (when known).
    pub name: String,
    /// What failed, e.g. `virtual machines: HTTP 403 AuthorizationFailed`.
    pub reason: String,
}

/// Everything that changed from one run to another.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunDiff {
    /// The older run.
    pub from: RunRecord,
    /// The newer run.
    pub to: RunRecord,
    /// Not blocked before (or not there), blocked now — instances in both runs only.
    pub newly_blocked: Vec<InstanceChange>,
    /// Blocked before, ready (with or without warnings) now.
    pub fixed: Vec<InstanceChange>,
    /// Decided before, undecided now.
    pub now_unknown: Vec<InstanceChange>,
    /// In the newer run only.
    pub appeared: Vec<InstanceChange>,
    /// In the older run only, where the newer run listed everything.
    pub disappeared: Vec<InstanceChange>,
    /// In the older run only, in a subscription the newer (partial) run could not list.
    pub not_seen_in_to: Vec<InstanceChange>,
    /// In the newer run only, in a subscription the older (partial) run could not list.
    pub not_seen_in_from: Vec<InstanceChange>,
    /// Subscriptions the newer run could not fully list.
    pub unread_in_to: Vec<UnreadSubscription>,
    /// Subscriptions the older run could not fully list.
    pub unread_in_from: Vec<UnreadSubscription>,
    /// Checks whose failing-instance counts moved (over the instances both runs could see),
    /// largest move first.
    pub checks: Vec<CheckMove>,
    /// True when the runs were of different scopes or clouds.
    pub scope_differs: bool,
}

impl RunDiff {
    /// True when either run was partial.
    pub fn has_partial_run(&self) -> bool {
        self.from.partial || self.to.partial
    }

    /// `1 newly blocked, 40 fixed, 0 appeared, 2 disappeared` (plus undecided and not seen
    /// counts when there are any).
    pub fn counts_line(&self) -> String {
        let mut s = format!(
            "{} newly blocked, {} fixed, {} appeared, {} disappeared",
            self.newly_blocked.len(),
            self.fixed.len(),
            self.appeared.len(),
            self.disappeared.len()
        );
        if !self.now_unknown.is_empty() {
            s.push_str(&format!(", {} now undecided", self.now_unknown.len()));
        }
        let unseen = self.not_seen_in_to.len() + self.not_seen_in_from.len();
        if unseen > 0 {
            s.push_str(&format!(", {unseen} not seen (partial run)"));
        }
        s
    }

    /// The caveat about partial runs, when either run was partial.
    pub fn partial_caveats(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (run, unread, unseen, what) in [
            (
                &self.to,
                &self.unread_in_to,
                &self.not_seen_in_to,
                "disappeared",
            ),
            (
                &self.from,
                &self.unread_in_from,
                &self.not_seen_in_from,
                "appeared",
            ),
        ] {
            if !run.partial {
                continue;
            }
            let subs: Vec<String> = unread
                .iter()
                .map(|u| {
                    if u.subscription_id.is_empty() {
                        format!("the subscription list ({})", u.reason)
                    } else if u.name.is_empty() {
                        format!("{} ({})", u.subscription_id, u.reason)
                    } else {
                        format!("{} ({})", u.name, u.reason)
                    }
                })
                .collect();
            let mut line = format!("run {} is partial: {} listing(s) failed", run.id, run.gaps);
            if !subs.is_empty() {
                line.push_str(&format!("; not fully listed: {}", subs.join(", ")));
            }
            line.push_str(&format!(
                "; {} instance(s) it could not see are not reported as {what}",
                unseen.len()
            ));
            out.push(line);
        }
        out
    }
}

/// Listings whose failure may hide instances.
const HIDING_GAPS: &[&str] = &[
    GapScope::SUBSCRIPTION,
    GapScope::VIRTUAL_MACHINES,
    GapScope::SCALE_SETS,
    GapScope::SCALE_SET_INSTANCES,
];

/// Subscriptions (lower case) whose instances a run may not have seen; `None` in the set means
/// the tenant-level subscription listing failed or a shard of a merged run is missing (any
/// subscription may be missing).
fn unread(s: &RunSnapshot) -> (BTreeSet<Option<String>>, Vec<UnreadSubscription>) {
    let mut set = BTreeSet::new();
    let mut reasons: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
    for g in &s.gaps {
        let key = match &g.subscription_id {
            // A shard missing from a merged run hid the instances of its subscriptions.
            None if g.what == GapScope::SUBSCRIPTIONS || g.what == GapScope::SHARD => None,
            Some(id) if HIDING_GAPS.contains(&g.what.as_str()) => Some(id.to_ascii_lowercase()),
            _ => continue,
        };
        set.insert(key.clone());
        let status = g.status.map(|x| format!("HTTP {x} ")).unwrap_or_default();
        let reason = format!("{}: {status}{}", g.what, g.code);
        let list = reasons.entry(key).or_default();
        if !list.contains(&reason) {
            list.push(reason);
        }
    }
    let list = reasons
        .into_iter()
        .map(|(id, mut r)| {
            r.sort();
            let id = id.unwrap_or_default();
            UnreadSubscription {
                name: s.subscriptions.get(&id).cloned().unwrap_or_default(),
                subscription_id: id,
                reason: r.join(", "),
            }
        })
        .collect();
    (set, list)
}

fn hidden(set: &BTreeSet<Option<String>>, subscription_id: &str) -> bool {
    set.contains(&None) || set.contains(&Some(subscription_id.to_ascii_lowercase()))
}

fn change(
    i: &InstanceRecord,
    names: &BTreeMap<String, String>,
    before: Option<Verdict>,
    after: Option<Verdict>,
    checks: Vec<String>,
) -> InstanceChange {
    InstanceChange {
        resource_id: i.resource_id.clone(),
        name: i.name.clone(),
        subscription_id: i.subscription_id.clone(),
        subscription_name: names.get(&i.subscription_id).cloned().unwrap_or_default(),
        resource_group: i.resource_group.clone(),
        before,
        after,
        checks,
    }
}

/// The checks an instance fails (blockers and warnings).
fn failing(i: &InstanceRecord) -> impl Iterator<Item = &String> {
    i.blockers.iter().chain(&i.warnings)
}

/// Builds the diff of two runs one instance pair at a time, so that neither run's instances
/// need be held in memory whole (a fleet's runs are read from the database as two sorted
/// streams and merged).
pub struct Differ {
    unread_from: BTreeSet<Option<String>>,
    unread_to: BTreeSet<Option<String>>,
    names: BTreeMap<String, String>,
    counts: BTreeMap<String, (usize, usize)>,
    d: RunDiff,
}

impl Differ {
    /// Starts a diff from the runs' metadata, subscriptions and gaps (their instances are not
    /// read here).
    pub fn new(from: &RunSnapshot, to: &RunSnapshot) -> Self {
        let (unread_from, unread_in_from) = unread(from);
        let (unread_to, unread_in_to) = unread(to);
        let mut names = from.subscriptions.clone();
        names.extend(to.subscriptions.clone());
        Differ {
            unread_from,
            unread_to,
            names,
            counts: BTreeMap::new(),
            d: RunDiff {
                from: from.run.clone(),
                to: to.run.clone(),
                unread_in_from,
                unread_in_to,
                scope_differs: from.run.scope != to.run.scope || from.run.cloud != to.run.cloud,
                ..Default::default()
            },
        }
    }

    /// Adds one instance: as it was in the older run (`before`) and in the newer (`after`);
    /// absent where the run does not have it.
    pub fn pair(&mut self, before: Option<&InstanceRecord>, after: Option<&InstanceRecord>) {
        let (d, names, counts) = (&mut self.d, &self.names, &mut self.counts);
        match (before, after) {
            (Some(b), Some(i)) => {
                let (bv, av) = (b.verdict, i.verdict);
                if av == Verdict::Blocked && bv != Verdict::Blocked {
                    d.newly_blocked
                        .push(change(i, names, Some(bv), Some(av), i.blockers.clone()));
                } else if bv == Verdict::Blocked
                    && matches!(av, Verdict::Ready | Verdict::ReadyWithWarnings)
                {
                    d.fixed
                        .push(change(i, names, Some(bv), Some(av), b.blockers.clone()));
                } else if av == Verdict::Unknown && bv != Verdict::Unknown {
                    d.now_unknown
                        .push(change(i, names, Some(bv), Some(av), i.unknowns.clone()));
                }
                count(counts, failing(b), |c| &mut c.0);
                count(counts, failing(i), |c| &mut c.1);
            }
            (None, Some(i)) if hidden(&self.unread_from, &i.subscription_id) => {
                d.not_seen_in_from.push(change(
                    i,
                    names,
                    None,
                    Some(i.verdict),
                    i.blockers.clone(),
                ));
            }
            (None, Some(i)) => {
                d.appeared
                    .push(change(i, names, None, Some(i.verdict), i.blockers.clone()));
                count(counts, failing(i), |c| &mut c.1);
            }
            (Some(b), None) => {
                let c = change(b, names, Some(b.verdict), None, b.blockers.clone());
                if hidden(&self.unread_to, &b.subscription_id) {
                    d.not_seen_in_to.push(c);
                } else {
                    d.disappeared.push(c);
                    count(counts, failing(b), |c| &mut c.0);
                }
            }
            (None, None) => {}
        }
    }

    /// The finished diff, its lists in a stable order.
    pub fn finish(self) -> RunDiff {
        let Differ { counts, mut d, .. } = self;
        d.checks = counts
            .into_iter()
            .filter(|(_, (b, a))| b != a)
            .map(|(check_id, (before, after))| CheckMove {
                check_id,
                before,
                after,
            })
            .collect();
        d.checks.sort_by(|x, y| {
            let dx = x.after.abs_diff(x.before);
            let dy = y.after.abs_diff(y.before);
            dy.cmp(&dx).then(x.check_id.cmp(&y.check_id))
        });
        for list in [
            &mut d.newly_blocked,
            &mut d.fixed,
            &mut d.now_unknown,
            &mut d.appeared,
            &mut d.disappeared,
            &mut d.not_seen_in_to,
            &mut d.not_seen_in_from,
        ] {
            list.sort_by_key(|c| c.path().to_ascii_lowercase());
        }
        d
    }
}

/// Adds one to the count each failing check keeps in the chosen column.
fn count<'a>(
    counts: &mut BTreeMap<String, (usize, usize)>,
    checks: impl Iterator<Item = &'a String>,
    column: impl Fn(&mut (usize, usize)) -> &mut usize,
) {
    for c in checks {
        match counts.get_mut(c.as_str()) {
            Some(entry) => *column(entry) += 1,
            None => *column(counts.entry(c.clone()).or_default()) += 1,
        }
    }
}

/// Compares two runs (`from` older, `to` newer) held in memory.
pub fn compute(from: &RunSnapshot, to: &RunSnapshot) -> RunDiff {
    let mut differ = Differ::new(from, to);
    let before: HashMap<String, &InstanceRecord> = from
        .instances
        .iter()
        .map(|i| (i.resource_id.to_ascii_lowercase(), i))
        .collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for i in &to.instances {
        let key = i.resource_id.to_ascii_lowercase();
        differ.pair(before.get(&key).copied(), Some(i));
        seen.insert(key);
    }
    for b in &from.instances {
        if !seen.contains(&b.resource_id.to_ascii_lowercase()) {
            differ.pair(Some(b), None);
        }
    }
    differ.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::CoverageGap;

    fn inst(sub: &str, name: &str, verdict: Verdict, blockers: &[&str]) -> InstanceRecord {
        InstanceRecord {
            resource_id: format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{name}"),
            name: name.into(),
            subscription_id: sub.into(),
            resource_group: "rg".into(),
            kind: "vm".into(),
            verdict,
            blockers: blockers.iter().map(|s| s.to_string()).collect(),
            warnings: vec![],
            unknowns: vec![],
        }
    }

    fn snap(id: i64, instances: Vec<InstanceRecord>, gaps: Vec<CoverageGap>) -> RunSnapshot {
        RunSnapshot {
            run: RunRecord {
                id,
                partial: !gaps.is_empty(),
                gaps: gaps.len(),
                ..Default::default()
            },
            subscriptions: [("s1".to_string(), "One".to_string())].into(),
            gaps,
            instances,
        }
    }

    #[test]
    fn classifies_every_change() {
        use Verdict::*;
        let a = snap(
            1,
            vec![
                inst("s1", "a", Ready, &[]),
                inst("s1", "b", Blocked, &["vm-not-running"]),
                inst("s1", "c", Ready, &[]),
                inst("s1", "d", Ready, &[]),
            ],
            vec![],
        );
        let b = snap(
            2,
            vec![
                inst("s1", "a", Blocked, &["vm-not-running"]),
                inst("s1", "b", Ready, &[]),
                inst("s1", "c", Unknown, &[]),
                inst("s1", "e", Ready, &[]),
            ],
            vec![],
        );
        let d = compute(&a, &b);
        let names = |v: &[InstanceChange]| v.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&d.newly_blocked), ["a"]);
        assert_eq!(names(&d.fixed), ["b"]);
        assert_eq!(names(&d.now_unknown), ["c"]);
        assert_eq!(names(&d.appeared), ["e"]);
        assert_eq!(names(&d.disappeared), ["d"]);
        // a became blocked by it, b was fixed: the count did not move.
        assert!(d.checks.is_empty(), "{:?}", d.checks);
        assert_eq!(d.newly_blocked[0].path(), "One/rg/a");
    }

    #[test]
    fn a_partial_run_does_not_make_instances_disappear() {
        use Verdict::*;
        let a = snap(
            1,
            vec![
                inst("s1", "a", Ready, &[]),
                inst("s2", "x", Blocked, &["vm-not-running"]),
            ],
            vec![],
        );
        let gap = CoverageGap {
            subscription_id: Some("s2".into()),
            what: GapScope::VIRTUAL_MACHINES.into(),
            status: Some(403),
            code: "AuthorizationFailed".into(),
            message: String::new(),
        };
        let b = snap(2, vec![inst("s1", "a", Ready, &[])], vec![gap]);
        let d = compute(&a, &b);
        assert!(d.disappeared.is_empty());
        assert_eq!(d.not_seen_in_to.len(), 1);
        assert!(d.checks.is_empty(), "unseen instances do not move counts");
        assert_eq!(
            d.partial_caveats(),
            vec!["run 2 is partial: 1 listing(s) failed; not fully listed: s2 (virtual machines: HTTP 403 AuthorizationFailed); 1 instance(s) it could not see are not reported as disappeared".to_string()]
        );
        // Back again after the partial run: not "appeared".
        let c = snap(3, a.instances.clone(), vec![]);
        let d = compute(&b, &c);
        assert!(d.appeared.is_empty());
        assert_eq!(d.not_seen_in_from.len(), 1);
    }
}
