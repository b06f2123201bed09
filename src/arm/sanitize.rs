//! Repairs of JSON bodies that a strict parser rejects but that hold readable data: invalid
//! UTF-8 bytes and `\u` escapes of unpaired UTF-16 surrogates (which names or tags written by
//! other tools sometimes carry). Both become U+FFFD, so one odd character never drops a page.

/// A repaired copy of `body`, or `None` when there was nothing to repair.
pub fn repair(body: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(body);
    let mut changed = matches!(text, std::borrow::Cow::Owned(_));
    let fixed = fix_surrogates(&text, &mut changed);
    changed.then(|| fixed.into_bytes())
}

fn hex4(s: &[u8]) -> Option<u32> {
    if s.len() < 4 {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(&s[..4]).ok()?, 16).ok()
}

fn fix_surrogates(text: &str, changed: &mut bool) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            if b[i + 1] == b'u' {
                if let Some(cp) = hex4(&b[i + 2..]) {
                    let high = (0xD800..0xDC00).contains(&cp);
                    let low = (0xDC00..0xE000).contains(&cp);
                    let paired = high
                        && b.get(i + 6) == Some(&b'\\')
                        && b.get(i + 7) == Some(&b'u')
                        && hex4(&b[(i + 8).min(b.len())..])
                            .is_some_and(|n| (0xDC00..0xE000).contains(&n));
                    if paired {
                        i += 12;
                        continue;
                    }
                    if high || low {
                        out.push_str(&text[last..i]);
                        out.push_str("\\uFFFD");
                        i += 6;
                        last = i;
                        *changed = true;
                        continue;
                    }
                }
                i += 6;
                continue;
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &[u8]) -> serde_json::Value {
        let fixed = repair(body).unwrap_or_else(|| body.to_vec());
        serde_json::from_slice(&fixed).unwrap()
    }

    #[test]
    fn lone_surrogates_and_bad_bytes_become_replacement_characters() {
        assert!(serde_json::from_slice::<serde_json::Value>(br#"{"n":"a\ud800b"}"#).is_err());
        assert_eq!(parse(br#"{"n":"a\ud800b"}"#)["n"], "a\u{fffd}b");
        assert_eq!(parse(br#"{"n":"\udc80"}"#)["n"], "\u{fffd}");
        assert_eq!(parse(b"{\"n\":\"a\xffb\"}")["n"], "a\u{fffd}b");
        // A valid pair and ordinary escapes are untouched.
        assert_eq!(repair(br#"{"n":"\ud83d\ude00 \\u0041 \n"}"#), None);
        assert_eq!(parse(br#"{"n":"\ud83d\ude00"}"#)["n"], "\u{1f600}");
    }
}
