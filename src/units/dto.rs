//! What goes over the wire for units.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::UnitRow;

/// An administrative level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Province,
    District,
    Commune,
    Village,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::District => "district",
            Level::Commune => "commune",
            Level::Village => "village",
        }
    }
}

/// An administrative unit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Unit)]
pub struct UnitDto {
    pub id: Uuid,
    #[schema(value_type = Level)]
    pub level: String,
    /// The official code, leading zeros kept; villages `<commune code>-<nn>`.
    pub code: String,
    /// The full name with its type.
    pub name: String,
    /// The name without its type.
    pub short_name: String,
    /// The unit's kind in Vietnamese (`Tỉnh`, `Xã`, `Phường`, `Thôn`, ...).
    #[serde(rename = "type")]
    pub unit_type: String,
    /// The unit above; `null` for a province.
    #[schema(required = true)]
    pub parent_id: Option<Uuid>,
    pub province_code: String,
    /// The first day in force.
    pub valid_from: NaiveDate,
    /// The last day in force, inclusive; `null` while current.
    #[schema(required = true)]
    pub valid_to: Option<NaiveDate>,
}

impl From<UnitRow> for UnitDto {
    fn from(r: UnitRow) -> Self {
        UnitDto {
            id: r.id,
            level: r.level,
            code: r.code,
            name: r.name,
            short_name: r.short_name,
            unit_type: r.unit_type,
            parent_id: r.parent_id,
            province_code: r.province_code,
            valid_from: r.valid_from,
            valid_to: r.valid_to,
        }
    }
}

/// A unit named inside another record (a user's area, a lineage link).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnitSummary {
    pub id: Uuid,
    #[schema(value_type = Level)]
    pub level: String,
    pub code: String,
    pub name: String,
    pub valid_from: NaiveDate,
    #[schema(required = true)]
    pub valid_to: Option<NaiveDate>,
}

impl From<UnitRow> for UnitSummary {
    fn from(r: UnitRow) -> Self {
        UnitSummary {
            id: r.id,
            level: r.level,
            code: r.code,
            name: r.name,
            valid_from: r.valid_from,
            valid_to: r.valid_to,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only units of this level (400 for another value).
    pub level: Option<Level>,
    /// Only the units directly under this one.
    pub parent_id: Option<Uuid>,
    /// Part of the name (ignoring case and diacritics) or of the code.
    #[param(max_length = 100, pattern = r"^[^\u0000]*$")]
    pub q: Option<String>,
    /// The date to look at; default today in Vietnam.
    pub at: Option<NaiveDate>,
    /// `true`: only the villages of split communes waiting for their
    /// commune of today, whose old commune went into a commune of the
    /// caller's area. Takes no `parent_id`, `q` or `at` (422); 422 with a
    /// `level` other than `village`.
    #[serde(default)]
    #[param(default = false)]
    pub unassigned: bool,
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500, default = 50)]
    /// Page size (422 outside the bounds).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page, as it was (422 if not one
    /// this list issued): base64url without padding.
    #[param(min_length = 1, pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
    /// Units keep one order, by code: `code`, or nothing (blank); anything
    /// else is a 422.
    #[param(pattern = r"^\s*(code)?\s*$")]
    pub sort: Option<String>,
}

/// The longest `q` a unit search takes, in characters.
pub const MAX_Q_CHARS: usize = 100;

/// `PATCH /units/{id}`: the commune of today a village now belongs to.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VillagePatch {
    /// The commune of today the village now belongs to.
    pub parent_id: Uuid,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChildrenQuery {
    /// The date to look at; default today in Vietnam.
    pub at: Option<NaiveDate>,
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500, default = 50)]
    /// Page size (422 outside the bounds).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page, as it was (422 if not one
    /// this list issued): base64url without padding.
    #[param(min_length = 1, pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
    /// Units keep one order, by code: `code`, or nothing (blank); anything
    /// else is a 422.
    #[param(pattern = r"^\s*(code)?\s*$")]
    pub sort: Option<String>,
}

/// How a unit of one period went into one of the next, as the official
/// table says.
#[derive(Debug, Clone, Copy, utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum LineageRelation {
    Whole,
    Partial,
    Unchanged,
    Renamed,
    TypeChanged,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineageLink {
    pub unit: UnitSummary,
    #[schema(value_type = LineageRelation)]
    pub relation: String,
    /// The official remark as written.
    #[schema(required = true)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Lineage)]
pub struct LineageDto {
    pub unit: UnitSummary,
    /// Units of the earlier period that went into this one.
    pub predecessors: Vec<LineageLink>,
    /// Units of the later period that this one went into.
    pub successors: Vec<LineageLink>,
}
