//! Injected faults: what can go wrong with a request, and when.
//!
//! A rule names a fault kind, optional filters (path substring, subscription) and a trigger:
//! exact ARM request numbers, a probability per matching request, or every matching request;
//! `times` caps how often a rule fires. Rules come from `--faults FILE`, from the library API,
//! or from `POST /_sim/faults`. At most one rule fires per request: the first that matches.

use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// What an injected fault does to a request.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// An error status (500, 503, …) with an ARM error body.
    Status {
        /// The HTTP status.
        status: u16,
        /// `Retry-After` seconds, if sent.
        retry_after: Option<u64>,
    },
    /// 429 Too Many Requests regardless of the throttle (a storm when repeated).
    Throttle {
        /// `Retry-After` seconds; absent sends no header.
        retry_after: Option<u64>,
    },
    /// Headers and part of the body are sent, then the connection is closed.
    Reset,
    /// A 200 whose JSON body is cut short (consistent Content-Length).
    Truncated,
    /// A 200 whose body is not JSON.
    Malformed,
    /// A list page whose `nextLink` points at the page itself.
    NextLinkLoop,
    /// A list page that repeats the items of the previous page before its own.
    RepeatItems,
    /// 403 `AuthorizationFailed`.
    Forbidden,
    /// 404: `SubscriptionNotFound` on a subscription path, else `ResourceNotFound`.
    NotFound,
    /// Every token issued so far stops being valid; this request gets 401.
    ExpireToken,
    /// No answer: the request is held for `ms` milliseconds (forever when absent).
    Hang {
        /// How long to hold the request.
        ms: Option<u64>,
    },
    /// A 200 whose body has every occurrence of `from` replaced by `to` (ill-typed fields,
    /// odd escapes, hostile strings).
    Rewrite {
        /// Text to find in the JSON body.
        from: String,
        /// Replacement.
        to: String,
    },
}

impl FaultKind {
    /// A short label for logs.
    pub fn label(&self) -> String {
        match self {
            FaultKind::Status { status, .. } => format!("status-{status}"),
            FaultKind::Throttle { .. } => "throttle".into(),
            FaultKind::Reset => "reset".into(),
            FaultKind::Truncated => "truncated".into(),
            FaultKind::Malformed => "malformed".into(),
            FaultKind::NextLinkLoop => "next-link-loop".into(),
            FaultKind::RepeatItems => "repeat-items".into(),
            FaultKind::Forbidden => "forbidden".into(),
            FaultKind::NotFound => "not-found".into(),
            FaultKind::ExpireToken => "expire-token".into(),
            FaultKind::Hang { .. } => "hang".into(),
            FaultKind::Rewrite { .. } => "rewrite".into(),
        }
    }
}

/// When and where a fault fires.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FaultRuleSpec", into = "FaultRuleSpec")]
pub struct FaultRule {
    /// The fault.
    pub fault: FaultKind,
    /// Only requests whose path contains this (case-insensitive); a trailing `$` anchors it
    /// at the end of the path.
    pub path: Option<String>,
    /// Only requests for this subscription.
    pub subscription: Option<String>,
    /// Fire on these ARM request numbers (1-based, counting every ARM request).
    pub requests: Vec<u64>,
    /// Fire with this probability on each matching request (0.0–1.0).
    pub rate: Option<f64>,
    /// Fire at most this many times.
    pub times: Option<u64>,
}

/// The file form of a [`FaultRule`]: a flat table with a `kind`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRuleSpec {
    /// `status | throttle | reset | truncated | malformed | next-link-loop | repeat-items |
    /// forbidden | not-found | expire-token | hang`.
    pub kind: String,
    /// HTTP status for `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` seconds for `status` and `throttle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Hold time for `hang`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<u64>,
    /// Text to replace, for `rewrite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Replacement, for `rewrite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Path filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Subscription filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    /// Exact request numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<u64>,
    /// Probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Cap on firings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
}

impl TryFrom<FaultRuleSpec> for FaultRule {
    type Error = String;
    fn try_from(s: FaultRuleSpec) -> Result<FaultRule, String> {
        let fault = match s.kind.as_str() {
            "status" => FaultKind::Status {
                status: s.status.ok_or("kind = \"status\" needs a status")?,
                retry_after: s.retry_after,
            },
            "throttle" => FaultKind::Throttle {
                retry_after: s.retry_after,
            },
            "reset" => FaultKind::Reset,
            "truncated" => FaultKind::Truncated,
            "malformed" => FaultKind::Malformed,
            "next-link-loop" => FaultKind::NextLinkLoop,
            "repeat-items" => FaultKind::RepeatItems,
            "forbidden" => FaultKind::Forbidden,
            "not-found" => FaultKind::NotFound,
            "expire-token" => FaultKind::ExpireToken,
            "hang" => FaultKind::Hang { ms: s.ms },
            "rewrite" => FaultKind::Rewrite {
                from: s.from.clone().ok_or("kind = \"rewrite\" needs from")?,
                to: s.to.clone().unwrap_or_default(),
            },
            other => return Err(format!(
                "unknown fault kind '{other}' (expected status, throttle, reset, truncated, malformed, next-link-loop, repeat-items, forbidden, not-found, expire-token, hang or rewrite)"
            )),
        };
        let rule = FaultRule {
            fault,
            path: s.path,
            subscription: s.subscription,
            requests: s.requests,
            rate: s.rate,
            times: s.times,
        };
        rule.validate()?;
        Ok(rule)
    }
}

impl From<FaultRule> for FaultRuleSpec {
    fn from(r: FaultRule) -> FaultRuleSpec {
        let mut s = FaultRuleSpec {
            kind: r.fault.label(),
            path: r.path,
            subscription: r.subscription,
            requests: r.requests,
            rate: r.rate,
            times: r.times,
            ..Default::default()
        };
        match r.fault {
            FaultKind::Status {
                status,
                retry_after,
            } => {
                s.kind = "status".into();
                s.status = Some(status);
                s.retry_after = retry_after;
            }
            FaultKind::Throttle { retry_after } => s.retry_after = retry_after,
            FaultKind::Hang { ms } => s.ms = ms,
            FaultKind::Rewrite { from, to } => {
                s.from = Some(from);
                s.to = Some(to);
            }
            _ => {}
        }
        s
    }
}

impl FaultRule {
    /// A rule that fires on every request (narrow it with the builder methods).
    pub fn always(fault: FaultKind) -> FaultRule {
        FaultRule {
            fault,
            path: None,
            subscription: None,
            requests: Vec::new(),
            rate: None,
            times: None,
        }
    }

    /// Restricts the rule to paths containing `path`.
    pub fn on_path(mut self, path: &str) -> FaultRule {
        self.path = Some(path.to_string());
        self
    }

    /// Restricts the rule to one subscription.
    pub fn on_subscription(mut self, sub: &str) -> FaultRule {
        self.subscription = Some(sub.to_string());
        self
    }

    /// Fires on exactly these request numbers.
    pub fn at_requests(mut self, numbers: &[u64]) -> FaultRule {
        self.requests = numbers.to_vec();
        self
    }

    /// Fires with this probability.
    pub fn at_rate(mut self, rate: f64) -> FaultRule {
        self.rate = Some(rate);
        self
    }

    /// Fires at most `n` times.
    pub fn times(mut self, n: u64) -> FaultRule {
        self.times = Some(n);
        self
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(r) = self.rate {
            if !(0.0..=1.0).contains(&r) {
                return Err(format!("rate {r} is not between 0 and 1"));
            }
        }
        if let FaultKind::Status { status, .. } = self.fault {
            if !(400..=599).contains(&status) {
                return Err(format!("status {status} is not an error status"));
            }
        }
        Ok(())
    }
}

/// A faults file: `[[faults]]` tables.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultFile {
    /// The rules, in priority order.
    #[serde(default)]
    pub faults: Vec<FaultRule>,
}

impl FaultFile {
    /// Parses a TOML faults file; errors name the line and field.
    pub fn parse(text: &str, origin: &str) -> Result<Vec<FaultRule>, String> {
        let file: FaultFile =
            crate::config_file::from_toml(text, origin).map_err(|e| e.to_string())?;
        Ok(file.faults)
    }
}

#[derive(Debug)]
struct RuleState {
    rule: FaultRule,
    fired: u64,
}

/// The active rules and the seeded random source for rates.
#[derive(Debug)]
pub struct FaultPlan {
    rules: Mutex<Vec<RuleState>>,
    rng: Mutex<fastrand::Rng>,
}

impl FaultPlan {
    /// A plan with these rules; `seed` makes rate-based faults reproducible.
    pub fn new(rules: Vec<FaultRule>, seed: u64) -> FaultPlan {
        FaultPlan {
            rules: Mutex::new(
                rules
                    .into_iter()
                    .map(|rule| RuleState { rule, fired: 0 })
                    .collect(),
            ),
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        }
    }

    /// Adds a rule after the existing ones.
    pub fn add(&self, rule: FaultRule) -> Result<(), String> {
        rule.validate()?;
        self.rules
            .lock()
            .unwrap()
            .push(RuleState { rule, fired: 0 });
        Ok(())
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.rules.lock().unwrap().clear();
    }

    /// The rules with how often each has fired.
    pub fn snapshot(&self) -> Vec<(FaultRule, u64)> {
        self.rules
            .lock()
            .unwrap()
            .iter()
            .map(|s| (s.rule.clone(), s.fired))
            .collect()
    }

    /// The fault to inject into ARM request number `n` for `path`, if any.
    pub fn pick(&self, n: u64, path: &str, subscription: Option<&str>) -> Option<FaultKind> {
        let mut rules = self.rules.lock().unwrap();
        let path_lower = path.to_ascii_lowercase();
        for state in rules.iter_mut() {
            let r = &state.rule;
            if r.times.is_some_and(|t| state.fired >= t) {
                continue;
            }
            if let Some(p) = &r.path {
                let p = p.to_ascii_lowercase();
                let hit = match p.strip_suffix('$') {
                    Some(anchored) => path_lower.ends_with(anchored),
                    None => path_lower.contains(&p),
                };
                if !hit {
                    continue;
                }
            }
            if let Some(s) = &r.subscription {
                if !subscription.is_some_and(|x| x.eq_ignore_ascii_case(s)) {
                    continue;
                }
            }
            let fires = if !r.requests.is_empty() {
                r.requests.contains(&n)
            } else if let Some(rate) = r.rate {
                self.rng.lock().unwrap().f64() < rate
            } else {
                true
            };
            if fires {
                state.fired += 1;
                return Some(r.fault.clone());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_filter_by_path_subscription_and_number() {
        let plan = FaultPlan::new(
            vec![
                FaultRule::always(FaultKind::Forbidden)
                    .on_path("storageAccounts")
                    .on_subscription("S1"),
                FaultRule::always(FaultKind::Status {
                    status: 503,
                    retry_after: None,
                })
                .at_requests(&[7]),
            ],
            1,
        );
        assert_eq!(
            plan.pick(
                1,
                "/subscriptions/s1/providers/Microsoft.Storage/storageAccounts",
                Some("s1")
            ),
            Some(FaultKind::Forbidden)
        );
        assert_eq!(
            plan.pick(
                2,
                "/subscriptions/s2/providers/Microsoft.Storage/storageAccounts",
                Some("s2")
            ),
            None
        );
        assert_eq!(plan.pick(6, "/subscriptions", None), None);
        assert!(matches!(
            plan.pick(7, "/subscriptions", None),
            Some(FaultKind::Status { status: 503, .. })
        ));
    }

    #[test]
    fn times_caps_firings() {
        let plan = FaultPlan::new(vec![FaultRule::always(FaultKind::Reset).times(2)], 1);
        assert!(plan.pick(1, "/x", None).is_some());
        assert!(plan.pick(2, "/x", None).is_some());
        assert!(plan.pick(3, "/x", None).is_none());
    }

    #[test]
    fn faults_file_parses_and_reports_bad_fields() {
        let rules = FaultFile::parse(
            "[[faults]]\nkind = \"status\"\nstatus = 503\nrate = 0.1\n[[faults]]\nkind = \"throttle\"\npath = \"virtualMachines\"\ntimes = 20\n",
            "faults.toml",
        )
        .unwrap();
        assert_eq!(rules.len(), 2);
        let err = FaultFile::parse("[[faults]]\nkind = \"explode\"\n", "faults.toml").unwrap_err();
        assert!(err.starts_with("faults.toml:"), "{err}");
        let err =
            FaultFile::parse("[[faults]]\nkind = \"reset\"\nrate = 2.0\n", "f.toml").unwrap_err();
        assert!(err.contains("faults[0]"), "{err}");
    }
}
