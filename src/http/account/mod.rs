//! The signed-in user's own pages: `/account`, and the passkeys they manage there.

pub mod passkeys;
pub mod password;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(passkeys::show_account))
        .route("/account/password", web::get().to(password::show_form))
        .route("/account/password", web::post().to(password::change))
        .route("/account/passkeys/register/start", web::post().to(passkeys::start_registration))
        .route("/account/passkeys/register/finish", web::post().to(passkeys::finish_registration))
        .route("/account/passkeys/{id}/rename", web::post().to(passkeys::rename))
        .route("/account/passkeys/{id}/delete", web::post().to(passkeys::delete));
}
