//! A sign-in through an upstream from start to end, as the login and account pages run
//! it: where the browser goes, and what the callback means (a sign-in, a new link, or a
//! refusal, each audited).

use serde_json::json;

use super::accounts::{self, AccountRefusal};
use super::protocol::{self, Callback, Intent, Journey, UpstreamFailure};
use super::{UpstreamProvider, find_upstream};
use crate::domain::audit::{self, AuditEvent, AuditKind};
use crate::domain::login::Attempt;
use crate::domain::now;
use crate::domain::users::User;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum JourneyError {
    /// No such upstream, or it is disabled.
    #[error("no upstream {0:?}")]
    NotFound(String),
    #[error(transparent)]
    Upstream(#[from] UpstreamFailure),
    #[error(transparent)]
    Account(#[from] AccountRefusal),
}

async fn enabled(state: &AppState, name: &str) -> Result<UpstreamProvider, JourneyError> {
    match find_upstream(&state.db, name).await {
        Ok(provider) if provider.enabled => Ok(provider),
        Ok(_) | Err(super::UpstreamError::NotFound(_)) => Err(JourneyError::NotFound(name.to_string())),
        Err(error) => Err(AccountRefusal::Unexpected(anyhow::anyhow!(error)).into()),
    }
}

/// The upstream's display name, for pages about it (its name when it is gone).
pub async fn display_name(state: &AppState, name: &str) -> String {
    find_upstream(&state.db, name).await.map(|p| p.display_name).unwrap_or_else(|_| name.to_string())
}

/// Starts a sign-in (or, with `intent.link_user_id`, a link) through upstream `name`: the
/// URL to send the browser to, and the `state` it must bring back in its cookie.
pub async fn begin(
    state: &AppState,
    name: &str,
    intent: Intent,
    attempt: &Attempt,
) -> Result<(String, String), JourneyError> {
    let provider = enabled(state, name).await?;
    match protocol::start(state, &provider, intent).await {
        Ok(started) => Ok(started),
        Err(failure) => {
            let error = JourneyError::Upstream(failure);
            record_failure(state, name, &error, attempt).await;
            Err(error)
        }
    }
}

/// How a callback ended well.
#[derive(Debug)]
pub enum Completed {
    /// The upstream account signs in as `user`, with this `amr`.
    SignedIn { user: User, amr: Vec<&'static str>, journey: Journey },
    /// The upstream account is now linked to the signed-in user who asked.
    Linked { journey: Journey },
}

/// The browser came back from upstream `name`. `browser_state` is its journey cookie.
pub async fn complete(
    state: &AppState,
    name: &str,
    callback: &Callback,
    browser_state: Option<&str>,
    attempt: &Attempt,
) -> Result<Completed, JourneyError> {
    let result = run(state, name, callback, browser_state, attempt).await;
    match &result {
        // A made-up upstream name is a 404, not an event worth keeping.
        Err(JourneyError::NotFound(_)) | Ok(_) => {}
        Err(error) => record_failure(state, name, error, attempt).await,
    }
    result
}

async fn run(
    state: &AppState,
    name: &str,
    callback: &Callback,
    browser_state: Option<&str>,
    attempt: &Attempt,
) -> Result<Completed, JourneyError> {
    let provider = enabled(state, name).await?;
    let journey = protocol::take_journey(state, name, callback, browser_state).await?;
    let identity = protocol::finish(state, &provider, &journey, callback).await?;
    if let Some(user_id) = &journey.intent.link_user_id {
        accounts::link_explicitly(state, &provider, &identity, user_id, attempt.source_ip.clone()).await?;
        return Ok(Completed::Linked { journey });
    }
    let resolved = accounts::resolve(state, &provider, &identity, attempt.source_ip.clone()).await?;
    Ok(Completed::SignedIn { user: resolved.user, amr: resolved.amr, journey })
}

impl JourneyError {
    /// The audit log's `reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            JourneyError::NotFound(_) => "not_found",
            JourneyError::Upstream(failure) => failure.reason(),
            JourneyError::Account(AccountRefusal::NoAccount) => "no_account",
            JourneyError::Account(AccountRefusal::LinkRequired) => "link_required",
            JourneyError::Account(AccountRefusal::LinkedElsewhere) => "linked_elsewhere",
            JourneyError::Account(AccountRefusal::Disabled) => "disabled",
            JourneyError::Account(AccountRefusal::Unexpected(_)) => "unexpected",
        }
    }
}

async fn record_failure(state: &AppState, name: &str, error: &JourneyError, attempt: &Attempt) {
    tracing::warn!(upstream = name, reason = error.reason(), error = %error, "sign-in through an upstream failed");
    state.metrics.sign_in("upstream", "failure");
    let mut event = AuditEvent::new(AuditKind::UpstreamSignInFailed, now())
        .source_ip(attempt.source_ip.clone())
        .details(json!({ "upstream": name, "reason": error.reason(), "error": error.to_string() }));
    event.client_id = attempt.client_id.clone();
    audit::record(&state.db, event).await;
}
