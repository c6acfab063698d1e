//! Queries on assistance visits. Every read and write takes the caller's
//! scope, but for the lookup by the phone's id that tells a resend.

use diesel::prelude::*;

use super::dto::AssistanceFilters;
use super::model::{AssistanceChanges, AssistanceRow};
use crate::auth::Scope;
use crate::db::schema::assistances;
use crate::error::ApiError;
use crate::pagination::Order;
use crate::records::{ListParams, unit_filter};

pub fn list(
    conn: &mut PgConnection,
    scope: &Scope,
    params: &ListParams,
    filters: &AssistanceFilters,
    order: &Order,
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
    if let Some(f) = order.after::<assistances::table>() {
        query = query.filter(f);
    }
    Ok(query
        .order(order.sql())
        .limit(limit + 1)
        .select(AssistanceRow::as_select())
        .load(conn)?)
}

// get, get_for_update, by_client_id, insert, update, archive, set_status:
// the same for both kinds of activity (see activities::activity_queries).
crate::activities::activity_queries!(
    assistances,
    AssistanceRow,
    AssistanceChanges,
    crate::assistances::dto::AssistanceDto
);
