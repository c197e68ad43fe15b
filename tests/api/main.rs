//! Latchkey's integration tests: one binary, a module per area. Each test starts the real
//! application on a random port with its own database (SQLite file, or a PostgreSQL
//! database when LATCHKEY_TEST_DATABASE_URL is set) and its own Redis key prefix (when
//! LATCHKEY_TEST_REDIS_URL is set), and speaks HTTP to it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access_cache;
mod account;
mod admin_api;
mod admin_console;
mod api_resources_admin;
mod audit_surfaces;
mod backchannel;
mod bootstrap;
mod browser;
mod cli;
mod client_keys;
mod config;
mod consent;
mod dashboard;
mod device;
mod discovery;
mod dpop;
mod dynamic_registration;
mod email;
mod ephemeral;
mod flow;
mod groups;
mod hardening;
mod health;
mod helpers;
mod housekeeping;
mod https_server;
mod invitations;
mod keys;
mod login;
mod logs;
mod mailbox;
mod metadata_documents;
mod metrics;
mod mfa;
mod oidc_flow;
mod oidc_refusals;
mod outages;
mod par;
mod passkeys;
mod password_policy;
mod private_key_jwt;
mod resources;
mod setup;
mod soft_authenticator;
mod step_up;
mod token_endpoint;
mod upstream;
mod upstream_admin;
mod upstream_github;
mod upstream_refusals;
mod user_search;
