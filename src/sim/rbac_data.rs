//! Role definitions the simulator serves: Azure's built-in roles (real GUIDs and action lists,
//! see `builtin_roles.SOURCES.md`) plus the fleet's custom roles.

use crate::arm::models::{Permission, RoleDefinition, RoleDefinitionProperties};
use crate::rbac::PermissionBlock;
use std::sync::OnceLock;

/// A role definition with its permission blocks ready for evaluation.
#[derive(Clone, Debug)]
pub struct RoleDef {
    /// Role definition GUID (lower case).
    pub guid: String,
    /// Display name.
    pub name: String,
    /// Permission blocks.
    pub blocks: Vec<PermissionBlock>,
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
        let props = model.properties.get().cloned().unwrap_or_default();
        let blocks = props
            .permissions
            .get()
            .map(|ps| {
                ps.iter()
                    .map(|p| PermissionBlock {
                        actions: p.actions.get().cloned().unwrap_or_default(),
                        not_actions: p.not_actions.get().cloned().unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        RoleDef {
            guid: model
                .name
                .get()
                .cloned()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            name: props.role_name.get().cloned().unwrap_or_default(),
            blocks,
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
                description: spec.description.clone().into(),
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
        assert!(crate::rbac::any_allows(
            &vmc.blocks,
            "Microsoft.SerialConsole/serialPorts/connect/action"
        ));
        let reader = builtin_roles()
            .iter()
            .find(|r| r.matches("Reader"))
            .unwrap();
        assert!(crate::rbac::any_allows(
            &reader.blocks,
            "Microsoft.Compute/virtualMachines/read"
        ));
        assert!(!crate::rbac::any_allows(
            &reader.blocks,
            "Microsoft.SerialConsole/serialPorts/connect/action"
        ));
    }
}
