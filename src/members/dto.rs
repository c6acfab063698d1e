//! Members over the wire.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::MemberRow;
use crate::domain::{Affiliation, Gender, TeamRole};
use crate::pagination::Page;

/// The longest ethnicity, in characters (once trimmed).
pub const MAX_ETHNICITY_CHARS: usize = 50;

/// What a client may write. Updates are merge patches over this. Codes
/// are read as text and checked with the other fields, so one answer
/// names every bad field.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    /// A team inside the caller's area; to join, active and not archived
    /// (422 otherwise).
    pub team_id: Uuid,
    #[schema(value_type = crate::domain::Name)]
    pub full_name: String,
    #[schema(value_type = Gender)]
    pub gender: String,
    /// Between this year − 100 and this year − 10 (422 otherwise).
    pub birth_year: Option<i32>,
    #[schema(schema_with = ethnicity)]
    pub ethnicity: Option<String>,
    #[schema(schema_with = phone)]
    pub phone: Option<String>,
    #[schema(value_type = TeamRole)]
    pub team_role: String,
    #[schema(value_type = Affiliation)]
    pub affiliation: String,
    /// Not in the future (422).
    pub joined_on: NaiveDate,
    /// Not before `joined_on` (422); ends the membership.
    pub left_on: Option<NaiveDate>,
}

/// A JSON merge patch (RFC 7396) of a membership's writable fields: `null`
/// removes an optional value, fields left out stay. The result is checked
/// as a create is.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct MemberPatch {
    /// Must stay the same (422, `use_move`): `POST /members/{id}/move`
    /// moves a member and keeps the history.
    #[schema(nullable = false)]
    team_id: Option<Uuid>,
    #[schema(value_type = Option<crate::domain::Name>, nullable = false)]
    full_name: Option<String>,
    #[schema(value_type = Option<Gender>, nullable = false)]
    gender: Option<String>,
    /// Between this year − 100 and this year − 10 (422 otherwise).
    birth_year: Option<i32>,
    #[schema(schema_with = ethnicity)]
    ethnicity: Option<String>,
    #[schema(schema_with = phone)]
    phone: Option<String>,
    #[schema(value_type = Option<TeamRole>, nullable = false)]
    team_role: Option<String>,
    #[schema(value_type = Option<Affiliation>, nullable = false)]
    affiliation: Option<String>,
    /// Not in the future (422).
    #[schema(nullable = false)]
    joined_on: Option<NaiveDate>,
    /// Not before `joined_on` (422); ends the membership.
    left_on: Option<NaiveDate>,
    /// The version the change is based on; `If-Match` wins over it, and
    /// one of the two is needed (422).
    #[schema(value_type = Option<i32>)]
    version: Option<i64>,
}

/// `ethnicity` as `domain::short_text` takes it.
fn ethnicity() -> utoipa::openapi::schema::Object {
    crate::openapi::activities::text(
        MAX_ETHNICITY_CHARS,
        true,
        "At most 50 characters once trimmed, no control characters but line breaks; blank or `null` for none.",
    )
}

/// `phone` as `domain::Phone::parse` takes it, or blank or `null` for none.
fn phone() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(crate::domain::PHONE_PATTERN))
        .description(Some(
            "A Vietnamese mobile number (`0912 345 678`, `+84 912 345 678`, `84912345678`; spaces, dots, dashes and brackets between digits), stored as `0xxxxxxxxx`; blank or `null` for none.",
        ))
        .build()
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

/// One membership of a person in a team.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Member)]
pub struct MemberDto {
    /// The membership's id.
    pub id: Uuid,
    /// The same for every membership of one person.
    pub person_id: Uuid,
    pub team_id: Uuid,
    pub full_name: String,
    #[schema(value_type = Gender)]
    pub gender: String,
    #[schema(required = true)]
    pub birth_year: Option<i32>,
    #[schema(required = true)]
    pub ethnicity: Option<String>,
    /// Ten digits starting with 0.
    #[schema(required = true)]
    pub phone: Option<String>,
    #[schema(value_type = TeamRole)]
    pub team_role: String,
    #[schema(value_type = Affiliation)]
    pub affiliation: String,
    pub joined_on: NaiveDate,
    /// Set when the membership ended.
    #[schema(required = true)]
    pub left_on: Option<NaiveDate>,
    /// Adds one at every change; the ETag holds the same number.
    #[schema(minimum = 1)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set when archived.
    #[schema(required = true)]
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
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberFilters {
    /// Described by `listMembers` itself: `/teams/{id}/members` takes the
    /// team from its path.
    #[param(ignore)]
    pub team_id: Option<Uuid>,
    /// Only this team role (400 for another value).
    pub team_role: Option<TeamRole>,
    /// Only this affiliation (400 for another value).
    pub affiliation: Option<Affiliation>,
    /// Only this gender (400 for another value).
    pub gender: Option<Gender>,
    /// `true`: only current memberships; `false`: only ended ones.
    pub current: Option<bool>,
}

/// Fields it does not know are ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MoveRequest {
    /// The new team: active, not archived, inside the caller's area, not
    /// the current one (422 otherwise).
    pub team_id: Uuid,
    /// The day of the move: the old membership ends, the new one starts.
    /// Not before `joined_on`, not in the future (422).
    pub on: NaiveDate,
    /// Default: the current role.
    pub team_role: Option<TeamRole>,
    /// The version of the current membership; `If-Match` wins over it, and
    /// one of the two is needed (422).
    #[schema(value_type = Option<i64>)]
    pub version: Option<i64>,
}

/// A page of memberships.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct MemberPage {
    pub items: Vec<MemberDto>,
    /// Give it as `cursor` to get the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// Every membership of one person that the caller may see.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct MemberHistory {
    /// Oldest first.
    pub items: Vec<MemberDto>,
}

pub fn page(page: Page<MemberRow>) -> Page<MemberDto> {
    Page {
        items: page.items.into_iter().map(MemberDto::from).collect(),
        next_cursor: page.next_cursor,
    }
}
