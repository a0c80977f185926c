//! The cosigning protocol between keepers (HTTP on localhost, JSON).
//!
//! Flow: the block's leader (rotating: `keepers[state_block % n]` in ascending address
//! order) builds the batch, signs its digest and POSTs a [`Proposal`] to every peer. A peer
//! checks that the proposer is that block's leader (its signature over the digest is the
//! authentication: no shared secrets), recomputes the batch from its own index and market view,
//! and signs only if every leaf matches, journaling first. The leader verifies each returned
//! signature recovers to that peer's registered address before counting it.

use alloy_primitives::{Address, Bytes, B256};
use margin_types::{
    quorum::{Ecrecover, RawSignature, SIGNATURE_LENGTH},
    signer::K256Recover,
};
use serde::{Deserialize, Serialize};

use crate::batch::Batch;

/// What a leader sends to its peers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    /// The proposed batch.
    pub batch: Batch,
    /// The leader's address.
    pub leader: Address,
    /// The leader's signature over the batch digest.
    pub leader_signature: Bytes,
}

/// A peer's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum CosignResponse {
    /// The peer agrees and signed.
    Signed {
        /// The peer's address.
        signer: Address,
        /// Its signature over the batch digest.
        signature: Bytes,
    },
    /// The peer refused; `reason` names the first disagreement.
    Refused {
        /// Machine-readable reason (`not_leader`, `bad_leader_signature`, `wrong_clock`,
        /// `leaf_mismatch`, `not_synced`, `double_sign`, `model_error`).
        reason: String,
        /// Human-readable detail.
        detail: String,
    },
}

/// The leader of the node's block `state_block` among `keepers` (any order; sorted here).
pub fn leader_of(keepers: &[Address], state_block: u64) -> Option<Address> {
    if keepers.is_empty() {
        return None;
    }
    let mut sorted = keepers.to_vec();
    sorted.sort();
    Some(sorted[(state_block % sorted.len() as u64) as usize])
}

/// Recovers the signer of `digest` from a 65-byte signature (None if malformed).
pub fn recover(digest: &B256, signature: &[u8]) -> Option<Address> {
    let bytes: &[u8; SIGNATURE_LENGTH] = signature.try_into().ok()?;
    let raw = RawSignature::from_slice(bytes);
    margin_types::quorum::check_shape(0, &raw).ok()?;
    K256Recover.ecrecover(digest, &raw)
}

/// The first leaf on which two batches for the same block differ, described for logs and
/// refusals; `None` if they are identical.
pub fn first_difference(ours: &Batch, theirs: &Batch) -> Option<String> {
    if ours.observed_block != theirs.observed_block
        || ours.state_block != theirs.state_block
        || ours.risk_epoch != theirs.risk_epoch
    {
        return Some(format!(
            "block/epoch: ours {}/{}, theirs {}/{}",
            ours.observed_block, ours.risk_epoch, theirs.observed_block, theirs.risk_epoch
        ));
    }
    for (i, (a, b)) in ours.prices.iter().zip(&theirs.prices).enumerate() {
        if a != b {
            return Some(format!("price {i}: ours {a:?}, theirs {b:?}"));
        }
    }
    if ours.prices.len() != theirs.prices.len() {
        return Some(format!(
            "price count: ours {}, theirs {}",
            ours.prices.len(),
            theirs.prices.len()
        ));
    }
    // Reports are compared per account: the leader may include a subset of accounts.
    for theirs_report in &theirs.reports {
        match ours.reports.iter().find(|r| r.account == theirs_report.account) {
            Some(ours_report) if ours_report == theirs_report => {}
            Some(ours_report) => {
                return Some(format!(
                    "report for {}: ours {ours_report:?}, theirs {theirs_report:?}",
                    theirs_report.account
                ))
            }
            None => return Some(format!("report for {}: we have none", theirs_report.account)),
        }
    }
    for theirs_step in &theirs.steps {
        if !ours.steps.contains(theirs_step) {
            return Some(format!("liquidation step {theirs_step:?}: we did not plan it"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{MarginReportJson, PriceReportJson};
    use alloy_primitives::keccak256;
    use margin_types::signer::KeeperSigner;

    fn batch() -> Batch {
        Batch {
            observed_block: 7,
            state_block: 7,
            risk_epoch: 1,
            prices: vec![PriceReportJson { asset: Address::repeat_byte(1), price: 5 }],
            reports: vec![MarginReportJson {
                account: Address::repeat_byte(2),
                positions_nonce: 1,
                portfolio_value: 3,
                initial_margin: 2,
                maintenance_margin: 1,
            }],
            steps: vec![],
        }
    }

    #[test]
    fn leader_rotates_over_sorted_keepers() {
        let keepers = [Address::repeat_byte(3), Address::repeat_byte(1), Address::repeat_byte(2)];
        assert_eq!(leader_of(&keepers, 0), Some(Address::repeat_byte(1)));
        assert_eq!(leader_of(&keepers, 4), Some(Address::repeat_byte(2)));
        assert_eq!(leader_of(&[], 4), None);
    }

    #[test]
    fn a_changed_leaf_is_named() {
        let ours = batch();
        let mut theirs = batch();
        assert_eq!(first_difference(&ours, &theirs), None);
        theirs.reports[0].maintenance_margin = 0;
        assert!(first_difference(&ours, &theirs).unwrap().contains("report for"));
    }

    #[test]
    fn signatures_recover_to_their_keeper() {
        let signer = KeeperSigner::from_bytes(&keccak256("cosign TEST-ONLY key")).unwrap();
        let digest = batch().digest(31337, Address::repeat_byte(0xee));
        let signature = signer.sign_digest(&digest).unwrap();
        assert_eq!(recover(&digest, &signature), Some(signer.address()));
        assert_eq!(recover(&digest, &signature[..64]), None);
    }
}
