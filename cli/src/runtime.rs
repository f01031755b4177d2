//! The async runtime the commands start, and the setup shared by the commands
//! that run Aether's programs in this process (`aether localnet`, `aether up`).

use anyhow::{Context, Result};
use tokio::runtime::Runtime;

use crate::program_output::RealStdout;

/// A multi-thread runtime.
pub(crate) fn new() -> Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Sends the programs' output to the log ([`crate::program_output`]), then
/// starts the runtime; returns the real stdout, for the command's own output.
pub(crate) fn with_program_output() -> Result<(RealStdout, Runtime)> {
    let stdout = crate::program_output::capture().context("capturing program output")?;
    Ok((stdout, new()?))
}
