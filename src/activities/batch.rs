//! New activities are written in batches across requests (group commit).
//!
//! A request that records a training or a visit hands its checked-in body
//! to the writer of its kind and waits. The writer takes every record
//! waiting at that moment (up to [`MAX_BATCH`]) and stores them in one
//! transaction: one query for the households or teams they name, one for
//! the catalogue, one for month locks, one multi-row insert of the records
//! and one of their audit events, then one commit. Each request is answered
//! only after that commit, so a 2xx still means "stored", and each record
//! gets its own answer: a record refused by a check never holds the others
//! back. Under light load a batch holds one record and costs what a lone
//! transaction did; under heavy load the cost of the round trips and of the
//! commit is shared.
//!
//! Should the batch's transaction fail as a whole (the database going away,
//! a deadlock with a month being locked, anything unexpected), its records
//! are written again one by one, each in a transaction of its own, so that
//! one record the database refuses fails alone; when the database is away,
//! they are all answered 503 at once.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use diesel::prelude::*;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::Created;
use super::http::{Activity, NewRecord, create_in, event, resend};
use crate::audit::{self, Ctx};
use crate::auth::{AuthUser, Scope};
use crate::db::PgPool;
use crate::error::ApiError;

/// The most records one transaction stores.
pub const MAX_BATCH: usize = 256;
/// Records waiting beyond this make new requests wait to hand theirs in.
const QUEUE: usize = 4 * MAX_BATCH;

type Answer<A> = Result<(<A as Activity>::Row, Created), ApiError>;

/// A new record as a request made it: who, from where, what, and the hash
/// of the body that tells a resend.
pub struct Record<A: Activity> {
    pub user: AuthUser,
    pub ctx: Ctx,
    pub input: A::Input,
    pub hash: Vec<u8>,
}

/// One record to store, and where its answer goes.
struct Job<A: Activity> {
    record: Record<A>,
    reply: oneshot::Sender<Answer<A>>,
}

/// The writer of one kind of activity: a thread of its own that stores
/// what requests hand it, a batch at a time.
pub struct Writer<A: Activity> {
    queue: mpsc::Sender<Job<A>>,
}

impl<A: Activity> Writer<A> {
    /// Starts `threads` writer threads sharing one queue: while one waits
    /// for PostgreSQL, another gathers and checks the next batch. They end
    /// when the last handle is dropped and what was handed in is stored.
    pub fn start(pool: PgPool, threads: usize) -> std::io::Result<Writer<A>> {
        let (queue, jobs) = mpsc::channel::<Job<A>>(QUEUE);
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..threads.max(1) {
            let (pool, jobs) = (pool.clone(), jobs.clone());
            std::thread::Builder::new()
                .name(format!("banso-{}-writer-{n}", A::ENTITY))
                .spawn(move || {
                    while let Some(batch) = next_batch(&jobs) {
                        // A panic fails this batch's requests (their answers
                        // are dropped: 500), not the writer.
                        let stored = std::panic::catch_unwind(AssertUnwindSafe(|| {
                            store_batch::<A>(&pool, batch)
                        }));
                        if stored.is_err() {
                            tracing::error!(
                                entity = A::ENTITY.as_str(),
                                "activity writer panicked on a batch"
                            );
                        }
                    }
                })?;
        }
        Ok(Writer { queue })
    }

    /// The kind of record this writer stores.
    pub fn kind(&self) -> &'static str {
        A::ENTITY.as_str()
    }

    /// Records handed in and not yet taken into a batch.
    pub fn waiting(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Stores a new record under the phone's id, or recognises a resend of
    /// it; answers once the record is committed.
    pub async fn create(
        &self,
        user: AuthUser,
        ctx: Ctx,
        input: A::Input,
        hash: Vec<u8>,
    ) -> Answer<A> {
        let (reply, answer) = oneshot::channel();
        let record = Record {
            user,
            ctx,
            input,
            hash,
        };
        let job = Job { record, reply };
        self.queue
            .send(job)
            .await
            .map_err(|_| ApiError::internal("the activity writer has stopped"))?;
        answer
            .await
            .map_err(|_| ApiError::internal("the activity writer dropped a record"))?
    }
}

/// Waits for a first record, then takes what else is waiting; `None` once
/// every handle is gone and the queue is empty.
fn next_batch<A: Activity>(jobs: &Mutex<mpsc::Receiver<Job<A>>>) -> Option<Vec<Job<A>>> {
    let mut jobs = jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut batch = vec![jobs.blocking_recv()?];
    while batch.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    crate::metrics::writer_batch(A::ENTITY.as_str(), batch.len());
    Some(batch)
}

fn store_batch<A: Activity>(pool: &PgPool, jobs: Vec<Job<A>>) {
    let (records, replies): (Vec<Record<A>>, Vec<_>) =
        jobs.into_iter().map(|j| (j.record, j.reply)).unzip();
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(e) => {
            let e = ApiError::from(e);
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
            return;
        }
    };
    let answers = conn.transaction(|conn| write_batch::<A>(conn, &records));
    match answers {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
        // One record, or the database away: trying again one by one would
        // only fail again.
        Err(e) if records.len() == 1 || matches!(e, ApiError::Unavailable) => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
        Err(e) => {
            tracing::warn!(entity = A::ENTITY.as_str(), records = records.len(), error = %e,
                "batch of records failed as a whole; storing them one by one");
            for (r, reply) in records.iter().zip(replies) {
                let answer = conn.transaction(|conn| {
                    let scope = Scope::of(conn, &r.user)?;
                    create_in::<A>(conn, &scope, &r.user, &r.ctx, &r.input, &r.hash)
                });
                let _ = reply.send(answer);
            }
        }
    }
}

/// Whether an error says the database failed rather than the record: the
/// batch is then written again record by record.
fn database_failed(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::Internal(_) | ApiError::Unavailable | ApiError::BadRequest(_)
    )
}

/// Checks and stores new records in the caller's transaction; one answer
/// per record, in order, as `create_in` would give them one after the
/// other. `Err` when the database failed: the caller's transaction is then
/// unusable and must be rolled back.
pub fn write_batch<A: Activity>(
    conn: &mut PgConnection,
    jobs: &[Record<A>],
) -> Result<Vec<Answer<A>>, ApiError> {
    let mut answers: Vec<Option<Answer<A>>> = jobs.iter().map(|_| None).collect();
    let mut scopes = Vec::with_capacity(jobs.len());
    for (answer, job) in answers.iter_mut().zip(jobs) {
        match Scope::of(conn, &job.user) {
            Ok(scope) => scopes.push(Some(scope)),
            Err(e) if database_failed(&e) => return Err(e),
            Err(e) => {
                scopes.push(None);
                *answer = Some(Err(e));
            }
        }
    }

    // Resends first, with one query for the batch: a record already stored
    // under its id is answered with what is stored, before any check, so
    // that whatever changed since (its team dissolved, its household
    // archived, a member left, its month locked) the phone hears what it
    // would have heard the first time.
    let ids: Vec<Uuid> = jobs.iter().map(|j| A::input_id(&j.input)).collect();
    let mut earlier: HashMap<Uuid, A::Row> = A::by_client_ids(conn, &ids)?
        .into_iter()
        .map(|row| (A::meta(&row).id, row))
        .collect();
    for ((answer, job), scope) in answers.iter_mut().zip(jobs).zip(&scopes) {
        if let (None, Some(scope), Some(row)) =
            (&answer, scope, earlier.get(&A::input_id(&job.input)))
        {
            *answer = Some(resend::<A>(scope, row, &job.hash));
        }
    }

    // Each new record checked on its own, against what was fetched for all.
    let fresh: Vec<&A::Input> = jobs
        .iter()
        .zip(&answers)
        .filter(|(_, a)| a.is_none())
        .map(|(j, _)| &j.input)
        .collect();
    let known = if fresh.is_empty() {
        A::Known::default()
    } else {
        A::prefetch(conn, &fresh)?
    };
    let mut checked: Vec<Option<A::Changes>> = Vec::with_capacity(jobs.len());
    for ((answer, job), scope) in answers.iter_mut().zip(jobs).zip(&scopes) {
        let (None, Some(scope)) = (&answer, scope) else {
            checked.push(None);
            continue;
        };
        match A::parse(conn, scope, &job.input, None, &known) {
            Ok(changes) => checked.push(Some(changes)),
            Err(e) if database_failed(&e) => return Err(e),
            Err(e) => {
                *answer = Some(Err(e));
                checked.push(None);
            }
        }
    }
    let places: Vec<(String, chrono::NaiveDate)> = checked
        .iter()
        .flatten()
        .map(A::place)
        .map(|(path, date)| (path.to_string(), date))
        .collect();
    let mut locks = super::locks_on(conn, &places)?.into_iter();
    for (answer, c) in answers.iter_mut().zip(checked.iter_mut()) {
        if c.is_some()
            && let Some(Some(lock)) = locks.next()
        {
            *c = None;
            *answer = Some(Err(lock));
        }
    }

    // Insert what passed, each id once: a second record under the same id
    // in the same batch is answered like a resend.
    let mut inserter: HashMap<Uuid, usize> = HashMap::new();
    let mut new: Vec<NewRecord<'_, A::Changes>> = jobs
        .iter()
        .zip(&checked)
        .enumerate()
        .filter_map(|(i, (job, c))| {
            let id = A::input_id(&job.input);
            let changes = c.as_ref()?;
            if inserter.contains_key(&id) {
                return None;
            }
            inserter.insert(id, i);
            Some(NewRecord {
                id,
                changes,
                recorded_at: A::recorded_at(&job.input),
                recorded_by: job.user.id,
                body_hash: &job.hash,
            })
        })
        .collect();
    // In id order, so that two batches holding some of the same ids (two
    // writers, or a writer and a sync) wait for each other instead of
    // deadlocking.
    new.sort_by_key(|n| n.id);
    let mut stored: HashMap<Uuid, A::Row> = A::insert_many(conn, &new)?
        .into_iter()
        .map(|row| (A::meta(&row).id, row))
        .collect();

    // An id that passed but was not inserted was stored meanwhile by a
    // concurrent request: looked up, at once, and answered as a resend.
    let taken: Vec<Uuid> = new
        .iter()
        .map(|n| n.id)
        .filter(|id| !stored.contains_key(id))
        .collect();
    if !taken.is_empty() {
        earlier.extend(
            A::by_client_ids(conn, &taken)?
                .into_iter()
                .map(|row| (A::meta(&row).id, row)),
        );
    }

    let mut events = Vec::new();
    for (i, ((job, c), scope)) in jobs.iter().zip(&checked).zip(&scopes).enumerate() {
        if answers[i].is_some() {
            continue;
        }
        let (Some(_), Some(scope)) = (c, scope) else {
            return Err(ApiError::internal("a checked record lost its check"));
        };
        let id = A::input_id(&job.input);
        if inserter.get(&id) == Some(&i)
            && let Some(row) = stored.remove(&id)
        {
            let e = event::<A>(crate::audit::Action::Create, &row).after(A::Dto::from(row.clone()));
            events.push((&job.ctx, e));
            // Later records of the batch under this id compare with it.
            earlier.insert(id, row.clone());
            answers[i] = Some(Ok((row, Created::Created)));
            continue;
        }
        answers[i] = Some(match earlier.get(&id) {
            Some(row) => resend::<A>(scope, row, &job.hash),
            None => return Err(ApiError::internal("a conflicting record vanished")),
        });
    }
    audit::record_many(conn, &events)?;
    answers
        .into_iter()
        .map(|a| a.ok_or_else(|| ApiError::internal("a record of the batch was left unanswered")))
        .collect()
}
