//! Lists and the summary as files: CSV (streamed as the rows are read) and
//! XLSX (a constant-memory worksheet), chosen by `format=csv|xlsx` or by
//! `Accept`, with Vietnamese headers unless `lang=en`.
//!
//! A list handler parses and checks its own parameters as for JSON, then
//! hands its own query (`repo::list` with a keyset cursor) to [`serve`],
//! which reads every matching row in batches on one connection held for
//! the export, in one read-only snapshot, and writes each batch to the
//! response body as it comes. `tables.rs` says which columns each list has
//! and how a row reads in them; `write.rs` holds the two file writers;
//! `stream.rs` the thread, the body and the audit event.

mod stream;
mod summary;
mod tables;
mod write;

use actix_web::HttpRequest;
use actix_web::http::header;
use chrono::{DateTime, FixedOffset, NaiveDate, Offset, Utc};

use crate::error::ApiError;

pub use stream::serve;
pub use summary::serve_summary;
pub use tables::{Names, Record, Sheet};

pub const CSV: &str = "text/csv";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The query parameters an export adds to a list; a JSON list ignores them.
pub const PARAMS: [&str; 2] = ["format", "lang"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => XLSX,
        }
    }
}

/// The language of the headers, the code names and the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    /// The Vietnamese or the English text of a pair.
    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
}

/// A file the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub format: Format,
    pub lang: Lang,
}

/// What the caller asked for: `None` for JSON. `format=` wins over
/// `Accept` (a browser link cannot set headers); an `Accept` that admits
/// none of JSON, CSV and XLSX is a 406.
pub fn wanted(req: &HttpRequest) -> Result<Option<Wanted>, ApiError> {
    let (mut format, mut lang) = (None, None);
    for (k, v) in form_urlencoded::parse(req.query_string().as_bytes()) {
        match k.as_ref() {
            "format" => format = Some(v.into_owned()),
            "lang" => lang = Some(v.into_owned()),
            _ => {}
        }
    }
    let format = match format.as_deref().map(str::trim) {
        Some("csv") => Some(Format::Csv),
        Some("xlsx") => Some(Format::Xlsx),
        Some("json") => None,
        Some(_) => {
            return Err(ApiError::validation(
                "format",
                "invalid",
                "must be csv or xlsx (or json)",
            ));
        }
        None => from_accept(req)?,
    };
    let lang = match lang.as_deref().map(str::trim) {
        None | Some("vi") => Lang::Vi,
        Some("en") => Lang::En,
        Some(_) => return Err(ApiError::validation("lang", "invalid", "must be vi or en")),
    };
    Ok(format.map(|format| Wanted { format, lang }))
}

/// The best of JSON, CSV and XLSX by the `Accept` header (RFC 9110: the
/// most specific range that matches gives a type its weight; on a tie JSON
/// wins, then CSV).
fn from_accept(req: &HttpRequest) -> Result<Option<Format>, ApiError> {
    let Some(accept) = req.headers().get(header::ACCEPT) else {
        return Ok(None);
    };
    let accept = accept.to_str().unwrap_or("");
    if accept.trim().is_empty() {
        return Ok(None);
    }
    let offers: [(&str, Option<Format>); 4] = [
        ("application/json", None),
        ("application/problem+json", None),
        (CSV, Some(Format::Csv)),
        (XLSX, Some(Format::Xlsx)),
    ];
    let mut best: Option<(f32, Option<Format>)> = None;
    for (offer, format) in offers {
        let q = weight(accept, offer);
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, format));
        }
    }
    match best {
        Some((_, format)) => Ok(format),
        None => Err(ApiError::NotAcceptable(format!(
            "this resource is given as application/json, {CSV} or {XLSX}"
        ))),
    }
}

/// The weight `accept` gives to the media type `offer`: that of the most
/// specific range matching it, 0 when none does.
fn weight(accept: &str, offer: &str) -> f32 {
    let (otype, osub) = offer.split_once('/').unwrap_or((offer, ""));
    let mut found: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0;
        for p in parts {
            if let Some((k, v)) = p.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = v.trim().parse::<f32>().unwrap_or(0.0).clamp(0.0, 1.0);
            }
        }
        let (rtype, rsub) = media.split_once('/').unwrap_or((media.as_str(), ""));
        let specificity = if rtype == otype && rsub == osub {
            3
        } else if rtype == otype && rsub == "*" {
            2
        } else if rtype == "*" && rsub == "*" {
            1
        } else {
            continue;
        };
        if found.is_none_or(|(s, _)| specificity > s) {
            found = Some((specificity, q));
        }
    }
    found.map_or(0.0, |(_, q)| q)
}

/// Vietnam's time, in which officers read the file names and instants.
pub fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| Utc.fix())
}

/// `Content-Disposition` for a file named `stem` (what it holds, words
/// separated by spaces) and the moment it was made: an ASCII fallback
/// without diacritics and the UTF-8 name by RFC 8187.
pub fn disposition(stem: &str, at: DateTime<Utc>, format: Format) -> String {
    let when = at.with_timezone(&vietnam()).format("%Y-%m-%d %H%M");
    let name = format!("{stem} {when}.{}", format.extension());
    let dashed = name.replace(' ', "-");
    let ascii: String = crate::text::fold(&dashed)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in dashed.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Num(f64),
    Date(NaiveDate),
    /// Written in Vietnam's time.
    Instant(DateTime<Utc>),
}

impl From<Option<String>> for Cell {
    fn from(v: Option<String>) -> Cell {
        v.map_or(Cell::Empty, Cell::Text)
    }
}

impl From<Option<NaiveDate>> for Cell {
    fn from(v: Option<NaiveDate>) -> Cell {
        v.map_or(Cell::Empty, Cell::Date)
    }
}

impl From<Option<DateTime<Utc>>> for Cell {
    fn from(v: Option<DateTime<Utc>>) -> Cell {
        v.map_or(Cell::Empty, Cell::Instant)
    }
}

impl From<Option<i32>> for Cell {
    fn from(v: Option<i32>) -> Cell {
        v.map_or(Cell::Empty, |n| Cell::Int(n.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn ask(uri: &str, accept: Option<&str>) -> Result<Option<Wanted>, ApiError> {
        let mut req = TestRequest::get().uri(uri);
        if let Some(a) = accept {
            req = req.insert_header((header::ACCEPT, a));
        }
        wanted(&req.to_http_request())
    }

    #[test]
    fn format_wins_over_accept_and_accept_chooses_otherwise() {
        let csv = Some(Wanted {
            format: Format::Csv,
            lang: Lang::Vi,
        });
        assert_eq!(
            ask("/x?format=csv", Some("application/json")).ok(),
            Some(csv)
        );
        assert_eq!(ask("/x", Some("text/csv")).ok(), Some(csv));
        assert_eq!(ask("/x", None).ok(), Some(None));
        assert_eq!(ask("/x", Some("*/*")).ok(), Some(None));
        assert_eq!(
            ask("/x", Some("text/html,application/xhtml+xml,*/*;q=0.8")).ok(),
            Some(None)
        );
        assert_eq!(ask("/x", Some("text/*")).ok(), Some(csv));
        let xlsx = ask(
            "/x?lang=en",
            Some(&format!("{XLSX}, application/json;q=0.5")),
        );
        assert_eq!(
            xlsx.ok(),
            Some(Some(Wanted {
                format: Format::Xlsx,
                lang: Lang::En
            }))
        );
        assert!(matches!(
            ask("/x", Some("application/xml")),
            Err(ApiError::NotAcceptable(_))
        ));
        assert!(matches!(
            ask("/x", Some("text/csv;q=0, application/json;q=0")),
            Err(ApiError::NotAcceptable(_))
        ));
        assert!(
            matches!(ask("/x?format=pdf", None), Err(ApiError::Validation(e)) if e[0].field == "format")
        );
        assert!(
            matches!(ask("/x?format=csv&lang=fr", None), Err(ApiError::Validation(e)) if e[0].field == "lang")
        );
    }

    #[test]
    fn file_names_have_an_ascii_fallback_and_the_utf8_name() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T11:34:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let d = disposition("lượt hỗ trợ", at, Format::Csv);
        assert_eq!(
            d,
            "attachment; filename=\"luot-ho-tro-2026-12-01-1834.csv\"; \
             filename*=UTF-8''l%C6%B0%E1%BB%A3t-h%E1%BB%97-tr%E1%BB%A3-2026-12-01-1834.csv"
        );
    }
}
