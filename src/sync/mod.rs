//! `POST /sync`: up to 500 records recorded offline (new or changed
//! training sessions, assistance visits and households) in one request.
//! Each item is answered on its own and stored in its own savepoint, so one
//! bad item never fails the others, and a batch sent again after a dropped
//! connection stores nothing twice.

pub mod handlers;

use actix_web::web;

/// Items per request.
pub const MAX_ITEMS: usize = 500;
/// A batch may be larger than the general body limit.
pub const MAX_SYNC_BYTES: usize = 8 * 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/sync")
            // Answers carry the households stored.
            .wrap(crate::households::no_store())
            .app_data(
                web::JsonConfig::default()
                    .limit(MAX_SYNC_BYTES)
                    .error_handler(crate::error::json_error),
            )
            .route(web::post().to(handlers::sync)),
    );
}
