//! Diesel rows for `assistances`.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use crate::db::schema::assistances;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = assistances)]
pub struct AssistanceRow {
    pub id: Uuid,
    pub household_id: Uuid,
    pub team_id: Uuid,
    pub area_path: String,
    pub visited_on: NaiveDate,
    pub member_ids: Vec<Option<Uuid>>,
    pub kinds: Vec<Option<String>>,
    pub outcomes: Value,
    pub notes: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub accuracy_m: Option<f32>,
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

/// The columns a create or an edit writes.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = assistances, treat_none_as_null = true)]
pub struct AssistanceChanges {
    pub household_id: Uuid,
    pub team_id: Uuid,
    pub area_path: String,
    pub visited_on: NaiveDate,
    pub member_ids: Vec<Option<Uuid>>,
    pub kinds: Vec<Option<String>>,
    pub outcomes: Value,
    pub notes: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub accuracy_m: Option<f32>,
}

// The orders its list takes (`sort`).
crate::pagination::sortable!(AssistanceRow, assistances, visited_on: date, created_at: instant, updated_at: instant);
