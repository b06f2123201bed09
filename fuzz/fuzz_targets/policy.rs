//! Policy files: any text is accepted or refused with an error naming a place, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scready::policy::Policy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut policy = Policy::builtin();
    if let Err(e) = policy.layer(text, "fuzz.toml") {
        assert_eq!(e.path, "fuzz.toml");
    }
});
