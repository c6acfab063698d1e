//! Households over the wire.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::{ConsentRow, HouseholdRow};
use crate::domain::{PovertyStatus, YesNoUnknown};
use crate::pagination::Page;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdInput {
    pub village_id: Uuid,
    pub code: Option<String>,
    pub head_name: String,
    pub size: i32,
    pub ethnicity: Option<String>,
    pub phone: Option<String>,
    /// `poor`, `near_poor` or `not_poor`; codes are checked with the other
    /// fields so that one answer names every bad field.
    pub poverty_status: String,
    pub poverty_standard: Option<String>,
    pub survey_year: Option<i32>,
    #[serde(default)]
    pub deprivations: Vec<String>,
    pub has_smartphone: Option<String>,
    pub has_internet: Option<String>,
    /// On create: the caller has seen the likely duplicates and this is a
    /// different household.
    #[serde(default, skip_serializing)]
    pub confirm_new: bool,
}

impl HouseholdInput {
    /// The writable fields of a stored household, as a patch base. Erased
    /// households are never patched, so the empty name never reaches a check.
    pub fn from_row(r: &HouseholdRow) -> Self {
        HouseholdInput {
            village_id: r.village_id,
            code: r.code.clone(),
            head_name: r.head_name.clone().unwrap_or_default(),
            size: r.size,
            ethnicity: r.ethnicity.clone(),
            phone: r.phone.clone(),
            poverty_status: r.poverty_status.clone(),
            poverty_standard: r.poverty_standard.clone(),
            survey_year: r.survey_year,
            deprivations: r.deprivations.iter().flatten().cloned().collect(),
            has_smartphone: Some(r.has_smartphone.clone()),
            has_internet: Some(r.has_internet.clone()),
            confirm_new: false,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HouseholdDto {
    pub id: Uuid,
    pub village_id: Uuid,
    pub commune_id: Uuid,
    pub code: Option<String>,
    pub head_name: Option<String>,
    pub size: i32,
    pub ethnicity: Option<String>,
    pub phone: Option<String>,
    pub poverty_status: String,
    pub poverty_standard: Option<String>,
    pub survey_year: Option<i32>,
    pub deprivations: Vec<String>,
    pub has_smartphone: String,
    pub has_internet: String,
    pub erased_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<HouseholdRow> for HouseholdDto {
    fn from(r: HouseholdRow) -> Self {
        HouseholdDto {
            id: r.id,
            village_id: r.village_id,
            commune_id: r.commune_id,
            code: r.code,
            head_name: r.head_name,
            size: r.size,
            ethnicity: r.ethnicity,
            phone: r.phone,
            poverty_status: r.poverty_status,
            poverty_standard: r.poverty_standard,
            survey_year: r.survey_year,
            deprivations: r.deprivations.into_iter().flatten().collect(),
            has_smartphone: r.has_smartphone,
            has_internet: r.has_internet,
            erased_at: r.erased_at,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            archived_at: r.archived_at,
        }
    }
}

/// A likely duplicate named in a 409.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub id: Uuid,
    pub village_id: Uuid,
    pub code: Option<String>,
    pub head_name: Option<String>,
    /// Why it matched: `same_code` or `same_head_name`.
    pub reason: &'static str,
    /// Not sent: candidates outside the caller's area are left out.
    #[serde(skip)]
    pub area_path: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct HouseholdFilters {
    pub poverty_status: Option<PovertyStatus>,
    pub has_smartphone: Option<YesNoUnknown>,
    pub has_internet: Option<YesNoUnknown>,
    /// Households with this deprivation recorded (e.g. `information_access`).
    pub deprivation: Option<String>,
}

crate::code_enum!(ConsentPurpose {
    Registry = "registry",
    Assistance = "assistance",
    Statistics = "statistics",
    Contact = "contact",
});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    pub given: bool,
    pub given_on: NaiveDate,
    /// Who gave or withdrew consent, as written on the form.
    pub given_by: String,
    #[serde(default)]
    pub purposes: Vec<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentDto {
    pub id: Uuid,
    pub given: bool,
    pub given_on: NaiveDate,
    pub given_by: String,
    pub purposes: Vec<String>,
    pub note: Option<String>,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
}

impl From<ConsentRow> for ConsentDto {
    fn from(r: ConsentRow) -> Self {
        ConsentDto {
            id: r.id,
            given: r.given,
            given_on: r.given_on,
            given_by: r.given_by,
            purposes: r.purposes.into_iter().flatten().collect(),
            note: r.note,
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    pub reason: String,
    pub version: Option<i64>,
}

pub fn page(page: Page<HouseholdRow>) -> Page<HouseholdDto> {
    Page {
        items: page.items.into_iter().map(HouseholdDto::from).collect(),
        next_cursor: page.next_cursor,
    }
}

/// A household as the audit trail records it: personal fields (the head's
/// name, phone, ethnicity) only as "recorded" or absent, so that erasure
/// leaves no personal data behind in the trail.
pub fn audit_view(row: &super::model::HouseholdRow) -> serde_json::Value {
    let mut v = serde_json::to_value(HouseholdDto::from(row.clone())).unwrap_or_default();
    for field in PERSONAL_FIELDS {
        if let Some(slot) = v.get_mut(*field)
            && !slot.is_null()
        {
            *slot = serde_json::Value::String("(recorded)".into());
        }
    }
    v
}

/// The fields redacted in the audit trail.
pub const PERSONAL_FIELDS: &[&str] = &["head_name", "phone", "ethnicity"];

/// Which personal fields an update changed, named without their values.
pub fn changed_personal_fields(
    before: &super::model::HouseholdRow,
    after: &super::model::HouseholdRow,
) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if before.head_name != after.head_name {
        changed.push("head_name");
    }
    if before.phone != after.phone {
        changed.push("phone");
    }
    if before.ethnicity != after.ethnicity {
        changed.push("ethnicity");
    }
    changed
}
