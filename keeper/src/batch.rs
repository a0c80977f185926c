//! A block's batch: the price reports, margin reports and liquidation steps the keepers attest
//! to, in the leaf order the engine rebuilds (prices, reports, then other leaves).
//!
//! Flow: items -> [`Batch::new`] (leaves, root, header) -> [`Batch::digest`] -> each keeper
//! signs -> [`Batch::post_batch_calldata`] with the quorum's signatures.

use alloy_primitives::{aliases::U48, Address, B256, U256};
use alloy_sol_types::SolCall;
use margin_types::{
    abi::{IMarginEngine, LiquidationStep, MarginReport, PriceReport, ReportBatch},
    eip712::{domain_separator, signing_digest, BatchLeaf, SignedStruct},
    merkle,
};
use serde::{Deserialize, Serialize};

/// Everything keepers attest to for one observed block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// The engine's block clock (`clockBlock()`) at `state_block`: what is signed as
    /// observedBlock and what the engine's freshness windows count from.
    pub observed_block: u64,
    /// The node's block whose state (logs, engine views) and market data the numbers come
    /// from. The same number as `observed_block` on Arbitrum (both are L2 blocks) and on other
    /// chains; they differ only where the engine's clock is not the node's numbering (a mocked
    /// ArbSys on anvil).
    pub state_block: u64,
    /// The engine's risk epoch the numbers were computed under.
    pub risk_epoch: u32,
    /// Collateral prices.
    pub prices: Vec<PriceReportJson>,
    /// Margin reports.
    pub reports: Vec<MarginReportJson>,
    /// Liquidation steps (applied later by liquidators with proofs).
    pub steps: Vec<LiquidationStepJson>,
}

/// JSON form of a [`PriceReport`] (the sol! types carry no serde).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceReportJson {
    /// Collateral token.
    pub asset: Address,
    /// USD per whole token, 18 decimals.
    pub price: u128,
}

/// JSON form of a [`MarginReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarginReportJson {
    /// Account.
    pub account: Address,
    /// Positions nonce the positions were read at.
    pub positions_nonce: u64,
    /// Mark-to-market, USD 18 decimals.
    pub portfolio_value: i128,
    /// Initial margin, USD 18 decimals.
    pub initial_margin: u128,
    /// Maintenance margin, USD 18 decimals.
    pub maintenance_margin: u128,
}

/// JSON form of a [`LiquidationStep`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiquidationStepJson {
    /// Account to liquidate.
    pub account: Address,
    /// Its positions nonce.
    pub positions_nonce: u64,
    /// Instrument to reduce.
    pub instrument_id: B256,
    /// Signed size added to the account's position, 18 decimals.
    pub size: i128,
    /// USD per unit, 18 decimals.
    pub mark_price: u128,
}

impl Batch {
    /// The price reports as signed structs.
    pub fn price_reports(&self) -> Vec<PriceReport> {
        self.prices
            .iter()
            .map(|p| PriceReport {
                asset: p.asset,
                price: p.price,
                observedBlock: U48::from(self.observed_block),
            })
            .collect()
    }

    /// The margin reports as signed structs.
    pub fn margin_reports(&self) -> Vec<MarginReport> {
        self.reports
            .iter()
            .map(|r| MarginReport {
                account: r.account,
                positionsNonce: U48::from(r.positions_nonce),
                riskEpoch: self.risk_epoch,
                observedBlock: U48::from(self.observed_block),
                portfolioValue: r.portfolio_value,
                initialMargin: r.initial_margin,
                maintenanceMargin: r.maintenance_margin,
            })
            .collect()
    }

    /// The liquidation steps as signed structs.
    pub fn liquidation_steps(&self) -> Vec<LiquidationStep> {
        self.steps
            .iter()
            .map(|s| LiquidationStep {
                account: s.account,
                positionsNonce: U48::from(s.positions_nonce),
                riskEpoch: self.risk_epoch,
                observedBlock: U48::from(self.observed_block),
                instrumentId: s.instrument_id,
                size: s.size,
                markPrice: s.mark_price,
            })
            .collect()
    }

    /// Leaves in the engine's order: prices, margin reports, liquidation steps.
    pub fn leaves(&self) -> Vec<B256> {
        self.price_reports()
            .iter()
            .map(BatchLeaf::leaf_hash)
            .chain(self.margin_reports().iter().map(BatchLeaf::leaf_hash))
            .chain(self.liquidation_steps().iter().map(BatchLeaf::leaf_hash))
            .collect()
    }

    /// The header keepers sign.
    pub fn header(&self) -> ReportBatch {
        let leaves = self.leaves();
        ReportBatch {
            root: merkle::root(&leaves),
            observedBlock: U48::from(self.observed_block),
            riskEpoch: self.risk_epoch,
            count: leaves.len() as u32,
        }
    }

    /// The EIP-712 digest of the header for the engine at `engine` on `chain_id`.
    pub fn digest(&self, chain_id: u64, engine: Address) -> B256 {
        signing_digest(
            &domain_separator(U256::from(chain_id), engine),
            &self.header().struct_hash(),
        )
    }

    /// `postBatch` calldata with the quorum's `signatures`; liquidation-step leaves go as
    /// `otherLeaves` so the engine stores the root for the liquidators' proofs.
    pub fn post_batch_calldata(&self, signatures: Vec<u8>) -> Vec<u8> {
        let other = self.liquidation_steps().iter().map(BatchLeaf::leaf_hash).collect();
        IMarginEngine::postBatchCall {
            batch: self.header(),
            signatures: signatures.into(),
            prices: self.price_reports(),
            reports: self.margin_reports(),
            otherLeaves: other,
        }
        .abi_encode()
    }

    /// `liquidate` calldata for step `index`, with its proof against this batch's root.
    pub fn liquidate_calldata(&self, index: usize) -> crate::error::Result<Vec<u8>> {
        let leaves = self.leaves();
        let offset = self.prices.len() + self.reports.len();
        let proof = merkle::proof(&leaves, offset + index)?;
        let step = self.liquidation_steps().swap_remove(index);
        Ok(IMarginEngine::liquidateCall { step, root: self.header().root, proof }.abi_encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    fn batch() -> Batch {
        Batch {
            observed_block: 41,
            state_block: 41,
            risk_epoch: 0,
            prices: vec![PriceReportJson { asset: Address::repeat_byte(1), price: 10 }],
            reports: vec![MarginReportJson {
                account: Address::repeat_byte(2),
                positions_nonce: 3,
                portfolio_value: -4,
                initial_margin: 6,
                maintenance_margin: 5,
            }],
            steps: vec![LiquidationStepJson {
                account: Address::repeat_byte(2),
                positions_nonce: 3,
                instrument_id: keccak256("ETH-PERP"),
                size: -1,
                mark_price: 9,
            }],
        }
    }

    #[test]
    fn liquidation_proofs_verify_against_the_header() {
        let b = batch();
        let calldata = b.liquidate_calldata(0).unwrap();
        let call = IMarginEngine::liquidateCall::abi_decode(&calldata).unwrap();
        assert_eq!(call.root, b.header().root);
        assert!(merkle::verify(&call.root, &call.step.leaf_hash(), &call.proof));
        assert_eq!(b.header().count, 3);
    }

    #[test]
    fn json_round_trips() {
        let b = batch();
        let back: Batch = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
        assert_eq!(back, b);
    }
}
