//! The policy: the catalogue as data (`policies/serial-console.toml`, compiled in), optionally
//! layered with a user file (`--policy FILE`): severities, texts, remediation templates, the
//! RBAC actions required, the supported regions, and waivers with mandatory expiry dates.
//!
//! Unknown keys, bad values, unknown check ids, unknown placeholders and waivers without an
//! expiry are errors naming the file, line and column.

use crate::checks::catalogue::{self, CATALOGUE};
use crate::config_file::{self, FileError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// The built-in policy text.
pub const BUILTIN_POLICY: &str = include_str!("../policies/serial-console.toml");
/// Name of the built-in policy in messages.
pub const BUILTIN_NAME: &str = "policies/serial-console.toml (built in)";

/// How much a failing check matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Not evaluated.
    Off,
    /// Advisory: listed, never changes the verdict.
    Info,
    /// The instance is ready with warnings.
    Warning,
    /// The instance is blocked.
    Error,
}

impl Severity {
    /// The report spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Off => "off",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// The placeholders a remediation template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "name",
    "resource_group",
    "subscription_id",
    "resource_id",
    "scale_set",
    "instance_id",
    "storage_account",
    "storage_resource_group",
    "storage_uri_https",
    "location",
    "principal_id",
];

/// One check's policy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckPolicy {
    /// Severity.
    pub severity: Severity,
    /// Short label.
    pub title: String,
    /// The error the portal shows.
    pub portal_error: String,
    /// What to do.
    pub mitigation: String,
    /// Command template for VMs.
    pub remediation: String,
    /// Command template for Uniform scale-set instances (falls back to `remediation`).
    pub remediation_scale_set: String,
    /// Documentation link.
    pub docs: String,
}

/// A tag condition of a waiver: key, and value unless any value matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagMatch {
    /// Tag name (case-insensitive).
    pub key: String,
    /// Tag value (exact), or any when absent.
    pub value: Option<String>,
}

/// An accepted risk: matching findings are reported as `waived` until the expiry date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Waiver {
    /// Check ids (`*` for all).
    pub checks: Vec<String>,
    /// Resource id glob (`*` wildcards, case-insensitive).
    pub resource: Option<String>,
    /// Subscription id.
    pub subscription: Option<String>,
    /// Tag condition.
    pub tag: Option<TagMatch>,
    /// Why the risk is accepted.
    pub reason: String,
    /// Last day the waiver applies (`YYYY-MM-DD`).
    pub expires: String,
    /// Where the waiver was written (`file:line`).
    pub origin: String,
}

impl Waiver {
    /// True when the waiver has expired on `today` (`YYYY-MM-DD`).
    pub fn expired(&self, today: &str) -> bool {
        self.expires.as_str() < today
    }

    /// True when the waiver covers this check on this resource.
    pub fn covers(
        &self,
        check: &str,
        resource_id: &str,
        subscription_id: &str,
        tags: &crate::inventory::Tags,
    ) -> bool {
        if !self.checks.iter().any(|c| c == "*" || c == check) {
            return false;
        }
        if let Some(glob) = &self.resource {
            if !crate::rbac::action_matches(glob, resource_id) {
                return false;
            }
        }
        if let Some(s) = &self.subscription {
            if !s.eq_ignore_ascii_case(subscription_id) {
                return false;
            }
        }
        if let Some(t) = &self.tag {
            let found = tags
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&t.key))
                .map(|(_, v)| v);
            match (found, &t.value) {
                (None, _) => return false,
                (Some(v), Some(want)) if v != want.as_str() => return false,
                _ => {}
            }
        }
        true
    }
}

/// Actions the access checks require.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AccessPolicy {
    /// At the VM's scope.
    pub vm_actions: Vec<String>,
    /// On a custom boot-diagnostics account.
    pub storage_actions: Vec<String>,
    /// For opt-in guest checks.
    pub guest_check_actions: Vec<String>,
}

/// What `scready plan` may propose.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PlanPolicy {
    /// Start stopped and deallocated VMs (`vm-not-running`); off by default: starting a VM
    /// costs money and may be why it was stopped.
    pub start_stopped_vms: bool,
}

/// The effective policy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Policy {
    /// Whether the boot-diagnostics account is in the console's connection path.
    pub storage_in_connection_path: bool,
    /// What the rollout plan may propose.
    pub plan: PlanPolicy,
    /// Required actions.
    pub access: AccessPolicy,
    /// Regions where Serial Console is available (lower-case ARM names).
    pub supported_regions: BTreeSet<String>,
    /// Per check id.
    pub checks: BTreeMap<String, CheckPolicy>,
    /// Waivers, built-in first.
    pub waivers: Vec<Waiver>,
    /// The files layered, in order.
    pub sources: Vec<String>,
}

// ----- file form -----

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    schema_version: Option<u32>,
    storage_in_connection_path: Option<bool>,
    plan: Option<PlanFile>,
    access: Option<AccessFile>,
    regions: Option<RegionsFile>,
    #[serde(default)]
    checks: BTreeMap<String, Spanned<CheckFile>>,
    #[serde(default)]
    waivers: Vec<Spanned<WaiverFile>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    start_stopped_vms: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessFile {
    vm_actions: Option<Vec<String>>,
    storage_actions: Option<Vec<String>>,
    guest_check_actions: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionsFile {
    supported: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    severity: Option<Severity>,
    title: Option<String>,
    portal_error: Option<String>,
    mitigation: Option<String>,
    remediation: Option<String>,
    remediation_scale_set: Option<String>,
    docs: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    checks: Vec<String>,
    resource: Option<String>,
    subscription: Option<String>,
    tag: Option<String>,
    reason: String,
    expires: Option<toml::Value>,
}

fn err(text: &str, origin: &str, offset: usize, field: &str, message: String) -> FileError {
    let (line, column) = config_file::line_col(text, offset);
    FileError {
        path: origin.to_string(),
        line,
        column,
        field: field.to_string(),
        message,
    }
}

/// The placeholders used in a template.
fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push(&rest[open + 1..open + close]);
        rest = &rest[open + close + 1..];
    }
    out
}

fn parse_date(v: &toml::Value) -> Option<String> {
    let s = match v {
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::String(s) => s.clone(),
        _ => return None,
    };
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), &fmt)
        .ok()
        .map(|d| d.format(&fmt).unwrap_or_default())
}

impl Policy {
    /// The built-in policy (parsed once per process).
    pub fn builtin() -> Policy {
        static BUILTIN: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
        BUILTIN.get_or_init(Policy::parse_builtin).clone()
    }

    fn parse_builtin() -> Policy {
        let mut p = Policy {
            storage_in_connection_path: true,
            plan: PlanPolicy::default(),
            access: AccessPolicy::default(),
            supported_regions: BTreeSet::new(),
            checks: BTreeMap::new(),
            waivers: Vec::new(),
            sources: Vec::new(),
        };
        p.layer(BUILTIN_POLICY, BUILTIN_NAME)
            .expect("the built-in policy is valid");
        for c in CATALOGUE {
            assert!(
                p.checks.contains_key(c.id),
                "built-in policy lacks {}",
                c.id
            );
        }
        p
    }

    /// SHA-256 (lower-case hex) of the effective policy: its JSON serialisation (fields in
    /// declaration order, maps and sets sorted) without `sources` and without the waivers'
    /// `origin`, which say where the policy was written, not what it says. The same files give
    /// the same fingerprint wherever they are kept; any change of severity, text, region,
    /// action or waiver changes it.
    pub fn fingerprint(&self) -> String {
        let mut value = serde_json::to_value(self).expect("a policy serialises");
        if let Some(map) = value.as_object_mut() {
            map.remove("sources");
            if let Some(waivers) = map.get_mut("waivers").and_then(|w| w.as_array_mut()) {
                for w in waivers {
                    if let Some(w) = w.as_object_mut() {
                        w.remove("origin");
                    }
                }
            }
        }
        let bytes = serde_json::to_vec(&value).expect("a JSON value serialises");
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
        digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The built-in policy layered with a user file.
    pub fn load(path: Option<&std::path::Path>) -> Result<Policy, FileError> {
        let mut p = Policy::builtin();
        if let Some(path) = path {
            let origin = path.display().to_string();
            // A regular file of at most 1 MiB: a FIFO or a device is refused without blocking.
            let text =
                config_file::read_local_text(path, "--policy", config_file::MAX_POLICY_BYTES)
                    .map_err(|message| FileError {
                        path: origin.clone(),
                        line: 0,
                        column: 0,
                        field: ".".into(),
                        message,
                    })?;
            p.layer(&text, &origin)?;
        }
        Ok(p)
    }

    /// Layers a policy text over this one.
    pub fn layer(&mut self, text: &str, origin: &str) -> Result<(), FileError> {
        let file: PolicyFile = config_file::from_toml(text, origin)?;
        if let Some(v) = file.schema_version {
            if v != 1 {
                let at = text.find("schema_version").unwrap_or(0);
                return Err(err(
                    text,
                    origin,
                    at,
                    "schema_version",
                    format!("unsupported policy schema version {v} (this build reads version 1)"),
                ));
            }
        }
        if let Some(b) = file.storage_in_connection_path {
            self.storage_in_connection_path = b;
        }
        if let Some(v) = file.plan.and_then(|p| p.start_stopped_vms) {
            self.plan.start_stopped_vms = v;
        }
        if let Some(a) = file.access {
            if let Some(v) = a.vm_actions {
                self.access.vm_actions = v;
            }
            if let Some(v) = a.storage_actions {
                self.access.storage_actions = v;
            }
            if let Some(v) = a.guest_check_actions {
                self.access.guest_check_actions = v;
            }
        }
        if let Some(r) = file.regions.and_then(|r| r.supported) {
            self.supported_regions = r
                .into_iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .collect();
        }
        for (id, spanned) in &file.checks {
            let start = spanned.span().start;
            if catalogue::info(id).is_none() {
                // The span covers the table body; the header sits just before it.
                let at = text.find(&format!("checks.{id}")).unwrap_or(start);
                return Err(err(
                    text,
                    origin,
                    at,
                    &format!("checks.{id}"),
                    format!("unknown check id '{id}'; `scready policy list` shows the catalogue"),
                ));
            }
            let c = spanned.get_ref();
            for (field, template) in [
                ("remediation", &c.remediation),
                ("remediation_scale_set", &c.remediation_scale_set),
            ] {
                if let Some(t) = template {
                    if let Some(bad) = placeholders(t)
                        .into_iter()
                        .find(|p| !PLACEHOLDERS.contains(p))
                    {
                        return Err(err(
                            text,
                            origin,
                            start,
                            &format!("checks.{id}.{field}"),
                            format!(
                                "unknown placeholder {{{bad}}} (known: {})",
                                PLACEHOLDERS.join(", ")
                            ),
                        ));
                    }
                    if let Some(bad) = crate::remediation::misplaced_placeholder(t) {
                        return Err(err(
                            text,
                            origin,
                            start,
                            &format!("checks.{id}.{field}"),
                            format!(
                                "placeholder {{{bad}}} is inside quotes or after '$': scready quotes placeholder values itself, so write them bare (also inside \"$(…)\")"
                            ),
                        ));
                    }
                }
            }
            let entry = self
                .checks
                .entry(id.clone())
                .or_insert_with(|| CheckPolicy {
                    severity: Severity::Error,
                    title: id.clone(),
                    portal_error: String::new(),
                    mitigation: String::new(),
                    remediation: String::new(),
                    remediation_scale_set: String::new(),
                    docs: String::new(),
                });
            if let Some(v) = c.severity {
                entry.severity = v;
            }
            if let Some(v) = &c.title {
                entry.title = v.clone();
            }
            if let Some(v) = &c.portal_error {
                entry.portal_error = v.clone();
            }
            if let Some(v) = &c.mitigation {
                entry.mitigation = v.clone();
            }
            if let Some(v) = &c.remediation {
                entry.remediation = v.clone();
            }
            if let Some(v) = &c.remediation_scale_set {
                entry.remediation_scale_set = v.clone();
            }
            if let Some(v) = &c.docs {
                entry.docs = v.clone();
            }
        }
        for (i, spanned) in file.waivers.iter().enumerate() {
            let start = spanned.span().start;
            let w = spanned.get_ref();
            let field = |f: &str| format!("waivers[{i}].{f}");
            let (line, _) = config_file::line_col(text, start);
            if w.checks.is_empty() {
                return Err(err(
                    text,
                    origin,
                    start,
                    &field("checks"),
                    "a waiver must name at least one check id (or \"*\")".into(),
                ));
            }
            if let Some(bad) = w
                .checks
                .iter()
                .find(|c| *c != "*" && catalogue::info(c).is_none())
            {
                return Err(err(
                    text,
                    origin,
                    start,
                    &field("checks"),
                    format!("unknown check id '{bad}'"),
                ));
            }
            if w.resource.is_none() && w.subscription.is_none() && w.tag.is_none() {
                return Err(err(
                    text,
                    origin,
                    start,
                    &field("resource"),
                    "a waiver must match something: set resource, subscription or tag".into(),
                ));
            }
            if let Some(glob) = &w.resource {
                if glob.trim().is_empty() || !glob.starts_with('/') && !glob.starts_with('*') {
                    return Err(err(
                        text,
                        origin,
                        start,
                        &field("resource"),
                        format!(
                            "'{glob}' is not a resource id glob (it must start with '/' or '*')"
                        ),
                    ));
                }
            }
            if w.reason.trim().is_empty() {
                return Err(err(
                    text,
                    origin,
                    start,
                    &field("reason"),
                    "a waiver needs a reason".into(),
                ));
            }
            let Some(expires) = &w.expires else {
                return Err(err(
                    text,
                    origin,
                    start,
                    &field("expires"),
                    "a waiver needs an expiry date (expires = YYYY-MM-DD)".into(),
                ));
            };
            let Some(expires) = parse_date(expires) else {
                return Err(err(
                    text,
                    origin,
                    start,
                    &field("expires"),
                    format!("'{expires}' is not a date (YYYY-MM-DD)"),
                ));
            };
            let tag = match &w.tag {
                None => None,
                Some(t) => {
                    let (k, v) = match t.split_once('=') {
                        Some((k, v)) => (k.trim(), Some(v.trim().to_string())),
                        None => (t.trim(), None),
                    };
                    if k.is_empty() {
                        return Err(err(
                            text,
                            origin,
                            start,
                            &field("tag"),
                            format!("'{t}' is not KEY or KEY=VALUE"),
                        ));
                    }
                    Some(TagMatch {
                        key: k.to_string(),
                        value: v,
                    })
                }
            };
            self.waivers.push(Waiver {
                checks: w.checks.clone(),
                resource: w.resource.clone(),
                subscription: w.subscription.clone(),
                tag,
                reason: w.reason.clone(),
                expires,
                origin: format!("{origin}:{line}"),
            });
        }
        self.sources.push(origin.to_string());
        Ok(())
    }

    /// The policy of a check (every catalogue id has one).
    pub fn check(&self, id: &str) -> &CheckPolicy {
        self.checks
            .get(id)
            .unwrap_or_else(|| panic!("no policy for check {id}"))
    }

    /// The severity of a check, after the storage switch.
    pub fn severity(&self, id: &str) -> Severity {
        let s = self.check(id).severity;
        if !self.storage_in_connection_path
            && catalogue::STORAGE_PATH_CHECKS.contains(&id)
            && s > Severity::Warning
        {
            Severity::Warning
        } else {
            s
        }
    }
}

/// Fills a remediation template (see [`render_with`]).
pub fn render<V: AsRef<str>>(template: &str, values: &BTreeMap<&str, V>) -> String {
    render_with(template, |key| values.get(key).map(AsRef::as_ref))
}

/// Fills a remediation template, asking `value` for each placeholder; a placeholder without a
/// value is kept as written. Every value is quoted for a POSIX shell where it needs quotes; a
/// value Azure would not allow replaces the whole command with a `# withheld: …` line (see
/// [`crate::remediation`]).
pub fn render_with<'v>(template: &str, value: impl Fn(&str) -> Option<&'v str>) -> String {
    fill_placeholders(template, value, |key, v, out| {
        out.push_str(&crate::remediation::shell_value(key, v)?);
        Ok(())
    })
}

/// Walks `template`'s `{key}` placeholders: text, and placeholders `value` knows nothing of, are
/// copied as written; for each known one, `fill` writes what stands for it, or gives the text
/// that replaces the whole result (a withheld command).
pub fn fill_placeholders<'v>(
    template: &str,
    value: impl Fn(&str) -> Option<&'v str>,
    mut fill: impl FnMut(&str, &'v str, &mut String) -> Result<(), String>,
) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => {
                let key = &rest[open + 1..open + close];
                match value(key) {
                    Some(v) => {
                        if let Err(replacement) = fill(key, v, &mut out) {
                            return replacement;
                        }
                    }
                    None => out.push_str(&rest[open..open + close + 1]),
                }
                rest = &rest[open + close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_policy_covers_the_catalogue() {
        let p = Policy::builtin();
        assert_eq!(p.checks.len(), CATALOGUE.len());
        assert!(p.supported_regions.contains("westeurope"));
        assert!(p
            .access
            .vm_actions
            .iter()
            .any(|a| a == "Microsoft.SerialConsole/serialPorts/connect/action"));
        assert_eq!(p.severity("boot-diagnostics-disabled"), Severity::Error);
        assert!(!p.check("boot-diagnostics-disabled").portal_error.is_empty());
    }

    #[test]
    fn fingerprint_follows_what_the_policy_says_not_where_it_was_written() {
        let builtin = Policy::builtin().fingerprint();
        assert_eq!(builtin.len(), 64);
        assert!(builtin
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(Policy::builtin().fingerprint(), builtin, "stable");
        let waiver = "[[waivers]]\nchecks = [\"storage-firewall\"]\ntag = \"env=legacy\"\nreason = \"accepted\"\nexpires = 2030-01-31\n";
        let mut here = Policy::builtin();
        here.layer(waiver, "/etc/scready/policy.toml").unwrap();
        let mut there = Policy::builtin();
        there
            .layer(&format!("\n\n{waiver}"), "policy.toml")
            .unwrap();
        assert_ne!(here.sources, there.sources);
        assert_eq!(here.fingerprint(), there.fingerprint());
        assert_ne!(here.fingerprint(), builtin);
        let mut severity = Policy::builtin();
        severity
            .layer(
                "[checks.region-unsupported]\nseverity = \"off\"\n",
                "p.toml",
            )
            .unwrap();
        assert_ne!(severity.fingerprint(), builtin);
        let mut switch = Policy::builtin();
        switch
            .layer("storage_in_connection_path = false\n", "p.toml")
            .unwrap();
        assert_ne!(switch.fingerprint(), builtin);
    }

    #[test]
    fn layer_overrides_and_storage_switch() {
        let mut p = Policy::builtin();
        p.layer(
            "storage_in_connection_path = false\n[checks.region-unsupported]\nseverity = \"off\"\n",
            "user.toml",
        )
        .unwrap();
        assert_eq!(p.severity("storage-firewall"), Severity::Warning);
        assert_eq!(p.severity("storage-account-not-found"), Severity::Warning);
        assert_eq!(p.severity("region-unsupported"), Severity::Off);
        assert_eq!(p.severity("boot-diagnostics-disabled"), Severity::Error);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let mut p = Policy::builtin();
        let e = p
            .layer(
                "[checks.vm-not-running]\nseverity = \"critical\"\n",
                "u.toml",
            )
            .unwrap_err();
        assert_eq!((e.path.as_str(), e.line), ("u.toml", 2));
        assert!(e.field.contains("severity"), "{e}");
        let e = p
            .layer("[checks.vm-not-running]\nsevertiy = \"error\"\n", "u.toml")
            .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("severtiy"), "{e}");
        let e = p
            .layer(
                "\n\n[checks.no-such-check]\nseverity = \"error\"\n",
                "u.toml",
            )
            .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("no-such-check"));
        let e = p
            .layer(
                "[checks.vm-not-running]\nremediation = \"az vm start {vm}\"\n",
                "u.toml",
            )
            .unwrap_err();
        assert!(e.message.contains("{vm}"), "{e}");
    }

    #[test]
    fn waivers_need_expiry_and_a_match() {
        let mut p = Policy::builtin();
        let e = p.layer("[[waivers]]\nchecks = [\"storage-firewall\"]\nresource = \"/subscriptions/*\"\nreason = \"legacy\"\n", "w.toml").unwrap_err();
        assert!(e.field.ends_with("expires"), "{e}");
        assert_eq!(e.line, 1);
        let e = p.layer("[[waivers]]\nchecks = [\"storage-firewall\"]\nreason = \"x\"\nexpires = 2030-01-01\n", "w.toml").unwrap_err();
        assert!(e.message.contains("match something"), "{e}");
        let e = p.layer("[[waivers]]\nchecks = [\"storage-firewall\"]\nresource = \"/x\"\nreason = \"x\"\nexpires = \"soon\"\n", "w.toml").unwrap_err();
        assert!(e.message.contains("not a date"), "{e}");
        p.layer("\n[[waivers]]\nchecks = [\"storage-firewall\"]\ntag = \"env=legacy\"\nreason = \"accepted\"\nexpires = 2030-01-31\n", "w.toml").unwrap();
        let w = p.waivers.last().unwrap();
        assert_eq!(w.expires, "2030-01-31");
        assert_eq!(w.origin, "w.toml:2");
        let tags: crate::inventory::Tags = [("Env".to_string(), "legacy".to_string())]
            .into_iter()
            .collect();
        assert!(w.covers("storage-firewall", "/subscriptions/s/x", "s", &tags));
        assert!(!w.covers("storage-hns-enabled", "/subscriptions/s/x", "s", &tags));
        assert!(!w.expired("2030-01-31"));
        assert!(w.expired("2030-02-01"));
    }

    #[test]
    fn render_fills_known_placeholders() {
        let mut v = BTreeMap::new();
        v.insert("name", "vm1".to_string());
        assert_eq!(
            render("az vm start --name {name} {other}", &v),
            "az vm start --name vm1 {other}"
        );
        v.insert("resource_group", "rg(prod)".to_string());
        assert_eq!(
            render("az vm start --name {name} -g {resource_group}", &v),
            "az vm start --name vm1 -g 'rg(prod)'"
        );
        v.insert("name", "vm1;reboot".to_string());
        let withheld = render("az vm start --name {name} -g {resource_group}", &v);
        assert!(
            withheld.starts_with("# withheld: the VM name \"vm1;reboot\""),
            "{withheld}"
        );
    }

    #[test]
    fn templates_with_quoted_placeholders_are_refused() {
        let mut p = Policy::builtin();
        let e = p
            .layer(
                "[checks.vm-not-running]\nremediation = \"az vm start --name '{name}'\"\n",
                "u.toml",
            )
            .unwrap_err();
        assert!(e.message.contains("{name} is inside quotes"), "{e}");
        for c in CATALOGUE {
            let cp = p.check(c.id);
            for t in [&cp.remediation, &cp.remediation_scale_set] {
                assert_eq!(crate::remediation::misplaced_placeholder(t), None, "{t}");
            }
        }
    }
}
