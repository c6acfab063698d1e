//! Administrative units of every period (province, district, commune,
//! village), their official lineage across the 2025 reform, and the import
//! of the national lists.

pub mod dto;
pub mod handlers;
pub mod import;
pub mod model;
pub mod repo;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/units")
            .route(web::get().to(handlers::list))
            .route(web::post().to(handlers::create_village)),
    )
    .service(
        web::resource("/units/{id}")
            .route(web::get().to(handlers::get))
            .route(web::patch().to(handlers::assign_village)),
    )
    .service(web::resource("/units/{id}/children").route(web::get().to(handlers::children)))
    .service(web::resource("/units/{id}/lineage").route(web::get().to(handlers::lineage)));
}
