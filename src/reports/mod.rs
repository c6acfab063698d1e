//! `GET /reports/summary`: the indicators officers report upward, per unit
//! and period, counted exactly from the records at the moment of the
//! request, for units of either side of the 2025 reform.
//!
//! `repo::summary` computes every indicator (one query per family of
//! figures, each one pass over its table or its running totals; the
//! visits' families on a second connection in the same snapshot when the
//! pool has one idle); an export
//! of the summary reuses it as it is, and may read through
//! `db::replica::run_read` as the handler does.

pub mod dto;
pub mod handlers;
pub mod repo;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/reports/summary").route(web::get().to(handlers::summary)));
}
