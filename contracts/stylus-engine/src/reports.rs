//! The report store: the latest margin report per account and the quorum-attested roots that
//! single reports and liquidation steps are proven against.

use alloc::vec::Vec;
use stylus_sdk::alloy_primitives::aliases::{U128, U32, U48};
use stylus_sdk::alloy_primitives::{Address, B256};
use stylus_sdk::prelude::*;
use stylus_sdk::storage::{StorageI128, StorageMap, StorageU128, StorageU32, StorageUint};

use crate::abi::{MarginReport, StoredMarginReport};
use crate::math::{bits_to_i128, i128_to_bits};

/// One account's report, in two slots.
#[storage]
pub struct StoredReportSlot {
    portfolio_value: StorageI128,
    observed_block: StorageUint<48, 1>,
    risk_epoch: StorageU32,
    positions_nonce: StorageUint<48, 1>,
    initial_margin: StorageU128,
    maintenance_margin: StorageU128,
}

/// An attested root: the block and epoch its batch was signed for.
#[storage]
pub struct RootSlot {
    observed_block: StorageUint<48, 1>,
    risk_epoch: StorageU32,
}

/// Stored reports and attested roots.
#[storage]
pub struct ReportStore {
    reports: StorageMap<Address, StoredReportSlot>,
    roots: StorageMap<B256, RootSlot>,
}

/// Whether `stored` is fresh: present, for `nonce` and `epoch`, and within `max_age` blocks.
pub fn is_fresh(
    stored: &StoredMarginReport,
    nonce: U48,
    epoch: u32,
    block: u64,
    max_age: u32,
) -> bool {
    let observed = stored.observedBlock.to::<u64>();
    observed != 0
        && stored.positionsNonce == nonce
        && stored.riskEpoch == epoch
        && observed <= block
        && block - observed <= u64::from(max_age)
}

impl ReportStore {
    /// The report stored for `account` (zeros if none).
    pub fn report(&self, account: Address) -> StoredMarginReport {
        let slot = self.reports.getter(account);
        StoredMarginReport {
            portfolioValue: bits_to_i128(slot.portfolio_value.get()),
            observedBlock: slot.observed_block.get(),
            riskEpoch: slot.risk_epoch.get().to(),
            positionsNonce: slot.positions_nonce.get(),
            initialMargin: slot.initial_margin.get().to(),
            maintenanceMargin: slot.maintenance_margin.get().to(),
        }
    }

    /// The block the stored report of `account` was observed at (0 if none).
    pub fn observed_block(&self, account: Address) -> U48 {
        self.reports.getter(account).observed_block.get()
    }

    /// Stores `report` as `account`'s latest.
    pub fn store(&mut self, report: &MarginReport) {
        let mut slot = self.reports.setter(report.account);
        slot.portfolio_value.set(i128_to_bits(report.portfolioValue));
        slot.observed_block.set(report.observedBlock);
        slot.risk_epoch.set(U32::from(report.riskEpoch));
        slot.positions_nonce.set(report.positionsNonce);
        slot.initial_margin.set(U128::from(report.initialMargin));
        slot.maintenance_margin.set(U128::from(report.maintenanceMargin));
    }

    /// The attestation of `root`: (observedBlock, riskEpoch), zeros if none.
    pub fn root(&self, root: B256) -> (U48, u32) {
        let slot = self.roots.getter(root);
        (slot.observed_block.get(), slot.risk_epoch.get().to())
    }

    /// Stores the attestation of `root`.
    pub fn attest(&mut self, root: B256, observed_block: U48, epoch: u32) {
        let mut slot = self.roots.setter(root);
        slot.observed_block.set(observed_block);
        slot.risk_epoch.set(U32::from(epoch));
    }
}
