//! The signed-in user's own pages: `/account` and the forms on it.

pub mod activity;
pub mod email;
pub mod home;
pub mod mfa;
pub mod passkeys;
pub mod password;

use actix_web::{HttpRequest, web};

use crate::domain::rate_limits::{self, Limit, Limited};
use crate::http::source_ip;
use crate::state::AppState;

/// Counts a post or call on the account pages against the address's allowance
/// (`rate_limits.account_per_minute`): a stolen session cannot guess passwords at speed.
async fn count_request(state: &AppState, request: &HttpRequest) -> anyhow::Result<Result<(), Limited>> {
    rate_limits::count(state, Limit::Account, source_ip(request).as_deref()).await
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(home::show))
        .route("/account/profile", web::post().to(activity::update_profile))
        .route("/account/sessions/others/end", web::post().to(activity::end_other_sessions))
        .route("/account/sessions/{handle}/end", web::post().to(activity::end_session))
        .route("/account/apps/remove", web::post().to(activity::remove_app))
        .route("/email/verify", web::get().to(email::show))
        .route("/email/verify", web::post().to(email::confirm))
        .route("/account/email", web::post().to(email::change))
        .route("/account/password", web::get().to(password::show_form))
        .route("/account/password", web::post().to(password::change))
        .route("/account/mfa/totp/start", web::post().to(mfa::start))
        .route("/account/mfa/totp/confirm", web::post().to(mfa::confirm))
        .route("/account/mfa/totp/remove", web::post().to(mfa::remove))
        .route("/account/mfa/recovery", web::post().to(mfa::regenerate))
        .route("/account/passkeys/register/start", web::post().to(passkeys::start_registration))
        .route("/account/passkeys/register/finish", web::post().to(passkeys::finish_registration))
        .route("/account/passkeys/{id}/rename", web::post().to(passkeys::rename))
        .route("/account/passkeys/{id}/delete", web::post().to(passkeys::delete));
}
