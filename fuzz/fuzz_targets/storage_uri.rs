//! Boot-diagnostics storage URIs: any string yields a host (or none) without panicking, and a
//! host's account name is its first label.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scready::discover::hosts::{account_name, blob_host};

fuzz_target!(|data: &[u8]| {
    let Ok(uri) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(host) = blob_host(uri) {
        assert_eq!(host, host.to_ascii_lowercase());
        if let Some(name) = account_name(&host) {
            assert!(host.starts_with(&name) && !name.contains('.'));
        }
    }
});
