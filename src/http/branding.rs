//! What every page shows beyond its own content. Branding (`ui.*`): the site name and logo
//! on the pages users see, the accent colour, and an operator's stylesheet. And the flash
//! line: "Client deleted." after a console action redirected, carried by a one-shot cookie.
//! Templates read them through [`site_name`], [`logo_url`] and [`flash`]; a middleware puts
//! them in place for each request, so that several applications in one process (the
//! tests) keep their own.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use anyhow::Context;

use crate::config::UiSettings;
use crate::state::AppState;

/// What the pages show, read once at start.
#[derive(Debug, Clone)]
pub struct Branding {
    pub site_name: String,
    pub logo_url: Option<String>,
    logo: Option<(&'static str, Vec<u8>)>,
    /// `/branding/theme.css`: the accent colour and the operator's stylesheet.
    theme_css: String,
}

tokio::task_local! {
    static CURRENT: Arc<Branding>;
    static FLASH: Option<&'static str>;
}

const FLASH_COOKIE: &str = "latchkey_flash";

/// The flash line for a code a redirect set; unknown codes show nothing (the text never
/// comes from the browser).
fn flash_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "saved" => "Saved.",
        "user-created" => "User created.",
        "user-deleted" => "User deleted.",
        "client-created" => "Client registered.",
        "client-deleted" => "Client deleted.",
        "group-created" => "Group created.",
        "group-deleted" => "Group deleted.",
        "api-created" => "API registered.",
        "api-deleted" => "API deleted.",
        "upstream-created" => "Upstream added.",
        "upstream-deleted" => "Upstream deleted.",
        "key-rotated" => "A new signing key was made.",
        "key-revoked" => "The key was revoked.",
        _ => return None,
    })
}

/// A redirect to `location` that shows the flash line of `code` on the page it leads to.
pub fn see_other_with_flash(location: &str, code: &'static str) -> HttpResponse {
    let mut response = super::pages::see_other(location);
    let cookie = actix_web::cookie::Cookie::build(FLASH_COOKIE, code)
        .path("/")
        .http_only(true)
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(60))
        .finish();
    let _ = response.add_cookie(&cookie);
    response
}

/// The flash line for the page being rendered, if a redirect left one.
pub fn flash() -> Option<&'static str> {
    FLASH.try_with(|flash| *flash).ok().flatten()
}

impl Branding {
    pub fn load(ui: &UiSettings) -> anyhow::Result<Branding> {
        let logo = match ui.logo_file.as_str() {
            "" => None,
            file => {
                let bytes = std::fs::read(file).with_context(|| format!("cannot read ui.logo_file {file}"))?;
                anyhow::ensure!(bytes.len() <= 512 * 1024, "ui.logo_file must be at most 512 KiB");
                let kind = match file.rsplit('.').next().map(str::to_ascii_lowercase).as_deref() {
                    Some("png") => "image/png",
                    Some("svg") => "image/svg+xml",
                    Some("jpg" | "jpeg") => "image/jpeg",
                    Some("webp") => "image/webp",
                    _ => anyhow::bail!("ui.logo_file must be a .png, .svg, .jpg or .webp file"),
                };
                Some((kind, bytes))
            }
        };
        let logo_url = match (&logo, ui.logo_url.as_str()) {
            (Some(_), _) => Some("/branding/logo".to_string()),
            (None, "") => None,
            (None, url) => Some(url.to_string()),
        };
        let mut theme_css = String::new();
        if !ui.accent_color.is_empty() {
            theme_css.push_str(&format!(":root {{ --accent: {}; }}\n", ui.accent_color));
        }
        if !ui.custom_css_file.is_empty() {
            let css = std::fs::read_to_string(&ui.custom_css_file)
                .with_context(|| format!("cannot read ui.custom_css_file {}", ui.custom_css_file))?;
            theme_css.push_str(&css);
        }
        Ok(Branding { site_name: ui.site_name.trim().to_string(), logo_url, logo, theme_css })
    }
}

/// The site name for the page being rendered ("Latchkey" unless `ui.site_name` says).
pub fn site_name() -> String {
    CURRENT.try_with(|b| b.site_name.clone()).unwrap_or_else(|_| "Latchkey".into())
}

/// The logo's URL for the page being rendered, if one is set.
pub fn logo_url() -> Option<String> {
    CURRENT.try_with(|b| b.logo_url.clone()).ok().flatten()
}

/// Runs the rest of the request with this application's branding in place.
pub async fn in_place(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let cookie = request.cookie(FLASH_COOKIE);
    let had_cookie = cookie.is_some();
    let flash = cookie.and_then(|cookie| flash_text(cookie.value()));
    let mut response = match request.app_data::<web::Data<AppState>>().map(|state| state.branding.clone()) {
        Some(branding) => CURRENT.scope(branding, FLASH.scope(flash, next.call(request))).await?,
        None => next.call(request).await?,
    };
    // Shown once: the page that read it removes it (a redirect passes it on).
    if had_cookie && !response.status().is_redirection() {
        let mut removal = actix_web::cookie::Cookie::build(FLASH_COOKIE, "").path("/").finish();
        removal.make_removal();
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&removal.to_string()) {
            response.headers_mut().append(actix_web::http::header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/branding/theme.css", web::get().to(theme)).route("/branding/logo", web::get().to(logo));
}

async fn theme(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(state.branding.theme_css.clone())
}

async fn logo(state: web::Data<AppState>) -> HttpResponse {
    match &state.branding.logo {
        Some((kind, bytes)) => HttpResponse::Ok()
            .content_type(*kind)
            .insert_header(("Cache-Control", "public, max-age=300"))
            .insert_header(("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"))
            .body(bytes.clone()),
        None => HttpResponse::NotFound().finish(),
    }
}
