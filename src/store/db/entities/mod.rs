//! sea-orm entities, one per table the code reads or writes. Private to `store::db`.

pub mod api_resources;
pub mod audit_events;
pub mod clients;
pub mod consents;
pub mod email_links;
pub mod group_groups;
pub mod group_users;
pub mod groups;
pub mod initial_access_tokens;
pub mod passkeys;
pub mod recovery_codes;
pub mod refresh_token_families;
pub mod refresh_tokens;
pub mod revoked_grants;
pub mod sign_in_hourly;
pub mod signing_keys;
pub mod totp_factors;
pub mod upstream_links;
pub mod upstream_providers;
pub mod users;
