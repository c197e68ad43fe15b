//! Latchkey's database schema, as sea-orm migrations written in the SeaQuery DSL so one
//! tree serves SQLite and PostgreSQL alike. Never edit a migration once it has landed:
//! add a new one.
//!
//! Conventions: timestamps are Unix seconds in `BIGINT` columns (identical on both
//! backends, compared in SQL without time-zone surprises); lists are JSON text.

use sea_orm_migration::prelude::*;

mod m20261129_000001_create_users;
mod m20261129_000002_create_clients;
mod m20261129_000003_create_signing_keys;
mod m20261129_000004_create_refresh_tokens;
mod m20261129_000005_create_consents;
mod m20261129_000006_create_passkeys;
mod m20261129_000007_create_audit_events;
mod m20261129_000008_add_must_change_password;
mod m20261130_000009_create_revoked_grants;
mod m20261130_000010_add_signing_key_revoked_at;
mod m20261130_000011_add_client_require_pkce;
mod m20261130_000012_user_search_keys;
mod m20261130_000013_create_groups;
mod m20261130_000014_create_mfa;
mod m20261130_000015_add_client_require_mfa;
mod m20261201_000016_create_email_links;
mod m20261201_000017_create_api_resources;
mod m20261201_000018_add_client_require_par;
mod m20261201_000019_client_keys_and_registration;
mod m20261201_000020_create_initial_access_tokens;
mod m20261201_000021_add_family_dpop_jkt;
mod m20261201_000022_create_sign_in_hourly;
mod m20261201_000023_add_client_logo_uri;
mod m20261201_000024_create_upstreams;

pub use sea_orm_migration::MigratorTrait;

/// Every migration, in the order it is applied.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_create_users::Migration),
            Box::new(m20261129_000002_create_clients::Migration),
            Box::new(m20261129_000003_create_signing_keys::Migration),
            Box::new(m20261129_000004_create_refresh_tokens::Migration),
            Box::new(m20261129_000005_create_consents::Migration),
            Box::new(m20261129_000006_create_passkeys::Migration),
            Box::new(m20261129_000007_create_audit_events::Migration),
            Box::new(m20261129_000008_add_must_change_password::Migration),
            Box::new(m20261130_000009_create_revoked_grants::Migration),
            Box::new(m20261130_000010_add_signing_key_revoked_at::Migration),
            Box::new(m20261130_000011_add_client_require_pkce::Migration),
            Box::new(m20261130_000012_user_search_keys::Migration),
            Box::new(m20261130_000013_create_groups::Migration),
            Box::new(m20261130_000014_create_mfa::Migration),
            Box::new(m20261130_000015_add_client_require_mfa::Migration),
            Box::new(m20261201_000016_create_email_links::Migration),
            Box::new(m20261201_000017_create_api_resources::Migration),
            Box::new(m20261201_000018_add_client_require_par::Migration),
            Box::new(m20261201_000019_client_keys_and_registration::Migration),
            Box::new(m20261201_000020_create_initial_access_tokens::Migration),
            Box::new(m20261201_000021_add_family_dpop_jkt::Migration),
            Box::new(m20261201_000022_create_sign_in_hourly::Migration),
            Box::new(m20261201_000023_add_client_logo_uri::Migration),
            Box::new(m20261201_000024_create_upstreams::Migration),
        ]
    }
}

/// Creates a (non-unique unless `unique`) index named `{table}_{column}_idx`.
pub(crate) fn index(
    table: impl Iden + Clone + 'static,
    columns: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(format!("{}_{}_idx", table.to_string(), columns.join("_"))).table(table);
    for column in columns {
        index.col(Alias::new(*column));
    }
    if unique {
        index.unique();
    }
    index.to_owned()
}
