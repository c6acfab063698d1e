//! User accounts: admins manage all; officers create, deactivate and link
//! the team leader and member accounts of their area.

pub mod dto;
pub mod handlers;
pub mod model;
pub mod repo;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users")
            .route(web::get().to(handlers::list))
            .route(web::post().to(handlers::create)),
    )
    .service(
        web::resource("/users/{id}")
            .route(web::get().to(handlers::get))
            .route(web::patch().to(handlers::update)),
    );
}
