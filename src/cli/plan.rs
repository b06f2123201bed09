//! `scready plan`: the rollout plan from a scan's report (sends no request).

use crate::plan::{self, PlanOptions, ScopeLevel};
use crate::policy::Policy;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What `scready plan --help` says after the options.
pub const PLAN_NOTES: &str = "\
What the plan changes:
  enable Serial Console on a subscription; set a storage account's shared-key access, firewall
  default action or minimum TLS version; move VMs off an account whose hierarchical namespace
  cannot be turned off (or whose URI is http://, or in another region, when those block) to
  managed boot diagnostics; enable boot diagnostics (managed) on a VM or Flexible scale-set VM,
  or in a Uniform scale set's model with every instance upgraded; assign Virtual Machine
  Contributor to each audited principal at the fewest scopes covering what it is denied (the
  scope covering the most denied resources first; on a tie the narrower one); start stopped VMs
  only when the policy says [plan] start_stopped_vms = true.

  Steps are ordered by the instances each makes ready. After each step the readiness is
  computed by applying the change to a copy of the scan's inventory and running the checks
  again. What the plan cannot change (a failed VM, a missing storage account, a lock, a deny
  assignment, a disabled subscription) is listed with its reason.

Files (in --out): plan.md for people and change tickets, plan.json (schema:
docs/plan.schema.json), plan.sh with the az commands of every step. scready runs none of
them; plan.sh stops at once unless SCREADY_PLAN_REVIEWED=yes.

Exit codes: 0 the plan was written; 2 it could not be (no report, bad policy, unwritable --out).";

/// Options of `scready plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A scan's report.json, or the directory holding it (default: reports/latest, the latest
    /// scan written to the default output directory).
    #[arg(value_name = "REPORT")]
    pub input: Option<PathBuf>,
    /// Policy file layered over the built-in policy, as for `scready evaluate` (the plan says so
    /// when the scan recorded other policy files).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Output directory (default: reports/<UTC timestamp>/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The widest scope a role assignment may have.
    #[arg(long, value_enum, default_value = "subscription")]
    pub widest_scope: ScopeLevel,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The report a plan reads: the argument (a file, or a directory with report.json in it), or
/// `reports/latest/report.json`.
pub fn input_path(arg: Option<&Path>) -> anyhow::Result<PathBuf> {
    match arg {
        Some(p) if p.is_dir() => {
            let f = p.join("report.json");
            if !f.is_file() {
                anyhow::bail!("{}: no report.json in this directory", p.display());
            }
            Ok(f)
        }
        Some(p) => Ok(p.to_path_buf()),
        None => {
            let f = Path::new("reports").join("latest").join("report.json");
            if !f.is_file() {
                anyhow::bail!(
                    "no report given and {} does not exist: name a scan's report.json or its directory (scans written to the default --out update reports/latest)",
                    f.display()
                );
            }
            Ok(f)
        }
    }
}

/// The policy files a report recorded (`policy.sources`), when the input is a report that says.
pub fn recorded_policy_sources(path: &Path) -> Option<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct PolicyPart {
        #[serde(default)]
        sources: Vec<String>,
    }
    #[derive(serde::Deserialize)]
    struct Head {
        policy: Option<PolicyPart>,
    }
    let file = std::fs::File::open(path).ok()?;
    let head: Head = serde_json::from_reader(std::io::BufReader::new(file)).ok()?;
    head.policy.map(|p| p.sources)
}

/// A note when the policy applied now differs from the one the scan recorded.
pub fn policy_note(recorded: Option<&[String]>, applied: &[String]) -> Option<String> {
    let recorded = recorded?;
    (recorded != applied).then(|| {
        format!(
            "the scan was evaluated with {} and this plan with {}: its verdicts may differ from the report's",
            recorded.join(", "),
            applied.join(", ")
        )
    })
}

/// `scready plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let policy = Policy::load(args.policy.as_deref())?;
    let input = input_path(args.input.as_deref())?;
    let inventory = super::offline::read_inventory(&input)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(crate::scan::default_out_dir);
    crate::report::check_writable(&out).map_err(anyhow::Error::msg)?;
    let recorded = recorded_policy_sources(&input);
    let mut p = plan::build(
        inventory,
        &policy,
        &PlanOptions {
            widest_scope: args.widest_scope,
            today: crate::scan::today(),
        },
    );
    p.source.input = input.display().to_string();
    p.source.policy_note = policy_note(recorded.as_deref(), &policy.sources);
    p.source.report_policy_sources = recorded;
    let written =
        plan::render::write(&p, &out).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    if !args.quiet {
        crate::text::print_safe(&plan::render::summary(&p, &written));
    }
    Ok(ExitCode::SUCCESS)
}
