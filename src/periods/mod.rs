//! Reporting months: an officer locks a month for a unit, and while it is
//! locked nothing in or under the unit dated in that month is created,
//! changed or archived.

pub mod handlers;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/periods").route(web::get().to(handlers::list)))
        .service(
            web::resource("/periods/{unit_id}/{month}/lock").route(web::post().to(handlers::lock)),
        )
        .service(
            web::resource("/periods/{unit_id}/{month}/unlock")
                .route(web::post().to(handlers::unlock)),
        );
}
