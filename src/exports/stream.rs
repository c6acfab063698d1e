//! An export's life: a thread of its own takes one connection from the
//! pool for the whole export, opens a read-only snapshot, and writes the
//! rows into the response body as it reads them. The response head waits
//! until the first batch is written (CSV) or the whole worksheet is
//! (XLSX), so a bad filter, a refused caller or too many rows for a
//! worksheet is still a problem document; a failure after that breaks the
//! transfer instead of ending a file that looks whole. When the export
//! ends (done, failed, or the client went away) one audit event says what
//! was exported: the filters, the format and the rows sent.

use std::sync::{Arc, Mutex};

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use diesel::prelude::*;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::tables::{Names, Record};
use super::write::{Body, Ready, Writer, tell};
use super::{Wanted, disposition};
use crate::audit::{self, Action, Ctx, Entity, Event};
use crate::auth::{AuthUser, Scope};
use crate::db::PgPool;
use crate::error::ApiError;

/// Rows read per query.
pub const BATCH: i64 = 2000;
/// Chunks waiting for the client.
const QUEUED_CHUNKS: usize = 4;

/// What an export writes into, given to the code that reads the rows.
pub struct Out {
    writer: Option<Writer>,
    ready: Ready,
    /// Held until the export ends, so that a failure can still break the
    /// transfer after the writer is gone.
    tx: Option<mpsc::Sender<Result<Bytes, std::io::Error>>>,
    pub wanted: Wanted,
    pub rows: u64,
}

impl Out {
    fn writer(&mut self) -> Result<&mut Writer, ApiError> {
        self.writer
            .as_mut()
            .ok_or_else(|| ApiError::internal("export writer already finished"))
    }

    pub fn header(&mut self, names: &[&str]) -> Result<(), ApiError> {
        self.writer()?.header(names)
    }

    pub fn row(&mut self, cells: &[super::Cell]) -> Result<(), ApiError> {
        self.writer()?.row(cells)?;
        self.rows += 1;
        Ok(())
    }

    /// A batch is written: a CSV goes out now (the response head first,
    /// if no chunk went yet).
    pub fn batch_done(&mut self) -> Result<(), ApiError> {
        if self.wanted.format == super::Format::Csv {
            self.signal_ready();
            self.writer()?.flush()?;
            if self.gone() {
                return Err(ApiError::internal("the client went away"));
            }
        }
        Ok(())
    }

    fn gone(&self) -> bool {
        self.tx.as_ref().is_none_or(mpsc::Sender::is_closed)
    }

    fn signal_ready(&mut self) {
        tell(&self.ready, Ok(()));
    }
}

/// What an export is about, for its file name and its audit event.
pub struct About {
    pub entity: Entity,
    pub entity_id: Option<String>,
    /// What the file holds, in words (the file name adds when).
    pub stem: String,
    /// The worksheet's name.
    pub sheet: String,
    /// The filters as given (never a search text: it may be a name).
    pub filters: Value,
}

pub type Produce =
    Box<dyn FnOnce(&mut PgConnection, &Scope, &mut Out) -> Result<(), ApiError> + Send>;

/// Serves the rows of a list: `fetch` is the list's own query, called with
/// a keyset cursor (the last id) and a batch size, returning up to one row
/// more than asked, as for a page.
pub async fn serve<R, F>(
    req: &actix_web::HttpRequest,
    pool: &PgPool,
    user: AuthUser,
    wanted: Wanted,
    mut fetch: F,
) -> Result<HttpResponse, ApiError>
where
    R: Record,
    F: FnMut(&mut PgConnection, &Scope, Option<Uuid>, i64) -> Result<Vec<R>, ApiError>
        + Send
        + 'static,
{
    let sheet = R::sheet();
    if sheet.personal {
        // Names, phones and households: officers and admins of the area.
        user.require(super::tables::PERSONAL_READERS)?;
    }
    let lang = wanted.lang;
    let ctx = Ctx::user(&user, req);
    let about = About {
        entity: sheet.entity,
        entity_id: None,
        stem: lang.pick(sheet.stem.0, sheet.stem.1).to_string(),
        sheet: lang.pick(sheet.stem.0, sheet.stem.1).to_string(),
        filters: filters_of(req),
    };
    let produce: Produce = Box::new(move |conn, scope, out| {
        let mut names = Names::new(conn, out.wanted.lang)?;
        let headers: Vec<&str> = sheet
            .columns
            .iter()
            .map(|(vi, en)| lang.pick(vi, en))
            .collect();
        out.header(&headers)?;
        let mut after = None;
        let mut cells = Vec::with_capacity(sheet.columns.len());
        // Every batch reads the same snapshot: the file is the list as it
        // was at one moment, however long it takes to send.
        conn.build_transaction()
            .repeatable_read()
            .read_only()
            .run(|conn| {
                loop {
                    let batch = fetch(conn, scope, after, BATCH)?;
                    names.learn(conn, &batch)?;
                    for row in &batch {
                        cells.clear();
                        row.cells(&names, &mut cells);
                        out.row(&cells)?;
                    }
                    out.batch_done()?;
                    if batch.len() as i64 <= BATCH {
                        return Ok(());
                    }
                    after = batch.last().map(R::id);
                }
            })
    });
    start(pool, user, ctx, wanted, about, produce).await
}

/// Runs `produce` on a thread of its own and answers with its file.
pub async fn start(
    pool: &PgPool,
    user: AuthUser,
    ctx: Ctx,
    wanted: Wanted,
    about: About,
    produce: Produce,
) -> Result<HttpResponse, ApiError> {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(QUEUED_CHUNKS);
    let (ready_tx, ready_rx) = oneshot::channel();
    let pool = pool.clone();
    let span = tracing::Span::current();
    let disposition = disposition(&about.stem, chrono::Utc::now(), wanted.format);
    std::thread::Builder::new()
        .name("export".into())
        .spawn(move || {
            let _entered = span.enter();
            run(&pool, &user, &ctx, wanted, about, produce, tx, ready_tx);
        })
        .map_err(|e| ApiError::internal(format!("starting an export: {e}")))?;
    match ready_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(ApiError::internal("the export stopped before it began")),
    }
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, wanted.format.content_type()))
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

#[allow(clippy::too_many_arguments)]
fn run(
    pool: &PgPool,
    user: &AuthUser,
    ctx: &Ctx,
    wanted: Wanted,
    about: About,
    produce: Produce,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    ready: oneshot::Sender<Result<(), ApiError>>,
) {
    let ready: Ready = Arc::new(Mutex::new(Some(ready)));
    let mut out = Out {
        writer: None,
        ready: ready.clone(),
        tx: Some(tx.clone()),
        wanted,
        rows: 0,
    };
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(e) => {
            fail(&mut out, ApiError::from(e));
            return;
        }
    };
    let result = (|| {
        out.writer = Some(Writer::new(
            wanted.format,
            Body::new(tx, ready),
            &about.sheet,
        )?);
        let scope = Scope::of(&mut conn, user)?;
        produce(&mut conn, &scope, &mut out)?;
        // A workbook is whole: its head goes now, then the zip.
        out.signal_ready();
        let writer = out
            .writer
            .take()
            .ok_or_else(|| ApiError::internal("export writer missing"))?;
        let mut body = writer.finish()?;
        std::io::Write::flush(&mut body)
            .map_err(|e| ApiError::internal(format!("sending the export: {e}")))?;
        Ok::<_, ApiError>(scope)
    })();
    let complete = result.is_ok();
    match &result {
        // The body ends here, before the audit event is written.
        Ok(_) => out.tx = None,
        Err(e) => {
            if !fail(&mut out, e.clone()) {
                // Refused before anything was sent: no export took place.
                return;
            }
        }
    }
    crate::metrics::export_served(about.entity.as_str());
    let scope = match result {
        Ok(scope) => Some(scope),
        Err(_) => Scope::of(&mut conn, user).ok(),
    };
    let mut event = match &about.entity_id {
        Some(id) => Event::new(Action::Export, about.entity, id),
        None => Event::of(Action::Export, about.entity),
    };
    if let Some(Scope::Subtree { lo, .. }) = &scope {
        event.area_path = Some(lo.clone());
        event.unit_id = crate::records::last_unit(lo);
    }
    let event = event.after(json!({
        "format": wanted.format.extension(),
        "lang": wanted.lang.pick("vi", "en"),
        "filters": about.filters,
        "rows": out.rows,
        "complete": complete,
    }));
    if let Err(e) = conn.transaction(|conn| audit::record(conn, ctx, event)) {
        tracing::error!(cause = %e, "the audit event of an export was not written");
    }
}

/// A failure: a problem document if nothing was sent yet, else a broken
/// transfer. Whether anything was sent.
fn fail(out: &mut Out, e: ApiError) -> bool {
    if tell(&out.ready, Err(e.clone())) {
        return false;
    }
    if out.gone() {
        tracing::info!(rows = out.rows, "export stopped: the client went away");
    } else {
        tracing::error!(cause = %e, rows = out.rows, "export failed while sending");
    }
    out.writer = None;
    if let Some(tx) = out.tx.take() {
        let _ = tx.blocking_send(Err(std::io::Error::other("the export failed")));
    }
    true
}

/// The filters of a list as the audit event names them: the query
/// parameters as given, but for `q`, which may be a person's name, shown
/// only as given or not.
pub fn filters_of(req: &actix_web::HttpRequest) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in form_urlencoded::parse(req.query_string().as_bytes()) {
        if super::PARAMS.contains(&k.as_ref()) {
            continue;
        }
        let v = if k == "q" {
            Value::Bool(true)
        } else {
            Value::String(v.chars().take(100).collect())
        };
        map.insert(k.chars().take(50).collect(), v);
    }
    Value::Object(map)
}
