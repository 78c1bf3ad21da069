//! Asking every member the same question at once, each answer bounded by a
//! timeout, and turning failures into one line of text for tables.

use futures_util::future::join_all;
use std::future::Future;
use std::time::Duration;

/// Runs `ask` for every item concurrently; answers come back in item order.
/// An answer that takes longer than `timeout` becomes `Err("timed out after ...")`.
pub async fn ask_each<'a, I, T, F, Fut>(
    items: &'a [I],
    timeout: Duration,
    ask: F,
) -> Vec<Result<T, String>>
where
    F: Fn(&'a I) -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    join_all(items.iter().map(|item| {
        let answer = ask(item);
        async move {
            match tokio::time::timeout(timeout, answer).await {
                Ok(result) => result,
                Err(_) => Err(format!(
                    "no answer within {}",
                    crate::duration::format_duration(timeout)
                )),
            }
        }
    }))
    .await
}

/// An error and its causes on one line ("cannot connect ...: transport error: refused"),
/// skipping a cause whose text the line already holds.
pub fn error_text(error: &dyn std::error::Error) -> String {
    with_causes(error.to_string(), error.source())
}

/// `text` followed by each cause's text it does not already hold.
fn with_causes(mut text: String, mut source: Option<&(dyn std::error::Error + 'static)>) -> String {
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// A v3 client error in a few words: for a gRPC status, its message and the
/// causes beneath it ("tcp connect error: Connection refused (os error 111)")
/// instead of the status's debug dump.
pub fn v3_error_text(error: &etcd_client::Error) -> String {
    let etcd_client::Error::GRpcStatus(status) = error else {
        return error_text(error);
    };
    let mut text = with_causes(
        status.message().to_string(),
        std::error::Error::source(status),
    );
    if text.is_empty() {
        text = format!("gRPC status {}", i32::from(status.code()));
    }
    text
}
