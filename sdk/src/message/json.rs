//! JSON as Python's `json.dumps(obj, separators=(",", ":"))` writes it, which
//! is how the reference clients produce `item_content`: compact, keys in the
//! order given, every non-ASCII character escaped as `\uXXXX` (UTF-16
//! surrogate pairs above the BMP), DEL escaped, and floats as Python's
//! `repr` prints them (`1.0`, `1e+16`, `1.5e-05`). Content serialized this
//! way hashes to what a Python client would compute for the same content.

use std::io::{self, Write};

use serde::Serialize;

/// Serializes `value` as Python's compact `json.dumps` would.
pub fn to_python_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    value.serialize(&mut serializer)?;
    Ok(String::from_utf8(out).expect("the formatter writes ASCII only"))
}

struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, value as f64)
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_ascii() && c != '\x7f' {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed
/// notation for exponents -4 to 15 and scientific notation otherwise.
pub fn python_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .into();
    }
    // `{:e}` gives the shortest round-trip digits as `d.ddde<exp>`.
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{int}.{frac}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{exp_sign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_repr() {
        // Each right-hand side is what CPython's repr() prints.
        for (value, python) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (-2.25, "-2.25"),
            (1700000000.0, "1700000000.0"),
            (1795646074.332815, "1795646074.332815"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000015, "1.5e-05"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1e100, "1e+100"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-0.0, "-0.0"),
        ] {
            assert_eq!(python_float_repr(value), python, "{value:?}");
        }
    }

    #[test]
    fn strings_escape_as_python_ensure_ascii() {
        let text = "a\"b\\c\n\t\u{1}é😀\u{7f}/";
        assert_eq!(
            to_python_json(text).unwrap(),
            r#""a\"b\\c\n\t\u0001\u00e9\ud83d\ude00\u007f/""#
        );
    }

    #[test]
    fn objects_are_compact_and_keep_their_order() {
        let value: serde_json::Value =
            serde_json::from_str(r#"{"z": 1, "a": [true, null, 2.5], "m": {"k": "v"}}"#).unwrap();
        assert_eq!(
            to_python_json(&value).unwrap(),
            r#"{"z":1,"a":[true,null,2.5],"m":{"k":"v"}}"#
        );
    }
}
