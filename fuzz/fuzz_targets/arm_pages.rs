//! ARM list pages: any bytes parse or fail cleanly, and every parsed item converts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scready::arm::models::{ManagementLock, Page, ScaleSetVm, StorageAccount, VirtualMachine};
use scready::discover::convert;

fuzz_target!(|data: &[u8]| {
    let bytes = scready::arm::sanitize::repair(data).unwrap_or_else(|| data.to_vec());
    if let Ok(page) = serde_json::from_slice::<Page<VirtualMachine>>(&bytes) {
        for vm in page.value.iter().filter_map(|v| v.get()) {
            let _ = convert::vm(vm, "00000000-0000-0000-0000-000000000000");
        }
    }
    if let Ok(page) = serde_json::from_slice::<Page<ScaleSetVm>>(&bytes) {
        for vm in page.value.iter().filter_map(|v| v.get()) {
            let _ = convert::scale_set_instance(vm, "s", "ss", "westeurope");
        }
    }
    if let Ok(page) = serde_json::from_slice::<Page<StorageAccount>>(&bytes) {
        for sa in page.value.iter().filter_map(|v| v.get()) {
            let _ = convert::storage(sa, "s");
        }
    }
    if let Ok(page) = serde_json::from_slice::<Page<ManagementLock>>(&bytes) {
        for l in page.value.iter().filter_map(|v| v.get()) {
            let _ = convert::lock(l);
        }
    }
});
