//! `src/db/schema.rs` must be what the migrations produce.

use std::process::Command;

use crate::helpers::TestDb;

#[test]
fn schema_rs_matches_the_migrations() {
    let diesel = Command::new("diesel").arg("--version").output();
    if diesel.is_err() {
        // CI installs diesel_cli (.ci/run); a developer without it is told.
        assert!(
            std::env::var_os("CI").is_none(),
            "diesel_cli is required in CI for the schema check"
        );
        eprintln!(
            "diesel_cli not installed: schema check skipped (cargo install diesel_cli --no-default-features --features postgres)"
        );
        return;
    }
    let db = TestDb::empty();
    banso::db::migrate(&mut db.conn()).unwrap();
    let out = Command::new("diesel")
        .args(["print-schema", "--database-url", &db.url])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/db/schema.rs")).unwrap();
    assert_eq!(
        generated, committed,
        "src/db/schema.rs is stale: run `diesel print-schema > src/db/schema.rs`"
    );
}
