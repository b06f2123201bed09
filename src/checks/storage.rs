//! The custom boot-diagnostics storage account: found, reachable, and configured the way the
//! console needs it. None of these apply to managed boot diagnostics.

use super::context::{gap_reason, model_reason, model_unknown};
use super::{Context, Outcome};
use crate::discover::hosts::blob_host;
use crate::inventory::{BootDiagnostics, HostExistence, Instance, StorageInfo};

/// Where an instance's boot-diagnostics account stands.
pub enum StorageRef<'a> {
    /// Managed or no boot diagnostics: storage checks do not apply.
    NotCustom,
    /// Boot diagnostics data could not be read.
    Invalid(String),
    /// The storageUri has no host.
    Unparseable(String),
    /// The account is in a visible subscription.
    Found(&'a StorageInfo),
    /// The host does not resolve: the account exists nowhere.
    Missing(String),
    /// The host resolves but the account is in no visible subscription.
    Elsewhere(String),
    /// It cannot be decided (a storage listing failed, or the look-up failed).
    Unknown(String),
}

/// The blob host of an instance's custom boot-diagnostics account.
pub fn custom_host(i: &Instance) -> Option<String> {
    match &i.boot_diagnostics {
        BootDiagnostics::Custom { storage_uri } => blob_host(storage_uri),
        _ => None,
    }
}

/// Resolves an instance's boot-diagnostics account (unknown when the model was not read).
pub fn resolve<'a>(i: &Instance, ctx: &Context<'a>) -> StorageRef<'a> {
    if let Some(why) = model_reason(i) {
        return StorageRef::Unknown(why);
    }
    let uri = match &i.boot_diagnostics {
        BootDiagnostics::Custom { storage_uri } => storage_uri,
        BootDiagnostics::Invalid { reason } => return StorageRef::Invalid(reason.clone()),
        _ => return StorageRef::NotCustom,
    };
    if let Some(sa) =
        crate::discover::hosts::plain_blob_host(uri).and_then(|h| ctx.storage_by_host.get(h))
    {
        return StorageRef::Found(sa);
    }
    let Some(host) = blob_host(uri) else {
        return StorageRef::Unparseable(uri.clone());
    };
    if let Some(sa) = ctx.storage_by_host.get(host.as_str()) {
        return StorageRef::Found(sa);
    }
    let gaps = || {
        ctx.storage_gaps
            .iter()
            .map(|g| gap_reason(g))
            .collect::<Vec<_>>()
            .join("; ")
    };
    match ctx.inventory.host_lookups.get(&host) {
        Some(HostExistence::Missing) => StorageRef::Missing(host),
        Some(HostExistence::Exists) if ctx.storage_gaps.is_empty() => StorageRef::Elsewhere(host),
        Some(HostExistence::Exists) => StorageRef::Unknown(format!(
            "{host} exists but is in no storage listing that was read; {}",
            gaps()
        )),
        Some(HostExistence::Unknown(why)) => StorageRef::Unknown(why.clone()),
        None if !ctx.storage_gaps.is_empty() => StorageRef::Unknown(format!(
            "{host} is in no storage listing that was read; {}",
            gaps()
        )),
        None => StorageRef::Unknown(format!("{host} was not looked up")),
    }
}

/// Runs `f` on the found account; other states map to not-applicable or unknown.
fn with_account(i: &Instance, ctx: &Context, f: impl Fn(&StorageInfo) -> Outcome) -> Outcome {
    match resolve(i, ctx) {
        StorageRef::Found(sa) => f(sa),
        StorageRef::Unknown(why) | StorageRef::Invalid(why) => Outcome::Unknown(why),
        StorageRef::NotCustom
        | StorageRef::Missing(_)
        | StorageRef::Elsewhere(_)
        | StorageRef::Unparseable(_) => Outcome::NotApplicable,
    }
}

/// `storage-firewall`: the account's firewall denies by default.
pub fn firewall(i: &Instance, ctx: &Context) -> Outcome {
    with_account(i, ctx, |sa| {
        match sa.network_default_action.as_deref() {
        Some(a) if a.eq_ignore_ascii_case("Deny") => Outcome::Fail(format!(
            "storage account {} denies network access by default (networkAcls.defaultAction = Deny)",
            sa.name
        )),
        Some(a) if a.eq_ignore_ascii_case("Allow") => Outcome::Pass,
        // No networkAcls is Allow: "By default, storage accounts accept connections from clients
        // on any network" (Microsoft Learn, "Configure Azure Storage firewalls and virtual
        // networks"; the Storage spec's NetworkRuleSet.defaultAction defaults to Allow).
        None => Outcome::Pass,
        Some(a) => Outcome::Unknown(format!(
            "storage account {} has networkAcls.defaultAction '{a}', which scready does not know",
            sa.name
        )),
    }
    })
}

/// `storage-account-not-found`: the storageUri names an account that does not exist.
pub fn account_not_found(i: &Instance, ctx: &Context) -> Outcome {
    match resolve(i, ctx) {
        StorageRef::Missing(host) => Outcome::Fail(format!(
            "storage account '{}' of the boot-diagnostics URI does not exist (in no visible subscription, and {host} does not resolve)",
            crate::discover::hosts::account_name(&host).unwrap_or(host.clone())
        )),
        StorageRef::Unparseable(uri) => Outcome::Fail(format!(
            "the boot-diagnostics storage URI '{uri}' names no storage host"
        )),
        StorageRef::Unknown(why) | StorageRef::Invalid(why) => Outcome::Unknown(why),
        StorageRef::Found(_) | StorageRef::Elsewhere(_) | StorageRef::NotCustom => Outcome::Pass,
    }
}

/// `storage-resource-group-unknown`: the account exists but in no visible subscription.
pub fn resource_group_unknown(i: &Instance, ctx: &Context) -> Outcome {
    match resolve(i, ctx) {
        StorageRef::Elsewhere(host) => Outcome::Fail(format!(
            "storage account '{}' exists but is in no subscription the scanner can see, so its resource group cannot be determined",
            crate::discover::hosts::account_name(&host).unwrap_or(host.clone())
        )),
        StorageRef::Unknown(why) | StorageRef::Invalid(why) => Outcome::Unknown(why),
        _ => Outcome::Pass,
    }
}

/// `storage-uri-not-https`: the storageUri must use https.
pub fn uri_not_https(i: &Instance, _ctx: &Context) -> Outcome {
    if let Some(unknown) = model_unknown(i) {
        return unknown;
    }
    match &i.boot_diagnostics {
        BootDiagnostics::Custom { storage_uri } => {
            let lower = storage_uri.trim().to_ascii_lowercase();
            if lower.starts_with("http://") {
                Outcome::Fail(format!(
                    "the boot-diagnostics storage URI uses http: {storage_uri}"
                ))
            } else {
                Outcome::Pass
            }
        }
        BootDiagnostics::Invalid { reason } => Outcome::Unknown(reason.clone()),
        _ => Outcome::NotApplicable,
    }
}

/// `storage-hns-enabled`: Data Lake Storage Gen2 accounts cannot hold boot diagnostics.
pub fn hns_enabled(i: &Instance, ctx: &Context) -> Outcome {
    with_account(i, ctx, |sa| match sa.is_hns_enabled {
        Some(true) => Outcome::Fail(format!(
            "storage account {} has a hierarchical namespace (Data Lake Storage Gen2)",
            sa.name
        )),
        Some(false) => Outcome::Pass,
        // No isHnsEnabled is no hierarchical namespace: "Account HierarchicalNamespace enabled if
        // sets to true" (Storage spec, StorageAccountProperties.isHnsEnabled); real listings omit
        // it on accounts without one (tests/fixtures/arm/recordings/real_StorageAccounts_List_*).
        None => Outcome::Pass,
    })
}

/// `storage-shared-key-disabled`: the console needs shared key access on the account.
pub fn shared_key_disabled(i: &Instance, ctx: &Context) -> Outcome {
    with_account(i, ctx, |sa| match sa.allow_shared_key_access {
        Some(false) => Outcome::Fail(format!(
            "storage account {} does not allow shared key access",
            sa.name
        )),
        Some(true) => Outcome::Pass,
        // "The default value is null, which is equivalent to true" (Storage spec,
        // StorageAccountProperties.allowSharedKeyAccess, as published in the Azure SDK reference).
        None => Outcome::Pass,
    })
}

/// `storage-region-mismatch`: the account should be in the VM's region.
pub fn region_mismatch(i: &Instance, ctx: &Context) -> Outcome {
    fn norm(s: &str) -> std::borrow::Cow<'_, str> {
        let t = s.trim();
        if t.bytes().any(|b| b.is_ascii_uppercase() || b == b' ') {
            t.to_ascii_lowercase().replace(' ', "").into()
        } else {
            t.into()
        }
    }
    with_account(i, ctx, |sa| {
        if norm(&sa.location).is_empty() || norm(&i.location).is_empty() {
            Outcome::Unknown("the account or the VM has no location".into())
        } else if norm(&sa.location) != norm(&i.location) {
            Outcome::Fail(format!(
                "storage account {} is in {}, the VM in {}",
                sa.name,
                norm(&sa.location),
                norm(&i.location)
            ))
        } else {
            Outcome::Pass
        }
    })
}

/// `storage-min-tls`: the account should refuse TLS below 1.2.
pub fn min_tls(i: &Instance, ctx: &Context) -> Outcome {
    fn version(sa: &StorageInfo) -> Option<&str> {
        sa.minimum_tls_version
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
    with_account(i, ctx, |sa| {
        match version(sa) {
        Some(v) if v.eq_ignore_ascii_case("TLS1_0") || v.eq_ignore_ascii_case("TLS1_1") => {
            Outcome::Fail(format!(
                "storage account {} accepts {v}; TLS 1.2 is required",
                sa.name
            ))
        }
        Some(v) if v.eq_ignore_ascii_case("TLS1_2") || v.eq_ignore_ascii_case("TLS1_3") => {
            Outcome::Pass
        }
        // Unset is not "TLS 1.2": "The default interpretation is TLS 1.0 for this property"
        // (Storage spec, StorageAccountProperties.minimumTlsVersion, as published in the Azure SDK
        // reference), and Azure Storage "still supports TLS 1.0 and TLS 1.1 for backward
        // compatibility" (Microsoft Learn, "Enforce a minimum required version of Transport Layer
        // Security (TLS) for requests to a storage account", 2025-09-24). Real listings omit it
        // (tests/fixtures/arm/recordings/real_StorageAccounts_List_*: 3 of 5 accounts).
        None => Outcome::Warn(format!(
            "storage account {} sets no minimum TLS version (minimumTlsVersion is not set), which Azure interprets as TLS 1.0; TLS 1.2 is required",
            sa.name
        )),
        Some(v) => Outcome::Unknown(format!(
            "storage account {} has minimumTlsVersion '{v}', which scready does not know",
            sa.name
        )),
    }
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::inventory::{CoverageGap, GapScope};

    fn custom(uri: &str) -> Instance {
        let mut i = vm("a");
        i.boot_diagnostics = BootDiagnostics::Custom {
            storage_uri: uri.into(),
        };
        i
    }

    #[test]
    fn managed_boot_diagnostics_skip_storage_checks() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("a");
        i.boot_diagnostics = BootDiagnostics::Managed;
        for f in [
            firewall,
            hns_enabled,
            shared_key_disabled,
            region_mismatch,
            min_tls,
            uri_not_https,
        ] {
            assert_eq!(f(&i, &ctx), Outcome::NotApplicable);
        }
        assert_eq!(account_not_found(&i, &ctx), Outcome::Pass);
    }

    #[test]
    fn account_resolved_by_host_with_trailing_slash_or_without_scheme() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        for uri in [
            "https://diag.blob.core.windows.net/",
            "https://DIAG.blob.core.windows.net",
            "diag.blob.core.windows.net//",
        ] {
            let i = custom(uri);
            assert!(
                matches!(resolve(&i, &ctx), StorageRef::Found(sa) if sa.name == "diag"),
                "{uri}"
            );
            assert!(
                matches!(firewall(&i, &ctx), Outcome::Fail(_)),
                "the fixture account denies"
            );
            assert!(matches!(hns_enabled(&i, &ctx), Outcome::Fail(_)));
            assert!(matches!(min_tls(&i, &ctx), Outcome::Fail(_)));
            assert!(matches!(shared_key_disabled(&i, &ctx), Outcome::Fail(_)));
            assert!(matches!(region_mismatch(&i, &ctx), Outcome::Fail(_)));
        }
        let http = custom("http://diag.blob.core.windows.net/");
        assert!(matches!(uri_not_https(&http, &ctx), Outcome::Fail(_)));
    }

    #[test]
    fn missing_elsewhere_and_unknown_accounts() {
        let (mut inv, pol) = fixture();
        inv.host_lookups
            .insert("gone.blob.core.windows.net".into(), HostExistence::Missing);
        inv.host_lookups.insert(
            "other.blob.core.usgovcloudapi.net".into(),
            HostExistence::Exists,
        );
        let ctx = Context::new(&inv, &pol);
        let gone = custom("https://gone.blob.core.windows.net/");
        assert!(matches!(account_not_found(&gone, &ctx), Outcome::Fail(m) if m.contains("'gone'")));
        assert_eq!(firewall(&gone, &ctx), Outcome::NotApplicable);
        let other = custom("https://other.blob.core.usgovcloudapi.net/");
        assert_eq!(account_not_found(&other, &ctx), Outcome::Pass);
        assert!(
            matches!(resource_group_unknown(&other, &ctx), Outcome::Fail(m) if m.contains("'other'"))
        );
        // With a storage listing gap, an account that exists somewhere cannot be placed.
        inv.gaps.push(CoverageGap {
            subscription_id: Some("s2".into()),
            what: GapScope::STORAGE_ACCOUNTS.into(),
            status: Some(403),
            code: "AuthorizationFailed".into(),
            message: "denied".into(),
        });
        let ctx = Context::new(&inv, &pol);
        assert!(
            matches!(resource_group_unknown(&other, &ctx), Outcome::Unknown(m) if m.contains("403"))
        );
        assert!(matches!(firewall(&other, &ctx), Outcome::Unknown(_)));
        // …but a host that does not resolve is missing whatever the gaps.
        assert!(matches!(account_not_found(&gone, &ctx), Outcome::Fail(_)));
    }
}

#[cfg(test)]
mod absence_tests {
    use super::super::testing::*;
    use super::*;

    fn custom() -> Instance {
        let mut i = vm("a");
        i.boot_diagnostics = BootDiagnostics::Custom {
            storage_uri: "https://diag.blob.core.windows.net/".into(),
        };
        i
    }

    /// The fixture account `diag` with every optional property absent.
    fn bare() -> (crate::inventory::Inventory, crate::policy::Policy) {
        let (mut inv, pol) = fixture();
        let sa = &mut inv.storage_accounts[0];
        sa.is_hns_enabled = None;
        sa.network_default_action = None;
        sa.allow_shared_key_access = None;
        sa.minimum_tls_version = None;
        sa.location = "westeurope".into();
        (inv, pol)
    }

    #[test]
    fn absent_account_properties_read_as_their_documented_defaults() {
        let (inv, pol) = bare();
        let ctx = Context::new(&inv, &pol);
        let i = custom();
        // networkAcls absent → Allow; isHnsEnabled absent → no namespace;
        // allowSharedKeyAccess absent → allowed.
        assert_eq!(firewall(&i, &ctx), Outcome::Pass);
        assert_eq!(hns_enabled(&i, &ctx), Outcome::Pass);
        assert_eq!(shared_key_disabled(&i, &ctx), Outcome::Pass);
        assert_eq!(region_mismatch(&i, &ctx), Outcome::Pass);
    }

    #[test]
    fn an_unset_minimum_tls_version_warns_as_tls_1_0() {
        let (mut inv, pol) = bare();
        let i = custom();
        let ctx = Context::new(&inv, &pol);
        let unset = min_tls(&i, &ctx);
        assert!(
            matches!(&unset, Outcome::Warn(m) if m.contains("sets no minimum TLS version") && m.contains("TLS 1.0")),
            "{unset:?}"
        );
        inv.storage_accounts[0].minimum_tls_version = Some("TLS1_0".into());
        let ctx = Context::new(&inv, &pol);
        let old = min_tls(&i, &ctx);
        assert!(matches!(&old, Outcome::Fail(m) if m.contains("accepts TLS1_0")));
        assert_ne!(old, unset, "the two messages differ");
        for (v, want_pass) in [("TLS1_2", true), ("tls1_3", true), ("", false)] {
            inv.storage_accounts[0].minimum_tls_version = Some(v.into());
            let ctx = Context::new(&inv, &pol);
            let o = min_tls(&i, &ctx);
            if want_pass {
                assert_eq!(o, Outcome::Pass, "{v}");
            } else {
                assert!(
                    matches!(o, Outcome::Warn(_)),
                    "an empty value is unset: {o:?}"
                );
            }
        }
        inv.storage_accounts[0].minimum_tls_version = Some("SSL3".into());
        let ctx = Context::new(&inv, &pol);
        assert!(matches!(min_tls(&i, &ctx), Outcome::Unknown(m) if m.contains("'SSL3'")));
    }

    #[test]
    fn an_unknown_firewall_action_is_unknown() {
        let (mut inv, pol) = bare();
        inv.storage_accounts[0].network_default_action = Some("Maybe".into());
        let ctx = Context::new(&inv, &pol);
        assert!(matches!(firewall(&custom(), &ctx), Outcome::Unknown(m) if m.contains("'Maybe'")));
    }

    #[test]
    fn an_unread_model_makes_every_storage_check_unknown() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        for mut i in [custom(), vm("managed"), {
            let mut v = vm("absent");
            v.boot_diagnostics = BootDiagnostics::Absent;
            v
        }] {
            i.model_not_read = Some("the VM was only in the status listing".into());
            for (name, f) in [
                (
                    "storage-firewall",
                    firewall as fn(&Instance, &Context) -> Outcome,
                ),
                ("storage-account-not-found", account_not_found),
                ("storage-resource-group-unknown", resource_group_unknown),
                ("storage-uri-not-https", uri_not_https),
                ("storage-hns-enabled", hns_enabled),
                ("storage-shared-key-disabled", shared_key_disabled),
                ("storage-region-mismatch", region_mismatch),
                ("storage-min-tls", min_tls),
            ] {
                let o = f(&i, &ctx);
                assert!(
                    matches!(&o, Outcome::Unknown(m) if m.contains("only in the status listing")),
                    "{name} on {}: {o:?}",
                    i.name
                );
            }
        }
    }
}
