//! The checks: pure functions of the inventory and the policy, one module per family, evaluated
//! in parallel with rayon. Each check returns an [`Outcome`]; the policy turns failing outcomes
//! into findings with a severity, waivers are applied, and each instance gets a verdict.

pub mod access;
pub mod boot_diagnostics;
pub mod catalogue;
pub mod compute_state;
pub mod context;
pub mod environment;
pub mod storage;
pub mod subscription;

use crate::findings::{Finding, FindingStatus, InstanceVerdict, Text, Verdict};
use crate::inventory::{Instance, InstanceKind, Inventory, PrincipalRef, SubscriptionInfo};
use crate::policy::{render, render_with, Policy, Severity, Waiver};
pub use context::Context;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// What one check concluded about one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing wrong.
    Pass,
    /// The check does not apply (e.g. storage checks with managed boot diagnostics).
    NotApplicable,
    /// Failed, at the policy's severity.
    Fail(String),
    /// Failed, at most at warning severity (e.g. a VM that is starting).
    Warn(String),
    /// Could not be decided; the reason says why.
    Unknown(String),
}

/// A check of an instance.
pub type InstanceCheck = fn(&Instance, &Context) -> Outcome;
/// A check of a subscription.
pub type SubscriptionCheck = fn(&SubscriptionInfo, &Context) -> Outcome;

/// Instance checks in catalogue order.
pub const INSTANCE_CHECKS: &[(&str, InstanceCheck)] = &[
    ("boot-diagnostics-disabled", boot_diagnostics::disabled),
    (
        "vmss-instance-outdated",
        boot_diagnostics::instance_outdated,
    ),
    ("vm-not-running", compute_state::not_running),
    ("storage-firewall", storage::firewall),
    ("storage-account-not-found", storage::account_not_found),
    (
        "storage-resource-group-unknown",
        storage::resource_group_unknown,
    ),
    ("storage-uri-not-https", storage::uri_not_https),
    ("storage-hns-enabled", storage::hns_enabled),
    ("storage-shared-key-disabled", storage::shared_key_disabled),
    ("storage-region-mismatch", storage::region_mismatch),
    ("storage-min-tls", storage::min_tls),
    (
        "provisioning-incomplete",
        compute_state::provisioning_incomplete,
    ),
    ("vm-failed-state", compute_state::failed_state),
    (
        "trusted-launch-secure-boot",
        compute_state::trusted_launch_secure_boot,
    ),
    ("region-unsupported", compute_state::region_unsupported),
    (
        "linux-no-password-user",
        compute_state::linux_no_password_user,
    ),
    ("resource-lock-readonly", compute_state::readonly_lock),
    ("windows-sac-helper", environment::windows_sac_helper),
];

/// A check of one audited principal's access to an instance.
pub type AccessCheck = fn(&Instance, &PrincipalRef, &Context) -> Outcome;

/// Access checks, run once per (instance, audited principal).
pub const ACCESS_CHECKS: &[(&str, AccessCheck)] = &[
    ("rbac-vm-access", access::vm_access),
    ("rbac-storage-access", access::storage_access),
];

/// Subscription checks in catalogue order.
pub const SUBSCRIPTION_CHECKS: &[(&str, SubscriptionCheck)] = &[
    (
        "subscription-console-disabled",
        subscription::console_disabled,
    ),
    ("subscription-not-enabled", subscription::not_enabled),
];

/// A check of the scanner's environment.
pub type EnvironmentCheck = fn(&Context) -> Outcome;

/// Environment checks (about the scanner's network), evaluated once per scan.
pub const ENVIRONMENT_CHECKS: &[(&str, EnvironmentCheck)] =
    &[("websocket-blocked", environment::websocket_blocked)];

/// The result of evaluating an inventory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// One verdict per instance, in inventory order.
    pub verdicts: Vec<InstanceVerdict>,
    /// Findings: subscription and environment ones first, then instances in inventory order.
    pub findings: Vec<Finding>,
    /// Waivers that have expired and no longer apply.
    pub expired_waivers: Vec<Waiver>,
    /// One access verdict per (instance, audited principal).
    pub access: Vec<AccessVerdict>,
}

/// Whether one principal can open Serial Console on one instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessVerdict {
    /// The instance.
    pub resource_id: Text,
    /// The principal's object id.
    pub principal_id: Text,
    /// The principal's label.
    pub label: Text,
    /// `ready` (may connect), `blocked` (may not) or `unknown`.
    pub verdict: Verdict,
    /// Failing or undecided access checks with their status and message.
    pub checks: Vec<AccessCheckResult>,
}

/// One access check's result for one principal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessCheckResult {
    /// Check id.
    pub check_id: Text,
    /// Status.
    pub status: FindingStatus,
    /// Why.
    pub message: Text,
}

/// A classified outcome of one check on one resource.
struct Judged {
    check: &'static str,
    status: FindingStatus,
    severity: Severity,
    message: Text,
    waiver: Option<String>,
    principal: Option<Text>,
}

/// Instances evaluated per parallel block.
const BLOCK: usize = 8 * 1024;

/// An instance's own findings and access verdicts.
type InstanceOutputs = (Vec<Finding>, Vec<AccessVerdict>);

/// One check as this evaluation applies it: its severity under the policy, its position in the
/// catalogue, and the texts its findings share.
struct Meta<'p> {
    id: &'static str,
    text: Text,
    mitigation: Text,
    severity: Severity,
    position: usize,
    policy: &'p crate::policy::CheckPolicy,
}

/// Texts that many findings and verdicts repeat, allocated once per evaluation (check ids and
/// their mitigations, subscription ids), and each check's [`Meta`], looked up without hashing
/// or comparing strings.
struct Shared<'a> {
    metas: Vec<Meta<'a>>,
    subscriptions: BTreeMap<&'a str, Text>,
    empty: Text,
}

impl<'a> Shared<'a> {
    fn new(inventory: &'a Inventory, policy: &'a Policy) -> Shared<'a> {
        let metas = INSTANCE_CHECKS
            .iter()
            .map(|(id, _)| *id)
            .chain(ACCESS_CHECKS.iter().map(|(id, _)| *id))
            .chain(SUBSCRIPTION_CHECKS.iter().map(|(id, _)| *id))
            .chain(ENVIRONMENT_CHECKS.iter().map(|(id, _)| *id))
            .map(|id| {
                let cp = policy.check(id);
                Meta {
                    id,
                    text: Text::from(id),
                    mitigation: Text::from(cp.mitigation.as_str()),
                    severity: policy.severity(id),
                    position: catalogue::position(id),
                    policy: cp,
                }
            })
            .collect();
        let mut subscriptions = BTreeMap::new();
        // Instances come grouped by subscription: only a change of subscription is looked up.
        let mut previous = None;
        for id in inventory.subscriptions.iter().map(|s| s.id.as_str()).chain(
            inventory
                .instances
                .iter()
                .map(|i| i.subscription_id.as_str()),
        ) {
            if previous != Some(id) && !subscriptions.contains_key(id) {
                subscriptions.insert(id, Text::from(id));
            }
            previous = Some(id);
        }
        Shared {
            metas,
            subscriptions,
            empty: Text::default(),
        }
    }

    /// The meta of a check id from the check tables (found by address; by text otherwise).
    fn meta(&self, id: &'static str) -> &Meta<'a> {
        self.metas
            .iter()
            .find(|m| std::ptr::eq(m.id, id))
            .or_else(|| self.metas.iter().find(|m| m.id == id))
            .unwrap_or_else(|| panic!("{id} is in no check table"))
    }

    fn check(&self, id: &'static str) -> &Text {
        &self.meta(id).text
    }

    fn mitigation(&self, id: &'static str) -> &Text {
        &self.meta(id).mitigation
    }

    fn subscription(&self, id: &str) -> Text {
        match self.subscriptions.get(id) {
            Some(t) => t.clone(),
            None if id.is_empty() => self.empty.clone(),
            None => Text::from(id),
        }
    }
}

/// What a finding is about, for waivers: resource id, subscription id, tags, and why the tags
/// were not read (an instance whose model was not read has none to match).
type Target<'t> = (
    &'t str,
    &'t str,
    &'t crate::inventory::Tags,
    Option<&'t str>,
);

/// Runs a check (only when the policy has it on) and turns its outcome into a finding status
/// and severity, or `None` when it is off or passed.
fn judge(
    policy: &Policy,
    meta: &Meta,
    check_outcome: impl FnOnce() -> Outcome,
    today: &str,
    target: Target,
    texts: &mut Interner,
) -> Option<Judged> {
    let (check, severity) = (meta.id, meta.severity);
    if severity == Severity::Off {
        return None;
    }
    let (status, severity, message) = match check_outcome() {
        Outcome::Pass | Outcome::NotApplicable => return None,
        Outcome::Fail(m) => (
            if severity == Severity::Error {
                FindingStatus::Fail
            } else {
                FindingStatus::Warn
            },
            severity,
            m,
        ),
        Outcome::Warn(m) => {
            let s = severity.min(Severity::Warning);
            (FindingStatus::Warn, s, m)
        }
        Outcome::Unknown(m) => (FindingStatus::Unknown, severity, m),
    };
    let (resource_id, subscription_id, tags, tags_not_read) = target;
    let waiver = policy
        .waivers
        .iter()
        .find(|w| !w.expired(today) && w.covers(check, resource_id, subscription_id, tags));
    // Unread tags are not "no tags": a waiver by tag that would otherwise cover the finding can
    // be neither applied nor ruled out.
    let (status, message) = match tags_not_read {
        Some(why)
            if waiver.is_none()
                && policy.waivers.iter().any(|w| {
                    w.tag.is_some()
                        && !w.expired(today)
                        && Waiver {
                            tag: None,
                            ..w.clone()
                        }
                        .covers(check, resource_id, subscription_id, tags)
                }) =>
        {
            (
                FindingStatus::Unknown,
                format!(
                    "{message} (a waiver by tag may cover this, but the tags were not read: {why})"
                ),
            )
        }
        _ => (status, message),
    };
    let message =
        if !policy.storage_in_connection_path && catalogue::STORAGE_PATH_CHECKS.contains(&check) {
            format!("{message} (affects serial logs and screenshots, not the connection)")
        } else {
            message
        };
    Some(Judged {
        check,
        status: if waiver.is_some() {
            FindingStatus::Waived
        } else {
            status
        },
        severity,
        message: texts.text(message),
        waiver: waiver.map(|w| format!("{} ({}, expires {})", w.reason, w.origin, w.expires)),
        principal: None,
    })
}

/// The remediation template of a check for an instance of this kind (a scale-set instance
/// is fixed through its scale set where the policy says how).
fn remediation_template(cp: &crate::policy::CheckPolicy, kind: InstanceKind) -> &str {
    if kind == InstanceKind::VmssInstance && !cp.remediation_scale_set.is_empty() {
        &cp.remediation_scale_set
    } else {
        &cp.remediation
    }
}

/// Shares one allocation among equal texts: many instances get the same message (and the
/// instances of one storage account the same remediation). Bounded: it forgets everything
/// once it holds [`Interner::MAX`] texts.
#[derive(Default)]
struct Interner(foldhash::HashSet<Text>);

impl Interner {
    /// The most texts one interner keeps.
    const MAX: usize = 4096;

    /// The shared text equal to `s`.
    fn text(&mut self, s: String) -> Text {
        if let Some(t) = self.0.get(s.as_str()) {
            return t.clone();
        }
        if self.0.len() >= Self::MAX {
            self.0.clear();
        }
        let t = Text::from(s);
        self.0.insert(t.clone());
        t
    }
}

/// Placeholder values of an instance's remediation templates (borrowed where they can be).
type Values<'a> = Vec<(&'static str, Cow<'a, str>)>;

/// A placeholder's value (a handful of values: a scan beats a map).
fn value<'v>(values: &'v Values, key: &str) -> Option<&'v str> {
    values
        .iter()
        .rev()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.as_ref())
}

/// Placeholder values for an instance's remediation templates.
fn instance_values<'a>(i: &'a Instance, ctx: &Context<'a>) -> Values<'a> {
    let mut v: Values<'a> = Vec::with_capacity(11);
    v.push(("name", Cow::Borrowed(i.name.as_str())));
    v.push(("resource_group", Cow::Borrowed(i.resource_group.as_str())));
    v.push(("subscription_id", Cow::Borrowed(i.subscription_id.as_str())));
    v.push(("resource_id", Cow::Borrowed(i.id.as_str())));
    v.push(("location", Cow::Borrowed(i.location.as_str())));
    v.push((
        "scale_set",
        Cow::Borrowed(i.scale_set.as_deref().unwrap_or("")),
    ));
    v.push((
        "instance_id",
        Cow::Borrowed(i.instance_id.as_deref().unwrap_or("")),
    ));
    let host = storage::custom_host(i);
    if let storage::StorageRef::Found(sa) = storage::resolve(i, ctx) {
        v.push(("storage_account", Cow::Borrowed(sa.name.as_str())));
        v.push((
            "storage_resource_group",
            Cow::Borrowed(sa.resource_group.as_str()),
        ));
    } else if let Some(host) = &host {
        v.push((
            "storage_account",
            Cow::Owned(crate::discover::hosts::account_name(host).unwrap_or_else(|| host.clone())),
        ));
    }
    if let Some(host) = host {
        v.push(("storage_uri_https", Cow::Owned(format!("https://{host}/"))));
    }
    v
}

fn finding_from(
    j: &Judged,
    shared: &Shared,
    resource_id: &Text,
    subscription_id: &Text,
    remediation: &Text,
) -> Finding {
    Finding {
        resource_id: resource_id.clone(),
        subscription_id: subscription_id.clone(),
        check_id: shared.check(j.check).clone(),
        status: j.status,
        severity: j.severity,
        message: j.message.clone(),
        mitigation: shared.mitigation(j.check).clone(),
        remediation: remediation.clone(),
        waiver: j.waiver.clone(),
        principal_id: j.principal.clone(),
    }
}

/// Evaluates every check on every instance and subscription. `today` (`YYYY-MM-DD`) decides
/// which waivers have expired.
pub fn evaluate(inventory: &Inventory, policy: &Policy, today: &str) -> Evaluation {
    let ctx = Context::new(inventory, policy);
    let shared = Shared::new(inventory, policy);
    let no_tags = crate::inventory::Tags::default();

    // Environment findings apply to every instance.
    let environment = Text::from("environment");
    let env: Vec<(Judged, Text)> = ENVIRONMENT_CHECKS
        .iter()
        .filter_map(|(id, f)| {
            judge(
                policy,
                shared.meta(id),
                || f(&ctx),
                today,
                ("environment", "", &no_tags, None),
                &mut Interner::default(),
            )
        })
        .map(|j| {
            let remediation = Text::from(shared.meta(j.check).policy.remediation.as_str());
            (j, remediation)
        })
        .collect();
    let mut findings: Vec<Finding> = env
        .iter()
        .map(|(j, r)| finding_from(j, &shared, &environment, &shared.empty, r))
        .collect();

    // Subscription findings apply to the subscription's instances.
    let mut texts = Interner::default();
    let mut by_sub: BTreeMap<&str, Vec<(Judged, Text)>> = BTreeMap::new();
    for sub in &inventory.subscriptions {
        let sub_id = format!("/subscriptions/{}", sub.id);
        let sub_text = Text::from(sub_id.as_str());
        let mut values = BTreeMap::new();
        values.insert("subscription_id", sub.id.clone());
        values.insert("resource_id", sub_id.clone());
        for (id, f) in SUBSCRIPTION_CHECKS {
            let m = shared.meta(id);
            if let Some(j) = judge(
                policy,
                m,
                || f(sub, &ctx),
                today,
                (&sub_id, &sub.id, &no_tags, None),
                &mut texts,
            ) {
                let remediation = Text::from(render(&m.policy.remediation, &values));
                findings.push(finding_from(
                    &j,
                    &shared,
                    &sub_text,
                    &shared.subscription(&sub.id),
                    &remediation,
                ));
                by_sub
                    .entry(sub.id.as_str())
                    .or_default()
                    .push((j, remediation));
            }
        }
    }

    // Audited principals. Nobody, by the scan's decision (an application's token and no
    // --principal): the access checks have no one to judge and give no finding. Nobody in an
    // inventory that records no decision: the access checks are unknown.
    let unevaluated = [PrincipalRef {
        object_id: String::new(),
        label: "no audited principal".into(),
        scanner: false,
    }];
    let principals: &[PrincipalRef] =
        match (inventory.principals.is_empty(), &inventory.access_audit) {
            (false, _) => &inventory.principals,
            (true, Some(_)) => &[],
            (true, None) => &unevaluated,
        };
    // Per principal: its id, its label, and what `principals_denied` lists.
    let principal_texts: Vec<(Text, Text, Text)> = principals
        .iter()
        .map(|p| {
            let id = Text::from(p.object_id.as_str());
            let label = Text::from(p.label.as_str());
            let denied = if p.label.is_empty() {
                id.clone()
            } else {
                label.clone()
            };
            (id, label, denied)
        })
        .collect();

    // Instances are evaluated in parallel, a block at a time: each block's findings and access
    // verdicts are appended (after the subscription and environment findings) before the next
    // block starts, so that per-instance buffers never exist for the whole estate at once.
    let mut verdicts: Vec<InstanceVerdict> = Vec::with_capacity(inventory.instances.len());
    let mut access: Vec<AccessVerdict> =
        Vec::with_capacity(inventory.instances.len() * inventory.principals.len());
    for block in inventory.instances.chunks(BLOCK) {
        let (block_verdicts, per_instance): (Vec<InstanceVerdict>, Vec<InstanceOutputs>) = block
            .par_iter()
            // Instances come grouped by subscription: each worker keeps the last one's shared parts.
            .map_init(
                || (None::<(&str, Text, &[(Judged, Text)])>, Interner::default()),
                |(last, texts), i| {
                    let resource_id = i.id.clone();
                    let (subscription_id, of_sub) = match last {
                        Some((s, t, j)) if *s == i.subscription_id.as_str() => (t.clone(), *j),
                        _ => {
                            let t = shared.subscription(&i.subscription_id);
                            let j = by_sub
                                .get(i.subscription_id.as_str())
                                .map(Vec::as_slice)
                                .unwrap_or(&[]);
                            *last = Some((i.subscription_id.as_str(), t.clone(), j));
                            (t, j)
                        }
                    };
                    let mut own: Vec<(Judged, Text)> = Vec::with_capacity(4);
                    let mut access_verdicts = Vec::with_capacity(principals.len());
                    let mut denied = Vec::new();
                    // Placeholder values, built once per instance and only when a remediation needs them.
                    let mut values: Option<Values> = None;
                    for (p, (p_id, p_label, p_denied)) in principals.iter().zip(&principal_texts) {
                        let mut results = Vec::with_capacity(ACCESS_CHECKS.len());
                        for (id, f) in ACCESS_CHECKS {
                            let m = shared.meta(id);
                            let outcome = || {
                                if p.object_id.is_empty() {
                                    Outcome::Unknown(
                                        "not evaluated: no principal was audited".into(),
                                    )
                                } else {
                                    f(i, p, &ctx)
                                }
                            };
                            if let Some(mut j) = judge(
                                policy,
                                m,
                                outcome,
                                today,
                                (
                                    &i.id,
                                    &i.subscription_id,
                                    &i.tags,
                                    i.model_not_read.as_deref(),
                                ),
                                texts,
                            ) {
                                j.principal = (!p.object_id.is_empty()).then(|| p_id.clone());
                                results.push(AccessCheckResult {
                                    check_id: m.text.clone(),
                                    status: j.status,
                                    message: j.message.clone(),
                                });
                                let v = values.get_or_insert_with(|| instance_values(i, &ctx));
                                let assignee = if p.object_id.is_empty() {
                                    crate::remediation::NO_PRINCIPAL
                                } else {
                                    p.object_id.as_str()
                                };
                                v.push(("principal_id", Cow::Borrowed(assignee)));
                                let template = remediation_template(m.policy, i.kind);
                                let remediation =
                                    texts.text(render_with(template, |k| value(v, k)));
                                v.pop();
                                own.push((j, remediation));
                            }
                        }
                        let verdict = if results.iter().any(|r| r.status == FindingStatus::Fail) {
                            denied.push(p_denied.clone());
                            Verdict::Blocked
                        } else if results.iter().any(|r| r.status == FindingStatus::Unknown) {
                            Verdict::Unknown
                        } else {
                            Verdict::Ready
                        };
                        if !p.object_id.is_empty() {
                            access_verdicts.push(AccessVerdict {
                                resource_id: resource_id.clone(),
                                principal_id: p_id.clone(),
                                label: p_label.clone(),
                                verdict,
                                checks: results,
                            });
                        }
                    }
                    for (id, f) in INSTANCE_CHECKS {
                        let m = shared.meta(id);
                        if let Some(j) = judge(
                            policy,
                            m,
                            || f(i, &ctx),
                            today,
                            (
                                &i.id,
                                &i.subscription_id,
                                &i.tags,
                                i.model_not_read.as_deref(),
                            ),
                            texts,
                        ) {
                            let template = remediation_template(m.policy, i.kind);
                            let remediation = if template.is_empty() {
                                shared.empty.clone()
                            } else {
                                let v = values.get_or_insert_with(|| instance_values(i, &ctx));
                                Text::from(render_with(template, |k| value(v, k)))
                            };
                            own.push((j, remediation));
                        }
                    }
                    let findings: Vec<Finding> = own
                        .iter()
                        .map(|(j, r)| finding_from(j, &shared, &resource_id, &subscription_id, r))
                        .collect();
                    let all = of_sub.iter().chain(own.iter()).chain(env.iter());
                    let mut verdict = verdict_of(resource_id, &shared, all);
                    verdict.principals_denied = denied;
                    (verdict, (findings, access_verdicts))
                },
            )
            .unzip();
        verdicts.extend(block_verdicts);
        let (block_findings, block_access): (Vec<_>, Vec<_>) = per_instance.into_iter().unzip();
        append_in_parallel(&mut findings, block_findings);
        append_in_parallel(&mut access, block_access);
    }
    let expired_waivers = policy
        .waivers
        .iter()
        .filter(|w| w.expired(today))
        .cloned()
        .collect();
    Evaluation {
        verdicts,
        findings,
        expired_waivers,
        access,
    }
}

/// Moves every part's items onto the end of `dst`, in order, the parts copied in parallel (a
/// million instances' findings are a few hundred megabytes: one thread copying them would be
/// most of an evaluation's serial time).
fn append_in_parallel<T: Send>(dst: &mut Vec<T>, parts: Vec<Vec<T>>) {
    let total: usize = parts.iter().map(Vec::len).sum();
    let start = dst.len();
    dst.reserve(total);
    let mut rest = &mut dst.spare_capacity_mut()[..total];
    let mut slots = Vec::with_capacity(parts.len());
    for part in &parts {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(part.len());
        slots.push(head);
        rest = tail;
    }
    parts.into_par_iter().zip(slots).for_each(|(part, slots)| {
        for (slot, item) in slots.iter_mut().zip(part) {
            slot.write(item);
        }
    });
    // SAFETY: the slots partition dst[start..start + total], and each slot was written with
    // exactly its part's items (a part and its slot have the same length). Had a thread
    // panicked, the panic would have propagated before this line and the items would leak.
    unsafe { dst.set_len(start + total) };
}

/// The verdict from every judged outcome that applies to an instance.
fn verdict_of<'a>(
    resource_id: Text,
    shared: &Shared,
    judged: impl Iterator<Item = &'a (Judged, Text)>,
) -> InstanceVerdict {
    let mut v = InstanceVerdict {
        resource_id,
        verdict: Verdict::Ready,
        blockers: Vec::new(),
        warnings: Vec::new(),
        unknowns: Vec::new(),
        first_fix: shared.empty.clone(),
        principals_denied: Vec::new(),
    };
    let mut warning_fix = shared.empty.clone();
    let mut blocking_unknown = false;
    let mut judged: Vec<&(Judged, Text)> = judged.collect();
    if judged.is_empty() {
        return v;
    }
    judged.sort_by_key(|(j, _)| shared.meta(j.check).position);
    let push = |list: &mut Vec<Text>, check: &'static str| {
        if list.last().map(Text::as_str) != Some(check) {
            list.push(shared.check(check).clone());
        }
    };
    for (j, remediation) in judged {
        match (j.status, j.severity) {
            (FindingStatus::Fail, _) => {
                if v.blockers.is_empty() {
                    v.first_fix = remediation.clone();
                }
                push(&mut v.blockers, j.check);
            }
            (FindingStatus::Warn, Severity::Info) => {}
            (FindingStatus::Warn, _) => {
                if v.warnings.is_empty() {
                    warning_fix = remediation.clone();
                }
                push(&mut v.warnings, j.check);
            }
            (FindingStatus::Unknown, s) => {
                if s == Severity::Error {
                    blocking_unknown = true;
                }
                if s != Severity::Info {
                    push(&mut v.unknowns, j.check);
                }
            }
            (FindingStatus::Waived, _) => {}
        }
    }
    v.verdict = if !v.blockers.is_empty() {
        Verdict::Blocked
    } else if blocking_unknown {
        Verdict::Unknown
    } else if !v.warnings.is_empty() || !v.unknowns.is_empty() {
        Verdict::ReadyWithWarnings
    } else {
        Verdict::Ready
    };
    if v.blockers.is_empty() {
        v.first_fix = warning_fix;
    }
    v
}

#[cfg(test)]
pub(crate) mod testing {
    //! A small inventory for the checks' unit tests.
    use crate::inventory::*;
    use crate::policy::Policy;

    /// A running Linux VM in westeurope with managed boot diagnostics.
    pub fn vm(name: &str) -> Instance {
        Instance {
            id: format!("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{name}").into(),
            name: name.into(),
            subscription_id: "s1".into(),
            resource_group: "rg".into(),
            kind: InstanceKind::Vm,
            scale_set: None,
            instance_id: None,
            location: "westeurope".into(),
            os_type: Some("Linux".into()),
            tags: Default::default(),
            power_state: Some("running".into()),
            instance_view: true,
            provisioning_state: Some("Succeeded".into()),
            boot_diagnostics: BootDiagnostics::Managed,
            boot_diagnostics_error: None,
            security_type: None,
            secure_boot: None,
            disable_password_authentication: Some(false),
            latest_model_applied: None,
            anomalies: vec![],
            model_not_read: None,
            status_not_read: None,
        }
    }

    /// One subscription and one storage account `diag` (northeurope, Deny, HNS, TLS1_0, no shared key).
    pub fn fixture() -> (Inventory, Policy) {
        let inv = Inventory {
            schema_version: INVENTORY_SCHEMA_VERSION,
            subscriptions: vec![SubscriptionInfo {
                id: "s1".into(),
                name: "one".into(),
                tenant_id: "t".into(),
                state: Some("Enabled".into()),
                console_disabled: Some(false),
                unregistered: Vec::new(),
                managed_by_tenants: Vec::new(),
            }],
            storage_accounts: vec![StorageInfo {
                id: "/subscriptions/s1/resourceGroups/rg-diag/providers/Microsoft.Storage/storageAccounts/diag".into(),
                name: "diag".into(),
                subscription_id: "s1".into(),
                resource_group: "rg-diag".into(),
                location: "northeurope".into(),
                kind: Some("StorageV2".into()),
                blob_host: "diag.blob.core.windows.net".into(),
                is_hns_enabled: Some(true),
                network_default_action: Some("Deny".into()),
                allow_shared_key_access: Some(false),
                minimum_tls_version: Some("TLS1_0".into()),
            }],
            ..Default::default()
        };
        (inv, Policy::builtin())
    }
}

#[cfg(test)]
mod absence_tests {
    use super::testing::*;
    use super::*;
    use crate::inventory::{BootDiagnostics, Tags};
    use crate::policy::TagMatch;

    fn tag_waiver(checks: &[&str]) -> Waiver {
        Waiver {
            checks: checks.iter().map(|c| c.to_string()).collect(),
            resource: None,
            subscription: None,
            tag: Some(TagMatch {
                key: "env".into(),
                value: Some("lab".into()),
            }),
            reason: "lab machines".into(),
            expires: "2099-12-31".into(),
            origin: "test".into(),
        }
    }

    fn finding<'e>(e: &'e Evaluation, check: &str) -> Option<&'e Finding> {
        e.findings.iter().find(|f| f.check_id.as_str() == check)
    }

    #[test]
    fn a_tag_waiver_is_neither_applied_nor_ruled_out_on_unread_tags() {
        let (mut inv, mut pol) = fixture();
        pol.waivers.push(tag_waiver(&["vm-not-running"]));
        let mut i = vm("a");
        i.power_state = Some("deallocated".into());
        i.tags = Tags::from_iter([("env".to_string(), "lab".to_string())]);
        inv.instances.push(i.clone());
        // Tags read and matching: waived.
        let e = evaluate(&inv, &pol, "2026-01-01");
        assert_eq!(
            finding(&e, "vm-not-running").unwrap().status,
            FindingStatus::Waived
        );
        // Tags read and not matching: fails.
        inv.instances[0].tags = Tags::default();
        let e = evaluate(&inv, &pol, "2026-01-01");
        assert_eq!(
            finding(&e, "vm-not-running").unwrap().status,
            FindingStatus::Fail
        );
        // Model (and so tags) not read: the status-based failure may be waived — unknown.
        inv.instances[0].model_not_read = Some("the VM was only in the status listing".into());
        let e = evaluate(&inv, &pol, "2026-01-01");
        let f = finding(&e, "vm-not-running").unwrap();
        assert_eq!(f.status, FindingStatus::Unknown);
        assert!(
            f.message.contains("the VM is deallocated")
                && f.message.contains("waiver by tag")
                && f.message.contains("only in the status listing"),
            "{}",
            f.message
        );
        assert_eq!(e.verdicts[0].verdict, Verdict::Unknown);
    }

    #[test]
    fn a_vm_seen_only_in_a_status_listing_is_unknown_never_blocked() {
        let (mut inv, pol) = fixture();
        let mut i = vm("a");
        i.model_not_read = Some("the VM was only in the status listing".into());
        i.boot_diagnostics = BootDiagnostics::Absent;
        i.os_type = None;
        i.provisioning_state = None;
        i.disable_password_authentication = None;
        inv.instances.push(i);
        let e = evaluate(&inv, &pol, "2026-01-01");
        let v = &e.verdicts[0];
        assert_eq!(v.verdict, Verdict::Unknown, "{v:?}");
        assert!(v.blockers.is_empty(), "{:?}", v.blockers);
        for check in [
            "boot-diagnostics-disabled",
            "provisioning-incomplete",
            "vm-failed-state",
            "linux-no-password-user",
        ] {
            let f = finding(&e, check).unwrap_or_else(|| panic!("{check}"));
            assert_eq!(f.status, FindingStatus::Unknown, "{check}");
            assert!(f.message.contains("model was not read"), "{}", f.message);
        }
        // Its run-time status was read: running passes.
        assert!(finding(&e, "vm-not-running").is_none());
    }
}
