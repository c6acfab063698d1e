//! Training sessions over the wire.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::TrainingRow;
use crate::openapi::activities::{ActivityHousehold, text};

/// The most topics one session covers.
pub const MAX_TOPICS: usize = 20;
/// The most attendees one session counts.
pub const MAX_ATTENDEES: i32 = 10_000;
/// The longest session, in minutes: a day.
pub const MAX_DURATION_MINUTES: i32 = 1440;
/// The longest place name, in characters.
pub const MAX_PLACE_CHARS: usize = 200;
/// The longest notes of a session, in characters.
pub const MAX_NOTES_CHARS: usize = 2000;

fn notes() -> utoipa::openapi::Object {
    text(MAX_NOTES_CHARS, true, "At most 2,000 characters.")
}

fn place() -> utoipa::openapi::Object {
    text(MAX_PLACE_CHARS, true, "At most 200 characters.")
}

/// Who came, counted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attendees {
    /// 0 to 10,000.
    #[schema(minimum = 0, maximum = 10_000)]
    pub total: i32,
    /// 0 (the default) to `total`.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000)]
    pub women: i32,
    /// 0 (the default) to `total`.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000)]
    pub ethnic_minority: i32,
    /// From poor or near-poor households; 0 (the default) to `total`.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000)]
    pub poor: i32,
}

/// What the phone sends. `id` is the phone's own; updates are merge
/// patches over the same shape (`id` and `recorded_at` do not change).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingInput {
    /// The phone's own id for the record; a resend uses the same id.
    pub id: Uuid,
    /// A team inside the caller's area, active unless it is the record's
    /// team already.
    pub team_id: Uuid,
    /// Where it was held, a village in force inside the caller's area;
    /// default: the team's village.
    pub village_id: Option<Uuid>,
    #[schema(schema_with = place)]
    pub place: Option<String>,
    /// From 2020-01-01 to tomorrow at the latest.
    #[schema(pattern = "^(202[0-9]|20[3-9][0-9]|2[1-9][0-9]{2}|[3-9][0-9]{3})-")]
    pub held_on: NaiveDate,
    /// 1 to 1,440.
    #[schema(minimum = 1, maximum = 1440)]
    pub duration_minutes: i32,
    /// 1 to 20 active codes of the training-topics catalogue.
    #[schema(min_items = 1, max_items = 20)]
    pub topics: Vec<String>,
    /// Members of the team on `held_on`.
    #[serde(default)]
    pub trainer_ids: Vec<Uuid>,
    pub attendees: Attendees,
    /// The attending households, when they were noted: inside the
    /// caller's area, not erased, no more than `attendees.total`.
    #[serde(default)]
    pub household_ids: Vec<Uuid>,
    #[schema(schema_with = notes)]
    pub notes: Option<String>,
    /// When the phone recorded it; default: when the server received it.
    /// At most a day ahead.
    pub recorded_at: Option<DateTime<Utc>>,
}

/// A JSON merge patch (RFC 7396) of a session: `null` removes a field, an
/// object merges into the stored one. The result is checked like a create;
/// `id` and `recorded_at` may be sent only unchanged. Any edit sends the
/// session back to `submitted`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct TrainingPatch {
    #[schema(nullable = false)]
    team_id: Option<Uuid>,
    /// Removed (`null`): the team's village.
    village_id: Option<Uuid>,
    #[schema(schema_with = place)]
    place: Option<String>,
    /// From 2020-01-01 to tomorrow at the latest.
    #[schema(
        nullable = false,
        pattern = "^(202[0-9]|20[3-9][0-9]|2[1-9][0-9]{2}|[3-9][0-9]{3})-"
    )]
    held_on: Option<NaiveDate>,
    #[schema(nullable = false, minimum = 1, maximum = 1440)]
    duration_minutes: Option<i32>,
    /// Replaced whole.
    #[schema(nullable = false, min_items = 1, max_items = 20)]
    topics: Option<Vec<String>>,
    /// Replaced whole; `null` for none.
    trainer_ids: Option<Vec<Uuid>>,
    /// Merged field by field.
    #[schema(nullable = false)]
    attendees: Option<AttendeesPatch>,
    /// Replaced whole; `null` for none.
    household_ids: Option<Vec<Uuid>>,
    #[schema(schema_with = notes)]
    notes: Option<String>,
    /// The version the change is based on; `If-Match` wins over it, and
    /// one of the two is needed (422); `null` is none.
    version: Option<i32>,
}

/// A merge patch of the attendees: a count removed (`null`) is 0.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct AttendeesPatch {
    #[schema(nullable = false, minimum = 0, maximum = 10_000)]
    total: Option<i32>,
    #[schema(minimum = 0, maximum = 10_000)]
    women: Option<i32>,
    #[schema(minimum = 0, maximum = 10_000)]
    ethnic_minority: Option<i32>,
    #[schema(minimum = 0, maximum = 10_000)]
    poor: Option<i32>,
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

/// A training session.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Training)]
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
    #[schema(value_type = crate::activities::Status)]
    pub status: String,
    /// The reason of the last decision.
    pub status_reason: Option<String>,
    /// Who last verified, rejected or reopened it.
    pub status_by: Option<Uuid>,
    pub status_at: Option<DateTime<Utc>>,
    /// Adds one at every change; the ETag holds the same number.
    #[schema(minimum = 1)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// A session in a list: with `include=household`, with its attendees'
/// households.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TrainingItem {
    #[serde(flatten)]
    record: TrainingDto,
    /// Only with `include=household`: the attendees' households inside
    /// the caller's area.
    #[serde(default)]
    households: Vec<ActivityHousehold>,
}

/// A page of sessions.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TrainingPage {
    items: Vec<TrainingItem>,
    /// Give it as `cursor` to get the next page; `null` on the last page.
    next_cursor: Option<String>,
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

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrainingFilters {
    /// Only sessions of this team.
    pub team_id: Option<Uuid>,
    /// Only this status (422 for another value).
    #[param(value_type = Option<crate::activities::Status>)]
    pub status: Option<String>,
    /// Only sessions on this topic.
    pub topic: Option<String>,
    /// `held_on` from this day on.
    pub from: Option<NaiveDate>,
    /// `held_on` up to this day, inclusive.
    pub to: Option<NaiveDate>,
}
