//! `/admin/api/keys`: the signing keys and their states; rotate now.

use actix_web::{get, post, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::AdminCaller;
use super::error::ApiError;
use crate::domain::keys::{self, KeyInfo};
use crate::domain::now;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct KeyView {
    kid: String,
    generation: i64,
    bits: usize,
    created_at: i64,
    activates_at: i64,
    /// `next`, `active`, `previous` or `retired`.
    state: &'static str,
}

impl From<KeyInfo> for KeyView {
    fn from(key: KeyInfo) -> Self {
        KeyView {
            state: key.state.as_str(),
            kid: key.kid,
            generation: key.generation,
            bits: key.bits,
            created_at: key.created_at,
            activates_at: key.activates_at,
        }
    }
}

#[utoipa::path(tag = "keys", responses((status = 200, body = Vec<KeyView>)))]
#[get("/keys")]
pub async fn list_keys(_caller: AdminCaller, state: web::Data<AppState>) -> web::Json<Vec<KeyView>> {
    web::Json(state.keyring.describe(now()).into_iter().map(KeyView::from).collect())
}

#[derive(Serialize, ToSchema)]
pub struct Revoked {
    revoked: String,
    /// The fresh key that signs from now on, when the revoked key was the signing key.
    signing_key: Option<KeyView>,
}

/// Revokes a key at once (a suspected compromise): it leaves the JWKS and tokens it signed
/// are refused; a fresh key signs from now on if it was the signing key.
#[utoipa::path(tag = "keys", responses((status = 200, body = Revoked), (status = 404, body = ApiError)))]
#[post("/keys/{kid}/revoke")]
pub async fn revoke_key(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    kid: web::Path<String>,
) -> Result<web::Json<Revoked>, ApiError> {
    let fresh = keys::revoke(&state, &actor, &kid, now()).await?;
    Ok(web::Json(Revoked { revoked: kid.into_inner(), signing_key: fresh.map(KeyView::from) }))
}

#[utoipa::path(tag = "keys", responses((status = 200, body = KeyView)))]
#[post("/keys/rotate")]
pub async fn rotate_keys(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
) -> Result<web::Json<KeyView>, ApiError> {
    let key = keys::rotate(&state, &actor, now()).await?;
    Ok(web::Json(key.into()))
}
