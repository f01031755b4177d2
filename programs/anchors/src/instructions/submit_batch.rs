use aether_registry::state::{NodeKind, NodeRecord};
use aether_staking::state::{Config as StakingConfig, Node as StakingNode};
use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::AnchorsError;
use crate::events::BatchAnchored;
use crate::state::{AnchorsConfig, BatchEntry, BatchLog};
use anchor_lang::Discriminator;

#[event_cpi]
#[derive(Accounts)]
pub struct SubmitBatch<'info> {
    /// An active core node's operator, or an allowlisted key. Pays for its
    /// log with its first batch.
    #[account(mut)]
    pub submitter: Signer<'info>,

    /// Counts batches across submitters.
    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, AnchorsConfig>>,

    /// The submitter's own window of roots: nobody else writes to it.
    #[account(
        init_if_needed,
        payer = submitter,
        space = BatchLog::space(WINDOW as usize),
        seeds = [SEED_LOG, submitter.key().as_ref()],
        bump,
    )]
    pub log: AccountLoader<'info, BatchLog>,

    /// For a core node: the staking program's config (owner and seeds checked).
    #[account(
        seeds = [aether_staking::constants::SEED_CONFIG],
        bump = staking_config.bump,
        seeds::program = aether_staking::ID,
    )]
    pub staking_config: Option<Box<Account<'info, StakingConfig>>>,

    /// For a core node: the submitter's staking node (owner checked here,
    /// seeds in `validate`).
    pub staking_node: Option<Box<Account<'info, StakingNode>>>,

    /// For a core node: its registry record (owner checked here, seeds in `validate`).
    pub core_record: Option<Box<Account<'info, NodeRecord>>>,

    pub system_program: Program<'info, System>,
}

/// Refuses (`NotAllowed`) an `account` that is not at the address `seeds`
/// (its bump last) give under `program`.
fn require_address(seeds: &[&[u8]], program: &Pubkey, account: Pubkey) -> Result<()> {
    let address =
        Pubkey::create_program_address(seeds, program).map_err(|_| AnchorsError::NotAllowed)?;
    require_keys_eq!(address, account, AnchorsError::NotAllowed);
    Ok(())
}

impl<'info> SubmitBatch<'info> {
    fn validate(&self, count: u32, content_id: &[u8]) -> Result<()> {
        let Self {
            submitter,
            config,
            staking_config,
            staking_node,
            core_record,
            ..
        } = self;
        // args
        require!(count > 0, AnchorsError::EmptyBatch);
        require!(
            !content_id.is_empty() && content_id.len() <= MAX_CONTENT_ID_LEN as usize,
            AnchorsError::InvalidContentId
        );
        // submitter: allowlisted, or an active, registered core node
        if config.allowlist.contains(&submitter.key()) {
            return Ok(());
        }
        let (Some(staking_config), Some(node), Some(record)) =
            (staking_config, staking_node, core_record)
        else {
            return err!(AnchorsError::NotAllowed);
        };
        require_address(
            &[
                aether_staking::constants::SEED_NODE,
                submitter.key().as_ref(),
                &[node.bump],
            ],
            &aether_staking::ID,
            node.key(),
        )?;
        require_address(
            &[
                aether_registry::constants::SEED_NODE,
                node.key().as_ref(),
                &[record.bump],
            ],
            &aether_registry::ID,
            record.key(),
        )?;
        require!(
            record.kind == NodeKind::Core && node.is_active_in(staking_config),
            AnchorsError::NotAllowed
        );
        Ok(())
    }

    #[access_control(ctx.accounts.validate(count, &content_id))]
    pub fn handler(
        ctx: Context<Self>,
        root: [u8; 32],
        count: u32,
        content_id: Vec<u8>,
    ) -> Result<()> {
        let clock = Clock::get()?;
        let submitter = ctx.accounts.submitter.key();
        let config = &mut ctx.accounts.config;
        let seq = config
            .last_seq
            .checked_add(1)
            .ok_or(AnchorsError::Overflow)?;
        config.last_seq = seq;
        {
            let info = ctx.accounts.log.as_ref();
            let mut data = info.try_borrow_mut_data()?;
            // A log created by this call: its discriminator and header.
            if data[..8].iter().all(|b| *b == 0) {
                data[..8].copy_from_slice(BatchLog::DISCRIMINATOR);
            }
            require!(data[..8] == *BatchLog::DISCRIMINATOR, AnchorsError::BadLog);
            let (header, entries) = BatchLog::split_mut(&mut data)?;
            if header.version == 0 {
                header.version = ACCOUNT_VERSION;
                header.bump = ctx.bumps.log;
                header.submitter = submitter;
            }
            header.push(
                entries,
                BatchEntry {
                    seq,
                    root,
                    count,
                    slot: clock.slot,
                    time: clock.unix_timestamp,
                    submitter,
                    ..BatchEntry::default()
                },
            )?;
        }
        emit_cpi!(BatchAnchored {
            seq,
            root,
            count,
            content_id,
            submitter,
        });
        Ok(())
    }
}
