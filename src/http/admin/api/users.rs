//! `/admin/api/users`: search, create, read, edit, delete users; reset a password; the
//! user's passkeys and grants.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::AdminCaller;
use super::error::ApiError;
use crate::domain::credentials::{self, PasswordReset};
use crate::domain::email::{self, Delivery};
use crate::domain::users::{self, NewUser, User, UserChange};
use crate::domain::{grants, mfa, now, passkeys, sessions};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct UserView {
    id: String,
    username: String,
    email: Option<String>,
    /// The user followed a link mailed to `email`, or an admin vouched for it.
    email_verified: bool,
    name: Option<String>,
    admin: bool,
    disabled: bool,
    must_change_password: bool,
    /// Set with `PUT /users/{id}/attributes`.
    attributes: std::collections::BTreeMap<String, String>,
    created_at: i64,
    updated_at: i64,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        UserView {
            id: user.id,
            username: user.username,
            email: user.email,
            email_verified: user.email_verified,
            name: user.display_name,
            admin: user.admin,
            disabled: user.disabled,
            must_change_password: user.must_change_password,
            attributes: user.attributes,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserPage {
    users: Vec<UserView>,
    /// The `after` that gives the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    per_page: u64,
}

#[derive(Deserialize, IntoParams)]
pub struct UserQuery {
    /// The start of a username or email address, in any case; `*` first to match anywhere
    /// in either (a scan on a large directory).
    q: Option<String>,
    /// The previous page's `next`.
    after: Option<String>,
    /// 1 to 200; 25 when absent.
    per_page: Option<u64>,
    /// Offset paging was replaced by `after`; a `page` is refused rather than ignored.
    #[param(ignore)]
    page: Option<String>,
}

#[utoipa::path(tag = "users", params(UserQuery), responses((status = 200, body = UserPage)))]
#[get("/users")]
pub async fn list_users(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<UserQuery>,
) -> Result<web::Json<UserPage>, ApiError> {
    if query.page.is_some() {
        return Err(ApiError::invalid("page", "pages are reached by `after`: pass the `next` of the page before"));
    }
    let per_page = query.per_page.unwrap_or(25).clamp(1, 200);
    let q = query.q.as_deref().unwrap_or_default();
    let found = users::search_users(&state.db, q, query.after.as_deref(), per_page).await?;
    Ok(web::Json(UserPage { users: found.users.into_iter().map(UserView::from).collect(), next: found.next, per_page }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewUserBody {
    username: String,
    email: Option<String>,
    name: Option<String>,
    #[serde(default)]
    admin: bool,
    password: String,
}

#[utoipa::path(tag = "users", request_body = NewUserBody, responses((status = 201, body = UserView), (status = 400, body = ApiError), (status = 409, body = ApiError)))]
#[post("/users")]
pub async fn create_user(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<NewUserBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = NewUser {
        username: body.username,
        email: body.email,
        display_name: body.name,
        admin: body.admin,
        password: SecretString::from(body.password),
    };
    let user = users::add_user(&state, &actor, new).await?;
    Ok(HttpResponse::Created().json(UserView::from(user)))
}

#[utoipa::path(tag = "users", responses((status = 200, body = UserView), (status = 404, body = ApiError)))]
#[get("/users/{id}")]
pub async fn get_user(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<UserView>, ApiError> {
    Ok(web::Json(users::find_user(&state.db, &id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct UserPatch {
    /// An empty string removes the email address.
    email: Option<String>,
    /// An empty string removes the display name.
    name: Option<String>,
    admin: Option<bool>,
    disabled: Option<bool>,
}

#[utoipa::path(tag = "users", request_body = UserPatch, responses((status = 200, body = UserView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
#[patch("/users/{id}")]
pub async fn update_user(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<UserPatch>,
) -> Result<web::Json<UserView>, ApiError> {
    let body = body.into_inner();
    let change = UserChange {
        email: body.email.map(|e| Some(e).filter(|e| !e.trim().is_empty())),
        display_name: body.name.map(|n| Some(n).filter(|n| !n.trim().is_empty())),
        admin: body.admin,
        disabled: body.disabled,
    };
    let user = users::update_user(&state, &actor, &id, change).await?;
    Ok(web::Json(user.into()))
}

#[utoipa::path(tag = "users", responses((status = 204), (status = 404, body = ApiError)))]
#[delete("/users/{id}")]
pub async fn delete_user(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    users::delete_user(&state, &actor, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordBody {
    password: String,
    /// A temporary password: the user must choose a new one at the next sign-in.
    #[serde(default)]
    temporary: bool,
    /// Also remove the user's passkeys (a suspected account takeover).
    #[serde(default)]
    remove_passkeys: bool,
}

#[utoipa::path(tag = "users", request_body = PasswordBody, responses((status = 204), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
#[put("/users/{id}/password")]
pub async fn set_password(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<PasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let reset = PasswordReset {
        password: SecretString::from(body.password),
        temporary: body.temporary,
        remove_passkeys: body.remove_passkeys,
    };
    credentials::reset_password(&state, &actor, &id, reset).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "users", responses((status = 204), (status = 404, body = ApiError)))]
#[post("/users/{id}/unlock")]
pub async fn unlock_user(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    users::unlock_user(&state, &actor, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct SessionView {
    /// An opaque handle (not the session id, which is a secret).
    handle: String,
    auth_time: i64,
    amr: Vec<String>,
    expires_at: i64,
}

#[utoipa::path(tag = "users", responses((status = 200, body = Vec<SessionView>), (status = 404, body = ApiError)))]
#[get("/users/{id}/sessions")]
pub async fn list_sessions(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<Vec<SessionView>>, ApiError> {
    users::find_user(&state.db, &id).await?;
    let live = sessions::list_for_user(&state.ephemeral, &id, now()).await.map_err(anyhow::Error::from)?;
    Ok(web::Json(
        live.into_iter()
            .map(|(s, _)| SessionView {
                handle: s.handle,
                auth_time: s.auth_time,
                amr: s.amr,
                expires_at: s.expires_at,
            })
            .collect(),
    ))
}

#[utoipa::path(tag = "users", responses((status = 204), (status = 404, body = ApiError)))]
#[delete("/users/{id}/sessions/{handle}")]
pub async fn end_session(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, handle) = path.into_inner();
    if !grants::end_user_session(&state, &actor, &id, &handle, now()).await? {
        return Err(ApiError::not_found("no such live session for this user"));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct PasskeyView {
    id: String,
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
}

#[utoipa::path(tag = "users", responses((status = 200, body = Vec<PasskeyView>), (status = 404, body = ApiError)))]
#[get("/users/{id}/passkeys")]
pub async fn list_passkeys(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<Vec<PasskeyView>>, ApiError> {
    users::find_user(&state.db, &id).await?;
    let stored = passkeys::list(&state, &id).await?;
    Ok(web::Json(
        stored
            .into_iter()
            .map(|p| PasskeyView { id: p.id, name: p.name, created_at: p.created_at, last_used_at: p.last_used_at })
            .collect(),
    ))
}

#[utoipa::path(tag = "users", responses((status = 204), (status = 404, body = ApiError)))]
#[delete("/users/{id}/passkeys/{passkey_id}")]
pub async fn delete_passkey(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, passkey_id) = path.into_inner();
    passkeys::delete(&state, &actor, &id, &passkey_id, now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct GrantView {
    id: String,
    client_id: String,
    scope: String,
    created_at: i64,
    expires_at: i64,
}

#[utoipa::path(tag = "users", responses((status = 200, body = Vec<GrantView>), (status = 404, body = ApiError)))]
#[get("/users/{id}/grants")]
pub async fn list_grants(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<Vec<GrantView>>, ApiError> {
    users::find_user(&state.db, &id).await?;
    let live = grants::live_grants_of_user(&state, &id, now()).await?;
    Ok(web::Json(
        live.into_iter()
            .map(|g| GrantView {
                id: g.id,
                client_id: g.client_id,
                scope: g.scope.to_string(),
                created_at: g.created_at,
                expires_at: g.expires_at,
            })
            .collect(),
    ))
}

#[utoipa::path(tag = "users", responses((status = 204), (status = 404, body = ApiError)))]
#[delete("/users/{id}/grants/{grant_id}")]
pub async fn end_grant(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, grant_id) = path.into_inner();
    if !grants::end_user_grant(&state, &actor, &id, &grant_id, now()).await? {
        return Err(ApiError::not_found("no such live grant for this user"));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct MfaView {
    /// An authenticator app (TOTP) is set up.
    totp: bool,
    recovery_codes_left: u64,
}

#[utoipa::path(tag = "users", responses((status = 200, body = MfaView), (status = 404, body = ApiError)))]
#[get("/users/{id}/mfa")]
pub async fn get_mfa(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<MfaView>, ApiError> {
    users::find_user(&state.db, &id).await?;
    let status = mfa::status(&state, &id).await.map_err(|e| ApiError::unexpected(&anyhow::anyhow!(e)))?;
    Ok(web::Json(MfaView { totp: status.totp, recovery_codes_left: status.recovery_codes_left }))
}

/// Removes the user's authenticator app and recovery codes.
#[utoipa::path(tag = "users", responses((status = 204), (status = 404, body = ApiError)))]
#[delete("/users/{id}/mfa")]
pub async fn reset_mfa(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    users::find_user(&state.db, &id).await?;
    mfa::reset(&state, &actor, &id).await.map_err(|e| ApiError::unexpected(&anyhow::anyhow!(e)))?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct VerificationSent {
    /// `true`: mailed to the user. `false`: no mail is configured (`smtp.url`), and `link`
    /// is for the admin to pass on.
    mailed: bool,
    link: Option<String>,
}

/// Sends the user a link to verify their email address.
#[utoipa::path(tag = "users", responses((status = 202, body = VerificationSent), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
#[post("/users/{id}/email/verification")]
pub async fn send_verification(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let sent = match email::send_verification(&state, &actor, &id).await? {
        Delivery::Mailed => VerificationSent { mailed: true, link: None },
        Delivery::Link(url) => VerificationSent { mailed: false, link: Some(url) },
    };
    Ok(HttpResponse::Accepted().json(sent))
}

/// Marks the user's email address verified (the admin vouches for it).
#[utoipa::path(tag = "users", responses((status = 204), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
#[post("/users/{id}/email/verified")]
pub async fn mark_email_verified(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    email::mark_verified(&state, &actor, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
pub struct InvitationBody {
    username: String,
    email: String,
}

#[derive(Serialize, ToSchema)]
pub struct InvitationSent {
    user: UserView,
    /// `true`: mailed. `false`: no mail is configured, and `link` is for the admin to pass on.
    mailed: bool,
    link: Option<String>,
}

/// Invites a user: creates them without a password if missing, and sends a link to choose
/// a password or a passkey (valid `email.invite_ttl_secs`, once).
#[utoipa::path(tag = "users", request_body = InvitationBody, responses((status = 201, body = InvitationSent), (status = 400, body = ApiError), (status = 409, body = ApiError)))]
#[post("/users/invitations")]
pub async fn invite(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<InvitationBody>,
) -> Result<HttpResponse, ApiError> {
    let (user, delivery) = email::invite(&state, &actor, &body.username, &body.email).await?;
    let (mailed, link) = match delivery {
        Delivery::Mailed => (true, None),
        Delivery::Link(url) => (false, Some(url)),
    };
    Ok(HttpResponse::Created().json(InvitationSent { user: user.into(), mailed, link }))
}
