//! The summary as a file: one line for the totals, one per row (a unit one
//! level down, or a month), and one for the villages waiting for their
//! commune when there are any; one column per figure, the maps (members by
//! role, visits by kind and outcome…) spread over one column per code that
//! occurs, named with the glossary's or the catalogue's words.

use std::collections::{BTreeSet, HashMap};

use actix_web::HttpResponse;
use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

use super::stream::{About, start};
use super::tables::{Names, label};
use super::{Cell, Wanted};
use crate::audit::{Ctx, Entity};
use crate::auth::AuthUser;
use crate::db::PgPool;
use crate::error::ApiError;
use crate::reports::dto::{Indicators, Summary, SummaryParams};

/// The codes each map of the figures uses, over every line of a summary.
#[derive(Default)]
struct Keys {
    roles: BTreeSet<String>,
    genders: BTreeSet<String>,
    affiliations: BTreeSet<String>,
    kinds: BTreeSet<String>,
    reached_kinds: BTreeSet<String>,
}

impl Keys {
    fn add(&mut self, f: &Indicators) {
        self.roles.extend(f.members.by_role.keys().cloned());
        self.genders.extend(f.members.by_gender.keys().cloned());
        self.affiliations
            .extend(f.members.by_affiliation.keys().cloned());
        self.kinds.extend(f.visits_by_kind.keys().cloned());
        self.reached_kinds
            .extend(f.information_access.reached_by_kind.keys().cloned());
    }
}

const OUTCOMES: [&str; 3] = ["done", "partly", "not_done"];

fn headers(keys: &Keys, names: &Names) -> Vec<String> {
    let l = names.lang;
    let p = |vi: &str, en: &str| l.pick(vi, en).to_string();
    let sub = |base: (&str, &str), part: String| format!("{}: {part}", l.pick(base.0, base.1));
    let mut h = vec![
        p("Đơn vị", "Unit"),
        p("Mã đơn vị", "Unit code"),
        p("Cấp", "Level"),
        p("Tháng", "Month"),
        p("Từ ngày", "From"),
        p("Đến ngày", "To"),
        p("Tổ đang hoạt động", "Active teams"),
        p("Thành viên", "Members"),
    ];
    for r in &keys.roles {
        h.push(sub(("Thành viên, vai trò", "Members, role"), label(l, r)));
    }
    for g in &keys.genders {
        h.push(sub(
            ("Thành viên, giới tính", "Members, gender"),
            label(l, g),
        ));
    }
    for a in &keys.affiliations {
        h.push(sub(
            ("Thành viên, thành phần", "Members, affiliation"),
            label(l, a),
        ));
    }
    h.extend([
        p("Buổi tập huấn", "Training sessions"),
        p("Người tham dự", "Attendees"),
        p("Người tham dự: Nữ", "Attendees: women"),
        p(
            "Người tham dự: Dân tộc thiểu số",
            "Attendees: ethnic minority",
        ),
        p("Người tham dự: Hộ nghèo, cận nghèo", "Attendees: poor"),
        p("Lượt hỗ trợ", "Visits"),
    ]);
    for k in &keys.kinds {
        for o in OUTCOMES {
            h.push(format!(
                "{}: {}, {}",
                l.pick("Lượt hỗ trợ", "Visits"),
                names.entry("assistance_kind", k),
                label(l, o)
            ));
        }
    }
    h.extend([
        p("Hộ được hỗ trợ", "Households assisted"),
        p(
            "Hộ nghèo, cận nghèo được hỗ trợ",
            "Poor households assisted",
        ),
        p("Hộ nghèo, cận nghèo", "Poor households"),
        p(
            "Tỷ lệ hộ nghèo, cận nghèo được hỗ trợ",
            "Poor reached share",
        ),
        p("Hộ gia đình", "Households"),
        p(
            "Hộ gia đình: có điện thoại thông minh",
            "Households: with a smartphone",
        ),
        p("Hộ gia đình: có Internet", "Households: with internet"),
        p(
            "Hộ nghèo, cận nghèo thiếu tiếp cận thông tin",
            "Poor households lacking information access",
        ),
        p(
            "Hộ nghèo, cận nghèo thiếu tiếp cận thông tin được hỗ trợ",
            "Poor households lacking information access, reached",
        ),
    ]);
    for k in &keys.reached_kinds {
        h.push(format!(
            "{}: {}",
            l.pick(
                "Hộ nghèo, cận nghèo thiếu tiếp cận thông tin được hỗ trợ",
                "Poor households lacking information access, reached"
            ),
            names.entry("assistance_kind", k)
        ));
    }
    h
}

fn figures(f: &Indicators, keys: &Keys, out: &mut Vec<Cell>) {
    let get = |m: &std::collections::BTreeMap<String, i64>, k: &str| {
        Cell::Int(m.get(k).copied().unwrap_or(0))
    };
    out.push(Cell::Int(f.teams_active));
    out.push(Cell::Int(f.members.total));
    out.extend(keys.roles.iter().map(|k| get(&f.members.by_role, k)));
    out.extend(keys.genders.iter().map(|k| get(&f.members.by_gender, k)));
    out.extend(
        keys.affiliations
            .iter()
            .map(|k| get(&f.members.by_affiliation, k)),
    );
    out.extend([
        Cell::Int(f.trainings),
        Cell::Int(f.attendees.total),
        Cell::Int(f.attendees.women),
        Cell::Int(f.attendees.ethnic_minority),
        Cell::Int(f.attendees.poor),
        Cell::Int(f.visits),
    ]);
    for k in &keys.kinds {
        let o = f.visits_by_kind.get(k).cloned().unwrap_or_default();
        out.extend([
            Cell::Int(o.done),
            Cell::Int(o.partly),
            Cell::Int(o.not_done),
        ]);
    }
    out.extend([
        Cell::Int(f.households_assisted),
        Cell::Int(f.poor_households_assisted),
        Cell::Int(f.poor_households),
        f.poor_reached_share.map_or(Cell::Empty, Cell::Num),
        Cell::Int(f.households.total),
        Cell::Int(f.households.with_smartphone),
        Cell::Int(f.households.with_internet),
        Cell::Int(f.information_access.poor_lacking),
        Cell::Int(f.information_access.reached),
    ]);
    out.extend(
        keys.reached_kinds
            .iter()
            .map(|k| get(&f.information_access.reached_by_kind, k)),
    );
}

/// The first and last day of month `ym` (`YYYY-MM`) inside `from..=to`.
fn month_bounds(ym: &str, from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::parse_from_str(&format!("{ym}-01"), "%Y-%m-%d").unwrap_or(from);
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    let last = next.and_then(|n| n.pred_opt()).unwrap_or(to);
    (first.max(from), last.min(to))
}

fn write(s: &Summary, names: &Names, out: &mut super::stream::Out) -> Result<(), ApiError> {
    let l = names.lang;
    let mut keys = Keys::default();
    keys.add(&s.totals);
    for r in &s.rows {
        keys.add(&r.figures);
    }
    keys.add(&s.unassigned.figures);
    let h = headers(&keys, names);
    out.header(&h.iter().map(String::as_str).collect::<Vec<_>>())?;
    let unit = |name: &str, code: &str, level: &str| {
        [
            Cell::Text(name.to_string()),
            Cell::Text(code.to_string()),
            Cell::Text(label(l, level)),
        ]
    };
    let mut cells = Vec::with_capacity(h.len());
    cells.extend(unit(
        &format!("{} ({})", s.unit.name, l.pick("tổng cộng", "total")),
        &s.unit.code,
        &s.unit.level,
    ));
    cells.extend([Cell::Empty, Cell::Date(s.from), Cell::Date(s.to)]);
    figures(&s.totals, &keys, &mut cells);
    out.row(&cells)?;
    for r in &s.rows {
        cells.clear();
        match (&r.unit, &r.month) {
            (Some(u), _) => {
                cells.extend(unit(&u.name, &u.code, &u.level));
                cells.extend([Cell::Empty, Cell::Date(s.from), Cell::Date(s.to)]);
            }
            (None, month) => {
                let ym = month.clone().unwrap_or_default();
                let (a, b) = month_bounds(&ym, s.from, s.to);
                cells.extend(unit(&s.unit.name, &s.unit.code, &s.unit.level));
                cells.extend([Cell::Text(ym), Cell::Date(a), Cell::Date(b)]);
            }
        }
        figures(&r.figures, &keys, &mut cells);
        out.row(&cells)?;
    }
    if !s.unassigned.villages.is_empty() {
        cells.clear();
        cells.extend([
            Cell::Text(
                l.pick("Thôn chưa phân về xã mới", "Villages not yet assigned")
                    .to_string(),
            ),
            Cell::Empty,
            Cell::Text(label(l, "village")),
            Cell::Empty,
            Cell::Date(s.from),
            Cell::Date(s.to),
        ]);
        figures(&s.unassigned.figures, &keys, &mut cells);
        out.row(&cells)?;
    }
    Ok(())
}

/// `GET /reports/summary` as a file.
pub async fn serve_summary(
    pool: &PgPool,
    user: AuthUser,
    ctx: Ctx,
    wanted: Wanted,
    mut query: HashMap<String, String>,
) -> Result<HttpResponse, ApiError> {
    for p in super::PARAMS {
        query.remove(p);
    }
    let params = SummaryParams::parse(&query)?;
    let filters = serde_json::to_value(&query).unwrap_or_default();
    let lang = wanted.lang;
    let about = About {
        entity: Entity::Unit,
        entity_id: Some(params.unit_id.to_string()),
        stem: format!(
            "{} {}_{}",
            lang.pick("Tổng hợp", "Summary"),
            params.from,
            params.to
        ),
        sheet: lang.pick("Tổng hợp", "Summary").to_string(),
        filters,
    };
    let unit_id: Uuid = params.unit_id;
    let produce = Box::new(
        move |conn: &mut diesel::PgConnection,
              scope: &crate::auth::Scope,
              out: &mut super::stream::Out| {
            let unit = crate::reports::repo::unit_in_area(conn, scope, unit_id)?;
            let names = Names::new(conn, lang)?;
            let summary = crate::reports::repo::summary(conn, None, unit, &params)?;
            write(&summary, &names, out)
        },
    );
    start(pool, user, ctx, wanted, about, produce).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_row_covers_its_days_inside_the_period() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        assert_eq!(
            month_bounds("2025-12", d("2025-11-15"), d("2026-03-01")),
            (d("2025-12-01"), d("2025-12-31"))
        );
        assert_eq!(
            month_bounds("2025-11", d("2025-11-15"), d("2026-03-01")),
            (d("2025-11-15"), d("2025-11-30"))
        );
        assert_eq!(
            month_bounds("2024-02", d("2024-01-01"), d("2024-02-10")),
            (d("2024-02-01"), d("2024-02-10"))
        );
    }
}
