//! `/login/step-up`: a signed-in user whose session has one factor (a password) where two
//! are needed (`acr_values`, a client's "require MFA", the admin console, or
//! `mfa.enforce_for_all`). Users with an authenticator app enter a code; users with a
//! passkey sign in with it; users with neither set up an authenticator app first. Then the
//! browser goes on: to the pending authorization request, or to `next`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::assurance::{self, SecondStep};
use crate::domain::authorization::PendingAuthorization;
use crate::domain::login::SecondFactorChallenge;
use crate::domain::{credentials, now};
use crate::http::csrf::FormToken;
use crate::http::oidc::authorize::{next_location, pending_request};
use crate::http::pages::{PageError, see_other};
use crate::http::session;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login/step_up.html")]
struct StepUpPage<'a> {
    csrf_token: &'a str,
    request_id: &'a str,
    next: &'a str,
    client_name: Option<&'a str>,
    /// `false`: the user has no second factor and is offered to set one up.
    passkey: bool,
}

#[derive(Deserialize)]
pub struct StepUpQuery {
    request: Option<String>,
    next: Option<String>,
}

/// The step-up page for a pending request or, without one, for going on to `next`.
pub fn location(request_id: Option<&str>, next: Option<&str>) -> String {
    let encode = |value: &str| url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
    match (request_id, next) {
        (Some(id), _) => format!("/login/step-up?request={}", encode(id)),
        (None, Some(next)) => format!("/login/step-up?next={}", encode(next)),
        (None, None) => "/login/step-up".to_string(),
    }
}

pub async fn show(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<StepUpQuery>,
) -> Result<HttpResponse, PageError> {
    let pending = pending_request(&state, query.request.as_deref()).await?;
    let next = super::local_path(query.next.as_deref());
    let here = location(pending.as_ref().map(|p| p.id.as_str()), next);
    let Some(signed_in) = session::current(&state, &request).await? else {
        let sign_in = match &pending {
            Some(pending) => format!("/login?request={}", pending.id),
            None => super::reauthenticate_location(&here),
        };
        return Ok(see_other(&sign_in));
    };
    let (browser_session, user) = &signed_in;
    if assurance::is_multi_factor(&browser_session.amr) {
        let onward = match &pending {
            Some(pending) => next_location(&state, pending, Some(&signed_in)).await?,
            None => next.unwrap_or("/account").to_string(),
        };
        return Ok(see_other(&onward));
    }
    let step = assurance::second_step_for(&state, &user.id).await?;
    if step == SecondStep::Code {
        let challenge = SecondFactorChallenge {
            user_id: user.id.clone(),
            request_id: pending.as_ref().map(|p| p.id.clone()),
            next: next.map(str::to_string),
        };
        return super::mfa::ask_for_second_factor(&state, &challenge).await;
    }
    // Setting up a factor is a sensitive account action: it needs a recent sign-in.
    if step == SecondStep::Enroll && !credentials::is_recent(&state, browser_session, now()) {
        return Ok(see_other(&super::reauthenticate_location(&here)));
    }
    let form = FormToken::new(&request, &state.settings);
    let page = StepUpPage {
        csrf_token: &form.token,
        request_id: pending.as_ref().map(|p| p.id.as_str()).unwrap_or_default(),
        next: next.unwrap_or_default(),
        client_name: pending.as_ref().map(|p: &PendingAuthorization| p.client_name.as_str()),
        passkey: step == SecondStep::Passkey,
    };
    Ok(form.render(StatusCode::OK, &page))
}
