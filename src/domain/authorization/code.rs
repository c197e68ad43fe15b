//! The authorization code: what it stands for, kept in the ephemeral store under the
//! code's hash until it is exchanged (once, in `domain::grants`) or expires.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::PendingAuthorization;
use super::response::answer;
use crate::domain::model::ScopeSet;
use crate::domain::sessions::BrowserSession;
use crate::domain::{UnixTime, random_token, sha256_b64};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeGrant {
    /// The grant the exchange will create, fixed now so that a replay of the code can
    /// always find and end it, even one that races the first exchange.
    #[serde(default = "new_grant_id")]
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub scope: ScopeSet,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub session_id: String,
    pub auth_time: UnixTime,
    pub amr: Vec<String>,
    /// The API resources (RFC 8707) the request named.
    #[serde(default)]
    pub resources: Vec<String>,
}

fn new_grant_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn code_key(code: &str) -> String {
    format!("code:{}", sha256_b64(code.as_bytes()))
}

/// Where the grant id of a code stays after the code is used, for replay detection.
pub fn code_grant_id_key(code: &str) -> String {
    format!("code-grant:{}", sha256_b64(code.as_bytes()))
}

/// Issues a code for `pending` and the signed-in `session`; returns the URL to send the
/// browser to.
pub(super) async fn issue_code(
    state: &AppState,
    pending: &PendingAuthorization,
    session: &BrowserSession,
) -> anyhow::Result<String> {
    let code = random_token(32);
    let grant = CodeGrant {
        grant_id: new_grant_id(),
        client_id: pending.client_id.clone(),
        redirect_uri: pending.redirect_uri.clone(),
        user_id: session.user_id.clone(),
        scope: pending.scope.clone(),
        nonce: pending.nonce.clone(),
        code_challenge: pending.code_challenge.clone(),
        session_id: session.id.clone(),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        resources: pending.resources.clone(),
    };
    let tokens = &state.settings.tokens;
    // The code's grant id outlives the code, for as long as an access token from it can.
    let remember = tokens.access_token_ttl_secs.max(tokens.authorization_code_ttl_secs) + 60;
    state.ephemeral.put(&code_grant_id_key(&code), grant.grant_id.as_bytes(), Duration::from_secs(remember)).await?;
    let ttl = Duration::from_secs(tokens.authorization_code_ttl_secs);
    state.ephemeral.put_json(&code_key(&code), &grant, ttl).await?;
    let mut params = vec![("code".to_string(), code)];
    if let Some(state) = &pending.state {
        params.push(("state".into(), state.clone()));
    }
    answer(state, &pending.redirect_uri, pending.response_mode, params).await
}
