//! Queries on teams. Every read and write takes the caller's scope.

use diesel::prelude::*;
use uuid::Uuid;

use super::dto::TeamFilters;
use super::model::{TeamChanges, TeamRow};
use crate::auth::Scope;
use crate::db::schema::teams;
use crate::error::ApiError;
use crate::pagination::Order;
use crate::records::{ListParams, unit_filter};
use crate::text;

pub fn list(
    conn: &mut PgConnection,
    scope: &Scope,
    params: &ListParams,
    filters: &TeamFilters,
    order: &Order,
    limit: i64,
) -> Result<Vec<TeamRow>, ApiError> {
    let mut query = teams::table
        .filter(scope.area_filter::<teams::table>("teams"))
        .into_boxed();
    if let Some(f) = unit_filter::<teams::table>(conn, "teams", params.unit_id)? {
        query = query.filter(f);
    }
    if !params.include_archived {
        query = query.filter(teams::archived_at.is_null());
    }
    if let Some(status) = filters.status {
        query = query.filter(teams::status.eq(status.as_str()));
    }
    if let Some(q) = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(teams::search_text.like(text::contains_pattern(q)));
    }
    if let Some(since) = params.updated_since {
        query = query.filter(teams::updated_at.ge(since));
    }
    if let Some(f) = order.after::<teams::table>() {
        query = query.filter(f);
    }
    Ok(query
        .order(order.sql())
        .limit(limit + 1)
        .select(TeamRow::as_select())
        .load(conn)?)
}

// get, get_for_update and archive, as for every record table.
crate::records::record_queries!(teams, TeamRow, crate::teams::dto::TeamDto);

fn one_active_per_village(e: diesel::result::Error) -> ApiError {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, ref info)
            if info.constraint_name() == Some("teams_one_active_per_village") =>
        {
            ApiError::conflict("this village already has an active team")
        }
        other => other.into(),
    }
}

pub fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &TeamChanges,
) -> Result<TeamRow, ApiError> {
    diesel::insert_into(teams::table)
        .values((teams::id.eq(id), changes))
        .returning(TeamRow::as_returning())
        .get_result(conn)
        .map_err(one_active_per_village)
}

pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &TeamChanges,
) -> Result<TeamRow, ApiError> {
    diesel::update(teams::table.find(id))
        .set((
            changes,
            teams::version.eq(teams::version + 1),
            teams::updated_at.eq(diesel::dsl::now),
        ))
        .returning(TeamRow::as_returning())
        .get_result(conn)
        .map_err(one_active_per_village)
}
