//! Teams over the wire.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::TeamRow;
use crate::domain::TeamStatus;

/// The longest decision number, in characters (once trimmed).
pub const MAX_DECISION_NUMBER_CHARS: usize = 100;

/// What a client may write. Updates are merge patches over this.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    /// A village in force today, inside the caller's area (422 otherwise).
    /// Never changes.
    pub village_id: Uuid,
    #[schema(value_type = crate::domain::Name)]
    pub name: String,
    /// Not in the future (422).
    pub founded_on: Option<NaiveDate>,
    /// Such as `123/QĐ-UBND`; blank or `null` for none.
    #[schema(schema_with = decision_number)]
    pub decision_number: Option<String>,
    /// `active` (default) or `dissolved`, checked with the other fields.
    #[schema(value_type = Option<TeamStatus>)]
    pub status: Option<String>,
    /// Required when `dissolved`, refused when `active`, not before
    /// `founded_on` (422).
    pub dissolved_on: Option<NaiveDate>,
}

/// `decision_number` as `domain::short_text` takes it.
fn decision_number() -> utoipa::openapi::schema::Object {
    crate::openapi::activities::text(
        MAX_DECISION_NUMBER_CHARS,
        true,
        "At most 100 characters once trimmed, no control characters but line breaks; blank or `null` for none.",
    )
}

/// A JSON merge patch (RFC 7396) of a team's writable fields: `null`
/// removes an optional value, fields left out stay. The result is checked
/// as a create is.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct TeamPatch {
    /// Must stay the same (422, `immutable`).
    #[schema(nullable = false)]
    village_id: Option<Uuid>,
    #[schema(value_type = Option<crate::domain::Name>, nullable = false)]
    name: Option<String>,
    founded_on: Option<NaiveDate>,
    #[schema(schema_with = decision_number)]
    decision_number: Option<String>,
    /// `null` is `active`.
    #[schema(value_type = Option<TeamStatus>)]
    status: Option<String>,
    dissolved_on: Option<NaiveDate>,
    /// The version the change is based on; `If-Match` wins over it, and
    /// one of the two is needed (422).
    #[schema(value_type = Option<i32>)]
    version: Option<i64>,
}

impl From<&TeamRow> for TeamInput {
    fn from(r: &TeamRow) -> Self {
        TeamInput {
            village_id: r.village_id,
            name: r.name.clone(),
            founded_on: r.founded_on,
            decision_number: r.decision_number.clone(),
            status: Some(r.status.clone()),
            dissolved_on: r.dissolved_on,
        }
    }
}

/// A village team (*Tổ công nghệ số cộng đồng*).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Team)]
pub struct TeamDto {
    pub id: Uuid,
    pub village_id: Uuid,
    pub name: String,
    #[schema(required = true)]
    pub founded_on: Option<NaiveDate>,
    #[schema(required = true)]
    pub decision_number: Option<String>,
    #[schema(value_type = TeamStatus)]
    pub status: String,
    #[schema(required = true)]
    pub dissolved_on: Option<NaiveDate>,
    /// Adds one at every change; the ETag holds the same number.
    #[schema(minimum = 1)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set when archived.
    #[schema(required = true)]
    pub archived_at: Option<DateTime<Utc>>,
}

/// A page of teams.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TeamPage {
    pub items: Vec<TeamDto>,
    /// Give it as `cursor` to get the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

impl From<TeamRow> for TeamDto {
    fn from(r: TeamRow) -> Self {
        TeamDto {
            id: r.id,
            village_id: r.village_id,
            name: r.name,
            founded_on: r.founded_on,
            decision_number: r.decision_number,
            status: r.status,
            dissolved_on: r.dissolved_on,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            archived_at: r.archived_at,
        }
    }
}

/// Team-specific filters, beside the common `ListParams`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TeamFilters {
    /// Only teams with this status (400 for another value).
    pub status: Option<TeamStatus>,
}
