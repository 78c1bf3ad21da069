//! Keys and values as an operator reads and writes them: v3 ranges read in pages, puts and
//! deletes, v2 keys and directories, and each member's key count.

pub mod error;
pub mod key_counts;
pub mod range;
pub mod v2_read;
pub mod write;
