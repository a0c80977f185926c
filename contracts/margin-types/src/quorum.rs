//! Quorum signatures: encoding, shape checks and verification.
//!
//! Encoding: 65-byte `(r, s, v)` signatures concatenated in strictly ascending signer order.
//! Why ascending order rather than a keeper bitmap: the duplicate check is one comparison with
//! the previous signer, calldata carries nothing but the signatures, and the registry lookup is
//! the same single storage read either way.
//!
//! Flow: `signatures` bytes -> [`split_signatures`] -> per signature [`check_shape`] ->
//! [`Ecrecover::ecrecover`] (precompile on-chain, k256 off-chain) -> order and registry checks ->
//! count against the quorum, all in [`verify_quorum`].

use alloc::vec::Vec;

use alloy_primitives::{uint, Address, B256, U256};

use crate::error::ProtocolError;

/// Length of one signature.
pub const SIGNATURE_LENGTH: usize = 65;

/// secp256k1n / 2: the largest `s` accepted (EIP-2).
pub const SECP256K1N_HALF: U256 =
    uint!(0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0_U256);

/// One signature as it sits in calldata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawSignature {
    /// r.
    pub r: B256,
    /// s.
    pub s: B256,
    /// v, 27 or 28 when valid.
    pub v: u8,
}

impl RawSignature {
    /// Reads 65 bytes `r ‖ s ‖ v`.
    pub fn from_slice(bytes: &[u8; SIGNATURE_LENGTH]) -> Self {
        Self {
            r: B256::from_slice(&bytes[..32]),
            s: B256::from_slice(&bytes[32..64]),
            v: bytes[64],
        }
    }

    /// Writes `r ‖ s ‖ v`.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_LENGTH] {
        let mut out = [0u8; SIGNATURE_LENGTH];
        out[..32].copy_from_slice(self.r.as_slice());
        out[32..64].copy_from_slice(self.s.as_slice());
        out[64] = self.v;
        out
    }

    /// The 128-byte input of the ecrecover precompile: `digest ‖ v ‖ r ‖ s`.
    pub fn ecrecover_input(&self, digest: &B256) -> [u8; 128] {
        let mut input = [0u8; 128];
        input[..32].copy_from_slice(digest.as_slice());
        input[63] = self.v;
        input[64..96].copy_from_slice(self.r.as_slice());
        input[96..].copy_from_slice(self.s.as_slice());
        input
    }
}

/// Splits `signatures` into 65-byte signatures; rejects an empty or ragged buffer.
pub fn split_signatures(
    signatures: &[u8],
) -> Result<impl Iterator<Item = RawSignature> + '_, ProtocolError> {
    if signatures.is_empty() || !signatures.len().is_multiple_of(SIGNATURE_LENGTH) {
        return Err(ProtocolError::MalformedSignatures { length: signatures.len() });
    }
    Ok(signatures.chunks_exact(SIGNATURE_LENGTH).map(|chunk| {
        // chunks_exact yields exactly SIGNATURE_LENGTH bytes.
        let mut bytes = [0u8; SIGNATURE_LENGTH];
        bytes.copy_from_slice(chunk);
        RawSignature::from_slice(&bytes)
    }))
}

/// Rejects `v` outside {27, 28} and high `s`, before any recovery is attempted.
pub fn check_shape(index: usize, signature: &RawSignature) -> Result<(), ProtocolError> {
    if signature.v != 27 && signature.v != 28 {
        return Err(ProtocolError::InvalidSignatureV { index, v: signature.v });
    }
    if U256::from_be_bytes(signature.s.0) > SECP256K1N_HALF {
        return Err(ProtocolError::SignatureSHigh { index, s: signature.s });
    }
    Ok(())
}

/// Public-key recovery. On-chain: the precompile at `0x01` (empty return data means failure);
/// off-chain: k256. Returns `None` when recovery fails.
pub trait Ecrecover {
    /// The signer of `digest`, or `None`.
    fn ecrecover(&mut self, digest: &B256, signature: &RawSignature) -> Option<Address>;
}

/// Verifies a quorum over `digest`: every signature well-formed and recovering to a registered
/// keeper, signers strictly ascending, at least `quorum` of them. Returns the signer count.
pub fn verify_quorum<R: Ecrecover>(
    recover: &mut R,
    digest: &B256,
    signatures: &[u8],
    mut is_keeper: impl FnMut(Address) -> bool,
    quorum: usize,
) -> Result<usize, ProtocolError> {
    let mut previous = Address::ZERO;
    let mut count = 0usize;
    for (index, signature) in split_signatures(signatures)?.enumerate() {
        check_shape(index, &signature)?;
        let signer = match recover.ecrecover(digest, &signature) {
            Some(signer) if signer != Address::ZERO => signer,
            _ => return Err(ProtocolError::InvalidSignature { index }),
        };
        if signer <= previous {
            return Err(ProtocolError::SignersNotAscending { previous, signer });
        }
        if !is_keeper(signer) {
            return Err(ProtocolError::UnknownKeeper { signer });
        }
        previous = signer;
        count += 1;
    }
    if count < quorum {
        return Err(ProtocolError::QuorumNotMet { signers: count, quorum });
    }
    Ok(count)
}

/// Encodes `(signer, signature)` pairs in the on-chain order (ascending signer).
pub fn encode_signatures(mut signed: Vec<(Address, [u8; SIGNATURE_LENGTH])>) -> Vec<u8> {
    signed.sort_by_key(|(signer, _)| *signer);
    signed.iter().flat_map(|(_, signature)| signature.iter().copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ragged_or_empty_signatures_are_malformed() {
        assert!(matches!(
            split_signatures(&[]),
            Err(ProtocolError::MalformedSignatures { length: 0 })
        ));
        assert!(matches!(
            split_signatures(&[0u8; 64]),
            Err(ProtocolError::MalformedSignatures { length: 64 })
        ));
        assert_eq!(split_signatures(&[0u8; 130]).unwrap().count(), 2);
    }

    #[test]
    fn shape_rejects_bad_v_and_high_s() {
        let mut sig = RawSignature { r: B256::repeat_byte(1), s: B256::repeat_byte(1), v: 27 };
        assert!(check_shape(0, &sig).is_ok());
        sig.v = 0;
        assert_eq!(check_shape(3, &sig), Err(ProtocolError::InvalidSignatureV { index: 3, v: 0 }));
        sig.v = 28;
        sig.s = B256::from(SECP256K1N_HALF + U256::from(1));
        assert_eq!(check_shape(1, &sig), Err(ProtocolError::SignatureSHigh { index: 1, s: sig.s }));
        sig.s = B256::from(SECP256K1N_HALF);
        assert!(check_shape(1, &sig).is_ok());
    }
}
