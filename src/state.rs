//! What every request handler can reach: settings, storage and the keyring.

use std::sync::Arc;

use crate::config::Settings;
use crate::domain::access_cache::AccessCache;
use crate::domain::keys::Keyring;
use crate::domain::passwords::PasswordHasher;
use crate::store::db::Db;
use crate::store::ephemeral::EphemeralStore;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub ephemeral: EphemeralStore,
    pub keyring: Arc<Keyring>,
    pub passwords: PasswordHasher,
    /// For calls Latchkey makes itself (back-channel logout); short timeouts, no redirects.
    pub http: reqwest::Client,
    /// The WebAuthn relying party; `None` when passkeys are disabled.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    /// The key CSRF tokens are MACs under, derived from the master key.
    pub csrf_key: aws_lc_rs::hmac::Key,
    /// What access-token checks read from the database, while nothing changed.
    pub access_cache: Arc<AccessCache>,
    /// Outgoing mail; `None` without `smtp.url`.
    pub mailer: Option<crate::mail::Mailer>,
    /// Documents clients name by URL: metadata documents, `jwks_uri`.
    pub fetcher: Arc<crate::fetch::Fetcher>,
    /// Counters and histograms for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// `ui.*`, read once: site name, logo, theme.
    pub branding: Arc<crate::http::branding::Branding>,
    /// Calls to upstream identity providers, with their discovery and key caches.
    pub upstreams: Arc<crate::domain::upstream::protocol::Upstreams>,
}
