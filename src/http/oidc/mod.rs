//! OpenID Connect endpoints, one module per endpoint as the specs name them.

pub mod discovery;
pub mod jwks;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/.well-known/openid-configuration",
        web::get().to(discovery::show),
    )
    .route("/.well-known/jwks.json", web::get().to(jwks::show));
}
