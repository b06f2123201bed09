//! Responses the simulator sends: JSON bodies with ARM headers, and the ARM error shapes.

use crate::wire::{ErrorDetail, ErrorResponse};
use serde::Serialize;

/// A response before faults and transport: status, headers and a complete body.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// Whether the body is a list page (paging faults apply).
    pub is_page: bool,
}

impl Reply {
    /// 200 with a JSON body.
    pub fn json<T: Serialize>(value: &T) -> Reply {
        Reply::json_status(200, value)
    }

    /// A JSON body with a status.
    pub fn json_status<T: Serialize>(status: u16, value: &T) -> Reply {
        Reply {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: serde_json::to_vec(value).expect("reply serialises"),
            is_page: false,
        }
    }

    /// An ARM error: `{"error": {"code", "message"}}`.
    pub fn error(status: u16, code: &str, message: impl Into<String>) -> Reply {
        Reply::json_status(
            status,
            &ErrorResponse {
                error: ErrorDetail {
                    code: code.to_string(),
                    message: message.into(),
                },
            },
        )
    }

    /// A bare error body without the envelope, as `Microsoft.SerialConsole` sends.
    pub fn bare_error(status: u16, code: &str, message: impl Into<String>) -> Reply {
        Reply::json_status(
            status,
            &ErrorDetail {
                code: code.to_string(),
                message: message.into(),
            },
        )
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// 404 for a subscription that does not exist.
    pub fn subscription_not_found(sub: &str) -> Reply {
        Reply::error(
            404,
            "SubscriptionNotFound",
            format!("The subscription '{sub}' could not be found."),
        )
    }

    /// 403 for a caller without the action at the scope.
    pub fn authorization_failed(principal: &str, action: &str, scope: &str) -> Reply {
        Reply::error(
            403,
            "AuthorizationFailed",
            format!(
                "The client '{principal}' with object id '{principal}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
            ),
        )
    }

    /// 404 for a resource that does not exist.
    pub fn resource_not_found(resource_type: &str, name: &str, rg: &str) -> Reply {
        Reply::error(
            404,
            "ResourceNotFound",
            format!(
                "The Resource '{resource_type}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }

    /// 409 `MissingSubscriptionRegistration`: the subscription has not registered `namespace`.
    ///
    /// The body is ARM's envelope with one detail whose `target` is the namespace, as ARM sends
    /// it (Azure/msrestazure-for-python#53 and Azure/azure-sdk-for-node#2305 quote the body; the
    /// status is 409 Conflict in Azure/azure-sdk-for-java#1154 and nforgeio/neonKUBE#1670).
    pub fn missing_subscription_registration(namespace: &str) -> Reply {
        let message = format!(
            "The subscription is not registered to use namespace '{namespace}'. See https://aka.ms/rps-not-found for how to register subscriptions."
        );
        Reply::json_status(
            409,
            &serde_json::json!({
                "error": {
                    "code": "MissingSubscriptionRegistration",
                    "message": message,
                    "details": [{
                        "code": "MissingSubscriptionRegistration",
                        "target": namespace,
                        "message": message,
                    }],
                }
            }),
        )
    }

    /// 404 for a resource group that does not exist.
    pub fn resource_group_not_found(rg: &str) -> Reply {
        Reply::error(
            404,
            "ResourceGroupNotFound",
            format!("Resource group '{rg}' could not be found."),
        )
    }
}
