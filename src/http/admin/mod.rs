//! Administration: the JSON admin API under `/admin/api/` (documented by OpenAPI).

pub mod api;
