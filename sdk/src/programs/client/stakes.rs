//! Staking writes by the payer: its own node, stakes, unstakes,
//! withdrawals and rewards.

use aether_staking::state::Config as StakingConfig;
use anchor_lang::prelude::Pubkey;

use super::{AetherClient, ProgramClientError, Signature};
use crate::programs::staking;

impl AetherClient {
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
        let tokens = self.payer_tokens(&mint);
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
        let tokens = self.payer_tokens(&mint);
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
        let tokens = self.payer_tokens(&mint);
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
        let tokens = self.payer_tokens(&mint);
        self.send(vec![staking::claim_rewards(
            self.payer(),
            staking::node(operator),
            mint,
            tokens,
            catch_up,
        )])
    }
}

/// What [`AetherClient::catch_up`] read, so that callers read nothing twice.
struct CatchUpRead {
    catch_up: staking::CatchUp,
    config: StakingConfig,
}
