//! [`AetherClient`]: Aether's programs through `anchor-client`, so that a
//! dApp stakes, opens a stream or reads a node in a few lines.
//!
//! anchor-client's client is blocking (it runs its own runtime): from async
//! code, call it from a thread of its own (`std::thread::spawn`).
//!
//! ```no_run
//! use aether_sdk::programs::client::AetherClient;
//! use aether_sdk::programs::escrow::{OpenStreamArgs, ServePolicy, StreamKind};
//!
//! let payer = solana_keypair::read_keypair_file("id.json").unwrap();
//! let client = AetherClient::new("http://127.0.0.1:8899", payer);
//! let operator: anchor_lang::prelude::Pubkey = "11111111111111111111111111111111".parse().unwrap();
//! client.stake(&operator, 1_000_000).unwrap();
//! let node = client.staking_node(&operator).unwrap().expect("a node");
//! println!("stake on the node: {}", node.total_stake);
//! client
//!     .open_stream(OpenStreamArgs {
//!         resource: [7; 32],
//!         kind: StreamKind::Compute,
//!         max_rate_per_second: 10,
//!         replicas: 2,
//!         deposit: 1_000_000,
//!         serve: ServePolicy::MinScore(0),
//!         allowed: Vec::new(),
//!         size_bytes: 0,
//!     })
//!     .unwrap();
//! ```

use std::sync::Arc;

use aether_anchors::state::{BatchLog, BatchWindow};
use aether_escrow::state::{EscrowConfig, ProviderSlot, Stream};
use aether_escrow::OpenStreamArgs;
use aether_registry::state::{DomainBinding, NodeRecord};
use aether_staking::state::{Config as StakingConfig, Node, StakePosition};
use anchor_client::{Client, Cluster, Program};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::AccountDeserialize;
use anchor_spl::associated_token::get_associated_token_address;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_signer::Signer;

pub use solana_transaction::Signature;

use super::{anchors, escrow, registry, staking};

/// Why a call through [`AetherClient`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ProgramClientError {
    /// The RPC call or the transaction failed; the program's error, if
    /// any, is in the message.
    #[error("{0}")]
    Client(#[from] Box<anchor_client::ClientError>),
    /// An account the call needs does not exist.
    #[error("{0} does not exist")]
    Missing(&'static str),
    /// An account exists but is not laid out as the program writes it.
    #[error("{0} does not decode")]
    Malformed(&'static str),
}

impl From<anchor_client::ClientError> for ProgramClientError {
    fn from(e: anchor_client::ClientError) -> Self {
        ProgramClientError::Client(Box::new(e))
    }
}

/// The unix time in the Clock sysvar's account data, as programs see it.
pub fn clock_unix_timestamp(data: &[u8]) -> Option<i64> {
    // slot, epoch_start_timestamp, epoch, leader_schedule_epoch, then
    // unix_timestamp: 8 bytes each, little-endian.
    data.get(32..40)
        .and_then(|b| b.try_into().ok())
        .map(i64::from_le_bytes)
}

/// Sends Aether's instructions and reads its accounts, paying and signing
/// with one keypair.
pub struct AetherClient {
    client: Client<Arc<Keypair>>,
    payer: Arc<Keypair>,
}

impl AetherClient {
    /// A client of the cluster at `rpc_url` (its WebSocket is taken to be on
    /// the next port, as with `solana-test-validator` and `aether localnet`).
    pub fn new(rpc_url: &str, payer: Keypair) -> Self {
        let ws_url = ws_url_of(rpc_url);
        let payer = Arc::new(payer);
        let client = Client::new_with_options(
            Cluster::Custom(rpc_url.to_string(), ws_url),
            payer.clone(),
            CommitmentConfig::confirmed(),
        );
        AetherClient { client, payer }
    }

    /// The paying and signing key.
    pub fn payer(&self) -> Pubkey {
        self.payer.pubkey()
    }

    fn program(&self, id: Pubkey) -> Result<Program<Arc<Keypair>>, ProgramClientError> {
        Ok(self.client.program(id)?)
    }

    /// Sends `instructions` in one transaction, paid and signed by the payer.
    pub fn send(&self, instructions: Vec<Instruction>) -> Result<Signature, ProgramClientError> {
        self.send_signed(instructions, &[])
    }

    /// Sends `instructions` in one transaction, paid by the payer and
    /// signed by it and `signers` (e.g. a resource node's identity key).
    pub fn send_signed(
        &self,
        instructions: Vec<Instruction>,
        signers: &[&Keypair],
    ) -> Result<Signature, ProgramClientError> {
        let program_id = instructions
            .first()
            .map(|i| i.program_id)
            .unwrap_or(aether_staking::ID);
        let program = self.program(program_id)?;
        let mut request = program.request();
        for ix in instructions {
            request = request.instruction(ix);
        }
        for signer in signers {
            request = request.signer(signer.insecure_clone());
        }
        Ok(request.send()?)
    }

    /// The account at `address` of `program`, decoded; `None` if it does not exist.
    pub fn account<T: AccountDeserialize>(
        &self,
        program: Pubkey,
        address: Pubkey,
    ) -> Result<Option<T>, ProgramClientError> {
        let rpc = self.program(program)?.rpc();
        let exists = rpc
            .get_account_with_commitment(&address, CommitmentConfig::confirmed())
            .map_err(|e| anchor_client::ClientError::from(Box::new(e)))?
            .value
            .is_some();
        if !exists {
            return Ok(None);
        }
        Ok(Some(self.program(program)?.account::<T>(address)?))
    }

    /// The staking program's configuration.
    pub fn staking_config(&self) -> Result<StakingConfig, ProgramClientError> {
        self.account(aether_staking::ID, staking::config())?
            .ok_or(ProgramClientError::Missing("the staking config"))
    }

    /// The staking nodes among `nodes` that are not active in the current
    /// epoch (or no longer exist): the ones whose votes
    /// [`registry::dropping_inactive`] drops.
    pub fn inactive_nodes(&self, nodes: &[Pubkey]) -> Result<Vec<Pubkey>, ProgramClientError> {
        let config = self.staking_config()?;
        let mut inactive = Vec::new();
        for key in nodes {
            let node: Option<Node> = self.account(aether_staking::ID, *key)?;
            if !node.is_some_and(|n| n.is_active_in(&config)) {
                inactive.push(*key);
            }
        }
        Ok(inactive)
    }

    /// The staking node of `operator`.
    pub fn staking_node(&self, operator: &Pubkey) -> Result<Option<Node>, ProgramClientError> {
        self.account(aether_staking::ID, staking::node(operator))
    }

    /// `staker`'s position on the node of `operator`.
    pub fn stake_position(
        &self,
        operator: &Pubkey,
        staker: &Pubkey,
    ) -> Result<Option<StakePosition>, ProgramClientError> {
        self.account(
            aether_staking::ID,
            staking::position(&staking::node(operator), staker),
        )
    }

    /// The registry record of the node whose identity is `identity` (a core
    /// node's staking node, or a resource node's key).
    pub fn node_record(&self, identity: &Pubkey) -> Result<Option<NodeRecord>, ProgramClientError> {
        self.account(aether_registry::ID, registry::record(identity))
    }

    /// The stream `owner` opened for `resource`.
    pub fn stream(
        &self,
        owner: &Pubkey,
        resource: &[u8; 32],
    ) -> Result<Option<Stream>, ProgramClientError> {
        self.account(aether_escrow::ID, escrow::stream(owner, resource))
    }

    /// Every stream of the escrow program, with its address.
    pub fn streams(&self) -> Result<Vec<(Pubkey, Stream)>, ProgramClientError> {
        Ok(self
            .program(aether_escrow::ID)?
            .accounts::<Stream>(Vec::new())?)
    }

    /// Every node record of the registry, with its address.
    pub fn node_records(&self) -> Result<Vec<(Pubkey, NodeRecord)>, ProgramClientError> {
        Ok(self
            .program(aether_registry::ID)?
            .accounts::<NodeRecord>(Vec::new())?)
    }

    /// `owner`'s binding of a custom domain, if it ever requested one.
    pub fn domain_binding(
        &self,
        domain: &str,
        owner: &Pubkey,
    ) -> Result<Option<DomainBinding>, ProgramClientError> {
        self.account(aether_registry::ID, registry::domain_binding(domain, owner))
    }

    /// Every domain binding of the registry, with its address.
    pub fn domain_bindings(&self) -> Result<Vec<(Pubkey, DomainBinding)>, ProgramClientError> {
        Ok(self
            .program(aether_registry::ID)?
            .accounts::<DomainBinding>(Vec::new())?)
    }

    /// Binds `domain` to the payer's PROGRAM or INSTANCE `target`; it goes
    /// live once core nodes find `_aether.<domain>` TXT naming the target
    /// and the payer ([`registry::txt_value`]).
    pub fn request_domain(
        &self,
        domain: &str,
        target: [u8; 32],
    ) -> Result<Signature, ProgramClientError> {
        self.send(vec![registry::request_domain(self.payer(), domain, target)])
    }

    /// The escrow program's stake-token mint.
    pub fn escrow_mint(&self) -> Result<Pubkey, ProgramClientError> {
        Ok(self
            .account::<EscrowConfig>(aether_escrow::ID, escrow::config())?
            .ok_or(ProgramClientError::Missing("the escrow config"))?
            .mint)
    }

    /// Registers `identity` as a resource node owned by the payer, under
    /// the core node of `parent_operator`, who signs its consent (`None`:
    /// the payer runs that core node); returns its record.
    pub fn register_resource_node(
        &self,
        identity: &Keypair,
        parent_operator: Option<&Keypair>,
        args: registry::RegisterResourceNodeArgs,
    ) -> Result<Pubkey, ProgramClientError> {
        let operator = parent_operator.map_or(self.payer(), |k| k.pubkey());
        let mut signers = vec![identity];
        signers.extend(parent_operator);
        self.send_signed(
            vec![registry::register_resource_node(
                self.payer(),
                identity.pubkey(),
                registry::record(&staking::node(&operator)),
                operator,
                args,
            )],
            &signers,
        )?;
        Ok(registry::record(&identity.pubkey()))
    }

    /// The token that is staked, streamed and held (the staking config's mint).
    pub fn stake_mint(&self) -> Result<Pubkey, ProgramClientError> {
        Ok(self.staking_config()?.stake_mint)
    }

    /// How many base units of the stake token `owner` holds in its
    /// associated token account (0 when it has none).
    pub fn token_balance(&self, owner: &Pubkey) -> Result<u64, ProgramClientError> {
        let account = get_associated_token_address(owner, &self.stake_mint()?);
        let rpc = self.program(aether_staking::ID)?.rpc();
        let rpc_error = |e| ProgramClientError::from(anchor_client::ClientError::from(Box::new(e)));
        // Only an account that does not exist holds nothing: any other
        // failure is an error, never a zero balance.
        let exists = rpc
            .get_account_with_commitment(&account, CommitmentConfig::confirmed())
            .map_err(rpc_error)?
            .value
            .is_some();
        if !exists {
            return Ok(0);
        }
        let balance = rpc.get_token_account_balance(&account).map_err(rpc_error)?;
        balance
            .amount
            .parse()
            .map_err(|_| ProgramClientError::Missing("a readable token balance"))
    }

    /// Sends `amount` base units of the payer's stake tokens to `owner`
    /// (its associated token account is made when missing).
    pub fn transfer_tokens(
        &self,
        owner: &Pubkey,
        amount: u64,
    ) -> Result<Signature, ProgramClientError> {
        use anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent;
        use anchor_spl::token::spl_token;
        let mint = self.stake_mint()?;
        let from = get_associated_token_address(&self.payer(), &mint);
        let to = get_associated_token_address(owner, &mint);
        let transfer = spl_token::instruction::transfer(
            &spl_token::ID,
            &from,
            &to,
            &self.payer(),
            &[],
            amount,
        )
        .map_err(|_| ProgramClientError::Missing("the SPL Token program"))?;
        self.send(vec![
            create_associated_token_account_idempotent(&self.payer(), owner, &mint, &spl_token::ID),
            transfer,
        ])
    }

    /// The cluster's clock: its unix time, as programs see it.
    pub fn unix_timestamp(&self) -> Result<i64, ProgramClientError> {
        let rpc = self.program(aether_escrow::ID)?.rpc();
        let account = rpc
            .get_account(
                &<anchor_lang::prelude::Clock as anchor_lang::solana_program::sysvar::SysvarId>::id(
                ),
            )
            .map_err(|e| anchor_client::ClientError::from(Box::new(e)))?;
        clock_unix_timestamp(&account.data).ok_or(ProgramClientError::Missing("the clock sysvar"))
    }

    /// `submitter`'s window of recent batch roots in the anchors program.
    pub fn batch_log(&self, submitter: &Pubkey) -> Result<BatchWindow, ProgramClientError> {
        let rpc = self.program(aether_anchors::ID)?.rpc();
        let account = rpc
            .get_account_with_commitment(&anchors::log(submitter), CommitmentConfig::confirmed())
            .map_err(|e| anchor_client::ClientError::from(Box::new(e)))?
            .value
            .ok_or(ProgramClientError::Missing("the anchors batch log"))?;
        if account.owner != aether_anchors::ID {
            return Err(ProgramClientError::Malformed("the anchors batch log"));
        }
        BatchLog::decode(&account.data)
            .map_err(|_| ProgramClientError::Malformed("the anchors batch log"))
    }

    /// What an instruction by the payer on the node of `operator` needs
    /// passed (see [`staking::catch_up`]), with what was read for it.
    fn catch_up(&self, operator: &Pubkey) -> Result<CatchUpRead, ProgramClientError> {
        let config = self.staking_config()?;
        let node = self
            .staking_node(operator)?
            .ok_or(ProgramClientError::Missing("the operator's staking node"))?;
        let position = self.stake_position(operator, &self.payer())?;
        let catch_up = staking::catch_up(
            &staking::node(operator),
            Some(&node),
            &config,
            position.as_ref(),
        );
        Ok(CatchUpRead { catch_up, config })
    }

    /// Creates the payer's own staking node with `amount` of its stake
    /// tokens (from its associated token account).
    pub fn create_node(&self, amount: u64) -> Result<Signature, ProgramClientError> {
        let config = self.staking_config()?;
        let mint = config.stake_mint;
        let tokens = get_associated_token_address(&self.payer(), &mint);
        // A closed node reopening: its operator position may hold stake
        // added in the epoch it closed.
        let position = self.stake_position(&self.payer(), &self.payer())?;
        let node = staking::node(&self.payer());
        let catch_up = staking::catch_up(&node, None, &config, position.as_ref());
        self.send(vec![staking::create_node(
            self.payer(),
            mint,
            tokens,
            catch_up,
            amount,
        )])
    }

    /// Stakes `amount` of the payer's tokens on the node of `operator`.
    pub fn stake(&self, operator: &Pubkey, amount: u64) -> Result<Signature, ProgramClientError> {
        let CatchUpRead { catch_up, config } = self.catch_up(operator)?;
        let mint = config.stake_mint;
        let tokens = get_associated_token_address(&self.payer(), &mint);
        let node = staking::node(operator);
        self.send(vec![staking::stake(
            self.payer(),
            node,
            mint,
            tokens,
            catch_up,
            amount,
        )])
    }

    /// Asks to take `amount` of the payer's stake off the node of `operator`.
    pub fn request_unstake(
        &self,
        operator: &Pubkey,
        amount: u64,
    ) -> Result<Signature, ProgramClientError> {
        let CatchUpRead { catch_up, config } = self.catch_up(operator)?;
        self.send(vec![staking::request_unstake(
            self.payer(),
            staking::node(operator),
            catch_up,
            config.epoch,
            amount,
        )])
    }

    /// Withdraws what waited out its cooldown to the payer's token account.
    pub fn withdraw(&self, operator: &Pubkey) -> Result<Signature, ProgramClientError> {
        let mint = self.staking_config()?.stake_mint;
        let tokens = get_associated_token_address(&self.payer(), &mint);
        self.send(vec![staking::withdraw(
            self.payer(),
            staking::node(operator),
            mint,
            tokens,
        )])
    }

    /// Claims the payer's rewards on the node of `operator`.
    pub fn claim_rewards(&self, operator: &Pubkey) -> Result<Signature, ProgramClientError> {
        let CatchUpRead { catch_up, config } = self.catch_up(operator)?;
        let mint = config.stake_mint;
        let tokens = get_associated_token_address(&self.payer(), &mint);
        self.send(vec![staking::claim_rewards(
            self.payer(),
            staking::node(operator),
            mint,
            tokens,
            catch_up,
        )])
    }

    /// Opens a payment stream from the payer's tokens.
    pub fn open_stream(&self, args: OpenStreamArgs) -> Result<Signature, ProgramClientError> {
        let mint = self.escrow_mint()?;
        let tokens = get_associated_token_address(&self.payer(), &mint);
        self.send(vec![escrow::open_stream(self.payer(), mint, tokens, args)])
    }

    /// Joins `stream` as the provider whose resource node identity is
    /// `provider_identity` (the payer must own that node), paid to the
    /// payer's associated token account.
    pub fn join_stream(
        &self,
        provider_identity: &Pubkey,
        stream: &Pubkey,
    ) -> Result<Signature, ProgramClientError> {
        let mint = self.escrow_mint()?;
        let record = registry::record(provider_identity);
        self.send_with_providers(
            stream,
            |providers| {
                vec![escrow::join_stream(
                    self.payer(),
                    record,
                    get_associated_token_address(&self.payer(), &mint),
                    mint,
                    *stream,
                    providers,
                )]
            },
            |now| now.providers.iter().any(|p| p.record == record),
        )
    }

    /// Leaves `stream`, paid up to now, as the provider whose resource node
    /// identity is `provider_identity`.
    pub fn leave_stream(
        &self,
        provider_identity: &Pubkey,
        stream: &Pubkey,
    ) -> Result<Signature, ProgramClientError> {
        let mint = self.escrow_mint()?;
        let record = registry::record(provider_identity);
        self.send_with_providers(
            stream,
            |providers| {
                vec![escrow::leave_stream(
                    self.payer(),
                    record,
                    mint,
                    *stream,
                    providers,
                )]
            },
            |now| now.providers.iter().all(|p| p.record != record),
        )
    }

    /// Closes the payer's stream for `resource`: its providers are paid up
    /// to now and the rest comes back to the payer's tokens.
    pub fn close_stream(&self, resource: &[u8; 32]) -> Result<Signature, ProgramClientError> {
        let mint = self.escrow_mint()?;
        let stream = escrow::stream(&self.payer(), resource);
        self.send_with_providers(
            &stream,
            |providers| {
                vec![escrow::close_stream(
                    self.payer(),
                    get_associated_token_address(&self.payer(), &mint),
                    mint,
                    stream,
                    providers,
                )]
            },
            |_| false,
        )
    }

    /// Sends what `build` makes of `stream`'s providers. The program wants
    /// their payout accounts in slot order, so a provider that joins or
    /// leaves between the read and the send fails it: then the stream is
    /// read again and the send retried, a few times at most, unless `done`
    /// says the stream already is as the send would leave it (a send
    /// reported failed may have landed): then the first error stands.
    fn send_with_providers(
        &self,
        stream: &Pubkey,
        build: impl Fn(&[ProviderSlot]) -> Vec<Instruction>,
        done: impl Fn(&Stream) -> bool,
    ) -> Result<Signature, ProgramClientError> {
        let slots = |s: &Stream| {
            s.providers
                .iter()
                .map(|p| (p.record, p.payout))
                .collect::<Vec<_>>()
        };
        let read = || {
            self.account::<Stream>(aether_escrow::ID, *stream)?
                .ok_or(ProgramClientError::Missing("the stream"))
        };
        let mut current = read()?;
        let mut attempt = 1;
        loop {
            match self.send(build(&current.providers)) {
                Ok(signature) => return Ok(signature),
                Err(e) => {
                    // Unreadable or gone: the send's own error says more.
                    let Ok(now) = read() else {
                        return Err(e);
                    };
                    if attempt >= 3 || done(&now) || slots(&now) == slots(&current) {
                        return Err(e);
                    }
                    (current, attempt) = (now, attempt + 1);
                }
            }
        }
    }

    /// Adds `amount` of the payer's tokens to the stream `owner` opened for `resource`.
    pub fn top_up(
        &self,
        owner: &Pubkey,
        resource: &[u8; 32],
        amount: u64,
    ) -> Result<Signature, ProgramClientError> {
        let mint = self.escrow_mint()?;
        let tokens = get_associated_token_address(&self.payer(), &mint);
        self.send(vec![escrow::top_up(
            self.payer(),
            mint,
            tokens,
            escrow::stream(owner, resource),
            amount,
        )])
    }
}

/// The WebSocket URL that goes with a JSON-RPC URL: `http://host:8899` →
/// `ws://host:8900` (Solana's convention, which Surfpool keeps).
pub fn ws_url_of(rpc_url: &str) -> String {
    let ws = rpc_url
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    match ws.rsplit_once(':') {
        Some((head, port)) => match port.trim_end_matches('/').parse::<u16>() {
            Ok(p) => format!("{head}:{}", p.wrapping_add(1)),
            Err(_) => ws,
        },
        None => ws,
    }
}

/// What [`AetherClient::catch_up`] read, so that callers read nothing twice.
struct CatchUpRead {
    catch_up: staking::CatchUp,
    config: StakingConfig,
}

#[cfg(test)]
mod tests {
    #[test]
    fn websocket_is_on_the_next_port() {
        assert_eq!(
            super::ws_url_of("http://127.0.0.1:8899"),
            "ws://127.0.0.1:8900"
        );
        assert_eq!(
            super::ws_url_of("https://rpc.example.com"),
            "wss://rpc.example.com"
        );
    }
}
