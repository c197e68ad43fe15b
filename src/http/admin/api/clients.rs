//! `/admin/api/clients`: register, read, edit, disable, delete clients; rotate secrets.

use actix_web::{HttpResponse, delete, get, post, put, web};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::AdminCaller;
use super::error::ApiError;
use crate::domain::clients::{self, Client, ClientKeys, ClientSettings, NewClient};
use crate::domain::registration;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct ClientView {
    client_id: String,
    name: String,
    public: bool,
    first_party: bool,
    /// PKCE is required even though the client is confidential.
    require_pkce: bool,
    /// Only pushed authorization requests (RFC 9126) are accepted.
    require_pushed_authorization_requests: bool,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    /// An https URL of the client's logo, shown on its consent page.
    logo_uri: Option<String>,
    scope: String,
    grants: Vec<String>,
    enabled: bool,
    /// Registered itself (RFC 7591), not by an admin.
    self_registered: bool,
    created_at: i64,
    /// Only in the answer that created or rotated it: store it now.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

fn view(client: Client, secret: Option<SecretString>) -> ClientView {
    ClientView {
        grants: client.allowed_grants.iter().map(|g| g.as_str().to_string()).collect(),
        scope: client.allowed_scopes.to_string(),
        client_id: client.id,
        name: client.name,
        public: client.public,
        first_party: client.first_party,
        require_pkce: client.require_pkce,
        require_pushed_authorization_requests: client.require_par,
        redirect_uris: client.redirect_uris,
        post_logout_redirect_uris: client.post_logout_redirect_uris,
        backchannel_logout_uri: client.backchannel_logout_uri,
        logo_uri: client.logo_uri,
        enabled: client.enabled,
        self_registered: client.dynamic,
        created_at: client.created_at,
        client_secret: secret.map(|s| s.expose_secret().to_string()),
    }
}

#[utoipa::path(tag = "clients", responses((status = 200, body = Vec<ClientView>)))]
#[get("/clients")]
pub async fn list_clients(
    _caller: AdminCaller,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<ClientView>>, ApiError> {
    Ok(web::Json(clients::list_clients(&state.db).await?.into_iter().map(|c| view(c, None)).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct NewClientBody {
    client_id: String,
    name: Option<String>,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    first_party: bool,
    #[serde(default)]
    require_pkce: bool,
    #[serde(default)]
    require_pushed_authorization_requests: bool,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    /// An https URL of the client's logo, shown on its consent page.
    logo_uri: Option<String>,
    #[serde(default = "clients::default_scope")]
    scope: String,
    #[serde(default = "clients::default_grants")]
    grants: Vec<String>,
    /// `private_key_jwt` (RFC 7523): the client's public keys, a JWK Set…
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// …or where it publishes them. A client with keys gets no secret.
    jwks_uri: Option<String>,
}

#[utoipa::path(tag = "clients", request_body = NewClientBody, responses((status = 201, body = ClientView), (status = 400, body = ApiError), (status = 409, body = ApiError)))]
#[post("/clients")]
pub async fn create_client(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<NewClientBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = NewClient {
        id: body.client_id,
        name: body.name,
        public: body.public,
        first_party: body.first_party,
        require_pkce: body.require_pkce,
        require_par: body.require_pushed_authorization_requests,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        backchannel_logout_uri: body.backchannel_logout_uri.filter(|u| !u.is_empty()),
        scopes: body.scope,
        grants: body.grants,
        secret: None,
        keys: match (body.jwks, body.jwks_uri) {
            (Some(jwks), _) => Some(ClientKeys::Jwks(jwks.to_string())),
            (None, Some(uri)) => Some(ClientKeys::JwksUri(uri)),
            (None, None) => None,
        },
        logo_uri: body.logo_uri,
    };
    let added = clients::add_client(&state, &actor, new).await?;
    Ok(HttpResponse::Created().json(view(added.client, added.generated_secret)))
}

#[utoipa::path(tag = "clients", responses((status = 200, body = ClientView), (status = 404, body = ApiError)))]
#[get("/clients/{id}")]
pub async fn get_client(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<ClientView>, ApiError> {
    Ok(web::Json(view(clients::find_client(&state.db, &id).await?, None)))
}

#[derive(Deserialize, ToSchema)]
pub struct ClientBody {
    name: String,
    first_party: bool,
    #[serde(default)]
    require_pkce: bool,
    #[serde(default)]
    require_pushed_authorization_requests: bool,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    /// An https URL of the client's logo, shown on its consent page.
    logo_uri: Option<String>,
    scope: String,
    grants: Vec<String>,
    enabled: bool,
}

#[utoipa::path(tag = "clients", request_body = ClientBody, responses((status = 200, body = ClientView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
#[put("/clients/{id}")]
pub async fn update_client(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<ClientBody>,
) -> Result<web::Json<ClientView>, ApiError> {
    let body = body.into_inner();
    let settings = ClientSettings {
        name: body.name,
        first_party: body.first_party,
        require_pkce: body.require_pkce,
        require_par: body.require_pushed_authorization_requests,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        backchannel_logout_uri: body.backchannel_logout_uri.filter(|u| !u.is_empty()),
        scopes: body.scope,
        grants: body.grants,
        enabled: body.enabled,
        logo_uri: body.logo_uri,
    };
    let client = clients::update_client(&state, &actor, &id, settings).await?;
    Ok(web::Json(view(client, None)))
}

#[utoipa::path(tag = "clients", responses((status = 204), (status = 404, body = ApiError)))]
#[delete("/clients/{id}")]
pub async fn delete_client(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    clients::delete_client(&state, &actor, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
pub struct InitialAccessTokenBody {
    #[serde(default)]
    description: String,
    /// How many clients may register with it (default 1).
    uses: Option<u64>,
    /// How long it is good for, in seconds (default a day).
    ttl_secs: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct InitialAccessTokenView {
    /// Shown once: hand it to the client developer, who sends it as a Bearer token to `/register`.
    initial_access_token: String,
    expires_at: i64,
}

#[utoipa::path(tag = "clients", request_body = InitialAccessTokenBody, responses((status = 201, body = InitialAccessTokenView), (status = 400, body = ApiError)))]
#[post("/clients/registration-tokens")]
pub async fn issue_registration_token(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<InitialAccessTokenBody>,
) -> Result<HttpResponse, ApiError> {
    let ttl = std::time::Duration::from_secs(body.ttl_secs.unwrap_or(86_400));
    let (token, expires_at) =
        registration::issue_initial_access_token(&state, &actor, &body.description, body.uses.unwrap_or(1), ttl)
            .await?;
    let view = InitialAccessTokenView { initial_access_token: token.expose_secret().to_string(), expires_at };
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(tag = "clients", responses((status = 200, body = ClientView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
#[post("/clients/{id}/secret")]
pub async fn rotate_secret(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<ClientView>, ApiError> {
    let secret = clients::rotate_secret(&state, &actor, &id).await?;
    Ok(web::Json(view(clients::find_client(&state.db, &id).await?, Some(secret))))
}
