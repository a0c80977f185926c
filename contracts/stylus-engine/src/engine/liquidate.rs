//! Liquidation: a quorum-signed step, proven against an attested root and observed no earlier
//! than the account's latest report, executed by a liquidator who takes the leg over at the
//! signed mark and earns the penalty (capped by the closed share of the account's equity) less
//! the insurance fund's share, and must stay above maintenance afterwards.

use margin_types::abi::{IMarginEngineErrors as E, IMarginEngineEvents as Ev};
use margin_types::eip712::BatchLeaf;
use stylus_sdk::alloy_primitives::{B256, I256, U256};
use stylus_sdk::prelude::*;

use crate::abi::LiquidationStep;
use crate::errors::{overflow, EngineResult};
use crate::governance::kind;
use crate::math::{add, mul_div, signed, signed_mul_div, sub, wide, BPS, E18};
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
        let (nonce, last_block) = self.ledger().account(account);
        if step.positionsNonce != nonce {
            return Err(E::NonceMismatch {
                account,
                expected: nonce,
                provided: step.positionsNonce,
            }
            .into());
        }
        // No choosing an older step's mark: the step must be as recent as the latest report.
        let report_block = self.reports().observed_block(account);
        if step.observedBlock < report_block {
            return Err(E::StepOlderThanReport {
                account,
                reportBlock: report_block,
                stepBlock: step.observedBlock,
            }
            .into());
        }
        let equity = self._require_liquidatable(account)?.equity;
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

        // The penalty never takes more than the closed share of what is left.
        let params = self.governance().params();
        let mut penalty = mul_div(notional, U256::from(params.liquidationPenaltyBps), BPS)?;
        let share_cap = if equity.is_positive() {
            mul_div(equity.unsigned_abs(), size.unsigned_abs(), position.unsigned_abs())?
        } else {
            U256::ZERO
        };
        penalty = penalty.min(share_cap);
        let fund_share = mul_div(penalty, self.settlement().param(kind::INSURANCE_SHARE), BPS)?;
        let kept = penalty - fund_share; // fund_share <= penalty (share <= 100%)

        // The liquidator: fresh, at initial margin before, above maintenance (plus a margin per
        // notional taken over) after.
        let fresh = self._require_initial(liquidator, None, I256::ZERO)?;
        let equity_after = add(fresh.equity, signed(kept)?)?;
        let margin_bps = self.settlement().param(kind::LIQUIDATOR_MARGIN);
        let requirement = U256::from(fresh.report.maintenanceMargin)
            .checked_add(mul_div(notional, margin_bps, BPS)?)
            .ok_or_else(overflow)?;
        if equity_after < signed(requirement)? {
            return Err(E::LiquidatorBelowMaintenance {
                liquidator,
                equityAfter: equity_after,
                requirementAfter: requirement,
            }
            .into());
        }

        // Effects.
        let transfer = signed_mul_div(size, mark, E18)?;
        let received = add(transfer, signed(penalty)?)?;
        let paid = sub(I256::ZERO, received)?;
        let credited = sub(received, signed(fund_share)?)?;
        self.liquidations().record(block, total);
        self.ledger().set_last_liquidation(account, block);
        let (account_size, account_nonce) =
            self.ledger().apply(account, step.instrumentId, size)?;
        self._add_cash(account, paid)?;
        let taken = sub(I256::ZERO, size)?;
        let (liquidator_size, liquidator_nonce) =
            self.ledger().apply(liquidator, step.instrumentId, taken)?;
        self._add_cash(liquidator, credited)?;
        let fund = self.settlement().fund().checked_add(fund_share).ok_or_else(overflow)?;
        self.settlement().set_fund(fund);
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
                cashDelta: credited,
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
        if !fund_share.is_zero() {
            crate::words::emit(
                self.vm(),
                Ev::InsuranceFundCredited { account, amount: fund_share, fundBalance: fund },
            );
        }
        Ok(())
    }
}
