//! The command line: `serve`, `migrate`, `units import`, `user create`,
//! `user set-password`, `client`, `keys`, `seed`, `audit rehash`, `backup`
//! and `restore`. Every
//! command works against `DATABASE_URL` when it is set, else against the
//! embedded cluster under the data folder.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use diesel::PgConnection;

use crate::auth::{Role, password, tokens};
use crate::config::Settings;
use crate::db::embedded::{EmbeddedPostgres, Options};
use crate::db::{self, build_pool};
use crate::startup::Application;
use crate::units::import::{self, Source};
use crate::{demo, telemetry, units, users};

#[derive(Debug, Parser)]
#[command(
    name = "banso",
    version,
    about = "Bản Số: community digital technology teams' registry and activity records"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service (migrating the database first).
    Serve {
        /// Load demo data once: the real units, villages of Cao Bằng, and
        /// an `admin` account.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document the service serves at
    /// `/api/v1/openapi.json` (kept in `docs/openapi.json`).
    Openapi,
    /// Administrative units.
    Units {
        #[command(subcommand)]
        command: UnitsCommand,
    },
    /// User accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Integration clients (provincial portals and other systems).
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Fill the database with realistic data at the size of a province
    /// or of the country, made in batches with the service's own inserts.
    Seed {
        /// province (Cao Bằng, about 2 million activities) or national (34
        /// provinces, 75,000 teams, 25 million households, about 100
        /// million activities).
        #[arg(long, value_enum)]
        scale: crate::seed::Scale,
        /// The share of that size to make, more than 0 and at most 1.
        #[arg(long, default_value_t = 1.0)]
        fraction: f64,
        /// Batches of villages filled at once, each on its own connection
        /// (default: the machine's cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Back up the database to FILE (pg_dump's custom format); FILE must
    /// not exist. Safe while `banso serve` runs.
    Backup { file: PathBuf },
    /// Restore a backup made by `banso backup` into the database, which
    /// must be empty unless --replace; stop `banso serve` first.
    Restore {
        file: PathBuf,
        /// Replace what the database holds with the backup's contents.
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Record in the trail that the events before SEQ were hashed the first
    /// way (before seals), listing those whose content that way cannot
    /// recompute; nothing is rewritten.
    Rehash {
        /// The first `seq` written by this version.
        #[arg(long, value_name = "SEQ")]
        before: i64,
    },
}

#[derive(Debug, Subcommand)]
enum UnitsCommand {
    /// Import unit lists, lineage tables and amendments. Without files, the
    /// lists shipped with Bản Số are imported.
    Import { files: Vec<PathBuf> },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// admin, officer, team_leader or member.
        #[arg(long)]
        role: String,
        /// Code of the unit the account works in (required but for admins).
        #[arg(long)]
        area: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Give an account a new password, read from standard input; every
    /// session of the account ends at once, on every running instance.
    SetPassword {
        #[arg(long)]
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Register a client that reads the records of one area; its secret is
    /// printed once.
    Create {
        /// The id the client sends (a-z, 0-9, '.', '_', '-').
        #[arg(long)]
        client_id: String,
        /// Who it is, for people reading the audit trail.
        #[arg(long)]
        name: String,
        /// Code of the unit whose records it may read.
        #[arg(long)]
        area: String,
        /// What it may do, comma-separated: registry:read, activities:read,
        /// activities:write, reports:read, audit:read, changes:read.
        #[arg(long, default_value = DEFAULT_CLIENT_SCOPES)]
        scopes: String,
        /// Requests a minute it may make (1 to 100000).
        #[arg(long, default_value_t = crate::clients::handlers::DEFAULT_RATE_PER_MINUTE)]
        rate_per_minute: i32,
    },
    /// List the clients.
    List,
    /// Give a client a new secret, printed once; the old one keeps working
    /// for the grace period.
    Rotate {
        #[arg(long)]
        client_id: String,
        /// Hours the old secret keeps working (0 to 168).
        #[arg(long, default_value_t = crate::clients::handlers::DEFAULT_GRACE_HOURS)]
        grace_hours: i64,
    },
    /// Revoke a client: no new token, and the tokens it holds stop at once.
    Revoke {
        #[arg(long)]
        client_id: String,
        /// Why, for the audit trail.
        #[arg(long)]
        reason: String,
    },
}

/// The scopes of a client registered without `--scopes`: reading.
const DEFAULT_CLIENT_SCOPES: &str = "registry:read,activities:read,reports:read,changes:read";

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a new signing key; it signs from the next start, and the older
    /// keys keep verifying until their files are removed.
    Rotate,
    /// List the key ids; the last one signs.
    List,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        // Needs no settings: the document is built from the code alone.
        print!("{}", crate::openapi::document());
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("banso: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    match run(cli.command, settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("banso: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The database to use, and the embedded cluster that serves it if any
/// (stopped when dropped).
pub struct Database {
    pub url: String,
    pub embedded: Option<EmbeddedPostgres>,
}

pub fn open_database(settings: &Settings) -> Result<Database, Failure> {
    if let Some(url) = &settings.database_url {
        return Ok(Database {
            url: url.clone(),
            embedded: None,
        });
    }
    let root = settings.data_dir.join("pg");
    eprintln!(
        "banso: no DATABASE_URL; using the embedded PostgreSQL cluster in {}",
        root.display()
    );
    let pg = EmbeddedPostgres::start(&root, &Options::default())?;
    pg.ensure_database("banso")?;
    Ok(Database {
        url: pg.url("banso"),
        embedded: Some(pg),
    })
}

fn connect(db: &Database) -> Result<PgConnection, Failure> {
    connect_url(&db.url)
}

fn connect_url(url: &str) -> Result<PgConnection, Failure> {
    db::connect_with_patience(url, std::time::Duration::from_secs(10))
        .map_err(|e| format!("cannot connect to the database: {e}").into())
}

fn migrate(conn: &mut PgConnection) -> Result<(), Failure> {
    let applied = db::migrate(conn).map_err(|e| format!("migration failed: {e}"))?;
    for m in &applied {
        tracing::info!(migration = %m, "applied");
    }
    // A migration may have written records, and a database from before the
    // feed listed every record lacks their events: the feed catches up.
    if !applied.is_empty() || !crate::changes::announce::done(conn)? {
        crate::changes::announce::unlisted(conn, "migration")?;
    }
    Ok(())
}

fn run(command: Command, settings: Settings) -> Result<(), Failure> {
    match command {
        Command::Serve { demo } => serve(settings, demo),
        Command::Backup { file } => backup(&settings, &file),
        Command::Restore { file, replace } => restore(&settings, &file, replace),
        Command::Openapi => {
            print!("{}", crate::openapi::document());
            Ok(())
        }
        Command::Migrate => {
            let db = open_database(&settings)?;
            migrate(&mut connect(&db)?)?;
            println!("migrations are current");
            Ok(())
        }
        Command::Units {
            command: UnitsCommand::Import { files },
        } => {
            let db = open_database(&settings)?;
            let mut conn = connect(&db)?;
            migrate(&mut conn)?;
            let sources = if files.is_empty() {
                Source::bundled()
            } else {
                files.into_iter().map(Source::Path).collect()
            };
            let ctx = crate::audit::Ctx::system("units import");
            for report in import::import(&mut conn, sources, Some(&ctx))? {
                println!("{report}");
            }
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    username,
                    role,
                    area,
                    display_name,
                    password_stdin: _,
                },
        } => {
            let password = password_from_stdin()?;
            let (_db, mut conn) = open_migrated(&settings)?;
            let user = diesel::Connection::transaction::<_, Failure, _>(&mut conn, |conn| {
                let user = create_user(
                    conn,
                    &username,
                    &role,
                    area.as_deref(),
                    display_name.as_deref(),
                    &password,
                )?;
                // Accounts made on the server's command line are audited like
                // those made through the API.
                let e = crate::users::handlers::account_event(
                    conn,
                    crate::audit::Action::Create,
                    &user,
                )?
                .after(crate::users::dto::UserDto::from(user.clone()));
                crate::audit::record(conn, &crate::audit::Ctx::system("banso user create"), e)?;
                Ok(user)
            })?;
            println!(
                "created {} ({}) with id {}",
                user.username, user.role, user.id
            );
            Ok(())
        }
        Command::User {
            command:
                UserCommand::SetPassword {
                    username,
                    password_stdin: _,
                },
        } => {
            let password = password_from_stdin()?;
            let (_db, mut conn) = open_migrated(&settings)?;
            let user = set_password(&mut conn, &username, &password)?;
            println!(
                "changed the password of {}; its sessions have ended",
                user.username
            );
            Ok(())
        }
        Command::Client { command } => {
            let db = open_database(&settings)?;
            let mut conn = connect(&db)?;
            migrate(&mut conn)?;
            client_command(&mut conn, command)
        }
        Command::Seed {
            scale,
            fraction,
            jobs,
        } => {
            let (db, mut conn) = open_migrated(&settings)?;
            let jobs = jobs.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            crate::seed::run(
                &mut conn,
                &|| connect_url(&db.url),
                &settings,
                scale,
                fraction,
                jobs,
                &mut std::io::stdout(),
            )?;
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Rehash { before },
        } => {
            let db = open_database(&settings)?;
            let mut conn = connect(&db)?;
            migrate(&mut conn)?;
            let report = crate::audit::chain::rehash(&mut conn, before)?;
            println!(
                "{} events before seq {before} were hashed the first way; {} of them are explained and listed in the trail",
                report.legacy,
                report.explained.len()
            );
            for (seq, id) in &report.unexplained {
                println!(
                    "seq {seq} (event {id}) does not recompute and holds no fractional number: it may have been edited"
                );
            }
            Ok(())
        }
        Command::Keys { command } => {
            match command {
                KeysCommand::Rotate => {
                    let kid = tokens::create_key(&settings.keys_dir)?;
                    println!("created signing key {kid}; it signs after the next restart");
                }
                KeysCommand::List => {
                    for kid in tokens::read_keys(&settings.keys_dir)?.keys() {
                        println!("{kid}");
                    }
                }
            }
            Ok(())
        }
    }
}

fn client_command(conn: &mut PgConnection, command: ClientCommand) -> Result<(), Failure> {
    use crate::clients::{handlers, repo};
    let ctx = crate::audit::Ctx::system("banso client");
    let find = |conn: &mut PgConnection, client_id: &str| -> Result<repo::ClientRow, Failure> {
        repo::by_client_id(conn, client_id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no client has the id {client_id}").into())
    };
    match command {
        ClientCommand::Create {
            client_id,
            name,
            area,
            scopes,
            rate_per_minute,
        } => {
            let scopes = crate::clients::scopes::ClientScopes::parse(scopes.split(','))
                .map_err(|bad| format!("--scopes: unknown scope {bad:?}"))?;
            let (client, secret) =
                create_client_with(conn, &client_id, &name, &area, scopes, rate_per_minute)?;
            println!(
                "created client {} ({}) with {}",
                client.client_id,
                client.name,
                client.scope_set().names().join(", ")
            );
            println!("its secret, shown only this once: {secret}");
        }
        ClientCommand::List => {
            for c in repo::list(conn, None).map_err(|e| e.to_string())? {
                let state = if c.active { "active" } else { "revoked" };
                println!(
                    "{}\t{}\t{}\t{}/min\t{}",
                    c.client_id,
                    state,
                    c.scope_set().names().join(","),
                    c.rate_per_minute,
                    c.name
                );
            }
        }
        ClientCommand::Rotate {
            client_id,
            grace_hours,
        } => {
            if !(0..=handlers::MAX_GRACE_HOURS).contains(&grace_hours) {
                return Err(format!(
                    "--grace-hours must be between 0 and {}",
                    handlers::MAX_GRACE_HOURS
                )
                .into());
            }
            let client = find(conn, &client_id)?;
            let (secret, hash) = handlers::new_secret_blocking()?;
            let row = diesel::Connection::transaction::<_, crate::error::ApiError, _>(conn, |c| {
                let all = crate::auth::Scope::All;
                handlers::rotate_in(c, &ctx, &all, client.id, &hash, grace_hours)
            })
            .map_err(|e| e.to_string())?;
            println!(
                "new secret for {}, shown only this once: {secret}",
                row.client_id
            );
            if let Some(until) = row.previous_secret_until {
                println!("the previous secret works until {until}");
            }
        }
        ClientCommand::Revoke { client_id, reason } => {
            let client = find(conn, &client_id)?;
            let reason = crate::domain::short_text(&reason, 500)
                .map_err(|e| format!("--reason: {}", e.message))?
                .ok_or("--reason: give the reason")?;
            diesel::Connection::transaction::<_, crate::error::ApiError, _>(conn, |c| {
                let all = crate::auth::Scope::All;
                handlers::revoke_in(c, &ctx, &all, client.id, &reason)
            })
            .map_err(|e| e.to_string())?;
            println!("revoked {client_id}; its tokens are refused from now on");
        }
    }
    Ok(())
}

/// Registers an integration client reading the records of `area_code`,
/// and returns it with its secret (kept only as a hash).
pub fn create_client(
    conn: &mut PgConnection,
    client_id: &str,
    name: &str,
    area_code: &str,
) -> Result<(crate::clients::repo::ClientRow, String), Failure> {
    let scopes = crate::clients::scopes::ClientScopes::parse(DEFAULT_CLIENT_SCOPES.split(','))?;
    let rate = crate::clients::handlers::DEFAULT_RATE_PER_MINUTE;
    create_client_with(conn, client_id, name, area_code, scopes, rate)
}

/// [`create_client`] with its scopes and rate limit.
pub fn create_client_with(
    conn: &mut PgConnection,
    client_id: &str,
    name: &str,
    area_code: &str,
    scopes: crate::clients::scopes::ClientScopes,
    rate_per_minute: i32,
) -> Result<(crate::clients::repo::ClientRow, String), Failure> {
    if scopes.iter().next().is_none() {
        return Err("--scopes: give at least one scope".into());
    }
    if !(1..=crate::clients::handlers::MAX_RATE_PER_MINUTE).contains(&rate_per_minute) {
        return Err("--rate-per-minute must be between 1 and 100000".into());
    }
    let client_id = crate::clients::repo::parse_client_id(client_id)?;
    let name = crate::domain::Name::parse(name).map_err(|e| format!("name: {}", e.message))?;
    let found = units::repo::find_by_code(conn, area_code.trim(), units::repo::today())
        .map_err(|e| format!("looking up area {area_code}: {e}"))?;
    let [area] = found.as_slice() else {
        return Err(format!("code {area_code} names no single unit in force today").into());
    };
    if crate::clients::repo::by_client_id(conn, &client_id)
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err(format!("client id {client_id} is taken").into());
    }
    let (secret, hash) = crate::clients::handlers::new_secret_blocking()?;
    diesel::Connection::transaction::<_, Failure, _>(conn, |conn| {
        let new = crate::clients::repo::NewClient {
            client_id: &client_id,
            secret_hash: &hash,
            name: name.as_str(),
            area: Some(area.id),
            scopes,
            rate_per_minute,
        };
        let client = crate::clients::repo::create(conn, &new).map_err(|e| e.to_string())?;
        let e = crate::audit::Event::new(
            crate::audit::Action::Create,
            crate::audit::Entity::Client,
            client.id,
        )
        .at(area.id, &area.path)
        .after(&client);
        crate::audit::record(conn, &crate::audit::Ctx::system("banso client create"), e)
            .map_err(|e| e.to_string())?;
        Ok((client, secret))
    })
}

/// Checks and creates an account (command line and demo).
pub fn create_user(
    conn: &mut PgConnection,
    username: &str,
    role: &str,
    area_code: Option<&str>,
    display_name: Option<&str>,
    password: &str,
) -> Result<users::model::UserRow, Failure> {
    let username = users::repo::parse_username(username)?;
    let role: Role = role.parse()?;
    password::check_rules(password, &username)?;
    let area = match area_code {
        None => None,
        Some(code) => {
            let found = units::repo::find_by_code(conn, code.trim(), units::repo::today())
                .map_err(|e| format!("looking up area {code}: {e}"))?;
            match found.as_slice() {
                [one] => Some(one.id),
                [] => return Err(format!("no unit with code {code} is in force today").into()),
                many => {
                    let names: Vec<String> = many
                        .iter()
                        .map(|u| format!("{} {}", u.level, u.name))
                        .collect();
                    return Err(
                        format!("code {code} names several units: {}", names.join(", ")).into(),
                    );
                }
            }
        }
    };
    users::repo::check_area(conn, role, area)?;
    if users::repo::find_by_username(conn, &username)
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err(format!("username {username} is taken").into());
    }
    let hash = password::hash(password).map_err(|e| format!("hashing the password: {e}"))?;
    users::repo::create(conn, &username, &hash, role, area, display_name)
        .map_err(|e| e.to_string().into())
}

/// The database, connected and migrated, for a command's own work; the
/// `Database` must live as long as the connection is used.
fn open_migrated(settings: &Settings) -> Result<(Database, PgConnection), Failure> {
    let db = open_database(settings)?;
    let mut conn = connect(&db)?;
    migrate(&mut conn)?;
    Ok((db, conn))
}

/// The first line of standard input.
fn password_from_stdin() -> Result<String, Failure> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    Ok(input.lines().next().unwrap_or("").to_string())
}

/// Gives the account `username` a new password and ends its sessions,
/// with an audit event that says so (never the password).
pub fn set_password(
    conn: &mut PgConnection,
    username: &str,
    password: &str,
) -> Result<users::model::UserRow, Failure> {
    let username = users::repo::parse_username(username)?;
    let found = users::repo::find_by_username(conn, &username).map_err(|e| e.to_string())?;
    let Some(user) = found else {
        return Err(format!("no account is named {username}").into());
    };
    password::check_rules(password, &username)?;
    let hash = password::hash(password).map_err(|e| format!("hashing the password: {e}"))?;
    diesel::Connection::transaction::<_, Failure, _>(conn, |conn| {
        let (row, _) = users::repo::set_password(conn, user.id, &hash)?;
        let e =
            crate::users::handlers::account_event(conn, crate::audit::Action::SetPassword, &row)?;
        crate::audit::record(
            conn,
            &crate::audit::Ctx::system("banso user set-password"),
            e,
        )?;
        Ok(row)
    })
}

/// `banso backup FILE`: of `DATABASE_URL`, or of the embedded cluster
/// (started for the while if `banso serve` is not running).
fn backup(settings: &Settings, file: &std::path::Path) -> Result<(), Failure> {
    if settings.database_url.is_none() && !settings.data_dir.join("pg/data/PG_VERSION").exists() {
        return Err(format!(
            "there is nothing to back up: {} holds no database (set BANSO_DATA_DIR to the data folder of `banso serve`, or DATABASE_URL)",
            settings.data_dir.display()
        )
        .into());
    }
    let db = open_database(settings)?;
    let done = crate::db::backup::backup(&db.url, file)?;
    println!(
        "backed up the database to {} ({:.1} MB); keep a copy of {} with it",
        file.display(),
        done.bytes as f64 / 1e6,
        crate::audit::checkpoint::file(&settings.data_dir).display()
    );
    Ok(())
}

/// `banso restore FILE [--replace]`, then the migrations a backup of an
/// older version lacks.
fn restore(settings: &Settings, file: &std::path::Path, replace: bool) -> Result<(), Failure> {
    // Checked before a cluster is made for it.
    crate::db::backup::check_dump(file)?;
    let db = open_database(settings)?;
    let done = crate::db::backup::restore(&db.url, file, replace)?;
    migrate(&mut connect(&db)?)?;
    println!(
        "restored {} ({} tables, audit chain up to seq {})",
        file.display(),
        done.tables,
        done.audit_head
    );
    let newest =
        crate::audit::checkpoint::recent(&crate::audit::checkpoint::file(&settings.data_dir), 1)
            .unwrap_or_default();
    if let Some(cp) = newest.first().filter(|cp| cp.seq > done.audit_head) {
        println!(
            "note: the newest audit checkpoint of this data folder reached seq {} at {}: the backup is older, so GET /api/v1/audit/verify will say the chain is truncated by the events since (see docs/operations.md)",
            cp.seq, cp.at
        );
    }
    Ok(())
}

fn serve(settings: Settings, with_demo: bool) -> Result<(), Failure> {
    let database = open_database(&settings)?;
    {
        let mut conn = connect(&database)?;
        migrate(&mut conn)?;
        if with_demo {
            demo::load(&mut conn, &settings)?;
        }
    }
    let keys = tokens::load_keys(&settings.keys_dir)?;
    let token_service = tokens::TokenService::new(
        &keys,
        &settings.issuer,
        &settings.audience,
        settings.access_token_ttl,
    )?;
    let pool = build_pool(&database.url, &settings);
    // The database in use, embedded or not: the server follows ended
    // sessions on a connection of its own.
    let settings = Settings {
        database_url: Some(database.url.clone()),
        ..settings
    };
    let listen = settings.listen;
    let result = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings, pool, token_service)?;
        let addr = std::net::SocketAddr::new(listen.ip(), app.port());
        tracing::info!(%addr, "listening");
        eprintln!("banso: listening on http://{addr}");
        app.run_until_stopped().await
    });
    stop_database(database);
    result.map_err(|e| format!("server error: {e}").into())
}

/// Stops the embedded cluster if this process started it, and says so.
fn stop_database(mut database: Database) {
    match database.embedded.as_mut().map(EmbeddedPostgres::stop) {
        Some(true) => tracing::info!("stopped: the embedded PostgreSQL cluster is down"),
        Some(false) => tracing::info!(
            "stopped: the embedded PostgreSQL cluster was started by another command and keeps running"
        ),
        None => tracing::info!("stopped: the database (DATABASE_URL) is left running"),
    }
}
