//! Queries on households and their consents. Every read and write takes the
//! caller's scope.

use diesel::prelude::*;
use uuid::Uuid;

use super::dto::{Candidate, HouseholdFilters};
use super::model::{ConsentRow, HouseholdChanges, HouseholdRow};
use crate::auth::Scope;
use crate::db::schema::{household_consents, households};
use crate::error::ApiError;
use crate::pagination::Order;
use crate::records::{ListParams, unit_filter};
use crate::text;

/// `search_text` is the folded head name, a '|', and the household code:
/// `q` matches either, and a duplicate name is a prefix match.
pub fn search_text(head_name: Option<&str>, code: Option<&str>) -> String {
    format!(
        "{}|{}",
        text::fold(head_name.unwrap_or("")),
        code.unwrap_or("").to_lowercase()
    )
}

pub fn list(
    conn: &mut PgConnection,
    scope: &Scope,
    params: &ListParams,
    filters: &HouseholdFilters,
    order: &Order,
    limit: i64,
) -> Result<Vec<HouseholdRow>, ApiError> {
    let mut query = households::table
        .filter(scope.area_filter::<households::table>("households"))
        .into_boxed();
    if let Some(f) = unit_filter::<households::table>(conn, "households", params.unit_id)? {
        query = query.filter(f);
    }
    if !params.include_archived {
        query = query.filter(households::archived_at.is_null());
    }
    if let Some(p) = filters.poverty_status {
        query = query.filter(households::poverty_status.eq(p.as_str()));
    }
    if let Some(v) = filters.has_smartphone {
        query = query.filter(households::has_smartphone.eq(v.as_str()));
    }
    if let Some(v) = filters.has_internet {
        query = query.filter(households::has_internet.eq(v.as_str()));
    }
    if let Some(d) = &filters.deprivation {
        query = query.filter(households::deprivations.contains(vec![Some(d.clone())]));
    }
    if let Some(q) = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(households::search_text.like(text::contains_pattern(q)));
    }
    if let Some(since) = params.updated_since {
        query = query.filter(households::updated_at.ge(since));
    }
    if let Some(f) = order.after::<households::table>() {
        query = query.filter(f);
    }
    Ok(query
        .order(order.sql())
        .limit(limit + 1)
        .select(HouseholdRow::as_select())
        .load(conn)?)
}

/// What a list of visits or sessions shows of a household: who heads it and
/// where it lives.
#[derive(Debug, Clone, serde::Serialize, QueryableByName)]
pub struct HouseholdName {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    /// `null` once erased.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub head_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub village_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub village_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[serde(skip)]
    pub area_path: String,
}

/// The head's name and the village's of the households with these ids that
/// lie inside the scope (one that moved out of it since is left out).
pub fn names(
    conn: &mut PgConnection,
    scope: &Scope,
    ids: &[Uuid],
) -> Result<Vec<HouseholdName>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<HouseholdName> = diesel::sql_query(
        "SELECT h.id, h.head_name, h.village_id, u.name AS village_name, h.area_path \
         FROM households h JOIN units u ON u.id = h.village_id \
         WHERE h.id = ANY($1) ORDER BY h.id",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|h| scope.contains_path(&h.area_path))
        .collect())
}

// get, get_for_update and archive, as for every record table.
crate::records::record_queries!(
    households,
    HouseholdRow,
    crate::households::dto::HouseholdDto
);

/// Live households that look like the same one: the same code in the
/// commune, or the same head name (ignoring accents and case) in the village.
pub fn likely_duplicates(
    conn: &mut PgConnection,
    changes: &HouseholdChanges,
    except: Option<Uuid>,
) -> Result<Vec<Candidate>, ApiError> {
    let name_prefix = format!(
        "{}|%",
        text::like_escape(&text::fold(changes.head_name.as_deref().unwrap_or("")))
    );
    let mut query = households::table
        .filter(households::archived_at.is_null())
        .filter(households::erased_at.is_null())
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(households::id.ne(id));
    }
    let by_name = households::village_id
        .eq(changes.village_id)
        .and(households::search_text.like(name_prefix));
    type Found = (Uuid, Uuid, Option<String>, Option<String>, Uuid, String);
    let rows: Vec<Found> = match &changes.code {
        Some(code) => query.filter(
            by_name.or(households::commune_id
                .eq(changes.commune_id)
                .and(households::code.eq(code.clone()))),
        ),
        None => query.filter(by_name),
    }
    .select((
        households::id,
        households::village_id,
        households::code,
        households::head_name,
        households::commune_id,
        households::area_path,
    ))
    .limit(20)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, village_id, code, head_name, commune_id, area_path)| Candidate {
                reason: if code.is_some()
                    && code == changes.code
                    && commune_id == changes.commune_id
                {
                    "same_code"
                } else {
                    "same_head_name"
                },
                id,
                village_id,
                code,
                head_name,
                area_path,
            },
        )
        .collect())
}

fn code_conflict(e: diesel::result::Error) -> ApiError {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, ref info)
            if info.constraint_name() == Some("households_code_in_commune") =>
        {
            ApiError::conflict("another household of this commune has this code")
        }
        other => other.into(),
    }
}

/// Stores a new household; `body_hash` is that of the sync item that made
/// it, which recognises a resend.
pub fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &HouseholdChanges,
    body_hash: Option<&[u8]>,
) -> Result<HouseholdRow, ApiError> {
    diesel::insert_into(households::table)
        .values((
            households::id.eq(id),
            changes,
            households::body_hash.eq(body_hash),
        ))
        .returning(HouseholdRow::as_returning())
        .get_result(conn)
        .map_err(code_conflict)
}

/// A stored household and the hash of the sync item that made it, if one did.
pub type WithHash = (HouseholdRow, Option<Vec<u8>>);

/// The household stored under `id`, wherever it is, with its item's hash.
pub fn by_client_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<WithHash>, ApiError> {
    Ok(households::table
        .find(id)
        .select((HouseholdRow::as_select(), households::body_hash))
        .first(conn)
        .optional()?)
}

/// Many households in one statement per thousand rows (imports).
pub fn insert_many(
    conn: &mut PgConnection,
    rows: &[(Uuid, HouseholdChanges)],
) -> Result<Vec<HouseholdRow>, ApiError> {
    let mut inserted = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(1000) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(id, c)| (households::id.eq(*id), c))
            .collect();
        inserted.extend(
            diesel::insert_into(households::table)
                .values(values)
                .returning(HouseholdRow::as_returning())
                .get_results(conn)
                .map_err(code_conflict)?,
        );
    }
    Ok(inserted)
}

pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &HouseholdChanges,
) -> Result<HouseholdRow, ApiError> {
    diesel::update(households::table.find(id))
        .set((
            changes,
            households::version.eq(households::version + 1),
            households::updated_at.eq(diesel::dsl::now),
        ))
        .returning(HouseholdRow::as_returning())
        .get_result(conn)
        .map_err(code_conflict)
}

/// Removes every personal field, keeping what anonymous counts need
/// (village, size, poverty status, deprivations, device and connection).
/// Consent records name people too: their names go as well; and what its
/// visits say of it (their notes and position). Answers the row and the
/// visits' ids.
pub fn erase(
    conn: &mut PgConnection,
    id: Uuid,
    by: Uuid,
    reason: &str,
) -> Result<(HouseholdRow, Vec<Uuid>), ApiError> {
    use crate::db::schema::assistances;
    let visits: Vec<Uuid> =
        diesel::update(assistances::table.filter(assistances::household_id.eq(id)))
            .set((
                assistances::notes.eq(None::<String>),
                assistances::latitude.eq(None::<f64>),
                assistances::longitude.eq(None::<f64>),
                assistances::accuracy_m.eq(None::<f32>),
                assistances::version.eq(assistances::version + 1),
                assistances::updated_at.eq(diesel::dsl::now),
            ))
            .returning(assistances::id)
            .get_results(conn)?;
    diesel::update(household_consents::table.filter(household_consents::household_id.eq(id)))
        .set((
            household_consents::given_by.eq(""),
            household_consents::note.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(diesel::update(households::table.find(id))
        .set((
            households::head_name.eq(None::<String>),
            households::code.eq(None::<String>),
            households::ethnicity.eq(None::<String>),
            households::phone.eq(None::<String>),
            households::search_text.eq("|"),
            households::erased_at.eq(diesel::dsl::now),
            households::erased_by.eq(by),
            households::erasure_reason.eq(reason),
            households::version.eq(households::version + 1),
            households::updated_at.eq(diesel::dsl::now),
        ))
        .returning(HouseholdRow::as_returning())
        .get_result(conn)
        .map(|row| (row, visits))?)
}

pub fn consents(conn: &mut PgConnection, household_id: Uuid) -> Result<Vec<ConsentRow>, ApiError> {
    Ok(household_consents::table
        .filter(household_consents::household_id.eq(household_id))
        .order((household_consents::recorded_at, household_consents::id))
        .select(ConsentRow::as_select())
        .load(conn)?)
}

pub fn add_consent(conn: &mut PgConnection, row: &ConsentRow) -> Result<ConsentRow, ApiError> {
    Ok(diesel::insert_into(household_consents::table)
        .values(row)
        .returning(ConsentRow::as_returning())
        .get_result(conn)?)
}
