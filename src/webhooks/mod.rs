//! Webhooks: an integration client registers HTTPS URLs and the record
//! types it wants, and is sent each change of its area as the change feed
//! lists it, signed (Standard Webhooks), in order per record, retried for a
//! day. `target` says where a webhook may point, `secrets` keeps and uses
//! signing secrets, `repo` and `handlers` are the `/webhooks` routes, and
//! `sender` delivers the outbox that a trigger on `audit_events` fills in
//! the same transaction as each change.

pub mod handlers;
pub mod repo;
pub mod secrets;
pub mod sender;
pub mod target;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/webhooks")
            .route(web::get().to(handlers::list))
            .route(web::post().to(handlers::create)),
    )
    .service(
        web::resource("/webhooks/{id}")
            .route(web::get().to(handlers::get))
            .route(web::patch().to(handlers::update))
            .route(web::delete().to(handlers::delete)),
    )
    .service(web::resource("/webhooks/{id}/rotate").route(web::post().to(handlers::rotate)))
    .service(web::resource("/webhooks/{id}/deliveries").route(web::get().to(handlers::deliveries)))
    .service(
        web::resource("/webhooks/{id}/deliveries/{delivery_id}")
            .route(web::get().to(handlers::delivery)),
    )
    .service(
        web::resource("/webhooks/{id}/deliveries/{delivery_id}/redeliver")
            .route(web::post().to(handlers::redeliver)),
    );
}
