//! The VM itself: power and provisioning state, failures, Trusted Launch, region, guest login,
//! and ReadOnly locks.

use super::context::{gap_reason, model_reason, model_unknown, status_unknown};
use super::{Context, Outcome};
use crate::inventory::{GapScope, Instance};

/// `vm-not-running`: the VM must be running. Decided only on a run-time status that was read.
pub fn not_running(i: &Instance, _ctx: &Context) -> Outcome {
    if let Some(unknown) = status_unknown(i) {
        return unknown;
    }
    match i.power_state.as_deref() {
        Some("running") => Outcome::Pass,
        Some(p @ ("starting" | "stopping")) => Outcome::Warn(format!(
            "the VM is {p}; the console works once it is running"
        )),
        Some(p @ ("stopped" | "deallocated" | "deallocating")) => {
            Outcome::Fail(format!("the VM is {p}"))
        }
        Some(p) => Outcome::Unknown(format!("power state '{p}' is not one scready knows")),
        // Microsoft documents that the power state may be missing from a statusOnly listing
        // (states-billing.md, see tests/fixtures/arm/FIELDS.md §2): absence decides nothing.
        None if !i.instance_view => {
            Outcome::Unknown("no instance view was returned, so the power state is unknown".into())
        }
        None => Outcome::Unknown("the instance view has no power state".into()),
    }
}

/// `provisioning-incomplete`: provisioning must be finished.
pub fn provisioning_incomplete(i: &Instance, _ctx: &Context) -> Outcome {
    if let Some(unknown) = model_unknown(i) {
        return unknown;
    }
    let incomplete = |p: &str| {
        ["creating", "updating", "migrating", "deleting"]
            .iter()
            .any(|s| p.eq_ignore_ascii_case(s))
    };
    match i.provisioning_state.as_deref() {
        Some(p) if incomplete(p) => Outcome::Fail(format!(
            "provisioning is not done (provisioningState = {})",
            i.provisioning_state.as_deref().unwrap_or_default()
        )),
        Some(_) => Outcome::Pass,
        None => Outcome::Unknown("the model has no provisioningState".into()),
    }
}

/// `vm-failed-state`: provisioning failed (model), or boot diagnostics report an error
/// (instance view). Either one found fails; passing needs both sources read.
pub fn failed_state(i: &Instance, _ctx: &Context) -> Outcome {
    if i.provisioning_state
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("failed"))
    {
        return Outcome::Fail("provisioning failed (provisioningState = Failed)".into());
    }
    if let Some(e) = &i.boot_diagnostics_error {
        return Outcome::Fail(format!("boot diagnostics report an error: {e}"));
    }
    if let Some(unknown) = model_unknown(i).or_else(|| status_unknown(i)) {
        return unknown;
    }
    if i.provisioning_state.is_none() {
        return Outcome::Unknown("the model has no provisioningState".into());
    }
    // The instance view's bootDiagnostics.status is "set only if there are errors encountered in
    // enabling boot diagnostics" (Compute spec, BootDiagnosticsInstanceView.status): its absence
    // in an instance view that was returned means no error; without an instance view, nothing.
    if !i.instance_view {
        return Outcome::Unknown(
            "no instance view was returned, so a boot-diagnostics error would not be seen".into(),
        );
    }
    Outcome::Pass
}

/// `trusted-launch-secure-boot`: advisory for Trusted Launch VMs with secure boot.
pub fn trusted_launch_secure_boot(i: &Instance, _ctx: &Context) -> Outcome {
    if let Some(unknown) = model_unknown(i) {
        return unknown;
    }
    // No securityType is a Standard VM: "UefiSettings will not be enabled unless this property is
    // set and is not Standard. If not specified, Standard will be returned starting api version
    // 2025-11-01" (Compute spec, SecurityProfile.securityType, as published in the Azure SDK
    // reference for Azure.ResourceManager.Compute.Models.SecurityProfile.SecurityType).
    let trusted = i
        .security_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("TrustedLaunch"));
    match (trusted, i.secure_boot) {
        (true, Some(true)) => Outcome::Fail("Trusted Launch with secure boot: after a live migration the console may connect but show no output until the guest restarts".into()),
        // uefiSettings.secureBootEnabled has no documented default (Compute spec, UefiSettings).
        (true, None) => Outcome::Unknown(
            "a Trusted Launch VM whose model does not say whether secure boot is on".into(),
        ),
        _ => Outcome::Pass,
    }
}

/// `region-unsupported`: the location must be in the policy's region list.
pub fn region_unsupported(i: &Instance, ctx: &Context) -> Outcome {
    let trimmed = i.location.trim();
    let loc: std::borrow::Cow<str> = if trimmed.bytes().any(|b| b.is_ascii_uppercase() || b == b' ')
    {
        trimmed.to_ascii_lowercase().replace(' ', "").into()
    } else {
        trimmed.into()
    };
    // `location` belongs to the ARM resource envelope (required on every tracked resource),
    // which status listings carry too: a location that is there is decided whatever was read.
    if loc.is_empty() {
        return Outcome::Unknown(
            model_reason(i).unwrap_or_else(|| "the instance has no location".into()),
        );
    }
    if ctx.policy.supported_regions.contains(loc.as_ref()) {
        Outcome::Pass
    } else {
        Outcome::Fail(format!(
            "region {loc} is not in the documented Serial Console region list"
        ))
    }
}

/// `linux-no-password-user`: a Linux VM with password login disabled has nobody who can log in
/// at the console unless a password user is added.
pub fn linux_no_password_user(i: &Instance, _ctx: &Context) -> Outcome {
    if let Some(unknown) = model_unknown(i) {
        return unknown;
    }
    match i.os_type.as_deref() {
        Some(os) if os.eq_ignore_ascii_case("Linux") => match i.disable_password_authentication {
            Some(true) => Outcome::Fail(
                "password authentication is disabled: the console opens but no local user can log in with a password".into(),
            ),
            Some(false) => Outcome::Pass,
            // The Compute spec documents no default for disablePasswordAuthentication
            // (LinuxConfiguration): absence decides nothing.
            None => Outcome::Unknown(
                "the model does not say whether password login is allowed".into(),
            ),
        },
        Some(_) => Outcome::NotApplicable,
        None => Outcome::Unknown("the OS type is not reported".into()),
    }
}

/// `resource-lock-readonly`: no ReadOnly lock may cover the VM.
pub fn readonly_lock(i: &Instance, ctx: &Context) -> Outcome {
    // The chain holds the scale set of a scale-set instance, so its locks count too.
    let id = crate::rbac::normalize_scope(&i.id);
    // Lock scopes are lower case; so are subscription ids in a scanned inventory.
    let sub = &i.subscription_id;
    let locked = ctx.locked_subscriptions.contains(sub.as_str())
        || (sub.bytes().any(|b| b.is_ascii_uppercase())
            && ctx
                .locked_subscriptions
                .contains(sub.to_ascii_lowercase().as_str()));
    let scopes = if !locked {
        Vec::new()
    } else {
        crate::rbac::scope_prefixes(&id)
    };
    let mut levelless = None;
    for scope in scopes {
        if let Some(locks) = ctx.locks_by_scope.get(scope) {
            if let Some(l) = locks
                .iter()
                .find(|l| l.level.eq_ignore_ascii_case("ReadOnly"))
            {
                return Outcome::Fail(format!(
                    "ReadOnly lock '{}' on {} covers the VM; connecting is refused (409)",
                    l.name, l.scope
                ));
            }
            // `level` is Required in the Locks spec (ManagementLockProperties, 2020-05-01, as
            // generated in Azure/bicep-types-az): a lock listed without one might be ReadOnly.
            levelless = levelless.or(locks.iter().find(|l| l.level.trim().is_empty()));
        }
    }
    match (ctx.gap(&i.subscription_id, GapScope::LOCKS), levelless) {
        (Some(g), _) => Outcome::Unknown(gap_reason(g)),
        (None, Some(l)) => Outcome::Unknown(format!(
            "lock '{}' on {} covers the VM but its level was not returned",
            l.name, l.scope
        )),
        (None, None) => Outcome::Pass,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::inventory::LockInfo;

    fn status(o: Outcome) -> &'static str {
        match o {
            Outcome::Pass => "pass",
            Outcome::Warn(_) => "warn",
            Outcome::Fail(_) => "fail",
            Outcome::Unknown(_) => "unknown",
            Outcome::NotApplicable => "n/a",
        }
    }

    #[test]
    fn power_states() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("a");
        for (p, want) in [
            ("running", "pass"),
            ("starting", "warn"),
            ("stopping", "warn"),
            ("stopped", "fail"),
            ("deallocated", "fail"),
            ("deallocating", "fail"),
            ("hibernating", "unknown"),
        ] {
            i.power_state = Some(p.into());
            assert_eq!(status(not_running(&i, &ctx)), want, "{p}");
        }
        i.power_state = None;
        assert_eq!(status(not_running(&i, &ctx)), "unknown");
        i.instance_view = false;
        assert!(
            matches!(not_running(&i, &ctx), Outcome::Unknown(m) if m.contains("no instance view"))
        );
    }

    #[test]
    fn provisioning_is_case_insensitive() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("a");
        for (p, inc, failed) in [
            ("Succeeded", "pass", "pass"),
            ("succeeded", "pass", "pass"),
            ("Updating", "fail", "pass"),
            ("creating", "fail", "pass"),
            ("Migrating", "fail", "pass"),
            ("Failed", "pass", "fail"),
            ("failed", "pass", "fail"),
        ] {
            i.provisioning_state = Some(p.into());
            assert_eq!(status(provisioning_incomplete(&i, &ctx)), inc, "{p}");
            assert_eq!(status(failed_state(&i, &ctx)), failed, "{p}");
        }
        i.provisioning_state = None;
        assert_eq!(status(provisioning_incomplete(&i, &ctx)), "unknown");
        i.provisioning_state = Some("Succeeded".into());
        i.boot_diagnostics_error = Some("storage account not found".into());
        assert_eq!(status(failed_state(&i, &ctx)), "fail");
    }

    #[test]
    fn trusted_launch_region_and_password() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("a");
        i.security_type = Some("TrustedLaunch".into());
        i.secure_boot = Some(true);
        assert_eq!(status(trusted_launch_secure_boot(&i, &ctx)), "fail");
        i.secure_boot = Some(false);
        assert_eq!(status(trusted_launch_secure_boot(&i, &ctx)), "pass");
        i.location = "West Europe".into();
        assert_eq!(status(region_unsupported(&i, &ctx)), "pass");
        i.location = "moon-1".into();
        assert_eq!(status(region_unsupported(&i, &ctx)), "fail");
        i.os_type = Some("Linux".into());
        i.disable_password_authentication = Some(true);
        assert_eq!(status(linux_no_password_user(&i, &ctx)), "fail");
        i.disable_password_authentication = None;
        assert_eq!(status(linux_no_password_user(&i, &ctx)), "unknown");
        i.os_type = Some("Windows".into());
        assert_eq!(status(linux_no_password_user(&i, &ctx)), "n/a");
    }

    #[test]
    fn readonly_locks_at_any_level_and_gaps() {
        let (mut inv, pol) = fixture();
        let i = vm("a");
        inv.locks.push(LockInfo {
            scope: "/subscriptions/s1/resourcegroups/rg".into(),
            name: "freeze".into(),
            level: "ReadOnly".into(),
        });
        let ctx = Context::new(&inv, &pol);
        assert!(matches!(readonly_lock(&i, &ctx), Outcome::Fail(m) if m.contains("freeze")));
        inv.locks[0].level = "CanNotDelete".into();
        let ctx = Context::new(&inv, &pol);
        assert_eq!(readonly_lock(&i, &ctx), Outcome::Pass);
        inv.gaps.push(crate::inventory::CoverageGap {
            subscription_id: Some("s1".into()),
            what: GapScope::LOCKS.into(),
            status: Some(403),
            code: "AuthorizationFailed".into(),
            message: "no".into(),
        });
        let ctx = Context::new(&inv, &pol);
        assert!(matches!(readonly_lock(&i, &ctx), Outcome::Unknown(m) if m.contains("403")));
    }
}

#[cfg(test)]
mod absence_tests {
    use super::super::testing::*;
    use super::*;
    use crate::inventory::LockInfo;

    fn unknown_with(o: Outcome, needle: &str) -> bool {
        matches!(&o, Outcome::Unknown(m) if m.contains(needle))
    }

    #[test]
    fn an_unread_status_makes_vm_not_running_unknown_with_the_reason() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("a");
        i.power_state = None;
        i.instance_view = false;
        i.status_not_read = Some("the VM was not in the status listing".into());
        assert!(unknown_with(
            not_running(&i, &ctx),
            "run-time status was not read: the VM was not in the status listing"
        ));
        // The flag wins over whatever a status field still holds.
        i.power_state = Some("deallocated".into());
        assert!(unknown_with(
            not_running(&i, &ctx),
            "not in the status listing"
        ));
        // A status that was read but has no power state is unknown too (DESIGN: missing → unknown).
        i.status_not_read = None;
        i.power_state = None;
        i.instance_view = true;
        assert!(unknown_with(not_running(&i, &ctx), "has no power state"));
    }

    #[test]
    fn an_unread_model_makes_every_model_check_unknown_with_the_reason() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("a");
        let why = "the model listing failed: HTTP 500";
        i.model_not_read = Some(why.into());
        // Fields a status listing leaves empty, which must not read as pass or fail.
        i.provisioning_state = None;
        i.os_type = None;
        i.disable_password_authentication = None;
        i.security_type = None;
        i.secure_boot = None;
        for (name, o) in [
            ("provisioning-incomplete", provisioning_incomplete(&i, &ctx)),
            ("vm-failed-state", failed_state(&i, &ctx)),
            (
                "trusted-launch-secure-boot",
                trusted_launch_secure_boot(&i, &ctx),
            ),
            ("linux-no-password-user", linux_no_password_user(&i, &ctx)),
        ] {
            assert!(unknown_with(o.clone(), why), "{name}: {o:?}");
        }
        // A location the status listing carried (resource envelope) is still decided…
        assert_eq!(region_unsupported(&i, &ctx), Outcome::Pass);
        // …and a missing one is unknown for the model's reason.
        i.location = String::new();
        assert!(unknown_with(region_unsupported(&i, &ctx), why));
        // The model's own values are ignored too, even when present.
        i.provisioning_state = Some("Updating".into());
        assert!(unknown_with(provisioning_incomplete(&i, &ctx), why));
    }

    #[test]
    fn failed_state_needs_both_sources_to_pass_but_either_to_fail() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("a");
        assert_eq!(failed_state(&i, &ctx), Outcome::Pass);
        // Status not read: a boot-diagnostics error would not be seen.
        i.status_not_read = Some("status listing failed".into());
        i.instance_view = false;
        assert!(unknown_with(
            failed_state(&i, &ctx),
            "status listing failed"
        ));
        // …but a Failed model still fails.
        i.provisioning_state = Some("Failed".into());
        assert!(matches!(failed_state(&i, &ctx), Outcome::Fail(_)));
        // Model not read, status read with an error: fails on the error.
        let mut j = vm("b");
        j.model_not_read = Some("x".into());
        j.provisioning_state = None;
        j.boot_diagnostics_error = Some("storage account not found".into());
        assert!(
            matches!(failed_state(&j, &ctx), Outcome::Fail(m) if m.contains("storage account not found"))
        );
        // Read model without provisioningState; read status without instance view.
        let mut k = vm("c");
        k.provisioning_state = None;
        assert!(unknown_with(failed_state(&k, &ctx), "no provisioningState"));
        k.provisioning_state = Some("Succeeded".into());
        k.instance_view = false;
        assert!(unknown_with(failed_state(&k, &ctx), "no instance view"));
    }

    #[test]
    fn absent_security_type_is_standard_and_absent_secure_boot_is_unknown() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("a");
        i.security_type = None;
        i.secure_boot = None;
        assert_eq!(trusted_launch_secure_boot(&i, &ctx), Outcome::Pass);
        i.security_type = Some("TrustedLaunch".into());
        assert!(unknown_with(
            trusted_launch_secure_boot(&i, &ctx),
            "whether secure boot is on"
        ));
        i.security_type = Some("ConfidentialVM".into());
        assert_eq!(trusted_launch_secure_boot(&i, &ctx), Outcome::Pass);
    }

    #[test]
    fn absent_password_setting_or_os_type_is_unknown() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("a");
        i.disable_password_authentication = None;
        assert!(unknown_with(
            linux_no_password_user(&i, &ctx),
            "does not say whether password login is allowed"
        ));
        i.os_type = None;
        assert!(unknown_with(linux_no_password_user(&i, &ctx), "OS type"));
    }

    #[test]
    fn a_lock_without_level_is_unknown_not_pass() {
        let (mut inv, pol) = fixture();
        let i = vm("a");
        inv.locks.push(LockInfo {
            scope: "/subscriptions/s1/resourcegroups/rg".into(),
            name: "mystery".into(),
            level: String::new(),
        });
        let ctx = Context::new(&inv, &pol);
        assert!(unknown_with(readonly_lock(&i, &ctx), "'mystery'"));
        // A ReadOnly lock elsewhere in the chain still fails.
        inv.locks.push(LockInfo {
            scope: "/subscriptions/s1".into(),
            name: "freeze".into(),
            level: "ReadOnly".into(),
        });
        let ctx = Context::new(&inv, &pol);
        assert!(matches!(readonly_lock(&i, &ctx), Outcome::Fail(m) if m.contains("freeze")));
    }
}
