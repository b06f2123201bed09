//! Subscription-wide conditions: the console switch and the subscription state.

use super::context::gap_reason;
use super::{Context, Outcome};
use crate::inventory::{GapScope, SubscriptionInfo};

/// `subscription-console-disabled`: the subscription-wide Serial Console switch.
pub fn console_disabled(s: &SubscriptionInfo, ctx: &Context) -> Outcome {
    match s.console_disabled {
        Some(false) => Outcome::Pass,
        Some(true) => Outcome::Fail(format!(
            "Serial Console is disabled for subscription {} (consoleServices/default reports disabled: true)",
            s.id
        )),
        None => Outcome::Unknown(
            ctx.gap(&s.id, GapScope::CONSOLE)
                .map(gap_reason)
                .unwrap_or_else(|| "the console switch of the subscription was not read".into()),
        ),
    }
}

/// `subscription-not-enabled`: the subscription must be Enabled.
pub fn not_enabled(s: &SubscriptionInfo, ctx: &Context) -> Outcome {
    match s.state.as_deref() {
        Some(st) if st.eq_ignore_ascii_case("Enabled") => Outcome::Pass,
        Some(st) if st.eq_ignore_ascii_case("Warned") || st.eq_ignore_ascii_case("PastDue") => {
            Outcome::Warn(format!("the subscription is in state {st}"))
        }
        Some(st) if st.eq_ignore_ascii_case("Disabled") || st.eq_ignore_ascii_case("Deleted") => {
            Outcome::Fail(format!("the subscription is in state {st}"))
        }
        Some(st) => Outcome::Unknown(format!(
            "the subscription state '{st}' is not one scready knows"
        )),
        None => Outcome::Unknown(
            ctx.gap(&s.id, GapScope::SUBSCRIPTION)
                .map(gap_reason)
                .unwrap_or_else(|| "the subscription state was not returned".into()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn console_switch_and_state() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut s = inv.subscriptions[0].clone();
        s.console_disabled = Some(true);
        assert!(matches!(console_disabled(&s, &ctx), Outcome::Fail(_)));
        s.console_disabled = Some(false);
        assert_eq!(console_disabled(&s, &ctx), Outcome::Pass);
        s.console_disabled = None;
        assert!(matches!(console_disabled(&s, &ctx), Outcome::Unknown(_)));
        for (state, want) in [
            ("Enabled", "pass"),
            ("Warned", "warn"),
            ("PastDue", "warn"),
            ("Disabled", "fail"),
            ("Deleted", "fail"),
            ("Frozen", "unknown"),
        ] {
            s.state = Some(state.into());
            let got = match not_enabled(&s, &ctx) {
                Outcome::Pass => "pass",
                Outcome::Warn(_) => "warn",
                Outcome::Fail(_) => "fail",
                Outcome::Unknown(_) => "unknown",
                Outcome::NotApplicable => "n/a",
            };
            assert_eq!(got, want, "{state}");
        }
    }
}
