//! Village teams (*Tổ công nghệ số cộng đồng*): one active team per village.

pub mod dto;
pub mod handlers;
pub mod model;
pub mod repo;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/teams")
            .route(web::get().to(handlers::list))
            .route(web::post().to(handlers::create)),
    )
    .service(
        web::resource("/teams/{id}")
            .route(web::get().to(handlers::get))
            .route(web::patch().to(handlers::update))
            .route(web::delete().to(crate::records::archive::<handlers::Team>)),
    )
    .service(web::resource("/teams/{id}/members").route(web::get().to(handlers::members)));
}
