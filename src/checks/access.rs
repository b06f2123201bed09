//! Access: whether the audited principals may open Serial Console on the instance.

use super::{Context, Outcome};
use crate::inventory::{BootDiagnostics, Instance};

const NOT_EVALUATED: &str =
    "not evaluated: this version of scready does not evaluate role assignments";

/// `rbac-vm-access`: the principal needs the policy's VM actions at the VM's scope.
pub fn vm_access(_i: &Instance, _ctx: &Context) -> Outcome {
    Outcome::Unknown(NOT_EVALUATED.into())
}

/// `rbac-storage-access`: the principal needs the storage actions on a custom account.
pub fn storage_access(i: &Instance, _ctx: &Context) -> Outcome {
    match i.boot_diagnostics {
        BootDiagnostics::Custom { .. } => Outcome::Unknown(NOT_EVALUATED.into()),
        _ => Outcome::NotApplicable,
    }
}
