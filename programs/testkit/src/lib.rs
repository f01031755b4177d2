//! Aether's programs inside the real Solana runtime, for tests.
//!
//! `solana-program-test` runs each program as a native builtin (the SBF
//! toolchain cannot be installed here) next to the real SPL Token program,
//! which it loads as SBF. [`Chain`] wraps one such bank with what every
//! program test needs: sending transactions and reading their events, moving
//! the clock, making mints and token accounts, reading accounts.
//!
//! Layout: `lib.rs` the chain, `world.rs` a staking world with wallets; the
//! instruction builders come from `aether-sdk`.

use anchor_lang::prelude::{Clock, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::AccountDeserialize;
use anchor_spl::token::spl_token;
use solana_program_test::{processor, ProgramTest, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::Transaction;

pub use anchor_lang::solana_program::instruction::error::InstructionError;
pub use solana_keypair::Keypair;
pub use solana_signer;
pub use solana_transaction_error::TransactionError;

pub mod cpi_probe;
pub mod update;
pub mod world;

pub use aether_sdk::programs::{registry, staking};

/// An event read back from a transaction: the bytes after Anchor's event tag.
#[derive(Debug, Clone)]
pub struct RawEvent {
    pub program_id: Pubkey,
    pub data: Vec<u8>,
}

impl RawEvent {
    /// Decodes this event as `E` when its discriminator is `E`'s.
    pub fn decode<E: anchor_lang::Event>(&self) -> Option<E> {
        let body = self.data.strip_prefix(E::DISCRIMINATOR)?;
        E::deserialize(&mut &body[..]).ok()
    }
}

/// Finds the first event of type `E` among `events`.
pub fn find_event<E: anchor_lang::Event>(events: &[RawEvent]) -> Option<E> {
    events.iter().find_map(RawEvent::decode::<E>)
}

/// The custom error code of a failed instruction, e.g. an Anchor error.
pub fn custom_error(err: &TransactionError) -> Option<u32> {
    match err {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => Some(*code),
        _ => None,
    }
}

/// One bank of the real runtime with Aether's programs loaded.
pub struct Chain {
    pub ctx: ProgramTestContext,
}

impl Chain {
    pub async fn start() -> Self {
        let mut test = ProgramTest::default();
        // ProgramTest::default() turns the runtime's logs to DEBUG, which
        // prints every instruction of every test and bench by the thousand
        // on stderr; info unless RUST_LOG asks for more.
        agave_logger::setup_with_default("info");
        test.prefer_bpf(false);
        use aether_native_programs as native;
        test.add_program(
            "aether_staking",
            aether_staking::ID,
            processor!(native::staking),
        );
        test.add_program(
            "aether_registry",
            aether_registry::ID,
            processor!(native::registry),
        );
        test.add_program(
            "aether_escrow",
            aether_escrow::ID,
            processor!(native::escrow),
        );
        test.add_program(
            "aether_anchors",
            aether_anchors::ID,
            processor!(native::anchors),
        );
        test.add_program("cpi_probe", cpi_probe::ID, processor!(cpi_probe::process));
        let mut chain = Self {
            ctx: test.start_with_context().await,
        };
        // Builtins are never deployed: stand in for each deploy's ProgramData,
        // with the payer as upgrade authority, so the payer may initialize.
        let payer = chain.payer();
        for program in aether_native_programs::PROGRAMS {
            chain.set_program_data(&program.id, &payer);
        }
        chain
    }

    /// Writes `program`'s ProgramData naming `upgrade_authority`, owned by
    /// the upgradeable loader, as a deploy would.
    pub fn set_program_data(&mut self, program: &Pubkey, upgrade_authority: &Pubkey) {
        use anchor_lang::solana_program::bpf_loader_upgradeable;
        let data = aether_sdk::programs::program_data_header(upgrade_authority);
        let mut account = solana_account::AccountSharedData::new(
            1_000_000_000,
            data.len(),
            &bpf_loader_upgradeable::ID,
        );
        solana_account::WritableAccount::data_as_mut_slice(&mut account).copy_from_slice(&data);
        self.ctx
            .set_account(&aether_sdk::programs::program_data(program), &account);
    }

    pub fn payer(&self) -> Pubkey {
        self.ctx.payer.pubkey()
    }

    /// Sends `ixs` signed by the payer and `signers`, and returns the events
    /// the programs emitted. Events travel as self-CPI inner instructions,
    /// which only a simulation reports here, so the transaction is simulated
    /// first, then committed. On failure nothing is committed.
    pub async fn send(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Vec<RawEvent>, TransactionError> {
        // A fresh blockhash each time, so that sending the same instruction
        // twice runs it twice instead of returning the first result.
        let blockhash = self
            .ctx
            .get_new_latest_blockhash()
            .await
            .expect("blockhash");
        let mut all: Vec<&Keypair> = vec![&self.ctx.payer];
        all.extend(
            signers
                .iter()
                .copied()
                .filter(|k| k.pubkey() != self.ctx.payer.pubkey()),
        );
        let tx = Transaction::new_signed_with_payer(
            ixs,
            Some(&self.ctx.payer.pubkey()),
            &all,
            blockhash,
        );

        let sim = self
            .ctx
            .banks_client
            .simulate_transaction(tx.clone())
            .await
            .expect("simulate");
        if let Some(Err(err)) = sim.result {
            return Err(err);
        }
        let mut events = Vec::new();
        let inner = sim
            .simulation_details
            .and_then(|d| d.inner_instructions)
            .unwrap_or_default();
        for group in inner {
            for ix in group {
                let program_id = tx.message.account_keys[ix.instruction.program_id_index as usize];
                if let Some(data) = ix
                    .instruction
                    .data
                    .strip_prefix(anchor_lang::event::EVENT_IX_TAG_LE)
                {
                    events.push(RawEvent {
                        program_id,
                        data: data.to_vec(),
                    });
                }
            }
        }
        self.ctx
            .banks_client
            .process_transaction(tx)
            .await
            .map_err(|e| e.unwrap())?;
        Ok(events)
    }

    /// Reads and decodes an Anchor account; `None` when it does not exist.
    pub async fn try_account<T: AccountDeserialize>(&mut self, key: Pubkey) -> Option<T> {
        let account = self
            .ctx
            .banks_client
            .get_account(key)
            .await
            .expect("get_account")?;
        Some(T::try_deserialize(&mut account.data.as_slice()).expect("decode account"))
    }

    pub async fn account<T: AccountDeserialize>(&mut self, key: Pubkey) -> T {
        self.try_account(key)
            .await
            .unwrap_or_else(|| panic!("account {key} does not exist"))
    }

    pub async fn exists(&mut self, key: Pubkey) -> bool {
        self.ctx
            .banks_client
            .get_account(key)
            .await
            .expect("get_account")
            .is_some()
    }

    /// The raw data of an account, for checking that a refused instruction changed nothing.
    pub async fn raw(&mut self, key: Pubkey) -> Option<Vec<u8>> {
        self.ctx
            .banks_client
            .get_account(key)
            .await
            .expect("get_account")
            .map(|a| a.data)
    }

    /// The raw data of each of `keys`, in order (see [`Chain::raw`]).
    pub async fn raw_all(&mut self, keys: &[Pubkey]) -> Vec<Option<Vec<u8>>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.raw(*key).await);
        }
        out
    }

    /// Writes a byte-for-byte copy of the account at `of` to `at`, owned by
    /// `owner`, or by the original's owner when `None`: a fake account for a
    /// program to refuse.
    pub async fn plant_copy(&mut self, of: Pubkey, at: Pubkey, owner: Option<Pubkey>) {
        let mut copy = self
            .ctx
            .banks_client
            .get_account(of)
            .await
            .expect("get_account")
            .unwrap_or_else(|| panic!("account {of} does not exist"));
        if let Some(owner) = owner {
            copy.owner = owner;
        }
        self.ctx.set_account(&at, &copy.into());
    }

    /// The lamports `key` holds.
    pub async fn lamports(&mut self, key: Pubkey) -> u64 {
        self.ctx
            .banks_client
            .get_balance(key)
            .await
            .expect("get_balance")
    }

    /// Sends `ix` signed by the payer and `signers`, asserts that it fails
    /// with the Anchor error `code` (see [`assert_error`]), and that none of
    /// the `watched` accounts changed, byte for byte.
    pub async fn assert_refused(
        &mut self,
        ix: Instruction,
        signers: &[&Keypair],
        code: impl Into<u32>,
        watched: &[Pubkey],
    ) {
        let before = self.raw_all(watched).await;
        assert_error(self.send(&[ix], signers).await, code);
        assert_eq!(
            before,
            self.raw_all(watched).await,
            "a refused instruction changed state"
        );
    }

    pub async fn clock(&mut self) -> Clock {
        self.ctx
            .banks_client
            .get_sysvar::<Clock>()
            .await
            .expect("clock")
    }

    pub async fn now(&mut self) -> i64 {
        self.clock().await.unix_timestamp
    }

    /// Moves the clock's unix time forward by `seconds` (and one slot on).
    pub async fn advance(&mut self, seconds: i64) {
        let mut clock = self.clock().await;
        clock.unix_timestamp += seconds;
        clock.slot += 1;
        self.ctx.set_sysvar(&clock);
    }

    /// A new keypair holding `lamports`.
    pub async fn funded_keypair(&mut self, lamports: u64) -> Keypair {
        let key = Keypair::new();
        let ix = anchor_lang::solana_program::system_instruction::transfer(
            &self.payer(),
            &key.pubkey(),
            lamports,
        );
        self.send(&[ix], &[]).await.expect("fund keypair");
        key
    }

    /// A new SPL Token mint whose authority is the payer.
    pub async fn create_mint(&mut self, decimals: u8) -> Pubkey {
        let mint = Keypair::new();
        let init = spl_token::instruction::initialize_mint2(
            &spl_token::ID,
            &mint.pubkey(),
            &self.payer(),
            None,
            decimals,
        )
        .expect("initialize_mint2");
        self.create_token_program_account(&mint, spl_token::state::Mint::LEN, init, "create mint")
            .await;
        mint.pubkey()
    }

    /// A new token account of `mint` owned by `owner`.
    pub async fn create_token_account(&mut self, mint: Pubkey, owner: Pubkey) -> Pubkey {
        let account = Keypair::new();
        let init = spl_token::instruction::initialize_account3(
            &spl_token::ID,
            &account.pubkey(),
            &mint,
            &owner,
        )
        .expect("initialize_account3");
        self.create_token_program_account(
            &account,
            spl_token::state::Account::LEN,
            init,
            "create token account",
        )
        .await;
        account.pubkey()
    }

    /// Creates `account` (`len` bytes, rent-exempt, paid by the payer) owned
    /// by the SPL Token program and runs `init` on it in the same
    /// transaction; panics with `what` when that fails.
    async fn create_token_program_account(
        &mut self,
        account: &Keypair,
        len: usize,
        init: Instruction,
        what: &str,
    ) {
        let rent = self.ctx.banks_client.get_rent().await.expect("rent");
        let ixs = [
            anchor_lang::solana_program::system_instruction::create_account(
                &self.payer(),
                &account.pubkey(),
                rent.minimum_balance(len),
                len as u64,
                &spl_token::ID,
            ),
            init,
        ];
        self.send(&ixs, &[account]).await.expect(what);
    }

    /// The associated token account of `owner` for `mint`, created (idempotently) by the payer.
    pub async fn create_associated_token_account(&mut self, mint: Pubkey, owner: Pubkey) -> Pubkey {
        use anchor_spl::associated_token::{
            get_associated_token_address, spl_associated_token_account,
        };
        let ix =
            spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                &self.payer(),
                &owner,
                &mint,
                &spl_token::ID,
            );
        self.send(&[ix], &[])
            .await
            .expect("create associated token account");
        get_associated_token_address(&owner, &mint)
    }

    /// Mints `amount` of `mint` (whose authority is the payer) to `account`.
    pub async fn mint_to(&mut self, mint: Pubkey, account: Pubkey, amount: u64) {
        let ix = spl_token::instruction::mint_to(
            &spl_token::ID,
            &mint,
            &account,
            &self.payer(),
            &[],
            amount,
        )
        .expect("mint_to");
        self.send(&[ix], &[]).await.expect("mint_to");
    }

    pub async fn token_balance(&mut self, account: Pubkey) -> u64 {
        let data = self.raw(account).await.expect("token account exists");
        spl_token::state::Account::unpack(&data)
            .expect("token account")
            .amount
    }
}

/// Asserts that `result` failed with the Anchor error `expected` (a program
/// error enum or `anchor_lang::error::ErrorCode`).
#[track_caller]
pub fn assert_error<T: std::fmt::Debug>(
    result: Result<T, TransactionError>,
    expected: impl Into<u32>,
) {
    let expected = expected.into();
    match result {
        Ok(v) => panic!("expected error {expected}, got success {v:?}"),
        Err(err) => assert_eq!(
            custom_error(&err),
            Some(expected),
            "expected custom error {expected}, got {err:?}"
        ),
    }
}

/// How many cases a proptest of the programs runs: `PROPTEST_CASES` when
/// set (and a number), else 8, since every case starts a bank.
pub fn proptest_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}
