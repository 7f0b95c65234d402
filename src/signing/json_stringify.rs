//! JSON exactly as JavaScript's `JSON.stringify(JSON.parse(text))` writes it.
//!
//! A Flock receiver (the seed's code) does not HMAC the bytes it received: it
//! parses the body and HMACs `JSON.stringify(payload)`. A signed body therefore
//! has to be a fixed point of that round trip, byte for byte. Where serde_json
//! and ECMAScript differ, ECMAScript wins here:
//!
//! - numbers are IEEE doubles written by `Number.prototype.toString`: `-0` is
//!   `0`, `1.0` is `1`, `1e20` is written out, `1e21` is `1e+21`, integers beyond
//!   2^53 lose what a double cannot hold;
//! - object keys that are array indexes (`"0"`, `"42"`, up to 2^32 − 2) come
//!   first, in numeric order, then the other keys in their order (a repeated key
//!   keeps its first place and its last value);
//! - strings escape `"`, `\`, and control characters only (`\b \f \n \r \t`,
//!   others as `\u00xx`); U+2028, U+2029, DEL and `/` are written as they are.
//!
//! Pure: no I/O. Parsing uses serde_json with `float_roundtrip`, so a number
//! becomes the same double JavaScript's parser makes of it.

use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

/// `JSON.stringify(JSON.parse(text))`.
pub fn canonical(text: &str) -> Result<String, serde_json::Error> {
    let value: Value = serde_json::from_str(text)?;
    Ok(stringify(&value))
}

/// `JSON.stringify(value)` for a value parsed from JSON.
pub fn stringify(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>) {
    let mut indexes: Vec<(u32, &String, &Value)> =
        map.iter().filter_map(|(key, value)| array_index(key).map(|index| (index, key, value))).collect();
    indexes.sort_by_key(|(index, ..)| *index);
    let named = map.iter().filter(|(key, _)| array_index(key).is_none());
    out.push('{');
    let entries = indexes.into_iter().map(|(_, key, value)| (key, value)).chain(named);
    for (position, (key, value)) in entries.enumerate() {
        if position > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, value);
    }
    out.push('}');
}

/// The key as an ECMAScript array index: the canonical decimal form of an
/// integer from 0 to 2^32 − 2.
fn array_index(key: &str) -> Option<u32> {
    let canonical = key == "0" || (!key.starts_with('0') && !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()));
    if !canonical {
        return None;
    }
    key.parse::<u32>().ok().filter(|index| *index != u32::MAX)
}

fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ch if u32::from(ch) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(ch));
            }
            ch => out.push(ch),
        }
    }
    out.push('"');
}

fn write_number(out: &mut String, number: &Number) {
    // Integers that fit a u64/i64 convert to the nearest double, as a
    // JavaScript parser rounds their decimal form.
    let double = number.as_f64().unwrap_or(f64::NAN);
    out.push_str(&number_to_string(double));
}

/// ECMAScript `Number::toString(x)` (radix 10) for a double.
pub fn number_to_string(x: f64) -> String {
    if x.is_nan() || x.is_infinite() {
        // JSON.stringify writes non-finite numbers as null.
        return "null".to_owned();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    if x < 0.0 {
        return format!("-{}", number_to_string(-x));
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as the
    // specification asks: `d[.ddd]e<exp>`.
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i64 = exponent.parse().unwrap_or(0);
    // x = 0.digits × 10^n, with k digits.
    let k = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let n = exponent + 1;
    if k <= n && n <= 21 {
        let zeros = usize::try_from(n - k).unwrap_or(0);
        format!("{digits}{}", "0".repeat(zeros))
    } else if 0 < n && n <= 21 {
        let (whole, fraction) = digits.split_at(usize::try_from(n).unwrap_or(0).min(digits.len()));
        format!("{whole}.{fraction}")
    } else if -6 < n && n <= 0 {
        let zeros = usize::try_from(-n).unwrap_or(0);
        format!("0.{}{digits}", "0".repeat(zeros))
    } else {
        let power = n - 1;
        let sign = if power < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1.min(digits.len()));
        if rest.is_empty() {
            format!("{first}e{sign}{}", power.unsigned_abs())
        } else {
            format!("{first}.{rest}e{sign}{}", power.unsigned_abs())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_javascript_writes_them() {
        // Expected values: node -e 'console.log(String(x))' for each.
        let cases: [(f64, &str); 16] = [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (123e-20, "1.23e-18"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (0.1 + 0.2, "0.30000000000000004"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (9007199254740993.0, "9007199254740992"),
            (12345678901234567890.0, "12345678901234567000"),
            (1.5e300, "1.5e+300"),
            (f64::NAN, "null"),
        ];
        for (value, expected) in cases {
            assert_eq!(number_to_string(value), expected, "{value:e}");
        }
    }

    #[test]
    fn index_keys_come_first_in_numeric_order() {
        assert_eq!(
            canonical(r#"{"b":1,"10":2,"2":3,"01":4,"-1":5,"4294967295":6,"4294967294":7}"#).expect("valid"),
            r#"{"2":3,"10":2,"4294967294":7,"b":1,"01":4,"-1":5,"4294967295":6}"#
        );
    }

    #[test]
    fn strings_escape_only_what_json_stringify_escapes() {
        assert_eq!(
            canonical(r#""\u2028\u2029\u007f\/\b\u0001""#).expect("valid"),
            "\"\u{2028}\u{2029}\u{7f}/\\b\\u0001\""
        );
    }
}
