//! The `runbook` binary: parse arguments, call the library, render errors, exit.

use clap::Parser;
use std::io::IsTerminal;

fn main() {
    let cli = runbook::cli::Cli::parse();
    init_logging(cli.verbose);
    init_error_rendering();
    let code = match runbook::commands::execute(cli) {
        Ok(()) => runbook::exit::SUCCESS,
        Err(failure) => {
            eprintln!("{:?}", failure.report);
            failure.exit_code
        }
    };
    std::process::exit(code);
}

/// `-v` info, `-vv` debug, `-vvv` trace; `RUST_LOG` wins when set.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// Colour only on a terminal (and never with NO_COLOR); always unicode, so
/// the caret and frames look the same in a terminal and in a log.
fn init_error_rendering() {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .unicode(true)
                .terminal_links(false)
                .width(100)
                .build(),
        )
    }));
}
