//! What can be wrong with a message, always naming the field.

use super::sign::SignatureError;

/// Why a message was refused. Every variant names the field at fault
/// (a path such as `content.resources.vcpus`), available as [`MessageError::field`].
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum MessageError {
    /// A required field is absent (or null where null is not allowed).
    #[error("{field}: missing")]
    Missing {
        /// The field's path.
        field: String,
    },
    /// A field is present but its value is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field's path.
        field: String,
        /// What is wrong, for a person.
        reason: String,
    },
    /// The item hash is not the sha256 of the inline content.
    #[error("item_hash: is {found}, but sha256(item_content) is {expected}")]
    HashMismatch {
        /// The hash of the content as sent.
        expected: String,
        /// The hash the message claims.
        found: String,
    },
    /// Inline content over the limit; such content goes to storage.
    #[error("item_content: {size} bytes is over the inline limit of {limit}; store it and send item_type \"storage\"")]
    TooLarge {
        /// Size of the inline content in bytes.
        size: usize,
        /// The largest size allowed inline.
        limit: usize,
    },
    /// The signature does not verify, or is not encoded as the chain expects.
    #[error("signature: {0}")]
    Signature(#[from] SignatureError),
}

impl MessageError {
    /// The path of the field at fault.
    pub fn field(&self) -> &str {
        match self {
            MessageError::Missing { field } | MessageError::Invalid { field, .. } => field,
            MessageError::HashMismatch { .. } => "item_hash",
            MessageError::TooLarge { .. } => "item_content",
            MessageError::Signature(SignatureError::UnsupportedChain(_)) => "chain",
            MessageError::Signature(SignatureError::BadSender(_)) => "sender",
            MessageError::Signature(_) => "signature",
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        MessageError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn missing(field: impl Into<String>) -> Self {
        MessageError::Missing {
            field: field.into(),
        }
    }
}
