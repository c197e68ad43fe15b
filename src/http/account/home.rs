//! `/account`: the signed-in user's page, one panel per part of their account: profile,
//! email, password, sign-in methods (authenticator app, passkeys), where they are signed in,
//! and the apps they let in.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::account::{self, ConnectedApp, DeviceSession};
use crate::domain::{approximate_age, credentials, mfa, now, passkeys, upstream};
use crate::http::csrf::FormToken;
use crate::http::pages::{PageError, PasskeyRow, see_other};
use crate::http::session;
use crate::state::AppState;

struct SessionRow {
    session: DeviceSession,
    signed_in: String,
}

/// An upstream on the account page: linked (since when), or offered for linking.
struct UpstreamRow {
    name: String,
    display_name: String,
    linked_since: Option<String>,
}

struct AppRow {
    app: ConnectedApp,
    scopes: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "account/index.html")]
struct AccountPage<'a> {
    username: &'a str,
    display_name: &'a str,
    csrf_token: &'a str,
    flash: Option<&'static str>,
    passkeys_enabled: bool,
    passkeys: Vec<PasskeyRow>,
    admin: bool,
    mfa: mfa::MfaStatus,
    email: Option<&'a str>,
    email_verified: bool,
    /// Mail is set up: the address can be changed (and verified) here.
    mail_enabled: bool,
    has_password: bool,
    sessions: Vec<SessionRow>,
    apps: Vec<AppRow>,
    upstreams: Vec<UpstreamRow>,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    done: Option<String>,
}

/// The line shown after an action, by the code it redirected with (never text from the URL).
fn flash(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "profile" => "Your name is saved.",
        "password" => "Your password is saved. Your other sessions were signed out.",
        "session" => "That session is signed out.",
        "sessions" => "Every other session is signed out.",
        "app" => "The app no longer has access to your account.",
        "linked" => "The sign-in is linked: you can use it to sign in.",
        "unlinked" => "The sign-in is unlinked.",
        _ => return None,
    })
}

pub async fn show(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<AccountQuery>,
) -> Result<HttpResponse, PageError> {
    let (browser_session, user) = session::require(&state, &request).await?;
    if user.must_change_password {
        return Ok(see_other("/account/password"));
    }
    let now = now();
    let passkeys = PasskeyRow::rows(passkeys::list(&state, &user.id).await?);
    let sessions = account::sessions_of(&state, &user, &browser_session)
        .await?
        .into_iter()
        .map(|session| SessionRow { signed_in: approximate_age(session.signed_in_at, now), session })
        .collect();
    let apps = account::connected_apps(&state, &user.id)
        .await?
        .into_iter()
        .map(|app| AppRow { scopes: app.scopes.to_string(), last_used: approximate_age(app.last_used, now), app })
        .collect();
    let upstreams = upstream::upstreams_of(&state.db, &user.id)
        .await?
        .into_iter()
        .map(|row| UpstreamRow {
            linked_since: row.link.map(|link| approximate_age(link.created_at, now)),
            name: row.name,
            display_name: row.display_name,
        })
        .collect();
    let form = FormToken::new(&request, &state.settings);
    let page = AccountPage {
        username: &user.username,
        display_name: user.display_name.as_deref().unwrap_or_default(),
        csrf_token: &form.token,
        flash: flash(query.done.as_deref()),
        passkeys_enabled: state.webauthn.is_some(),
        passkeys,
        admin: user.admin,
        mfa: mfa::status(&state, &user.id).await.map_err(|e| PageError::Unexpected(anyhow::anyhow!(e)))?,
        email: user.email.as_deref(),
        email_verified: user.email_verified,
        mail_enabled: state.mailer.is_some(),
        has_password: credentials::has_password(&state, &user.id).await?,
        sessions,
        apps,
        upstreams,
    };
    Ok(form.render(StatusCode::OK, &page))
}
