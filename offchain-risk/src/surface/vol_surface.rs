//! The volatility surface: SVI slices in, implied volatility and its k- and T-derivatives at any
//! (log-moneyness, expiry) out.
//!
//! Rules (k = ln(K/F_t), F_t the forward of the queried expiry, which the caller supplies):
//! * Between two slices T_i <= t <= T_{i+1}: total variance is linear in t at fixed k,
//!   `w(k, t) = w_i(k) + (t - T_i)/(T_{i+1} - T_i) (w_{i+1}(k) - w_i(k))`. If the slices are
//!   calendar-arbitrage free (w_i <= w_{i+1} for every k) the interpolant is non-decreasing in t
//!   at every k, so the calendar condition also holds between the slices. (Butterfly freedom of
//!   the interpolated smiles is not implied in general, g not being convex in w; only the
//!   calibrated slices are checked.)
//! * Before the first slice (0 < t < T_1): `w(k, t) = w_1(k) t / T_1`, i.e. constant implied vol
//!   in t at fixed k (w -> 0 as t -> 0, as it must).
//! * After the last slice (t > T_N): `w(k, t) = w_N(k) t / T_N`, constant implied vol of the last
//!   slice at fixed k.
//! * In k: SVI's own wings, asymptotically linear in total variance with slopes within Lee's
//!   bound (checked by validation).
//!
//! `dvol_dt` is the right derivative at a slice's expiry (the interval starting there).

use serde::{Deserialize, Serialize};

use crate::error::SurfaceError;
use crate::surface::arbitrage;
use crate::surface::svi::{SviParams, SviSlice};

/// Implied-volatility surface: SVI slices sorted by strictly increasing expiry.
///
/// JSON: `{"slices": [{"expiry_years": 0.1, "forward": 50000.0, "params": {"a": .., "b": ..,
/// "rho": .., "m": .., "sigma": ..}}, ...]}`. After deserialising, call
/// [`VolSurface::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolSurface {
    /// Expiry slices, sorted by `expiry_years` (strictly increasing).
    pub slices: Vec<SviSlice>,
}

/// Where t falls relative to the slices: the total variance at fixed k is
/// `w = c0 * w_lo(k) + c1 * w_hi(k)` and its t-derivative `d0 * w_lo(k) + d1 * w_hi(k)`.
struct TimeWeights {
    lo: usize,
    hi: usize,
    c0: f64,
    c1: f64,
    d0: f64,
    d1: f64,
}

fn query_error(field: &'static str, value: f64, reason: &'static str) -> SurfaceError {
    SurfaceError::InvalidQuery { field, value, reason }
}

impl VolSurface {
    /// Sorts the slices by expiry and validates the surface (see [`VolSurface::validate`]).
    pub fn new(mut slices: Vec<SviSlice>) -> Result<Self, SurfaceError> {
        slices.sort_by(|x, y| x.expiry_years.total_cmp(&y.expiry_years));
        let surface = Self { slices };
        surface.validate()?;
        Ok(surface)
    }

    /// Structural validation: at least one slice, every slice valid (finite positive expiry and
    /// forward, raw-SVI constraints, Lee's bound), expiries strictly increasing. Arbitrage is
    /// checked separately by [`VolSurface::check_arbitrage`].
    pub fn validate(&self) -> Result<(), SurfaceError> {
        if self.slices.is_empty() {
            return Err(SurfaceError::Empty);
        }
        for slice in &self.slices {
            slice.validate()?;
        }
        for pair in self.slices.windows(2) {
            if pair[1].expiry_years <= pair[0].expiry_years {
                return Err(SurfaceError::InvalidParameter {
                    field: "expiry_years",
                    value: pair[1].expiry_years,
                    reason: "slices must have strictly increasing expiries",
                });
            }
        }
        Ok(())
    }

    /// Butterfly check of every slice, then calendar check of every neighbouring pair.
    pub fn check_arbitrage(&self) -> Result<(), SurfaceError> {
        self.validate()?;
        for slice in &self.slices {
            arbitrage::check_butterfly(slice)?;
        }
        for pair in self.slices.windows(2) {
            arbitrage::check_calendar(&pair[0], &pair[1])?;
        }
        Ok(())
    }

    fn weights(&self, t: f64) -> Result<TimeWeights, SurfaceError> {
        if !(t.is_finite() && t > 0.0) {
            return Err(query_error("expiry_years", t, "must be finite and > 0"));
        }
        let n = self.slices.len();
        if n == 0 {
            return Err(SurfaceError::Empty);
        }
        let first = &self.slices[0];
        if t < first.expiry_years {
            let s = 1.0 / first.expiry_years;
            return Ok(TimeWeights { lo: 0, hi: 0, c0: t * s, c1: 0.0, d0: s, d1: 0.0 });
        }
        let last = &self.slices[n - 1];
        if t >= last.expiry_years {
            let s = 1.0 / last.expiry_years;
            return Ok(TimeWeights { lo: n - 1, hi: n - 1, c0: t * s, c1: 0.0, d0: s, d1: 0.0 });
        }
        // First slice with expiry > t; exists because t < last expiry, and is >= 1 because
        // t >= first expiry.
        let hi = self.slices.partition_point(|s| s.expiry_years <= t);
        let lo = hi - 1;
        let (t0, t1) = (self.slices[lo].expiry_years, self.slices[hi].expiry_years);
        let x = (t - t0) / (t1 - t0);
        let d = 1.0 / (t1 - t0);
        Ok(TimeWeights { lo, hi, c0: 1.0 - x, c1: x, d0: -d, d1: d })
    }

    /// Total variance and its k-derivatives (w, dw/dk, d²w/dk²) and dw/dt at (k, t).
    fn total_variance_jet(&self, k: f64, t: f64) -> Result<[f64; 4], SurfaceError> {
        if !k.is_finite() {
            return Err(query_error("log_moneyness", k, "must be finite"));
        }
        let tw = self.weights(t)?;
        let lo = &self.slices[tw.lo].params;
        let hi = &self.slices[tw.hi].params;
        let (w_lo, w_hi) = (lo.total_variance(k), hi.total_variance(k));
        Ok([
            tw.c0 * w_lo + tw.c1 * w_hi,
            tw.c0 * lo.dw_dk(k) + tw.c1 * hi.dw_dk(k),
            tw.c0 * lo.d2w_dk2(k) + tw.c1 * hi.d2w_dk2(k),
            tw.d0 * w_lo + tw.d1 * w_hi,
        ])
    }

    /// The smile of expiry `t` as a cheap evaluator: the slice bracketing and interpolation
    /// weights are fixed once, so each [`ExpirySmile::vol`] costs two SVI evaluations and a
    /// square root (what scenario revaluation needs, many strikes and shocks per expiry).
    pub fn smile(&self, t: f64) -> Result<ExpirySmile, SurfaceError> {
        let tw = self.weights(t)?;
        Ok(ExpirySmile {
            lower: self.slices[tw.lo].params,
            upper: self.slices[tw.hi].params,
            lower_weight: tw.c0,
            upper_weight: tw.c1,
            expiry_years: t,
        })
    }

    /// Total implied variance w(k, t) = vol² t.
    pub fn total_variance(&self, k: f64, t: f64) -> Result<f64, SurfaceError> {
        Ok(self.total_variance_jet(k, t)?[0])
    }

    fn positive_variance(w: f64, k: f64) -> Result<f64, SurfaceError> {
        if w > 0.0 {
            Ok(w)
        } else {
            Err(query_error("log_moneyness", k, "total variance is zero there: no implied vol"))
        }
    }

    /// Implied volatility at log-moneyness k = ln(K/F) and expiry t (years).
    pub fn vol(&self, k: f64, t: f64) -> Result<f64, SurfaceError> {
        let w = Self::positive_variance(self.total_variance(k, t)?, k)?;
        Ok((w / t).sqrt())
    }

    /// Implied volatility at a strike, given the forward of expiry t.
    pub fn vol_at_strike(&self, strike: f64, forward: f64, t: f64) -> Result<f64, SurfaceError> {
        if !(strike.is_finite() && strike > 0.0) {
            return Err(query_error("strike", strike, "must be finite and > 0"));
        }
        if !(forward.is_finite() && forward > 0.0) {
            return Err(query_error("forward", forward, "must be finite and > 0"));
        }
        self.vol((strike / forward).ln(), t)
    }

    /// d vol / dk at fixed t: w' / (2 sqrt(w t)).
    pub fn dvol_dk(&self, k: f64, t: f64) -> Result<f64, SurfaceError> {
        let [w, w1, _, _] = self.total_variance_jet(k, t)?;
        let w = Self::positive_variance(w, k)?;
        Ok(w1 / (2.0 * (w * t).sqrt()))
    }

    /// Implied volatility and d vol / dk at (k, t) from one evaluation of the variance jet
    /// (what an option's valuation needs: its vol and the sticky-moneyness delta's slope).
    pub fn vol_and_dvol_dk(&self, k: f64, t: f64) -> Result<(f64, f64), SurfaceError> {
        let [w, w1, _, _] = self.total_variance_jet(k, t)?;
        let w = Self::positive_variance(w, k)?;
        Ok(((w / t).sqrt(), w1 / (2.0 * (w * t).sqrt())))
    }

    /// d² vol / dk² at fixed t: w''/(2 sqrt(w t)) - w'^2 / (4 sqrt(t) w^(3/2)).
    pub fn d2vol_dk2(&self, k: f64, t: f64) -> Result<f64, SurfaceError> {
        let [w, w1, w2, _] = self.total_variance_jet(k, t)?;
        let w = Self::positive_variance(w, k)?;
        let sqrt_wt = (w * t).sqrt();
        Ok(w2 / (2.0 * sqrt_wt) - w1 * w1 / (4.0 * w * sqrt_wt))
    }

    /// d vol / dt at fixed k: (dw/dt / t - w / t²) / (2 vol). Zero outside the slices' range
    /// (constant vol in t there); the right derivative at a slice's expiry.
    pub fn dvol_dt(&self, k: f64, t: f64) -> Result<f64, SurfaceError> {
        let [w, _, _, wt] = self.total_variance_jet(k, t)?;
        let w = Self::positive_variance(w, k)?;
        let vol = (w / t).sqrt();
        Ok((wt / t - w / (t * t)) / (2.0 * vol))
    }
}

/// One expiry's smile, cut from a [`VolSurface`] by [`VolSurface::smile`]; same values as
/// [`VolSurface::vol`] at that expiry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpirySmile {
    lower: SviParams,
    upper: SviParams,
    lower_weight: f64,
    upper_weight: f64,
    expiry_years: f64,
}

impl ExpirySmile {
    /// Implied volatility at log-moneyness `k`, or `None` where the total variance is not
    /// positive (no implied vol there).
    #[inline]
    pub fn vol(&self, k: f64) -> Option<f64> {
        let w = self.lower_weight * self.lower.total_variance(k)
            + self.upper_weight * self.upper.total_variance(k);
        (w > 0.0 && k.is_finite()).then(|| (w / self.expiry_years).sqrt())
    }

    /// Total implied variance w = vol²·T at log-moneyness `k` (T the smile's expiry), or `None`
    /// where it is not positive: √w is the total volatility a price needs, without the division
    /// by T and the multiplication back.
    #[inline]
    pub fn total_variance(&self, k: f64) -> Option<f64> {
        let w = self.total_variance_unchecked(k);
        (w > 0.0 && k.is_finite()).then_some(w)
    }

    /// [`ExpirySmile::total_variance`] without the checks, for callers that know `k` is finite
    /// and [`ExpirySmile::min_total_variance`] is positive (batched revaluation checks once per
    /// smile instead of once per query). Same value where both are defined.
    #[inline]
    pub(crate) fn total_variance_unchecked(&self, k: f64) -> f64 {
        self.lower_weight * self.lower.total_variance(k)
            + self.upper_weight * self.upper.total_variance(k)
    }

    /// Whether the upper slice has no weight (the expiry is the lower slice's own, or outside
    /// the slices): then [`ExpirySmile::one_slice_total_variance_unchecked`] gives the same w
    /// from one SVI evaluation (a calibrated surface has a slice at each listed expiry, so at an
    /// instant most options are on one).
    #[inline]
    pub(crate) fn uses_one_slice(&self) -> bool {
        self.upper_weight == 0.0
    }

    /// [`ExpirySmile::total_variance_unchecked`] of a smile that [`ExpirySmile::uses_one_slice`]:
    /// the same value (the upper slice's term is +0 or −0, which leaves the sum unchanged).
    #[inline]
    pub(crate) fn one_slice_total_variance_unchecked(&self, k: f64) -> f64 {
        self.lower_weight * self.lower.total_variance(k)
    }

    /// A lower bound of the total variance over every k: the weighted minima of the two slices
    /// (the weights are non-negative, and each slice's w is at least its own minimum).
    pub(crate) fn min_total_variance(&self) -> f64 {
        self.lower_weight * self.lower.min_total_variance()
            + self.upper_weight * self.upper.min_total_variance()
    }
}
