//! The directory a stopped backup copies the kept member's data into, inside its data dir,
//! before renaming it to `member`: a `member` directory is only ever complete. The check
//! that etcd is stopped watches it too, for an interrupted run's copy still being written.

/// The name of that directory in the data dir.
pub const WORKING_COPY: &str = ".member.runbook-copy";
