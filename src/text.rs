//! Text rules shared by every resource: Unicode NFC on the way in, and the
//! accent- and case-insensitive form used for `q` searches.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lower case, without diacritics, `đ` read as `d`, runs of white space as
/// one space: "Xã Lũng Cú" and "xa lung cu" fold to the same text.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.nfd().filter(|c| !is_combining_mark(*c)) {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        match c {
            'đ' | 'Đ' => out.push('d'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// NFC with surrounding white space trimmed.
pub fn nfc_trim(s: &str) -> String {
    s.trim().nfc().collect()
}

/// Escapes `%`, `_` and `\` for use inside a LIKE pattern.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `%term%` for a folded, escaped search term.
pub fn contains_pattern(q: &str) -> String {
    format!("%{}%", like_escape(&fold(q)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_vietnamese() {
        assert_eq!(fold("Tỉnh Cao Bằng"), "tinh cao bang");
        assert_eq!(fold("Xã Lũng Cú"), "xa lung cu");
        assert_eq!(fold("  Đồng   Văn "), "dong van");
        assert_eq!(fold("Hoà"), fold("Hòa"));
        // Precomposed and decomposed input fold alike.
        assert_eq!(fold("Ba\u{0300}n"), fold("Bàn"));
    }

    #[test]
    fn nfc_composes() {
        assert_eq!(nfc_trim(" Ba\u{0300}n "), "Bàn");
    }

    #[test]
    fn like_is_escaped() {
        assert_eq!(contains_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
    }
}
