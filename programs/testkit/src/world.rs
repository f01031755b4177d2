//! A staking world for tests: a chain with the staking program initialized,
//! wallets holding the stake token, and one-line helpers for each instruction;
//! also the registry on top of it, with core nodes.

use aether_registry::RegisterCoreNodeArgs;
use aether_staking::state::{Config, EpochRecord, Node, Params, StakePosition};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use solana_signer::Signer;

use crate::{registry, staking as ix, Chain, Keypair, TransactionError};

/// One token, with 6 decimals.
pub const T: u64 = 1_000_000;
pub const DAY: i64 = 86_400;

/// Parameters for tests: the defaults, with small envelopes.
pub fn params() -> Params {
    Params {
        min_operator_stake: 200_000 * T,
        activation_threshold: 500_000 * T,
        epoch_length: DAY,
        operator_envelope: 1_000 * T,
        staker_envelope_base: 2_000 * T,
        staker_envelope_per_node: 500 * T,
        unstake_cooldown: 7 * DAY,
    }
}

/// A wallet: a keypair with SOL for fees and rent, and a token account.
pub struct Wallet {
    pub key: Keypair,
    pub tokens: Pubkey,
}

impl Wallet {
    pub fn pubkey(&self) -> Pubkey {
        self.key.pubkey()
    }
}

pub struct Setup {
    pub chain: Chain,
    pub mint: Pubkey,
}

impl Setup {
    /// A chain with the staking program initialized with `params`.
    pub async fn new(params: Params) -> Self {
        let mut chain = Chain::start().await;
        let mint = chain.create_mint(6).await;
        let authority = chain.payer();
        chain
            .send(&[ix::initialize(authority, mint, params)], &[])
            .await
            .expect("initialize");
        Self { chain, mint }
    }

    pub async fn wallet(&mut self, tokens: u64) -> Wallet {
        let key = self.chain.funded_keypair(1_000_000_000).await;
        let account = self
            .chain
            .create_token_account(self.mint, key.pubkey())
            .await;
        if tokens > 0 {
            self.chain.mint_to(self.mint, account, tokens).await;
        }
        Wallet {
            key,
            tokens: account,
        }
    }

    /// Sends `instruction` signed by the payer and `signer`, events dropped.
    async fn send_as(
        &mut self,
        signer: &Wallet,
        instruction: Instruction,
    ) -> Result<(), TransactionError> {
        self.chain
            .send(&[instruction], &[&signer.key])
            .await
            .map(drop)
    }

    /// Initializes the registry with `quorum_bps` and the payer as its
    /// authority, in one transaction with `also` (other programs'
    /// `initialize`, say), which must go through.
    pub async fn initialize_registry(&mut self, quorum_bps: u16, also: Vec<Instruction>) {
        let authority = self.chain.payer();
        let mut ixs = vec![registry::initialize(authority, quorum_bps)];
        ixs.extend(also);
        self.chain
            .send(&ixs, &[])
            .await
            .expect("initialize the registry");
    }

    /// A new wallet holding `tokens` that creates a staking node with
    /// `stake` and registers it as a core node with `args`; both must go
    /// through.
    pub async fn core_node(
        &mut self,
        tokens: u64,
        stake: u64,
        args: RegisterCoreNodeArgs,
    ) -> Wallet {
        let operator = self.wallet(tokens).await;
        self.create_node(&operator, stake)
            .await
            .expect("create node");
        let register = registry::register_core_node(operator.pubkey(), args);
        self.send_as(&operator, register)
            .await
            .expect("register core node");
        operator
    }

    /// Funds the reward vault from a fresh wallet.
    pub async fn fund(&mut self, amount: u64) -> Result<(), TransactionError> {
        let funder = self.wallet(amount).await;
        let fund = ix::fund_rewards(funder.pubkey(), self.mint, funder.tokens, amount);
        self.send_as(&funder, fund).await
    }

    pub async fn config(&mut self) -> Config {
        self.chain.account(ix::config()).await
    }

    pub async fn node(&mut self, operator: &Pubkey) -> Node {
        self.chain.account(ix::node(operator)).await
    }

    pub async fn position(&mut self, node: &Pubkey, staker: &Pubkey) -> StakePosition {
        self.chain.account(ix::position(node, staker)).await
    }

    pub async fn record(&mut self, epoch: u64) -> EpochRecord {
        self.chain.account(ix::epoch_record(epoch)).await
    }

    /// The record `node` needs now, if any.
    pub async fn record_for(&mut self, node: &Pubkey) -> Option<Pubkey> {
        let node: Node = self.chain.account(*node).await;
        let config = self.config().await;
        ix::record_for(&node, &config)
    }

    /// What `staker` needs passed for an instruction on `node` now.
    pub async fn catch_up(&mut self, node: &Pubkey, staker: &Pubkey) -> ix::CatchUp {
        let config = self.config().await;
        let node_state: Option<Node> = self.chain.try_account(*node).await;
        let position: Option<StakePosition> =
            self.chain.try_account(ix::position(node, staker)).await;
        ix::catch_up(node, node_state.as_ref(), &config, position.as_ref())
    }

    pub async fn create_node(
        &mut self,
        operator: &Wallet,
        amount: u64,
    ) -> Result<Pubkey, TransactionError> {
        let node = ix::node(&operator.pubkey());
        let mut catch_up = self.catch_up(&node, &operator.pubkey()).await;
        catch_up.activation_record = None;
        let create = ix::create_node(
            operator.pubkey(),
            self.mint,
            operator.tokens,
            catch_up,
            amount,
        );
        self.send_as(operator, create).await?;
        Ok(ix::node(&operator.pubkey()))
    }

    pub async fn stake(
        &mut self,
        staker: &Wallet,
        node: Pubkey,
        amount: u64,
    ) -> Result<(), TransactionError> {
        let catch_up = self.catch_up(&node, &staker.pubkey()).await;
        let stake = ix::stake(
            staker.pubkey(),
            node,
            self.mint,
            staker.tokens,
            catch_up,
            amount,
        );
        self.send_as(staker, stake).await
    }

    pub async fn unstake(
        &mut self,
        staker: &Wallet,
        node: Pubkey,
        amount: u64,
    ) -> Result<(), TransactionError> {
        let catch_up = self.catch_up(&node, &staker.pubkey()).await;
        let epoch = self.config().await.epoch;
        let unstake = ix::request_unstake(staker.pubkey(), node, catch_up, epoch, amount);
        self.send_as(staker, unstake).await
    }

    pub async fn withdraw(
        &mut self,
        staker: &Wallet,
        node: Pubkey,
    ) -> Result<(), TransactionError> {
        let withdraw = ix::withdraw(staker.pubkey(), node, self.mint, staker.tokens);
        self.send_as(staker, withdraw).await
    }

    pub async fn claim(&mut self, claimer: &Wallet, node: Pubkey) -> Result<u64, TransactionError> {
        let catch_up = self.catch_up(&node, &claimer.pubkey()).await;
        let before = self.chain.token_balance(claimer.tokens).await;
        let claim = ix::claim_rewards(claimer.pubkey(), node, self.mint, claimer.tokens, catch_up);
        self.send_as(claimer, claim).await?;
        Ok(self.chain.token_balance(claimer.tokens).await - before)
    }

    /// The operator closes its node.
    pub async fn close(&mut self, operator: &Wallet) -> Result<(), TransactionError> {
        let node = ix::node(&operator.pubkey());
        let record = self.record_for(&node).await;
        let epoch = self.config().await.epoch;
        let close = ix::close_node(operator.pubkey(), record, epoch);
        self.send_as(operator, close).await
    }

    /// Waits out the epoch and cranks it.
    pub async fn next_epoch(&mut self) {
        let config = self.config().await;
        let now = self.chain.now().await;
        let end = config.epoch_started_at + config.params.epoch_length;
        if now < end {
            self.chain.advance(end - now).await;
        }
        let payer = self.chain.payer();
        self.chain
            .send(&[ix::crank_epoch(payer, config.epoch)], &[])
            .await
            .expect("crank_epoch");
    }
}
