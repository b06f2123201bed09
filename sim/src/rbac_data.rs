//! Role definitions the simulator serves: Azure's built-in roles (real GUIDs and action lists,
//! see `builtin_roles.SOURCES.md`) plus the fleet's custom roles.

use crate::authz::Grant;
use crate::wire::{Permission, RoleDefinition, RoleDefinitionProperties};
use std::sync::OnceLock;

/// A role definition with its permission blocks ready for evaluation.
#[derive(Clone, Debug)]
pub struct RoleDef {
    /// Role definition GUID (lower case).
    pub guid: String,
    /// Display name.
    pub name: String,
    /// Permission blocks, ready for evaluation.
    pub grants: Vec<Grant>,
    /// The ARM representation served by the API.
    pub model: RoleDefinition,
}

impl RoleDef {
    /// True when `role` names this definition by display name or GUID.
    pub fn matches(&self, role: &str) -> bool {
        self.name == role || self.guid.eq_ignore_ascii_case(role)
    }

    /// Builds a definition from its ARM model.
    pub fn from_model(model: RoleDefinition) -> RoleDef {
        let props = model.properties.clone().unwrap_or_default();
        let grants = props
            .permissions
            .iter()
            .flatten()
            .map(|p| Grant {
                actions: p.actions.clone().unwrap_or_default(),
                not_actions: p.not_actions.clone().unwrap_or_default(),
            })
            .collect();
        RoleDef {
            guid: model.name.clone().unwrap_or_default().to_ascii_lowercase(),
            name: props.role_name.unwrap_or_default(),
            grants,
            model,
        }
    }

    /// Builds a custom role from the fleet.
    pub fn custom(spec: &super::fleet::CustomRole) -> RoleDef {
        let scopes = if spec.assignable_scopes.is_empty() {
            vec!["/".to_string()]
        } else {
            spec.assignable_scopes.clone()
        };
        let guid = spec.id.to_ascii_lowercase();
        let model = RoleDefinition {
            id: format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}").into(),
            name: guid.clone().into(),
            resource_type: "Microsoft.Authorization/roleDefinitions".to_string().into(),
            properties: RoleDefinitionProperties {
                role_name: spec.name.clone().into(),
                role_type: "CustomRole".to_string().into(),
                description: spec.description.clone(),
                assignable_scopes: scopes.into(),
                permissions: vec![Permission {
                    actions: spec.actions.clone().into(),
                    not_actions: spec.not_actions.clone().into(),
                    data_actions: spec.data_actions.clone().into(),
                    not_data_actions: Vec::<String>::new().into(),
                }]
                .into(),
            }
            .into(),
        };
        RoleDef::from_model(model)
    }
}

/// Azure's built-in roles that the simulator knows.
pub fn builtin_roles() -> &'static [RoleDef] {
    static ROLES: OnceLock<Vec<RoleDef>> = OnceLock::new();
    ROLES.get_or_init(|| {
        let models: Vec<RoleDefinition> =
            serde_json::from_str(include_str!("builtin_roles.json")).expect("built-in roles parse");
        models.into_iter().map(RoleDef::from_model).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_contributor_grants_serial_console_connect() {
        let vmc = builtin_roles()
            .iter()
            .find(|r| r.matches("Virtual Machine Contributor"))
            .unwrap();
        assert_eq!(vmc.guid, "9980e02c-c2be-4d73-94e8-173b1dc7cf3c");
        let allows = |r: &RoleDef, action: &str| r.grants.iter().any(|g| g.allows(action));
        assert!(allows(
            vmc,
            "Microsoft.SerialConsole/serialPorts/connect/action"
        ));
        assert!(allows(
            vmc,
            "Microsoft.Storage/storageAccounts/listKeys/action"
        ));
        let reader = builtin_roles()
            .iter()
            .find(|r| r.matches("Reader"))
            .unwrap();
        assert!(allows(reader, "Microsoft.Compute/virtualMachines/read"));
        assert!(!allows(
            reader,
            "Microsoft.SerialConsole/serialPorts/connect/action"
        ));
    }
}
