//! `/admin/clients`: register, edit, rotate the secret of, disable and delete clients.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::{Admin, admin, admin_form};
use crate::domain::clients::{self, Client, ClientError, ClientSettings, GrantType, NewClient};
use crate::http::admin::api::audit_admin_action;
use crate::http::pages::{internal_error, see_other};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/clients.html")]
struct ClientsPage<'a> {
    csrf_token: &'a str,
    clients: Vec<Client>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/client.html")]
struct ClientPage<'a> {
    csrf_token: &'a str,
    client: Client,
    grant_names: Vec<(&'static str, bool)>,
    secret: Option<String>,
    error: Option<String>,
}

pub async fn list(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    match admin(&state, &request).await {
        Ok(admin) => render_list(&state, &admin, None).await,
        Err(response) => response,
    }
}

async fn render_list(state: &AppState, admin: &Admin, error: Option<String>) -> HttpResponse {
    match clients::list_clients(&state.db).await {
        Ok(all) => admin.page(&ClientsPage { csrf_token: &admin.csrf_token, clients: all, error }),
        Err(error) => internal_error(&anyhow::anyhow!(error)),
    }
}

async fn render_client(
    state: &AppState,
    admin: &Admin,
    id: &str,
    secret: Option<String>,
    error: Option<String>,
) -> HttpResponse {
    let client = match clients::find_client(&state.db, id).await {
        Ok(client) => client,
        Err(ClientError::NotFound(_)) => return crate::http::not_found().await,
        Err(error) => return internal_error(&anyhow::anyhow!(error)),
    };
    let grant_names = GrantType::ALL.iter().map(|g| (g.as_str(), client.allowed_grants.contains(g))).collect();
    admin.page(&ClientPage { csrf_token: &admin.csrf_token, client, grant_names, secret, error })
}

/// Textarea lines to a list.
fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// The grant checkboxes of a form body (`grant=a&grant=b`), which `web::Form` cannot repeat.
fn form_grants(body: &[u8]) -> Vec<String> {
    url::form_urlencoded::parse(body).filter(|(k, _)| k == "grant").map(|(_, v)| v.into_owned()).collect()
}

#[derive(Deserialize)]
struct ClientForm {
    csrf_token: Option<String>,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    client_type: String,
    first_party: Option<String>,
    enabled: Option<String>,
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    post_logout_redirect_uris: String,
    #[serde(default)]
    backchannel_logout_uri: String,
    #[serde(default)]
    scope: String,
}

fn parse_form(body: &[u8]) -> Option<ClientForm> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(body).into_owned().filter(|(k, _)| k != "grant").collect();
    serde_urlencoded::from_str(&serde_urlencoded::to_string(pairs).ok()?).ok()
}

pub async fn create(state: web::Data<AppState>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let Some(form) = parse_form(&body) else { return crate::http::not_found().await };
    let admin = match admin_form(&state, &request, form.csrf_token.as_deref()).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let new = NewClient {
        id: form.client_id.trim().to_string(),
        name: Some(form.name),
        public: form.client_type == "public",
        first_party: form.first_party.is_some(),
        redirect_uris: lines(&form.redirect_uris),
        post_logout_redirect_uris: lines(&form.post_logout_redirect_uris),
        backchannel_logout_uri: Some(form.backchannel_logout_uri.trim().to_string()).filter(|u| !u.is_empty()),
        scopes: form.scope,
        grants: form_grants(&body),
        secret: None,
    };
    match clients::add_client(&state.db, new).await {
        Ok(added) => {
            audit_admin_action(&state, &admin.caller, "create_client", None, Some(&added.client.id)).await;
            let secret = added.generated_secret.map(|s| s.expose_secret().to_string());
            render_client(&state, &admin, &added.client.id, secret, None).await
        }
        Err(ClientError::Unexpected(error)) => internal_error(&error),
        Err(error) => render_list(&state, &admin, Some(error.to_string())).await,
    }
}

pub async fn show(state: web::Data<AppState>, request: HttpRequest, id: web::Path<String>) -> HttpResponse {
    match admin(&state, &request).await {
        Ok(admin) => render_client(&state, &admin, &id, None, None).await,
        Err(response) => response,
    }
}

pub async fn update(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let Some(form) = parse_form(&body) else { return crate::http::not_found().await };
    let admin = match admin_form(&state, &request, form.csrf_token.as_deref()).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let settings = ClientSettings {
        name: form.name,
        first_party: form.first_party.is_some(),
        redirect_uris: lines(&form.redirect_uris),
        post_logout_redirect_uris: lines(&form.post_logout_redirect_uris),
        backchannel_logout_uri: Some(form.backchannel_logout_uri.trim().to_string()).filter(|u| !u.is_empty()),
        scopes: form.scope,
        grants: form_grants(&body),
        enabled: form.enabled.is_some(),
    };
    match clients::update_client(&state.db, &id, settings).await {
        Ok(_) => {
            audit_admin_action(&state, &admin.caller, "update_client", None, Some(&id)).await;
            see_other(&format!("/admin/clients/{id}"))
        }
        Err(ClientError::Unexpected(error)) => internal_error(&error),
        Err(ClientError::NotFound(_)) => crate::http::not_found().await,
        Err(error) => render_client(&state, &admin, &id, None, Some(error.to_string())).await,
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

pub async fn rotate_secret(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let admin = match admin_form(&state, &request, form.csrf_token.as_deref()).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    match clients::rotate_secret(&state.db, &id).await {
        Ok(secret) => {
            audit_admin_action(&state, &admin.caller, "rotate_client_secret", None, Some(&id)).await;
            render_client(&state, &admin, &id, Some(secret.expose_secret().to_string()), None).await
        }
        Err(ClientError::Unexpected(error)) => internal_error(&error),
        Err(ClientError::NotFound(_)) => crate::http::not_found().await,
        Err(error) => render_client(&state, &admin, &id, None, Some(error.to_string())).await,
    }
}

pub async fn delete(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let admin = match admin_form(&state, &request, form.csrf_token.as_deref()).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    match clients::delete_client(&state.db, &id).await {
        Ok(()) => {
            audit_admin_action(&state, &admin.caller, "delete_client", None, Some(&id)).await;
            see_other("/admin/clients")
        }
        Err(ClientError::NotFound(_)) => crate::http::not_found().await,
        Err(error) => internal_error(&anyhow::anyhow!(error)),
    }
}
