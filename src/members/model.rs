//! Diesel rows for `members`.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::members;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = members)]
pub struct MemberRow {
    pub id: Uuid,
    pub person_id: Uuid,
    pub team_id: Uuid,
    pub area_path: String,
    pub full_name: String,
    pub gender: String,
    pub birth_year: Option<i32>,
    pub ethnicity: Option<String>,
    pub phone: Option<String>,
    pub team_role: String,
    pub affiliation: String,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    pub archived_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = members, treat_none_as_null = true)]
pub struct MemberChanges {
    pub team_id: Uuid,
    pub area_path: String,
    pub full_name: String,
    pub gender: String,
    pub birth_year: Option<i32>,
    pub ethnicity: Option<String>,
    pub phone: Option<String>,
    pub team_role: String,
    pub affiliation: String,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    pub search_text: String,
}

// The orders its list takes (`sort`).
crate::pagination::sortable!(MemberRow, members, joined_on: date, created_at: instant, updated_at: instant);
