//! `banso backup FILE` and `banso restore FILE`: PostgreSQL's own `pg_dump`
//! and `pg_restore` in their custom format, run against the database in use
//! (`DATABASE_URL` or the embedded cluster).
//!
//! Nothing is ever destroyed by surprise: a backup never overwrites a file
//! (it writes `FILE.partial` and links it into place only when `pg_dump`
//! succeeded), and a restore refuses a file that is not a custom-format dump
//! of a Bản Số database, and a database that already holds tables unless it
//! is told to replace them. The restore runs in one transaction, so a
//! failure leaves the database as it was. On a terminal, `pg_dump`'s and
//! `pg_restore`'s verbose lines are condensed into one line of progress.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use percent_encoding::percent_decode_str;

use super::embedded::find_bin_dir;

/// What a custom-format dump starts with.
const MAGIC: &[u8; 5] = b"PGDMP";

/// Tables a dump must hold to be a Bản Số dump.
const MARKS: [&str; 3] = ["__diesel_schema_migrations", "audit_events", "households"];

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Refused(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{tool} failed: {detail}")]
    Tool { tool: &'static str, detail: String },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

fn refused(message: impl Into<String>) -> BackupError {
    BackupError::Refused(message.into())
}

/// How a finished backup went.
#[derive(Debug)]
pub struct Backup {
    pub bytes: u64,
    pub tables: usize,
}

/// How a finished restore went.
#[derive(Debug)]
pub struct Restored {
    pub tables: usize,
    /// The audit chain's last `seq` in the restored database.
    pub audit_head: i64,
}

/// `pg_dump` or `pg_restore`: the one beside the PostgreSQL server binaries
/// the embedded cluster uses (the newest installed), else the one on PATH.
fn tool(name: &str) -> PathBuf {
    find_bin_dir()
        .map(|d| d.join(name))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// The URL without its password, and the password apart: the password goes
/// to the tool in `PGPASSWORD`, never on its command line (which any user of
/// the machine may read).
fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return (url.to_string(), None);
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return (url.to_string(), None);
    };
    let userinfo = &authority[..at];
    let Some((user, password)) = userinfo.split_once(':') else {
        return (url.to_string(), None);
    };
    let password = percent_decode_str(password).decode_utf8_lossy().to_string();
    let stripped = format!("{}{user}{}", &url[..scheme_end], &url[scheme_end + at..]);
    (stripped, Some(password))
}

/// The line of progress a verbose line of `pg_dump`/`pg_restore` stands
/// for: the table whose rows are being copied, if it is such a line.
pub fn table_of(line: &str) -> Option<&str> {
    let rest = line
        .split_once("dumping contents of table ")
        .or_else(|| line.split_once("processing data for table "))?
        .1;
    let name = rest.trim().trim_matches('"');
    Some(name.strip_prefix("public.").unwrap_or(name))
}

/// Whether a line of the tool's stderr is one of its verbose notes rather
/// than a warning or an error.
fn is_note(line: &str) -> bool {
    !(line.contains("error:")
        || line.contains("warning:")
        || line.contains("ERROR:")
        || line.contains("FATAL:")
        || line.contains("DETAIL:")
        || line.contains("HINT:"))
}

/// Runs `cmd`, showing progress on a terminal; on failure the tool's own
/// warnings and errors make the message.
fn run_tool(
    mut cmd: Command,
    tool_name: &'static str,
    verb: &str,
    password: Option<String>,
) -> Result<usize, BackupError> {
    let terminal = std::io::stderr().is_terminal();
    if terminal {
        cmd.arg("--verbose");
    }
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io_err(format!(
            "running {tool_name} (install PostgreSQL's client programs, for example `apt-get install postgresql-client`)"
        )))?;
    let mut problems = Vec::new();
    let mut tables = 0;
    if let Some(stderr) = child.stderr.take() {
        let mut err = std::io::stderr();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(table) = table_of(&line) {
                tables += 1;
                if terminal {
                    let _ = write!(err, "\r\x1b[2Kbanso: {verb}: {tables} tables, now {table}");
                    let _ = err.flush();
                }
            } else if !is_note(&line) {
                problems.push(line);
            }
        }
        if terminal {
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
    let status = child
        .wait()
        .map_err(io_err(format!("waiting for {tool_name}")))?;
    if !status.success() {
        let detail = if problems.is_empty() {
            status.to_string()
        } else {
            problems.join("; ")
        };
        return Err(BackupError::Tool {
            tool: tool_name,
            detail,
        });
    }
    for p in problems {
        eprintln!("banso: {p}");
    }
    Ok(tables)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> Result<i64, BackupError> {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .map(|c| c.n)
        .map_err(|e| refused(format!("reading the database: {e}")))
}

fn connect(url: &str) -> Result<PgConnection, BackupError> {
    PgConnection::establish(url)
        .map_err(|e| refused(format!("cannot connect to the database: {e}")))
}

/// Tables of the database outside PostgreSQL's own schemas.
const TABLES: &str = "SELECT count(*) AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') \
     AND s.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND s.nspname NOT LIKE 'pg\\_toast%' AND s.nspname NOT LIKE 'pg\\_temp%'";

/// Backs up the database at `url` to `file`, which must not exist.
pub fn backup(url: &str, file: &Path) -> Result<Backup, BackupError> {
    if file.exists() {
        return Err(refused(format!(
            "{} already exists; choose another name or remove it first (a backup never overwrites a file)",
            file.display()
        )));
    }
    let mut conn = connect(url)?;
    let marked = count(
        &mut conn,
        "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' \
         AND tablename IN ('__diesel_schema_migrations', 'audit_events', 'households')",
    )?;
    if marked < MARKS.len() as i64 {
        return Err(refused(
            "the database holds no Bản Số tables: there is nothing to back up (run `banso migrate` or `banso serve` first, or check DATABASE_URL)",
        ));
    }
    drop(conn);
    let partial = partial_path(file);
    // Made here first: a folder that is missing or not writable is named
    // before pg_dump runs, a stale partial file is never reused, and the
    // dump (households' personal data) is readable by its owner only.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .map_err(io_err(format!("creating {}", partial.display())))?;
    let (url, password) = split_password(url);
    let mut cmd = Command::new(tool("pg_dump"));
    cmd.arg("--format=custom")
        .arg("--file")
        .arg(&partial)
        .arg("--dbname")
        .arg(&url);
    let result = run_tool(cmd, "pg_dump", "backup", password).and_then(|tables| {
        File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(io_err(format!("writing {}", partial.display())))?;
        // A link, not a rename: it fails rather than replace a file made
        // at `file` in the meantime.
        fs::hard_link(&partial, file).map_err(io_err(format!("creating {}", file.display())))?;
        let bytes = fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        Ok(Backup { bytes, tables })
    });
    let _ = fs::remove_file(&partial);
    result
}

fn partial_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    file.with_file_name(name)
}

/// Checks that `file` is a custom-format dump of a Bản Số database; returns
/// its table of contents.
pub fn check_dump(file: &Path) -> Result<String, BackupError> {
    let mut f = File::open(file).map_err(io_err(format!("cannot read {}", file.display())))?;
    if f.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(refused(format!(
            "{} is a folder, not a backup file",
            file.display()
        )));
    }
    let mut head = [0u8; 5];
    let read = f
        .read(&mut head)
        .map_err(io_err(format!("cannot read {}", file.display())))?;
    if read < MAGIC.len() || &head != MAGIC {
        return Err(refused(format!(
            "{} is not a backup made by `banso backup` (not a PostgreSQL custom-format dump)",
            file.display()
        )));
    }
    let out = Command::new(tool("pg_restore"))
        .arg("--list")
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .map_err(io_err("running pg_restore"))?;
    if !out.status.success() {
        return Err(refused(format!(
            "pg_restore cannot read {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let list = String::from_utf8_lossy(&out.stdout).to_string();
    let has = |table: &str| {
        list.lines()
            .any(|l| l.contains(&format!(" TABLE public {table} ")))
    };
    if let Some(missing) = MARKS.iter().find(|t| !has(t)) {
        return Err(refused(format!(
            "{} is a PostgreSQL dump but not of a Bản Số database (it has no table {missing})",
            file.display()
        )));
    }
    Ok(list)
}

/// Restores `file` into the database at `url`. A database that holds
/// tables is refused unless `replace`; then the dump's objects replace
/// those of the same names, in the same one transaction.
pub fn restore(url: &str, file: &Path, replace: bool) -> Result<Restored, BackupError> {
    let list = check_dump(file)?;
    let mut conn = connect(url)?;
    let others = count(
        &mut conn,
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )?;
    if others > 0 {
        return Err(refused(format!(
            "{others} other connections use this database: stop every `banso serve` (and other clients) on it before restoring"
        )));
    }
    let tables = count(&mut conn, TABLES)?;
    if tables > 0 && !replace {
        return Err(refused(format!(
            "the database is not empty ({tables} tables): restoring would replace what it holds; \
             restore into an empty database, or pass --replace to replace its contents with the backup's"
        )));
    }
    drop(conn);
    let (bare, password) = split_password(url);
    let mut cmd = Command::new(tool("pg_restore"));
    cmd.args([
        "--exit-on-error",
        "--single-transaction",
        "--no-owner",
        "--no-privileges",
    ]);
    if replace {
        cmd.args(["--clean", "--if-exists"]);
    }
    cmd.arg("--dbname").arg(&bare).arg(file);
    run_tool(cmd, "pg_restore", "restore", password)?;
    let mut conn = connect(url)?;
    let audit_head = count(
        &mut conn,
        "SELECT coalesce(max(seq), 0) AS n FROM audit_events",
    )?;
    let tables = list
        .lines()
        .filter(|l| l.contains(" TABLE DATA public "))
        .count();
    Ok(Restored { tables, audit_head })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url() {
        assert_eq!(
            split_password("postgres://banso:s%40cret:x@db.example:5432/banso?sslmode=require"),
            (
                "postgres://banso@db.example:5432/banso?sslmode=require".to_string(),
                Some("s@cret:x".to_string())
            )
        );
        assert_eq!(
            split_password("postgresql://postgres@/banso?host=/tmp/run"),
            (
                "postgresql://postgres@/banso?host=/tmp/run".to_string(),
                None
            )
        );
        assert_eq!(
            split_password("postgres://db/banso"),
            ("postgres://db/banso".to_string(), None)
        );
    }

    #[test]
    fn verbose_lines_become_table_names() {
        assert_eq!(
            table_of(r#"pg_dump: dumping contents of table "public.households""#),
            Some("households")
        );
        assert_eq!(
            table_of(r#"pg_restore: processing data for table "public.audit_events""#),
            Some("audit_events")
        );
        assert_eq!(table_of("pg_dump: reading schemas"), None);
        assert!(is_note("pg_dump: reading schemas"));
        assert!(!is_note("pg_dump: error: connection failed"));
    }
}
