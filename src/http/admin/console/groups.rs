//! `/admin/groups`: list, create, describe and delete groups; put users and groups in them
//! and take them out. A user's own page lists and changes their groups too.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{admin, admin_form};
use crate::domain::groups::{self, Group, Member};
use crate::domain::users;
use crate::http::branding::see_other_with_flash;
use crate::http::pages::{PageError, see_other};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage<'a> {
    csrf_token: &'a str,
    groups: Vec<Group>,
}

#[derive(Template)]
#[template(path = "admin/group.html")]
struct GroupPage<'a> {
    csrf_token: &'a str,
    group: Group,
    builtin: bool,
    users: Vec<(String, String)>,
    groups: Vec<String>,
    member_of: Vec<String>,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

#[derive(Deserialize)]
pub struct GroupForm {
    csrf_token: Option<String>,
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
pub struct DescriptionForm {
    csrf_token: Option<String>,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
pub struct MemberForm {
    csrf_token: Option<String>,
    /// A username (the group page) …
    #[serde(default)]
    username: String,
    /// … or a group name (nesting, or the user page's "add to group").
    #[serde(default)]
    group: String,
}

fn group_page(name: &str) -> String {
    format!("/admin/groups/{name}")
}

pub async fn list(state: web::Data<AppState>, request: HttpRequest) -> Result<HttpResponse, PageError> {
    let admin = admin(&state, &request).await?;
    let groups = groups::list_groups(&state.db).await?;
    Ok(admin.page(&GroupsPage { csrf_token: admin.csrf_token(), groups }))
}

pub async fn create(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<GroupForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    let group = groups::add_group(&state, &admin.actor, form.name.trim(), form.description.trim()).await?;
    Ok(see_other_with_flash(&group_page(&group.name), "group-created"))
}

pub async fn show(
    state: web::Data<AppState>,
    request: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let admin = admin(&state, &request).await?;
    let detail = groups::group_detail(&state.db, &name).await?;
    Ok(admin.page(&GroupPage {
        csrf_token: admin.csrf_token(),
        builtin: detail.group.name == groups::ADMINS,
        group: detail.group,
        users: detail.users,
        groups: detail.groups,
        member_of: detail.member_of,
    }))
}

pub async fn describe(
    state: web::Data<AppState>,
    request: HttpRequest,
    name: web::Path<String>,
    form: web::Form<DescriptionForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    groups::set_description(&state, &admin.actor, &name, form.description.trim()).await?;
    Ok(see_other(&group_page(&name)))
}

pub async fn delete(
    state: web::Data<AppState>,
    request: HttpRequest,
    name: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    groups::delete_group(&state, &admin.actor, &name).await?;
    Ok(see_other_with_flash("/admin/groups", "group-deleted"))
}

/// Adds the user named in the form, or the group named in the form, to the group.
pub async fn add_member(
    state: web::Data<AppState>,
    request: HttpRequest,
    name: web::Path<String>,
    form: web::Form<MemberForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    let (username, group) = (form.username.trim(), form.group.trim());
    if !username.is_empty() {
        let user = users::find_by_username(&state.db, username).await?;
        groups::add_member(&state, &admin.actor, &name, Member::User(&user.id)).await?;
    } else if !group.is_empty() {
        groups::add_member(&state, &admin.actor, &name, Member::Group(group)).await?;
    }
    Ok(see_other(&group_page(&name)))
}

pub async fn remove_user(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    let (name, user_id) = path.into_inner();
    groups::remove_member(&state, &admin.actor, &name, Member::User(&user_id)).await?;
    Ok(see_other(&group_page(&name)))
}

pub async fn remove_group(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    let (name, child) = path.into_inner();
    groups::remove_member(&state, &admin.actor, &name, Member::Group(&child)).await?;
    Ok(see_other(&group_page(&name)))
}

/// The user page's "Add to group".
pub async fn add_user_to_group(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<MemberForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    users::find_user(&state.db, &id).await?;
    groups::add_member(&state, &admin.actor, form.group.trim(), Member::User(&id)).await?;
    Ok(see_other(&format!("/admin/users/{id}")))
}

/// The user page's "Remove" beside one of their groups.
pub async fn remove_user_from_group(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin_form(&state, &request, form.csrf_token.as_deref()).await?;
    let (id, name) = path.into_inner();
    groups::remove_member(&state, &admin.actor, &name, Member::User(&id)).await?;
    Ok(see_other(&format!("/admin/users/{id}")))
}
