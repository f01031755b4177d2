//! Signing and verifying messages.
//!
//! A message is signed over its *verification buffer*,
//! `chain ‖ "\n" ‖ sender ‖ "\n" ‖ type ‖ "\n" ‖ item_hash` in UTF-8, so
//! the signature covers the content through its hash. Two kinds of sender:
//!
//! - [`SolanaAccount`] (chain `SOL`): ed25519; the `signature` field is the
//!   JSON `{"publicKey": <base58>, "signature": <base58>}`.
//! - [`EthereumAccount`] (chain `ETH`): secp256k1 with EIP-191
//!   `personal_sign`; the field is `0x` and 65 bytes in hex.

pub mod ethereum;
pub mod solana;

pub use ethereum::EthereumAccount;
pub use solana::SolanaAccount;

pub use super::Chain;

/// Something that signs messages for one sender.
pub trait Signer {
    /// The chain the `chain` field names.
    fn chain(&self) -> Chain;
    /// The sender address the `sender` field holds.
    fn address(&self) -> String;
    /// The `signature` field for `buffer`, encoded as the chain expects.
    fn sign_buffer(&self, buffer: &[u8]) -> String;
}

/// Why a signature or a key was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The signature does not verify against the sender.
    #[error("the signature does not match the sender and content")]
    Invalid,
    /// The signature field is not encoded as the chain expects.
    #[error("bad signature encoding: {0}")]
    Encoding(String),
    /// The sender is not an address of the chain.
    #[error("bad sender: {0}")]
    BadSender(String),
    /// Messages of this chain cannot be verified here.
    #[error("chain {0} is not supported for signatures (SOL and ETH are)")]
    UnsupportedChain(String),
    /// A private key could not be read.
    #[error("bad key: {0}")]
    BadKey(String),
}

/// The bytes a message's signature covers.
pub fn verification_buffer(
    chain: Chain,
    sender: &str,
    message_type: &str,
    item_hash: &str,
) -> Vec<u8> {
    format!("{}\n{sender}\n{message_type}\n{item_hash}", chain.as_str()).into_bytes()
}

/// Checks `signature` over `buffer` for `sender` on `chain`.
pub fn verify(
    chain: Chain,
    sender: &str,
    signature: &str,
    buffer: &[u8],
) -> Result<(), SignatureError> {
    match chain {
        Chain::Sol => solana::verify(sender, signature, buffer),
        Chain::Eth => ethereum::verify(sender, signature, buffer),
        other => Err(SignatureError::UnsupportedChain(other.as_str().to_string())),
    }
}
