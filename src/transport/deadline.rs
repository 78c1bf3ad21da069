//! A command's time limit as a future: it completes when the limit has passed
//! (with the limit), or never when there is none.

use std::time::Duration;

/// Completes after `limit`, returning it; never completes without a limit.
pub async fn expires(limit: Option<Duration>) -> Duration {
    match limit {
        Some(limit) => {
            tokio::time::sleep(limit).await;
            limit
        }
        None => std::future::pending().await,
    }
}
