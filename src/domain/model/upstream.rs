//! Upstream identity providers and the links from their accounts to Latchkey users.

use std::collections::BTreeMap;

use super::UnixTime;

/// How Latchkey talks to an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamKind {
    /// OpenID Connect, found by its issuer's discovery document.
    Oidc,
    /// GitHub (or GitHub Enterprise): OAuth 2.0 and its REST API, no OpenID Connect.
    Github,
}

impl UpstreamKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamKind::Oidc => "oidc",
            UpstreamKind::Github => "github",
        }
    }

    pub fn parse(raw: &str) -> Option<UpstreamKind> {
        match raw {
            "oidc" => Some(UpstreamKind::Oidc),
            "github" => Some(UpstreamKind::Github),
            _ => None,
        }
    }
}

/// An upstream identity provider, as an admin registered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamProvider {
    /// A slug (`[a-z0-9-]`): part of its URLs and its handle in the CLI and the API.
    pub name: String,
    pub kind: UpstreamKind,
    /// "Continue with {display_name}".
    pub display_name: String,
    /// An https URL of the button's icon.
    pub icon_url: Option<String>,
    /// OpenID Connect: the issuer. GitHub: the web base URL (`https://github.com`).
    pub issuer: String,
    /// GitHub: the REST API base URL (`https://api.github.com`).
    pub api_url: Option<String>,
    pub client_id: String,
    /// The client secret, sealed under the master key (label `upstream:{name}`).
    pub sealed_secret: Vec<u8>,
    pub scopes: Vec<String>,
    pub enabled: bool,
    /// A first sign-in with no linked account creates a Latchkey user.
    pub auto_create: bool,
    /// The upstream's `email_verified` is believed: it may link an existing account whose
    /// own address is verified.
    pub trust_email: bool,
    /// The upstream's `amr` containing `mfa` is believed: the sign-in counts as multi-factor.
    pub trust_mfa: bool,
    /// The claim a new user's username is derived from.
    pub username_claim: String,
    /// Profile field (`display_name`, `email`) → upstream claim, applied at every sign-in.
    pub profile_claims: BTreeMap<String, String>,
    /// The claim holding the user's upstream groups or roles (a list or one string).
    pub groups_claim: Option<String>,
    /// Upstream group value → Latchkey group, applied at every sign-in.
    pub group_map: BTreeMap<String, String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// "This upstream account is this Latchkey user": keyed by (upstream, upstream `sub`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamLink {
    pub upstream: String,
    pub subject: String,
    pub user_id: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}
