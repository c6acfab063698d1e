//! Diesel rows for `units` and `unit_lineage`.

use chrono::NaiveDate;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::units;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = units)]
pub struct UnitRow {
    pub id: Uuid,
    pub level: String,
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub unit_type: String,
    pub parent_id: Option<Uuid>,
    pub province_code: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = units)]
pub struct NewUnit {
    pub id: Uuid,
    pub level: String,
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub unit_type: String,
    pub parent_id: Option<Uuid>,
    pub province_code: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub path: String,
    pub search_text: String,
}

/// A unit's path segment: its id as 32 hex digits and a '/'.
pub fn path_segment(id: Uuid) -> String {
    format!("{}/", id.simple())
}
