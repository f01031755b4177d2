use aether_staking::state::{Config as StakingConfig, Node as StakingNode};
use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::RegistryError;
use crate::events::{ScoreReported, ScoreUpdated};
use crate::state::{inactive_nodes, NodeRecord, RegistryConfig};

#[event_cpi]
#[derive(Accounts)]
pub struct ReportScore<'info> {
    /// The reporting core node's operator.
    pub reporter: Signer<'info>,

    #[account(seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RegistryConfig>>,

    /// The staking program's config: the current epoch and its active nodes.
    #[account(
        seeds = [aether_staking::constants::SEED_CONFIG],
        bump = staking_config.bump,
        seeds::program = aether_staking::ID,
    )]
    pub staking_config: Box<Account<'info, StakingConfig>>,

    /// The reporter's staking node: owner and seeds checked.
    #[account(
        seeds = [aether_staking::constants::SEED_NODE, reporter.key().as_ref()],
        bump = reporter_node.bump,
        seeds::program = aether_staking::ID,
    )]
    pub reporter_node: Box<Account<'info, StakingNode>>,

    /// The node being scored.
    #[account(mut, seeds = [SEED_NODE, record.identity.as_ref()], bump = record.bump)]
    pub record: Box<Account<'info, NodeRecord>>,
}

impl<'info> ReportScore<'info> {
    fn validate(&self, epoch: u64, score: u16) -> Result<()> {
        let Self {
            staking_config,
            reporter_node,
            record,
            ..
        } = self;
        // args
        require!(score <= MAX_SCORE, RegistryError::ScoreOutOfRange);
        // staking_config: reports are for the current epoch only
        require!(epoch == staking_config.epoch, RegistryError::WrongEpoch);
        // reporter_node: active in this epoch, and not scoring itself
        require!(
            reporter_node.is_active_in(staking_config),
            RegistryError::ReporterNotActive
        );
        require_keys_neq!(
            record.identity,
            reporter_node.key(),
            RegistryError::SelfReport
        );
        // record: not a resource node the reporter owns or parents, whose
        // score would raise the reporter's own earnings
        let (reporter_record, _) =
            Pubkey::find_program_address(&[SEED_NODE, reporter_node.key().as_ref()], &crate::ID);
        require!(
            record.owner != self.reporter.key()
                && record.owner != reporter_node.operator
                && record.parent != reporter_record,
            RegistryError::ConflictOfInterest
        );
        Ok(())
    }

    #[access_control(ctx.accounts.validate(epoch, score))]
    pub fn handler(ctx: Context<Self>, epoch: u64, score: u16) -> Result<()> {
        let reporter = ctx.accounts.reporter_node.key();
        // One active node may not report: the node itself (core) or its
        // parent (resource), so the quorum is of the others.
        let quorum = ctx
            .accounts
            .config
            .quorum(ctx.accounts.staking_config.active_nodes.saturating_sub(1));
        let record_key = ctx.accounts.record.key();
        // Staking nodes passed after the named accounts that are no longer
        // active lose this epoch's reports first.
        let inactive = inactive_nodes(ctx.remaining_accounts, &ctx.accounts.staking_config)?;
        let record = &mut ctx.accounts.record;
        record.drop_reports(&inactive, epoch);
        let reports = record.add_report(reporter, epoch, score)?;
        let mut updated = None;
        if reports >= quorum {
            let median = record.median(epoch).ok_or(RegistryError::Overflow)?;
            record.score = median;
            record.score_epoch = epoch;
            record.scored = true;
            updated = Some(median);
        }
        record.invariant()?;
        emit_cpi!(ScoreReported {
            record: record_key,
            reporter,
            epoch,
            score,
            reports_this_epoch: reports,
            quorum,
        });
        if let Some(median) = updated {
            emit_cpi!(ScoreUpdated {
                record: record_key,
                epoch,
                score: median,
                reports,
            });
        }
        Ok(())
    }
}
