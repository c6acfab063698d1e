//! Training sessions (*lớp tập huấn, buổi tuyên truyền*): what a team taught,
//! to whom, recorded on a phone that is often offline.

pub mod dto;
pub mod handlers;
pub mod model;
pub mod repo;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/trainings")
            .route(web::get().to(handlers::list))
            .route(web::post().to(handlers::create)),
    )
    .service(
        web::resource("/trainings/{id}")
            .route(web::get().to(handlers::get))
            .route(web::patch().to(handlers::update))
            .route(web::delete().to(handlers::archive)),
    )
    .service(web::resource("/trainings/{id}/verify").route(web::post().to(handlers::verify)))
    .service(web::resource("/trainings/{id}/reject").route(web::post().to(handlers::reject)))
    .service(web::resource("/trainings/{id}/reopen").route(web::post().to(handlers::reopen)));
}
