//! scready: audits an Azure estate for Serial Console readiness.
//!
//! Data flows one way: credentials → ARM client → discovery → inventory → checks → findings →
//! report sinks. The simulator (`sim`) emulates the ARM endpoints the scanner reads.

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
pub mod policy;
pub mod probe;
pub mod progress;
pub mod rbac;
pub mod report;
pub mod result;
pub mod scan;
pub mod sim;

/// glibc gives every thread that allocates its own arena (up to 8 per core); after a scan's
/// many short-lived page buffers and parallel evaluation, the memory freed in them stays
/// scattered and counts against the process. Limiting glibc to two arenas keeps the peak
/// resident memory close to what the scan holds. Call it first thing in `main`, before any
/// other thread exists; elsewhere it does nothing.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator settings; callers run it before other threads.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns the allocator's free memory to the operating system (glibc's `malloc_trim`), so that
/// what one phase freed does not count against the next; elsewhere it does nothing.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages; it is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
