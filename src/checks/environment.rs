//! The scanner's environment and guest-side checks.

use super::{Context, Outcome};
use crate::inventory::Instance;

/// `websocket-blocked`: whether this network can open TLS to the Serial Console host.
pub fn websocket_blocked(_ctx: &Context) -> Outcome {
    Outcome::Unknown(
        "not evaluated: this version of scready does not probe the Serial Console host".into(),
    )
}

/// `windows-sac-helper`: the Windows `sacsvr` service (opt-in guest check).
pub fn windows_sac_helper(i: &Instance, _ctx: &Context) -> Outcome {
    match i.os_type.as_deref() {
        Some(os) if os.eq_ignore_ascii_case("Windows") => Outcome::Unknown(
            "not evaluated: this version of scready does not run guest checks".into(),
        ),
        _ => Outcome::NotApplicable,
    }
}
