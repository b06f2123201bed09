//! The scanner's environment and guest-side checks.

use super::context::{model_reason, status_unknown};
use super::{Context, Outcome};
use crate::discover::guest::eligible;
use crate::inventory::{GuestResult, Instance, InstanceKind};

/// `websocket-blocked`: whether this network can open TLS to the Serial Console hosts.
/// Skipped (`--no-network-probe`, or an offline inventory without a probe): not evaluated.
pub fn websocket_blocked(ctx: &Context) -> Outcome {
    let Some(probe) = &ctx.inventory.environment else {
        return Outcome::NotApplicable;
    };
    let failed: Vec<String> = probe
        .hosts
        .iter()
        .filter(|h| !h.reachable)
        .map(|h| format!("{} ({})", h.target, h.detail))
        .collect();
    if probe.hosts.is_empty() {
        Outcome::Unknown("no Serial Console host is known for this cloud".into())
    } else if failed.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail(format!(
            "this network cannot open a TLS connection to {}",
            failed.join(", ")
        ))
    }
}

/// `windows-sac-helper` (opt-in, `--guest-checks`): the `sacsvr` service must be Automatic
/// and Running.
pub fn windows_sac_helper(i: &Instance, ctx: &Context) -> Outcome {
    let Some(results) = &ctx.inventory.guest else {
        return Outcome::NotApplicable;
    };
    match i.os_type.as_deref() {
        Some(os) if os.eq_ignore_ascii_case("Windows") => {}
        Some(_) => return Outcome::NotApplicable,
        None => {
            return Outcome::Unknown(
                model_reason(i).unwrap_or_else(|| "the OS type is not reported".into()),
            )
        }
    }
    // Without a read status, whether the guest check should have run is unknown.
    if let Some(unknown) = status_unknown(i) {
        if i.kind != InstanceKind::VmssInstance && !results.contains_key(&i.id.to_ascii_lowercase())
        {
            return unknown;
        }
    }
    if !eligible(i) {
        return if i.power_state.as_deref() == Some("running") {
            Outcome::Unknown(
                "guest checks run on VMs and Flexible members, not on Uniform scale-set instances"
                    .into(),
            )
        } else {
            Outcome::NotApplicable
        };
    }
    match results.get(&i.id.to_ascii_lowercase()) {
        None => Outcome::Unknown("the guest check was not run on this VM".into()),
        Some(GuestResult::Error(e)) => Outcome::Unknown(e.clone()),
        Some(GuestResult::Sac { start_type, status }) => {
            if start_type.eq_ignore_ascii_case("Automatic")
                && status.eq_ignore_ascii_case("Running")
            {
                Outcome::Pass
            } else if start_type == "NotInstalled" {
                Outcome::Fail(
                    "the sacsvr service is not installed: SAC cannot open a command prompt".into(),
                )
            } else {
                Outcome::Fail(format!(
                    "the sacsvr service is {start_type} and {status}; SAC cannot open a command prompt"
                ))
            }
        }
    }
}

#[cfg(test)]
mod absence_tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn the_sac_check_is_unknown_without_os_type_or_status() {
        let (mut inv, pol) = fixture();
        inv.guest = Some(Default::default());
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("w");
        i.os_type = Some("Linux".into());
        assert_eq!(windows_sac_helper(&i, &ctx), Outcome::NotApplicable);
        i.os_type = None;
        assert!(
            matches!(windows_sac_helper(&i, &ctx), Outcome::Unknown(m) if m.contains("OS type"))
        );
        i.model_not_read = Some("no model".into());
        assert!(
            matches!(windows_sac_helper(&i, &ctx), Outcome::Unknown(m) if m.contains("no model"))
        );
        i.model_not_read = None;
        i.os_type = Some("Windows".into());
        i.power_state = None;
        i.status_not_read = Some("no status".into());
        assert!(
            matches!(windows_sac_helper(&i, &ctx), Outcome::Unknown(m) if m.contains("no status"))
        );
        // Read status, not running: the check does not apply.
        i.status_not_read = None;
        i.power_state = Some("deallocated".into());
        assert_eq!(windows_sac_helper(&i, &ctx), Outcome::NotApplicable);
    }
}
