//! The unit-list import: idempotent, all-or-nothing, with line numbers.

use std::io::Write;

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
    let reports = import(&mut conn, Source::bundled()).unwrap();
    for r in &reports {
        assert_eq!((r.inserted, r.updated), (0, 0), "{r}");
    }
    assert_eq!(fingerprint(&mut conn), before);
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
    let err = import(&mut conn, vec![Source::Path(good), Source::Path(bad)]).unwrap_err();
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
    let reports = import(&mut conn, vec![Source::Path(list.clone())]).unwrap();
    assert_eq!(reports[0].inserted, 1);
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
    let again = import(&mut conn, vec![Source::Path(list)]).unwrap();
    assert_eq!(
        (again[0].inserted, again[0].updated, again[0].unchanged),
        (0, 0, 1)
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
    let err = import(&mut conn, vec![Source::Path(lineage)]).unwrap_err();
    assert_eq!(err.line, Some(3));
    assert!(err.message.contains("99999"), "{err}");
}
