//! Settings: defaults, then `config.toml` (or `--config`), then `LATCHKEY_*` environment
//! variables with nested keys joined by `__` (`LATCHKEY_SERVER__BIND`). Loaded once at start
//! and passed by value; values derived from them (the issuer's origin, the JWKS URL) are
//! computed once here too.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

/// Every setting Latchkey reads. `config.toml` at the repository root documents each key.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The issuer identifier (OIDC Core §2): `iss` in every token, byte for byte.
    pub issuer: String,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub memory_store: MemoryStoreSettings,
    pub keys: KeySettings,
    pub tokens: TokenSettings,
    pub sessions: SessionSettings,
    pub passkeys: PasskeySettings,
    pub lockout: LockoutSettings,
    pub account: AccountSettings,
    pub mfa: MfaSettings,
    pub smtp: SmtpSettings,
    pub email: EmailSettings,
    pub registration: RegistrationSettings,
    pub clients: ClientSettings,
    pub oidc: OidcSettings,
    pub device: DeviceSettings,
    pub rate_limits: RateLimitSettings,
    pub bootstrap: BootstrapSettings,
    pub passwords: PasswordSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    pub ui: UiSettings,
    pub upstream: UpstreamSettings,
}

/// Calls to upstream identity providers ("Continue with …").
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct UpstreamSettings {
    /// How long one call to an upstream (discovery, keys, token, user info) may take before
    /// the browser is told the upstream is not answering.
    pub timeout_secs: u64,
    /// How long a fetched discovery document is used before it is fetched again.
    pub discovery_ttl_secs: u64,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        UpstreamSettings { timeout_secs: 10, discovery_ttl_secs: 3600 }
    }
}

/// `/metrics`: served on `server.metrics_bind` (its own address, no token), and on the main
/// address only with a bearer token read from `token_file`. Both unset: not served.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct MetricsSettings {
    pub token_file: String,
}

/// Branding of the pages users see (login, consent, account) and of the mails.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct UiSettings {
    /// Shown in titles, headings and mails instead of "Latchkey".
    pub site_name: String,
    /// An https (or site-relative) URL of a logo image.
    pub logo_url: String,
    /// A logo image file (PNG, SVG, JPEG or WebP, at most 512 KiB) served at `/branding/logo`;
    /// wins over `logo_url`.
    pub logo_file: String,
    /// The colour of buttons and links: `#rgb` or `#rrggbb`.
    pub accent_color: String,
    /// A stylesheet added after Latchkey's own, served at `/branding/custom.css`.
    pub custom_css_file: String,
}

impl UiSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        let name = self.site_name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(ConfigError::new("ui.site_name", "must be 1 to 64 characters"));
        }
        let hex = self.accent_color.strip_prefix('#').unwrap_or("-");
        let is_colour = matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit());
        if !self.accent_color.is_empty() && !is_colour {
            return Err(ConfigError::new("ui.accent_color", "must be #rgb or #rrggbb"));
        }
        let url_ok = self.logo_url.is_empty()
            || (self.logo_url.starts_with('/') && !self.logo_url.starts_with("//"))
            || Url::parse(&self.logo_url).is_ok_and(|url| url.scheme() == "https");
        if !url_ok || self.logo_url.contains(['"', '<', '>', ' ']) {
            return Err(ConfigError::new("ui.logo_url", "must be an https URL or a path on this server"));
        }
        for (key, file) in [("ui.logo_file", &self.logo_file), ("ui.custom_css_file", &self.custom_css_file)] {
            if !file.is_empty() && !Path::new(file).is_file() {
                return Err(ConfigError::new(key, format!("{file} is not a readable file")));
            }
        }
        Ok(())
    }
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            site_name: "Latchkey".into(),
            logo_url: String::new(),
            logo_file: String::new(),
            accent_color: String::new(),
            custom_css_file: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Address and port to listen on.
    pub bind: SocketAddr,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Reverse proxies (CIDR blocks) whose `X-Forwarded-For` is believed. Empty: forwarded
    /// headers are ignored and the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// A second address serving only `/metrics`, without a token (keep it private). Unset:
    /// no such listener.
    pub metrics_bind: Option<SocketAddr>,
}

impl ServerSettings {
    /// The client's address: the TCP peer, unless the peer is a trusted proxy; then the
    /// right-most `X-Forwarded-For` entry that is not a trusted proxy (entries further left
    /// were written by the client and could say anything).
    pub fn client_address(&self, peer: std::net::IpAddr, forwarded_for: Option<&str>) -> std::net::IpAddr {
        let trusted = |ip: &std::net::IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let chain = forwarded_for.unwrap_or_default().split(',').map(str::trim).filter(|hop| !hop.is_empty());
        let mut client = peer;
        for hop in chain.collect::<Vec<_>>().into_iter().rev() {
            let Ok(ip) = hop.parse::<std::net::IpAddr>() else { break };
            client = ip;
            if !trusted(&ip) {
                break;
            }
        }
        client
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc` or `postgres://user@host/db`.
    #[serde(serialize_with = "expose_secret")]
    pub url: SecretString,
    pub max_connections: u32,
    /// SQLite only: when a commit reaches the disk (see [`SqliteSync`]).
    pub sqlite_synchronous: SqliteSync,
}

/// When an SQLite commit is made durable.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    /// Every commit is on disk before it is answered (an fsync per write).
    Full,
    /// Commits reach the disk at WAL checkpoints: a crash of Latchkey loses nothing, a
    /// power loss may lose the last commits (a revocation among them); several times
    /// the write throughput.
    Normal,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct RedisSettings {
    /// `redis://host:port/db`; empty means the in-process store.
    #[serde(deserialize_with = "empty_as_none", serialize_with = "expose_optional_secret")]
    pub url: Option<SecretString>,
    /// Prefix of every key Latchkey writes, so several deployments can share one Redis.
    pub key_prefix: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct MemoryStoreSettings {
    /// Most entries the in-process store holds; the soonest to expire are evicted first.
    pub max_entries: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct KeySettings {
    /// Folder for `master.key` (created with mode 0600 on first start).
    pub dir: PathBuf,
    /// The master key itself, base64 of 32 bytes; when set, `dir/master.key` is not read.
    #[serde(deserialize_with = "empty_as_none", serialize_with = "expose_optional_secret")]
    pub master_key: Option<SecretString>,
    /// RSA modulus size of new signing keys: 2048, 3072 or 4096.
    pub rsa_bits: usize,
    /// How long a key signs before the next one takes over.
    pub rotation_period_secs: u64,
    /// How long a new key is published in the JWKS before it signs, so relying parties
    /// that cache the JWKS already know it when the first token signed with it arrives.
    pub publish_lead_secs: u64,
    /// How often each instance re-reads the key set from the database (rotations made by
    /// another instance or the CLI show up within this time).
    pub refresh_interval_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct TokenSettings {
    pub access_token_ttl_secs: u64,
    pub id_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// Authorization code lifetime; at most 60 s.
    pub authorization_code_ttl_secs: u64,
    /// Give first-party clients a refresh token even without the `offline_access` scope.
    pub first_party_refresh_without_offline_access: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct SessionSettings {
    /// How long a browser session lasts after sign-in.
    pub ttl_secs: u64,
    /// How long a started sign-in (an authorization request waiting for login or consent) lasts.
    pub login_timeout_secs: u64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct BootstrapSettings {
    /// A TOML file declaring an admin and clients, applied at every start; empty: none.
    pub file: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct LockoutSettings {
    /// Wrong passwords in a row (within `lock_secs`) that lock an account; 0 turns locking off.
    pub max_failed_attempts: u64,
    /// How long a locked account stays locked, unless an admin unlocks it sooner.
    pub lock_secs: u64,
    /// Password attempts one IP address may make per minute, over all accounts (guessing
    /// one password against many users); 0 turns the limit off.
    pub attempts_per_ip_per_minute: u64,
}

/// Requests one source address may make per minute; 0 turns a limit off.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct RateLimitSettings {
    pub authorize_per_minute: u64,
    pub passkey_start_per_minute: u64,
    pub failed_client_auth_per_minute: u64,
    pub account_per_minute: u64,
    /// Dynamic client registrations (`POST /register`).
    pub client_registration_per_minute: u64,
    /// User codes looked up at `/device`.
    pub device_user_code_per_minute: u64,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            authorize_per_minute: 300,
            passkey_start_per_minute: 60,
            failed_client_auth_per_minute: 30,
            account_per_minute: 60,
            client_registration_per_minute: 10,
            device_user_code_per_minute: 20,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ClientSettings {
    /// Accept `http://` redirect URIs to hosts other than loopback ones (RFC 8252 allows
    /// only loopback). For development setups that cannot use https.
    pub allow_insecure_redirects: bool,
    /// Dynamic client registration (RFC 7591) at `/register`.
    pub registration: RegistrationMode,
    /// Client ID Metadata Documents: an https `client_id` is fetched as the registration.
    pub metadata_documents: MetadataDocumentSettings,
}

/// Who may register a client at `/register`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationMode {
    /// Anyone (rate-limited).
    Open,
    /// Holders of an initial access token an admin issued.
    #[default]
    Token,
    /// Nobody: `/register` is refused.
    Off,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct MetadataDocumentSettings {
    pub enabled: bool,
    /// Fetch documents from private, loopback and link-local addresses too. Tests only.
    pub allow_private_addresses: bool,
    /// A PEM file of extra roots trusted for the fetch. Tests only.
    pub extra_root_certificates: String,
}

impl Default for MetadataDocumentSettings {
    fn default() -> Self {
        MetadataDocumentSettings {
            enabled: true,
            allow_private_addresses: false,
            extra_root_certificates: String::new(),
        }
    }
}

/// The device authorization grant (RFC 8628).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct DeviceSettings {
    /// How long a device code and its user code stay valid.
    pub code_ttl_secs: u64,
    /// The least time between two polls of the token endpoint.
    pub poll_interval_secs: u64,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        DeviceSettings { code_ttl_secs: 600, poll_interval_secs: 5 }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct OidcSettings {
    /// Require PKCE of every client, confidential ones included (RFC 9700 §2.1.1). Off by
    /// default: the OpenID Foundation's Basic OP tests run a confidential client's code
    /// flow without PKCE. Public clients always need it; a client can require it alone.
    pub require_pkce_for_all_clients: bool,
    /// Accept only pushed authorization requests (RFC 9126) from every client; a client
    /// can require them alone.
    pub require_pushed_authorization_requests: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AccountSettings {
    /// How recent a sign-in must be for a sensitive account action (adding or deleting a
    /// passkey); older sessions sign in again first.
    pub reauth_max_age_secs: u64,
}

impl Default for AccountSettings {
    fn default() -> Self {
        AccountSettings { reauth_max_age_secs: 300 }
    }
}

/// When a sign-in must be multi-factor (a password and a code, or a passkey), beyond what a
/// client asks for (`acr_values`) or requires (its "require MFA" policy).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct MfaSettings {
    /// The admin console and the admin API need a multi-factor session (or token).
    pub required_for_admins: bool,
    /// Every sign-in must be multi-factor: users without a second factor set one up at
    /// their next sign-in.
    pub enforce_for_all: bool,
}

/// Outgoing mail. Without `url`, nothing is mailed: the pages do not offer what needs
/// mail, and the CLI and console show links for the admin to pass on.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct SmtpSettings {
    /// `smtp://host:25` (plain, or STARTTLS with `?tls=required`), `smtps://host:465`
    /// (TLS); empty: no mail.
    pub url: String,
    /// The sender, e.g. `Latchkey <login@example.com>`.
    pub from: String,
    /// The SMTP user, if the server wants one; its password comes from `password_file` or
    /// the `LATCHKEY_SMTP_PASSWORD` environment variable, never from this file.
    pub username: String,
    pub password_file: String,
    /// Seconds one delivery attempt may take.
    pub timeout_secs: u64,
    /// Attempts per message before it is given up (and audited as `mail_failed`).
    pub max_attempts: u32,
    /// Milliseconds before the second attempt; each later wait is four times longer.
    pub retry_delay_ms: u64,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            url: String::new(),
            from: "Latchkey <latchkey@localhost>".into(),
            username: String::new(),
            password_file: String::new(),
            timeout_secs: 10,
            max_attempts: 3,
            retry_delay_ms: 2_000,
        }
    }
}

impl SmtpSettings {
    pub fn enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }
}

/// What Latchkey mails, and how long its links live.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct EmailSettings {
    /// How long a verification or password-reset link works.
    pub link_ttl_secs: u64,
    /// How long an invitation works.
    pub invite_ttl_secs: u64,
    /// Password-reset mails one account may be sent per hour.
    pub resets_per_account_per_hour: u64,
    pub notices: NoticeSettings,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            link_ttl_secs: 24 * 3600,
            invite_ttl_secs: 7 * 24 * 3600,
            resets_per_account_per_hour: 3,
            notices: NoticeSettings::default(),
        }
    }
}

/// Self-registration at `/register` (needs mail: an account works once its address is
/// verified).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RegistrationSettings {
    pub enabled: bool,
    /// Only addresses at these domains may register (`example.com`); empty: any.
    pub allowed_email_domains: Vec<String>,
}

/// Security notices mailed to a user's verified address; each can be turned off.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct NoticeSettings {
    pub password_changed: bool,
    pub factor_changed: bool,
    pub account_locked: bool,
}

impl Default for NoticeSettings {
    fn default() -> Self {
        NoticeSettings { password_changed: true, factor_changed: true, account_locked: true }
    }
}

impl Default for MfaSettings {
    fn default() -> Self {
        MfaSettings { required_for_admins: true, enforce_for_all: false }
    }
}

impl Default for LockoutSettings {
    fn default() -> Self {
        LockoutSettings { max_failed_attempts: 5, lock_secs: 900, attempts_per_ip_per_minute: 30 }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct PasskeySettings {
    /// Offer passkey registration and sign-in.
    pub enabled: bool,
    /// WebAuthn relying-party id; empty means the issuer's host. Must be a host name, not an IP.
    pub rp_id: String,
    /// The origin browsers show; empty means the issuer's origin. Set it behind a proxy
    /// that changes scheme, host or port.
    pub origin: String,
    /// The name authenticators show for this site.
    pub rp_name: String,
}

impl Default for PasskeySettings {
    fn default() -> Self {
        PasskeySettings { enabled: true, rp_id: String::new(), origin: String::new(), rp_name: "Latchkey".into() }
    }
}

impl Settings {
    /// The WebAuthn relying-party id and origin, from configuration or the issuer.
    pub fn passkey_rp(&self) -> Result<(String, Url), ConfigError> {
        let issuer = Url::parse(&self.issuer).map_err(|e| ConfigError::new("issuer", e.to_string()))?;
        let origin = if self.passkeys.origin.is_empty() {
            Url::parse(&issuer.origin().ascii_serialization()).map_err(|e| ConfigError::new("issuer", e.to_string()))?
        } else {
            Url::parse(&self.passkeys.origin).map_err(|e| ConfigError::new("passkeys.origin", e.to_string()))?
        };
        let rp_id = if self.passkeys.rp_id.is_empty() {
            match issuer.host() {
                Some(url::Host::Domain(host)) => host.to_string(),
                _ => {
                    return Err(ConfigError::new(
                        "issuer",
                        "passkeys need a host name, not an IP address (WebAuthn forbids IP relying-party ids); set passkeys.rp_id, or passkeys.enabled = false",
                    ));
                }
            }
        } else {
            self.passkeys.rp_id.clone()
        };
        if rp_id.parse::<std::net::IpAddr>().is_ok() {
            return Err(ConfigError::new("passkeys.rp_id", "must be a host name, not an IP address"));
        }
        Ok((rp_id, origin))
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct PasswordSettings {
    /// argon2id memory cost in KiB (OWASP: 19456).
    pub memory_kib: u32,
    /// argon2id passes (OWASP: 2).
    pub iterations: u32,
    /// argon2id lanes (OWASP: 1).
    pub parallelism: u32,
    /// The fewest characters a new password may have (at most 128 are accepted).
    pub min_length: usize,
    /// The lowest zxcvbn strength score (0–4) a new password may have; common and breached
    /// passwords, and ones built from the user's own name, score low.
    pub min_strength: u8,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct LogSettings {
    /// `text` (human-readable) or `json`.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `latchkey=debug,info`; `RUST_LOG` wins when set.
    pub level: String,
    /// One line per HTTP request (method, path with harmless query parameters, status,
    /// time). Off: only what the application itself logs.
    pub access: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            issuer: "http://localhost:8080".into(),
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            redis: RedisSettings::default(),
            memory_store: MemoryStoreSettings::default(),
            keys: KeySettings::default(),
            tokens: TokenSettings::default(),
            sessions: SessionSettings::default(),
            passkeys: PasskeySettings::default(),
            lockout: LockoutSettings::default(),
            account: AccountSettings::default(),
            mfa: MfaSettings::default(),
            smtp: SmtpSettings::default(),
            email: EmailSettings::default(),
            registration: RegistrationSettings::default(),
            clients: ClientSettings::default(),
            oidc: OidcSettings::default(),
            device: DeviceSettings::default(),
            rate_limits: RateLimitSettings::default(),
            bootstrap: BootstrapSettings::default(),
            passwords: PasswordSettings::default(),
            log: LogSettings::default(),
            metrics: MetricsSettings::default(),
            upstream: UpstreamSettings::default(),
            ui: UiSettings::default(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: 0,
            trusted_proxies: Vec::new(),
            metrics_bind: None,
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: "sqlite://data/latchkey.db?mode=rwc".into(),
            max_connections: 10,
            sqlite_synchronous: SqliteSync::Full,
        }
    }
}

impl Default for RedisSettings {
    fn default() -> Self {
        RedisSettings { url: None, key_prefix: "latchkey:".into() }
    }
}

impl Default for MemoryStoreSettings {
    fn default() -> Self {
        MemoryStoreSettings { max_entries: 100_000 }
    }
}

impl Default for KeySettings {
    fn default() -> Self {
        KeySettings {
            dir: PathBuf::from("keys"),
            master_key: None,
            rsa_bits: 2048,
            rotation_period_secs: 30 * 24 * 3600,
            publish_lead_secs: 3600,
            refresh_interval_secs: 30,
        }
    }
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            access_token_ttl_secs: 600,
            id_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            authorization_code_ttl_secs: 60,
            first_party_refresh_without_offline_access: false,
        }
    }
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings { ttl_secs: 8 * 3600, login_timeout_secs: 600 }
    }
}

impl Default for PasswordSettings {
    fn default() -> Self {
        PasswordSettings { memory_kib: 19456, iterations: 2, parallelism: 1, min_length: 10, min_strength: 3 }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings { format: LogFormat::Text, level: "info".into(), access: true }
    }
}

/// A configuration problem: names the key and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {key}: {problem}")]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

impl ConfigError {
    fn new(key: &str, problem: impl Into<String>) -> Self {
        ConfigError { key: key.into(), problem: problem.into() }
    }
}

impl Settings {
    /// Loads defaults ← `path` ← environment. A missing file is fine unless `required`
    /// (the user named it with `--config`).
    pub fn load(path: &Path, required: bool) -> Result<Settings, ConfigError> {
        if required && !path.is_file() {
            return Err(ConfigError::new("--config", format!("{} does not exist", path.display())));
        }
        let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(path))
            .merge(Env::prefixed("LATCHKEY_").split("__"))
            .extract()
            .map_err(|error| {
                let key = if error.path.is_empty() { "config".to_string() } else { error.path.join(".") };
                ConfigError::new(&key, one_line(&error.kind.to_string()))
            })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let issuer =
            Url::parse(&self.issuer).map_err(|e| ConfigError::new("issuer", format!("not an absolute URL ({e})")))?;
        if !matches!(issuer.scheme(), "http" | "https") {
            return Err(ConfigError::new("issuer", "must be an http or https URL"));
        }
        if issuer.query().is_some() || issuer.fragment().is_some() || self.issuer.ends_with('/') {
            return Err(ConfigError::new(
                "issuer",
                "must not end with '/' or carry a query or fragment (OIDC Discovery §3)",
            ));
        }
        let url = secrecy::ExposeSecret::expose_secret(&self.database.url);
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::new("database.url", "must start with sqlite:, postgres:// or postgresql://"));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::new("database.max_connections", "must be at least 1"));
        }
        if let Some(url) = &self.redis.url
            && Url::parse(secrecy::ExposeSecret::expose_secret(url)).is_err()
        {
            return Err(ConfigError::new("redis.url", "not a redis:// URL"));
        }
        if !(10..=3600).contains(&self.device.code_ttl_secs) {
            return Err(ConfigError::new("device.code_ttl_secs", "must be between 10 and 3600 seconds"));
        }
        if !(1..=60).contains(&self.device.poll_interval_secs) {
            return Err(ConfigError::new("device.poll_interval_secs", "must be between 1 and 60 seconds"));
        }
        if self.memory_store.max_entries == 0 {
            return Err(ConfigError::new("memory_store.max_entries", "must be at least 1"));
        }
        if ![2048, 3072, 4096].contains(&self.keys.rsa_bits) {
            return Err(ConfigError::new("keys.rsa_bits", "must be 2048, 3072 or 4096"));
        }
        if self.keys.rotation_period_secs == 0 || self.keys.refresh_interval_secs == 0 {
            return Err(ConfigError::new("keys.rotation_period_secs", "periods must be at least 1 second"));
        }
        if self.keys.publish_lead_secs >= self.keys.rotation_period_secs {
            return Err(ConfigError::new("keys.publish_lead_secs", "must be shorter than keys.rotation_period_secs"));
        }
        for (key, ttl) in [
            ("tokens.access_token_ttl_secs", self.tokens.access_token_ttl_secs),
            ("tokens.id_token_ttl_secs", self.tokens.id_token_ttl_secs),
            ("tokens.refresh_token_ttl_secs", self.tokens.refresh_token_ttl_secs),
        ] {
            if ttl == 0 {
                return Err(ConfigError::new(key, "must be at least 1 second"));
            }
        }
        if !(1..=60).contains(&self.tokens.authorization_code_ttl_secs) {
            return Err(ConfigError::new("tokens.authorization_code_ttl_secs", "must be between 1 and 60"));
        }
        if self.sessions.ttl_secs == 0 || self.sessions.login_timeout_secs == 0 {
            return Err(ConfigError::new("sessions", "ttl_secs and login_timeout_secs must be at least 1 second"));
        }
        if self.passkeys.enabled {
            self.passkey_rp()?;
        }
        if argon2::Params::new(self.passwords.memory_kib, self.passwords.iterations, self.passwords.parallelism, None)
            .is_err()
        {
            return Err(ConfigError::new(
                "passwords",
                "memory_kib, iterations and parallelism are not valid argon2id parameters",
            ));
        }
        self.ui.validate()
    }

    /// Cookies get `Secure` when the issuer is https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// The issuer with any path, as the base every endpoint URL is derived from.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// How long after a key stops signing it must stay published: until every token it
    /// signed has expired, plus a minute for clock skew at relying parties.
    pub fn key_retention_secs(&self) -> u64 {
        self.tokens.access_token_ttl_secs.max(self.tokens.id_token_ttl_secs) + 60
    }
}

/// Folds a multi-line parser message (TOML errors draw the line with a caret) into one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.contains('|') && !line.chars().all(|c| c == '^' || c == ' '))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Treats an empty string (`LATCHKEY_REDIS__URL=`) as "not set".
fn empty_as_none<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<SecretString>, D::Error> {
    let value: Option<String> = Option::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.trim().is_empty()).map(SecretString::from))
}

// Serialization exists only to feed the defaults into figment.
fn expose_secret<S: serde::Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secrecy::ExposeSecret::expose_secret(secret))
}

fn expose_optional_secret<S: serde::Serializer>(
    secret: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => expose_secret(secret, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> std::net::IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let server = ServerSettings {
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1/32".parse().unwrap()],
            ..ServerSettings::default()
        };
        // Not through a trusted proxy: the peer, whatever the header says.
        assert_eq!(server.client_address(ip("203.0.113.9"), Some("198.51.100.1")), ip("203.0.113.9"));
        // Through two proxies: the right-most entry that is not a proxy; the client's own
        // claim further left is not believed.
        let chain = Some("6.6.6.6, 198.51.100.1, 10.1.2.3");
        assert_eq!(server.client_address(ip("127.0.0.1"), chain), ip("198.51.100.1"));
        // No header, or garbage: the proxy itself.
        assert_eq!(server.client_address(ip("10.0.0.5"), None), ip("10.0.0.5"));
        assert_eq!(server.client_address(ip("10.0.0.5"), Some("not-an-ip")), ip("10.0.0.5"));
        let untrusting = ServerSettings::default();
        assert_eq!(untrusting.client_address(ip("10.0.0.5"), Some("198.51.100.1")), ip("10.0.0.5"));
    }
}
