//! The `grape` binary: everything lives in the library (`grape::run`).

fn main() -> std::process::ExitCode {
    grape::run()
}
