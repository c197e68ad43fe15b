//! `/admin/api/apis`: the API resources tokens are issued for (RFC 8707). An API is named
//! in the path by its identifier, percent-encoded as one segment
//! (`/admin/api/apis/https%3A%2F%2Fapi.example%2F`).

use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::AdminCaller;
use super::error::ApiError;
use crate::domain::resources::{self, ApiResource, ApiSettings};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct ApiView {
    /// The absolute URI that is the `aud` of its tokens.
    identifier: String,
    name: String,
    scopes: Vec<String>,
    /// Absent: `tokens.access_token_ttl_secs`.
    access_token_ttl_secs: Option<u64>,
    require_dpop: bool,
    created_at: i64,
}

fn view(api: ApiResource) -> ApiView {
    ApiView {
        scopes: api.scopes.iter().map(str::to_string).collect(),
        identifier: api.identifier,
        name: api.name,
        access_token_ttl_secs: api.access_token_ttl_secs,
        require_dpop: api.require_dpop,
        created_at: api.created_at,
    }
}

#[derive(Deserialize, ToSchema)]
pub struct ApiBody {
    /// Only when creating; the path names the API otherwise.
    identifier: Option<String>,
    name: Option<String>,
    scopes: Vec<String>,
    access_token_ttl_secs: Option<u64>,
    #[serde(default)]
    require_dpop: bool,
}

impl ApiBody {
    fn settings(self) -> ApiSettings {
        ApiSettings {
            name: self.name,
            scopes: self.scopes,
            access_token_ttl_secs: self.access_token_ttl_secs,
            require_dpop: self.require_dpop,
        }
    }
}

#[utoipa::path(tag = "apis", responses((status = 200, body = Vec<ApiView>)))]
#[get("/apis")]
pub async fn list_apis(_caller: AdminCaller, state: web::Data<AppState>) -> Result<web::Json<Vec<ApiView>>, ApiError> {
    Ok(web::Json(resources::list_apis(&state.db).await?.into_iter().map(view).collect()))
}

#[utoipa::path(tag = "apis", request_body = ApiBody, responses((status = 201, body = ApiView), (status = 400, body = ApiError), (status = 409, body = ApiError)))]
#[post("/apis")]
pub async fn create_api(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<ApiBody>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body.into_inner();
    let identifier = body.identifier.take().ok_or_else(|| ApiError::invalid("identifier", "required"))?;
    let api = resources::add_api(&state, &actor, &identifier, body.settings()).await?;
    Ok(HttpResponse::Created().json(view(api)))
}

#[utoipa::path(tag = "apis", responses((status = 200, body = ApiView), (status = 404, body = ApiError)))]
#[get("/apis/{identifier}")]
pub async fn get_api(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    identifier: web::Path<String>,
) -> Result<web::Json<ApiView>, ApiError> {
    Ok(web::Json(view(resources::find_api(&state.db, &identifier).await?)))
}

#[utoipa::path(tag = "apis", request_body = ApiBody, responses((status = 200, body = ApiView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
#[put("/apis/{identifier}")]
pub async fn update_api(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    identifier: web::Path<String>,
    body: web::Json<ApiBody>,
) -> Result<web::Json<ApiView>, ApiError> {
    let api = resources::update_api(&state, &actor, &identifier, body.into_inner().settings()).await?;
    Ok(web::Json(view(api)))
}

#[utoipa::path(tag = "apis", responses((status = 204), (status = 404, body = ApiError)))]
#[delete("/apis/{identifier}")]
pub async fn delete_api(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    identifier: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    resources::delete_api(&state, &actor, &identifier).await?;
    Ok(HttpResponse::NoContent().finish())
}
