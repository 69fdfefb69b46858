//! The domain: the entity catalogue and records. No I/O, no database, no wire formats.
pub mod catalog;
pub mod record;
pub mod sharing;
pub mod time;
pub mod v11;

pub use catalog::{Entity, Kind, Version};
pub use record::{Record, Status, Value};
