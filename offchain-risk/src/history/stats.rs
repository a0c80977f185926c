//! Return statistics and margin backtest scores.
//!
//! What flows through: slices of returns (usually [`Returns::log_returns`]) in, estimates out:
//! sample and EWMA volatility, a correlation matrix over windows common to several assets,
//! empirical quantiles, Student-t tail fits; and, for a backtest, (loss, margin) pairs in, the
//! exceedance count, Kupiec's proportion-of-failures test and the worst shortfall out.
//! [`ewma_margin_backtest`] wires them together for the simplest margin model (EWMA-normal), the
//! baseline the portfolio margin models are compared with.
//!
//! Conventions: volatilities are per observation period unless a name says `annual`; crypto
//! trades every day, so annualising uses [`DAYS_PER_YEAR`] = 365.

use super::{Date, GapPolicy, PriceSeries, ReturnPoint, Returns, Sampling};
use crate::error::DataError;

/// Calendar days per year (crypto trades every day).
pub const DAYS_PER_YEAR: f64 = 365.0;

/// RiskMetrics' decay factor for daily data.
pub const RISKMETRICS_LAMBDA: f64 = 0.94;

fn invalid(field: &str, reason: impl Into<String>) -> DataError {
    DataError::Invalid { field: field.to_string(), reason: reason.into() }
}

fn check_finite(values: &[f64], field: &str) -> Result<(), DataError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(invalid(&format!("{field}[{i}]"), format!("{} is not finite", values[i]))),
        None => Ok(()),
    }
}

fn check_probability(p: f64, field: &str) -> Result<(), DataError> {
    if p > 0.0 && p < 1.0 {
        Ok(())
    } else {
        Err(invalid(field, format!("{p} must lie strictly between 0 and 1")))
    }
}

/// Standard normal CDF (via `erfc`, so the far lower tail keeps full relative precision).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// Standard normal quantile Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation (relative
/// error 1e-9) polished by one Halley step on [`normal_cdf`], which brings it to ~1e-15.
pub fn normal_quantile(p: f64) -> Result<f64, DataError> {
    check_probability(p, "probability")?;
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    };
    let error = normal_cdf(x) - p;
    let u = error * (2.0 * std::f64::consts::PI).sqrt() * (0.5 * x * x).exp();
    Ok(x - u / (1.0 + 0.5 * x * u))
}

/// Arithmetic mean; `None` for an empty slice.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Sample standard deviation (n − 1 denominator) of the returns, per observation period.
pub fn sample_volatility(returns: &[f64]) -> Result<f64, DataError> {
    check_finite(returns, "returns")?;
    if returns.len() < 2 {
        return Err(invalid(
            "returns",
            format!("{} returns; at least 2 are needed", returns.len()),
        ));
    }
    let m = returns.iter().sum::<f64>() / returns.len() as f64;
    let ss: f64 = returns.iter().map(|r| (r - m) * (r - m)).sum();
    Ok((ss / (returns.len() - 1) as f64).sqrt())
}

/// A per-period volatility over `period_days` scaled to a year of [`DAYS_PER_YEAR`] days.
pub fn annualise(volatility: f64, period_days: f64) -> f64 {
    volatility * (DAYS_PER_YEAR / period_days).sqrt()
}

/// EWMA (RiskMetrics) volatility: σ²ᵢ = λ σ²ᵢ₋₁ + (1 − λ) rᵢ², with σ²₋₁ = `initial_variance`.
///
/// `out[i]` is the volatility once `returns[i]` is known, i.e. the forecast for the *next*
/// return: a backtest margins `returns[i]` with `out[i − 1]`. Returns are not demeaned (the
/// RiskMetrics convention: at daily horizons the mean is noise next to the variance).
pub fn ewma_volatility(
    returns: &[f64],
    lambda: f64,
    initial_variance: f64,
) -> Result<Vec<f64>, DataError> {
    check_finite(returns, "returns")?;
    check_probability(lambda, "lambda")?;
    if !(initial_variance.is_finite() && initial_variance >= 0.0) {
        return Err(invalid(
            "initial_variance",
            format!("{initial_variance} must be finite and >= 0"),
        ));
    }
    let mut variance = initial_variance;
    Ok(returns
        .iter()
        .map(|r| {
            variance = lambda * variance + (1.0 - lambda) * r * r;
            variance.sqrt()
        })
        .collect())
}

/// Pearson correlations of several assets' returns over the windows they all share.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationMatrix {
    /// The assets, in input order.
    pub symbols: Vec<String>,
    /// Windows (identical start and end day) present for every asset.
    pub observations: usize,
    /// `matrix[i][j]` = corr(asset i, asset j); symmetric, unit diagonal.
    pub matrix: Vec<Vec<f64>>,
}

/// Correlation matrix over the windows common to every series (matched on start and end day).
pub fn correlation_matrix(returns: &[Returns]) -> Result<CorrelationMatrix, DataError> {
    let Some((head, rest)) = returns.split_first() else {
        return Err(invalid("returns", "no series given"));
    };
    let key = |p: &ReturnPoint| (p.start, p.end);
    let lookup = |series: &Returns, window: (Date, Date)| {
        series.points.binary_search_by_key(&window, key).ok().map(|i| series.points[i].log_return)
    };
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); returns.len()];
    for point in &head.points {
        let window = key(point);
        let others: Option<Vec<f64>> = rest.iter().map(|s| lookup(s, window)).collect();
        if let Some(others) = others {
            columns[0].push(point.log_return);
            for (column, value) in columns[1..].iter_mut().zip(others) {
                column.push(value);
            }
        }
    }
    let n = columns[0].len();
    if n < 3 {
        return Err(invalid("returns", format!("{n} common windows; at least 3 are needed")));
    }
    let centred: Vec<Vec<f64>> = columns
        .iter()
        .map(|c| {
            let m = c.iter().sum::<f64>() / n as f64;
            c.iter().map(|v| v - m).collect()
        })
        .collect();
    let norms: Vec<f64> =
        centred.iter().map(|c| c.iter().map(|v| v * v).sum::<f64>().sqrt()).collect();
    let k = returns.len();
    let mut matrix = vec![vec![1.0; k]; k];
    for i in 0..k {
        for j in 0..i {
            let dot: f64 = centred[i].iter().zip(&centred[j]).map(|(a, b)| a * b).sum();
            let denominator = norms[i] * norms[j];
            if denominator == 0.0 {
                return Err(invalid(
                    "returns",
                    format!("{} or {} has constant returns", returns[i].symbol, returns[j].symbol),
                ));
            }
            matrix[i][j] = (dot / denominator).clamp(-1.0, 1.0);
            matrix[j][i] = matrix[i][j];
        }
    }
    Ok(CorrelationMatrix {
        symbols: returns.iter().map(|r| r.symbol.clone()).collect(),
        observations: n,
        matrix,
    })
}

/// Empirical p-quantile, linear interpolation between order statistics (Hyndman–Fan type 7,
/// numpy's and R's default): with x₍₁₎ ≤ … ≤ x₍ₙ₎ and h = (n − 1)p, x₍⌊h⌋+1₎ plus the fraction
/// h − ⌊h⌋ of the step to the next one.
pub fn empirical_quantile(values: &[f64], p: f64) -> Result<f64, DataError> {
    check_finite(values, "values")?;
    if !(0.0..=1.0).contains(&p) {
        return Err(invalid("probability", format!("{p} must lie in [0, 1]")));
    }
    if values.is_empty() {
        return Err(invalid("values", "no values"));
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let h = (sorted.len() - 1) as f64 * p;
    let below = h.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    Ok(sorted[below] + (h - below as f64) * (sorted[above] - sorted[below]))
}

/// Excess kurtosis m₄/m₂² − 3 (population moments); 0 for a normal sample.
pub fn excess_kurtosis(values: &[f64]) -> Result<f64, DataError> {
    check_finite(values, "values")?;
    if values.len() < 4 {
        return Err(invalid("values", format!("{} values; at least 4 are needed", values.len())));
    }
    let n = values.len() as f64;
    let m = values.iter().sum::<f64>() / n;
    let m2 = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
    let m4 = values.iter().map(|v| (v - m).powi(4)).sum::<f64>() / n;
    if m2 == 0.0 {
        return Err(invalid("values", "all values are equal"));
    }
    Ok(m4 / (m2 * m2) - 3.0)
}

/// Student-t degrees of freedom by the method of moments: a t with ν > 4 has excess kurtosis
/// 6/(ν − 4), so ν = 4 + 6/κ. `None` when κ ≤ 0 (tails no fatter than normal). Quick but noisy:
/// the fourth moment is dominated by a handful of days and does not exist for ν ≤ 4, which is
/// where crypto returns live, so prefer [`fit_student_t`].
pub fn student_t_df_moments(values: &[f64]) -> Result<Option<f64>, DataError> {
    let kurtosis = excess_kurtosis(values)?;
    Ok((kurtosis > 0.0).then(|| 4.0 + 6.0 / kurtosis))
}

/// A location-scale Student-t fitted by maximum likelihood.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StudentTFit {
    /// Degrees of freedom ν.
    pub df: f64,
    /// Location μ.
    pub location: f64,
    /// Scale s (the standard deviation is s·√(ν/(ν − 2)) for ν > 2).
    pub scale: f64,
    /// The maximised log-likelihood.
    pub log_likelihood: f64,
    /// ν hit [`STUDENT_T_DF_MAX`]: the sample is indistinguishable from normal.
    pub at_upper_bound: bool,
}

/// Lower end of the ν search (Cauchy).
pub const STUDENT_T_DF_MIN: f64 = 1.0;
/// Upper end of the ν search (a t with ν = 1000 is normal for any practical purpose).
pub const STUDENT_T_DF_MAX: f64 = 1000.0;

/// Profile log-likelihood of ν: μ and s maximised for this ν by the EM iteration for the t
/// (weights wᵢ = (ν+1)/(ν + zᵢ²), μ = Σwx/Σw, s² = Σw(x−μ)²/n), which increases the likelihood
/// at every step.
fn t_profile(values: &[f64], df: f64, start: (f64, f64)) -> (f64, f64, f64) {
    let n = values.len() as f64;
    let (mut mu, mut scale) = start;
    for _ in 0..500 {
        let (mut sw, mut swx) = (0.0, 0.0);
        for x in values {
            let z = (x - mu) / scale;
            let w = (df + 1.0) / (df + z * z);
            sw += w;
            swx += w * x;
        }
        let new_mu = swx / sw;
        let mut swss = 0.0;
        for x in values {
            let z = (x - mu) / scale;
            let w = (df + 1.0) / (df + z * z);
            swss += w * (x - new_mu) * (x - new_mu);
        }
        let new_scale = (swss / n).sqrt();
        let converged =
            (new_mu - mu).abs() <= 1e-12 * scale && (new_scale / scale - 1.0).abs() <= 1e-10;
        mu = new_mu;
        scale = new_scale;
        if converged {
            break;
        }
    }
    let constant = libm::lgamma(0.5 * (df + 1.0))
        - libm::lgamma(0.5 * df)
        - 0.5 * (df * std::f64::consts::PI).ln()
        - scale.ln();
    let tails: f64 = values.iter().map(|x| ((x - mu) / scale).powi(2) / df).map(f64::ln_1p).sum();
    (n * constant - 0.5 * (df + 1.0) * tails, mu, scale)
}

/// Fit a location-scale Student-t by maximum likelihood. Method: the profile likelihood of ν
/// (μ and s maximised by EM for each ν) is scanned on a 61-point grid uniform in ln ν over
/// [[`STUDENT_T_DF_MIN`], [`STUDENT_T_DF_MAX`]], then refined by golden-section search between
/// the best grid point's neighbours (to |Δ ln ν| < 1e-6). Needs at least 20 values.
pub fn fit_student_t(values: &[f64]) -> Result<StudentTFit, DataError> {
    check_finite(values, "values")?;
    if values.len() < 20 {
        return Err(invalid("values", format!("{} values; at least 20 are needed", values.len())));
    }
    let sd = sample_volatility(values)?;
    if sd == 0.0 {
        return Err(invalid("values", "all values are equal"));
    }
    let start = (empirical_quantile(values, 0.5)?, sd);
    let profile = |log_df: f64| t_profile(values, log_df.exp(), start);
    const GRID: usize = 61;
    let (lo, hi) = (STUDENT_T_DF_MIN.ln(), STUDENT_T_DF_MAX.ln());
    let grid: Vec<f64> = (0..GRID).map(|i| lo + (hi - lo) * i as f64 / (GRID - 1) as f64).collect();
    let scores: Vec<f64> = grid.iter().map(|g| profile(*g).0).collect();
    let best = (0..GRID).max_by(|a, b| scores[*a].total_cmp(&scores[*b])).unwrap_or(0);
    let (mut a, mut b) = (grid[best.saturating_sub(1)], grid[(best + 1).min(GRID - 1)]);
    let ratio = 0.5 * (5f64.sqrt() - 1.0);
    let mut c = b - ratio * (b - a);
    let mut d = a + ratio * (b - a);
    let (mut fc, mut fd) = (profile(c).0, profile(d).0);
    while b - a > 1e-6 {
        if fc >= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - ratio * (b - a);
            fc = profile(c).0;
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + ratio * (b - a);
            fd = profile(d).0;
        }
    }
    let log_df = if scores[best] > fc.max(fd) { grid[best] } else { 0.5 * (a + b) };
    let (log_likelihood, location, scale) = profile(log_df);
    let df = log_df.exp();
    Ok(StudentTFit {
        df,
        location,
        scale,
        log_likelihood,
        at_upper_bound: df >= STUDENT_T_DF_MAX * (1.0 - 1e-6),
    })
}

/// CDF of the chi-square distribution with one degree of freedom: erf(√(x/2)).
pub fn chi_square_1_cdf(x: f64) -> f64 {
    if x <= 0.0 {
        0.0
    } else {
        libm::erf((0.5 * x).sqrt())
    }
}

/// Kupiec's proportion-of-failures test of a VaR-type margin at a target confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KupiecTest {
    /// Observations n.
    pub observations: usize,
    /// Exceedances x (loss above margin).
    pub exceedances: usize,
    /// Expected exceedance rate p = 1 − confidence.
    pub expected_rate: f64,
    /// LR = −2 ln[(1−p)^(n−x) p^x] + 2 ln[(1−x/n)^(n−x) (x/n)^x], ~ χ²(1) under H₀.
    pub statistic: f64,
    /// P(χ²(1) ≥ LR) = erfc(√(LR/2)); small values reject the margin's calibration.
    pub p_value: f64,
}

impl KupiecTest {
    /// Whether the calibration is rejected at `significance` (e.g. 0.05).
    pub fn rejects(&self, significance: f64) -> bool {
        self.p_value < significance
    }
}

/// x ln y with 0 ln 0 = 0.
fn xlny(x: f64, y: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else {
        x * y.ln()
    }
}

/// Kupiec's POF test for `exceedances` out of `observations` at `confidence` (e.g. 0.99).
pub fn kupiec_pof(
    observations: usize,
    exceedances: usize,
    confidence: f64,
) -> Result<KupiecTest, DataError> {
    check_probability(confidence, "confidence")?;
    if observations == 0 || exceedances > observations {
        return Err(invalid(
            "exceedances",
            format!("{exceedances} exceedances of {observations} observations"),
        ));
    }
    let (n, x, p) = (observations as f64, exceedances as f64, 1.0 - confidence);
    let null = xlny(n - x, 1.0 - p) + xlny(x, p);
    let observed = xlny(n - x, 1.0 - x / n) + xlny(x, x / n);
    let statistic = (-2.0 * (null - observed)).max(0.0);
    Ok(KupiecTest {
        observations,
        exceedances,
        expected_rate: p,
        statistic,
        p_value: libm::erfc((0.5 * statistic).sqrt()),
    })
}

/// One backtest window: the realised loss of a position against the margin held for it, both as
/// fractions of the position's value at `start`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BacktestObservation {
    /// Day the margin was set.
    pub start: Date,
    /// Day the loss is measured (start + margin period of risk).
    pub end: Date,
    /// Realised loss (positive = loss).
    pub loss: f64,
    /// Margin held.
    pub margin: f64,
}

impl BacktestObservation {
    /// Loss beyond the margin (negative when covered).
    pub fn shortfall(&self) -> f64 {
        self.loss - self.margin
    }

    /// The loss exceeds the margin.
    pub fn is_exceedance(&self) -> bool {
        self.loss > self.margin
    }
}

/// Number of windows whose loss exceeds the margin.
pub fn count_exceedances(observations: &[BacktestObservation]) -> usize {
    observations.iter().filter(|o| o.is_exceedance()).count()
}

/// The exceedance with the largest loss beyond its margin; `None` if every loss was covered.
pub fn worst_shortfall(observations: &[BacktestObservation]) -> Option<BacktestObservation> {
    observations
        .iter()
        .filter(|o| o.is_exceedance())
        .max_by(|a, b| a.shortfall().total_cmp(&b.shortfall()))
        .copied()
}

/// Exceedances, Kupiec and worst shortfall of one backtest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BacktestSummary {
    /// Kupiec's POF test (holds the counts).
    pub kupiec: KupiecTest,
    /// See [`worst_shortfall`].
    pub worst_shortfall: Option<BacktestObservation>,
}

/// Score `observations` against `confidence`.
pub fn summarise_backtest(
    observations: &[BacktestObservation],
    confidence: f64,
) -> Result<BacktestSummary, DataError> {
    Ok(BacktestSummary {
        kupiec: kupiec_pof(observations.len(), count_exceedances(observations), confidence)?,
        worst_shortfall: worst_shortfall(observations),
    })
}

/// A named stress period (inclusive days) the backtests report separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StressPeriod {
    /// Short name, e.g. `"2022-05 LUNA"`.
    pub name: &'static str,
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
}

impl StressPeriod {
    /// The observations whose window ends inside the period.
    pub fn select(&self, observations: &[BacktestObservation]) -> Vec<BacktestObservation> {
        observations.iter().filter(|o| o.end >= self.from && o.end <= self.to).copied().collect()
    }
}

/// The four stress months of the issue: March 2020 (COVID), May 2021 (China mining ban and
/// deleveraging), May 2022 (LUNA/UST), November 2022 (FTX).
pub fn stress_periods() -> [StressPeriod; 4] {
    // The literals are valid calendar days; `from_ymd` only fails on impossible dates.
    let day = |y, m, d| Date::from_ymd(y, m, d).unwrap_or(Date::EPOCH);
    [
        StressPeriod { name: "2020-03 COVID", from: day(2020, 3, 1), to: day(2020, 3, 31) },
        StressPeriod { name: "2021-05 deleveraging", from: day(2021, 5, 1), to: day(2021, 5, 31) },
        StressPeriod { name: "2022-05 LUNA", from: day(2022, 5, 1), to: day(2022, 5, 31) },
        StressPeriod { name: "2022-11 FTX", from: day(2022, 11, 1), to: day(2022, 11, 30) },
    ]
}

/// Backtest of the EWMA-normal margin for a long position: daily log returns (gaps skipped)
/// feed [`ewma_volatility`] seeded with the sample variance of the first `warmup_days` returns;
/// on each non-overlapping `horizon_days` window after the warm-up the margin, set with the
/// volatility known at the window's start, is 1 − exp(−z σ √h) with z = Φ⁻¹(confidence), and the
/// loss is 1 − price(end)/price(start). Windows whose start day has no EWMA value (a gap) are
/// skipped.
pub fn ewma_margin_backtest(
    series: &PriceSeries,
    horizon_days: u32,
    confidence: f64,
    lambda: f64,
    warmup_days: usize,
) -> Result<Vec<BacktestObservation>, DataError> {
    let z = normal_quantile(confidence)?;
    let daily = series.log_returns(1, Sampling::Overlapping, GapPolicy::Skip)?;
    if warmup_days < 2 || daily.points.len() <= warmup_days {
        return Err(invalid(
            "warmup_days",
            format!(
                "{warmup_days} must be at least 2 and below the {} daily returns",
                daily.points.len()
            ),
        ));
    }
    let returns = daily.log_returns();
    let seed = sample_volatility(&returns[..warmup_days])?.powi(2);
    let vols = ewma_volatility(&returns, lambda, seed)?;
    // The volatility known at the close of each day after the warm-up.
    let known: Vec<(Date, f64)> =
        daily.points.iter().zip(&vols).skip(warmup_days).map(|(p, v)| (p.end, *v)).collect();
    let Some(&(first_known, _)) = known.first() else {
        return Ok(Vec::new());
    };
    let windows = series.between(Some(first_known), None).log_returns(
        horizon_days,
        Sampling::NonOverlapping,
        GapPolicy::Skip,
    )?;
    let scale = f64::from(horizon_days).sqrt();
    Ok(windows
        .points
        .iter()
        .filter_map(|w| {
            let i = known.binary_search_by_key(&w.start, |k| k.0).ok()?;
            Some(BacktestObservation {
                start: w.start,
                end: w.end,
                loss: -w.simple_return(),
                margin: -(-z * known[i].1 * scale).exp_m1(),
            })
        })
        .collect())
}

/// Markdown table of the calibration inputs per asset of `data`'s `prices/` (days ≥ `from` when
/// given): annualised sample volatility of daily log returns, Student-t ν by maximum likelihood
/// ([`fit_student_t`]) and by moments, and the [`ewma_margin_backtest`] of a 1-day margin at
/// `confidence` (λ = [`RISKMETRICS_LAMBDA`], 30-day warm-up) scored by Kupiec, with its worst
/// shortfall. `docs/COLLATERAL_WEIGHTS.md` embeds it (checked by the `collateral` test).
pub fn calibration_table(
    data: &super::DataDir,
    symbols: &[&str],
    confidence: f64,
    from: Option<Date>,
) -> Result<String, DataError> {
    let mut out = String::from(
        "| asset | daily returns | annual vol | t ν (MLE) | t ν (moments) | EWMA 1d windows | exceedances (rate) | Kupiec LR | p-value | worst shortfall (window end) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for symbol in symbols {
        let series = data.prices(symbol)?.between(from, None);
        let daily = series.log_returns(1, Sampling::Overlapping, GapPolicy::Skip)?.log_returns();
        let vol = annualise(sample_volatility(&daily)?, 1.0);
        let fit = fit_student_t(&daily)?;
        let moments = student_t_df_moments(&daily)?
            .map_or_else(|| "n/a".to_string(), |df| format!("{df:.2}"));
        let observations = ewma_margin_backtest(&series, 1, confidence, RISKMETRICS_LAMBDA, 30)?;
        let summary = summarise_backtest(&observations, confidence)?;
        let k = summary.kupiec;
        let worst = summary.worst_shortfall.map_or_else(
            || "none".to_string(),
            |w| format!("{:.2}% ({})", 100.0 * w.shortfall(), w.end),
        );
        out.push_str(&format!(
            "| {symbol} | {} | {:.1}% | {:.2} | {moments} | {} | {} ({:.2}%) | {:.2} | {:.1e} | {worst} |\n",
            daily.len(),
            100.0 * vol,
            fit.df,
            k.observations,
            k.exceedances,
            100.0 * k.exceedances as f64 / k.observations as f64,
            k.statistic,
            k.p_value,
        ));
    }
    Ok(out)
}
