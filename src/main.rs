//! The `scready` command.

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    scready::cli::main()
}

/// glibc gives every thread that allocates its own arena (up to 8 per core); after a scan's
/// many short-lived page buffers and parallel evaluation, the memory freed in them stays
/// scattered and counts against the process. Two arenas keep the peak resident memory close
/// to what the scan actually holds, at no measurable cost in time.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only changes allocator settings; it runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
