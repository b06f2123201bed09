//! Text from outside (Azure data, user files, the history database) made safe to show and to
//! keep: control characters escaped before they reach a terminal, and strings bounded before
//! they reach a report.
//!
//! **Terminal.** [`display_safe`] turns every character that a terminal or a text viewer would
//! act on instead of showing into a visible escape: C0 controls (`\n`, `\t`, `\r` and `\x1b` …),
//! DEL, C1 controls (`\u{9b}` …), the Unicode bidirectional controls (U+061C, U+200E, U+200F,
//! U+202A–U+202E, U+2066–U+2069: an RTL override can make `exe.pdf` read as `fdp.exe`) and the
//! line and paragraph separators U+2028 and U+2029. A value shown on one line stays on one
//! line: a name cannot clear the screen, retitle the window, plant an OSC 8 link or forge a line
//! of a diff. [`display_safe_text`] does the same for a whole text that has lines of its own,
//! keeping its newlines and tabs. Backslashes are kept as they are, so an escape and the same
//! characters typed literally look alike; what the terminal receives is inert either way.
//!
//! **Reports.** [`bound`] cuts a string longer than [`MAX_TEXT_BYTES`] and marks the cut
//! (`…[truncated 1,044,480 bytes]`). The inventory applies it to every string it holds before
//! anything is evaluated or written (see [`crate::inventory::Inventory::bound_text`]), so every
//! report and the history carry the same bounded text.

use std::borrow::Cow;
use std::io::Write;

/// The longest string kept from outside, in bytes (names, tags, messages: Azure's own limits are
/// far below it — 90 characters for a resource group, 256 for a tag value).
pub const MAX_TEXT_BYTES: usize = 4096;

/// Bytes kept of a string that is cut: the marker fits in what is left, so a bounded string is
/// never cut again.
const KEPT_BYTES: usize = MAX_TEXT_BYTES - 64;

/// True for a character that is not a control character but changes how the text around it is
/// laid out: the Unicode bidirectional controls and the line and paragraph separators. Reports
/// (HTML, Markdown) show them as visible escapes too.
pub fn is_layout_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// The visible escape of a character, `\u{202e}`.
pub fn unicode_escape(c: char) -> String {
    format!("\\u{{{:x}}}", c as u32)
}

/// True for a character that a terminal acts on (or a text viewer reorders by) instead of
/// showing it.
fn is_unsafe(c: char) -> bool {
    c.is_control() || is_layout_control(c)
}

fn escape(c: char, out: &mut String) {
    use std::fmt::Write as _;
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

fn escaped(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_unsafe(c) && !keep(c);
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if unsafe_char(c) {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A value made safe to show on one line of a terminal: every control character (newlines and
/// tabs too), DEL, C1 control and bidirectional control is written as a visible escape (`\x1b`,
/// `\n`, `\u{202e}`).
pub fn display_safe(s: &str) -> Cow<'_, str> {
    escaped(s, |_| false)
}

/// A whole text (lines of output) made safe for a terminal: as [`display_safe`], but its
/// newlines and tabs are kept.
pub fn display_safe_text(s: &str) -> Cow<'_, str> {
    escaped(s, |c| c == '\n' || c == '\t')
}

/// Prints a text on stdout through [`display_safe_text`].
pub fn print_safe(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(display_safe_text(s).as_bytes());
    let _ = out.flush();
}

/// Prints a text on stderr through [`display_safe_text`].
pub fn eprint_safe(s: &str) {
    let _ = std::io::stderr().write_all(display_safe_text(s).as_bytes());
}

/// `1234567` → `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// The marker that ends a cut string.
pub fn truncation_marker(removed: usize) -> String {
    format!("…[truncated {} bytes]", thousands(removed))
}

/// A string bounded to [`MAX_TEXT_BYTES`]: a longer one keeps its first 4,032 bytes (cut at a
/// character boundary) followed by `…[truncated N bytes]`, N being the bytes removed.
pub fn bound(s: &str) -> Cow<'_, str> {
    if s.len() <= MAX_TEXT_BYTES {
        return Cow::Borrowed(s);
    }
    let mut cut = KEPT_BYTES;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = String::with_capacity(cut + 40);
    out.push_str(&s[..cut]);
    out.push_str(&truncation_marker(s.len() - cut));
    Cow::Owned(out)
}

/// Bounds a string in place (see [`bound`]).
pub fn bound_in_place(s: &mut String) {
    if s.len() > MAX_TEXT_BYTES {
        *s = bound(s).into_owned();
    }
}

/// A writer for log lines: each write (one formatted event) is passed through
/// [`display_safe`], except for its final newline, so that one event stays one inert line.
pub struct SafeLines<W: Write>(pub W);

impl<W: Write> Write for SafeLines<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, end) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (&*text, ""),
        };
        let safe = display_safe(body);
        let unchanged = matches!(safe, Cow::Borrowed(_)) && matches!(text, Cow::Borrowed(_));
        if unchanged {
            self.0.write_all(buf)?;
        } else {
            let mut line = safe.into_owned();
            line.push_str(end);
            self.0.write_all(line.as_bytes())?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_become_visible_escapes() {
        assert_eq!(display_safe("vm-01"), "vm-01");
        assert!(matches!(display_safe("vm-01"), Cow::Borrowed(_)));
        assert_eq!(
            display_safe("a\u{1b}]0;title\u{7}b\r\nc\td\u{7f}\u{9b}"),
            "a\\x1b]0;title\\x07b\\r\\nc\\td\\x7f\\u{9b}"
        );
        assert_eq!(
            display_safe("invoice\u{202e}fdp.exe\u{2066}x\u{2069}"),
            "invoice\\u{202e}fdp.exe\\u{2066}x\\u{2069}"
        );
        assert_eq!(display_safe("über\u{2028}"), "über\\u{2028}");
        assert_eq!(
            display_safe_text("line 1\n\tline 2 \u{1b}[2J\n"),
            "line 1\n\tline 2 \\x1b[2J\n"
        );
    }

    #[test]
    fn long_strings_are_cut_once_with_a_marker() {
        assert_eq!(bound("short"), "short");
        let exact = "x".repeat(MAX_TEXT_BYTES);
        assert_eq!(bound(&exact), exact);
        let long = "é".repeat(600_000);
        let cut = bound(&long);
        assert!(cut.len() <= MAX_TEXT_BYTES, "{}", cut.len());
        assert!(cut.ends_with("…[truncated 1,195,968 bytes]"), "{cut}");
        assert!(cut.starts_with("éé"));
        assert!(
            matches!(bound(&cut), Cow::Borrowed(_)),
            "a cut string stays"
        );
        let mut s = long.clone();
        bound_in_place(&mut s);
        assert_eq!(s, cut);
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(99_999_000), "99,999,000");
    }

    #[test]
    fn log_lines_stay_one_line() {
        let mut out = Vec::new();
        {
            let mut w = SafeLines(&mut out);
            w.write_all(b"WARN gap: code=\x1b[31mred\nforged line\n")
                .unwrap();
            w.write_all(b"plain\n").unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "WARN gap: code=\\x1b[31mred\\nforged line\nplain\n"
        );
    }
}
