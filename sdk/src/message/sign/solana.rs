//! Solana senders: ed25519 over the verification buffer; the signature field
//! is the JSON object `{"publicKey": <base58>, "signature": <base58>}`.

use std::path::Path;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use super::{Chain, SignatureError, Signer};

/// A Solana account that signs messages.
///
/// ```
/// use aether_sdk::message::sign::{Signer, SolanaAccount};
///
/// let account = SolanaAccount::from_bytes(&[7u8; 32]).unwrap();
/// let signature = account.sign_buffer(b"SOL\nsender\nPOST\nhash");
/// assert!(signature.starts_with(r#"{"publicKey": ""#));
/// ```
#[derive(Clone)]
pub struct SolanaAccount {
    key: SigningKey,
    address: String,
}

impl std::fmt::Debug for SolanaAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SolanaAccount({})", self.address)
    }
}

impl SolanaAccount {
    /// An account from a 32-byte secret key, or a 64-byte keypair (secret
    /// then public, as the Solana CLI stores it; the halves must agree).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignatureError> {
        let secret: [u8; 32] = match bytes.len() {
            32 | 64 => bytes[..32].try_into().expect("32 bytes"),
            n => {
                return Err(SignatureError::BadKey(format!(
                    "a Solana key is 32 or 64 bytes, not {n}"
                )))
            }
        };
        let key = SigningKey::from_bytes(&secret);
        if bytes.len() == 64 && key.verifying_key().as_bytes() != &bytes[32..] {
            return Err(SignatureError::BadKey(
                "the keypair's public half does not match its secret half".into(),
            ));
        }
        let address = bs58::encode(key.verifying_key().as_bytes()).into_string();
        Ok(SolanaAccount { key, address })
    }

    /// An account from a Solana CLI keypair file (a JSON array of 64 bytes).
    pub fn from_keypair_file(path: impl AsRef<Path>) -> Result<Self, SignatureError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| SignatureError::BadKey(format!("{}: {e}", path.display())))?;
        let bytes: Vec<u8> = serde_json::from_str(&text).map_err(|_| {
            SignatureError::BadKey(format!(
                "{}: not a Solana keypair file (a JSON array of 64 numbers)",
                path.display()
            ))
        })?;
        Self::from_bytes(&bytes)
    }

    /// A new random account.
    pub fn generate() -> Self {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        Self::from_bytes(&key.to_bytes()).expect("32 bytes")
    }

    /// The 64-byte keypair as the Solana CLI stores it.
    pub fn to_keypair_bytes(&self) -> [u8; 64] {
        self.key.to_keypair_bytes()
    }
}

impl Signer for SolanaAccount {
    fn chain(&self) -> Chain {
        Chain::Sol
    }

    fn address(&self) -> String {
        self.address.clone()
    }

    fn sign_buffer(&self, buffer: &[u8]) -> String {
        let signature = self.key.sign(buffer);
        // The key order and separators of Python's `json.dumps`, which is
        // what the reference client sends.
        format!(
            r#"{{"publicKey": "{}", "signature": "{}"}}"#,
            self.address,
            bs58::encode(signature.to_bytes()).into_string()
        )
    }
}

/// The parts of a Solana signature field, decoded.
pub struct SolanaSignature {
    /// The signer's public key.
    pub public_key: VerifyingKey,
    /// The ed25519 signature.
    pub signature: Signature,
}

/// Decodes the signature field of a Solana-signed message, checking that its
/// public key is `sender`.
pub fn decode(sender: &str, field: &str) -> Result<SolanaSignature, SignatureError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Field {
        public_key: String,
        signature: String,
    }
    let parsed: Field = serde_json::from_str(field).map_err(|_| {
        SignatureError::Encoding(
            "a Solana signature is a JSON object with publicKey and signature".into(),
        )
    })?;
    if parsed.public_key != sender {
        return Err(SignatureError::BadSender(
            "the signature's publicKey is not the sender".into(),
        ));
    }
    let key_bytes: [u8; 32] = bs58::decode(&parsed.public_key)
        .into_vec()
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            SignatureError::BadSender("a Solana sender is a base58 public key".into())
        })?;
    let public_key = VerifyingKey::from_bytes(&key_bytes)
        .map_err(|_| SignatureError::BadSender("not an ed25519 public key".into()))?;
    let sig_bytes: [u8; 64] = bs58::decode(&parsed.signature)
        .into_vec()
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            SignatureError::Encoding("a Solana signature is 64 bytes in base58".into())
        })?;
    Ok(SolanaSignature {
        public_key,
        signature: Signature::from_bytes(&sig_bytes),
    })
}

/// Checks the signature field of `buffer` by `sender`.
pub fn verify(sender: &str, field: &str, buffer: &[u8]) -> Result<(), SignatureError> {
    let decoded = decode(sender, field)?;
    decoded
        .public_key
        .verify_strict(buffer, &decoded.signature)
        .map_err(|_| SignatureError::Invalid)
}
