//! `/health/live` (the process answers) and `/health/ready` (the database is
//! reachable and every migration is applied).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health/live").route(web::get().to(live)))
        .service(web::resource("/health/ready").route(web::get().to(ready)));
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "live" }))
}

async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let current = db::run(&state.pool, db::migrations_current).await?;
    if current {
        Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
    } else {
        Err(ApiError::Unavailable)
    }
}
