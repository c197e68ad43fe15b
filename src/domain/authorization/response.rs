//! How an answer goes back to the client: on the redirect URI's query (RFC 6749 §4.1.2),
//! or as a form the browser posts to it (OAuth 2.0 Form Post Response Mode). Every answer
//! carries `iss` (RFC 9207).
//!
//! A form-post answer is kept in the ephemeral store for a minute under a random id, and
//! the browser is sent to `/authorize/form-post?response=<id>`, which renders the form
//! once. So every step that answers a request still answers with a URL, and the code never
//! appears in one of our own URLs.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::RedirectError;
use crate::domain::random_token;
use crate::state::AppState;
use crate::store::ephemeral::EphemeralStore;

/// `response_mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    #[default]
    Query,
    FormPost,
}

impl ResponseMode {
    pub const SUPPORTED: [&str; 2] = ["query", "form_post"];

    pub fn parse(raw: Option<&str>) -> Option<ResponseMode> {
        match raw {
            None | Some("query") => Some(ResponseMode::Query),
            Some("form_post") => Some(ResponseMode::FormPost),
            Some(_) => None,
        }
    }
}

/// An answer for the browser to post to the client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FormPost {
    pub redirect_uri: String,
    pub params: Vec<(String, String)>,
}

/// How long a form-post answer waits for the browser to fetch it.
const FORM_POST_TTL: Duration = Duration::from_secs(60);

fn form_post_key(id: &str) -> String {
    format!("form-post:{id}")
}

/// The URL that delivers `params` to `redirect_uri` in `mode`, with `iss` added.
pub async fn answer(
    state: &AppState,
    redirect_uri: &str,
    mode: ResponseMode,
    mut params: Vec<(String, String)>,
) -> anyhow::Result<String> {
    params.push(("iss".into(), state.settings.issuer.clone()));
    match mode {
        ResponseMode::Query => Ok(redirect_with(redirect_uri, &params)),
        ResponseMode::FormPost => {
            let id = random_token(24);
            let form = FormPost { redirect_uri: redirect_uri.to_string(), params };
            state.ephemeral.put_json(&form_post_key(&id), &form, FORM_POST_TTL).await?;
            Ok(format!("/authorize/form-post?response={id}"))
        }
    }
}

/// The form-post answer with this id, once.
pub async fn take_form_post(store: &EphemeralStore, id: &str) -> anyhow::Result<Option<FormPost>> {
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    Ok(store.take_json(&form_post_key(id)).await?)
}

/// The URL that carries an error back to the client (RFC 6749 §4.1.2.1).
pub async fn answer_error(state: &AppState, error: &RedirectError) -> anyhow::Result<String> {
    let mut params = vec![
        ("error".to_string(), error.error.as_str().to_string()),
        ("error_description".to_string(), error.description.clone()),
    ];
    if let Some(state) = &error.state {
        params.push(("state".into(), state.clone()));
    }
    answer(state, &error.redirect_uri, error.response_mode, params).await
}

/// Appends query parameters to a registered redirect URI, keeping its own query.
fn redirect_with(redirect_uri: &str, params: &[(String, String)]) -> String {
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(params);
            url.to_string()
        }
        // Registered URIs were validated as absolute URLs; this cannot happen in practice.
        Err(_) => redirect_uri.to_string(),
    }
}
