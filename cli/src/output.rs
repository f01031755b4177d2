//! What a command prints: JSON with `--json`, else one `key: value` line
//! per field (nested fields as `a.b`), for people.

use serde_json::Value;

fn lines(prefix: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                lines(&key, v, out);
            }
        }
        Value::Array(items) if items.iter().any(|v| v.is_object()) => {
            for (i, v) in items.iter().enumerate() {
                lines(&format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::String(s) => out.push(format!("{prefix}: {s}")),
        other => out.push(format!("{prefix}: {other}")),
    }
}

/// The text a command prints for `value`.
pub fn render(value: &Value, json: bool) -> String {
    if json {
        return serde_json::to_string_pretty(value).expect("JSON values serialize");
    }
    let mut out = Vec::new();
    lines("", value, &mut out);
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn readable_lines_flatten_nested_fields() {
        let v = json!({"node": "abc", "stake": {"total": 5, "status": "Active"}, "list": [1, 2]});
        assert_eq!(
            super::render(&v, false),
            "node: abc\nstake.total: 5\nstake.status: Active\nlist: [1,2]"
        );
        assert!(super::render(&v, true).starts_with("{\n"));
    }
}
