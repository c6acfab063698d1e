//! The audit trail: every change, login, export and read of a household's
//! personal data appends an event in the same transaction as what it
//! records. Events carry a hash of their content; a single linker chains
//! them in commit order shortly after they commit, so writers never queue
//! behind one another, and `GET /audit/verify` recomputes the chain.

pub mod chain;
pub mod handlers;
pub mod kinds;
pub mod record;

pub use kinds::{Action, Entity};
pub use record::{Ctx, Event, record, record_many};

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/audit").route(web::get().to(handlers::list)))
        .service(web::resource("/audit/verify").route(web::get().to(handlers::verify)));
}
