//! OpenID Connect endpoints, one module per endpoint as the specs name them.

pub mod authorize;
pub(crate) mod client_auth;
pub mod consent;
pub mod device;
pub mod discovery;
pub mod end_session;
pub mod error;
pub mod introspect;
pub mod jwks;
pub mod par;
pub mod registration;
pub mod revoke;
pub mod token;
pub mod userinfo;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/openid-configuration", web::get().to(discovery::show))
        .route("/.well-known/oauth-authorization-server", web::get().to(discovery::show))
        .route("/.well-known/jwks.json", web::get().to(jwks::show))
        .route("/authorize", web::get().to(authorize::start_get))
        .route("/authorize", web::post().to(authorize::start_post))
        .route("/authorize/no-access", web::get().to(authorize::no_access))
        .route("/authorize/form-post", web::get().to(authorize::form_post))
        .route("/consent", web::get().to(consent::show_consent))
        .route("/consent", web::post().to(consent::submit_consent))
        .route("/par", web::post().to(par::push))
        .route("/device_authorization", web::post().to(device::start))
        .route("/device", web::get().to(device::show))
        .route("/device", web::post().to(device::submit))
        .route(
            "/register",
            web::post().guard(actix_web::guard::fn_guard(registration::is_json)).to(registration::register),
        )
        .route("/register/{client_id}", web::get().to(registration::read))
        .route("/register/{client_id}", web::put().to(registration::update))
        .route("/register/{client_id}", web::delete().to(registration::delete))
        .route("/token", web::post().to(token::exchange))
        .route("/userinfo", web::get().to(userinfo::show))
        .route("/userinfo", web::post().to(userinfo::show))
        .route("/introspect", web::post().to(introspect::introspect))
        .route("/revoke", web::post().to(revoke::revoke))
        .route("/logout", web::get().to(end_session::logout_get))
        .route("/logout", web::post().to(end_session::logout_post));
}
