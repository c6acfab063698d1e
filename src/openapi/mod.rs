//! The OpenAPI 3 document (`/api/v1/openapi.json`) that provincial portals
//! build on, and `/docs`, a page that shows it to a person. Both are
//! public, like any API reference, and served from the binary.
//!
//! The document is written by hand in `docs/openapi.json`; a test calls
//! every operation it lists and fails on any the service does not route.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

const DOCUMENT: &str = include_str!("../../docs/openapi.json");
const PAGE: &str = include_str!("docs.html");

/// `/openapi.json`, registered inside the `/api/v1` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/openapi.json").route(web::get().to(document)));
}

/// `/docs`, at the root.
pub fn page_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/docs").route(web::get().to(page)));
}

async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(DOCUMENT)
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(PAGE)
}
