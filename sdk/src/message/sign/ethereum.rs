//! Ethereum senders: EIP-191 `personal_sign` over the verification buffer,
//! with secp256k1 keys and EIP-55 checksummed addresses.

use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use sha3::{Digest, Keccak256};

use super::{Chain, SignatureError, Signer};

/// An Ethereum account that signs messages.
///
/// ```
/// use aether_sdk::message::sign::{EthereumAccount, Signer};
///
/// let account = EthereumAccount::from_hex(
///     "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
/// )
/// .unwrap();
/// assert_eq!(account.address(), "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23");
/// ```
#[derive(Clone)]
pub struct EthereumAccount {
    key: SigningKey,
    address: String,
}

impl std::fmt::Debug for EthereumAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        write!(f, "EthereumAccount({})", self.address)
    }
}

impl EthereumAccount {
    /// An account from its private key as hex, with or without `0x`.
    pub fn from_hex(private_key: &str) -> Result<Self, SignatureError> {
        let hex_digits = private_key.trim();
        let hex_digits = hex_digits.strip_prefix("0x").unwrap_or(hex_digits);
        let bytes = hex::decode(hex_digits).map_err(|_| {
            SignatureError::BadKey("an Ethereum private key is 64 hex digits".into())
        })?;
        Self::from_bytes(&bytes)
    }

    /// An account from its 32-byte private key.
    pub fn from_bytes(private_key: &[u8]) -> Result<Self, SignatureError> {
        let key = SigningKey::from_slice(private_key)
            .map_err(|_| SignatureError::BadKey("not a valid secp256k1 private key".into()))?;
        let address = address_of(key.verifying_key());
        Ok(EthereumAccount { key, address })
    }

    /// A new random account.
    pub fn generate() -> Self {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let address = address_of(key.verifying_key());
        EthereumAccount { key, address }
    }

    /// The private key as `0x`-prefixed hex, for saving it.
    pub fn private_key_hex(&self) -> String {
        format!("0x{}", hex::encode(self.key.to_bytes()))
    }
}

impl Signer for EthereumAccount {
    fn chain(&self) -> Chain {
        Chain::Eth
    }

    fn address(&self) -> String {
        self.address.clone()
    }

    fn sign_buffer(&self, buffer: &[u8]) -> String {
        let digest = eip191_digest(buffer);
        let (signature, recovery) = self
            .key
            .sign_prehash_recoverable(&digest)
            .expect("a 32-byte prehash always signs");
        let mut bytes = signature.to_bytes().to_vec();
        bytes.push(27 + recovery.to_byte());
        format!("0x{}", hex::encode(bytes))
    }
}

/// keccak256("\x19Ethereum Signed Message:\n" ‖ len ‖ message).
fn eip191_digest(message: &[u8]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    hasher.update(b"\x19Ethereum Signed Message:\n");
    hasher.update(message.len().to_string().as_bytes());
    hasher.update(message);
    hasher.finalize().into()
}

fn address_of(key: &VerifyingKey) -> String {
    let point = key.to_encoded_point(false);
    let hash = Keccak256::digest(&point.as_bytes()[1..]);
    checksum(&hex::encode(&hash[12..]))
}

/// EIP-55: a hex letter is upper case where the keccak of the lower-case
/// address has a nibble of 8 or more.
fn checksum(lower_hex: &str) -> String {
    let hash = Keccak256::digest(lower_hex.as_bytes());
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (i, c) in lower_hex.chars().enumerate() {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
        out.push(if nibble >= 8 {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
    out
}

/// Whether `address` is a `0x` address whose mixed case, if any, is its
/// EIP-55 checksum. All-lower and all-upper addresses carry no checksum.
pub fn is_valid_address(address: &str) -> bool {
    let Some(hex_part) = address.strip_prefix("0x") else {
        return false;
    };
    if hex_part.len() != 40 || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let lower = hex_part.to_ascii_lowercase();
    if hex_part == lower || hex_part == hex_part.to_ascii_uppercase() {
        return true;
    }
    checksum(&lower) == address
}

/// The EIP-55 form of an address given in any case.
pub fn checksummed(address: &str) -> Option<String> {
    is_valid_address(address).then(|| checksum(&address[2..].to_ascii_lowercase()))
}

/// Checks a `personal_sign` signature (`0x` + 65 bytes hex, `v` 27/28 or
/// 0/1) of `buffer` by `sender`.
pub fn verify(sender: &str, signature: &str, buffer: &[u8]) -> Result<(), SignatureError> {
    if !is_valid_address(sender) {
        return Err(SignatureError::BadSender(
            "an Ethereum sender is a 0x address of 40 hex digits with a valid checksum".into(),
        ));
    }
    let hex_part = signature.strip_prefix("0x").unwrap_or(signature);
    let bytes = hex::decode(hex_part)
        .ok()
        .filter(|b| b.len() == 65)
        .ok_or_else(|| {
            SignatureError::Encoding("an Ethereum signature is 0x and 65 bytes in hex".into())
        })?;
    let v = match bytes[64] {
        v @ (27 | 28) => v - 27,
        v @ (0 | 1) => v,
        _ => {
            return Err(SignatureError::Encoding(
                "recovery id v must be 27 or 28".into(),
            ))
        }
    };
    let signature = Signature::from_slice(&bytes[..64])
        .map_err(|_| SignatureError::Encoding("r or s out of range".into()))?;
    let recovery = RecoveryId::from_byte(v).expect("0 or 1");
    let key = VerifyingKey::recover_from_prehash(&eip191_digest(buffer), &signature, recovery)
        .map_err(|_| SignatureError::Invalid)?;
    if address_of(&key).eq_ignore_ascii_case(sender) {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}
