use diesel_migrations::MigrationHarness;

use crate::helpers::{TestDb, count};

fn tables(conn: &mut diesel::PgConnection) -> i64 {
    count(
        conn,
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
}

#[test]
fn every_migration_runs_up_down_and_up_again() {
    let db = TestDb::empty();
    let mut conn = db.conn();
    let applied = banso::db::migrate(&mut conn).unwrap();
    assert!(!applied.is_empty());
    let after_up = tables(&mut conn);
    assert!(after_up > 0);
    conn.revert_all_migrations(banso::db::MIGRATIONS).unwrap();
    assert_eq!(
        tables(&mut conn),
        0,
        "every down.sql removes what its up.sql made"
    );
    let again = banso::db::migrate(&mut conn).unwrap();
    assert_eq!(again.len(), applied.len());
    assert_eq!(tables(&mut conn), after_up);
    assert!(banso::db::migrations_current(&mut conn).unwrap());
    // Running again applies nothing.
    assert!(banso::db::migrate(&mut conn).unwrap().is_empty());
}
