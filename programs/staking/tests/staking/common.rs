pub use aether_program_testkit::solana_signer::Signer;
pub use aether_program_testkit::world::*;
