//! Ctrl-C for a run: a cancellation token per command, renewed between the REPL's
//! commands so that one interrupted command does not cancel the next.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use tokio_util::sync::CancellationToken;

/// SIGINTs received, counted in the signal handler itself: unlike the token, which a
/// task cancels a moment later, the count is up before anything else sees the signal.
static SIGINTS: AtomicU64 = AtomicU64::new(0);

/// Starts counting SIGINTs (once per process).
pub fn count_sigints() {
    static START: Once = Once::new();
    START.call_once(|| {
        // SAFETY: the action only increments an atomic, which is async-signal-safe.
        let registered = unsafe {
            signal_hook_registry::register(libc::SIGINT, || {
                SIGINTS.fetch_add(1, Ordering::SeqCst);
            })
        };
        if let Err(error) = registered {
            tracing::warn!("cannot count Ctrl-C: {error}");
        }
    });
}

/// How many SIGINTs this process has received.
pub fn sigints() -> u64 {
    SIGINTS.load(Ordering::SeqCst)
}

/// The current command's cancellation, shared by everything that runs it.
#[derive(Clone, Debug, Default)]
pub struct Interrupt {
    current: Arc<Mutex<CancellationToken>>,
}

impl Interrupt {
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    fn lock(&self) -> MutexGuard<'_, CancellationToken> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The token of the command running now; operations take it when they start.
    pub fn token(&self) -> CancellationToken {
        self.lock().clone()
    }

    pub fn is_cancelled(&self) -> bool {
        self.lock().is_cancelled()
    }

    /// Cancels the command running now (what Ctrl-C does).
    pub fn cancel(&self) {
        self.lock().cancel();
    }

    /// Starts afresh after an interrupted command: later commands get a new token.
    pub fn renew(&self) {
        let mut current = self.lock();
        if current.is_cancelled() {
            *current = CancellationToken::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renew_gives_later_commands_a_live_token() {
        let interrupt = Interrupt::new();
        let first = interrupt.token();
        interrupt.cancel();
        assert!(first.is_cancelled() && interrupt.is_cancelled());
        interrupt.renew();
        assert!(!interrupt.is_cancelled());
        assert!(
            first.is_cancelled(),
            "the interrupted command stays cancelled"
        );
        assert!(!interrupt.token().is_cancelled());
    }
}
