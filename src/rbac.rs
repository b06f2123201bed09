//! Azure RBAC semantics as pure functions: action wildcards, permission blocks, scope containment.
//!
//! The access checks decide "may X do Y at Z" the way Azure does: actions match case-insensitively with `*` standing for any run of characters;
//! a block's `notActions` subtract only from that block's `actions`; a role assignment applies to
//! its scope and everything below it.

/// True when `pattern` (which may contain `*` anywhere) matches `action`, ignoring case.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    wildcard_match(pattern.as_bytes(), action.as_bytes())
}

fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative glob matching with single-star backtracking; linear in practice.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p].eq_ignore_ascii_case(&text[t]) {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// One permission block: `actions` minus `notActions` of the same block.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PermissionBlock {
    /// Allowed actions (wildcards allowed).
    pub actions: Vec<String>,
    /// Subtracted actions (wildcards allowed), within this block only.
    pub not_actions: Vec<String>,
}

impl PermissionBlock {
    /// True when this block grants `action`.
    pub fn allows(&self, action: &str) -> bool {
        self.actions.iter().any(|a| action_matches(a, action))
            && !self.not_actions.iter().any(|n| action_matches(n, action))
    }
}

/// True when any of the blocks grants `action` (blocks never subtract from each other).
pub fn any_allows(blocks: &[PermissionBlock], action: &str) -> bool {
    blocks.iter().any(|b| b.allows(action))
}

/// Normalises a scope for comparison: lower case, no trailing slash, `/` for the root.
pub fn normalize_scope(scope: &str) -> String {
    let trimmed = scope.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_ascii_lowercase()
    }
}

/// True when an assignment at `outer` applies at `inner` (same scope or an ancestor), comparing
/// resource-id prefixes on segment boundaries. Management-group ancestry is not visible in a
/// resource id; callers expand it (see [`scope_chain`]).
pub fn scope_contains(outer: &str, inner: &str) -> bool {
    let outer = normalize_scope(outer);
    let inner = normalize_scope(inner);
    if outer == "/" {
        return true;
    }
    inner == outer || (inner.starts_with(&outer) && inner.as_bytes()[outer.len()] == b'/')
}

/// Every scope at or above `resource_id` within its subscription, most specific first, then the
/// given management groups (nearest first) and the root `/`.
///
/// A scale-set instance id (`…/virtualMachineScaleSets/ss/virtualMachines/3`) yields the instance,
/// the scale set, the resource group and the subscription, so an instance inherits from its scale
/// set as Azure does.
pub fn scope_chain(resource_id: &str, management_groups: &[String]) -> Vec<String> {
    let id = normalize_scope(resource_id);
    let mut chain = Vec::new();
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    // Resource-id shapes: subscriptions/{s}/resourcegroups/{rg}/providers/{ns}/{type}/{name}[/{type}/{name}]…
    let mut cut_points = Vec::new();
    if segs.len() >= 2 && segs[0] == "subscriptions" {
        cut_points.push(2);
        if segs.len() >= 4 && segs[2] == "resourcegroups" {
            cut_points.push(4);
            if segs.len() >= 8 && segs[4] == "providers" {
                let mut end = 8;
                while end <= segs.len() {
                    cut_points.push(end);
                    end += 2;
                }
            }
        }
    }
    for &cut in cut_points.iter().rev() {
        chain.push(format!("/{}", segs[..cut].join("/")));
    }
    for mg in management_groups {
        chain.push(format!(
            "/providers/microsoft.management/managementgroups/{}",
            mg.to_ascii_lowercase()
        ));
    }
    chain.push("/".to_string());
    chain
}

/// The scopes of [`scope_chain`] within the subscription (most specific first, without
/// management groups and `/`), as slices of `normalized`, which must already be
/// [`normalize_scope`]d. Allocates no strings: the checks call it once per instance.
pub fn scope_prefixes(normalized: &str) -> Vec<&str> {
    if !normalized.starts_with('/') || normalized.contains("//") {
        // Unusual shapes take the general path (same scopes, owned).
        return scope_chain(normalized, &[])
            .into_iter()
            .filter(|s| s != "/")
            .filter_map(|s| {
                normalized
                    .find(s.as_str())
                    .filter(|&at| at == 0)
                    .map(|_| &normalized[..s.len()])
            })
            .collect();
    }
    // Byte offset where each segment ends (ids have a dozen segments at most).
    let mut ends = [0usize; 32];
    let mut n = 0;
    for (at, b) in normalized.bytes().enumerate().skip(1) {
        if b == b'/' {
            if n == ends.len() {
                return scope_chain(normalized, &[])
                    .into_iter()
                    .filter(|s| s != "/")
                    .map(|s| &normalized[..s.len()])
                    .collect();
            }
            ends[n] = at;
            n += 1;
        }
    }
    if n < ends.len() && *ends[..n].last().unwrap_or(&0) + 1 < normalized.len() {
        ends[n] = normalized.len();
        n += 1;
    }
    let seg = |k: usize| {
        let start = if k == 0 { 1 } else { ends[k - 1] + 1 };
        &normalized[start..ends[k]]
    };
    let mut out = Vec::with_capacity(4);
    if n >= 2 && seg(0) == "subscriptions" {
        if n >= 4 && seg(2) == "resourcegroups" {
            if n >= 8 && seg(4) == "providers" {
                let mut end = 8 + (n - 8) / 2 * 2;
                while end >= 8 {
                    out.push(&normalized[..ends[end - 1]]);
                    end -= 2;
                }
            }
            out.push(&normalized[..ends[3]]);
        }
        out.push(&normalized[..ends[1]]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_prefixes_are_the_chain_within_the_subscription() {
        for id in [
            "/subscriptions/s1/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/vm",
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/3",
            "/subscriptions/s1/resourceGroups/rg",
            "/subscriptions/s1",
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/",
            "/providers/Microsoft.Management/managementGroups/mg",
            "/",
        ] {
            let norm = normalize_scope(id);
            let chain: Vec<String> = scope_chain(id, &[])
                .into_iter()
                .filter(|s| s != "/")
                .collect();
            assert_eq!(scope_prefixes(&norm), chain, "{id}");
        }
    }

    fn block(actions: &[&str], not_actions: &[&str]) -> PermissionBlock {
        PermissionBlock {
            actions: actions.iter().map(|s| s.to_string()).collect(),
            not_actions: not_actions.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn wildcards_match_anywhere_ignoring_case() {
        assert!(action_matches(
            "*",
            "Microsoft.Compute/virtualMachines/read"
        ));
        assert!(action_matches(
            "*/read",
            "Microsoft.Compute/virtualMachines/read"
        ));
        assert!(action_matches(
            "microsoft.compute/*",
            "Microsoft.Compute/virtualMachines/read"
        ));
        assert!(action_matches(
            "Microsoft.*/virtualMachines/*",
            "Microsoft.Compute/virtualMachines/start/action"
        ));
        assert!(!action_matches(
            "Microsoft.Compute/*",
            "Microsoft.SerialConsole/serialPorts/connect/action"
        ));
        assert!(!action_matches(
            "*/read",
            "Microsoft.Compute/virtualMachines/write"
        ));
        assert!(action_matches("a*b*c", "aXXbYYc"));
        assert!(!action_matches("a*b*c", "aXXbYY"));
    }

    #[test]
    fn not_actions_subtract_within_the_block_only() {
        let custom = block(&["*"], &["Microsoft.SerialConsole/*"]);
        let vmc = block(&["Microsoft.SerialConsole/serialPorts/connect/action"], &[]);
        let action = "Microsoft.SerialConsole/serialPorts/connect/action";
        assert!(!custom.allows(action));
        assert!(any_allows(&[custom.clone(), vmc], action));
        assert!(!any_allows(&[custom], action));
    }

    #[test]
    fn scope_containment_respects_segments() {
        assert!(scope_contains("/", "/subscriptions/a"));
        assert!(scope_contains(
            "/subscriptions/A",
            "/subscriptions/a/resourceGroups/rg"
        ));
        assert!(!scope_contains("/subscriptions/a", "/subscriptions/ab"));
        assert!(!scope_contains(
            "/subscriptions/a/resourceGroups/rg",
            "/subscriptions/a"
        ));
    }

    #[test]
    fn chain_of_a_scale_set_instance_includes_the_scale_set() {
        let id = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/3";
        let chain = scope_chain(id, &["mg1".to_string()]);
        assert_eq!(
            chain,
            vec![
                "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/ss/virtualmachines/3",
                "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/ss",
                "/subscriptions/s/resourcegroups/rg",
                "/subscriptions/s",
                "/providers/microsoft.management/managementgroups/mg1",
                "/",
            ]
        );
    }
}
