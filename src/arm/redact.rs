//! Secrets never leave in text taken from a response.
//!
//! A hostile or broken endpoint can echo what it was sent — the bearer token in an error code,
//! a client secret in a token-endpoint error — into text scready prints, logs or stores. Every
//! secret scready sends is remembered here, and every text taken from a response passes
//! [`clean`] before it is kept: the secrets are replaced by a marker and the text is cut to
//! [`MAX_RESPONSE_TEXT`] bytes.

use std::sync::Mutex;

/// What a secret is replaced with.
pub const MARKER: &str = "[redacted]";

/// The longest text kept from one response field (error code, message): the bound on every
/// string scready keeps from outside.
pub const MAX_RESPONSE_TEXT: usize = crate::text::MAX_TEXT_BYTES;

/// Shorter values are not secrets worth a search (and would redact ordinary words).
const MIN_SECRET_LEN: usize = 8;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers a secret scready sends (an access token, a client secret).
pub fn remember(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    let mut secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| s == secret) {
        // Tokens are renewed about hourly: a long scan remembers a handful.
        if secrets.len() >= 64 {
            secrets.remove(0);
        }
        secrets.push(secret.to_string());
    }
}

/// The text with every remembered secret replaced by [`MARKER`], cut to
/// [`MAX_RESPONSE_TEXT`] bytes with a note of what was cut ([`crate::text::bound`], the same
/// cut as every other string from outside, so a cut text is never cut again).
pub fn clean(text: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for s in secrets.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MARKER);
        }
    }
    drop(secrets);
    match crate::text::bound(&out) {
        std::borrow::Cow::Borrowed(_) => out,
        std::borrow::Cow::Owned(cut) => cut,
    }
}

/// `text` cut to at most `max` bytes (on a character boundary) with a marker saying how much
/// was cut.
pub fn truncate(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let dropped = text.len() - cut;
    text.truncate(cut);
    text.push_str(&crate::text::truncation_marker(dropped));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_secrets_are_replaced_and_long_text_is_cut() {
        remember("eyJ0eXAi.secret-token-value.sig");
        remember("short");
        let t = clean("code Bearer eyJ0eXAi.secret-token-value.sig here; short stays");
        assert_eq!(t, "code Bearer [redacted] here; short stays");
        let long = "é".repeat(5000);
        let cut = clean(&long);
        assert!(cut.len() < 4200, "{}", cut.len());
        assert!(cut.ends_with("bytes]"));
    }
}
