//! The built-in demo fleet (`demo-fleet.toml`): a small Contoso estate where most instances are
//! ready and every check in the catalogue fails at least once. `scready demo` serves and scans it.
//! The file's header lists which instance demonstrates which check.

use super::fleet::Fleet;

/// The demo fleet's source text.
pub const DEMO_FLEET_TOML: &str = include_str!("demo-fleet.toml");

/// The built-in demo fleet, parsed and validated.
pub fn demo_fleet() -> Fleet {
    Fleet::parse(DEMO_FLEET_TOML, "demo-fleet.toml", true)
        .unwrap_or_else(|e| panic!("the built-in demo fleet is invalid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::*;
    use crate::generate::{
        operators_group, scanner_principal, SCANNER_CLIENT_ID, SCANNER_CLIENT_SECRET,
    };
    use crate::world::{self, World};
    use std::collections::HashSet;

    const CONNECT: &str = "Microsoft.SerialConsole/serialPorts/connect/action";
    const LIST_KEYS: &str = "Microsoft.Storage/storageAccounts/listKeys/action";

    /// Checks no fleet entry can make fail.
    const NOT_FLEET_PROPERTIES: &[&str] = &["websocket-blocked", "concurrent-connection"];

    fn policy() -> toml::Value {
        toml::from_str(include_str!("../../policies/serial-console.toml")).unwrap()
    }

    /// Every VM with its subscription.
    fn vms(f: &Fleet) -> impl Iterator<Item = (&SubscriptionSpec, &VmSpec)> {
        f.subscriptions
            .iter()
            .flat_map(|s| s.vms.iter().map(move |v| (s, v)))
    }

    /// The served storage account a VM's custom storage URI names, with its subscription.
    fn served_account<'a>(
        f: &'a Fleet,
        vm: &VmSpec,
    ) -> Option<(&'a SubscriptionSpec, &'a StorageAccountSpec)> {
        let name = account_name(vm)?;
        f.subscriptions.iter().find_map(|s| {
            s.storage_accounts
                .iter()
                .find(|a| a.name == name)
                .map(|a| (s, a))
        })
    }

    fn account_name(vm: &VmSpec) -> Option<String> {
        let b = vm.boot_diagnostics.as_ref().filter(|b| b.enabled)?;
        let host = world::host_of(b.storage_uri.as_deref()?)?;
        Some(host.split('.').next()?.to_string())
    }

    fn custom_account_has(f: &Fleet, test: impl Fn(&VmSpec, &StorageAccountSpec) -> bool) -> bool {
        vms(f).any(|(_, v)| served_account(f, v).is_some_and(|(_, a)| test(v, a)))
    }

    fn operators(f: &Fleet) -> String {
        operators_group(f).unwrap().id.to_ascii_lowercase()
    }

    /// For each check id: does some instance of the fleet fail it?
    #[allow(clippy::type_complexity)]
    fn catalogue() -> Vec<(&'static str, Box<dyn Fn(&Fleet) -> bool>)> {
        vec![
            (
                "boot-diagnostics-disabled",
                Box::new(|f| {
                    vms(f).any(|(_, v)| v.boot_diagnostics.is_none())
                        && vms(f)
                            .any(|(_, v)| v.boot_diagnostics.as_ref().is_some_and(|b| !b.enabled))
                }),
            ),
            (
                "vmss-instance-outdated",
                Box::new(|f| {
                    f.subscriptions
                        .iter()
                        .flat_map(|s| &s.scale_sets)
                        .any(|ss| {
                            ss.orchestration_mode == "Uniform"
                                && ss.instances.iter().any(|i| !i.latest_model_applied)
                        })
                }),
            ),
            (
                "vm-not-running",
                Box::new(|f| {
                    vms(f).any(|(_, v)| v.power_state == "deallocated")
                        && vms(f).any(|(_, v)| v.power_state == "stopped")
                }),
            ),
            (
                "subscription-console-disabled",
                Box::new(|f| {
                    f.subscriptions
                        .iter()
                        .any(|s| s.console_disabled && !s.vms.is_empty())
                }),
            ),
            (
                "subscription-not-enabled",
                Box::new(|f| {
                    f.subscriptions
                        .iter()
                        .any(|s| s.state != "Enabled" && !s.vms.is_empty())
                }),
            ),
            (
                "storage-firewall",
                Box::new(|f| {
                    custom_account_has(f, |_, a| {
                        a.network_default_action.as_deref() == Some("Deny")
                    })
                }),
            ),
            (
                "storage-account-not-found",
                Box::new(|f| {
                    vms(f).any(|(_, v)| {
                        account_name(v).is_some_and(|n| {
                            served_account(f, v).is_none()
                                && !f.external_storage_accounts.iter().any(|e| e.name == n)
                        })
                    })
                }),
            ),
            (
                "storage-resource-group-unknown",
                Box::new(|f| {
                    vms(f).any(|(_, v)| {
                        account_name(v).is_some_and(|n| {
                            f.external_storage_accounts.iter().any(|e| e.name == n)
                        })
                    })
                }),
            ),
            (
                "storage-uri-not-https",
                Box::new(|f| {
                    vms(f).any(|(_, v)| {
                        v.boot_diagnostics.as_ref().is_some_and(|b| {
                            b.enabled
                                && b.storage_uri
                                    .as_deref()
                                    .is_some_and(|u| u.starts_with("http://"))
                        })
                    })
                }),
            ),
            (
                "storage-hns-enabled",
                Box::new(|f| custom_account_has(f, |_, a| a.is_hns_enabled == Some(true))),
            ),
            (
                "storage-shared-key-disabled",
                Box::new(|f| {
                    custom_account_has(f, |_, a| a.allow_shared_key_access == Some(false))
                }),
            ),
            (
                "storage-region-mismatch",
                Box::new(|f| custom_account_has(f, |v, a| a.location != v.location)),
            ),
            (
                "storage-min-tls",
                Box::new(|f| {
                    custom_account_has(f, |_, a| {
                        matches!(a.minimum_tls_version.as_deref(), Some("TLS1_0" | "TLS1_1"))
                    })
                }),
            ),
            (
                "rbac-vm-access",
                Box::new(|f| {
                    let w = World::build(f);
                    let who = operators(f);
                    vms(f).any(|(s, v)| {
                        !w.allows(
                            &who,
                            &world::vm_id(&s.id, &v.resource_group, &v.name),
                            CONNECT,
                        )
                    })
                }),
            ),
            (
                "rbac-storage-access",
                Box::new(|f| {
                    let w = World::build(f);
                    let who = operators(f);
                    let allowed = |s: &SubscriptionSpec, v: &VmSpec| {
                        w.allows(
                            &who,
                            &world::vm_id(&s.id, &v.resource_group, &v.name),
                            CONNECT,
                        )
                    };
                    // A VM the operators may connect to, whose custom account they cannot use,
                    // while their VMs with managed boot diagnostics are fine.
                    let failing = vms(f).any(|(s, v)| {
                        allowed(s, v)
                            && served_account(f, v).is_some_and(|(t, a)| {
                                !w.allows(
                                    &who,
                                    &world::storage_id(&t.id, &a.resource_group, &a.name),
                                    LIST_KEYS,
                                )
                            })
                    });
                    let managed_fine = vms(f).any(|(s, v)| {
                        allowed(s, v)
                            && v.boot_diagnostics
                                == Some(BootDiagnosticsSpec {
                                    enabled: true,
                                    storage_uri: None,
                                })
                    });
                    failing && managed_fine
                }),
            ),
            (
                "provisioning-incomplete",
                Box::new(|f| {
                    vms(f).any(|(_, v)| {
                        ["creating", "updating", "migrating"]
                            .contains(&v.provisioning_state.to_ascii_lowercase().as_str())
                    })
                }),
            ),
            (
                "vm-failed-state",
                Box::new(|f| {
                    vms(f).any(|(_, v)| v.provisioning_state == "Failed")
                        && vms(f).any(|(_, v)| {
                            v.boot_diagnostics_status
                                .as_ref()
                                .is_some_and(|s| s.level == "Error")
                        })
                }),
            ),
            (
                "trusted-launch-secure-boot",
                Box::new(|f| {
                    vms(f).any(|(_, v)| {
                        v.security_type.as_deref() == Some("TrustedLaunch")
                            && v.secure_boot == Some(true)
                    })
                }),
            ),
            (
                "region-unsupported",
                Box::new(|f| {
                    let policy = policy();
                    let supported: HashSet<&str> = policy["regions"]["supported"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|r| r.as_str())
                        .collect();
                    vms(f).any(|(_, v)| !supported.contains(v.location.as_str()))
                }),
            ),
            (
                "linux-no-password-user",
                Box::new(|f| {
                    vms(f).any(|(_, v)| {
                        v.os_type == "Linux" && v.disable_password_authentication == Some(true)
                    })
                }),
            ),
            (
                "resource-lock-readonly",
                Box::new(|f| {
                    vms(f).any(|(s, v)| {
                        s.locks.iter().any(|l| {
                            l.level == "ReadOnly"
                                && l.resource_group.as_deref() == Some(v.resource_group.as_str())
                                && l.resource.as_deref()
                                    == Some(format!("virtualMachines/{}", v.name).as_str())
                        })
                    })
                }),
            ),
            (
                "windows-sac-helper",
                Box::new(|f| {
                    vms(f).any(|(_, v)| {
                        v.os_type == "Windows"
                            && v.sac_service
                                .as_ref()
                                .is_some_and(|s| s.start_type == "Disabled")
                    })
                }),
            ),
        ]
    }

    #[test]
    fn demo_fleet_parses_with_the_expected_shape() {
        let f = demo_fleet();
        let n = f.instance_count();
        assert!((35..=45).contains(&n), "{n} instances");
        assert_eq!(f.subscriptions.len(), 3);
        for s in &f.subscriptions {
            assert!(!s.vms.is_empty(), "{} has no VM", s.display_name);
        }
        // At most one subscription is not Enabled, and it is small.
        let odd: Vec<&SubscriptionSpec> = f
            .subscriptions
            .iter()
            .filter(|s| s.state != "Enabled" || s.console_disabled)
            .collect();
        assert_eq!(odd.len(), 1);
        assert!(odd[0].vms.len() <= 5);
        // One Uniform scale set with 4-5 instances, one Flexible with 2-3 member VMs.
        let sets: Vec<&ScaleSetSpec> = f.subscriptions.iter().flat_map(|s| &s.scale_sets).collect();
        let uniform: Vec<_> = sets
            .iter()
            .filter(|s| s.orchestration_mode == "Uniform")
            .collect();
        assert_eq!(uniform.len(), 1);
        assert!((4..=5).contains(&uniform[0].instances.len()));
        let flexible: Vec<_> = sets
            .iter()
            .filter(|s| s.orchestration_mode == "Flexible")
            .collect();
        assert_eq!(flexible.len(), 1);
        let members = vms(&f)
            .filter(|(_, v)| v.scale_set.as_deref() == Some(flexible[0].name.as_str()))
            .count();
        assert!((2..=3).contains(&members), "{members} members");
    }

    #[test]
    fn demo_scanner_signs_in_with_the_shared_credentials_and_reads_everything() {
        let f = demo_fleet();
        let scanner = scanner_principal(&f).unwrap();
        assert_eq!(scanner.client_id.as_deref(), Some(SCANNER_CLIENT_ID));
        assert_eq!(
            scanner.client_secret.as_deref(),
            Some(SCANNER_CLIENT_SECRET)
        );
        assert!(f
            .role_assignments
            .iter()
            .any(|a| a.principal == scanner.id && a.role == "Reader" && a.scope == "/"));
        assert!(f.custom_roles.iter().any(|r| r.actions == ["*"]
            && r.not_actions == ["Microsoft.SerialConsole/*"]
            && f.role_assignments.iter().any(|a| a.role == r.name)));
        // A ready VM keeps its boot diagnostics in another subscription.
        let w = World::build(&f);
        let who = operators(&f);
        assert!(vms(&f).any(|(s, v)| {
            served_account(&f, v).is_some_and(|(t, a)| {
                t.id != s.id
                    && w.allows(
                        &who,
                        &world::storage_id(&t.id, &a.resource_group, &a.name),
                        LIST_KEYS,
                    )
            })
        }));
    }

    #[test]
    fn every_catalogue_check_fails_somewhere() {
        let f = demo_fleet();
        let table = catalogue();
        for (id, fails) in &table {
            assert!(fails(&f), "no instance of the demo fleet fails {id}");
        }
        // The table covers the whole catalogue of the built-in policy.
        let policy = policy();
        let ids: HashSet<&str> = policy["checks"]
            .as_table()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let covered: HashSet<&str> = table
            .iter()
            .map(|(id, _)| *id)
            .chain(NOT_FLEET_PROPERTIES.iter().copied())
            .collect();
        assert_eq!(ids, covered);
    }

    #[test]
    fn every_catalogue_check_passes_on_a_clean_fleet() {
        // The table is not vacuous: a fleet with nothing wrong fails none of its checks.
        let mut f = demo_fleet();
        f.subscriptions
            .retain(|s| s.display_name == "Contoso Shared Services");
        f.external_storage_accounts.clear();
        for (id, fails) in catalogue() {
            assert!(!fails(&f), "{id} fails on Shared Services");
        }
    }
}
