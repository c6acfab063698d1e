//! Import of the national unit lists, their lineage and later amendments.
//!
//! Every file is parsed and checked before anything is written, and all of
//! it is written in one transaction: a bad row is reported with its file and
//! line, and nothing is half-imported. Rows are compared with what is
//! stored, so importing the same lists twice changes nothing.
//!
//! A unit list is the whole country on the date in its file name
//! (`units-YYYY-MM-DD.csv`): its units are in force from that date until the
//! day before the next list's date.

use crate::audit::{self, Action, Ctx, Entity, Event};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::model::{NewUnit, path_segment};
use crate::db::schema::{unit_lineage, units};
use crate::text;

/// The lists shipped with Bản Số (see data/units/README.md for their sources).
pub const BUNDLED: [(&str, &str); 4] = [
    (
        "units-2025-03-01.csv",
        include_str!("../../data/units/units-2025-03-01.csv"),
    ),
    (
        "units-2025-07-01.csv",
        include_str!("../../data/units/units-2025-07-01.csv"),
    ),
    (
        "lineage-2025-07-01.csv",
        include_str!("../../data/units/lineage-2025-07-01.csv"),
    ),
    (
        "amendments-after-2025-07-01.csv",
        include_str!("../../data/units/amendments-after-2025-07-01.csv"),
    ),
];

const UNITS_HEADER: &[&str] = &[
    "level",
    "code",
    "name",
    "parent_code",
    "type",
    "short_name",
    "province_code",
];
const LINEAGE_HEADER: &[&str] = &[
    "level",
    "old_code",
    "old_name",
    "old_parent_code",
    "old_province_code",
    "new_code",
    "new_name",
    "new_province_code",
    "relation",
    "note",
    "fix",
];
const AMENDMENTS_HEADER: &[&str] = &[
    "level",
    "code",
    "field",
    "value_2025_07_01",
    "value_latest",
    "kind",
];

/// Amendment kinds that change a unit. Tone-mark style (Hòa/Hoà) and
/// capitalisation variants from a single unofficial source are not applied:
/// searches already ignore them, and the official spelling stays.
const APPLIED_AMENDMENTS: &[&str] = &["type_change", "spelling"];

/// Ids are derived from a unit's identity, so every installation gives the
/// same unit the same id.
const UNIT_NAMESPACE: Uuid = Uuid::from_u128(0x6261_6e73_6f00_4000_8000_756e_6974_7321);

pub fn unit_id(level: &str, code: &str, valid_from: NaiveDate) -> Uuid {
    Uuid::new_v5(
        &UNIT_NAMESPACE,
        format!("{level}:{code}:{valid_from}").as_bytes(),
    )
}

#[derive(Debug)]
pub struct ImportError {
    pub file: String,
    pub line: Option<u64>,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}, line {}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ImportError {}

impl From<diesel::result::Error> for ImportError {
    fn from(e: diesel::result::Error) -> Self {
        ImportError {
            file: "(database)".into(),
            line: None,
            message: e.to_string(),
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct FileReport {
    pub file: String,
    pub kind: &'static str,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub skipped: usize,
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {} inserted, {} updated, {} unchanged, {} skipped",
            self.file, self.kind, self.inserted, self.updated, self.unchanged, self.skipped
        )
    }
}

/// Where a list comes from.
pub enum Source {
    Path(PathBuf),
    Text { name: String, text: String },
}

impl Source {
    pub fn bundled() -> Vec<Source> {
        BUNDLED
            .iter()
            .map(|(name, text)| Source::Text {
                name: name.to_string(),
                text: text.to_string(),
            })
            .collect()
    }
}

struct UnitRecord {
    line: u64,
    level: String,
    code: String,
    name: String,
    parent_code: String,
    unit_type: String,
    short_name: String,
    province_code: String,
}

struct LineageRecord {
    line: u64,
    level: String,
    old_code: String,
    new_code: String,
    relation: String,
    note: Option<String>,
}

struct AmendmentRecord {
    line: u64,
    level: String,
    code: String,
    field: String,
    value: String,
    kind: String,
}

enum Parsed {
    Units(Vec<UnitRecord>),
    Lineage(Vec<LineageRecord>),
    Amendments(Vec<AmendmentRecord>),
}

struct ParsedFile {
    name: String,
    date: NaiveDate,
    content: Parsed,
}

/// The first `YYYY-MM-DD` in a file name.
fn date_in_name(name: &str) -> Option<NaiveDate> {
    let bytes = name.as_bytes();
    (0..bytes.len().saturating_sub(9)).find_map(|i| {
        let s = name.get(i..i + 10)?;
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
    })
}

fn parse(name: &str, text: &str) -> Result<ParsedFile, ImportError> {
    let err = |line: Option<u64>, message: String| ImportError {
        file: name.to_string(),
        line,
        message,
    };
    let date = date_in_name(name).ok_or_else(|| {
        err(
            None,
            "the file name must carry the date of the list, as in units-2025-07-01.csv".into(),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| err(Some(1), format!("unreadable header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let is = |expected: &[&str]| {
        header
            .iter()
            .map(String::as_str)
            .eq(expected.iter().copied())
    };
    let kind = if is(UNITS_HEADER) {
        0
    } else if is(LINEAGE_HEADER) {
        1
    } else if is(AMENDMENTS_HEADER) {
        2
    } else {
        return Err(err(
            Some(1),
            format!(
                "unknown header {:?}; expected the columns of a unit list ({}), a lineage table ({}) or amendments ({})",
                header.join(","),
                UNITS_HEADER.join(","),
                LINEAGE_HEADER.join(","),
                AMENDMENTS_HEADER.join(",")
            ),
        ));
    };

    let mut units = Vec::new();
    let mut lineage = Vec::new();
    let mut amendments = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line());
            err(line, format!("unreadable row: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| text::nfc_trim(record.get(i).unwrap_or(""));
        let code_ok =
            |c: &str| !c.is_empty() && c.len() <= 10 && c.bytes().all(|b| b.is_ascii_digit());
        match kind {
            0 => {
                let r = UnitRecord {
                    line,
                    level: field(0),
                    code: field(1),
                    name: field(2),
                    parent_code: field(3),
                    unit_type: field(4),
                    short_name: field(5),
                    province_code: field(6),
                };
                if !matches!(r.level.as_str(), "province" | "district" | "commune") {
                    return Err(err(
                        Some(line),
                        format!("level {:?} is not province, district or commune", r.level),
                    ));
                }
                if !code_ok(&r.code) {
                    return Err(err(
                        Some(line),
                        format!("code {:?} is not a statistical code of digits", r.code),
                    ));
                }
                if r.name.is_empty() || r.name.chars().count() > 200 {
                    return Err(err(Some(line), "name must be 1 to 200 characters".into()));
                }
                if r.unit_type.is_empty() {
                    return Err(err(Some(line), "type is empty".into()));
                }
                if (r.level == "province") != r.parent_code.is_empty() {
                    return Err(err(
                        Some(line),
                        "parent_code must be empty for a province and set for any other unit"
                            .into(),
                    ));
                }
                if !code_ok(&r.province_code) {
                    return Err(err(
                        Some(line),
                        format!("province_code {:?} is not a code", r.province_code),
                    ));
                }
                units.push(r);
            }
            1 => {
                let r = LineageRecord {
                    line,
                    level: field(0),
                    old_code: field(1),
                    new_code: field(5),
                    relation: field(8),
                    note: Some(field(9)).filter(|n| !n.is_empty()),
                };
                if !matches!(
                    r.relation.as_str(),
                    "whole" | "partial" | "unchanged" | "renamed" | "type_changed"
                ) {
                    return Err(err(
                        Some(line),
                        format!(
                            "relation {:?} is not one of whole, partial, unchanged, renamed, type_changed",
                            r.relation
                        ),
                    ));
                }
                if !matches!(
                    r.level.as_str(),
                    "province" | "district" | "commune" | "other"
                ) {
                    return Err(err(
                        Some(line),
                        format!(
                            "level {:?} is not province, district, commune or other",
                            r.level
                        ),
                    ));
                }
                if !code_ok(&r.new_code) || (r.level != "other" && !code_ok(&r.old_code)) {
                    return Err(err(
                        Some(line),
                        "old_code and new_code must be codes of digits".into(),
                    ));
                }
                lineage.push(r);
            }
            _ => {
                let r = AmendmentRecord {
                    line,
                    level: field(0),
                    code: field(1),
                    field: field(2),
                    value: field(4),
                    kind: field(5),
                };
                if !matches!(r.field.as_str(), "name" | "type") {
                    return Err(err(
                        Some(line),
                        format!("field {:?} is not name or type", r.field),
                    ));
                }
                if r.value.is_empty() {
                    return Err(err(Some(line), "value_latest is empty".into()));
                }
                amendments.push(r);
            }
        }
    }
    let content = match kind {
        0 => Parsed::Units(units),
        1 => Parsed::Lineage(lineage),
        _ => Parsed::Amendments(amendments),
    };
    Ok(ParsedFile {
        name: name.to_string(),
        date,
        content,
    })
}

fn read(source: Source) -> Result<(String, String), ImportError> {
    match source {
        Source::Text { name, text } => Ok((name, text)),
        Source::Path(path) => {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| ImportError {
                file: name.clone(),
                line: None,
                message: format!("cannot read the file as UTF-8 text: {e}"),
            })?;
            Ok((name, text))
        }
    }
}

fn short_name(name: &str, unit_type: &str, fallback: &str) -> String {
    name.strip_prefix(unit_type)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(fallback)
        .to_string()
}

fn search_text(name: &str, code: &str) -> String {
    format!("{} {}", text::fold(name), code)
}

/// Applies one amendment to a unit row; false when its kind is not applied.
fn amend(unit: &mut NewUnit, a: &AmendmentRecord) -> bool {
    if !APPLIED_AMENDMENTS.contains(&a.kind.as_str()) {
        return false;
    }
    match a.field.as_str() {
        "name" => unit.name = a.value.clone(),
        _ => unit.unit_type = a.value.clone(),
    }
    unit.short_name = short_name(&unit.name, &unit.unit_type, &unit.short_name);
    unit.search_text = search_text(&unit.name, &unit.code);
    true
}

const LEVELS: [&str; 3] = ["province", "district", "commune"];

/// The units an import added or changed, for the audit trail and the
/// change feed.
type Changed = Vec<(Action, NewUnit)>;

/// Imports the given lists in one transaction and reports per file. With
/// `ctx`, every unit added or changed gets its audit event (`create` or
/// `update`, placed at the unit), so the change feed announces it; only the
/// fixtures of the tests and benchmarks are loaded without.
pub fn import(
    conn: &mut PgConnection,
    sources: Vec<Source>,
    ctx: Option<&Ctx>,
) -> Result<Vec<FileReport>, ImportError> {
    let mut files = Vec::new();
    for source in sources {
        let (name, text) = read(source)?;
        files.push(parse(&name, &text)?);
    }
    // Lists first (oldest first), then lineage, then amendments.
    files.sort_by_key(|f| {
        let rank = match f.content {
            Parsed::Units(_) => 0,
            Parsed::Lineage(_) => 1,
            Parsed::Amendments(_) => 2,
        };
        (rank, f.date)
    });
    conn.transaction(|conn| {
        let stored_dates: Vec<NaiveDate> = units::table
            .filter(units::level.ne("village"))
            .select(units::valid_from)
            .distinct()
            .load(conn)?;
        let mut dates: BTreeSet<NaiveDate> = stored_dates.into_iter().collect();
        for f in &files {
            if let Parsed::Units(_) = f.content {
                dates.insert(f.date);
            }
        }
        let amendments: Vec<(&str, NaiveDate, &AmendmentRecord)> = files
            .iter()
            .filter_map(|f| match &f.content {
                Parsed::Amendments(rows) => {
                    Some(rows.iter().map(move |r| (f.name.as_str(), f.date, r)))
                }
                _ => None,
            })
            .flatten()
            .collect();
        let list_dates: BTreeSet<NaiveDate> = files
            .iter()
            .filter(|f| matches!(f.content, Parsed::Units(_)))
            .map(|f| f.date)
            .collect();

        let mut reports = Vec::new();
        let mut changed: Changed = Vec::new();
        for f in &files {
            let report = match &f.content {
                Parsed::Units(rows) => {
                    let next = dates.range(f.date..).nth(1).copied();
                    let valid_to = next.and_then(|d| d.pred_opt());
                    let patch: Vec<&AmendmentRecord> = amendments
                        .iter()
                        .filter(|(_, d, _)| *d == f.date)
                        .map(|(_, _, a)| *a)
                        .collect();
                    import_units(conn, &f.name, f.date, valid_to, rows, &patch, &mut changed)?
                }
                Parsed::Lineage(rows) => import_lineage(conn, &f.name, f.date, rows)?,
                Parsed::Amendments(rows) => {
                    let mut report = FileReport {
                        file: f.name.clone(),
                        kind: "amendments",
                        ..Default::default()
                    };
                    if list_dates.contains(&f.date) {
                        // Applied while the list itself was written.
                        let applied = rows
                            .iter()
                            .filter(|r| APPLIED_AMENDMENTS.contains(&r.kind.as_str()))
                            .count();
                        report.unchanged = applied;
                        report.skipped = rows.len() - applied;
                    } else {
                        apply_amendments_to_stored(
                            conn,
                            &f.name,
                            f.date,
                            rows,
                            &mut report,
                            &mut changed,
                        )?;
                    }
                    report
                }
            };
            reports.push(report);
        }
        close_periods(conn, &dates, &list_dates, &mut changed)?;
        // Villages of communes that went whole into a new one follow it.
        let moved = super::repo::rehome_villages(conn).map_err(|e| ImportError {
            file: "(villages)".into(),
            line: None,
            message: format!("moving villages to their new communes: {e:?}"),
        })?;
        if moved > 0 {
            tracing::info!(moved, "villages moved to their new communes");
        }
        if let Some(ctx) = ctx {
            record_changes(conn, ctx, &changed)?;
        }
        Ok(reports)
    })
}

/// One event per unit added or changed, written in the import's
/// transaction.
fn record_changes(
    conn: &mut PgConnection,
    ctx: &Ctx,
    changed: &Changed,
) -> Result<(), ImportError> {
    let events: Vec<(&Ctx, Event)> = changed
        .iter()
        .map(|(action, u)| {
            let e = Event::new(*action, Entity::Unit, u.id)
                .at(u.id, &u.path)
                .after(serde_json::json!({
                    "level": u.level,
                    "code": u.code,
                    "name": u.name,
                    "parent_id": u.parent_id,
                    "valid_from": u.valid_from,
                    "valid_to": u.valid_to,
                }));
            (ctx, e)
        })
        .collect();
    for chunk in events.chunks(1000) {
        audit::record_many(conn, chunk).map_err(|e| ImportError {
            file: "audit trail".into(),
            line: None,
            message: format!("the import's events could not be written: {e}"),
        })?;
    }
    Ok(())
}

fn import_units(
    conn: &mut PgConnection,
    file: &str,
    date: NaiveDate,
    valid_to: Option<NaiveDate>,
    rows: &[UnitRecord],
    patch: &[&AmendmentRecord],
    changed: &mut Changed,
) -> Result<FileReport, ImportError> {
    let err = |line: u64, message: String| ImportError {
        file: file.to_string(),
        line: Some(line),
        message,
    };
    let existing: HashMap<(String, String), NewUnit> = units::table
        .filter(units::valid_from.eq(date))
        .filter(units::level.ne("village"))
        .select(NewUnit::as_select())
        .load(conn)?
        .into_iter()
        .map(|u| ((u.level.clone(), u.code.clone()), u))
        .collect();

    let mut desired: HashMap<(String, String), NewUnit> = HashMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for level in LEVELS {
        for r in rows.iter().filter(|r| r.level == level) {
            let key = (r.level.clone(), r.code.clone());
            if desired.contains_key(&key) {
                return Err(err(r.line, format!("{} {} appears twice", r.level, r.code)));
            }
            let id = unit_id(&r.level, &r.code, date);
            let (parent_id, parent_path) = if r.level == "province" {
                (None, String::new())
            } else {
                let parent_levels: &[&str] = if r.level == "district" {
                    &["province"]
                } else {
                    &["district", "province"]
                };
                let parent = parent_levels
                    .iter()
                    .find_map(|l| desired.get(&(l.to_string(), r.parent_code.clone())))
                    .ok_or_else(|| {
                        err(
                            r.line,
                            format!("parent_code {} is not a unit of this list", r.parent_code),
                        )
                    })?;
                (Some(parent.id), parent.path.clone())
            };
            let mut unit = NewUnit {
                id,
                level: r.level.clone(),
                code: r.code.clone(),
                name: r.name.clone(),
                short_name: if r.short_name.is_empty() {
                    r.name.clone()
                } else {
                    r.short_name.clone()
                },
                unit_type: r.unit_type.clone(),
                parent_id,
                province_code: r.province_code.clone(),
                valid_from: date,
                valid_to,
                path: format!("{parent_path}{}", path_segment(id)),
                search_text: search_text(&r.name, &r.code),
            };
            for a in patch
                .iter()
                .filter(|a| a.level == r.level && a.code == r.code)
            {
                amend(&mut unit, a);
            }
            order.push(key.clone());
            desired.insert(key, unit);
        }
    }
    for a in patch {
        if !desired.contains_key(&(a.level.clone(), a.code.clone())) {
            return Err(ImportError {
                file: "amendments".into(),
                line: Some(a.line),
                message: format!("{} {} is not in the list of {date}", a.level, a.code),
            });
        }
    }

    let mut report = FileReport {
        file: file.to_string(),
        kind: "units",
        ..Default::default()
    };
    let mut to_insert = Vec::new();
    for key in &order {
        let unit = &desired[key];
        match existing.get(key) {
            None => to_insert.push(unit),
            Some(old) if old == unit => report.unchanged += 1,
            Some(_) => {
                diesel::update(units::table.find(unit.id))
                    .set((unit, units::updated_at.eq(diesel::dsl::now)))
                    .execute(conn)?;
                report.updated += 1;
                changed.push((Action::Update, unit.clone()));
            }
        }
    }
    for chunk in to_insert.chunks(1000) {
        report.inserted += diesel::insert_into(units::table)
            .values(chunk.iter().copied().cloned().collect::<Vec<_>>())
            .execute(conn)?;
    }
    changed.extend(to_insert.into_iter().map(|u| (Action::Create, u.clone())));
    Ok(report)
}

fn import_lineage(
    conn: &mut PgConnection,
    file: &str,
    date: NaiveDate,
    rows: &[LineageRecord],
) -> Result<FileReport, ImportError> {
    let before = date.pred_opt().unwrap_or(date);
    let ids_at = |conn: &mut PgConnection,
                  at: NaiveDate|
     -> Result<HashMap<(String, String), Uuid>, ImportError> {
        Ok(units::table
            .filter(units::valid_from.le(at))
            .filter(units::valid_to.is_null().or(units::valid_to.ge(at)))
            .filter(units::level.ne("village"))
            .select((units::level, units::code, units::id))
            .load::<(String, String, Uuid)>(conn)?
            .into_iter()
            .map(|(l, c, id)| ((l, c), id))
            .collect())
    };
    let old_units = ids_at(conn, before)?;
    let new_units = ids_at(conn, date)?;
    let stored: HashMap<(Uuid, Uuid), (String, Option<String>)> = unit_lineage::table
        .select((
            unit_lineage::old_unit_id,
            unit_lineage::new_unit_id,
            unit_lineage::relation,
            unit_lineage::note,
        ))
        .load::<(Uuid, Uuid, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(o, n, r, note)| ((o, n), (r, note)))
        .collect();

    let mut report = FileReport {
        file: file.to_string(),
        kind: "lineage",
        ..Default::default()
    };
    let mut seen = std::collections::HashSet::new();
    let mut to_insert = Vec::new();
    for r in rows {
        if r.level == "other" {
            // An area that was no unit of its own (a coastal strip run by a
            // district): nothing to link.
            report.skipped += 1;
            continue;
        }
        let err = |message: String| ImportError {
            file: file.to_string(),
            line: Some(r.line),
            message,
        };
        let old = *old_units
            .get(&(r.level.clone(), r.old_code.clone()))
            .ok_or_else(|| {
                err(format!(
                    "old {} {} is not a unit in force on {before}",
                    r.level, r.old_code
                ))
            })?;
        let new_level = if r.level == "province" {
            "province"
        } else {
            "commune"
        };
        let new = *new_units
            .get(&(new_level.to_string(), r.new_code.clone()))
            .ok_or_else(|| {
                err(format!(
                    "new {new_level} {} is not a unit in force on {date}",
                    r.new_code
                ))
            })?;
        if !seen.insert((old, new)) {
            return Err(err(format!(
                "{} {} -> {} appears twice",
                r.level, r.old_code, r.new_code
            )));
        }
        match stored.get(&(old, new)) {
            None => to_insert.push((
                unit_lineage::old_unit_id.eq(old),
                unit_lineage::new_unit_id.eq(new),
                unit_lineage::relation.eq(r.relation.clone()),
                unit_lineage::note.eq(r.note.clone()),
            )),
            Some((relation, note)) if *relation == r.relation && *note == r.note => {
                report.unchanged += 1
            }
            Some(_) => {
                diesel::update(unit_lineage::table.find((old, new)))
                    .set((
                        unit_lineage::relation.eq(&r.relation),
                        unit_lineage::note.eq(&r.note),
                    ))
                    .execute(conn)?;
                report.updated += 1;
            }
        }
    }
    for chunk in to_insert.chunks(2000) {
        report.inserted += diesel::insert_into(unit_lineage::table)
            .values(chunk)
            .execute(conn)?;
    }
    Ok(report)
}

fn apply_amendments_to_stored(
    conn: &mut PgConnection,
    file: &str,
    date: NaiveDate,
    rows: &[AmendmentRecord],
    report: &mut FileReport,
    changed: &mut Changed,
) -> Result<(), ImportError> {
    let mut touched: HashMap<(String, String), (NewUnit, NewUnit)> = HashMap::new();
    for a in rows {
        if !APPLIED_AMENDMENTS.contains(&a.kind.as_str()) {
            report.skipped += 1;
            continue;
        }
        let key = (a.level.clone(), a.code.clone());
        if !touched.contains_key(&key) {
            let unit: NewUnit = units::table
                .filter(units::level.eq(&a.level))
                .filter(units::code.eq(&a.code))
                .filter(units::valid_from.eq(date))
                .select(NewUnit::as_select())
                .first(conn)
                .optional()?
                .ok_or_else(|| ImportError {
                    file: file.to_string(),
                    line: Some(a.line),
                    message: format!(
                        "{} {} is not in the list of {date}; import that list first",
                        a.level, a.code
                    ),
                })?;
            touched.insert(key.clone(), (unit.clone(), unit));
        }
        if let Some((_, unit)) = touched.get_mut(&key) {
            amend(unit, a);
        }
    }
    for (before, after) in touched.values() {
        if before == after {
            report.unchanged += 1;
        } else {
            diesel::update(units::table.find(after.id))
                .set((after, units::updated_at.eq(diesel::dsl::now)))
                .execute(conn)?;
            report.updated += 1;
            changed.push((Action::Update, after.clone()));
        }
    }
    Ok(())
}

/// Stored lists that were not part of this import still get their end date
/// from the list that follows them.
fn close_periods(
    conn: &mut PgConnection,
    dates: &BTreeSet<NaiveDate>,
    imported: &BTreeSet<NaiveDate>,
    changed: &mut Changed,
) -> Result<(), ImportError> {
    let all: Vec<NaiveDate> = dates.iter().copied().collect();
    for (i, date) in all.iter().enumerate() {
        if imported.contains(date) {
            continue;
        }
        let valid_to = all.get(i + 1).and_then(|d| d.pred_opt());
        let closed: Vec<NewUnit> = diesel::update(
            units::table
                .filter(units::valid_from.eq(date))
                .filter(units::level.ne("village"))
                .filter(units::valid_to.is_distinct_from(valid_to)),
        )
        .set((
            units::valid_to.eq(valid_to),
            units::updated_at.eq(diesel::dsl::now),
        ))
        .returning(NewUnit::as_returning())
        .get_results(conn)?;
        changed.extend(closed.into_iter().map(|u| (Action::Update, u)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_come_from_file_names() {
        assert_eq!(
            date_in_name("units-2025-07-01.csv"),
            NaiveDate::from_ymd_opt(2025, 7, 1)
        );
        assert_eq!(
            date_in_name("/x/amendments-after-2025-07-01.csv"),
            NaiveDate::from_ymd_opt(2025, 7, 1)
        );
        assert_eq!(date_in_name("units.csv"), None);
    }

    #[test]
    fn bundled_lists_parse() {
        for (name, text) in BUNDLED {
            parse(name, text).unwrap();
        }
    }

    #[test]
    fn bad_rows_name_their_line() {
        let text = "level,code,name,parent_code,type,short_name,province_code\n\
                    province,04,Tỉnh Cao Bằng,,Tỉnh,Cao Bằng,04\n\
                    county,05,Somewhere,,Tỉnh,Somewhere,05\n";
        let e = parse("units-2025-07-01.csv", text).err().unwrap();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("county"), "{e}");

        let e = parse("units-2025-07-01.csv", "a,b\n1,2\n").err().unwrap();
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn ids_are_stable() {
        let d = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap();
        assert_eq!(unit_id("province", "04", d), unit_id("province", "04", d));
        assert_ne!(unit_id("province", "04", d), unit_id("province", "08", d));
    }
}
