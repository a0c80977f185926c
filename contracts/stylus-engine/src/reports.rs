//! The report store: the latest margin report per account and the quorum-attested roots that
//! single reports and liquidation steps are proven against.

use stylus_sdk::alloy_primitives::aliases::U48;
use stylus_sdk::alloy_primitives::{Address, B256, U256};
use stylus_sdk::host::VM;

use crate::abi::{MarginReport, StoredMarginReport};
use crate::store::{self, tag};

/// Stored reports (map [`tag::REPORT`], two words: portfolioValue `[0..16]`, observedBlock
/// `[16..22]`, riskEpoch `[22..26]`, positionsNonce `[26..32]`; then initialMargin `[0..16]`,
/// maintenanceMargin `[16..32]`) and attested roots (map [`tag::ROOT`]: riskEpoch `[22..26]`,
/// observedBlock `[26..32]`).
pub struct ReportStore<'a>(pub &'a VM);

/// A 6-byte field as a `uint48`.
pub fn u48(v: u128) -> U48 {
    U48::from_limbs([v as u64 & 0xffff_ffff_ffff]) // a 6-byte field: the mask keeps all of it
}

/// A `uint48` as `u64`.
pub fn u48_value(v: U48) -> u64 {
    v.as_limbs()[0]
}

/// Whether `stored` is fresh: present, for `nonce` and `epoch`, and within `max_age` blocks.
pub fn is_fresh(
    stored: &StoredMarginReport,
    nonce: U48,
    epoch: u32,
    block: u64,
    max_age: u32,
) -> bool {
    let observed = u48_value(stored.observedBlock);
    observed != 0
        && stored.positionsNonce == nonce
        && stored.riskEpoch == epoch
        && observed <= block
        && block - observed <= u64::from(max_age)
}

impl ReportStore<'_> {
    fn report_slot(account: Address) -> U256 {
        store::map_slot(tag::REPORT, &store::address_word(account), &[0; 32])
    }

    fn root_slot(root: B256) -> U256 {
        store::map_slot(tag::ROOT, &root.0, &[0; 32])
    }

    /// The report stored for `account` (zeros if none).
    pub fn report(&self, account: Address) -> StoredMarginReport {
        let s = Self::report_slot(account);
        let a = store::load(self.0, s);
        let b = store::load(self.0, s + U256::from(1));
        StoredMarginReport {
            portfolioValue: store::get(&a, 0, 16) as i128, // two's complement bits
            observedBlock: u48(store::get(&a, 16, 6)),
            riskEpoch: store::get(&a, 22, 4) as u32, // a 4-byte field
            positionsNonce: u48(store::get(&a, 26, 6)),
            initialMargin: store::get(&b, 0, 16),
            maintenanceMargin: store::get(&b, 16, 16),
        }
    }

    /// The block the stored report of `account` was observed at (0 if none).
    pub fn observed_block(&self, account: Address) -> U48 {
        u48(store::field(self.0, Self::report_slot(account), 16, 6))
    }

    /// Stores `report` as `account`'s latest.
    pub fn store(&mut self, report: &MarginReport) {
        let s = Self::report_slot(report.account);
        let mut a = [0u8; 32];
        store::put(&mut a, 0, 16, report.portfolioValue as u128); // two's complement bits
        store::put(&mut a, 16, 6, u128::from(u48_value(report.observedBlock)));
        store::put(&mut a, 22, 4, u128::from(report.riskEpoch));
        store::put(&mut a, 26, 6, u128::from(u48_value(report.positionsNonce)));
        let mut b = [0u8; 32];
        store::put(&mut b, 0, 16, report.initialMargin);
        store::put(&mut b, 16, 16, report.maintenanceMargin);
        store::save(self.0, s, a);
        store::save(self.0, s + U256::from(1), b);
    }

    /// The attestation of `root`: (observedBlock, riskEpoch), zeros if none.
    pub fn root(&self, root: B256) -> (U48, u32) {
        let w = store::load(self.0, Self::root_slot(root));
        (u48(store::get(&w, 26, 6)), store::get(&w, 22, 4) as u32) // a 4-byte field
    }

    /// Stores the attestation of `root`.
    pub fn attest(&mut self, root: B256, observed_block: U48, epoch: u32) {
        let mut w = [0u8; 32];
        store::put(&mut w, 26, 6, u128::from(u48_value(observed_block)));
        store::put(&mut w, 22, 4, u128::from(epoch));
        store::save(self.0, Self::root_slot(root), w);
    }
}
