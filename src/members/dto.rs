//! Members over the wire.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::MemberRow;
use crate::domain::{Affiliation, Gender, TeamRole};
use crate::pagination::Page;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    pub team_id: Uuid,
    pub full_name: String,
    /// Codes are read as text and checked with the other fields, so one
    /// answer names every bad field.
    pub gender: String,
    pub birth_year: Option<i32>,
    pub ethnicity: Option<String>,
    pub phone: Option<String>,
    pub team_role: String,
    pub affiliation: String,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
}

impl From<&MemberRow> for MemberInput {
    fn from(r: &MemberRow) -> Self {
        MemberInput {
            team_id: r.team_id,
            full_name: r.full_name.clone(),
            gender: r.gender.clone(),
            birth_year: r.birth_year,
            ethnicity: r.ethnicity.clone(),
            phone: r.phone.clone(),
            team_role: r.team_role.clone(),
            affiliation: r.affiliation.clone(),
            joined_on: r.joined_on,
            left_on: r.left_on,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberDto {
    pub id: Uuid,
    pub person_id: Uuid,
    pub team_id: Uuid,
    pub full_name: String,
    pub gender: String,
    pub birth_year: Option<i32>,
    pub ethnicity: Option<String>,
    pub phone: Option<String>,
    pub team_role: String,
    pub affiliation: String,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<MemberRow> for MemberDto {
    fn from(r: MemberRow) -> Self {
        MemberDto {
            id: r.id,
            person_id: r.person_id,
            team_id: r.team_id,
            full_name: r.full_name,
            gender: r.gender,
            birth_year: r.birth_year,
            ethnicity: r.ethnicity,
            phone: r.phone,
            team_role: r.team_role,
            affiliation: r.affiliation,
            joined_on: r.joined_on,
            left_on: r.left_on,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            archived_at: r.archived_at,
        }
    }
}

/// Member-specific filters, beside the common `ListParams`.
#[derive(Debug, Default, Deserialize)]
pub struct MemberFilters {
    pub team_id: Option<Uuid>,
    pub team_role: Option<TeamRole>,
    pub affiliation: Option<Affiliation>,
    pub gender: Option<Gender>,
    /// `true`: only current memberships; `false`: only ended ones.
    pub current: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct MoveRequest {
    pub team_id: Uuid,
    /// The day of the move: the old membership ends, the new one starts.
    pub on: NaiveDate,
    pub team_role: Option<TeamRole>,
    pub version: Option<i64>,
}

pub fn page(page: Page<MemberRow>) -> Page<MemberDto> {
    Page {
        items: page.items.into_iter().map(MemberDto::from).collect(),
        next_cursor: page.next_cursor,
    }
}
