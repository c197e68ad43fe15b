//! Plain records shared by the domain and the store: what a user, a client, a grant, a
//! sealed key, a passkey and an audit event are. No rules live here, so `store/` can
//! depend on this module alone and never on a domain module with rules.

pub mod oauth;
pub mod scopes;
pub mod upstream;

use std::fmt;

use serde_json::Value;
use webauthn_rs::prelude::Passkey;

pub use oauth::OAuthErrorCode;
pub use scopes::ScopeSet;

/// Seconds since the Unix epoch: how every timestamp is stored and compared.
pub type UnixTime = i64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable and opaque: the `sub` claim. Never the username, which may change.
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    /// The user followed a link mailed to `email` (or an admin vouched for it).
    pub email_verified: bool,
    pub display_name: Option<String>,
    pub disabled: bool,
    pub admin: bool,
    /// A temporary password was set: the next sign-in must choose a new one.
    pub must_change_password: bool,
    /// String attributes an admin set (`department`, `employee_id`), released to clients
    /// only through their claim mappings.
    pub attributes: std::collections::BTreeMap<String, String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A named set of users and other groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub description: String,
    pub created_at: UnixTime,
}

/// What a client may do with groups and attributes, set apart from its registration.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientPolicy {
    /// Only members of these groups (directly or nested) may use the client; `None`: everyone.
    pub allowed_groups: Option<Vec<String>>,
    /// The groups released in the `groups` claim: names, or `prefix*`; `None`: every group.
    pub released_groups: Option<Vec<String>>,
    /// User attributes released as claims.
    pub claim_mappings: Vec<ClaimMapping>,
    /// Every sign-in to the client must be multi-factor.
    #[serde(default)]
    pub require_mfa: bool,
    /// The login page for this client offers only the upstream providers ("Continue with
    /// …"): no password form, no passkey button.
    #[serde(default)]
    pub upstream_only: bool,
}

/// "Release attribute `attribute` as claim `claim` when scope `scope` is granted."
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ClaimMapping {
    pub attribute: String,
    pub claim: String,
    pub scope: String,
}

/// A change to a user's record; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct UserChange {
    pub email: Option<Option<String>>,
    pub display_name: Option<Option<String>>,
    pub admin: Option<bool>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    /// RFC 8628, the device authorization grant.
    DeviceCode,
}

impl GrantType {
    pub const ALL: [GrantType; 4] =
        [GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials, GrantType::DeviceCode];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    /// The grant type with this RFC name, if there is one; `device_code` is short for the
    /// device grant's URN.
    pub fn from_name(raw: &str) -> Option<GrantType> {
        if raw == "device_code" {
            return Some(GrantType::DeviceCode);
        }
        GrantType::ALL.into_iter().find(|g| g.as_str() == raw)
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub name: String,
    /// Public clients (SPAs, native apps) have no secret and must use PKCE.
    pub public: bool,
    /// First-party clients skip the consent page.
    pub first_party: bool,
    /// Must use PKCE even though confidential (public clients always must).
    pub require_pkce: bool,
    /// Must push its authorization requests (PAR, RFC 9126): a direct `/authorize` is refused.
    pub require_par: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// An https URL of its logo, shown on its consent page.
    pub logo_uri: Option<String>,
    pub allowed_scopes: ScopeSet,
    pub allowed_grants: Vec<GrantType>,
    pub enabled: bool,
    pub created_at: UnixTime,
    pub policy: ClientPolicy,
    /// Keys for `private_key_jwt` (RFC 7523); a client with keys authenticates with them.
    pub keys: Option<ClientKeys>,
    /// Registered itself (RFC 7591), not by an admin: never first-party.
    pub dynamic: bool,
}

/// The public keys a client signs its authentication assertions with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKeys {
    /// A JWK Set, as JSON.
    Jwks(String),
    /// Where the client publishes its JWK Set (fetched, and cached briefly).
    JwksUri(String),
}

/// An API that access tokens can be issued for (RFC 8707 resource indicators): tokens for
/// it carry its identifier as `aud` and only its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResource {
    /// An absolute URI: the `aud` of its tokens.
    pub identifier: String,
    pub name: String,
    pub scopes: ScopeSet,
    /// A shorter lifetime than `tokens.access_token_ttl_secs` for tokens of this API.
    pub access_token_ttl_secs: Option<u64>,
    /// Tokens for this API must be sender-constrained (DPoP, RFC 9449): never Bearer.
    pub require_dpop: bool,
    pub created_at: UnixTime,
}

/// One chain of rotated refresh tokens: a grant. Every code exchange makes one (maybe
/// without tokens), so that logout and revocation find everything issued in a session.
#[derive(Debug, Clone)]
pub struct RefreshFamily {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    pub session_id: Option<String>,
    pub scope: ScopeSet,
    pub amr: Vec<String>,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    /// The API resources (RFC 8707) the grant was authorized for: identifiers.
    pub resources: Vec<String>,
    /// A public client's refresh tokens are bound to its DPoP key (RFC 9449 §5): the key's
    /// thumbprint.
    pub dpop_jkt: Option<String>,
}

impl RefreshFamily {
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A signing key as the database holds it: the private half sealed under the master key.
#[derive(Debug, Clone)]
pub struct SealedKey {
    pub kid: String,
    pub generation: i64,
    pub bits: usize,
    pub n: String,
    pub e: String,
    pub sealed_private_key: Vec<u8>,
    pub created_at: UnixTime,
    pub activates_at: UnixTime,
    /// Set by an emergency revocation: the key is gone from the keyring.
    pub revoked_at: Option<UnixTime>,
}

#[derive(Debug, Clone)]
pub struct StoredPasskey {
    pub id: String,
    pub user_id: String,
    /// base64url of the WebAuthn credential id.
    pub credential_id: String,
    pub name: String,
    pub passkey: Passkey,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// One line of the audit log, as stored. Built by `domain::audit` from a typed kind.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub occurred_at: UnixTime,
    pub event_type: String,
    pub actor_user_id: Option<String>,
    pub subject_user_id: Option<String>,
    pub client_id: Option<String>,
    pub source_ip: Option<String>,
    pub details: Value,
}

/// Filters for reading the audit log.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub event_type: Option<String>,
    pub since: Option<UnixTime>,
    pub until: Option<UnixTime>,
}
