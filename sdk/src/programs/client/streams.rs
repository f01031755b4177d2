//! Escrow writes: payment streams opened, joined, left, closed and topped
//! up, with the retry their providers' order calls for.

use aether_escrow::state::{ProviderSlot, Stream};
use aether_escrow::OpenStreamArgs;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;

use super::{AetherClient, ProgramClientError, Signature};
use crate::programs::{escrow, registry};

impl AetherClient {
    /// Opens a payment stream from the payer's tokens.
    pub fn open_stream(&self, args: OpenStreamArgs) -> Result<Signature, ProgramClientError> {
        let mint = self.escrow_mint()?;
        let tokens = self.payer_tokens(&mint);
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
        self.send_as_provider(
            provider_identity,
            stream,
            true,
            |record, mint, providers| {
                escrow::join_stream(
                    self.payer(),
                    record,
                    self.payer_tokens(&mint),
                    mint,
                    *stream,
                    providers,
                )
            },
        )
    }

    /// Leaves `stream`, paid up to now, as the provider whose resource node
    /// identity is `provider_identity`.
    pub fn leave_stream(
        &self,
        provider_identity: &Pubkey,
        stream: &Pubkey,
    ) -> Result<Signature, ProgramClientError> {
        self.send_as_provider(
            provider_identity,
            stream,
            false,
            |record, mint, providers| {
                escrow::leave_stream(self.payer(), record, mint, *stream, providers)
            },
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
                    self.payer_tokens(&mint),
                    mint,
                    stream,
                    providers,
                )]
            },
            |_| false,
        )
    }

    /// Sends what `build` makes of the record of `provider_identity`, the
    /// escrow mint and `stream`'s providers: a join (`member_after`) or a
    /// leave, done once the provider's membership is `member_after`.
    fn send_as_provider(
        &self,
        provider_identity: &Pubkey,
        stream: &Pubkey,
        member_after: bool,
        build: impl Fn(Pubkey, Pubkey, &[ProviderSlot]) -> Instruction,
    ) -> Result<Signature, ProgramClientError> {
        let mint = self.escrow_mint()?;
        let record = registry::record(provider_identity);
        self.send_with_providers(
            stream,
            |providers| vec![build(record, mint, providers)],
            |now| now.providers.iter().any(|p| p.record == record) == member_after,
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
        let tokens = self.payer_tokens(&mint);
        self.send(vec![escrow::top_up(
            self.payer(),
            mint,
            tokens,
            escrow::stream(owner, resource),
            amount,
        )])
    }
}
