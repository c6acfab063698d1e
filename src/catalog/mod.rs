//! The catalogue of assistance kinds and training topics: a list a province
//! can extend, each entry with Vietnamese and English names. Retired entries
//! stay for the records that use them.

pub mod handlers;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/catalog/{kind}")
            .route(web::get().to(handlers::list))
            .route(web::post().to(handlers::create)),
    )
    .service(web::resource("/catalog/{kind}/{code}").route(web::patch().to(handlers::update)));
}
