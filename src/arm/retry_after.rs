//! How long a 429 or 503 asks the client to wait, in every form servers send it, capped.
//!
//! ARM and the resource providers send `Retry-After` in whole seconds ("Understand how Azure
//! Resource Manager throttles requests"); RFC 9110 §10.2.3 also allows an HTTP date; Azure SDKs
//! read `retry-after-ms` and `x-ms-retry-after-ms` in milliseconds first (Azure SDK guidelines,
//! "Retry policy"). A negative or past value means "now"; a value past the cap is cut to the cap
//! and counted, so that a broken or hostile endpoint cannot hold a scan for hours.

use std::time::Duration;

/// The longest wait honoured for one `Retry-After`.
pub const DEFAULT_RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// A server's requested wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter {
    /// The wait honoured (at most the cap).
    pub delay: Duration,
    /// The server asked for more than the cap.
    pub capped: bool,
}

/// Reads the wait from response headers (`get` looks a header up by lower-case name), the
/// millisecond headers first; `None` when no header holds a usable value.
pub fn parse(
    get: impl Fn(&'static str) -> Option<String>,
    now: time::OffsetDateTime,
    cap: Duration,
) -> Option<RetryAfter> {
    let wanted_ms: Option<f64> = ["retry-after-ms", "x-ms-retry-after-ms"]
        .iter()
        .find_map(|h| get(h).and_then(|v| v.trim().parse::<f64>().ok()))
        .or_else(|| {
            let v = get("retry-after")?;
            let v = v.trim();
            match v.parse::<f64>() {
                Ok(secs) => Some(secs * 1000.0),
                Err(_) => azure_core::time::parse_rfc7231(v)
                    .ok()
                    .map(|at| (at - now).whole_milliseconds() as f64),
            }
        });
    let ms = wanted_ms.filter(|m| !m.is_nan())?;
    let cap_ms = cap.as_millis() as f64;
    Some(RetryAfter {
        delay: Duration::from_millis(ms.clamp(0.0, cap_ms) as u64),
        capped: ms > cap_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(headers: &[(&str, &str)]) -> Option<RetryAfter> {
        let now = time::macros::datetime!(2026-12-01 12:00:00 UTC);
        parse(
            |name| {
                headers
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            },
            now,
            Duration::from_secs(60),
        )
    }

    fn wait(ms: u64, capped: bool) -> Option<RetryAfter> {
        Some(RetryAfter {
            delay: Duration::from_millis(ms),
            capped,
        })
    }

    #[test]
    fn every_form_is_read_and_capped() {
        assert_eq!(at(&[("retry-after", "7")]), wait(7000, false));
        assert_eq!(at(&[("retry-after", " 0 ")]), wait(0, false));
        assert_eq!(at(&[("retry-after", "-5")]), wait(0, false));
        assert_eq!(at(&[("retry-after", "1000000000")]), wait(60_000, true));
        assert_eq!(
            at(&[("retry-after", "Tue, 01 Dec 2026 12:00:09 GMT")]),
            wait(9000, false)
        );
        assert_eq!(
            at(&[("retry-after", "Tue, 01 Dec 2026 11:00:00 GMT")]),
            wait(0, false),
            "a date in the past"
        );
        assert_eq!(
            at(&[("retry-after", "Fri, 01 Jan 2100 00:00:00 GMT")]),
            wait(60_000, true)
        );
        assert_eq!(at(&[("retry-after-ms", "250")]), wait(250, false));
        assert_eq!(
            at(&[("x-ms-retry-after-ms", "1500"), ("retry-after", "30")]),
            wait(1500, false),
            "milliseconds first"
        );
        assert_eq!(at(&[("retry-after", "soon")]), None);
        assert_eq!(at(&[]), None);
    }
}
