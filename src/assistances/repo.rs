//! Queries on assistance visits. Every read and write takes the caller's
//! scope, but for the lookup by the phone's id that tells a resend.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::dto::AssistanceFilters;
use super::model::{AssistanceChanges, AssistanceRow};
use crate::auth::Scope;
use crate::db::schema::assistances;
use crate::error::ApiError;
use crate::records::{ListParams, unit_filter};

pub fn list(
    conn: &mut PgConnection,
    scope: &Scope,
    params: &ListParams,
    filters: &AssistanceFilters,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<AssistanceRow>, ApiError> {
    let mut query = assistances::table
        .filter(scope.area_filter::<assistances::table>("assistances"))
        .into_boxed();
    if let Some(f) = unit_filter::<assistances::table>(conn, "assistances", params.unit_id)? {
        query = query.filter(f);
    }
    if !params.include_archived {
        query = query.filter(assistances::archived_at.is_null());
    }
    if let Some(h) = filters.household_id {
        query = query.filter(assistances::household_id.eq(h));
    }
    if let Some(t) = filters.team_id {
        query = query.filter(assistances::team_id.eq(t));
    }
    if let Some(s) = &filters.status {
        query = query.filter(assistances::status.eq(s.clone()));
    }
    if let Some(k) = &filters.kind {
        query = query.filter(assistances::kinds.contains(vec![Some(k.clone())]));
    }
    if let Some(from) = filters.from {
        query = query.filter(assistances::visited_on.ge(from));
    }
    if let Some(to) = filters.to {
        query = query.filter(assistances::visited_on.le(to));
    }
    if let Some(since) = params.updated_since {
        query = query.filter(assistances::updated_at.ge(since));
    }
    if let Some(after) = after {
        query = query.filter(assistances::id.gt(after));
    }
    Ok(query
        .order(assistances::id)
        .limit(limit + 1)
        .select(AssistanceRow::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut PgConnection, scope: &Scope, id: Uuid) -> Result<AssistanceRow, ApiError> {
    // By primary key (a cached statement), then the scope in memory.
    let row: AssistanceRow = assistances::table
        .find(id)
        .select(AssistanceRow::as_select())
        .first(conn)?;
    scope.admit(row, |r| &r.area_path)
}

pub fn get_for_update(
    conn: &mut PgConnection,
    scope: &Scope,
    id: Uuid,
) -> Result<AssistanceRow, ApiError> {
    // By primary key (a cached statement), then the scope in memory.
    let row: AssistanceRow = assistances::table
        .find(id)
        .select(AssistanceRow::as_select())
        .for_update()
        .first(conn)?;
    scope.admit(row, |r| &r.area_path)
}

/// The record stored under a phone's id, wherever it is.
pub fn by_client_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<AssistanceRow>, ApiError> {
    Ok(assistances::table
        .find(id)
        .select(AssistanceRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts unless the id is taken (a concurrent resend): `None` then.
pub fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &AssistanceChanges,
    recorded_at: Option<DateTime<Utc>>,
    recorded_by: Uuid,
    body_hash: &[u8],
) -> Result<Option<AssistanceRow>, ApiError> {
    // When the phone did not say when it recorded, it is when it arrived.
    let received_at = Utc::now();
    let recorded_at = recorded_at.unwrap_or(received_at);
    Ok(diesel::insert_into(assistances::table)
        .values((
            assistances::id.eq(id),
            changes,
            assistances::recorded_at.eq(recorded_at),
            assistances::received_at.eq(received_at),
            assistances::recorded_by.eq(recorded_by),
            assistances::body_hash.eq(body_hash),
        ))
        .on_conflict_do_nothing()
        .returning(AssistanceRow::as_returning())
        .get_result(conn)
        .optional()?)
}

/// Writes an edit; a rejected record goes back to `submitted`.
pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &AssistanceChanges,
) -> Result<AssistanceRow, ApiError> {
    Ok(diesel::update(assistances::table.find(id))
        .set((
            changes,
            assistances::status.eq("submitted"),
            assistances::status_reason.eq(None::<String>),
            assistances::status_by.eq(None::<Uuid>),
            assistances::status_at.eq(None::<DateTime<Utc>>),
            assistances::version.eq(assistances::version + 1),
            assistances::updated_at.eq(diesel::dsl::now),
        ))
        .returning(AssistanceRow::as_returning())
        .get_result(conn)?)
}

pub fn archive(conn: &mut PgConnection, id: Uuid) -> Result<AssistanceRow, ApiError> {
    Ok(diesel::update(assistances::table.find(id))
        .set((
            assistances::archived_at.eq(diesel::dsl::now),
            assistances::version.eq(assistances::version + 1),
            assistances::updated_at.eq(diesel::dsl::now),
        ))
        .returning(AssistanceRow::as_returning())
        .get_result(conn)?)
}

pub fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    reason: Option<&str>,
    by: Uuid,
) -> Result<AssistanceRow, ApiError> {
    Ok(diesel::update(assistances::table.find(id))
        .set((
            assistances::status.eq(status),
            assistances::status_reason.eq(reason),
            assistances::status_by.eq(by),
            assistances::status_at.eq(diesel::dsl::now),
            assistances::version.eq(assistances::version + 1),
            assistances::updated_at.eq(diesel::dsl::now),
        ))
        .returning(AssistanceRow::as_returning())
        .get_result(conn)?)
}
