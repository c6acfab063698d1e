//! `GET /reports/summary`.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};

use super::dto::SummaryParams;
use super::repo;
use crate::auth::{AuthUser, Role, Scope};
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Who may read reports: officers and admins, team leaders (their area is
/// their village) and integration clients, each inside its area.
const READERS: [Role; 4] = [Role::Admin, Role::Officer, Role::TeamLeader, Role::Client];

pub async fn summary(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    user.require(&READERS)?;
    let params = SummaryParams::parse(&query.into_inner())?;
    let body = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        let unit = repo::unit_in_area(conn, &scope, params.unit_id)?;
        repo::summary(conn, unit, &params)
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}
