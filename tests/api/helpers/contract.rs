//! The HTTP client of the tests, which holds the service to its contract:
//! every answer it receives is checked against the OpenAPI document the
//! service serves (`banso::openapi::document()`): the operation is
//! documented, the status is one the operation lists, each header the
//! answer must carry is there and every documented header present
//! conforms, and a JSON body conforms to the schema of its content type.
//! A test that gets an answer the document does not promise fails there,
//! with what was wrong.
//!
//! `Client` and `RequestBuilder` have the methods of reqwest's that the
//! tests use, so a test reads as it would with reqwest itself.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Response};
use serde::Serialize;
use serde_json::Value;

/// A reqwest client whose answers are checked against the document.
#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
}

impl Client {
    pub fn new(inner: reqwest::Client) -> Client {
        Client { inner }
    }

    pub fn request<U: reqwest::IntoUrl>(&self, method: Method, url: U) -> RequestBuilder {
        RequestBuilder {
            inner: self.inner.request(method, url),
        }
    }

    pub fn get<U: reqwest::IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    pub fn post<U: reqwest::IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    pub fn patch<U: reqwest::IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    pub fn delete<U: reqwest::IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }
}

/// A request on its way; `send` checks the answer.
pub struct RequestBuilder {
    inner: reqwest::RequestBuilder,
}

impl RequestBuilder {
    fn map(self, f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> Self {
        RequestBuilder {
            inner: f(self.inner),
        }
    }

    pub fn bearer_auth<T: std::fmt::Display>(self, token: T) -> Self {
        self.map(|r| r.bearer_auth(token))
    }

    pub fn header<K, V>(self, key: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.map(|r| r.header(key, value))
    }

    pub fn json<T: Serialize + ?Sized>(self, body: &T) -> Self {
        self.map(|r| r.json(body))
    }

    pub fn form<T: Serialize + ?Sized>(self, form: &T) -> Self {
        self.map(|r| r.form(form))
    }

    pub fn body<T: Into<reqwest::Body>>(self, body: T) -> Self {
        self.map(|r| r.body(body))
    }

    /// Sends the request and checks the answer against the document; a
    /// JSON answer is read whole for that and handed back unread.
    pub async fn send(self) -> reqwest::Result<Response> {
        let (client, request) = self.inner.build_split();
        let request = request?;
        let method = request.method().clone();
        let path = request.url().path().to_string();
        let res = client.execute(request).await?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let media = media_type(&headers);
        let json = media.as_deref().is_some_and(is_json);
        if !json {
            CONTRACT.check(&method, &path, status, &headers, media.as_deref(), None);
            return Ok(res);
        }
        let version = res.version();
        let bytes = res.bytes().await?;
        CONTRACT.check(
            &method,
            &path,
            status,
            &headers,
            media.as_deref(),
            Some(&bytes),
        );
        let mut rebuilt = http::Response::new(bytes);
        *rebuilt.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
        *rebuilt.version_mut() = version;
        *rebuilt.headers_mut() = headers;
        Ok(Response::from(rebuilt))
    }
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(reqwest::header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

/// Paths that are not the API's: the web app's pages and files.
fn outside_the_api(path: &str) -> bool {
    path == "/" || path == "/sw.js" || path.starts_with("/assets/")
}

/// The served document, its operations, and the schemas compiled so far.
pub struct Contract {
    pub doc: Value,
    /// (method, path template split in segments, template).
    operations: Vec<(String, Vec<String>, String)>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

pub static CONTRACT: LazyLock<Contract> = LazyLock::new(|| {
    let doc: Value = serde_json::from_str(banso::openapi::document()).expect("the document");
    let mut operations = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            operations.push((
                method.to_ascii_uppercase(),
                segments(template),
                template.clone(),
            ));
        }
    }
    Contract {
        doc,
        operations,
        validators: Mutex::new(HashMap::new()),
    }
});

fn segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/')
        .split('/')
        .map(str::to_string)
        .collect()
}

/// A JSON pointer as a URI fragment: what is not allowed there (the braces
/// of path templates) percent-encoded.
fn uri_fragment(pointer: &str) -> String {
    pointer
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Escapes a key for a JSON pointer.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Contract {
    /// The template of the documented path `path` matches, most literal
    /// segments first.
    pub fn template(&self, path: &str) -> Option<&str> {
        let wanted = segments(path);
        self.operations
            .iter()
            .filter(|(_, t, _)| {
                t.len() == wanted.len()
                    && t.iter()
                        .zip(&wanted)
                        .all(|(t, w)| t == w || (t.starts_with('{') && !w.is_empty()))
            })
            .max_by_key(|(_, t, _)| t.iter().filter(|s| !s.starts_with('{')).count())
            .map(|(_, _, template)| template.as_str())
    }

    fn resolve<'a>(&'a self, mut node: &'a Value) -> &'a Value {
        for _ in 0..10 {
            match node.get("$ref").and_then(Value::as_str) {
                Some(r) => match self.doc.pointer(r.trim_start_matches('#')) {
                    Some(target) => node = target,
                    None => panic!("the document's {r} points at nothing"),
                },
                None => break,
            }
        }
        node
    }

    fn validator(&self, pointer: &str) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(pointer.to_string())
            .or_insert_with(|| {
                let mut root = self.doc.clone();
                root["$ref"] = Value::String(format!("#{}", uri_fragment(pointer)));
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .should_validate_formats(true)
                    .build(&root)
                    .unwrap_or_else(|e| panic!("the schema at {pointer} does not compile: {e}"));
                Arc::new(validator)
            })
            .clone()
    }

    /// Panics, saying why, when the answer is not one the document gives.
    pub fn check(
        &self,
        method: &Method,
        path: &str,
        status: u16,
        headers: &HeaderMap,
        media: Option<&str>,
        body: Option<&[u8]>,
    ) {
        if outside_the_api(path) || *method == Method::OPTIONS {
            return;
        }
        let said = format!("{method} {path} answered {status}");
        let Some(template) = self.template(path) else {
            // A path the service does not have: only "no such route".
            assert!(
                status == 404 || status == 405 || status == 414 || status == 431,
                "{said}, but the document has no such path"
            );
            return;
        };
        let item = &self.doc["paths"][template];
        let op_method = if *method == Method::HEAD {
            "get".to_string()
        } else {
            method.as_str().to_ascii_lowercase()
        };
        let Some(op) = item.get(&op_method) else {
            assert!(
                status == 405 || status == 414 || status == 431,
                "{said}, but the document has no {method} for {template}"
            );
            return;
        };
        let op_pointer = format!("/paths/{}/{op_method}", escape(template));
        let id = op["operationId"].as_str().unwrap_or("?");
        let code = status.to_string();
        let class = format!("{}XX", status / 100);
        let Some((key, response)) = [code.as_str(), class.as_str(), "default"]
            .iter()
            .find_map(|k| op["responses"].get(*k).map(|r| (*k, r)))
        else {
            panic!("{said}, which {id} does not list among its answers");
        };
        let mut pointer = format!("{op_pointer}/responses/{key}");
        if let Some(r) = response.get("$ref").and_then(Value::as_str) {
            pointer = r.trim_start_matches('#').to_string();
        }
        let response = self.resolve(response);

        for (name, header) in response["headers"].as_object().into_iter().flatten() {
            let header_at = match header.get("$ref").and_then(Value::as_str) {
                Some(r) => r.trim_start_matches('#').to_string(),
                None => format!("{pointer}/headers/{}", escape(name)),
            };
            let header = self.resolve(header);
            let Some(value) = headers.get(name.as_str()) else {
                assert!(
                    header["required"] != Value::Bool(true),
                    "{said} without the header {name} that {id} promises"
                );
                continue;
            };
            let text = value
                .to_str()
                .unwrap_or_else(|_| panic!("{said} with a header {name} that is not text"));
            let instance = match self.resolve(&header["schema"])["type"].as_str() {
                Some("integer") => text.parse::<i64>().map(Value::from).ok(),
                Some("number") => text.parse::<f64>().ok().map(Value::from),
                _ => None,
            }
            .unwrap_or_else(|| Value::String(text.to_string()));
            let errors: Vec<String> = self
                .validator(&format!("{header_at}/schema"))
                .iter_errors(&instance)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{said} with {name}: {text}, which does not conform to {id}'s header: {errors:?}"
            );
        }

        let content = response["content"].as_object();
        let empty = body.is_some_and(|b| b.is_empty())
            || status == 204
            || status == 304
            || *method == Method::HEAD;
        let Some(media) = media else {
            assert!(
                empty || content.is_none_or(|c| c.is_empty()) || body.is_none(),
                "{said} with a body but no Content-Type"
            );
            return;
        };
        if empty {
            return;
        }
        let Some(content) = content.filter(|c| !c.is_empty()) else {
            panic!("{said} with a {media} body, but {id} documents no body for {status}");
        };
        let found = content.keys().find(|k| {
            let k = k
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            k == media || k == "*/*" || (k.ends_with("/*") && media.starts_with(&k[..k.len() - 1]))
        });
        let Some(found) = found else {
            panic!(
                "{said} as {media}, but {id} documents only {:?} for {status}",
                content.keys().collect::<Vec<_>>()
            );
        };
        let Some(bytes) = body else { return };
        let instance: Value = serde_json::from_slice(bytes)
            .unwrap_or_else(|e| panic!("{said} with a {media} body that is not JSON: {e}"));
        let schema = &content[found]["schema"];
        if schema.is_null() {
            return;
        }
        let at = format!("{pointer}/content/{}/schema", escape(found));
        let validator = self.validator(&at);
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .take(5)
            .map(|e| format!("at {}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{said}, whose body does not conform to {id}'s schema: {errors:#?}\nbody: {}",
            truncated(&instance)
        );
    }
}

fn truncated(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(2000) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}
