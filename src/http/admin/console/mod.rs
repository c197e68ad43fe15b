//! The admin console at `/admin`: server-rendered pages with CSRF-protected forms, for
//! users with the admin role. Anonymous browsers go to the login page; others get 403.

mod apis;
mod audit;
mod clients;
mod connect;
mod dashboard;
mod groups;
mod keys;
mod upstreams;
mod users;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::domain::assurance;
use crate::domain::audit::Actor;
use crate::domain::users::User;
use crate::http::csrf::{self, FormToken};
use crate::http::login::step_up;
use crate::http::pages::PageError;
use crate::http::{session, source_ip};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(dashboard::show))
        .route("/admin/users", web::get().to(users::list))
        .route("/admin/users", web::post().to(users::create))
        .route("/admin/users/invite", web::post().to(users::invite))
        .route("/admin/users/{id}", web::get().to(users::show))
        .route("/admin/users/{id}", web::post().to(users::update))
        .route("/admin/users/{id}/groups", web::post().to(groups::add_user_to_group))
        .route("/admin/users/{id}/attributes", web::post().to(users::set_attributes))
        .route("/admin/users/{id}/groups/{name}/remove", web::post().to(groups::remove_user_from_group))
        .route("/admin/users/{id}/{action}", web::post().to(users::act))
        .route("/admin/users/{id}/passkeys/{passkey_id}/delete", web::post().to(users::delete_passkey))
        .route("/admin/users/{id}/grants/{grant_id}/end", web::post().to(users::end_grant))
        .route("/admin/users/{id}/sessions/{handle}/end", web::post().to(users::end_session))
        .route("/admin/clients", web::get().to(clients::list))
        .route("/admin/clients", web::post().to(clients::create))
        .route("/admin/clients/{id}", web::get().to(clients::show))
        .route("/admin/clients/{id}", web::post().to(clients::update))
        .route("/admin/clients/{id}/secret", web::post().to(clients::rotate_secret))
        .route("/admin/clients/{id}/policy", web::post().to(clients::set_policy))
        .route("/admin/clients/{id}/delete", web::post().to(clients::delete))
        .route("/admin/groups", web::get().to(groups::list))
        .route("/admin/groups", web::post().to(groups::create))
        .route("/admin/groups/{name}", web::get().to(groups::show))
        .route("/admin/groups/{name}", web::post().to(groups::describe))
        .route("/admin/groups/{name}/delete", web::post().to(groups::delete))
        .route("/admin/groups/{name}/members", web::post().to(groups::add_member))
        .route("/admin/groups/{name}/users/{user_id}/remove", web::post().to(groups::remove_user))
        .route("/admin/groups/{name}/groups/{child}/remove", web::post().to(groups::remove_group))
        .route("/admin/apis", web::get().to(apis::list))
        .route("/admin/apis", web::post().to(apis::create))
        .route("/admin/apis/update", web::post().to(apis::update))
        .route("/admin/apis/delete", web::post().to(apis::delete))
        .route("/admin/upstreams", web::get().to(upstreams::list))
        .route("/admin/upstreams", web::post().to(upstreams::create))
        .route("/admin/upstreams/update", web::post().to(upstreams::update))
        .route("/admin/upstreams/delete", web::post().to(upstreams::delete))
        .route("/admin/keys", web::get().to(keys::list))
        .route("/admin/keys/rotate", web::post().to(keys::rotate))
        .route("/admin/keys/{kid}/revoke", web::post().to(keys::revoke))
        .route("/admin/audit", web::get().to(audit::list));
}

/// The signed-in admin, as the actor of the domain operations, and the CSRF token for
/// the page's forms.
pub struct Admin {
    pub user: User,
    pub actor: Actor,
    pub form: FormToken,
}

impl Admin {
    /// Renders a page, setting the CSRF cookie if the browser had none.
    pub fn page(&self, page: &impl Template) -> HttpResponse {
        self.form.render(StatusCode::OK, page)
    }

    pub fn csrf_token(&self) -> &str {
        &self.form.token
    }
}

/// Lets admins through; sends anonymous browsers to sign in and refuses everyone else.
pub async fn admin(state: &AppState, request: &HttpRequest) -> Result<Admin, PageError> {
    let (browser_session, user) = session::require(state, request).await?;
    if user.must_change_password {
        return Err(PageError::Redirect("/account/password".into()));
    }
    if !user.admin {
        return Err(PageError::page(
            StatusCode::FORBIDDEN,
            "Admins only",
            "Your account does not have the admin role.",
        ));
    }
    if !assurance::admin_access_allowed(&state.settings.mfa, assurance::is_multi_factor(&browser_session.amr)) {
        // Back to this page after the second step (a form post goes back to the console).
        let back_to = if request.method() == actix_web::http::Method::GET { request.uri().path() } else { "/admin" };
        return Err(PageError::Redirect(step_up::location(None, Some(back_to))));
    }
    let actor = Actor::Admin { user_id: user.id.clone(), source_ip: source_ip(request) };
    Ok(Admin { user, actor, form: FormToken::new(request, &state.settings) })
}

/// Like [`admin`], for a form POST: the CSRF token must match as well.
pub async fn admin_form(state: &AppState, request: &HttpRequest, submitted: Option<&str>) -> Result<Admin, PageError> {
    let admin = admin(state, request).await?;
    csrf::require(request, submitted)?;
    Ok(admin)
}
