//! Registry writes: custom domains and resource nodes.

use anchor_lang::prelude::Pubkey;
use solana_keypair::Keypair;
use solana_signer::Signer;

use super::{AetherClient, ProgramClientError, Signature};
use crate::programs::{registry, staking};

impl AetherClient {
    /// Binds `domain` to the payer's PROGRAM or INSTANCE `target`; it goes
    /// live once core nodes find `_aether.<domain>` TXT naming the target
    /// and the payer ([`registry::txt_value`]).
    pub fn request_domain(
        &self,
        domain: &str,
        target: [u8; 32],
    ) -> Result<Signature, ProgramClientError> {
        self.send(vec![registry::request_domain(self.payer(), domain, target)])
    }

    /// Registers `identity` as a resource node owned by the payer, under
    /// the core node of `parent_operator`, who signs its consent (`None`:
    /// the payer runs that core node); returns its record.
    pub fn register_resource_node(
        &self,
        identity: &Keypair,
        parent_operator: Option<&Keypair>,
        args: registry::RegisterResourceNodeArgs,
    ) -> Result<Pubkey, ProgramClientError> {
        let operator = parent_operator.map_or(self.payer(), |k| k.pubkey());
        let mut signers = vec![identity];
        signers.extend(parent_operator);
        self.send_signed(
            vec![registry::register_resource_node(
                self.payer(),
                identity.pubkey(),
                registry::record(&staking::node(&operator)),
                operator,
                args,
            )],
            &signers,
        )?;
        Ok(registry::record(&identity.pubkey()))
    }
}
