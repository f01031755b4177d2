//! The checker's settings: the only place their defaults are written.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use aether_keeper::settings::{self, Invalid, Settings};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Port of the checker's HTTP API (`/metrics`, `/scores`) unless configured.
pub const DEFAULT_PORT: u16 = 4032;

/// The small program every resource node is asked to serve, and what it
/// must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Its item hash: requests go to `/vm/<program>/<path>`.
    pub program: String,
    /// Path within the program, e.g. `/` or `/cgi-bin/check`.
    pub path: String,
    /// Text the answer must contain.
    pub expect: String,
}

/// Everything the checker needs. `Default` gives the defaults: the
/// localnet, the Solana CLI's keypair, a round a minute, a report after 5
/// probes, 10 s per probe, no reference program.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// JSON-RPC URL of the cluster.
    pub rpc_url: String,
    /// The core node operator's keypair: it signs the score reports.
    pub keypair: PathBuf,
    /// The SQLite file of probes and reports.
    #[serde(rename = "db")]
    pub db_path: PathBuf,
    /// Address of the HTTP API (/metrics, /scores).
    pub bind: IpAddr,
    /// Port of the HTTP API; 0 picks a free one.
    pub port: u16,
    /// Seconds between probe rounds.
    #[serde(with = "settings::secs")]
    #[schemars(with = "u64")]
    pub interval: Duration,
    /// Probes of a node in an epoch before its score is reported.
    pub min_probes: u32,
    /// Seconds a probe request may take.
    #[serde(with = "settings::secs")]
    #[schemars(with = "u64")]
    pub probe_timeout: Duration,
    /// Most bytes of an answer read.
    pub max_answer_bytes: usize,
    /// Item hash of the reference program every node is asked to serve;
    /// without it, scores leave it out.
    pub reference_program: Option<String>,
    /// Path called within the reference program.
    pub reference_path: String,
    /// Text the reference program's answer must contain.
    pub reference_expect: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rpc_url: settings::LOCALNET_RPC.into(),
            keypair: settings::default_keypair(),
            db_path: settings::default_dir("checker").join("checker.sqlite"),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            interval: Duration::from_secs(60),
            min_probes: 5,
            probe_timeout: Duration::from_secs(10),
            max_answer_bytes: 64 * 1024,
            reference_program: None,
            reference_path: "/".into(),
            reference_expect: None,
        }
    }
}

impl Config {
    /// The defaults, with the cluster at `rpc_url`, reports signed by
    /// `keypair` and the log at `db_path`.
    pub fn new(
        rpc_url: impl Into<String>,
        keypair: impl Into<PathBuf>,
        db_path: impl Into<PathBuf>,
    ) -> Self {
        Config {
            rpc_url: rpc_url.into(),
            keypair: keypair.into(),
            db_path: db_path.into(),
            ..Config::default()
        }
    }

    /// The reference program, when one is set (program and expectation).
    pub fn reference(&self) -> Option<Reference> {
        Some(Reference {
            program: self.reference_program.clone()?,
            path: self.reference_path.clone(),
            expect: self.reference_expect.clone()?,
        })
    }

    /// Sets the reference program.
    pub fn set_reference(&mut self, reference: Reference) {
        self.reference_program = Some(reference.program);
        self.reference_path = reference.path;
        self.reference_expect = Some(reference.expect);
    }
}

impl Settings for Config {
    const NAME: &'static str = "CHECKER";

    fn check(&self) -> Result<(), Invalid> {
        settings::check_url("rpc_url", &self.rpc_url)?;
        settings::check_keypair(
            "keypair",
            &self.keypair,
            "reports are signed by a core node operator",
        )?;
        settings::check_at_least_one("interval", self.interval.as_secs())?;
        settings::check_at_least_one("min_probes", self.min_probes.into())?;
        match (&self.reference_program, &self.reference_expect) {
            (Some(program), Some(_)) => {
                if program.len() != 64 || !program.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Invalid::new(
                        "reference_program",
                        format!("{program}: an item hash is 64 hex digits"),
                    ));
                }
                Ok(())
            }
            (None, None) => Ok(()),
            _ => Err(Invalid::new(
                "reference_program",
                "--reference-program and --reference-expect go together: the checker must know what the program answers",
            )),
        }
    }
}
