//! The web app that team members, leaders and officers open in a browser,
//! served at `/` by the same binary. Its files (plain HTML, CSS and
//! JavaScript modules, no build step) live in `src/web/app/` and are
//! embedded with `rust-embed`.
//!
//! Every file except `index.html` and `sw.js` is served under
//! `/assets/<version>/`, where the version is a hash of the whole bundle, so
//! those addresses never change content and are cached for a year
//! (`immutable`); relative imports between modules stay inside the same
//! version. `index.html` and the service worker are `no-cache` (revalidated
//! with an `ETag`) and carry the version, so a new binary is a new app. Each
//! file is gzipped once, when the app is first asked for, and sent precompressed to
//! clients that accept gzip. Every answer carries a Content-Security-Policy
//! that allows the app's own origin only.

use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

#[derive(rust_embed::Embed)]
#[folder = "src/web/app/"]
struct Files;

/// Own origin only: no inline script or style, no other host, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; manifest-src 'self'; worker-src 'self'; \
font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Written in `index.html` and `sw.js` where the bundle's version goes.
const VERSION_MARK: &str = "__BANSO_VERSION__";
/// Written in `sw.js` where the list of files to keep offline goes.
const FILES_MARK: &str = "\"__BANSO_FILES__\"";

struct File {
    content_type: &'static str,
    plain: Vec<u8>,
    gzip: Vec<u8>,
}

impl File {
    fn new(name: &str, plain: Vec<u8>) -> File {
        let gzip = gzip(&plain);
        File {
            content_type: content_type(name),
            plain,
            gzip,
        }
    }
}

struct Bundle {
    version: String,
    index: File,
    worker: File,
    assets: HashMap<String, File>,
}

fn bundle() -> &'static Bundle {
    static BUNDLE: OnceLock<Bundle> = OnceLock::new();
    BUNDLE.get_or_init(build)
}

/// The bundle's version: a hash of every file's name and content.
pub fn version() -> &'static str {
    &bundle().version
}

fn build() -> Bundle {
    let mut names: Vec<String> = Files::iter().map(|n| n.to_string()).collect();
    names.sort();
    let mut hasher = Sha256::new();
    let mut contents = HashMap::new();
    for name in &names {
        if let Some(file) = Files::get(name) {
            hasher.update(name.as_bytes());
            hasher.update(file.metadata.sha256_hash());
            contents.insert(name.clone(), file.data.into_owned());
        }
    }
    let digest = hasher.finalize();
    let version: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let stamp = |bytes: Vec<u8>| -> String {
        String::from_utf8_lossy(&bytes).replace(VERSION_MARK, &version)
    };
    let index = stamp(contents.remove("index.html").unwrap_or_default());
    let assets: HashMap<String, File> = contents
        .into_iter()
        .filter(|(name, _)| name != "sw.js")
        .map(|(name, bytes)| {
            let file = File::new(&name, bytes);
            (name, file)
        })
        .collect();
    let mut offline: Vec<String> = assets
        .keys()
        .filter(|n| kept_at_install(n))
        .map(|n| format!("/assets/{version}/{n}"))
        .collect();
    offline.sort();
    offline.insert(0, "/".to_string());
    let list = serde_json::to_string(&offline).unwrap_or_else(|_| "[]".into());
    let worker = stamp(
        Files::get("sw.js")
            .map(|f| f.data.into_owned())
            .unwrap_or_default(),
    )
    .replace(FILES_MARK, &list);
    Bundle {
        index: File::new("index.html", index.into_bytes()),
        worker: File::new("sw.js", worker.into_bytes()),
        assets,
        version,
    }
}

/// Files the service worker keeps when it installs: everything a team
/// member needs offline. The large icon and the officers' screens
/// (`office.js`, `audit.js`, `exports.js`, which need the network anyway)
/// are kept only once a browser has asked for them, so a phone in the
/// field never downloads them.
fn kept_at_install(name: &str) -> bool {
    const ON_DEMAND: [&str; 4] = ["icon-512.png", "office.js", "audit.js", "exports.js"];
    !ON_DEMAND.contains(&name)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // An empty result means "send it plain".
    let out: Vec<u8> = encoder
        .write_all(bytes)
        .and_then(|_| encoder.finish())
        .unwrap_or_default();
    out
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "webmanifest" => "application/manifest+json",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// `/`, `/sw.js` and `/assets/{version}/{file}`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(index)))
        .service(web::resource("/sw.js").route(web::get().to(worker)))
        .service(web::resource("/assets/{version}/{file:.+}").route(web::get().to(asset)));
}

async fn index(req: HttpRequest) -> HttpResponse {
    let b = bundle();
    revalidated(&req, &b.index, &b.version)
}

async fn worker(req: HttpRequest) -> HttpResponse {
    let b = bundle();
    revalidated(&req, &b.worker, &b.version)
}

async fn asset(
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (version, name) = path.into_inner();
    let b = bundle();
    // An old version's address is not answered with new content: a client
    // would keep it for a year under the old name.
    if version != b.version {
        return Err(ApiError::NotFound);
    }
    let file = b.assets.get(&name).ok_or(ApiError::NotFound)?;
    Ok(send(&req, file, IMMUTABLE))
}

/// `no-cache` with the version as `ETag`: a revalidation costs a 304.
fn revalidated(req: &HttpRequest, file: &File, version: &str) -> HttpResponse {
    let etag = format!("\"{version}\"");
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .finish();
    }
    let mut res = send(req, file, "no-cache");
    res.headers_mut().insert(
        header::ETAG,
        header::HeaderValue::from_str(&etag).unwrap_or(header::HeaderValue::from_static("\"\"")),
    );
    res
}

fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.trim().split(';');
            let name = it.next().unwrap_or("").trim();
            let refused = it.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

fn send(req: &HttpRequest, file: &File, cache: &'static str) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, file.content_type))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    if accepts_gzip(req) && !file.gzip.is_empty() && file.gzip.len() < file.plain.len() {
        res.insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(file.gzip.clone())
    } else {
        res.body(file.plain.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_stamped_with_one_version() {
        let b = bundle();
        assert_eq!(b.version.len(), 12);
        let index = String::from_utf8_lossy(&b.index.plain);
        assert!(!index.contains(VERSION_MARK));
        assert!(index.contains(&format!("/assets/{}/app.js", b.version)));
        let worker = String::from_utf8_lossy(&b.worker.plain);
        assert!(!worker.contains(VERSION_MARK) && !worker.contains(FILES_MARK));
        assert!(worker.contains(&format!("\"/assets/{}/app.js\"", b.version)));
        // The officers' screens are not on a team member's phone.
        for office in ["office.js", "audit.js", "exports.js"] {
            assert!(!worker.contains(office), "{office}");
            assert!(b.assets.contains_key(office), "{office}");
        }
    }

    /// The keys of a language table, in order.
    fn keys(name: &str) -> Vec<String> {
        let file = Files::get(name).expect("the table is embedded");
        String::from_utf8_lossy(&file.data)
            .lines()
            .filter_map(|l| l.trim().strip_prefix('\''))
            .filter_map(|l| l.split_once("':").map(|(k, _)| k.to_string()))
            .collect()
    }

    #[test]
    fn both_languages_have_every_text() {
        let vi = keys("lang/vi.js");
        assert!(vi.len() > 100, "{} keys", vi.len());
        assert_eq!(vi, keys("lang/en.js"));
    }

    /// The audit trail's screen names every action and kind of record the
    /// trail writes, in both languages.
    #[test]
    fn the_audit_screen_names_every_action_and_kind() {
        let vi = keys("lang/vi.js");
        let screen = Files::get("audit.js").expect("the audit screen");
        let screen = String::from_utf8_lossy(&screen.data);
        for a in crate::audit::kinds::Action::ALL {
            assert!(
                vi.contains(&format!("audit.action.{}", a.as_str())),
                "{a:?}"
            );
            assert!(screen.contains(&format!("'{}'", a.as_str())), "{a:?}");
        }
        for e in crate::audit::kinds::Entity::ALL {
            assert!(
                vi.contains(&format!("audit.entity.{}", e.as_str())),
                "{e:?}"
            );
            assert!(screen.contains(&format!("'{}'", e.as_str())), "{e:?}");
        }
    }

    #[test]
    fn gzip_is_read_from_accept_encoding() {
        let req = |v: &str| {
            actix_web::test::TestRequest::default()
                .insert_header((header::ACCEPT_ENCODING, v))
                .to_http_request()
        };
        assert!(accepts_gzip(&req("gzip, deflate, br")));
        assert!(accepts_gzip(&req("br;q=1, GZIP;q=0.5")));
        assert!(!accepts_gzip(&req("gzip;q=0")));
        assert!(!accepts_gzip(&req("br")));
    }
}
