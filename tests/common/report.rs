//! `report.json` as the tests read it: validated against the published schema
//! (`docs/report.schema.json`), and schema 2 expanded into one object per verdict, finding,
//! access verdict and instance by a decoder of its own (written from the schema's description,
//! sharing no code with the scanner's reader).

use serde_json::{json, Map, Value};
use std::path::Path;
use std::sync::OnceLock;

/// The published schema of `report.json`.
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
        serde_json::from_str(&std::fs::read_to_string(&path).expect("docs/report.schema.json"))
            .expect("the schema is JSON")
    })
}

/// Asserts that `report` is valid under the published schema, listing the first errors.
pub fn assert_valid(report: &Value) {
    let validator = jsonschema::draft202012::new(schema()).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(report)
        .take(20)
        .map(|e| {
            format!(
                "{} at {} (schema {})",
                e,
                e.instance_path(),
                e.schema_path()
            )
        })
        .collect();
    assert!(
        errors.is_empty(),
        "report.json does not follow docs/report.schema.json:\n{}",
        errors.join("\n")
    );
}

/// `dir/report.json` as written: parsed and validated.
pub fn raw(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    let report: Value = serde_json::from_str(&text).expect("report.json is JSON");
    assert_eq!(report["schema_version"], 2, "report.json is schema 2");
    assert_valid(&report);
    report
}

/// `dir/report.json` validated and expanded (see [`expand`]).
pub fn read(dir: &Path) -> Value {
    expand(&raw(dir))
}

/// The strings of a table, by index.
fn at<'v>(table: &'v [Value], i: &Value, what: &str) -> &'v Value {
    let n = i
        .as_u64()
        .unwrap_or_else(|| panic!("{what}: {i} is not an index"));
    table
        .get(n as usize)
        .unwrap_or_else(|| panic!("{what}: index {n} outside its table of {}", table.len()))
}

/// A string-table entry or null.
fn opt(table: &[Value], i: &Value, what: &str) -> Value {
    if i.is_null() {
        Value::Null
    } else {
        at(table, i, what).clone()
    }
}

/// `{key}` placeholders filled in verbatim from `values`; any other text kept.
fn fill(template: &str, values: &[(&str, Option<String>)]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let key = &rest[open + 1..open + close];
        match values
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.clone())
        {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[open..=open + close]),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// A message: the check's shared message by index, or the text itself.
fn message(checks: &Value, check: &str, m: &Value) -> Value {
    match m {
        Value::String(_) => m.clone(),
        _ => at(
            checks[check]["messages"].as_array().expect("messages"),
            m,
            "message",
        )
        .clone(),
    }
}

/// Expands a schema-2 report into the shape of the scan result: `verdicts`, `findings` and
/// `access` as objects with every field (`resource_id`, `check_id`, `message`, `remediation`,
/// …) and `inventory.instances` as one object per instance. Other fields are kept as written.
pub fn expand(report: &Value) -> Value {
    let mut out = report.clone();
    let checks = &report["checks"];
    let inv = &report["inventory"];
    let table = inv["instances"]["strings"].as_array().expect("strings");
    let fields: Vec<&str> = inv["instances"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let instances: Vec<Value> = inv["instances"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            let f = |name: &str| &row[fields.iter().position(|x| *x == name).unwrap()];
            let name = f("name").as_str().unwrap().to_string();
            let suffix = f("id_suffix")
                .as_str()
                .map(str::to_string)
                .unwrap_or(name.clone());
            let id = format!(
                "{}{suffix}",
                at(table, f("id_prefix"), "id_prefix").as_str().unwrap()
            );
            let tags: Map<String, Value> = f("tags")
                .as_array()
                .unwrap()
                .chunks(2)
                .map(|kv| {
                    (
                        at(table, &kv[0], "tag").as_str().unwrap().to_string(),
                        at(table, &kv[1], "tag").clone(),
                    )
                })
                .collect();
            let detail = opt(table, f("boot_diagnostics_detail"), "boot detail");
            let boot = match f("boot_diagnostics").as_str().unwrap() {
                "custom" => json!({"mode": "custom", "storage_uri": detail}),
                "invalid" => json!({"mode": "invalid", "reason": detail}),
                mode => json!({ "mode": mode }),
            };
            let mut i = json!({
                "id": id,
                "name": name,
                "subscription_id": at(table, f("subscription_id"), "subscription"),
                "resource_group": at(table, f("resource_group"), "resource group"),
                "kind": f("kind"),
                "scale_set": opt(table, f("scale_set"), "scale set"),
                "instance_id": f("instance_id"),
                "location": at(table, f("location"), "location"),
                "os_type": opt(table, f("os_type"), "os"),
                "tags": tags,
                "power_state": opt(table, f("power_state"), "power"),
                "instance_view": f("instance_view"),
                "provisioning_state": opt(table, f("provisioning_state"), "provisioning"),
                "boot_diagnostics": boot,
                "boot_diagnostics_error": opt(table, f("boot_diagnostics_error"), "boot error"),
                "security_type": opt(table, f("security_type"), "security type"),
                "secure_boot": f("secure_boot"),
                "disable_password_authentication": f("disable_password_authentication"),
                "latest_model_applied": f("latest_model_applied"),
                "anomalies": f("anomalies").as_array().unwrap().iter()
                    .map(|a| at(table, a, "anomaly").clone()).collect::<Vec<_>>(),
            });
            for k in ["model_not_read", "status_not_read"] {
                if !f(k).is_null() {
                    i[k] = at(table, f(k), k).clone();
                }
            }
            i
        })
        .collect();
    let instance = |target: &Value| -> &Value {
        &instances[target.as_u64().expect("an instance index") as usize]
    };

    let verdicts: Vec<Value> = report["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(n, row)| {
            let row = row.as_array().unwrap();
            let list = |k: usize| row.get(k).cloned().unwrap_or(json!([]));
            let mut v = json!({
                "resource_id": instances[n]["id"],
                "verdict": row[0],
                "blockers": list(1),
                "warnings": list(2),
                "unknowns": list(3),
                "first_fix": row.get(4).cloned().unwrap_or(json!("")),
            });
            if let Some(denied) = row.get(5) {
                v["principals_denied"] = denied.clone();
            }
            v
        })
        .collect();

    let findings: Vec<Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let row = row.as_array().unwrap();
            let check_id = row[1].as_str().unwrap();
            let check = &checks[check_id];
            let more = row.get(4).cloned().unwrap_or(json!({}));
            let principal = more["principal"].as_str().map(str::to_string);
            let (resource_id, subscription_id, remediation) = match &row[0] {
                Value::Number(_) => {
                    let i = instance(&row[0]);
                    let s = |k: &str| i[k].as_str().map(str::to_string);
                    let scale_set_template = check["remediation_scale_set"].as_str().unwrap();
                    let template = if i["kind"] == "vmss_instance" && !scale_set_template.is_empty()
                    {
                        scale_set_template
                    } else {
                        check["remediation"].as_str().unwrap()
                    };
                    let values = [
                        ("name", s("name")),
                        ("resource_group", s("resource_group")),
                        ("subscription_id", s("subscription_id")),
                        ("resource_id", s("id")),
                        ("location", s("location")),
                        ("scale_set", Some(s("scale_set").unwrap_or_default())),
                        ("instance_id", Some(s("instance_id").unwrap_or_default())),
                        ("principal_id", principal.clone()),
                    ];
                    (
                        i["id"].clone(),
                        i["subscription_id"].clone(),
                        fill(template, &values),
                    )
                }
                Value::String(t) if t == "environment" => (
                    json!("environment"),
                    json!(""),
                    fill(
                        check["remediation"].as_str().unwrap(),
                        &[("principal_id", principal.clone())],
                    ),
                ),
                Value::String(sub) => (
                    json!(format!("/subscriptions/{sub}")),
                    json!(sub),
                    fill(
                        check["remediation"].as_str().unwrap(),
                        &[
                            ("subscription_id", Some(sub.clone())),
                            ("principal_id", principal.clone()),
                        ],
                    ),
                ),
                _ => (
                    more["resource_id"].clone(),
                    more["subscription_id"].clone(),
                    String::new(),
                ),
            };
            let or = |k: &str, default: Value| {
                if more[k].is_null() {
                    default
                } else {
                    more[k].clone()
                }
            };
            let mut f = json!({
                "resource_id": resource_id,
                "subscription_id": subscription_id,
                "check_id": check_id,
                "status": row[2],
                "severity": or("severity", check["severity"].clone()),
                "message": message(checks, check_id, &row[3]),
                "mitigation": or("mitigation", check["mitigation"].clone()),
                "remediation": or("remediation", json!(remediation)),
            });
            if !more["waiver"].is_null() {
                f["waiver"] = more["waiver"].clone();
            }
            if let Some(p) = principal {
                f["principal_id"] = json!(p);
            }
            f
        })
        .collect();

    let principals = inv["principals"].as_array().unwrap();
    let access: Vec<Value> = report["access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let row = row.as_array().unwrap();
            let resource_id = match &row[0] {
                Value::Number(_) => instance(&row[0])["id"].clone(),
                other => other.clone(),
            };
            let p = match &row[1] {
                Value::Number(_) => at(principals, &row[1], "principal").clone(),
                other => other.clone(),
            };
            let checks_of: Vec<Value> = row
                .get(3)
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .map(|c| {
                            let id = c[0].as_str().unwrap();
                            json!({"check_id": id, "status": c[1], "message": message(checks, id, &c[2])})
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "resource_id": resource_id,
                "principal_id": p["object_id"],
                "label": p["label"].as_str().unwrap_or(""),
                "verdict": row[2],
                "checks": checks_of,
            })
        })
        .collect();

    out["verdicts"] = json!(verdicts);
    out["findings"] = json!(findings);
    out["access"] = json!(access);
    out["inventory"]["instances"] = json!(instances);
    out
}
