//! `/admin/upstreams`: upstream identity providers ("Continue with …"): add, edit, delete.
//! The client secret is write-only: an empty field on an edit keeps the stored one.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::{admin, admin_form};
use crate::domain::upstream::{self, ProviderSettings, UpstreamError, UpstreamKind, UpstreamProvider};
use crate::http::branding::see_other_with_flash;
use crate::http::pages::PageError;
use crate::state::AppState;

struct Row {
    provider: UpstreamProvider,
    redirect_uri: String,
    profile_claims: String,
    group_map: String,
}

#[derive(Template)]
#[template(path = "admin/upstreams.html")]
struct UpstreamsPage<'a> {
    csrf_token: &'a str,
    rows: Vec<Row>,
    /// `{issuer}/login/upstream/NAME/callback`, for the add form's hint.
    redirect_pattern: String,
    error: Option<String>,
}

fn lines(map: &BTreeMap<String, String>) -> String {
    map.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n")
}

async fn page<'a>(
    state: &AppState,
    csrf_token: &'a str,
    error: Option<String>,
) -> Result<UpstreamsPage<'a>, PageError> {
    let rows = upstream::list_upstreams(&state.db)
        .await
        .map_err(|e| PageError::Unexpected(anyhow::anyhow!(e)))?
        .into_iter()
        .map(|provider| Row {
            redirect_uri: upstream::redirect_uri(state, &provider.name),
            profile_claims: lines(&provider.profile_claims),
            group_map: lines(&provider.group_map),
            provider,
        })
        .collect();
    Ok(UpstreamsPage { csrf_token, rows, redirect_pattern: upstream::redirect_uri(state, "NAME"), error })
}

pub async fn list(state: web::Data<AppState>, request: HttpRequest) -> Result<HttpResponse, PageError> {
    let admin = admin(&state, &request).await?;
    Ok(admin.page(&page(&state, admin.csrf_token(), None).await?))
}

#[derive(Deserialize)]
pub struct UpstreamForm {
    csrf_token: Option<String>,
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    icon_url: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    api_url: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    scopes: String,
    enabled: Option<String>,
    auto_create: Option<String>,
    trust_email: Option<String>,
    trust_mfa: Option<String>,
    #[serde(default)]
    username_claim: String,
    #[serde(default)]
    profile_claims: String,
    #[serde(default)]
    groups_claim: String,
    #[serde(default)]
    group_map: String,
}

fn pairs(text: &str, what: &str) -> Result<BTreeMap<String, String>, UpstreamError> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| match line.split_once('=') {
            Some((key, value)) => Ok((key.trim().to_string(), value.trim().to_string())),
            None => Err(UpstreamError::InvalidMapping(format!("{what}: {line:?} is not KEY=VALUE"))),
        })
        .collect()
}

impl UpstreamForm {
    fn settings(&self) -> Result<ProviderSettings, UpstreamError> {
        let optional = |value: &str| Some(value.trim().to_string()).filter(|v| !v.is_empty());
        Ok(ProviderSettings {
            kind: UpstreamKind::parse(self.kind.trim()).unwrap_or(UpstreamKind::Oidc),
            display_name: optional(&self.display_name),
            icon_url: optional(&self.icon_url),
            issuer: self.issuer.clone(),
            api_url: optional(&self.api_url),
            client_id: self.client_id.clone(),
            secret: optional(&self.client_secret).map(SecretString::from),
            scopes: vec![self.scopes.clone()],
            enabled: self.enabled.is_some(),
            auto_create: self.auto_create.is_some(),
            trust_email: self.trust_email.is_some(),
            trust_mfa: self.trust_mfa.is_some(),
            username_claim: optional(&self.username_claim),
            profile_claims: pairs(&self.profile_claims, "profile claims")?,
            groups_claim: optional(&self.groups_claim),
            group_map: pairs(&self.group_map, "group mapping")?,
        })
    }
}

pub async fn create(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<UpstreamForm>,
) -> Result<HttpResponse, PageError> {
    save(&state, &request, &form, true).await
}

pub async fn update(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<UpstreamForm>,
) -> Result<HttpResponse, PageError> {
    save(&state, &request, &form, false).await
}

async fn refused(state: &AppState, admin: &super::Admin, error: UpstreamError) -> Result<HttpResponse, PageError> {
    if let UpstreamError::Unexpected(error) = error {
        return Err(error.into());
    }
    let page = page(state, admin.csrf_token(), Some(error.to_string())).await?;
    Ok(admin.form.render(actix_web::http::StatusCode::BAD_REQUEST, &page))
}

async fn save(
    state: &AppState,
    request: &HttpRequest,
    form: &UpstreamForm,
    new: bool,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(state, request, form.csrf_token.as_deref()).await?;
    let name = form.name.trim();
    let result = match form.settings() {
        Ok(settings) if new => upstream::add_upstream(state, &admin.actor, name, settings).await,
        Ok(settings) => upstream::update_upstream(state, &admin.actor, name, settings).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(_) if new => Ok(see_other_with_flash("/admin/upstreams", "upstream-created")),
        Ok(_) => Ok(see_other_with_flash("/admin/upstreams", "saved")),
        Err(error) => refused(state, &admin, error).await,
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf_token: Option<String>,
    name: String,
}

pub async fn delete(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    match upstream::delete_upstream(&state, &admin.actor, &form.name).await {
        Ok(()) => Ok(see_other_with_flash("/admin/upstreams", "upstream-deleted")),
        Err(error) => refused(&state, &admin, error).await,
    }
}
