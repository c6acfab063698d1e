//! Household assistance visits (*hỗ trợ hộ gia đình*): what a team did for
//! a household, recorded on a phone that is often offline.

pub mod dto;
pub mod handlers;
pub mod model;
pub mod repo;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/assistances")
            .route(web::get().to(handlers::list))
            .route(web::post().to(handlers::create)),
    )
    .service(
        web::resource("/assistances/{id}")
            .route(web::get().to(handlers::get))
            .route(web::patch().to(handlers::update))
            .route(web::delete().to(handlers::archive)),
    )
    .service(web::resource("/assistances/{id}/verify").route(web::post().to(handlers::verify)))
    .service(web::resource("/assistances/{id}/reject").route(web::post().to(handlers::reject)))
    .service(web::resource("/assistances/{id}/reopen").route(web::post().to(handlers::reopen)));
}
