//! `/admin/keys`: the signing keys and their states; rotate now.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{admin, admin_form};
use crate::domain::keys::KeyInfo;
use crate::domain::{format_time, now};
use crate::http::admin::api::audit_admin_action;
use crate::http::pages::{internal_error, see_other};
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

pub async fn list(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let admin = match admin(&state, &request).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
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
    admin.page(&KeysPage { csrf_token: &admin.csrf_token, keys })
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

pub async fn rotate(state: web::Data<AppState>, request: HttpRequest, form: web::Form<CsrfForm>) -> HttpResponse {
    let admin = match admin_form(&state, &request, form.csrf_token.as_deref()).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    if let Err(error) = state.keyring.rotate(&state.db, now()).await {
        return internal_error(&anyhow::anyhow!(error));
    }
    audit_admin_action(&state, &admin.caller, "rotate_keys", None, None).await;
    see_other("/admin/keys")
}
