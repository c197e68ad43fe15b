//! Administration: the console at `/admin` and the JSON API under `/admin/api/`, over the
//! same domain operations as the CLI.

pub mod api;
pub mod console;
