//! Writing a command's stdin in the background and closing it, so a command that reads
//! slowly (or not at all) never blocks the wait for its exit.

use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Writes `data` (if any) to `stdin`, then closes it.
pub fn spawn<W: AsyncWrite + Unpin + Send + 'static>(stdin: Option<W>, data: Option<Vec<u8>>) {
    let Some(mut stdin) = stdin else {
        return;
    };
    // A command that does not read its stdin closes it early: not an error.
    tokio::spawn(async move {
        if let Some(data) = data {
            let _ = stdin.write_all(&data).await;
        }
        let _ = stdin.shutdown().await;
    });
}
