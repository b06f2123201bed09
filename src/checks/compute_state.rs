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
