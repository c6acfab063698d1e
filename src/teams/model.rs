//! Diesel rows for `teams`.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::teams;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = teams)]
pub struct TeamRow {
    pub id: Uuid,
    pub village_id: Uuid,
    pub area_path: String,
    pub name: String,
    pub founded_on: Option<NaiveDate>,
    pub decision_number: Option<String>,
    pub status: String,
    pub dissolved_on: Option<NaiveDate>,
    pub archived_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The writable columns, for insert and update alike.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = teams, treat_none_as_null = true)]
pub struct TeamChanges {
    pub village_id: Uuid,
    pub area_path: String,
    pub name: String,
    pub founded_on: Option<NaiveDate>,
    pub decision_number: Option<String>,
    pub status: String,
    pub dissolved_on: Option<NaiveDate>,
    pub search_text: String,
}

// The orders its list takes (`sort`).
crate::pagination::sortable!(TeamRow, teams, created_at: instant, updated_at: instant);
