//! The `scready` command.

fn main() -> std::process::ExitCode {
    scready::cli::main()
}
