//! A slice of Microsoft Graph: `transitiveMemberOf` of a directory object, for principals the
//! fleet marks `graph_reader` (as if granted `GroupMember.Read.All`).

use super::reply::Reply;
use super::server::State;
use super::tokens::GRAPH_AUDIENCE;
use serde_json::json;

fn graph_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json_status(
        status,
        &json!({"error": {"code": code, "message": message, "innerError": {"request-id": "00000000-0000-0000-0000-000000000000"}}}),
    )
}

/// Handles `GET /v1.0/{directoryObjects|users|groups|servicePrincipals}/{id}/transitiveMemberOf[/microsoft.graph.group]`.
/// Returns the reply and the caller's object id.
pub fn handle(
    state: &State,
    method: &str,
    path: &str,
    query: &[(String, String)],
    authorization: Option<&str>,
    host: &str,
) -> (Reply, Option<String>) {
    let token = authorization.and_then(|h| h.strip_prefix("Bearer "));
    let Some(token) = token else {
        return (
            graph_error(401, "InvalidAuthenticationToken", "Access token is empty."),
            None,
        );
    };
    let claims = match state.tokens.verify(token, GRAPH_AUDIENCE) {
        Ok(c) => c,
        Err(_) => {
            return (
                graph_error(
                    401,
                    "InvalidAuthenticationToken",
                    "Access token validation failure. Invalid audience or expired token.",
                ),
                None,
            )
        }
    };
    let caller = claims.oid.to_ascii_lowercase();
    if method != "GET" {
        return (
            graph_error(405, "Request_BadRequest", "Only GET is served."),
            Some(caller),
        );
    }
    let world = state.world.read().unwrap().clone();
    let reader = world
        .principals
        .get(&caller)
        .is_some_and(|p| p.graph_reader);
    if !reader {
        return (
            graph_error(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ),
            Some(caller),
        );
    }
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let ok_shape = lower.len() >= 4
        && lower[0] == "v1.0"
        && ["directoryobjects", "users", "groups", "serviceprincipals"]
            .contains(&lower[1].as_str())
        && lower[3] == "transitivememberof"
        && (lower.len() == 4 || (lower.len() == 5 && lower[4] == "microsoft.graph.group"));
    if !ok_shape {
        return (
            graph_error(400, "Request_UnsupportedQuery", "Unsupported query."),
            Some(caller),
        );
    }
    let id = segs[2].to_ascii_lowercase();
    let Some(info) = world.principals.get(&id) else {
        return (
            graph_error(404, "Request_ResourceNotFound", &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present.")),
            Some(caller),
        );
    };
    // Paging as Graph does it: `$top`, then `@odata.nextLink` with a `$skiptoken`.
    let top: usize = query
        .iter()
        .find(|(k, _)| k == "$top")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(100)
        .clamp(1, 999);
    let skip: usize = query
        .iter()
        .find(|(k, _)| k == "$skiptoken")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let groups = &info.groups;
    let end = (skip + top).min(groups.len());
    let value: Vec<serde_json::Value> = groups[skip.min(end)..end]
        .iter()
        .map(|g| json!({"@odata.type": "#microsoft.graph.group", "id": g}))
        .collect();
    let mut body = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
        "value": value,
    });
    if end < groups.len() {
        body["@odata.nextLink"] =
            json!(format!("https://{host}{path}?$top={top}&$skiptoken={end}"));
    }
    (Reply::json(&body), Some(caller))
}
