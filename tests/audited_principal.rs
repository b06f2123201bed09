//! Whose Serial Console access a scan audits when no `--principal` is given: the signed-in user
//! for a user's token, nobody for an application's token (a nightly job's service principal or
//! managed identity), and the identity the token names when its kind cannot be told — with the
//! decision in `report.json`, the summary, `summary.md` and `report.html`.

mod common;

use scready::auth::{token_identity, TokenIdentity, TokenKind};
use scready::findings::Verdict;
use scready::inventory::PrincipalRef;
use scready::result::ACCESS_NOT_AUDITED;
use scready::scan::{self, audited_by_default, AccessOptions, ScanOptions, ScanOutcome};
use scready_sim::SimConfig;
use std::path::Path;
use std::sync::Arc;

/// A service principal holding Reader at the root (the nightly job's identity).
const SCANNER: &str = "0a000000-0000-4000-8000-000000000001";
/// A user holding Reader on the subscription: may read everything, connect nowhere.
const CAROL: &str = "0b000000-0000-4000-8000-000000000003";
/// A user holding Virtual Machine Contributor on the subscription: may connect everywhere.
const ALICE: &str = "0b000000-0000-4000-8000-000000000001";
/// Instances of the access fleet.
const INSTANCES: usize = 8;

fn options(sim: &common::Sim, out: &Path, access: AccessOptions) -> ScanOptions {
    ScanOptions {
        discover: common::parallelism(4),
        formats: ["csv", "json", "md", "html"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        access,
        ..common::scan_options(sim, out)
    }
}

/// Scans with `token` as the static credential (and a Graph token of the scanner, which may
/// read group memberships); returns the outcome and the summary text.
async fn scan_with_token(
    sim: &common::Sim,
    token: String,
    access: AccessOptions,
) -> (ScanOutcome, String, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let graph = sim.issue_graph_token(SCANNER).unwrap();
    let env: scready::auth::EnvLookup = Arc::new(move |k: &str| match k {
        "SCREADY_ACCESS_TOKEN" => Some(token.clone()),
        "SCREADY_GRAPH_TOKEN" => Some(graph.clone()),
        _ => None,
    });
    let outcome = scan::run(&options(sim, out.path(), access), env)
        .await
        .expect("the scan runs");
    assert!(
        outcome.result.coverage.gaps.is_empty(),
        "{:?}",
        outcome.result.coverage.gaps
    );
    let summary = scready::report::summary::text(&outcome.result, &outcome.written);
    (outcome, summary, out)
}

fn report_json(out: &Path) -> serde_json::Value {
    common::report::read(out)
}

fn read(out: &Path, file: &str) -> String {
    std::fs::read_to_string(out.join(file)).unwrap()
}

fn rbac_findings(o: &ScanOutcome) -> Vec<&scready::findings::Finding> {
    o.result
        .findings
        .iter()
        .filter(|f| f.check_id.starts_with("rbac-"))
        .collect()
}

/// Requests for role assignments, deny assignments, permissions or group memberships.
fn access_reads(sim: &common::Sim) -> usize {
    sim.requests()
        .iter()
        .filter(|r| {
            [
                "roleAssignments",
                "denyAssignments",
                "/permissions",
                "roleDefinitions",
            ]
            .iter()
            .any(|p| r.path.contains(p))
                || r.path.starts_with("/v1.0/")
        })
        .count()
}

#[tokio::test]
async fn a_users_token_audits_that_user() {
    let sim = common::start(&common::fleet("access.toml"), SimConfig::default()).await;
    let token = sim.issue_token(CAROL).unwrap();
    assert_eq!(token_identity(&token).kind, TokenKind::User);
    let (o, summary, out) = scan_with_token(&sim, token, AccessOptions::default()).await;
    // Carol is audited as the scanning identity (judged with the permissions API).
    assert_eq!(
        o.result.inventory.principals,
        vec![PrincipalRef {
            object_id: CAROL.into(),
            label: "scanning identity".into(),
            scanner: true,
        }]
    );
    // Reader on the subscription: blocked on every instance by rbac-vm-access, which names her.
    assert_eq!(o.result.access.len(), INSTANCES);
    assert!(o
        .result
        .access
        .iter()
        .all(|a| a.verdict == Verdict::Blocked));
    let vm_access: Vec<_> = rbac_findings(&o)
        .into_iter()
        .filter(|f| f.check_id == "rbac-vm-access")
        .collect();
    assert_eq!(vm_access.len(), INSTANCES);
    assert!(vm_access
        .iter()
        .all(|f| f.principal_id.as_deref() == Some(CAROL)));
    let audit = o.result.access_audit.as_ref().unwrap();
    assert!(!audit.given);
    assert_eq!(audit.token_kind, Some(TokenKind::User));
    assert_eq!(
        audit.reason,
        format!("user token: auditing the signed-in user {CAROL}")
    );
    assert_eq!(audit.note, None);
    let json = report_json(out.path());
    assert_eq!(json["access_audit"]["token_kind"], "user");
    assert_eq!(json["access_audit"]["audited"][0]["object_id"], CAROL);
    assert!(
        summary.contains(&format!(
            "access audited by default: user token: auditing the signed-in user {CAROL}"
        )),
        "{summary}"
    );
    assert!(!summary.contains(ACCESS_NOT_AUDITED), "{summary}");
}

#[tokio::test]
async fn an_application_token_audits_nobody_and_says_so() {
    let sim = common::start(&common::fleet("access.toml"), SimConfig::default()).await;
    let token = sim.issue_token(SCANNER).unwrap();
    assert_eq!(token_identity(&token).kind, TokenKind::App);
    let (o, summary, out) = scan_with_token(&sim, token, AccessOptions::default()).await;
    assert!(o.result.inventory.principals.is_empty());
    // No principal, no access verdict, no rbac finding, and no verdict made unknown by it.
    assert!(o.result.access.is_empty());
    assert!(rbac_findings(&o).is_empty(), "{:?}", rbac_findings(&o));
    assert_eq!(o.result.verdicts.len(), INSTANCES);
    for v in &o.result.verdicts {
        assert!(
            v.blockers
                .iter()
                .chain(&v.warnings)
                .chain(&v.unknowns)
                .all(|c| !c.starts_with("rbac-")),
            "{v:?}"
        );
        assert!(v.principals_denied.is_empty(), "{v:?}");
    }
    assert_eq!(
        o.result.count(Verdict::Unknown),
        0,
        "{:?}",
        o.result.verdicts
    );
    // Nobody to judge: no role assignment, permission or Graph read.
    assert_eq!(access_reads(&sim), 0);
    let audit = o.result.access_audit.as_ref().unwrap();
    assert!(!audit.given && audit.audited.is_empty());
    assert_eq!(audit.token_kind, Some(TokenKind::App));
    assert!(
        audit.reason.starts_with("application token:"),
        "{}",
        audit.reason
    );
    assert_eq!(audit.note.as_deref(), Some(ACCESS_NOT_AUDITED));
    // Every report says so.
    let json = report_json(out.path());
    assert_eq!(json["access_audit"]["note"], ACCESS_NOT_AUDITED);
    assert_eq!(json["access_audit"]["given"], false);
    assert_eq!(json["access_audit"]["token_kind"], "app");
    assert_eq!(json["access_audit"]["audited"], serde_json::json!([]));
    assert!(summary.contains(ACCESS_NOT_AUDITED), "{summary}");
    assert!(read(out.path(), "summary.md").contains(ACCESS_NOT_AUDITED));
    assert!(read(out.path(), "report.html").contains(ACCESS_NOT_AUDITED));
    // The instances' rows name nobody denied.
    let csv = read(out.path(), "findings.csv");
    assert!(!csv.contains(",rbac-"), "{csv}");
}

#[tokio::test]
async fn an_application_token_with_named_principals_audits_them() {
    let sim = common::start(&common::fleet("access.toml"), SimConfig::default()).await;
    let token = sim.issue_token(SCANNER).unwrap();
    let named = |id: &str, label: &str| PrincipalRef {
        object_id: id.into(),
        label: label.into(),
        scanner: false,
    };
    let access = AccessOptions {
        principals: vec![named(CAROL, "carol"), named(ALICE, "alice")],
        ..Default::default()
    };
    let (o, summary, out) = scan_with_token(&sim, token, access).await;
    assert_eq!(o.result.inventory.principals.len(), 2);
    assert_eq!(o.result.access.len(), 2 * INSTANCES);
    for a in &o.result.access {
        let want = if a.principal_id.as_str() == CAROL {
            Verdict::Blocked
        } else {
            Verdict::Ready
        };
        assert_eq!(a.verdict, want, "{a:?}");
    }
    assert!(rbac_findings(&o)
        .iter()
        .all(|f| f.principal_id.as_deref() == Some(CAROL)));
    assert_eq!(
        rbac_findings(&o)
            .iter()
            .filter(|f| f.check_id == "rbac-vm-access")
            .count(),
        INSTANCES
    );
    let audit = o.result.access_audit.as_ref().unwrap();
    assert!(audit.given);
    assert_eq!(audit.token_kind, None);
    assert_eq!(audit.note, None);
    assert_eq!(audit.audited.len(), 2);
    assert_eq!(report_json(out.path())["access_audit"]["given"], true);
    assert!(!summary.contains(ACCESS_NOT_AUDITED), "{summary}");
    assert!(!read(out.path(), "report.html").contains(ACCESS_NOT_AUDITED));
    assert!(summary.contains("carol (0b000000-0000-4000-8000-000000000003): 0 / 8 / 0"));
}

#[tokio::test]
async fn a_token_of_unknown_kind_audits_the_identity_it_names_and_says_which() {
    let sim = common::start(&common::fleet("access.toml"), SimConfig::default()).await;
    let token = sim.issue_token_of_unstated_kind(SCANNER).unwrap();
    assert_eq!(token_identity(&token).kind, TokenKind::Unknown);
    let (o, summary, out) = scan_with_token(&sim, token, AccessOptions::default()).await;
    // As before the kind was read: the scanning identity, judged with the permissions API.
    assert_eq!(
        o.result.inventory.principals,
        vec![PrincipalRef {
            object_id: SCANNER.into(),
            label: "scanning identity".into(),
            scanner: true,
        }]
    );
    assert_eq!(o.result.access.len(), INSTANCES);
    assert!(o
        .result
        .access
        .iter()
        .all(|a| a.verdict == Verdict::Blocked));
    let reason = format!("token kind unknown: auditing the scanning identity {SCANNER}");
    let audit = o.result.access_audit.as_ref().unwrap();
    assert_eq!(audit.token_kind, Some(TokenKind::Unknown));
    assert_eq!(audit.reason, reason);
    assert_eq!(audit.note, None);
    assert_eq!(report_json(out.path())["access_audit"]["reason"], reason);
    assert!(
        summary.contains(&format!("access audited by default: {reason}")),
        "{summary}"
    );
    assert!(read(out.path(), "summary.md").contains(&reason));
    assert!(read(out.path(), "report.html").contains(&reason));
}

#[test]
fn tokens_without_an_object_id_audit_nobody() {
    for kind in [TokenKind::User, TokenKind::Unknown, TokenKind::App] {
        let (principals, audit) = audited_by_default(&TokenIdentity {
            kind,
            object_id: None,
        });
        assert!(principals.is_empty(), "{kind:?}");
        assert!(!audit.given);
        assert_eq!(audit.token_kind, Some(kind));
        assert!(
            audit.reason.contains("nobody") || audit.reason.contains("not audited"),
            "{}",
            audit.reason
        );
    }
    // An opaque token (not a JWT) names nobody.
    let (principals, audit) = audited_by_default(&token_identity("opaque-bearer-token"));
    assert!(principals.is_empty());
    assert_eq!(audit.token_kind, Some(TokenKind::Unknown));
    // Object ids are compared in lower case.
    let (principals, _) = audited_by_default(&TokenIdentity {
        kind: TokenKind::User,
        object_id: Some(CAROL.to_uppercase()),
    });
    assert_eq!(principals[0].object_id, CAROL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_says_the_default_and_honours_principal() {
    let sim = common::start(&common::fleet("access.toml"), SimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sim.ca_pem()).unwrap();
    let token = sim.issue_token(SCANNER).unwrap();
    let graph = sim.issue_graph_token(SCANNER).unwrap();
    let base = sim.base_url();
    let ca = ca.display().to_string();
    let scan = |out: &'static str, extra: &'static [&'static str]| {
        let mut args = vec![
            "scan",
            "--cloud",
            "custom",
            "--arm-endpoint",
            base.as_str(),
            "--ca-cert",
            ca.as_str(),
            "--auth",
            "token",
            "--no-history",
            "--no-network-probe",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        let env = [
            ("SCREADY_ACCESS_TOKEN", token.as_str()),
            ("SCREADY_GRAPH_TOKEN", graph.as_str()),
        ];
        let cwd = dir.path().to_path_buf();
        async move { common::run_scready(&args, &env, &cwd).await }
    };
    // The nightly job's identity alone: nobody audited, and the summary says what to do.
    let out = scan("app", &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.code().is_some_and(|c| c < 2), "{out:?}");
    assert!(stdout.contains(ACCESS_NOT_AUDITED), "{stdout}");
    assert!(
        !stdout.contains("Serial Console access (may connect"),
        "{stdout}"
    );
    // --principal names who is audited.
    let out = scan("named", &["--principal", CAROL]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(!stdout.contains(ACCESS_NOT_AUDITED), "{stdout}");
    assert!(stdout.contains(&format!("{CAROL}: 0 / 8 / 0")), "{stdout}");
    let json = report_json(&dir.path().join("named"));
    assert_eq!(json["access_audit"]["given"], true);
    assert_eq!(json["access_audit"]["audited"][0]["object_id"], CAROL);
    // `scan --help` says the default.
    let help = common::run_scready(&["scan", "--help"], &[], dir.path()).await;
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("an application's token") && help.contains("audits nobody"),
        "{help}"
    );
}
