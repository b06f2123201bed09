//! The RBAC action matcher agrees with a plain recursive definition of `*` wildcards.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scready::rbac::action_matches;

fn reference(p: &[u8], t: &[u8]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some((b'*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
        Some((c, rest)) => t
            .split_first()
            .is_some_and(|(d, tail)| c.eq_ignore_ascii_case(d) && reference(rest, tail)),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some((pattern, action)) = text.split_once('\n') else {
        return;
    };
    if pattern.len() > 64 || action.len() > 64 || pattern.matches('*').count() > 6 {
        return; // keep the reference's backtracking cheap
    }
    assert_eq!(
        action_matches(pattern, action),
        reference(pattern.as_bytes(), action.as_bytes()),
        "{pattern:?} vs {action:?}"
    );
});
