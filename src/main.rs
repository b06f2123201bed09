//! The `scready` command.

fn main() -> std::process::ExitCode {
    scready::limit_malloc_arenas();
    scready::cli::main()
}
