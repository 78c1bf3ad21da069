//! Process exit codes, one meaning each.

/// The runbook (or command) finished successfully.
pub const SUCCESS: i32 = 0;
/// The runbook ran and failed: a primitive or the script raised an error.
pub const FAILED: i32 = 1;
/// Bad usage or bad input: arguments, inventory, script syntax.
pub const BAD_INPUT: i32 = 2;
/// Interrupted by Ctrl-C (SIGINT), as shells report 128 + 2.
pub const INTERRUPTED: i32 = 130;
