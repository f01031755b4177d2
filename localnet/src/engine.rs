//! Surfpool with our programs as native builtins.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::thread::JoinHandle;
use std::time::Duration;

use solana_program_runtime::invoke_context::BuiltinFunctionWithContext;
use solana_program_test::processor;
use surfpool_core::surfnet::locker::SurfnetSvmLocker;
use surfpool_core::surfnet::svm::{SurfnetSvm, SurfnetSvmConfig};
use surfpool_core::surfnet::GeyserEvent;
use surfpool_types::channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use surfpool_types::{
    BlockProductionMode, RpcConfig, SimnetCommand, SimnetConfig, SimnetEvent, SurfpoolConfig,
};
use tokio::sync::oneshot;

use crate::{Config, LocalnetError};

/// Surfpool keeps these tables per id, so one ledger could hold several surfnets.
const SURFNET_ID: &str = "aether";
/// How long a start may take before we give up (a cold start takes well under a second).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Anchor's CPIs and sysvar reads go through the `solana-sysvar` syscall
/// stubs, which only `solana-program-test` implements for native programs,
/// and installs when a `ProgramTest` starts. Without them a CPI silently does
/// nothing. Start one, once per process, on a thread of its own.
fn install_syscall_stubs() -> Result<(), LocalnetError> {
    static STUBS: Once = Once::new();
    let mut result = Ok(());
    STUBS.call_once(|| {
        result = std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let _bank = solana_program_test::ProgramTest::default().start().await;
            });
            // ProgramTest::default() turned the runtime's logs to DEBUG:
            // every instruction of the localnet printed on stderr. Info
            // unless RUST_LOG asks for more.
            agave_logger::setup_with_default("info");
            Ok::<_, std::io::Error>(())
        })
        .join()
        .map_err(|_| "the syscall stub setup panicked".to_owned())
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(LocalnetError::Engine);
    });
    result
}

/// Registers every Aether program as a native builtin. Surfpool never stores
/// builtins, so this runs on every start.
fn register_builtins(svm: &mut SurfnetSvm) {
    use aether_native_programs as native;
    let builtins: [(_, Option<BuiltinFunctionWithContext>); 4] = [
        (aether_staking::ID, processor!(native::staking)),
        (aether_registry::ID, processor!(native::registry)),
        (aether_escrow::ID, processor!(native::escrow)),
        (aether_anchors::ID, processor!(native::anchors)),
    ];
    debug_assert_eq!(builtins.len(), native::PROGRAMS.len());
    for (id, entry) in builtins {
        if let Some(entry) = entry {
            svm.inner.svm.add_builtin(id, entry);
        }
    }
}

/// Settings Surfpool reads from the environment.
fn set_surfpool_env() {
    // Garbage collection rebuilds the in-memory SVM, which drops builtins;
    // Surfpool reads this once, before its first collection.
    std::env::set_var(
        "SURFPOOL_GARBAGE_COLLECTION_INTERVAL_SLOTS",
        u64::MAX.to_string(),
    );
    // Save the slot every slot (one small write), so that a restart with
    // the same ledger never goes back in time.
    std::env::set_var("SURFPOOL_CHECKPOINT_INTERVAL_SLOTS", "1");
}

/// The SVM, kept in the ledger when there is one, with our builtins, and
/// the receivers of its events.
fn open_svm(
    config: &Config,
) -> Result<(SurfnetSvm, Receiver<SimnetEvent>, Receiver<GeyserEvent>), LocalnetError> {
    let database = match &config.ledger {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| LocalnetError::Ledger(dir.clone(), e))?;
            Some(dir.join("surfnet.sqlite").display().to_string())
        }
        None => None,
    };
    let svm_config = SurfnetSvmConfig {
        surfnet_id: SURFNET_ID.into(),
        slot_time: config.slot_ms,
        // Profiling re-executes each instruction prefix: our builtins would run N+1 times.
        instruction_profiling_enabled: false,
        max_profiles: 1,
        log_bytes_limit: Some(100_000),
        ..SurfnetSvmConfig::default()
    };
    let (mut svm, events_rx, geyser_rx) = SurfnetSvm::new_with_db(database.as_deref(), svm_config)
        .map_err(|e| LocalnetError::Engine(e.to_string()))?;
    register_builtins(&mut svm);
    Ok((svm, events_rx, geyser_rx))
}

/// Surfpool's servers and block production, for `config`.
fn surfpool_config(config: &Config) -> SurfpoolConfig {
    SurfpoolConfig {
        simnets: vec![SimnetConfig {
            // Never reach for mainnet: everything is local.
            offline_mode: true,
            remote_rpc_url: None,
            slot_time: config.slot_ms,
            block_production_mode: BlockProductionMode::Clock,
            instruction_profiling_enabled: false,
            max_profiles: 1,
            log_bytes_limit: Some(100_000),
            surfnet_id: SURFNET_ID.into(),
            ..SimnetConfig::default()
        }],
        rpc: RpcConfig {
            bind_host: config.bind.to_string(),
            bind_port: config.rpc_port,
            ws_port: config.ws_port(),
            ..RpcConfig::default()
        },
        ..SurfpoolConfig::default()
    }
}

/// Starts the thread that runs [`drain_events`].
fn spawn_events(
    events: Receiver<SimnetEvent>,
    ready: oneshot::Sender<Result<(), RunloopError>>,
    stopping: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, LocalnetError> {
    // Surfpool blocks on a full event channel: drain it from the start.
    std::thread::Builder::new()
        .name("localnet-events".into())
        .spawn(move || drain_events(events, ready, &stopping))
        .map_err(|e| LocalnetError::Engine(e.to_string()))
}

/// Starts Surfpool's runloop on a thread of its own.
fn spawn_runloop(
    svm: SurfnetSvm,
    surfpool: SurfpoolConfig,
    commands: Sender<SimnetCommand>,
    commands_rx: Receiver<SimnetCommand>,
    geyser_rx: Receiver<GeyserEvent>,
) -> Result<JoinHandle<Result<(), RunloopError>>, LocalnetError> {
    let locker = SurfnetSvmLocker::new(svm);
    std::thread::Builder::new()
        .name("localnet".into())
        .spawn(move || {
            // The runloop blocks its thread and needs a multi-thread runtime.
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(RunloopError::Runtime)?;
            rt.block_on(surfpool_core::runloops::start_local_surfnet_runloop(
                locker,
                surfpool,
                commands,
                commands_rx,
                geyser_rx,
            ))
            // Surfpool's error is neither `Send` nor `Sync`: keep its text.
            .map_err(|e| RunloopError::Failed(e.to_string()))
        })
        .map_err(|e| LocalnetError::Engine(e.to_string()))
}

/// Why Surfpool's runloop ended, or never said it was ready.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunloopError {
    /// The runloop's own runtime could not be built.
    #[error("{0}")]
    Runtime(#[source] std::io::Error),
    /// The runloop returned an error.
    #[error("{0}")]
    Failed(String),
    /// What Surfpool said when it aborted.
    #[error("{0}")]
    Aborted(String),
    #[error("the runloop panicked")]
    Panicked,
}

/// A running Surfpool: its command channel and threads.
pub(crate) struct Engine {
    commands: Sender<SimnetCommand>,
    /// Tells the event thread to stop: Surfpool's clock thread keeps a sender
    /// alive after shutdown, so the channel alone never says so.
    stopping: Arc<AtomicBool>,
    runloop: Option<JoinHandle<Result<(), RunloopError>>>,
    events: Option<JoinHandle<()>>,
}

impl Engine {
    pub(crate) async fn start(config: &Config) -> Result<Self, LocalnetError> {
        if config.rpc_port == u16::MAX {
            return Err(LocalnetError::BadPort(config.rpc_port));
        }
        install_syscall_stubs()?;
        set_surfpool_env();
        let (svm, events_rx, geyser_rx) = open_svm(config)?;

        let (ready_tx, ready_rx) = oneshot::channel();
        let stopping = Arc::new(AtomicBool::new(false));
        let events = spawn_events(events_rx, ready_tx, stopping.clone())?;

        let (commands, commands_rx) = unbounded();
        let runloop = spawn_runloop(
            svm,
            surfpool_config(config),
            commands.clone(),
            commands_rx,
            geyser_rx,
        )?;

        let engine = Self {
            commands,
            stopping,
            runloop: Some(runloop),
            events: Some(events),
        };
        engine.wait_ready(ready_rx).await
    }

    /// Waits until Surfpool says it is ready, and stops it when it aborts
    /// or takes too long.
    async fn wait_ready(
        mut self,
        ready: oneshot::Receiver<Result<(), RunloopError>>,
    ) -> Result<Self, LocalnetError> {
        match tokio::time::timeout(START_TIMEOUT, ready).await {
            Ok(Ok(Ok(()))) => Ok(self),
            Ok(Ok(Err(reason))) => {
                self.stop();
                Err(LocalnetError::Aborted(reason.to_string()))
            }
            Ok(Err(_)) => {
                let reason = self
                    .join_runloop()
                    .err()
                    .map_or_else(|| "no reason given".to_owned(), |e| e.to_string());
                Err(LocalnetError::Aborted(reason))
            }
            Err(_) => {
                self.stop();
                Err(LocalnetError::StartTimeout(START_TIMEOUT.as_secs()))
            }
        }
    }

    fn join_runloop(&mut self) -> Result<(), RunloopError> {
        let result = match self.runloop.take() {
            Some(handle) => handle.join().unwrap_or(Err(RunloopError::Panicked)),
            None => Ok(()),
        };
        self.stopping.store(true, Ordering::Relaxed);
        if let Some(events) = self.events.take() {
            let _ = events.join();
        }
        result
    }

    /// Stops the servers and the runloop, and waits for them.
    pub(crate) fn stop(&mut self) {
        if self.runloop.is_some() {
            let _ = self.commands.send(SimnetCommand::Terminate(None));
            if let Err(e) = self.join_runloop() {
                tracing::warn!("localnet stopped with an error: {e}");
            }
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Logs what Surfpool reports, and says when it is ready or has aborted.
fn drain_events(
    events: Receiver<SimnetEvent>,
    ready: oneshot::Sender<Result<(), RunloopError>>,
    stopping: &AtomicBool,
) {
    let mut ready = Some(ready);
    while !stopping.load(Ordering::Relaxed) {
        let event = match events.recv_timeout(Duration::from_millis(100)) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        match event {
            SimnetEvent::Ready(replayed) => {
                tracing::info!(replayed, "localnet ready");
                if let Some(tx) = ready.take() {
                    let _ = tx.send(Ok(()));
                }
            }
            SimnetEvent::Aborted(reason) => {
                tracing::error!("localnet aborted: {reason}");
                if let Some(tx) = ready.take() {
                    let _ = tx.send(Err(RunloopError::Aborted(reason)));
                }
            }
            SimnetEvent::Shutdown => tracing::info!("localnet server stopped"),
            SimnetEvent::ErrorLog(_, msg) => tracing::error!("{msg}"),
            SimnetEvent::WarnLog(_, msg) => tracing::warn!("{msg}"),
            SimnetEvent::InfoLog(_, msg) => tracing::info!("{msg}"),
            SimnetEvent::DebugLog(_, msg) => tracing::debug!("{msg}"),
            SimnetEvent::TransactionProcessed(_, meta, err) => {
                tracing::debug!(signature = %meta.signature, error = ?err, logs = ?meta.logs, "transaction");
            }
            _ => {}
        }
    }
}
