//! `POST /households/import`: the household lists communes keep, as CSV or
//! as an XLSX workbook (its first sheet).
//!
//! The whole file is checked first; every bad row is reported with its line
//! and field, and either every row lands or none does.

use std::collections::{HashMap, HashSet};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::dto::HouseholdInput;
use super::handlers::{WRITERS, check_fields};
use super::model::HouseholdChanges;
use super::repo;
use crate::audit::{self, Action, Ctx, Entity, Event};
use crate::auth::{AuthUser, Scope};
use crate::db;
use crate::db::schema::{households, units};
use crate::domain::Check;
use crate::error::{ApiError, FieldError};
use crate::state::AppState;
use crate::units::model::UnitRow;

pub const MAX_ROWS: usize = 20_000;
/// At most this many errors are listed; the detail says how many there were.
const MAX_REPORTED: usize = 1_000;

pub const COLUMNS: &[&str] = &[
    "village_code",
    "code",
    "head_name",
    "size",
    "ethnicity",
    "phone",
    "poverty_status",
    "poverty_standard",
    "survey_year",
    "deprivations",
    "has_smartphone",
    "has_internet",
];
const REQUIRED: &[&str] = &["village_code", "head_name", "size", "poverty_status"];

struct Row {
    line: u64,
    village_code: String,
    input: HouseholdInput,
}

/// The spreadsheet formats the import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Xlsx,
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn format_of(req: &HttpRequest) -> Option<Format> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())?
        .split(';')
        .next()?
        .trim()
        .to_ascii_lowercase();
    match ctype.as_str() {
        "text/csv" | "application/csv" => Some(Format::Csv),
        XLSX => Some(Format::Xlsx),
        _ => None,
    }
}

/// A sheet as text: its header and its rows, each with its line number
/// (1 is the header, as a spreadsheet program shows it).
struct Table {
    header: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
}

fn read_csv(body: &[u8], errors: &mut Vec<FieldError>) -> Option<Table> {
    let text = match std::str::from_utf8(body) {
        Ok(t) => t.strip_prefix('\u{feff}').unwrap_or(t),
        Err(e) => {
            errors.push(FieldError::new(
                "body",
                "not_utf8",
                format!("the file is not UTF-8 text: {e}"),
            ));
            return None;
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => {
            errors.push(FieldError::new("header", "unreadable", e.to_string()).at_line(1));
            return None;
        }
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => rows.push((
                r.position().map_or(0, |p| p.line()),
                r.iter().map(str::to_string).collect(),
            )),
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(FieldError::new("row", "unreadable", e.to_string()).at_line(line));
            }
        }
    }
    Some(Table { header, rows })
}

/// The first sheet of a workbook. Numbers are written without a decimal
/// part when they have none (a size of 4 reads "4", not "4.0").
fn read_xlsx(body: &[u8], errors: &mut Vec<FieldError>) -> Option<Table> {
    use calamine::{Data, Reader, Xlsx};
    let mut book = match Xlsx::new(std::io::Cursor::new(body)) {
        Ok(b) => b,
        Err(e) => {
            errors.push(FieldError::new(
                "body",
                "not_xlsx",
                format!("not a readable XLSX workbook: {e}"),
            ));
            return None;
        }
    };
    let sheet = match book.worksheet_range_at(0) {
        Some(Ok(range)) => range,
        Some(Err(e)) => {
            errors.push(FieldError::new(
                "body",
                "not_xlsx",
                format!("the first sheet cannot be read: {e}"),
            ));
            return None;
        }
        None => {
            errors.push(FieldError::new(
                "body",
                "empty",
                "the workbook has no sheet",
            ));
            return None;
        }
    };
    let text = |cell: &Data| match cell {
        Data::Empty => String::new(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string(),
    };
    // Line numbers as a spreadsheet program shows them.
    let first_line = sheet.start().map_or(1, |(r, _)| u64::from(r) + 1);
    let mut lines = sheet.rows().enumerate();
    let Some((_, header)) = lines.next() else {
        errors.push(FieldError::new("header", "missing", "the first sheet is empty").at_line(1));
        return None;
    };
    let header = header.iter().map(text).collect();
    let rows = lines
        .map(|(i, cells)| {
            (
                first_line + i as u64,
                cells.iter().map(text).collect::<Vec<_>>(),
            )
        })
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .collect();
    Some(Table { header, rows })
}

/// Communes keep their lists with Vietnamese headings; each known heading
/// (compared without accents or case) stands for a column. English column
/// names are taken as they are.
const HEADINGS: &[(&str, &str)] = &[
    ("ma thon", "village_code"),
    ("ma thon/ban", "village_code"),
    ("ma ho", "code"),
    ("ma ho ngheo", "code"),
    ("ho ten chu ho", "head_name"),
    ("chu ho", "head_name"),
    ("so nhan khau", "size"),
    ("so khau", "size"),
    ("dan toc", "ethnicity"),
    ("so dien thoai", "phone"),
    ("dien thoai", "phone"),
    ("phan loai ho", "poverty_status"),
    ("chuan ngheo", "poverty_standard"),
    ("nam ra soat", "survey_year"),
    ("thieu hut", "deprivations"),
    ("chi so thieu hut", "deprivations"),
    ("co dien thoai thong minh", "has_smartphone"),
    ("dien thoai thong minh", "has_smartphone"),
    ("co internet", "has_internet"),
    ("internet", "has_internet"),
];

fn column_name(heading: &str) -> String {
    let folded = crate::text::fold(heading);
    HEADINGS
        .iter()
        .find(|(vi, _)| *vi == folded)
        .map_or_else(|| heading.trim().to_lowercase(), |(_, col)| col.to_string())
}

/// Values written in Vietnamese as the survey forms write them.
const VALUES: &[(&str, &str)] = &[
    ("ho ngheo", "poor"),
    ("ngheo", "poor"),
    ("ho can ngheo", "near_poor"),
    ("can ngheo", "near_poor"),
    ("khong ngheo", "not_poor"),
    ("co", "yes"),
    ("khong", "no"),
    ("khong ro", "unknown"),
    ("chua ro", "unknown"),
];

/// A code column's value: a known Vietnamese wording, or the value itself
/// in lower case (checked with the API's rules afterwards).
fn code_value(raw: &str) -> String {
    let folded = crate::text::fold(raw);
    VALUES
        .iter()
        .find(|(vi, _)| *vi == folded)
        .map_or_else(|| raw.trim().to_lowercase(), |(_, code)| code.to_string())
}

/// Turns the table into rows, recording what cannot even be read.
fn parse_table(table: Table, errors: &mut Vec<FieldError>) -> Vec<Row> {
    let header: Vec<String> = table.header.iter().map(|c| column_name(c)).collect();
    for col in &header {
        if !COLUMNS.contains(&col.as_str()) {
            errors.push(
                FieldError::new(
                    col.clone(),
                    "unknown_column",
                    format!("known columns: {}", COLUMNS.join(", ")),
                )
                .at_line(1),
            );
        }
    }
    for col in REQUIRED {
        if !header.iter().any(|h| h == col) {
            errors.push(
                FieldError::new(*col, "missing_column", "this column is required").at_line(1),
            );
        }
    }
    if !errors.is_empty() {
        return Vec::new();
    }
    let index: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let mut rows = Vec::new();
    for (line, record) in table.rows {
        let get = |col: &str| {
            index
                .get(col)
                .and_then(|&i| record.get(i))
                .map_or("", String::as_str)
                .trim()
                .to_string()
        };
        let opt = |col: &str| Some(get(col)).filter(|v| !v.is_empty());
        let mut bad = |field: &str, message: String| {
            errors.push(FieldError::new(field, "invalid", message).at_line(line));
        };
        // Numbers are read here; everything else is checked with the API's
        // own rules in `check_fields`. An unreadable size is reported once:
        // the row goes on with a valid placeholder.
        let size = match get("size").parse::<i32>() {
            Ok(n) => n,
            Err(_) => {
                bad("size", "must be a whole number".into());
                1
            }
        };
        let survey_year = match opt("survey_year").map(|y| y.parse::<i32>()) {
            None => None,
            Some(Ok(y)) => Some(y),
            Some(Err(_)) => {
                bad("survey_year", "must be a year".into());
                None
            }
        };
        rows.push(Row {
            line,
            village_code: get("village_code"),
            input: HouseholdInput {
                village_id: Uuid::nil(),
                code: opt("code"),
                head_name: get("head_name"),
                size,
                ethnicity: opt("ethnicity"),
                phone: opt("phone"),
                poverty_status: code_value(&get("poverty_status")),
                poverty_standard: opt("poverty_standard"),
                survey_year,
                deprivations: get("deprivations")
                    .split([';', ',', ' '])
                    .filter(|d| !d.is_empty())
                    .map(str::to_string)
                    .collect(),
                has_smartphone: opt("has_smartphone").map(|v| code_value(&v)),
                has_internet: opt("has_internet").map(|v| code_value(&v)),
                confirm_new: false,
            },
        });
    }
    rows
}

/// Checks every row against the database and the rest of the file.
fn check_rows(
    conn: &mut PgConnection,
    scope: &Scope,
    rows: Vec<Row>,
    errors: &mut Vec<FieldError>,
) -> Result<Vec<(Uuid, HouseholdChanges)>, ApiError> {
    let codes: HashSet<&str> = rows.iter().map(|r| r.village_code.as_str()).collect();
    let villages: HashMap<String, UnitRow> = units::table
        .filter(units::level.eq("village"))
        .filter(units::valid_to.is_null())
        .filter(units::code.eq_any(codes.into_iter().collect::<Vec<_>>()))
        .select(UnitRow::as_select())
        .load(conn)?
        .into_iter()
        .filter(|u| scope.contains_path(&u.path))
        .map(|u| (u.code.clone(), u))
        .collect();

    let mut out = Vec::with_capacity(rows.len());
    let mut seen_codes: HashMap<(Uuid, String), u64> = HashMap::new();
    for row in rows {
        let Some(village) = villages.get(&row.village_code) else {
            errors.push(
                FieldError::new(
                    "village_code",
                    "unknown_village",
                    format!("no village {:?} in your area", row.village_code),
                )
                .at_line(row.line),
            );
            continue;
        };
        let mut check = Check::new();
        let mut input = row.input;
        input.village_id = village.id;
        let changes = check_fields(&mut check, "", &input);
        errors.extend(check.into_errors().into_iter().map(|e| e.at_line(row.line)));
        let Some(mut changes) = changes else { continue };
        changes.commune_id = village
            .parent_id
            .ok_or_else(|| ApiError::internal("a village without a commune"))?;
        changes.area_path = village.path.clone();
        if let Some(code) = &changes.code
            && let first = *seen_codes
                .entry((changes.commune_id, code.clone()))
                .or_insert(row.line)
            && first != row.line
        {
            errors.push(
                FieldError::new(
                    "code",
                    "duplicate",
                    format!("code {code} is also on line {first}"),
                )
                .at_line(row.line),
            );
        }
        out.push((row.line, changes));
    }

    // Codes already taken in the database.
    let pairs: Vec<(Uuid, String)> = seen_codes.keys().cloned().collect();
    if !pairs.is_empty() {
        let communes: Vec<Uuid> = pairs.iter().map(|(c, _)| *c).collect();
        let codes: Vec<String> = pairs.iter().map(|(_, c)| c.clone()).collect();
        let taken: HashSet<(Uuid, String)> = households::table
            .filter(households::archived_at.is_null())
            .filter(households::commune_id.eq_any(communes))
            .filter(households::code.eq_any(codes))
            .select((households::commune_id, households::code))
            .load::<(Uuid, Option<String>)>(conn)?
            .into_iter()
            .filter_map(|(c, code)| Some((c, code?)))
            .collect();
        for (line, changes) in &out {
            if let Some(code) = &changes.code
                && taken.contains(&(changes.commune_id, code.clone()))
            {
                errors.push(
                    FieldError::new(
                        "code",
                        "duplicate",
                        format!(
                            "a household with code {code} is already registered in this commune"
                        ),
                    )
                    .at_line(*line),
                );
            }
        }
    }
    Ok(out.into_iter().map(|(_, c)| (Uuid::now_v7(), c)).collect())
}

/// What an import stored.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ImportResult {
    /// The households stored: every row of the file.
    #[schema(minimum = 1, maximum = 20_000)]
    inserted: usize,
}

fn report(mut errors: Vec<FieldError>) -> ApiError {
    errors.sort_by_key(|e| e.line.unwrap_or(0));
    let total = errors.len();
    errors.truncate(MAX_REPORTED);
    if total > MAX_REPORTED {
        tracing::info!(total, "import refused; errors listed up to the cap");
    }
    ApiError::Validation(errors)
}

/// Import a household list
///
/// Imports the household list of a commune as a CSV file (UTF-8, a
/// byte-order mark allowed) or as the first sheet of an XLSX workbook. The
/// first line names the columns: `village_code`, `code`, `head_name`,
/// `size`, `ethnicity`, `phone`, `poverty_status`, `poverty_standard`,
/// `survey_year`, `deprivations` (separated by `;`, `,` or spaces),
/// `has_smartphone`, `has_internet`, or their Vietnamese headings (such as
/// `Mã thôn`, `Họ tên chủ hộ`, `Số nhân khẩu`, `Phân loại hộ`, compared
/// without accents or case); `village_code`, `head_name`, `size` and
/// `poverty_status` are required, and another column is a 422. Values
/// follow the rules of a registration, the codes also in the survey forms'
/// Vietnamese wording (`hộ nghèo`, `có`, `không rõ`, ...); each village
/// code names a village in force inside the caller's area, and a household
/// code is used once per commune, in the file and among the live
/// households. Every row is stored or none: the errors come in one 422,
/// each with its `line` (as a spreadsheet program numbers it; 1 is the
/// header), up to 1,000 of them. At most 16 MiB (413) and 20,000 rows
/// (422); a file without rows is a 422. Each household stored is one audit
/// event `import`. `admin`, `officer` and `team_leader`, inside their
/// area.
#[utoipa::path(
    post,
    path = "/api/v1/households/import",
    tag = "households",
    operation_id = "importHouseholds",
    request_body(
        description = "The household list: CSV with `Content-Type: text/csv` (or `application/csv`), or an XLSX workbook; another content type is a 415.",
        content(
            (String = "text/csv"),
            (String = "application/csv"),
            (inline(crate::openapi::households::Workbook) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ),
    ),
    responses(
        (status = 201, description = "Every row was stored.", body = ImportResult,
            headers(("Cache-Control" = String, description = "`no-store`."))),
    )
)]
pub async fn handle(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(WRITERS)?;
    let Some(format) = format_of(&req) else {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send the household list as text/csv or {XLSX}"
        )));
    };
    let mut errors = Vec::new();
    let table = match format {
        Format::Csv => read_csv(&body, &mut errors),
        Format::Xlsx => read_xlsx(&body, &mut errors),
    };
    let rows = table.map_or_else(Vec::new, |t| parse_table(t, &mut errors));
    if rows.len() > MAX_ROWS {
        return Err(ApiError::validation(
            "body",
            "too_many_rows",
            format!("at most {MAX_ROWS} rows per import"),
        ));
    }
    if rows.is_empty() && errors.is_empty() {
        return Err(ApiError::validation(
            "body",
            "empty",
            "the file has no rows",
        ));
    }
    let ctx = Ctx::user(&user, &req);
    let inserted = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = Scope::of(conn, &user)?;
            let checked = check_rows(conn, &scope, rows, &mut errors)?;
            if !errors.is_empty() {
                return Err(report(errors));
            }
            let inserted = repo::insert_many(conn, &checked)?;
            // One event per household, placed at its village, so that the
            // change feed of every area shows the households imported into
            // it (the request id ties them together as one import).
            let events: Vec<(&Ctx, Event)> = inserted
                .iter()
                .map(|row| {
                    let e = Event::new(Action::Import, Entity::Household, row.id)
                        .at(row.village_id, &row.area_path)
                        .after(super::dto::audit_view(row));
                    (&ctx, e)
                })
                .collect();
            // Each event is some fifteen parameters: well under PostgreSQL's
            // 65,535 per statement.
            for chunk in events.chunks(1000) {
                audit::record_many(conn, chunk)?;
            }
            Ok(inserted.len())
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(json!({ "inserted": inserted })))
}
