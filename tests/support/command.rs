//! Runs the `runbook` binary and checks what it printed (in progress).
