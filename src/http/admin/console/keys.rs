//! `/admin/keys`: the signing keys and their states; rotate now.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{admin, admin_form};
use crate::domain::keys::{self, KeyInfo};
use crate::domain::{format_time, now};
use crate::http::branding::see_other_with_flash;
use crate::http::pages::PageError;
use crate::state::AppState;

struct KeyRow {
    kid: String,
    generation: i64,
    bits: usize,
    created: String,
    activates: String,
    state: &'static str,
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct KeysPage<'a> {
    csrf_token: &'a str,
    keys: Vec<KeyRow>,
}

pub async fn list(state: web::Data<AppState>, request: HttpRequest) -> Result<HttpResponse, PageError> {
    let admin = admin(&state, &request).await?;
    let keys = state
        .keyring
        .describe(now())
        .into_iter()
        .map(|key: KeyInfo| KeyRow {
            state: key.state.as_str(),
            created: format_time(key.created_at),
            activates: format_time(key.activates_at),
            kid: key.kid,
            generation: key.generation,
            bits: key.bits,
        })
        .collect();
    Ok(admin.page(&KeysPage { csrf_token: admin.csrf_token(), keys }))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

pub async fn revoke(
    state: web::Data<AppState>,
    request: HttpRequest,
    kid: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    keys::revoke(&state, &admin.actor, &kid, now()).await?;
    Ok(see_other_with_flash("/admin/keys", "key-revoked"))
}

pub async fn rotate(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    keys::rotate(&state, &admin.actor, now()).await?;
    Ok(see_other_with_flash("/admin/keys", "key-rotated"))
}
