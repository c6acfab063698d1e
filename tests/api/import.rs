//! The unit-list import: idempotent, all-or-nothing, with line numbers.

use std::io::Write;

use banso::audit::Ctx;
use banso::units::import::{Source, import};

use crate::helpers::{TestDb, count, temp_dir};

fn fingerprint(conn: &mut diesel::PgConnection) -> (i64, i64, i64) {
    (
        count(conn, "SELECT count(*) AS n FROM units"),
        count(conn, "SELECT count(*) AS n FROM unit_lineage"),
        count(
            conn,
            "SELECT coalesce(max(extract(epoch FROM updated_at) * 1000000), 0)::bigint AS n FROM units",
        ),
    )
}

#[test]
fn importing_the_shipped_lists_twice_changes_nothing() {
    let db = TestDb::from_template();
    let mut conn = db.conn();
    let before = fingerprint(&mut conn);
    assert_eq!(before.0, 63 + 696 + 10035 + 34 + 3321);
    let ctx = Ctx::system("units import");
    let reports = import(&mut conn, Source::bundled(), Some(&ctx)).unwrap();
    for r in &reports {
        assert_eq!((r.inserted, r.updated), (0, 0), "{r}");
    }
    assert_eq!(fingerprint(&mut conn), before);
    // Nothing changed, nothing announced.
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM audit_events"),
        0
    );
    // Đồng Nai's change to a city was applied; tone-mark variants were not.
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM units WHERE code = '75' AND name = 'Thành phố Đồng Nai' AND valid_to IS NULL"
        ),
        1
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM units WHERE level = 'province' AND name = 'Tỉnh Thanh Hóa'"
        ),
        2
    );
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    path
}

#[test]
fn a_broken_file_is_reported_by_line_and_nothing_lands() {
    let db = TestDb::from_template();
    let mut conn = db.conn();
    let before = fingerprint(&mut conn);
    let dir = temp_dir("import");
    let good = write(
        &dir,
        "units-2026-01-01.csv",
        "level,code,name,parent_code,type,short_name,province_code\n\
         province,04,Tỉnh Cao Bằng,,Tỉnh,Cao Bằng,04\n\
         commune,01273,Phường Thục Phán,04,Phường,Thục Phán,04\n",
    );
    let bad = write(
        &dir,
        "units-2026-02-01.csv",
        "level,code,name,parent_code,type,short_name,province_code\n\
         province,04,Tỉnh Cao Bằng,,Tỉnh,Cao Bằng,04\n\
         commune,01273,Phường Thục Phán,99,Phường,Thục Phán,04\n",
    );
    let err = import(&mut conn, vec![Source::Path(good), Source::Path(bad)], None).unwrap_err();
    assert_eq!(err.line, Some(3), "{err}");
    assert!(err.file.ends_with("units-2026-02-01.csv"), "{err}");
    assert!(err.message.contains("parent_code 99"), "{err}");
    assert_eq!(
        fingerprint(&mut conn),
        before,
        "nothing of the good file landed either"
    );
}

#[test]
fn a_new_list_closes_the_period_of_the_one_before() {
    let db = TestDb::from_template();
    let mut conn = db.conn();
    let dir = temp_dir("import");
    let list = write(
        &dir,
        "units-2026-01-01.csv",
        "level,code,name,parent_code,type,short_name,province_code\n\
         province,04,Tỉnh Cao Bằng,,Tỉnh,Cao Bằng,04\n",
    );
    let ctx = Ctx::system("units import");
    let reports = import(&mut conn, vec![Source::Path(list.clone())], Some(&ctx)).unwrap();
    assert_eq!(reports[0].inserted, 1);
    // Each unit added or changed has its event, placed at the unit: the
    // new province, and every unit of the list before it, now closed.
    let cao_bang = banso::units::import::unit_id(
        "province",
        "04",
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    );
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM audit_events WHERE action = 'create' AND entity = 'unit' \
                 AND entity_id = '{cao_bang}' AND unit_id = '{cao_bang}' \
                 AND area_path = '{}/' AND actor_name = 'units import'",
                cao_bang.simple()
            )
        ),
        1
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM audit_events e JOIN units u ON u.id::text = e.entity_id \
             WHERE e.action = 'update' AND e.entity = 'unit' AND e.area_path = u.path \
             AND u.valid_from = '2025-07-01' AND (e.after->>'valid_to') = '2025-12-31'"
        ),
        34 + 3321
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM audit_events"),
        1 + 34 + 3321
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM units WHERE valid_from = '2025-07-01' AND valid_to = '2025-12-31'"
        ),
        34 + 3321
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM units WHERE valid_to IS NULL"
        ),
        1
    );
    let again = import(&mut conn, vec![Source::Path(list)], Some(&ctx)).unwrap();
    assert_eq!(
        (again[0].inserted, again[0].updated, again[0].unchanged),
        (0, 0, 1)
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM audit_events"),
        1 + 34 + 3321
    );
}

#[test]
fn lineage_to_unknown_units_is_refused() {
    let db = TestDb::from_template();
    let mut conn = db.conn();
    let dir = temp_dir("import");
    let lineage = write(
        &dir,
        "lineage-2025-07-01.csv",
        "level,old_code,old_name,old_parent_code,old_province_code,new_code,new_name,new_province_code,relation,note,fix\n\
         commune,00715,Xã Lũng Cú,026,02,00715,Xã Lũng Cú,08,unchanged,,\n\
         commune,99999,Xã Không Có,026,02,00715,Xã Lũng Cú,08,whole,,\n",
    );
    let err = import(&mut conn, vec![Source::Path(lineage)], None).unwrap_err();
    assert_eq!(err.line, Some(3));
    assert!(err.message.contains("99999"), "{err}");
}
