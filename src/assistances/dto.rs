//! Assistance visits over the wire.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::AssistanceRow;

/// One kind of help given, and how it went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Help {
    /// A code of the assistance-kinds catalogue.
    pub kind: String,
    /// `done`, `partly` or `not_done`.
    pub outcome: String,
    /// Why it was not (fully) done; required for `not_done`.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_m: Option<f32>,
}

/// What the phone sends. `id` is the phone's own; updates are merge
/// patches over the same shape (without `id`, `household_id`,
/// `recorded_at`, which do not change).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssistanceInput {
    pub id: Uuid,
    pub household_id: Uuid,
    /// Defaults to the active team of the household's village.
    pub team_id: Option<Uuid>,
    pub visited_on: NaiveDate,
    #[serde(default)]
    pub member_ids: Vec<Uuid>,
    pub help: Vec<Help>,
    pub notes: Option<String>,
    pub position: Option<Position>,
    /// When the phone recorded it; defaults to when the server received it.
    pub recorded_at: Option<DateTime<Utc>>,
}

impl AssistanceInput {
    pub fn from_row(r: &AssistanceRow) -> Self {
        AssistanceInput {
            id: r.id,
            household_id: r.household_id,
            team_id: Some(r.team_id),
            visited_on: r.visited_on,
            member_ids: r.member_ids.iter().flatten().copied().collect(),
            help: serde_json::from_value(r.outcomes.clone()).unwrap_or_default(),
            notes: r.notes.clone(),
            position: match (r.latitude, r.longitude) {
                (Some(latitude), Some(longitude)) => Some(Position {
                    latitude,
                    longitude,
                    accuracy_m: r.accuracy_m,
                }),
                _ => None,
            },
            recorded_at: Some(r.recorded_at),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AssistanceDto {
    pub id: Uuid,
    pub household_id: Uuid,
    pub team_id: Uuid,
    pub visited_on: NaiveDate,
    pub member_ids: Vec<Uuid>,
    pub help: Vec<Help>,
    pub notes: Option<String>,
    pub position: Option<Position>,
    pub recorded_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub recorded_by: Uuid,
    pub status: String,
    pub status_reason: Option<String>,
    pub status_by: Option<Uuid>,
    pub status_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<AssistanceRow> for AssistanceDto {
    fn from(r: AssistanceRow) -> Self {
        let input = AssistanceInput::from_row(&r);
        AssistanceDto {
            id: r.id,
            household_id: r.household_id,
            team_id: r.team_id,
            visited_on: r.visited_on,
            member_ids: input.member_ids,
            help: input.help,
            notes: r.notes,
            position: input.position,
            recorded_at: r.recorded_at,
            received_at: r.received_at,
            recorded_by: r.recorded_by,
            status: r.status,
            status_reason: r.status_reason,
            status_by: r.status_by,
            status_at: r.status_at,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            archived_at: r.archived_at,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AssistanceFilters {
    pub household_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub status: Option<String>,
    pub kind: Option<String>,
    /// `visited_on` from this day on.
    pub from: Option<NaiveDate>,
    /// `visited_on` up to this day, inclusive.
    pub to: Option<NaiveDate>,
}
