//! The `scready` command.

/// mimalloc: the evaluation makes millions of small allocations on every core, and glibc's
/// allocator spends a third of that time in its own locks and free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    scready::no_transparent_huge_pages();
    scready::no_library_backtraces();
    scready::cli::main()
}
