//! The PostgreSQL server of a test run: `DATABASE_URL` when set, else one
//! private cluster started for the run. A template database is migrated and
//! loaded with the shipped unit lists once; each test clones it.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use banso::db::embedded::{EmbeddedPostgres, Options};
use diesel::{Connection, PgConnection, RunQueryDsl};

pub struct Server {
    /// A URL with `{db}` where the database name goes.
    pattern: String,
    pub template: String,
}

impl Server {
    pub fn url(&self, db: &str) -> String {
        self.pattern.replace("{db}", db)
    }

    pub fn admin(&self) -> PgConnection {
        PgConnection::establish(&self.url("postgres")).expect("connect to the maintenance database")
    }
}

/// Turns `postgres://u:p@h:5432/name?x=y` into a pattern with `{db}`.
fn pattern_of(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let host_part = match path_start {
        Some(i) => &base[..i],
        None => base,
    };
    format!("{host_part}/{{db}}{query}")
}

fn pid_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

static SERVER: OnceLock<Server> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

pub fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        let pattern = match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(url) => pattern_of(&url),
            None => start_private_cluster(),
        };
        let pid = std::process::id();
        let server = Server {
            pattern,
            template: format!("banso_tmpl_{pid}"),
        };
        let mut admin = server.admin();
        drop_stale_databases(&mut admin);
        diesel::sql_query(format!("CREATE DATABASE {}", server.template))
            .execute(&mut admin)
            .expect("create the template database");
        let mut conn = PgConnection::establish(&server.url(&server.template))
            .expect("connect to the template");
        banso::db::migrate(&mut conn).expect("migrate the template");
        banso::units::import::import(&mut conn, banso::units::import::Source::bundled(), None)
            .expect("import the shipped unit lists into the template");
        // The template's units stand for a database whose feed is complete
        // (`banso units import` announces what it adds): commands run on a
        // test database add no events of their own. Tests of the pass run
        // it themselves.
        banso::changes::announce::mark_done(&mut conn).expect("mark the template's feed complete");
        server
    })
}

/// Databases left by earlier runs whose process is gone.
fn drop_stale_databases(admin: &mut PgConnection) {
    #[derive(diesel::QueryableByName)]
    struct Db {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let dbs: Vec<Db> = diesel::sql_query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'banso\\_tmpl\\_%' OR datname LIKE 'banso\\_t\\_%'",
    )
    .load(admin)
    .unwrap_or_default();
    for db in dbs {
        let pid = db
            .datname
            .split('_')
            .nth(2)
            .and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !pid_alive(p) || p == std::process::id()) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                db.datname
            ))
            .execute(admin);
        }
    }
}

fn start_private_cluster() -> String {
    // Under the system's temporary folder, not the checkout: the Unix
    // socket's path must stay short however deep the checkout is.
    let tmp = std::env::temp_dir();
    let root = tmp.join(format!("banso-test-pg-{}", std::process::id()));
    // Clusters of earlier runs whose process is gone.
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(pid) = name
                .strip_prefix("banso-test-pg-")
                .and_then(|p| p.parse::<u32>().ok())
                && !pid_alive(pid)
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    // Folders the tests of earlier runs left behind (keys, data folders).
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for e in entries.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < hour_ago);
            let ours = e.file_name().to_string_lossy().starts_with("banso-");
            if ours
                && old
                && !e
                    .file_name()
                    .to_string_lossy()
                    .starts_with("banso-test-pg-")
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    // The cluster is started from a thread that lives as long as the test
    // process, so the kernel stops it when the process ends.
    std::thread::spawn(move || {
        match EmbeddedPostgres::start(
            &root,
            &Options {
                ephemeral: true,
                ..Default::default()
            },
        ) {
            Ok(pg) => {
                let _ = tx.send(Ok(pg.url("{db}")));
                loop {
                    std::thread::park();
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
            }
        }
    });
    match rx.recv() {
        Ok(Ok(url)) => url,
        Ok(Err(e)) => panic!("cannot start the test PostgreSQL cluster: {e}"),
        Err(_) => panic!("the test PostgreSQL cluster thread died"),
    }
}

/// A database of one test, dropped when the test ends.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// A clone of the migrated template with the unit lists loaded.
    pub fn from_template() -> TestDb {
        Self::create(Some(&server().template))
    }

    /// An empty database, not migrated.
    pub fn empty() -> TestDb {
        Self::create(None)
    }

    fn create(template: Option<&str>) -> TestDb {
        let server = server();
        let name = format!(
            "banso_t_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::SeqCst)
        );
        let sql = match template {
            Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
            None => format!("CREATE DATABASE {name}"),
        };
        diesel::sql_query(sql)
            .execute(&mut server.admin())
            .expect("create the test database");
        TestDb {
            url: server.url(&name),
            name,
        }
    }

    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut server().admin());
    }
}
