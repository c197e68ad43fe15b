//! Latchkey, an OpenID Connect identity provider. A guided tour:

/// Command-line interface types (clap).
pub mod cli;
/// One module per CLI verb; thin shells over the domain.
pub mod commands;
/// Settings: defaults ← `config.toml` ← `LATCHKEY_*` environment.
pub mod config;
/// The identity-provider rules: users, clients, sign-in, sessions, authorization, grants,
/// tokens, keys, passkeys, consent and the audit log; `domain::model` holds the plain records.
pub mod domain;
/// SSRF-safe fetching of documents clients name by URL (metadata documents, JWK Sets).
pub mod fetch;
/// The HTTP edge: routes, thin handlers, pages, and the mapping of domain errors to OAuth
/// JSON errors, HTML error pages and admin API errors.
pub mod http;
/// Outgoing mail over SMTP.
pub mod mail;
/// Prometheus metrics.
pub mod metrics;
/// Builds the running application (storage, keyring, server).
pub mod startup;
/// What request handlers share.
pub mod state;
/// Storage: the database and the ephemeral store; knows only `domain::model`.
pub mod store;
/// Logging setup.
pub mod telemetry;
