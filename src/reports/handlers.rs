//! `GET /reports/summary`.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};

use super::dto::SummaryParams;
use super::repo;
use crate::auth::{AuthUser, Role, Scope};
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Who may read reports: officers and admins, team leaders (their area is
/// their village) and integration clients, each inside its area.
const READERS: [Role; 4] = [Role::Admin, Role::Officer, Role::TeamLeader, Role::Client];

/// Summary of indicators for a unit and period
///
/// Every indicator of the monthly report, counted exactly at the moment of
/// the request (a record counts once its transaction commits). With a read
/// replica the figures may come from it: `X-Read-From` and
/// `X-Replica-Lag-Ms` say where and how far behind, and `as_of` is the
/// moment they are true at. For a unit of today or from before the reform
/// inside the caller's area (404 otherwise). Rows by child unit or month
/// add up to `totals` for every figure not listed in `not_additive`. A unit
/// of today also answers for the villages of split communes waiting to be
/// assigned to it (`unassigned`, included in `totals`, never in a row).
/// `admin`, `officer`, `team_leader` (their village) and integration
/// clients; a bad or unknown parameter is a 422 naming it. As a file
/// (`format=csv|xlsx` or `Accept`): every row with the same filters,
/// headers in Vietnamese or with `lang=en` in English; each export is one
/// audit event `export`.
#[utoipa::path(
    get,
    path = "/api/v1/reports/summary",
    tag = "reports",
    operation_id = "reportSummary",
    params(crate::openapi::reports::SummaryQuery),
    responses(
        (
            status = 200,
            description = "The summary, or its rows as a file.",
            content(
                (super::dto::Summary = "application/json"),
                (String = "text/csv"),
                (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ),
            headers(
                ("X-Read-From" = String, description = "Where the figures were read: `replica` (the read replica of `DATABASE_READ_URL`) or `primary`."),
                ("X-Replica-Lag-Ms" = u64, description = "How far behind the primary the read replica was, in milliseconds, when it was asked; absent without a replica or when it could not be reached. Past the service's allowed lag the primary answers and this still gives the lag."),
                ("Content-Disposition" = String, description = "Files only: `attachment` with a file name that says what and when (Vietnam's time): an ASCII `filename` and the UTF-8 `filename*` (RFC 8187)."),
                ("Cache-Control" = String, description = "Files only: `no-store`."),
            ),
        ),
        (status = 404, response = crate::openapi::problems::NotFound),
        (status = 406, response = crate::openapi::problems::NotAcceptable),
        (status = 422, response = crate::openapi::problems::Validation),
    )
)]
pub async fn summary(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    user.require(&READERS)?;
    let mut query = query.into_inner();
    if let Some(wanted) = crate::exports::wanted(&req)? {
        let ctx = crate::audit::Ctx::user(&user, &req);
        return crate::exports::serve_summary(&state.pool, user, ctx, wanted, query).await;
    }
    // `format=json` and `lang` ask for what a JSON answer is anyway.
    for p in crate::exports::PARAMS {
        query.remove(p);
    }
    let params = SummaryParams::parse(&query)?;
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
        move |conn, pool| repo::summary(conn, Some(pool), unit.0, &unit.1),
    )
    .await?;
    let mut res = HttpResponse::Ok();
    for header in from.headers() {
        res.insert_header(header);
    }
    Ok(res.json(body))
}
