//! `/admin/api/upstreams`: upstream identity providers ("Continue with …"). The client
//! secret is write-only: it is sealed under the master key and never shown again.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, delete, get, post, put, web};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::AdminCaller;
use super::error::ApiError;
use crate::domain::upstream::{self, ProviderSettings, UpstreamKind, UpstreamProvider};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct UpstreamView {
    name: String,
    kind: UpstreamKind,
    display_name: String,
    icon_url: Option<String>,
    issuer: String,
    api_url: Option<String>,
    client_id: String,
    scopes: Vec<String>,
    enabled: bool,
    auto_create: bool,
    trust_email: bool,
    trust_mfa: bool,
    username_claim: String,
    /// Profile field (`display_name`, `email`) → upstream claim.
    profile_claims: BTreeMap<String, String>,
    groups_claim: Option<String>,
    /// Upstream group value → Latchkey group.
    group_map: BTreeMap<String, String>,
    /// The redirect URI to register at the upstream.
    redirect_uri: String,
    created_at: i64,
}

fn view(state: &AppState, provider: UpstreamProvider) -> UpstreamView {
    UpstreamView {
        redirect_uri: upstream::redirect_uri(state, &provider.name),
        name: provider.name,
        kind: provider.kind,
        display_name: provider.display_name,
        icon_url: provider.icon_url,
        issuer: provider.issuer,
        api_url: provider.api_url,
        client_id: provider.client_id,
        scopes: provider.scopes,
        enabled: provider.enabled,
        auto_create: provider.auto_create,
        trust_email: provider.trust_email,
        trust_mfa: provider.trust_mfa,
        username_claim: provider.username_claim,
        profile_claims: provider.profile_claims,
        groups_claim: provider.groups_claim,
        group_map: provider.group_map,
        created_at: provider.created_at,
    }
}

fn default_true() -> bool {
    true
}

#[derive(Deserialize, ToSchema)]
pub struct UpstreamBody {
    /// Only when creating; the path names the upstream otherwise.
    name: Option<String>,
    /// `oidc` (the default) or `github`.
    kind: Option<UpstreamKind>,
    display_name: Option<String>,
    icon_url: Option<String>,
    /// OpenID Connect: the issuer. GitHub: empty for github.com, or the Enterprise URL.
    #[serde(default)]
    issuer: String,
    api_url: Option<String>,
    client_id: String,
    /// Required when creating; absent on an update keeps the stored secret.
    #[schema(value_type = Option<String>)]
    client_secret: Option<SecretString>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default = "default_true")]
    enabled: bool,
    #[serde(default)]
    auto_create: bool,
    #[serde(default)]
    trust_email: bool,
    #[serde(default)]
    trust_mfa: bool,
    username_claim: Option<String>,
    #[serde(default)]
    profile_claims: BTreeMap<String, String>,
    groups_claim: Option<String>,
    #[serde(default)]
    group_map: BTreeMap<String, String>,
}

impl UpstreamBody {
    fn settings(self) -> ProviderSettings {
        ProviderSettings {
            kind: self.kind.unwrap_or(UpstreamKind::Oidc),
            display_name: self.display_name,
            icon_url: self.icon_url,
            issuer: self.issuer,
            api_url: self.api_url,
            client_id: self.client_id,
            secret: self.client_secret,
            scopes: self.scopes,
            enabled: self.enabled,
            auto_create: self.auto_create,
            trust_email: self.trust_email,
            trust_mfa: self.trust_mfa,
            username_claim: self.username_claim,
            profile_claims: self.profile_claims,
            groups_claim: self.groups_claim,
            group_map: self.group_map,
        }
    }
}

#[utoipa::path(tag = "upstreams", responses((status = 200, body = Vec<UpstreamView>)))]
#[get("/upstreams")]
pub async fn list_upstreams(
    _caller: AdminCaller,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<UpstreamView>>, ApiError> {
    let list = upstream::list_upstreams(&state.db).await?;
    Ok(web::Json(list.into_iter().map(|p| view(&state, p)).collect()))
}

#[utoipa::path(tag = "upstreams", request_body = UpstreamBody, responses((status = 201, body = UpstreamView), (status = 400, body = ApiError), (status = 409, body = ApiError)))]
#[post("/upstreams")]
pub async fn create_upstream(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<UpstreamBody>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body.into_inner();
    let name = body.name.take().ok_or_else(|| ApiError::invalid("name", "required"))?;
    let provider = upstream::add_upstream(&state, &actor, &name, body.settings()).await?;
    Ok(HttpResponse::Created().json(view(&state, provider)))
}

#[utoipa::path(tag = "upstreams", responses((status = 200, body = UpstreamView), (status = 404, body = ApiError)))]
#[get("/upstreams/{name}")]
pub async fn get_upstream(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<web::Json<UpstreamView>, ApiError> {
    Ok(web::Json(view(&state, upstream::find_upstream(&state.db, &name).await?)))
}

#[utoipa::path(tag = "upstreams", request_body = UpstreamBody, responses((status = 200, body = UpstreamView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
#[put("/upstreams/{name}")]
pub async fn update_upstream(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<UpstreamBody>,
) -> Result<web::Json<UpstreamView>, ApiError> {
    let provider = upstream::update_upstream(&state, &actor, &name, body.into_inner().settings()).await?;
    Ok(web::Json(view(&state, provider)))
}

#[utoipa::path(tag = "upstreams", responses((status = 204), (status = 404, body = ApiError)))]
#[delete("/upstreams/{name}")]
pub async fn delete_upstream(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    upstream::delete_upstream(&state, &actor, &name).await?;
    Ok(HttpResponse::NoContent().finish())
}
