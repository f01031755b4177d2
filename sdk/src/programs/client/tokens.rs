//! The stake token: its mint, balances, and transfers from the payer.

use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address;

use super::{exists, rpc_error, AetherClient, ProgramClientError, Signature};

impl AetherClient {
    /// The token that is staked, streamed and held (the staking config's mint).
    pub fn stake_mint(&self) -> Result<Pubkey, ProgramClientError> {
        Ok(self.staking_config()?.stake_mint)
    }

    /// How many base units of the stake token `owner` holds in its
    /// associated token account (0 when it has none).
    pub fn token_balance(&self, owner: &Pubkey) -> Result<u64, ProgramClientError> {
        let account = get_associated_token_address(owner, &self.stake_mint()?);
        let rpc = self.program(aether_staking::ID)?.rpc();
        // Only an account that does not exist holds nothing: any other
        // failure is an error, never a zero balance.
        if !exists(&rpc, &account)? {
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
        let from = self.payer_tokens(&mint);
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
}
