//! A daemon's settings, written once: its `Config`. The struct's doc
//! comments are the `--help` text, its `Default` the defaults shown there,
//! and its serde names the flags (`--max-per-tx`), the variables
//! (`AETHER_SETTLER_MAX_PER_TX`) and the TOML keys (`max_per_tx`). They are
//! read in this order of precedence: flags, variables, the TOML file named
//! by `--config`, the defaults.
//!
//! ```ignore
//! #[derive(clap::Parser)]
//! struct Cli { #[command(flatten)] settings: Flags<aether_settler::Config> }
//! let config: aether_settler::Config = Cli::parse().settings.load()?;
//! ```

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// A daemon `Config` that the command line, the environment and a TOML
/// file can set.
pub trait Settings: Serialize + DeserializeOwned + JsonSchema + Default {
    /// The daemon's part of its variables' names: `AETHER_<NAME>_<FIELD>`.
    const NAME: &'static str;

    /// Flags named otherwise than their field: `(field, flag)`.
    const FLAG_NAMES: &'static [(&'static str, &'static str)] = &[];

    /// Checks what no single field's type says (a URL's scheme, a file
    /// that must exist, settings that go together).
    fn check(&self) -> Result<(), Invalid>;

    /// The variable a field is read from. The cluster's and the core
    /// node's URLs are shared by every daemon.
    fn variable(field: &str) -> String {
        match field {
            "rpc_url" | "rpc_urls" => "AETHER_RPC_URL".into(),
            "node_url" => "AETHER_NODE_URL".into(),
            _ => format!("AETHER_{}_{}", Self::NAME, field.to_uppercase()),
        }
    }
}

/// A setting that is refused, and why.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {why}")]
pub struct Invalid {
    /// The setting as a flag, e.g. `--rpc-url`.
    pub setting: String,
    /// What is wrong with it.
    pub why: String,
}

impl Invalid {
    /// `field` (a serde name) refused for `why`.
    pub fn new(field: &str, why: impl Into<String>) -> Self {
        Invalid {
            setting: format!("--{}", field.replace('_', "-")),
            why: why.into(),
        }
    }
}

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The `--config` file could not be read.
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The `--config` file is not TOML.
    #[error("in {path}")]
    Toml {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    /// A flag or variable whose value is not of the setting's kind.
    #[error("--{flag} {value}: {expected}")]
    Value {
        flag: String,
        value: String,
        expected: &'static str,
    },
    /// The settings together do not make a `Config` (an unknown key, a
    /// number out of range); `in_file` names the TOML file if one was read.
    #[error("settings{}: {source}", in_file.as_ref().map(|p| format!(" (with {})", p.display())).unwrap_or_default())]
    Shape {
        in_file: Option<PathBuf>,
        #[source]
        source: serde_json::Error,
    },
    /// A setting the daemon refuses.
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

/// What a setting holds, as the command line gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Whole,
    Number,
    Switch,
    List,
}

/// One setting: a field of the `Config`.
struct Field {
    name: String,
    flag: String,
    kind: Kind,
    help: String,
    default: Value,
}

fn fields<C: Settings>() -> Vec<Field> {
    let schema = schemars::schema_for!(C);
    let defaults = serde_json::to_value(C::default()).unwrap_or(Value::Null);
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| Field {
            flag: C::FLAG_NAMES
                .iter()
                .find(|(field, _)| field == name)
                .map_or_else(|| name.replace('_', "-"), |(_, flag)| (*flag).to_owned()),
            kind: kind_of(property),
            help: property
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            default: defaults.get(name).cloned().unwrap_or(Value::Null),
            name: name.clone(),
        })
        .collect()
}

fn kind_of(property: &Value) -> Kind {
    let types: Vec<&str> = match property.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    match types.into_iter().find(|t| *t != "null") {
        Some("integer") => Kind::Whole,
        Some("number") => Kind::Number,
        Some("boolean") => Kind::Switch,
        Some("array") => Kind::List,
        _ => Kind::Text,
    }
}

/// A default as the command line would write it.
fn shown(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(items.iter().filter_map(shown).collect::<Vec<_>>().join(",")),
        other => Some(other.to_string()),
    }
}

/// A `Config`'s settings as given on the command line or in variables,
/// to be laid over its TOML file and its defaults by [`Flags::load`].
/// Flatten it into a clap command (`#[command(flatten)]`) or use it as a
/// subcommand's arguments.
#[derive(Debug, Clone)]
pub struct Flags<C> {
    given: Vec<(String, Vec<String>)>,
    file: Option<PathBuf>,
    config: PhantomData<fn() -> C>,
}

impl<C: Settings> clap::FromArgMatches for Flags<C> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Vec::new();
        for field in fields::<C>() {
            let source = matches.value_source(&field.name);
            if matches!(
                source,
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            ) {
                let values = matches
                    .get_many::<String>(&field.name)
                    .map(|v| v.cloned().collect())
                    .unwrap_or_default();
                given.push((field.name, values));
            }
        }
        Ok(Flags {
            given,
            file: matches.get_one::<PathBuf>("config").cloned(),
            config: PhantomData,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl<C: Settings> clap::Args for Flags<C> {
    fn augment_args(mut cmd: Command) -> Command {
        for field in fields::<C>() {
            let mut arg = Arg::new(field.name.clone())
                .long(field.flag.clone())
                .env(C::variable(&field.name))
                .help(
                    field
                        .help
                        .split("\n\n")
                        .next()
                        .unwrap_or_default()
                        .replace('\n', " "),
                )
                .long_help(field.help.clone())
                .action(ArgAction::Set);
            arg = match field.kind {
                Kind::List => arg
                    .action(ArgAction::Append)
                    .value_delimiter(',')
                    .value_name(value_name(&field.name)),
                // Checked as clap parses, so that `--port x` fails there,
                // with clap's usage line; kept as text for `load`.
                Kind::Whole => arg.value_name("N").value_parser(|s: &str| {
                    whole(s).map(|_| s.to_owned()).ok_or("not a whole number")
                }),
                Kind::Number => arg.value_name("N").value_parser(|s: &str| {
                    s.parse::<f64>()
                        .map(|_| s.to_owned())
                        .map_err(|_| "not a number")
                }),
                // `--charge` alone means true; `--live false` turns one off.
                Kind::Switch => arg
                    .value_name("BOOL")
                    .num_args(0..=1)
                    .default_missing_value("true")
                    .value_parser(|s: &str| {
                        s.parse::<bool>()
                            .map(|_| s.to_owned())
                            .map_err(|_| "true or false")
                    }),
                Kind::Text => arg.value_name(value_name(&field.name)),
            };
            if let Some(default) = shown(&field.default).filter(|d| !d.is_empty()) {
                arg = arg.default_value(default);
            }
            cmd = cmd.arg(arg);
        }
        cmd.arg(
            Arg::new("config")
                .long("config")
                .env(format!("AETHER_{}_CONFIG", C::NAME))
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("A TOML file of the same settings, keys as the flags with '_' for '-'"),
        )
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<C: Settings> Flags<C> {
    /// The `Config`: flags over variables over the TOML file over the
    /// defaults, then checked.
    pub fn load(&self) -> Result<C, SettingsError> {
        let mut merged = match serde_json::to_value(C::default()) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        if let Some(path) = &self.file {
            for (key, value) in read_toml(path)? {
                merged.insert(key, value);
            }
        }
        let fields = fields::<C>();
        for (name, values) in &self.given {
            let Some(field) = fields.iter().find(|f| &f.name == name) else {
                continue;
            };
            merged.insert(name.clone(), value_of(field, values)?);
        }
        let config: C = serde_json::from_value(Value::Object(merged)).map_err(|source| {
            SettingsError::Shape {
                in_file: self.file.clone(),
                source,
            }
        })?;
        config.check()?;
        Ok(config)
    }
}

fn read_toml(path: &Path) -> Result<Map<String, Value>, SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|source| SettingsError::Toml {
        path: path.to_owned(),
        source,
    })?;
    // TOML's values are JSON's, but for dates, which no setting takes.
    match serde_json::to_value(table) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Ok(Map::new()),
    }
}

fn value_of(field: &Field, values: &[String]) -> Result<Value, SettingsError> {
    let bad = |value: &str, expected| SettingsError::Value {
        flag: field.flag.clone(),
        value: value.to_owned(),
        expected,
    };
    let one = values.last().map(String::as_str).unwrap_or_default();
    Ok(match field.kind {
        Kind::List => Value::from(values.to_vec()),
        Kind::Text => Value::from(one),
        Kind::Switch => Value::from(one.parse::<bool>().map_err(|_| bad(one, "true or false"))?),
        Kind::Whole => whole(one).ok_or_else(|| bad(one, "a whole number"))?,
        Kind::Number => Value::from(one.parse::<f64>().map_err(|_| bad(one, "a number"))?),
    })
}

/// A whole number, as JSON has it (unsigned when it can be).
fn whole(s: &str) -> Option<Value> {
    match s.parse::<u64>() {
        Ok(n) => Some(Value::from(n)),
        Err(_) => s.parse::<i64>().ok().map(Value::from),
    }
}

/// What `--help` calls a text setting's value, from its name.
fn value_name(field: &str) -> &'static str {
    if field.ends_with("url") || field.ends_with("urls") || field.contains("peer") {
        "URL"
    } else if field == "keypair" || field == "db" || field.ends_with("file") {
        "FILE"
    } else if field.ends_with("dir") {
        "DIR"
    } else if field == "bind" {
        "IP"
    } else {
        "VALUE"
    }
}

/// Where daemons keep their state unless told: `~/.local/share/aether/<name>`.
pub fn default_dir(name: &str) -> PathBuf {
    home().join(".local/share/aether").join(name)
}

/// The Solana CLI's keypair: `~/.config/solana/id.json`.
pub fn default_keypair() -> PathBuf {
    home().join(".config/solana/id.json")
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The localnet's JSON-RPC URL, every daemon's default cluster.
pub const LOCALNET_RPC: &str = "http://127.0.0.1:8899";

/// Refuses a URL that is not http(s).
pub fn check_url(field: &str, url: &str) -> Result<(), Invalid> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(Invalid::new(
            field,
            format!("{url}: an http:// or https:// URL"),
        ))
    }
}

/// Refuses a keypair file that is not there; `why` says who needs it.
pub fn check_keypair(field: &str, path: &Path, why: &str) -> Result<(), Invalid> {
    if path.exists() {
        Ok(())
    } else {
        Err(Invalid::new(
            field,
            format!("{}: no such file ({why})", path.display()),
        ))
    }
}

/// Refuses a zero where at least one is needed.
pub fn check_at_least_one(field: &str, n: u64) -> Result<(), Invalid> {
    if n == 0 {
        Err(Invalid::new(field, "must be at least 1"))
    } else {
        Ok(())
    }
}

/// Durations as whole seconds in settings.
pub mod secs {
    use super::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// Durations as whole milliseconds in settings.
pub mod millis {
    use super::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}
