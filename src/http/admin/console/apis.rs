//! `/admin/apis`: the API resources tokens are issued for (RFC 8707): register, edit,
//! delete. The identifier (a URI) travels in the form, not the path.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{admin, admin_form};
use crate::domain::resources::{self, ApiError, ApiResource, ApiSettings};
use crate::http::branding::see_other_with_flash;
use crate::http::pages::PageError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/apis.html")]
struct ApisPage<'a> {
    csrf_token: &'a str,
    apis: Vec<ApiResource>,
    error: Option<String>,
}

pub async fn list(state: web::Data<AppState>, request: HttpRequest) -> Result<HttpResponse, PageError> {
    let admin = admin(&state, &request).await?;
    let apis = resources::list_apis(&state.db).await.map_err(anyhow::Error::from)?;
    Ok(admin.page(&ApisPage { csrf_token: admin.csrf_token(), apis, error: None }))
}

#[derive(Deserialize)]
pub struct ApiForm {
    csrf_token: Option<String>,
    identifier: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    access_token_ttl_secs: String,
    require_dpop: Option<String>,
}

impl ApiForm {
    fn settings(&self) -> Result<ApiSettings, ApiError> {
        let ttl = match self.access_token_ttl_secs.trim() {
            "" => None,
            raw => Some(raw.parse().map_err(|_| ApiError::InvalidLifetime)?),
        };
        Ok(ApiSettings {
            name: Some(self.name.clone()),
            scopes: vec![self.scopes.clone()],
            access_token_ttl_secs: ttl,
            require_dpop: self.require_dpop.is_some(),
        })
    }
}

/// The list again, with what went wrong: a mistake in a form is shown, not a 500.
async fn refused(state: &AppState, admin: &super::Admin, error: ApiError) -> Result<HttpResponse, PageError> {
    if let ApiError::Unexpected(error) = error {
        return Err(error.into());
    }
    let apis = resources::list_apis(&state.db).await.map_err(anyhow::Error::from)?;
    let page = ApisPage { csrf_token: admin.csrf_token(), apis, error: Some(error.to_string()) };
    Ok(admin.form.render(actix_web::http::StatusCode::BAD_REQUEST, &page))
}

pub async fn create(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<ApiForm>,
) -> Result<HttpResponse, PageError> {
    save(&state, &request, &form, true).await
}

pub async fn update(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<ApiForm>,
) -> Result<HttpResponse, PageError> {
    save(&state, &request, &form, false).await
}

/// Registers (`new`) or edits an API from the form; a mistake is shown on the list.
async fn save(state: &AppState, request: &HttpRequest, form: &ApiForm, new: bool) -> Result<HttpResponse, PageError> {
    let admin = admin_form(state, request, form.csrf_token.as_deref()).await?;
    let identifier = form.identifier.trim();
    let result = match form.settings() {
        Ok(settings) if new => resources::add_api(state, &admin.actor, identifier, settings).await,
        Ok(settings) => resources::update_api(state, &admin.actor, identifier, settings).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Ok(see_other_with_flash("/admin/apis", "api-created")),
        Err(error) => refused(state, &admin, error).await,
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf_token: Option<String>,
    identifier: String,
}

pub async fn delete(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    match resources::delete_api(&state, &admin.actor, &form.identifier).await {
        Ok(()) => Ok(see_other_with_flash("/admin/apis", "api-deleted")),
        Err(error) => refused(&state, &admin, error).await,
    }
}
