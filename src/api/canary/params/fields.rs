//! [`Fields`]: a serde `Deserializer` over a request's parameters (name → text),
//! so that each endpoint declares its parameters as a `#[derive(Deserialize)]`
//! struct. Every value is text (a JSON body's scalars arrive as their JSON
//! text), read as the field's type asks: `bool` as `true`/`1`/`yes` or
//! `false`/`0`/`no`, numbers from their trimmed text, strings as they are.
//!
//! Errors are the API's own: a missing field is [`ApiError::MissingParameter`]
//! and a value its type refuses is [`ApiError::InvalidParameter`] naming the
//! field, worded as the handlers always worded them.

use std::fmt::Display;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::forward_to_deserialize_any;

use crate::api::error::ApiError;

/// A deserialization error: the API error it answers.
#[derive(Debug)]
pub struct FieldError(pub ApiError);

impl Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for FieldError {}

impl de::Error for FieldError {
    /// A value's own refusal; [`Fields`] names the field it came from.
    fn custom<T: Display>(message: T) -> Self {
        Self(ApiError::BadRequest(message.to_string()))
    }

    fn missing_field(field: &'static str) -> Self {
        Self(ApiError::MissingParameter(field))
    }
}

/// The parameters of one request, as a map for a struct to take its fields from.
pub struct Fields<'a, I: Iterator<Item = (&'a String, &'a String)>> {
    pairs: I,
    /// The field names of the struct being read (to name a field in an error).
    names: &'static [&'static str],
    /// The value [`MapAccess::next_value_seed`] reads next, with its field name.
    pending: Option<(Option<&'static str>, &'a str)>,
}

impl<'a, I: Iterator<Item = (&'a String, &'a String)>> Fields<'a, I> {
    /// The parameters `pairs` (blank ones already left out).
    pub fn new(pairs: I) -> Self {
        Self { pairs, names: &[], pending: None }
    }
}

impl<'de, 'a: 'de, I: Iterator<Item = (&'a String, &'a String)>> de::Deserializer<'de> for Fields<'a, I> {
    type Error = FieldError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_map(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        self.names = fields;
        visitor.visit_map(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

impl<'de, 'a: 'de, I: Iterator<Item = (&'a String, &'a String)>> MapAccess<'de> for Fields<'a, I> {
    type Error = FieldError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, FieldError> {
        let Some((name, value)) = self.pairs.next() else {
            return Ok(None);
        };
        let field = self.names.iter().copied().find(|field| *field == name.as_str());
        self.pending = Some((field, value.as_str()));
        let name = de::value::BorrowedStrDeserializer::<FieldError>::new(name.as_str());
        seed.deserialize(name).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, FieldError> {
        let (field, text) = self.pending.take().ok_or_else(|| de::Error::custom("a value without its name"))?;
        seed.deserialize(Text { text }).map_err(|FieldError(error)| match (error, field) {
            (ApiError::BadRequest(reason), Some(name)) => FieldError(ApiError::InvalidParameter { name, reason }),
            (error, _) => FieldError(error),
        })
    }
}

/// One parameter's text, read as the field's type asks.
struct Text<'a> {
    text: &'a str,
}

impl Text<'_> {
    fn number<T: std::str::FromStr>(&self) -> Result<T, FieldError> {
        self.text.trim().parse().map_err(|_| de::Error::custom("must be a number"))
    }
}

macro_rules! numbers {
    ($($method:ident $visit:ident $type:ty;)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
            visitor.$visit(self.number::<$type>()?)
        })*
    };
}

impl<'de, 'a: 'de> de::Deserializer<'de> for Text<'a> {
    type Error = FieldError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_borrowed_str(self.text)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        match self.text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => visitor.visit_bool(true),
            "false" | "0" | "no" => visitor.visit_bool(false),
            _ => Err(de::Error::custom("must be true or false")),
        }
    }

    numbers! {
        deserialize_i8 visit_i8 i8; deserialize_i16 visit_i16 i16; deserialize_i32 visit_i32 i32;
        deserialize_i64 visit_i64 i64; deserialize_u8 visit_u8 u8; deserialize_u16 visit_u16 u16;
        deserialize_u32 visit_u32 u32; deserialize_u64 visit_u64 u64; deserialize_f32 visit_f32 f32;
        deserialize_f64 visit_f64 f64;
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        let text = de::value::BorrowedStrDeserializer::<FieldError>::new(self.text);
        visitor.visit_enum(text)
    }

    forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Example {
        flock_id: String,
        port: u16,
        https: Option<bool>,
        index: Option<String>,
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<Example, String> {
        let map: BTreeMap<String, String> =
            pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        Example::deserialize(Fields::new(map.iter())).map_err(|error| error.0.to_string())
    }

    #[test]
    fn text_is_read_as_each_field_asks() {
        let example = parse(&[("flock_id", "flock:a"), ("port", " 8088"), ("https", "no"), ("other", "x")]);
        let expected = Example { flock_id: "flock:a".into(), port: 8088, https: Some(false), index: None };
        assert_eq!(example, Ok(expected));
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(parse(&[("flock_id", "flock:a")]), Err("missing parameter port".to_owned()));
        assert_eq!(parse(&[("flock_id", "a"), ("port", "x")]), Err("invalid port: must be a number".to_owned()));
        let flag = parse(&[("flock_id", "a"), ("port", "1"), ("https", "maybe")]);
        assert_eq!(flag, Err("invalid https: must be true or false".to_owned()));
    }
}
