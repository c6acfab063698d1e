//! Queries on training sessions. Every read and write takes the caller's
//! scope, but for the lookup by the phone's id that tells a resend.

use diesel::prelude::*;

use super::dto::TrainingFilters;
use super::model::{TrainingChanges, TrainingRow};
use crate::auth::Scope;
use crate::db::schema::trainings;
use crate::error::ApiError;
use crate::pagination::Order;
use crate::records::{ListParams, unit_filter};

pub fn list(
    conn: &mut PgConnection,
    scope: &Scope,
    params: &ListParams,
    filters: &TrainingFilters,
    order: &Order,
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
    if let Some(f) = order.after::<trainings::table>() {
        query = query.filter(f);
    }
    Ok(query
        .order(order.sql())
        .limit(limit + 1)
        .select(TrainingRow::as_select())
        .load(conn)?)
}

// get, get_for_update, by_client_id, insert, update, archive, set_status:
// the same for both kinds of activity (see activities::activity_queries).
crate::activities::activity_queries!(
    trainings,
    TrainingRow,
    TrainingChanges,
    crate::trainings::dto::TrainingDto
);
