//! `runbook completions SHELL`: shell completion scripts generated from the CLI definition.

use clap::CommandFactory;

pub fn print(shell: clap_complete::Shell) {
    let mut command = crate::cli::Cli::command();
    clap_complete::generate(shell, &mut command, "runbook", &mut std::io::stdout());
}
