//! Domain types that requests are parsed into at the edge. Each constructor
//! enforces its rule, and `Check` gathers every bad field of a request so
//! that one 422 names them all.

use std::fmt;

use serde::Serialize;

use crate::error::{ApiError, FieldError};
use crate::text;

/// Collects field errors while a request is parsed.
#[derive(Debug, Default)]
pub struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    pub fn new() -> Self {
        Check::default()
    }

    pub fn fail(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, code, message));
    }

    /// Keeps the value, or records why it was refused under `field`.
    pub fn take<T>(&mut self, field: &str, result: Result<T, Invalid>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(Invalid { code, message }) => {
                self.fail(field, code, message);
                None
            }
        }
    }

    /// Like `take`, for optional input: `None` stays `None`.
    pub fn take_opt<T, U>(
        &mut self,
        field: &str,
        value: Option<U>,
        parse: impl FnOnce(U) -> Result<T, Invalid>,
    ) -> Option<Option<T>> {
        match value {
            None => Some(None),
            Some(v) => self.take(field, parse(v)).map(Some),
        }
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Err(422)` naming every bad field, if there is any.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }
}

/// Why one value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
    pub message: String,
}

fn invalid(code: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        code,
        message: message.into(),
    }
}

/// A person's or a record's name: trimmed, NFC, 1 to 200 characters, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Name(String);

/// The longest `Name`, in characters (after trimming).
pub const NAME_MAX_CHARS: usize = 200;

/// What `Name::parse` takes, as an OpenAPI `pattern`: something other than
/// white space, and no control character but white space (runs of white
/// space become one space).
pub const NAME_PATTERN: &str = r"^[^\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f]*$";

impl Name {
    pub fn parse(raw: &str) -> Result<Name, Invalid> {
        too_long(raw, NAME_MAX_CHARS)?;
        let s = text::nfc_trim(raw);
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let n = s.chars().count();
        if n == 0 {
            return Err(invalid("required", "must not be empty"));
        }
        if n > NAME_MAX_CHARS {
            return Err(invalid(
                "too_long",
                format!("must be at most {NAME_MAX_CHARS} characters"),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(invalid(
                "control_characters",
                "must not contain control characters",
            ));
        }
        Ok(Name(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A name in the OpenAPI document: what `parse` takes, from its limits.
impl utoipa::PartialSchema for Name {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(NAME_MAX_CHARS))
            .pattern(Some(NAME_PATTERN))
            .description(Some(
                "A name: at most 200 characters as sent, not blank; trimmed, with runs of white space read as one space; no control characters but white space.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Name {}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The strings [`short_text`] admits, as a JSON Schema pattern: white
/// space at either end (trimmed away), and between no control character
/// but line breaks. Its length is checked apart, once trimmed.
pub const SHORT_TEXT_PATTERN: &str = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x09\x0b-\x1f\x7f-\x9f]*[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$";
/// [`SHORT_TEXT_PATTERN`] for a text that must not be blank.
pub const REQUIRED_TEXT_PATTERN: &str = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x09\x0b-\x1f\x7f-\x9f]*[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$";

/// Short free text (ethnicity, decision number, ...): trimmed, NFC, at most
/// `max` characters, no control characters; empty means absent.
pub fn short_text(raw: &str, max: usize) -> Result<Option<String>, Invalid> {
    too_long(raw, max)?;
    let s = text::nfc_trim(raw);
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > max {
        return Err(invalid(
            "too_long",
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid(
            "control_characters",
            "must not contain control characters",
        ));
    }
    Ok(Some(s))
}

/// A text longer than `max` characters as sent is refused before it is
/// trimmed or normalised, so the limit is the one the OpenAPI document
/// states (`maxLength` counts what the client sends). The normalised text
/// is held to the same limit after.
fn too_long(raw: &str, max: usize) -> Result<(), Invalid> {
    if raw.chars().nth(max).is_some() {
        return Err(invalid(
            "too_long",
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// Mobile prefixes in use in Vietnam (after the 2018 renumbering).
const MOBILE_PREFIXES: &[&str] = &[
    "032", "033", "034", "035", "036", "037", "038", "039", "052", "055", "056", "058", "059",
    "070", "076", "077", "078", "079", "081", "082", "083", "084", "085", "086", "087", "088",
    "089", "090", "091", "092", "093", "094", "096", "097", "098", "099",
];

/// What `Phone::parse` takes, as an OpenAPI `pattern`, or a blank text
/// (which a phone field reads as none): 0, `+84` or `84`, then a mobile
/// prefix of [`MOBILE_PREFIXES`] and seven digits, with spaces, dots,
/// dashes or brackets anywhere between them and white space at either end.
pub const PHONE_PATTERN: &str = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[ .()-]*(?:0|\+[ .()-]*8[ .()-]*4|8[ .()-]*4)[ .()-]*(?:3[ .()-]*[2-9]|5[ .()-]*[25689]|7[ .()-]*[06-9]|8[ .()-]*[1-9]|9[ .()-]*[0-46-9])(?:[ .()-]*[0-9]){7}[ .()-]*)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$";

/// A Vietnamese mobile number, stored as ten digits starting with 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Phone(String);

impl Phone {
    /// Accepts `0xxxxxxxxx`, `+84xxxxxxxxx` or `84xxxxxxxxx`, with spaces,
    /// dots or dashes between digits.
    pub fn parse(raw: &str) -> Result<Phone, Invalid> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
            .collect();
        let national = if let Some(rest) = compact.strip_prefix("+84") {
            format!("0{rest}")
        } else if compact.starts_with("84") && compact.len() == 11 {
            format!("0{}", &compact[2..])
        } else {
            compact
        };
        if national.len() != 10 || !national.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "invalid_phone",
                "must be a Vietnamese mobile number: 0 and 9 digits, or +84 and 9 digits",
            ));
        }
        if !MOBILE_PREFIXES.contains(&&national[..3]) {
            return Err(invalid(
                "invalid_phone",
                format!("{} is not a Vietnamese mobile prefix", &national[..3]),
            ));
        }
        Ok(Phone(national))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A year within `lo..=hi`.
pub fn year(value: i32, lo: i32, hi: i32) -> Result<i32, Invalid> {
    if (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            "out_of_range",
            format!("must be between {lo} and {hi}"),
        ))
    }
}

/// The current year in Vietnam.
pub fn this_year() -> i32 {
    use chrono::Datelike;
    crate::units::repo::today().year()
}

/// A closed set of codes, parsed with a message listing the choices.
#[macro_export]
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Result<$name, $crate::domain::Invalid> {
                let raw = raw.trim();
                $name::ALL.iter().copied().find(|v| v.as_str() == raw).ok_or_else(|| {
                    let allowed: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    $crate::domain::Invalid {
                        code: "not_allowed",
                        message: format!("must be one of {}", allowed.join(", ")),
                    }
                })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

crate::code_enum!(
    #[derive(utoipa::ToSchema)]
    Gender { Female = "female", Male = "male", Other = "other" }
);
crate::code_enum!(
    #[derive(utoipa::ToSchema)]
    TeamRole { Leader = "leader", Deputy = "deputy", Member = "member" }
);
crate::code_enum!(
    #[derive(utoipa::ToSchema)]
    Affiliation {
    YouthUnion = "youth_union",
    WomensUnion = "womens_union",
    CommunePolice = "commune_police",
    Teacher = "teacher",
    VillageHead = "village_head",
    Other = "other",
});
crate::code_enum!(
    #[derive(utoipa::ToSchema)]
    TeamStatus { Active = "active", Dissolved = "dissolved" }
);
crate::code_enum!(
    /// A household's poverty status in the latest survey.
    #[derive(utoipa::ToSchema)]
    PovertyStatus { Poor = "poor", NearPoor = "near_poor", NotPoor = "not_poor" }
);
crate::code_enum!(
    /// Yes, no, or not known (yet).
    #[derive(utoipa::ToSchema)]
    YesNoUnknown { Yes = "yes", No = "no", Unknown = "unknown" }
);
crate::code_enum!(
    /// The twelve deprivation indicators of the multidimensional poverty
    /// standard 2022-2025 (Decree 07/2021/NĐ-CP).
    #[derive(utoipa::ToSchema)]
    Deprivation {
        Employment = "employment",
        Dependents = "dependents",
        Nutrition = "nutrition",
        HealthInsurance = "health_insurance",
        AdultEducation = "adult_education",
        ChildSchooling = "child_schooling",
        HousingQuality = "housing_quality",
        HousingArea = "housing_area",
        DrinkingWater = "drinking_water",
        Sanitation = "sanitation",
        TelecomServices = "telecom_services",
        InformationAccess = "information_access",
    }
);

/// Deprivation codes, each once, in the standard's order.
pub fn deprivations(raw: &[String]) -> Result<Vec<String>, Invalid> {
    let mut found = Vec::new();
    for r in raw {
        let d = Deprivation::parse(r)?;
        if !found.contains(&d) {
            found.push(d);
        }
    }
    Ok(Deprivation::ALL
        .iter()
        .filter(|d| found.contains(d))
        .map(|d| d.as_str().to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_composed_and_bounded() {
        assert_eq!(
            Name::parse("  Nguyễn   Thị\u{0300}  ").unwrap().as_str(),
            "Nguyễn Thị\u{0300}".nfc_string()
        );
        assert_eq!(Name::parse("").unwrap_err().code, "required");
        assert_eq!(Name::parse(&"a".repeat(201)).unwrap_err().code, "too_long");
        assert!(Name::parse(&"ă".repeat(200)).is_ok());
        // The limit counts what was sent, as `maxLength` does: padding or
        // decomposed letters do not slip a longer text through.
        let padded = format!(" {} ", "a".repeat(199));
        assert_eq!(Name::parse(&padded).unwrap_err().code, "too_long");
        let decomposed = "a\u{0306}".repeat(101);
        assert_eq!(Name::parse(&decomposed).unwrap_err().code, "too_long");
        assert!(Name::parse(&"a\u{0306}".repeat(100)).is_ok());
        assert_eq!(
            short_text(&format!("{}  ", "x".repeat(19)), 20)
                .unwrap_err()
                .code,
            "too_long"
        );
        assert_eq!(short_text(" x ", 3).unwrap().as_deref(), Some("x"));
        assert_eq!(
            Name::parse("a\u{7}b").unwrap_err().code,
            "control_characters"
        );
    }

    trait NfcString {
        fn nfc_string(&self) -> String;
    }
    impl NfcString for str {
        fn nfc_string(&self) -> String {
            crate::text::nfc_trim(self)
        }
    }

    #[test]
    fn phones_normalise() {
        for raw in [
            "0912 345 678",
            "+84912345678",
            "84912345678",
            "091.234.5678",
            "091-234-5678",
        ] {
            assert_eq!(
                Phone::parse(raw).unwrap().into_inner(),
                "0912345678",
                "{raw}"
            );
        }
        for raw in [
            "0212345678",
            "091234567",
            "09123456789",
            "abc",
            "+1 212 555 0100",
            "0952345678",
        ] {
            assert!(Phone::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn enums_parse_and_list_choices() {
        assert_eq!(Gender::parse("female").unwrap(), Gender::Female);
        let e = TeamRole::parse("boss").unwrap_err();
        assert!(e.message.contains("leader, deputy, member"));
        assert_eq!(
            deprivations(&[
                "information_access".into(),
                "employment".into(),
                "employment".into()
            ])
            .unwrap(),
            vec!["employment", "information_access"]
        );
        assert!(deprivations(&["wealth".into()]).is_err());
        assert_eq!(Deprivation::ALL.len(), 12);
    }

    #[test]
    fn check_gathers_every_error() {
        let mut c = Check::new();
        c.take("a", Name::parse(""));
        c.take("b", Phone::parse("1"));
        assert!(c.take("c", Name::parse("ok")).is_some());
        let errors = c.into_errors();
        assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }
}
