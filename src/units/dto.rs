//! What goes over the wire for units.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::UnitRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Serialize)]
pub struct UnitDto {
    pub id: Uuid,
    pub level: String,
    pub code: String,
    pub name: String,
    pub short_name: String,
    #[serde(rename = "type")]
    pub unit_type: String,
    pub parent_id: Option<Uuid>,
    pub province_code: String,
    pub valid_from: NaiveDate,
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
#[derive(Debug, Clone, Serialize)]
pub struct UnitSummary {
    pub id: Uuid,
    pub level: String,
    pub code: String,
    pub name: String,
    pub valid_from: NaiveDate,
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

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub level: Option<Level>,
    pub parent_id: Option<Uuid>,
    pub q: Option<String>,
    pub at: Option<NaiveDate>,
    /// Only villages waiting to be assigned to a commune of today.
    #[serde(default)]
    pub unassigned: bool,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Units keep one order, by code: `sort=code` or nothing.
    pub sort: Option<String>,
}

/// `PATCH /units/{id}`: the commune of today a village now belongs to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VillagePatch {
    pub parent_id: Uuid,
}

#[derive(Debug, Deserialize)]
pub struct ChildrenQuery {
    pub at: Option<NaiveDate>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Units keep one order, by code: `sort=code` or nothing.
    pub sort: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LineageLink {
    pub unit: UnitSummary,
    pub relation: String,
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LineageDto {
    pub unit: UnitSummary,
    /// Units of the earlier period that went into this one.
    pub predecessors: Vec<LineageLink>,
    /// Units of the later period that this one went into.
    pub successors: Vec<LineageLink>,
}
