//! Branding (`ui.*`): the site name and logo on the pages users see, the accent colour,
//! and an operator's stylesheet. Templates read the current request's branding through
//! [`site_name`] and [`logo_url`]; a middleware puts it in place for each request, so that
//! several applications in one process (the tests) keep their own.

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
    match request.app_data::<web::Data<AppState>>().map(|state| state.branding.clone()) {
        Some(branding) => CURRENT.scope(branding, next.call(request)).await,
        None => next.call(request).await,
    }
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
