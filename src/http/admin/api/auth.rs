//! Who may call the admin API: a Bearer access token with the `admin` scope, issued to an
//! admin user or (client credentials) to a client an admin allowed the `admin` scope; or an
//! admin's browser session together with the `X-CSRF-Token` header.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use super::error::ApiError;
use crate::domain::{clients, now, tokens};
use crate::http::login::passkey::checked_browser;
use crate::http::oidc::userinfo::bearer_token;
use crate::http::session;
use crate::state::AppState;
use crate::store::db;

/// The authenticated caller of an admin API request.
#[derive(Debug, Clone)]
pub struct AdminCaller {
    /// The admin user, when a user (token or session) is calling.
    pub user_id: Option<String>,
    /// The client, when a client acts for itself (client credentials).
    pub client_id: Option<String>,
    pub source_ip: Option<String>,
}

impl FromRequest for AdminCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<AdminCaller, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move { authorize(&request).await })
    }
}

async fn authorize(request: &HttpRequest) -> Result<AdminCaller, ApiError> {
    let state =
        request.app_data::<web::Data<AppState>>().ok_or_else(|| ApiError::unexpected(&anyhow::anyhow!("no state")))?;
    let source_ip = request.peer_addr().map(|addr| addr.ip().to_string());
    if let Some(token) = bearer_token(request) {
        let claims = tokens::verify_access_token(&state.settings, &state.keyring, &state.ephemeral, token, now())
            .await
            .map_err(|_| ApiError::unauthorized())?;
        if !claims.scopes().iter().any(|s| s == "admin") {
            return Err(ApiError::forbidden("the token does not carry the admin scope"));
        }
        let acts_for_itself = claims.sid.is_none() && claims.sub == claims.client_id;
        if acts_for_itself {
            let client = clients::find_enabled(&state.db, &claims.client_id).await?;
            if !client.is_some_and(|c| c.allowed_scopes.iter().any(|s| s == "admin")) {
                return Err(ApiError::forbidden("this client is not allowed the admin scope"));
            }
            return Ok(AdminCaller { user_id: None, client_id: Some(claims.client_id), source_ip });
        }
        let user = db::users::find_by_id(&state.db, &claims.sub).await?;
        return match user {
            Some(user) if user.admin && !user.disabled => {
                Ok(AdminCaller { user_id: Some(user.id), client_id: None, source_ip })
            }
            _ => Err(ApiError::forbidden("only admins may use the admin API")),
        };
    }
    match session::current(state, request).await? {
        Some((_, user)) if checked_browser(request).is_none() => {
            let _ = user;
            Err(ApiError::forbidden("a browser session needs the X-CSRF-Token header"))
        }
        Some((_, user)) if user.admin => Ok(AdminCaller { user_id: Some(user.id), client_id: None, source_ip }),
        Some(_) => Err(ApiError::forbidden("only admins may use the admin API")),
        None => Err(ApiError::unauthorized()),
    }
}
