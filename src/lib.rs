//! scready: audits an Azure estate for Serial Console readiness.
//!
//! Data flows one way: credentials → ARM client → discovery → inventory → checks → findings →
//! report sinks. The ARM simulator is a separate package (`scready-sim`) that shares no code with
//! the scanner; only the command-line layer ([`cli`]) starts it, for `scready sim` and
//! `scready demo`, and only with the default feature `sim`.

#![warn(missing_docs)]

pub mod arm;
pub mod auth;
pub mod browser;
pub mod checks;
pub mod cli;
pub mod cloud;
pub mod config_file;
pub mod discover;
pub mod findings;
pub mod history;
pub mod inventory;
pub mod merge;
pub mod plan;
pub mod policy;
pub mod probe;
pub mod progress;
pub mod rbac;
pub mod remediation;
pub mod report;
pub mod result;
pub mod scan;
pub mod text;

/// Turns transparent huge pages off for this process (Linux). mimalloc asks for huge pages on
/// its arenas, and the kernel then zeroes 2 MiB wherever a scan first touches a page buffer it
/// freed and took back: at 100,000 instances that cost a fifth of a second of system time and
/// 60 MB of peak RSS (measured in `bench/README.md`). Later allocations get ordinary pages.
pub fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of the calling process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Turns off the backtraces that libraries capture into their error values (`RUST_LIB_BACKTRACE=0`)
/// unless the variable is set: with `RUST_BACKTRACE=1`, the Azure SDK's error type captures one
/// for every expected 404 of a scan, about 0.1 ms each, and scready shows none of them. Panics
/// still print theirs. Call it first in `main`, before any thread starts.
pub fn no_library_backtraces() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // At the start of `main`, before any other thread reads the environment.
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
}

/// Returns mimalloc's free memory to the operating system, so that what one phase freed does
/// not count against the next (mimalloc would otherwise keep it for a second); with another
/// global allocator it changes nothing. mimalloc is the allocator of the `scready` binary and
/// of the evaluation bench.
pub fn release_free_memory() {
    // SAFETY: mi_collect only frees memory mimalloc no longer uses; safe from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) };
}
