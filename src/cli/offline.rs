//! `scready evaluate` and `scready policy list|explain`: commands that send no request.

use crate::checks::catalogue::{Evaluation as Mode, CATALOGUE};
use crate::inventory::{Inventory, INVENTORY_SCHEMA_VERSION};
use crate::policy::Policy;
use crate::result::{RunInfo, ScanResult};
use crate::scan;
use crate::text::display_safe as safe;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Options of `scready evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// A `report.json` (schema 1 or 2) or an inventory saved with `--save-inventory`.
    #[arg(value_name = "FILE")]
    pub input: PathBuf,
    /// Policy, output and exit code.
    #[command(flatten)]
    pub report: super::scan::ReportArgs,
}

/// Reads an inventory from an inventory file or a report (`report.json` of schema 1 or 2).
pub fn read_inventory(path: &std::path::Path) -> anyhow::Result<Inventory> {
    let origin = path.display().to_string();
    // A regular file of at most 1 GiB: a FIFO or a device is refused without blocking.
    let text = crate::config_file::read_local_text(
        path,
        "evaluate FILE",
        crate::config_file::MAX_INVENTORY_BYTES,
    )
    .map_err(anyhow::Error::msg)?;
    let inventory_value = match crate::report::read::report_schema(&text, &origin)? {
        Some(2) => return crate::report::read::inventory_v2(&text, &origin),
        Some(1) => {
            let mut value: serde_json::Value = crate::config_file::from_json(&text, &origin)?;
            value["inventory"].take()
        }
        Some(v) => anyhow::bail!(
            "{origin}: report schema_version {v} is not one this build reads (1 or {})",
            crate::result::REPORT_SCHEMA_VERSION
        ),
        None => crate::config_file::from_json(&text, &origin)?,
    };
    let v = inventory_value
        .get("schema_version")
        .and_then(|v| v.as_u64());
    if v != Some(INVENTORY_SCHEMA_VERSION as u64) {
        anyhow::bail!("{origin}: inventory schema_version {v:?} is not {INVENTORY_SCHEMA_VERSION} (this build)");
    }
    let text = serde_json::to_string(&inventory_value)?;
    Ok(crate::config_file::from_json(
        &text,
        &format!("{origin} (inventory)"),
    )?)
}

/// `scready evaluate`.
pub async fn evaluate(args: EvaluateArgs) -> anyhow::Result<ExitCode> {
    let policy = Policy::load(args.report.policy.as_deref())?;
    let sinks = crate::report::sinks(&args.report.format).map_err(anyhow::Error::msg)?;
    let inventory = read_inventory(&args.input)?;
    let out = args
        .report
        .out
        .clone()
        .unwrap_or_else(scan::default_out_dir);
    crate::report::check_writable(&out).map_err(anyhow::Error::msg)?;
    let run = RunInfo {
        tool: "scready".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        started_at: inventory.scanned_at.clone(),
        cloud: inventory.cloud.clone(),
        status: "evaluated-offline".into(),
        ..Default::default()
    };
    let policy = Arc::new(policy);
    let mut result: ScanResult = scan::evaluate(
        inventory,
        policy.clone(),
        run,
        Default::default(),
        std::time::Instant::now(),
    )
    .await;
    // `--format …,plan`: the rollout plan beside the reports, as a scan writes it.
    let plan = crate::report::wants_plan(&args.report.format).then(|| {
        let mut p = crate::plan::build(
            result.inventory.clone(),
            &policy,
            &crate::plan::PlanOptions {
                today: scan::today(),
                ..Default::default()
            },
        );
        p.source.input = args.input.display().to_string();
        result.plan = Some(p.headline());
        p
    });
    let view = crate::report::HistoryView::Known(result.history.as_ref());
    let mut written = crate::report::write_all(&result, view, &out, &sinks)?;
    if let Some(p) = plan {
        written.extend(crate::plan::render::write(&p, &out)?);
    }
    if !args.report.quiet {
        crate::text::print_safe(&crate::report::summary::text(&result, &written));
    }
    Ok(ExitCode::from(scan::exit_code(
        &result,
        args.report.fail_on,
    )))
}

/// `scready policy` commands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// The catalogue: every check id with its severity and title.
    List {
        /// Policy file layered over the built-in policy.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
    /// One check in full: when it fails, the portal error, mitigation and remediation.
    Explain {
        /// Check id.
        id: String,
        /// Policy file layered over the built-in policy.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
}

/// Runs a policy command.
pub fn policy(cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCommand::List { policy } => {
            let p = Policy::load(policy.as_deref())?;
            println!("{:<32} {:<8} {:<17} title", "check", "severity", "family");
            for c in CATALOGUE {
                let cp = p.check(c.id);
                let family = match c.evaluation {
                    Mode::Always => c.family.to_string(),
                    Mode::OptIn => format!("{} (opt-in)", c.family),
                    Mode::RuntimeOnly => format!("{} (runtime)", c.family),
                };
                println!(
                    "{:<32} {:<8} {:<17} {}",
                    c.id,
                    p.severity(c.id).as_str(),
                    family,
                    safe(&cp.title)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Explain { id, policy } => {
            let p = Policy::load(policy.as_deref())?;
            let Some(c) = crate::checks::catalogue::info(&id) else {
                anyhow::bail!("unknown check id '{id}'; `scready policy list` shows the catalogue");
            };
            let cp = p.check(c.id);
            println!("{} ({})", c.id, safe(&cp.title));
            println!("severity:     {}", p.severity(c.id).as_str());
            println!("family:       {}", c.family);
            println!("fails when:   {}", c.fails_when);
            println!(
                "portal error: {}",
                if cp.portal_error.is_empty() {
                    "(none documented)".into()
                } else {
                    safe(&cp.portal_error)
                }
            );
            println!("mitigation:   {}", safe(&cp.mitigation));
            println!(
                "remediation:  {}",
                if cp.remediation.is_empty() {
                    "(none)".into()
                } else {
                    safe(&cp.remediation)
                }
            );
            if !cp.remediation_scale_set.is_empty() {
                println!("  scale set:  {}", safe(&cp.remediation_scale_set));
            }
            println!("docs:         {}", safe(&cp.docs));
            Ok(ExitCode::SUCCESS)
        }
    }
}
