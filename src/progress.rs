//! Progress of a scan on stderr: a line redrawn in place on a terminal, plain timestamped log
//! lines otherwise (nightly jobs), nothing with `--quiet`. Never on stdout, where the summary goes.

use crate::arm::ArmClient;
use crate::discover::Progress;
use std::future::Future;
use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Whether and how progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// Nothing (`--quiet`).
    Off,
    /// A redrawn line when stderr is a terminal, log lines when it is not.
    Auto,
    /// Log lines every `interval`, whatever stderr is.
    Lines(Duration),
}

/// How progress is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `\r`-redrawn line every 200 ms.
    Terminal,
    /// A timestamped line every `interval`, and one at the start and at the end.
    Lines(Duration),
}

/// Interval of the log lines when stderr is not a terminal.
pub const LOG_INTERVAL: Duration = Duration::from_secs(5);
/// Interval of the terminal redraw.
pub const REDRAW_INTERVAL: Duration = Duration::from_millis(200);

/// What the display shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Subscriptions fully read.
    pub subscriptions_done: u64,
    /// Subscriptions in scope (0 until listed).
    pub subscriptions_total: u64,
    /// Instances found.
    pub instances: u64,
    /// ARM requests sent.
    pub requests: u64,
    /// Retries.
    pub retries: u64,
    /// 429 responses.
    pub throttled: u64,
    /// Milliseconds since the start.
    pub elapsed_ms: u64,
}

/// `2/3 subscriptions, 40 instances, 123 requests, 4 retries (2 throttled), 3.2 s`.
pub fn describe(s: &Snapshot) -> String {
    format!(
        "{}/{} subscriptions, {} instances, {} requests, {} retries ({} throttled), {:.1} s",
        s.subscriptions_done,
        s.subscriptions_total,
        s.instances,
        s.requests,
        s.retries,
        s.throttled,
        s.elapsed_ms as f64 / 1000.0
    )
}

fn timestamp() -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_default()
}

/// The style for a mode, given whether stderr is a terminal.
pub fn style(mode: ProgressMode, terminal: bool) -> Option<Style> {
    match mode {
        ProgressMode::Off => None,
        ProgressMode::Auto if terminal => Some(Style::Terminal),
        ProgressMode::Auto => Some(Style::Lines(LOG_INTERVAL)),
        ProgressMode::Lines(d) => Some(Style::Lines(d)),
    }
}

/// Runs `work` (discovery) while showing progress on stderr.
pub async fn watch<F: Future>(
    mode: ProgressMode,
    progress: Arc<Progress>,
    client: ArmClient,
    work: F,
) -> F::Output {
    let Some(style) = style(mode, std::io::stderr().is_terminal()) else {
        return work.await;
    };
    let started = Instant::now();
    let snapshot = move || {
        let calls = client.stats();
        Snapshot {
            subscriptions_done: progress.subscriptions_done.load(Ordering::Relaxed),
            subscriptions_total: progress.subscriptions_total.load(Ordering::Relaxed),
            instances: progress.instances.load(Ordering::Relaxed),
            requests: calls.requests,
            retries: calls.retries,
            throttled: calls.throttled,
            elapsed_ms: started.elapsed().as_millis() as u64,
        }
    };
    show(style, snapshot, work, &mut std::io::stderr()).await
}

/// Runs `work`, writing progress from `snapshot` to `out` in `style`.
pub async fn show<F: Future, W: Write>(
    style: Style,
    snapshot: impl Fn() -> Snapshot,
    work: F,
    out: &mut W,
) -> F::Output {
    let interval = match style {
        Style::Terminal => REDRAW_INTERVAL,
        Style::Lines(d) => d,
    };
    if let Style::Lines(_) = style {
        let _ = writeln!(out, "{} scready: discovery started", timestamp());
    }
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    futures::pin_mut!(work);
    loop {
        tokio::select! {
            output = &mut work => {
                let line = describe(&snapshot());
                let _ = match style {
                    Style::Terminal => writeln!(out, "\r\x1b[2Kdiscovery done: {line}"),
                    Style::Lines(_) => writeln!(out, "{} scready: discovery done: {line}", timestamp()),
                };
                let _ = out.flush();
                return output;
            }
            _ = tick.tick() => {
                let line = describe(&snapshot());
                let _ = match style {
                    Style::Terminal => write!(out, "\r\x1b[2Kdiscovery: {line}"),
                    Style::Lines(_) => writeln!(out, "{} scready: discovery: {line}", timestamp()),
                };
                let _ = out.flush();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_picks_the_style() {
        assert_eq!(style(ProgressMode::Off, true), None);
        assert_eq!(style(ProgressMode::Auto, true), Some(Style::Terminal));
        assert_eq!(
            style(ProgressMode::Auto, false),
            Some(Style::Lines(LOG_INTERVAL))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_terminal_gets_a_redrawn_line_and_logs_get_lines() {
        let snap = || Snapshot {
            subscriptions_done: 1,
            subscriptions_total: 3,
            instances: 40,
            requests: 120,
            retries: 4,
            throttled: 2,
            elapsed_ms: 3200,
        };
        let mut out = Vec::new();
        let v = show(
            Style::Terminal,
            snap,
            async {
                tokio::time::sleep(Duration::from_millis(450)).await;
                7
            },
            &mut out,
        )
        .await;
        assert_eq!(v, 7);
        let text = String::from_utf8(out).unwrap();
        let line = "1/3 subscriptions, 40 instances, 120 requests, 4 retries (2 throttled), 3.2 s";
        assert_eq!(
            text.matches(&format!("\r\x1b[2Kdiscovery: {line}")).count(),
            2,
            "{text:?}"
        );
        assert!(text.ends_with(&format!("\r\x1b[2Kdiscovery done: {line}\n")));

        let mut out = Vec::new();
        show(
            Style::Lines(Duration::from_millis(100)),
            snap,
            tokio::time::sleep(Duration::from_millis(250)),
            &mut out,
        )
        .await;
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].ends_with(" scready: discovery started"));
        assert!(lines[1].ends_with(&format!(" scready: discovery: {line}")));
        assert!(lines[3].ends_with(&format!(" scready: discovery done: {line}")));
        assert!(!text.contains('\r'));
    }
}
