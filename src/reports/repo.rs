//! The summary's queries. Every figure is counted when asked, inside one
//! read-only snapshot, from the records or from running totals that the
//! database keeps in the same transaction as every write of them (the
//! `_scale` migration's triggers), so a record counts as soon as its
//! transaction commits.
//!
//! **Running totals.** Visits (per kind and outcome) come from
//! `report_visit_months`, or from `report_visit_years` when the whole
//! months are whole calendar years (`Plan::visit_totals`), the households
//! they reached (distinct counts) from `report_household_months`, one row per household and month, and
//! households registered from `report_household_counts`, all per village,
//! for the whole months of the period; the days before its first and after
//! its last whole month come from the visits themselves (`split_period`).
//! Teams, members and trainings, far fewer, are counted from their tables.
//! A period of whole months inside one calendar year (a month, a quarter,
//! a year) counts its households from `report_household_years` instead:
//! one row per household, village, year and kind with the months visited
//! as bit masks, so each household is counted once by testing its mask,
//! with no distinct count over months (`reached`).
//!
//! **Which villages a unit holds.** `village_communes` keeps the commune of
//! every village in each period, with the village's path of that period.
//! The villages of a unit (of either side of the reform) are those with a
//! membership path inside the unit's path range: one index range scan,
//! and at most one membership per village and period, so none counts
//! twice. Records carry their village's path of today (`area_path`), so
//! each query joins its table to that set of villages on `area_path`, and
//! each running total on the village's id. A
//! unit of today also answers for the villages of split communes waiting to
//! be assigned to one of its communes: they are the `unassigned` part.
//!
//! **One pass per family of figures.** Each query groups by
//! `GROUPING SETS`: per row (child unit or month), per part (held or
//! unassigned) and in all, so the totals of distinct counts are distinct
//! over the whole period and place, not sums of rows.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Integer, Nullable, Text};

use super::dto::{
    DISTINCT_COUNTS, GroupBy, Indicators, ON_A_DAY, Outcomes, ReportUnit, Row, Summary,
    SummaryParams, Unassigned, UnitRef, WaitingVillage,
};
use crate::auth::Scope;
use crate::db::PgPool;
use crate::db::schema::{catalog_entries, units};
use crate::error::ApiError;
use crate::units::model::UnitRow;
use uuid::Uuid;

const UNASSIGNED: &str = "unassigned";

/// The villages of the unit: `key` is the child unit the village lies in
/// (its id as 32 hex digits, from the membership path) when grouping by
/// child, `unassigned` for a village waiting for its commune, else ''.
/// Binds: $1 lo, $2 hi of the unit's path range, $3 position of the child
/// segment in the path (0 when not grouping by child). Read once per
/// summary (`Villages::load`); each figure's query then takes the set as
/// arrays (`VILLAGES`).
const VILLAGES_OF_UNIT: &str = "WITH v AS ( \
    SELECT u.id AS village_id, u.path AS now_path, \
           CASE WHEN $3 > 0 THEN substring(vc.path FROM $3 FOR 32) ELSE '' END AS key \
    FROM village_communes vc JOIN units u ON u.id = vc.village_id \
    WHERE vc.path >= $1 AND vc.path < $2 \
  UNION \
    SELECT u.id, u.path, 'unassigned' \
    FROM units n \
    JOIN unit_lineage l ON l.new_unit_id = n.id \
    JOIN units c ON c.id = l.old_unit_id AND c.valid_to IS NOT NULL \
    JOIN units u ON u.parent_id = c.id AND u.level = 'village' \
    WHERE n.path >= $1 AND n.path < $2 AND n.valid_to IS NULL AND n.level = 'commune' \
) SELECT village_id, now_path, key FROM v";

/// The villages of the summary as the set `v`, from the arrays $1..$3 of
/// `Villages`. Each query also names them in its table's own condition
/// (`village_id = ANY($1)`, `area_path = ANY($2)`): that condition is the
/// join's, so it changes no figure, but it lets the planner read the
/// villages' rows by their keys, one index range each, instead of a whole
/// year of the country's rows and a hash join, whose cost grows with the
/// country rather than with the unit asked for.
const VILLAGES: &str = "WITH v AS ( \
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(village_id, now_path, key) \
)";

/// The villages a summary counts, read once: their ids, paths of today and
/// row keys, in the order of the arrays `VILLAGES` binds.
#[derive(Default)]
struct Villages {
    ids: Vec<Uuid>,
    paths: Vec<String>,
    keys: Vec<String>,
}

impl Villages {
    fn load(conn: &mut PgConnection, lo: &str, hi: &str, key_pos: i32) -> Result<Self, ApiError> {
        #[derive(QueryableByName)]
        struct R {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            village_id: Uuid,
            #[diesel(sql_type = Text)]
            now_path: String,
            #[diesel(sql_type = Text)]
            key: String,
        }
        let rows: Vec<R> = diesel::sql_query(VILLAGES_OF_UNIT)
            .bind::<Text, _>(lo)
            .bind::<Text, _>(hi)
            .bind::<Integer, _>(key_pos)
            .load(conn)?;
        let mut v = Villages::default();
        for r in rows {
            v.ids.push(r.village_id);
            v.paths.push(r.now_path);
            v.keys.push(r.key);
        }
        Ok(v)
    }
}

/// The row of a record dated `col`: its month when grouping by month.
/// Binds: $4 from, $5 to, $6 statuses, $7 by month.
fn month_of(col: &str) -> String {
    format!("CASE WHEN $7 THEN to_char({col}, 'YYYY-MM') ELSE '' END")
}

/// Where a grouped result row goes.
enum Slot {
    Total,
    Unassigned,
    Row(String),
    /// Every row (figures of the registry as it is, in month rows).
    EveryRow,
}

struct Plan {
    lo: String,
    hi: String,
    villages: Villages,
    group_by: GroupBy,
    from: NaiveDate,
    to: NaiveDate,
    statuses: Vec<String>,
    /// The days stock figures are counted on, with their row: `to` alone,
    /// or each month's last day inside the period.
    months: Vec<String>,
    days: Vec<NaiveDate>,
    /// The whole months of the period, counted from the running totals
    /// (the first days of the first and the last; empty when the first is
    /// after the last).
    whole: (NaiveDate, NaiveDate),
    /// The days before and after them, counted from the visits themselves
    /// (each range empty when its first day is after its last).
    edges: [(NaiveDate, NaiveDate); 2],
}

impl Plan {
    /// The year and the mask of its months (bit 0 for January) when the
    /// period is whole months of one calendar year: the households visited
    /// are then counted from `report_household_years`, once each by their
    /// masks, with no distinct count over their months.
    fn one_year(&self) -> Option<(i32, i32)> {
        let empty = |(first, last): (NaiveDate, NaiveDate)| first > last;
        let (first, last) = self.whole;
        if !self.edges.iter().copied().all(empty)
            || empty(self.whole)
            || first.year() != last.year()
        {
            return None;
        }
        Some((
            first.year(),
            (first.month0()..=last.month0()).fold(0, |mask, bit| mask | 1 << bit),
        ))
    }

    /// The running totals of visits for the whole months, as `t` with a
    /// `month` column: the yearly rows when the whole months are whole
    /// calendar years and no month rows are asked (a year's summary reads
    /// a twelfth of the rows), else the monthly ones. The yearly rows'
    /// `year` is the year's first day, inside the whole months' range.
    fn visit_totals(&self) -> &'static str {
        let (first, last) = self.whole;
        if self.group_by != GroupBy::Month
            && first <= last
            && first.month() == 1
            && last.month() == 12
        {
            "(SELECT village_id, year AS month, status, kind, outcome, n \
              FROM report_visit_years) t"
        } else {
            "report_visit_months t"
        }
    }

    /// Whether only verified records count (`status=verified`).
    fn verified_only(&self) -> bool {
        !self.statuses.iter().any(|s| s == "submitted")
    }

    /// The mask column of `report_household_years` for the statuses asked.
    fn mask_column(&self) -> &'static str {
        if self.verified_only() {
            "y.months_verified"
        } else {
            "y.months_all"
        }
    }

    /// The grouping sets of a query over the period, as `period_slot`
    /// reads them: per row, per part (held or unassigned) and in all, each
    /// with `more` (such as `, s.kind`). Without month rows the month is
    /// one constant, so the row set already is the part's.
    fn period_sets(&self, more: &str) -> String {
        if self.group_by == GroupBy::Month {
            format!(
                "(v.key, m.month{more}), (v.key{more}), ({})",
                more.trim_start_matches(", ")
            )
        } else {
            format!(
                "(v.key, m.month{more}), ({})",
                more.trim_start_matches(", ")
            )
        }
    }

    fn last_month(&self) -> &str {
        self.months.last().map_or("", String::as_str)
    }

    /// A row of a query grouped over the period, `GROUPING(key, month)`.
    fn period_slot(&self, g: i32, key: Option<&str>, month: Option<&str>) -> Option<Slot> {
        let key = key.unwrap_or("");
        match g {
            3 => Some(Slot::Total),
            1 if key == UNASSIGNED => Some(Slot::Unassigned),
            0 if key != UNASSIGNED => self.row_slot(key, month.unwrap_or("")),
            // Without month rows the row set is the part's set too.
            0 if self.group_by != GroupBy::Month => Some(Slot::Unassigned),
            _ => None,
        }
    }

    /// A row of a query of figures on a day, `GROUPING(key, month)`.
    fn day_slot(&self, g: i32, key: Option<&str>, month: Option<&str>) -> Option<Slot> {
        let (key, month) = (key.unwrap_or(""), month.unwrap_or(""));
        match g {
            2 if month == self.last_month() => Some(Slot::Total),
            0 if key == UNASSIGNED => (month == self.last_month()).then_some(Slot::Unassigned),
            0 => self.row_slot(key, month),
            _ => None,
        }
    }

    /// A row of a query of the registry as it is, `GROUPING(key)`.
    fn registry_slot(&self, g: i32, key: Option<&str>) -> Option<Slot> {
        let key = key.unwrap_or("");
        match g {
            1 => Some(Slot::Total),
            _ if key == UNASSIGNED => Some(Slot::Unassigned),
            _ => match self.group_by {
                GroupBy::Child => Some(Slot::Row(key.to_string())),
                GroupBy::Month => Some(Slot::EveryRow),
                GroupBy::None => None,
            },
        }
    }

    fn row_slot(&self, key: &str, month: &str) -> Option<Slot> {
        match self.group_by {
            GroupBy::Child => Some(Slot::Row(key.to_string())),
            GroupBy::Month => Some(Slot::Row(month.to_string())),
            GroupBy::None => None,
        }
    }
}

#[derive(Default, Clone)]
struct Acc {
    totals: Indicators,
    unassigned: Indicators,
    rows: Vec<(String, Indicators)>,
    index: HashMap<String, usize>,
}

impl Acc {
    fn apply(&mut self, slot: Option<Slot>, f: impl Fn(&mut Indicators)) {
        match slot {
            None => {}
            Some(Slot::Total) => f(&mut self.totals),
            Some(Slot::Unassigned) => f(&mut self.unassigned),
            Some(Slot::Row(key)) => match self.index.get(&key) {
                Some(&i) => f(&mut self.rows[i].1),
                None => tracing::warn!(key, "a summary figure for a row not listed"),
            },
            Some(Slot::EveryRow) => self.rows.iter_mut().for_each(|(_, r)| f(r)),
        }
    }

    /// Adds what `other`, made from the same rows, counted.
    fn add(&mut self, other: &Acc) {
        add(&mut self.totals, &other.totals);
        add(&mut self.unassigned, &other.unassigned);
        for ((_, mine), (_, theirs)) in self.rows.iter_mut().zip(&other.rows) {
            add(mine, theirs);
        }
    }

    fn all(&mut self) -> impl Iterator<Item = &mut Indicators> {
        std::iter::once(&mut self.totals)
            .chain(std::iter::once(&mut self.unassigned))
            .chain(self.rows.iter_mut().map(|(_, r)| r))
    }
}

/// Adds every figure of `b` to `a` (the share is computed afterwards).
fn add(a: &mut Indicators, b: &Indicators) {
    fn add_map<V: Default>(
        a: &mut std::collections::BTreeMap<String, V>,
        b: &std::collections::BTreeMap<String, V>,
        f: impl Fn(&mut V, &V),
    ) {
        for (k, v) in b {
            f(a.entry(k.clone()).or_default(), v);
        }
    }
    a.teams_active += b.teams_active;
    a.members.total += b.members.total;
    for (mine, theirs) in [
        (&mut a.members.by_role, &b.members.by_role),
        (&mut a.members.by_gender, &b.members.by_gender),
        (&mut a.members.by_affiliation, &b.members.by_affiliation),
        (
            &mut a.information_access.reached_by_kind,
            &b.information_access.reached_by_kind,
        ),
    ] {
        add_map(mine, theirs, |x, y| *x += y);
    }
    a.trainings += b.trainings;
    a.attendees.total += b.attendees.total;
    a.attendees.women += b.attendees.women;
    a.attendees.ethnic_minority += b.attendees.ethnic_minority;
    a.attendees.poor += b.attendees.poor;
    a.visits += b.visits;
    add_map(&mut a.visits_by_kind, &b.visits_by_kind, |x, y| {
        x.done += y.done;
        x.partly += y.partly;
        x.not_done += y.not_done;
    });
    a.households_assisted += b.households_assisted;
    a.poor_households_assisted += b.poor_households_assisted;
    a.poor_households += b.poor_households;
    a.households.total += b.households.total;
    a.households.with_smartphone += b.households.with_smartphone;
    a.households.with_internet += b.households.with_internet;
    a.information_access.poor_lacking += b.information_access.poor_lacking;
    a.information_access.reached += b.information_access.reached;
}

fn range_of(path: &str) -> (String, String) {
    match Scope::from_path(path) {
        Scope::Subtree { lo, hi } => (lo, hi),
        Scope::All => (path.to_string(), path.to_string()),
    }
}

/// Whether the unit lies inside the caller's area. A unit of an earlier
/// period does when it lies in the area itself, or when every commune it
/// held went only into communes of the area (an officer of today's
/// province sees the districts and communes it was made of).
pub fn visible(conn: &mut PgConnection, scope: &Scope, unit: &UnitRow) -> Result<bool, ApiError> {
    let Scope::Subtree { lo, hi } = scope else {
        return Ok(true);
    };
    if scope.contains_path(&unit.path) || unit.valid_to.is_none() {
        return Ok(scope.contains_path(&unit.path));
    }
    #[derive(QueryableByName)]
    struct Inside {
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = Nullable<Bool>)]
        all_inside: Option<bool>,
    }
    let (ulo, uhi) = range_of(&unit.path);
    let r: Inside = diesel::sql_query(
        "SELECT count(*) AS n, bool_and(n.path >= $3 AND n.path < $4) AS all_inside \
         FROM units c JOIN unit_lineage l ON l.old_unit_id = c.id \
         JOIN units n ON n.id = l.new_unit_id \
         WHERE c.path >= $1 AND c.path < $2 AND c.level = 'commune'",
    )
    .bind::<Text, _>(ulo)
    .bind::<Text, _>(uhi)
    .bind::<Text, _>(lo)
    .bind::<Text, _>(hi)
    .get_result(conn)?;
    Ok(r.n > 0 && r.all_inside == Some(true))
}

/// The units one level down, in code order: a commune's villages of its
/// period, or the units whose parent it is.
fn children(conn: &mut PgConnection, unit: &UnitRow) -> Result<Vec<UnitRow>, ApiError> {
    Ok(diesel::sql_query(
        "SELECT u.id, u.level, u.code, u.name, u.short_name, u.unit_type, u.parent_id, \
                u.province_code, u.valid_from, u.valid_to, u.path \
         FROM units u WHERE u.parent_id = $1 AND u.level <> 'village' \
         UNION \
         SELECT u.id, u.level, u.code, u.name, u.short_name, u.unit_type, u.parent_id, \
                u.province_code, u.valid_from, u.valid_to, u.path \
         FROM village_communes vc JOIN units u ON u.id = vc.village_id \
         WHERE vc.commune_id = $1 \
         ORDER BY code, id",
    )
    .bind::<diesel::sql_types::Uuid, _>(unit.id)
    .load(conn)?)
}

/// The villages waiting for an officer that a unit of today answers for.
fn waiting(conn: &mut PgConnection, lo: &str, hi: &str) -> Result<Vec<WaitingVillage>, ApiError> {
    #[derive(QueryableByName)]
    struct W {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
        #[diesel(sql_type = Text)]
        code: String,
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        c_id: uuid::Uuid,
        #[diesel(sql_type = Text)]
        c_code: String,
        #[diesel(sql_type = Text)]
        c_name: String,
    }
    let rows: Vec<W> = diesel::sql_query(
        "SELECT DISTINCT u.id, u.code, u.name, c.id AS c_id, c.code AS c_code, c.name AS c_name \
         FROM units n \
         JOIN unit_lineage l ON l.new_unit_id = n.id \
         JOIN units c ON c.id = l.old_unit_id AND c.valid_to IS NOT NULL \
         JOIN units u ON u.parent_id = c.id AND u.level = 'village' \
         WHERE n.path >= $1 AND n.path < $2 AND n.valid_to IS NULL AND n.level = 'commune' \
         ORDER BY u.code, u.id",
    )
    .bind::<Text, _>(lo)
    .bind::<Text, _>(hi)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|w| WaitingVillage {
            id: w.id,
            code: w.code,
            name: w.name,
            former_commune: UnitRef {
                id: w.c_id,
                code: w.c_code,
                name: w.c_name,
                level: "commune".into(),
            },
        })
        .collect())
}

/// Splits a period into its whole months and the days around them.
fn split_period(
    from: NaiveDate,
    to: NaiveDate,
) -> ((NaiveDate, NaiveDate), [(NaiveDate, NaiveDate); 2]) {
    let start_of = |d: NaiveDate| d.with_day(1).unwrap_or(d);
    let first_whole = if from.day() == 1 {
        from
    } else {
        start_of(from) + chrono::Months::new(1)
    };
    let after = to.succ_opt().unwrap_or(to);
    let after_whole = if after.day() == 1 {
        after
    } else {
        start_of(to)
    };
    let none = (after, to);
    if first_whole < after_whole {
        let last_whole = after_whole - chrono::Months::new(1);
        let before = first_whole.pred_opt().unwrap_or(first_whole);
        (
            (first_whole, last_whole),
            [(from, before), (after_whole, to)],
        )
    } else {
        ((after, to), [(from, to), none])
    }
}

fn months_between(from: NaiveDate, to: NaiveDate) -> Vec<(String, NaiveDate)> {
    let mut out = Vec::new();
    let mut first = from.with_day(1).unwrap_or(from);
    while first <= to {
        let next = first + chrono::Months::new(1);
        let last = next.pred_opt().unwrap_or(first).min(to);
        out.push((first.format("%Y-%m").to_string(), last));
        first = next;
    }
    out
}

/// The summary of `unit` (already checked to be inside the caller's area),
/// read in one repeatable-read snapshot. With `helper`, the pool `conn`
/// came from, the visits' figures are read at the same time on a second
/// connection of it, in the same snapshot, when one is free.
pub fn summary(
    conn: &mut PgConnection,
    helper: Option<&PgPool>,
    unit: UnitRow,
    params: &SummaryParams,
) -> Result<Summary, ApiError> {
    conn.build_transaction()
        .read_only()
        .repeatable_read()
        .run(|conn| summary_in(conn, helper, unit, params))
}

#[derive(QueryableByName)]
struct Snapshot {
    #[diesel(sql_type = Text)]
    id: String,
}

/// The families of figures, read in the snapshot of `conn`'s transaction:
/// the visits' on `second` in a thread of their own when given (it
/// imports the snapshot, so both see the same moment), the registry's and
/// the trainings' on `conn`. Each side counts into its own copy of `acc`,
/// and the copies are added up.
fn families(
    conn: &mut PgConnection,
    second: Option<&mut PgConnection>,
    plan: &Plan,
    acc: &mut Acc,
) -> Result<(), ApiError> {
    let here = |conn: &mut PgConnection, acc: &mut Acc| -> Result<(), ApiError> {
        teams(conn, plan, acc)?;
        members(conn, plan, acc)?;
        trainings(conn, plan, acc)?;
        households(conn, plan, acc)
    };
    let there = |conn: &mut PgConnection, acc: &mut Acc| -> Result<(), ApiError> {
        visits(conn, plan, acc)?;
        visits_by_kind(conn, plan, acc)
    };
    let Some(second) = second else {
        here(conn, acc)?;
        return there(conn, acc);
    };
    let snapshot = diesel::sql_query("SELECT pg_export_snapshot() AS id")
        .get_result::<Snapshot>(conn)?
        .id;
    // A statement takes no parameter here; the identifier is PostgreSQL's
    // own (hex digits and dashes), checked all the same.
    if !snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(ApiError::internal("an unexpected snapshot identifier"));
    }
    // A copy of the rows as laid out, all figures still zero: what it
    // counts is added in once, so nothing may be counted into `acc` first.
    let mut theirs = acc.clone();
    let answer = std::thread::scope(|s| {
        let side = s.spawn(|| {
            second
                .build_transaction()
                .read_only()
                .repeatable_read()
                .run(|c| {
                    diesel::sql_query(format!("SET TRANSACTION SNAPSHOT '{snapshot}'"))
                        .execute(c)?;
                    there(c, &mut theirs)
                })
        });
        let mine = here(conn, acc);
        let side = side
            .join()
            .unwrap_or_else(|_| Err(ApiError::internal("a summary's second reader panicked")));
        mine.and(side)
    });
    answer?;
    acc.add(&theirs);
    Ok(())
}

fn summary_in(
    conn: &mut PgConnection,
    helper: Option<&PgPool>,
    unit: UnitRow,
    params: &SummaryParams,
) -> Result<Summary, ApiError> {
    // On a read replica, the moment of the last transaction it replayed.
    let fresh = crate::db::replica::freshness(conn)?;
    let as_of = fresh.as_of;
    let (lo, hi) = range_of(&unit.path);
    let by_child = params.group_by == GroupBy::Child;
    let (months, days): (Vec<String>, Vec<NaiveDate>) = if params.group_by == GroupBy::Month {
        months_between(params.from, params.to).into_iter().unzip()
    } else {
        (vec![String::new()], vec![params.to])
    };
    let (whole, edges) = split_period(params.from, params.to);
    let key_pos = if by_child { lo.len() as i32 + 1 } else { 0 };
    let plan = Plan {
        villages: Villages::load(conn, &lo, &hi, key_pos)?,
        lo,
        hi,
        group_by: params.group_by,
        from: params.from,
        to: params.to,
        statuses: params.status.statuses(),
        whole,
        edges,
        months,
        days,
    };

    let mut acc = Acc::default();
    let mut row_meta: Vec<Row> = Vec::new();
    match params.group_by {
        GroupBy::Child => {
            for c in children(conn, &unit)? {
                let key = c.id.simple().to_string();
                acc.index.insert(key.clone(), acc.rows.len());
                acc.rows.push((key, Indicators::default()));
                row_meta.push(Row {
                    unit: Some(UnitRef {
                        id: c.id,
                        code: c.code,
                        name: c.name,
                        level: c.level,
                    }),
                    month: None,
                    figures: Indicators::default(),
                });
            }
        }
        GroupBy::Month => {
            for m in &plan.months {
                acc.index.insert(m.clone(), acc.rows.len());
                acc.rows.push((m.clone(), Indicators::default()));
                row_meta.push(Row {
                    unit: None,
                    month: Some(m.clone()),
                    figures: Indicators::default(),
                });
            }
        }
        GroupBy::None => {}
    }
    // Every catalogue kind is named, with zeros when nothing was done.
    let kinds: Vec<String> = catalog_entries::table
        .filter(catalog_entries::kind.eq("assistance_kind"))
        .select(catalog_entries::code)
        .load(conn)?;
    for ind in acc.all() {
        for k in &kinds {
            ind.visits_by_kind.insert(k.clone(), Outcomes::default());
            ind.information_access.reached_by_kind.insert(k.clone(), 0);
        }
    }

    // A second connection only when one is idle (a busy service answers
    // on one, as before), and not on a standby, which exports no snapshot.
    let mut second = helper
        .filter(|_| !fresh.standby)
        .and_then(|pool| pool.try_get());
    families(conn, second.as_deref_mut(), &plan, &mut acc)?;
    for ind in acc.all() {
        ind.poor_reached_share = (ind.poor_households > 0).then(|| {
            (ind.poor_households_assisted as f64 / ind.poor_households as f64 * 10_000.0).round()
                / 10_000.0
        });
    }

    let villages = if unit.valid_to.is_none() {
        waiting(conn, &plan.lo, &plan.hi)?
    } else {
        Vec::new()
    };
    let rows = row_meta
        .into_iter()
        .zip(acc.rows)
        .map(|(meta, (_, figures))| Row { figures, ..meta })
        .collect();
    let mut not_additive: Vec<&'static str> = DISTINCT_COUNTS.to_vec();
    not_additive.push("poor_reached_share");
    if params.group_by == GroupBy::Month {
        not_additive.extend(ON_A_DAY);
    }
    Ok(Summary {
        unit: ReportUnit {
            id: unit.id,
            code: unit.code,
            name: unit.name,
            level: unit.level,
            valid_from: unit.valid_from,
            valid_to: unit.valid_to,
        },
        from: plan.from,
        to: plan.to,
        group_by: params.group_by,
        status: params.status,
        as_of,
        totals: acc.totals,
        rows,
        unassigned: Unassigned {
            villages,
            figures: acc.unassigned,
        },
        distinct_counts: DISTINCT_COUNTS.to_vec(),
        not_additive,
    })
}

/// The grouping of a result row: `GROUPING(...)` of the query, the row's
/// key and month.
#[derive(QueryableByName)]
struct Group {
    #[diesel(sql_type = Integer)]
    g: i32,
    #[diesel(sql_type = Nullable<Text>)]
    key: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    month: Option<String>,
}

macro_rules! bind_villages {
    ($query:expr, $plan:expr) => {
        $query
            .bind::<Array<diesel::sql_types::Uuid>, _>(&$plan.villages.ids)
            .bind::<Array<Text>, _>(&$plan.villages.paths)
            .bind::<Array<Text>, _>(&$plan.villages.keys)
    };
}

/// Binds $4..$7 of a query over the period.
macro_rules! bind_period {
    ($query:expr, $plan:expr) => {
        bind_villages!($query, $plan)
            .bind::<Date, _>($plan.from)
            .bind::<Date, _>($plan.to)
            .bind::<Array<Text>, _>(&$plan.statuses)
            .bind::<Bool, _>($plan.group_by == GroupBy::Month)
    };
}

/// Binds $4, $5 of a query on days: the rows' months and their days.
macro_rules! bind_days {
    ($query:expr, $plan:expr) => {
        bind_villages!($query, $plan)
            .bind::<Array<Text>, _>(&$plan.months)
            .bind::<Array<Date>, _>(&$plan.days)
    };
}

const DAYS: &str = ", d AS (SELECT * FROM unnest($4::text[], $5::date[]) AS d(month, day))";

fn teams(conn: &mut PgConnection, plan: &Plan, acc: &mut Acc) -> Result<(), ApiError> {
    #[derive(QueryableByName)]
    struct R {
        #[diesel(embed)]
        at: Group,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let sql = format!(
        "{VILLAGES}{DAYS} \
         SELECT GROUPING(v.key, d.month) AS g, v.key, d.month, count(*) AS n \
         FROM teams t JOIN v ON t.area_path = v.now_path \
         JOIN d ON (t.founded_on IS NULL OR t.founded_on <= d.day) \
               AND (t.dissolved_on IS NULL OR t.dissolved_on > d.day) \
         WHERE t.archived_at IS NULL AND t.area_path = ANY($2::text[]) \
         GROUP BY GROUPING SETS ((v.key, d.month), (d.month))"
    );
    let rows: Vec<R> = bind_days!(diesel::sql_query(sql), plan).load(conn)?;
    for r in rows {
        let slot = plan.day_slot(r.at.g, r.at.key.as_deref(), r.at.month.as_deref());
        acc.apply(slot, |i| i.teams_active += r.n);
    }
    Ok(())
}

fn members(conn: &mut PgConnection, plan: &Plan, acc: &mut Acc) -> Result<(), ApiError> {
    #[derive(QueryableByName)]
    struct R {
        #[diesel(embed)]
        at: Group,
        #[diesel(sql_type = Text)]
        team_role: String,
        #[diesel(sql_type = Text)]
        gender: String,
        #[diesel(sql_type = Text)]
        affiliation: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    // A member who moves leaves one team on the day the next begins: the
    // closing row does not count on that day, so a person counts once.
    let sql = format!(
        "{VILLAGES}{DAYS} \
         SELECT GROUPING(v.key, d.month) AS g, v.key, d.month, \
                m.team_role, m.gender, m.affiliation, count(*) AS n \
         FROM members m JOIN v ON m.area_path = v.now_path \
         JOIN d ON m.joined_on <= d.day AND (m.left_on IS NULL OR m.left_on > d.day) \
         WHERE m.archived_at IS NULL AND m.area_path = ANY($2::text[]) \
         GROUP BY GROUPING SETS ((v.key, d.month, m.team_role, m.gender, m.affiliation), \
                                 (d.month, m.team_role, m.gender, m.affiliation))"
    );
    let rows: Vec<R> = bind_days!(diesel::sql_query(sql), plan).load(conn)?;
    for r in rows {
        let slot = plan.day_slot(r.at.g, r.at.key.as_deref(), r.at.month.as_deref());
        acc.apply(slot, |i| {
            let m = &mut i.members;
            m.total += r.n;
            *m.by_role.entry(r.team_role.clone()).or_default() += r.n;
            *m.by_gender.entry(r.gender.clone()).or_default() += r.n;
            *m.by_affiliation.entry(r.affiliation.clone()).or_default() += r.n;
        });
    }
    Ok(())
}

fn trainings(conn: &mut PgConnection, plan: &Plan, acc: &mut Acc) -> Result<(), ApiError> {
    #[derive(QueryableByName)]
    struct R {
        #[diesel(embed)]
        at: Group,
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = BigInt)]
        total: i64,
        #[diesel(sql_type = BigInt)]
        women: i64,
        #[diesel(sql_type = BigInt)]
        ethnic_minority: i64,
        #[diesel(sql_type = BigInt)]
        poor: i64,
    }
    let sets = plan.period_sets("");
    let sql = format!(
        "{VILLAGES} \
         SELECT GROUPING(v.key, m.month) AS g, v.key, m.month, count(*) AS n, \
                coalesce(sum(t.attendees_total), 0)::bigint AS total, \
                coalesce(sum(t.attendees_women), 0)::bigint AS women, \
                coalesce(sum(t.attendees_ethnic_minority), 0)::bigint AS ethnic_minority, \
                coalesce(sum(t.attendees_poor), 0)::bigint AS poor \
         FROM trainings t JOIN v ON t.area_path = v.now_path \
         CROSS JOIN LATERAL (SELECT {} AS month) m \
         WHERE t.held_on >= $4 AND t.held_on <= $5 AND t.status = ANY($6) \
           AND t.archived_at IS NULL AND t.area_path = ANY($2::text[]) \
         GROUP BY GROUPING SETS ({sets})",
        month_of("t.held_on")
    );
    let rows: Vec<R> = bind_period!(diesel::sql_query(sql), plan).load(conn)?;
    for r in rows {
        let slot = plan.period_slot(r.at.g, r.at.key.as_deref(), r.at.month.as_deref());
        acc.apply(slot, |i| {
            i.trainings += r.n;
            i.attendees.total += r.total;
            i.attendees.women += r.women;
            i.attendees.ethnic_minority += r.ethnic_minority;
            i.attendees.poor += r.poor;
        });
    }
    Ok(())
}

/// `h` lacks information access (and is poor or near-poor), as the
/// running totals count it.
fn lacking(h: &str) -> String {
    format!("report_lacking({h}.poverty_status, {h}.deprivations)")
}

/// Binds $8..$13 after the period's $1..$7: the whole months (from the
/// running totals) and the days around them (from the visits).
macro_rules! bind_split {
    ($query:expr, $plan:expr) => {
        bind_period!($query, $plan)
            .bind::<Date, _>($plan.whole.0)
            .bind::<Date, _>($plan.whole.1)
            .bind::<Date, _>($plan.edges[0].0)
            .bind::<Date, _>($plan.edges[0].1)
            .bind::<Date, _>($plan.edges[1].0)
            .bind::<Date, _>($plan.edges[1].1)
    };
}

/// The running totals `t` of the villages in the whole months, by status.
const WHOLE_MONTHS: &str = "t.village_id = ANY($1::uuid[]) \
     AND t.month >= $8 AND t.month <= $9 AND t.status = ANY($6)";

/// The visits `a` of the villages on the days around the whole months.
const EDGE_DAYS: &str = "a.area_path = ANY($2::text[]) \
     AND ((a.visited_on >= $10 AND a.visited_on <= $11) \
          OR (a.visited_on >= $12 AND a.visited_on <= $13)) \
     AND a.status = ANY($6) AND a.archived_at IS NULL";

fn visits(conn: &mut PgConnection, plan: &Plan, acc: &mut Acc) -> Result<(), ApiError> {
    #[derive(QueryableByName)]
    struct R {
        #[diesel(embed)]
        at: Group,
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = BigInt)]
        assisted: i64,
        #[diesel(sql_type = BigInt)]
        poor_assisted: i64,
        #[diesel(sql_type = BigInt)]
        reached: i64,
    }
    if let Some((year, mask)) = plan.one_year() {
        // The visits are counted with those per kind (`visits_by_kind`).
        return reached(conn, plan, acc, year, mask, Reach::Households);
    }
    // Visits from the village totals, households from the households
    // visited per month (a household once per row), both for the whole
    // months; the days around them from the visits.
    let sets = plan.period_sets("");
    let sql = format!(
        "{VILLAGES}, s AS ( \
             SELECT t.village_id, t.month AS day, t.n, NULL::uuid AS household_id, \
                    false AS poor, false AS lacking \
             FROM {totals} WHERE {WHOLE_MONTHS} AND t.kind = '' \
           UNION ALL \
             SELECT t.village_id, t.month, 0, t.household_id, t.poor, t.lacking \
             FROM report_household_months t WHERE {WHOLE_MONTHS} AND t.kind = '' AND t.n > 0 \
           UNION ALL \
             SELECT report_village_of(a.area_path), a.visited_on, 1, a.household_id, \
                    h.poverty_status <> 'not_poor', {} \
             FROM assistances a JOIN households h ON h.id = a.household_id \
             WHERE {EDGE_DAYS} \
         ) \
         SELECT GROUPING(v.key, m.month) AS g, v.key, m.month, \
                coalesce(sum(s.n), 0)::bigint AS n, \
                count(DISTINCT s.household_id) AS assisted, \
                count(DISTINCT s.household_id) FILTER (WHERE s.poor) AS poor_assisted, \
                count(DISTINCT s.household_id) FILTER (WHERE s.lacking) AS reached \
         FROM s JOIN v ON v.village_id = s.village_id \
         CROSS JOIN LATERAL (SELECT {} AS month) m \
         GROUP BY GROUPING SETS ({sets})",
        lacking("h"),
        month_of("s.day"),
        totals = plan.visit_totals(),
    );
    let rows: Vec<R> = bind_split!(diesel::sql_query(sql), plan).load(conn)?;
    for r in rows {
        let slot = plan.period_slot(r.at.g, r.at.key.as_deref(), r.at.month.as_deref());
        acc.apply(slot, |i| {
            i.visits += r.n;
            i.households_assisted += r.assisted;
            i.poor_households_assisted += r.poor_assisted;
            i.information_access.reached += r.reached;
        });
    }
    Ok(())
}

/// The mask of every month of a year.
const WHOLE_YEAR: i32 = 0xFFF;

/// Which households `reached` counts.
#[derive(Clone, Copy, PartialEq)]
enum Reach {
    /// Every household visited, the poor among them and those lacking
    /// information access.
    Households,
    /// Those lacking information access, per kind of help.
    LackingByKind,
}

/// The households visited in the months of `mask` of `year`, from
/// `report_household_years`: a household has one row per village, so the
/// rows of households visited in one village that year are counted as
/// they are, and the few shared between villages (households that moved)
/// with a distinct count, in a second pass; the two sets are disjoint.
/// For a whole year without month rows, the first pass adds up their
/// counts per village instead (`report_household_year_counts`).
fn reached(
    conn: &mut PgConnection,
    plan: &Plan,
    acc: &mut Acc,
    year: i32,
    mask: i32,
    reach: Reach,
) -> Result<(), ApiError> {
    #[derive(QueryableByName)]
    struct R {
        #[diesel(sql_type = Integer)]
        g: i32,
        #[diesel(sql_type = Nullable<Text>)]
        key: Option<String>,
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Array<BigInt>)]
        assisted: Vec<i64>,
        #[diesel(sql_type = Array<BigInt>)]
        poor: Vec<i64>,
        #[diesel(sql_type = Array<BigInt>)]
        lacking: Vec<i64>,
    }
    let column = plan.mask_column();
    // Each figure over the whole period, then (grouping by month) in each
    // month of it.
    let bits: Vec<i32> = if plan.group_by == GroupBy::Month {
        plan.months
            .iter()
            .filter_map(|m| m.get(5..7)?.parse::<i32>().ok())
            .map(|month| 1 << (month - 1))
            .collect()
    } else {
        Vec::new()
    };
    for shared in [false, true] {
        // A whole year without month rows counts the households no other
        // village shares from `report_household_year_counts`: a few rows
        // per village instead of one per household.
        let counted = !shared && bits.is_empty() && mask == WHOLE_YEAR;
        let count =
            |filter: &str| {
                if counted {
                    return format!("coalesce(sum(y.n) FILTER (WHERE {filter}), 0)");
                }
                let of = if shared {
                    "count(DISTINCT y.household_id)"
                } else {
                    "count(*)"
                };
                std::iter::once(format!("{of} FILTER (WHERE {filter})"))
                    .chain(bits.iter().map(|bit| {
                        format!("{of} FILTER (WHERE {filter} AND {column} & {bit} <> 0)")
                    }))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
        let (table, which) = match counted {
            true if plan.verified_only() => ("report_household_year_counts", "y.verified".into()),
            true => ("report_household_year_counts", "true".into()),
            false => (
                "report_household_years",
                format!("y.shared = $5 AND {column} & $6 <> 0"),
            ),
        };
        let (kind, kinds, sets) = match reach {
            Reach::Households => ("''", "y.kind = ''", "(v.key), ()"),
            Reach::LackingByKind => (
                "y.kind",
                "y.kind <> '' AND y.lacking",
                "(v.key, y.kind), (y.kind)",
            ),
        };
        let sql = format!(
            "{VILLAGES} \
             SELECT GROUPING(v.key) AS g, v.key, {kind} AS kind, \
                    ARRAY[{}]::bigint[] AS assisted, ARRAY[{}]::bigint[] AS poor, \
                    ARRAY[{}]::bigint[] AS lacking \
             FROM {table} y JOIN v ON v.village_id = y.village_id \
             WHERE y.village_id = ANY($1::uuid[]) AND y.year = $4 AND {kinds} AND {which} \
             GROUP BY GROUPING SETS ({sets})",
            count("true"),
            count("y.poor"),
            count("y.lacking"),
        );
        let query = bind_villages!(diesel::sql_query(sql), plan).bind::<Integer, _>(year);
        let rows: Vec<R> = if counted {
            query.load(conn)?
        } else {
            query
                .bind::<Bool, _>(shared)
                .bind::<Integer, _>(mask)
                .load(conn)?
        };
        for r in rows {
            let key = r.key.as_deref().unwrap_or("");
            // Index 0 is the whole period, then one per month of `bits`.
            let mut slots: Vec<(Option<Slot>, usize)> = Vec::new();
            if r.g == 1 {
                slots.push((Some(Slot::Total), 0));
            } else if key == UNASSIGNED {
                slots.push((Some(Slot::Unassigned), 0));
            } else if bits.is_empty() {
                slots.push((plan.row_slot(key, ""), 0));
            } else {
                for (i, month) in plan.months.iter().enumerate() {
                    slots.push((plan.row_slot(key, month), i + 1));
                }
            }
            for (slot, at) in slots {
                let figure = |v: &[i64]| v.get(at).copied().unwrap_or(0);
                match reach {
                    Reach::Households => acc.apply(slot, |i| {
                        i.households_assisted += figure(&r.assisted);
                        i.poor_households_assisted += figure(&r.poor);
                        i.information_access.reached += figure(&r.lacking);
                    }),
                    Reach::LackingByKind => acc.apply(slot, |i| {
                        *i.information_access
                            .reached_by_kind
                            .entry(r.kind.clone())
                            .or_default() += figure(&r.assisted)
                    }),
                }
            }
        }
    }
    Ok(())
}

fn visits_by_kind(conn: &mut PgConnection, plan: &Plan, acc: &mut Acc) -> Result<(), ApiError> {
    #[derive(QueryableByName)]
    struct R {
        #[diesel(embed)]
        at: Group,
        #[diesel(sql_type = Text)]
        kind: String,
        /// 1 in the sets over every outcome.
        #[diesel(sql_type = Integer)]
        go: i32,
        #[diesel(sql_type = Nullable<Text>)]
        outcome: Option<String>,
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = BigInt)]
        reached: i64,
    }
    // Sets with the outcome count visits per kind and outcome; sets
    // without it count the households lacking information access reached
    // with each kind, distinct over outcomes. The households' rows carry
    // no outcome and no visits, so they add nothing to the first.
    // For whole months of one year, the households come from their yearly
    // rows (`reached`) and this query counts only the visits, the visits
    // themselves (kind '') with those per kind, in one pass.
    let one_year = plan.one_year();
    let kinds = if one_year.is_some() {
        ""
    } else {
        "AND t.kind <> ''"
    };
    let (households, reached_now) = match one_year {
        Some(_) => (String::new(), "0::bigint"),
        None => (
            format!(
                "UNION ALL \
                   SELECT t.village_id, t.month, t.kind, NULL, 0, t.household_id, true \
                   FROM report_household_months t \
                   WHERE {WHOLE_MONTHS} AND t.kind <> '' AND t.n > 0 AND t.lacking \
                 UNION ALL \
                   SELECT report_village_of(a.area_path), a.visited_on, o.kind, o.outcome, 1, \
                          a.household_id, {} \
                   FROM assistances a JOIN households h ON h.id = a.household_id \
                   CROSS JOIN LATERAL jsonb_to_recordset(a.outcomes) AS o(kind text, outcome text) \
                   WHERE {EDGE_DAYS} AND o.kind IS NOT NULL",
                lacking("h")
            ),
            "count(DISTINCT s.household_id) FILTER (WHERE s.lacking)",
        ),
    };
    // The sets over every outcome count only the households reached, which
    // the yearly rows count instead for one year.
    let mut sets = plan.period_sets(", s.kind, s.outcome");
    if one_year.is_none() {
        sets = format!("{sets}, {}", plan.period_sets(", s.kind"));
    }
    let sql = format!(
        "{VILLAGES}, s AS ( \
             SELECT t.village_id, t.month AS day, t.kind, t.outcome, t.n, \
                    NULL::uuid AS household_id, false AS lacking \
             FROM {totals} WHERE {WHOLE_MONTHS} {kinds} \
             {households} \
         ) \
         SELECT GROUPING(v.key, m.month) AS g, v.key, m.month, s.kind, \
                GROUPING(s.outcome) AS go, s.outcome, coalesce(sum(s.n), 0)::bigint AS n, \
                {reached_now} AS reached \
         FROM s JOIN v ON v.village_id = s.village_id \
         CROSS JOIN LATERAL (SELECT {} AS month) m \
         GROUP BY GROUPING SETS ({sets})",
        month_of("s.day"),
        totals = plan.visit_totals(),
    );
    let rows: Vec<R> = bind_split!(diesel::sql_query(sql), plan).load(conn)?;
    for r in rows {
        let slot = plan.period_slot(r.at.g, r.at.key.as_deref(), r.at.month.as_deref());
        acc.apply(slot, |i| match (r.go, r.outcome.as_deref()) {
            _ if r.kind.is_empty() => i.visits += r.n,
            (1, _) => {
                *i.information_access
                    .reached_by_kind
                    .entry(r.kind.clone())
                    .or_default() += r.reached
            }
            (_, outcome) => {
                let o = i.visits_by_kind.entry(r.kind.clone()).or_default();
                match outcome {
                    Some("done") => o.done += r.n,
                    Some("partly") => o.partly += r.n,
                    _ => o.not_done += r.n,
                }
            }
        });
    }
    match one_year {
        Some((year, mask)) => reached(conn, plan, acc, year, mask, Reach::LackingByKind),
        None => Ok(()),
    }
}

fn households(conn: &mut PgConnection, plan: &Plan, acc: &mut Acc) -> Result<(), ApiError> {
    #[derive(QueryableByName)]
    struct R {
        #[diesel(embed)]
        at: Group,
        #[diesel(sql_type = BigInt)]
        total: i64,
        #[diesel(sql_type = BigInt)]
        smartphone: i64,
        #[diesel(sql_type = BigInt)]
        internet: i64,
        #[diesel(sql_type = BigInt)]
        poor: i64,
        #[diesel(sql_type = BigInt)]
        lacking: i64,
    }
    let sql = format!(
        "{VILLAGES} \
         SELECT GROUPING(v.key) AS g, v.key, NULL::text AS month, \
                coalesce(sum(c.n), 0)::bigint AS total, \
                coalesce(sum(c.n) FILTER (WHERE c.has_smartphone = 'yes'), 0)::bigint AS smartphone, \
                coalesce(sum(c.n) FILTER (WHERE c.has_internet = 'yes'), 0)::bigint AS internet, \
                coalesce(sum(c.n) FILTER (WHERE c.poverty_status <> 'not_poor'), 0)::bigint AS poor, \
                coalesce(sum(c.n) FILTER (WHERE c.lacking), 0)::bigint AS lacking \
         FROM report_household_counts c JOIN v ON v.village_id = c.village_id \
         WHERE c.village_id = ANY($1::uuid[]) \
         GROUP BY GROUPING SETS ((v.key), ())"
    );
    let rows: Vec<R> = bind_villages!(diesel::sql_query(sql), plan).load(conn)?;
    for r in rows {
        let slot = plan.registry_slot(r.at.g, r.at.key.as_deref());
        acc.apply(slot, |i| {
            i.households.total += r.total;
            i.households.with_smartphone += r.smartphone;
            i.households.with_internet += r.internet;
            i.poor_households += r.poor;
            i.information_access.poor_lacking += r.lacking;
        });
    }
    Ok(())
}

/// The unit asked for, or 404 when it is unknown or outside the area.
pub fn unit_in_area(
    conn: &mut PgConnection,
    scope: &Scope,
    id: uuid::Uuid,
) -> Result<UnitRow, ApiError> {
    let unit: UnitRow = units::table
        .find(id)
        .select(UnitRow::as_select())
        .first(conn)?;
    if visible(conn, scope, &unit)? {
        Ok(unit)
    } else {
        Err(ApiError::NotFound)
    }
}
