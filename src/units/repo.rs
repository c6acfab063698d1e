//! Queries on units and their lineage.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::dto::{Level, LineageDto, LineageLink, UnitSummary};
use super::model::{NewUnit, UnitRow, path_segment};
use crate::db::schema::{unit_lineage, units};
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
    Ok(diesel::insert_into(units::table)
        .values(&row)
        .returning(UnitRow::as_returning())
        .get_result(conn)?)
}
