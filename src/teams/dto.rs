//! Teams over the wire.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::TeamRow;
use crate::domain::TeamStatus;

/// What a client may write. Updates are merge patches over this.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    pub village_id: Uuid,
    pub name: String,
    pub founded_on: Option<NaiveDate>,
    pub decision_number: Option<String>,
    /// `active` (default) or `dissolved`, checked with the other fields.
    pub status: Option<String>,
    pub dissolved_on: Option<NaiveDate>,
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

#[derive(Debug, Clone, Serialize)]
pub struct TeamDto {
    pub id: Uuid,
    pub village_id: Uuid,
    pub name: String,
    pub founded_on: Option<NaiveDate>,
    pub decision_number: Option<String>,
    pub status: String,
    pub dissolved_on: Option<NaiveDate>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
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
#[derive(Debug, Deserialize)]
pub struct TeamFilters {
    pub status: Option<TeamStatus>,
}
