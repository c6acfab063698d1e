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
    // The caller's area and the unit come from the primary, where accounts
    // and units change first; the figures may come from the read replica.
    let unit = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        repo::unit_in_area(conn, &scope, params.unit_id).map(|unit| (unit, params))
    })
    .await?;
    let (body, from) = db::replica::run_read(
        &state.pool,
        state.read_pool.as_ref(),
        state.settings.read_max_lag,
        move |conn| repo::summary(conn, unit.0, &unit.1),
    )
    .await?;
    let mut res = HttpResponse::Ok();
    for header in from.headers() {
        res.insert_header(header);
    }
    Ok(res.json(body))
}
