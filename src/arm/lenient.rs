//! `Lenient<T>`: a field that tolerates whatever Azure sends.
//!
//! Azure adds enum values and, rarely, sends a field with an unexpected JSON type. A scanner
//! that failed a whole page on such a field would silently drop instances, so every field the
//! scanner reads is wrapped: a value of the expected type becomes [`Lenient::Value`], a missing
//! field or JSON `null` becomes [`Lenient::Absent`], and anything else is kept verbatim as
//! [`Lenient::Invalid`] so that the checks can report it as `unknown` instead of guessing.
//!
//! Objects and scalars are read in one pass ([`LenientDecode`]): an ARM object's fields are
//! matched by name as they stream by and every other member is skipped once, so a page is
//! scanned once however deep its objects nest. A key that appears twice in one object makes
//! that field `Invalid` (holding the second value): JSON leaves duplicate names undefined
//! (RFC 8259, section 4), so which one Azure meant is unknown. Lists and tag maps are small; they
//! are read from their raw text ([`decode_text`]), so that a list with one ill-typed element is
//! kept verbatim as a whole. Models holding lenient fields are therefore parsed from JSON text
//! (`serde_json::from_slice` / `from_str`, as the ARM client does), which the raw text borrows
//! from; a `serde_json::Value` cannot lend it.

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{
    self, Deserialize, DeserializeOwned, Deserializer, Error as _, MapAccess, SeqAccess, Visitor,
};
use serde::ser::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

/// A JSON field that is absent, holds the expected type, or holds something unexpected.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Lenient<T> {
    /// The field was missing or `null`.
    #[default]
    Absent,
    /// The field held a value of the expected type.
    Value(T),
    /// The field held a value of another type; kept as received (boxed: it is rare, and a field
    /// is then no bigger than its value).
    Invalid(Box<Value>),
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

    /// An ill-typed value, kept as received.
    pub fn invalid_value(v: Value) -> Self {
        Lenient::Invalid(Box::new(v))
    }

    /// The raw JSON of an ill-typed value, for error reporting.
    pub fn invalid(&self) -> Option<&Value> {
        match self {
            Lenient::Invalid(v) => Some(v.as_ref()),
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

/// How a type is read into a [`Lenient`] field.
pub trait LenientDecode: Sized {
    /// Reads one JSON value: the expected type gives `Value`, `null` gives `Absent`, any other
    /// value `Invalid`. Only malformed JSON is an error.
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Lenient<Self>, D::Error>;
}

impl<'de, T: LenientDecode> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::decode(deserializer)
    }
}

/// Reads a field from its raw JSON text: the text is borrowed from the page (no copy), parsed
/// as `T`, and only text of another type is parsed again, into the `Value` kept for the report.
/// Used for lists and maps, whose `Invalid` form must be the whole value as received.
pub fn decode_text<'de, T: DeserializeOwned, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Lenient<T>, D::Error> {
    let raw = <&'de RawValue>::deserialize(deserializer)?;
    let text = raw.get();
    if text == "null" {
        return Ok(Lenient::Absent);
    }
    match serde_json::from_str::<T>(text) {
        Ok(v) => Ok(Lenient::Value(v)),
        Err(_) => serde_json::from_str::<Value>(text)
            .map(Lenient::invalid_value)
            .map_err(D::Error::custom),
    }
}

impl<T: DeserializeOwned> LenientDecode for Vec<T> {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Lenient<Self>, D::Error> {
        decode_text(deserializer)
    }
}

impl LenientDecode for BTreeMap<String, String> {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Lenient<Self>, D::Error> {
        decode_text(deserializer)
    }
}

/// Any JSON value is a `Value`; only `null` is absent.
impl LenientDecode for Value {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Lenient<Self>, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Null => Lenient::Absent,
            v => Lenient::Value(v),
        })
    }
}

/// What each kind of JSON value becomes for a type read in one pass; every default keeps the
/// value as `Invalid`.
pub trait Expected: Sized {
    /// A JSON string.
    fn from_str(s: &str) -> Option<Self> {
        let _ = s;
        None
    }
    /// A JSON string the parser already copied (one with escapes); handed back when unused.
    fn from_string(s: String) -> Result<Self, String> {
        Self::from_str(&s).ok_or(s)
    }
    /// `true` or `false`.
    fn from_bool(b: bool) -> Option<Self> {
        let _ = b;
        None
    }
    /// A negative integer, or any integer for parsers that prefer it.
    fn from_i64(n: i64) -> Option<Self> {
        let _ = n;
        None
    }
    /// A non-negative integer.
    fn from_u64(n: u64) -> Option<Self> {
        let _ = n;
        None
    }
    /// A JSON object, read member by member.
    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Lenient<Self>, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Lenient::invalid_value)
    }
}

/// Reads any JSON value in one pass as `T` expects it (see [`Expected`]).
pub fn decode_one_pass<'de, T: Expected, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Lenient<T>, D::Error> {
    deserializer.deserialize_any(OnePass(PhantomData))
}

struct OnePass<T>(PhantomData<T>);

impl<'de, T: Expected> Visitor<'de> for OnePass<T> {
    type Value = Lenient<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Absent)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Absent)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        Ok(T::from_bool(b).map_or(Lenient::invalid_value(Value::Bool(b)), Lenient::Value))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(T::from_i64(n).map_or(Lenient::invalid_value(Value::from(n)), Lenient::Value))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(T::from_u64(n).map_or(Lenient::invalid_value(Value::from(n)), Lenient::Value))
    }
    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Self::Value, E> {
        Ok(Lenient::invalid_value(Value::from(x)))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(match T::from_str(s) {
            Some(v) => Lenient::Value(v),
            None => Lenient::invalid_value(Value::String(s.to_owned())),
        })
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(match T::from_string(s) {
            Ok(v) => Lenient::Value(v),
            Err(s) => Lenient::invalid_value(Value::String(s)),
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Lenient::invalid_value)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::from_map(map)
    }
}

impl Expected for String {
    fn from_str(s: &str) -> Option<Self> {
        Some(s.to_owned())
    }
    fn from_string(s: String) -> Result<Self, String> {
        Ok(s)
    }
}

impl Expected for bool {
    fn from_bool(b: bool) -> Option<Self> {
        Some(b)
    }
}

impl Expected for i64 {
    fn from_i64(n: i64) -> Option<Self> {
        Some(n)
    }
    fn from_u64(n: u64) -> Option<Self> {
        i64::try_from(n).ok()
    }
}

impl LenientDecode for String {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Lenient<Self>, D::Error> {
        decode_one_pass(deserializer)
    }
}

impl LenientDecode for bool {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Lenient<Self>, D::Error> {
        decode_one_pass(deserializer)
    }
}

impl LenientDecode for i64 {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Lenient<Self>, D::Error> {
        decode_one_pass(deserializer)
    }
}

/// An object key, borrowed from the page unless it holds escapes.
pub enum Key<'de> {
    /// The key as it appears in the page.
    Borrowed(&'de str),
    /// The key unescaped.
    Owned(String),
}

impl Key<'_> {
    /// The key's text.
    pub fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(s))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(s))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// True when the JSON `key` names the Rust `field`: its `rename`, or else the field's name in
/// camelCase as serde's `rename_all = "camelCase"` spells it (`v_tpm_enabled` is `vTpmEnabled`).
pub fn key_is(key: &str, field: &str, rename: Option<&str>) -> bool {
    if let Some(name) = rename {
        return key == name;
    }
    let (key, mut field) = (key.as_bytes(), field.as_bytes().iter());
    let mut k = 0;
    while let Some(&c) = field.next() {
        let want = if c == b'_' {
            match field.next() {
                Some(&c) if c != b'_' => c.to_ascii_uppercase(),
                _ => return false,
            }
        } else {
            c
        };
        if key.get(k) != Some(&want) {
            return false;
        }
        k += 1;
    }
    k == key.len()
}

/// Reads the value of an object member into its field; `seen` has a bit per field already
/// read, and a second occurrence makes the field `Invalid`.
pub fn read_field<'de, A: MapAccess<'de>, T: LenientDecode>(
    map: &mut A,
    slot: &mut Lenient<T>,
    seen: &mut u64,
    bit: u64,
) -> Result<(), A::Error> {
    if *seen & bit == 0 {
        *seen |= bit;
        *slot = map.next_value()?;
    } else {
        *slot = Lenient::invalid_value(map.next_value::<Value>()?);
    }
    Ok(())
}

/// The strict form of a one-pass type, for lists of objects: an object is read, anything else
/// (including `null`) is an error, as serde's derived `Deserialize` would give.
pub fn deserialize_strict<'de, T: LenientDecode, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    match T::decode(deserializer)? {
        Lenient::Value(v) => Ok(v),
        Lenient::Absent => Err(D::Error::invalid_type(de::Unexpected::Unit, &"an object")),
        Lenient::Invalid(_) => Err(D::Error::custom("expected an object")),
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
