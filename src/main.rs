use std::process::ExitCode;

fn main() -> ExitCode {
    banso::cli::main()
}
