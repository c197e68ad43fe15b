//! `/setup?token=…`: the first admin, made from the one-time link `serve` logs while no
//! admin exists. The page asks for a username (and an address); the admin then chooses a
//! password or a passkey on the invitation page it leads to. Once an admin exists: 404.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::setup::{self, SetupError};
use crate::http::csrf::{self, FormToken};
use crate::http::pages::{PageError, render, see_other};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login/setup.html")]
struct SetupPage<'a> {
    csrf_token: &'a str,
    token: &'a str,
    username: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
pub struct SetupForm {
    csrf_token: Option<String>,
    #[serde(default)]
    token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
}

impl From<SetupError> for PageError {
    fn from(error: SetupError) -> Self {
        match error {
            SetupError::Finished => PageError::NotFound,
            SetupError::InvalidToken => PageError::bad_request(
                "This setup link does not work",
                "It was used already or has expired. Restart Latchkey to log a new one.",
            ),
            SetupError::User(error) => error.into(),
            SetupError::Unexpected(error) => PageError::Unexpected(error),
        }
    }
}

pub async fn show(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<SetupQuery>,
) -> Result<HttpResponse, PageError> {
    setup::check(&state, &query.token).await?;
    let form = FormToken::new(&request, &state.settings);
    let page = SetupPage { csrf_token: &form.token, token: &query.token, username: "", email: "", error: None };
    Ok(form.render(StatusCode::OK, &page))
}

pub async fn submit(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, PageError> {
    csrf::require(&request, form.csrf_token.as_deref())?;
    let email = Some(form.email.as_str()).filter(|e| !e.trim().is_empty());
    match setup::create_first_admin(&state, &form.token, &form.username, email).await {
        Ok(invitation) => {
            // The link's own path and token: the browser stays on this server.
            let path = invitation.find("/invite?").map(|at| &invitation[at..]).unwrap_or("/login");
            Ok(see_other(path))
        }
        Err(SetupError::User(error)) if !matches!(error, crate::domain::users::UserError::Unexpected(_)) => {
            let message = error.to_string();
            let csrf_token = form.csrf_token.clone().unwrap_or_default();
            let page = SetupPage {
                csrf_token: &csrf_token,
                token: &form.token,
                username: &form.username,
                email: &form.email,
                error: Some(&message),
            };
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
        Err(error) => Err(error.into()),
    }
}
