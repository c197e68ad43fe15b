//! `/logout` (OpenID Connect RP-Initiated Logout 1.0), GET and POST. Ends the browser
//! session and the refresh tokens issued in it, then returns to a registered
//! `post_logout_redirect_uri` or shows a signed-out page. Without a valid `id_token_hint`
//! for the signed-in user, the user confirms first (a CSRF-protected form), so another site
//! cannot sign them out behind their back.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use url::Url;

use crate::domain::tokens::{self, IdTokenHint};
use crate::domain::{backchannel, clients, grants, now, sessions};
use crate::http::pages::{error_page, internal_error, render, see_other};
use crate::http::{csrf, session};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct LogoutParams {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    csrf_token: Option<String>,
}

#[derive(Template)]
#[template(path = "oidc/logout_confirm.html")]
struct ConfirmPage<'a> {
    csrf_token: &'a str,
    client_id: &'a str,
    post_logout_redirect_uri: &'a str,
    state: &'a str,
}

#[derive(Template)]
#[template(path = "oidc/signed_out.html")]
struct SignedOutPage;

pub async fn logout_get(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: web::Query<LogoutParams>,
) -> HttpResponse {
    logout(&state, &request, params.into_inner(), false).await
}

pub async fn logout_post(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: web::Form<LogoutParams>,
) -> HttpResponse {
    logout(&state, &request, params.into_inner(), true).await
}

async fn logout(state: &AppState, request: &HttpRequest, params: LogoutParams, posted: bool) -> HttpResponse {
    let bad = |message: &str| error_page(StatusCode::BAD_REQUEST, "This sign-out request is not valid", message);
    let hint: Option<IdTokenHint> = match params.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        Some(raw) => match tokens::verify_id_token_hint(&state.settings, &state.keyring, raw) {
            Some(hint) => Some(hint),
            None => return bad("The id_token_hint was not issued by this server."),
        },
        None => None,
    };
    let client_id = match (params.client_id.as_deref().filter(|c| !c.is_empty()), &hint) {
        (Some(id), Some(hint)) if id != hint.aud => {
            return bad("client_id does not match the id_token_hint.");
        }
        (Some(id), _) => Some(id.to_string()),
        (None, Some(hint)) => Some(hint.aud.clone()),
        (None, None) => None,
    };
    // Checked before anything else happens: never redirect to an unregistered URI.
    let redirect = match params.post_logout_redirect_uri.as_deref().filter(|u| !u.is_empty()) {
        Some(uri) => {
            let Some(client_id) = &client_id else {
                return bad("post_logout_redirect_uri needs client_id or id_token_hint.");
            };
            let client = match clients::find_enabled(&state.db, client_id).await {
                Ok(client) => client,
                Err(error) => return internal_error(&error),
            };
            if !client.is_some_and(|c| c.post_logout_redirect_uris.iter().any(|registered| registered == uri)) {
                return bad("The post_logout_redirect_uri is not registered for this application.");
            }
            Some(uri.to_string())
        }
        None => None,
    };

    let signed_in = match session::current(state, request).await {
        Ok(signed_in) => signed_in,
        Err(error) => return internal_error(&error),
    };
    let hint_matches = match (&hint, &signed_in) {
        (Some(hint), Some((_, user))) => hint.sub == user.id,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let confirmed = posted && csrf::verify(request, params.csrf_token.as_deref());
    if signed_in.is_some() && !hint_matches && !confirmed {
        let (csrf_token, new_cookie) = csrf::token(request, &state.settings);
        let mut response = render(
            StatusCode::OK,
            &ConfirmPage {
                csrf_token: &csrf_token,
                client_id: client_id.as_deref().unwrap_or_default(),
                post_logout_redirect_uri: redirect.as_deref().unwrap_or_default(),
                state: params.state.as_deref().unwrap_or_default(),
            },
        );
        if let Some(cookie) = new_cookie {
            let _ = response.add_cookie(&cookie);
        }
        return response;
    }

    if let Some((browser_session, user)) = &signed_in {
        let now = now();
        match grants::end_session_grants(state, &browser_session.id, now).await {
            Ok(families) => backchannel::notify(state, &families, now),
            Err(error) => return internal_error(&anyhow::anyhow!(error)),
        }
        if let Err(error) = sessions::end(&state.ephemeral, &browser_session.id).await {
            return internal_error(&error.into());
        }
        tracing::info!(user_id = %user.id, "signed out");
    }
    let mut response = match redirect {
        Some(uri) => {
            let mut url = match Url::parse(&uri) {
                Ok(url) => url,
                Err(_) => return bad("The post_logout_redirect_uri is malformed."),
            };
            if let Some(state) = params.state.as_deref().filter(|s| !s.is_empty()) {
                url.query_pairs_mut().append_pair("state", state);
            }
            see_other(url.as_str())
        }
        None => render(StatusCode::OK, &SignedOutPage),
    };
    let _ = response.add_cookie(&session::removal_cookie(state));
    response
}
