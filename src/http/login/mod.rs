//! Signing in through the browser: the login page (password now; passkeys join it).

pub mod password;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(password::show_login_form))
        .route("/login", web::post().to(password::submit_password));
}
