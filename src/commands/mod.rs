//! What each subcommand does, between parsed arguments and the library.

pub mod check;
pub mod completions;
pub mod debug;
pub mod doc;
pub mod failure;
pub mod inventory;
pub mod journal_gate;
pub mod lab;
pub mod list;
pub mod repl;
pub mod run;
pub mod runtime;

pub use failure::Failure;

use crate::cli::{Cli, Command};
use crate::report::Reporter;

/// Runs the parsed command line.
pub fn execute(cli: Cli) -> Result<(), Failure> {
    let reporter = Reporter::new(cli.output);
    let outcome = dispatch(cli.command, &reporter);
    if let Err(failure) = &outcome {
        // A machine reader finds the error where it finds a result: on stdout.
        reporter.result("", failure.to_json());
    }
    outcome
}

fn dispatch(command: Command, reporter: &Reporter) -> Result<(), Failure> {
    let reporter = reporter.clone();
    match command {
        Command::Run(args) => run::run(args, reporter),
        Command::Check(args) => check::check(args, reporter),
        Command::Repl(args) => repl::repl(args, reporter),
        Command::Debug(args) => debug::debug(args, reporter),
        Command::Lab(command) => lab::lab(command, reporter),
        Command::Inventory(args) => inventory::print(args, &reporter),
        Command::Doc { name, markdown } => doc::print(name.as_deref(), markdown, &reporter),
        Command::List => {
            list::print(&reporter);
            Ok(())
        }
        Command::Completions { shell } => {
            completions::print(shell);
            Ok(())
        }
    }
}
