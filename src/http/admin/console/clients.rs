//! `/admin/clients`: register, edit, rotate the secret of, disable and delete clients.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::{Admin, admin, admin_form};
use crate::domain::clients::{
    self, ClaimMapping, Client, ClientError, ClientPolicy, ClientSettings, GrantType, NewClient,
};
use crate::http::branding::see_other_with_flash;
use crate::http::pages::{PageError, see_other};
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
    /// The policy as the form shows it.
    allowed_groups: String,
    released_groups: String,
    claim_mappings: String,
    connect: super::connect::ConnectPanel,
}

/// A client operation's error as a page: a mistake in the form is shown on the page
/// (`Ok`), anything else is an error page.
fn form_error(error: ClientError) -> Result<String, PageError> {
    match error {
        ClientError::NotFound(_) | ClientError::Unexpected(_) | ClientError::Forbidden => Err(error.into()),
        other => Ok(other.to_string()),
    }
}

pub async fn list(state: web::Data<AppState>, request: HttpRequest) -> Result<HttpResponse, PageError> {
    let admin = admin(&state, &request).await?;
    render_list(&state, &admin, None).await
}

async fn render_list(state: &AppState, admin: &Admin, error: Option<String>) -> Result<HttpResponse, PageError> {
    let all = clients::list_clients(&state.db).await?;
    Ok(admin.page(&ClientsPage { csrf_token: admin.csrf_token(), clients: all, error }))
}

async fn render_client(
    state: &AppState,
    admin: &Admin,
    id: &str,
    secret: Option<String>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let client = clients::find_client(&state.db, id).await?;
    let grant_names = GrantType::ALL.iter().map(|g| (g.as_str(), client.allowed_grants.contains(g))).collect();
    let policy = &client.policy;
    let page = ClientPage {
        connect: super::connect::ConnectPanel::new(&state.settings, &client),
        csrf_token: admin.csrf_token(),
        allowed_groups: policy.allowed_groups.as_deref().unwrap_or_default().join(" "),
        released_groups: policy.released_groups.as_deref().unwrap_or_default().join(" "),
        claim_mappings: policy
            .claim_mappings
            .iter()
            .map(|m| format!("{} {} {}", m.attribute, m.claim, m.scope))
            .collect::<Vec<_>>()
            .join("\n"),
        client,
        grant_names,
        secret,
        error,
    };
    Ok(admin.page(&page))
}

#[derive(Deserialize)]
pub struct PolicyForm {
    csrf_token: Option<String>,
    #[serde(default)]
    allowed_groups: String,
    #[serde(default)]
    released_groups: String,
    #[serde(default)]
    claim_mappings: String,
    /// A checkbox: present when ticked.
    require_mfa: Option<String>,
    upstream_only: Option<String>,
}

/// The "Groups and claims" form: space-separated lists (empty: no limit) and one mapping
/// per line (`attribute claim scope`).
pub async fn set_policy(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<PolicyForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    let list = |text: &str| {
        let names: Vec<String> =
            text.split([' ', ',', '\n']).map(str::trim).filter(|n| !n.is_empty()).map(str::to_string).collect();
        (!names.is_empty()).then_some(names)
    };
    let mut claim_mappings = Vec::new();
    for line in lines(&form.claim_mappings) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [attribute, claim, scope] = parts.as_slice() else {
            let message = format!("{line:?}: a claim mapping is three words: attribute claim scope");
            return render_client(&state, &admin, &id, None, Some(message)).await;
        };
        claim_mappings.push(ClaimMapping {
            attribute: attribute.to_string(),
            claim: claim.to_string(),
            scope: scope.to_string(),
        });
    }
    let policy = ClientPolicy {
        allowed_groups: list(&form.allowed_groups),
        released_groups: list(&form.released_groups),
        claim_mappings,
        require_mfa: form.require_mfa.is_some(),
        upstream_only: form.upstream_only.is_some(),
    };
    match clients::set_policy(&state, &admin.actor, &id, policy).await {
        Ok(_) => Ok(see_other_with_flash(&format!("/admin/clients/{id}"), "saved")),
        Err(error) => render_client(&state, &admin, &id, None, Some(form_error(error)?)).await,
    }
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
    require_pkce: Option<String>,
    require_pushed_authorization_requests: Option<String>,
    enabled: Option<String>,
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    post_logout_redirect_uris: String,
    #[serde(default)]
    backchannel_logout_uri: String,
    #[serde(default)]
    logo_uri: String,
    #[serde(default)]
    scope: String,
}

fn parse_form(body: &[u8]) -> Result<ClientForm, PageError> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(body).into_owned().filter(|(k, _)| k != "grant").collect();
    serde_urlencoded::to_string(pairs)
        .ok()
        .and_then(|encoded| serde_urlencoded::from_str(&encoded).ok())
        .ok_or(PageError::NotFound)
}

pub async fn create(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = parse_form(&body)?;
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    let new = NewClient {
        id: form.client_id.trim().to_string(),
        name: Some(form.name),
        public: form.client_type == "public",
        first_party: form.first_party.is_some(),
        require_pkce: form.require_pkce.is_some(),
        require_par: form.require_pushed_authorization_requests.is_some(),
        redirect_uris: lines(&form.redirect_uris),
        post_logout_redirect_uris: lines(&form.post_logout_redirect_uris),
        backchannel_logout_uri: Some(form.backchannel_logout_uri.trim().to_string()).filter(|u| !u.is_empty()),
        logo_uri: Some(form.logo_uri.clone()),
        scopes: form.scope,
        grants: form_grants(&body),
        secret: None,
        keys: None,
    };
    match clients::add_client(&state, &admin.actor, new).await {
        Ok(added) => {
            let secret = added.generated_secret.map(|s| s.expose_secret().to_string());
            render_client(&state, &admin, &added.client.id, secret, None).await
        }
        Err(error) => render_list(&state, &admin, Some(form_error(error)?)).await,
    }
}

pub async fn show(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let admin = admin(&state, &request).await?;
    render_client(&state, &admin, &id, None, None).await
}

pub async fn update(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = parse_form(&body)?;
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    let settings = ClientSettings {
        name: form.name,
        first_party: form.first_party.is_some(),
        require_pkce: form.require_pkce.is_some(),
        require_par: form.require_pushed_authorization_requests.is_some(),
        redirect_uris: lines(&form.redirect_uris),
        post_logout_redirect_uris: lines(&form.post_logout_redirect_uris),
        backchannel_logout_uri: Some(form.backchannel_logout_uri.trim().to_string()).filter(|u| !u.is_empty()),
        logo_uri: Some(form.logo_uri.clone()),
        scopes: form.scope,
        grants: form_grants(&body),
        enabled: form.enabled.is_some(),
    };
    match clients::update_client(&state, &admin.actor, &id, settings).await {
        Ok(_) => Ok(see_other(&format!("/admin/clients/{id}"))),
        Err(error) => render_client(&state, &admin, &id, None, Some(form_error(error)?)).await,
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
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    match clients::rotate_secret(&state, &admin.actor, &id).await {
        Ok(secret) => render_client(&state, &admin, &id, Some(secret.expose_secret().to_string()), None).await,
        Err(error) => render_client(&state, &admin, &id, None, Some(form_error(error)?)).await,
    }
}

pub async fn delete(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    clients::delete_client(&state, &admin.actor, &id).await?;
    Ok(see_other_with_flash("/admin/clients", "client-deleted"))
}
