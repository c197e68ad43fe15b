//! GitHub upstreams (and GitHub Enterprise): OAuth 2.0 without OpenID Connect, so who
//! signed in is read from the REST API.

use serde_json::Value;

use super::UpstreamProvider;
use super::protocol::{UpstreamFailure, UpstreamIdentity};
use crate::state::AppState;

/// GitHub: the user (`/user`) and their verified primary address (`/user/emails`).
pub(super) async fn identity(
    state: &AppState,
    provider: &UpstreamProvider,
    token: &str,
) -> Result<UpstreamIdentity, UpstreamFailure> {
    let api = provider.api_url.as_deref().unwrap_or("https://api.github.com");
    let user = state.upstreams.get_json(&format!("{api}/user"), Some(token)).await?;
    let Value::Object(mut claims) = user else { return Err(UpstreamFailure::Invalid("/user is not an object".into())) };
    let subject = match claims.get("id") {
        Some(Value::Number(id)) => id.to_string(),
        _ => return Err(UpstreamFailure::Invalid("/user has no id".into())),
    };
    let emails = state.upstreams.get_json(&format!("{api}/user/emails"), Some(token)).await?;
    // The primary address, verified or not: an unverified one must still stop a link.
    let primary = emails.as_array().and_then(|list| list.iter().find(|e| e["primary"] == true));
    let email = primary.and_then(|e| e["email"].as_str()).map(str::to_string);
    let email_verified = primary.is_some_and(|e| e["verified"] == true);
    claims.insert("sub".into(), Value::String(subject.clone()));
    if let Some(login) = claims.get("login").cloned() {
        claims.entry("preferred_username").or_insert(login);
    }
    claims.insert("email".into(), email.clone().map(Value::String).unwrap_or(Value::Null));
    claims.insert("email_verified".into(), Value::Bool(email_verified));
    Ok(UpstreamIdentity { subject, claims, email, email_verified, multi_factor: false })
}
