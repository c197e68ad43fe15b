//! OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a
//! client with no registration here (an MCP client) uses an https URL as its `client_id`;
//! the document at that URL is its registration. Fetched SSRF-safely and cached by
//! [`crate::fetch`], then checked:
//! - its `client_id` is the URL, byte for byte;
//! - `token_endpoint_auth_method` is `none` (the default) or `private_key_jwt` with a
//!   `jwks_uri`: there is no secret to share with a client nobody registered;
//! - grant types are `authorization_code` and `refresh_token`; scopes the standard ones;
//! - redirect URIs are valid, and a request's must be one of them exactly (as for every
//!   client, in `authorization::validate`).
//!
//! Such a client is never first-party, and the consent page says it was not registered by
//! an admin and shows the host it comes from.

use serde::Deserialize;
use url::Url;

use super::clients::{Client, ClientKeys, ClientPolicy, GrantType, RedirectUri};
use super::model::ScopeSet;
use super::registration::REGISTRABLE_SCOPES;
use crate::fetch::FetchError;
use crate::state::AppState;

/// Whether a client id names a metadata document: admin-registered ids cannot contain `/`.
pub fn is_document_id(client_id: &str) -> bool {
    client_id.starts_with("https://")
}

/// The host a metadata-document client comes from, to show the user.
pub fn host_of(client_id: &str) -> Option<String> {
    Url::parse(client_id).ok().and_then(|url| url.host_str().map(str::to_string))
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("client metadata documents are turned off")]
    Disabled,
    #[error("the client id is not a valid document URL")]
    BadUrl,
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the document is not valid: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct Document {
    client_id: String,
    client_name: Option<String>,
    logo_uri: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: Option<String>,
    jwks_uri: Option<String>,
    grant_types: Option<Vec<String>>,
    scope: Option<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
}

/// The client `client_id` (an https URL) describes itself as.
pub async fn resolve(state: &AppState, client_id: &str) -> Result<Client, DocumentError> {
    if !state.settings.clients.metadata_documents.enabled {
        return Err(DocumentError::Disabled);
    }
    let url = Url::parse(client_id).map_err(|_| DocumentError::BadUrl)?;
    // The draft: https, a path, no fragment, no dot segments, no credentials; and it must
    // fit where client ids are stored.
    let valid = url.scheme() == "https"
        && client_id.len() <= 255
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() != "/"
        && !client_id.contains("/./")
        && !client_id.contains("/../");
    if !valid {
        return Err(DocumentError::BadUrl);
    }
    let json = state.fetcher.json(client_id).await?;
    let document: Document =
        serde_json::from_value(json).map_err(|e| DocumentError::Invalid(format!("not client metadata: {e}")))?;
    check(client_id, document)
}

fn check(client_id: &str, document: Document) -> Result<Client, DocumentError> {
    let invalid = |why: String| Err(DocumentError::Invalid(why));
    if document.client_id != client_id {
        return invalid("its client_id is not the URL it was fetched from".into());
    }
    let keys = match (document.token_endpoint_auth_method.as_deref().unwrap_or("none"), document.jwks_uri) {
        ("none", _) => None,
        ("private_key_jwt", Some(uri)) if uri.starts_with("https://") => Some(ClientKeys::JwksUri(uri)),
        (method, _) => {
            return invalid(format!(
                "token_endpoint_auth_method {method:?} (only none, or private_key_jwt with an https jwks_uri)"
            ));
        }
    };
    let mut grants = Vec::new();
    for name in document.grant_types.unwrap_or_else(|| vec!["authorization_code".into()]) {
        match GrantType::from_name(&name) {
            Some(grant @ (GrantType::AuthorizationCode | GrantType::RefreshToken)) => grants.push(grant),
            _ => return invalid(format!("grant type {name:?} is not available to such clients")),
        }
    }
    if document.redirect_uris.is_empty() || document.redirect_uris.len() > 20 {
        return invalid("it needs 1 to 20 redirect_uris".into());
    }
    for uri in document.redirect_uris.iter().chain(&document.post_logout_redirect_uris) {
        let parsed = RedirectUri::parse(uri).map_err(|e| DocumentError::Invalid(e.to_string()))?;
        if !parsed.is_secure() {
            return invalid(format!("{uri:?}: http is for loopback hosts only"));
        }
    }
    let scope = document.scope.unwrap_or_else(|| REGISTRABLE_SCOPES.join(" "));
    let scopes = ScopeSet::parse(&scope).map_err(|e| DocumentError::Invalid(e.to_string()))?;
    if let Some(other) = scopes.iter().find(|s| !REGISTRABLE_SCOPES.contains(s)) {
        return invalid(format!("scope {other:?} cannot be had this way"));
    }
    let host = host_of(client_id).unwrap_or_default();
    let name = document.client_name.map(|n| n.trim().chars().take(100).collect::<String>()).filter(|n| !n.is_empty());
    Ok(Client {
        id: client_id.to_string(),
        name: name.unwrap_or(host),
        public: keys.is_none(),
        first_party: false,
        require_pkce: true,
        require_par: false,
        redirect_uris: document.redirect_uris,
        post_logout_redirect_uris: document.post_logout_redirect_uris,
        backchannel_logout_uri: None,
        logo_uri: super::clients::parse_logo_uri(document.logo_uri).ok().flatten(),
        allowed_scopes: scopes,
        allowed_grants: grants,
        enabled: true,
        created_at: 0,
        policy: ClientPolicy::default(),
        keys,
        dynamic: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(json: serde_json::Value) -> Document {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn documents_are_checked() {
        let id = "https://app.example/client.json";
        let good =
            serde_json::json!({"client_id": id, "client_name": "App", "redirect_uris": ["http://127.0.0.1:3000/cb"]});
        let client = check(id, document(good)).unwrap();
        assert!(client.public && !client.first_party && client.require_pkce);
        for bad in [
            serde_json::json!({"client_id": "https://other.example/client.json", "redirect_uris": ["https://a.example/cb"]}),
            serde_json::json!({"client_id": id, "redirect_uris": []}),
            serde_json::json!({"client_id": id, "redirect_uris": ["http://evil.example/cb"]}),
            serde_json::json!({"client_id": id, "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "client_secret_basic"}),
            serde_json::json!({"client_id": id, "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            serde_json::json!({"client_id": id, "redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"]}),
            serde_json::json!({"client_id": id, "redirect_uris": ["https://a.example/cb"], "scope": "openid admin"}),
        ] {
            assert!(check(id, document(bad.clone())).is_err(), "{bad}");
        }
    }
}
