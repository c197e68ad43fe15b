//! Static assets, compiled into the binary so it runs the same from any directory.

use actix_web::{HttpResponse, web};

const STYLESHEET: &str = include_str!("../../static/css/latchkey.css");
const PASSKEY_SCRIPT: &str = include_str!("../../static/js/passkey.js");

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/css/latchkey.css", web::get().to(stylesheet))
        .route("/static/js/passkey.js", web::get().to(passkey_script));
}

async fn passkey_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(PASSKEY_SCRIPT)
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(STYLESHEET)
}
