//! Opt-in guest checks (`--guest-checks`): a read-only PowerShell query of the `sacsvr`
//! service through the VM Run Command API, on running Windows VMs, bounded in number and time.
//! This is the only feature that executes anything inside a guest; it is off by default.

use crate::arm::models::OperationStatus;
use crate::arm::ArmClient;
use crate::inventory::{GuestResult, Instance, InstanceKind, Inventory};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;

/// The script sent: it reads the service and changes nothing.
pub const SAC_QUERY: &str = "$s = Get-Service -Name sacsvr -ErrorAction SilentlyContinue; if ($s) { \"StartType=$($s.StartType);Status=$($s.Status)\" } else { 'NotInstalled' }";

/// Limits of the guest checks.
#[derive(Clone, Debug)]
pub struct GuestOptions {
    /// At most this many VMs are asked.
    pub max: usize,
    /// Per-VM time limit.
    pub timeout: Duration,
    /// Pause between polls of the operation.
    pub poll_interval: Duration,
}

impl Default for GuestOptions {
    fn default() -> Self {
        GuestOptions {
            max: 20,
            timeout: Duration::from_secs(120),
            poll_interval: Duration::from_secs(2),
        }
    }
}

/// True for instances the guest check applies to: running Windows VMs (Flexible members too).
pub fn eligible(i: &Instance) -> bool {
    i.kind != InstanceKind::VmssInstance
        && i.os_type
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case("Windows"))
        && i.power_state.as_deref() == Some("running")
}

/// Parses the script's output.
pub fn parse_output(stdout: &str) -> GuestResult {
    let line = stdout.trim();
    if line == "NotInstalled" {
        return GuestResult::Sac {
            start_type: "NotInstalled".into(),
            status: "NotInstalled".into(),
        };
    }
    let mut start_type = None;
    let mut status = None;
    for part in line.split(';') {
        match part.split_once('=') {
            Some(("StartType", v)) => start_type = Some(v.trim().to_string()),
            Some(("Status", v)) => status = Some(v.trim().to_string()),
            _ => {}
        }
    }
    match (start_type, status) {
        (Some(start_type), Some(status)) => GuestResult::Sac { start_type, status },
        _ => GuestResult::Error(format!("unexpected output from the guest: {line:?}")),
    }
}

async fn check_one(arm: &ArmClient, vm_id: &str, options: &GuestOptions) -> GuestResult {
    let body = serde_json::json!({"commandId": "RunPowerShellScript", "script": [SAC_QUERY]});
    let run = async {
        let poll = arm
            .start_run_command(vm_id, &body)
            .await
            .map_err(|e| e.to_string())?;
        loop {
            tokio::time::sleep(options.poll_interval).await;
            let status: OperationStatus =
                arm.get_absolute(&poll).await.map_err(|e| e.to_string())?;
            match status.status.get().map(String::as_str) {
                Some("Succeeded") => {
                    let stdout = status
                        .properties
                        .get()
                        .and_then(|p| p.output.get())
                        .and_then(|o| o.value.get())
                        .and_then(|v| {
                            v.iter()
                                .find(|s| s.code.get().is_some_and(|c| c.contains("StdOut")))
                                .and_then(|s| s.message.get().cloned())
                        })
                        .unwrap_or_default();
                    return Ok(parse_output(&stdout));
                }
                Some("Failed") | Some("Canceled") => {
                    let why = status
                        .error
                        .get()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                e.code.get().cloned().unwrap_or_default(),
                                e.message.get().cloned().unwrap_or_default()
                            )
                        })
                        .unwrap_or_else(|| "the operation failed".into());
                    return Err(format!("Run Command failed: {why}"));
                }
                _ => {}
            }
        }
    };
    match tokio::time::timeout(options.timeout, run).await {
        Err(_) => GuestResult::Error(format!(
            "Run Command did not finish within {} s",
            options.timeout.as_secs()
        )),
        Ok(Err(e)) => GuestResult::Error(e),
        Ok(Ok(r)) => r,
    }
}

/// Runs the guest check on up to `options.max` eligible VMs.
pub async fn run(
    arm: &ArmClient,
    inventory: &Inventory,
    options: &GuestOptions,
) -> BTreeMap<String, GuestResult> {
    let mut targets: Vec<&Instance> = inventory.instances.iter().filter(|i| eligible(i)).collect();
    targets.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = BTreeMap::new();
    for skipped in targets.iter().skip(options.max) {
        out.insert(
            skipped.id.to_ascii_lowercase(),
            GuestResult::Error(format!(
                "not checked: --guest-checks-max {} reached",
                options.max
            )),
        );
    }
    let results: Vec<(String, GuestResult)> =
        futures::stream::iter(targets.into_iter().take(options.max))
            .map(|i| async move {
                (
                    i.id.to_ascii_lowercase(),
                    check_one(arm, &i.id, options).await,
                )
            })
            .buffer_unordered(8)
            .collect()
            .await;
    out.extend(results);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_parsing() {
        assert_eq!(
            parse_output("StartType=Automatic;Status=Running\r\n"),
            GuestResult::Sac {
                start_type: "Automatic".into(),
                status: "Running".into()
            }
        );
        assert!(
            matches!(parse_output("NotInstalled"), GuestResult::Sac { start_type, .. } if start_type == "NotInstalled")
        );
        assert!(matches!(parse_output("garbage"), GuestResult::Error(_)));
    }
}
