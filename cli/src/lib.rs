//! The `aether` command. Each subcommand lives in `commands/`, as a clap
//! struct with `execute()`; this file only parses and dispatches. The CLI
//! calls libraries and never builds an instruction itself.

pub mod chain;
pub mod commands;
pub mod output;
mod program_output;
mod runtime;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Aether: a decentralized cloud whose control plane is on Solana.
#[derive(Debug, Parser)]
#[command(name = "aether", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a whole Solana cluster in this process, with Aether's programs.
    Localnet(commands::localnet::LocalnetCmd),
    /// Payment streams: open, top up, join, leave, settle, close, show.
    Stream(commands::stream::StreamCmd),
    /// Anchored message batches: show them, verify a message against them.
    Anchors(commands::anchors::AnchorsCmd),
    /// The core channel node: `aether node run`.
    Node(commands::node::NodeCmd),
    /// The resource node: micro-VMs serving programs (`run`, `doctor`, `build-runtime`).
    Crn(commands::crn::CrnCmd),
    /// The keepers: indexer, checker, settler, provisioner, dns.
    Keeper(commands::keeper::KeeperCmd),
    /// Staking: create a node, stake, unstake, withdraw, claim, show.
    Stake(commands::stake::StakeCmd),
    /// Custom domains: request a binding, show where it stands.
    Domain(commands::domain::DomainCmd),
    /// The load balancer: routes requests to the nodes serving a program.
    Lb(commands::lb::LbCmd),
    /// Deploy a function: store its code, post a PROGRAM, open its stream.
    Program(commands::program::ProgramCmd),
    /// Files: upload one and STORE it.
    File(commands::program::FileCmd),
    /// The whole cluster on this machine: localnet, core node, resource
    /// node, keepers and load balancer, in one command.
    Up(commands::up::UpCmd),
}

/// Parses the command line, runs the command, and turns errors into a
/// message and a non-zero exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    let result = match cli.command {
        Command::Localnet(cmd) => cmd.execute(),
        Command::Stream(cmd) => cmd.execute(),
        Command::Anchors(cmd) => cmd.execute(),
        Command::Node(cmd) => cmd.execute(),
        Command::Crn(cmd) => cmd.execute(),
        Command::Keeper(cmd) => cmd.execute(),
        Command::Stake(cmd) => cmd.execute(),
        Command::Domain(cmd) => cmd.execute(),
        Command::Lb(cmd) => cmd.execute(),
        Command::Up(cmd) => cmd.execute(),
        Command::Program(cmd) => cmd.execute(),
        Command::File(cmd) => cmd.execute(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `aether <subcommand> <args>` parsed, for the commands' tests.
#[cfg(test)]
pub(crate) fn parse_command(subcommand: &str, args: &[&str]) -> Command {
    let mut all = vec!["aether", subcommand];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).unwrap().command
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AETHER_LOG").unwrap_or_else(|_| {
        "info,solana_runtime=warn,solana_metrics=warn,solana_accounts_db=warn".into()
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
