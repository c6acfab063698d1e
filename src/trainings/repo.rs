//! Queries on training sessions. Every read and write takes the caller's
//! scope, but for the lookup by the phone's id that tells a resend.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::dto::TrainingFilters;
use super::model::{TrainingChanges, TrainingRow};
use crate::auth::Scope;
use crate::db::schema::trainings;
use crate::error::ApiError;
use crate::records::{ListParams, unit_filter};

pub fn list(
    conn: &mut PgConnection,
    scope: &Scope,
    params: &ListParams,
    filters: &TrainingFilters,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<TrainingRow>, ApiError> {
    let mut query = trainings::table
        .filter(scope.area_filter::<trainings::table>("trainings"))
        .into_boxed();
    if let Some(f) = unit_filter::<trainings::table>(conn, "trainings", params.unit_id)? {
        query = query.filter(f);
    }
    if !params.include_archived {
        query = query.filter(trainings::archived_at.is_null());
    }
    if let Some(t) = filters.team_id {
        query = query.filter(trainings::team_id.eq(t));
    }
    if let Some(s) = &filters.status {
        query = query.filter(trainings::status.eq(s.clone()));
    }
    if let Some(k) = &filters.topic {
        query = query.filter(trainings::topics.contains(vec![Some(k.clone())]));
    }
    if let Some(from) = filters.from {
        query = query.filter(trainings::held_on.ge(from));
    }
    if let Some(to) = filters.to {
        query = query.filter(trainings::held_on.le(to));
    }
    if let Some(since) = params.updated_since {
        query = query.filter(trainings::updated_at.ge(since));
    }
    if let Some(after) = after {
        query = query.filter(trainings::id.gt(after));
    }
    Ok(query
        .order(trainings::id)
        .limit(limit + 1)
        .select(TrainingRow::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut PgConnection, scope: &Scope, id: Uuid) -> Result<TrainingRow, ApiError> {
    // By primary key (a cached statement), then the scope in memory.
    let row: TrainingRow = trainings::table
        .find(id)
        .select(TrainingRow::as_select())
        .first(conn)?;
    scope.admit(row, |r| &r.area_path)
}

pub fn get_for_update(
    conn: &mut PgConnection,
    scope: &Scope,
    id: Uuid,
) -> Result<TrainingRow, ApiError> {
    // By primary key (a cached statement), then the scope in memory.
    let row: TrainingRow = trainings::table
        .find(id)
        .select(TrainingRow::as_select())
        .for_update()
        .first(conn)?;
    scope.admit(row, |r| &r.area_path)
}

/// The record stored under a phone's id, wherever it is.
pub fn by_client_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<TrainingRow>, ApiError> {
    Ok(trainings::table
        .find(id)
        .select(TrainingRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts unless the id is taken (a concurrent resend): `None` then.
pub fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &TrainingChanges,
    recorded_at: Option<DateTime<Utc>>,
    recorded_by: Uuid,
    body_hash: &[u8],
) -> Result<Option<TrainingRow>, ApiError> {
    // When the phone did not say when it recorded, it is when it arrived.
    let received_at = Utc::now();
    let recorded_at = recorded_at.unwrap_or(received_at);
    Ok(diesel::insert_into(trainings::table)
        .values((
            trainings::id.eq(id),
            changes,
            trainings::recorded_at.eq(recorded_at),
            trainings::received_at.eq(received_at),
            trainings::recorded_by.eq(recorded_by),
            trainings::body_hash.eq(body_hash),
        ))
        .on_conflict_do_nothing()
        .returning(TrainingRow::as_returning())
        .get_result(conn)
        .optional()?)
}

/// Writes an edit; a rejected record goes back to `submitted`.
pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &TrainingChanges,
) -> Result<TrainingRow, ApiError> {
    Ok(diesel::update(trainings::table.find(id))
        .set((
            changes,
            trainings::status.eq("submitted"),
            trainings::status_reason.eq(None::<String>),
            trainings::status_by.eq(None::<Uuid>),
            trainings::status_at.eq(None::<DateTime<Utc>>),
            trainings::version.eq(trainings::version + 1),
            trainings::updated_at.eq(diesel::dsl::now),
        ))
        .returning(TrainingRow::as_returning())
        .get_result(conn)?)
}

pub fn archive(conn: &mut PgConnection, id: Uuid) -> Result<TrainingRow, ApiError> {
    Ok(diesel::update(trainings::table.find(id))
        .set((
            trainings::archived_at.eq(diesel::dsl::now),
            trainings::version.eq(trainings::version + 1),
            trainings::updated_at.eq(diesel::dsl::now),
        ))
        .returning(TrainingRow::as_returning())
        .get_result(conn)?)
}

pub fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    reason: Option<&str>,
    by: Uuid,
) -> Result<TrainingRow, ApiError> {
    Ok(diesel::update(trainings::table.find(id))
        .set((
            trainings::status.eq(status),
            trainings::status_reason.eq(reason),
            trainings::status_by.eq(by),
            trainings::status_at.eq(diesel::dsl::now),
            trainings::version.eq(trainings::version + 1),
            trainings::updated_at.eq(diesel::dsl::now),
        ))
        .returning(TrainingRow::as_returning())
        .get_result(conn)?)
}
