//! Standalone VMs and Flexible scale-set members: the model from the plain listing, the run-time
//! status from the `statusOnly=true` listing, joined by resource id.
//!
//! Why two listings. The REST reference describes `statusOnly=true` only as "fetching run time
//! status of all Virtual Machines in the subscription" (Virtual Machines - List All,
//! api-version 2025-04-01); users of the Go SDK report that the VMs it returns carry no tags
//! (azure-sdk-for-go issue #18565), and azure-rest-api-specs issue #42411 states that no
//! documented list call returns both the full model and the power state. So no model field is
//! ever taken from the status listing: only the instance view (power state, boot-diagnostics
//! status). The plain listing carries the model and no instance view.
//!
//! A VM the model listing has and the status listing lacks (created, changed or deleted between
//! the two reads) keeps its model and gets an unknown power state with that reason. A VM only
//! the status listing has is read once more with `GET …?$expand=instanceView`, at most
//! [`MAX_FOLLOW_UPS`] per subscription; beyond that, or when the GET fails, the VM is kept with
//! its status and an unread model (its model-based checks say `unknown`), and the listing is a
//! coverage gap. A VM whose follow-up GET answers 404 was deleted in between and is dropped.

use super::convert::VmStatus;
use super::{api, convert, gap, is_unregistered, Progress};
use crate::arm::models::VirtualMachine;
use crate::arm::{ArmClient, ArmError, Lenient};
use crate::inventory::{CoverageGap, GapScope, Instance};
use foldhash::{HashMap, HashSet, HashSetExt};
use futures::StreamExt;
use std::sync::atomic::Ordering;

/// VMs read with a GET because they were only in the status listing, at most, per subscription.
pub const MAX_FOLLOW_UPS: usize = 10;

/// How VMs are read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VmReads {
    /// The plain listing and the `statusOnly=true` listing, joined by id (two listings per
    /// subscription, paged).
    #[default]
    Listings,
    /// The plain listing for the ids, then one `GET …?$expand=instanceView` per VM: one request
    /// per VM, for verifying the join against Azure's per-resource answer.
    OneByOne,
}

/// What the VM listings of one subscription gave.
pub(super) struct VmListing {
    /// Joined instances, in model-listing order, then status-only VMs.
    pub instances: Vec<Instance>,
    /// Listings that failed.
    pub gaps: Vec<CoverageGap>,
    /// The subscription has not registered `Microsoft.Compute`: it has no VMs.
    pub unregistered: bool,
}

/// Reads the paged status listing: the run-time status of each VM, nothing of its model.
async fn list_status(client: &ArmClient, path: &str) -> (Vec<VmStatus>, Option<ArmError>) {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let stream = client.list::<VirtualMachine>(path);
    futures::pin_mut!(stream);
    while let Some(page) = stream.next().await {
        match page {
            Ok(items) => {
                for item in items.iter().filter_map(Lenient::get) {
                    if let Some(s) = convert::vm_status(item) {
                        if seen.insert(s.id.to_ascii_lowercase()) {
                            out.push(s);
                        }
                    }
                }
            }
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// Reads a paged VM listing into instances (one conversion per item, pages dropped as read).
async fn list(client: &ArmClient, path: &str, sid: &str) -> (Vec<Instance>, Option<ArmError>) {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let stream = client.list::<VirtualMachine>(path);
    futures::pin_mut!(stream);
    while let Some(page) = stream.next().await {
        match page {
            Ok(items) => {
                for m in items.iter().filter_map(Lenient::get) {
                    if let Some(i) = convert::vm(m, sid) {
                        if seen.insert(i.id.to_ascii_lowercase()) {
                            out.push(i);
                        }
                    }
                }
            }
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

fn model_path(sid: &str) -> String {
    format!(
        "/subscriptions/{sid}/providers/Microsoft.Compute/virtualMachines?api-version={}",
        api::COMPUTE
    )
}

fn get_path(id: &str) -> String {
    format!("{id}?api-version={}&$expand=instanceView", api::COMPUTE)
}

/// Reads the VMs of subscription `sid`.
pub(super) async fn read(
    client: &ArmClient,
    sid: &str,
    progress: &Progress,
    mode: VmReads,
) -> VmListing {
    match mode {
        VmReads::Listings => read_joined(client, sid, progress).await,
        VmReads::OneByOne => read_one_by_one(client, sid, progress).await,
    }
}

async fn read_joined(client: &ArmClient, sid: &str, progress: &Progress) -> VmListing {
    let status_path = format!(
        "/subscriptions/{sid}/providers/Microsoft.Compute/virtualMachines?api-version={}&statusOnly=true",
        api::COMPUTE
    );
    let model_path = model_path(sid);
    let ((models, model_err), (statuses, status_err)) = futures::join!(
        list(client, &model_path, sid),
        list_status(client, &status_path)
    );
    let mut gaps = Vec::new();
    if [&model_err, &status_err]
        .iter()
        .any(|e| e.as_ref().is_some_and(is_unregistered))
    {
        return VmListing {
            instances: Vec::new(),
            gaps,
            unregistered: true,
        };
    }
    if let Some(e) = &model_err {
        gaps.push(gap(Some(sid), GapScope::VIRTUAL_MACHINES, e));
    }
    if let Some(e) = &status_err {
        gaps.push(gap(Some(sid), GapScope::VM_STATUS, e));
    }
    let mut status: HashMap<String, VmStatus> = statuses
        .into_iter()
        .map(|s| (s.id.to_ascii_lowercase(), s))
        .collect();
    let status_missing = |why: &str| match &status_err {
        Some(e) => {
            format!("the run-time status listing failed ({e}), so the power state is unknown")
        }
        None => why.to_string(),
    };
    let mut instances = Vec::with_capacity(models.len());
    for mut i in models {
        match status.remove(&i.id.to_ascii_lowercase()) {
            Some(s) => convert::apply_status(&mut i, s),
            // The plain listing has no instance view: whatever it said is not a status.
            None => convert::mark_status_not_read(
                &mut i,
                status_missing(
                    "the VM was not in the run-time status listing (created or changed between \
                     the two reads), so its power state is unknown",
                ),
            ),
        }
        instances.push(i);
    }
    // VMs only the status listing has: created between the two reads, or the model listing
    // stopped early. Read each once more, within the bound.
    let mut only_status: Vec<VmStatus> = status.into_values().collect();
    only_status.sort_by(|a, b| a.id.cmp(&b.id));
    let over = only_status.len().saturating_sub(MAX_FOLLOW_UPS);
    let follow_ups: Vec<_> = futures::stream::iter(only_status.iter().take(MAX_FOLLOW_UPS))
        .map(|s| async move {
            let id = s.id.clone();
            let got = client.get::<VirtualMachine>(&get_path(&id)).await;
            (id, got)
        })
        .buffer_unordered(MAX_FOLLOW_UPS)
        .collect()
        .await;
    let mut got: HashMap<String, Result<VirtualMachine, ArmError>> = follow_ups
        .into_iter()
        .map(|(id, r)| (id.to_ascii_lowercase(), r))
        .collect();
    for s in only_status {
        let key = s.id.to_ascii_lowercase();
        match got.remove(&key) {
            Some(Ok(m)) => {
                if let Some(i) = convert::vm(&m, sid) {
                    instances.push(i);
                }
            }
            // Deleted since the status listing: no longer an instance.
            Some(Err(e)) if e.status() == Some(404) => {}
            Some(Err(e)) => {
                let mut g = gap(Some(sid), GapScope::VIRTUAL_MACHINES, &e);
                g.message = format!("{}: {}", s.name, g.message);
                gaps.push(g);
                instances.push(status_only(
                    s,
                    sid,
                    &format!("its model could not be read ({e})"),
                ));
            }
            None => {
                let why = match &model_err {
                    Some(e) => format!("the VM model listing failed ({e})"),
                    None => format!(
                        "it appeared in the run-time status listing only, and more than \
                         {MAX_FOLLOW_UPS} such VMs were not read one by one"
                    ),
                };
                instances.push(status_only(s, sid, &why));
            }
        }
    }
    if over > 0 && model_err.is_none() {
        gaps.push(CoverageGap {
            subscription_id: Some(sid.to_ascii_lowercase()),
            what: GapScope::VIRTUAL_MACHINES.into(),
            status: None,
            code: "ModelListingIncomplete".into(),
            message: format!(
                "{} VMs were in the run-time status listing but not in the model listing; \
                 {MAX_FOLLOW_UPS} were read one by one, the others' models are unknown",
                over + MAX_FOLLOW_UPS
            ),
        });
    }
    progress
        .instances
        .fetch_add(instances.len() as u64, Ordering::Relaxed);
    VmListing {
        instances,
        gaps,
        unregistered: false,
    }
}

/// A VM known from the status listing alone: its identity and status, and why its model is
/// unknown. Nothing of the status item's model is kept (it may carry none).
fn status_only(s: VmStatus, sid: &str, why: &str) -> Instance {
    convert::vm_without_model(s, sid, format!("the VM's model was not read: {why}"))
}

async fn read_one_by_one(client: &ArmClient, sid: &str, progress: &Progress) -> VmListing {
    let (models, model_err) = list(client, &model_path(sid), sid).await;
    let mut gaps = Vec::new();
    if let Some(e) = &model_err {
        if is_unregistered(e) {
            return VmListing {
                instances: Vec::new(),
                gaps,
                unregistered: true,
            };
        }
        gaps.push(gap(Some(sid), GapScope::VIRTUAL_MACHINES, e));
    }
    let read: Vec<(Instance, Result<VirtualMachine, ArmError>)> = futures::stream::iter(models)
        .map(|i| async move {
            let got = client.get::<VirtualMachine>(&get_path(&i.id)).await;
            (i, got)
        })
        .buffered(16)
        .collect()
        .await;
    let mut instances = Vec::with_capacity(read.len());
    for (listed, got) in read {
        match got {
            Ok(m) => instances.extend(convert::vm(&m, sid)),
            Err(e) if e.status() == Some(404) => {}
            Err(e) => {
                gaps.push(gap(Some(sid), GapScope::VM_STATUS, &e));
                let mut i = listed;
                convert::mark_status_not_read(&mut i, format!("the VM could not be read ({e})"));
                instances.push(i);
            }
        }
    }
    progress
        .instances
        .fetch_add(instances.len() as u64, Ordering::Relaxed);
    VmListing {
        instances,
        gaps,
        unregistered: false,
    }
}
