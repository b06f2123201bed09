//! Boot diagnostics: enabled at all, and applied to scale-set instances.

use super::context::model_unknown;
use super::{Context, Outcome};
use crate::inventory::{BootDiagnostics, Instance, InstanceKind};

/// `boot-diagnostics-disabled`: boot diagnostics must be enabled (managed or custom storage).
/// Decided only on a model that was read: a status listing carries no `diagnosticsProfile`.
pub fn disabled(i: &Instance, _ctx: &Context) -> Outcome {
    if let Some(unknown) = model_unknown(i) {
        return unknown;
    }
    match &i.boot_diagnostics {
        BootDiagnostics::Managed | BootDiagnostics::Custom { .. } => Outcome::Pass,
        // A model without diagnosticsProfile means "never configured": recorded GETs of a VM
        // created without boot diagnostics carry none (tests/fixtures/arm/recordings/decoded/02–04).
        BootDiagnostics::Absent => Outcome::Fail(
            "boot diagnostics are not configured (the model has no diagnosticsProfile)".into(),
        ),
        BootDiagnostics::Disabled => Outcome::Fail("boot diagnostics are disabled".into()),
        BootDiagnostics::Invalid { reason } => Outcome::Unknown(reason.clone()),
    }
}

/// `vmss-instance-outdated`: a Uniform instance must run the scale set's latest model.
pub fn instance_outdated(i: &Instance, _ctx: &Context) -> Outcome {
    if i.kind != InstanceKind::VmssInstance {
        return Outcome::NotApplicable;
    }
    if let Some(unknown) = model_unknown(i) {
        return unknown;
    }
    match i.latest_model_applied {
        Some(true) => Outcome::Pass,
        Some(false) => Outcome::Fail(
            "the instance does not run the scale set's latest model (latestModelApplied = false); a boot-diagnostics change to the scale set has not reached it".into(),
        ),
        // Read-only, and the Compute spec documents no default for it: absence decides nothing.
        None => Outcome::Unknown("the instance does not report latestModelApplied".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn absent_disabled_managed_custom_invalid() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("a");
        i.boot_diagnostics = BootDiagnostics::Absent;
        assert!(
            matches!(disabled(&i, &ctx), Outcome::Fail(m) if m.contains("no diagnosticsProfile"))
        );
        i.boot_diagnostics = BootDiagnostics::Disabled;
        assert!(matches!(disabled(&i, &ctx), Outcome::Fail(_)));
        i.boot_diagnostics = BootDiagnostics::Managed;
        assert_eq!(disabled(&i, &ctx), Outcome::Pass);
        i.boot_diagnostics = BootDiagnostics::Custom {
            storage_uri: "https://x.blob.core.windows.net/".into(),
        };
        assert_eq!(disabled(&i, &ctx), Outcome::Pass);
        i.boot_diagnostics = BootDiagnostics::Invalid {
            reason: "enabled is \"yes\"".into(),
        };
        assert!(matches!(disabled(&i, &ctx), Outcome::Unknown(_)));
    }

    #[test]
    fn outdated_only_for_uniform_instances() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("a");
        i.latest_model_applied = Some(false);
        assert_eq!(instance_outdated(&i, &ctx), Outcome::NotApplicable);
        i.kind = InstanceKind::VmssInstance;
        assert!(matches!(instance_outdated(&i, &ctx), Outcome::Fail(_)));
        i.latest_model_applied = Some(true);
        assert_eq!(instance_outdated(&i, &ctx), Outcome::Pass);
        i.latest_model_applied = None;
        assert!(matches!(instance_outdated(&i, &ctx), Outcome::Unknown(_)));
    }
}

#[cfg(test)]
mod absence_tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn an_unread_model_is_unknown_not_disabled() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("a");
        // What a status listing leaves behind: no profile at all.
        i.boot_diagnostics = BootDiagnostics::Absent;
        i.model_not_read = Some("the VM was only in the status listing".into());
        assert!(
            matches!(disabled(&i, &ctx), Outcome::Unknown(m) if m.contains("model was not read") && m.contains("only in the status listing")),
            "{:?}",
            disabled(&i, &ctx)
        );
        // Read, the same absence means never configured.
        i.model_not_read = None;
        assert!(matches!(disabled(&i, &ctx), Outcome::Fail(_)));
    }

    #[test]
    fn an_unread_uniform_model_is_unknown_for_outdated() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("a");
        i.kind = InstanceKind::VmssInstance;
        i.latest_model_applied = None;
        assert!(
            matches!(instance_outdated(&i, &ctx), Outcome::Unknown(m) if m.contains("latestModelApplied"))
        );
        i.latest_model_applied = Some(false);
        i.model_not_read = Some("the scale set's instance listing failed".into());
        assert!(
            matches!(instance_outdated(&i, &ctx), Outcome::Unknown(m) if m.contains("instance listing failed"))
        );
    }
}
