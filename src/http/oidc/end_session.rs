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

use crate::domain::clients::ClientError;
use crate::domain::tokens::{self, IdTokenHint};
use crate::domain::{clients, grants, now};
use crate::http::csrf::{self, FormToken};
use crate::http::pages::{PageError, render, see_other};
use crate::http::session;
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
) -> Result<HttpResponse, PageError> {
    logout(&state, &request, params.into_inner(), false).await
}

pub async fn logout_post(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: web::Form<LogoutParams>,
) -> Result<HttpResponse, PageError> {
    logout(&state, &request, params.into_inner(), true).await
}

fn bad(message: &str) -> PageError {
    PageError::bad_request("This sign-out request is not valid", message)
}

async fn logout(
    state: &AppState,
    request: &HttpRequest,
    params: LogoutParams,
    posted: bool,
) -> Result<HttpResponse, PageError> {
    let hint: Option<IdTokenHint> = match params.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        Some(raw) => {
            let not_ours = || bad("The id_token_hint was not issued by this server.");
            let hint = tokens::verify_id_token_hint(&state.settings, &state.keyring, raw).ok_or_else(not_ours)?;
            // Its audience must be one of our clients: an ID token, issued to an application.
            match clients::find_client(&state.db, &hint.aud).await {
                Err(ClientError::NotFound(_)) => return Err(not_ours()),
                found => found?,
            };
            Some(hint)
        }
        None => None,
    };
    let client_id = match (params.client_id.as_deref().filter(|c| !c.is_empty()), &hint) {
        (Some(id), Some(hint)) if id != hint.aud => {
            return Err(bad("client_id does not match the id_token_hint."));
        }
        (Some(id), _) => Some(id.to_string()),
        (None, Some(hint)) => Some(hint.aud.clone()),
        (None, None) => None,
    };
    // Checked before anything else happens: never redirect to an unregistered URI.
    let redirect = match params.post_logout_redirect_uri.as_deref().filter(|u| !u.is_empty()) {
        Some(uri) => {
            let Some(client_id) = &client_id else {
                return Err(bad("post_logout_redirect_uri needs client_id or id_token_hint."));
            };
            let client = clients::find_usable(state, client_id).await?;
            if !client.is_some_and(|c| c.post_logout_redirect_uris.iter().any(|registered| registered == uri)) {
                return Err(bad("The post_logout_redirect_uri is not registered for this application."));
            }
            Some(uri.to_string())
        }
        None => None,
    };

    let signed_in = session::current(state, request).await?;
    let hint_matches = match (&hint, &signed_in) {
        (Some(hint), Some((_, user))) => hint.sub == user.id,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let confirmed = posted && csrf::verify(request, params.csrf_token.as_deref());
    if signed_in.is_some() && !hint_matches && !confirmed {
        let form = FormToken::new(request, &state.settings);
        let page = ConfirmPage {
            csrf_token: &form.token,
            client_id: client_id.as_deref().unwrap_or_default(),
            post_logout_redirect_uri: redirect.as_deref().unwrap_or_default(),
            state: params.state.as_deref().unwrap_or_default(),
        };
        return Ok(form.render(StatusCode::OK, &page));
    }

    if let Some((browser_session, user)) = &signed_in {
        grants::sign_out(state, &browser_session.id, now()).await?;
        tracing::info!(user_id = %user.id, "signed out");
    }
    let mut response = match redirect {
        Some(uri) => {
            let mut url = Url::parse(&uri).map_err(|_| bad("The post_logout_redirect_uri is malformed."))?;
            if let Some(state) = params.state.as_deref().filter(|s| !s.is_empty()) {
                url.query_pairs_mut().append_pair("state", state);
            }
            see_other(url.as_str())
        }
        None => render(StatusCode::OK, &SignedOutPage),
    };
    let _ = response.add_cookie(&session::removal_cookie(state));
    Ok(response)
}
