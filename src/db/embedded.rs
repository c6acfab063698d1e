//! The embedded default: a private PostgreSQL cluster under a data folder,
//! run from the PostgreSQL binaries installed on the machine, reachable only
//! through a Unix socket inside that folder.
//!
//! The server is a child process in its own process group (so a Ctrl-C in
//! the terminal reaches Bản Số, which drains requests before stopping the
//! database), and it is told by the kernel to shut down if the thread that
//! started it dies, so a crash never leaves a stray server behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};

/// How to install PostgreSQL, said whenever no binaries are found.
pub const INSTALL_HINT: &str = "no PostgreSQL server binaries (initdb, postgres) were found on PATH \
or under /usr/lib/postgresql/*/bin. Install them, for example with \
`apt-get install postgresql` on Debian or Ubuntu, `dnf install postgresql-server` on Fedora, \
or `brew install postgresql` on macOS; or set DATABASE_URL to an existing server.";

/// Unix socket paths are limited to 107 bytes (108 with the final NUL).
const MAX_SOCKET_PATH: usize = 107;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("{INSTALL_HINT}")]
    NoBinaries,
    #[error("{0}")]
    Setup(String),
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> EmbeddedError {
    let what = what.into();
    move |source| EmbeddedError::Io { what, source }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Trade durability for speed (test clusters): fsync off and friends.
    pub ephemeral: bool,
    /// Extra environment for the server process (for instance `LANGUAGE`,
    /// which picks the language of its messages).
    pub env: Vec<(String, String)>,
}

/// A running private cluster. Stopped by [`EmbeddedPostgres::stop`] or when
/// dropped.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    child: Option<Child>,
    socket_dir: PathBuf,
    root: PathBuf,
}

/// The user the server runs as: ourselves, or `postgres` when we are root
/// (initdb and postgres refuse to run as root).
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

fn run_as() -> Result<Option<RunAs>, EmbeddedError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let passwd = fs::read_to_string("/etc/passwd").map_err(io_err("reading /etc/passwd"))?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == "postgres")
        .and_then(|f| {
            Some(RunAs {
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
            })
        })
        .map(Some)
        .ok_or_else(|| {
            EmbeddedError::Setup(
                "running as root, but there is no `postgres` system user to run the embedded \
                 database as (PostgreSQL refuses to run as root). Install the postgresql package, \
                 which creates it, or run Bản Số as an ordinary user."
                    .into(),
            )
        })
}

/// Finds a directory holding both `initdb` and `postgres`: the one named by
/// `BANSO_PG_BINDIR` when set (and only it), else the first on PATH, else
/// the newest under /usr/lib/postgresql.
pub fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("BANSO_PG_BINDIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return has_both(&dir).then_some(dir);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_both(&dir) {
                // Resolve symlinks so that initdb finds its share/ directory.
                let real = fs::canonicalize(dir.join("initdb"))
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .unwrap_or(dir);
                if has_both(&real) {
                    return Some(real);
                }
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_both(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

impl EmbeddedPostgres {
    /// Creates the cluster under `root` on first use, then starts it and
    /// waits until it accepts connections. `root` is made absolute.
    pub fn start(root: &Path, options: &Options) -> Result<Self, EmbeddedError> {
        let bin = find_bin_dir().ok_or(EmbeddedError::NoBinaries)?;
        let owner = run_as()?;
        fs::create_dir_all(root).map_err(io_err(format!("creating {}", root.display())))?;
        let root =
            fs::canonicalize(root).map_err(io_err(format!("resolving {}", root.display())))?;
        let data = root.join("data");
        let socket_dir = root.join("run");
        let socket_len = socket_dir.as_os_str().len() + "/.s.PGSQL.5432".len();
        if socket_len > MAX_SOCKET_PATH {
            return Err(EmbeddedError::Setup(format!(
                "the data folder {} is too deep for a Unix socket path ({socket_len} bytes, at most {MAX_SOCKET_PATH}); choose a shorter BANSO_DATA_DIR",
                root.display()
            )));
        }
        for dir in [&root, &socket_dir] {
            fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
            give_to(dir, owner)?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(io_err(format!("setting permissions on {}", dir.display())))?;
        }
        if let Some(owner) = owner {
            check_reachable(&root, owner)?;
        }
        let log_path = root.join("postgres.log");

        if !data.join("PG_VERSION").exists() {
            let mut initdb = Command::new(bin.join("initdb"));
            initdb.arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
            ]);
            if options.ephemeral {
                initdb.arg("--no-sync");
            }
            if let Some(o) = owner {
                initdb.uid(o.uid).gid(o.gid);
            }
            let out = initdb
                .current_dir(&root)
                .output()
                .map_err(io_err("running initdb"))?;
            if !out.status.success() {
                let _ = fs::remove_dir_all(&data);
                return Err(EmbeddedError::Setup(format!(
                    "initdb failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
        }

        // Another Bản Số command (a running `serve`, say) may have the
        // cluster up already: use it rather than start a second server on
        // the same data, and leave stopping it to its owner.
        let running = EmbeddedPostgres {
            child: None,
            socket_dir: socket_dir.clone(),
            root: root.clone(),
        };
        if data.join("postmaster.pid").exists()
            && PgConnection::establish(&running.url("postgres")).is_ok()
        {
            tracing::info!("the embedded cluster is already running; using it");
            return Ok(running);
        }
        drop(running);

        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io_err(format!("opening {}", log_path.display())))?;
        give_to(&log_path, owner)?;
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);

        let mut cmd = Command::new(bin.join("postgres"));
        cmd.arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&socket_dir)
            .args([
                "-c",
                "listen_addresses=",
                "-c",
                "unix_socket_permissions=0700",
            ])
            .args(["-c", "max_connections=200", "-c", "shared_buffers=128MB"]);
        if options.ephemeral {
            cmd.args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
                .args(["-c", "full_page_writes=off"]);
        }
        if let Some(o) = owner {
            cmd.uid(o.uid).gid(o.gid);
        }
        cmd.envs(options.env.iter().map(|(k, v)| (k, v)));
        cmd.current_dir(&root)
            .stdin(Stdio::null())
            .stdout(
                log.try_clone()
                    .map_err(io_err("duplicating the log handle"))?,
            )
            .stderr(log)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; it runs in the child between
        // fork and exec and only sets the parent-death signal (after the uid
        // change, which would otherwise clear it).
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(io_err("starting postgres"))?;
        let mut pg = EmbeddedPostgres {
            child: Some(child),
            socket_dir,
            root: root.clone(),
        };
        pg.wait_ready(&log_path, log_start)?;
        Ok(pg)
    }

    fn wait_ready(&mut self, log_path: &Path, log_start: u64) -> Result<(), EmbeddedError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = self.url("postgres");
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(EmbeddedError::Setup(format!(
                    "postgres exited at start ({status}): {}",
                    read_tail(log_path, log_start)
                )));
            }
            if PgConnection::establish(&url).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(EmbeddedError::Setup(format!(
                    "postgres did not accept connections within 60 s: {}",
                    read_tail(log_path, log_start)
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A libpq URL for `database` on this cluster's socket.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgresql://postgres@/{database}?host={}",
            self.socket_dir.display()
        )
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates `database` unless it exists.
    pub fn ensure_database(&self, database: &str) -> Result<(), EmbeddedError> {
        let mut conn = PgConnection::establish(&self.url("postgres")).map_err(|e| {
            EmbeddedError::Setup(format!("connecting to the embedded cluster: {e}"))
        })?;
        #[derive(diesel::QueryableByName)]
        struct Exists {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            exists: bool,
        }
        let found: Exists = diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists",
        )
        .bind::<diesel::sql_types::Text, _>(database)
        .get_result(&mut conn)
        .map_err(|e| EmbeddedError::Setup(format!("checking database {database}: {e}")))?;
        if !found.exists {
            diesel::sql_query(format!("CREATE DATABASE {}", super::quote_ident(database)))
                .execute(&mut conn)
                .map_err(|e| EmbeddedError::Setup(format!("creating database {database}: {e}")))?;
        }
        Ok(())
    }

    /// Fast shutdown: open sessions are ended, data is checkpointed.
    /// Whether this handle had started the server (and so stopped it).
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: kill with a pid we own and a valid signal number.
            unsafe {
                libc::kill(pid, libc::SIGINT);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        true
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn give_to(path: &Path, owner: Option<RunAs>) -> Result<(), EmbeddedError> {
    if let Some(o) = owner {
        std::os::unix::fs::chown(path, Some(o.uid), Some(o.gid)).map_err(io_err(format!(
            "giving {} to the postgres user",
            path.display()
        )))?;
    }
    Ok(())
}

/// The postgres user must be able to walk down to the data folder.
fn check_reachable(root: &Path, owner: RunAs) -> Result<(), EmbeddedError> {
    for dir in root.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(dir) else {
            continue;
        };
        let mode = meta.permissions().mode();
        use std::os::unix::fs::MetadataExt;
        let ok = if meta.uid() == owner.uid {
            mode & 0o100 != 0
        } else if meta.gid() == owner.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !ok {
            return Err(EmbeddedError::Setup(format!(
                "the postgres user cannot enter {} (mode {:o}), so it cannot reach the data folder {}; \
                 choose a BANSO_DATA_DIR outside it or allow others to enter it",
                dir.display(),
                mode & 0o777,
                root.display()
            )));
        }
    }
    Ok(())
}

fn read_tail(path: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.seek(SeekFrom::Start(from));
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().rev().take(8).collect();
    if lines.is_empty() {
        format!("see {}", path.display())
    } else {
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }
}
