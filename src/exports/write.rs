//! The two file writers. Both write into a [`Body`], the response body's
//! end of a bounded channel: when the client reads slowly the writer
//! waits, so an export holds a few chunks in memory however many rows it
//! has.
//!
//! - CSV: UTF-8 with a byte-order mark (Excel then reads Vietnamese
//!   right), comma-separated, a header line, every text cell that a
//!   spreadsheet would take for a formula neutralised (OWASP: a leading
//!   `=`, `+`, `-`, `@`, tab or carriage return gets a `'` in front), dates
//!   `YYYY-MM-DD`, instants `YYYY-MM-DD HH:MM:SS` in Vietnam's time.
//! - XLSX: one worksheet in `rust_xlsxwriter`'s constant-memory mode (each
//!   row goes to a temporary file as it is written, strings inline rather
//!   than in a shared table), dates and instants as real spreadsheet dates
//!   with a `dd/mm/yyyy` format, text always as text (never a formula).
//!   The zip is assembled only at the end, so its first byte leaves after
//!   the last row is read.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use actix_web::web::Bytes;
use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Workbook, XlsxError};
use tokio::sync::{mpsc, oneshot};

use super::{Cell, Format, vietnam};
use crate::error::ApiError;

/// Bytes gathered before a chunk goes to the client.
const CHUNK: usize = 64 * 1024;
/// The rows a worksheet holds, its header included.
pub const XLSX_MAX_ROWS: u32 = 1_048_576;

/// Told once, when the response head may go: an `Err` instead while
/// nothing was sent makes the answer a problem document.
pub type Ready = Arc<Mutex<Option<oneshot::Sender<Result<(), ApiError>>>>>;

/// Answers `ready` with `answer`, unless it was answered already; whether
/// this call answered it.
pub fn tell(ready: &Ready, answer: Result<(), ApiError>) -> bool {
    let sender = ready.lock().ok().and_then(|mut r| r.take());
    match sender {
        Some(s) => {
            let _ = s.send(answer);
            true
        }
        None => false,
    }
}

/// The writing end of the response body.
pub struct Body {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
    ready: Ready,
}

impl Body {
    pub fn new(tx: mpsc::Sender<Result<Bytes, io::Error>>, ready: Ready) -> Body {
        Body {
            tx,
            buf: Vec::with_capacity(CHUNK),
            ready,
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        // The head goes before the first chunk: the channel is read only
        // once the response is under way.
        tell(&self.ready, Ok(()));
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for Body {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// A file being written, row by row.
pub enum Writer {
    Csv(Box<csv::Writer<Body>>),
    Xlsx(Box<Xlsx>),
}

pub struct Xlsx {
    book: Workbook,
    body: Body,
    next_row: u32,
    date: XFormat,
    instant: XFormat,
    bold: XFormat,
}

fn xlsx_error(e: XlsxError) -> ApiError {
    ApiError::internal(format!("writing the workbook: {e}"))
}

fn io_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("writing the export: {e}"))
}

/// A text cell as CSV gives it: what a spreadsheet would run as a formula
/// gets a leading `'`.
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

impl Writer {
    pub fn new(format: Format, mut body: Body, sheet_name: &str) -> Result<Writer, ApiError> {
        match format {
            Format::Csv => {
                body.write_all(b"\xEF\xBB\xBF").map_err(io_error)?;
                Ok(Writer::Csv(Box::new(csv::Writer::from_writer(body))))
            }
            Format::Xlsx => {
                let mut book = Workbook::new();
                let sheet = book
                    .add_worksheet_with_constant_memory()
                    .map_err(xlsx_error)?;
                sheet.set_name(sheet_name).map_err(xlsx_error)?;
                Ok(Writer::Xlsx(Box::new(Xlsx {
                    book,
                    body,
                    next_row: 0,
                    date: XFormat::new().set_num_format("dd/mm/yyyy"),
                    instant: XFormat::new().set_num_format("dd/mm/yyyy hh:mm"),
                    bold: XFormat::new().set_bold(),
                })))
            }
        }
    }

    pub fn header(&mut self, names: &[&str]) -> Result<(), ApiError> {
        match self {
            Writer::Csv(w) => w.write_record(names).map_err(io_error),
            Writer::Xlsx(x) => {
                let (bold, row) = (x.bold.clone(), x.next_row);
                let sheet = x.book.worksheet_from_index(0).map_err(xlsx_error)?;
                for (col, name) in names.iter().enumerate() {
                    let col = col as u16;
                    sheet.set_column_width(col, 18).map_err(xlsx_error)?;
                    sheet
                        .write_string_with_format(row, col, *name, &bold)
                        .map_err(xlsx_error)?;
                }
                sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
                x.next_row += 1;
                Ok(())
            }
        }
    }

    pub fn row(&mut self, cells: &[Cell]) -> Result<(), ApiError> {
        match self {
            Writer::Csv(w) => {
                for cell in cells {
                    let text = match cell {
                        Cell::Empty => String::new(),
                        Cell::Text(t) => neutralise(t).into_owned(),
                        Cell::Int(n) => n.to_string(),
                        Cell::Num(n) => n.to_string(),
                        Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
                        Cell::Instant(t) => t
                            .with_timezone(&vietnam())
                            .format("%Y-%m-%d %H:%M:%S")
                            .to_string(),
                    };
                    w.write_field(text).map_err(io_error)?;
                }
                w.write_record(None::<&[u8]>).map_err(io_error)
            }
            Writer::Xlsx(x) => x.row(cells),
        }
    }

    /// Sends what is gathered (CSV; a workbook sends nothing before its end).
    pub fn flush(&mut self) -> Result<(), ApiError> {
        match self {
            Writer::Csv(w) => w.flush().map_err(io_error),
            Writer::Xlsx(_) => Ok(()),
        }
    }

    /// Writes the end of the file and hands back the body.
    pub fn finish(self) -> Result<Body, ApiError> {
        match self {
            Writer::Csv(w) => w.into_inner().map_err(|e| io_error(e.error())),
            Writer::Xlsx(x) => {
                let Xlsx { mut book, body, .. } = *x;
                let mut out = io::BufWriter::with_capacity(CHUNK, body);
                book.save_to_writer(&mut out).map_err(xlsx_error)?;
                out.into_inner().map_err(|e| io_error(e.error()))
            }
        }
    }
}

impl Xlsx {
    fn row(&mut self, cells: &[Cell]) -> Result<(), ApiError> {
        let row = self.next_row;
        if row >= XLSX_MAX_ROWS {
            return Err(ApiError::validation(
                "format",
                "too_many_rows",
                format!(
                    "a worksheet holds at most {} rows; ask for CSV or narrow the filters",
                    XLSX_MAX_ROWS - 1
                ),
            ));
        }
        let sheet = self.book.worksheet_from_index(0).map_err(xlsx_error)?;
        for (col, cell) in cells.iter().enumerate() {
            let col = col as u16;
            match cell {
                Cell::Empty => {}
                Cell::Text(t) => {
                    sheet.write_string(row, col, t).map_err(xlsx_error)?;
                }
                Cell::Int(n) => {
                    sheet
                        .write_number(row, col, *n as f64)
                        .map_err(xlsx_error)?;
                }
                Cell::Num(n) => {
                    sheet.write_number(row, col, *n).map_err(xlsx_error)?;
                }
                Cell::Date(d) => {
                    use chrono::Datelike;
                    // Spreadsheet dates run from 1900 to 9999; a date
                    // outside them (a year mistyped as 341) goes as its text.
                    if !(1900..=9999).contains(&d.year()) {
                        sheet
                            .write_string(row, col, d.format("%Y-%m-%d").to_string())
                            .map_err(xlsx_error)?;
                        continue;
                    }
                    let date =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                            .map_err(xlsx_error)?;
                    sheet
                        .write_datetime_with_format(row, col, &date, &self.date)
                        .map_err(xlsx_error)?;
                }
                Cell::Instant(t) => {
                    use chrono::{Datelike, Timelike};
                    let t = t.with_timezone(&vietnam());
                    let at =
                        ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day() as u8)
                            .and_then(|d| d.and_hms(t.hour() as u16, t.minute() as u8, t.second()))
                            .map_err(xlsx_error)?;
                    sheet
                        .write_datetime_with_format(row, col, &at, &self.instant)
                        .map_err(xlsx_error)?;
                }
            }
        }
        self.next_row += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_other_text_is_not() {
        for bad in ["=1+2", "+84912", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        for good in ["Nông Văn A", "1+2", "", " =x"] {
            assert_eq!(neutralise(good), good);
        }
    }
}
