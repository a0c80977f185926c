//! Report batches: whole batches (root rebuilt from leaves), attested roots, and single
//! prices and margin reports proven against a stored root.

use alloc::vec::Vec;

use margin_types::abi::{IMarginEngineErrors as E, IMarginEngineEvents as Ev};
use margin_types::eip712::{signing_digest, BatchLeaf, SignedStruct};
use margin_types::merkle;
use margin_types::quorum::Ecrecover;
use stylus_sdk::alloy_primitives::aliases::U48;
use stylus_sdk::alloy_primitives::{B256, U256};
use stylus_sdk::alloy_sol_types::SolError;
use stylus_sdk::prelude::*;

use crate::abi::{MarginReport, PriceReport, ReportBatch};
use crate::errors::EngineResult;
use crate::MarginEngine;

impl MarginEngine {
    /// `postBatch` with a given recovery (the precompile on-chain, k256 in native tests).
    pub fn post_batch_with<R: Ecrecover>(
        &mut self,
        recover: &mut R,
        batch: ReportBatch,
        signatures: &[u8],
        prices: &[PriceReport],
        reports: &[MarginReport],
        other_leaves: &[B256],
    ) -> EngineResult<()> {
        // 1-3: epoch, future, stale.
        self._check_header(batch.riskEpoch, batch.observedBlock)?;
        // 4: count.
        let leaves_len = prices.len() + reports.len() + other_leaves.len();
        if usize::try_from(batch.count).ok() != Some(leaves_len) {
            return Err(E::CountMismatch {
                signedCount: batch.count,
                leaves: U256::from(leaves_len),
            }
            .into());
        }
        // 5: every leaf's block (and epoch), in leaf order; leaves hashed on the way.
        let mut leaves = Vec::with_capacity(leaves_len);
        for price in prices {
            _check_leaf_block(batch.observedBlock, price.observedBlock)?;
            leaves.push(margin_types::abi::PriceReport::from(price).leaf_hash());
        }
        for report in reports {
            _check_leaf_block(batch.observedBlock, report.observedBlock)?;
            _check_leaf_epoch(batch.riskEpoch, report.riskEpoch)?;
            leaves.push(margin_types::abi::MarginReport::from(report).leaf_hash());
        }
        leaves.extend_from_slice(other_leaves);
        // 6: root.
        let computed = merkle::root_in_place(&mut leaves);
        if computed != batch.root {
            return Err(E::RootMismatch { signedRoot: batch.root, computedRoot: computed }.into());
        }
        // 7-8: signatures and quorum.
        self._verify_batch(recover, &batch, signatures)?;
        // 9: prices.
        let mut prices_accepted = 0u64;
        let mut skipped = 0u64;
        for price in prices {
            if self._apply_price(price, false)? {
                prices_accepted += 1;
            } else {
                skipped += 1;
            }
        }
        // 10: margin reports.
        let mut reports_accepted = 0u64;
        for report in reports {
            if self._apply_report(report, false)? {
                reports_accepted += 1;
            } else {
                skipped += 1;
            }
        }
        if !other_leaves.is_empty() {
            self._store_root(&batch);
        }
        crate::words::emit(
            self.vm(),
            Ev::BatchPosted {
                root: batch.root,
                observedBlock: batch.observedBlock,
                pricesAccepted: U256::from(prices_accepted),
                reportsAccepted: U256::from(reports_accepted),
                skipped: U256::from(skipped),
            },
        );
        Ok(())
    }

    /// `attestRoot` with a given recovery.
    pub fn attest_root_with<R: Ecrecover>(
        &mut self,
        recover: &mut R,
        batch: ReportBatch,
        signatures: &[u8],
    ) -> EngineResult<()> {
        self._check_header(batch.riskEpoch, batch.observedBlock)?;
        self._verify_batch(recover, &batch, signatures)?;
        self._store_root(&batch);
        Ok(())
    }

    pub(crate) fn _post_margin_report(
        &mut self,
        report: &MarginReport,
        root: B256,
        proof: &[B256],
    ) -> EngineResult<()> {
        let leaf = margin_types::abi::MarginReport::from(report).leaf_hash();
        self._check_proven(root, report.observedBlock, Some(report.riskEpoch), leaf, proof)?;
        self._apply_report(report, true)?;
        crate::words::emit(
            self.vm(),
            Ev::MarginReportProven {
                account: report.account,
                root,
                observedBlock: report.observedBlock,
            },
        );
        Ok(())
    }

    pub(crate) fn _post_price_report(
        &mut self,
        price: &PriceReport,
        root: B256,
        proof: &[B256],
    ) -> EngineResult<()> {
        let leaf = margin_types::abi::PriceReport::from(price).leaf_hash();
        self._check_proven(root, price.observedBlock, None, leaf, proof)?;
        self._apply_price(price, true)?;
        Ok(())
    }

    /// The root part of a proven item: UnknownRoot, WrongRiskEpoch(current, root's),
    /// StaleReport, LeafBlockMismatch, WrongRiskEpoch(root's, leaf's), InvalidProof.
    pub(crate) fn _check_proven(
        &self,
        root: B256,
        leaf_block: U48,
        leaf_epoch: Option<u32>,
        leaf: B256,
        proof: &[B256],
    ) -> EngineResult<()> {
        let (root_block, root_epoch) = self.reports().root(root);
        if root_block.is_zero() {
            return Err(E::UnknownRoot { root }.into());
        }
        let current = self.governance().risk_epoch();
        if root_epoch != current {
            return Err(E::WrongRiskEpoch { expected: current, provided: root_epoch }.into());
        }
        self._check_age(root_block)?;
        _check_leaf_block(root_block, leaf_block)?;
        if let Some(epoch) = leaf_epoch {
            _check_leaf_epoch(root_epoch, epoch)?;
        }
        if !merkle::verify(&root, &leaf, proof) {
            return Err(E::InvalidProof { root, leaf }.into());
        }
        Ok(())
    }

    /// WrongRiskEpoch(current, epoch), FutureReport, StaleReport.
    fn _check_header(&self, epoch: u32, observed: U48) -> EngineResult<()> {
        let current = self.governance().risk_epoch();
        if epoch != current {
            return Err(E::WrongRiskEpoch { expected: current, provided: epoch }.into());
        }
        let block = self._clock();
        if crate::reports::u48_value(observed) > block {
            return Err(E::FutureReport {
                observedBlock: observed,
                currentBlock: U256::from(block),
            }
            .into());
        }
        self._check_age(observed)
    }

    /// StaleReport if `observed` (not in the future) is older than maxReportAgeBlocks.
    fn _check_age(&self, observed: U48) -> EngineResult<()> {
        let block = self._clock();
        let max_age = self.governance().params().maxReportAgeBlocks;
        if block.saturating_sub(crate::reports::u48_value(observed)) > u64::from(max_age) {
            return Err(E::StaleReport {
                observedBlock: observed,
                currentBlock: U256::from(block),
            }
            .into());
        }
        Ok(())
    }

    /// Signatures over the batch digest, then the quorum.
    fn _verify_batch<R: Ecrecover>(
        &self,
        recover: &mut R,
        batch: &ReportBatch,
        signatures: &[u8],
    ) -> EngineResult<()> {
        let struct_hash = margin_types::abi::ReportBatch::from(batch).struct_hash();
        let digest = signing_digest(&self._domain_separator(), &struct_hash);
        self.keeper_set().verify(recover, &digest, signatures)?;
        Ok(())
    }

    fn _store_root(&mut self, batch: &ReportBatch) {
        self.reports().attest(batch.root, batch.observedBlock, batch.riskEpoch);
        crate::words::emit(
            self.vm(),
            Ev::RootAttested {
                root: batch.root,
                observedBlock: batch.observedBlock,
                riskEpoch: batch.riskEpoch,
                count: batch.count,
            },
        );
    }

    /// AssetNotListed, InvalidPrice, then PriceNotNewer (reverts if `strict`, else skipped
    /// with PriceSkipped). Returns whether the price was stored.
    fn _apply_price(&mut self, price: &PriceReport, strict: bool) -> EngineResult<bool> {
        self.vault().only_listed(price.asset)?;
        if price.price == 0 {
            return Err(E::InvalidPrice { asset: price.asset }.into());
        }
        let stored = self.vault().info(price.asset).priceBlock;
        if stored >= price.observedBlock {
            if strict {
                return Err(E::PriceNotNewer {
                    asset: price.asset,
                    storedBlock: stored,
                    observedBlock: price.observedBlock,
                }
                .into());
            }
            crate::words::emit(
                self.vm(),
                Ev::PriceSkipped { asset: price.asset, reason: E::PriceNotNewer::SELECTOR.into() },
            );
            return Ok(false);
        }
        self.vault().set_price(price.asset, price.price, price.observedBlock);
        crate::words::emit(
            self.vm(),
            Ev::PriceUpdated {
                asset: price.asset,
                price: price.price,
                observedBlock: price.observedBlock,
            },
        );
        Ok(true)
    }

    /// InvalidMarginReport, then NonceMismatch and ReportNotNewer (revert if `strict`, else
    /// skipped with MarginReportSkipped). Returns whether the report was stored.
    fn _apply_report(&mut self, report: &MarginReport, strict: bool) -> EngineResult<bool> {
        let account = report.account;
        if report.initialMargin < report.maintenanceMargin {
            return Err(E::InvalidMarginReport { account }.into());
        }
        let nonce = self.ledger().nonce(account);
        let stored = self.reports().observed_block(account);
        let reason = if report.positionsNonce != nonce {
            if strict {
                return Err(E::NonceMismatch {
                    account,
                    expected: nonce,
                    provided: report.positionsNonce,
                }
                .into());
            }
            E::NonceMismatch::SELECTOR
        } else if stored >= report.observedBlock {
            if strict {
                return Err(E::ReportNotNewer {
                    account,
                    storedBlock: stored,
                    observedBlock: report.observedBlock,
                }
                .into());
            }
            E::ReportNotNewer::SELECTOR
        } else {
            self.reports().store(report);
            return Ok(true);
        };
        crate::words::emit(self.vm(), Ev::MarginReportSkipped { account, reason: reason.into() });
        Ok(false)
    }
}

/// LeafBlockMismatch unless the leaf carries the batch's block.
fn _check_leaf_block(batch_block: U48, leaf_block: U48) -> EngineResult<()> {
    if leaf_block != batch_block {
        return Err(E::LeafBlockMismatch { batchBlock: batch_block, leafBlock: leaf_block }.into());
    }
    Ok(())
}

/// WrongRiskEpoch(batch's, leaf's) unless the leaf carries the batch's epoch.
fn _check_leaf_epoch(batch_epoch: u32, leaf_epoch: u32) -> EngineResult<()> {
    if leaf_epoch != batch_epoch {
        return Err(E::WrongRiskEpoch { expected: batch_epoch, provided: leaf_epoch }.into());
    }
    Ok(())
}
