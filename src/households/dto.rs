//! Households over the wire.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::{ConsentRow, HouseholdRow};
use crate::domain::{Deprivation, Name, PovertyStatus, YesNoUnknown};
use crate::pagination::Page;

/// What a household is registered with. A field it does not name is a 422.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdInput {
    /// A village in force today, inside the caller's area (422 otherwise).
    pub village_id: Uuid,
    #[schema(schema_with = crate::openapi::households::code)]
    pub code: Option<String>,
    /// The head of household.
    #[schema(value_type = Name)]
    pub head_name: String,
    /// People in the household, 1 to 50.
    #[schema(minimum = 1, maximum = 50)]
    pub size: i32,
    #[schema(schema_with = crate::openapi::households::ethnicity)]
    pub ethnicity: Option<String>,
    #[schema(schema_with = crate::openapi::households::phone)]
    pub phone: Option<String>,
    /// Checked with the other fields, so that one answer names every bad
    /// field (422).
    #[schema(value_type = PovertyStatus)]
    pub poverty_status: String,
    #[schema(schema_with = crate::openapi::households::poverty_standard)]
    pub poverty_standard: Option<String>,
    /// The year of the survey, from 2010 to this year (422 otherwise).
    #[schema(minimum = 2010)]
    pub survey_year: Option<i32>,
    /// Each recorded once, in the standard's order, whatever the order sent;
    /// default none.
    #[serde(default)]
    #[schema(value_type = Vec<Deprivation>)]
    pub deprivations: Vec<String>,
    /// `null` or absent: `unknown`.
    #[schema(value_type = Option<YesNoUnknown>)]
    pub has_smartphone: Option<String>,
    /// `null` or absent: `unknown`.
    #[schema(value_type = Option<YesNoUnknown>)]
    pub has_internet: Option<String>,
    /// On create: the caller has seen the likely duplicates and this is a
    /// different household (without it, the same head name in the village
    /// is a 409 naming them). Not stored.
    #[serde(default, skip_serializing)]
    pub confirm_new: bool,
}

/// A JSON merge patch (RFC 7396) of a household's writable fields: the
/// fields sent change, `null` clears (or, for the fields that must have a
/// value, is a 422); the result is checked as a create is, but for
/// `confirm_new`. A field this schema does not name is a 422 unless it is
/// `null` (removing what is not there changes nothing).
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct HouseholdPatch {
    /// The version the change is based on, unless sent in `If-Match`, which
    /// wins (this field must still be an integer or `null`). One of the two
    /// is needed (422); a stale one is a 409 with `current`.
    #[schema(value_type = Option<i32>)]
    version: Option<i64>,
    /// Another village in force, inside the caller's area; `commune_id`
    /// follows.
    #[schema(nullable = false)]
    village_id: Option<Uuid>,
    #[schema(schema_with = crate::openapi::households::code)]
    code: Option<String>,
    #[schema(value_type = Option<Name>, nullable = false)]
    head_name: Option<String>,
    /// 1 to 50.
    #[schema(nullable = false, minimum = 1, maximum = 50)]
    size: Option<i32>,
    #[schema(schema_with = crate::openapi::households::ethnicity)]
    ethnicity: Option<String>,
    #[schema(schema_with = crate::openapi::households::phone)]
    phone: Option<String>,
    #[schema(nullable = false)]
    poverty_status: Option<PovertyStatus>,
    #[schema(schema_with = crate::openapi::households::poverty_standard)]
    poverty_standard: Option<String>,
    /// From 2010 to this year.
    #[schema(minimum = 2010)]
    survey_year: Option<i32>,
    /// Replaced whole; `null` clears.
    deprivations: Option<Vec<Deprivation>>,
    /// `null`: `unknown`.
    has_smartphone: Option<YesNoUnknown>,
    /// `null`: `unknown`.
    has_internet: Option<YesNoUnknown>,
    /// Accepted; changes nothing on an update.
    confirm_new: Option<bool>,
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

/// A household (personal data).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Household)]
pub struct HouseholdDto {
    pub id: Uuid,
    pub village_id: Uuid,
    /// The village's commune.
    pub commune_id: Uuid,
    /// The household code of the poverty survey; `null` when none, or once
    /// erased.
    #[schema(required = true, max_length = 30, pattern = "^[A-Za-z0-9._/-]+$")]
    pub code: Option<String>,
    /// `null` once erased.
    #[schema(required = true)]
    pub head_name: Option<String>,
    #[schema(minimum = 1, maximum = 50)]
    pub size: i32,
    /// `null` when not recorded, or once erased.
    #[schema(required = true)]
    pub ethnicity: Option<String>,
    /// Ten digits starting with 0; `null` when none, or once erased.
    #[schema(required = true, pattern = "^0[0-9]{9}$")]
    pub phone: Option<String>,
    #[schema(value_type = PovertyStatus)]
    pub poverty_status: String,
    #[schema(required = true)]
    pub poverty_standard: Option<String>,
    #[schema(required = true, minimum = 2010)]
    pub survey_year: Option<i32>,
    /// Each once, in the standard's order.
    #[schema(value_type = Vec<Deprivation>)]
    pub deprivations: Vec<String>,
    #[schema(value_type = YesNoUnknown)]
    pub has_smartphone: String,
    #[schema(value_type = YesNoUnknown)]
    pub has_internet: String,
    /// When its personal data was erased; it cannot be changed after.
    #[schema(required = true)]
    pub erased_at: Option<DateTime<Utc>>,
    /// Adds one at every change; the `ETag` holds the same number.
    #[schema(minimum = 1)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it was archived; archived households are kept as they were.
    #[schema(required = true)]
    pub archived_at: Option<DateTime<Utc>>,
}

/// A page of households.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct HouseholdPage {
    pub items: Vec<HouseholdDto>,
    /// Give it as `cursor` to get the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
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

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HouseholdFilters {
    /// Only this poverty status (400 for another value).
    #[param(value_type = Option<PovertyStatus>)]
    pub poverty_status: Option<PovertyStatus>,
    /// Only households with this answer (400 for another value).
    #[param(value_type = Option<YesNoUnknown>)]
    pub has_smartphone: Option<YesNoUnknown>,
    /// Only households with this answer (400 for another value).
    #[param(value_type = Option<YesNoUnknown>)]
    pub has_internet: Option<YesNoUnknown>,
    /// Only households with this deprivation recorded (422 for another
    /// value).
    #[param(value_type = Option<Deprivation>)]
    pub deprivation: Option<String>,
}

crate::code_enum!(
    /// What a household's data may be used for.
    #[derive(utoipa::ToSchema)]
    ConsentPurpose {
        Registry = "registry",
        Assistance = "assistance",
        Statistics = "statistics",
        Contact = "contact",
    }
);

/// A consent given or withdrawn, as the form records it. A field it does
/// not name is a 422.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// `true` gives consent, `false` withdraws it.
    pub given: bool,
    /// The day of the form; not after today in Vietnam (422).
    pub given_on: NaiveDate,
    /// Who gave or withdrew consent, as written on the form.
    #[schema(value_type = Name)]
    pub given_by: String,
    /// Each kept once; at least one when `given` is `true` (422). Default
    /// none.
    #[serde(default)]
    #[schema(value_type = Vec<ConsentPurpose>)]
    pub purposes: Vec<String>,
    #[schema(schema_with = crate::openapi::households::note)]
    pub note: Option<String>,
}

/// One consent record; the newest is in force.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Consent)]
pub struct ConsentDto {
    pub id: Uuid,
    /// `true` gave consent, `false` withdrew it.
    pub given: bool,
    pub given_on: NaiveDate,
    /// Who gave or withdrew it; blank once the household is erased.
    pub given_by: String,
    /// Each once.
    #[schema(value_type = Vec<ConsentPurpose>)]
    pub purposes: Vec<String>,
    /// `null` when none, or once the household is erased.
    #[schema(required = true)]
    pub note: Option<String>,
    /// The account that recorded it.
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// A household's consents.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ConsentList {
    /// Oldest first.
    pub items: Vec<ConsentDto>,
}

/// Everything stored about a household, for handing to it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct HouseholdExport {
    pub exported_at: DateTime<Utc>,
    pub household: HouseholdDto,
    /// Oldest first.
    pub consents: Vec<ConsentDto>,
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

/// Why a household's personal data is erased. A field it does not name is
/// a 422.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    #[schema(schema_with = crate::openapi::households::reason)]
    pub reason: String,
    /// The household's version, unless sent in `If-Match`, which wins. One
    /// of the two is needed (422); a stale one is a 409 with `current`.
    #[schema(value_type = Option<i32>)]
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
