//! Team members. A row is one membership; moving a member to another team
//! closes it and opens a new one for the same person, keeping the history.

pub mod dto;
pub mod handlers;
pub mod model;
pub mod repo;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/members")
            .route(web::get().to(handlers::list))
            .route(web::post().to(handlers::create)),
    )
    .service(
        web::resource("/members/{id}")
            .route(web::get().to(handlers::get))
            .route(web::patch().to(handlers::update))
            .route(web::delete().to(crate::records::archive::<handlers::Member>)),
    )
    .service(web::resource("/members/{id}/move").route(web::post().to(handlers::move_to_team)))
    .service(web::resource("/members/{id}/history").route(web::get().to(handlers::history)));
}
