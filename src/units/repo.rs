//! Queries on units and their lineage.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::dto::{Level, LineageDto, LineageLink, UnitSummary};
use super::model::{NewUnit, UnitRow, path_segment};
use crate::db::schema::{unit_lineage, units, village_communes};
use crate::error::ApiError;
use crate::text;

/// Today in Vietnam (UTC+7), the default date of every `at` filter.
pub fn today() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(7)).date_naive()
}

#[derive(Debug, Default)]
pub struct UnitFilter {
    pub level: Option<Level>,
    pub parent_id: Option<Uuid>,
    pub q: Option<String>,
    pub at: Option<NaiveDate>,
}

type Boxed<'a> = units::BoxedQuery<'a, diesel::pg::Pg>;

fn valid_at(query: Boxed<'_>, at: NaiveDate) -> Boxed<'_> {
    query
        .filter(units::valid_from.le(at))
        .filter(units::valid_to.is_null().or(units::valid_to.ge(at)))
}

/// One page of units in code order, after the `(code, id)` of `after`.
pub fn list(
    conn: &mut PgConnection,
    filter: &UnitFilter,
    after: Option<(String, Uuid)>,
    limit: i64,
) -> Result<Vec<UnitRow>, ApiError> {
    let mut query = valid_at(units::table.into_boxed(), filter.at.unwrap_or_else(today));
    if let Some(level) = filter.level {
        query = query.filter(units::level.eq(level.as_str()));
    }
    if let Some(parent) = filter.parent_id {
        query = query.filter(units::parent_id.eq(parent));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(units::search_text.like(text::contains_pattern(q)));
    }
    if let Some((code, id)) = after {
        query = query.filter(
            units::code
                .gt(code.clone())
                .or(units::code.eq(code).and(units::id.gt(id))),
        );
    }
    Ok(query
        .order((units::code.asc(), units::id.asc()))
        .limit(limit + 1)
        .select(UnitRow::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut PgConnection, id: Uuid) -> Result<UnitRow, ApiError> {
    Ok(units::table
        .find(id)
        .select(UnitRow::as_select())
        .first(conn)?)
}

pub fn summary(conn: &mut PgConnection, id: Uuid) -> Result<UnitSummary, ApiError> {
    get(conn, id).map(UnitSummary::from)
}

pub fn lineage(conn: &mut PgConnection, id: Uuid) -> Result<LineageDto, ApiError> {
    let unit = summary(conn, id)?;
    let predecessors = unit_lineage::table
        .inner_join(units::table.on(units::id.eq(unit_lineage::old_unit_id)))
        .filter(unit_lineage::new_unit_id.eq(id))
        .order(units::code)
        .select((
            UnitRow::as_select(),
            unit_lineage::relation,
            unit_lineage::note,
        ))
        .load::<(UnitRow, String, Option<String>)>(conn)?;
    let successors = unit_lineage::table
        .inner_join(units::table.on(units::id.eq(unit_lineage::new_unit_id)))
        .filter(unit_lineage::old_unit_id.eq(id))
        .order(units::code)
        .select((
            UnitRow::as_select(),
            unit_lineage::relation,
            unit_lineage::note,
        ))
        .load::<(UnitRow, String, Option<String>)>(conn)?;
    let link = |(row, relation, note): (UnitRow, String, Option<String>)| LineageLink {
        unit: row.into(),
        relation,
        note,
    };
    Ok(LineageDto {
        unit,
        predecessors: predecessors.into_iter().map(link).collect(),
        successors: successors.into_iter().map(link).collect(),
    })
}

/// Finds the unit of `level` with `code` in force on `at`.
pub fn find_by_code(
    conn: &mut PgConnection,
    code: &str,
    at: NaiveDate,
) -> Result<Vec<UnitRow>, ApiError> {
    Ok(valid_at(units::table.into_boxed(), at)
        .filter(units::code.eq(code))
        .select(UnitRow::as_select())
        .load(conn)?)
}

/// Creates a village under a current commune, with the next free code of
/// the form `<commune code>-<nn>`.
pub fn create_village(
    conn: &mut PgConnection,
    commune: &UnitRow,
    name: &str,
    unit_type: &str,
    valid_from: NaiveDate,
) -> Result<UnitRow, ApiError> {
    if commune.level != "commune" {
        return Err(ApiError::validation(
            "parent_id",
            "not_a_commune",
            "villages are created under a commune",
        ));
    }
    let prefix = format!("{}-", commune.code);
    let taken: Vec<String> = units::table
        .filter(units::parent_id.eq(commune.id))
        .filter(units::level.eq("village"))
        .select(units::code)
        .load(conn)?;
    let next = taken
        .iter()
        .filter_map(|c| c.strip_prefix(&prefix)?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    let code = format!("{prefix}{next:02}");
    let id = Uuid::now_v7();
    let name = text::nfc_trim(name);
    let short_name = name
        .strip_prefix(unit_type)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(&name)
        .to_string();
    let row = NewUnit {
        id,
        level: "village".into(),
        search_text: format!("{} {}", text::fold(&name), code),
        code,
        name,
        short_name,
        unit_type: unit_type.to_string(),
        parent_id: Some(commune.id),
        province_code: commune.province_code.clone(),
        valid_from,
        valid_to: None,
        path: format!("{}{}", commune.path, path_segment(id)),
    };
    let row: UnitRow = diesel::insert_into(units::table)
        .values(&row)
        .returning(UnitRow::as_returning())
        .get_result(conn)?;
    join_commune(conn, row.id, commune.id, &row.path, None)?;
    Ok(row)
}

/// Records that a village belongs to a commune (of the commune's period).
fn join_commune(
    conn: &mut PgConnection,
    village: Uuid,
    commune: Uuid,
    path: &str,
    by: Option<Uuid>,
) -> Result<(), ApiError> {
    diesel::insert_into(village_communes::table)
        .values((
            village_communes::village_id.eq(village),
            village_communes::commune_id.eq(commune),
            village_communes::path.eq(path),
            village_communes::assigned_by.eq(by),
        ))
        .on_conflict((village_communes::village_id, village_communes::commune_id))
        .do_nothing()
        .execute(conn)?;
    Ok(())
}

/// Moves a village into a commune of a later period: its row, the
/// `area_path` of every record it holds (teams, members, households,
/// sessions, visits, month locks), and its membership of the new commune.
/// Its membership of the old commune stays, so reports for the old units
/// still find it. Run inside the caller's transaction.
pub fn move_village(
    conn: &mut PgConnection,
    village: &UnitRow,
    commune: &UnitRow,
    by: Option<Uuid>,
) -> Result<UnitRow, ApiError> {
    use crate::db::schema::{assistances, households, members, period_locks, teams, trainings};
    let path = format!("{}{}", commune.path, path_segment(village.id));
    let old = village.path.as_str();
    diesel::update(teams::table.filter(teams::area_path.eq(old)))
        .set(teams::area_path.eq(&path))
        .execute(conn)?;
    diesel::update(members::table.filter(members::area_path.eq(old)))
        .set(members::area_path.eq(&path))
        .execute(conn)?;
    diesel::update(households::table.filter(households::area_path.eq(old)))
        .set((
            households::area_path.eq(&path),
            households::commune_id.eq(commune.id),
        ))
        .execute(conn)?;
    diesel::update(trainings::table.filter(trainings::area_path.eq(old)))
        .set(trainings::area_path.eq(&path))
        .execute(conn)?;
    diesel::update(assistances::table.filter(assistances::area_path.eq(old)))
        .set(assistances::area_path.eq(&path))
        .execute(conn)?;
    diesel::update(period_locks::table.filter(period_locks::area_path.eq(old)))
        .set(period_locks::area_path.eq(&path))
        .execute(conn)?;
    let row: UnitRow = diesel::update(units::table.find(village.id))
        .set((
            units::parent_id.eq(commune.id),
            units::path.eq(&path),
            units::province_code.eq(&commune.province_code),
            units::updated_at.eq(diesel::dsl::now),
        ))
        .returning(UnitRow::as_returning())
        .get_result(conn)?;
    join_commune(conn, village.id, commune.id, &path, by)?;
    crate::auth::access::forget_path(village.id);
    Ok(row)
}

/// Villages whose commune is no longer in force and went whole into one
/// commune follow it there. Villages of a commune split between several
/// stay where they are until an officer assigns them (`PATCH /units/{id}`).
/// Returns how many villages moved.
pub fn rehome_villages(conn: &mut PgConnection) -> Result<usize, ApiError> {
    #[derive(QueryableByName)]
    struct Waiting {
        #[diesel(embed)]
        village: UnitRow,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        next: Uuid,
    }
    let waiting: Vec<Waiting> = diesel::sql_query(
        "SELECT v.id, v.level, v.code, v.name, v.short_name, v.unit_type, v.parent_id, \
                v.province_code, v.valid_from, v.valid_to, v.path, l.new_unit_id AS next \
         FROM units v JOIN units c ON c.id = v.parent_id \
         JOIN unit_lineage l ON l.old_unit_id = c.id \
         WHERE v.level = 'village' AND c.valid_to IS NOT NULL",
    )
    .load(conn)?;
    let mut successors: std::collections::HashMap<Uuid, (UnitRow, Vec<Uuid>)> =
        std::collections::HashMap::new();
    for Waiting { village, next } in waiting {
        successors
            .entry(village.id)
            .or_insert_with(|| (village, Vec::new()))
            .1
            .push(next);
    }
    let mut moved = 0;
    for (village, next) in successors.values() {
        let [only] = next.as_slice() else { continue };
        let commune = get(conn, *only)?;
        if commune.level == "commune" && commune.valid_to.is_none() {
            move_village(conn, village, &commune, None)?;
            moved += 1;
        }
    }
    Ok(moved)
}

/// Villages waiting for an officer to assign them to a commune of today
/// (their commune was split), whose old commune has a successor inside
/// `scope`, in code order after `after`.
pub fn unassigned_villages(
    conn: &mut PgConnection,
    scope: &crate::auth::Scope,
    after: Option<(String, Uuid)>,
    limit: i64,
) -> Result<Vec<UnitRow>, ApiError> {
    let (lo, hi) = match scope {
        crate::auth::Scope::All => (String::new(), "\u{7f}".to_string()),
        crate::auth::Scope::Subtree { lo, hi } => (lo.clone(), hi.clone()),
    };
    let (after_code, after_id) = after.unwrap_or((String::new(), Uuid::nil()));
    Ok(diesel::sql_query(
        "SELECT v.id, v.level, v.code, v.name, v.short_name, v.unit_type, v.parent_id, \
                v.province_code, v.valid_from, v.valid_to, v.path \
         FROM units v JOIN units c ON c.id = v.parent_id \
         WHERE v.level = 'village' AND c.valid_to IS NOT NULL \
           AND EXISTS (SELECT 1 FROM unit_lineage l JOIN units n ON n.id = l.new_unit_id \
                       WHERE l.old_unit_id = c.id AND n.valid_to IS NULL \
                         AND n.path >= $1 AND n.path < $2) \
           AND (v.code, v.id) > ($3, $4) \
         ORDER BY v.code, v.id LIMIT $5",
    )
    .bind::<diesel::sql_types::Text, _>(lo)
    .bind::<diesel::sql_types::Text, _>(hi)
    .bind::<diesel::sql_types::Text, _>(after_code)
    .bind::<diesel::sql_types::Uuid, _>(after_id)
    .bind::<diesel::sql_types::BigInt, _>(limit + 1)
    .load(conn)?)
}

/// The communes of today a waiting village may be assigned to.
pub fn successors(conn: &mut PgConnection, commune: Uuid) -> Result<Vec<UnitRow>, ApiError> {
    Ok(unit_lineage::table
        .inner_join(units::table.on(units::id.eq(unit_lineage::new_unit_id)))
        .filter(unit_lineage::old_unit_id.eq(commune))
        .filter(units::valid_to.is_null())
        .order(units::code)
        .select(UnitRow::as_select())
        .load(conn)?)
}
