//! The `enitrunk` command line: parse, run, report errors with their causes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = enitrunk::cli::Cli::parse();
    match enitrunk::cli::run(cli, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", enitrunk::report(&e));
            ExitCode::from(e.exit_code())
        }
    }
}
