//! Test harness: a real Bản Số server on port 0 over its own database, and
//! small helpers to call it as a client would.

pub mod contract;
pub mod db;

use std::collections::HashMap;
use std::path::PathBuf;

use banso::auth::tokens::{TokenService, load_keys};
use banso::config::Settings;
use banso::db::build_pool;
use banso::startup::Application;
use diesel::PgConnection;
use reqwest::{Response, StatusCode};
use serde_json::Value;

pub use contract::RequestBuilder;
pub use db::TestDb;

/// The password of every account made by the helpers.
pub const PASSWORD: &str = "a long test password";

pub struct TestApp {
    pub address: String,
    /// Every answer it receives is checked against the OpenAPI document.
    pub client: contract::Client,
    pub db: TestDb,
    pub keys_dir: PathBuf,
    pub settings: Settings,
    handle: actix_web::dev::ServerHandle,
}

pub fn test_settings(
    database_url: &str,
    keys_dir: &std::path::Path,
    extra: &[(&str, &str)],
) -> Settings {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), database_url.to_string()),
        ("BANSO_LISTEN".into(), "127.0.0.1:0".into()),
        ("BANSO_WORKERS".into(), "1".into()),
        ("BANSO_POOL_SIZE".into(), "4".into()),
        ("BANSO_POOL_TIMEOUT_MS".into(), "2000".into()),
        ("BANSO_JWT_KEYS_DIR".into(), keys_dir.display().to_string()),
        // Its own data folder: the audit checkpoints are written there.
        (
            "BANSO_DATA_DIR".into(),
            temp_dir("data").display().to_string(),
        ),
    ]);
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    Settings::from_lookup(|k| vars.get(k).cloned()).expect("test settings are valid")
}

/// Starts a cluster of a test's own under `root`, from a thread that never
/// ends: the server's parent-death signal follows the thread that started
/// it, and a blocking-pool thread ends after a few idle seconds, which
/// would stop the cluster in the middle of the test.
pub async fn own_cluster(
    root: &std::path::Path,
    options: banso::db::embedded::Options,
) -> banso::db::embedded::EmbeddedPostgres {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        let pg = banso::db::embedded::EmbeddedPostgres::start(&root, &options);
        let _ = tx.send(pg);
        loop {
            std::thread::park();
        }
    });
    rx.await
        .expect("the cluster thread")
        .expect("start the cluster")
}

/// Makes a fresh database of a test's own cluster ready: migrated, the
/// bundled units imported, a village in Phường Thục Phán (`01273`) and an
/// `admin` account with `PASSWORD`. Returns the commune and the village.
pub fn prepare_own_database(
    conn: &mut PgConnection,
) -> (banso::units::model::UnitRow, banso::units::model::UnitRow) {
    banso::db::migrate(conn).unwrap();
    banso::units::import::import(conn, banso::units::import::Source::bundled(), None).unwrap();
    let commune = banso::units::repo::find_by_code(conn, "01273", banso::units::repo::today())
        .unwrap()
        .remove(0);
    let village = banso::units::repo::create_village(
        conn,
        &commune,
        "Thôn Nà Pình",
        "Thôn",
        commune.valid_from,
    )
    .unwrap();
    banso::cli::create_user(conn, "admin", "admin", None, None, PASSWORD).unwrap();
    (commune, village)
}

/// A fresh folder under the system's temporary folder. Short on purpose:
/// a cluster's Unix socket path inside it must stay under 108 bytes, however
/// deep the checkout is.
pub fn temp_dir(tag: &str) -> PathBuf {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dir = std::env::temp_dir().join(format!("banso-{tag}-{}", &id[..12]));
    std::fs::create_dir_all(&dir).expect("create a temporary folder");
    dir
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_on(TestDb::from_template(), &[]).await
    }

    /// Starts a server on `db` with extra settings.
    pub async fn spawn_on(db: TestDb, extra: &[(&str, &str)]) -> TestApp {
        let keys_dir = temp_dir("keys");
        let settings = test_settings(&db.url, &keys_dir, extra);
        let (address, handle) = start_server(&settings, &db.url);
        TestApp {
            address,
            client: contract::Client::new(
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("http client"),
            ),
            db,
            keys_dir,
            settings,
            handle,
        }
    }

    /// A second server on the same database and keys (a restart).
    pub fn restart(&mut self) {
        let old = self.handle.clone();
        actix_web::rt::spawn(async move { old.stop(true).await });
        let (address, handle) = start_server(&self.settings, &self.db.url);
        self.address = address;
        self.handle = handle;
    }

    /// Another server on the same database and keys, running beside this
    /// one (two instances behind one load balancer); returns its address.
    pub fn another_instance(&self) -> String {
        start_server(&self.settings, &self.db.url).0
    }

    pub fn conn(&self) -> PgConnection {
        self.db.conn()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Creates an account directly (as `banso user create` does).
    pub async fn create_user(
        &self,
        username: &str,
        role: &str,
        area_code: Option<&str>,
    ) -> uuid::Uuid {
        let url = self.db.url.clone();
        let (username, role, area) = (
            username.to_string(),
            role.to_string(),
            area_code.map(str::to_string),
        );
        actix_web::web::block(move || {
            let mut conn = diesel::Connection::establish(&url).expect("connect");
            banso::cli::create_user(&mut conn, &username, &role, area.as_deref(), None, PASSWORD)
                .expect("create user")
                .id
        })
        .await
        .expect("blocking task")
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("request")
    }

    /// Logs in and returns the whole token answer.
    pub async fn tokens(&self, username: &str) -> Value {
        self.tokens_with(username, PASSWORD).await
    }

    /// Logs in with `password` and returns the whole token answer.
    pub async fn tokens_with(&self, username: &str, password: &str) -> Value {
        let res = self.login(username, password).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {username}");
        res.json().await.expect("json")
    }

    /// Creates an account and returns an access token for it.
    pub async fn token_for(&self, username: &str, role: &str, area_code: Option<&str>) -> String {
        self.create_user(username, role, area_code).await;
        self.tokens(username).await["access_token"]
            .as_str()
            .expect("access token")
            .to_string()
    }

    pub async fn admin_token(&self) -> String {
        self.token_for("admin", "admin", None).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }
}

/// Starts the real server on `database_url` (keys from `settings`); its
/// address and a handle to stop it.
pub fn start_server(
    settings: &Settings,
    database_url: &str,
) -> (String, actix_web::dev::ServerHandle) {
    let keys = load_keys(&settings.keys_dir).expect("signing keys");
    let tokens = TokenService::new(
        &keys,
        &settings.issuer,
        &settings.audience,
        settings.access_token_ttl,
    )
    .expect("token service");
    let pool = build_pool(database_url, settings);
    let app = Application::build(settings.clone(), pool, tokens).expect("build the application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    (address, handle)
}

/// Reads a problem document and checks its shape and content type.
pub async fn problem(res: Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        ctype.starts_with("application/problem+json"),
        "content type {ctype}"
    );
    let body: Value = res.json().await.expect("problem body");
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["type"].is_string() && body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

/// A count from the test database.
pub fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::RunQueryDsl::get_result::<N>(diesel::sql_query(sql), conn)
        .expect("count query")
        .n
}

/// The unit with `code` in force today.
pub fn unit(app: &TestApp, code: &str) -> banso::units::model::UnitRow {
    let mut conn = app.conn();
    banso::units::repo::find_by_code(&mut conn, code, banso::units::repo::today())
        .expect("find the unit")
        .remove(0)
}

/// A new village ("Thôn" `name`) under the commune with `commune_code`.
pub fn village(app: &TestApp, commune_code: &str, name: &str) -> banso::units::model::UnitRow {
    let commune = unit(app, commune_code);
    let mut conn = app.conn();
    banso::units::repo::create_village(&mut conn, &commune, name, "Thôn", commune.valid_from)
        .expect("create the village")
}

/// The `id` of a record answered as JSON.
pub fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

/// The (field, code) pairs of a validation problem.
pub fn fields(body: &Value) -> std::collections::HashSet<(String, String)> {
    body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or("").to_string(),
                e["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Expected (field, code) pairs, to compare with `fields`.
pub fn pairs(list: &[(&str, &str)]) -> std::collections::HashSet<(String, String)> {
    list.iter()
        .map(|(f, c)| (f.to_string(), c.to_string()))
        .collect()
}

/// PATCH `path` with a JSON body, and `If-Match` when given.
pub async fn patch(
    app: &TestApp,
    token: &str,
    path: &str,
    if_match: Option<&str>,
    body: &Value,
) -> Response {
    let mut req = app
        .client
        .patch(app.url(path))
        .bearer_auth(token)
        .json(body);
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    req.send().await.expect("request")
}

/// DELETE `path`.
pub async fn delete(app: &TestApp, token: &str, path: &str) -> Response {
    app.client
        .delete(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
}
