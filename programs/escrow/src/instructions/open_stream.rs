use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::errors::EscrowError;
use crate::events::StreamOpened;
use crate::payout::pay_into_vault;
use crate::state::{EscrowConfig, ServePolicy, Stream, StreamKind};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct OpenStreamArgs {
    /// The item hash of the message the stream pays for.
    pub resource: [u8; 32],
    pub kind: StreamKind,
    /// The most paid per second, in all, shared by the providers.
    pub max_rate_per_second: u64,
    pub replicas: u8,
    pub deposit: u64,
    /// Who may serve: the records in `allowed`, and those the policy admits.
    pub serve: ServePolicy,
    /// Resource nodes that may join whatever the policy (at most 8).
    pub allowed: Vec<Pubkey>,
    /// Bytes stored, for a storage stream (at least 1); 0 for compute.
    pub size_bytes: u64,
}

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: OpenStreamArgs)]
pub struct OpenStream<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,

    #[account(seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, EscrowConfig>>,

    #[account(address = config.mint @ EscrowError::WrongMint)]
    pub mint: Box<Account<'info, Mint>>,

    #[account(
        mut,
        constraint = owner_tokens.mint == config.mint @ EscrowError::WrongMint,
        constraint = owner_tokens.owner == owner.key() @ EscrowError::WrongTokenOwner,
    )]
    pub owner_tokens: Box<Account<'info, TokenAccount>>,

    #[account(
        init,
        payer = owner,
        space = 8 + Stream::INIT_SPACE,
        seeds = [SEED_STREAM, owner.key().as_ref(), args.resource.as_ref()],
        bump,
    )]
    pub stream: Box<Account<'info, Stream>>,

    #[account(
        init,
        payer = owner,
        seeds = [SEED_VAULT, stream.key().as_ref()],
        bump,
        token::mint = mint,
        token::authority = stream,
    )]
    pub vault: Box<Account<'info, TokenAccount>>,

    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

impl<'info> OpenStream<'info> {
    pub fn handler(ctx: Context<Self>, args: OpenStreamArgs) -> Result<()> {
        require!(
            args.max_rate_per_second > 0 && args.replicas > 0 && args.replicas <= MAX_REPLICAS,
            EscrowError::InvalidStream
        );
        require!(args.deposit > 0, EscrowError::ZeroAmount);
        // A storage stream says how much it stores, so that its price per
        // GB is checked; a compute stream stores nothing.
        require!(
            match args.kind {
                StreamKind::Storage => args.size_bytes > 0,
                StreamKind::Compute => args.size_bytes == 0,
            },
            EscrowError::InvalidSize
        );
        require!(
            args.allowed.len() <= MAX_ALLOWED as usize,
            EscrowError::TooManyAllowed
        );
        if let ServePolicy::MinScore(min) = args.serve {
            require!(
                min <= aether_registry::constants::MAX_SCORE,
                EscrowError::InvalidStream
            );
        }
        let accounts = &ctx.accounts;
        pay_into_vault(
            &accounts.token_program,
            &accounts.owner_tokens,
            &accounts.mint,
            &accounts.vault,
            &accounts.owner,
            args.deposit,
        )?;
        let now = Clock::get()?.unix_timestamp;
        let owner = ctx.accounts.owner.key();
        let stream_key = ctx.accounts.stream.key();
        let stream = &mut ctx.accounts.stream;
        stream.set_inner(Stream {
            version: ACCOUNT_VERSION,
            bump: ctx.bumps.stream,
            vault_bump: ctx.bumps.vault,
            owner,
            resource: args.resource,
            kind: args.kind,
            max_rate_per_second: args.max_rate_per_second,
            replicas: args.replicas,
            providers: Vec::new(),
            allowed: args.allowed.clone(),
            deposited: args.deposit,
            paid_out: 0,
            last_settled: now,
            exhausted: false,
            opened_at: now,
            serve: args.serve,
            size_bytes: args.size_bytes,
            carry: 0,
        });
        stream.invariant()?;
        emit_cpi!(StreamOpened {
            stream: stream_key,
            owner,
            resource: args.resource,
            kind: args.kind,
            max_rate_per_second: args.max_rate_per_second,
            replicas: args.replicas,
            deposit: args.deposit,
            opened_at: now,
            serve: args.serve,
            allowed: args.allowed,
            size_bytes: args.size_bytes,
        });
        Ok(())
    }
}
