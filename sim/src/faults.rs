//! Injected faults: what can go wrong with a request, and when.
//!
//! A rule names a fault kind, optional filters (a substring of the request's path and query, one
//! that must not appear, a subscription) and a trigger: exact ARM request numbers, a probability
//! per matching request, or every matching request; `times` caps how often a rule fires. Rules
//! come from `--faults FILE`, from the library API, or from `POST /_sim/faults`. At most one rule
//! fires per request, the first that matches, except `omit-item` rules: every matching one of
//! those applies, alongside that one rule.

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
    /// A list page without the item whose `name` is this (case-insensitive): a resource that
    /// appeared or vanished between two listings. Other responses are unchanged.
    OmitItem {
        /// The `name` of the item to drop from `value`.
        name: String,
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
            FaultKind::OmitItem { .. } => "omit-item".into(),
        }
    }
}

/// When and where a fault fires.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FaultRuleSpec", into = "FaultRuleSpec")]
pub struct FaultRule {
    /// The fault.
    pub fault: FaultKind,
    /// Only requests whose path and query (`path?query`, as sent or percent-decoded) contain
    /// this, case-insensitively, e.g. `statusOnly=true`; a trailing `$` anchors it at the end of
    /// the path (the query is then not looked at).
    pub path: Option<String>,
    /// Never requests whose path and query contain this (case-insensitive), e.g. `statusOnly`
    /// to leave the status listing alone.
    pub not_path: Option<String>,
    /// Only requests for this subscription.
    pub subscription: Option<String>,
    /// Fire on these ARM request numbers (1-based, counting every ARM request).
    pub requests: Vec<u64>,
    /// Fire with this probability on each matching request (0.0–1.0).
    pub rate: Option<f64>,
    /// Fire at most this many times.
    pub times: Option<u64>,
    /// `status` and `throttle`: send `Retry-After` as an HTTP date (IMF-fixdate) this many
    /// seconds in the future instead of as seconds.
    pub retry_after_date_secs: Option<u64>,
    /// `status` and `throttle`: send `Retry-After` with exactly this text (negative, absurd or
    /// garbage values).
    pub retry_after_raw: Option<String>,
    /// `status` and `throttle`: also send `retry-after-ms` and `x-ms-retry-after-ms` with this
    /// many milliseconds.
    pub retry_after_ms: Option<u64>,
}

/// The file form of a [`FaultRule`]: a flat table with a `kind`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRuleSpec {
    /// `status | throttle | reset | truncated | malformed | next-link-loop | repeat-items |
    /// forbidden | not-found | expire-token | hang | rewrite | omit-item`.
    pub kind: String,
    /// HTTP status for `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` seconds for `status` and `throttle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// `Retry-After` as an HTTP date this many seconds ahead, for `status` and `throttle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_date_secs: Option<u64>,
    /// `Retry-After` sent verbatim, for `status` and `throttle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_raw: Option<String>,
    /// `retry-after-ms` and `x-ms-retry-after-ms` milliseconds, for `status` and `throttle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// The item name for `omit-item`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Hold time for `hang`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<u64>,
    /// Text to replace, for `rewrite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Replacement, for `rewrite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Path (and query) filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Path (and query) exclusion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_path: Option<String>,
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
            "omit-item" => FaultKind::OmitItem {
                name: s.name.clone().ok_or("kind = \"omit-item\" needs name")?,
            },
            other => return Err(format!(
                "unknown fault kind '{other}' (expected status, throttle, reset, truncated, malformed, next-link-loop, repeat-items, forbidden, not-found, expire-token, hang, rewrite or omit-item)"
            )),
        };
        if s.name.is_some() && !matches!(fault, FaultKind::OmitItem { .. }) {
            return Err(format!(
                "name is for kind = \"omit-item\", not \"{}\"",
                s.kind
            ));
        }
        let rule = FaultRule {
            fault,
            path: s.path,
            not_path: s.not_path,
            subscription: s.subscription,
            requests: s.requests,
            rate: s.rate,
            times: s.times,
            retry_after_date_secs: s.retry_after_date_secs,
            retry_after_raw: s.retry_after_raw,
            retry_after_ms: s.retry_after_ms,
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
            not_path: r.not_path,
            subscription: r.subscription,
            requests: r.requests,
            rate: r.rate,
            times: r.times,
            retry_after_date_secs: r.retry_after_date_secs,
            retry_after_raw: r.retry_after_raw,
            retry_after_ms: r.retry_after_ms,
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
            FaultKind::OmitItem { name } => s.name = Some(name),
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
            not_path: None,
            subscription: None,
            requests: Vec::new(),
            rate: None,
            times: None,
            retry_after_date_secs: None,
            retry_after_raw: None,
            retry_after_ms: None,
        }
    }

    /// Restricts the rule to requests whose path and query contain `path` (see [`FaultRule::path`]).
    pub fn on_path(mut self, path: &str) -> FaultRule {
        self.path = Some(path.to_string());
        self
    }

    /// Leaves out requests whose path and query contain `text`.
    pub fn not_on_path(mut self, text: &str) -> FaultRule {
        self.not_path = Some(text.to_string());
        self
    }

    /// Sends `Retry-After` as an HTTP date `secs` seconds ahead (`status` and `throttle`).
    pub fn retry_after_date(mut self, secs: u64) -> FaultRule {
        self.retry_after_date_secs = Some(secs);
        self
    }

    /// Sends `Retry-After` with exactly this text (`status` and `throttle`).
    pub fn retry_after_raw(mut self, text: &str) -> FaultRule {
        self.retry_after_raw = Some(text.to_string());
        self
    }

    /// Also sends `retry-after-ms` and `x-ms-retry-after-ms` (`status` and `throttle`).
    pub fn retry_after_ms(mut self, ms: u64) -> FaultRule {
        self.retry_after_ms = Some(ms);
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
        let retry_forms = self.retry_after_date_secs.is_some() as u8
            + self.retry_after_raw.is_some() as u8
            + self.retry_after_ms.is_some() as u8;
        let seconds = match &self.fault {
            FaultKind::Status { retry_after, .. } | FaultKind::Throttle { retry_after } => {
                Some(retry_after.is_some())
            }
            _ => None,
        };
        match seconds {
            None if retry_forms > 0 => {
                return Err(format!(
                    "retry_after_date_secs, retry_after_raw and retry_after_ms are for kind = \"status\" or \"throttle\", not \"{}\"",
                    self.fault.label()
                ))
            }
            Some(secs) => {
                let headers = secs as u8
                    + self.retry_after_date_secs.is_some() as u8
                    + self.retry_after_raw.is_some() as u8;
                if headers > 1 {
                    return Err(
                        "retry_after, retry_after_date_secs and retry_after_raw each set Retry-After; give one"
                            .into(),
                    );
                }
            }
            None => {}
        }
        if let Some(raw) = &self.retry_after_raw {
            if !raw.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) {
                return Err(format!(
                    "retry_after_raw {raw:?} is not a valid header value (printable ASCII only)"
                ));
            }
        }
        Ok(())
    }

    /// The headers that tell a client when to retry, as this rule sends them with a `status` or
    /// `throttle` fault; `now_secs` is the current Unix time (for the HTTP-date form).
    pub fn retry_headers(&self, now_secs: u64) -> Vec<(String, String)> {
        let seconds = match &self.fault {
            FaultKind::Status { retry_after, .. } | FaultKind::Throttle { retry_after } => {
                *retry_after
            }
            _ => return Vec::new(),
        };
        let mut out = Vec::new();
        if let Some(s) = seconds {
            out.push(("retry-after".to_string(), s.to_string()));
        }
        if let Some(ahead) = self.retry_after_date_secs {
            out.push((
                "retry-after".to_string(),
                imf_fixdate(now_secs.saturating_add(ahead)),
            ));
        }
        if let Some(raw) = &self.retry_after_raw {
            out.push(("retry-after".to_string(), raw.clone()));
        }
        if let Some(ms) = self.retry_after_ms {
            // Azure SDKs read both spellings before `Retry-After` (azure-core's retry policy).
            out.push(("retry-after-ms".to_string(), ms.to_string()));
            out.push(("x-ms-retry-after-ms".to_string(), ms.to_string()));
        }
        out
    }

    fn matches(&self, target: &Target, subscription: Option<&str>) -> bool {
        if let Some(p) = &self.path {
            let p = p.to_ascii_lowercase();
            let hit = match p.strip_suffix('$') {
                Some(anchored) => target.path.ends_with(anchored),
                None => target.contains(&p),
            };
            if !hit {
                return false;
            }
        }
        if let Some(n) = &self.not_path {
            if target.contains(&n.to_ascii_lowercase()) {
                return false;
            }
        }
        if let Some(s) = &self.subscription {
            if !subscription.is_some_and(|x| x.eq_ignore_ascii_case(s)) {
                return false;
            }
        }
        true
    }
}

/// An HTTP date in the IMF-fixdate form (RFC 9110 §5.6.7), e.g.
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn imf_fixdate(unix_secs: u64) -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp(unix_secs.min(253_402_300_799) as i64)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_default()
}

/// A request as the filters see it: the path, and the path with its query, lower case, as sent
/// and percent-decoded.
struct Target {
    path: String,
    full: String,
    decoded: String,
}

impl Target {
    fn new(path: &str, query: &str) -> Target {
        let path = path.to_ascii_lowercase();
        let full = if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{}", query.to_ascii_lowercase())
        };
        let decoded = percent_decode(&full);
        Target {
            path,
            full,
            decoded,
        }
    }

    fn contains(&self, needle: &str) -> bool {
        self.full.contains(needle) || self.decoded.contains(needle)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_ascii_lowercase()
}

/// What the rules pick for one request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Picked {
    /// The one rule that fires, if any (not an `omit-item` rule).
    pub rule: Option<FaultRule>,
    /// Names to drop from a list page, from every `omit-item` rule that fires.
    pub omit: Vec<String>,
}

impl Picked {
    /// A label for the request log: the rule's fault, else `omit-item` when items are dropped.
    pub fn label(&self) -> Option<String> {
        match (&self.rule, self.omit.is_empty()) {
            (Some(r), _) => Some(r.fault.label()),
            (None, false) => Some("omit-item".into()),
            (None, true) => None,
        }
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
        let file: FaultFile = crate::file::from_toml(text, origin).map_err(|e| e.to_string())?;
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

    /// The fault to inject into ARM request number `n` for `path` (no query), if any.
    pub fn pick(&self, n: u64, path: &str, subscription: Option<&str>) -> Option<FaultKind> {
        let picked = self.pick_for(n, path, "", subscription);
        match picked.rule {
            Some(r) => Some(r.fault),
            None => picked
                .omit
                .into_iter()
                .next()
                .map(|name| FaultKind::OmitItem { name }),
        }
    }

    /// The rules that fire for ARM request number `n` with this path and raw query: the first
    /// matching rule that is not `omit-item`, and every matching `omit-item` rule.
    pub fn pick_for(&self, n: u64, path: &str, query: &str, subscription: Option<&str>) -> Picked {
        let mut rules = self.rules.lock().unwrap();
        let target = Target::new(path, query);
        let mut picked = Picked::default();
        for state in rules.iter_mut() {
            let r = &state.rule;
            let omit = matches!(r.fault, FaultKind::OmitItem { .. });
            if picked.rule.is_some() && !omit {
                continue;
            }
            if r.times.is_some_and(|t| state.fired >= t) {
                continue;
            }
            if !r.matches(&target, subscription) {
                continue;
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
                match &r.fault {
                    FaultKind::OmitItem { name } => picked.omit.push(name.clone()),
                    _ => picked.rule = Some(r.clone()),
                }
            }
        }
        picked
    }
}

/// Drops the items whose `name` is one of `names` (case-insensitive) from a list page's `value`;
/// anything that is not such a page is returned unchanged.
pub fn omit_items(body: &[u8], names: &[String]) -> Option<Vec<u8>> {
    let mut page: serde_json::Value = serde_json::from_slice(body).ok()?;
    let value = page.get_mut("value")?.as_array_mut()?;
    let before = value.len();
    value.retain(|item| {
        !item
            .get("name")
            .and_then(|n| n.as_str())
            .is_some_and(|n| names.iter().any(|x| x.eq_ignore_ascii_case(n)))
    });
    if value.len() == before {
        return None;
    }
    serde_json::to_vec(&page).ok()
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
    fn filters_see_the_query_and_anchors_still_end_the_path() {
        let vms = "/subscriptions/s1/providers/Microsoft.Compute/virtualMachines";
        let plan = FaultPlan::new(
            vec![
                FaultRule::always(FaultKind::OmitItem { name: "a".into() })
                    .on_path("virtualMachines?api-version")
                    .not_on_path("statusOnly"),
                FaultRule::always(FaultKind::Forbidden).on_path("statusonly=TRUE"),
                FaultRule::always(FaultKind::Reset).on_path("virtualMachines$"),
            ],
            1,
        );
        let status = plan.pick_for(1, vms, "api-version=1&statusOnly=true", None);
        assert_eq!(status.rule.map(|r| r.fault), Some(FaultKind::Forbidden));
        assert!(status.omit.is_empty());
        let plain = plan.pick_for(2, vms, "api-version=1", None);
        assert_eq!(plain.omit, vec!["a".to_string()]);
        assert_eq!(
            plain.rule.map(|r| r.fault),
            Some(FaultKind::Reset),
            "omit-item rules combine with the first other rule"
        );
        let encoded = plan.pick_for(3, "/x", "%24expand=instanceView&statusOnly%3Dtrue", None);
        assert_eq!(encoded.rule.map(|r| r.fault), Some(FaultKind::Forbidden));
    }

    #[test]
    fn omit_items_drops_named_items_of_a_page_only() {
        let page = br#"{"value":[{"name":"a"},{"name":"B"}],"nextLink":"x"}"#;
        let out = omit_items(page, &["b".into()]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"value":[{"name":"a"}],"nextLink":"x"})
        );
        assert!(omit_items(page, &["c".into()]).is_none());
        assert!(omit_items(br#"{"name":"b"}"#, &["b".into()]).is_none());
    }

    #[test]
    fn imf_fixdate_is_the_http_date_form() {
        assert_eq!(imf_fixdate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
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
