//! Prometheus metrics, served as text at `/metrics`: counters kept in atomics so the hot path
//! never takes a lock.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
};

/// The keeper's counters and gauges.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Batches this keeper signed (as leader or cosigner).
    pub batches_signed: AtomicU64,
    /// Margin reports in batches this keeper signed.
    pub reports_signed: AtomicU64,
    /// Batches submitted and mined.
    pub batches_submitted: AtomicU64,
    /// Reports the engine accepted in mined batches.
    pub reports_submitted: AtomicU64,
    /// Accounts below maintenance at the last computation.
    pub accounts_below_maintenance: AtomicU64,
    /// Blocks from the observed block to inclusion, summed (with the count, an average).
    pub inclusion_latency_blocks_sum: AtomicU64,
    /// Liquidation steps executed by this process.
    pub liquidations_executed: AtomicU64,
    /// Rejections by reason (cosign refusals, reverts, double-sign refusals).
    rejected: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    /// Counts one rejection with its reason.
    pub fn reject(&self, reason: &str) {
        // A poisoned lock only means another thread panicked mid-increment; counts stay usable.
        let mut map = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(reason.to_owned()).or_default() += 1;
    }

    /// Rejections so far for `reason`.
    pub fn rejected(&self, reason: &str) -> u64 {
        let map = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        map.get(reason).copied().unwrap_or_default()
    }

    /// The Prometheus text exposition.
    pub fn render(&self, keeper: &str) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name}{{keeper=\"{keeper}\"}} {value}");
        };
        counter(
            "keeper_batches_signed_total",
            "Batches signed.",
            self.batches_signed.load(Ordering::Relaxed),
        );
        counter(
            "keeper_reports_signed_total",
            "Margin reports signed.",
            self.reports_signed.load(Ordering::Relaxed),
        );
        counter(
            "keeper_batches_submitted_total",
            "Batches mined.",
            self.batches_submitted.load(Ordering::Relaxed),
        );
        counter(
            "keeper_reports_submitted_total",
            "Reports in mined batches.",
            self.reports_submitted.load(Ordering::Relaxed),
        );
        counter(
            "keeper_inclusion_latency_blocks_sum",
            "Sum of blocks from observation to inclusion.",
            self.inclusion_latency_blocks_sum.load(Ordering::Relaxed),
        );
        counter(
            "keeper_liquidations_executed_total",
            "Liquidation steps executed.",
            self.liquidations_executed.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP keeper_accounts_below_maintenance Accounts below maintenance.\n# TYPE keeper_accounts_below_maintenance gauge\nkeeper_accounts_below_maintenance{{keeper=\"{keeper}\"}} {}",
            self.accounts_below_maintenance.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "# HELP keeper_rejected_total Rejections by reason.\n# TYPE keeper_rejected_total counter");
        let map = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        for (reason, count) in map.iter() {
            let _ = writeln!(
                out,
                "keeper_rejected_total{{keeper=\"{keeper}\",reason=\"{reason}\"}} {count}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_reasons() {
        let m = Metrics::default();
        m.batches_signed.fetch_add(2, Ordering::Relaxed);
        m.reject("leaf_mismatch");
        m.reject("leaf_mismatch");
        let text = m.render("k0");
        assert!(text.contains("keeper_batches_signed_total{keeper=\"k0\"} 2"));
        assert!(text.contains("keeper_rejected_total{keeper=\"k0\",reason=\"leaf_mismatch\"} 2"));
        assert_eq!(m.rejected("leaf_mismatch"), 2);
    }
}
