//! Training sessions (*lớp tập huấn, buổi tuyên truyền*): what a team taught,
//! to whom, recorded on a phone that is often offline.

pub mod dto;
pub mod handlers;
pub mod model;
pub mod repo;

use actix_web::web;

use crate::activities::{bulk, http};
use handlers::Session;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/trainings")
            .route(web::get().to(http::list::<Session>))
            .route(web::post().to(http::create::<Session>)),
    )
    // Before `/trainings/{id}`, which would take `verify` for an id.
    .service(web::resource("/trainings/verify").route(web::post().to(bulk::verify::<Session>)))
    .service(web::resource("/trainings/reject").route(web::post().to(bulk::reject::<Session>)))
    .service(
        web::resource("/trainings/{id}")
            .route(web::get().to(http::get::<Session>))
            .route(web::patch().to(http::update::<Session>))
            .route(web::delete().to(http::archive::<Session>)),
    )
    .service(web::resource("/trainings/{id}/verify").route(web::post().to(http::verify::<Session>)))
    .service(web::resource("/trainings/{id}/reject").route(web::post().to(http::reject::<Session>)))
    .service(
        web::resource("/trainings/{id}/reopen").route(web::post().to(http::reopen::<Session>)),
    );
}
