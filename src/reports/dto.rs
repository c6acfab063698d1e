//! The summary's parameters and its answer.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::Check;
use crate::error::ApiError;

/// The longest period one summary covers.
pub const MAX_DAYS: i64 = 3660;

/// How the rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    None,
    Child,
    Month,
}

/// Which records count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Verified records only.
    Verified,
    /// Submitted and verified records (never rejected or archived ones).
    All,
}

impl StatusFilter {
    pub fn statuses(self) -> Vec<String> {
        match self {
            StatusFilter::Verified => vec!["verified".into()],
            StatusFilter::All => vec!["submitted".into(), "verified".into()],
        }
    }
}

/// The parameters, parsed: every bad one is named in one 422.
#[derive(Debug, Clone)]
pub struct SummaryParams {
    pub unit_id: Uuid,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: GroupBy,
    pub status: StatusFilter,
}

const PARAMS: [&str; 5] = ["unit_id", "from", "to", "group_by", "status"];

impl SummaryParams {
    pub fn parse(query: &HashMap<String, String>) -> Result<SummaryParams, ApiError> {
        let mut check = Check::new();
        let mut unknown: Vec<&str> = query
            .keys()
            .map(String::as_str)
            .filter(|k| !PARAMS.contains(k))
            .collect();
        unknown.sort_unstable();
        for k in unknown {
            check.fail(
                k,
                "unknown_parameter",
                "not a parameter of the summary (unit_id, from, to, group_by, status)",
            );
        }
        let unit_id = match query.get("unit_id") {
            None => {
                check.fail("unit_id", "required", "the unit to report on is required");
                None
            }
            Some(v) => match Uuid::parse_str(v.trim()) {
                Ok(id) => Some(id),
                Err(_) => {
                    check.fail("unit_id", "invalid", "must be a unit id (a UUID)");
                    None
                }
            },
        };
        let mut date = |name: &str| match query.get(name) {
            None => {
                check.fail(name, "required", "a date YYYY-MM-DD is required");
                None
            }
            Some(v) => match NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    check.fail(name, "invalid", "must be a date YYYY-MM-DD");
                    None
                }
            },
        };
        let from = date("from");
        let to = date("to");
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                check.fail("to", "before_from", "to must not be before from");
            } else if (t - f).num_days() >= MAX_DAYS {
                check.fail(
                    "to",
                    "period_too_long",
                    format!("a summary covers at most {MAX_DAYS} days"),
                );
            }
        }
        let group_by = match query.get("group_by").map(|s| s.trim()) {
            None | Some("none") => Some(GroupBy::None),
            Some("child") => Some(GroupBy::Child),
            Some("month") => Some(GroupBy::Month),
            Some(_) => {
                check.fail("group_by", "invalid", "must be none, child or month");
                None
            }
        };
        let status = match query.get("status").map(|s| s.trim()) {
            None | Some("verified") => Some(StatusFilter::Verified),
            Some("all") => Some(StatusFilter::All),
            Some(_) => {
                check.fail("status", "invalid", "must be verified or all");
                None
            }
        };
        check.finish()?;
        match (unit_id, from, to, group_by, status) {
            (Some(unit_id), Some(from), Some(to), Some(group_by), Some(status)) => {
                Ok(SummaryParams {
                    unit_id,
                    from,
                    to,
                    group_by,
                    status,
                })
            }
            _ => Err(ApiError::internal(
                "summary parameters passed with one missing",
            )),
        }
    }
}

/// Memberships on `to` (or a month row's last day), from the membership
/// history, by role, gender and affiliation code.
#[derive(Debug, Default, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[schema(as = ReportMembers)]
pub struct Members {
    pub total: i64,
    pub by_role: BTreeMap<String, i64>,
    pub by_gender: BTreeMap<String, i64>,
    pub by_affiliation: BTreeMap<String, i64>,
}

/// Sums over the sessions.
#[derive(Debug, Default, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[schema(as = ReportAttendees)]
pub struct Attendees {
    pub total: i64,
    pub women: i64,
    pub ethnic_minority: i64,
    pub poor: i64,
}

/// Visits of one kind of help, by outcome.
#[derive(Debug, Default, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[schema(as = ReportOutcomes)]
pub struct Outcomes {
    pub done: i64,
    pub partly: i64,
    pub not_done: i64,
}

/// Households registered, as the registry is now.
#[derive(Debug, Default, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[schema(as = ReportHouseholds)]
pub struct Households {
    pub total: i64,
    pub with_smartphone: i64,
    pub with_internet: i64,
}

/// Of the poor and near-poor households lacking information access (the
/// information deprivations of the poverty standard), how many a team
/// reached in the period, and with which kinds of help.
#[derive(Debug, Default, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[schema(as = ReportInformationAccess)]
pub struct InformationAccess {
    /// Poor and near-poor households registered with `information_access`
    /// or `telecom_services` among their deprivations.
    pub poor_lacking: i64,
    /// Those of them with at least one visit in the period (distinct).
    pub reached: i64,
    /// Per assistance kind, those of them with a visit of that kind (distinct).
    pub reached_by_kind: BTreeMap<String, i64>,
}

/// The indicators of `totals`, of each row and of `unassigned`.
#[derive(Debug, Default, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Indicators {
    /// Teams active on `to` (or a month row's last day).
    pub teams_active: i64,
    pub members: Members,
    /// Sessions held in the period.
    pub trainings: i64,
    pub attendees: Attendees,
    /// Visits in the period.
    pub visits: i64,
    /// Per assistance kind of the catalogue, visits by outcome.
    pub visits_by_kind: BTreeMap<String, Outcomes>,
    /// Distinct households visited in the period.
    pub households_assisted: i64,
    /// Distinct poor or near-poor households visited in the period.
    pub poor_households_assisted: i64,
    /// Poor and near-poor households registered.
    pub poor_households: i64,
    /// `poor_households_assisted / poor_households`, 4 decimals; `null`
    /// without poor households.
    #[schema(required = true, minimum = 0)]
    pub poor_reached_share: Option<f64>,
    pub households: Households,
    pub information_access: InformationAccess,
}

/// Distinct counts: a household visited in two rows counts once in the
/// totals.
pub const DISTINCT_COUNTS: [&str; 4] = [
    "households_assisted",
    "poor_households_assisted",
    "information_access.reached",
    "information_access.reached_by_kind",
];

/// Figures on a day (`to`, or a month's last day) or of the registry as it
/// is, rather than over the period: month rows are not summed for them.
pub const ON_A_DAY: [&str; 5] = [
    "teams_active",
    "members",
    "households",
    "poor_households",
    "information_access.poor_lacking",
];

/// A unit as the summary names it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ReportUnitRef)]
pub struct UnitRef {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    #[schema(value_type = crate::units::dto::Level)]
    pub level: String,
}

/// The unit reported on, with the period it existed in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportUnit {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    #[schema(value_type = crate::units::dto::Level)]
    pub level: String,
    pub valid_from: NaiveDate,
    #[schema(required = true)]
    pub valid_to: Option<NaiveDate>,
}

/// One row: a unit one level down (`group_by=child`) or a month
/// (`group_by=month`), with the indicators.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ReportRow)]
pub struct Row {
    /// With `group_by=child`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = UnitRef)]
    pub unit: Option<UnitRef>,
    /// `YYYY-MM`, with `group_by=month`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub month: Option<String>,
    #[serde(flatten)]
    pub figures: Indicators,
}

/// A village of a split commune, waiting for an officer to assign it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WaitingVillage {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// Its commune before the reform.
    pub former_commune: UnitRef,
}

/// The villages of split communes waiting to be assigned to the unit, and
/// their indicators (included in `totals`, never in a row).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Unassigned {
    pub villages: Vec<WaitingVillage>,
    #[serde(flatten)]
    pub figures: Indicators,
}

/// The summary of a unit over a period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub unit: ReportUnit,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: GroupBy,
    pub status: StatusFilter,
    /// The moment the figures are true at: every record committed before it
    /// is counted.
    pub as_of: DateTime<Utc>,
    pub totals: Indicators,
    pub rows: Vec<Row>,
    pub unassigned: Unassigned,
    /// Figures counted distinct.
    #[schema(value_type = Vec<String>)]
    pub distinct_counts: Vec<&'static str>,
    /// Figures whose rows need not add up to `totals` in this answer; every
    /// other figure of the rows and `unassigned` adds up to `totals`.
    #[schema(value_type = Vec<String>)]
    pub not_additive: Vec<&'static str>,
}
