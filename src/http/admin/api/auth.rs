//! Who may call the admin API: a Bearer access token with the `admin` scope, issued to an
//! admin user or (client credentials) to a client an admin allowed the `admin` scope; or an
//! admin's browser session together with the `X-CSRF-Token` header.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use super::error::ApiError;
use crate::domain::audit::Actor;
use crate::domain::model::scopes::ADMIN;
use crate::domain::{assurance, clients, now, tokens};
use crate::http::extract::{bearer_token, checked_browser};
use crate::http::{session, source_ip};
use crate::state::AppState;

/// `mfa.required_for_admins`: the caller signed in with a password alone.
const NEEDS_MFA: &str = "the admin API needs a multi-factor sign-in (mfa.required_for_admins)";

/// The authenticated caller of an admin API request: an admin user or an admin client.
#[derive(Debug, Clone)]
pub struct AdminCaller(pub Actor);

impl FromRequest for AdminCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<AdminCaller, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move { authorize(&request).await.map(AdminCaller) })
    }
}

async fn authorize(request: &HttpRequest) -> Result<Actor, ApiError> {
    let state =
        request.app_data::<web::Data<AppState>>().ok_or_else(|| ApiError::unexpected(&anyhow::anyhow!("no state")))?;
    let source_ip = source_ip(request);
    if let Some(token) = bearer_token(request) {
        let access = tokens::verify_access_token(state, token, now()).await.map_err(|_| ApiError::unauthorized())?;
        // A token for an API (RFC 8707) is that API's, never the admin API's.
        // A DPoP-bound token is never good as a Bearer token (RFC 9449 §7.1).
        if access.claims.cnf.is_some() {
            return Err(ApiError::unauthorized());
        }
        if access.claims.aud != access.claims.client_id || !access.claims.scopes().contains(ADMIN) {
            return Err(ApiError::forbidden("the token does not carry the admin scope"));
        }
        return match access.user {
            None => {
                let client = clients::find_enabled(&state.db, &access.claims.client_id).await?;
                if !client.is_some_and(|c| c.allowed_scopes.contains(ADMIN)) {
                    return Err(ApiError::forbidden("this client is not allowed the admin scope"));
                }
                Ok(Actor::AdminClient { client_id: access.claims.client_id, source_ip })
            }
            Some(user) if user.admin => {
                let multi_factor = access.claims.acr.as_deref() == Some(assurance::ACR_MFA);
                if !assurance::admin_access_allowed(&state.settings.mfa, multi_factor) {
                    return Err(ApiError::forbidden(NEEDS_MFA));
                }
                Ok(Actor::Admin { user_id: user.id, source_ip })
            }
            Some(_) => Err(ApiError::forbidden("only admins may use the admin API")),
        };
    }
    match session::current(state, request).await? {
        Some(_) if checked_browser(request).is_none() => {
            Err(ApiError::forbidden("a browser session needs the X-CSRF-Token header"))
        }
        Some((_, user)) if user.must_change_password => {
            Err(ApiError::forbidden("choose a new password at /account/password first"))
        }
        Some((session, user)) if user.admin => {
            if !assurance::admin_access_allowed(&state.settings.mfa, assurance::is_multi_factor(&session.amr)) {
                return Err(ApiError::forbidden(NEEDS_MFA));
            }
            Ok(Actor::Admin { user_id: user.id, source_ip })
        }
        Some(_) => Err(ApiError::forbidden("only admins may use the admin API")),
        None => Err(ApiError::unauthorized()),
    }
}
