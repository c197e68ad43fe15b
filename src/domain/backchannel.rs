//! OpenID Connect Back-Channel Logout 1.0: when a browser session ends, every client that
//! got tokens in it and registered a `backchannel_logout_uri` receives a signed logout
//! token, server to server. Sent in the background: a slow or dead client never holds up
//! the user's sign-out, and a failure is logged.

use std::collections::BTreeSet;

use serde_json::json;

use super::grants::RefreshFamily;
use super::{UnixTime, clients, random_token};
use crate::state::AppState;

/// Notifies the clients of `families` (ended grants) in the background: one logout token
/// per client, user and session.
pub fn notify(state: &AppState, families: &[RefreshFamily], now: UnixTime) {
    let ended: BTreeSet<(String, String, Option<String>)> = families
        .iter()
        .map(|family| (family.client_id.clone(), family.user_id.clone(), family.session_id.clone()))
        .collect();
    if ended.is_empty() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        for (client_id, user_id, session_id) in ended {
            if let Err(error) = notify_client(&state, &client_id, &user_id, session_id.as_deref(), now).await {
                tracing::warn!(%client_id, error = %format!("{error:#}"), "back-channel logout failed");
            }
        }
    });
}

async fn notify_client(
    state: &AppState,
    client_id: &str,
    user_id: &str,
    session_id: Option<&str>,
    now: UnixTime,
) -> anyhow::Result<()> {
    let Some(client) = clients::find_enabled(&state.db, client_id).await? else { return Ok(()) };
    let Some(uri) = client.backchannel_logout_uri else { return Ok(()) };
    let mut claims = json!({
        "iss": state.settings.issuer,
        "sub": user_id,
        "aud": client_id,
        "iat": now,
        "exp": now + 120,
        "jti": random_token(16),
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    if let Some(sid) = session_id {
        claims["sid"] = json!(sid);
    }
    let token = state.keyring.signing_key(now)?.sign_jwt("logout+jwt", &claims)?;
    let response = state.http.post(&uri).form(&[("logout_token", token)]).send().await?;
    anyhow::ensure!(response.status().is_success(), "{uri} answered {}", response.status());
    tracing::info!(%client_id, "sent back-channel logout");
    Ok(())
}
