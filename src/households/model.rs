//! Diesel rows for `households` and `household_consents`.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{household_consents, households};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = households)]
pub struct HouseholdRow {
    pub id: Uuid,
    pub village_id: Uuid,
    pub commune_id: Uuid,
    pub area_path: String,
    pub code: Option<String>,
    pub head_name: Option<String>,
    pub size: i32,
    pub ethnicity: Option<String>,
    pub phone: Option<String>,
    pub poverty_status: String,
    pub poverty_standard: Option<String>,
    pub survey_year: Option<i32>,
    pub deprivations: Vec<Option<String>>,
    pub has_smartphone: String,
    pub has_internet: String,
    pub erased_at: Option<DateTime<Utc>>,
    pub erasure_reason: Option<String>,
    pub archived_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = households, treat_none_as_null = true)]
pub struct HouseholdChanges {
    pub village_id: Uuid,
    pub commune_id: Uuid,
    pub area_path: String,
    pub code: Option<String>,
    pub head_name: Option<String>,
    pub size: i32,
    pub ethnicity: Option<String>,
    pub phone: Option<String>,
    pub poverty_status: String,
    pub poverty_standard: Option<String>,
    pub survey_year: Option<i32>,
    pub deprivations: Vec<Option<String>>,
    pub has_smartphone: String,
    pub has_internet: String,
    pub search_text: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = household_consents)]
pub struct ConsentRow {
    pub id: Uuid,
    pub household_id: Uuid,
    pub given: bool,
    pub given_on: NaiveDate,
    pub given_by: String,
    pub purposes: Vec<Option<String>>,
    pub note: Option<String>,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
}

// The orders its list takes (`sort`).
crate::pagination::sortable!(HouseholdRow, households, created_at: instant, updated_at: instant);
