//! `Lenient<T>`: a field that tolerates whatever Azure sends.
//!
//! Azure adds enum values and, rarely, sends a field with an unexpected JSON type. A scanner
//! that failed a whole page on such a field would silently drop instances, so every field the
//! scanner reads is wrapped: a value of the expected type becomes [`Lenient::Value`], a missing
//! field or JSON `null` becomes [`Lenient::Absent`], and anything else is kept verbatim as
//! [`Lenient::Invalid`] so that the checks can report it as `unknown` instead of guessing.
//!
//! Models holding lenient fields are parsed from JSON text (`serde_json::from_slice` /
//! `from_str`, as the ARM client does): each field borrows its raw text from the input, which a
//! `serde_json::Value` cannot lend.

use serde::de::{Deserialize, DeserializeOwned, Deserializer, Error as _};
use serde::ser::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// A JSON field that is absent, holds the expected type, or holds something unexpected.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Lenient<T> {
    /// The field was missing or `null`.
    #[default]
    Absent,
    /// The field held a value of the expected type.
    Value(T),
    /// The field held a value of another type; kept as received.
    Invalid(Value),
}

impl<T> Lenient<T> {
    /// The value, when it was present and well-typed.
    pub fn get(&self) -> Option<&T> {
        match self {
            Lenient::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Consumes the field and returns the well-typed value, if any.
    pub fn into_option(self) -> Option<T> {
        match self {
            Lenient::Value(v) => Some(v),
            _ => None,
        }
    }

    /// True when the field was missing or `null` (used to skip it when serialising).
    pub fn is_absent(&self) -> bool {
        matches!(self, Lenient::Absent)
    }

    /// The raw JSON of an ill-typed value, for error reporting.
    pub fn invalid(&self) -> Option<&Value> {
        match self {
            Lenient::Invalid(v) => Some(v),
            _ => None,
        }
    }

    /// Borrowing view of the field.
    pub fn as_ref(&self) -> Lenient<&T> {
        match self {
            Lenient::Absent => Lenient::Absent,
            Lenient::Value(v) => Lenient::Value(v),
            Lenient::Invalid(v) => Lenient::Invalid(v.clone()),
        }
    }
}

impl<T> From<T> for Lenient<T> {
    fn from(v: T) -> Self {
        Lenient::Value(v)
    }
}

impl<T> From<Option<T>> for Lenient<T> {
    fn from(v: Option<T>) -> Self {
        match v {
            Some(v) => Lenient::Value(v),
            None => Lenient::Absent,
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The field's JSON text, borrowed from the page as it is (no tree of `Value`s: building
        // one for every item of every page was most of a scan's parsing time; and no copy: ARM
        // pages are parsed from a byte slice, which raw values borrow from), then parsed as `T`;
        // only text of another type is parsed again, into the `Value` kept for the report.
        let raw = <&'de RawValue>::deserialize(deserializer)?;
        let text = raw.get();
        if text == "null" {
            return Ok(Lenient::Absent);
        }
        match serde_json::from_str::<T>(text) {
            Ok(v) => Ok(Lenient::Value(v)),
            Err(_) => serde_json::from_str::<Value>(text)
                .map(Lenient::Invalid)
                .map_err(D::Error::custom),
        }
    }
}

impl<T: Serialize> Serialize for Lenient<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Lenient::Absent => serializer.serialize_none(),
            Lenient::Value(v) => v.serialize(serializer),
            Lenient::Invalid(v) => v.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, serde::Serialize, Debug)]
    struct Probe {
        #[serde(default, skip_serializing_if = "Lenient::is_absent")]
        enabled: Lenient<bool>,
        #[serde(default, skip_serializing_if = "Lenient::is_absent")]
        name: Lenient<String>,
    }

    #[test]
    fn typed_value_is_kept() {
        let p: Probe = serde_json::from_str(r#"{"enabled":true,"name":"a"}"#).unwrap();
        assert_eq!(p.enabled, Lenient::Value(true));
        assert_eq!(p.name.get().map(String::as_str), Some("a"));
    }

    #[test]
    fn missing_and_null_are_absent() {
        let p: Probe = serde_json::from_str(r#"{"enabled":null}"#).unwrap();
        assert!(p.enabled.is_absent());
        assert!(p.name.is_absent());
        assert_eq!(serde_json::to_string(&p).unwrap(), "{}");
    }

    #[test]
    fn wrong_type_is_invalid_not_an_error() {
        let p: Probe = serde_json::from_str(r#"{"enabled":"yes","name":7}"#).unwrap();
        assert_eq!(p.enabled.invalid(), Some(&Value::String("yes".into())));
        assert_eq!(p.name.invalid(), Some(&Value::from(7)));
        assert_eq!(p.enabled.get(), None);
        // Round-trips verbatim.
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"enabled":"yes","name":7}"#
        );
    }
}
