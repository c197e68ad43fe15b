//! `/admin/users`: search, create, edit, disable/enable, reset password, passkeys, grants,
//! delete.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::{Admin, admin, admin_form};
use crate::domain::users::{self, NewUser, User, UserChange, UserError};
use crate::domain::{format_time, grants, now, passkeys};
use crate::http::admin::api::audit_admin_action;
use crate::http::pages::{internal_error, see_other};
use crate::state::AppState;
use crate::store::db;

const PER_PAGE: u64 = 25;

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage<'a> {
    csrf_token: &'a str,
    users: Vec<User>,
    q: &'a str,
    page: u64,
    pages: u64,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    page: Option<u64>,
}

pub async fn list(state: web::Data<AppState>, request: HttpRequest, query: web::Query<ListQuery>) -> HttpResponse {
    let admin = match admin(&state, &request).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    render_list(&state, &admin, query.q.as_deref().unwrap_or_default(), query.page.unwrap_or(1), None).await
}

async fn render_list(state: &AppState, admin: &Admin, q: &str, page: u64, error: Option<String>) -> HttpResponse {
    let page = page.max(1);
    match users::search_users(&state.db, q, page, PER_PAGE).await {
        Ok((found, total)) => admin.page(&UsersPage {
            csrf_token: &admin.csrf_token,
            users: found,
            q,
            page,
            pages: total.div_ceil(PER_PAGE).max(1),
            error,
        }),
        Err(error) => internal_error(&anyhow::anyhow!(error)),
    }
}

#[derive(Deserialize)]
pub struct CreateForm {
    csrf_token: Option<String>,
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    password: String,
    admin: Option<String>,
}

pub async fn create(state: web::Data<AppState>, request: HttpRequest, form: web::Form<CreateForm>) -> HttpResponse {
    let form = form.into_inner();
    let admin = match admin_form(&state, &request, form.csrf_token.as_deref()).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let new = NewUser {
        username: form.username,
        email: Some(form.email).filter(|e| !e.trim().is_empty()),
        display_name: Some(form.name),
        admin: form.admin.is_some(),
        password: SecretString::from(form.password),
    };
    match users::add_user(&state.db, &state.passwords, new).await {
        Ok(user) => {
            audit_admin_action(&state, &admin.caller, "create_user", Some(&user.id), None).await;
            see_other(&format!("/admin/users/{}", user.id))
        }
        Err(UserError::Unexpected(error)) => internal_error(&error),
        Err(error) => render_list(&state, &admin, "", 1, Some(error.to_string())).await,
    }
}

struct PasskeyRow {
    id: String,
    name: String,
    created: String,
    last_used: String,
}

struct GrantRow {
    id: String,
    client_id: String,
    scope: String,
    created: String,
}

struct SessionRow {
    handle: String,
    signed_in: String,
    method: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage<'a> {
    csrf_token: &'a str,
    user: User,
    locked: bool,
    passkeys: Vec<PasskeyRow>,
    grants: Vec<GrantRow>,
    sessions: Vec<SessionRow>,
    error: Option<String>,
    notice: Option<&'a str>,
}

pub async fn show(state: web::Data<AppState>, request: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let admin = match admin(&state, &request).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    render_user(&state, &admin, &id, None, None).await
}

async fn render_user(
    state: &AppState,
    admin: &Admin,
    id: &str,
    error: Option<String>,
    notice: Option<&str>,
) -> HttpResponse {
    let user = match users::find_user(&state.db, id).await {
        Ok(user) => user,
        Err(UserError::NotFound(_)) => return crate::http::not_found().await,
        Err(error) => return internal_error(&anyhow::anyhow!(error)),
    };
    let stored = match passkeys::list(state, id).await {
        Ok(stored) => stored,
        Err(error) => return internal_error(&anyhow::anyhow!(error)),
    };
    let live = match db::refresh_tokens::live_grants_of_user(&state.db, id, now()).await {
        Ok(live) => live,
        Err(error) => return internal_error(&error),
    };
    let sessions = match crate::domain::sessions::list_for_user(&state.ephemeral, id, now()).await {
        Ok(sessions) => sessions
            .into_iter()
            .map(|(s, _)| SessionRow {
                handle: s.handle,
                signed_in: format_time(s.auth_time),
                method: s.amr.join(" "),
                expires: format_time(s.expires_at),
            })
            .collect(),
        Err(error) => return internal_error(&error.into()),
    };
    let locked = match crate::domain::login::is_locked(state, id).await {
        Ok(locked) => locked,
        Err(error) => return internal_error(&anyhow::anyhow!(error)),
    };
    admin.page(&UserPage {
        csrf_token: &admin.csrf_token,
        user,
        locked,
        passkeys: stored
            .into_iter()
            .map(|p| PasskeyRow {
                id: p.id,
                name: p.name,
                created: format_time(p.created_at),
                last_used: p.last_used_at.map(format_time).unwrap_or_else(|| "never".into()),
            })
            .collect(),
        grants: live
            .into_iter()
            .map(|g| GrantRow {
                id: g.id,
                client_id: g.client_id,
                scope: g.scope.join(" "),
                created: format_time(g.created_at),
            })
            .collect(),
        sessions,
        error,
        notice,
    })
}

#[derive(Deserialize)]
pub struct EditForm {
    csrf_token: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    admin: Option<String>,
}

pub async fn update(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<EditForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let admin = match admin_form(&state, &request, form.csrf_token.as_deref()).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let change = UserChange {
        email: Some(Some(form.email).filter(|e| !e.trim().is_empty())),
        display_name: Some(Some(form.name).filter(|n| !n.trim().is_empty())),
        admin: Some(form.admin.is_some()),
        disabled: None,
    };
    match users::update_user(&state.db, &id, change).await {
        Ok(_) => {
            audit_admin_action(&state, &admin.caller, "update_user", Some(&id), None).await;
            render_user(&state, &admin, &id, None, Some("Saved.")).await
        }
        Err(UserError::Unexpected(error)) => internal_error(&error),
        Err(error) => render_user(&state, &admin, &id, Some(error.to_string()), None).await,
    }
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf_token: Option<String>,
    #[serde(default)]
    password: String,
    temporary: Option<String>,
}

/// `disable`, `enable`, `unlock`, `password` (set a new one) and `delete`.
pub async fn act(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    let (id, action) = path.into_inner();
    let form = form.into_inner();
    let admin = match admin_form(&state, &request, form.csrf_token.as_deref()).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let result = match action.as_str() {
        "disable" | "enable" => {
            let change = UserChange { disabled: Some(action == "disable"), ..UserChange::default() };
            users::update_user(&state.db, &id, change).await.map(|_| ())
        }
        "password" => {
            let password = SecretString::from(form.password);
            users::set_password(&state.db, &state.passwords, &id, &password, form.temporary.is_some()).await
        }
        "delete" => users::delete_user(&state, &id).await,
        "unlock" => match crate::domain::login::unlock(&state, &id).await {
            Ok(()) => Ok(()),
            Err(error) => return internal_error(&anyhow::anyhow!(error)),
        },
        _ => return crate::http::not_found().await,
    };
    match result {
        Ok(()) => {
            audit_admin_action(&state, &admin.caller, &format!("{action}_user"), Some(&id), None).await;
            if action == "delete" {
                see_other("/admin/users")
            } else {
                render_user(&state, &admin, &id, None, Some("Done.")).await
            }
        }
        Err(UserError::Unexpected(error)) => internal_error(&error),
        Err(UserError::NotFound(_)) => crate::http::not_found().await,
        Err(error) => render_user(&state, &admin, &id, Some(error.to_string()), None).await,
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

pub async fn delete_passkey(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let (id, passkey_id) = path.into_inner();
    let admin = match admin_form(&state, &request, form.csrf_token.as_deref()).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    match passkeys::delete(&state, &id, &passkey_id, now()).await {
        Ok(()) => {
            audit_admin_action(&state, &admin.caller, "delete_passkey", Some(&id), None).await;
            see_other(&format!("/admin/users/{id}"))
        }
        Err(error) => render_user(&state, &admin, &id, Some(error.to_string()), None).await,
    }
}

pub async fn end_grant(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let (id, grant_id) = path.into_inner();
    let admin = match admin_form(&state, &request, form.csrf_token.as_deref()).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let owned = match db::refresh_tokens::live_grants_of_user(&state.db, &id, now()).await {
        Ok(live) => live.iter().any(|g| g.id == grant_id),
        Err(error) => return internal_error(&error),
    };
    if !owned {
        return crate::http::not_found().await;
    }
    if let Err(error) = grants::end_grant(&state, &grant_id, now()).await {
        return internal_error(&anyhow::anyhow!(error));
    }
    audit_admin_action(&state, &admin.caller, "end_grant", Some(&id), None).await;
    see_other(&format!("/admin/users/{id}"))
}

pub async fn end_session(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let (id, handle) = path.into_inner();
    let admin = match admin_form(&state, &request, form.csrf_token.as_deref()).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    match grants::end_user_session(&state, &id, &handle, now()).await {
        Ok(true) => {
            audit_admin_action(&state, &admin.caller, "end_session", Some(&id), None).await;
            see_other(&format!("/admin/users/{id}"))
        }
        Ok(false) => crate::http::not_found().await,
        Err(error) => internal_error(&anyhow::anyhow!(error)),
    }
}
