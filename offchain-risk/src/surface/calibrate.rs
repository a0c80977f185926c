//! SVI calibration: option quotes (implied vols per strike) in, arbitrage-checked [`SviSlice`]s,
//! a [`VolSurface`] and a [`FitReport`] out.
//!
//! Per expiry (Zeliade's quasi-explicit method, "Quasi-explicit calibration of Gatheral's SVI
//! model", 2009): with y = (k - m)/sigma, raw SVI is `w = a + d y + c sqrt(y^2 + 1)` with
//! c = b sigma and d = rho b sigma, which is **linear** in (a, d, c). So for fixed (m, sigma) the
//! best (a, d, c) is a 3-variable least-squares problem whose parameter bounds are linear
//! inequalities (b in [b_lo, b_hi]: c in sigma [b_lo, b_hi]; rho in [rho_lo, rho_hi]:
//! rho_lo c <= d <= rho_hi c; Lee's bound b(1 + |rho|) <= 2: c + |d| <= 2 sigma), solved exactly
//! by a small active-set QP. The outer 2-D problem over (m, ln sigma) is minimised by
//! Nelder–Mead, started from the best two points of a fixed 9 x 6 grid (plus the previous expiry's
//! (m, sigma) when warm-starting): deterministic, no random restarts.
//!
//! Objective: total-variance residuals weighted so that the sum approximates the weighted sum
//! of squared **vol** errors (dw = 2 vol T dvol), with per-quote weights from vega or the inverse
//! bid-ask spread ([`Weighting`]), floored at `min_relative_weight` of the largest so the wings
//! still count.
//!
//! Arbitrage policy: butterfly (g(k) < 0 on the grid of [`crate::surface::arbitrage`]) is either
//! rejected ([`ArbitragePolicy::Reject`] -> [`SurfaceError::ButterflyArbitrage`]) or repaired by
//! flattening the smile about its at-the-money total variance: b -> lambda b with a re-set so
//! that w(0) is unchanged, and the largest lambda in [0, 1] with g >= 0 is found by bisection
//! (lambda = 0 is a flat smile, g = 1, so a repair always exists). Calendar arbitrage between
//! neighbouring expiries is rejected or repaired by raising the later slice's `a` by the largest
//! total-variance deficit on the calendar grid (the smallest parallel shift that removes it);
//! the raised slice is re-checked for butterfly arbitrage.

use serde::{Deserialize, Serialize};

use crate::data::OptionChain;
use crate::error::SurfaceError;
use crate::pricing::normal::norm_pdf;
use crate::pricing::OptionKind;
use crate::surface::arbitrage::{self, ARBITRAGE_TOLERANCE};
use crate::surface::qp::{self, Constraint};
use crate::surface::svi::{SviParams, SviSlice};
use crate::surface::vol_surface::VolSurface;

/// One market quote of an expiry slice, as implied volatilities (fractions).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SliceQuote {
    /// Strike.
    pub strike: f64,
    /// The volatility fitted to: the bid/ask mid, or the mark where the book is one-sided.
    pub mid_vol: f64,
    /// Bid implied volatility, if the bid side is quoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid_vol: Option<f64>,
    /// Ask implied volatility, if the ask side is quoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask_vol: Option<f64>,
}

/// Per-quote weights of the fit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Weighting {
    /// Black-76 vega at the quote's vol (undiscounted, per unit forward): errors where the
    /// price is sensitive to vol matter most.
    #[default]
    Vega,
    /// 1 / (ask_vol - bid_vol); one-sided quotes get the slice's median spread.
    InverseSpread,
    /// All quotes alike.
    Uniform,
}

/// What to do when a calibrated surface shows arbitrage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArbitragePolicy {
    /// Repair it (see the module doc) and flag it in the report.
    #[default]
    Repair,
    /// Return the typed error.
    Reject,
}

/// Which implied vol of a chain quote is fitted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuoteVol {
    /// The bid/ask mid when both sides are quoted and the spread is at most `max_spread_vol`,
    /// else the exchange's mark.
    #[default]
    Mid,
    /// Always the mark.
    Mark,
}

/// Box bounds `[lower, upper]` on the raw SVI parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SviBounds {
    /// Level `a` (total variance). A lower bound >= 0 guarantees w >= 0.
    pub a: [f64; 2],
    /// Wing steepness `b` (Lee's bound b(1 + |rho|) <= 2 applies on top).
    pub b: [f64; 2],
    /// Skew `rho`, strictly inside (-1, 1).
    pub rho: [f64; 2],
    /// Vertex `m` (log-moneyness).
    pub m: [f64; 2],
    /// Vertex curvature `sigma`, > 0.
    pub sigma: [f64; 2],
}

impl Default for SviBounds {
    fn default() -> Self {
        Self {
            a: [0.0, 10.0],
            b: [0.0, 2.0],
            rho: [-0.999, 0.999],
            m: [-3.0, 3.0],
            sigma: [1e-3, 3.0],
        }
    }
}

/// Calibration settings. JSON: every field optional, defaults as documented.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CalibrationConfig {
    /// Quote weights (default vega).
    pub weighting: Weighting,
    /// Mid or mark (default mid, mark where one-sided).
    pub quote_vol: QuoteVol,
    /// Widest bid/ask vol spread whose mid is used (default 0.10 = 10 vol points); wider books
    /// fall back to the mark, their mid being meaningless.
    pub max_spread_vol: f64,
    /// Weight floor relative to the largest weight (default 0.05).
    pub min_relative_weight: f64,
    /// Quotes the first fit misses by more than this (vol, default 0.10 = 10 vol points) are
    /// dropped and the slice refitted once; 0 disables.
    pub outlier_vol: f64,
    /// Parameter bounds.
    pub bounds: SviBounds,
    /// Fewest quotes an expiry needs (default 6; never below 5, the parameter count).
    pub min_quotes: usize,
    /// Expiries closer than this are skipped (default 1 day): in their last hours Deribit's
    /// marks are not a smile to fit (settlement is a 30-minute average, quotes are pinned by tick
    /// size), and the surface extrapolates to them from the first slice.
    pub min_expiry_years: f64,
    /// Butterfly policy (default repair).
    pub butterfly: ArbitragePolicy,
    /// Calendar policy (default repair).
    pub calendar: ArbitragePolicy,
}

impl Default for CalibrationConfig {
    fn default() -> Self {
        Self {
            weighting: Weighting::Vega,
            quote_vol: QuoteVol::Mid,
            max_spread_vol: 0.10,
            min_relative_weight: 0.05,
            outlier_vol: 0.10,
            bounds: SviBounds::default(),
            min_quotes: 6,
            min_expiry_years: 1.0 / 365.0,
            butterfly: ArbitragePolicy::Repair,
            calendar: ArbitragePolicy::Repair,
        }
    }
}

/// Fit quality and arbitrage status of one expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceFit {
    /// Expiry, Unix ms (when calibrated from a chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_ms: Option<i64>,
    /// Years to expiry.
    pub expiry_years: f64,
    /// Forward.
    pub forward: f64,
    /// Quotes fitted (after dropping outliers).
    pub quotes: usize,
    /// Quotes dropped as outliers (see [`CalibrationConfig::outlier_vol`]).
    #[serde(default)]
    pub outliers: usize,
    /// Root-mean-square of (model vol - quote vol), vol points (1.0 = 1%).
    pub rmse_vol_pts: f64,
    /// Largest |model vol - quote vol|, vol points.
    pub max_abs_err_vol_pts: f64,
    /// Smallest Durrleman g on the butterfly grid (final parameters).
    pub min_g: f64,
    /// Log-moneyness of that minimum.
    pub min_g_log_moneyness: f64,
    /// Butterfly check passed (final parameters).
    pub butterfly_ok: bool,
    /// The raw fit had butterfly arbitrage and was flattened.
    pub butterfly_repaired: bool,
    /// Calendar check against the previous expiry passed (true for the first).
    pub calendar_ok: bool,
    /// How much `a` was raised to remove calendar arbitrage (0 if none).
    pub calendar_raise: f64,
    /// Final parameters.
    pub params: SviParams,
}

/// A calibrated expiry: the slice and how well it fits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibratedSlice {
    /// The slice.
    pub slice: SviSlice,
    /// Fit report.
    pub fit: SliceFit,
    /// The quotes fitted (outliers removed).
    pub quotes: Vec<SliceQuote>,
}

/// An expiry left out of a surface, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedExpiry {
    /// Expiry, Unix ms.
    pub expiry_ms: i64,
    /// Years to expiry.
    pub expiry_years: f64,
    /// Why.
    pub reason: String,
}

/// Fit report of one chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Underlying.
    pub underlying: String,
    /// Snapshot time, Unix ms.
    pub timestamp_ms: i64,
    /// Per calibrated expiry, ascending.
    pub slices: Vec<SliceFit>,
    /// Expiries not calibrated.
    pub skipped: Vec<SkippedExpiry>,
    /// Every slice passes the butterfly check.
    pub butterfly_ok: bool,
    /// Every neighbouring pair passes the calendar check.
    pub calendar_ok: bool,
}

/// The quotes of one expiry of a chain, ready to calibrate.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpiryQuotes {
    /// Expiry, Unix ms.
    pub expiry_ms: i64,
    /// Years to expiry.
    pub expiry_years: f64,
    /// Forward (median of the quotes' forwards).
    pub forward: f64,
    /// Out-of-the-money quotes, ascending strike.
    pub quotes: Vec<SliceQuote>,
    /// Why quotes were left out, if any were (reported when the expiry is skipped).
    pub note: Option<String>,
}

/// Groups a chain by expiry and picks, per strike, the out-of-the-money option (put below the
/// forward, call at or above): its vol is the one the market actually trades, and the in-the-money
/// twin carries the same vol with a worse spread. Quotes with a zero or non-finite mark are dropped.
pub fn expiry_quotes(chain: &OptionChain, config: &CalibrationConfig) -> Vec<ExpiryQuotes> {
    let mut out = Vec::new();
    for expiry_ms in chain.expiries() {
        let of_expiry: Vec<_> = chain.quotes.iter().filter(|q| q.expiry_ms == expiry_ms).collect();
        let mut forwards: Vec<f64> = of_expiry.iter().map(|q| q.forward).collect();
        forwards.sort_by(f64::total_cmp);
        // Non-empty: the expiry came from a quote.
        let forward = forwards[forwards.len() / 2];
        // (quote, mark, two-sided mid if any)
        let picked: Vec<(SliceQuote, f64, Option<f64>)> = of_expiry
            .iter()
            .filter(|q| match q.kind {
                OptionKind::Put => q.strike < forward,
                OptionKind::Call => q.strike >= forward,
            })
            .filter(|q| q.mark_iv.is_finite() && q.mark_iv > 0.0 && q.strike > 0.0)
            .map(|q| {
                let two_sided = match (q.bid_iv, q.ask_iv) {
                    (Some(bid), Some(ask)) if ask >= bid && ask - bid <= config.max_spread_vol => {
                        Some(0.5 * (bid + ask))
                    }
                    _ => None,
                };
                let mid_vol = match config.quote_vol {
                    QuoteVol::Mid => two_sided.unwrap_or(q.mark_iv),
                    QuoteVol::Mark => q.mark_iv,
                };
                let quote =
                    SliceQuote { strike: q.strike, mid_vol, bid_vol: q.bid_iv, ask_vol: q.ask_iv };
                (quote, q.mark_iv, two_sided)
            })
            .collect();
        // Marks that disagree with the book (median mark - mid beyond `max_spread_vol`, as for a
        // freshly listed expiry whose marks are placeholders) are not a fallback for the mid: the
        // slice keeps its two-sided quotes only.
        let mut gaps: Vec<f64> =
            picked.iter().filter_map(|(_, mark, mid)| mid.map(|mid| mark - mid)).collect();
        gaps.sort_by(f64::total_cmp);
        let stale_marks = config.quote_vol == QuoteVol::Mid
            && gaps.len() >= 3
            && gaps.get(gaps.len() / 2).is_some_and(|g| g.abs() > config.max_spread_vol);
        let note = stale_marks.then(|| {
            format!(
                "marks differ from the two-sided mids by {:+.1} vol pts (median), so only the {} \
                 two-sided quotes are used",
                100.0 * gaps[gaps.len() / 2],
                gaps.len()
            )
        });
        let mut quotes: Vec<SliceQuote> = picked
            .into_iter()
            .filter(|(_, _, mid)| !stale_marks || mid.is_some())
            .map(|(q, _, _)| q)
            .collect();
        quotes.sort_by(|x, y| x.strike.total_cmp(&y.strike));
        quotes.dedup_by(|x, y| x.strike.to_bits() == y.strike.to_bits());
        out.push(ExpiryQuotes {
            expiry_ms,
            expiry_years: chain.year_fraction(expiry_ms),
            forward,
            quotes,
            note,
        });
    }
    out
}

/// The fitting problem of one slice, scaled so total variances are O(1).
struct Problem {
    k: Vec<f64>,
    /// Target total variance / scale.
    w: Vec<f64>,
    /// Normalised weights (sum 1).
    omega: Vec<f64>,
    scale: f64,
    bounds: SviBounds,
    /// Calendar floor: (k, previous expiry's total variance / scale) the fit must not go under.
    floor: Vec<(f64, f64)>,
}

/// Points of the calendar floor imposed while fitting (the final check uses the full grid).
const FLOOR_POINTS: usize = 81;

/// Inner solution at fixed (m, sigma): scaled (a, d, c) and the objective.
struct Inner {
    x: [f64; 3],
    value: f64,
}

impl Problem {
    #[allow(clippy::needless_range_loop, reason = "3x3 matrix algebra reads best with indices")]
    fn inner(&self, m: f64, sigma: f64) -> Option<Inner> {
        let mut h = [[0.0; 3]; 3];
        let mut g = [0.0; 3];
        let mut c0 = 0.0;
        for i in 0..self.k.len() {
            let y = (self.k[i] - m) / sigma;
            let f = [1.0, y, (y * y + 1.0).sqrt()];
            let wt = self.omega[i];
            for r in 0..3 {
                for c in r..3 {
                    h[r][c] += wt * f[r] * f[c];
                }
                g[r] += wt * f[r] * self.w[i];
            }
            c0 += wt * self.w[i] * self.w[i];
        }
        // Symmetrise, and a tiny ridge so a degenerate design (few distinct strikes) stays
        // solvable; 1e-12 of the trace is far below the data's precision.
        let ridge = 1e-12 * (h[0][0] + h[1][1] + h[2][2]);
        for r in 0..3 {
            for c in 0..r {
                h[r][c] = h[c][r];
            }
            h[r][r] += ridge;
        }
        let s = self.scale;
        let bd = &self.bounds;
        // Lee's bound with a hair of slack so b(1 + |rho|) <= 2 survives rounding.
        let lee = 2.0 * sigma * (1.0 - 1e-9) / s;
        let cons = [
            Constraint { row: [1.0, 0.0, 0.0], rhs: bd.a[0] / s },
            Constraint { row: [-1.0, 0.0, 0.0], rhs: -bd.a[1] / s },
            Constraint { row: [0.0, 0.0, 1.0], rhs: bd.b[0] * sigma / s },
            Constraint { row: [0.0, 0.0, -1.0], rhs: -bd.b[1] * sigma / s },
            Constraint { row: [0.0, 1.0, -bd.rho[0]], rhs: 0.0 },
            Constraint { row: [0.0, -1.0, bd.rho[1]], rhs: 0.0 },
            Constraint { row: [0.0, -1.0, -1.0], rhs: -lee },
            Constraint { row: [0.0, 1.0, -1.0], rhs: -lee },
        ];
        let (x, v) = if self.floor.is_empty() {
            qp::minimise(&h, &g, &cons)?
        } else {
            // w(k_j) = a + d y_j + c z_j >= floor_j: linear, so the calendar floor is just more
            // constraints, added as needed.
            let floor: Vec<Constraint> = self
                .floor
                .iter()
                .map(|&(k, floor)| {
                    let y = (k - m) / sigma;
                    Constraint { row: [1.0, y, (y * y + 1.0).sqrt()], rhs: floor }
                })
                .collect();
            qp::minimise_with_cuts(&h, &g, &cons, &floor)?
        };
        let mut value = (v + c0).max(0.0);
        // With a negative lower bound on `a` the minimum of w can go negative: penalise.
        let min_w = x[0] + (x[2] * x[2] - x[1] * x[1]).max(0.0).sqrt();
        if min_w < 0.0 {
            value += 1e3 * min_w * min_w + 1e-3;
        }
        Some(Inner { x, value })
    }

    fn objective(&self, m: f64, sigma: f64) -> f64 {
        self.inner(m, sigma).map_or(f64::INFINITY, |i| i.value)
    }

    fn params(&self, m: f64, sigma: f64) -> Option<SviParams> {
        let inner = self.inner(m, sigma)?;
        let [a, d, c] = inner.x.map(|v| v * self.scale);
        let b = (c / sigma).max(0.0);
        let rho = if c > 0.0 { (d / c).clamp(self.bounds.rho[0], self.bounds.rho[1]) } else { 0.0 };
        Some(SviParams { a, b, rho, m, sigma })
    }
}

/// Nelder–Mead on (m, ln sigma) within the box, deterministic.
fn nelder_mead(
    f: &dyn Fn(f64, f64) -> f64,
    start: (f64, f64),
    step: (f64, f64),
    lo: (f64, f64),
    hi: (f64, f64),
) -> ((f64, f64), f64) {
    let clamp = |p: (f64, f64)| (p.0.clamp(lo.0, hi.0), p.1.clamp(lo.1, hi.1));
    let eval = |p: (f64, f64)| f(p.0, p.1.exp());
    let mut simplex: Vec<((f64, f64), f64)> =
        [start, (start.0 + step.0, start.1), (start.0, start.1 + step.1)]
            .into_iter()
            .map(|p| {
                let p = clamp(p);
                (p, eval(p))
            })
            .collect();
    for _ in 0..400 {
        simplex.sort_by(|x, y| x.1.total_cmp(&y.1));
        let (best, worst) = (simplex[0], simplex[2]);
        let size =
            simplex.iter().map(|(p, _)| (p.0 - best.0 .0).abs().max((p.1 - best.0 .1).abs()));
        let spread = worst.1 - best.1;
        if size.fold(0.0, f64::max) < 1e-7 || spread <= 1e-13 * best.1.abs() + 1e-18 {
            break;
        }
        let centroid =
            ((simplex[0].0 .0 + simplex[1].0 .0) / 2.0, (simplex[0].0 .1 + simplex[1].0 .1) / 2.0);
        let along = |t: f64| {
            clamp((
                centroid.0 + t * (worst.0 .0 - centroid.0),
                centroid.1 + t * (worst.0 .1 - centroid.1),
            ))
        };
        let reflected = along(-1.0);
        let fr = eval(reflected);
        if fr < simplex[0].1 {
            let expanded = along(-2.0);
            let fe = eval(expanded);
            simplex[2] = if fe < fr { (expanded, fe) } else { (reflected, fr) };
        } else if fr < simplex[1].1 {
            simplex[2] = (reflected, fr);
        } else {
            let contracted = if fr < worst.1 { along(-0.5) } else { along(0.5) };
            let fc = eval(contracted);
            if fc < worst.1.min(fr) {
                simplex[2] = (contracted, fc);
            } else {
                // Shrink towards the best vertex.
                for v in simplex.iter_mut().skip(1) {
                    let p = clamp(((v.0 .0 + best.0 .0) / 2.0, (v.0 .1 + best.0 .1) / 2.0));
                    *v = (p, eval(p));
                }
            }
        }
    }
    simplex.sort_by(|x, y| x.1.total_cmp(&y.1));
    simplex[0]
}

/// Per-quote user weights (before the vol-to-variance scaling), normalised to max 1 and floored.
fn user_weights(
    quotes: &[SliceQuote],
    k: &[f64],
    expiry_years: f64,
    config: &CalibrationConfig,
) -> Vec<f64> {
    let raw: Vec<f64> = match config.weighting {
        Weighting::Uniform => vec![1.0; quotes.len()],
        Weighting::Vega => quotes
            .iter()
            .zip(k)
            .map(|(q, &k)| {
                let sd = q.mid_vol * expiry_years.sqrt();
                norm_pdf(-k / sd + 0.5 * sd) * expiry_years.sqrt()
            })
            .collect(),
        Weighting::InverseSpread => {
            let spread = |q: &SliceQuote| match (q.bid_vol, q.ask_vol) {
                (Some(b), Some(a)) if a > b => Some(a - b),
                _ => None,
            };
            let mut spreads: Vec<f64> = quotes.iter().filter_map(spread).collect();
            spreads.sort_by(f64::total_cmp);
            let median = spreads.get(spreads.len() / 2).copied().unwrap_or(1.0);
            quotes.iter().map(|q| 1.0 / spread(q).unwrap_or(median)).collect()
        }
    };
    let max = raw.iter().copied().fold(0.0, f64::max);
    let floor = config.min_relative_weight.clamp(0.0, 1.0);
    raw.iter().map(|&r| if max > 0.0 { (r / max).max(floor) } else { 1.0 }).collect()
}

/// Model-vs-quote errors of a slice, in vol points: (RMSE, max |error|).
fn fit_errors(
    params: &SviParams,
    quotes: &[SliceQuote],
    expiry_years: f64,
    forward: f64,
) -> (f64, f64) {
    let mut sum = 0.0;
    let mut worst: f64 = 0.0;
    for q in quotes {
        let w = params.total_variance((q.strike / forward).ln()).max(0.0);
        let e = 100.0 * ((w / expiry_years).sqrt() - q.mid_vol);
        sum += e * e;
        worst = worst.max(e.abs());
    }
    ((sum / quotes.len().max(1) as f64).sqrt(), worst)
}

/// The smile flattened about its ATM total variance by `lambda` (see the module doc).
fn flattened(p: &SviParams, lambda: f64) -> SviParams {
    let w0 = p.total_variance(0.0);
    let s0 = p.rho * (-p.m) + (p.m * p.m + p.sigma * p.sigma).sqrt();
    SviParams { a: w0 - lambda * p.b * s0, b: lambda * p.b, ..*p }
}

/// Largest lambda in [0, 1] whose flattened smile passes the butterfly check.
fn repair_butterfly(p: &SviParams) -> SviParams {
    let ok = |q: &SviParams| arbitrage::min_durrleman_g(q).1 >= 0.0;
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..30 {
        let mid = 0.5 * (lo + hi);
        if ok(&flattened(p, mid)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    flattened(p, lo)
}

fn build_fit(slice: &SviSlice, quotes: &[SliceQuote], butterfly_repaired: bool) -> SliceFit {
    let (rmse, worst) = fit_errors(&slice.params, quotes, slice.expiry_years, slice.forward);
    let (k, g) = arbitrage::min_durrleman_g(&slice.params);
    SliceFit {
        expiry_ms: None,
        expiry_years: slice.expiry_years,
        forward: slice.forward,
        quotes: quotes.len(),
        outliers: 0,
        rmse_vol_pts: rmse,
        max_abs_err_vol_pts: worst,
        min_g: g,
        min_g_log_moneyness: k,
        butterfly_ok: g >= -ARBITRAGE_TOLERANCE && slice.validate().is_ok(),
        butterfly_repaired,
        calendar_ok: true,
        calendar_raise: 0.0,
        params: slice.params,
    }
}

/// Calibrates raw SVI to one expiry's quotes; see the module doc for the method and policies.
pub fn calibrate_slice(
    quotes: &[SliceQuote],
    expiry_years: f64,
    forward: f64,
    config: &CalibrationConfig,
) -> Result<CalibratedSlice, SurfaceError> {
    calibrate_slice_after(quotes, expiry_years, forward, config, None)
}

/// [`calibrate_slice`] for the expiry following `previous` (final parameters of the preceding
/// expiry): its (m, sigma) is an extra Nelder–Mead start, and with
/// [`ArbitragePolicy::Repair`] for calendar arbitrage the fit is constrained to stay on or above
/// `previous`'s total variance at 81 points of the calendar grid (prevention; the full-grid check
/// and the `a` raise in [`calibrate_surface`] catch what falls between the points).
pub fn calibrate_slice_after(
    quotes: &[SliceQuote],
    expiry_years: f64,
    forward: f64,
    config: &CalibrationConfig,
    previous: Option<&SviParams>,
) -> Result<CalibratedSlice, SurfaceError> {
    let query = |field, value, reason| SurfaceError::InvalidQuery { field, value, reason };
    if !(expiry_years.is_finite() && expiry_years > 0.0) {
        return Err(query("expiry_years", expiry_years, "must be finite and > 0"));
    }
    if !(forward.is_finite() && forward > 0.0) {
        return Err(query("forward", forward, "must be finite and > 0"));
    }
    let quotes: Vec<SliceQuote> = quotes
        .iter()
        .copied()
        .filter(|q| {
            q.strike.is_finite() && q.strike > 0.0 && q.mid_vol.is_finite() && q.mid_vol > 0.0
        })
        .collect();
    let needed = config.min_quotes.max(5);
    if quotes.len() < needed {
        return Err(SurfaceError::TooFewQuotes { expiry_years, quotes: quotes.len(), needed });
    }
    let mut quotes = quotes;
    let mut raw = fit_raw(&quotes, expiry_years, forward, config, previous)?;
    // One trimming pass: quotes the first fit misses by more than `outlier_vol` (stale marks
    // deep in the wings, crossed books) are dropped and the slice refitted, as long as enough
    // quotes remain.
    let mut outliers = 0;
    if config.outlier_vol > 0.0 {
        let kept: Vec<SliceQuote> = quotes
            .iter()
            .copied()
            .filter(|q| {
                let w = raw.total_variance((q.strike / forward).ln()).max(0.0);
                ((w / expiry_years).sqrt() - q.mid_vol).abs() <= config.outlier_vol
            })
            .collect();
        if kept.len() < quotes.len() && kept.len() >= needed {
            outliers = quotes.len() - kept.len();
            quotes = kept;
            raw = fit_raw(&quotes, expiry_years, forward, config, previous)?;
        }
    }
    let mut slice = SviSlice { expiry_years, forward, params: raw };
    let mut repaired = false;
    if let Err(error) = arbitrage::check_butterfly(&slice) {
        match config.butterfly {
            ArbitragePolicy::Reject => return Err(error),
            ArbitragePolicy::Repair => {
                slice.params = repair_butterfly(&raw);
                repaired = true;
                arbitrage::check_butterfly(&slice)?;
            }
        }
    }
    let mut fit = build_fit(&slice, &quotes, repaired);
    fit.outliers = outliers;
    Ok(CalibratedSlice { slice, fit, quotes })
}

/// The constrained least-squares SVI fit of one slice (no arbitrage checks yet).
fn fit_raw(
    quotes: &[SliceQuote],
    expiry_years: f64,
    forward: f64,
    config: &CalibrationConfig,
    previous: Option<&SviParams>,
) -> Result<SviParams, SurfaceError> {
    let k: Vec<f64> = quotes.iter().map(|q| (q.strike / forward).ln()).collect();
    let w_mkt: Vec<f64> = quotes.iter().map(|q| q.mid_vol * q.mid_vol * expiry_years).collect();
    let scale = w_mkt.iter().sum::<f64>() / w_mkt.len() as f64;
    let user = user_weights(quotes, &k, expiry_years, config);
    let mut omega: Vec<f64> = user
        .iter()
        .zip(quotes)
        .map(|(u, q)| {
            let dw_dvol = 2.0 * q.mid_vol * expiry_years / scale;
            u / (dw_dvol * dw_dvol)
        })
        .collect();
    let total: f64 = omega.iter().sum();
    omega.iter_mut().for_each(|o| *o /= total);
    let floor = match (previous, config.calendar) {
        (Some(p), ArbitragePolicy::Repair) => {
            let w_max = w_mkt.iter().copied().fold(p.total_variance(0.0), f64::max);
            let h = (6.0 * w_max.max(0.0).sqrt()).max(3.0);
            (0..FLOOR_POINTS)
                .map(|j| {
                    let k = -h + 2.0 * h * j as f64 / (FLOOR_POINTS - 1) as f64;
                    (k, p.total_variance(k) / scale)
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let problem = Problem {
        w: w_mkt.iter().map(|w| w / scale).collect(),
        k,
        omega,
        scale,
        bounds: config.bounds,
        floor,
    };

    // Starting grid: m across the quoted k range, sigma from 2% to 100% of it.
    let bd = &config.bounds;
    let (k_lo, k_hi) = problem
        .k
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &k| (lo.min(k), hi.max(k)));
    let span = (k_hi - k_lo).max(1e-3);
    let mut candidates: Vec<((f64, f64), f64)> = Vec::with_capacity(60);
    for i in 0..9 {
        let m = (k_lo + span * i as f64 / 8.0).clamp(bd.m[0], bd.m[1]);
        for frac in [0.02, 0.05, 0.1, 0.2, 0.5, 1.0] {
            let sigma = (span * frac).clamp(bd.sigma[0], bd.sigma[1]);
            candidates.push(((m, sigma.ln()), problem.objective(m, sigma)));
        }
    }
    if let Some(p) = previous {
        let m = p.m.clamp(bd.m[0], bd.m[1]);
        let sigma = p.sigma.clamp(bd.sigma[0], bd.sigma[1]);
        candidates.push(((m, sigma.ln()), problem.objective(m, sigma)));
    }
    candidates.sort_by(|x, y| x.1.total_cmp(&y.1));
    let lo = (bd.m[0], bd.sigma[0].ln());
    let hi = (bd.m[1], bd.sigma[1].ln());
    let f = |m: f64, sigma: f64| problem.objective(m, sigma);
    let mut best: Option<((f64, f64), f64)> = None;
    for &(start, _) in candidates.iter().take(2) {
        let result = nelder_mead(&f, start, (0.1 * span, 0.5), lo, hi);
        if best.is_none_or(|b| result.1 < b.1) {
            best = Some(result);
        }
    }
    // `candidates` holds at least the 54 grid points, so `best` is set.
    let ((m, ln_sigma), value) = best.expect("grid is non-empty");
    if !value.is_finite() {
        return Err(SurfaceError::InvalidParameter {
            field: "bounds",
            value,
            reason: "no SVI parameters within the bounds fit the quotes; widen the bounds",
        });
    }
    let raw = problem.params(m, ln_sigma.exp()).ok_or(SurfaceError::InvalidParameter {
        field: "bounds",
        value,
        reason: "no SVI parameters within the bounds fit the quotes; widen the bounds",
    })?;
    raw.validate()?;
    Ok(raw)
}

/// Calendar check of `current` against `earlier`; with the repair policy, raises `current`'s
/// `a` by the smallest amount that removes the arbitrage and re-checks butterfly.
fn enforce_calendar(
    earlier: &SviSlice,
    current: &mut CalibratedSlice,
    config: &CalibrationConfig,
) -> Result<(), SurfaceError> {
    let Err(error) = arbitrage::check_calendar(earlier, &current.slice) else { return Ok(()) };
    if config.calendar == ArbitragePolicy::Reject {
        return Err(error);
    }
    // The smallest parallel raise, plus rounding slack so the re-check passes. Raising `a`
    // raises w(0) and so can widen the grid (its half-width grows with sqrt(w(0))); repeat on
    // the wider grid until it passes (the added deficit shrinks each round).
    let mut raise = 0.0;
    for _ in 0..50 {
        let (_, deficit) =
            arbitrage::max_calendar_violation(&earlier.params, &current.slice.params);
        if deficit <= ARBITRAGE_TOLERANCE {
            break;
        }
        let step = deficit + 1e-12 * (1.0 + deficit.abs());
        current.slice.params.a += step;
        raise += step;
    }
    arbitrage::check_butterfly(&current.slice)?;
    arbitrage::check_calendar(earlier, &current.slice)?;
    let expiry_ms = current.fit.expiry_ms;
    let repaired = current.fit.butterfly_repaired;
    let outliers = current.fit.outliers;
    current.fit = build_fit(&current.slice, &current.quotes, repaired);
    current.fit.expiry_ms = expiry_ms;
    current.fit.outliers = outliers;
    current.fit.calendar_raise = raise;
    Ok(())
}

/// Calibrates every expiry of a chain, then checks (and per policy repairs) calendar arbitrage
/// between neighbours; see the module doc. Expiries closer than `min_expiry_years` or with too
/// few quotes are listed in [`FitReport::skipped`].
pub fn calibrate_surface(
    chain: &OptionChain,
    config: &CalibrationConfig,
) -> Result<(VolSurface, FitReport), SurfaceError> {
    let mut calibrated: Vec<CalibratedSlice> = Vec::new();
    let mut skipped = Vec::new();
    for expiry in expiry_quotes(chain, config) {
        let skip = |reason: String| SkippedExpiry {
            expiry_ms: expiry.expiry_ms,
            expiry_years: expiry.expiry_years,
            reason,
        };
        if expiry.expiry_years < config.min_expiry_years {
            skipped.push(skip(format!(
                "expires in {:.1} h, under min_expiry_years = {:.5}",
                expiry.expiry_years * 365.0 * 24.0,
                config.min_expiry_years
            )));
            continue;
        }
        let previous = calibrated.last().map(|c| c.slice.params);
        match calibrate_slice_after(
            &expiry.quotes,
            expiry.expiry_years,
            expiry.forward,
            config,
            previous.as_ref(),
        ) {
            Ok(mut c) => {
                c.fit.expiry_ms = Some(expiry.expiry_ms);
                // Repair against the previous expiry now, so the next expiry's floor is final.
                if let Some(earlier) = calibrated.last() {
                    enforce_calendar(&earlier.slice, &mut c, config)?;
                }
                calibrated.push(c);
            }
            Err(SurfaceError::TooFewQuotes { quotes, needed, .. }) => {
                let why = expiry.note.as_deref().map_or(String::new(), |n| format!(" ({n})"));
                skipped.push(skip(format!("{quotes} usable quotes, {needed} needed{why}")));
            }
            Err(other) => return Err(other),
        }
    }
    if calibrated.is_empty() {
        return Err(SurfaceError::Empty);
    }
    let slices: Vec<SviSlice> = calibrated.iter().map(|c| c.slice).collect();
    let surface = VolSurface::new(slices)?;
    // Everything above was checked pair by pair; this is the surface-level guarantee.
    surface.check_arbitrage()?;
    let fits: Vec<SliceFit> = calibrated.into_iter().map(|c| c.fit).collect();
    let report = FitReport {
        underlying: chain.underlying.clone(),
        timestamp_ms: chain.timestamp_ms,
        butterfly_ok: fits.iter().all(|f| f.butterfly_ok),
        calendar_ok: fits.iter().all(|f| f.calendar_ok),
        slices: fits,
        skipped,
    };
    Ok((surface, report))
}
