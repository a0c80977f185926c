//! A keeper's k256 signer (host only): signs EIP-712 digests with low-s, v in {27, 28}.

use alloy_primitives::{Address, B256};
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};

use crate::error::ProtocolError;
use crate::quorum::{Ecrecover, RawSignature, SIGNATURE_LENGTH};

/// A keeper's signing key and its address.
#[derive(Clone)]
pub struct KeeperSigner {
    key: SigningKey,
    address: Address,
}

impl core::fmt::Debug for KeeperSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the key.
        f.debug_struct("KeeperSigner").field("address", &self.address).finish_non_exhaustive()
    }
}

impl KeeperSigner {
    /// A signer from a 32-byte private key.
    pub fn from_bytes(private_key: &B256) -> Result<Self, ProtocolError> {
        let key = SigningKey::from_bytes(&private_key.0.into())
            .map_err(|_| ProtocolError::InvalidPrivateKey)?;
        let address = address_of(key.verifying_key());
        Ok(Self { key, address })
    }

    /// The keeper's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs a 32-byte digest: `r ‖ s ‖ v` with low s and v in {27, 28}.
    pub fn sign_digest(&self, digest: &B256) -> Result<[u8; SIGNATURE_LENGTH], ProtocolError> {
        let (signature, recovery_id) = self
            .key
            .sign_prehash_recoverable(digest.as_slice())
            .map_err(|_| ProtocolError::InvalidSignature { index: 0 })?;
        // k256 already returns low-s; normalise anyway so the invariant does not rest on it.
        let (signature, recovery_id) = match signature.normalize_s() {
            Some(normalised) => {
                (normalised, RecoveryId::new(!recovery_id.is_y_odd(), recovery_id.is_x_reduced()))
            }
            None => (signature, recovery_id),
        };
        let mut out = [0u8; SIGNATURE_LENGTH];
        out[..64].copy_from_slice(&signature.to_bytes());
        out[64] = 27 + u8::from(recovery_id.is_y_odd());
        Ok(out)
    }
}

/// The Ethereum address of a public key.
pub fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    // Uncompressed SEC1: 0x04 ‖ x ‖ y; the address is the last 20 bytes of keccak(x ‖ y).
    let hash = alloy_primitives::keccak256(&point.as_bytes()[1..]);
    Address::from_slice(&hash[12..])
}

/// Recovery with k256, for native tests and off-chain verification.
#[derive(Debug, Default, Clone, Copy)]
pub struct K256Recover;

impl Ecrecover for K256Recover {
    fn ecrecover(&mut self, digest: &B256, signature: &RawSignature) -> Option<Address> {
        let recovery_id = RecoveryId::from_byte(signature.v.checked_sub(27)?)?;
        let mut rs = [0u8; 64];
        rs[..32].copy_from_slice(signature.r.as_slice());
        rs[32..].copy_from_slice(signature.s.as_slice());
        let parsed = Signature::from_slice(&rs).ok()?;
        let key =
            VerifyingKey::recover_from_prehash(digest.as_slice(), &parsed, recovery_id).ok()?;
        Some(address_of(&key))
    }
}
