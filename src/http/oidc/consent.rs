//! The consent page: a client that is not first-party asks the signed-in user to allow the
//! scopes it requested. The decision is remembered per user and client (`domain::consents`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::authorization::{self, PendingAuthorization};
use crate::domain::clients::{self, ClaimMapping};
use crate::domain::metadata_documents;
use crate::domain::model::ScopeSet;
use crate::domain::now;
use crate::domain::resources::{self, ApiResource};
use crate::http::csrf::{self, FormToken};
use crate::http::oidc::authorize::{location, pending_request};
use crate::http::pages::{PageError, see_other};
use crate::http::session;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "oidc/consent.html")]
struct ConsentPage<'a> {
    client_name: &'a str,
    username: &'a str,
    permissions: Vec<String>,
    csrf_token: &'a str,
    request_id: &'a str,
    /// For a client that described itself (a metadata document): the host it comes from.
    unregistered_host: Option<String>,
    /// The client's logo (`logo_uri`), if it has one.
    logo_uri: Option<String>,
}

#[derive(Deserialize)]
pub struct ConsentQuery {
    request: String,
}

#[derive(Deserialize)]
pub struct ConsentForm {
    request: String,
    csrf_token: Option<String>,
    decision: String,
}

/// A scope in plain words; a scope the client's claim mappings release attributes on
/// names them, and an API's scope names the API.
fn describe(scope: &str, mappings: &[ClaimMapping], apis: &[ApiResource]) -> String {
    if let Some(api) = apis.iter().find(|api| api.scopes.contains(scope)) {
        return format!("Use “{scope}” on {}", api.name);
    }
    let attributes: Vec<&str> = mappings.iter().filter(|m| m.scope == scope).map(|m| m.attribute.as_str()).collect();
    let base = match scope {
        "openid" => "Know who you are on this account".into(),
        "profile" => "See your name and username".into(),
        "email" => "See your email address".into(),
        "offline_access" => "Stay signed in and act for you while you are away".into(),
        "groups" => "See the groups you belong to".into(),
        other if attributes.is_empty() => format!("Use the “{other}” permission"),
        _ => String::new(),
    };
    match (base.is_empty(), attributes.is_empty()) {
        (_, true) => base,
        (true, false) => format!("See your {}", attributes.join(", ")),
        (false, false) => format!("{base}, and your {}", attributes.join(", ")),
    }
}

/// What `scope` lets `client_id` do, in plain words, one line per scope.
pub async fn describe_all(
    state: &AppState,
    scope: &ScopeSet,
    resources: &[String],
    client_id: &str,
) -> anyhow::Result<Vec<String>> {
    let client = clients::find_usable(state, client_id).await?;
    let mappings = client.map(|client| client.policy.claim_mappings).unwrap_or_default();
    let apis = resources::resolve(&state.db, resources).await?.unwrap_or_default();
    Ok(scope.iter().map(|scope| describe(scope, &mappings, &apis)).collect())
}

/// The pending request a consent page belongs to.
async fn load(state: &AppState, id: &str) -> Result<PendingAuthorization, PageError> {
    pending_request(state, Some(id)).await?.ok_or(PageError::SignInExpired)
}

pub async fn show_consent(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<ConsentQuery>,
) -> Result<HttpResponse, PageError> {
    let pending = load(&state, &query.request).await?;
    let Some((_, user)) = session::current(&state, &request).await? else {
        return Ok(see_other(&format!("/login?request={}", pending.id)));
    };
    let logo_uri = clients::find_usable(&state, &pending.client_id).await?.and_then(|client| client.logo_uri);
    let form = FormToken::new(&request, &state.settings);
    let page = ConsentPage {
        logo_uri,
        client_name: &pending.client_name,
        username: &user.username,
        permissions: describe_all(&state, &pending.scope, &pending.resources, &pending.client_id).await?,
        csrf_token: &form.token,
        request_id: &pending.id,
        unregistered_host: metadata_documents::is_document_id(&pending.client_id)
            .then(|| metadata_documents::host_of(&pending.client_id))
            .flatten(),
    };
    Ok(form.render(StatusCode::OK, &page))
}

pub async fn submit_consent(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<ConsentForm>,
) -> Result<HttpResponse, PageError> {
    csrf::require(&request, form.csrf_token.as_deref())?;
    let pending = load(&state, &form.request).await?;
    let Some((session, user)) = session::current(&state, &request).await? else {
        return Ok(see_other(&format!("/login?request={}", pending.id)));
    };
    let allow = form.decision == "allow";
    let advance = authorization::answer_consent(&state, pending.clone(), (&session, &user), allow, now()).await?;
    Ok(see_other(&location(advance, &pending)?))
}
