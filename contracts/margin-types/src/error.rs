//! Typed protocol errors. Each variant mirrors a custom error of `IMarginEngine.sol` with the same
//! parameters, so an engine converts one into its revert data with a plain `From`.

use alloy_primitives::{Address, B256};

/// Why a batch, a proof or a signature set was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// `signatures` is empty or not a multiple of 65 bytes.
    #[error("signatures must be a non-empty multiple of 65 bytes, got {length}")]
    MalformedSignatures {
        /// Length of the signature bytes.
        length: usize,
    },
    /// A signature's v is not 27 or 28.
    #[error("signature {index}: v must be 27 or 28, got {v}")]
    InvalidSignatureV {
        /// Position of the signature.
        index: usize,
        /// The v byte found.
        v: u8,
    },
    /// A signature's s is in the upper half of the curve order (EIP-2).
    #[error("signature {index}: s is above secp256k1n/2")]
    SignatureSHigh {
        /// Position of the signature.
        index: usize,
        /// The s found.
        s: B256,
    },
    /// Recovery failed or gave the zero address.
    #[error("signature {index}: recovery failed")]
    InvalidSignature {
        /// Position of the signature.
        index: usize,
    },
    /// Signers are not strictly ascending (a repeated signer is caught here too).
    #[error("signers must be strictly ascending: {signer} after {previous}")]
    SignersNotAscending {
        /// The signer before.
        previous: Address,
        /// The offending signer.
        signer: Address,
    },
    /// A signer is not a registered keeper.
    #[error("{signer} is not a registered keeper")]
    UnknownKeeper {
        /// The recovered signer.
        signer: Address,
    },
    /// Fewer valid distinct keepers than the quorum.
    #[error("quorum not met: {signers} of {quorum} signatures")]
    QuorumNotMet {
        /// Valid distinct keeper signatures found.
        signers: usize,
        /// Signatures required.
        quorum: usize,
    },
    /// A proof was requested for a leaf index outside the batch.
    #[error("leaf index {index} out of range for a batch of {count}")]
    LeafIndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// Leaves in the batch.
        count: usize,
    },
    /// A private key that is zero or not below the curve order.
    #[error("invalid keeper private key")]
    InvalidPrivateKey,
}
