//! Ending an account's sessions at once, on every instance.
//!
//! Every access token carries the account's *session epoch* (`sv`) from the
//! moment it was issued. Logout, deactivation, a new password and a change
//! of role or area raise the epoch in `users` ([`end`]); a token whose epoch
//! is older than its account's is refused ([`SessionView::admits`]), the
//! tokens the [`TokenService`](super::tokens::TokenService) remembers
//! included. An epoch rather than a time: it needs no clock shared between
//! instances, and a token issued in the same second as the change is not
//! mistaken for an older one.
//!
//! Checking costs no query per request: each instance keeps the epochs in
//! memory ([`SessionView`]). The instance that ends a session updates its
//! own view as soon as the change commits; the others hear of it through
//! PostgreSQL's `LISTEN`/`NOTIFY` on the channel [`CHANNEL`], on a
//! connection of their own ([`follow`]), which blocks on its socket and so
//! wakes as soon as the notification arrives. After every (re)connection it
//! reads the epochs again, so a change committed while it was away is not
//! missed.

use std::collections::{HashMap, HashSet};
use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{clients, users};
use crate::error::ApiError;

/// The channel that carries "`<user id> <epoch>`" whenever sessions end.
pub const CHANNEL: &str = "banso_sessions";
/// The channel on which each instance answers "`<instance> <user id>
/// <epoch>`" once its view holds an ended session.
pub const HEARD: &str = "banso_sessions_heard";
/// The `application_name` of the listening connections, by which the
/// instance that ends a session counts who must answer.
const LISTENER_NAME: &str = "banso sessions";

/// How long the instance that ended a session waits for every instance to
/// say it knows before answering anyway.
const ACK_PATIENCE: Duration = Duration::from_secs(1);

/// The instances that said they know of one ended session, and since when.
type Answers = (HashSet<Uuid>, Instant);

/// The epochs of the accounts whose sessions have ever ended; an account
/// missing here is at epoch 0.
#[derive(Debug)]
pub struct SessionView {
    /// This instance, in the answers on [`HEARD`].
    instance: Uuid,
    epochs: RwLock<HashMap<Uuid, i64>>,
    /// Which instances said they know of an ended session, and since when
    /// (answers nobody waits for are dropped after a while).
    acks: Mutex<HashMap<(Uuid, i64), Answers>>,
    /// Whether the listening connection is up.
    listening: AtomicBool,
    /// Woken whenever an answer comes.
    news: tokio::sync::Notify,
}

impl Default for SessionView {
    fn default() -> Self {
        SessionView {
            instance: Uuid::new_v4(),
            epochs: RwLock::default(),
            acks: Mutex::default(),
            listening: AtomicBool::new(false),
            news: tokio::sync::Notify::new(),
        }
    }
}

/// What [`end`] did, for [`SessionView::ended_here`] once its transaction
/// has committed.
#[derive(Debug, Clone, Copy)]
pub struct Ended {
    pub user: Uuid,
    pub epoch: i64,
    /// How many instances were listening, each of which will answer.
    listeners: i64,
}

impl SessionView {
    /// Whether a token of `epoch` still speaks for `user`.
    pub fn admits(&self, user: Uuid, epoch: i64) -> bool {
        match self.epochs.read() {
            Ok(epochs) => epochs.get(&user).is_none_or(|&current| epoch >= current),
            // A poisoned lock is a bug elsewhere; refuse rather than admit.
            Err(_) => false,
        }
    }

    /// Records that `user`'s sessions before `epoch` have ended. Epochs only
    /// grow, so hearing of a change twice, or late, does no harm.
    pub fn ended(&self, user: Uuid, epoch: i64) {
        if let Ok(mut epochs) = self.epochs.write() {
            let e = epochs.entry(user).or_insert(epoch);
            *e = (*e).max(epoch);
        }
    }

    fn acked(&self, instance: Uuid, user: Uuid, epoch: i64) {
        if let Ok(mut acks) = self.acks.lock() {
            if acks.len() > 10_000 {
                acks.retain(|_, (_, since)| since.elapsed() < ACK_PATIENCE * 10);
            }
            acks.entry((user, epoch))
                .or_insert_with(|| (HashSet::new(), Instant::now()))
                .0
                .insert(instance);
        }
        self.news.notify_waiters();
    }

    fn answers(&self, key: (Uuid, i64)) -> usize {
        self.acks
            .lock()
            .map(|a| a.get(&key).map_or(0, |(who, _)| who.len()))
            .unwrap_or(usize::MAX)
    }

    /// Records on this instance, once the transaction that ended them has
    /// committed, that the sessions `ended` describes are over, then waits
    /// (up to a second) until every instance that was listening has said
    /// it knows too. So the answer that tells a client its session ended
    /// comes only when no instance would still take the old token.
    pub async fn ended_here(&self, ended: Ended) {
        self.ended(ended.user, ended.epoch);
        let key = (ended.user, ended.epoch);
        let want = usize::try_from(ended.listeners).unwrap_or(0);
        let give_up = Instant::now() + ACK_PATIENCE;
        while self.listening.load(Ordering::Acquire) {
            let mut news = std::pin::pin!(self.news.notified());
            news.as_mut().enable();
            if self.answers(key) >= want {
                break;
            }
            let left = give_up.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!("not every instance confirmed an ended session in time");
                break;
            }
            let _ = actix_web::rt::time::timeout(left, news).await;
        }
        if let Ok(mut acks) = self.acks.lock() {
            acks.remove(&key);
        }
    }
}

/// Ends every access token `user` holds, inside the caller's transaction:
/// raises the epoch (which locks the account's row, so do it before
/// touching its refresh tokens) and announces it to every instance when
/// the transaction commits.
pub fn end(conn: &mut PgConnection, user: Uuid) -> Result<Ended, ApiError> {
    let epoch: i64 = diesel::update(users::table.find(user))
        .set((
            users::session_epoch.eq(users::session_epoch + 1),
            users::sessions_ended_at.eq(diesel::dsl::now),
        ))
        .returning(users::session_epoch)
        .get_result(conn)?;
    announce(conn, user, epoch)
}

/// Ends every access token an integration client holds (on revocation and
/// when its scopes change), as [`end`] does for an account.
pub fn end_client(conn: &mut PgConnection, client: Uuid) -> Result<Ended, ApiError> {
    let epoch: i64 = diesel::update(clients::table.find(client))
        .set(clients::session_epoch.eq(clients::session_epoch + 1))
        .returning(clients::session_epoch)
        .get_result(conn)?;
    announce(conn, client, epoch)
}

/// Tells every instance, when the transaction commits, that `user`'s
/// tokens before `epoch` are over.
fn announce(conn: &mut PgConnection, user: Uuid, epoch: i64) -> Result<Ended, ApiError> {
    #[derive(QueryableByName)]
    struct Listeners {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let listeners = diesel::sql_query(
        "SELECT pg_notify($1, $2)::text AS sent, (SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = $3) AS n",
    )
    .bind::<diesel::sql_types::Text, _>(CHANNEL)
    .bind::<diesel::sql_types::Text, _>(format!("{user} {epoch}"))
    .bind::<diesel::sql_types::Text, _>(LISTENER_NAME)
    .get_result::<Listeners>(conn)?
    .n;
    Ok(Ended {
        user,
        epoch,
        listeners,
    })
}

/// Every account's and client's epoch that is not 0.
fn read_epochs(conn: &mut PgConnection) -> QueryResult<Vec<(Uuid, i64)>> {
    let mut epochs: Vec<(Uuid, i64)> = users::table
        .filter(users::session_epoch.gt(0))
        .select((users::id, users::session_epoch))
        .load(conn)?;
    epochs.extend(
        clients::table
            .filter(clients::session_epoch.gt(0))
            .select((clients::id, clients::session_epoch))
            .load::<(Uuid, i64)>(conn)?,
    );
    Ok(epochs)
}

fn parse_payload(payload: &str) -> Option<(Uuid, i64)> {
    let (user, epoch) = payload.split_once(' ')?;
    Some((user.parse().ok()?, epoch.parse().ok()?))
}

fn parse_ack(payload: &str) -> Option<(Uuid, Uuid, i64)> {
    let (instance, rest) = payload.split_once(' ')?;
    let (user, epoch) = parse_payload(rest)?;
    Some((instance.parse().ok()?, user, epoch))
}

/// Keeps `view` fed from the database at `url` on a thread of its own,
/// until the view is dropped. The receiver hears once, when the view has
/// first been read in full.
pub fn follow(url: String, view: Weak<SessionView>) -> std::io::Result<mpsc::Receiver<()>> {
    let (ready, synced) = mpsc::channel();
    std::thread::Builder::new()
        .name("banso-sessions".into())
        .spawn(move || {
            const FIRST: Duration = Duration::from_millis(250);
            const LONGEST: Duration = Duration::from_secs(30);
            let mut ready = Some(ready);
            let mut pause = FIRST;
            while view.strong_count() > 0 {
                match listen(&url, &view, &mut ready) {
                    Ok(()) => return,
                    Err(Listening::Lost(why)) => {
                        tracing::warn!(error = %why, "session notifications lost; reconnecting");
                        pause = FIRST;
                    }
                    Err(Listening::Unavailable(why)) => {
                        tracing::warn!(error = %why, "cannot follow ended sessions; retrying");
                    }
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(LONGEST);
            }
        })?;
    Ok(synced)
}

enum Listening {
    /// Could not connect, listen or read the epochs.
    Unavailable(String),
    /// Was listening, and the connection broke.
    Lost(String),
}

/// One connection's life: listen, read every epoch, then apply
/// notifications as they come. `Ok` when the view is gone.
fn listen(
    url: &str,
    view: &Weak<SessionView>,
    ready: &mut Option<mpsc::Sender<()>>,
) -> Result<(), Listening> {
    let mut listener = Listener::connect(url).map_err(Listening::Unavailable)?;
    listener
        .exec(&format!(
            "SET application_name = '{LISTENER_NAME}'; LISTEN {CHANNEL}; LISTEN {HEARD}"
        ))
        .map_err(Listening::Unavailable)?;
    // Listening first, reading second: a change committed in between is
    // both read and heard, never neither.
    let epochs = PgConnection::establish(url)
        .map_err(|e| e.to_string())
        .and_then(|mut conn| read_epochs(&mut conn).map_err(|e| e.to_string()))
        .map_err(Listening::Unavailable)?;
    {
        let Some(view) = view.upgrade() else {
            return Ok(());
        };
        for (user, epoch) in epochs {
            view.ended(user, epoch);
        }
        view.listening.store(true, Ordering::Release);
    }
    if let Some(ready) = ready.take() {
        let _ = ready.send(());
    }
    let lost = |why: String| {
        if let Some(view) = view.upgrade() {
            view.listening.store(false, Ordering::Release);
            view.news.notify_waiters();
        }
        Listening::Lost(why)
    };
    loop {
        listener.wait(Duration::from_secs(1)).map_err(lost)?;
        let Some(view) = view.upgrade() else {
            return Ok(());
        };
        let mut answers = Vec::new();
        for (channel, payload) in listener.notifications().map_err(lost)? {
            if channel == CHANNEL
                && let Some((user, epoch)) = parse_payload(&payload)
            {
                view.ended(user, epoch);
                // Only what was parsed goes back: ids and numbers, nothing
                // that needs quoting.
                answers.push(format!(
                    "pg_notify('{HEARD}', '{} {user} {epoch}')",
                    view.instance
                ));
            } else if channel == HEARD
                && let Some((instance, user, epoch)) = parse_ack(&payload)
            {
                view.acked(instance, user, epoch);
            } else {
                tracing::warn!("unreadable session notification ignored");
            }
        }
        if !answers.is_empty() {
            listener
                .exec(&format!("SELECT {}", answers.join(", ")))
                .map_err(lost)?;
        }
    }
}

/// A libpq connection used only to listen. diesel's `PgConnection` can hand
/// over notifications already received but cannot wait for one; waiting on
/// the socket is what makes another instance's logout count here within
/// moments rather than at the next poll.
struct Listener {
    conn: std::ptr::NonNull<pq_sys::PGconn>,
}

// The connection is used by one thread at a time (it is moved into the
// listening thread and never shared).
unsafe impl Send for Listener {}

impl Listener {
    fn connect(url: &str) -> Result<Listener, String> {
        let info = CString::new(url).map_err(|_| "database URL holds a NUL byte".to_string())?;
        // SAFETY: `info` is a valid C string for the duration of the call.
        let raw = unsafe { pq_sys::PQconnectdb(info.as_ptr()) };
        let conn = std::ptr::NonNull::new(raw).ok_or("out of memory connecting")?;
        let listener = Listener { conn };
        // SAFETY: `conn` is a live connection object until `Drop`; the
        // processor keeps libpq from printing the server's notices (such
        // as its goodbye when the connection is closed) on standard error.
        let status = unsafe {
            pq_sys::PQsetNoticeProcessor(
                listener.conn.as_ptr(),
                Some(ignore_notice),
                std::ptr::null_mut(),
            );
            pq_sys::PQstatus(listener.conn.as_ptr())
        };
        if status != pq_sys::ConnStatusType::CONNECTION_OK {
            return Err(listener.error());
        }
        Ok(listener)
    }

    fn error(&self) -> String {
        // SAFETY: libpq returns a C string owned by the connection, valid
        // until the next call on it; it is copied at once.
        unsafe {
            let msg = pq_sys::PQerrorMessage(self.conn.as_ptr());
            if msg.is_null() {
                return "unknown libpq error".into();
            }
            CStr::from_ptr(msg).to_string_lossy().trim().to_string()
        }
    }

    fn exec(&mut self, sql: &str) -> Result<(), String> {
        let sql = CString::new(sql).map_err(|_| "statement holds a NUL byte".to_string())?;
        // SAFETY: a live connection and a valid C string; the result is
        // cleared before returning.
        unsafe {
            let res = pq_sys::PQexec(self.conn.as_ptr(), sql.as_ptr());
            let ok = !res.is_null()
                && matches!(
                    pq_sys::PQresultStatus(res),
                    pq_sys::ExecStatusType::PGRES_COMMAND_OK
                        | pq_sys::ExecStatusType::PGRES_TUPLES_OK
                );
            pq_sys::PQclear(res);
            if ok { Ok(()) } else { Err(self.error()) }
        }
    }

    /// Waits until the server sends something, or `timeout` passes.
    fn wait(&mut self, timeout: Duration) -> Result<(), String> {
        // SAFETY: a live connection.
        let fd = unsafe { pq_sys::PQsocket(self.conn.as_ptr()) };
        if fd < 0 {
            return Err("the connection has no socket".into());
        }
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut poll, 1, ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(format!("poll: {e}"));
            }
        }
        Ok(())
    }

    /// The channels and payloads of the notifications received so far.
    fn notifications(&mut self) -> Result<Vec<(String, String)>, String> {
        let conn = self.conn.as_ptr();
        // SAFETY: a live connection; each notification is copied and then
        // freed with PQfreemem, as libpq requires.
        unsafe {
            if pq_sys::PQconsumeInput(conn) == 0 {
                return Err(self.error());
            }
            if pq_sys::PQstatus(conn) != pq_sys::ConnStatusType::CONNECTION_OK {
                return Err(self.error());
            }
            let mut out = Vec::new();
            loop {
                let n = pq_sys::PQnotifies(conn);
                if n.is_null() {
                    break;
                }
                let (channel, extra) = ((*n).relname, (*n).extra);
                if !channel.is_null() && !extra.is_null() {
                    out.push((
                        CStr::from_ptr(channel).to_string_lossy().into_owned(),
                        CStr::from_ptr(extra).to_string_lossy().into_owned(),
                    ));
                }
                pq_sys::PQfreemem(n.cast());
            }
            Ok(out)
        }
    }
}

unsafe extern "C" fn ignore_notice(_: *mut libc::c_void, _: *const libc::c_char) {}

impl Drop for Listener {
    fn drop(&mut self) {
        // SAFETY: the connection is finished exactly once.
        unsafe { pq_sys::PQfinish(self.conn.as_ptr()) }
    }
}

/// The shared view and its follower, for `Application::build`: starts
/// following `url` and waits up to `patience` for the first full read, so
/// that a new instance does not serve before it knows which sessions ended.
pub fn start(view: &Arc<SessionView>, url: Option<&str>, patience: Duration) {
    let Some(url) = url else {
        tracing::warn!("no database URL: sessions ended on other instances are not followed");
        return;
    };
    match follow(url.to_string(), Arc::downgrade(view)) {
        Ok(synced) => {
            if synced.recv_timeout(patience).is_err() {
                tracing::warn!("ended sessions not read yet; serving while the reader retries");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot start following ended sessions"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_only_grow_and_old_tokens_fail() {
        let view = SessionView::default();
        let user = Uuid::now_v7();
        assert!(view.admits(user, 0));
        view.ended(user, 2);
        view.ended(user, 1);
        assert!(!view.admits(user, 1));
        assert!(view.admits(user, 2));
        assert!(view.admits(Uuid::now_v7(), 0));
    }

    #[test]
    fn payloads_parse_or_are_ignored() {
        let user = Uuid::now_v7();
        assert_eq!(parse_payload(&format!("{user} 3")), Some((user, 3)));
        assert_eq!(parse_payload("nonsense"), None);
        assert_eq!(parse_payload(&format!("{user} x")), None);
    }
}
