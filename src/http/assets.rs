//! Static assets, compiled into the binary so it runs the same from any directory.

use actix_web::{HttpResponse, web};

const STYLESHEET: &str = include_str!("../../static/css/latchkey.css");

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/css/latchkey.css", web::get().to(stylesheet));
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(STYLESHEET)
}
