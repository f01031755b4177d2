//! The escrow program: stream addresses and instruction builders. Every
//! instruction that settles takes the providers' payout accounts and then
//! their registry records, in slot order, after its named accounts: pass
//! the stream's `providers`.

use aether_escrow::constants::*;
use aether_escrow::state::ProviderSlot;
use aether_escrow::{accounts, instruction, ID};

pub use aether_escrow::state::{ServePolicy, StreamKind};
pub use aether_escrow::OpenStreamArgs;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::{system_program, InstructionData, ToAccountMetas};
use anchor_spl::token::spl_token;

use super::admin::config_instruction;

/// The escrow config account.
pub fn config() -> Pubkey {
    super::admin::config(&ID, SEED_CONFIG)
}
/// The stream `owner` opened for `resource`.
pub fn stream(owner: &Pubkey, resource: &[u8; 32]) -> Pubkey {
    Pubkey::find_program_address(&[SEED_STREAM, owner.as_ref(), resource.as_ref()], &ID).0
}
/// A stream's token vault.
pub fn vault(stream: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[SEED_VAULT, stream.as_ref()], &ID).0
}
fn event_authority() -> Pubkey {
    aether_escrow::EVENT_AUTHORITY_AND_BUMP.0
}

fn ix(
    accounts: impl ToAccountMetas,
    data: impl InstructionData,
    providers: &[ProviderSlot],
) -> Instruction {
    let mut ix = super::instruction(ID, accounts, data);
    ix.accounts
        .extend(providers.iter().map(|p| AccountMeta::new(p.payout, false)));
    // Their records, so that settling pays nothing to a deregistered node.
    ix.accounts.extend(
        providers
            .iter()
            .map(|p| AccountMeta::new_readonly(p.record, false)),
    );
    ix
}

/// `accounts::$name` of an instruction that moves `$stream`'s tokens: the
/// `$field`s given (as in a struct literal), then the config, `$mint`, the
/// stream, its vault, the token program and the event-cpi accounts, which
/// every such instruction takes. The generated type lays the accounts out
/// in the program's order, whatever the order they are named in here.
macro_rules! stream_accounts {
    (
        $name:ident { $($field:ident $(: $value:expr)?),* $(,)? },
        $mint:expr,
        $stream:expr $(,)?
    ) => {
        accounts::$name {
            $($field $(: $value)?,)*
            config: config(),
            mint: $mint,
            stream: $stream,
            vault: vault(&$stream),
            token_program: spl_token::ID,
            event_authority: event_authority(),
            program: ID,
        }
    };
}

/// `initialize`: the config, paid in `mint`.
pub fn initialize(authority: Pubkey, mint: Pubkey) -> Instruction {
    config_instruction!(
        aether_escrow,
        Initialize {
            authority,
            program_data: super::program_data(&ID),
            mint,
            system_program: system_program::ID,
        },
        {}
    )
}

/// `update_config`: proposes `new_authority`, which takes over when it
/// signs [`accept_authority`].
pub fn update_config(authority: Pubkey, new_authority: Pubkey) -> Instruction {
    config_instruction!(aether_escrow, UpdateConfig { authority }, { new_authority })
}

/// `accept_authority`: the key proposed with `update_config` signs to take over.
pub fn accept_authority(new_authority: Pubkey) -> Instruction {
    config_instruction!(aether_escrow, AcceptAuthority { new_authority }, {})
}

/// `open_stream`: `owner` deposits from `owner_tokens`.
pub fn open_stream(
    owner: Pubkey,
    mint: Pubkey,
    owner_tokens: Pubkey,
    args: OpenStreamArgs,
) -> Instruction {
    let stream = stream(&owner, &args.resource);
    ix(
        stream_accounts!(
            OpenStream {
                owner,
                owner_tokens,
                system_program: system_program::ID
            },
            mint,
            stream
        ),
        instruction::OpenStream { args },
        &[],
    )
}

/// `top_up`: anyone adds `amount` from `funder_tokens`.
pub fn top_up(
    funder: Pubkey,
    mint: Pubkey,
    funder_tokens: Pubkey,
    stream: Pubkey,
    amount: u64,
) -> Instruction {
    ix(
        stream_accounts!(
            TopUp {
                funder,
                funder_tokens
            },
            mint,
            stream
        ),
        instruction::TopUp { amount },
        &[],
    )
}

/// `join_stream`: the resource node whose registry record is `provider`
/// joins, paid into `payout`; `providers` are the stream's current slots.
pub fn join_stream(
    provider_owner: Pubkey,
    provider: Pubkey,
    payout: Pubkey,
    mint: Pubkey,
    stream: Pubkey,
    providers: &[ProviderSlot],
) -> Instruction {
    ix(
        stream_accounts!(
            JoinStream {
                provider_owner,
                provider,
                payout
            },
            mint,
            stream
        ),
        instruction::JoinStream {},
        providers,
    )
}

/// `allow_providers`: only these registry records may join (empty: anyone).
pub fn allow_providers(owner: Pubkey, stream: Pubkey, allowed: Vec<Pubkey>) -> Instruction {
    ix(
        accounts::AllowProviders {
            owner,
            stream,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::AllowProviders { allowed },
        &[],
    )
}

/// `leave_stream`: the provider leaves, paid up to now.
pub fn leave_stream(
    provider_owner: Pubkey,
    provider: Pubkey,
    mint: Pubkey,
    stream: Pubkey,
    providers: &[ProviderSlot],
) -> Instruction {
    ix(
        stream_accounts!(
            LeaveStream {
                provider_owner,
                provider
            },
            mint,
            stream
        ),
        instruction::LeaveStream {},
        providers,
    )
}

/// `remove_provider`: the owner takes `provider` off, paid up to now.
pub fn remove_provider(
    owner: Pubkey,
    provider: Pubkey,
    mint: Pubkey,
    stream: Pubkey,
    providers: &[ProviderSlot],
) -> Instruction {
    ix(
        stream_accounts!(RemoveProvider { owner }, mint, stream),
        instruction::RemoveProvider { provider },
        providers,
    )
}

/// `settle`: anyone pays the providers what accrued.
pub fn settle(mint: Pubkey, stream: Pubkey, providers: &[ProviderSlot]) -> Instruction {
    ix(
        stream_accounts!(Settle {}, mint, stream),
        instruction::Settle {},
        providers,
    )
}

/// `close_stream`: settles, refunds the rest to `owner_tokens`, closes.
pub fn close_stream(
    owner: Pubkey,
    owner_tokens: Pubkey,
    mint: Pubkey,
    stream: Pubkey,
    providers: &[ProviderSlot],
) -> Instruction {
    ix(
        stream_accounts!(
            CloseStream {
                owner,
                owner_tokens
            },
            mint,
            stream
        ),
        instruction::CloseStream {},
        providers,
    )
}
