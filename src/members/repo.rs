//! Queries on members. Every read and write takes the caller's scope.

use diesel::prelude::*;
use uuid::Uuid;

use super::dto::MemberFilters;
use super::model::{MemberChanges, MemberRow};
use crate::auth::Scope;
use crate::db::schema::members;
use crate::error::ApiError;
use crate::pagination::Order;
use crate::records::{ListParams, unit_filter};
use crate::text;

pub fn list(
    conn: &mut PgConnection,
    scope: &Scope,
    params: &ListParams,
    filters: &MemberFilters,
    order: &Order,
    limit: i64,
) -> Result<Vec<MemberRow>, ApiError> {
    let mut query = members::table
        .filter(scope.area_filter::<members::table>("members"))
        .into_boxed();
    if let Some(f) = unit_filter::<members::table>(conn, "members", params.unit_id)? {
        query = query.filter(f);
    }
    if !params.include_archived {
        query = query.filter(members::archived_at.is_null());
    }
    if let Some(team) = filters.team_id {
        query = query.filter(members::team_id.eq(team));
    }
    if let Some(role) = filters.team_role {
        query = query.filter(members::team_role.eq(role.as_str()));
    }
    if let Some(a) = filters.affiliation {
        query = query.filter(members::affiliation.eq(a.as_str()));
    }
    if let Some(g) = filters.gender {
        query = query.filter(members::gender.eq(g.as_str()));
    }
    match filters.current {
        Some(true) => query = query.filter(members::left_on.is_null()),
        Some(false) => query = query.filter(members::left_on.is_not_null()),
        None => {}
    }
    if let Some(q) = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(members::search_text.like(text::contains_pattern(q)));
    }
    if let Some(since) = params.updated_since {
        query = query.filter(members::updated_at.ge(since));
    }
    if let Some(f) = order.after::<members::table>() {
        query = query.filter(f);
    }
    Ok(query
        .order(order.sql())
        .limit(limit + 1)
        .select(MemberRow::as_select())
        .load(conn)?)
}

// get, get_for_update and archive, as for every record table.
crate::records::record_queries!(members, MemberRow, crate::members::dto::MemberDto);

/// Every membership of one person that the caller may see, oldest first.
pub fn history(
    conn: &mut PgConnection,
    scope: &Scope,
    person_id: Uuid,
) -> Result<Vec<MemberRow>, ApiError> {
    Ok(members::table
        .filter(members::person_id.eq(person_id))
        .filter(scope.area_filter::<members::table>("members"))
        .order((members::joined_on, members::id))
        .select(MemberRow::as_select())
        .load(conn)?)
}

pub fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    person_id: Uuid,
    changes: &MemberChanges,
) -> Result<MemberRow, ApiError> {
    Ok(diesel::insert_into(members::table)
        .values((
            members::id.eq(id),
            members::person_id.eq(person_id),
            changes,
        ))
        .returning(MemberRow::as_returning())
        .get_result(conn)?)
}

pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &MemberChanges,
) -> Result<MemberRow, ApiError> {
    Ok(diesel::update(members::table.find(id))
        .set((
            changes,
            members::version.eq(members::version + 1),
            members::updated_at.eq(diesel::dsl::now),
        ))
        .returning(MemberRow::as_returning())
        .get_result(conn)?)
}
