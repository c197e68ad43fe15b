//! The consent page: a client that is not first-party asks the signed-in user to allow the
//! scopes it requested. The decision is remembered per user, client and scope set.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::authorization::{self, PendingAuthorization};
use crate::domain::now;
use crate::http::login::password::{csrf_failure, pending_request};
use crate::http::oidc::authorize::{expired_page, proceed};
use crate::http::pages::{internal_error, render, see_other};
use crate::http::{csrf, session};
use crate::state::AppState;
use crate::store::db;

#[derive(Template)]
#[template(path = "oidc/consent.html")]
struct ConsentPage<'a> {
    client_name: &'a str,
    username: &'a str,
    permissions: Vec<String>,
    csrf_token: &'a str,
    request_id: &'a str,
}

#[derive(Deserialize)]
pub struct ConsentQuery {
    request: String,
}

#[derive(Deserialize)]
pub struct ConsentForm {
    request: String,
    csrf_token: Option<String>,
    decision: String,
}

/// A scope in plain words.
fn describe(scope: &str) -> String {
    match scope {
        "openid" => "Know who you are on this account".into(),
        "profile" => "See your name and username".into(),
        "email" => "See your email address".into(),
        "offline_access" => "Stay signed in and act for you while you are away".into(),
        other => format!("Use the “{other}” permission"),
    }
}

/// The pending request a consent page belongs to; `Err` is the page to show when it is gone.
async fn load(state: &AppState, id: &str) -> Result<PendingAuthorization, HttpResponse> {
    pending_request(state, Some(id)).await?.ok_or_else(expired_page)
}

pub async fn show_consent(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<ConsentQuery>,
) -> HttpResponse {
    let pending = match load(&state, &query.request).await {
        Ok(pending) => pending,
        Err(page) => return page,
    };
    let user = match session::current(&state, &request).await {
        Ok(Some((_, user))) => user,
        Ok(None) => return see_other(&format!("/login?request={}", pending.id)),
        Err(error) => return internal_error(&error),
    };
    let (csrf_token, new_cookie) = csrf::token(&request, &state.settings);
    let page = ConsentPage {
        client_name: &pending.client_name,
        username: &user.username,
        permissions: pending.scope.iter().map(|s| describe(s)).collect(),
        csrf_token: &csrf_token,
        request_id: &pending.id,
    };
    let mut response = render(StatusCode::OK, &page);
    if let Some(cookie) = new_cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

pub async fn submit_consent(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<ConsentForm>,
) -> HttpResponse {
    if !csrf::verify(&request, form.csrf_token.as_deref()) {
        return csrf_failure();
    }
    let pending = match load(&state, &form.request).await {
        Ok(pending) => pending,
        Err(page) => return page,
    };
    let signed_in = match session::current(&state, &request).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None) => return see_other(&format!("/login?request={}", pending.id)),
        Err(error) => return internal_error(&error),
    };
    if form.decision != "allow" {
        return match authorization::finish_pending(&state.ephemeral, &pending.id).await {
            Ok(Some(_)) => {
                let error = pending.error("access_denied", "the user denied the request");
                see_other(&authorization::error_redirect(&error, &state.settings.issuer))
            }
            Ok(None) => expired_page(),
            Err(error) => internal_error(&error.into()),
        };
    }
    let user = &signed_in.1;
    let mut granted = match db::consents::find(&state.db, &user.id, &pending.client_id).await {
        Ok(granted) => granted.unwrap_or_default(),
        Err(error) => return internal_error(&error),
    };
    for scope in &pending.scope {
        if !granted.contains(scope) {
            granted.push(scope.clone());
        }
    }
    if let Err(error) = db::consents::save(&state.db, &user.id, &pending.client_id, &granted, now()).await {
        return internal_error(&error);
    }
    // The user just answered: do not ask again for this request even with prompt=consent.
    let answered = PendingAuthorization { prompt_consent: false, ..pending };
    proceed(&state, &answered, Some(&signed_in)).await
}
