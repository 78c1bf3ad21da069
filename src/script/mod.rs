//! The Rhai side: engine set-up, diagnostics, and the script-facing API.

pub mod api;
pub mod changes;
pub mod context;
pub mod diagnostics;
pub mod engine;
pub mod next_command;
pub mod reference;
pub mod registry;
pub mod run;
pub mod runbooks;
pub mod sources;
pub mod stdlib;
pub mod stdlib_docs;
pub mod step_prompt;
pub mod suggest;
