//! JavaScript's value coercions, as GrowthBook's reference SDK applies them when it compares
//! attribute values (truthiness, `typeof`, number and string conversion, version padding).

use serde_json::Value;
use std::cmp::Ordering;

pub(super) fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

pub(super) fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None | Some(Value::Null) => "null",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
        Some(Value::String(_)) => "string",
        Some(Value::Number(_)) => "number",
        Some(Value::Bool(_)) => "boolean",
    }
}

pub(super) fn js_number_to_string(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// JavaScript `String(value)`.
pub(super) fn js_string(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "null".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => js_number_to_string(n.as_f64().unwrap_or(f64::NAN)),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::Null => String::new(),
                other => js_string(Some(other)),
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::Object(_)) => "[object Object]".to_string(),
    }
}

/// JavaScript `Number(value)`.
pub(super) fn js_number(v: Option<&Value>) -> f64 {
    match v {
        None | Some(Value::Null) => 0.0,
        Some(Value::Bool(b)) => f64::from(u8::from(*b)),
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Value::String(s)) => {
            let t = s.trim();
            if t.is_empty() {
                0.0
            } else {
                t.parse().unwrap_or(f64::NAN)
            }
        }
        Some(Value::Array(items)) => match items.as_slice() {
            [] => 0.0,
            [one] => js_number(Some(one)),
            _ => f64::NAN,
        },
        Some(Value::Object(_)) => f64::NAN,
    }
}

/// JavaScript relational comparison (`<`, `>`): strings compare as strings, all else as numbers.
pub(super) fn js_compare(actual: Option<&Value>, expected: &Value) -> Option<Ordering> {
    if let (Some(Value::String(a)), Value::String(b)) = (actual, expected) {
        return Some(a.encode_utf16().cmp(b.encode_utf16()));
    }
    js_number(actual).partial_cmp(&js_number(Some(expected)))
}

/// GrowthBook's `paddedVersionString`: makes semantic versions comparable as strings.
pub(super) fn padded_version(v: &Value) -> String {
    let raw = match v {
        Value::Number(n) => js_number_to_string(n.as_f64().unwrap_or(0.0)),
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => "0".to_string(),
    };
    let trimmed = raw.strip_prefix('v').unwrap_or(&raw);
    let core = trimmed.split('+').next().unwrap_or("");
    let mut parts: Vec<&str> = core.split(['-', '.']).collect();
    if parts.len() == 3 {
        parts.push("~");
    }
    parts
        .iter()
        .map(|p| {
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                format!("{p:>5}")
            } else {
                (*p).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}
