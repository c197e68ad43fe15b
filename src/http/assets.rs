//! Static assets, compiled into the binary so it runs the same from any directory.

use actix_web::{HttpResponse, web};

const STYLESHEET: &str = include_str!("../../static/css/latchkey.css");
const PASSKEY_SCRIPT: &str = include_str!("../../static/js/passkey.js");
const FORM_POST_SCRIPT: &str = include_str!("../../static/js/form_post.js");
const CONSOLE_SCRIPT: &str = include_str!("../../static/js/console.js");

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/css/latchkey.css", web::get().to(stylesheet))
        .route("/static/js/passkey.js", web::get().to(|| script(PASSKEY_SCRIPT)))
        .route("/static/js/form_post.js", web::get().to(|| script(FORM_POST_SCRIPT)))
        .route("/static/js/console.js", web::get().to(|| script(CONSOLE_SCRIPT)));
}

async fn script(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(body)
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(STYLESHEET)
}
