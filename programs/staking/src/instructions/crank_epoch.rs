use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::StakingError;
use crate::events::EpochCranked;
use crate::math::minus;
use crate::state::{Config, EpochRecord};

#[event_cpi]
#[derive(Accounts)]
pub struct CrankEpoch<'info> {
    /// Anyone may crank; they pay the rent of the epoch's record.
    #[account(mut)]
    pub payer: Signer<'info>,

    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,

    #[account(
        init,
        payer = payer,
        space = 8 + EpochRecord::INIT_SPACE,
        seeds = [SEED_EPOCH, config.epoch.to_le_bytes().as_ref()],
        bump,
    )]
    pub record: Box<Account<'info, EpochRecord>>,

    pub system_program: Program<'info, System>,
}

impl<'info> CrankEpoch<'info> {
    fn validate(&self) -> Result<()> {
        let Self { config, .. } = self;
        // config: the epoch's time is up
        let now = Clock::get()?.unix_timestamp;
        require!(now >= config.epoch_ends_at()?, StakingError::EpochNotOver);
        Ok(())
    }

    #[access_control(ctx.accounts.validate())]
    pub fn handler(ctx: Context<Self>) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let config = &mut ctx.accounts.config;
        let closed = config.epoch;
        let active_nodes = config.active_nodes;
        let active_stake = config.active_stake;
        let acc_staker_before = config.acc_staker;
        let (operator_booked, staker_booked) = config.book_epoch()?;
        ctx.accounts.record.set_inner(EpochRecord {
            version: ACCOUNT_VERSION,
            bump: ctx.bumps.record,
            epoch: closed,
            closed_at: now,
            active_nodes,
            active_stake,
            operator_booked,
            staker_booked,
            acc_operator: config.acc_operator,
            acc_staker: config.acc_staker,
            staker_increment: minus(config.acc_staker, acc_staker_before)?,
        });
        config.open_next_epoch()?;
        config.invariant()?;
        emit_cpi!(EpochCranked {
            epoch: closed,
            closed_at: now,
            active_nodes,
            active_stake,
            operator_booked,
            staker_booked,
            next_epoch_active_nodes: config.active_nodes,
        });
        Ok(())
    }
}
