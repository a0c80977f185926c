//! Liquidation: a quorum-signed step, proven against an attested root, executed by a
//! liquidator who takes the leg over at the signed mark and earns the penalty.

use margin_types::abi::{IMarginEngineErrors as E, IMarginEngineEvents as Ev};
use margin_types::eip712::BatchLeaf;
use stylus_sdk::alloy_primitives::{B256, I256, U256};
use stylus_sdk::prelude::*;

use crate::abi::LiquidationStep;
use crate::errors::EngineResult;
use crate::math::{mul_div, signed, signed_mul_div, sub, wide, BPS, E18};
use crate::MarginEngine;

impl MarginEngine {
    pub(crate) fn _liquidate(
        &mut self,
        step: &LiquidationStep,
        root: B256,
        proof: &[B256],
    ) -> EngineResult<()> {
        self.governance().when_not_paused()?;
        let liquidator = self.vm().msg_sender();
        let account = step.account;
        if liquidator == account {
            return Err(E::SelfLiquidation { account }.into());
        }
        let leaf = margin_types::abi::LiquidationStep::from(step).leaf_hash();
        self._check_proven(root, step.observedBlock, Some(step.riskEpoch), leaf, proof)?;
        let (nonce, _, last_block) = self.ledger().account(account);
        if step.positionsNonce != nonce {
            return Err(E::NonceMismatch {
                account,
                expected: nonce,
                provided: step.positionsNonce,
            }
            .into());
        }
        let fresh = self._fresh_equity(account, None)?;
        if !self._below_threshold(fresh.equity, fresh.report.maintenanceMargin)? {
            let threshold = U256::from(self.governance().params().liquidationThresholdBps);
            let requirement = mul_div(U256::from(fresh.report.maintenanceMargin), threshold, BPS)?;
            return Err(E::NotLiquidatable {
                account,
                equity: fresh.equity,
                maintenanceRequirement: requirement,
            }
            .into());
        }
        let block = self._block48();
        if last_block == block {
            return Err(E::LiquidationAlreadyThisBlock { account }.into());
        }
        let position = self.ledger().position(account, step.instrumentId);
        let size = wide(step.size);
        let reduces = !size.is_zero()
            && position.is_negative() != size.is_negative()
            && !position.is_zero()
            && size.unsigned_abs() <= position.unsigned_abs();
        if !reduces {
            return Err(E::LiquidationIncreasesRisk {
                account,
                instrumentId: step.instrumentId,
                position,
                size: step.size,
            }
            .into());
        }
        let mark = U256::from(step.markPrice);
        let notional = mul_div(size.unsigned_abs(), mark, E18)?;
        let cap = U256::from(self.governance().params().liquidationNotionalCapPerBlock);
        let total = self.liquidations().check(block, notional, cap)?;
        self._require_initial(liquidator, None)?;

        // Effects.
        let penalty_bps = U256::from(self.governance().params().liquidationPenaltyBps);
        let penalty = mul_div(notional, penalty_bps, BPS)?;
        let transfer = signed_mul_div(size, mark, E18)?;
        let received =
            transfer.checked_add(signed(penalty)?).ok_or_else(crate::errors::overflow)?;
        let paid = sub(I256::ZERO, received)?;
        self.liquidations().record(block, total);
        self.ledger().set_last_liquidation(account, block);
        let (account_size, account_nonce) =
            self.ledger().apply(account, step.instrumentId, size, paid)?;
        let taken = sub(I256::ZERO, size)?;
        let (liquidator_size, liquidator_nonce) =
            self.ledger().apply(liquidator, step.instrumentId, taken, received)?;
        crate::words::emit(
            self.vm(),
            Ev::PositionChanged {
                account,
                instrumentId: step.instrumentId,
                sizeDelta: size,
                cashDelta: paid,
                newSize: account_size,
                positionsNonce: account_nonce,
            },
        );
        crate::words::emit(
            self.vm(),
            Ev::PositionChanged {
                account: liquidator,
                instrumentId: step.instrumentId,
                sizeDelta: taken,
                cashDelta: received,
                newSize: liquidator_size,
                positionsNonce: liquidator_nonce,
            },
        );
        crate::words::emit(
            self.vm(),
            Ev::LiquidationExecuted {
                account,
                liquidator,
                instrumentId: step.instrumentId,
                size: step.size,
                markPrice: step.markPrice,
                notional,
                penalty,
            },
        );
        Ok(())
    }
}
