//! Training sessions over the wire.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::TrainingRow;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Attendees {
    pub total: i32,
    #[serde(default)]
    pub women: i32,
    #[serde(default)]
    pub ethnic_minority: i32,
    /// From poor or near-poor households.
    #[serde(default)]
    pub poor: i32,
}

/// What the phone sends. `id` is the phone's own; updates are merge
/// patches over the same shape (`id` and `recorded_at` do not change).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingInput {
    pub id: Uuid,
    pub team_id: Uuid,
    /// Where it was held; defaults to the team's village.
    pub village_id: Option<Uuid>,
    pub place: Option<String>,
    pub held_on: NaiveDate,
    pub duration_minutes: i32,
    pub topics: Vec<String>,
    #[serde(default)]
    pub trainer_ids: Vec<Uuid>,
    pub attendees: Attendees,
    /// The attending households, when they were noted.
    #[serde(default)]
    pub household_ids: Vec<Uuid>,
    pub notes: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
}

impl TrainingInput {
    pub fn from_row(r: &TrainingRow) -> Self {
        TrainingInput {
            id: r.id,
            team_id: r.team_id,
            village_id: Some(r.village_id),
            place: r.place.clone(),
            held_on: r.held_on,
            duration_minutes: r.duration_minutes,
            topics: r.topics.iter().flatten().cloned().collect(),
            trainer_ids: r.trainer_ids.iter().flatten().copied().collect(),
            attendees: Attendees {
                total: r.attendees_total,
                women: r.attendees_women,
                ethnic_minority: r.attendees_ethnic_minority,
                poor: r.attendees_poor,
            },
            household_ids: r.household_ids.iter().flatten().copied().collect(),
            notes: r.notes.clone(),
            recorded_at: Some(r.recorded_at),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainingDto {
    pub id: Uuid,
    pub team_id: Uuid,
    pub village_id: Uuid,
    pub place: Option<String>,
    pub held_on: NaiveDate,
    pub duration_minutes: i32,
    pub topics: Vec<String>,
    pub trainer_ids: Vec<Uuid>,
    pub attendees: Attendees,
    pub household_ids: Vec<Uuid>,
    pub notes: Option<String>,
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

impl From<TrainingRow> for TrainingDto {
    fn from(r: TrainingRow) -> Self {
        let input = TrainingInput::from_row(&r);
        TrainingDto {
            id: r.id,
            team_id: r.team_id,
            village_id: r.village_id,
            place: r.place,
            held_on: r.held_on,
            duration_minutes: r.duration_minutes,
            topics: input.topics,
            trainer_ids: input.trainer_ids,
            attendees: input.attendees,
            household_ids: input.household_ids,
            notes: r.notes,
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
pub struct TrainingFilters {
    pub team_id: Option<Uuid>,
    pub status: Option<String>,
    pub topic: Option<String>,
    /// `held_on` from this day on.
    pub from: Option<NaiveDate>,
    /// `held_on` up to this day, inclusive.
    pub to: Option<NaiveDate>,
}
