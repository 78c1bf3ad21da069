//! The `runbook` binary: parse arguments, call the library, render errors, exit.

use clap::Parser;

fn main() {
    let cli = runbook::cli::Cli::parse();
    let _ = cli;
    std::process::exit(runbook::exit::SUCCESS);
}
