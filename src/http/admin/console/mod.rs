//! The admin console at `/admin`: server-rendered pages with CSRF-protected forms, for
//! users with the admin role. Anonymous browsers go to the login page; others get 403.

mod audit;
mod clients;
mod keys;
mod users;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::api::auth::AdminCaller;
use crate::domain::users::User;
use crate::http::login::password::csrf_failure;
use crate::http::pages::{error_page, internal_error, render, see_other};
use crate::http::{csrf, session, source_ip};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(show_home))
        .route("/admin/users", web::get().to(users::list))
        .route("/admin/users", web::post().to(users::create))
        .route("/admin/users/{id}", web::get().to(users::show))
        .route("/admin/users/{id}", web::post().to(users::update))
        .route("/admin/users/{id}/{action}", web::post().to(users::act))
        .route("/admin/users/{id}/passkeys/{passkey_id}/delete", web::post().to(users::delete_passkey))
        .route("/admin/users/{id}/grants/{grant_id}/end", web::post().to(users::end_grant))
        .route("/admin/users/{id}/sessions/{handle}/end", web::post().to(users::end_session))
        .route("/admin/clients", web::get().to(clients::list))
        .route("/admin/clients", web::post().to(clients::create))
        .route("/admin/clients/{id}", web::get().to(clients::show))
        .route("/admin/clients/{id}", web::post().to(clients::update))
        .route("/admin/clients/{id}/secret", web::post().to(clients::rotate_secret))
        .route("/admin/clients/{id}/delete", web::post().to(clients::delete))
        .route("/admin/keys", web::get().to(keys::list))
        .route("/admin/keys/rotate", web::post().to(keys::rotate))
        .route("/admin/audit", web::get().to(audit::list));
}

/// The signed-in admin and a CSRF token for the page's forms.
pub struct Admin {
    pub user: User,
    pub caller: AdminCaller,
    pub csrf_token: String,
    new_cookie: Option<actix_web::cookie::Cookie<'static>>,
}

impl Admin {
    /// Renders a page, setting the CSRF cookie if the browser had none.
    pub fn page(&self, page: &impl Template) -> HttpResponse {
        let mut response = render(StatusCode::OK, page);
        if let Some(cookie) = &self.new_cookie {
            let _ = response.add_cookie(cookie);
        }
        response
    }
}

/// Lets admins through; sends anonymous browsers to sign in and refuses everyone else.
pub async fn admin(state: &AppState, request: &HttpRequest) -> Result<Admin, HttpResponse> {
    let user = match session::current(state, request).await {
        Ok(Some((_, user))) => user,
        Ok(None) => return Err(see_other("/login")),
        Err(error) => return Err(internal_error(&error)),
    };
    if !user.admin {
        return Err(error_page(StatusCode::FORBIDDEN, "Admins only", "Your account does not have the admin role."));
    }
    let (csrf_token, new_cookie) = csrf::token(request, &state.settings);
    let caller = AdminCaller { user_id: Some(user.id.clone()), client_id: None, source_ip: source_ip(request) };
    Ok(Admin { user, caller, csrf_token, new_cookie })
}

/// Like [`admin`], for a form POST: the CSRF token must match as well.
pub async fn admin_form(
    state: &AppState,
    request: &HttpRequest,
    submitted: Option<&str>,
) -> Result<Admin, HttpResponse> {
    let admin = admin(state, request).await?;
    if !csrf::verify(request, submitted) {
        return Err(csrf_failure());
    }
    Ok(admin)
}

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage<'a> {
    username: &'a str,
}

async fn show_home(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    match admin(&state, &request).await {
        Ok(admin) => admin.page(&HomePage { username: &admin.user.username }),
        Err(response) => response,
    }
}
