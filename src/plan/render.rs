//! The plan's files: `plan.md` for people and change tickets, `plan.json` for tools, and
//! `plan.sh` with the `az` commands of every step, for review. Every file is written
//! atomically. scready never runs any of the commands.
//!
//! `plan.sh` runs nothing by itself: after `set -euo pipefail` it stops with exit code 1 unless
//! the environment variable `SCREADY_PLAN_REVIEWED` is `yes`, which a reviewer sets once the
//! steps have been read (and edited). Every value in a command is quoted the way remediation
//! commands are ([`crate::remediation`]); a value Azure would not allow turns the command into
//! a `# withheld: …` comment.

use super::{Change, Plan, StorageSettings};
use crate::inventory::Inventory;
use crate::policy::render_with;
use crate::text::display_safe;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The file names, in the order written.
pub const FILES: [&str; 3] = ["plan.json", "plan.md", "plan.sh"];

/// The environment variable a reviewer sets to `yes` to let `plan.sh` run.
pub const REVIEWED_ENV: &str = "SCREADY_PLAN_REVIEWED";

/// `part` of `whole` in percent (0 when `whole` is 0), to one decimal.
pub fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

/// `84.5%`.
pub fn percent_text(part: usize, whole: usize) -> String {
    format!("{:.1}%", percent(part, whole))
}

/// `9,950`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Text from Azure made safe for one line of Markdown or a shell comment: control characters
/// escaped, so that a name cannot start a new line (or a new command).
fn one_line(s: &str) -> String {
    display_safe(s).replace(['\n', '\r'], " ")
}

/// Markdown-inert text (`|`, `*`, `_`, backticks, `<` escaped) on one line.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in one_line(s).chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '|' | '<' | '>' | '[' | ']' | '#' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What a step changes, in one line.
pub fn title(change: &Change, inventory: &Inventory) -> String {
    let _ = inventory;
    match change {
        Change::EnableConsole {
            subscription_id,
            subscription_name,
        } => format!("Enable Serial Console on subscription {subscription_name} ({subscription_id})"),
        Change::StorageAccount { name, set, .. } => {
            format!("Change storage account {name}: {}", settings_text(set))
        }
        Change::ManagedBootDiagnostics {
            storage_host, vms, ..
        } => format!(
            "Move boot diagnostics of {} VM{} off {storage_host} to managed storage",
            vms.len(),
            if vms.len() == 1 { "" } else { "s" }
        ),
        Change::EnableBootDiagnostics { vm } => format!(
            "Enable boot diagnostics (managed storage) on {} {} in {}",
            if vm.kind == "vmss_flex_vm" {
                "Flexible scale-set VM"
            } else {
                "VM"
            },
            vm.name,
            vm.resource_group
        ),
        Change::ScaleSetBootDiagnostics {
            name,
            resource_group,
            ..
        } => format!(
            "Enable boot diagnostics (managed storage) on scale set {name} in {resource_group} and upgrade its instances"
        ),
        Change::RoleAssignment {
            principal_id,
            principal_label,
            role,
            scope,
            scope_level,
            ..
        } => format!(
            "Assign {role} to {} at {} {scope}",
            if principal_label.is_empty() {
                principal_id.clone()
            } else {
                format!("{principal_label} ({principal_id})")
            },
            scope_level.as_str().replace('-', " ")
        ),
        Change::StartVm { vm } => format!("Start {} in {}", vm.name, vm.resource_group),
    }
}

fn settings_text(set: &StorageSettings) -> String {
    let mut parts = Vec::new();
    if let Some(v) = set.allow_shared_key_access {
        parts.push(format!("allowSharedKeyAccess = {v}"));
    }
    if let Some(v) = &set.network_default_action {
        parts.push(format!("networkAcls.defaultAction = {v}"));
    }
    if let Some(v) = &set.minimum_tls_version {
        parts.push(format!("minimumTlsVersion = {v}"));
    }
    parts.join(", ")
}

/// Fills a plan command template (the placeholders of remediation templates, quoted the same
/// way).
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    render_with(template, |k| {
        values.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
    })
}

/// `az vm boot-diagnostics enable` without `--storage`: managed storage.
const VM_BOOT_DIAGNOSTICS: &str = "az vm boot-diagnostics enable --name {name} --resource-group {resource_group} --subscription {subscription_id}";

/// The `az` commands of a change.
pub fn commands(change: &Change) -> Vec<String> {
    match change {
        Change::EnableConsole {
            subscription_id, ..
        } => {
            // Microsoft.SerialConsole/consoleServices/default/enableConsole (Serial Console
            // REST reference, api-version 2018-05-01 and later), as the policy's
            // subscription-console-disabled remediation calls it.
            let resource_id = format!("/subscriptions/{subscription_id}");
            vec![fill(
                "az resource invoke-action --action enableConsole --ids /subscriptions/{subscription_id}/providers/Microsoft.SerialConsole/consoleServices/default --api-version 2023-01-01",
                &[
                    ("subscription_id", subscription_id),
                    ("resource_id", &resource_id),
                ],
            )]
        }
        Change::StorageAccount {
            name,
            subscription_id,
            resource_group,
            set,
            ..
        } => {
            let mut template = String::from(
                "az storage account update --name {storage_account} --resource-group {storage_resource_group} --subscription {subscription_id}",
            );
            if set.allow_shared_key_access == Some(true) {
                template.push_str(" --allow-shared-key-access true");
            }
            if set.network_default_action.as_deref() == Some("Allow") {
                template.push_str(" --default-action Allow");
            }
            if set.minimum_tls_version.as_deref() == Some("TLS1_2") {
                template.push_str(" --min-tls-version TLS1_2");
            }
            vec![fill(
                &template,
                &[
                    ("storage_account", name),
                    ("storage_resource_group", resource_group),
                    ("subscription_id", subscription_id),
                ],
            )]
        }
        Change::ManagedBootDiagnostics { vms, .. } => vms
            .iter()
            .map(|vm| {
                fill(
                    VM_BOOT_DIAGNOSTICS,
                    &[
                        ("name", &vm.name),
                        ("resource_group", &vm.resource_group),
                        ("subscription_id", &vm.subscription_id),
                    ],
                )
            })
            .collect(),
        Change::EnableBootDiagnostics { vm } => vec![fill(
            VM_BOOT_DIAGNOSTICS,
            &[
                ("name", &vm.name),
                ("resource_group", &vm.resource_group),
                ("subscription_id", &vm.subscription_id),
            ],
        )],
        Change::ScaleSetBootDiagnostics {
            name,
            subscription_id,
            resource_group,
            ..
        } => {
            let values = [
                ("scale_set", name.as_str()),
                ("resource_group", resource_group.as_str()),
                ("subscription_id", subscription_id.as_str()),
            ];
            // Generic update: `--set` parses each value as JSON, so `null` clears storageUri
            // (managed storage); then every instance gets the model ('*').
            vec![
                fill(
                    "az vmss update --name {scale_set} --resource-group {resource_group} --subscription {subscription_id} --set virtualMachineProfile.diagnosticsProfile.bootDiagnostics.enabled=true virtualMachineProfile.diagnosticsProfile.bootDiagnostics.storageUri=null",
                    &values,
                ),
                fill(
                    "az vmss update-instances --name {scale_set} --resource-group {resource_group} --subscription {subscription_id} --instance-ids '*'",
                    &values,
                ),
            ]
        }
        Change::RoleAssignment {
            principal_id,
            scope,
            role,
            ..
        } => {
            let _ = role;
            vec![fill(
                "az role assignment create --assignee {principal_id} --role \"Virtual Machine Contributor\" --scope {resource_id}",
                &[("principal_id", principal_id), ("resource_id", scope)],
            )]
        }
        Change::StartVm { vm } => {
            if vm.kind == "vmss_instance" {
                vec![fill(
                    "az vmss start --name {scale_set} --resource-group {resource_group} --subscription {subscription_id} --instance-ids {instance_id}",
                    &[
                        ("scale_set", vm.scale_set.as_deref().unwrap_or("")),
                        ("resource_group", &vm.resource_group),
                        ("subscription_id", &vm.subscription_id),
                        ("instance_id", vm.instance_id.as_deref().unwrap_or("")),
                    ],
                )]
            } else {
                vec![fill(
                    "az vm start --name {name} --resource-group {resource_group} --subscription {subscription_id}",
                    &[
                        ("name", &vm.name),
                        ("resource_group", &vm.resource_group),
                        ("subscription_id", &vm.subscription_id),
                    ],
                )]
            }
        }
    }
}

/// The short name of an instance id (its last segment, `ss_3` for a Uniform instance).
fn short(id: &str) -> String {
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    let n = segs.len();
    if n >= 4 && segs[n - 4].eq_ignore_ascii_case("virtualMachineScaleSets") {
        format!("{}_{}", segs[n - 3], segs[n - 1])
    } else {
        segs.last().copied().unwrap_or(id).to_string()
    }
}

/// Names of up to `max` ids, with "and N more".
fn names(ids: &[String], max: usize) -> String {
    let shown: Vec<String> = ids.iter().take(max).map(|i| md(&short(i))).collect();
    let mut s = shown.join(", ");
    if ids.len() > max {
        let _ = write!(s, " and {} more", thousands(ids.len() - max));
    }
    s
}

/// "after step 3: 8,412 of 9,950 ready, 84.5%".
fn after(step: usize, ready: usize, total: usize) -> String {
    format!(
        "after step {step}: {} of {} ready, {}",
        thousands(ready),
        thousands(total),
        percent_text(ready, total)
    )
}

/// Instances listed per step and among the remaining in `plan.md` (all are in `plan.json`).
const MD_LIST: usize = 20;
const MD_REMAINING: usize = 200;

/// `plan.md`.
pub fn markdown(plan: &Plan) -> String {
    let mut s = String::new();
    let h = plan.headline();
    let _ = writeln!(s, "# Serial Console rollout plan\n");
    let _ = writeln!(s, "**{}**\n", md(&h.text()));
    let _ = writeln!(
        s,
        "Now {} of {} instances are ready ({}). After the {} step{} below: {} ({}).",
        thousands(plan.ready_before),
        thousands(plan.instances),
        percent_text(plan.ready_before, plan.instances),
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" },
        thousands(plan.ready_after),
        percent_text(plan.ready_after, plan.instances),
    );
    let _ = writeln!(
        s,
        "\nScan of {} ({}); policy: {}.",
        md(&plan.source.scanned_at),
        md(&plan.source.input),
        md(&plan.source.policy_sources.join(", "))
    );
    if let Some(note) = &plan.source.policy_note {
        let _ = writeln!(s, "\n> **Policy differs from the scan's:** {}", md(note));
    }
    let _ = writeln!(
        s,
        "\nEach projection is computed: the step is applied to a copy of the scan's inventory and the checks are run again. Nothing here has been changed in Azure; `plan.sh` holds the commands, for review (it runs nothing unless `{REVIEWED_ENV}=yes`). Stopped VMs are {}started (policy `[plan] start_stopped_vms`); role assignments go no wider than the {} ({}).",
        if plan.settings.start_stopped_vms { "" } else { "not " },
        plan.settings.widest_scope.as_str().replace('-', " "),
        md(&plan.settings.role),
    );
    if !plan.steps.is_empty() {
        let _ = writeln!(s, "\n## Steps\n");
        let _ = writeln!(s, "| # | change | fixes | unblocks | ready after |");
        let _ = writeln!(s, "|---:|---|---|---:|---|");
        for st in &plan.steps {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} of {} ({}) |",
                st.number,
                md(&st.title),
                st.why
                    .iter()
                    .map(|r| format!("`{}`", r.check_id))
                    .collect::<Vec<_>>()
                    .join(", "),
                thousands(st.unblocks.len()),
                thousands(st.ready_after),
                thousands(plan.instances),
                percent_text(st.ready_after, plan.instances),
            );
        }
        for st in &plan.steps {
            let _ = writeln!(s, "\n### Step {}: {}\n", st.number, md(&st.title));
            let _ = writeln!(s, "- **Changes:** {}", md(&change_detail(&st.change)));
            for r in &st.why {
                let _ = write!(
                    s,
                    "- **Why:** `{}` fails on {} instance{}",
                    r.check_id,
                    thousands(r.instances),
                    if r.instances == 1 { "" } else { "s" }
                );
                if !r.portal_error.is_empty() {
                    let _ = write!(s, "; the portal says: “{}”", md(&r.portal_error));
                }
                s.push('\n');
            }
            let _ = writeln!(
                s,
                "- **Unblocks:** {} instance{}{}",
                thousands(st.unblocks.len()),
                if st.unblocks.len() == 1 { "" } else { "s" },
                if st.unblocks.is_empty() {
                    if st.targets.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (its {} target{} still need{} another step or stay blocked: {})",
                            thousands(st.targets.len()),
                            if st.targets.len() == 1 { "" } else { "s" },
                            if st.targets.len() == 1 { "s" } else { "" },
                            names(&st.targets, MD_LIST)
                        )
                    }
                } else {
                    format!(": {}", names(&st.unblocks, MD_LIST))
                }
            );
            if !st.newly_not_ready.is_empty() {
                let _ = writeln!(
                    s,
                    "- **No longer ready after it:** {}",
                    names(&st.newly_not_ready, MD_LIST)
                );
            }
            let _ = writeln!(
                s,
                "- **Projected:** {}",
                after(st.number, st.ready_after, plan.instances)
            );
            let _ = writeln!(s, "\n```sh");
            for c in &st.commands {
                let _ = writeln!(s, "{}", one_line(c));
            }
            let _ = writeln!(s, "```");
        }
    } else {
        let _ = writeln!(s, "\nNo change the plan can make unblocks an instance.");
    }
    if !plan.remaining.is_empty() {
        let _ = writeln!(
            s,
            "\n## Not ready after every step ({})\n",
            thousands(plan.remaining.len())
        );
        let _ = writeln!(
            s,
            "These need something the plan does not change (a failed or still provisioning VM, a missing storage account, a subscription state, a lock, a deny assignment, a VM the policy does not start) or could not be decided.\n"
        );
        let _ = writeln!(s, "| check | instances |");
        let _ = writeln!(s, "|---|---:|");
        for c in &plan.remaining_by_check {
            let _ = writeln!(s, "| `{}` | {} |", c.check_id, thousands(c.instances));
        }
        let _ = writeln!(s, "\n| instance | verdict | why |");
        let _ = writeln!(s, "|---|---|---|");
        for r in plan.remaining.iter().take(MD_REMAINING) {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                md(&r.name),
                r.verdict,
                md(&r.reasons.join(" · "))
            );
        }
        if plan.remaining.len() > MD_REMAINING {
            let _ = writeln!(
                s,
                "\n…and {} more (all in `plan.json`).",
                thousands(plan.remaining.len() - MD_REMAINING)
            );
        }
    }
    s
}

/// What a change sets, for the plan's readers.
fn change_detail(change: &Change) -> String {
    match change {
        Change::EnableConsole {
            subscription_id, ..
        } => format!(
            "/subscriptions/{subscription_id}/providers/Microsoft.SerialConsole/consoleServices/default: disabled = false"
        ),
        Change::StorageAccount {
            account_id, set, ..
        } => format!("{account_id}: {}", settings_text(set)),
        Change::ManagedBootDiagnostics { vms, account_id, storage_host } => format!(
            "boot diagnostics of {} (now on {}) enabled with managed storage (the account's hierarchical namespace cannot be turned off; an http:// URI or another region is the VM's setting)",
            vms.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(", "),
            account_id.as_deref().unwrap_or(storage_host)
        ),
        Change::EnableBootDiagnostics { vm } => format!(
            "{}: diagnosticsProfile.bootDiagnostics.enabled = true, managed storage (a Flexible scale set's VMs each have their own model)",
            vm.id
        ),
        Change::ScaleSetBootDiagnostics { scale_set_id, .. } => format!(
            "{scale_set_id}: virtualMachineProfile.diagnosticsProfile.bootDiagnostics enabled with managed storage, then every instance upgraded to the model (Uniform instances keep their own copy of the profile)"
        ),
        Change::RoleAssignment {
            principal_id,
            role,
            role_definition_id,
            scope,
            ..
        } => format!("role assignment: {principal_id} → {role} ({role_definition_id}) at {scope}"),
        Change::StartVm { vm } => format!("{}: power state running", vm.id),
    }
}

/// `plan.sh`.
pub fn shell(plan: &Plan) -> String {
    let mut s = String::new();
    let h = plan.headline();
    s.push_str("#!/usr/bin/env bash\n");
    s.push_str("# Serial Console rollout plan written by scready, FOR REVIEW.\n");
    let _ = writeln!(s, "# {}", one_line(&h.text()));
    let _ = writeln!(
        s,
        "# Scan of {}; {} step(s). Read plan.md for why each step is needed.",
        one_line(&plan.source.scanned_at),
        plan.steps.len()
    );
    s.push_str("#\n");
    s.push_str(
        "# scready never runs these commands, and this script runs nothing by itself: it stops\n",
    );
    let _ = writeln!(
        s,
        "# below unless {REVIEWED_ENV}=yes is set. Review (and edit or delete) the steps first;"
    );
    s.push_str("# each step is independent of the ones after it, in the order of plan.md.\n");
    s.push_str("set -euo pipefail\n\n");
    let _ = writeln!(s, "if [ \"${{{REVIEWED_ENV}:-}}\" != \"yes\" ]; then");
    let _ = writeln!(
        s,
        "  echo \"plan.sh is for review: read it, then run it with {REVIEWED_ENV}=yes\" >&2"
    );
    s.push_str("  exit 1\nfi\n");
    for st in &plan.steps {
        let _ = writeln!(s, "\n# Step {}: {}", st.number, one_line(&st.title));
        for r in &st.why {
            let _ = writeln!(
                s,
                "#   fixes {} on {} instance(s)",
                r.check_id,
                thousands(r.instances)
            );
        }
        let _ = writeln!(
            s,
            "#   unblocks {}; {}",
            thousands(st.unblocks.len()),
            after(st.number, st.ready_after, plan.instances)
        );
        for c in &st.commands {
            let _ = writeln!(s, "{}", one_line(c));
        }
    }
    s
}

/// Writes `plan.json`, `plan.md` and `plan.sh` into `dir`, each atomically; returns the paths.
pub fn write(plan: &Plan, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for name in FILES {
        let path = dir.join(name);
        crate::report::write_atomic(&path, |w| match name {
            "plan.json" => {
                serde_json::to_writer_pretty(&mut *w, plan).map_err(std::io::Error::other)
            }
            "plan.md" => w.write_all(markdown(plan).as_bytes()),
            _ => w.write_all(shell(plan).as_bytes()),
        })?;
        #[cfg(unix)]
        if name == "plan.sh" {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
        written.push(path);
    }
    Ok(written)
}

/// The stdout summary of a plan.
pub fn summary(plan: &Plan, written: &[PathBuf]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "plan: {}", plan.headline().text());
    if let Some(note) = &plan.source.policy_note {
        let _ = writeln!(s, "note: {note}");
    }
    for st in plan.steps.iter().take(10) {
        let _ = writeln!(
            s,
            "  {:>3}. {} — unblocks {}; {}",
            st.number,
            one_line(&st.title),
            thousands(st.unblocks.len()),
            after(st.number, st.ready_after, plan.instances)
        );
    }
    if plan.steps.len() > 10 {
        let _ = writeln!(s, "  … {} more steps in plan.md", plan.steps.len() - 10);
    }
    if !plan.remaining.is_empty() {
        let top: Vec<String> = plan
            .remaining_by_check
            .iter()
            .take(5)
            .map(|c| format!("{} {}", c.check_id, thousands(c.instances)))
            .collect();
        let _ = writeln!(
            s,
            "not ready after every step: {} ({})",
            thousands(plan.remaining.len()),
            top.join(", ")
        );
    }
    for p in written {
        let _ = writeln!(s, "wrote {}", p.display());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_in_the_plan() {
        assert_eq!(thousands(9950), "9,950");
        assert_eq!(thousands(100), "100");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(percent_text(8412, 9950), "84.5%");
        assert_eq!(percent_text(0, 0), "0.0%");
        assert_eq!(
            after(3, 8412, 9950),
            "after step 3: 8,412 of 9,950 ready, 84.5%"
        );
    }
}
