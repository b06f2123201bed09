//! The admin endpoints under `/_sim/`: no ARM authentication, same loopback listener.
//!
//! - `GET /_sim/health` — `ok`
//! - `GET /_sim/stats` — counters ([`super::observe::Stats`])
//! - `GET /_sim/requests` — the request log
//! - `POST /_sim/reset` — clears the log and counters
//! - `GET|POST|DELETE /_sim/faults` — list, add (JSON rule) or clear injected faults
//! - `GET /_sim/dns?name=HOST` — whether a storage blob host exists (`{"name", "exists"}`)
//! - `GET /_sim/token?principal=OBJECT_ID` — an ARM token for a principal of the fleet
//! - `POST /_sim/apply` — a change to the estate served, as an operator would make it
//!   ([`crate::apply`]); 400 with the reason when it cannot be made
//! - `GET /_sim/answer-key` — the answer key of the fleet served, when one was given
//!   ([`crate::answer_key`]); 404 otherwise

use super::faults::FaultRule;
use super::reply::Reply;
use super::server::State;

/// Handles one admin request.
pub fn handle(
    state: &State,
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: &[u8],
) -> Reply {
    let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match (method, path.trim_end_matches('/')) {
        ("GET", "/_sim/health") => Reply::json(&"ok"),
        ("GET", "/_sim/stats") => Reply::json(&state.stats()),
        ("GET", "/_sim/requests") => Reply::json(&state.observer.requests()),
        ("POST", "/_sim/reset") => {
            state.reset_observations();
            Reply::json(&"reset")
        }
        ("GET", "/_sim/faults") => {
            let rules: Vec<serde_json::Value> = state
                .faults
                .snapshot()
                .into_iter()
                .map(|(rule, fired)| serde_json::json!({"rule": rule, "fired": fired}))
                .collect();
            Reply::json(&rules)
        }
        ("POST", "/_sim/faults") => match serde_json::from_slice::<FaultRule>(body) {
            Ok(rule) => match state.faults.add(rule) {
                Ok(()) => Reply::json(&"added"),
                Err(e) => Reply::error(400, "InvalidFault", e),
            },
            Err(e) => Reply::error(400, "InvalidFault", e.to_string()),
        },
        ("DELETE", "/_sim/faults") => {
            state.faults.clear();
            Reply::json(&"cleared")
        }
        ("POST", "/_sim/apply") => match serde_json::from_slice::<super::apply::Change>(body) {
            Ok(change) => match state.apply(&change) {
                Ok(done) => {
                    *state.answer_key.write().unwrap() = None;
                    Reply::json(&serde_json::json!({"applied": done}))
                }
                Err(e) => Reply::error(400, "InvalidChange", e),
            },
            Err(e) => Reply::error(400, "InvalidChange", e.to_string()),
        },
        ("GET", "/_sim/dns") => {
            // The simulator's name service: storage blob hosts of the fleet, and localhost.
            let name = param("name")
                .unwrap_or("")
                .trim_end_matches('.')
                .to_ascii_lowercase();
            let exists =
                name == "localhost" || state.world.read().unwrap().blob_hosts.contains(&name);
            let addresses: Vec<&str> = if exists { vec!["127.0.0.1"] } else { vec![] };
            Reply::json(
                &serde_json::json!({"name": name, "exists": exists, "addresses": addresses}),
            )
        }
        ("GET", "/_sim/answer-key") => match state.answer_key.read().unwrap().clone() {
            Some(body) => Reply {
                status: 200,
                headers: vec![(
                    "content-type".into(),
                    "application/json; charset=utf-8".into(),
                )],
                body: body.as_ref().clone(),
                is_page: false,
            },
            None => Reply::error(
                404,
                "AnswerKeyNotFound",
                "No answer key is served with this fleet; scready sim generate writes one beside the fleet it generates.",
            ),
        },
        ("GET", "/_sim/token") => {
            let world = state.world.read().unwrap().clone();
            let principal = param("principal").unwrap_or("").to_ascii_lowercase();
            match world.principals.get(&principal) {
                Some(info) => {
                    let is_app = info.principal_type != super::fleet::PrincipalType::User;
                    let (token, lifetime) =
                        state.tokens.issue(&info.id, &info.tenant, None, is_app);
                    Reply::json(&serde_json::json!({"access_token": token, "expires_in": lifetime}))
                }
                None => Reply::error(
                    404,
                    "PrincipalNotFound",
                    format!("No principal '{principal}' in the fleet."),
                ),
            }
        }
        _ => Reply::error(
            404,
            "NotFound",
            format!("No admin endpoint {method} {path}."),
        ),
    }
}
