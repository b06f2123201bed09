//! Discovery: turns ARM listings into the [`Inventory`].
//!
//! Subscriptions are listed (or taken from `--subscription`), then every subscription is read
//! concurrently — VMs (the model listing joined with the `statusOnly=true` status listing, see
//! [`vms`]), scale sets and their Uniform instances, storage accounts, the console switch and
//! management locks. A provider the subscription never registered answers 409
//! `MissingSubscriptionRegistration`: the subscription holds none of its resources, which is
//! recorded on the subscription, not as a gap. A listing
//! that fails after retries becomes a [`CoverageGap`]; the scan goes on. Boot-diagnostics blob
//! hosts that match no visible storage account are looked up once each.

pub mod access;
pub mod convert;
pub mod guest;
pub mod hosts;
pub mod scope;
pub mod shard;
pub mod vms;

pub use vms::VmReads;

use crate::arm::models::{
    ConsoleStatus, ManagementLock, ScaleSetVm, StorageAccount, VirtualMachineScaleSet,
};
use crate::arm::{ArmClient, ArmError, Lenient};
use crate::cloud::Cloud;
use crate::inventory::*;
use foldhash::{HashSet, HashSetExt};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// API versions of the operations read.
pub mod api {
    /// Subscriptions.
    pub const SUBSCRIPTIONS: &str = "2022-12-01";
    /// Compute (VMs, scale sets, instances).
    pub const COMPUTE: &str = "2025-04-01";
    /// Storage accounts.
    pub const STORAGE: &str = "2025-01-01";
    /// Microsoft.SerialConsole.
    pub const SERIAL_CONSOLE: &str = "2024-07-01";
    /// Management locks.
    pub const LOCKS: &str = "2020-05-01";
    /// Management groups (`descendants`).
    pub const MANAGEMENT_GROUPS: &str = "2020-05-01";
}

/// What to discover.
#[derive(Clone, Debug, Default)]
pub struct DiscoverOptions {
    /// Subscriptions to scan (all visible when empty).
    pub subscriptions: Vec<String>,
    /// Subscriptions to skip.
    pub exclude: Vec<String>,
    /// Management groups whose subscriptions (through nested groups) are scanned.
    pub management_groups: Vec<String>,
    /// Management groups whose subscriptions are skipped.
    pub exclude_management_groups: Vec<String>,
    /// Subscriptions read at once.
    pub subscription_parallelism: usize,
    /// How VMs are read (the two listings joined, or one GET per VM for verification).
    pub vm_reads: VmReads,
    /// Read only the selected subscriptions of this shard (`--shard K/N`).
    pub shard: Option<shard::Shard>,
}

/// Live counters for progress displays.
#[derive(Debug, Default)]
pub struct Progress {
    /// Subscriptions in scope (known after the subscription listing).
    pub subscriptions_total: AtomicU64,
    /// Subscriptions fully read.
    pub subscriptions_done: AtomicU64,
    /// Instances found so far.
    pub instances: AtomicU64,
}

/// Discovers the estate.
pub async fn discover(
    client: &ArmClient,
    cloud: &Cloud,
    resolver: &hosts::HostResolver,
    options: &DiscoverOptions,
    progress: Arc<Progress>,
) -> Inventory {
    discover_with_access(client, cloud, resolver, options, progress, false)
        .await
        .0
}

/// Discovers the estate and, when `access` is set, reads each subscription's
/// [`access::SubscriptionAccess`] alongside its other listings, for
/// [`access::discover_access`]. A management group that cannot be read becomes a gap here
/// (a scan decides the scope first with [`scope::select`] and stops instead).
pub async fn discover_with_access(
    client: &ArmClient,
    cloud: &Cloud,
    resolver: &hosts::HostResolver,
    options: &DiscoverOptions,
    progress: Arc<Progress>,
    access: bool,
) -> (Inventory, Vec<access::SubscriptionAccess>) {
    let selection = match scope::select(client, options).await {
        Ok(s) => s,
        Err(e) => scope::Selection {
            subscriptions: Vec::new(),
            gaps: vec![e.as_gap()],
        },
    };
    discover_selected(
        client, cloud, resolver, options, selection, progress, access,
    )
    .await
}

/// Discovers the subscriptions of a [`scope::Selection`] (see [`discover_with_access`]).
pub async fn discover_selected(
    client: &ArmClient,
    cloud: &Cloud,
    resolver: &hosts::HostResolver,
    options: &DiscoverOptions,
    selection: scope::Selection,
    progress: Arc<Progress>,
    access: bool,
) -> (Inventory, Vec<access::SubscriptionAccess>) {
    let scanned_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut inventory = Inventory {
        schema_version: INVENTORY_SCHEMA_VERSION,
        scanned_at,
        cloud: cloud.name.clone(),
        gaps: selection.gaps,
        ..Default::default()
    };
    let mut subs = selection.subscriptions;
    // The shard filter is the last step of the selection.
    shard::retain(options.shard, &mut subs, &mut inventory.gaps);
    progress
        .subscriptions_total
        .store(subs.len() as u64, Ordering::Relaxed);
    // Subscriptions are read as they come (one slow subscription holds up no other), and put
    // back in listing order afterwards.
    let parallelism = options.subscription_parallelism.max(1);
    let mut results: Vec<(usize, SubscriptionResult)> =
        futures::stream::iter(subs.into_iter().enumerate())
            .map(|(n, sub)| {
                let progress = progress.clone();
                async move {
                    let r =
                        read_subscription(client, sub, &progress, access, options.vm_reads).await;
                    progress.subscriptions_done.fetch_add(1, Ordering::Relaxed);
                    (n, r)
                }
            })
            .buffer_unordered(parallelism)
            .collect()
            .await;
    results.sort_by_key(|(n, _)| *n);
    let mut prefetched = Vec::new();
    let results: Vec<SubscriptionResult> = results
        .into_iter()
        .map(|(_, mut r)| {
            prefetched.extend(r.access.take());
            r
        })
        .collect();
    // Sized once: the inventory is the scan's largest structure.
    inventory
        .instances
        .reserve_exact(results.iter().map(|r| r.instances.len()).sum());
    for r in results {
        inventory.subscriptions.push(r.info);
        inventory.instances.extend(r.instances);
        inventory.storage_accounts.extend(r.storage);
        inventory.locks.extend(r.locks);
        inventory.gaps.extend(r.gaps);
    }
    // Blob hosts no visible account answers for: does the account exist at all?
    let known: HashSet<&str> = inventory
        .storage_accounts
        .iter()
        .map(|s| s.blob_host.as_str())
        .collect();
    let mut unknown_hosts: Vec<String> = inventory
        .instances
        .iter()
        .filter_map(|i| match &i.boot_diagnostics {
            BootDiagnostics::Custom { storage_uri } => hosts::blob_host(storage_uri),
            _ => None,
        })
        .filter(|h| !known.contains(h.as_str()))
        .collect();
    unknown_hosts.sort();
    unknown_hosts.dedup();
    inventory.host_lookups = resolver.lookup_all(&unknown_hosts).await;
    (inventory, prefetched)
}

/// Namespaces whose registration decides what a subscription can hold.
pub const NAMESPACE_COMPUTE: &str = "Microsoft.Compute";
/// See [`NAMESPACE_COMPUTE`].
pub const NAMESPACE_STORAGE: &str = "Microsoft.Storage";
/// See [`NAMESPACE_COMPUTE`].
pub const NAMESPACE_SERIAL_CONSOLE: &str = "Microsoft.SerialConsole";

/// Whether ARM refused a call because the subscription never registered the resource
/// provider: `409 Conflict` with code `MissingSubscriptionRegistration` ("Resolve errors for
/// resource provider registration", Azure Resource Manager troubleshooting docs). Such a
/// subscription simply holds none of that provider's resources: an empty answer, not a gap.
pub(crate) fn is_unregistered(e: &ArmError) -> bool {
    e.status() == Some(409)
        && e.code()
            .eq_ignore_ascii_case("MissingSubscriptionRegistration")
}

pub(crate) fn gap(subscription: Option<&str>, what: &str, e: &ArmError) -> CoverageGap {
    CoverageGap {
        subscription_id: subscription.map(|s| s.to_ascii_lowercase()),
        what: what.to_string(),
        status: e.status(),
        code: e.code().to_string(),
        message: e.message(),
    }
}

struct SubscriptionResult {
    info: SubscriptionInfo,
    instances: Vec<Instance>,
    storage: Vec<StorageInfo>,
    locks: Vec<LockInfo>,
    gaps: Vec<CoverageGap>,
    access: Option<access::SubscriptionAccess>,
}

async fn read_subscription(
    client: &ArmClient,
    mut info: SubscriptionInfo,
    progress: &Progress,
    access: bool,
    vm_reads: VmReads,
) -> SubscriptionResult {
    let sid = info.id.clone();
    let gaps = Mutex::new(Vec::new());
    let note = |what: &str, e: &ArmError| gaps.lock().unwrap().push(gap(Some(&sid), what, e));

    let vms = vms::read(client, &sid, progress, vm_reads);

    let scale_sets = async {
        let (items, err) = client
            .list_all::<VirtualMachineScaleSet>(&format!(
                "/subscriptions/{sid}/providers/Microsoft.Compute/virtualMachineScaleSets?api-version={}",
                api::COMPUTE
            ))
            .await;
        let unregistered = err.as_ref().is_some_and(is_unregistered);
        if let Some(e) = err.filter(|e| !is_unregistered(e)) {
            note(GapScope::SCALE_SETS, &e);
        }
        let mut seen_sets = HashSet::new();
        let uniform: Vec<(String, String, String)> = items
            .iter()
            .filter_map(Lenient::get)
            .filter(|ss| {
                ss.id
                    .get()
                    .is_some_and(|id| seen_sets.insert(id.to_ascii_lowercase()))
            })
            .filter(|ss| {
                // Flexible members are listed as VMs; everything else has instances here.
                !ss.properties
                    .get()
                    .and_then(|p| p.orchestration_mode.get())
                    .is_some_and(|m| m.eq_ignore_ascii_case("Flexible"))
            })
            .filter_map(|ss| {
                Some((
                    ss.id.get()?.clone(),
                    ss.name.get().cloned().unwrap_or_default(),
                    ss.location.get().cloned().unwrap_or_default(),
                ))
            })
            .collect();
        let sid_ref: &str = &sid;
        let per_set = futures::stream::iter(uniform)
            .map(|(id, name, location)| async move {
                let (items, err) = client
                    .list_all::<ScaleSetVm>(&format!(
                        "{id}/virtualMachines?api-version={}&$expand=instanceView",
                        api::COMPUTE
                    ))
                    .await;
                let instances: Vec<Instance> = items
                    .iter()
                    .filter_map(Lenient::get)
                    .filter_map(|m| convert::scale_set_instance(m, sid_ref, &name, &location))
                    .collect();
                (name, instances, err)
            })
            .buffer_unordered(64)
            .collect::<Vec<_>>()
            .await;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for (name, instances, err) in per_set {
            if let Some(e) = err {
                let mut g = gap(Some(&sid), GapScope::SCALE_SET_INSTANCES, &e);
                g.message = format!("scale set {name}: {}", g.message);
                gaps.lock().unwrap().push(g);
            }
            for i in instances {
                if seen.insert(i.id.to_ascii_lowercase()) {
                    progress.instances.fetch_add(1, Ordering::Relaxed);
                    out.push(i);
                }
            }
        }
        (out, unregistered)
    };

    let storage = async {
        let (items, err) = client
            .list_all::<StorageAccount>(&format!(
                "/subscriptions/{sid}/providers/Microsoft.Storage/storageAccounts?api-version={}",
                api::STORAGE
            ))
            .await;
        let unregistered = err.as_ref().is_some_and(is_unregistered);
        if let Some(e) = err.filter(|e| !is_unregistered(e)) {
            note(GapScope::STORAGE_ACCOUNTS, &e);
        }
        let mut seen = HashSet::new();
        let accounts = items
            .iter()
            .filter_map(Lenient::get)
            .filter_map(|m| convert::storage(m, &sid))
            .filter(|s| seen.insert(s.id.to_ascii_lowercase()))
            .collect::<Vec<_>>();
        (accounts, unregistered)
    };

    let console = async {
        match client
            .get::<ConsoleStatus>(&format!(
                "/subscriptions/{sid}/providers/Microsoft.SerialConsole/consoleServices/default?api-version={}",
                api::SERIAL_CONSOLE
            ))
            .await
        {
            Ok(c) => match c.properties.get().map(|p| &p.disabled) {
                Some(Lenient::Value(d)) => Some((*d, false)),
                // A missing flag means the switch was never turned off: Serial Console is on
                // for every subscription until someone disables it ("Enable and disable the
                // Azure Serial Console": all subscriptions have serial console access enabled by
                // default), and `disabled` is optional in the provider's model
                // (`SerialConsoleStatus.disabled?: boolean`, @azure/arm-serialconsole).
                Some(Lenient::Absent) | None => Some((false, false)),
                Some(Lenient::Invalid(v)) => {
                    note(
                        GapScope::CONSOLE,
                        &ArmError::Decode(format!("properties.disabled is {v}")),
                    );
                    None
                }
            },
            // Never registered: nobody ever turned the switch off there (turning it off is a
            // POST to this provider, which an unregistered subscription cannot have received),
            // so the console is on, as it is by default.
            Err(e) if is_unregistered(&e) => Some((false, true)),
            Err(e) => {
                note(GapScope::CONSOLE, &e);
                None
            }
        }
    };

    let locks = async {
        let (items, err) = client
            .list_all::<ManagementLock>(&format!(
                "/subscriptions/{sid}/providers/Microsoft.Authorization/locks?api-version={}",
                api::LOCKS
            ))
            .await;
        if let Some(e) = err {
            note(GapScope::LOCKS, &e);
        }
        items
            .iter()
            .filter_map(Lenient::get)
            .filter_map(convert::lock)
            .collect::<Vec<_>>()
    };

    let access = async {
        if access {
            Some(access::read_subscription_access(client, &sid).await)
        } else {
            None
        }
    };

    let (
        vms,
        (ss_instances, ss_unregistered),
        (storage, storage_unregistered),
        console,
        locks,
        access,
    ) = futures::join!(vms, scale_sets, storage, console, locks, access);
    let mut gaps = gaps.into_inner().unwrap();
    gaps.extend(vms.gaps);
    info.console_disabled = console.map(|(disabled, _)| disabled);
    for (unregistered, namespace) in [
        (vms.unregistered || ss_unregistered, NAMESPACE_COMPUTE),
        (storage_unregistered, NAMESPACE_STORAGE),
        (console.is_some_and(|(_, u)| u), NAMESPACE_SERIAL_CONSOLE),
    ] {
        if unregistered {
            info.unregistered.push(namespace.to_string());
        }
    }
    let mut instances = vms.instances;
    instances.extend(ss_instances);
    SubscriptionResult {
        info,
        instances,
        storage,
        locks,
        gaps,
        access,
    }
}

/// Instance counts by kind (for summaries).
pub fn count_by_kind(instances: &[Instance]) -> BTreeMap<InstanceKind, usize> {
    let mut m = BTreeMap::new();
    for i in instances {
        *m.entry(i.kind).or_default() += 1;
    }
    m
}
