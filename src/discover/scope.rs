//! Which subscriptions a scan reads: the one place the scope is decided.
//!
//! The selected set is
//!
//! ```text
//! (explicit subscriptions ∪ subscriptions below the included management groups,
//!  or every visible subscription when neither is given)
//!   − excluded subscriptions − subscriptions below the excluded management groups
//! ```
//!
//! Explicit subscriptions are `--subscription` and `--subscriptions-file`. The subscriptions
//! below a management group, through nested groups, come from its `descendants` listing
//! ([`api::MANAGEMENT_GROUPS`]). Every group is read before any subscription: a group that
//! cannot be read is a [`ScopeError`] and the scan does not start, because a scan of a scope
//! it could not determine would look complete and be wrong.
//!
//! A subscription is keyed by its id everywhere; display names are not unique and never
//! merge two subscriptions. A subscription found below an included group but absent from the
//! subscription listing (the identity holds no role on it) is not read: it becomes a
//! [`CoverageGap`] naming it and its group, so the run is partial rather than silently smaller.

use super::{api, gap};
use crate::arm::models::{ManagementGroupDescendant, Subscription};
use crate::arm::{ArmClient, ArmError, Lenient};
use crate::inventory::{CoverageGap, GapScope, SubscriptionInfo};
use std::collections::{HashMap, HashSet};

/// The permission the `descendants` listing needs at the group ("Management Groups - Get
/// Descendants"; Reader and Management Group Reader grant it, assigned at the group or above).
pub const DESCENDANTS_PERMISSION: &str = "Microsoft.Management/managementGroups/descendants/read";

/// `type` of a subscription in a `descendants` listing (spec example `GetDescendants.json`).
const DESCENDANT_SUBSCRIPTION: &str = "Microsoft.Management/managementGroups/subscriptions";

/// Gap code of a subscription selected through a management group that the subscription
/// listing does not show.
pub const NOT_VISIBLE: &str = "NotVisible";

/// What to scan, before the shard or any other final filter.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// The subscriptions to read, explicit ones first, then by group, each once.
    pub subscriptions: Vec<SubscriptionInfo>,
    /// What could not be resolved (the subscription listing, a named subscription, a
    /// subscription of a group that the listing does not show).
    pub gaps: Vec<CoverageGap>,
}

/// A management group that could not be read: the scan's scope is unknown.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ScopeError {
    /// The group.
    pub group: String,
    /// HTTP status, when ARM answered.
    pub status: Option<u16>,
    /// ARM error code or failure kind.
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
}

impl ScopeError {
    fn of(group: &str, e: &ArmError) -> ScopeError {
        let status = e.status();
        let told = e.message();
        let message = match status {
            Some(403) | Some(404) => format!(
                "management group '{group}' could not be read ({} {}): the identity needs \
                 {DESCENDANTS_PERMISSION} at that group, for example Reader or Management Group \
                 Reader assigned at the group or above it; check also that '{group}' is the \
                 group's id (its name), not its display name. Nothing was scanned. ARM said: {told}",
                status.unwrap_or_default(),
                e.code()
            ),
            _ => format!(
                "management group '{group}': its descendants could not be listed ({}): {told}. \
                 Nothing was scanned",
                e.code()
            ),
        };
        ScopeError {
            group: group.to_string(),
            status,
            code: e.code().to_string(),
            message,
        }
    }

    /// The error as a coverage gap (for callers that go on without the group).
    pub fn as_gap(&self) -> CoverageGap {
        CoverageGap {
            subscription_id: None,
            what: GapScope::MANAGEMENT_GROUPS.to_string(),
            status: self.status,
            code: self.code.clone(),
            message: self.message.clone(),
        }
    }
}

/// A subscription found below a group.
#[derive(Clone, Debug)]
struct GroupMember {
    id: String,
    display_name: String,
    group: String,
}

/// The subscriptions below `group`, through nested groups, in listing order.
async fn descendants(client: &ArmClient, group: &str) -> Result<Vec<GroupMember>, ScopeError> {
    let path = format!(
        "/providers/Microsoft.Management/managementGroups/{group}/descendants?api-version={}",
        api::MANAGEMENT_GROUPS
    );
    let (items, err) = client.list_all::<ManagementGroupDescendant>(&path).await;
    if let Some(e) = err {
        return Err(ScopeError::of(group, &e));
    }
    let mut out = Vec::new();
    for d in items.iter().filter_map(Lenient::get) {
        let id = d.id.get().map(String::as_str).unwrap_or("");
        let is_subscription = d
            .resource_type
            .get()
            .is_some_and(|t| t.eq_ignore_ascii_case(DESCENDANT_SUBSCRIPTION))
            || id.to_ascii_lowercase().starts_with("/subscriptions/");
        if !is_subscription {
            continue;
        }
        // `name` is the GUID; `id` is `/subscriptions/{guid}` (GetDescendants.json).
        let guid = d
            .name
            .get()
            .cloned()
            .unwrap_or_else(|| id.rsplit('/').next().unwrap_or("").to_string());
        let Ok(guid) = crate::cli::scan::subscription_id(&guid) else {
            tracing::warn!(
                group,
                "a descendant typed as a subscription has no subscription id: {}",
                crate::text::display_safe(&guid)
            );
            continue;
        };
        let props = d.properties.get();
        out.push(GroupMember {
            id: guid,
            display_name: props
                .and_then(|p| p.display_name.get().cloned())
                .unwrap_or_default(),
            group: props
                .and_then(|p| p.parent.get())
                .and_then(|p| p.id.get())
                .and_then(|p| p.rsplit('/').next())
                .unwrap_or(group)
                .to_string(),
        });
    }
    Ok(out)
}

fn lower_all(v: &[String]) -> Vec<String> {
    v.iter().map(|s| s.to_ascii_lowercase()).collect()
}

/// A subscription as the inventory keeps it, from the listing or a GET.
pub fn subscription_info(id: String, s: &Subscription) -> SubscriptionInfo {
    SubscriptionInfo {
        name: s.display_name.get().cloned().unwrap_or_default(),
        tenant_id: s.tenant_id.get().cloned().unwrap_or_default(),
        state: s.state.get().cloned(),
        console_disabled: None,
        unregistered: Vec::new(),
        managed_by_tenants: s
            .managed_by_tenants
            .get()
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| t.tenant_id.get().map(|t| t.to_ascii_lowercase()))
                    .collect()
            })
            .unwrap_or_default(),
        id,
    }
}

/// Decides the subscriptions a scan reads (see the module documentation). Reads every named
/// management group first and fails, before any subscription is read, when one cannot be read.
pub async fn select(
    client: &ArmClient,
    options: &super::DiscoverOptions,
) -> Result<Selection, ScopeError> {
    let included_groups = &options.management_groups;
    let excluded_groups = &options.exclude_management_groups;
    // Every group at once; the first failure in the order given is the one reported.
    let reads = futures::future::join_all(
        included_groups
            .iter()
            .chain(excluded_groups)
            .map(|g| descendants(client, g)),
    )
    .await;
    let mut included_members = Vec::new();
    let mut excluded: HashSet<String> = lower_all(&options.exclude).into_iter().collect();
    for (n, read) in reads.into_iter().enumerate() {
        let members = read?;
        if n < included_groups.len() {
            included_members.extend(members);
        } else {
            excluded.extend(members.into_iter().map(|m| m.id));
        }
    }
    let explicit = lower_all(&options.subscriptions);
    let mut selection = Selection::default();
    if explicit.is_empty() && included_groups.is_empty() {
        let (listed, err) = list_visible(client).await;
        if let Some(e) = err {
            selection.gaps.push(gap(None, GapScope::SUBSCRIPTIONS, &e));
        }
        let mut seen = HashSet::new();
        for (id, s) in listed {
            if !excluded.contains(&id) && seen.insert(id.clone()) {
                selection.subscriptions.push(subscription_info(id, &s));
            }
        }
        return Ok(selection);
    }
    // Explicit subscriptions first, then the groups' in listing order; each id once.
    let mut seen = HashSet::new();
    let explicit: Vec<String> = explicit
        .into_iter()
        .filter(|id| !excluded.contains(id) && seen.insert(id.clone()))
        .collect();
    let members: Vec<GroupMember> = included_members
        .into_iter()
        .filter(|m| !excluded.contains(&m.id) && seen.insert(m.id.clone()))
        .collect();
    // With groups, one subscription listing resolves every subscription at once; a
    // subscription it does not show is looked up on its own only when it was named.
    let mut visible: HashMap<String, Subscription> = HashMap::new();
    let mut listing_failed = false;
    if !included_groups.is_empty() {
        let (listed, err) = list_visible(client).await;
        if let Some(e) = err {
            listing_failed = true;
            selection.gaps.push(gap(None, GapScope::SUBSCRIPTIONS, &e));
        }
        visible.extend(listed);
    }
    for id in explicit {
        match visible.remove(&id) {
            Some(s) => selection.subscriptions.push(subscription_info(id, &s)),
            None => selection
                .subscriptions
                .push(get_named(client, id, &mut selection.gaps).await),
        }
    }
    for m in members {
        match visible.remove(&m.id) {
            Some(s) => selection.subscriptions.push(subscription_info(m.id, &s)),
            // The listing failed: what it would have said is unknown, so ask.
            None if listing_failed => selection
                .subscriptions
                .push(get_named(client, m.id, &mut selection.gaps).await),
            None => selection.gaps.push(CoverageGap {
                message: format!(
                    "subscription '{}' ({}) is below management group '{}' but not in the \
                     subscription listing: the identity holds no role on it (or it was moved or \
                     deleted); not scanned",
                    m.display_name, m.id, m.group
                ),
                subscription_id: Some(m.id),
                what: GapScope::SUBSCRIPTION.to_string(),
                status: None,
                code: NOT_VISIBLE.to_string(),
            }),
        }
    }
    Ok(selection)
}

/// Every subscription the identity sees, by lower-case id, in listing order.
async fn list_visible(client: &ArmClient) -> (Vec<(String, Subscription)>, Option<ArmError>) {
    let (items, err) = client
        .list_all::<Subscription>(&format!(
            "/subscriptions?api-version={}",
            api::SUBSCRIPTIONS
        ))
        .await;
    let listed = items
        .into_iter()
        .filter_map(|s| match s {
            Lenient::Value(s) => Some(s),
            _ => None,
        })
        .filter_map(|s| {
            let id = s.subscription_id.get()?.to_ascii_lowercase();
            Some((id, s))
        })
        .collect();
    (listed, err)
}

/// A named subscription, read on its own; when that fails, a gap and the subscription with
/// its id only (its listings say more precisely what is reachable).
async fn get_named(
    client: &ArmClient,
    id: String,
    gaps: &mut Vec<CoverageGap>,
) -> SubscriptionInfo {
    match client
        .get::<Subscription>(&format!(
            "/subscriptions/{id}?api-version={}",
            api::SUBSCRIPTIONS
        ))
        .await
    {
        Ok(s) => subscription_info(id, &s),
        Err(e) => {
            gaps.push(gap(Some(&id), GapScope::SUBSCRIPTION, &e));
            SubscriptionInfo {
                id,
                ..Default::default()
            }
        }
    }
}
