//! Assistance visits over the wire.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::AssistanceRow;
use crate::openapi::activities::{ActivityHousehold, optional_reason, text};

/// The most kinds of help one visit records.
pub const MAX_HELP: usize = 20;
/// The longest notes of a visit, in characters.
pub const MAX_NOTES_CHARS: usize = 2000;
/// The widest accuracy of a position, in metres.
pub const MAX_ACCURACY_M: f64 = 100_000.0;

fn notes() -> utoipa::openapi::Object {
    text(MAX_NOTES_CHARS, true, "At most 2,000 characters.")
}

/// One kind of help given, and how it went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Help {
    /// An active code of the assistance-kinds catalogue; each once per visit.
    pub kind: String,
    /// `done`, `partly` or `not_done`.
    #[schema(value_type = super::handlers::Outcome)]
    pub outcome: String,
    /// Why it was not (fully) done, at most 500 characters; required for
    /// `not_done`.
    #[schema(schema_with = optional_reason)]
    pub reason: Option<String>,
}

/// Where the phone was.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// −90 to 90.
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub latitude: f64,
    /// −180 to 180.
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub longitude: f64,
    /// 0 to 100,000 metres.
    #[schema(minimum = 0.0, maximum = 100_000.0)]
    pub accuracy_m: Option<f32>,
}

/// What the phone sends. `id` is the phone's own; updates are merge
/// patches over the same shape (without `id`, `household_id`,
/// `recorded_at`, which do not change).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssistanceInput {
    /// The phone's own id for the record; a resend uses the same id.
    pub id: Uuid,
    /// A household inside the caller's area, not archived or erased.
    pub household_id: Uuid,
    /// Default: the active team of the household's village.
    pub team_id: Option<Uuid>,
    /// From 2020-01-01 to tomorrow at the latest.
    #[schema(pattern = "^(202[0-9]|20[3-9][0-9]|2[1-9][0-9]{2}|[3-9][0-9]{3})-")]
    pub visited_on: NaiveDate,
    /// The team members who went; each a member of the team on
    /// `visited_on`.
    #[serde(default)]
    pub member_ids: Vec<Uuid>,
    /// 1 to 20 kinds of help.
    #[schema(min_items = 1, max_items = 20)]
    pub help: Vec<Help>,
    #[schema(schema_with = notes)]
    pub notes: Option<String>,
    pub position: Option<Position>,
    /// When the phone recorded it; default: when the server received it.
    /// At most a day ahead.
    pub recorded_at: Option<DateTime<Utc>>,
}

/// A JSON merge patch (RFC 7396) of a visit: `null` removes a field, an
/// object merges into the stored one. The result is checked like a create;
/// `id`, `household_id` and `recorded_at` may be sent only unchanged. Any
/// edit sends the visit back to `submitted`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct AssistancePatch {
    /// Removed (`null`): the active team of the household's village.
    team_id: Option<Uuid>,
    /// From 2020-01-01 to tomorrow at the latest.
    #[schema(
        nullable = false,
        pattern = "^(202[0-9]|20[3-9][0-9]|2[1-9][0-9]{2}|[3-9][0-9]{3})-"
    )]
    visited_on: Option<NaiveDate>,
    /// Replaced whole; `null` for none.
    member_ids: Option<Vec<Uuid>>,
    /// Replaced whole.
    #[schema(nullable = false, min_items = 1, max_items = 20)]
    help: Option<Vec<Help>>,
    #[schema(schema_with = notes)]
    notes: Option<String>,
    /// Merged field by field; `null` removes the position.
    position: Option<PositionPatch>,
    /// The version the change is based on; `If-Match` wins over it, and
    /// one of the two is needed (422); `null` is none.
    version: Option<i32>,
}

/// A merge patch of a position.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct PositionPatch {
    #[schema(nullable = false, minimum = -90.0, maximum = 90.0)]
    latitude: Option<f64>,
    #[schema(nullable = false, minimum = -180.0, maximum = 180.0)]
    longitude: Option<f64>,
    #[schema(minimum = 0.0, maximum = 100_000.0)]
    accuracy_m: Option<f32>,
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

/// An assistance visit.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Assistance)]
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

/// A visit in a list: with `include=household`, with its household.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AssistanceItem {
    #[serde(flatten)]
    record: AssistanceDto,
    /// Only with `include=household`; `null` when the household lies
    /// outside the caller's area now.
    household: Option<ActivityHousehold>,
}

/// A page of visits.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AssistancePage {
    items: Vec<AssistanceItem>,
    /// Give it as `cursor` to get the next page; `null` on the last page.
    next_cursor: Option<String>,
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

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssistanceFilters {
    /// Only visits to this household.
    pub household_id: Option<Uuid>,
    /// Only visits of this team.
    pub team_id: Option<Uuid>,
    /// Only this status (422 for another value).
    #[param(value_type = Option<crate::activities::Status>)]
    pub status: Option<String>,
    /// Only visits that gave this kind of help.
    pub kind: Option<String>,
    /// `visited_on` from this day on.
    pub from: Option<NaiveDate>,
    /// `visited_on` up to this day, inclusive.
    pub to: Option<NaiveDate>,
}
