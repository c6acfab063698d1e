//! Household assistance visits (*hỗ trợ hộ gia đình*): what a team did for
//! a household, recorded on a phone that is often offline.

pub mod dto;
pub mod handlers;
pub mod model;
pub mod repo;

use actix_web::web;

use crate::activities::{bulk, http};
use handlers::Visit;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/assistances")
            .route(web::get().to(http::list::<Visit>))
            .route(web::post().to(http::create::<Visit>)),
    )
    // Before `/assistances/{id}`, which would take `verify` for an id.
    .service(web::resource("/assistances/verify").route(web::post().to(bulk::verify::<Visit>)))
    .service(web::resource("/assistances/reject").route(web::post().to(bulk::reject::<Visit>)))
    .service(
        web::resource("/assistances/{id}")
            .route(web::get().to(http::get::<Visit>))
            .route(web::patch().to(http::update::<Visit>))
            .route(web::delete().to(http::archive::<Visit>)),
    )
    .service(web::resource("/assistances/{id}/verify").route(web::post().to(http::verify::<Visit>)))
    .service(web::resource("/assistances/{id}/reject").route(web::post().to(http::reject::<Visit>)))
    .service(
        web::resource("/assistances/{id}/reopen").route(web::post().to(http::reopen::<Visit>)),
    );
}
