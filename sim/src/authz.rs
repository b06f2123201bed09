//! Azure RBAC as the simulator applies it when serving: action patterns, role permissions and
//! scopes. Written for the simulator alone, after Microsoft's documentation:
//!
//! - "Understand Azure role definitions" (Microsoft Learn): operations are strings
//!   `{Company}.{ProviderName}/{resourceType}/{action}` in which `*` is a wildcard ("You can also
//!   have multiple wildcards in a string", e.g. `Microsoft.CostManagement/*/query/*`); "The
//!   actions under `NotActions` are subtracted from `Actions`" of the same role — a subtraction,
//!   not a deny (a grant from another role assignment still applies). Operation names are
//!   matched regardless of case, as the provider operations list them in mixed case.
//! - "Understand scope for Azure RBAC" (Microsoft Learn): management group, subscription,
//!   resource group and resource scopes nest, and a role assigned at a scope applies to
//!   everything below it; an assignment at `/` applies everywhere.

/// The prefix of a management group's scope, lower case.
pub const MANAGEMENT_GROUP_PREFIX: &str = "/providers/microsoft.management/managementgroups/";

/// A scope as the simulator compares it: lower case, `/` for the root, no trailing `/`.
pub fn canonical(scope: &str) -> String {
    let s = scope.trim();
    let s = s.trim_end_matches('/');
    if s.is_empty() {
        "/".to_string()
    } else {
        s.to_ascii_lowercase()
    }
}

/// The segments of a canonical scope (none for `/`).
fn segments(scope: &str) -> impl Iterator<Item = &str> {
    scope.split('/').filter(|s| !s.is_empty())
}

/// Whether `inner` is `outer` or lies below it by resource-id segments (both canonical).
/// Management-group parentage is not visible in ids: [`crate::world::World::reaches`] adds it.
pub fn within(inner: &str, outer: &str) -> bool {
    if outer == "/" {
        return true;
    }
    let mut inner_segs = segments(inner);
    segments(outer).all(|o| inner_segs.next() == Some(o))
}

/// Whether an operation pattern (with `*` wildcards anywhere) names `operation`, ignoring case.
pub fn names(pattern: &str, operation: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let operation = operation.to_ascii_lowercase();
    let mut parts = pattern.split('*');
    // The part before the first `*` anchors at the start; with no `*`, the whole must match.
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = operation.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    // The part after the last `*` anchors at the end, after everything matched so far.
    rest.len() >= last.len() && rest.ends_with(last)
}

/// One permission block of a role: what it allows, minus what the same block excludes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grant {
    /// `actions`.
    pub actions: Vec<String>,
    /// `notActions`, subtracted from this block's `actions` only.
    pub not_actions: Vec<String>,
}

impl Grant {
    /// Whether this block allows `operation`.
    pub fn allows(&self, operation: &str) -> bool {
        self.actions.iter().any(|a| names(a, operation))
            && !self.not_actions.iter().any(|n| names(n, operation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_anywhere_and_ignore_case() {
        assert!(names("*", "Microsoft.Compute/virtualMachines/read"));
        assert!(names("*/read", "microsoft.compute/virtualmachines/READ"));
        assert!(names(
            "Microsoft.Compute/*",
            "Microsoft.Compute/virtualMachines/read"
        ));
        assert!(names(
            "Microsoft.*/virtualMachines/*",
            "microsoft.compute/virtualmachines/start/action"
        ));
        assert!(names("a*b*c", "abc"));
        assert!(names("a*b*c", "axxbyyc"));
        assert!(!names("a*b*c", "axxbyy"));
        assert!(!names("*/read", "Microsoft.Compute/virtualMachines/write"));
        assert!(!names(
            "Microsoft.Compute/virtualMachines/read",
            "Microsoft.Compute/virtualMachines/readx"
        ));
        assert!(names(
            "Microsoft.Compute/virtualMachines/read",
            "MICROSOFT.COMPUTE/virtualMachines/read"
        ));
        // A suffix must not overlap what the middle already used.
        assert!(!names("ab*ba", "aba"));
    }

    #[test]
    fn not_actions_subtract_within_the_block() {
        let g = Grant {
            actions: vec!["*".into()],
            not_actions: vec!["Microsoft.SerialConsole/*".into()],
        };
        assert!(g.allows("Microsoft.Compute/virtualMachines/read"));
        assert!(!g.allows("microsoft.serialconsole/serialPorts/connect/action"));
    }

    #[test]
    fn scopes_nest_by_segments() {
        let rg = canonical("/subscriptions/S/resourceGroups/RG/");
        assert_eq!(rg, "/subscriptions/s/resourcegroups/rg");
        assert!(within(
            "/subscriptions/s/resourcegroups/rg/providers/x/y/z",
            &rg
        ));
        assert!(within(&rg, &rg));
        assert!(!within("/subscriptions/s/resourcegroups/rg2", &rg));
        assert!(!within("/subscriptions/s", &rg));
        assert!(within("/subscriptions/s", "/"));
        assert_eq!(canonical(""), "/");
    }
}
