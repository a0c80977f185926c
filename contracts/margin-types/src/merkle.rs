//! The Merkle tree of a batch: leaves domain-separated by type, inner nodes over sorted pairs
//! (OpenZeppelin `MerkleProof`-compatible), an odd node carried up unchanged.
//!
//! Flow: items -> [`leaf_hash`] per item -> [`root`] (whole batch, no proofs) or
//! [`proof`] + [`process_proof`] (one item against a stored root).

use alloc::vec::Vec;

use alloy_primitives::{keccak256, B256};

use crate::error::ProtocolError;

/// The type byte that prefixes every leaf preimage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum LeafKind {
    /// A [`crate::abi::PriceReport`].
    Price = 1,
    /// A [`crate::abi::MarginReport`].
    Margin = 2,
    /// A [`crate::abi::LiquidationStep`].
    Liquidation = 3,
}

/// `keccak256(abi.encodePacked(uint8 kind, structHash))`. The 33-byte preimage can never be
/// mistaken for a 64-byte inner node, and the kind byte keeps a price leaf from passing as a
/// margin leaf.
pub fn leaf_hash(kind: LeafKind, struct_hash: &B256) -> B256 {
    let mut buf = [0u8; 33];
    buf[0] = kind as u8;
    buf[1..].copy_from_slice(struct_hash.as_slice());
    keccak256(buf)
}

/// Hash of a sorted pair (`Hashes.commutativeKeccak256` in OpenZeppelin).
pub fn hash_pair(a: &B256, b: &B256) -> B256 {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(low.as_slice());
    buf[32..].copy_from_slice(high.as_slice());
    keccak256(buf)
}

/// Root of `nodes`, computed in place (the slice is overwritten). Zero for an empty batch.
pub fn root_in_place(nodes: &mut [B256]) -> B256 {
    let mut len = nodes.len();
    if len == 0 {
        return B256::ZERO;
    }
    while len > 1 {
        let pairs = len / 2;
        for i in 0..pairs {
            nodes[i] = hash_pair(&nodes[2 * i], &nodes[2 * i + 1]);
        }
        if !len.is_multiple_of(2) {
            // The odd node is carried up unchanged.
            nodes[pairs] = nodes[len - 1];
            len = pairs + 1;
        } else {
            len = pairs;
        }
    }
    nodes[0]
}

/// Root of a batch's leaves (leaves in batch order).
pub fn root(leaves: &[B256]) -> B256 {
    let mut nodes = leaves.to_vec();
    root_in_place(&mut nodes)
}

/// Proof for the leaf at `index`: the siblings from the leaf to the root.
pub fn proof(leaves: &[B256], index: usize) -> Result<Vec<B256>, ProtocolError> {
    if index >= leaves.len() {
        return Err(ProtocolError::LeafIndexOutOfRange { index, count: leaves.len() });
    }
    let mut siblings = Vec::new();
    let mut level = leaves.to_vec();
    let mut position = index;
    while level.len() > 1 {
        let sibling = position ^ 1;
        if sibling < level.len() {
            siblings.push(level[sibling]);
        }
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for pair in level.chunks(2) {
            next.push(if pair.len() == 2 { hash_pair(&pair[0], &pair[1]) } else { pair[0] });
        }
        level = next;
        position /= 2;
    }
    Ok(siblings)
}

/// The root a proof leads to from `leaf`.
pub fn process_proof(leaf: &B256, proof: &[B256]) -> B256 {
    proof.iter().fold(*leaf, |node, sibling| hash_pair(&node, sibling))
}

/// Whether `proof` leads from `leaf` to `root`.
pub fn verify(root: &B256, leaf: &B256, proof: &[B256]) -> bool {
    process_proof(leaf, proof) == *root
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<B256> {
        (0..n).map(|i| leaf_hash(LeafKind::Margin, &keccak256((i as u64).to_be_bytes()))).collect()
    }

    #[test]
    fn single_leaf_is_its_own_root() {
        let l = leaves(1);
        assert_eq!(root(&l), l[0]);
        assert!(proof(&l, 0).unwrap().is_empty());
    }

    #[test]
    fn three_leaves_carry_the_odd_one_up() {
        let l = leaves(3);
        assert_eq!(root(&l), hash_pair(&hash_pair(&l[0], &l[1]), &l[2]));
        assert_eq!(proof(&l, 2).unwrap(), vec![hash_pair(&l[0], &l[1])]);
    }

    #[test]
    fn leaf_kinds_separate() {
        let h = keccak256("x");
        assert_ne!(leaf_hash(LeafKind::Price, &h), leaf_hash(LeafKind::Margin, &h));
    }

    #[test]
    fn out_of_range_index_is_an_error() {
        assert_eq!(
            proof(&leaves(2), 2),
            Err(ProtocolError::LeafIndexOutOfRange { index: 2, count: 2 })
        );
    }

    proptest! {
        #[test]
        fn every_proof_verifies_and_no_other_leaf_does(n in 1usize..130, pick in 0usize..1000) {
            let l = leaves(n);
            let r = root(&l);
            let i = pick % n;
            let p = proof(&l, i).unwrap();
            prop_assert!(verify(&r, &l[i], &p));
            let stranger = leaf_hash(LeafKind::Price, &keccak256((i as u64).to_be_bytes()));
            prop_assert!(!verify(&r, &stranger, &p));
            prop_assert!(p.len() <= 8);
        }
    }
}
