//! `/admin/users`: search, create, edit, disable/enable, reset password, passkeys, grants,
//! delete.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::{Admin, admin, admin_form};
use crate::domain::credentials::{self, PasswordReset};
use crate::domain::email::{self, Delivery, EmailError};
use crate::domain::users::{self, NewUser, User, UserChange, UserError};
use crate::domain::{format_time, grants, groups, login, mfa, now, passkeys, sessions};
use crate::http::branding::see_other_with_flash;
use crate::http::pages::{PageError, PasskeyRow, see_other};
use crate::state::AppState;

const PER_PAGE: u64 = 25;

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage<'a> {
    csrf_token: &'a str,
    users: Vec<User>,
    q: &'a str,
    /// Whether this is a later page (so "first page" is offered).
    later: bool,
    next: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    after: Option<String>,
}

/// A user operation's error as a page: a mistake in the form is shown on the page (`Ok`),
/// anything else is an error page.
fn form_error(error: UserError) -> Result<String, PageError> {
    match error {
        UserError::NotFound(_) => Err(PageError::NotFound),
        UserError::Unexpected(error) => Err(PageError::Unexpected(error)),
        other => Ok(other.to_string()),
    }
}

pub async fn list(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let admin = admin(&state, &request).await?;
    render_list(&state, &admin, query.q.as_deref().unwrap_or_default(), query.after.as_deref(), None).await
}

async fn render_list(
    state: &AppState,
    admin: &Admin,
    q: &str,
    after: Option<&str>,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let found = users::search_users(&state.db, q, after, PER_PAGE).await.map_err(|error| match error {
        UserError::BadCursor => PageError::page(
            actix_web::http::StatusCode::BAD_REQUEST,
            "Not a page of users",
            "This link to a page of users is not valid. Start again from the first page.",
        ),
        other => PageError::from(other),
    })?;
    Ok(admin.page(&UsersPage {
        csrf_token: admin.csrf_token(),
        users: found.users,
        q,
        later: after.is_some_and(|after| !after.is_empty()),
        next: found.next,
        error,
    }))
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

pub async fn create(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    let new = NewUser {
        username: form.username,
        email: Some(form.email).filter(|e| !e.trim().is_empty()),
        display_name: Some(form.name),
        admin: form.admin.is_some(),
        password: SecretString::from(form.password),
    };
    match users::add_user(&state, &admin.actor, new).await {
        Ok(user) => Ok(see_other_with_flash(&format!("/admin/users/{}", user.id), "user-created")),
        Err(error) => render_list(&state, &admin, "", None, Some(form_error(error)?)).await,
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    csrf_token: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
}

pub async fn invite(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    match email::invite(&state, &admin.actor, &form.username, &form.email).await {
        Ok((user, Delivery::Mailed)) => render_user(&state, &admin, &user.id, None, Some("Invitation sent.")).await,
        Ok((user, Delivery::Link(url))) => {
            let notice = format!("No mail is configured (smtp.url): pass this invitation link on: {url}");
            render_user(&state, &admin, &user.id, None, Some(&notice)).await
        }
        Err(EmailError::User(error)) => render_list(&state, &admin, "", None, Some(form_error(error)?)).await,
        Err(EmailError::Unexpected(error)) => Err(error.into()),
        Err(error) => render_list(&state, &admin, "", None, Some(error.to_string())).await,
    }
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
    /// Groups the user is directly in, and those they are in through them.
    direct_groups: Vec<String>,
    inherited_groups: Vec<String>,
    /// Every group, for "Add to group".
    group_names: Vec<String>,
    mfa: mfa::MfaStatus,
    passkeys: Vec<PasskeyRow>,
    grants: Vec<GrantRow>,
    sessions: Vec<SessionRow>,
    error: Option<String>,
    notice: Option<&'a str>,
}

pub async fn show(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let admin = admin(&state, &request).await?;
    render_user(&state, &admin, &id, None, None).await
}

async fn render_user(
    state: &AppState,
    admin: &Admin,
    id: &str,
    error: Option<String>,
    notice: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let user = users::find_user(&state.db, id).await?;
    let stored = passkeys::list(state, id).await?;
    let live = grants::live_grants_of_user(state, id, now()).await?;
    let sessions = sessions::list_for_user(&state.ephemeral, id, now()).await.map_err(anyhow::Error::from)?;
    let locked = login::is_locked(state, id).await?;
    let direct_groups = groups::direct_groups_of(&state.db, id).await?;
    let inherited_groups =
        groups::groups_of(&state.db, id).await?.into_iter().filter(|name| !direct_groups.contains(name)).collect();
    let group_names = groups::list_groups(&state.db).await?.into_iter().map(|group| group.name).collect();
    Ok(admin.page(&UserPage {
        csrf_token: admin.csrf_token(),
        user,
        locked,
        direct_groups,
        inherited_groups,
        group_names,
        mfa: mfa::status(state, id).await.map_err(|e| PageError::Unexpected(anyhow::anyhow!(e)))?,
        passkeys: PasskeyRow::rows(stored),
        grants: live
            .into_iter()
            .map(|g| GrantRow {
                id: g.id,
                client_id: g.client_id,
                scope: g.scope.to_string(),
                created: format_time(g.created_at),
            })
            .collect(),
        sessions: sessions
            .into_iter()
            .map(|(s, _)| SessionRow {
                handle: s.handle,
                signed_in: format_time(s.auth_time),
                method: s.amr.join(" "),
                expires: format_time(s.expires_at),
            })
            .collect(),
        error,
        notice,
    }))
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
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    let change = UserChange {
        email: Some(Some(form.email).filter(|e| !e.trim().is_empty())),
        display_name: Some(Some(form.name).filter(|n| !n.trim().is_empty())),
        admin: Some(form.admin.is_some()),
        disabled: None,
    };
    match users::update_user(&state, &admin.actor, &id, change).await {
        Ok(_) => render_user(&state, &admin, &id, None, Some("Saved.")).await,
        Err(error) => render_user(&state, &admin, &id, Some(form_error(error)?), None).await,
    }
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf_token: Option<String>,
    #[serde(default)]
    password: String,
    temporary: Option<String>,
    remove_passkeys: Option<String>,
}

/// `disable`, `enable`, `unlock`, `password` (set a new one) and `delete`.
pub async fn act(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let (id, action) = path.into_inner();
    let form = form.into_inner();
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    let actor = &admin.actor;
    let result = match action.as_str() {
        "disable" | "enable" => users::set_disabled(&state, actor, &id, action == "disable").await.map(|_| ()),
        "password" => {
            let reset = PasswordReset {
                password: SecretString::from(form.password),
                temporary: form.temporary.is_some(),
                remove_passkeys: form.remove_passkeys.is_some(),
            };
            credentials::reset_password(&state, actor, &id, reset).await
        }
        "delete" => users::delete_user(&state, actor, &id).await,
        "unlock" => users::unlock_user(&state, actor, &id).await,
        "reset-mfa" => match users::find_user(&state.db, &id).await {
            Ok(_) => mfa::reset(&state, actor, &id).await.map_err(|e| UserError::Unexpected(anyhow::anyhow!(e))),
            Err(error) => Err(error),
        },
        "send-verification" => {
            return match email::send_verification(&state, actor, &id).await {
                Ok(Delivery::Mailed) => render_user(&state, &admin, &id, None, Some("Verification email sent.")).await,
                Ok(Delivery::Link(url)) => {
                    let notice = format!("No mail is configured (smtp.url): pass this link on to the user: {url}");
                    render_user(&state, &admin, &id, None, Some(&notice)).await
                }
                Err(error) => render_user(&state, &admin, &id, Some(error.to_string()), None).await,
            };
        }
        "mark-verified" => email::mark_verified(&state, actor, &id).await.map_err(|error| match error {
            EmailError::User(error) => error,
            other => UserError::Unexpected(anyhow::anyhow!(other.to_string())),
        }),
        _ => return Err(PageError::NotFound),
    };
    match result {
        Ok(()) if action == "delete" => Ok(see_other_with_flash("/admin/users", "user-deleted")),
        Ok(()) => render_user(&state, &admin, &id, None, Some("Done.")).await,
        Err(error) => render_user(&state, &admin, &id, Some(form_error(error)?), None).await,
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
) -> Result<HttpResponse, PageError> {
    let (id, passkey_id) = path.into_inner();
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    match passkeys::delete(&state, &admin.actor, &id, &passkey_id, now()).await {
        Ok(()) => Ok(see_other_with_flash(&format!("/admin/users/{id}"), "saved")),
        Err(error) => render_user(&state, &admin, &id, Some(error.to_string()), None).await,
    }
}

pub async fn end_grant(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let (id, grant_id) = path.into_inner();
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    if !grants::end_user_grant(&state, &admin.actor, &id, &grant_id, now()).await? {
        return Err(PageError::NotFound);
    }
    Ok(see_other(&format!("/admin/users/{id}")))
}

pub async fn end_session(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let (id, handle) = path.into_inner();
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    if !grants::end_user_session(&state, &admin.actor, &id, &handle, now()).await? {
        return Err(PageError::NotFound);
    }
    Ok(see_other(&format!("/admin/users/{id}")))
}

#[derive(Deserialize)]
pub struct AttributesForm {
    csrf_token: Option<String>,
    #[serde(default)]
    attributes: String,
}

/// The "Attributes" form: one `key=value` per line.
pub async fn set_attributes(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<AttributesForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    let mut attributes = std::collections::BTreeMap::new();
    for line in form.attributes.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let Some((key, value)) = line.split_once('=') else {
            let message = format!("{line:?}: an attribute is key=value");
            return render_user(&state, &admin, &id, Some(message), None).await;
        };
        attributes.insert(key.trim().to_string(), value.trim().to_string());
    }
    match users::set_attributes(&state, &admin.actor, &id, attributes).await {
        Ok(_) => Ok(see_other(&format!("/admin/users/{id}"))),
        Err(error) => render_user(&state, &admin, &id, Some(form_error(error)?), None).await,
    }
}
