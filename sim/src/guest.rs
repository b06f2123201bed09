//! Run Command (`POST …/virtualMachines/{vm}/runCommand`): a long-running operation answered
//! with 202 and an `Azure-AsyncOperation` URL that is polled until it ends. The outcome per VM
//! comes from the fleet (`sac_service`, `run_command`).

use super::fleet::VmSpec;
use super::reply::Reply;
use super::routes::Ctx;
use super::server::State;
use super::world;
use serde_json::json;

/// A Run Command in progress.
#[derive(Clone, Debug)]
pub struct Operation {
    /// Subscription.
    pub subscription: String,
    /// Polls that still answer `InProgress`.
    pub polls_left: u32,
    /// `succeeded`, `failed` or `timeout`.
    pub outcome: String,
    /// Standard output when it succeeds.
    pub stdout: String,
}

const ACTION: &str = "Microsoft.Compute/virtualMachines/runCommand/action";

/// Starts a Run Command on a VM of the fleet.
pub fn start_run_command(state: &State, ctx: &Ctx, body: &[u8]) -> Reply {
    let l: Vec<&str> = ctx.lower.iter().map(String::as_str).collect();
    let shape = l.len() == 9
        && l[0] == "subscriptions"
        && l[2] == "resourcegroups"
        && l[4] == "providers"
        && l[5] == "microsoft.compute"
        && l[6] == "virtualmachines"
        && l[8] == "runcommand";
    if !shape {
        return Reply::error(
            404,
            "InvalidResourceType",
            "Run Command is served for virtual machines only.",
        );
    }
    let Some(sub) = ctx.world.sub(&ctx.segs[1]) else {
        return Reply::subscription_not_found(&ctx.segs[1]);
    };
    let key = (l[3].to_string(), l[7].to_string());
    let Some(&idx) = sub.vm_index.get(&key) else {
        return Reply::resource_not_found(
            "Microsoft.Compute/virtualMachines",
            &ctx.segs[7],
            &ctx.segs[3],
        );
    };
    let vm: &VmSpec = &sub.spec.vms[idx];
    let id = world::vm_id(&sub.spec.id, &vm.resource_group, &vm.name);
    if !ctx.world.allows(ctx.principal, &id, ACTION) {
        return Reply::authorization_failed(ctx.principal, ACTION, &id);
    }
    let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    if request.get("commandId").and_then(|c| c.as_str()).is_none() {
        return Reply::error(
            400,
            "InvalidParameter",
            "The value of parameter commandId is invalid.",
        );
    }
    if vm.power_state != "running" {
        return Reply::error(
            409,
            "OperationNotAllowed",
            format!(
                "Operation 'RunCommand' is not allowed on VM '{}' since the VM is not running.",
                vm.name
            ),
        );
    }
    let stdout = match &vm.sac_service {
        Some(s) => format!("StartType={};Status={}", s.start_type, s.state),
        None if vm.os_type == "Windows" => "StartType=Automatic;Status=Running".to_string(),
        None => String::new(),
    };
    let op_id = world::stable_guid(&format!("{id}|{}", state.operations.lock().unwrap().len()));
    state.operations.lock().unwrap().insert(
        op_id.clone(),
        Operation {
            subscription: sub.spec.id.clone(),
            polls_left: 1,
            outcome: vm.run_command.clone().unwrap_or_else(|| "succeeded".into()),
            stdout,
        },
    );
    let url = format!(
        "{}/subscriptions/{}/providers/Microsoft.Compute/locations/{}/operations/{op_id}?api-version=2025-04-01",
        ctx.base_url, sub.spec.id, vm.location
    );
    Reply::json_status(202, &json!({}))
        .with_header("azure-asyncoperation", url.clone())
        .with_header("location", url)
}

/// `GET /subscriptions/{s}/providers/Microsoft.Compute/locations/{l}/operations/{id}`.
pub fn operation_status(state: &State, subscription: &str, op_id: &str) -> Reply {
    let mut ops = state.operations.lock().unwrap();
    let Some(op) = ops.get_mut(&op_id.to_ascii_lowercase()) else {
        return Reply::error(
            404,
            "NotFound",
            format!("Operation '{op_id}' was not found."),
        );
    };
    if !op.subscription.eq_ignore_ascii_case(subscription) {
        return Reply::error(
            404,
            "NotFound",
            format!("Operation '{op_id}' was not found."),
        );
    }
    let in_progress =
        json!({"name": op_id, "status": "InProgress", "startTime": "2026-01-01T00:00:00Z"});
    if op.polls_left > 0 {
        op.polls_left -= 1;
        return Reply::json(&in_progress);
    }
    match op.outcome.as_str() {
        "timeout" => Reply::json(&in_progress),
        "failed" => Reply::json(&json!({
            "name": op_id,
            "status": "Failed",
            "error": {"code": "VMAgentStatusCommunicationError", "message": "VM has reported a failure when processing extension 'RunCommandWindows'."}
        })),
        _ => Reply::json(&json!({
            "name": op_id,
            "status": "Succeeded",
            "properties": {"output": {"value": [
                {"code": "ComponentStatus/StdOut/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "message": op.stdout},
                {"code": "ComponentStatus/StdErr/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "message": ""}
            ]}}
        })),
    }
}
