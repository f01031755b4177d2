use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::EscrowError;
use crate::events::ProvidersAllowed;
use crate::state::Stream;

#[event_cpi]
#[derive(Accounts)]
pub struct AllowProviders<'info> {
    pub owner: Signer<'info>,

    #[account(
        mut,
        seeds = [SEED_STREAM, stream.owner.as_ref(), stream.resource.as_ref()],
        bump = stream.bump,
        has_one = owner @ EscrowError::NotOwner,
    )]
    pub stream: Box<Account<'info, Stream>>,
}

impl<'info> AllowProviders<'info> {
    /// Names the registry records that may join whatever the serve policy
    /// (the owner's approval). Providers already serving stay.
    pub fn handler(ctx: Context<Self>, allowed: Vec<Pubkey>) -> Result<()> {
        require!(
            allowed.len() <= MAX_ALLOWED as usize,
            EscrowError::TooManyAllowed
        );
        let stream = &mut ctx.accounts.stream;
        stream.allowed = allowed.clone();
        stream.invariant()?;
        emit_cpi!(ProvidersAllowed {
            stream: stream.key(),
            allowed,
        });
        Ok(())
    }
}
