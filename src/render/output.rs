//! What a template produced: validated JSON, minified, with the two numbers the
//! channels' limits depend on (longest string, longest array) measured in the same
//! pass, so a payload that cannot break any limit is never parsed into a tree.

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A template's output: valid, minified JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The JSON text, whitespace between tokens removed.
    pub json: String,
    /// Characters in the longest string value (keys not counted).
    pub longest_string: usize,
    /// Elements in the longest array.
    pub longest_array: usize,
}

impl Rendered {
    /// Validates and measures `output`; the error is serde_json's, with line and column.
    pub fn from_output(output: &str) -> Result<Self, serde_json::Error> {
        let mut shape = Shape::default();
        let mut deserializer = serde_json::Deserializer::from_str(output);
        Scan(&mut shape).deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(Self { json: minify(output), longest_string: shape.longest_string, longest_array: shape.longest_array })
    }

    /// The output as a JSON tree, for channels that must edit it.
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&self.json)
    }

    /// Whether the output is a JSON object.
    pub fn is_object(&self) -> bool {
        self.json.starts_with('{')
    }
}

#[derive(Default)]
struct Shape {
    longest_string: usize,
    longest_array: usize,
}

struct Scan<'a>(&'a mut Shape);

impl<'de> DeserializeSeed<'de> for Scan<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scan<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, text: &str) -> Result<(), E> {
        self.0.longest_string = self.0.longest_string.max(text.chars().count());
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut count = 0;
        while seq.next_element_seed(Scan(&mut *self.0))?.is_some() {
            count += 1;
        }
        self.0.longest_array = self.0.longest_array.max(count);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(Scan(&mut *self.0))?;
        }
        Ok(())
    }
}

/// Removes whitespace outside strings. Only ASCII bytes are dropped, so valid
/// UTF-8 stays valid.
pub fn minify(json: &str) -> String {
    let bytes = json.as_bytes();
    let mut out = Vec::with_capacity(json.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'"' {
            // Copy the whole string literal in one go.
            let end = string_end(bytes, index + 1);
            out.extend_from_slice(&bytes[index..end]);
            index = end;
        } else {
            if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                out.push(byte);
            }
            index += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

/// Index just past the closing quote of the string literal whose content starts at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut index = start;
    while let Some(offset) = bytes[index..].iter().position(|&byte| byte == b'"' || byte == b'\\') {
        index += offset;
        if bytes[index] == b'"' {
            return index + 1;
        }
        index += 2; // a backslash and the character it escapes
        if index >= bytes.len() {
            return bytes.len();
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_strings_and_arrays_and_minifies() {
        let rendered = Rendered::from_output(
            "{\n  \"a\": [1, 2, 3],\n  \"b\": \"🦜 \\\" x\",\n  \"long key name\": [[1], []]\n}\n",
        )
        .expect("valid JSON");
        assert_eq!(rendered.json, r#"{"a":[1,2,3],"b":"🦜 \" x","long key name":[[1],[]]}"#);
        assert_eq!(rendered.longest_string, 5);
        assert_eq!(rendered.longest_array, 3);
        assert!(rendered.is_object());
        assert_eq!(rendered.to_value().expect("parses")["b"], "🦜 \" x");
    }

    #[test]
    fn invalid_output_reports_line_and_column() {
        let error = Rendered::from_output("{\n \"a\": 1,\n \"b\": oops\n}").expect_err("invalid");
        assert_eq!((error.line(), error.column()), (3, 7));
        assert!(Rendered::from_output("{} trailing").is_err());
    }

    #[test]
    fn minify_keeps_whitespace_inside_strings() {
        assert_eq!(minify("{ \"a b\" : \" x \\\\\" }"), "{\"a b\":\" x \\\\\"}");
    }
}
