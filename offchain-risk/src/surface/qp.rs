//! A tiny dense convex quadratic program: minimise `x'Hx - 2 g'x` over `x` in R^3 subject to a
//! handful of linear inequalities `A x >= h`. Used by the SVI calibrator's inner step, where the
//! problem is 3 variables and 8 box-like constraints (plus, for later expiries, calendar-floor
//! constraints added by constraint generation), so enumerating active sets of size <= 3 and taking
//! the first KKT point is both exact and fast (the optimum has at most 3 active constraints that
//! matter: a vertex of the feasible polytope in 3-D).

/// Up to 3 variables plus 3 multipliers.
const MAX_N: usize = 6;
/// Feasibility and multiplier-sign tolerance (the problem is scaled to O(1) by the caller).
const TOL: f64 = 1e-9;

/// One linear constraint `row . x >= rhs`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Constraint {
    pub(crate) row: [f64; 3],
    pub(crate) rhs: f64,
}

/// Solves `m y = r` (n x n) by Gaussian elimination with partial pivoting; `None` if singular.
#[allow(clippy::needless_range_loop, reason = "small dense linear algebra reads best with indices")]
fn solve(n: usize, mut m: [[f64; MAX_N]; MAX_N], mut r: [f64; MAX_N]) -> Option<[f64; MAX_N]> {
    let scale = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .fold(0.0_f64, |acc, (i, j)| acc.max(m[i][j].abs()));
    if scale == 0.0 {
        return None;
    }
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))?;
        if m[pivot][col].abs() <= 1e-14 * scale {
            return None;
        }
        m.swap(col, pivot);
        r.swap(col, pivot);
        for row in col + 1..n {
            let f = m[row][col] / m[col][col];
            if f != 0.0 {
                for j in col..n {
                    m[row][j] -= f * m[col][j];
                }
                r[row] -= f * r[col];
            }
        }
    }
    let mut y = [0.0; MAX_N];
    for i in (0..n).rev() {
        let mut s = r[i];
        for j in i + 1..n {
            s -= m[i][j] * y[j];
        }
        y[i] = s / m[i][i];
    }
    Some(y)
}

fn objective(h: &[[f64; 3]; 3], g: &[f64; 3], x: &[f64; 3]) -> f64 {
    let mut v = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            v += x[i] * h[i][j] * x[j];
        }
        v -= 2.0 * g[i] * x[i];
    }
    v
}

fn feasible(cons: &[Constraint], x: &[f64; 3]) -> bool {
    cons.iter().all(|c| c.row[0] * x[0] + c.row[1] * x[1] + c.row[2] * x[2] >= c.rhs - TOL)
}

/// Solves the equality-constrained problem with `active` constraints held at equality; returns
/// the point and whether all multipliers are non-negative.
#[allow(clippy::needless_range_loop, reason = "small dense linear algebra reads best with indices")]
fn solve_active(
    h: &[[f64; 3]; 3],
    g: &[f64; 3],
    cons: &[Constraint],
    active: &[usize],
) -> Option<([f64; 3], bool)> {
    // KKT system: [H  -A'] [x]   [g]
    //             [A   0 ] [mu] = [h]   (stationarity of x'Hx - 2g'x - 2 mu'(Ax - h)).
    let n = 3 + active.len();
    let mut m = [[0.0; MAX_N]; MAX_N];
    let mut r = [0.0; MAX_N];
    for i in 0..3 {
        m[i][..3].copy_from_slice(&h[i]);
        r[i] = g[i];
    }
    for (s, &ci) in active.iter().enumerate() {
        for j in 0..3 {
            m[j][3 + s] = -cons[ci].row[j];
            m[3 + s][j] = cons[ci].row[j];
        }
        r[3 + s] = cons[ci].rhs;
    }
    let y = solve(n, m, r)?;
    let x = [y[0], y[1], y[2]];
    let duals_ok = (3..n).all(|i| y[i] >= -TOL);
    Some((x, duals_ok))
}

/// Minimises `x'Hx - 2 g'x` subject to `cons`; returns the minimiser and the objective. `None`
/// only if no feasible point was found (an empty or degenerate feasible set).
pub(crate) fn minimise(
    h: &[[f64; 3]; 3],
    g: &[f64; 3],
    cons: &[Constraint],
) -> Option<([f64; 3], f64)> {
    let n = cons.len();
    let mut best: Option<([f64; 3], f64)> = None;
    let mut consider = |active: &[usize]| -> bool {
        if let Some((x, duals_ok)) = solve_active(h, g, cons, active) {
            if feasible(cons, &x) {
                let f = objective(h, g, &x);
                if duals_ok {
                    // A KKT point of a convex problem is the global minimum.
                    best = Some((x, f));
                    return true;
                }
                if best.is_none_or(|(_, bf)| f < bf) {
                    best = Some((x, f));
                }
            }
        }
        false
    };
    if consider(&[]) {
        return best;
    }
    for i in 0..n {
        if consider(&[i]) {
            return best;
        }
    }
    for i in 0..n {
        for j in i + 1..n {
            if consider(&[i, j]) {
                return best;
            }
        }
    }
    for i in 0..n {
        for j in i + 1..n {
            for l in j + 1..n {
                if consider(&[i, j, l]) {
                    return best;
                }
            }
        }
    }
    best
}

/// The same problem with many more constraints (`extra`, e.g. the calibrator's calendar floor)
/// by constraint generation: solve exactly with `base` plus the extra constraints found so far,
/// add the most violated extra constraint, repeat. Each round is the exact enumeration of
/// [`minimise`] (degenerate vertices are harmless there), and the loop ends once nothing is
/// violated, which is then the optimum over all constraints (the feasible set only shrank
/// towards it). `None` if no feasible point is found within 12 rounds.
pub(crate) fn minimise_with_cuts(
    h: &[[f64; 3]; 3],
    g: &[f64; 3],
    base: &[Constraint],
    extra: &[Constraint],
) -> Option<([f64; 3], f64)> {
    let mut working: Vec<Constraint> = base.to_vec();
    for _ in 0..12 {
        let (x, f) = minimise(h, g, &working)?;
        let worst = extra
            .iter()
            .map(|c| (c, c.row[0] * x[0] + c.row[1] * x[1] + c.row[2] * x[2] - c.rhs))
            .min_by(|p, q| p.1.total_cmp(&q.1));
        match worst {
            Some((c, slack)) if slack < -TOL => working.push(*c),
            _ => return Some((x, f)),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Constraint generation agrees with exhaustive enumeration over all constraints on random
    /// convex problems shaped like the calibrator's (a box on x0, a cone on (x1, x2), and
    /// floor constraints x0 + y x1 + sqrt(1 + y^2) x2 >= f).
    #[test]
    #[allow(clippy::needless_range_loop, reason = "3x3 matrix product")]
    fn cuts_match_full_enumeration() {
        let mut seed = 12345_u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        for _ in 0..300 {
            let l = [
                [1.0 + rnd().abs(), 0.0, 0.0],
                [rnd(), 1.0 + rnd().abs(), 0.0],
                [rnd(), rnd(), 0.5 + rnd().abs()],
            ];
            let mut h = [[0.0; 3]; 3];
            for i in 0..3 {
                for j in 0..3 {
                    h[i][j] = (0..3).map(|k| l[i][k] * l[j][k]).sum();
                }
            }
            let g = [3.0 * rnd(), 3.0 * rnd(), 3.0 * rnd()];
            let base = [
                Constraint { row: [1.0, 0.0, 0.0], rhs: 0.0 },
                Constraint { row: [-1.0, 0.0, 0.0], rhs: -4.0 },
                Constraint { row: [0.0, 0.0, 1.0], rhs: 0.0 },
                Constraint { row: [0.0, 1.0, 0.9], rhs: 0.0 },
                Constraint { row: [0.0, -1.0, 0.9], rhs: 0.0 },
                Constraint { row: [0.0, -1.0, -1.0], rhs: -1.0 },
                Constraint { row: [0.0, 1.0, -1.0], rhs: -1.0 },
            ];
            let extra: Vec<Constraint> = (0..5)
                .map(|_| {
                    let y = 2.0 * rnd();
                    Constraint { row: [1.0, y, (1.0 + y * y).sqrt()], rhs: 1.0 + rnd() }
                })
                .collect();
            let all: Vec<Constraint> = base.iter().chain(&extra).copied().collect();
            let (_, f_all) = minimise(&h, &g, &all).expect("feasible");
            let (x, f_cuts) = minimise_with_cuts(&h, &g, &base, &extra).expect("converges");
            assert!(feasible(&all, &x));
            assert!((f_all - f_cuts).abs() <= 1e-9 * (1.0 + f_all.abs()), "{f_all} vs {f_cuts}");
        }
    }
}
