//! Synthetic fleets: a realistic estate of any size, generated deterministically from a seed.
//!
//! `scready sim generate` writes what [`generate`] returns; benchmarks and tests use it directly.
//! The estate has one tenant, a management-group tree, subscriptions with several resource groups
//! each, standalone VMs, Uniform and Flexible scale sets, boot-diagnostics storage accounts (per
//! subscription, plus shared "central diagnostics" accounts in the first subscription that VMs of
//! every other subscription point at), locks, and identities: the scanner's service principal
//! ([`SCANNER_NAME`], `Reader` at `/`) and an operators group ([`OPERATORS_GROUP_NAME`]) with a
//! member user, holding `Virtual Machine Contributor` on most subscriptions.
//!
//! A [`Mix`] says how often each readiness condition occurs. Instance-level conditions are drawn
//! independently per VM (or per Uniform scale-set model, or per Uniform instance, depending on
//! where Azure keeps the setting), so with small rates most instances have none. Subscription-level
//! conditions pick `rate × subscriptions` subscriptions (rounded up or down at random in
//! proportion), never the first ("platform") subscription unless it is the only one.
//!
//! [`generate_with_key`] also returns the fleet's [`AnswerKey`]: the generator records the
//! conditions it draws for every instance and subscription (the [`Mix`] keys), and the key
//! derives from those records what a correct scanner concludes ([`crate::answer_key`]).

use super::fleet::*;
use super::world;
use crate::answer_key::{self, AnswerKey, KeyInstance, KeyPrincipal, KeyStorage, KeySubscription};
use crate::file::FileError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Display name of the scanner's service principal in generated and built-in fleets.
pub const SCANNER_NAME: &str = "scready-scanner";
/// Application (client) id of the scanner's service principal (the same in every generated
/// fleet and in the demo fleet, so a scan can sign in without reading the fleet).
pub const SCANNER_CLIENT_ID: &str = "5ca11ab1-5ca1-4ead-8e1d-00000000c0de";
/// Client secret the simulator's token endpoint accepts for [`SCANNER_CLIENT_ID`]. It is a
/// simulator credential only; it grants nothing in Azure.
pub const SCANNER_CLIENT_SECRET: &str = "sim-only-secret-scready-scanner";
/// Display name of the operators group whose access the RBAC checks audit.
pub const OPERATORS_GROUP_NAME: &str = "serial-console-operators";
/// Display name of the operators group's member user.
pub const ONCALL_USER_NAME: &str = "On-call Operator";
/// Display name of the custom role that grants everything except Serial Console.
pub const NO_CONSOLE_ROLE_NAME: &str = "Platform Operator (no Serial Console)";
/// Resource group (in the first subscription) holding the shared boot-diagnostics accounts.
pub const CENTRAL_DIAGNOSTICS_RG: &str = "rg-diagnostics-shared";
/// Resource group (in the first subscription) holding boot-diagnostics accounts the operators
/// group has no rights on.
pub const RESTRICTED_DIAGNOSTICS_RG: &str = "rg-security-diagnostics";

/// The scanner's service principal ([`SCANNER_NAME`]), if the fleet has one.
pub fn scanner_principal(fleet: &Fleet) -> Option<&Principal> {
    find_principal(fleet, PrincipalType::ServicePrincipal, SCANNER_NAME)
}

/// The operators group ([`OPERATORS_GROUP_NAME`]), if the fleet has one.
pub fn operators_group(fleet: &Fleet) -> Option<&Principal> {
    find_principal(fleet, PrincipalType::Group, OPERATORS_GROUP_NAME)
}

fn find_principal<'a>(fleet: &'a Fleet, kind: PrincipalType, name: &str) -> Option<&'a Principal> {
    fleet
        .principals
        .iter()
        .find(|p| p.principal_type == kind && p.display_name.as_deref() == Some(name))
}

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateOptions {
    /// Number of subscriptions (at least 1).
    pub subscriptions: usize,
    /// Standalone VMs per subscription.
    pub vms_per_subscription: usize,
    /// Scale sets per subscription.
    pub scale_sets: usize,
    /// Instances per Uniform scale set, member VMs per Flexible scale set.
    pub instances_per_scale_set: usize,
    /// The seed: the same options always give the same fleet.
    pub seed: u64,
    /// How often each condition occurs.
    pub mix: Mix,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            subscriptions: 3,
            vms_per_subscription: 20,
            scale_sets: 1,
            instances_per_scale_set: 5,
            seed: 1,
            mix: Mix::default(),
        }
    }
}

impl GenerateOptions {
    /// The number of instances [`generate`] produces for these options (fewer when the mix's
    /// `subscription_compute_unregistered` empties subscriptions).
    pub fn instance_count(&self) -> usize {
        self.subscriptions
            * (self.vms_per_subscription + self.scale_sets * self.instances_per_scale_set)
    }
}

macro_rules! define_mix {
    ($( $(#[$meta:meta])* $name:ident = $default:expr, )*) => {
        /// How often each condition occurs in a generated fleet: probabilities from 0.0 to 1.0.
        ///
        /// Read from TOML with [`Mix::from_toml`]; every key is optional and unknown keys are
        /// errors. Rates in one exclusive group (see [`Mix::EXCLUSIVE_GROUPS`]) describe
        /// alternatives of one setting and must not add up to more than 1.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Mix {
            $( $(#[$meta])* pub $name: f64, )*
        }

        impl Default for Mix {
            fn default() -> Self {
                Mix { $( $name: $default, )* }
            }
        }

        impl Mix {
            /// Every key, in declaration order.
            pub const FIELDS: &'static [&'static str] = &[$( stringify!($name), )*];

            /// Every rate with its key.
            pub fn rates(&self) -> Vec<(&'static str, f64)> {
                vec![$( (stringify!($name), self.$name), )*]
            }

            /// A mix where nothing happens: every instance is a ready, Linux, running VM with
            /// managed boot diagnostics, and every scale set is Uniform.
            pub fn none() -> Mix {
                Mix { $( $name: 0.0, )* }
            }

            /// The rate of a key, if it is one.
            pub fn get(&self, key: &str) -> Option<f64> {
                match key {
                    $( stringify!($name) => Some(self.$name), )*
                    _ => None,
                }
            }

            /// Sets the rate of a key; false when there is no such key.
            pub fn set(&mut self, key: &str, rate: f64) -> bool {
                match key {
                    $( stringify!($name) => { self.$name = rate; true } )*
                    _ => false,
                }
            }
        }
    };
}

define_mix! {
    /// A VM (or Uniform scale-set model) has no `diagnosticsProfile` at all.
    boot_diagnostics_absent = 0.01,
    /// A VM (or Uniform scale-set model) has boot diagnostics explicitly disabled.
    boot_diagnostics_disabled = 0.01,
    /// Of models with boot diagnostics enabled: uses a custom storage account, not managed storage.
    custom_storage = 0.25,
    /// Of custom storage URIs: the URI is `http://`.
    storage_uri_http = 0.01,
    /// Of custom storage URIs: the URI names an account that exists nowhere.
    storage_missing = 0.01,
    /// Of custom storage URIs: the account exists only outside the served subscriptions.
    storage_external = 0.01,
    /// Of custom storage accounts that are served: the account is in another subscription
    /// (the shared diagnostics accounts of the first subscription).
    storage_cross_subscription = 0.3,
    /// Of served custom accounts: the firewall's default action is `Deny`.
    storage_firewall_deny = 0.02,
    /// Of served custom accounts: hierarchical namespace (Data Lake Storage Gen2) is on.
    storage_hns = 0.01,
    /// Of served custom accounts: shared key access is disabled.
    storage_shared_key_disabled = 0.01,
    /// Of served custom accounts: minimum TLS version is `TLS1_0` or `TLS1_1`.
    storage_min_tls_old = 0.02,
    /// Of served custom accounts: the account is in another region than the VM (its paired region).
    storage_region_mismatch = 0.02,
    /// Of served custom accounts: the account sits in a resource group where the operators group
    /// has no storage permissions (fails `rbac-storage-access`).
    rbac_storage_access_missing = 0.01,
    /// A VM or Uniform instance is deallocated.
    power_deallocated = 0.015,
    /// A VM or Uniform instance is stopped (allocated).
    power_stopped = 0.005,
    /// A VM or Uniform instance is starting or stopping.
    power_transitioning = 0.005,
    /// A VM or Uniform instance has no power state in its instance view.
    power_absent = 0.002,
    /// A VM or Uniform instance is `Creating`, `Updating` or `Migrating`.
    provisioning_incomplete = 0.005,
    /// A VM or Uniform instance is `Failed`.
    provisioning_failed = 0.003,
    /// Of VMs and Uniform instances with boot diagnostics enabled: the instance view's
    /// boot-diagnostics status is at level `Error`.
    boot_diagnostics_error_status = 0.003,
    /// A VM (or Uniform scale-set model) is TrustedLaunch with secure boot on.
    trusted_launch_secure_boot = 0.01,
    /// A standalone VM or a scale set is in a region missing from the policy's region list.
    region_unsupported = 0.005,
    /// Of Linux VMs (and Linux Uniform scale-set models): `disablePasswordAuthentication` is true.
    linux_no_password = 0.02,
    /// A VM (or Uniform scale set) has a ReadOnly lock; one in five standalone VMs drawing it sits
    /// in a resource group carrying a ReadOnly lock instead.
    readonly_lock = 0.005,
    /// A Uniform instance does not run the latest model.
    instance_outdated = 0.02,
    /// A scale set is Flexible (its members are VMs) rather than Uniform.
    flexible_scale_set = 0.2,
    /// A standalone VM or a scale set runs Windows.
    windows = 0.3,
    /// Of Windows VMs: the `sacsvr` service is disabled or stopped.
    windows_sac_disabled = 0.02,
    /// A subscription has Serial Console disabled.
    subscription_console_disabled = 0.01,
    /// A subscription is in state `Warned`.
    subscription_warned = 0.01,
    /// A subscription is in state `Disabled`.
    subscription_disabled = 0.005,
    /// A subscription where the operators group has a role without Serial Console instead of
    /// Virtual Machine Contributor (fails `rbac-vm-access`).
    rbac_vm_access_missing = 0.01,
    /// A subscription has not registered `Microsoft.Compute`: it has no VMs or scale sets, and
    /// ARM answers its VM listings with 409 `MissingSubscriptionRegistration`.
    subscription_compute_unregistered = 0.0,
    /// A subscription has not registered `Microsoft.Storage`: it has no storage accounts (boot
    /// diagnostics that used them use managed storage instead).
    subscription_storage_unregistered = 0.0,
    /// A subscription has not registered `Microsoft.SerialConsole`: the console was never
    /// disabled there.
    subscription_console_unregistered = 0.0,
}

impl Mix {
    /// Groups of keys that are alternatives of one setting; each group's rates must not add up
    /// to more than 1.
    pub const EXCLUSIVE_GROUPS: &'static [&'static [&'static str]] = &[
        &["boot_diagnostics_absent", "boot_diagnostics_disabled"],
        &["storage_missing", "storage_external"],
        &[
            "power_deallocated",
            "power_stopped",
            "power_transitioning",
            "power_absent",
        ],
        &["provisioning_incomplete", "provisioning_failed"],
        &["subscription_warned", "subscription_disabled"],
    ];

    /// Checks every rate is within 0..=1 and no exclusive group adds up to more than 1; the
    /// error names the offending key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (key, rate) in self.rates() {
            if !(0.0..=1.0).contains(&rate) {
                return Err((key, format!("rate {rate} is not between 0.0 and 1.0")));
            }
        }
        for group in Mix::EXCLUSIVE_GROUPS {
            let sum: f64 = group.iter().filter_map(|k| self.get(k)).sum();
            if sum > 1.0 + 1e-9 {
                let key = group
                    .iter()
                    .rev()
                    .find(|k| self.get(k).unwrap_or(0.0) > 0.0)
                    .copied()
                    .unwrap_or(group[0]);
                return Err((
                    key,
                    format!(
                        "{} are alternatives and add up to {sum}, more than 1.0; lower the others when raising one",
                        group.join(" + ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Parses and validates a mix file; errors name the file, line and key.
    pub fn from_toml(text: &str, origin: &str) -> Result<Mix, FileError> {
        let mix: Mix = crate::file::from_toml(text, origin)?;
        mix.validate().map_err(|(key, message)| {
            // For an exclusive group, name the key the file raised: the highest rate written.
            let key = Mix::EXCLUSIVE_GROUPS
                .iter()
                .find(|g| g.contains(&key))
                .and_then(|g| {
                    g.iter()
                        .filter(|k| key_position(text, k) != (0, 0))
                        .max_by(|a, b| {
                            let (ra, rb) = (mix.get(a).unwrap_or(0.0), mix.get(b).unwrap_or(0.0));
                            ra.total_cmp(&rb)
                        })
                        .copied()
                })
                .unwrap_or(key);
            let (line, column) = key_position(text, key);
            FileError {
                path: origin.to_string(),
                line,
                column,
                field: key.to_string(),
                message,
            }
        })?;
        Ok(mix)
    }
}

/// The 1-based line and column of `key = …` in TOML text, or (0, 0) when it is not written.
fn key_position(text: &str, key: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let rest = trimmed
            .strip_prefix(key)
            .or_else(|| trimmed.strip_prefix(&format!("\"{key}\"")));
        if let Some(rest) = rest {
            if rest.trim_start().starts_with('=') {
                return (i + 1, line.len() - trimmed.len() + 1);
            }
        }
    }
    (0, 0)
}

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

/// ARM region name, the short code used in storage account names (letters only), and the
/// region's pair (index into this table).
const REGIONS: &[(&str, &str, usize)] = &[
    ("westeurope", "weu", 1),           // 0
    ("northeurope", "neu", 0),          // 1
    ("eastus", "eus", 4),               // 2
    ("eastus2", "eusb", 5),             // 3
    ("westus", "wus", 2),               // 4
    ("centralus", "cus", 3),            // 5
    ("westus2", "wusb", 7),             // 6
    ("westcentralus", "wcus", 6),       // 7
    ("westus3", "wusc", 2),             // 8
    ("uksouth", "uks", 10),             // 9
    ("ukwest", "ukw", 9),               // 10
    ("germanywestcentral", "gwc", 12),  // 11
    ("germanynorth", "gn", 11),         // 12
    ("francecentral", "frc", 14),       // 13
    ("francesouth", "frs", 13),         // 14
    ("swedencentral", "sdc", 16),       // 15
    ("swedensouth", "sds", 15),         // 16
    ("switzerlandnorth", "szn", 18),    // 17
    ("switzerlandwest", "szw", 17),     // 18
    ("southeastasia", "sea", 20),       // 19
    ("eastasia", "ea", 19),             // 20
    ("australiaeast", "aue", 22),       // 21
    ("australiasoutheast", "ause", 21), // 22
    ("japaneast", "jpe", 24),           // 23
    ("japanwest", "jpw", 23),           // 24
    ("canadacentral", "cac", 26),       // 25
    ("canadaeast", "cae", 25),          // 26
    ("centralindia", "inc", 28),        // 27
    ("southindia", "ins", 27),          // 28
    ("southcentralus", "scus", 30),     // 29
    ("northcentralus", "ncus", 29),     // 30
    ("norwayeast", "nwe", 32),          // 31
    ("norwaywest", "nww", 31),          // 32
    // Real regions that the policy's Serial Console region list does not name.
    ("jioindiawest", "jiw", 34),    // 33
    ("jioindiacentral", "jic", 33), // 34
];

/// Where VMs are placed (index into [`REGIONS`], weight): busiest regions first.
const REGION_WEIGHTS: &[(usize, u32)] = &[
    (0, 22),
    (1, 12),
    (3, 12),
    (2, 10),
    (9, 7),
    (6, 5),
    (5, 4),
    (11, 4),
    (15, 3),
    (13, 3),
    (29, 3),
    (19, 3),
    (21, 3),
    (8, 2),
    (17, 2),
    (23, 2),
    (25, 2),
    (27, 1),
    (31, 1),
];

/// Regions missing from the policy's list (indexes into [`REGIONS`]).
const UNSUPPORTED_REGIONS: &[usize] = &[33, 34];

const SIZES: &[(&str, u32)] = &[
    ("Standard_D2s_v5", 30),
    ("Standard_D4s_v5", 20),
    ("Standard_B2s", 12),
    ("Standard_B2ms", 10),
    ("Standard_E4s_v5", 8),
    ("Standard_D8s_v5", 6),
    ("Standard_F4s_v2", 5),
    ("Standard_D2as_v5", 4),
    ("Standard_E8s_v5", 3),
    ("Standard_D16s_v5", 2),
];

const APPS: &[&str] = &[
    "web", "api", "app", "sql", "db", "cache", "redis", "kafka", "etl", "batch", "jump", "dc",
    "files", "build", "agent", "mq", "search", "erp", "crm", "bi", "iot", "ftp", "proxy", "mon",
    "print", "sap", "cms", "auth", "ml", "gis",
];

const DIVISIONS: &[&str] = &[
    "Retail",
    "Finance",
    "Logistics",
    "Manufacturing",
    "Marketing",
    "Research",
    "HR",
    "Sales",
    "Online",
    "Analytics",
    "Supply Chain",
    "Customer Care",
];

/// (display, short, weight).
const ENVS: &[(&str, &str, u32)] = &[
    ("Production", "prod", 40),
    ("Development", "dev", 25),
    ("Test", "test", 15),
    ("Staging", "stg", 10),
    ("Sandbox", "sbx", 10),
];

const ROOT_MG: &str = "contoso";

// Storage account flags.
const F_DENY: u8 = 1;
const F_HNS: u8 = 2;
const F_NO_SHARED_KEY: u8 = 4;
const F_OLD_TLS: u8 = 8;
const F_RESTRICTED: u8 = 16;

// ---------------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------------

/// Generates a fleet; the same options always give the same fleet.
///
/// Rates of `opts.mix` outside 0..=1 are clamped; callers should [`Mix::validate`] first.
pub fn generate(opts: &GenerateOptions) -> Fleet {
    Generator::new(opts, false).run().0
}

/// Generates a fleet (the same as [`generate`]) and its answer key: what a correct scanner
/// concludes about every instance, from the conditions the generator put into it (see
/// [`answer_key`]). The key assumes no outages; [`AnswerKey::under`] adds them.
pub fn generate_with_key(opts: &GenerateOptions) -> (Fleet, AnswerKey) {
    let (fleet, key) = Generator::new(opts, true).run();
    (fleet, key.expect("the generator records when asked to"))
}

/// The command line that makes the same fleet, for the key's `source`.
fn source_of(opts: &GenerateOptions) -> String {
    let defaults = Mix::default();
    let changed: Vec<String> = opts
        .mix
        .rates()
        .into_iter()
        .filter(|(k, v)| defaults.get(k) != Some(*v))
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    format!(
        "scready sim generate --subscriptions {} --vms-per-subscription {} --scale-sets {} --instances-per-scale-set {} --seed {} (mix: {})",
        opts.subscriptions,
        opts.vms_per_subscription,
        opts.scale_sets,
        opts.instances_per_scale_set,
        opts.seed,
        if changed.is_empty() {
            "the default".to_string()
        } else {
            format!("the default with {}", changed.join(", "))
        }
    )
}

struct SubPlan {
    env: &'static str,
    primary_region: usize,
    rgs: Vec<RgPlan>,
    legacy_rg: Option<String>,
    vm_counter: u32,
}

struct RgPlan {
    name: String,
    app: &'static str,
    region: usize,
}

struct Generator<'a> {
    opts: &'a GenerateOptions,
    mix: Mix,
    rng: fastrand::Rng,
    fleet: Fleet,
    plans: Vec<SubPlan>,
    region_cdf: Vec<(usize, u32)>,
    size_cdf: Vec<(&'static str, u32)>,
    accounts: HashMap<(usize, usize, u8), String>,
    account_seq: HashMap<(usize, usize), u32>,
    external: Vec<String>,
    /// Whether to keep the records below (for the answer key).
    recording: bool,
    /// Conditions drawn for the instance being made, not yet recorded.
    drawn: BTreeSet<&'static str>,
    /// The custom boot-diagnostics account drawn for the model being made.
    drawn_storage: Option<KeyStorage>,
    /// Per subscription: its conditions.
    sub_conditions: Vec<BTreeSet<&'static str>>,
    /// Every instance made, with its subscription's index and its conditions.
    records: Vec<(usize, KeyInstance)>,
}

fn cdf<T: Copy>(items: &[(T, u32)]) -> Vec<(T, u32)> {
    let mut total = 0;
    items
        .iter()
        .map(|&(t, w)| {
            total += w;
            (t, total)
        })
        .collect()
}

fn pick_cdf<T: Copy>(rng: &mut fastrand::Rng, cdf: &[(T, u32)]) -> T {
    let total = cdf.last().map_or(1, |x| x.1);
    let r = rng.u32(0..total);
    cdf.iter().find(|x| r < x.1).unwrap_or(&cdf[0]).0
}

fn guid(rng: &mut fastrand::Rng) -> String {
    let a = rng.u64(..);
    let b = rng.u64(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        8 + (b >> 62),
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl<'a> Generator<'a> {
    fn new(opts: &'a GenerateOptions, recording: bool) -> Self {
        let mut mix = opts.mix.clone();
        for key in Mix::FIELDS {
            let v = mix.get(key).unwrap_or(0.0);
            mix.set(key, if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) });
        }
        Generator {
            opts,
            mix,
            rng: fastrand::Rng::with_seed(opts.seed),
            fleet: Fleet {
                schema_version: FLEET_SCHEMA_VERSION,
                ..Fleet::default()
            },
            plans: Vec::new(),
            region_cdf: cdf(REGION_WEIGHTS),
            size_cdf: cdf(SIZES),
            accounts: HashMap::new(),
            account_seq: HashMap::new(),
            external: Vec::new(),
            recording,
            drawn: BTreeSet::new(),
            drawn_storage: None,
            sub_conditions: Vec::new(),
            records: Vec::new(),
        }
    }

    /// Notes a condition of the instance (or model) being made.
    fn note(&mut self, condition: &'static str) {
        if self.recording {
            self.drawn.insert(condition);
        }
    }

    /// Notes a condition of subscription `s`.
    fn note_sub(&mut self, s: usize, condition: &'static str) {
        if self.recording {
            self.sub_conditions[s].insert(condition);
        }
    }

    /// Records an instance with the conditions drawn for it (plus `inherited`) and the
    /// boot-diagnostics account it uses.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        s: usize,
        resource_id: String,
        name: String,
        kind: &str,
        scale_set: Option<String>,
        inherited: &BTreeSet<&'static str>,
        storage: Option<KeyStorage>,
    ) {
        let mut conditions = std::mem::take(&mut self.drawn);
        if !self.recording {
            return;
        }
        conditions.extend(inherited.iter().copied());
        self.records.push((
            s,
            KeyInstance {
                resource_id,
                name,
                kind: kind.to_string(),
                subscription_id: self.fleet.subscriptions[s].id.clone(),
                scale_set,
                conditions: conditions.iter().map(|c| c.to_string()).collect(),
                storage_account: storage,
                not_listed: None,
                verdict: String::new(),
                blockers: Vec::new(),
                warnings: Vec::new(),
                unknowns: Vec::new(),
                access: BTreeMap::new(),
            },
        ));
    }

    /// The answer key of the fleet made.
    fn answer_key(&mut self) -> AnswerKey {
        let group = &self.fleet.principals[1];
        let user = &self.fleet.principals[2];
        let principal = |p: &Principal| KeyPrincipal {
            id: p.id.to_ascii_lowercase(),
            name: p.display_name.clone().unwrap_or_default(),
            principal_type: p.principal_type.as_str().to_string(),
        };
        let mut key = AnswerKey {
            schema_version: answer_key::ANSWER_KEY_SCHEMA_VERSION,
            source: source_of(self.opts),
            assumptions: answer_key::default_assumptions(),
            principals: vec![principal(group), principal(user)],
            outages: Vec::new(),
            summary: BTreeMap::new(),
            subscriptions: self
                .fleet
                .subscriptions
                .iter()
                .zip(&self.sub_conditions)
                .map(|(sub, c)| KeySubscription {
                    id: sub.id.clone(),
                    display_name: sub.display_name.clone(),
                    conditions: c.iter().map(|c| c.to_string()).collect(),
                })
                .collect(),
            instances: std::mem::take(&mut self.records)
                .into_iter()
                .map(|(_, i)| i)
                .collect(),
        };
        key.compute();
        key
    }

    fn bern(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.f64() < p
    }

    /// `rate × n` rounded down or up at random in proportion to the fraction.
    fn quota(&mut self, rate: f64, n: usize) -> usize {
        let x = rate * n as f64;
        let whole = x.floor();
        (whole as usize + usize::from(self.rng.f64() < x - whole)).min(n)
    }

    fn region(&mut self) -> usize {
        pick_cdf(&mut self.rng, &self.region_cdf)
    }

    fn run(mut self) -> (Fleet, Option<AnswerKey>) {
        let n = self.opts.subscriptions;
        self.sub_conditions = vec![BTreeSet::new(); n];
        self.identities();
        self.management_groups();
        for s in 0..n {
            self.plan_subscription(s);
        }
        self.subscription_conditions();
        for s in 0..n {
            self.account(s, self.plans[s].primary_region, 0);
        }
        if n > 0 {
            // The central diagnostics accounts: one per busy region.
            for &(region, _) in &REGION_WEIGHTS[..3] {
                self.account(0, region, 0);
            }
        }
        for s in 0..n {
            for _ in 0..self.opts.vms_per_subscription {
                self.standalone_vm(s);
            }
            for j in 0..self.opts.scale_sets {
                self.scale_set(s, j + 1);
            }
        }
        self.role_assignments();
        self.unregistered_namespaces();
        self.fleet.external_storage_accounts = self
            .external
            .iter()
            .map(|name| ExternalStorageAccount {
                name: name.clone(),
                blob_endpoint: None,
            })
            .collect();
        let key = self.recording.then(|| self.answer_key());
        (self.fleet, key)
    }

    fn identities(&mut self) {
        let tenant = guid(&mut self.rng);
        self.fleet.tenants.push(Tenant {
            id: tenant,
            display_name: Some("Contoso".into()),
        });
        let scanner = guid(&mut self.rng);
        let group = guid(&mut self.rng);
        let user = guid(&mut self.rng);
        let principal = |id: String, name: &str, t: PrincipalType| Principal {
            id,
            display_name: Some(name.to_string()),
            principal_type: t,
            tenant: None,
            client_id: None,
            client_secret: None,
            member_of: Vec::new(),
            managed_identity: false,
            graph_reader: false,
        };
        self.fleet.principals = vec![
            Principal {
                client_id: Some(SCANNER_CLIENT_ID.into()),
                client_secret: Some(SCANNER_CLIENT_SECRET.into()),
                graph_reader: true,
                ..principal(
                    scanner.clone(),
                    SCANNER_NAME,
                    PrincipalType::ServicePrincipal,
                )
            },
            principal(group.clone(), OPERATORS_GROUP_NAME, PrincipalType::Group),
            Principal {
                member_of: vec![group],
                ..principal(user.clone(), ONCALL_USER_NAME, PrincipalType::User)
            },
        ];
        self.fleet.custom_roles.push(CustomRole {
            id: guid(&mut self.rng),
            name: NO_CONSOLE_ROLE_NAME.into(),
            description: Some(
                "Everything a platform operator needs, except connecting to Serial Console.".into(),
            ),
            actions: vec!["*".into()],
            not_actions: vec![
                "Microsoft.SerialConsole/*".into(),
                "Microsoft.Authorization/*/Write".into(),
                "Microsoft.Authorization/*/Delete".into(),
            ],
            data_actions: Vec::new(),
            assignable_scopes: Vec::new(),
        });
        self.fleet.role_assignments.push(RoleAssignmentSpec {
            principal: scanner,
            role: "Reader".into(),
            scope: "/".into(),
            condition: None,
            id: None,
        });
        self.fleet.role_assignments.push(RoleAssignmentSpec {
            principal: user,
            role: "Reader".into(),
            scope: format!("/providers/Microsoft.Management/managementGroups/{ROOT_MG}"),
            condition: None,
            id: None,
        });
    }

    fn fleet_group_id(&self) -> String {
        self.fleet.principals[1].id.clone()
    }

    fn management_groups(&mut self) {
        let mg = |name: &str, parent: Option<&str>| ManagementGroup {
            name: name.into(),
            parent: parent.map(str::to_string),
            display_name: None,
        };
        self.fleet.management_groups = vec![
            mg(ROOT_MG, None),
            mg("contoso-platform", Some(ROOT_MG)),
            mg("contoso-landingzones", Some(ROOT_MG)),
            mg("contoso-corp", Some("contoso-landingzones")),
            mg("contoso-online", Some("contoso-landingzones")),
            mg("contoso-sandbox", Some(ROOT_MG)),
        ];
    }

    fn plan_subscription(&mut self, s: usize) {
        let (display, env, mg) = if s == 0 {
            (
                "Contoso Platform Management".to_string(),
                "mgmt",
                "contoso-platform",
            )
        } else {
            let env_cdf = cdf(&ENVS
                .iter()
                .enumerate()
                .map(|(i, e)| (i, e.2))
                .collect::<Vec<_>>());
            let (env_display, env, _) = ENVS[pick_cdf(&mut self.rng, &env_cdf)];
            let division = DIVISIONS[self.rng.usize(..DIVISIONS.len())];
            let mg = match env {
                "sbx" => "contoso-sandbox",
                "prod" | "stg" if self.rng.bool() => "contoso-online",
                _ => "contoso-corp",
            };
            (format!("Contoso {division} {env_display} {s:03}"), env, mg)
        };
        let primary_region = self.region();
        let per_sub = self.opts.vms_per_subscription + self.opts.scale_sets;
        let rg_count = per_sub.div_ceil(12).clamp(2, 8);
        let mut apps: Vec<&'static str> = APPS.to_vec();
        self.rng.shuffle(&mut apps);
        let rgs: Vec<RgPlan> = apps[..rg_count]
            .iter()
            .map(|&app| {
                let region = if self.rng.f64() < 0.75 {
                    primary_region
                } else {
                    self.region()
                };
                RgPlan {
                    name: format!("rg-{app}-{env}"),
                    app,
                    region,
                }
            })
            .collect();
        let resource_groups = rgs
            .iter()
            .map(|rg| ResourceGroupSpec {
                name: rg.name.clone(),
                location: REGIONS[rg.region].0.into(),
            })
            .collect();
        self.fleet.subscriptions.push(SubscriptionSpec {
            id: guid(&mut self.rng),
            display_name: display,
            tenant: None,
            state: "Enabled".into(),
            console_disabled: false,
            management_group: Some(mg.into()),
            resource_groups,
            ..SubscriptionSpec::default()
        });
        self.plans.push(SubPlan {
            env,
            primary_region,
            rgs,
            legacy_rg: None,
            vm_counter: 0,
        });
    }

    /// Subscriptions eligible for subscription-level conditions, shuffled.
    fn eligible_shuffled(&mut self) -> Vec<usize> {
        let n = self.opts.subscriptions;
        let mut v: Vec<usize> = if n > 1 {
            (1..n).collect()
        } else {
            (0..n).collect()
        };
        self.rng.shuffle(&mut v);
        v
    }

    fn subscription_conditions(&mut self) {
        let m = self.eligible_shuffled().len();
        let disabled = self.quota(self.mix.subscription_disabled, m);
        let warned = self.quota(self.mix.subscription_warned, m);
        let order = self.eligible_shuffled();
        for (i, &s) in order.iter().enumerate() {
            if i < disabled {
                self.fleet.subscriptions[s].state = "Disabled".into();
                self.note_sub(s, "subscription_disabled");
            } else if i < disabled + warned {
                self.fleet.subscriptions[s].state = "Warned".into();
                self.note_sub(s, "subscription_warned");
            }
        }
        let console = self.quota(self.mix.subscription_console_disabled, m);
        for s in self.eligible_shuffled().into_iter().take(console) {
            self.fleet.subscriptions[s].console_disabled = true;
            self.note_sub(s, "subscription_console_disabled");
        }
    }

    /// Picks the subscriptions that have not registered a namespace and takes out what they
    /// cannot hold. Draws nothing when every such rate is 0, so other fleets stay as they were.
    fn unregistered_namespaces(&mut self) {
        let rates = [
            (
                self.mix.subscription_compute_unregistered,
                "Microsoft.Compute",
            ),
            (
                self.mix.subscription_storage_unregistered,
                "Microsoft.Storage",
            ),
            (
                self.mix.subscription_console_unregistered,
                "Microsoft.SerialConsole",
            ),
        ];
        for (rate, namespace) in rates {
            if rate <= 0.0 {
                continue;
            }
            let m = self.eligible_shuffled().len();
            let count = self.quota(rate, m);
            for s in self.eligible_shuffled().into_iter().take(count) {
                self.unregister(s, namespace);
            }
        }
    }

    fn unregister(&mut self, s: usize, namespace: &str) {
        let lock_on = |prefixes: &[&str]| {
            let prefixes: Vec<String> = prefixes.iter().map(|p| p.to_ascii_lowercase()).collect();
            move |l: &LockSpec| {
                l.resource.as_deref().is_some_and(|r| {
                    let r = r.to_ascii_lowercase();
                    prefixes.iter().any(|p| r.starts_with(p.as_str()))
                })
            }
        };
        let sub = &mut self.fleet.subscriptions[s];
        match namespace {
            "Microsoft.Compute" => {
                sub.vms.clear();
                sub.scale_sets.clear();
                let on_compute = lock_on(&["virtualMachines/", "virtualMachineScaleSets/"]);
                sub.locks.retain(|l| !on_compute(l));
            }
            "Microsoft.Storage" => {
                let gone: HashSet<String> =
                    sub.storage_accounts.drain(..).map(|a| a.name).collect();
                let on_storage = lock_on(&["storageAccounts/"]);
                sub.locks.retain(|l| !on_storage(l));
                let repoint = |b: &mut Option<BootDiagnosticsSpec>| {
                    if let Some(b) = b {
                        let host = b.storage_uri.as_deref().and_then(world::host_of);
                        let account = host.as_deref().and_then(|h| h.split('.').next());
                        if account.is_some_and(|a| gone.contains(a)) {
                            b.storage_uri = None;
                        }
                    }
                };
                for sub in &mut self.fleet.subscriptions {
                    for vm in &mut sub.vms {
                        repoint(&mut vm.boot_diagnostics);
                    }
                    for ss in &mut sub.scale_sets {
                        repoint(&mut ss.boot_diagnostics);
                        for inst in &mut ss.instances {
                            repoint(&mut inst.boot_diagnostics);
                        }
                    }
                }
            }
            _ => sub.console_disabled = false,
        }
        self.fleet.subscriptions[s]
            .unregistered
            .push(namespace.to_string());
        // The key follows: a subscription without Compute has no instances; without Storage,
        // the boot diagnostics that used its accounts use managed storage; without
        // SerialConsole, the console was never turned off there.
        let sub_id = self.fleet.subscriptions[s].id.clone();
        match namespace {
            "Microsoft.Compute" => {
                self.records.retain(|(at, _)| *at != s);
                self.note_sub(s, "subscription_compute_unregistered");
            }
            "Microsoft.Storage" => {
                for (_, r) in &mut self.records {
                    let repointed = r
                        .storage_account
                        .as_ref()
                        .is_some_and(|a| a.subscription_id.as_deref() == Some(sub_id.as_str()));
                    if repointed {
                        r.storage_account = None;
                        r.conditions.retain(|c| {
                            c != "custom_storage"
                                && !c.starts_with("storage_")
                                && c != "rbac_storage_access_missing"
                        });
                    }
                }
                self.note_sub(s, "subscription_storage_unregistered");
            }
            _ => {
                if self.recording {
                    self.sub_conditions[s].remove("subscription_console_disabled");
                }
                self.note_sub(s, "subscription_console_unregistered");
            }
        }
    }

    fn role_assignments(&mut self) {
        let group = self.fleet_group_id();
        let n = self.opts.subscriptions;
        let m = self.eligible_shuffled().len();
        let missing = self.quota(self.mix.rbac_vm_access_missing, m);
        let lacking: HashSet<usize> = self.eligible_shuffled().into_iter().take(missing).collect();
        let assign = |role: &str, scope: String| RoleAssignmentSpec {
            principal: group.clone(),
            role: role.into(),
            scope,
            condition: None,
            id: None,
        };
        let mut out = Vec::new();
        for &s in &lacking {
            self.note_sub(s, "rbac_vm_access_missing");
        }
        if lacking.contains(&0) {
            // The role without Serial Console grants everything else, storage included, on the
            // whole first subscription: its restricted diagnostics accounts too.
            for (_, r) in &mut self.records {
                r.conditions.retain(|c| c != "rbac_storage_access_missing");
            }
        }
        for s in 0..n {
            let sub = &self.fleet.subscriptions[s];
            let scope = format!("/subscriptions/{}", sub.id);
            if lacking.contains(&s) {
                out.push(assign(NO_CONSOLE_ROLE_NAME, scope));
            } else if s == 0 {
                // The platform subscription grants per resource group, leaving out the
                // restricted diagnostics group.
                let mut rgs: Vec<&str> = sub
                    .resource_groups
                    .iter()
                    .map(|r| r.name.as_str())
                    .filter(|r| *r != RESTRICTED_DIAGNOSTICS_RG)
                    .collect();
                rgs.sort_unstable();
                rgs.dedup();
                for rg in rgs {
                    out.push(assign(
                        "Virtual Machine Contributor",
                        format!("{scope}/resourceGroups/{rg}"),
                    ));
                }
            } else {
                out.push(assign("Virtual Machine Contributor", scope));
            }
        }
        self.fleet.role_assignments.extend(out);
    }

    fn ensure_rg(&mut self, s: usize, name: &str, region: usize) {
        let sub = &mut self.fleet.subscriptions[s];
        if !sub.resource_groups.iter().any(|r| r.name == name) {
            sub.resource_groups.push(ResourceGroupSpec {
                name: name.to_string(),
                location: REGIONS[region].0.into(),
            });
        }
    }

    /// The name of a storage account in subscription `s`, region and flags, created on first use.
    fn account(&mut self, s: usize, region: usize, flags: u8) -> String {
        if let Some(name) = self.accounts.get(&(s, region, flags)) {
            return name.clone();
        }
        let seq = self.account_seq.entry((s, region)).or_insert(0);
        *seq += 1;
        let prefix = if s == 0 {
            "stdiagshared".to_string()
        } else {
            format!("stbd{s:04}")
        };
        let name = format!("{prefix}{}{:02}", REGIONS[region].1, seq);
        let rg = if flags & F_RESTRICTED != 0 {
            RESTRICTED_DIAGNOSTICS_RG.to_string()
        } else if s == 0 {
            CENTRAL_DIAGNOSTICS_RG.to_string()
        } else {
            format!("rg-diagnostics-{}", self.plans[s].env)
        };
        let rg_region = self.plans[s].primary_region;
        self.ensure_rg(s, &rg, rg_region);
        let tls = if flags & F_OLD_TLS != 0 {
            if self.rng.bool() {
                "TLS1_0"
            } else {
                "TLS1_1"
            }
        } else {
            "TLS1_2"
        };
        let account = StorageAccountSpec {
            name: name.clone(),
            resource_group: rg,
            location: REGIONS[region].0.into(),
            kind: "StorageV2".into(),
            is_hns_enabled: (flags & F_HNS != 0).then_some(true),
            network_default_action: Some(if flags & F_DENY != 0 { "Deny" } else { "Allow" }.into()),
            allow_shared_key_access: (flags & F_NO_SHARED_KEY != 0).then_some(false),
            minimum_tls_version: Some(tls.into()),
            blob_endpoint: None,
            tags: tags(&[("purpose", "boot-diagnostics")]),
        };
        self.fleet.subscriptions[s].storage_accounts.push(account);
        self.accounts.insert((s, region, flags), name.clone());
        name
    }

    fn external_account(&mut self) -> String {
        if self.external.is_empty() || (self.external.len() < 3 && self.bern(0.3)) {
            let name = format!("stpartnerdiag{:02}", self.external.len() + 1);
            self.external.push(name);
        }
        let i = self.rng.usize(..self.external.len());
        self.external[i].clone()
    }

    fn storage_uri(&mut self, s: usize, region: usize) -> String {
        let scheme = if self.bern(self.mix.storage_uri_http) {
            self.note("storage_uri_http");
            "http"
        } else {
            "https"
        };
        let u = self.rng.f64();
        let name = if u < self.mix.storage_missing {
            let name = format!("stbdretired{:06x}", self.rng.u32(..0x100_0000));
            self.note("storage_missing");
            self.drawn_storage = Some(KeyStorage {
                name: name.clone(),
                subscription_id: None,
                exists: false,
            });
            name
        } else if u < self.mix.storage_missing + self.mix.storage_external {
            let name = self.external_account();
            self.note("storage_external");
            self.drawn_storage = Some(KeyStorage {
                name: name.clone(),
                subscription_id: None,
                exists: true,
            });
            name
        } else {
            let restricted = self.bern(self.mix.rbac_storage_access_missing);
            let cross = !restricted && self.bern(self.mix.storage_cross_subscription);
            let mut flags = 0;
            for (rate, flag) in [
                (self.mix.storage_firewall_deny, F_DENY),
                (self.mix.storage_hns, F_HNS),
                (self.mix.storage_shared_key_disabled, F_NO_SHARED_KEY),
                (self.mix.storage_min_tls_old, F_OLD_TLS),
            ] {
                if self.bern(rate) {
                    flags |= flag;
                }
            }
            let account_region = if self.bern(self.mix.storage_region_mismatch) {
                REGIONS[region].2
            } else {
                region
            };
            let n = self.opts.subscriptions;
            let target = if restricted {
                flags |= F_RESTRICTED;
                0
            } else if cross && n > 1 {
                if s == 0 {
                    1
                } else {
                    0
                }
            } else {
                s
            };
            for (flag, condition) in [
                (F_DENY, "storage_firewall_deny"),
                (F_HNS, "storage_hns"),
                (F_NO_SHARED_KEY, "storage_shared_key_disabled"),
                (F_OLD_TLS, "storage_min_tls_old"),
                (F_RESTRICTED, "rbac_storage_access_missing"),
            ] {
                if flags & flag != 0 {
                    self.note(condition);
                }
            }
            if account_region != region {
                self.note("storage_region_mismatch");
            }
            if target != s {
                self.note("storage_cross_subscription");
            }
            let name = self.account(target, account_region, flags);
            self.drawn_storage = Some(KeyStorage {
                name: name.clone(),
                subscription_id: Some(self.fleet.subscriptions[target].id.clone()),
                exists: true,
            });
            name
        };
        format!("{scheme}://{name}.blob.core.windows.net/")
    }

    fn boot_diagnostics(&mut self, s: usize, region: usize) -> Option<BootDiagnosticsSpec> {
        let u = self.rng.f64();
        if u < self.mix.boot_diagnostics_absent {
            self.note("boot_diagnostics_absent");
            return None;
        }
        if u < self.mix.boot_diagnostics_absent + self.mix.boot_diagnostics_disabled {
            self.note("boot_diagnostics_disabled");
            return Some(BootDiagnosticsSpec {
                enabled: false,
                storage_uri: None,
            });
        }
        let storage_uri = if self.bern(self.mix.custom_storage) {
            self.note("custom_storage");
            Some(self.storage_uri(s, region))
        } else {
            None
        };
        Some(BootDiagnosticsSpec {
            enabled: true,
            storage_uri,
        })
    }

    fn power_state(&mut self) -> &'static str {
        let m = &self.mix;
        let (a, b, c, d) = (
            m.power_deallocated,
            m.power_stopped,
            m.power_transitioning,
            m.power_absent,
        );
        let u = self.rng.f64();
        let (state, condition) = if u < a {
            ("deallocated", Some("power_deallocated"))
        } else if u < a + b {
            ("stopped", Some("power_stopped"))
        } else if u < a + b + c {
            let state = if self.rng.bool() {
                "starting"
            } else {
                "stopping"
            };
            (state, Some("power_transitioning"))
        } else if u < a + b + c + d {
            ("absent", Some("power_absent"))
        } else {
            ("running", None)
        };
        if let Some(c) = condition {
            self.note(c);
        }
        state
    }

    fn provisioning_state(&mut self) -> &'static str {
        let u = self.rng.f64();
        if u < self.mix.provisioning_incomplete {
            self.note("provisioning_incomplete");
            ["Creating", "Updating", "Migrating"][self.rng.usize(..3)]
        } else if u < self.mix.provisioning_incomplete + self.mix.provisioning_failed {
            self.note("provisioning_failed");
            "Failed"
        } else {
            "Succeeded"
        }
    }

    fn error_status(&mut self, boot: &Option<BootDiagnosticsSpec>) -> Option<StatusSpec> {
        let enabled = matches!(boot, Some(BootDiagnosticsSpec { enabled: true, .. }));
        let error = enabled && self.bern(self.mix.boot_diagnostics_error_status);
        if error {
            self.note("boot_diagnostics_error_status");
        }
        error.then(|| StatusSpec {
            code: "ProvisioningState/failed/InternalOperationError".into(),
            level: "Error".into(),
            message: Some(
                "Boot diagnostics could not be configured: the host node did not respond in time."
                    .into(),
            ),
        })
    }

    /// Security type, secure boot and vTPM.
    fn security(&mut self) -> (Option<String>, Option<bool>, Option<bool>) {
        if self.bern(self.mix.trusted_launch_secure_boot) {
            self.note("trusted_launch_secure_boot");
            (Some("TrustedLaunch".into()), Some(true), Some(true))
        } else if self.rng.f64() < 0.2 {
            (Some("TrustedLaunch".into()), Some(false), Some(true))
        } else {
            (None, None, None)
        }
    }

    fn linux_password(&mut self, windows: bool) -> Option<bool> {
        if windows {
            self.note("windows");
            None
        } else {
            let off = self.bern(self.mix.linux_no_password);
            if off {
                self.note("linux_no_password");
            }
            Some(off)
        }
    }

    fn location(&mut self, rg_region: usize) -> usize {
        if self.bern(self.mix.region_unsupported) {
            self.note("region_unsupported");
            UNSUPPORTED_REGIONS[self.rng.usize(..UNSUPPORTED_REGIONS.len())]
        } else if self.rng.f64() < 0.9 {
            rg_region
        } else {
            self.region()
        }
    }

    fn readonly_lock(&mut self, s: usize, rg: &str, resource: String) {
        let name = format!("readonly-{}", resource.rsplit('/').next().unwrap_or(""));
        self.fleet.subscriptions[s].locks.push(LockSpec {
            name,
            level: "ReadOnly".into(),
            resource_group: Some(rg.to_string()),
            resource: Some(resource),
            notes: Some("Change freeze".into()),
        });
    }

    /// The resource group whose ReadOnly lock covers every VM placed in it.
    fn legacy_rg(&mut self, s: usize) -> String {
        if let Some(rg) = &self.plans[s].legacy_rg {
            return rg.clone();
        }
        let name = format!("rg-legacy-{}", self.plans[s].env);
        let region = self.plans[s].primary_region;
        self.ensure_rg(s, &name, region);
        self.fleet.subscriptions[s].locks.push(LockSpec {
            name: "freeze-legacy".into(),
            level: "ReadOnly".into(),
            resource_group: Some(name.clone()),
            resource: None,
            notes: Some("Frozen pending decommissioning".into()),
        });
        self.plans[s].legacy_rg = Some(name.clone());
        name
    }

    #[allow(clippy::too_many_arguments)]
    fn vm(
        &mut self,
        s: usize,
        name: String,
        rg: String,
        region: usize,
        windows: bool,
        app: &'static str,
        scale_set: Option<String>,
    ) -> VmSpec {
        let power_state = self.power_state();
        let provisioning_state = self.provisioning_state();
        let boot_diagnostics = self.boot_diagnostics(s, region);
        let boot_diagnostics_status = self.error_status(&boot_diagnostics);
        let (security_type, secure_boot, vtpm) = self.security();
        let disable_password_authentication = self.linux_password(windows);
        let sac_service = windows.then(|| {
            if self.bern(self.mix.windows_sac_disabled) {
                self.note("windows_sac_disabled");
                let start_type = if self.rng.f64() < 0.7 {
                    "Disabled"
                } else {
                    "Manual"
                };
                SacServiceSpec {
                    start_type: start_type.into(),
                    state: "Stopped".into(),
                }
            } else {
                SacServiceSpec {
                    start_type: "Automatic".into(),
                    state: "Running".into(),
                }
            }
        });
        let size = pick_cdf(&mut self.rng, &self.size_cdf);
        VmSpec {
            name,
            resource_group: rg,
            location: REGIONS[region].0.into(),
            os_type: if windows { "Windows" } else { "Linux" }.into(),
            size: size.into(),
            power_state: power_state.into(),
            provisioning_state: provisioning_state.into(),
            boot_diagnostics,
            boot_diagnostics_status,
            security_type,
            secure_boot,
            vtpm,
            disable_password_authentication,
            scale_set,
            tags: tags(&[("env", self.plans[s].env), ("app", app)]),
            sac_service,
            run_command: None,
        }
    }

    fn standalone_vm(&mut self, s: usize) {
        let rg_index = self.rng.usize(..self.plans[s].rgs.len());
        let (mut rg, app, rg_region) = {
            let r = &self.plans[s].rgs[rg_index];
            (r.name.clone(), r.app, r.region)
        };
        let env = self.plans[s].env;
        self.plans[s].vm_counter += 1;
        let name = format!("vm-{app}-{env}-{:04}", self.plans[s].vm_counter);
        let mut resource_lock = false;
        if self.bern(self.mix.readonly_lock) {
            self.note("readonly_lock");
            if self.rng.f64() < 0.2 {
                rg = self.legacy_rg(s);
            } else {
                resource_lock = true;
            }
        }
        let region = self.location(rg_region);
        let windows = self.bern(self.mix.windows);
        if resource_lock {
            self.readonly_lock(s, &rg, format!("virtualMachines/{name}"));
        }
        let vm = self.vm(s, name, rg, region, windows, app, None);
        let id = world::vm_id(
            &self.fleet.subscriptions[s].id,
            &vm.resource_group,
            &vm.name,
        );
        let storage = self.drawn_storage.take();
        self.record(
            s,
            id,
            vm.name.clone(),
            "vm",
            None,
            &BTreeSet::new(),
            storage,
        );
        self.fleet.subscriptions[s].vms.push(vm);
    }

    fn scale_set(&mut self, s: usize, j: usize) {
        let rg_index = self.rng.usize(..self.plans[s].rgs.len());
        let (rg, app, rg_region) = {
            let r = &self.plans[s].rgs[rg_index];
            (r.name.clone(), r.app, r.region)
        };
        let env = self.plans[s].env;
        let name = format!("vmss-{app}-{env}-{j:02}");
        let region = if self.bern(self.mix.region_unsupported) {
            self.note("region_unsupported");
            UNSUPPORTED_REGIONS[self.rng.usize(..UNSUPPORTED_REGIONS.len())]
        } else {
            rg_region
        };
        let windows = self.bern(self.mix.windows);
        let flexible = self.bern(self.mix.flexible_scale_set);
        if flexible {
            self.note("flexible_scale_set");
        }
        // Conditions of the whole scale set, shared by its instances.
        let set_level = std::mem::take(&mut self.drawn);
        let os_type: String = if windows { "Windows" } else { "Linux" }.into();
        let count = self.opts.instances_per_scale_set;
        let mut spec = ScaleSetSpec {
            name: name.clone(),
            resource_group: rg.clone(),
            location: REGIONS[region].0.into(),
            orchestration_mode: if flexible { "Flexible" } else { "Uniform" }.into(),
            os_type,
            provisioning_state: "Succeeded".into(),
            boot_diagnostics: None,
            security_type: None,
            secure_boot: None,
            disable_password_authentication: None,
            tags: tags(&[("env", env), ("app", app)]),
            instances: Vec::new(),
        };
        if flexible {
            self.fleet.subscriptions[s].scale_sets.push(spec);
            let mut used = HashSet::new();
            for _ in 0..count {
                let member = loop {
                    let candidate = format!("{name}_{:08x}", self.rng.u32(..));
                    if used.insert(candidate.clone()) {
                        break candidate;
                    }
                };
                if self.bern(self.mix.readonly_lock) {
                    self.note("readonly_lock");
                    self.readonly_lock(s, &rg, format!("virtualMachines/{member}"));
                }
                let vm = self.vm(
                    s,
                    member,
                    rg.clone(),
                    region,
                    windows,
                    app,
                    Some(name.clone()),
                );
                let id = world::vm_id(
                    &self.fleet.subscriptions[s].id,
                    &vm.resource_group,
                    &vm.name,
                );
                let storage = self.drawn_storage.take();
                self.record(
                    s,
                    id,
                    vm.name.clone(),
                    "vmss_flex_vm",
                    Some(name.clone()),
                    &set_level,
                    storage,
                );
                self.fleet.subscriptions[s].vms.push(vm);
            }
            return;
        }
        // Uniform: the model carries boot diagnostics, security and OS settings.
        spec.boot_diagnostics = self.boot_diagnostics(s, region);
        let (security_type, secure_boot, _) = self.security();
        spec.security_type = security_type;
        spec.secure_boot = secure_boot;
        spec.disable_password_authentication = self.linux_password(windows);
        if self.bern(self.mix.readonly_lock) {
            self.note("readonly_lock");
            self.readonly_lock(s, &rg, format!("virtualMachineScaleSets/{name}"));
        }
        // The model's conditions, shared by every instance.
        let mut model_level = std::mem::take(&mut self.drawn);
        model_level.extend(set_level);
        let model_storage = self.drawn_storage.take();
        let set_id = world::scale_set_id(&self.fleet.subscriptions[s].id, &rg, &name);
        let mut id = 0u32;
        for _ in 0..count {
            let power_state = self.power_state();
            let provisioning_state = self.provisioning_state();
            let latest_model_applied = !self.bern(self.mix.instance_outdated);
            if !latest_model_applied {
                self.note("instance_outdated");
            }
            let boot_diagnostics_status = self.error_status(&spec.boot_diagnostics);
            self.record(
                s,
                format!("{set_id}/virtualMachines/{id}"),
                format!("{name}_{id}"),
                "vmss_instance",
                Some(name.clone()),
                &model_level,
                model_storage.clone(),
            );
            spec.instances.push(InstanceSpec {
                instance_id: id.to_string(),
                latest_model_applied,
                power_state: power_state.into(),
                provisioning_state: provisioning_state.into(),
                boot_diagnostics: None,
                boot_diagnostics_status,
                tags: BTreeMap::new(),
            });
            // Scale-in leaves gaps in instance ids.
            id += if self.rng.u8(..) < 24 { 2 } else { 1 };
        }
        self.fleet.subscriptions[s].scale_sets.push(spec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;
    use std::collections::BTreeSet;

    /// Keys that shape the estate rather than make a check fail.
    const STRUCTURAL: &[&str] = &[
        "custom_storage",
        "storage_cross_subscription",
        "flexible_scale_set",
        "windows",
        "subscription_storage_unregistered",
        "subscription_console_unregistered",
    ];

    fn supported_regions() -> HashSet<String> {
        let policy: toml::Value =
            toml::from_str(include_str!("../../policies/serial-console.toml")).unwrap();
        policy["regions"]["supported"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Kind {
        Vm,
        FlexMember,
        Uniform,
    }

    #[derive(Debug)]
    struct Surveyed {
        id: String,
        sub: usize,
        kind: Kind,
        windows: bool,
        conditions: BTreeSet<&'static str>,
    }

    impl Surveyed {
        fn failing(&self) -> impl Iterator<Item = &&'static str> {
            self.conditions.iter().filter(|c| !STRUCTURAL.contains(c))
        }
    }

    /// Reads every instance's conditions back out of the fleet, independently of the generator.
    fn survey(fleet: &Fleet) -> Vec<Surveyed> {
        let supported = supported_regions();
        let world = World::build(fleet);
        let group = operators_group(fleet).unwrap().id.to_ascii_lowercase();
        let mut accounts: HashMap<&str, (usize, &StorageAccountSpec)> = HashMap::new();
        for (s, sub) in fleet.subscriptions.iter().enumerate() {
            for sa in &sub.storage_accounts {
                assert!(accounts.insert(&sa.name, (s, sa)).is_none(), "{}", sa.name);
            }
        }
        let external: HashSet<&str> = fleet
            .external_storage_accounts
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        let storage = |c: &mut BTreeSet<&'static str>, s: usize, uri: &str, location: &str| {
            c.insert("custom_storage");
            if uri.starts_with("http://") {
                c.insert("storage_uri_http");
            }
            let host = world::host_of(uri).unwrap();
            let name = host.split('.').next().unwrap();
            if let Some(&(t, sa)) = accounts.get(name) {
                if t != s {
                    c.insert("storage_cross_subscription");
                }
                if sa.network_default_action.as_deref() == Some("Deny") {
                    c.insert("storage_firewall_deny");
                }
                if sa.is_hns_enabled == Some(true) {
                    c.insert("storage_hns");
                }
                if sa.allow_shared_key_access == Some(false) {
                    c.insert("storage_shared_key_disabled");
                }
                if matches!(sa.minimum_tls_version.as_deref(), Some("TLS1_0" | "TLS1_1")) {
                    c.insert("storage_min_tls_old");
                }
                if sa.location != location {
                    c.insert("storage_region_mismatch");
                }
                let id =
                    world::storage_id(&fleet.subscriptions[t].id, &sa.resource_group, &sa.name);
                if !world.allows(
                    &group,
                    &id,
                    "Microsoft.Storage/storageAccounts/listKeys/action",
                ) {
                    c.insert("rbac_storage_access_missing");
                }
            } else if external.contains(name) {
                c.insert("storage_external");
            } else {
                c.insert("storage_missing");
            }
        };
        let model = |c: &mut BTreeSet<&'static str>,
                     s: usize,
                     location: &str,
                     boot: &Option<BootDiagnosticsSpec>,
                     secure: (Option<&str>, Option<bool>),
                     os: &str,
                     password_off: Option<bool>| {
            match boot {
                None => {
                    c.insert("boot_diagnostics_absent");
                }
                Some(b) if !b.enabled => {
                    c.insert("boot_diagnostics_disabled");
                }
                Some(b) => {
                    if let Some(uri) = &b.storage_uri {
                        storage(c, s, uri, location);
                    }
                }
            }
            if secure == (Some("TrustedLaunch"), Some(true)) {
                c.insert("trusted_launch_secure_boot");
            }
            if !supported.contains(location) {
                c.insert("region_unsupported");
            }
            if os == "Windows" {
                c.insert("windows");
            } else if password_off == Some(true) {
                c.insert("linux_no_password");
            }
        };
        let state = |c: &mut BTreeSet<&'static str>,
                     power: &str,
                     provisioning: &str,
                     status: &Option<StatusSpec>| {
            match power {
                "deallocated" => c.insert("power_deallocated"),
                "stopped" => c.insert("power_stopped"),
                "starting" | "stopping" => c.insert("power_transitioning"),
                "absent" => c.insert("power_absent"),
                "running" => true,
                other => panic!("unexpected power state {other}"),
            };
            match provisioning {
                "Creating" | "Updating" | "Migrating" => c.insert("provisioning_incomplete"),
                "Failed" => c.insert("provisioning_failed"),
                "Succeeded" => true,
                other => panic!("unexpected provisioning state {other}"),
            };
            if status.as_ref().is_some_and(|s| s.level == "Error") {
                c.insert("boot_diagnostics_error_status");
            }
        };
        let mut out = Vec::new();
        for (s, sub) in fleet.subscriptions.iter().enumerate() {
            let mut base = BTreeSet::new();
            match sub.state.as_str() {
                "Warned" => {
                    base.insert("subscription_warned");
                }
                "Disabled" => {
                    base.insert("subscription_disabled");
                }
                _ => {}
            }
            if sub.console_disabled {
                base.insert("subscription_console_disabled");
            }
            if sub.is_unregistered("Microsoft.Storage") {
                base.insert("subscription_storage_unregistered");
            }
            if sub.is_unregistered("Microsoft.SerialConsole") {
                base.insert("subscription_console_unregistered");
            }
            let locked = |rg: &str, resource: &str| {
                sub.locks.iter().any(|l| {
                    l.level == "ReadOnly"
                        && match (&l.resource_group, &l.resource) {
                            (None, _) => true,
                            (Some(r), None) => r.eq_ignore_ascii_case(rg),
                            (Some(r), Some(x)) => r.eq_ignore_ascii_case(rg) && x == resource,
                        }
                })
            };
            let connect = |c: &mut BTreeSet<&'static str>, id: &str| {
                if !world.allows(
                    &group,
                    id,
                    "Microsoft.SerialConsole/serialPorts/connect/action",
                ) {
                    c.insert("rbac_vm_access_missing");
                }
            };
            for vm in &sub.vms {
                let mut c = base.clone();
                model(
                    &mut c,
                    s,
                    &vm.location,
                    &vm.boot_diagnostics,
                    (vm.security_type.as_deref(), vm.secure_boot),
                    &vm.os_type,
                    vm.disable_password_authentication,
                );
                state(
                    &mut c,
                    &vm.power_state,
                    &vm.provisioning_state,
                    &vm.boot_diagnostics_status,
                );
                if locked(&vm.resource_group, &format!("virtualMachines/{}", vm.name)) {
                    c.insert("readonly_lock");
                }
                if let Some(sac) = &vm.sac_service {
                    assert_eq!(vm.os_type, "Windows");
                    if sac.start_type != "Automatic" || sac.state != "Running" {
                        c.insert("windows_sac_disabled");
                    }
                }
                if vm.scale_set.is_some() {
                    c.insert("flexible_scale_set");
                }
                connect(&mut c, &world::vm_id(&sub.id, &vm.resource_group, &vm.name));
                out.push(Surveyed {
                    id: world::vm_id(&sub.id, &vm.resource_group, &vm.name),
                    sub: s,
                    kind: if vm.scale_set.is_some() {
                        Kind::FlexMember
                    } else {
                        Kind::Vm
                    },
                    windows: vm.os_type == "Windows",
                    conditions: c,
                });
            }
            for ss in &sub.scale_sets {
                for inst in &ss.instances {
                    let mut c = base.clone();
                    model(
                        &mut c,
                        s,
                        &ss.location,
                        &world::instance_boot_diagnostics(ss, inst),
                        (ss.security_type.as_deref(), ss.secure_boot),
                        &ss.os_type,
                        ss.disable_password_authentication,
                    );
                    state(
                        &mut c,
                        &inst.power_state,
                        &inst.provisioning_state,
                        &inst.boot_diagnostics_status,
                    );
                    if locked(
                        &ss.resource_group,
                        &format!("virtualMachineScaleSets/{}", ss.name),
                    ) {
                        c.insert("readonly_lock");
                    }
                    if !inst.latest_model_applied {
                        c.insert("instance_outdated");
                    }
                    connect(
                        &mut c,
                        &format!(
                            "{}/virtualMachines/{}",
                            world::scale_set_id(&sub.id, &ss.resource_group, &ss.name),
                            inst.instance_id
                        ),
                    );
                    out.push(Surveyed {
                        id: format!(
                            "{}/virtualMachines/{}",
                            world::scale_set_id(&sub.id, &ss.resource_group, &ss.name),
                            inst.instance_id
                        ),
                        sub: s,
                        kind: Kind::Uniform,
                        windows: ss.os_type == "Windows",
                        conditions: c,
                    });
                }
            }
        }
        out
    }

    fn small(seed: u64, mix: Mix) -> GenerateOptions {
        GenerateOptions {
            subscriptions: 5,
            vms_per_subscription: 20,
            scale_sets: 2,
            instances_per_scale_set: 5,
            seed,
            mix,
        }
    }

    #[test]
    fn small_fleet_is_valid_counted_and_deterministic() {
        let opts = small(42, Mix::default());
        let fleet = generate(&opts);
        fleet.validate("generated").unwrap();
        assert_eq!(fleet.instance_count(), 5 * (20 + 2 * 5));
        assert_eq!(fleet.instance_count(), opts.instance_count());
        assert_eq!(fleet.subscriptions.len(), 5);
        assert_eq!(fleet.settings.page_size, None);
        let json = fleet.to_json();
        assert_eq!(json, generate(&opts).to_json(), "same seed, same fleet");
        assert_ne!(json, generate(&small(43, Mix::default())).to_json());
        // The JSON and TOML forms load back.
        Fleet::parse(&json, "generated.json", false).unwrap();
        Fleet::parse(&fleet.to_toml(), "generated.toml", true).unwrap();
    }

    #[test]
    fn instance_formula_holds_with_flexible_and_uniform_sets() {
        for flexible in [0.0, 0.5, 1.0] {
            let mix = Mix {
                flexible_scale_set: flexible,
                ..Mix::default()
            };
            let opts = GenerateOptions {
                subscriptions: 4,
                vms_per_subscription: 7,
                scale_sets: 3,
                instances_per_scale_set: 4,
                seed: 9,
                mix,
            };
            let fleet = generate(&opts);
            fleet.validate("generated").unwrap();
            assert_eq!(fleet.instance_count(), 4 * (7 + 3 * 4));
        }
        let one = GenerateOptions {
            subscriptions: 1,
            ..GenerateOptions::default()
        };
        let fleet = generate(&one);
        fleet.validate("generated").unwrap();
        assert_eq!(fleet.instance_count(), one.instance_count());
    }

    #[test]
    fn identities_let_the_scanner_read_everything() {
        let fleet = generate(&small(5, Mix::default()));
        assert_eq!(fleet.tenants.len(), 1);
        let scanner = scanner_principal(&fleet).unwrap();
        assert_eq!(scanner.client_id.as_deref(), Some(SCANNER_CLIENT_ID));
        assert_eq!(
            scanner.client_secret.as_deref(),
            Some(SCANNER_CLIENT_SECRET)
        );
        assert!(fleet
            .role_assignments
            .iter()
            .any(|a| a.principal == scanner.id && a.role == "Reader" && a.scope == "/"));
        let group = operators_group(&fleet).unwrap();
        assert!(fleet
            .principals
            .iter()
            .any(|p| p.principal_type == PrincipalType::User && p.member_of == [group.id.clone()]));
        let world = World::build(&fleet);
        let scanner_id = scanner.id.to_ascii_lowercase();
        for sub in &world.subs {
            assert!(world.can_see_subscription(&scanner_id, sub));
        }
    }

    #[test]
    fn names_are_realistic_and_storage_names_unique_fleet_wide() {
        let fleet = generate(&small(11, Mix::default()));
        let supported = supported_regions();
        let mut names = HashSet::new();
        for sub in &fleet.subscriptions {
            assert!(sub.resource_groups.len() >= 2);
            for sa in &sub.storage_accounts {
                assert!((3..=24).contains(&sa.name.len()), "{}", sa.name);
                assert!(names.insert(sa.name.clone()), "duplicate {}", sa.name);
            }
            for vm in &sub.vms {
                assert!(
                    vm.resource_group.starts_with("rg-"),
                    "{}",
                    vm.resource_group
                );
                let ok = match &vm.scale_set {
                    None => {
                        let parts: Vec<&str> = vm.name.split('-').collect();
                        parts.len() == 4
                            && parts[0] == "vm"
                            && parts[3].len() == 4
                            && parts[3].bytes().all(|b| b.is_ascii_digit())
                    }
                    Some(ss) => vm.name.starts_with(&format!("{ss}_")),
                };
                assert!(ok, "{}", vm.name);
            }
        }
        for ext in &fleet.external_storage_accounts {
            assert!(names.insert(ext.name.clone()), "duplicate {}", ext.name);
        }
        // The region tables agree with the policy.
        for (i, (name, code, pair)) in REGIONS.iter().enumerate() {
            assert!(code.bytes().all(|b| b.is_ascii_lowercase()), "{code}");
            assert_ne!(*pair, i, "{name} and its pair");
            assert_eq!(
                UNSUPPORTED_REGIONS.contains(pair),
                UNSUPPORTED_REGIONS.contains(&i),
                "{name} and its pair"
            );
            assert_eq!(
                supported.contains(*name),
                !UNSUPPORTED_REGIONS.contains(&i),
                "{name}"
            );
        }
    }

    #[test]
    fn guids_are_well_formed() {
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..100 {
            let g = guid(&mut rng);
            let lens: Vec<usize> = g.split('-').map(str::len).collect();
            assert_eq!(lens, [8, 4, 4, 4, 12], "{g}");
            assert!(g.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()), "{g}");
            assert_eq!(&g[14..15], "4");
        }
    }

    #[test]
    fn nothing_happens_with_mix_none() {
        let fleet = generate(&small(1, Mix::none()));
        for inst in survey(&fleet) {
            assert!(inst.conditions.is_empty(), "{inst:?}");
        }
    }

    #[test]
    fn a_rate_of_one_reaches_every_applicable_instance() {
        for &key in Mix::FIELDS {
            let mut mix = Mix::none();
            mix.set(key, 1.0);
            if key.starts_with("storage_") || key == "rbac_storage_access_missing" {
                mix.custom_storage = 1.0;
            }
            if key == "windows_sac_disabled" {
                mix.windows = 1.0;
            }
            let fleet = generate(&small(17, mix));
            fleet.validate("generated").unwrap();
            if key == "subscription_compute_unregistered" {
                for (s, sub) in fleet.subscriptions.iter().enumerate() {
                    assert_eq!(sub.is_unregistered("Microsoft.Compute"), s != 0);
                    assert_eq!(sub.vms.is_empty() && sub.scale_sets.is_empty(), s != 0);
                }
                continue;
            }
            let applicable = |i: &Surveyed| match key {
                "storage_cross_subscription"
                | "subscription_console_disabled"
                | "subscription_warned"
                | "subscription_disabled"
                | "subscription_storage_unregistered"
                | "subscription_console_unregistered"
                | "rbac_vm_access_missing" => i.sub != 0,
                "windows_sac_disabled" => i.kind != Kind::Uniform,
                "instance_outdated" => i.kind == Kind::Uniform,
                "flexible_scale_set" => i.kind != Kind::Vm,
                _ => true,
            };
            let all = survey(&fleet);
            let mut seen = 0;
            for inst in all.iter().filter(|i| applicable(i)) {
                seen += 1;
                assert!(inst.conditions.contains(key), "{key}: {inst:?}");
            }
            assert!(seen > 0, "{key}: no applicable instance");
            if key == "flexible_scale_set" {
                assert!(all.iter().all(|i| i.kind != Kind::Uniform));
            }
            if key == "windows" {
                assert!(all.iter().all(|i| i.windows));
            }
        }
    }

    #[test]
    fn default_mix_has_every_condition_and_mostly_ready_instances() {
        let opts = GenerateOptions {
            subscriptions: 250,
            vms_per_subscription: 15,
            scale_sets: 1,
            instances_per_scale_set: 5,
            seed: 2026,
            mix: Mix::default(),
        };
        let fleet = generate(&opts);
        fleet.validate("generated").unwrap();
        let all = survey(&fleet);
        assert_eq!(all.len(), 5000);
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for inst in &all {
            for c in &inst.conditions {
                *counts.entry(c).or_default() += 1;
            }
        }
        let clean = all.iter().filter(|i| i.failing().next().is_none()).count();
        println!("clean: {clean} of {}; {counts:#?}", all.len());
        // Conditions the default mix leaves out (rate 0) are tested on their own.
        for key in Mix::FIELDS
            .iter()
            .filter(|k| Mix::default().get(k).unwrap_or(0.0) > 0.0)
        {
            assert!(
                counts.get(key).copied().unwrap_or(0) > 0,
                "{key} never occurs"
            );
        }
        assert!(clean * 10 >= all.len() * 8, "only {clean} clean instances");
    }

    #[test]
    fn unregistered_namespaces_keep_the_fleet_valid_and_the_rest_unchanged() {
        let mix = Mix {
            subscription_compute_unregistered: 0.25,
            subscription_storage_unregistered: 0.5,
            subscription_console_unregistered: 0.5,
            ..Mix::default()
        };
        let mut opts = small(23, mix);
        opts.subscriptions = 9;
        let fleet = generate(&opts);
        fleet.validate("generated").unwrap();
        let count = |ns: &str| {
            fleet
                .subscriptions
                .iter()
                .filter(|s| s.is_unregistered(ns))
                .count()
        };
        assert_eq!(count("Microsoft.Compute"), 2);
        assert_eq!(count("Microsoft.Storage"), 4);
        assert_eq!(count("Microsoft.SerialConsole"), 4);
        assert!(fleet.subscriptions[0].unregistered.is_empty());
        // Every custom storage URI names an account that exists, served or external, unless
        // the mix made it missing on purpose (`stbdretired…`).
        let exists: HashSet<&str> = fleet
            .subscriptions
            .iter()
            .flat_map(|s| s.storage_accounts.iter().map(|a| a.name.as_str()))
            .chain(
                fleet
                    .external_storage_accounts
                    .iter()
                    .map(|a| a.name.as_str()),
            )
            .collect();
        let uris = fleet.subscriptions.iter().flat_map(|s| {
            s.vms
                .iter()
                .map(|v| &v.boot_diagnostics)
                .chain(s.scale_sets.iter().map(|x| &x.boot_diagnostics))
        });
        for b in uris.flatten() {
            if let Some(uri) = &b.storage_uri {
                let host = world::host_of(uri).unwrap();
                let name = host.split('.').next().unwrap();
                assert!(
                    exists.contains(name) || name.starts_with("stbdretired"),
                    "{uri}"
                );
            }
        }
        // Subscriptions that registered everything are as they would be without these rates.
        let mut without = opts.clone();
        without.mix = Mix::default();
        let plain = generate(&without);
        for (s, sub) in fleet.subscriptions.iter().enumerate().skip(1) {
            if sub.unregistered.is_empty() {
                assert_eq!(
                    serde_json::to_value(sub).unwrap(),
                    serde_json::to_value(&plain.subscriptions[s]).unwrap()
                );
            }
        }
    }

    #[test]
    fn mix_file_parses_partial_and_rejects_bad_rates() {
        let mix = Mix::from_toml("power_stopped = 0.1\nwindows = 1\n", "mix.toml").unwrap();
        assert_eq!(mix.power_stopped, 0.1);
        assert_eq!(mix.windows, 1.0);
        assert_eq!(mix.storage_hns, Mix::default().storage_hns);

        let err = Mix::from_toml("windows = 0.5\nstorage_hns = 1.5\n", "mix.toml").unwrap_err();
        assert_eq!((err.line, err.field.as_str()), (2, "storage_hns"), "{err}");
        assert!(
            err.to_string().starts_with("mix.toml:2:1: storage_hns:"),
            "{err}"
        );

        let err = Mix::from_toml("storage_hnz = 0.1\n", "mix.toml").unwrap_err();
        assert!(err.to_string().contains("storage_hnz"), "{err}");

        let err = Mix::from_toml("power_stopped = 1.0\n", "mix.toml").unwrap_err();
        assert_eq!(err.field, "power_stopped", "{err}");
        assert_eq!(err.line, 1, "{err}");
        let ok = "power_stopped = 1.0\npower_deallocated = 0\npower_transitioning = 0\npower_absent = 0\n";
        assert_eq!(Mix::from_toml(ok, "mix.toml").unwrap().power_stopped, 1.0);

        let err = Mix::from_toml("windows = nan\n", "mix.toml").unwrap_err();
        assert_eq!(err.field, "windows");
        Mix::default().validate().unwrap();
        Mix::none().validate().unwrap();
    }

    /// The conditions the key records for each instance: its own and its subscription's.
    fn recorded(key: &AnswerKey) -> BTreeMap<String, BTreeSet<String>> {
        let subs: HashMap<&str, &Vec<String>> = key
            .subscriptions
            .iter()
            .map(|s| (s.id.as_str(), &s.conditions))
            .collect();
        key.instances
            .iter()
            .map(|i| {
                let mut c: BTreeSet<String> = i.conditions.iter().cloned().collect();
                c.extend(subs[i.subscription_id.as_str()].iter().cloned());
                // Conditions of a subscription that no instance of it can show.
                c.remove("subscription_compute_unregistered");
                (i.resource_id.clone(), c)
            })
            .collect()
    }

    /// Fleets whose every condition occurs: the default mix at several seeds, each key alone
    /// at rate 1, unregistered providers, and a single subscription.
    fn varied_options() -> Vec<GenerateOptions> {
        let mut all: Vec<GenerateOptions> =
            (1..=4).map(|seed| small(seed, Mix::default())).collect();
        for &key in Mix::FIELDS {
            let mut mix = Mix::none();
            mix.set(key, 1.0);
            if key.starts_with("storage_") || key == "rbac_storage_access_missing" {
                mix.custom_storage = 1.0;
            }
            if key == "windows_sac_disabled" {
                mix.windows = 1.0;
            }
            all.push(small(17, mix));
        }
        let mut unregistered = small(
            23,
            Mix {
                subscription_compute_unregistered: 0.25,
                subscription_storage_unregistered: 0.5,
                subscription_console_unregistered: 0.5,
                subscription_console_disabled: 0.5,
                custom_storage: 0.6,
                storage_cross_subscription: 0.5,
                ..Mix::default()
            },
        );
        unregistered.subscriptions = 9;
        all.push(unregistered);
        let mut one = small(
            31,
            Mix {
                rbac_vm_access_missing: 1.0,
                rbac_storage_access_missing: 0.5,
                custom_storage: 1.0,
                ..Mix::default()
            },
        );
        one.subscriptions = 1;
        all.push(one);
        all
    }

    #[test]
    fn the_key_records_exactly_the_conditions_the_fleet_shows() {
        for opts in varied_options() {
            let (fleet, key) = generate_with_key(&opts);
            assert_eq!(
                fleet.to_json(),
                generate(&opts).to_json(),
                "recording changes nothing"
            );
            let recorded = recorded(&key);
            let surveyed = survey(&fleet);
            assert_eq!(recorded.len(), surveyed.len(), "{}", key.source);
            for inst in surveyed {
                let want: BTreeSet<String> =
                    inst.conditions.iter().map(|c| c.to_string()).collect();
                assert_eq!(
                    recorded.get(&inst.id),
                    Some(&want),
                    "{}: {}",
                    key.source,
                    inst.id
                );
            }
            // Every custom account the key names is where it says.
            let served: HashMap<&str, &str> = fleet
                .subscriptions
                .iter()
                .flat_map(|s| {
                    s.storage_accounts
                        .iter()
                        .map(move |a| (a.name.as_str(), s.id.as_str()))
                })
                .collect();
            for i in &key.instances {
                if let Some(sa) = &i.storage_account {
                    assert_eq!(
                        served.get(sa.name.as_str()).copied(),
                        sa.subscription_id.as_deref(),
                        "{}",
                        sa.name
                    );
                    let external = fleet
                        .external_storage_accounts
                        .iter()
                        .any(|e| e.name == sa.name);
                    assert_eq!(
                        sa.exists,
                        sa.subscription_id.is_some() || external,
                        "{}",
                        sa.name
                    );
                }
            }
        }
    }

    #[test]
    fn a_fleet_without_conditions_is_ready_everywhere() {
        let (_, key) = generate_with_key(&small(1, Mix::none()));
        assert_eq!(key.summary, BTreeMap::from([("ready".to_string(), 150)]));
        for i in &key.instances {
            assert!(i.access.values().all(|a| a.verdict == "ready"), "{i:?}");
        }
    }

    #[test]
    #[ignore = "timing: cargo test --release -p scready-sim --lib generate::tests::time_100k -- --ignored --nocapture"]
    fn time_100k() {
        let opts = GenerateOptions {
            subscriptions: 1000,
            vms_per_subscription: 80,
            scale_sets: 1,
            instances_per_scale_set: 20,
            seed: 1,
            mix: Mix::default(),
        };
        let start = std::time::Instant::now();
        let fleet = generate(&opts);
        let generated = start.elapsed();
        assert_eq!(fleet.instance_count(), 100_000);
        let start = std::time::Instant::now();
        fleet.validate("generated").unwrap();
        let validated = start.elapsed();
        let start = std::time::Instant::now();
        let json = fleet.to_json();
        let serialised = start.elapsed();
        println!(
            "100k instances: generate {generated:?}, validate {validated:?}, to_json {serialised:?} ({} MB)",
            json.len() / 1_000_000
        );
    }
}
