//! Pushed authorization requests (RFC 9126): a client posts its authorization request to
//! `/par` (authenticated, validated as `/authorize` would), and gets a `request_uri` that
//! stands for it at `/authorize` once, within a minute. The parameters never pass through
//! the browser, so they cannot be read or altered there.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::random_token;
use crate::store::ephemeral::EphemeralStore;

const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long a `request_uri` can be used (RFC 9126 §2.2 suggests 5 to 600 seconds).
pub const REQUEST_URI_TTL_SECS: u64 = 60;

#[derive(Debug, Serialize, Deserialize)]
struct Pushed {
    client_id: String,
    /// The request's parameters, form-encoded, without client credentials.
    params: String,
}

fn key(id: &str) -> String {
    format!("par:{id}")
}

/// Keeps a validated request for `client_id`; returns its `request_uri`.
pub async fn push(store: &EphemeralStore, client_id: &str, params: String) -> anyhow::Result<String> {
    let id = random_token(32);
    let pushed = Pushed { client_id: client_id.to_string(), params };
    store.put_json(&key(&id), &pushed, Duration::from_secs(REQUEST_URI_TTL_SECS)).await?;
    Ok(format!("{REQUEST_URI_PREFIX}{id}"))
}

/// The parameters `request_uri` stands for, once, and only for the client it was pushed by.
pub async fn take(store: &EphemeralStore, request_uri: &str, client_id: &str) -> anyhow::Result<Option<String>> {
    let Some(id) = request_uri.strip_prefix(REQUEST_URI_PREFIX).filter(|id| !id.is_empty() && id.len() <= 64) else {
        return Ok(None);
    };
    let pushed: Option<Pushed> = store.take_json(&key(id)).await?;
    Ok(pushed.filter(|pushed| pushed.client_id == client_id).map(|pushed| pushed.params))
}
