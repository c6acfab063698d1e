//! `/periods`, `/periods/{unit_id}/{YYYY-MM}/lock` and `/unlock`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::activities::CHECKERS;
use crate::audit::{self, Action, Ctx, Entity, Event};
use crate::auth::{AuthUser, Scope};
use crate::db;
use crate::db::schema::{period_locks, units};
use crate::domain::short_text;
use crate::error::ApiError;
use crate::json::Query;
use crate::records;
use crate::state::AppState;

/// The longest reason of a lock or an unlock, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// A reporting month locked for a unit and everything under it.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = period_locks)]
#[schema(as = PeriodLock)]
pub struct Lock {
    /// A unit of any level.
    pub unit_id: Uuid,
    /// `YYYY-MM`.
    #[serde(serialize_with = "month_text")]
    #[schema(value_type = String, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: NaiveDate,
    #[serde(skip)]
    pub area_path: String,
    pub reason: Option<String>,
    pub locked_by: Uuid,
    pub locked_at: DateTime<Utc>,
}

/// A lock as answered and audited: the lock, whether it was forced, and
/// what it left unchecked.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = PeriodLockAnswer)]
pub struct LockAnswer {
    #[serde(flatten)]
    pub lock: Lock,
    /// Locked with `force` over records still `submitted`.
    pub forced: bool,
    /// What the month still holds `submitted` under the unit.
    pub unchecked: Unchecked,
}

fn month_text<S: serde::Serializer>(m: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&m.format("%Y-%m").to_string())
}

/// The body of an unlock: why.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UnlockRequest)]
pub struct LockBody {
    #[schema(schema_with = crate::openapi::activities::required_reason, required = true)]
    pub reason: Option<String>,
}

/// The body of a lock: a reason, and `force` to lock a month whose records
/// are not all checked (a reason is then required).
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PeriodLockRequest)]
pub struct LockRequest {
    /// Required with `force`.
    #[schema(schema_with = crate::openapi::activities::optional_reason)]
    pub reason: Option<String>,
    /// Lock although records of the month are still `submitted`.
    #[serde(default)]
    pub force: bool,
}

/// The trainings and visits of a month still `submitted` under a unit,
/// in all and per child unit (the unit itself for a village).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[schema(as = PeriodUnchecked)]
pub struct Unchecked {
    pub trainings: i64,
    pub assistances: i64,
    pub by_unit: Vec<UncheckedIn>,
}

#[derive(Debug, Clone, Serialize, QueryableByName, utoipa::ToSchema)]
#[schema(as = PeriodUncheckedIn)]
pub struct UncheckedIn {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub unit_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub unit_name: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub trainings: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub assistances: i64,
}

/// Counts what a lock of `month` on the unit at `path` would leave
/// unchecked. Records lie in villages: each is counted under the unit one
/// level below the locked one on its path (itself, for a village).
fn unchecked(conn: &mut PgConnection, path: &str, month: NaiveDate) -> Result<Unchecked, ApiError> {
    use diesel::sql_types::{Date, Text};
    let scope = Scope::from_path(path);
    let (lo, hi) = match &scope {
        Scope::Subtree { lo, hi } => (lo.clone(), hi.clone()),
        Scope::All => return Err(ApiError::internal("a unit's path gave no range")),
    };
    // One segment is 32 hex digits and a '/'.
    let by_unit: Vec<UncheckedIn> = diesel::sql_query(
        "WITH r AS ( \
           SELECT left(area_path, length($1) + 33) AS child, 1 AS t, 0 AS a FROM trainings \
            WHERE status = 'submitted' AND archived_at IS NULL \
              AND held_on >= $3 AND held_on < ($3 + interval '1 month')::date \
              AND area_path >= $1 AND area_path < $2 \
           UNION ALL \
           SELECT left(area_path, length($1) + 33), 0, 1 FROM assistances \
            WHERE status = 'submitted' AND archived_at IS NULL \
              AND visited_on >= $3 AND visited_on < ($3 + interval '1 month')::date \
              AND area_path >= $1 AND area_path < $2) \
         SELECT u.id AS unit_id, u.name AS unit_name, \
                sum(r.t)::bigint AS trainings, sum(r.a)::bigint AS assistances \
           FROM r JOIN units u ON u.path = r.child \
          GROUP BY u.id, u.name ORDER BY u.name, u.id",
    )
    .bind::<Text, _>(&lo)
    .bind::<Text, _>(&hi)
    .bind::<Date, _>(month)
    .load(conn)?;
    Ok(Unchecked {
        trainings: by_unit.iter().map(|u| u.trainings).sum(),
        assistances: by_unit.iter().map(|u| u.assistances).sum(),
        by_unit,
    })
}

/// 409 naming what is still submitted in the month, and where.
fn not_checked(month: NaiveDate, left: &Unchecked) -> ApiError {
    let places: Vec<String> = left
        .by_unit
        .iter()
        .map(|u| format!("{} in {}", u.trainings + u.assistances, u.unit_name))
        .collect();
    let counted =
        |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    ApiError::Conflict {
        detail: format!(
            "{} and {} of {} are still submitted ({}); verify or reject them first, or lock anyway with \"force\": true and a reason",
            counted(left.trainings, "training", "trainings"),
            counted(left.assistances, "visit", "visits"),
            month.format("%Y-%m"),
            places.join(", ")
        ),
        current: Some(serde_json::json!({ "unchecked": left })),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only the locks of this unit and the units below it.
    pub unit_id: Option<Uuid>,
    /// Only this month, `YYYY-MM` (422 otherwise).
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
}

/// The locks, newest month first.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PeriodLockPage {
    items: Vec<Lock>,
    /// Always `null`: the list is not paged.
    next_cursor: Option<String>,
}

/// `YYYY-MM` as the first day of the month.
pub fn parse_month(raw: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| raw.len() == 7)
        .ok_or_else(|| ApiError::validation("month", "invalid", "expected a month as YYYY-MM"))
}

fn unit_in_scope(
    conn: &mut PgConnection,
    scope: &Scope,
    id: Uuid,
) -> Result<(Uuid, String), ApiError> {
    let (id, path): (Uuid, String) = units::table
        .find(id)
        .select((units::id, units::path))
        .first(conn)?;
    if scope.contains_path(&path) {
        Ok((id, path))
    } else {
        Err(ApiError::NotFound)
    }
}

/// List month locks
///
/// The locks that bind the caller's records: those of units inside its
/// area and of the units above it. Newest month first, at most 500,
/// unpaged. Every role.
#[utoipa::path(
    get,
    path = "/api/v1/periods",
    tag = "periods",
    operation_id = "listPeriodLocks",
    params(ListQuery),
    responses(
        (status = 200, description = "The locks.", body = PeriodLockPage),
        (status = 422, response = crate::openapi::problems::Validation),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let month = q.month.as_deref().map(parse_month).transpose()?;
    let items = db::run(&state.pool, move |conn| {
        let scope = Scope::of(conn, &user)?;
        let mut query = period_locks::table.into_boxed();
        // Locks inside the caller's area, and those of the units above it,
        // which bind the caller's records too.
        if let Scope::Subtree { lo, .. } = &scope {
            let above = crate::activities::ancestor_paths(lo);
            query = query.filter(
                scope
                    .area_filter::<period_locks::table>("period_locks")
                    .or(period_locks::area_path.eq_any(above)),
            );
        }
        if let Some(m) = month {
            query = query.filter(period_locks::month.eq(m));
        }
        // As in every list: the unit and everything below it.
        if let Some(f) = records::unit_filter(conn, "period_locks", q.unit_id)? {
            query = query.filter(f);
        }
        let rows: Vec<Lock> = query
            .order((period_locks::month.desc(), period_locks::unit_id))
            .limit(500)
            .select(Lock::as_select())
            .load(conn)?;
        Ok(rows)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "next_cursor": null })))
}

/// Lock a month
///
/// Nothing dated in the month in or under the unit can then be created,
/// changed or archived. Refused (409 with `current.unchecked`) while
/// records of the month are still `submitted`, unless `force` with a
/// reason. Locked already: answered 200 with the lock as it is. The body
/// is optional. `admin` and `officer`, for a unit inside their area.
#[utoipa::path(
    post,
    path = "/api/v1/periods/{unit_id}/{month}/lock",
    tag = "periods",
    operation_id = "lockPeriod",
    params(
        ("unit_id" = Uuid, Path, description = "A unit of any level inside the caller's area."),
        ("month" = String, Path, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$", description = "The month, `YYYY-MM` (422 otherwise)."),
    ),
    request_body(content = LockRequest, content_type = "application/json", description = "Optional."),
    responses(
        (status = 201, description = "Locked now.", body = LockAnswer, links(
            ("unlock" = (operation_id = "unlockPeriod", parameters(("unit_id" = "$response.body#/unit_id"), ("month" = "$response.body#/month")))),
        )),
        (status = 200, description = "Locked already: the lock as it is.", body = LockAnswer),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
pub async fn lock(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(CHECKERS)?;
    let (unit_id, month) = path.into_inner();
    let month = parse_month(&month)?;
    let body = records::optional_body::<LockRequest>(&req, &body)?.unwrap_or_default();
    let reason = short_text(body.reason.as_deref().unwrap_or(""), MAX_REASON_CHARS)
        .map_err(|e| ApiError::validation("reason", e.code, e.message))?;
    let force = body.force;
    if force && reason.is_none() {
        return Err(ApiError::validation(
            "reason",
            "required",
            "say why the month is locked with records still unchecked",
        ));
    }
    let ctx = Ctx::user(&user, &req);
    let (lock, created, left) = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            let (unit_id, path) = unit_in_scope(conn, &scope, unit_id)?;
            // Waits for writers of records in this month to commit, so that
            // nothing lands in the month once the lock is answered.
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(crate::activities::month_key(month))
                .execute(conn)?;
            let existing: Option<Lock> = period_locks::table
                .find((unit_id, month))
                .select(Lock::as_select())
                .first(conn)
                .optional()?;
            // Locked already: answered as it is, nothing written.
            if let Some(lock) = existing {
                let left = unchecked(conn, &path, month)?;
                return Ok((lock, false, left));
            }
            let left = unchecked(conn, &path, month)?;
            if left.trainings + left.assistances > 0 && !force {
                return Err(not_checked(month, &left));
            }
            let inserted: Option<Lock> = diesel::insert_into(period_locks::table)
                .values((
                    period_locks::unit_id.eq(unit_id),
                    period_locks::month.eq(month),
                    period_locks::area_path.eq(&path),
                    period_locks::reason.eq(&reason),
                    period_locks::locked_by.eq(user.id),
                ))
                .on_conflict_do_nothing()
                .returning(Lock::as_returning())
                .get_result(conn)
                .optional()?;
            match inserted {
                Some(lock) => {
                    let e = Event::new(
                        Action::Lock,
                        Entity::Period,
                        format!("{unit_id}/{}", month.format("%Y-%m")),
                    )
                    .at(unit_id, &path)
                    .after(LockAnswer {
                        lock: lock.clone(),
                        forced: force,
                        unchecked: left.clone(),
                    });
                    audit::record(conn, &ctx, e)?;
                    Ok((lock, true, left))
                }
                // Set meanwhile by another officer (the advisory lock makes
                // this rare): the stored lock.
                None => {
                    let lock = period_locks::table
                        .find((unit_id, month))
                        .select(Lock::as_select())
                        .first(conn)?;
                    Ok((lock, false, left))
                }
            }
        })
    })
    .await?;
    Ok(if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    }
    .json(LockAnswer {
        lock,
        forced: force && created,
        unchecked: left,
    }))
}

/// Unlock a month
///
/// With a reason (422 without). Not locked for this unit: 409.
/// `admin` and `officer`, for a unit inside their area.
#[utoipa::path(
    post,
    path = "/api/v1/periods/{unit_id}/{month}/unlock",
    tag = "periods",
    operation_id = "unlockPeriod",
    params(
        ("unit_id" = Uuid, Path, description = "A unit of any level inside the caller's area."),
        ("month" = String, Path, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$", description = "The month, `YYYY-MM` (422 otherwise)."),
    ),
    request_body(content = LockBody, content_type = "application/json"),
    responses(
        (status = 204, description = "Unlocked."),
        (status = 409, response = crate::openapi::problems::Conflict),
    )
)]
pub async fn unlock(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(CHECKERS)?;
    let (unit_id, month) = path.into_inner();
    let month = parse_month(&month)?;
    let body = records::optional_body::<LockBody>(&req, &body)?.unwrap_or_default();
    let reason = short_text(body.reason.as_deref().unwrap_or(""), MAX_REASON_CHARS)
        .map_err(|e| ApiError::validation("reason", e.code, e.message))?
        .ok_or_else(|| {
            ApiError::validation("reason", "required", "say why the month is unlocked")
        })?;
    let ctx = Ctx::user(&user, &req);
    db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            let (unit_id, path) = unit_in_scope(conn, &scope, unit_id)?;
            let removed: Option<Lock> = diesel::delete(period_locks::table.find((unit_id, month)))
                .returning(Lock::as_returning())
                .get_result(conn)
                .optional()?;
            let Some(lock) = removed else {
                return Err(ApiError::conflict("this month is not locked for this unit"));
            };
            let e = Event::new(
                Action::Unlock,
                Entity::Period,
                format!("{unit_id}/{}", month.format("%Y-%m")),
            )
            .at(unit_id, &path)
            .before(&lock)
            .after(serde_json::json!({ "reason": reason }));
            audit::record(conn, &ctx, e)
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
