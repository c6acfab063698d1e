//! Every record is in the feed: a portal that follows `GET /changes` from
//! its start must see every record that exists, whatever wrote it.
//!
//! The API's own writes append their event in the writing transaction. Bulk
//! writers that bypass it (the demo, `banso seed`, a migration that moves or
//! adds records, a database from before the feed) are caught up here: every
//! record of a kind the feed reports that has no change event yet gets a
//! `create` event, placed in its area like any other. The pass is run after
//! those writers, under an advisory lock so that two instances starting
//! together announce a record once.

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::audit::{Action, Ctx, Entity, Event, record_many};
use crate::db::schema::app_meta;
use crate::error::ApiError;

/// Held while a pass runs. The number spells "announ" in ASCII.
const LOCK: i64 = 0x616e_6e6f_756e;
/// Set in `app_meta` once a pass has run: databases without it (made by an
/// older Bản Số) get one at the next migration.
pub const DONE_KEY: &str = "feed_complete";
/// Records announced per transaction.
const BATCH: i64 = 2_000;

/// A kind the feed reports, and where its records are.
struct Source {
    entity: Entity,
    table: &'static str,
    /// The record's id in the text its events use, of the table's row `t`.
    id: &'static str,
    /// Its area's path.
    path: &'static str,
    /// Whether the table is walked in batches by its uuid key `t.id`;
    /// month locks are few and taken at once.
    walked: bool,
}

const fn by_id(entity: Entity, table: &'static str, path: &'static str) -> Source {
    Source {
        entity,
        table,
        id: "t.id::text",
        path,
        walked: true,
    }
}

const SOURCES: &[Source] = &[
    by_id(Entity::Unit, "units", "t.path"),
    by_id(Entity::Team, "teams", "t.area_path"),
    by_id(Entity::Member, "members", "t.area_path"),
    by_id(Entity::Household, "households", "t.area_path"),
    by_id(Entity::Training, "trainings", "t.area_path"),
    by_id(Entity::Assistance, "assistances", "t.area_path"),
    Source {
        entity: Entity::Period,
        table: "period_locks",
        id: "t.unit_id::text || '/' || to_char(t.month, 'YYYY-MM')",
        path: "t.area_path",
        walked: false,
    },
];

#[derive(QueryableByName)]
struct Unlisted {
    #[diesel(sql_type = Text)]
    entity_id: String,
    #[diesel(sql_type = Text)]
    area_path: String,
}

/// Announces every record that has no change event yet, as done by `task`
/// (the name the audit trail shows), and marks the feed complete. Returns
/// how many records were announced.
pub fn unlisted(conn: &mut PgConnection, task: &str) -> Result<usize, ApiError> {
    announce(conn, task, SOURCES)
}

/// As `unlisted`, for the registry's kinds only (units, teams, members,
/// households): after a writer that adds the events of the activities and
/// month locks it makes in their own transactions (`banso seed`), on a
/// database whose earlier records a pass has already announced. Walking
/// the visits for events they all have would read every one of them again
/// (7 to 15 minutes for the ten million of the national tenth).
pub fn unlisted_registry(conn: &mut PgConnection, task: &str) -> Result<usize, ApiError> {
    let registry = [
        Entity::Unit,
        Entity::Team,
        Entity::Member,
        Entity::Household,
    ];
    announce(
        conn,
        task,
        SOURCES.iter().filter(|s| registry.contains(&s.entity)),
    )
}

fn announce<'a>(
    conn: &mut PgConnection,
    task: &str,
    sources: impl IntoIterator<Item = &'a Source>,
) -> Result<usize, ApiError> {
    diesel::sql_query(format!("SELECT pg_advisory_lock({LOCK})")).execute(conn)?;
    let result = announce_all(conn, task, sources);
    let unlock = diesel::sql_query(format!("SELECT pg_advisory_unlock({LOCK})")).execute(conn);
    let announced = result?;
    unlock?;
    Ok(announced)
}

/// Whether a pass has run on this database.
pub fn done(conn: &mut PgConnection) -> Result<bool, ApiError> {
    Ok(app_meta::table
        .find(DONE_KEY)
        .select(app_meta::key)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

fn announce_all<'a>(
    conn: &mut PgConnection,
    task: &str,
    sources: impl IntoIterator<Item = &'a Source>,
) -> Result<usize, ApiError> {
    let ctx = Ctx::system(task);
    let changes = Action::changes()
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(",");
    let mut announced = 0;
    // Fresh statistics first (here, and for each table below): after a bulk
    // load the planner would take the tables for empty and look for the
    // events by scanning them.
    diesel::sql_query("ANALYZE audit_events").execute(conn)?;
    for source in sources {
        let Source {
            entity,
            table,
            id,
            path,
            walked,
        } = source;
        // Each record's events are looked up by its key, one index probe a
        // record: as a subquery that PostgreSQL keeps per row, not as an
        // anti-join, whose plan follows the statistics. Those are taken
        // before the pass and say the trail holds none of the events the
        // pass is adding, so the anti-join read all the kind's events again
        // for every record, slower at each batch.
        let select = format!(
            "SELECT {id} AS entity_id, {path} AS area_path FROM {table} t \
             WHERE (SELECT 1 FROM audit_events e \
               WHERE e.entity = '{entity}' AND e.entity_id = {id} AND e.action IN ({changes}) \
               LIMIT 1) IS NULL",
            entity = entity.as_str(),
        );
        // A large kind is walked in key order, one batch per transaction,
        // so a national database is announced without holding it at once.
        let query = if *walked {
            format!("{select} AND t.id > $1::uuid ORDER BY t.id LIMIT {BATCH}")
        } else {
            format!("{select} AND $1 = $1")
        };
        diesel::sql_query(format!("ANALYZE {table}")).execute(conn)?;
        let mut after = uuid::Uuid::nil().to_string();
        loop {
            let batch = conn.transaction::<_, ApiError, _>(|conn| {
                let rows: Vec<Unlisted> = diesel::sql_query(&query)
                    .bind::<Text, _>(&after)
                    .load(conn)?;
                let events: Vec<(&Ctx, Event)> = rows
                    .iter()
                    .map(|r| {
                        let mut e = Event::new(Action::Create, *entity, &r.entity_id);
                        e.area_path = Some(r.area_path.clone());
                        e.unit_id = crate::records::last_unit(&r.area_path);
                        (&ctx, e)
                    })
                    .collect();
                record_many(conn, &events)?;
                Ok(rows)
            })?;
            announced += batch.len();
            match batch.last() {
                Some(last) if *walked && batch.len() as i64 == BATCH => {
                    after = last.entity_id.clone()
                }
                _ => break,
            }
        }
    }
    mark_done(conn)?;
    if announced > 0 {
        tracing::info!(announced, task, "records announced in the change feed");
    }
    Ok(announced)
}

/// Records that every record of the database is in the feed, as a pass
/// does when it ends (and a database made by a tool that announces what it
/// writes may say from the start).
pub fn mark_done(conn: &mut PgConnection) -> Result<(), ApiError> {
    let now = chrono::Utc::now().to_rfc3339();
    diesel::insert_into(app_meta::table)
        .values((app_meta::key.eq(DONE_KEY), app_meta::value.eq(&now)))
        .on_conflict(app_meta::key)
        .do_update()
        .set((
            app_meta::value.eq(&now),
            app_meta::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}
