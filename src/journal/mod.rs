//! The step journal: an append-only JSON-lines record on the control machine of
//! every run and step of a runbook, so an interrupted run can be resumed and
//! every run leaves an audit trail.

pub mod event;
pub mod file;
pub mod history;
pub mod location;
pub mod steps;

pub use event::{Event, EventKind};
pub use file::{Journal, JournalError};
pub use history::{History, LastRun};
pub use steps::{Decision, Steps};
