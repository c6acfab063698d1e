//! `/periods`, `/periods/{unit_id}/{YYYY-MM}/lock` and `/unlock`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::activities::CHECKERS;
use crate::audit::{self, Ctx, Event};
use crate::auth::{AuthUser, Scope};
use crate::db;
use crate::db::schema::{period_locks, units};
use crate::domain::short_text;
use crate::error::ApiError;
use crate::json::Query;
use crate::records;
use crate::state::AppState;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = period_locks)]
pub struct Lock {
    pub unit_id: Uuid,
    #[serde(serialize_with = "month_text")]
    pub month: NaiveDate,
    #[serde(skip)]
    pub area_path: String,
    pub reason: Option<String>,
    pub locked_by: Uuid,
    pub locked_at: DateTime<Utc>,
}

fn month_text<S: serde::Serializer>(m: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&m.format("%Y-%m").to_string())
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LockBody {
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub unit_id: Option<Uuid>,
    pub month: Option<String>,
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
        if let Scope::Subtree { lo, hi } = &scope {
            let above = crate::activities::ancestor_paths(lo);
            query = query.filter(
                period_locks::area_path
                    .ge(lo.clone())
                    .and(period_locks::area_path.lt(hi.clone()))
                    .or(period_locks::area_path.eq_any(above)),
            );
        }
        if let Some(m) = month {
            query = query.filter(period_locks::month.eq(m));
        }
        // As in every list: the unit and everything below it.
        if let Some(u) = q.unit_id {
            match crate::auth::access::subtree_range(conn, u)? {
                Some((lo, hi)) => {
                    query = query
                        .filter(period_locks::area_path.ge(lo))
                        .filter(period_locks::area_path.lt(hi));
                }
                _ => return Ok(Vec::new()),
            }
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
    let body = records::optional_body::<LockBody>(&req, &body)?.unwrap_or_default();
    let reason = short_text(body.reason.as_deref().unwrap_or(""), 500)
        .map_err(|e| ApiError::validation("reason", e.code, e.message))?;
    let ctx = Ctx::user(&user, &req);
    let (lock, created) = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            let (unit_id, path) = unit_in_scope(conn, &scope, unit_id)?;
            // Waits for writers of records in this month to commit, so that
            // nothing lands in the month once the lock is answered.
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(crate::activities::month_key(month))
                .execute(conn)?;
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
                        "lock",
                        "period",
                        format!("{unit_id}/{}", month.format("%Y-%m")),
                    )
                    .at(unit_id, &path)
                    .after(&lock);
                    audit::record(conn, &ctx, e)?;
                    Ok((lock, true))
                }
                None => {
                    let lock = period_locks::table
                        .find((unit_id, month))
                        .select(Lock::as_select())
                        .first(conn)?;
                    Ok((lock, false))
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
    .json(lock))
}

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
    let reason = short_text(body.reason.as_deref().unwrap_or(""), 500)
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
                "unlock",
                "period",
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
