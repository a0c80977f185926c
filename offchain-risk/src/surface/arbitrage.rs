//! Static-arbitrage checks: slices in, typed [`SurfaceError`]s out.
//!
//! * Butterfly (one slice): Durrleman's g(k) >= 0 on a dense grid ([`butterfly_grid`]) and in
//!   both wings (Lee's bound, checked by [`SviParams::validate`], makes g(±inf) >= 0).
//! * Calendar (two slices): w(k, T_i) <= w(k, T_{i+1}) at every k of a common grid
//!   ([`calendar_grid`]), k being log-moneyness relative to each slice's own forward (the
//!   no-arbitrage condition with deterministic rates: total variance is non-decreasing in T at
//!   fixed forward moneyness).
//!
//! Why this grid: SVI is asymptotically linear, so outside a few "standard deviations"
//! sqrt(w(0)) of the money and a few sigma of the vertex m, g(k) tends monotonically to its wing
//! limit 1/4 - slope²/16. The grid therefore covers k in [-H, H] with H = max(3, 6 sqrt(w(0)))
//! (|k| = 3 is a strike 20 times, or a twentieth of, the forward: beyond every listed strike;
//! 6 sqrt(w(0)) widens it for long, high-variance slices) with 2001 uniform points, plus 401
//! points on [m - 5 sigma, m + 5 sigma] so that a sharp vertex (small sigma, where all of g's
//! structure lives) is resolved however short the expiry.

use crate::error::SurfaceError;
use crate::surface::svi::{SviParams, SviSlice};

/// Uniform points of the butterfly and calendar grids.
pub const GRID_POINTS: usize = 2001;
/// Extra points around the SVI vertex.
pub const VERTEX_POINTS: usize = 401;
/// Numerical slack: g and variance differences this close to zero count as zero (rounding).
pub const ARBITRAGE_TOLERANCE: f64 = 1e-10;

/// Half-width H of the k grid for a slice: max(3, 6 sqrt(w(0))).
pub fn grid_half_width(params: &SviParams) -> f64 {
    (6.0 * params.total_variance(0.0).max(0.0).sqrt()).max(3.0)
}

fn uniform(lo: f64, hi: f64, n: usize) -> impl Iterator<Item = f64> {
    let step = (hi - lo) / (n - 1) as f64;
    (0..n).map(move |i| lo + step * i as f64)
}

/// The k grid the butterfly check uses for `params` (see the module doc), sorted.
pub fn butterfly_grid(params: &SviParams) -> Vec<f64> {
    let h = grid_half_width(params);
    let mut grid: Vec<f64> = uniform(-h, h, GRID_POINTS)
        .chain(uniform(params.m - 5.0 * params.sigma, params.m + 5.0 * params.sigma, VERTEX_POINTS))
        .collect();
    grid.sort_by(f64::total_cmp);
    grid
}

/// The most negative g on the butterfly grid, with its k: `(k, g)`.
pub fn min_durrleman_g(params: &SviParams) -> (f64, f64) {
    let mut worst = (0.0, f64::INFINITY);
    for k in butterfly_grid(params) {
        let g = params.durrleman_g(k);
        if g < worst.1 {
            worst = (k, g);
        }
    }
    worst
}

/// Butterfly check of one slice: g(k) >= 0 on the grid (within [`ARBITRAGE_TOLERANCE`]) and
/// valid parameters (which includes Lee's wing bound).
pub fn check_butterfly(slice: &SviSlice) -> Result<(), SurfaceError> {
    slice.validate()?;
    let (k, g) = min_durrleman_g(&slice.params);
    if g < -ARBITRAGE_TOLERANCE {
        return Err(SurfaceError::ButterflyArbitrage {
            expiry_years: slice.expiry_years,
            log_moneyness: k,
            g,
        });
    }
    Ok(())
}

/// The common k grid of a calendar check between two slices: 2001 points over [-H, H], H the
/// larger of the two slices' half-widths.
pub fn calendar_grid(earlier: &SviParams, later: &SviParams) -> Vec<f64> {
    let h = grid_half_width(earlier).max(grid_half_width(later));
    uniform(-h, h, GRID_POINTS).collect()
}

/// The largest decrease of total variance from `earlier` to `later` on the calendar grid,
/// `(k, w_earlier(k) - w_later(k))`; a positive value is calendar arbitrage.
pub fn max_calendar_violation(earlier: &SviParams, later: &SviParams) -> (f64, f64) {
    let mut worst = (0.0, f64::NEG_INFINITY);
    for k in calendar_grid(earlier, later) {
        let d = earlier.total_variance(k) - later.total_variance(k);
        if d > worst.1 {
            worst = (k, d);
        }
    }
    worst
}

/// Calendar check of two slices, `earlier.expiry_years < later.expiry_years`.
pub fn check_calendar(earlier: &SviSlice, later: &SviSlice) -> Result<(), SurfaceError> {
    let (k, d) = max_calendar_violation(&earlier.params, &later.params);
    if d > ARBITRAGE_TOLERANCE {
        return Err(SurfaceError::CalendarArbitrage {
            earlier: earlier.expiry_years,
            later: later.expiry_years,
            log_moneyness: k,
        });
    }
    Ok(())
}
