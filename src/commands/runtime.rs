//! The process's tokio runtime and its Ctrl-C handling.

use tokio_util::sync::CancellationToken;

/// A multi-thread runtime, and a token cancelled on the first Ctrl-C (SIGINT).
pub fn start() -> std::io::Result<(tokio::runtime::Runtime, CancellationToken)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::warn!("interrupted: stopping running commands");
            on_signal.cancel();
        }
    });
    Ok((runtime, cancel))
}
