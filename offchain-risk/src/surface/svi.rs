//! Raw SVI (Gatheral 2004) for one expiry: parameters in, total implied variance and its
//! k-derivatives out, plus Durrleman's butterfly density condition g(k).
//!
//! Total variance at log-moneyness k = ln(K/F):
//! `w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2))`.

use serde::{Deserialize, Serialize};

use crate::error::SurfaceError;

/// Raw SVI parameters of one expiry slice (total variance, not variance per year).
///
/// JSON: `{"a": 0.04, "b": 0.1, "rho": -0.3, "m": 0.0, "sigma": 0.2}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SviParams {
    /// Level: shifts the whole smile vertically.
    pub a: f64,
    /// Wing steepness (b >= 0); the wings' slopes are b(1 - rho) and b(1 + rho).
    pub b: f64,
    /// Skew: rotates the smile (|rho| < 1).
    pub rho: f64,
    /// Horizontal shift of the smile's vertex in log-moneyness.
    pub m: f64,
    /// Curvature at the vertex (sigma > 0); small sigma means a sharp vertex.
    pub sigma: f64,
}

fn invalid(field: &'static str, value: f64, reason: &'static str) -> SurfaceError {
    SurfaceError::InvalidParameter { field, value, reason }
}

impl SviParams {
    /// Builds validated parameters; see [`SviParams::validate`].
    pub fn new(a: f64, b: f64, rho: f64, m: f64, sigma: f64) -> Result<Self, SurfaceError> {
        let p = Self { a, b, rho, m, sigma };
        p.validate()?;
        Ok(p)
    }

    /// Checks the raw-SVI constraints: all finite, b >= 0, |rho| < 1, sigma > 0,
    /// a + b sigma sqrt(1 - rho^2) >= 0 (the minimum of w is non-negative), and Lee's moment
    /// bound b (1 + |rho|) <= 2 (the wings grow no faster than Lee's large-strike limit allows).
    pub fn validate(&self) -> Result<(), SurfaceError> {
        for (field, value) in
            [("a", self.a), ("b", self.b), ("rho", self.rho), ("m", self.m), ("sigma", self.sigma)]
        {
            if !value.is_finite() {
                return Err(invalid(field, value, "must be finite"));
            }
        }
        if self.b < 0.0 {
            return Err(invalid("b", self.b, "must be >= 0"));
        }
        if self.rho.abs() >= 1.0 {
            return Err(invalid("rho", self.rho, "must satisfy |rho| < 1"));
        }
        if self.sigma <= 0.0 {
            return Err(invalid("sigma", self.sigma, "must be > 0"));
        }
        if self.min_total_variance() < 0.0 {
            return Err(invalid(
                "a",
                self.a,
                "a + b*sigma*sqrt(1 - rho^2) must be >= 0 (total variance would go negative)",
            ));
        }
        if self.b * (1.0 + self.rho.abs()) > 2.0 {
            return Err(invalid(
                "b",
                self.b,
                "Lee's moment bound b*(1 + |rho|) <= 2 is violated (wings too steep)",
            ));
        }
        Ok(())
    }

    /// The minimum of w over k: a + b sigma sqrt(1 - rho^2), reached at
    /// k = m - rho sigma / sqrt(1 - rho^2).
    pub fn min_total_variance(&self) -> f64 {
        self.a + self.b * self.sigma * (1.0 - self.rho * self.rho).sqrt()
    }

    /// Total implied variance w(k) = sigma_BS(k)^2 T.
    #[inline]
    pub fn total_variance(&self, k: f64) -> f64 {
        let u = k - self.m;
        self.a + self.b * (self.rho * u + (u * u + self.sigma * self.sigma).sqrt())
    }

    /// dw/dk = b (rho + (k - m) / sqrt((k - m)^2 + sigma^2)).
    #[inline]
    pub fn dw_dk(&self, k: f64) -> f64 {
        let u = k - self.m;
        self.b * (self.rho + u / (u * u + self.sigma * self.sigma).sqrt())
    }

    /// d²w/dk² = b sigma^2 / ((k - m)^2 + sigma^2)^(3/2).
    #[inline]
    pub fn d2w_dk2(&self, k: f64) -> f64 {
        let u = k - self.m;
        let s2 = u * u + self.sigma * self.sigma;
        self.b * self.sigma * self.sigma / (s2 * s2.sqrt())
    }

    /// Durrleman's condition (Gatheral & Jacquier 2014, eq. 2.1): the risk-neutral density of the
    /// slice is `g(k) / sqrt(2 pi w) exp(-d_-^2/2)`, so g(k) >= 0 for all k means no butterfly
    /// arbitrage.
    ///
    /// `g = (1 - k w'/(2w))^2 - (w'^2/4)(1/w + 1/4) + w''/2`. Returns `-inf` where w <= 0 (no
    /// density exists there).
    #[inline]
    pub fn durrleman_g(&self, k: f64) -> f64 {
        let w = self.total_variance(k);
        if w <= 0.0 {
            return f64::NEG_INFINITY;
        }
        let w1 = self.dw_dk(k);
        let w2 = self.d2w_dk2(k);
        let t = 1.0 - k * w1 / (2.0 * w);
        t * t - 0.25 * w1 * w1 * (1.0 / w + 0.25) + 0.5 * w2
    }

    /// Slopes of total variance in the left and right wings, b(1 - rho) and b(1 + rho). Lee's
    /// moment formula bounds both by 2.
    pub fn wing_slopes(&self) -> (f64, f64) {
        (self.b * (1.0 - self.rho), self.b * (1.0 + self.rho))
    }

    /// The limit of g(k) as k -> ±inf: 1/4 - slope^2/16, non-negative iff the slope is <= 2.
    pub fn wing_g_limits(&self) -> (f64, f64) {
        let (l, r) = self.wing_slopes();
        (0.25 - l * l / 16.0, 0.25 - r * r / 16.0)
    }
}

/// One expiry of a surface: SVI parameters of total variance at log-moneyness relative to this
/// expiry's forward.
///
/// JSON: `{"expiry_years": 0.25, "forward": 50000.0, "params": {"a": .., "b": .., "rho": ..,
/// "m": .., "sigma": ..}}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SviSlice {
    /// Time to expiry in years (ACT/365 from the snapshot time).
    pub expiry_years: f64,
    /// Forward of this expiry (the strike is compared to it: k = ln(K/F)).
    pub forward: f64,
    /// Raw SVI parameters of total variance.
    pub params: SviParams,
}

impl SviSlice {
    /// Checks expiry > 0, forward > 0 (both finite) and the parameters.
    pub fn validate(&self) -> Result<(), SurfaceError> {
        if !(self.expiry_years.is_finite() && self.expiry_years > 0.0) {
            return Err(invalid("expiry_years", self.expiry_years, "must be finite and > 0"));
        }
        if !(self.forward.is_finite() && self.forward > 0.0) {
            return Err(invalid("forward", self.forward, "must be finite and > 0"));
        }
        self.params.validate()
    }

    /// Implied volatility of this slice at log-moneyness k: sqrt(w(k) / T).
    pub fn vol(&self, k: f64) -> f64 {
        (self.params.total_variance(k).max(0.0) / self.expiry_years).sqrt()
    }
}
