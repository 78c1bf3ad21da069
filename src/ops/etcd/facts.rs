//! What a run has established about the cluster, which later guards rely on
//! (for example: the v3 key count last seen, the verified backups).

/// Facts gathered during one run.
#[derive(Debug, Default)]
pub struct RunFacts {}
