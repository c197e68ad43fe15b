//! sea-orm entities, one per table the code reads or writes. Private to `store::db`.

pub mod clients;
pub mod signing_keys;
pub mod users;
