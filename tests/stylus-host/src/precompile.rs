//! The precompiles modelled: `ecrecover` at `0x01`, with geth's behaviour, and Arbitrum's ArbSys
//! at `0x64` (`arbBlockNumber()` only, Nitro `precompiles/ArbSys.go`).

use alloy_primitives::{address, Address};
use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};

/// The ecrecover precompile's address.
pub const ECRECOVER: Address = address!("0000000000000000000000000000000000000001");

/// Arbitrum's ArbSys precompile.
pub const ARB_SYS: Address = address!("0000000000000000000000000000000000000064");

/// `arbBlockNumber()`'s selector.
pub const ARB_BLOCK_NUMBER: [u8; 4] = [0xa3, 0xb1, 0xb3, 0x1d];

/// ArbSys answering `calldata` in L2 block `l2_block`: `arbBlockNumber()` is the L2 block number
/// as a word (Nitro returns `evm.Context.BlockNumber`, the L2 number, where the EVM's NUMBER and the
/// Stylus `block_number` hostio give the L1 estimate). `None` for any other method: not modelled.
pub fn arb_sys(calldata: &[u8], l2_block: u64) -> Option<Vec<u8>> {
    (calldata == ARB_BLOCK_NUMBER)
        .then(|| alloy_primitives::U256::from(l2_block).to_be_bytes::<32>().to_vec())
}

/// Whether `a` is one of the standard precompiles (0x01 to 0x0a and 0x100, P-256).
pub fn is_precompile(a: Address) -> bool {
    let b = a.as_slice();
    let low = u16::from_be_bytes([b[18], b[19]]);
    b[..18].iter().all(|&x| x == 0) && ((1..=0x0a).contains(&low) || low == 0x100)
}

/// geth's ecrecover: input right-padded to 128 bytes `(hash, v, r, s)`; `v` must be the word 27
/// or 28 and `r`, `s` in `[1, n)` (high `s` accepted, unlike a transaction); the 32-byte
/// left-padded address, or empty output when any check or the recovery fails.
pub fn ecrecover(input: &[u8]) -> Vec<u8> {
    let mut padded = [0u8; 128];
    let n = input.len().min(128);
    padded[..n].copy_from_slice(&input[..n]);
    let (hash, v, rs) = (&padded[..32], &padded[32..64], &padded[64..128]);
    if v[..31].iter().any(|&b| b != 0) || !(v[31] == 27 || v[31] == 28) {
        return Vec::new();
    }
    // r, s in [1, n): from_slice rejects zero and out-of-range scalars.
    let Ok(signature) = Signature::from_slice(rs) else {
        return Vec::new();
    };
    let mut y_odd = v[31] == 28;
    // k256 refuses high s when it checks the recovered key; (r, n - s) with the other parity
    // recovers the same key, as geth's libsecp256k1 does for (r, s).
    let signature = match signature.normalize_s() {
        Some(low) => {
            y_odd = !y_odd;
            low
        }
        None => signature,
    };
    let Ok(key) =
        VerifyingKey::recover_from_prehash(hash, &signature, RecoveryId::new(y_odd, false))
    else {
        return Vec::new();
    };
    let mut out = vec![0u8; 32];
    out[12..].copy_from_slice(margin_types::signer::address_of(&key).as_slice());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{keccak256, B256};
    use margin_types::signer::KeeperSigner;

    fn input(digest: &B256, sig: &[u8; 65]) -> Vec<u8> {
        let mut v = [0u8; 32];
        v[31] = sig[64];
        [digest.as_slice(), &v, &sig[..64]].concat()
    }

    #[test]
    fn arb_sys_answers_the_l2_block_number_only() {
        let word = arb_sys(&ARB_BLOCK_NUMBER, 100_000_123).unwrap();
        assert_eq!(alloy_primitives::U256::from_be_slice(&word), 100_000_123);
        assert_eq!(
            &keccak256("arbBlockNumber()")[..4],
            &ARB_BLOCK_NUMBER[..],
            "the selector is arbBlockNumber()'s"
        );
        assert_eq!(arb_sys(&[ARB_BLOCK_NUMBER, [0; 4]].concat(), 1), None);
        assert_eq!(arb_sys(&keccak256("arbChainID()")[..4], 1), None);
    }

    #[test]
    fn recovers_low_and_high_s_and_rejects_malformed() {
        let signer = KeeperSigner::from_bytes(&keccak256("stylus-host ecrecover")).unwrap();
        let digest = keccak256("message");
        let sig = signer.sign_digest(&digest).unwrap();
        let expected = {
            let mut w = vec![0u8; 32];
            w[12..].copy_from_slice(signer.address().as_slice());
            w
        };
        assert_eq!(ecrecover(&input(&digest, &sig)), expected);

        // (r, n - s, flipped v) recovers the same key in geth.
        let n = hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
            .unwrap();
        let s = alloy_primitives::U256::from_be_slice(&sig[32..64]);
        let high = alloy_primitives::U256::from_be_slice(&n) - s;
        let mut malleated = sig;
        malleated[32..64].copy_from_slice(&high.to_be_bytes::<32>());
        malleated[64] = if sig[64] == 27 { 28 } else { 27 };
        assert_eq!(ecrecover(&input(&digest, &malleated)), expected);

        let mut bad_v = sig;
        bad_v[64] = 29;
        assert!(ecrecover(&input(&digest, &bad_v)).is_empty());
        let mut zero_r = sig;
        zero_r[..32].fill(0);
        assert!(ecrecover(&input(&digest, &zero_r)).is_empty());
        assert!(ecrecover(&[]).is_empty(), "all-zero input: v = 0");
    }
}
