//! The IDL of an Anchor program, without the Anchor CLI.
//!
//! With anchor-lang's `idl-build` feature, every `#[program]`, `#[event]`,
//! `#[error_code]`, `#[constant]` and `declare_id!` adds a `#[test]` that
//! prints its piece of the IDL between `--- IDL begin <kind> ---` and
//! `--- IDL end <kind> ---` markers. `anchor build` runs those tests and
//! assembles the pieces; [`assemble`] does the same from their output, and
//! [`check_committed`] runs them from inside the program's own unit-test
//! binary (no nested cargo) and compares the result with `idl/<name>.json`.
//!
//! Set `AETHER_UPDATE_IDL=1` to write the file instead of comparing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Why the IDL could not be assembled or does not match.
#[derive(Debug, thiserror::Error)]
pub enum IdlError {
    #[error("the idl-build output has no program section: is the `idl-build` feature on?")]
    NoProgram,
    #[error("the `{0}` section of the idl-build output is not valid JSON: {1}")]
    BadSection(String, serde_json::Error),
    #[error("the `{0}` section never ends")]
    Unterminated(String),
    #[error("more than one errors section: a program has one #[error_code] enum")]
    DuplicateErrors,
    #[error("could not run the test binary {0}: {1}")]
    Run(PathBuf, std::io::Error),
    #[error("could not read or write {0}: {1}")]
    File(PathBuf, std::io::Error),
}

/// Assembles the whole IDL from the printed sections.
pub fn assemble(output: &str) -> Result<Value, IdlError> {
    let mut program: Option<Value> = None;
    let mut address = String::new();
    let mut constants = Vec::new();
    let mut events = Vec::new();
    let mut errors: Option<Value> = None;
    let mut types: BTreeMap<String, Value> = BTreeMap::new();

    let mut lines = output.lines();
    while let Some(line) = lines.next() {
        let Some(kind) = line
            .strip_prefix("--- IDL begin ")
            .and_then(|rest| rest.strip_suffix(" ---"))
        else {
            continue;
        };
        let end = format!("--- IDL end {kind} ---");
        let mut body = Vec::new();
        loop {
            match lines.next() {
                Some(l) if l == end => break,
                Some(l) => body.push(l),
                None => return Err(IdlError::Unterminated(kind.to_owned())),
            }
        }
        let value: Value = serde_json::from_str(&body.join("\n"))
            .map_err(|e| IdlError::BadSection(kind.to_owned(), e))?;
        match kind {
            "program" => program = Some(value),
            "address" => address = value.as_str().unwrap_or_default().to_owned(),
            "const" => constants.push(value),
            "event" => {
                if let Some(event) = value.get("event") {
                    events.push(event.clone());
                }
                for ty in value
                    .get("types")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    types.insert(name_of(ty), ty.clone());
                }
            }
            "errors" if errors.is_some() => return Err(IdlError::DuplicateErrors),
            "errors" => errors = Some(value),
            _ => {}
        }
    }

    let mut idl = program.ok_or(IdlError::NoProgram)?;
    let obj = idl.as_object_mut().ok_or(IdlError::NoProgram)?;
    for ty in obj
        .get("types")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        types.insert(name_of(ty), ty.clone());
    }
    obj.insert("address".into(), Value::String(address));
    obj.insert("constants".into(), Value::Array(constants));
    obj.insert("events".into(), Value::Array(events));
    obj.insert("errors".into(), errors.unwrap_or(Value::Array(Vec::new())));
    obj.insert("types".into(), Value::Array(types.into_values().collect()));

    shorten_paths(&mut idl);
    for key in ["accounts", "constants", "events", "instructions", "types"] {
        if let Some(Value::Array(items)) = idl.get_mut(key) {
            items.sort_by_key(name_of);
        }
    }
    Ok(idl)
}

fn name_of(v: &Value) -> String {
    v.get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `a::b::Type` becomes `Type` wherever no other path ends in `Type`.
fn shorten_paths(idl: &mut Value) {
    let mut paths = BTreeSet::new();
    collect_paths(idl, &mut paths);
    let mut by_name: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for path in &paths {
        let name = path.rsplit("::").next().unwrap_or(path);
        by_name.entry(name).or_default().push(path);
    }
    let rename: BTreeMap<String, String> = by_name
        .into_iter()
        .filter(|(_, full)| full.len() == 1)
        .map(|(name, full)| (full[0].clone(), name.to_owned()))
        .collect();
    replace_strings(idl, &rename);
}

fn is_path(s: &str) -> bool {
    s.contains("::")
        && s.split("::")
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

fn collect_paths(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) if is_path(s) => {
            out.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|i| collect_paths(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_paths(i, out)),
        _ => {}
    }
}

fn replace_strings(v: &mut Value, rename: &BTreeMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(short) = rename.get(s.as_str()) {
                *s = short.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| replace_strings(i, rename)),
        Value::Object(map) => map.values_mut().for_each(|i| replace_strings(i, rename)),
        _ => {}
    }
}

/// Runs the idl-build tests of the current test binary and assembles their output.
pub fn from_current_test_binary() -> Result<Value, IdlError> {
    let exe =
        std::env::current_exe().map_err(|e| IdlError::Run(PathBuf::from("<current exe>"), e))?;
    let out = Command::new(&exe)
        .args([
            "__anchor_private_print_idl",
            "--show-output",
            "--test-threads=1",
        ])
        .output()
        .map_err(|e| IdlError::Run(exe.clone(), e))?;
    assemble(&String::from_utf8_lossy(&out.stdout))
}

/// The committed IDL of `program` (its `#[program]` module name), under the
/// workspace's `idl/`, found from the program crate's manifest dir.
pub fn committed_path(manifest_dir: &str, program: &str) -> PathBuf {
    Path::new(manifest_dir)
        .ancestors()
        .find(|dir| dir.join("Anchor.toml").exists())
        .unwrap_or(Path::new(manifest_dir))
        .join("idl")
        .join(format!("{program}.json"))
}

/// Pretty JSON with a final newline, as committed.
pub fn render(idl: &Value) -> String {
    let mut text = serde_json::to_string_pretty(idl).expect("JSON value renders");
    text.push('\n');
    text
}

/// Compares the IDL built now with the committed file (or writes it when
/// `AETHER_UPDATE_IDL` is set). Panics, for use in a test, with what to do.
pub fn check_committed(manifest_dir: &str, program: &str) {
    let idl =
        from_current_test_binary().unwrap_or_else(|e| panic!("building the IDL of {program}: {e}"));
    let fresh = render(&idl);
    let path = committed_path(manifest_dir, program);
    if std::env::var_os("AETHER_UPDATE_IDL").is_some() {
        std::fs::write(&path, &fresh)
            .unwrap_or_else(|e| panic!("{}", IdlError::File(path.clone(), e)));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is stale or missing: the program's interface changed. Regenerate it with\n  AETHER_UPDATE_IDL=1 cargo test -p {} --lib idl\nand commit the result.",
        path.display(),
        program.replace('_', "-"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = r#"
running 3 tests
---- __anchor_private_print_idl_address stdout ----
--- IDL begin address ---
"Prog111111111111111111111111111111111111111"
--- IDL end address ---
--- IDL begin program ---
{
  "address": "",
  "metadata": { "name": "demo", "version": "0.1.0", "spec": "0.1.0" },
  "instructions": [
    { "name": "zeta", "args": [ { "name": "p", "type": { "defined": { "name": "demo::state::Params" } } } ] },
    { "name": "alpha", "args": [] }
  ],
  "accounts": [],
  "types": [ { "name": "demo::state::Params", "type": { "kind": "struct", "fields": [] } } ]
}
--- IDL end program ---
--- IDL begin event ---
{ "event": { "name": "Done", "discriminator": [1] }, "types": [ { "name": "Done", "type": { "kind": "struct", "fields": [] } } ] }
--- IDL end event ---
--- IDL begin errors ---
[ { "code": 6000, "name": "Bad", "msg": "bad" } ]
--- IDL end errors ---
test result: ok. 3 passed; 0 failed
"#;

    #[test]
    fn assembles_sections_shortens_paths_and_sorts() {
        let idl = assemble(OUTPUT).unwrap();
        assert_eq!(
            idl["address"],
            "Prog111111111111111111111111111111111111111"
        );
        assert_eq!(idl["instructions"][0]["name"], "alpha");
        assert_eq!(
            idl["instructions"][1]["args"][0]["type"]["defined"]["name"],
            "Params"
        );
        assert_eq!(idl["events"][0]["name"], "Done");
        assert_eq!(idl["errors"][0]["code"], 6000);
        let types: Vec<_> = idl["types"]
            .as_array()
            .unwrap()
            .iter()
            .map(name_of)
            .collect();
        assert_eq!(types, ["Done", "Params"]);
    }

    #[test]
    fn conflicting_paths_are_kept_whole() {
        let mut v: Value = serde_json::json!(["a::Node", "b::Node", "c::Other"]);
        shorten_paths(&mut v);
        assert_eq!(v, serde_json::json!(["a::Node", "b::Node", "Other"]));
    }

    #[test]
    fn missing_or_broken_sections_are_errors() {
        assert!(matches!(assemble("nothing here"), Err(IdlError::NoProgram)));
        assert!(matches!(
            assemble("--- IDL begin program ---\n{"),
            Err(IdlError::Unterminated(_))
        ));
        assert!(matches!(
            assemble("--- IDL begin program ---\n{\n--- IDL end program ---"),
            Err(IdlError::BadSection(..))
        ));
    }
}
