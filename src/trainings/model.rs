//! Diesel rows for `trainings`.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::trainings;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = trainings)]
pub struct TrainingRow {
    pub id: Uuid,
    pub team_id: Uuid,
    pub village_id: Uuid,
    pub area_path: String,
    pub place: Option<String>,
    pub held_on: NaiveDate,
    pub duration_minutes: i32,
    pub topics: Vec<Option<String>>,
    pub trainer_ids: Vec<Option<Uuid>>,
    pub attendees_total: i32,
    pub attendees_women: i32,
    pub attendees_ethnic_minority: i32,
    pub attendees_poor: i32,
    pub household_ids: Vec<Option<Uuid>>,
    pub notes: Option<String>,
    pub recorded_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub recorded_by: Uuid,
    pub status: String,
    pub status_reason: Option<String>,
    pub status_by: Option<Uuid>,
    pub status_at: Option<DateTime<Utc>>,
    pub body_hash: Vec<u8>,
    pub archived_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = trainings, treat_none_as_null = true)]
pub struct TrainingChanges {
    pub team_id: Uuid,
    pub village_id: Uuid,
    pub area_path: String,
    pub place: Option<String>,
    pub held_on: NaiveDate,
    pub duration_minutes: i32,
    pub topics: Vec<Option<String>>,
    pub trainer_ids: Vec<Option<Uuid>>,
    pub attendees_total: i32,
    pub attendees_women: i32,
    pub attendees_ethnic_minority: i32,
    pub attendees_poor: i32,
    pub household_ids: Vec<Option<Uuid>>,
    pub notes: Option<String>,
}

// The orders its list takes (`sort`).
crate::pagination::sortable!(TrainingRow, trainings, held_on: date, created_at: instant, updated_at: instant);
