//! Latchkey, an OpenID Connect identity provider. A guided tour:

/// Command-line interface types (clap).
pub mod cli;
/// One module per CLI verb; thin shells over the domain.
pub mod commands;
/// Settings: defaults ← `config.toml` ← `LATCHKEY_*` environment.
pub mod config;
/// The identity-provider rules: users, clients, passwords, signing keys.
pub mod domain;
/// The HTTP edge: routes, handlers, pages, error mapping.
pub mod http;
/// Builds the running application (storage, keyring, server).
pub mod startup;
/// What request handlers share.
pub mod state;
/// Storage: the database and the ephemeral store.
pub mod store;
/// Logging setup.
pub mod telemetry;
