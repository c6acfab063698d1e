//! The texts of problem documents in each language: one table per
//! language, keyed, with `{name}` for what varies (a field, a number, a
//! list of codes), and the language a request asks for.
//!
//! Problem documents are written in English where they arise; a request
//! that prefers Vietnamese (`Accept-Language: vi`) has its problem's
//! `title`, `detail` and each field error's `message` put into Vietnamese
//! by [`localize`], which finds the English text's key by its pattern in
//! [`EN`] and writes [`VI`]'s text for that key with the same values. A
//! text without a key stays English. The fixed texts of `error.rs` are
//! read from [`EN`] by key, so they are written once.

/// A language problem documents are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Vi,
}

impl Lang {
    /// The language an `Accept-Language` header prefers among those
    /// served (RFC 9110: the highest `q`, the first listed among equals,
    /// `q=0` never); English when it names neither.
    pub fn from_header(value: Option<&str>) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for range in value.unwrap_or("").split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").map(str::trim))
                .map_or(Some(1.0), |q| q.parse::<f32>().ok())
                .unwrap_or(0.0);
            let primary = tag.split('-').next().unwrap_or("");
            let lang = match primary {
                "vi" => Lang::Vi,
                "en" | "*" => Lang::En,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Vi => "vi",
        }
    }

    fn table(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Lang::En => EN,
            Lang::Vi => VI,
        }
    }
}

/// The text of `key` in `lang`, its `{name}`s filled from `values`; the
/// key itself if the table lacks it (a test keeps both tables whole).
pub fn text(lang: Lang, key: &str, values: &[(&str, &str)]) -> String {
    let Some((_, pattern)) = lang.table().iter().find(|(k, _)| *k == key) else {
        return key.to_string();
    };
    let mut out = pattern.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// `text(Lang::En, key, &[])`, for the fixed texts.
pub fn en(key: &str) -> String {
    text(Lang::En, key, &[])
}

/// The pieces of a pattern: literal text and `{name}`s, in order.
fn pieces(pattern: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        if start > 0 {
            out.push((false, &rest[..start]));
        }
        out.push((true, &rest[start + 1..start + len]));
        rest = &rest[start + len + 1..];
    }
    if !rest.is_empty() {
        out.push((false, rest));
    }
    out
}

/// The values of `pattern`'s `{name}`s if `message` has its shape.
fn matches<'a>(pattern: &'a str, message: &'a str) -> Option<Vec<(&'a str, &'a str)>> {
    let parts = pieces(pattern);
    let mut values = Vec::new();
    let mut at = 0;
    for (i, (is_value, piece)) in parts.iter().enumerate() {
        if !is_value {
            if !message[at..].starts_with(piece) {
                return None;
            }
            at += piece.len();
            continue;
        }
        // A value runs to the next literal (its last occurrence when the
        // value ends the pattern's literals), or to the end.
        let end = match parts.get(i + 1) {
            Some((false, next)) if i + 2 == parts.len() => message[at..].rfind(next)? + at,
            Some((false, next)) => message[at..].find(next)? + at,
            _ => message.len(),
        };
        if end == at {
            return None;
        }
        values.push((*piece, &message[at..end]));
        at = end;
    }
    (at == message.len()).then_some(values)
}

/// `message` (English) in `lang`: the table's text for its key, or the
/// message itself when no key has its shape.
pub fn translate(lang: Lang, message: &str) -> String {
    if lang == Lang::En {
        return message.to_string();
    }
    for (key, pattern) in EN {
        if let Some(values) = matches(pattern, message) {
            let values: Vec<(&str, String)> = values
                .into_iter()
                .map(|(name, v)| (name, translate_value(lang, name, v)))
                .collect();
            let refs: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
            return text(lang, key, &refs);
        }
    }
    message.to_string()
}

/// A value inside a message: codes and field names stay as they are; a
/// `{what}` is itself a text of the table.
fn translate_value(lang: Lang, name: &str, value: &str) -> String {
    match name {
        "what" => translate(lang, value),
        _ => value.to_string(),
    }
}

/// The problem document `body` (JSON) with its texts in `lang`; `None` if
/// it is not one.
pub fn localize(lang: Lang, body: &[u8]) -> Option<Vec<u8>> {
    let mut doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    let obj = doc.as_object_mut()?;
    for field in ["title", "detail"] {
        if let Some(serde_json::Value::String(s)) = obj.get_mut(field) {
            *s = translate(lang, s);
        }
    }
    if let Some(serde_json::Value::Array(errors)) = obj.get_mut("errors") {
        for e in errors {
            if let Some(serde_json::Value::String(s)) = e.get_mut("message") {
                *s = translate(lang, s);
            }
        }
    }
    serde_json::to_vec(&doc).ok()
}

/// English. Keys `title.<slug>` are the titles of the problem types.
pub const EN: &[(&str, &str)] = &[
    ("title.bad-request", "Bad request"),
    ("title.unauthorized", "Unauthorized"),
    ("title.forbidden", "Forbidden"),
    ("title.not-found", "Not found"),
    ("title.conflict", "Conflict"),
    ("title.payload-too-large", "Payload too large"),
    ("title.unsupported-media-type", "Unsupported media type"),
    ("title.not-acceptable", "Not acceptable"),
    ("title.validation", "Invalid input"),
    ("title.rate-limited", "Too many requests"),
    ("title.unavailable", "Service unavailable"),
    ("title.internal", "Internal error"),
    ("title.method-not-allowed", "Method not allowed"),
    ("title.uri-too-long", "URI too long"),
    ("title.header-too-large", "Request header fields too large"),
    (
        "detail.internal",
        "an unexpected error occurred; it has been logged",
    ),
    (
        "detail.unavailable",
        "the database is unavailable; retry shortly",
    ),
    ("detail.not_found", "no such resource"),
    ("detail.invalid_fields", "invalid fields: {fields}"),
    ("detail.invalid_parameters", "invalid parameters: {fields}"),
    ("detail.method", "{method} is not allowed on this resource"),
    ("detail.too_large", "request body is too large"),
    (
        "detail.body_limit",
        "request body is larger than {limit} bytes",
    ),
    (
        "detail.json_type",
        "expected a body with Content-Type: application/json",
    ),
    ("detail.malformed", "malformed JSON: {cause}"),
    (
        "detail.stale",
        "the record was changed since the version you sent; here it is as it is now",
    ),
    (
        "detail.locked",
        "the month {month} is locked for {unit}; an officer must unlock it first",
    ),
    (
        "detail.status",
        "{action} needs a {from} record; this one is {status}",
    ),
    (
        "detail.verified",
        "the record is verified and read-only; an officer can reopen it",
    ),
    (
        "detail.id_reused",
        "a different record was already sent with this id",
    ),
    ("detail.role", "the {role} role may not do this"),
    (
        "detail.officers_check",
        "officers verify, reject and reopen records; they do not edit them",
    ),
    (
        "detail.members_own",
        "members change only the records they made",
    ),
    ("detail.no_area", "this account has no area"),
    ("detail.login_failed", "wrong username or password"),
    ("detail.no_header", "missing Authorization header"),
    ("detail.bad_header", "malformed Authorization header"),
    ("detail.bad_token", "invalid or expired access token"),
    ("message.required", "is required"),
    ("message.unknown", "is not a field of this resource"),
    ("message.duplicate", "is given more than once"),
    (
        "message.uuid",
        "must be a UUID, such as 0192f0c1-7d3e-7a4b-9c5d-6e7f8a9b0c1d",
    ),
    (
        "message.date",
        "must be a date in the form YYYY-MM-DD, such as 2026-12-01",
    ),
    (
        "message.instant",
        "must be a date and time in RFC 3339 form, such as 2026-12-01T08:30:00Z",
    ),
    (
        "message.month",
        "must be a month in the form YYYY-MM, such as 2026-12",
    ),
    ("message.wrong_form", "has the wrong form"),
    ("message.wrong_count", "has the wrong number of items"),
    (
        "message.not_allowed_value",
        "is not one of the allowed values",
    ),
    ("message.nul", "must not contain NUL characters"),
    ("message.empty", "must not be empty"),
    ("message.future", "must not be in the future"),
    ("message.reason", "give the reason"),
    ("message.limit", "limit must be between 1 and {max}"),
    ("message.cursor", "cursor is not one this service issued"),
    (
        "message.other_order",
        "this cursor was made for sort={sort}; repeat that request's sort, or start again without a cursor",
    ),
    (
        "message.sort",
        "must be one of {keys}, with - before it for descending",
    ),
    (
        "message.sort_one",
        "must be {key}: this list keeps that order",
    ),
    ("message.q", "q must be at most {max} characters"),
    ("message.include", "must be one of: {names}"),
    ("message.include_none", "this list has nothing to include"),
    ("message.ids", "give 1 to {max} ids"),
    (
        "message.versions",
        "this id is at {first} with another version",
    ),
    (
        "message.version",
        "send the version the change is based on, in If-Match or a version field",
    ),
    ("message.no_village", "no such village in your area"),
    ("message.chars", "must be at most {max} characters"),
    ("message.an_object", "must be an object"),
    ("message.a_list", "must be a list"),
    ("message.text", "must be text"),
    ("message.bool", "must be true or false"),
    ("message.number", "must be a number"),
    ("message.whole", "must be a whole number"),
    (
        "message.whole_positive",
        "must be a whole number, 0 or more",
    ),
    ("message.one_of", "must be one of {codes}"),
    ("message.must_be", "must be {codes}"),
];

/// Vietnamese: the same keys, the same `{name}`s.
pub const VI: &[(&str, &str)] = &[
    ("title.bad-request", "Yêu cầu không hợp lệ"),
    ("title.unauthorized", "Chưa xác thực"),
    ("title.forbidden", "Không có quyền"),
    ("title.not-found", "Không tìm thấy"),
    ("title.conflict", "Xung đột dữ liệu"),
    ("title.payload-too-large", "Dữ liệu gửi quá lớn"),
    (
        "title.unsupported-media-type",
        "Kiểu dữ liệu không được hỗ trợ",
    ),
    ("title.not-acceptable", "Không có định dạng được yêu cầu"),
    ("title.validation", "Dữ liệu không hợp lệ"),
    ("title.rate-limited", "Quá nhiều yêu cầu"),
    ("title.unavailable", "Dịch vụ tạm thời không sẵn sàng"),
    ("title.internal", "Lỗi hệ thống"),
    ("title.method-not-allowed", "Phương thức không được phép"),
    ("title.uri-too-long", "Địa chỉ quá dài"),
    ("title.header-too-large", "Phần đầu yêu cầu quá lớn"),
    (
        "detail.internal",
        "đã xảy ra lỗi ngoài dự kiến; lỗi đã được ghi lại",
    ),
    (
        "detail.unavailable",
        "cơ sở dữ liệu tạm thời không truy cập được; hãy thử lại sau ít phút",
    ),
    ("detail.not_found", "không có tài nguyên này"),
    ("detail.invalid_fields", "các trường không hợp lệ: {fields}"),
    (
        "detail.invalid_parameters",
        "các tham số không hợp lệ: {fields}",
    ),
    (
        "detail.method",
        "không được dùng {method} với tài nguyên này",
    ),
    ("detail.too_large", "dữ liệu gửi lên quá lớn"),
    ("detail.body_limit", "dữ liệu gửi lên vượt quá {limit} byte"),
    (
        "detail.json_type",
        "cần gửi dữ liệu với Content-Type: application/json",
    ),
    ("detail.malformed", "JSON sai cú pháp: {cause}"),
    (
        "detail.stale",
        "bản ghi đã bị thay đổi sau phiên bản bạn gửi; đây là bản ghi hiện tại",
    ),
    (
        "detail.locked",
        "tháng {month} đã được khóa sổ cho {unit}; cán bộ cần mở khóa trước",
    ),
    (
        "detail.status",
        "thao tác {action} cần bản ghi ở trạng thái {from}; bản ghi này đang ở trạng thái {status}",
    ),
    (
        "detail.verified",
        "bản ghi đã được xác nhận và chỉ được xem; cán bộ có thể mở lại",
    ),
    (
        "detail.id_reused",
        "một bản ghi khác đã được gửi với mã này",
    ),
    ("detail.role", "vai trò {role} không được làm việc này"),
    (
        "detail.officers_check",
        "cán bộ xác nhận, trả lại và mở lại bản ghi; cán bộ không sửa bản ghi",
    ),
    (
        "detail.members_own",
        "thành viên chỉ sửa được bản ghi do mình tạo",
    ),
    ("detail.no_area", "tài khoản này chưa được giao địa bàn"),
    ("detail.login_failed", "sai tên đăng nhập hoặc mật khẩu"),
    ("detail.no_header", "thiếu tiêu đề Authorization"),
    ("detail.bad_header", "tiêu đề Authorization sai định dạng"),
    (
        "detail.bad_token",
        "mã truy cập không hợp lệ hoặc đã hết hạn",
    ),
    ("message.required", "là bắt buộc"),
    ("message.unknown", "không phải là trường của tài nguyên này"),
    ("message.duplicate", "bị gửi nhiều lần"),
    (
        "message.uuid",
        "phải là một UUID, ví dụ 0192f0c1-7d3e-7a4b-9c5d-6e7f8a9b0c1d",
    ),
    (
        "message.date",
        "phải là ngày theo dạng YYYY-MM-DD, ví dụ 2026-12-01",
    ),
    (
        "message.instant",
        "phải là ngày giờ theo dạng RFC 3339, ví dụ 2026-12-01T08:30:00Z",
    ),
    (
        "message.month",
        "phải là tháng theo dạng YYYY-MM, ví dụ 2026-12",
    ),
    ("message.wrong_form", "sai định dạng"),
    ("message.wrong_count", "có số phần tử không đúng"),
    (
        "message.not_allowed_value",
        "không thuộc các giá trị cho phép",
    ),
    ("message.nul", "không được chứa ký tự NUL"),
    ("message.empty", "không được để trống"),
    ("message.future", "không được là ngày trong tương lai"),
    ("message.reason", "hãy nêu lý do"),
    ("message.limit", "limit phải từ 1 đến {max}"),
    ("message.cursor", "cursor không phải do dịch vụ này cấp"),
    (
        "message.other_order",
        "cursor này được tạo với sort={sort}; hãy gửi lại đúng sort đó, hoặc bắt đầu lại không có cursor",
    ),
    (
        "message.sort",
        "phải là một trong {keys}, thêm - phía trước để sắp xếp giảm dần",
    ),
    (
        "message.sort_one",
        "phải là {key}: danh sách này chỉ có thứ tự đó",
    ),
    ("message.q", "q tối đa {max} ký tự"),
    ("message.include", "phải là một trong: {names}"),
    (
        "message.include_none",
        "danh sách này không có gì để kèm theo",
    ),
    ("message.ids", "hãy gửi từ 1 đến {max} mã"),
    (
        "message.versions",
        "mã này đã có ở {first} với phiên bản khác",
    ),
    (
        "message.version",
        "hãy gửi phiên bản mà thay đổi dựa trên, trong If-Match hoặc trường version",
    ),
    (
        "message.no_village",
        "không có thôn này trong địa bàn của bạn",
    ),
    ("message.chars", "tối đa {max} ký tự"),
    ("message.an_object", "phải là một đối tượng"),
    ("message.a_list", "phải là một danh sách"),
    ("message.text", "phải là văn bản"),
    ("message.bool", "phải là true hoặc false"),
    ("message.number", "phải là một số"),
    ("message.whole", "phải là số nguyên"),
    ("message.whole_positive", "phải là số nguyên từ 0 trở lên"),
    ("message.one_of", "phải là một trong {codes}"),
    ("message.must_be", "phải là {codes}"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn names(pattern: &str) -> Vec<&str> {
        let mut n: Vec<&str> = pieces(pattern)
            .into_iter()
            .filter(|(v, _)| *v)
            .map(|(_, p)| p)
            .collect();
        n.sort();
        n
    }

    #[test]
    fn every_key_has_both_languages_with_the_same_values() {
        let en: Vec<&str> = EN.iter().map(|(k, _)| *k).collect();
        let vi: Vec<&str> = VI.iter().map(|(k, _)| *k).collect();
        assert_eq!(en, vi, "the tables list the same keys in the same order");
        let mut sorted = en.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), en.len(), "a key is listed twice");
        for ((k, e), (_, v)) in EN.iter().zip(VI) {
            assert!(!e.trim().is_empty() && !v.trim().is_empty(), "{k}");
            assert_ne!(e, v, "{k} is not translated");
            assert_eq!(names(e), names(v), "{k}: the values differ");
        }
    }

    #[test]
    fn languages_follow_accept_language() {
        assert_eq!(Lang::from_header(None), Lang::En);
        assert_eq!(Lang::from_header(Some("vi")), Lang::Vi);
        assert_eq!(Lang::from_header(Some("vi-VN,vi;q=0.9")), Lang::Vi);
        assert_eq!(Lang::from_header(Some("en;q=0.5, vi;q=0.8")), Lang::Vi);
        assert_eq!(Lang::from_header(Some("vi;q=0.3, en;q=0.8")), Lang::En);
        assert_eq!(Lang::from_header(Some("fr, vi;q=0.1")), Lang::Vi);
        assert_eq!(Lang::from_header(Some("vi;q=0, en")), Lang::En);
        assert_eq!(Lang::from_header(Some("vi;q=0")), Lang::En);
        assert_eq!(Lang::from_header(Some("de, fr")), Lang::En);
        assert_eq!(Lang::from_header(Some("*;q=0.5, vi;q=0.4")), Lang::En);
    }

    #[test]
    fn english_texts_are_put_into_vietnamese_with_their_values() {
        assert_eq!(
            translate(Lang::Vi, "invalid fields: name, founded_on"),
            "các trường không hợp lệ: name, founded_on"
        );
        assert_eq!(
            translate(Lang::Vi, "limit must be between 1 and 500"),
            "limit phải từ 1 đến 500"
        );
        assert_eq!(
            translate(
                Lang::Vi,
                "verify needs a submitted record; this one is verified"
            ),
            "thao tác verify cần bản ghi ở trạng thái submitted; bản ghi này đang ở trạng thái verified"
        );
        assert_eq!(translate(Lang::Vi, "something new"), "something new");
        assert_eq!(translate(Lang::En, "is required"), "is required");
        assert_eq!(en("title.validation"), "Invalid input");
    }
}
