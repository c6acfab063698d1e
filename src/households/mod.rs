//! Households: personal data under the Personal Data Protection Law, with
//! consent history, export, correction and erasure, duplicate detection
//! and the spreadsheet import communes keep.

pub mod dto;
pub mod handlers;
pub mod import;
pub mod model;
pub mod repo;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::web;

/// `Cache-Control: no-store` on every answer of a resource: answers that
/// carry a household's personal data (or may, such as the audit trail's
/// before and after) must not be kept by a browser, a proxy or a phone's
/// HTTP cache.
pub fn no_store() -> DefaultHeaders {
    DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store"))
}

/// Import bodies may be larger than the general limit (up to 20,000 rows).
pub const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/households")
            .wrap(no_store())
            .route(web::get().to(handlers::list))
            .route(web::post().to(handlers::create)),
    )
    .service(
        web::resource("/households/import")
            .wrap(no_store())
            .app_data(web::PayloadConfig::new(MAX_IMPORT_BYTES))
            .route(web::post().to(import::handle)),
    )
    .service(
        web::resource("/households/{id}")
            .wrap(no_store())
            .route(web::get().to(handlers::get))
            .route(web::patch().to(handlers::update))
            .route(web::delete().to(crate::records::archive::<handlers::Household>)),
    )
    .service(
        web::resource("/households/{id}/consents")
            .wrap(no_store())
            .route(web::get().to(handlers::consents))
            .route(web::post().to(handlers::record_consent)),
    )
    .service(
        web::resource("/households/{id}/export")
            .wrap(no_store())
            .route(web::get().to(handlers::export)),
    )
    .service(
        web::resource("/households/{id}/erase")
            .wrap(no_store())
            .route(web::post().to(handlers::erase)),
    );
}
