//! Storage: the durable database (`db`) and the ephemeral store (`ephemeral`). Nothing
//! here names HTTP or templates; queries return domain types.

pub mod db;
pub mod ephemeral;
