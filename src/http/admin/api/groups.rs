//! `/admin/api/groups`: create, list, read, describe, delete groups; put users and groups
//! in them and take them out. Also a user's groups and attributes, and a client's policy.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::AdminCaller;
use super::error::ApiError;
use crate::domain::clients::{self, ClaimMapping, ClientPolicy};
use crate::domain::groups::{self, Group, GroupError, Member};
use crate::domain::users;
use crate::state::AppState;

impl From<GroupError> for ApiError {
    fn from(error: GroupError) -> Self {
        let message = error.to_string();
        match error {
            GroupError::InvalidName => ApiError::invalid("name", message),
            GroupError::InvalidDescription => ApiError::invalid("description", message),
            GroupError::AlreadyExists(_)
            | GroupError::InUse { .. }
            | GroupError::BuiltIn(_)
            | GroupError::Cycle { .. } => ApiError::conflict(message),
            GroupError::NotFound(_) => ApiError::not_found(message),
            GroupError::Forbidden => ApiError::forbidden("only admins may do this"),
            GroupError::Unexpected(error) => ApiError::unexpected(&error),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct GroupView {
    name: String,
    description: String,
    created_at: i64,
}

impl From<Group> for GroupView {
    fn from(group: Group) -> Self {
        GroupView { name: group.name, description: group.description, created_at: group.created_at }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MemberUser {
    id: String,
    username: String,
}

#[derive(Serialize, ToSchema)]
pub struct GroupDetailView {
    name: String,
    description: String,
    created_at: i64,
    /// Users directly in the group.
    users: Vec<MemberUser>,
    /// Groups directly in the group (their members are members too).
    groups: Vec<String>,
    /// Groups this group is directly in.
    member_of: Vec<String>,
}

#[utoipa::path(tag = "groups", responses((status = 200, body = Vec<GroupView>)))]
#[get("/groups")]
pub async fn list_groups(
    _caller: AdminCaller,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<GroupView>>, ApiError> {
    Ok(web::Json(groups::list_groups(&state.db).await?.into_iter().map(GroupView::from).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct NewGroupBody {
    name: String,
    #[serde(default)]
    description: String,
}

#[utoipa::path(tag = "groups", request_body = NewGroupBody, responses((status = 201, body = GroupView), (status = 400, body = ApiError), (status = 409, body = ApiError)))]
#[post("/groups")]
pub async fn create_group(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    body: web::Json<NewGroupBody>,
) -> Result<HttpResponse, ApiError> {
    let group = groups::add_group(&state, &actor, &body.name, &body.description).await?;
    Ok(HttpResponse::Created().json(GroupView::from(group)))
}

#[utoipa::path(tag = "groups", responses((status = 200, body = GroupDetailView), (status = 404, body = ApiError)))]
#[get("/groups/{name}")]
pub async fn get_group(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<web::Json<GroupDetailView>, ApiError> {
    let detail = groups::group_detail(&state.db, &name).await?;
    Ok(web::Json(GroupDetailView {
        name: detail.group.name,
        description: detail.group.description,
        created_at: detail.group.created_at,
        users: detail.users.into_iter().map(|(id, username)| MemberUser { id, username }).collect(),
        groups: detail.groups,
        member_of: detail.member_of,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct GroupPatch {
    description: String,
}

#[utoipa::path(tag = "groups", request_body = GroupPatch, responses((status = 204), (status = 404, body = ApiError)))]
#[patch("/groups/{name}")]
pub async fn update_group(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<GroupPatch>,
) -> Result<HttpResponse, ApiError> {
    groups::set_description(&state, &actor, &name, &body.description).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "groups", responses((status = 204), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
#[delete("/groups/{name}")]
pub async fn delete_group(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    groups::delete_group(&state, &actor, &name).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// 201 when the member was added, 204 when it was a member already.
#[utoipa::path(tag = "groups", responses((status = 201), (status = 204), (status = 404, body = ApiError)))]
#[put("/groups/{name}/users/{user_id}")]
pub async fn add_user(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (group, user_id) = path.into_inner();
    users::find_user(&state.db, &user_id).await?;
    added(groups::add_member(&state, &actor, &group, Member::User(&user_id)).await?)
}

#[utoipa::path(tag = "groups", responses((status = 204), (status = 404, body = ApiError)))]
#[delete("/groups/{name}/users/{user_id}")]
pub async fn remove_user(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (group, user_id) = path.into_inner();
    removed(groups::remove_member(&state, &actor, &group, Member::User(&user_id)).await?)
}

/// Puts group `child` in group `name`: its members become members of `name` too.
#[utoipa::path(tag = "groups", responses((status = 201), (status = 204), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
#[put("/groups/{name}/groups/{child}")]
pub async fn add_group(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (group, child) = path.into_inner();
    added(groups::add_member(&state, &actor, &group, Member::Group(&child)).await?)
}

#[utoipa::path(tag = "groups", responses((status = 204), (status = 404, body = ApiError)))]
#[delete("/groups/{name}/groups/{child}")]
pub async fn remove_group(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (group, child) = path.into_inner();
    removed(groups::remove_member(&state, &actor, &group, Member::Group(&child)).await?)
}

fn added(added: bool) -> Result<HttpResponse, ApiError> {
    Ok(if added { HttpResponse::Created().finish() } else { HttpResponse::NoContent().finish() })
}

fn removed(removed: bool) -> Result<HttpResponse, ApiError> {
    if removed {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("not a member of this group"))
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserGroups {
    /// Every group the user is in, directly or through nested groups.
    groups: Vec<String>,
}

#[utoipa::path(tag = "users", responses((status = 200, body = UserGroups), (status = 404, body = ApiError)))]
#[get("/users/{id}/groups")]
pub async fn user_groups(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<UserGroups>, ApiError> {
    users::find_user(&state.db, &id).await?;
    let groups = groups::groups_of(&state.db, &id).await.map_err(|error| ApiError::unexpected(&error))?;
    Ok(web::Json(UserGroups { groups }))
}

/// Replaces the user's attributes (string keys and values).
#[utoipa::path(tag = "users", request_body = BTreeMap<String, String>, responses((status = 200, body = BTreeMap<String, String>), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
#[put("/users/{id}/attributes")]
pub async fn set_attributes(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<BTreeMap<String, String>>,
) -> Result<web::Json<BTreeMap<String, String>>, ApiError> {
    let user = users::set_attributes(&state, &actor, &id, body.into_inner()).await?;
    Ok(web::Json(user.attributes))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PolicyBody {
    /// Only members of these groups may use the client; absent or null: everyone.
    #[serde(default)]
    allowed_groups: Option<Vec<String>>,
    /// Groups released in the `groups` claim: names, or prefixes such as `app1-*`;
    /// absent or null: every group.
    #[serde(default)]
    released_groups: Option<Vec<String>>,
    /// User attributes released as claims on a scope.
    #[serde(default)]
    claim_mappings: Vec<ClaimMapping>,
    /// Every sign-in to the client must be multi-factor (`urn:latchkey:acr:mfa`).
    #[serde(default)]
    require_mfa: bool,
    /// The login page offers only the upstream providers (no password form, no passkey).
    #[serde(default)]
    upstream_only: bool,
}

impl From<ClientPolicy> for PolicyBody {
    fn from(policy: ClientPolicy) -> Self {
        PolicyBody {
            allowed_groups: policy.allowed_groups,
            released_groups: policy.released_groups,
            claim_mappings: policy.claim_mappings,
            require_mfa: policy.require_mfa,
            upstream_only: policy.upstream_only,
        }
    }
}

#[utoipa::path(tag = "clients", responses((status = 200, body = PolicyBody), (status = 404, body = ApiError)))]
#[get("/clients/{id}/policy")]
pub async fn get_policy(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<PolicyBody>, ApiError> {
    Ok(web::Json(clients::find_client(&state.db, &id).await?.policy.into()))
}

#[utoipa::path(tag = "clients", request_body = PolicyBody, responses((status = 200, body = PolicyBody), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
#[put("/clients/{id}/policy")]
pub async fn set_policy(
    AdminCaller(actor): AdminCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<PolicyBody>,
) -> Result<web::Json<PolicyBody>, ApiError> {
    let body = body.into_inner();
    let policy = ClientPolicy {
        allowed_groups: body.allowed_groups,
        released_groups: body.released_groups,
        claim_mappings: body.claim_mappings,
        require_mfa: body.require_mfa,
        upstream_only: body.upstream_only,
    };
    Ok(web::Json(clients::set_policy(&state, &actor, &id, policy).await?.policy.into()))
}
