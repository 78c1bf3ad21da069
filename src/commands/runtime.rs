//! The process's tokio runtime and its Ctrl-C handling.

use crate::interrupt::Interrupt;

/// A multi-thread runtime, and the interrupt every Ctrl-C (SIGINT) cancels.
pub fn start() -> std::io::Result<(tokio::runtime::Runtime, Interrupt)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    crate::interrupt::count_sigints();
    let interrupt = Interrupt::new();
    let on_signal = interrupt.clone();
    runtime.spawn(async move {
        // Each Ctrl-C cancels the command running then (the REPL goes on to the next).
        while tokio::signal::ctrl_c().await.is_ok() {
            tracing::warn!("interrupted: stopping running commands");
            on_signal.cancel();
        }
    });
    Ok((runtime, interrupt))
}
