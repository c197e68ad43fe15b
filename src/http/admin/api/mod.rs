//! The admin API under `/admin/api/`: the same operations as the CLI and the console, as
//! JSON. Every handler is annotated for OpenAPI and registered through utoipa-actix-web,
//! so the document at `/admin/api/openapi.json` is collected from the routes themselves
//! and cannot drift from them.

mod apis;
mod audit;
pub(crate) mod auth;
mod clients;
pub mod error;
mod groups;
mod keys;
mod upstreams;
mod users;

use actix_web::{HttpResponse, web};
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;

use self::error::ApiError;

#[derive(OpenApi)]
#[openapi(info(
    title = "Latchkey admin API",
    description = "Users, clients, APIs, keys and the audit log. Authorize with a Bearer access token carrying the `admin` scope."
))]
pub struct ApiDoc;

/// The admin API's routes, mounted under `/admin/api`.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default().error_handler(|error, _| ApiError::invalid("body", error.to_string()).into()),
    )
    .app_data(
        web::QueryConfig::default().error_handler(|error, _| ApiError::invalid("query", error.to_string()).into()),
    )
    .service(users::list_users)
    .service(users::create_user)
    .service(users::get_user)
    .service(users::update_user)
    .service(users::delete_user)
    .service(users::set_password)
    .service(users::unlock_user)
    .service(users::list_sessions)
    .service(users::end_session)
    .service(users::list_passkeys)
    .service(users::delete_passkey)
    .service(users::list_grants)
    .service(users::end_grant)
    .service(users::get_mfa)
    .service(users::reset_mfa)
    .service(users::send_verification)
    .service(users::invite)
    .service(users::mark_email_verified)
    .service(clients::list_clients)
    .service(clients::create_client)
    .service(clients::get_client)
    .service(clients::update_client)
    .service(clients::delete_client)
    .service(clients::rotate_secret)
    .service(clients::issue_registration_token)
    .service(groups::list_groups)
    .service(groups::create_group)
    .service(groups::get_group)
    .service(groups::update_group)
    .service(groups::delete_group)
    .service(groups::add_user)
    .service(groups::remove_user)
    .service(groups::add_group)
    .service(groups::remove_group)
    .service(groups::user_groups)
    .service(groups::set_attributes)
    .service(groups::get_policy)
    .service(groups::set_policy)
    .service(apis::list_apis)
    .service(apis::create_api)
    .service(apis::get_api)
    .service(apis::update_api)
    .service(apis::delete_api)
    .service(upstreams::list_upstreams)
    .service(upstreams::create_upstream)
    .service(upstreams::get_upstream)
    .service(upstreams::update_upstream)
    .service(upstreams::delete_upstream)
    .service(keys::list_keys)
    .service(keys::rotate_keys)
    .service(keys::revoke_key)
    .service(audit::list_events);
}

/// The OpenAPI document, serialized once at start.
pub struct OpenApiDocument(pub String);

pub async fn openapi(document: web::Data<OpenApiDocument>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(document.0.clone())
}
